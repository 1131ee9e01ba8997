/**
 * One connection's incoming side: reads bytes, splits them into lines, and
 * delivers the unfinished line of a client that never sends newlines (the
 * course's Python client) once it pauses.
 *
 * @module
 */

import type { ChatSocket } from "./chat_socket.ts";
import { type FramedLine, LineSplitter, TelnetFilter } from "./protocol.ts";

/**
 * A partial line (no `\n` yet) from a client that has never sent a newline
 * (the course's Python client) is delivered after this long without bytes.
 */
export const IDLE_FLUSH_MS = 300;

// Each waiting read holds its buffer: an idle connection gets a small one,
// one that fills it gets a large one, for fewer reads when bytes pour in.
const SMALL_READ_BUFFER_BYTES = 512;
const LARGE_READ_BUFFER_BYTES = 16 * 1024;

/** What {@linkcode readLines} needs from the connection it reads for. */
export interface LineReaderOptions {
  /** Longest line accepted, without its line ending. */
  maxLineBytes: number;
  /** While this returns a promise, reading waits for it (flow control). */
  ready(): Promise<void> | undefined;
  /** True once the connection is gone: stop reading. */
  gone(): boolean;
  /** Bytes arrived (for heartbeats). */
  onBytes(): void;
  /** A line, or a line over the limit. */
  onLine(line: FramedLine): void;
  /**
   * The splitter to use (its limit may then be changed while reading);
   * default: a new one with `maxLineBytes`.
   */
  splitter?: LineSplitter;
}

/**
 * Reads `conn` until it ends, handing each line to `onLine`. Resolves with
 * `"ended"` when the peer closed (the unfinished last line of a client that
 * never ended a line delivered first) or `"failed"` on a reset or a failed
 * TLS handshake. Telnet commands are removed from what is read.
 *
 * @example
 * ```ts
 * import { readLines } from "./line_reader.ts";
 * declare const conn: Deno.Conn;
 * const end = await readLines(conn, {
 *   maxLineBytes: 4096,
 *   ready: () => undefined,
 *   gone: () => false,
 *   onBytes() {},
 *   onLine: (line) => console.log(line),
 * });
 * ```
 */
export async function readLines(
  conn: ChatSocket,
  options: LineReaderOptions,
): Promise<"ended" | "failed"> {
  const splitter = options.splitter ?? new LineSplitter(options.maxLineBytes);
  let buffer = new Uint8Array(SMALL_READ_BUFFER_BYTES);
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const telnet = new TelnetFilter();
  let sentNewline = false;
  // After a pause, a character cut in two by it waits for its other bytes;
  // at the end, what is left is delivered as it is.
  const deliverPartial = (atEnd: boolean) => {
    idleTimer = undefined;
    const partial = splitter.flush(!atEnd);
    if (partial) options.onLine(partial);
  };
  const deliverAfterPause = () => deliverPartial(false);
  try {
    while (!options.gone()) {
      const held = options.ready();
      if (held) await held;
      const count = await conn.read(buffer);
      if (count === null) break;
      options.onBytes();
      const filled = count === buffer.length;
      clearTimeout(idleTimer);
      // Telnet's negotiation is removed before lines are split: it is
      // bytes, not text, and may come in the middle of a line.
      const bytes = telnet.strip(buffer.subarray(0, count));
      for (const event of splitter.push(bytes)) {
        if (event.kind === "line") sentNewline = true;
        options.onLine(event);
      }
      // For clients that never end a line (like the course's Python
      // client). One that does is waited for: under load, a pause in the
      // middle of its line must not cut the line in two.
      if (!sentNewline && splitter.pendingBytes > 0) {
        idleTimer = setTimeout(deliverAfterPause, IDLE_FLUSH_MS);
      }
      if (filled && buffer.length < LARGE_READ_BUFFER_BYTES) {
        buffer = new Uint8Array(LARGE_READ_BUFFER_BYTES);
      }
    }
  } catch {
    // A reset, or a TLS handshake that failed (say, plain text sent to a
    // TLS server).
    clearTimeout(idleTimer);
    return "failed";
  }
  clearTimeout(idleTimer);
  // A client that never ends a line still has its last words delivered.
  // One that does and closes in the middle of a line was cut off (killed,
  // say): its unfinished line is dropped, not said for it.
  if (!options.gone() && !sentNewline) deliverPartial(true);
  return "ended";
}
