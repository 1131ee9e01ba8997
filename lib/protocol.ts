/**
 * The wire format of `chat`: how bytes become lines, how lines are cleaned,
 * which names are allowed, and how lines said to everyone are encoded.
 * What the lines say is in `render_text.ts` and `render_json.ts`.
 *
 * Everything here is pure: no sockets, no timers, no global state.
 *
 * @module
 */

import type { NameProblem } from "./events.ts";

/** Longest line a client may send, in bytes, not counting the line ending. */
export const MAX_LINE_BYTES = 4096;

/** Longest allowed name, in characters. */
export const MAX_NAME_LENGTH = 24;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** One event produced by {@linkcode LineSplitter}. */
export type FramedLine =
  | { kind: "line"; bytes: Uint8Array }
  | { kind: "oversize"; limitBytes: number };

/**
 * Splits a byte stream into lines ending in `\n` (a `\r` before it is
 * dropped). A line longer than the limit is reported once as `oversize` and
 * the rest of it is skipped without being buffered, so memory per connection
 * stays under the limit whatever a client sends.
 *
 * @example Split two chunks into lines
 * ```ts
 * import { LineSplitter } from "./protocol.ts";
 * const splitter = new LineSplitter();
 * const encoder = new TextEncoder();
 * splitter.push(encoder.encode("hel"));
 * const events = splitter.push(encoder.encode("lo\r\nwor"));
 * // events: [{ kind: "line", bytes: "hello" }]; "wor" waits for more bytes.
 * ```
 */
export class LineSplitter {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #discarding = false;
  readonly #maxLineBytes: number;

