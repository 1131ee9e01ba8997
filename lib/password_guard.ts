/**
 * Slows password guessing: wrong passwords are counted per address when they
 * are received, whether or not the guesser waits for the refusal. After a
 * few, the address is locked out for 5 s, then 10 s, 20 s ... up to 15 min,
 * and while it is locked out every `/pass` from it is refused at once, the
 * right one too. Because one machine can have many addresses, the whole room
 * also takes at most so many wrong passwords a minute; beyond that, everyone
 * waits.
 *
 * Plain logic on the room's clock: no timers, no sockets.
 *
 * @module
 */

/** Limits of {@linkcode PasswordGuard}. */
export interface PasswordLimits {
  /**
   * Wrong passwords an address may give before it is locked out; 0 turns
   * the guard off (no lock-outs, no room-wide cap).
   */
  triesPerAddress: number;
  /** The first lock-out; each next one is twice as long. */
  firstLockoutMs: number;
  /** The longest lock-out. */
  longestLockoutMs: number;
  /** Wrong passwords the whole room takes per minute, from all addresses. */
  roomTriesPerMinute: number;
}

/** 5 tries, then 5 s, 10 s, 20 s ... 15 min; 30 a minute for the room. */
export const DEFAULT_PASSWORD_LIMITS: PasswordLimits = {
  triesPerAddress: 5,
  firstLockoutMs: 5_000,
  longestLockoutMs: 15 * 60_000,
  roomTriesPerMinute: 30,
};

/** The window of the room-wide cap. */
const ROOM_WINDOW_MS = 60_000;

/** Addresses remembered before the forgotten ones are swept. */
const SWEEP_ABOVE = 1024;

/** Why a `/pass` may not be tried now, and for how long. */
export interface PasswordWait {
  /** Milliseconds until it may be tried again. */
  retryMs: number;
  /** True when the whole room waits, not only this address. */
  roomWide: boolean;
}

/** A lock-out that a wrong password has just started: told to the host. */
export type Lockout =
  | { roomWide: false; address: string; failures: number; lockMs: number }
  | { roomWide: true; failures: number; lockMs: number };

interface AddressRecord {
  /** Wrong passwords since the last right one (or since forgotten). */
  failures: number;
  /** End of the current lock-out, or of the last failure when none. */
  lockedUntil: number;
}

/**
 * Counts wrong passwords per address and for the room.
 *
 * @example Five wrong passwords lock an address out for 5 s
 * ```ts
 * import { PasswordGuard } from "./password_guard.ts";
 * let now = 0;
 * const guard = new PasswordGuard(undefined, () => now);
 * for (let i = 0; i < 5; i++) guard.failed("10.0.0.9");
 * guard.wait("10.0.0.9"); // { retryMs: 5000, roomWide: false }
 * now = 5000;
 * guard.wait("10.0.0.9"); // undefined: it may try again
 * ```
 */
export class PasswordGuard {
  readonly #limits: PasswordLimits;
  readonly #now: () => number;
  readonly #addresses = new Map<string, AddressRecord>();
  /** When the room's recent wrong passwords were received, oldest first. */
  #recent: number[] = [];
  /** End of the room-wide wait last told to the host. */
  #roomLockedUntil = -Infinity;

  constructor(
    limits: PasswordLimits = DEFAULT_PASSWORD_LIMITS,
    now: () => number = () => performance.now(),
  ) {
    this.#limits = limits;
    this.#now = now;
  }

  /** True unless `triesPerAddress` is 0. */
  get enabled(): boolean {
    return this.#limits.triesPerAddress > 0;
  }

  /**
   * How long `address` must wait before a `/pass` is even compared, or
   * `undefined` when it may try now.
   */
  wait(address: string | undefined): PasswordWait | undefined {
    if (!this.enabled) return undefined;
    const now = this.#now();
    const record = this.#addresses.get(address ?? "");
    if (record && record.lockedUntil > now) {
      return { retryMs: record.lockedUntil - now, roomWide: false };
    }
    this.#forgetOld(now);
    if (this.#recent.length >= this.#limits.roomTriesPerMinute) {
      return {
        retryMs: this.#recent[0] + ROOM_WINDOW_MS - now,
        roomWide: true,
      };
    }
    return undefined;
  }

  /**
   * Counts a wrong password from `address`, as it is received. Returns the
   * lock-outs it starts (the address's, the room's), each reported once.
   */
  failed(address: string | undefined): Lockout[] {
    if (!this.enabled) return [];
    const now = this.#now();
    const key = address ?? "";
    const limits = this.#limits;
    let record = this.#addresses.get(key);
    if (record && now >= record.lockedUntil + limits.longestLockoutMs) {
      record = undefined; // quiet long enough: a fresh start
    }
    if (!record) {
      if (this.#addresses.size >= SWEEP_ABOVE) this.#sweep(now);
      record = { failures: 0, lockedUntil: now };
      this.#addresses.set(key, record);
    }
    record.failures++;
    record.lockedUntil = now;
    const lockouts: Lockout[] = [];
    const beyond = record.failures - limits.triesPerAddress;
    if (beyond >= 0) {
      const lockMs = Math.min(
        limits.firstLockoutMs * 2 ** Math.min(beyond, 40),
        limits.longestLockoutMs,
      );
      record.lockedUntil = now + lockMs;
      lockouts.push({
        roomWide: false,
        address: key,
        failures: record.failures,
        lockMs,
      });
    }
    this.#forgetOld(now);
    this.#recent.push(now);
    if (
      this.#recent.length >= limits.roomTriesPerMinute &&
      now >= this.#roomLockedUntil
    ) {
      this.#roomLockedUntil = this.#recent[0] + ROOM_WINDOW_MS;
      lockouts.push({
        roomWide: true,
        failures: this.#recent.length,
        lockMs: this.#roomLockedUntil - now,
      });
    }
    return lockouts;
  }

  /** The right password from `address`: its wrong ones are forgotten. */
  succeeded(address: string | undefined): void {
    this.#addresses.delete(address ?? "");
  }

  /** Drops the room's wrong passwords older than a minute. */
  #forgetOld(now: number): void {
    let old = 0;
    while (
      old < this.#recent.length && this.#recent[old] + ROOM_WINDOW_MS <= now
    ) old++;
    if (old > 0) this.#recent = this.#recent.slice(old);
  }

  /** Forgets addresses that have been quiet for the longest lock-out. */
  #sweep(now: number): void {
    for (const [key, record] of this.#addresses) {
      if (now >= record.lockedUntil + this.#limits.longestLockoutMs) {
        this.#addresses.delete(key);
      }
    }
  }
}
