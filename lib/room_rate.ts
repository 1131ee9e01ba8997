/**
 * The room-wide ceiling on lines per second (`--room-rate`): one token
 * bucket for the whole room, so that many senders (one machine with many
 * addresses, each within its own flood allowance) cannot flood it together.
 * When the bucket runs low, the heaviest senders are refused first: the
 * last half of it is kept for those who send less than the average.
 *
 * @module
 */

/** Lines per second the whole room accepts by default; 0 turns it off. */
export const DEFAULT_ROOM_RATE = 50;

/** How fast a sender's recent count fades: it halves every this many ms. */
const SHARE_HALF_LIFE_MS = 2000;

/** One sender's recent use of the room, kept by {@linkcode RoomRate}. */
export interface RoomShare {
  /** Lines tried recently, fading with time. */
  score: number;
  /** When `score` was last brought up to date, in ms. */
  scoreAt: number;
}

/** A fresh share for a newcomer at `now`. */
export function newRoomShare(now: number): RoomShare {
  return { score: 0, scoreAt: now };
}

/**
 * The room's bucket: `perSecond` lines per second, at most one second's worth
 * at once.
 *
 * @example A ceiling of 4 lines/s: the heavy sender is refused first
 * ```ts
 * import { newRoomShare, RoomRate } from "./room_rate.ts";
 * const rate = new RoomRate(4, 0);
 * const heavy = newRoomShare(0), light = newRoomShare(0);
 * rate.take(heavy, 0, 2); // true, and again twice
 * rate.take(heavy, 0, 2);
 * rate.take(heavy, 0, 2);
 * rate.take(heavy, 0, 2); // false: under half left, and heavy is above average
 * rate.take(light, 0, 2); // true
 * ```
 */
export class RoomRate {
  readonly #perSecond: number;
  #tokens: number;
  #tokensAt: number;
  /** The sum of every sender's score, fading the same way. */
  #total = 0;
  #totalAt: number;

  constructor(perSecond: number, now: number) {
    this.#perSecond = perSecond;
    this.#tokens = Math.max(1, perSecond);
    this.#tokensAt = now;
    this.#totalAt = now;
  }

  /**
   * A line from the sender with `share`, at `now`, in a room of `members`:
   * true when it may go ahead (and it is counted), false when the room is
   * over its ceiling for this sender.
   */
  take(share: RoomShare, now: number, members: number): boolean {
    const perSecond = this.#perSecond;
    if (perSecond <= 0) return true;
    const capacity = Math.max(1, perSecond);
    this.#tokens = Math.min(
      capacity,
      this.#tokens + (now - this.#tokensAt) * perSecond / 1000,
    );
    this.#tokensAt = now;
    this.#total = this.#total * fade(now - this.#totalAt) + 1;
    this.#totalAt = now;
    share.score = share.score * fade(now - share.scoreAt) + 1;
    share.scoreAt = now;
    if (this.#tokens < 1) return false;
    const heavy = share.score > 1 &&
      share.score >= this.#total / Math.max(1, members);
    if (heavy && this.#tokens < capacity / 2) return false;
    this.#tokens -= 1;
    return true;
  }
}

function fade(elapsedMs: number): number {
  return elapsedMs <= 0 ? 1 : 2 ** (-elapsedMs / SHARE_HALF_LIFE_MS);
}
