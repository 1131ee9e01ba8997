/**
 * The benchmark's line format: every message carries a token
 * `T<sender>.<seq>.<sentMicros>.<check>:` followed by `x` padding up to a
 * fixed length, so a receiver can tell who sent it, in which order, when,
 * and whether it arrived whole. The check digits catch a line spliced from
 * two others whose pieces happen to line up into a well-formed token.
 *
 * A received line is either a notice (`*** ...`), one whole message, with or
 * without a `name: ` prefix (our server adds it, `ncat --broker` does not),
 * or broken: no token, two tokens, a cut token or padding, or anything else
 * around it. Broken lines are what a server produces when it splices lines
 * from different senders together.
 *
 * @module
 */

/** Length of every message's text in bytes (token plus padding). */
export const MESSAGE_BYTES = 100;

/** A received line is a notice from the server (`*** ...`). */
export const LINE_NOTICE = 0;
/** A received line is one whole benchmark message. */
export const LINE_MESSAGE = 1;
/** A received line is neither: spliced, cut or garbage. */
export const LINE_BROKEN = 2;

/** What {@linkcode classifyLine} returns. */
export type LineKind =
  | typeof LINE_NOTICE
  | typeof LINE_MESSAGE
  | typeof LINE_BROKEN;

/** The token of a message, filled in by {@linkcode classifyLine}. */
export interface Token {
  sender: number;
  seq: number;
  /** Send time in microseconds on the generator's `performance.now()` clock. */
  sentMicros: number;
}

const T = 0x54;
const X = 0x78;
const B = 0x62;
const DOT = 0x2e;
const COLON = 0x3a;
const SPACE = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
const STAR = 0x2a;
const CR = 0x0d;
const MAX_DIGITS = 15;

/** The bench's client names: `b` and the client's index, e.g. `b12`. */
export function clientName(index: number): string {
  return `b${index}`;
}

/**
 * The text of one message: its token then `x` up to `length` bytes.
 *
 * @example
 * ```ts
 * import { formatMessage } from "./token.ts";
 * formatMessage(3, 17, 123456, 30); // "T3.17.123456.598081:xxxxxxxxxx"
 * ```
 */
export function formatMessage(
  sender: number,
  seq: number,
  sentMicros: number,
  length: number = MESSAGE_BYTES,
): string {
  const micros = Math.round(sentMicros);
  const token = `T${sender}.${seq}.${micros}.${
    checkDigits(sender, seq, micros)
  }:`;
  if (token.length > length) {
    throw new RangeError(`token ${token} is longer than ${length} bytes`);
  }
  return token + "x".repeat(length - token.length);
}

/**
 * The check of a token: a hash of its three numbers, 0 to 999,982. A token
 * pieced together from two others matches its check about once in a
 * million.
 *
 * @example
 * ```ts
 * import { checkDigits } from "./token.ts";
 * checkDigits(3, 17, 123456); // 598081
 * ```
 */
export function checkDigits(
  sender: number,
  seq: number,
  sentMicros: number,
): number {
  // Each step stays below 2^53, so the arithmetic is exact.
  let hash = (sender * 1_000_003 + seq) % 999_983;
  hash = (hash * 7_919 + (sentMicros % 999_983)) % 999_983;
  return (hash * 104_729 + Math.floor(sentMicros / 999_983)) % 999_983;
}

// readNumber's second result, kept here so that parsing allocates nothing.
let parsed = 0;

/**
 * Reads the decimal number at `bytes[i]` up to `separator`; returns the index
 * after the separator (the number is left in `parsed`), or -1.
 */
function readNumber(
  bytes: Uint8Array,
  i: number,
  end: number,
  separator: number,
): number {
  const first = i;
  let value = 0;
  while (i < end && bytes[i] >= ZERO && bytes[i] <= NINE) {
    value = value * 10 + (bytes[i] - ZERO);
    i++;
  }
  if (i === first || i - first > MAX_DIGITS || i >= end) return -1;
  if (bytes[i] !== separator) return -1;
  parsed = value;
  return i + 1;
}

/**
 * Classifies the line `bytes[start, end)` (without its `\n`; a trailing `\r`
 * is ignored) and, for a message, fills `token`. A message may be prefixed
 * only by its own sender's name, `b<sender>: `. Allocates nothing.
 *
 * @example
 * ```ts
 * import { classifyLine, LINE_MESSAGE, formatMessage } from "./token.ts";
 * const line = new TextEncoder().encode("b3: " + formatMessage(3, 1, 99));
 * const token = { sender: 0, seq: 0, sentMicros: 0 };
 * classifyLine(line, 0, line.length, token) === LINE_MESSAGE; // true
 * ```
 */
