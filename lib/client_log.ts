/**
 * `chat connect --log FILE`: the session's transcript, in the server's
 * format (`transcript.ts`: ISO 8601 time, a space, the plain-text line),
 * with the private messages this person sent and received besides what the
 * room's transcript keeps. Each line is appended with one synchronous
 * write, so a crash loses nothing already shown. Passwords never reach it:
 * only events from the server are written, and `/pass` is not one.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import type { Lang } from "./i18n.ts";
import { isTranscribed, Transcript } from "./transcript.ts";

/**
 * True for what the client's transcript keeps: what the server's keeps,
 * and private messages (to or from this person: the only ones it gets).
 *
 * @example
 * ```ts
 * import { isLogged } from "./client_log.ts";
 * isLogged({ type: "private", from: "bob", to: "alice", text: "psst", seq: 1, time: 0 }); // true
 * isLogged({ type: "pong", seq: 2, time: 0 }); // false
 * ```
 */
export function isLogged(event: ServerEvent): boolean {
  return event.type === "private" || isTranscribed(event);
}

/**
 * Opens the session's transcript for appending (created owner-only): the
 * server's {@linkcode Transcript}, keeping {@linkcode isLogged} events, in
 * the person's language. Throws a `TranscriptError` with one line in `lang`
 * when it cannot; a later failure to write is told once to `report`.
 *
 * @example
 * ```ts
 * import { openClientLog } from "./client_log.ts";
 * const log = openClientLog("chat.log", "en", console.error);
 * log.write({ type: "message", from: "bob", text: "hi", seq: 1, time: Date.now() });
 * log.close();
 * ```
 */
export function openClientLog(
  path: string,
  lang: Lang,
  report: (line: string) => void,
): Transcript {
  return Transcript.open(path, lang, report, isLogged);
}
