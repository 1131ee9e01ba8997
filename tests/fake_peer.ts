/**
 * Fake peers for the room's unit tests: they record what the room sends (as
 * typed events, and as the English plain-text lines an `nc` client would
 * read) and how often it closes them, with no sockets.
 */

import type { ServerEvent } from "../lib/events.ts";
import type { Lang } from "../lib/i18n.ts";
import type { OutgoingEvent } from "../lib/outgoing.ts";
import { renderText } from "../lib/render_text.ts";
import type { Member, Peer } from "../lib/room.ts";

/** A peer that records every event it is sent and counts close() calls. */
export interface FakePeer extends Peer {
  /**
   * The plain-text lines received, in the peer's language (English unless
   * asked): one entry per line, so a `/help` event gives several.
   */
  readonly seen: string[];
  /** The typed events received, in order. */
  readonly events: ServerEvent[];
  /** The events as the room handed them over, with their shared flag. */
  readonly outgoing: OutgoingEvent[];
  readonly closes: number;
  /** Resolves at the first close(). */
  readonly closed: Promise<void>;
}

/** A new {@linkcode FakePeer} that reads plain text in `lang`. */
export function fakePeer(lang: Lang = "en"): FakePeer {
  const seen: string[] = [];
  const events: ServerEvent[] = [];
  const outgoing: OutgoingEvent[] = [];
  let closes = 0;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => resolveClosed = resolve);
  return {
    seen,
    events,
    outgoing,
    closed,
    get closes() {
      return closes;
    },
    send(out: OutgoingEvent) {
      outgoing.push(out);
      events.push(out.event);
      // A proto event has no plain form; nothing in the room sends one.
      seen.push(...renderText(out.event, lang).split("\n"));
    },
    close() {
      closes++;
      resolveClosed();
    },
  };
}

/** A member and its fake peer, read a batch at a time. */
export interface Client {
  member: Member;
  peer: FakePeer;
  /** Lines received since the last call to `take()`. */
  take(): string[];
  /** Events received since the last call to `takeEvents()`. */
  takeEvents(): ServerEvent[];
}

/** Wraps a member and its peer as a {@linkcode Client}. */
export function client(member: Member, peer: FakePeer): Client {
  let read = 0;
  let readEvents = 0;
  return {
    member,
    peer,
    take() {
      const fresh = peer.seen.slice(read);
      read = peer.seen.length;
      return fresh;
    },
    takeEvents() {
      const fresh = peer.events.slice(readEvents);
      readEvents = peer.events.length;
      return fresh;
    },
  };
}
