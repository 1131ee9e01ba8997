/**
 * What `chat connect` keeps of the lines typed, so that none is lost or
 * sent twice when the connection drops: the lines sent but not yet known
 * to have reached the room, and the lines typed while disconnected, to
 * send once back, in order. Bounded ({@linkcode OUTBOX_LINES}); no sockets
 * here, so it is tested without a network.
 *
 * A sent line is known to have reached the room when the server echoes it
 * (a chat line or `/me` comes back from our own name) or answers a
 * heartbeat sent after it (the server handles lines in order). After a
 * drop, the lines not known to have arrived are looked for in the history
 * the server replays (same sender, same text): those found are not sent
 * again; the others are, before the lines typed while away.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import { nameKey, sanitizeText } from "./protocol.ts";
import { blockLines, parseFencedBlock } from "./code_block.ts";

/** Lines kept while disconnected (sent-but-unconfirmed ones included). */
export const OUTBOX_LINES = 100;

/** A line waiting to be sent. */
export interface WaitingLine {
  text: string;
  /** Sent before the drop, not known to have arrived: it may have. */
  maybeSent: boolean;
}

/** What the server echoes back for a typed line, if anything. */
interface Echo {
  type: "message" | "action" | "block";
  text: string;
}

/**
 * The echo a typed line gets from the room: a chat line (`//x` is the
 * message `/x`) or `/me` (an action); `undefined` for other commands and
 * for `stop`, which leaves.
 *
 * @example
 * ```ts
 * import { expectedEcho } from "./outbox.ts";
 * expectedEcho("hello"); // { type: "message", text: "hello" }
 * expectedEcho("/me waves"); // { type: "action", text: "waves" }
 * expectedEcho("/who"); // undefined
 * ```
 */
export function expectedEcho(line: string): Echo | undefined {
  // Issue 12: a code block, kept in its fences, comes back as `block`.
  const block = line.includes("\n") ? parseFencedBlock(line) : undefined;
  if (block) {
    return {
      type: "block",
      text: comparable(blockLines(block.text).join("\n")),
    };
  }
  const text = sanitizeText(line);
  if (text.trim() === "" || text === "stop") return undefined;
  if (text.startsWith("//")) {
    return { type: "message", text: comparable(text.slice(1)) };
  }
  if (!text.startsWith("/")) return { type: "message", text: comparable(text) };
  const me = /^\/me\s+(.*)$/is.exec(text.trim());
  return me ? { type: "action", text: comparable(me[1]) } : undefined;
}

/** Text as compared with an echo: the server may keep or trim blanks. */
function comparable(text: string): string {
  return text.trim();
}

interface SentLine {
  text: string;
  /** Its number among the lines sent on this connection. */
  number: number;
  echo: Echo | undefined;
}

/**
 * The outbox of one `chat connect` session.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * const outbox = new Outbox();
 * outbox.sent("hello");         // sent while connected
 * outbox.disconnected();        // the connection dropped before the echo
 * outbox.add("are you there?"); // typed while away: true (kept)
 * outbox.confirmFrom([
 *   { type: "message", from: "alice", text: "hello", seq: 9, time: 0, history: true },
 * ], "alice");                  // the missed history shows "hello" arrived
 * outbox.take();                // ["are you there?"]: send these now
 * ```
 */
export class Outbox {
  readonly capacity: number;
  #unconfirmed: SentLine[] = [];
  #waiting: WaitingLine[] = [];
  #sentCount = 0;
  /** For each heartbeat not yet answered: how many lines were sent before it. */
  #pings: number[] = [];

  constructor(capacity: number = OUTBOX_LINES) {
    this.capacity = capacity;
  }

  /** Lines waiting to be sent. */
  get size(): number {
    return this.#waiting.length;
  }

  /** True when no more lines can be kept. */
  get full(): boolean {
    return this.#waiting.length >= this.capacity;
  }

  /** Lines sent on this connection not yet known to have arrived. */
  get unconfirmedCount(): number {
    return this.#unconfirmed.length;
  }

  /**
   * Keeps a line typed while disconnected; false (and nothing kept) when
   * the outbox is full.
   */
  add(text: string): boolean {
    if (this.full) return false;
    this.#waiting.push({ text, maybeSent: false });
    return true;
  }

  /** A line was just sent on the connection. */
  sent(text: string): void {
    this.#unconfirmed.push({
      text,
      number: ++this.#sentCount,
      echo: expectedEcho(text),
    });
    // Bounded: the oldest has almost surely arrived by now.
    if (this.#unconfirmed.length > this.capacity) this.#unconfirmed.shift();
  }

  /** A heartbeat was just sent. */
  pinged(): void {
    this.#pings.push(this.#sentCount);
  }

  /** The server answered the oldest heartbeat: what was sent before it arrived. */
  ponged(): void {
    const before = this.#pings.shift();
    if (before === undefined) return;
    this.#confirmThrough(before);
  }

  /**
   * An event from the room: our own chat line or action coming back
   * confirms it, and every line sent before it.
   */
  received(event: ServerEvent, ownName: string): void {
    if (
      event.type !== "message" && event.type !== "action" &&
      event.type !== "block"
    ) return;
    if (this.#unconfirmed.length === 0) return;
    if (nameKey(event.from) !== nameKey(ownName)) return;
    const text = comparable(event.text);
    const echoed = this.#unconfirmed.find((line) =>
      line.echo?.type === event.type && line.echo.text === text
    );
    if (echoed) this.#confirmThrough(echoed.number);
  }

  /**
   * The connection dropped: lines not known to have arrived go back to the
   * front of the outbox, before those typed since.
   */
  disconnected(): void {
    const back = this.#unconfirmed.map((line) => ({
      text: line.text,
      maybeSent: true,
    }));
    this.#waiting = [...back, ...this.#waiting];
    this.#unconfirmed = [];
    this.#pings = [];
    this.#sentCount = 0;
  }

  /**
   * After reconnecting to the same server run: lines that may have been
   * sent and appear in `missed` (the history replayed since the last event
   * seen, in order) under `ownName` with the same text did arrive; they
   * leave the outbox.
   */
  confirmFrom(missed: readonly ServerEvent[], ownName: string): void {
    const own = nameKey(ownName);
    let from = 0;
    this.#waiting = this.#waiting.filter((line) => {
      if (!line.maybeSent) return true;
      const echo = expectedEcho(line.text);
      if (!echo) return true;
      for (let i = from; i < missed.length; i++) {
        const event = missed[i];
        if (
          event.type === echo.type && nameKey(event.from) === own &&
          comparable(event.text) === echo.text
        ) {
          from = i + 1;
          return false;
        }
      }
      return true;
    });
  }

  /** Empties the outbox: the lines to send now, in order. */
  take(): string[] {
    const lines = this.#waiting.map((line) => line.text);
    this.#waiting = [];
    return lines;
  }

  /** The lines still waiting (for the report when the person leaves). */
  waiting(): readonly WaitingLine[] {
    return this.#waiting;
  }

  #confirmThrough(number: number): void {
    let count = 0;
    while (
      count < this.#unconfirmed.length &&
      this.#unconfirmed[count].number <= number
    ) count++;
    if (count > 0) this.#unconfirmed.splice(0, count);
  }
}
