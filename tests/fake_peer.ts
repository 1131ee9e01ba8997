/**
 * Fake peers for the room's unit tests: they record what the room sends and
 * how often it closes them, with no sockets.
 */

import type { Member, Peer } from "../lib/room.ts";
import type { OutgoingLine } from "../lib/protocol.ts";

/** A peer that records every line it is sent and counts close() calls. */
export interface FakePeer extends Peer {
  readonly seen: string[];
  readonly closes: number;
  /** Resolves at the first close(). */
  readonly closed: Promise<void>;
}

/** A new {@linkcode FakePeer}. */
export function fakePeer(): FakePeer {
  const seen: string[] = [];
  let closes = 0;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => resolveClosed = resolve);
  return {
    seen,
    closed,
    get closes() {
      return closes;
    },
    send(line: OutgoingLine) {
      seen.push(line.text);
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
}

/** Wraps a member and its peer as a {@linkcode Client}. */
export function client(member: Member, peer: FakePeer): Client {
  let read = 0;
  return {
    member,
    peer,
    take() {
      const fresh = peer.seen.slice(read);
      read = peer.seen.length;
      return fresh;
    },
  };
}
