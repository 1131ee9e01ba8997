/**
 * Address ranges for the host's `/ban 192.168.1.0/28`: IPv4 and IPv6 CIDR
 * blocks, or one address. An IPv4 address seen as IPv6 (`::ffff:10.0.0.7`,
 * on a server listening on `::`) is in the IPv4 ranges that hold it.
 *
 * @module
 */

/** A block of addresses. */
export interface AddressRange {
  /** As the host should read it, e.g. `192.168.1.0/28`. */
  readonly text: string;
  /** True when `address` (as the server sees it) is in the block. */
  contains(address: string): boolean;
}

/**
 * The range `typed` stands for (`A.B.C.D/N`, `A.B.C.D`, an IPv6 address with
 * or without `/N`), or `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import { parseAddressRange } from "./address_range.ts";
 * const range = parseAddressRange("192.168.1.0/28")!;
 * range.contains("192.168.1.15"); // true
 * range.contains("192.168.1.16"); // false
 * parseAddressRange("alice"); // undefined
 * ```
 */
export function parseAddressRange(typed: string): AddressRange | undefined {
  const match = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(typed.trim());
  if (!match) return undefined;
  const v4 = parseIPv4(match[1]);
  const v6 = v4 === undefined ? parseIPv6(match[1]) : undefined;
  if (v4 === undefined && v6 === undefined) return undefined;
  const width = v4 !== undefined ? 32 : 128;
  const bits = match[2] === undefined ? width : Number(match[2]);
  if (bits > width) return undefined;
  const shift = BigInt(width - bits);
  const base = ((v4 ?? v6)! >> shift) << shift;
  const text = `${v4 !== undefined ? formatIPv4(base) : formatIPv6(base)}` +
    (bits === width ? "" : `/${bits}`);
  return {
    text,
    contains(address: string): boolean {
      const value = v4 !== undefined
        ? parseIPv4(address) ?? mappedIPv4(address)
        : parseIPv6(address);
      return value !== undefined && (value >> shift) << shift === base;
    },
  };
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n))
    .join(".");
}

/** `::ffff:A.B.C.D` (or its hexadecimal form) as an IPv4 value. */
function mappedIPv4(address: string): bigint | undefined {
  const value = parseIPv6(address);
  if (value === undefined || value >> 32n !== 0xffffn) return undefined;
  return value & 0xffffffffn;
}

function parseIPv6(text: string): bigint | undefined {
  let address = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  // A trailing IPv4 part, as in ::ffff:10.0.0.7.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4) {
    const value = parseIPv4(v4[2]);
    if (value === undefined) return undefined;
    address = v4[1] + (value >> 16n).toString(16) + ":" +
      (value & 0xffffn).toString(16);
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== ""
    ? halves[1].split(":")
    : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [
    ...head,
    ...Array(halves.length === 2 ? missing : 0).fill("0"),
    ...tail,
  ];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

function formatIPv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(((value >> shift) & 0xffffn).toString(16));
  }
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
