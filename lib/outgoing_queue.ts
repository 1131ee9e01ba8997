/**
 * One connection's outgoing side: a bounded queue of bytes and the writer
 * that drains it, plus the room-wide flow control that holds reading when
 * too many readers fall behind. The room only ever enqueues, so a slow
 * reader delays no one but itself.
 *
 * @module
 */

import type { ChatSocket } from "./chat_socket.ts";
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
 * An address whose connection was dropped as too slow is not counted as
 * behind for this long: it cannot hold the room again meanwhile, and its
 * connections are dropped by the queue limit or the stall rule as usual.
 */
export const SLOW_ADDRESS_PENALTY_MS = 60_000;

/**
 * Counts the connections that are behind: holds reading once a quarter of
 * them are, until none is.
 *
 * Connections from one address count once: when the room holds several
 * addresses, the behind connections must also come from at least two of
 * them, and from a quarter of the addresses, so that one machine opening
 * many connections that never read cannot pause everyone else. In a room
 * where every connection comes from one address (a test on loopback, a
 * room behind one NAT), the rule is the connection count alone, as before.
 * In a room with several addresses, an address
 * {@linkcode FlowControl.penalize}d for dropping a too-slow reader is not
 * counted at all for {@linkcode SLOW_ADDRESS_PENALTY_MS}.
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
  /** Connections behind, by address, penalised ones included. */
  readonly #behindByAddress = new Map<string, number>();
  /** Until when (performance.now()) an address is not counted. */
  readonly #penalisedUntil = new Map<string, number>();
  #resume: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #connectionCount: () => number;
  readonly #addressCount: () => number;

  /**
   * `connectionCount`: connections in the room; `addressCount`: different
   * addresses among them (1 when not told).
   */
  constructor(connectionCount: () => number, addressCount?: () => number) {
    this.#connectionCount = connectionCount;
    this.#addressCount = addressCount ?? (() => 1);
  }

  /** While reading is held, a promise that settles when it resumes. */
  ready(): Promise<void> | undefined {
    return this.#resume;
  }

  /** A connection fell behind (+1), or caught up or left (-1). */
  behind(change: 1 | -1, address = ""): void {
    const count = (this.#behindByAddress.get(address) ?? 0) + change;
    if (count > 0) this.#behindByAddress.set(address, count);
    else this.#behindByAddress.delete(address);
    this.#decide();
  }

  /**
   * A connection from `address` was dropped as too slow: for
   * {@linkcode SLOW_ADDRESS_PENALTY_MS}, none of its connections counts as
   * behind (and if they alone held the room, it resumes).
   */
  penalize(address: string, now = performance.now()): void {
    if (this.#penalisedUntil.size >= 1024) {
      for (const [other, until] of this.#penalisedUntil) {
        if (until <= now) this.#penalisedUntil.delete(other);
      }
    }
    this.#penalisedUntil.set(address, now + SLOW_ADDRESS_PENALTY_MS);
    this.#decide();
  }

  #decide(): void {
    const roomAddresses = Math.max(1, this.#addressCount());
    // Penalties only tell addresses apart: where everyone comes from one,
    // they would stop flow control for the honest readers too.
    const now = roomAddresses > 1 && this.#penalisedUntil.size > 0
      ? performance.now()
      : 0;
    let behind = 0;
    let addresses = 0;
    for (const [address, count] of this.#behindByAddress) {
      const until = now > 0 ? this.#penalisedUntil.get(address) : undefined;
      if (until !== undefined) {
        if (until > now) continue;
        this.#penalisedUntil.delete(address);
      }
      behind += count;
      addresses++;
    }
    if (!this.#resume) {
      const connections = this.#connectionCount();
      if (
        behind >= 2 && behind * 4 >= connections &&
        addresses >= Math.min(2, roomAddresses) &&
        addresses * 4 >= roomAddresses
      ) {
        this.#resume = new Promise((resolve) => this.#wake = resolve);
      }
    } else if (behind === 0) {
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
  readonly #conn: ChatSocket;
  readonly #limitBytes: number;
  readonly #flow: FlowControl;
  /** The peer's address, as the flow control counts it. */
  readonly #address: string;
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
  /** No write progress for a sweep: not counted by the flow control. */
  #notReading = false;
  /** Settles when the writer ends: drained after close, aborted, or failed. */
  readonly done: Promise<WriterEnd>;
  /**
   * Issue 12: called each time everything queued has been written, before
   * the writer waits; it may queue more (the next chunks of a download).
   */
  onIdle: (() => void) | undefined;

  constructor(
    conn: ChatSocket,
    limitBytes: number,
    flow: FlowControl,
    address = "",
  ) {
    this.#conn = conn;
    this.#limitBytes = limitBytes;
    this.#flow = flow;
    this.#address = address;
    this.done = this.#writeLoop();
  }

  /** Bytes queued or being written (issue 12: downloads wait for few). */
  get pendingBytes(): number {
    return this.#queuedBytes + this.#writingBytes;
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
      if (this.#notReading) {
        this.#notReading = false;
        this.#updateBehind();
      }
      return false;
    }
    // A peer whose write has not moved for a whole sweep has stopped
    // reading: it no longer holds the room (flow control waits only for
    // readers that are reading), and is dropped at `stalledMs`.
    if (!this.#notReading) {
      this.#notReading = true;
      this.#updateBehind();
    }
    return ++this.#sweepsWithoutProgress * sweepMs >= stalledMs;
  }

  /** Behind: more than the backlog queued or being written. */
  #updateBehind(): void {
    const behind = !this.#stopped && !this.#released && !this.#notReading &&
      this.#queuedBytes + this.#writingBytes > BACKLOG_BYTES;
    if (behind === this.#behind) return;
    this.#behind = behind;
    this.#flow.behind(behind ? 1 : -1, this.#address);
  }

  async #writeLoop(): Promise<WriterEnd> {
    while (!this.#stopped) {
      if (this.#runs.length === 0) {
        if (this.#closing) return "drained";
        if (this.onIdle) {
          this.onIdle();
          if (this.#runs.length > 0) continue;
        }
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