export function classifyLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  token: Token,
  length: number = MESSAGE_BYTES,
): LineKind {
  if (end > start && bytes[end - 1] === CR) end--;
  if (
    end - start >= 4 && bytes[start] === STAR && bytes[start + 1] === STAR &&
    bytes[start + 2] === STAR && bytes[start + 3] === SPACE
  ) {
    return LINE_NOTICE;
  }
  // The message is the last `length` bytes; before it, nothing or "bN: ".
  const at = end - length;
  if (at < start || bytes[at] !== T) return LINE_BROKEN;
  let i = readNumber(bytes, at + 1, end, DOT);
  if (i < 0) return LINE_BROKEN;
  const sender = parsed;
  i = readNumber(bytes, i, end, DOT);
  if (i < 0) return LINE_BROKEN;
  const seq = parsed;
  i = readNumber(bytes, i, end, DOT);
  if (i < 0) return LINE_BROKEN;
  const sentMicros = parsed;
  i = readNumber(bytes, i, end, COLON);
  if (i < 0 || parsed !== checkDigits(sender, seq, sentMicros)) {
    return LINE_BROKEN;
  }
  for (; i < end; i++) {
    if (bytes[i] !== X) return LINE_BROKEN;
  }
  if (at > start) {
    if (bytes[start] !== B || bytes[at - 1] !== SPACE) return LINE_BROKEN;
    if (readNumber(bytes, start + 1, at - 1, COLON) !== at - 1) {
      return LINE_BROKEN;
    }
    if (parsed !== sender || (bytes[start + 1] === ZERO && at - start > 4)) {
      return LINE_BROKEN;
    }
  }
  token.sender = sender;
  token.seq = seq;
  token.sentMicros = sentMicros;
  return LINE_MESSAGE;
}

/**
 * Splits a byte stream into lines without copying them, except a line that
 * spans two chunks. A line longer than `maxLineBytes` is reported as
 * `oversize` and skipped, so memory stays bounded whatever a server sends.
 *
 * @example
 * ```ts
 * import { LineScanner } from "./token.ts";
 * const seen: string[] = [];
 * const scanner = new LineScanner((bytes, start, end) =>
 *   seen.push(new TextDecoder().decode(bytes.subarray(start, end)))
 * );
 * scanner.push(new TextEncoder().encode("a\nb"));
 * scanner.push(new TextEncoder().encode("c\n"));
 * // seen: ["a", "bc"]
 * ```
 */
export class LineScanner {
  #carry: Uint8Array;
  #carryBytes = 0;
  #skipping = false;
  /** Lines dropped for being longer than the limit. */
  oversize = 0;

  /**
   * @param onLine called with each complete line, `bytes[start, end)`; the
   *   bytes are only valid during the call
   * @param maxLineBytes longest line kept
   */
  constructor(
    readonly onLine: (bytes: Uint8Array, start: number, end: number) => void,
    readonly maxLineBytes = 64 * 1024,
  ) {
    this.#carry = new Uint8Array(256);
  }

  /** Bytes of an unfinished line held back. */
  get pendingBytes(): number {
    return this.#carryBytes;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.#carryBytes > 0 || this.#skipping) {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        this.#keep(chunk, 0, chunk.length);
        return;
      }
      this.#keep(chunk, 0, newline);
      if (!this.#skipping) this.onLine(this.#carry, 0, this.#carryBytes);
      this.#carryBytes = 0;
      this.#skipping = false;
      start = newline + 1;
    }
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      this.onLine(chunk, start, newline);
      start = newline + 1;
    }
    if (start < chunk.length) this.#keep(chunk, start, chunk.length);
  }

  #keep(chunk: Uint8Array, start: number, end: number): void {
    if (this.#skipping) return;
    const needed = this.#carryBytes + (end - start);
    if (needed > this.maxLineBytes) {
      this.oversize++;
      this.#skipping = true;
      this.#carryBytes = 0;
      return;
    }
    if (needed > this.#carry.length) {
      const grown = new Uint8Array(
        Math.min(this.maxLineBytes, Math.max(needed, this.#carry.length * 2)),
      );
      grown.set(this.#carry.subarray(0, this.#carryBytes));
      this.#carry = grown;
    }
    this.#carry.set(chunk.subarray(start, end), this.#carryBytes);
    this.#carryBytes = needed;
  }
}