  /** @param maxLineBytes longest line accepted, without its line ending */
  constructor(maxLineBytes: number = MAX_LINE_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes of an unfinished line held back, waiting for its `\n`. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Feeds a chunk of bytes; returns the lines it completes, in order. */
  push(chunk: Uint8Array): FramedLine[] {
    const events: FramedLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.#discarding) {
        // A line ending in "\r\n" holds one byte more than its text until
        // the "\r" is dropped, so allow that byte here and check again below.
        if (this.#pendingBytes + (end - start) > this.#maxLineBytes + 1) {
          this.#reset();
          this.#discarding = true;
          events.push({ kind: "oversize", limitBytes: this.#maxLineBytes });
        } else if (end > start) {
          // Copy: the caller may reuse its read buffer for the next chunk.
          this.#pending.push(chunk.slice(start, end));
          this.#pendingBytes += end - start;
        }
      }
      if (newline === -1) break;
      if (this.#discarding) {
        this.#discarding = false;
      } else {
        const line = stripCarriageReturn(this.#take());
        if (line.length > this.#maxLineBytes) {
          events.push({ kind: "oversize", limitBytes: this.#maxLineBytes });
        } else {
          events.push({ kind: "line", bytes: line });
        }
      }
      start = newline + 1;
    }
    return events;
  }

  /**
   * Returns the unfinished line held back, if any, and forgets it. Used when
   * the connection closes or goes quiet, for clients that never send `\n`.
   */
  flush(): FramedLine | undefined {
    if (this.#discarding) {
      this.#discarding = false;
      return undefined;
    }
    if (this.#pendingBytes === 0) return undefined;
    // A trailing "\r" here would be half of a "\r\n" still on its way.
    const line = stripCarriageReturn(this.#take());
    return line.length > this.#maxLineBytes
      ? { kind: "oversize", limitBytes: this.#maxLineBytes }
      : { kind: "line", bytes: line };
  }

  #take(): Uint8Array {
    const line = this.#pending.length === 1
      ? this.#pending[0]
      : concatBytes(this.#pending, this.#pendingBytes);
    this.#reset();
    return line;
  }

  #reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

function stripCarriageReturn(line: Uint8Array): Uint8Array {
  return line[line.length - 1] === CARRIAGE_RETURN
    ? line.subarray(0, line.length - 1)
    : line;
}

/**
 * Joins byte arrays into one.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./protocol.ts";
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // [1, 2, 3]
 * ```
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  totalBytes: number = parts.reduce((sum, part) => sum + part.length, 0),
): Uint8Array {
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Decodes a received line as UTF-8, turning invalid bytes into U+FFFD.
 *
 * @example
 * ```ts
 * import { decodeLine } from "./protocol.ts";
 * decodeLine(new Uint8Array([0x68, 0x69, 0xff])); // "hi\uFFFD"
 * ```
 */
export function decodeLine(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

// ANSI escape sequences: CSI (ESC [ ... final byte), OSC/DCS/SOS/PM/APC
// strings (ended by BEL or ESC \), and two-byte escapes (ESC + one char).
const ESCAPE_SEQUENCE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[\x20-\x7e]?/g;
// C0 controls except tab, DEL, C1 controls, and the Unicode characters that
// reorder text (bidi embeddings, overrides, isolates and marks), which could
// make one user's line display as if it were someone else's.
const UNSAFE_CHARACTERS =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// The same characters, ESC among them (so every escape sequence), found once.
const HAS_UNSAFE_CHARACTER =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Removes everything that could change how a terminal shows text: ANSI
 * escape sequences, control characters (tab is kept) and bidi overrides.
 *
 * @example
 * ```ts
 * import { sanitizeText } from "./protocol.ts";
 * sanitizeText("\x1b[31mred\x1b[0m\u202Eevil\x07"); // "redevil"
 * ```
 */
export function sanitizeText(text: string): string {
  // Most lines have nothing to remove: one scan says so.
  if (!HAS_UNSAFE_CHARACTER.test(text)) return text;
  return text.replace(ESCAPE_SEQUENCE, "").replace(UNSAFE_CHARACTERS, "");
}

// One character a name may hold: an ASCII letter or digit, `_`, `-`, or a
// letter of the Latin-1 Supplement and Latin Extended-A and -B blocks
// (é, ç, ø, ł, ő, ș ...), but not × and ÷, nor the click letters ǀ ǁ ǂ ǃ,
// which pass for punctuation. Letters of other scripts that look like Latin
// ones (Cyrillic а, Greek ο, fullwidth ａ) are outside these blocks.
const NAME_CHARACTER =
  /[A-Za-z0-9_\-\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BF\u01C4-\u024F]/;
const NAME_PATTERN = new RegExp(`^${NAME_CHARACTER.source}+$`);
const LETTER_OR_DIGIT = /[\p{L}\p{Nd}]/u;
const COMBINING_MARKS = /\p{M}/gu;
// Latin letters with a stroke or without a dot, which Unicode does not
// decompose into a base letter and a mark, and ß: for the name key, each is
// the letter it looks like.
const FOLDED_LETTERS: Record<string, string> = {
  "ß": "ss",
  "ð": "d",
  "đ": "d",
  "ħ": "h",
  "ı": "i",
  "ł": "l",
  "ø": "o",
  "ŧ": "t",
  "ƀ": "b",
  "ƚ": "l",
  "ƶ": "z",
  "ǥ": "g",
  "ȥ": "z",
  "ȷ": "j",
  "ȼ": "c",
  "ɇ": "e",
  "ɉ": "j",
  "ɍ": "r",
  "ɏ": "y",
  "ɨ": "i",
};
const FOLDED_LETTER = new RegExp(
  `[${Object.keys(FOLDED_LETTERS).join("")}]`,
  "g",
);

/**
 * A name as the room keeps it: NFC-normalised, so that an `é` typed as `e`
 * and a combining accent (as `nc` may send it) is the one character `é`.
 *
 * @example
 * ```ts
 * import { normalizeName } from "./protocol.ts";
 * normalizeName("e\u0301lodie") === "élodie"; // true
 * ```
 */
export function normalizeName(name: string): string {
  return name.normalize("NFC");
}

/**
 * The key under which a name is unique: without regard to case or accents
 * (`Élodie`, `elodie` and `ÉLODIE` are one name). Lower-cased, decomposed
 * (NFKD: accents and compatibility forms such as `ǆ` come apart), combining
 * marks removed, and letters with a stroke or without a dot (`ł`, `ø`, `ı`)
 * read as the plain letter.
 *
 * @example
 * ```ts
 * import { nameKey } from "./protocol.ts";
 * nameKey("Élodie") === nameKey("elodie"); // true
 * nameKey("Łukasz"); // "lukasz"
 * ```
 */
export function nameKey(name: string): string {
  return name.toLowerCase().normalize("NFKD").replace(COMBINING_MARKS, "")
    .replace(FOLDED_LETTER, (letter) => FOLDED_LETTERS[letter]);
}

/**
 * Checks a requested name, once NFC-normalised. Returns why it is refused
 * (`empty`, `too-long`, `characters`; the catalogues say it in words), or
 * `undefined` when it is acceptable: 1 to 24 letters (with or without
 * accents, from the Latin alphabets), digits, `_` and `-`. Names never
 * contain spaces, colons or asterisks, so no user can make a line that looks
 * like a notice or another user's line.
 *
 * @example
 * ```ts
 * import { nameProblem } from "./protocol.ts";
 * nameProblem("élodie"); // undefined
 * nameProblem("a b"); // "characters"
 * nameProblem("\u0430lice"); // "characters" (a Cyrillic а)
 * ```
 */
export function nameProblem(name: string): NameProblem | undefined {
  const normalized = normalizeName(name);
  if (normalized.length === 0) return "empty";
  if (normalized.length > MAX_NAME_LENGTH) return "too-long";
  if (!NAME_PATTERN.test(normalized)) return "characters";
  return undefined;
}

/**
 * Turns a user name from the environment (such as `$USER`) into a valid chat
 * name, or `undefined` when nothing usable is left. What a name cannot hold
 * is removed: an accented letter from outside the allowed blocks keeps its
 * base letter, and each run of other characters between two kept ones
 * becomes one `_`.
 *
 * @example
 * ```ts
 * import { nameFromLogin } from "./protocol.ts";
 * nameFromLogin("john.doe"); // "john_doe"
 * nameFromLogin("élodie.françois"); // "élodie_françois"
 * ```
 */
export function nameFromLogin(login: string | undefined): string | undefined {
  if (!login) return undefined;
  let name = "";
  let separated = false;
  for (const character of normalizeName(login)) {
    const kept = NAME_CHARACTER.test(character)
      ? character
      : character.normalize("NFD").replace(COMBINING_MARKS, "");
    if (kept !== "" && NAME_PATTERN.test(kept)) {
      if (separated && name !== "") name += "_";
      separated = false;
      name += kept;
    } else {
      separated = true;
    }
  }
  name = name.slice(0, MAX_NAME_LENGTH);
  return LETTER_OR_DIGIT.test(name) ? name : undefined;
}

const encoder = new TextEncoder();

const ARENA_BLOCK_BYTES = 64 * 1024;

/**
 * Encodes lines one after another into shared 64 KiB blocks. Lines that
 * every member receives, in the same order, then lie next to each other in
 * memory, so a writer can send a run of them as one view of a block: no
 * copying per recipient. A block is freed once no queue refers to it.
 *
 * @example Two lines encoded in a row are adjacent
 * ```ts
 * import { LineArena } from "./protocol.ts";
 * const arena = new LineArena();
 * const a = arena.encode("alice: hi");
 * const b = arena.encode("bob: hello");
 * a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset; // true
 * ```
 */
export class LineArena {
  #block = new Uint8Array(ARENA_BLOCK_BYTES);
  #used = 0;

  /** The line's bytes with a trailing `\n`. */
  encode(text: string): Uint8Array {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = text.length * 3 + 1;
    if (most > ARENA_BLOCK_BYTES / 4) return encoder.encode(text + "\n");
    if (this.#used + most > ARENA_BLOCK_BYTES) {
      this.#block = new Uint8Array(ARENA_BLOCK_BYTES);
      this.#used = 0;
    }
    const start = this.#used;
    const { written } = encoder.encodeInto(text, this.#block.subarray(start));
    this.#block[start + written] = 0x0a;
    this.#used = start + written + 1;
    return this.#block.subarray(start, this.#used);
  }
}
