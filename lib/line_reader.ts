/**
 * One connection's incoming side: reads bytes, splits them into lines, and
 * delivers the unfinished line of a client that never sends newlines (the
 * course's Python client) once it pauses.
 *
 * @module
 */

import { type FramedLine, LineSplitter } from "./protocol.ts";

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
}

/**
 * Reads `conn` until it ends, handing each line to `onLine`. Resolves with
 * `"ended"` when the peer closed (its unfinished last line delivered first)
 * or `"failed"` on a reset or a failed TLS handshake.
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
  conn: Deno.Conn,
  options: LineReaderOptions,
): Promise<"ended" | "failed"> {
  const splitter = new LineSplitter(options.maxLineBytes);
  let buffer = new Uint8Array(SMALL_READ_BUFFER_BYTES);
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let sentNewline = false;
  const deliverPartial = () => {
    idleTimer = undefined;
    const partial = splitter.flush();
    if (partial) options.onLine(partial);
  };
  try {
    while (!options.gone()) {
      const held = options.ready();
      if (held) await held;
      const count = await conn.read(buffer);
      if (count === null) break;
      options.onBytes();
      const filled = count === buffer.length;
      clearTimeout(idleTimer);
      for (const event of splitter.push(buffer.subarray(0, count))) {
        if (event.kind === "line") sentNewline = true;
        options.onLine(event);
      }
      // For clients that never end a line (like the course's Python
      // client). One that does is waited for: under load, a pause in the
      // middle of its line must not cut the line in two.
      if (!sentNewline && splitter.pendingBytes > 0) {
        idleTimer = setTimeout(deliverPartial, IDLE_FLUSH_MS);
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
  // A client that never sends "\n" still has its last words delivered.
  if (!options.gone()) deliverPartial();
  return "ended";
}
