/**
 * The bench's side of the structured protocol: a client that sent
 * `/proto 1` gets one JSON object per line, `type`, `seq` and `time` first.
 * A bench message arrives as
 * `{"type":"message","seq":12,"time":"...","from":"b3","text":"T3.17..."}`,
 * the JSON form of the plain `b3: T3.17...`.
 *
 * {@linkcode classifyJsonLine} reads the common case, one message exactly as
 * our server writes it, straight from the bytes and without allocating;
 * any line that is not exactly that shape goes through `JSON.parse`, which
 * has the last word, so a line escaped differently or with more fields is
 * read the same way, and a spliced or cut line counts as broken.
 *
 * @module
 */

import {
  classifyLine,
  clientName,
  LINE_BROKEN,
  LINE_MESSAGE,
  LINE_NOTICE,
  type LineKind,
  MESSAGE_BYTES,
  type Token,
} from "./token.ts";

/** The line a client sends to switch to the structured protocol. */
export const PROTO_REQUEST = "/proto 1";

/** Anything but a message: `type` and the fields the bench looks at. */
export interface JsonEvent {
  type: string;
  seq: number;
  [field: string]: unknown;
}

/**
 * What {@linkcode classifyJsonLine} found besides the token: the event's
 * `seq`, and for anything but a message the parsed event (`null` for a
 * message).
 */
export interface JsonInfo {
  seq: number;
  event: JsonEvent | null;
}

const PREFIX = new TextEncoder().encode('{"type":"message","seq":');
const TIME = new TextEncoder().encode(',"time":"');
const FROM = new TextEncoder().encode('","from":"');
const TEXT = new TextEncoder().encode('","text":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACE_CLOSE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;
const B = 0x62;
const CR = 0x0d;
const MAX_DIGITS = 15;
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function matches(
  bytes: Uint8Array,
  at: number,
  end: number,
  pattern: Uint8Array,
): boolean {
  if (at + pattern.length > end) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (bytes[at + i] !== pattern[i]) return false;
  }
  return true;
}

/**
 * The end of a JSON string's contents starting at `at`, when it holds only
 * printable ASCII without escapes (what the fast path accepts), or -1.
 */
function plainStringEnd(bytes: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) return i;
    if (byte < 0x20 || byte > 0x7e || byte === BACKSLASH) return -1;
  }
  return -1;
}

/** True when `bytes[start, end)` is `clientName(sender)`. */
function isSenderName(
  bytes: Uint8Array,
  start: number,
  end: number,
  sender: number,
): boolean {
  if (end - start < 2 || bytes[start] !== B) return false;
  if (bytes[start + 1] === ZERO && end - start > 2) return false;
  let value = 0;
  for (let i = start + 1; i < end; i++) {
    if (bytes[i] < ZERO || bytes[i] > NINE) return false;
    value = value * 10 + (bytes[i] - ZERO);
  }
  return end - start - 1 <= MAX_DIGITS && value === sender;
}

/**
 * The fast path: a message exactly as our server writes it, every string
 * without escapes. Returns LINE_MESSAGE with `token` and `info.seq` filled,
 * or -1 when the line is anything else (then `JSON.parse` decides).
 */
function fastMessage(
  bytes: Uint8Array,
  start: number,
  end: number,
  token: Token,
  info: JsonInfo,
  length: number,
): number {
  if (!matches(bytes, start, end, PREFIX)) return -1;
  let i = start + PREFIX.length;
  const digits = i;
  let seq = 0;
  while (i < end && bytes[i] >= ZERO && bytes[i] <= NINE) {
    seq = seq * 10 + (bytes[i] - ZERO);
    i++;
  }
  // JSON allows no leading zero; longer numbers would lose precision.
  if (i === digits || i - digits > MAX_DIGITS) return -1;
  if (bytes[digits] === ZERO && i - digits > 1) return -1;
  if (!matches(bytes, i, end, TIME)) return -1;
  const timeEnd = plainStringEnd(bytes, i + TIME.length, end);
  if (timeEnd <= i + TIME.length) return -1;
  if (!matches(bytes, timeEnd, end, FROM)) return -1;
  const fromStart = timeEnd + FROM.length;
  const fromEnd = plainStringEnd(bytes, fromStart, end);
  if (fromEnd < 0 || !matches(bytes, fromEnd, end, TEXT)) return -1;
  const textStart = fromEnd + TEXT.length;
  // The text runs to the `"}` that ends the line; classifyLine then allows
  // nothing in it but the token's digits, dots, colon and padding.
  if (
    end - 2 - textStart !== length || bytes[end - 2] !== QUOTE ||
    bytes[end - 1] !== BRACE_CLOSE
  ) {
    return -1;
  }
  if (classifyLine(bytes, textStart, end - 2, token, length) !== LINE_MESSAGE) {
    return -1;
  }
  if (!isSenderName(bytes, fromStart, fromEnd, token.sender)) return -1;
  info.seq = seq;
  info.event = null;
  return LINE_MESSAGE;
}

/**
 * Classifies one line from a structured connection, `bytes[start, end)`
 * without its `\n` (a trailing `\r` is ignored):
 *
 * - `LINE_MESSAGE`: a `message` event whose `text` is exactly one bench
 *   message and whose `from` is its sender's name; `token` and `info.seq`
 *   are filled.
 * - `LINE_NOTICE`: any other event (a JSON object with a string `type`, an
 *   integer `seq` and a string `time`), unknown types included; `info.event`
 *   holds it.
 * - `LINE_BROKEN`: anything else: not JSON (a spliced or cut line), not an
 *   event, or a message that is not one whole bench message from its
 *   sender.
 *
 * @example
 * ```ts
 * import { classifyJsonLine } from "./structured.ts";
 * import { formatMessage, LINE_MESSAGE } from "./token.ts";
 * const line = new TextEncoder().encode(
 *   `{"type":"message","seq":5,"time":"2026-01-01T00:00:00.000Z","from":"b3","text":"${
 *     formatMessage(3, 1, 99)
 *   }"}`,
 * );
 * const token = { sender: 0, seq: 0, sentMicros: 0 };
 * const info = { seq: 0, event: null };
 * classifyJsonLine(line, 0, line.length, token, info) === LINE_MESSAGE; // true
 * ```
 */
export function classifyJsonLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  token: Token,
  info: JsonInfo,
  length: number = MESSAGE_BYTES,
): LineKind {
  if (end > start && bytes[end - 1] === CR) end--;
  const fast = fastMessage(bytes, start, end, token, info, length);
  if (fast === LINE_MESSAGE) return LINE_MESSAGE;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes.subarray(start, end)));
  } catch {
    return LINE_BROKEN;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return LINE_BROKEN;
  }
  const event = value as Record<string, unknown>;
  if (
    typeof event.type !== "string" || !Number.isSafeInteger(event.seq) ||
    (event.seq as number) < 0 || typeof event.time !== "string"
  ) {
    return LINE_BROKEN;
  }
  info.seq = event.seq as number;
  if (event.type !== "message") {
    info.event = event as JsonEvent;
    return LINE_NOTICE;
  }
  info.event = null;
  if (typeof event.from !== "string" || typeof event.text !== "string") {
    return LINE_BROKEN;
  }
  const text = encoder.encode(event.text);
  if (
    text.length !== length ||
    classifyLine(text, 0, text.length, token, length) !== LINE_MESSAGE ||
    event.from !== clientName(token.sender)
  ) {
    return LINE_BROKEN;
  }
  return LINE_MESSAGE;
}
