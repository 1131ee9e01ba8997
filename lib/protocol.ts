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
const NUL = 0x00;

/** One event produced by {@linkcode LineSplitter}. */
export type FramedLine =
  | { kind: "line"; bytes: Uint8Array }
  | { kind: "oversize"; limitBytes: number };

// The first size of the buffer holding an unfinished line; it doubles as
// the line grows, up to the line limit.
const PENDING_FIRST_BYTES = 256;
// A buffer grown past this is freed once its line is complete, so a
// connection that once sent a long line in pieces does not keep it.
const PENDING_KEPT_BYTES = 1024;

/**
 * Splits a byte stream into lines. A line ends with `\n`, `\r\n`, `\r`
 * alone, or `\r` followed by NUL (as telnet sends it); a `\r\n` or `\r` NUL
 * split between two chunks is still one line end. A line longer than the
 * limit is reported once as `oversize` and the rest of it is skipped without
 * being buffered.
 *
 * An unfinished line is held in one buffer, grown by doubling up to the
 * limit and freed (or kept, if small) once the line is complete, so the
 * memory a connection holds is at most its line limit, however the bytes
 * arrive (one per read included).
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
  #pending: Uint8Array | undefined;
  #pendingBytes = 0;
  #discarding = false;
  // The last line ended with "\r": a "\n" or NUL right after it belongs to
  // that line end.
  #afterCarriageReturn = false;
  #maxLineBytes: number;

  /** @param maxLineBytes longest line accepted, without its line ending */
  constructor(maxLineBytes: number = MAX_LINE_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * The longest line accepted, without its line ending. It may change
   * between two chunks: a structured client's `block` request (issue 12)
   * is longer than a typed line may be.
   */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  set maxLineBytes(bytes: number) {
    this.#maxLineBytes = bytes;
  }

  /** Bytes of an unfinished line held back, waiting for its line end. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Bytes allocated to hold the unfinished line (0 when none is held). */
  get allocatedBytes(): number {
    return this.#pending?.length ?? 0;
  }

  /** Feeds a chunk of bytes; returns the lines it completes, in order. */
  push(chunk: Uint8Array): FramedLine[] {
    const events: FramedLine[] = [];
    const length = chunk.length;
    let start = 0;
    if (this.#afterCarriageReturn && length > 0) {
      this.#afterCarriageReturn = false;
      if (chunk[0] === NEWLINE || chunk[0] === NUL) start = 1;
    }
    // The next "\n" and the next "\r" at or after `start` (length: none),
    // each searched for again only once passed, so a chunk is scanned once.
    let newline = -1;
    let carriageReturn = -1;
    while (start < length) {
      if (newline < start) {
        newline = chunk.indexOf(NEWLINE, start);
        if (newline === -1) newline = length;
      }
      if (carriageReturn < start) {
        carriageReturn = chunk.indexOf(CARRIAGE_RETURN, start);
        if (carriageReturn === -1) carriageReturn = length;
      }
      const end = newline < carriageReturn ? newline : carriageReturn;
      if (!this.#discarding) {
        if (this.#pendingBytes + (end - start) > this.#maxLineBytes) {
          this.#release();
          this.#discarding = true;
          events.push({ kind: "oversize", limitBytes: this.#maxLineBytes });
        } else if (end === length) {
          this.#hold(chunk, start, end);
        } else if (this.#pendingBytes === 0) {
          // Copy: the caller may reuse its read buffer for the next chunk.
          events.push({ kind: "line", bytes: chunk.slice(start, end) });
        } else {
          this.#hold(chunk, start, end);
          events.push({ kind: "line", bytes: this.#take(this.#pendingBytes) });
        }
      }
      if (end === length) break;
      this.#discarding = false;
      start = end + 1;
      if (end === carriageReturn) {
        if (start === length) {
          this.#afterCarriageReturn = true;
        } else if (chunk[start] === NEWLINE || chunk[start] === NUL) {
          start++;
        }
      }
    }
    return events;
  }

  /**
   * Returns the unfinished line held back, if any, and forgets it. Used when
   * the connection closes or goes quiet, for clients that never end a line.
   * With `keepIncompleteCharacter` (a pause, not the end), the first bytes
   * of a UTF-8 character cut off at the end of the line stay held, to begin
   * the next line, instead of becoming U+FFFD.
   */
  flush(keepIncompleteCharacter = false): FramedLine | undefined {
    if (this.#discarding) {
      this.#discarding = false;
      return undefined;
    }
    if (this.#pendingBytes === 0) return undefined;
    const count = keepIncompleteCharacter
      ? this.#pendingBytes -
        incompleteCharacterBytes(this.#pending!, this.#pendingBytes)
      : this.#pendingBytes;
    if (count === 0) return undefined;
    return { kind: "line", bytes: this.#take(count) };
  }

  /** Appends `chunk[start, end)` to the unfinished line. */
  #hold(chunk: Uint8Array, start: number, end: number): void {
    const needed = this.#pendingBytes + (end - start);
    if (needed === 0) return;
    let pending = this.#pending;
    if (pending === undefined || pending.length < needed) {
      let size = pending?.length || PENDING_FIRST_BYTES;
      while (size < needed) size *= 2;
      // The line limit is the most a line can hold.
      const grown = new Uint8Array(Math.min(size, this.#maxLineBytes));
      if (pending) grown.set(pending.subarray(0, this.#pendingBytes));
      this.#pending = pending = grown;
    }
    pending.set(chunk.subarray(start, end), this.#pendingBytes);
    this.#pendingBytes = needed;
  }

  /** Takes the first `count` held bytes as a line of their own. */
  #take(count: number): Uint8Array {
    const pending = this.#pending!;
    const line = pending.slice(0, count);
    const rest = this.#pendingBytes - count;
    if (rest > 0) {
      pending.copyWithin(0, count, this.#pendingBytes);
      this.#pendingBytes = rest;
    } else {
      this.#pendingBytes = 0;
      if (pending.length > PENDING_KEPT_BYTES) this.#pending = undefined;
    }
    return line;
  }

  #release(): void {
    this.#pendingBytes = 0;
    if ((this.#pending?.length ?? 0) > PENDING_KEPT_BYTES) {
      this.#pending = undefined;
    }
  }
}

/**
 * How many bytes at the end of `bytes[0, length)` are the beginning of a
 * UTF-8 character whose other bytes have not arrived (0 to 3).
 */
function incompleteCharacterBytes(bytes: Uint8Array, length: number): number {
  // Walk back over at most 3 continuation bytes (10xxxxxx) to a lead byte.
  for (let back = 1; back <= 3 && back <= length; back++) {
    const byte = bytes[length - back];
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 && byte <= 0xf4
      ? 4
      : byte >= 0xe0 && byte < 0xf0
      ? 3
      : byte >= 0xc2 && byte < 0xe0
      ? 2
      : 1;
    return needed > back ? back : 0;
  }
  return 0;
}

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
// The longest telnet subnegotiation skipped before reading resumes, so that
// an IAC SB never followed by IAC SE cannot swallow a connection's input.
const MAX_SUBNEGOTIATION_BYTES = 1024;

/**
 * Removes telnet commands from a byte stream, before it is split into lines
 * and decoded: `IAC WILL/WONT/DO/DONT option`, `IAC SB ... IAC SE`, and
 * `IAC` followed by any other byte (`IAC IAC`, a literal 0xFF, included:
 * it is not UTF-8 anyway). None is answered. A command split between reads
 * is still removed whole. Byte 0xFF never occurs in UTF-8, so text is never
 * touched; and a `\r` or `\n` right after `IAC` or `IAC DO` ... is kept,
 * so that stray 0xFF bytes cannot join two lines.
 *
 * @example
 * ```ts
 * import { TelnetFilter } from "./protocol.ts";
 * const filter = new TelnetFilter();
 * const bytes = new Uint8Array([0xff, 0xfb, 0x01, 0x68, 0x69]);
 * filter.strip(bytes); // [0x68, 0x69] ("hi"), a view of `bytes`
 * ```
 */
export class TelnetFilter {
  // 0: text; 1: after IAC; 2: after IAC WILL/WONT/DO/DONT; 3: in a
  // subnegotiation; 4: after IAC in a subnegotiation.
  #state = 0;
  #subnegotiationBytes = 0;

  /**
   * Returns `chunk` without its telnet commands: `chunk` itself when it has
   * none, otherwise a view of its start, where the kept bytes were moved
   * (the chunk is changed in place; no memory is allocated).
   */
  strip(chunk: Uint8Array): Uint8Array {
    if (this.#state === 0) {
      const first = chunk.indexOf(IAC);
      if (first === -1) return chunk;
      return chunk.subarray(0, this.#strip(chunk, first));
    }
    return chunk.subarray(0, this.#strip(chunk, 0));
  }

  #strip(chunk: Uint8Array, from: number): number {
    let kept = from;
    let state = this.#state;
    for (let index = from; index < chunk.length; index++) {
      const byte = chunk[index];
      switch (state) {
        case 0:
          if (byte === IAC) state = 1;
          else chunk[kept++] = byte;
          break;
        case 1:
        case 2:
          // A line end is never taken for a command's byte: stray 0xFF
          // bytes (garbage, not telnet) must not join two lines.
          if (byte === NEWLINE || byte === CARRIAGE_RETURN) {
            chunk[kept++] = byte;
            state = 0;
          } else if (state === 2) {
            state = 0;
          } else if (byte >= WILL && byte !== IAC) {
            state = 2;
          } else if (byte === SB) {
            state = 3;
            this.#subnegotiationBytes = 0;
          } else {
            state = 0;
          }
          break;
        default:
          if (++this.#subnegotiationBytes > MAX_SUBNEGOTIATION_BYTES) {
            state = 0;
          } else if (state === 4) {
            state = byte === SE ? 0 : 3;
          } else if (byte === IAC) {
            state = 4;
          }
      }
    }
    this.#state = state;
    return kept;
  }
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
// C0 controls except tab, DEL, C1 controls, the Unicode characters that
// reorder text (bidi embeddings, overrides, isolates and marks), which could
// make one user's line display as if it were someone else's, and U+FEFF (a
// byte order mark, or an invisible zero-width space).
const UNSAFE_CHARACTERS =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
// U+2028 and U+2029, which browsers and some terminals show as line breaks.
const LINE_SEPARATORS = /[\u2028\u2029]/g;
/** Combining marks kept on one character; more are dropped. */
export const MAX_COMBINING_MARKS = 4;
// Marks past the first few on one character (hundreds of them stack into a
// smear over the lines around). U+200D (zero-width joiner) is not a mark:
// emoji sequences keep it.
const EXCESS_COMBINING_MARKS = new RegExp(
  `(\\p{M}{${MAX_COMBINING_MARKS}})\\p{M}+`,
  "gu",
);
// Any of the above, ESC among them (so every escape sequence), found at once.
const HAS_UNSAFE_CHARACTER = new RegExp(
  `[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069\\ufeff]|\\p{M}{${
    MAX_COMBINING_MARKS + 1
  }}`,
  "u",
);

/**
 * Removes everything that could change how a terminal shows text: ANSI
 * escape sequences, control characters (tab is kept), bidi overrides and
 * U+FEFF; turns U+2028 and U+2029 (line and paragraph separators) into
 * spaces; and keeps at most {@linkcode MAX_COMBINING_MARKS} combining marks
 * on a character.
 *
 * @example
 * ```ts
 * import { sanitizeText } from "./protocol.ts";
 * sanitizeText("\x1b[31mred\x1b[0m\u202Eevil\x07"); // "redevil"
 * sanitizeText("one\u2028two"); // "one two"
 * ```
 */
export function sanitizeText(text: string): string {
  // Most lines have nothing to change: one scan says so.
  if (!HAS_UNSAFE_CHARACTER.test(text)) return text;
  // Marks are counted last: removing a character may join two runs.
  return text.replace(ESCAPE_SEQUENCE, "").replace(UNSAFE_CHARACTERS, "")
    .replace(LINE_SEPARATORS, " ").replace(EXCESS_COMBINING_MARKS, "$1");
}

// One character a name may hold: an ASCII letter or digit, `_`, `-`, or a
// letter of the Latin-1 Supplement and Latin Extended-A and -B blocks
// (é, ç, ø, ł, ő, ș ...), but not × and ÷, nor the click letters ǀ ǁ ǂ ǃ,
// which pass for punctuation. Letters of other scripts that look like Latin
// ones (Cyrillic а, Greek ο, fullwidth ａ) are outside these blocks.
const NAME_CHARACTER =
  /[A-Za-z0-9_\-\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BF\u01C4-\u024F]/;
const NAME_PATTERN = new RegExp(`^${NAME_CHARACTER.source}+$`);
// A name starts with a letter or a digit: `-`, `_` and `--help` are not
// names (and look like options on a command line).
const NAME_START = /^[\p{L}\p{Nd}]/u;
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
 * (`empty`, `too-long`, `characters`, `start`; the catalogues say it in words), or
 * `undefined` when it is acceptable: 1 to 24 letters (with or without
 * accents, from the Latin alphabets), digits, `_` and `-`, starting with a
 * letter or a digit. Names never
 * contain spaces, colons or asterisks, so no user can make a line that looks
 * like a notice or another user's line.
 *
 * @example
 * ```ts
 * import { nameProblem } from "./protocol.ts";
 * nameProblem("élodie"); // undefined
 * nameProblem("a b"); // "characters"
 * nameProblem("\u0430lice"); // "characters" (a Cyrillic а)
 * nameProblem("--help"); // "start" (a name starts with a letter or digit)
 * ```
 */
export function nameProblem(name: string): NameProblem | undefined {
  const normalized = normalizeName(name);
  if (normalized.length === 0) return "empty";
  if (normalized.length > MAX_NAME_LENGTH) return "too-long";
  if (!NAME_PATTERN.test(normalized)) return "characters";
  if (!NAME_START.test(normalized)) return "start";
  return undefined;
}

/**
 * Turns a user name from the environment (such as `$USER`) into a valid chat
 * name, or `undefined` when nothing usable is left. What a name cannot hold
 * is removed: an accented letter from outside the allowed blocks keeps its
 * base letter, each run of other characters between two kept ones becomes
 * one `_`, and `_` and `-` before the first letter or digit are dropped.
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
  name = name.replace(/^[_-]+/, "").slice(0, MAX_NAME_LENGTH);
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

/**
 * The length of `text` in UTF-8 bytes, without encoding it.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./protocol.ts";
 * utf8Length("é漢😀"); // 2 + 3 + 4 = 9
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1; // two bytes
    } else if (
      code >= 0xd800 && code < 0xdc00 && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      bytes += 2; // a surrogate pair, two code units: four bytes
      i++;
    } else {
      bytes += 2; // three bytes, also a lone surrogate (U+FFFD)
    }
  }
  return bytes;
}
