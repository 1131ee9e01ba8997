/**
 * One connection's outgoing side: a bounded queue of bytes and the writer
 * that drains it, plus the room-wide flow control that holds reading when
 * too many readers fall behind. The room only ever enqueues, so a slow
 * reader delays no one but itself.
 *
 * @module
 */

import { concatBytes } from "./protocol.ts";

/**
 * A connection with more than this waiting to be written is behind. When a
 * quarter of the room is behind (the readers cannot keep up with the
 * senders, rather than one reader being slow), the server stops reading from
 * senders until all have caught up: TCP then slows the senders down, and no
 * reader is dropped for a load no one could read.
 */
export const BACKLOG_BYTES = 64 * 1024;

/** Queued bytes in several pieces are copied into one write below this. */
const COPY_BELOW_BYTES = 16 * 1024;

/**
 * Counts the connections that are behind: holds reading once a quarter of
 * them are, until none is.
 *
 * @example
 * ```ts
 * import { FlowControl } from "./outgoing_queue.ts";
 * const flow = new FlowControl(() => 4);
 * flow.behind(1);
 * flow.behind(1);
 * flow.ready() !== undefined; // true: reading is held
 * ```
 */
export class FlowControl {
  #behind = 0;
  #resume: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #connectionCount: () => number;

  constructor(connectionCount: () => number) {
    this.#connectionCount = connectionCount;
  }

  /** While reading is held, a promise that settles when it resumes. */
  ready(): Promise<void> | undefined {
    return this.#resume;
  }

  /** A connection fell behind (+1), or caught up or left (-1). */
  behind(change: 1 | -1): void {
    this.#behind += change;
    const count = this.#connectionCount();
    if (!this.#resume && this.#behind >= 2 && this.#behind * 4 >= count) {
      this.#resume = new Promise((resolve) => this.#wake = resolve);
    } else if (this.#resume && this.#behind === 0) {
      // Held until every reader caught up: the slowest one still reading
      // sets the pace, instead of falling further behind each time.
      this.#wake!();
      this.#resume = undefined;
    }
  }
}

/** Bytes `start` to `end` of `buffer`, waiting to be written. */
interface QueuedRun {
  readonly buffer: ArrayBufferLike;
  readonly start: number;
  end: number;
}

function runOf(bytes: Uint8Array): QueuedRun {
  return {
    buffer: bytes.buffer,
    start: bytes.byteOffset,
    end: bytes.byteOffset + bytes.length,
  };
}

/** How the writer's life ends. */
export type WriterEnd = "drained" | "aborted" | "failed";

/**
 * A bounded queue of bytes for one socket, and the loop that writes it.
 * Bytes that follow the last queued ones in memory (events said to
 * everyone, see `LineArena`) only lengthen the last run, so a burst goes out
 * as one view of a shared block, with no copying.
 *
 * @example
 * ```ts
 * import { FlowControl, OutgoingQueue } from "./outgoing_queue.ts";
 * declare const conn: Deno.Conn;
 * const queue = new OutgoingQueue(conn, 1024 * 1024, new FlowControl(() => 1));
 * queue.push(new TextEncoder().encode("hello\n")); // true
 * queue.close(); // writes what is queued, then `done` settles
 * await queue.done;
 * ```
 */
export class OutgoingQueue {
  readonly #conn: Deno.Conn;
  readonly #limitBytes: number;
  readonly #flow: FlowControl;
  #runs: QueuedRun[] = [];
  #queuedBytes = 0;
  /** Bytes handed to the socket whose write has not finished yet. */
  #writingBytes = 0;
  /** Writes finished so far, and sweeps that saw none finish. */
  #writesDone = 0;
  #writesDoneAtSweep = 0;
  #sweepsWithoutProgress = 0;
  /** Counted as behind by the flow control. */
  #behind = false;
  #wakeWriter: (() => void) | undefined;
  #closing = false;
  #stopped = false;
  /** Dropped as too slow: no longer counted by the flow control. */
  #released = false;
  /** Settles when the writer ends: drained after close, aborted, or failed. */
  readonly done: Promise<WriterEnd>;

