/**
 * The room's memory of its recent public lines (issue 9): chat lines,
 * actions and topics the host set, for a newcomer or a watcher who arrives
 * late, and for `chat connect` after it reconnects. Private messages never
 * enter it. It is bounded twice: in lines (`chat serve --history N`) and in
 * bytes of text, so long lines cannot make it large.
 *
 * Each entry holds the event as the room already stamped it (a reference,
 * no copy on the broadcast path); the replayed form, marked
 * `"history": true`, is made on the first replay and then shared, so a
 * class arriving at once renders each earlier line once per kind of client.
 *
 * @module
 */

import type { EventBody, ServerEvent } from "./events.ts";
import { OutgoingEvent } from "./outgoing.ts";
import { utf8Length } from "./protocol.ts";

/** Earlier lines kept unless `--history` says otherwise. */
export const DEFAULT_HISTORY_LINES = 50;

/** Most bytes of text (UTF-8, names and texts) the history keeps. */
export const HISTORY_MAX_BYTES = 64 * 1024;

/** What one entry costs besides its texts: type, seq, time, references. */
const ENTRY_OVERHEAD_BYTES = 64;

interface Entry {
  readonly event: ServerEvent;
  readonly bytes: number;
  /** The replayed form, made on first use. */
  replay?: OutgoingEvent;
}

/**
 * True for the events history keeps: messages, actions, and a topic set by
 * someone (not `/topic` asking what it is, which is told to one member).
 *
 * @example
 * ```ts
 * import { isKeptInHistory } from "./history.ts";
 * isKeptInHistory({ type: "message", from: "a", text: "hi" }); // true
 * isKeptInHistory({ type: "private", from: "a", to: "b", text: "psst" }); // false
 * ```
 */
export function isKeptInHistory(body: EventBody): boolean {
  return body.type === "message" || body.type === "action" ||
    body.type === "block" || // issue 12: a block is one entry
    // Issue 12: a file shared with the room, for latecomers (one shared
    // with one member is never broadcast, so never kept).
    (body.type === "file" && body.to === undefined) ||
    (body.type === "topic" && body.by !== undefined);
}

/**
 * A bounded ring of the room's recent public events, oldest first.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * const history = new History(2);
 * for (let seq = 1; seq <= 3; seq++) {
 *   history.add({ type: "message", from: "a", text: `line ${seq}`, seq, time: 0 });
 * }
 * history.replay().map((out) => out.event.seq); // [2, 3]
 * history.replay(2).map((out) => out.event.history); // [true]
 * ```
 */
export class History {
  /** Most entries kept; 0 keeps none. */
  readonly maxLines: number;
  /** Most bytes of text kept. */
  readonly maxBytes: number;
  /** The ring: `#count` entries from `#first`, wrapping around. */
  readonly #ring: (Entry | undefined)[];
  #first = 0;
  #count = 0;
  #bytes = 0;

  constructor(maxLines: number, maxBytes: number = HISTORY_MAX_BYTES) {
    this.maxLines = Math.max(0, Math.floor(maxLines));
    this.maxBytes = maxBytes;
    this.#ring = new Array(this.maxLines);
  }

  /** How many events are kept now. */
  get size(): number {
    return this.#count;
  }

  /** Bytes of text kept now, as counted against {@linkcode maxBytes}. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keeps `event` (the caller checked {@linkcode isKeptInHistory}),
   * forgetting the oldest ones past either bound. Events must come in
   * order of `seq`.
   */
  add(event: ServerEvent): void {
    if (this.maxLines === 0) return;
    const bytes = eventBytes(event);
    if (bytes > this.maxBytes) return;
    while (
      this.#count > 0 &&
      (this.#count === this.maxLines || this.#bytes + bytes > this.maxBytes)
    ) {
      this.#dropOldest();
    }
    const slot = (this.#first + this.#count) % this.maxLines;
    this.#ring[slot] = { event, bytes };
    this.#count++;
    this.#bytes += bytes;
  }

  /**
   * The kept events with a sequence number above `after` (all when
   * undefined), oldest first, in their replayed form: original `seq` and
   * `time`, and `history: true`.
   */
  replay(after?: number): OutgoingEvent[] {
    const events: OutgoingEvent[] = [];
    for (let i = 0; i < this.#count; i++) {
      const entry = this.#ring[(this.#first + i) % this.maxLines]!;
      if (after !== undefined && entry.event.seq <= after) continue;
      entry.replay ??= new OutgoingEvent(
        { ...entry.event, history: true } as ServerEvent,
        false,
      );
      events.push(entry.replay);
    }
    return events;
  }

  #dropOldest(): void {
    const entry = this.#ring[this.#first]!;
    this.#ring[this.#first] = undefined;
    this.#first = (this.#first + 1) % this.maxLines;
    this.#count--;
    this.#bytes -= entry.bytes;
  }
}

/** The UTF-8 bytes of an event's texts, plus a fixed overhead. */
function eventBytes(event: ServerEvent): number {
  let bytes = ENTRY_OVERHEAD_BYTES;
  if (
    event.type === "message" || event.type === "action" ||
    event.type === "block"
  ) {
    bytes += utf8Length(event.from) + utf8Length(event.text);
  } else if (event.type === "topic") {
    bytes += utf8Length(event.by ?? "") + utf8Length(event.topic ?? "");
  } else if (event.type === "file") { // issue 12
    bytes += utf8Length(event.from) + utf8Length(event.name) + 64 +
      utf8Length(event.url ?? event.web ?? "");
  }
  return bytes;
}
