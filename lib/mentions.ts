/**
 * When `chat connect` calls for attention: the person's own name said as a
 * whole word in someone else's line (in any case, with or without
 * accents, as names are compared everywhere: `nameKey`), or a private
 * message from someone else. Never for the person's own lines.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import { nameKey } from "./protocol.ts";

// A word is a run of the characters a name may hold (letters of any
// script with their accents, digits, `_` and `-`): `bob` is mentioned in
// "hi bob!", "@bob," and "bob's", not in "bobby" nor "bob_2".
const WORD = /[\p{L}\p{M}\p{Nd}_-]+/gu;

/**
 * True when `text` says `name` as a whole word, in any case and with or
 * without accents.
 *
 * @example
 * ```ts
 * import { mentions } from "./mentions.ts";
 * mentions("Thanks ELODIE!", "Élodie"); // true
 * mentions("@bob: look", "bob"); // true
 * mentions("bobby tables", "bob"); // false
 * ```
 */
export function mentions(text: string, name: string): boolean {
  if (name === "") return false;
  const key = nameKey(name);
  // Most lines do not contain the name at all: skip the word split.
  if (!nameKey(text).includes(key)) return false;
  for (const [word] of text.matchAll(WORD)) {
    const wordKey = nameKey(word);
    // A dash after a name ("bob--") is punctuation, unless the name has it.
    if (wordKey === key || wordKey.replace(/-+$/, "") === key) return true;
  }
  return false;
}

/**
 * True when `event` is for the person named `ownName` to notice: a chat
 * line or action by someone else that mentions them, or a private message
 * from someone else.
 *
 * @example
 * ```ts
 * import { isMention } from "./mentions.ts";
 * isMention({ type: "message", from: "bob", text: "alice?", seq: 1, time: 0 }, "alice"); // true
 * isMention({ type: "message", from: "alice", text: "I am alice", seq: 2, time: 0 }, "alice"); // false
 * isMention({ type: "private", from: "bob", to: "alice", text: "psst", seq: 3, time: 0 }, "alice"); // true
 * ```
 */
export function isMention(event: ServerEvent, ownName: string): boolean {
  if (ownName === "") return false;
  const own = nameKey(ownName);
  switch (event.type) {
    case "message":
    case "action":
      return nameKey(event.from) !== own && mentions(event.text, ownName);
    case "private":
      return nameKey(event.from) !== own;
    default:
      return false;
  }
}
