/**
 * Flood control: a token bucket per member, so a paste of a few lines
 * passes at once and a script sending thousands is held to a steady rate.
 *
 * @module
 */

/** How many lines a member may send: a burst, then a steady rate. */
export interface FloodLimits {
  /** Lines that may be sent at once after a pause. */
  burst: number;
  /** Lines per second after the burst; 0 turns flood control off. */
  perSecond: number;
  /**
   * Lines refused in a row (no 10 s pause) after which the sender is
   * disconnected; 0 never disconnects.
   */
  disconnectAfter: number;
}

/** Flood control defaults: a paste of 20 lines passes, then 5 lines/s. */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  burst: 20,
  perSecond: 5,
  disconnectAfter: 100,
};

/** After this long without a refused line, a flooder's record is cleared. */
export const FLOOD_MEMORY_MS = 10_000;

/**
 * What to do with a line: let it through, refuse it (`warn` on the first
 * refusal of an episode, so the sender is told once), or disconnect the
 * sender.
 */
export type FloodVerdict = "pass" | "warn" | "refuse" | "disconnect";

/**
 * One member's token bucket.
 *
 * @example Two lines at once, then one per second
 * ```ts
 * import { FloodBucket } from "./flood.ts";
 * const bucket = new FloodBucket({ burst: 2, perSecond: 1, disconnectAfter: 0 }, 0);
 * bucket.take(0); // "pass"
 * bucket.take(0); // "pass"
 * bucket.take(0); // "warn"
 * bucket.take(1000); // "pass"
 * ```
 */
export class FloodBucket {
  readonly #limits: FloodLimits;
  #tokens: number;
  #tokensAt: number;
  #refusedCount = 0;
  #refusedAt = -Infinity;

  constructor(limits: FloodLimits, now: number) {
    this.#limits = limits;
    this.#tokens = limits.burst;
    this.#tokensAt = now;
  }

  /** Refills the bucket, as after a pause: lines spent at the door are free. */
  refill(): void {
    this.#tokens = this.#limits.burst;
  }

  /**
   * Spends one token for a line sent at `now` (ms), or `cost` tokens for
   * something that counts as several lines (a code block); says what to
   * do.
   */
  take(now: number, cost = 1): FloodVerdict {
    const { burst, perSecond, disconnectAfter } = this.#limits;
    if (perSecond <= 0) return "pass";
    this.#tokens = Math.min(
      burst,
      this.#tokens + (now - this.#tokensAt) * perSecond / 1000,
    );
    this.#tokensAt = now;
    if (this.#tokens >= cost) {
      this.#tokens -= cost;
      return "pass";
    }
    if (now - this.#refusedAt > FLOOD_MEMORY_MS) this.#refusedCount = 0;
    this.#refusedAt = now;
    this.#refusedCount++;
    if (disconnectAfter > 0 && this.#refusedCount > disconnectAfter) {
      return "disconnect";
    }
    return this.#refusedCount === 1 ? "warn" : "refuse";
  }
}