  constructor(conn: Deno.Conn, limitBytes: number, flow: FlowControl) {
    this.#conn = conn;
    this.#limitBytes = limitBytes;
    this.#flow = flow;
    this.done = this.#writeLoop();
  }

  /** True once no more bytes are taken. */
  get closing(): boolean {
    return this.#closing || this.#stopped;
  }

  /**
   * Queues bytes. Returns false, queueing nothing, when they would take the
   * queue past its limit.
   */
  push(bytes: Uint8Array): boolean {
    if (this.#closing || this.#stopped) return true;
    if (this.#queuedBytes + bytes.length > this.#limitBytes) return false;
    const last = this.#runs[this.#runs.length - 1];
    if (
      last !== undefined && last.buffer === bytes.buffer &&
      last.end === bytes.byteOffset
    ) {
      last.end += bytes.length;
    } else {
      this.#runs.push(runOf(bytes));
    }
    this.#queuedBytes += bytes.length;
    if (!this.#behind) this.#updateBehind();
    this.#wakeWriter?.();
    return true;
  }

  /**
   * Drops everything queued, queues `bytes` as the last words, and closes:
   * for a reader too slow to keep up. From now on this queue never holds
   * the room (flow control), even while a write to it is still pending.
   */
  replaceAndClose(bytes: Uint8Array): void {
    if (this.#stopped) return;
    this.#released = true;
    this.#runs = [runOf(bytes)];
    this.#queuedBytes = bytes.length;
    this.#updateBehind();
    this.close();
  }

  /** Takes no more bytes; the writer ends once what is queued is written. */
  close(): void {
    this.#closing = true;
    this.#wakeWriter?.();
  }

  /** Drops what is queued and stops the writer at once. */
  abort(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#runs = [];
    this.#queuedBytes = 0;
    this.#updateBehind();
    this.#wakeWriter?.();
  }

  /**
   * Called by each sweep: true once a write has been waiting for the peer to
   * read, with no write finishing, for `stalledMs`.
   */
  writeStalled(sweepMs: number, stalledMs: number): boolean {
    if (
      this.#writingBytes === 0 || this.#writesDone !== this.#writesDoneAtSweep
    ) {
      this.#writesDoneAtSweep = this.#writesDone;
      this.#sweepsWithoutProgress = 0;
      return false;
    }
    return ++this.#sweepsWithoutProgress * sweepMs >= stalledMs;
  }

  /** Behind: more than the backlog queued or being written. */
  #updateBehind(): void {
    const behind = !this.#stopped && !this.#released &&
      this.#queuedBytes + this.#writingBytes > BACKLOG_BYTES;
    if (behind === this.#behind) return;
    this.#behind = behind;
    this.#flow.behind(behind ? 1 : -1);
  }

  async #writeLoop(): Promise<WriterEnd> {
    while (!this.#stopped) {
      if (this.#runs.length === 0) {
        if (this.#closing) return "drained";
        await new Promise<void>((resolve) => this.#wakeWriter = resolve);
        this.#wakeWriter = undefined;
        continue;
      }
      // Everything queued goes out at once: fewer system calls when lines
      // arrive faster than this peer reads. Runs of broadcast lines are
      // views of shared blocks; only small, scattered ones are copied.
      let chunks = this.#runs.map((run) =>
        new Uint8Array(run.buffer, run.start, run.end - run.start)
      );
      if (chunks.length > 1 && this.#queuedBytes < COPY_BELOW_BYTES) {
        chunks = [concatBytes(chunks, this.#queuedBytes)];
      }
      this.#writingBytes = this.#queuedBytes;
      this.#runs = [];
      this.#queuedBytes = 0;
      try {
        for (const chunk of chunks) {
          for (let offset = 0; offset < chunk.length;) {
            const written = await this.#conn.write(chunk.subarray(offset));
            offset += written;
            this.#writingBytes -= written;
            this.#writesDone++;
          }
        }
        this.#writingBytes = 0;
        this.#updateBehind();
      } catch {
        this.#writingBytes = 0;
        this.abort();
        return "failed";
      }
    }
    return "aborted";
  }
}
