/**
 * When and how often `chat connect` tries again after its connection
 * drops, and what it says meanwhile in pipe mode: the pure parts of
 * reconnecting, tested without a network (`client.ts` does the rest).
 *
 * @module
 */

import type { LeaveReason } from "./events.ts";

/** The first retry comes after about this long (ms). */
export const RECONNECT_FIRST_DELAY_MS = 1_000;

/** Retries come at least this often (ms), however long the outage. */
export const RECONNECT_MAX_DELAY_MS = 30_000;

/** Jitter: each delay is its nominal value times 0.75 to 1.25 (capped). */
const JITTER = 0.25;

/**
 * How long to wait before attempt number `attempt` (1 for the first):
 * 1 s, 2 s, 4 s ... doubling up to 30 s, each with up to 25 % of jitter
 * either way (never above 30 s), so that a room full of clients does not
 * come back all at the same instant after a restart.
 *
 * @example
 * ```ts
 * import { reconnectDelay } from "./reconnect.ts";
 * reconnectDelay(1, () => 0.5); // 1000
 * reconnectDelay(3, () => 0.5); // 4000
 * reconnectDelay(20, () => 0.99); // 30000
 * ```
 */
export function reconnectDelay(
  attempt: number,
  random: () => number = Math.random,
  firstMs: number = RECONNECT_FIRST_DELAY_MS,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const nominal = Math.min(RECONNECT_MAX_DELAY_MS, firstMs * 2 ** exponent);
  const jittered = nominal * (1 - JITTER + 2 * JITTER * random());
  return Math.round(Math.min(RECONNECT_MAX_DELAY_MS, jittered));
}

/**
 * Whether to reconnect after the server disconnected us for `reason`
 * (`undefined`: the connection just ended, or the server shut down). The
 * room's decisions stand: after a kick, a ban or flooding, no.
 *
 * @example
 * ```ts
 * import { reconnectsAfter } from "./reconnect.ts";
 * reconnectsAfter(undefined); // true: the server went away
 * reconnectsAfter("timed-out"); // true
 * reconnectsAfter("kicked"); // false
 * ```
 */
export function reconnectsAfter(
  reason: LeaveReason | string | undefined,
): boolean {
  return reason !== "kicked" && reason !== "banned" && reason !== "flooding";
}

/** At most this many lines say why attempts fail, in one outage (pipe mode). */
export const MAX_FAILURE_LINES = 10;

/**
 * Which attempt failures are worth a line in pipe mode, where nothing can
 * be updated in place: one when the reason changes (refused, then
 * timing out ...), never one per attempt, and at most
 * {@linkcode MAX_FAILURE_LINES} per outage, so a server down all night
 * leaves a bounded log.
 *
 * @example
 * ```ts
 * import { FailureLines } from "./reconnect.ts";
 * const lines = new FailureLines();
 * lines.worthSaying("refused"); // true
 * lines.worthSaying("refused"); // false: said already
 * lines.worthSaying("timed out"); // true
 * ```
 */
export class FailureLines {
  #last: string | undefined;
  #said = 0;

  /** True when the failure `problem` should be said now. */
  worthSaying(problem: string): boolean {
    if (problem === this.#last || this.#said >= MAX_FAILURE_LINES) {
      return false;
    }
    this.#last = problem;
    this.#said++;
    return true;
  }

  /** A new outage starts: everything may be said again. */
  reset(): void {
    this.#last = undefined;
    this.#said = 0;
  }
}
