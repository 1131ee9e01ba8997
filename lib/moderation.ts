/**
 * The host's moderation: kicking, banning addresses and muting, with the
 * addresses banned or muted for the life of the server.
 *
 * @module
 */

import { type AddressRange, parseAddressRange } from "./address_range.ts";
import type { Member, MemberState, Room } from "./room.ts";

/**
 * Banned and muted addresses, and the host commands that change them.
 *
 * @example
 * ```ts
 * import { Room } from "./room.ts";
 * const room = new Room();
 * room.moderation.isBanned("10.0.0.7"); // false
 * ```
 */
export class Moderation {
  readonly #room: Room;
  readonly #bannedAddresses = new Set<string>();
  /** Ranges banned with `/ban 192.168.1.0/28` (or one address typed as such). */
  readonly #bannedRanges: AddressRange[] = [];
  readonly #mutedAddresses = new Set<string>();

  constructor(room: Room) {
    this.#room = room;
  }

  /** True when connections from `address` are refused. */
  isBanned(address: string): boolean {
    return this.#bannedAddresses.has(address) ||
      this.#bannedRanges.some((range) => range.contains(address));
  }

  /** True when newcomers from `address` start muted. */
  isMutedAddress(address: string): boolean {
    return this.#mutedAddresses.has(address);
  }

  /** Disconnects a member. */
  kick(host: Member, name: string): void {
    const target = this.#target(host, name, "kick");
    if (target) this.#room.remove(target, "kicked");
  }

  /**
   * Disconnects a member and everyone else from its address, and refuses
   * that address until the server stops. Given an address or a range
   * (`192.168.1.0/28`, `fe80::/64`) rather than a name, does the same for
   * every address in it: one machine can hold many addresses.
   */
  ban(host: Member, name: string): void {
    const typed = name.trim();
    if (/[./:]/.test(typed) && !this.#room.find(typed)) {
      return this.#banRange(host, typed);
    }
    const target = this.#target(host, name, "ban");
    if (!target) return;
    const address = target.address;
    if (address === undefined) {
      return this.#room.tellError(host, {
        code: "no-address",
        args: { name: target.name },
      });
    }
    this.#bannedAddresses.add(address);
    this.#disconnectBanned(host, (other) => other === address, address);
  }

  #banRange(host: Member, typed: string): void {
    const range = parseAddressRange(typed);
    if (!range) {
      return this.#room.tellError(host, {
        code: "usage",
        args: { command: "ban" },
      });
    }
    this.#bannedRanges.push(range);
    this.#disconnectBanned(host, (other) => range.contains(other), range.text);
  }

  /**
   * Disconnects everyone connected from a newly banned address (or range,
   * shown as `shown`) and tells the host.
   */
  #disconnectBanned(
    host: Member,
    banned: (address: string) => boolean,
    shown: string,
  ): void {
    for (const other of this.#room.connectedWhere(banned)) {
      this.#room.remove(other, "banned");
    }
    this.#room.tell(host, {
      type: "notice",
      code: "address-banned",
      args: { address: shown },
    });
  }

  /**
   * Stops a member's lines from reaching anyone, also after it reconnects
   * from the same address, until `/unmute`.
   */
  mute(host: Member, name: string): void {
    const target = this.#target(host, name, "mute");
    if (!target) return;
    if (target.muted) {
      return this.#room.tellError(host, {
        code: "already-muted",
        args: { name: target.name },
      });
    }
    this.#setMuted(target, true);
    this.#room.broadcast({
      type: "notice",
      code: "muted",
      args: { name: target.name },
    });
  }

  /** Lets a muted member speak again. */
  unmute(host: Member, name: string): void {
    const target = this.#target(host, name, "unmute");
    if (!target) return;
    if (!target.muted) {
      return this.#room.tellError(host, {
        code: "not-muted",
        args: { name: target.name },
      });
    }
    this.#setMuted(target, false);
    this.#room.broadcast({
      type: "notice",
      code: "unmuted",
      args: { name: target.name },
    });
  }

  /**
   * Mutes or unmutes a member together with every other connection from its
   * address, present or waiting, and those that come later: a second
   * terminal must not be a way around a mute.
   */
  #setMuted(target: MemberState, muted: boolean): void {
    target.muted = muted;
    const address = target.address;
    if (address === undefined) return;
    if (muted) this.#mutedAddresses.add(address);
    else this.#mutedAddresses.delete(address);
    for (const other of this.#room.connectedFrom(address)) {
      (other as MemberState).muted = muted;
    }
  }

  #target(
    host: Member,
    name: string,
    command: string,
  ): MemberState | undefined {
    if (name === "") {
      this.#room.tellError(host, { code: "usage", args: { command } });
      return undefined;
    }
    const target = this.#room.find(name) as MemberState | undefined;
    if (!target) {
      this.#room.tellError(host, { code: "no-such-name", args: { name } });
      return undefined;
    }
    if (target.isHost) {
      this.#room.tellError(host, {
        code: "cannot-moderate-host",
        args: { command },
      });
      return undefined;
    }
    return target;
  }
}
