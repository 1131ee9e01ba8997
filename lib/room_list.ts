/**
 * What people see of discovery (issue 10): the room `chat serve`
 * announces and the line saying so, `chat list`'s lines, and how
 * `chat connect` without an address (or with a room's name) picks the
 * room, asking at a terminal when there are several, and asking for the
 * fingerprint of a room that needs TLS. The network side is
 * `discovery.ts`.
 *
 * @module
 */

import type { ConnectOptions, ListOptions, ServeOptions } from "./cli.ts";
import { ClientError, formatAddress } from "./client_handshake.ts";
import {
  announce,
  announceInterfaces,
  type Announcement,
  browse,
  BROWSE_TIMEOUT_MS,
  BrowseError,
  type DiscoveryInterface,
  type FoundRoom,
  lanInterfaces,
} from "./discovery.ts";
import { displayWidth } from "./display_width.ts";
import { type Lang, t } from "./i18n.ts";
import { nameFromLogin, nameKey } from "./protocol.ts";
import { parseFingerprint } from "./tls.ts";

/** The room's name when `--room` is not given: the computer's name. */
export function defaultRoomName(): string {
  let hostname = "";
  try {
    hostname = Deno.hostname();
  } catch { /* no permission to read it */ }
  return nameFromLogin(hostname.split(".")[0]) ?? "chat";
}

/** What the server needs to say about its room. */
export interface RoomFacts {
  port: number;
  /** True when the room needs TLS. */
  tls: boolean;
  /** People in the room now. */
  online(): number;
  /** The web page's port (issue 11), if any. */
  webPort?: number;
}

/**
 * Starts announcing the room of `chat serve`, unless discovery is off or
 * the server listens on loopback only: the announcement, and the lines to
 * print under the join commands (none when nothing is announced). An
 * unknown `--iface` is a one-line error (thrown as `Error` for main.ts to
 * wrap).
 *
 * @example
 * ```ts
 * import { startAnnouncing } from "./room_list.ts";
 * const { announcement, lines } = startAnnouncing(options, {
 *   port: 5000, tls: false, online: () => 1,
 * });
 * lines.forEach((line) => console.log(line));
 * await announcement?.stop();
 * ```
 */
export function startAnnouncing(
  options: ServeOptions,
  facts: RoomFacts,
): { announcement?: Announcement; lines: string[] } {
  const { lang } = options;
  if (!options.discovery) return { lines: [] };
  const lan = lanInterfaces();
  if (
    options.iface !== undefined && !lan.some((n) => n.name === options.iface)
  ) {
    throw new Error(unknownIface(options.iface, lan, lang));
  }
  const ifaces = announceInterfaces(options.hostname, options.iface, lan);
  if (ifaces.length === 0) return { lines: [] };
  const room = options.room ?? defaultRoomName();
  let machine = "";
  try {
    machine = Deno.hostname();
  } catch { /* no permission: the room's host name goes without it */ }
  const lines: string[] = [];
  const announcement = announce({
    port: facts.port,
    room,
    host: options.name,
    machine,
    tls: facts.tls,
    webPort: facts.webPort,
    online: facts.online,
    ifaces,
    onProblem: (iface, message) =>
      console.error(
        `chat: ${
          t(lang, "discovery.announce-failed", {
            iface: iface.name,
            address: iface.address,
            message,
          })
        }`,
      ),
  });
  lines.push(
    t(lang, "discovery.announced", {
      room,
      where: ifaces.map((nic) => `${nic.name} ${nic.address}`).join(", "),
    }),
  );
  return { announcement, lines };
}

/**
 * Why `chat serve --iface NAME` cannot announce (NAME is no interface with
 * an IPv4 address), or undefined: checked before the room opens.
 *
 * @example
 * ```ts
 * import { ifaceProblem } from "./room_list.ts";
 * ifaceProblem({ ...options, iface: "wlan9" }); // 'No network interface "wlan9" ...'
 * ```
 */
export function ifaceProblem(options: ServeOptions): string | undefined {
  if (!options.discovery || options.iface === undefined) return undefined;
  const lan = lanInterfaces();
  return lan.some((nic) => nic.name === options.iface)
    ? undefined
    : unknownIface(options.iface, lan, options.lang);
}

function unknownIface(
  name: string,
  lan: DiscoveryInterface[],
  lang: Lang,
): string {
  const names = [...new Set(lan.map((nic) => nic.name))];
  return names.length === 0
    ? t(lang, "discovery.no-iface.none", { iface: name })
    : t(lang, "discovery.no-iface", { iface: name, names: names.join(", ") });
}

/** Where to look for rooms: every LAN interface, or the `--iface` one. */
function browseInterfaces(
  iface: string | undefined,
  lang: Lang,
): DiscoveryInterface[] {
  const lan = lanInterfaces();
  if (iface === undefined) return lan;
  const chosen = lan.filter((nic) => nic.name === iface);
  if (chosen.length === 0) {
    throw new ClientError(unknownIface(iface, lan, lang));
  }
  return chosen;
}

/**
 * One line per room, columns aligned: name, host, address:port, people
 * online, then `TLS`, the web page, and who announced it when that is not
 * the address it claims.
 *
 * @example
 * ```ts
 * import { formatRooms } from "./room_list.ts";
 * formatRooms([{ name: "physics", host: "prof", address: "192.168.1.23",
 *   port: 5000, online: 12, tls: false, source: "192.168.1.23" }], "en");
 * // ["physics  prof  192.168.1.23:5000  12 online"]
 * ```
 */
export function formatRooms(rooms: FoundRoom[], lang: Lang): string[] {
  const rows = rooms.map((room) => {
    const extras: string[] = [];
    if (room.tls) extras.push("TLS");
    if (room.webPort !== undefined) {
      extras.push(`http://${formatAddress(room.address, room.webPort)}/`);
    }
    if (room.source !== room.address) {
      extras.push(t(lang, "discovery.announced-by", { source: room.source }));
    }
    return [
      room.name,
      room.host || "-",
      formatAddress(room.address, room.port),
      room.online === undefined
        ? "?"
        : t(lang, "discovery.online", { count: room.online }),
      ...extras,
    ];
  });
  const widths = [0, 1, 2].map((column) =>
    Math.max(0, ...rows.map((row) => displayWidth(row[column])))
  );
  return rows.map((row) =>
    row.map((cell, column) =>
      column < 3 ? cell + " ".repeat(widths[column] - displayWidth(cell)) : cell
    ).join("  ").trimEnd()
  );
}

/**
 * `chat list`: prints the rooms found, one a line, and resolves with 0; or
 * 1, with one line on stderr, when there are none (or discovery is off).
 *
 * @example
 * ```ts
 * import { runList } from "./room_list.ts";
 * Deno.exit(await runList({ lang: "en", discovery: true }));
 * ```
 */
export async function runList(options: ListOptions): Promise<number> {
  const { lang } = options;
  if (!options.discovery) {
    console.error(`chat: ${t(lang, "discovery.off")}`);
    return 1;
  }
  const ifaces = browseInterfaces(options.iface, lang);
  if (ifaces.length === 0) {
    console.error(`chat: ${t(lang, "discovery.no-network")}`);
    return 1;
  }
  let rooms: FoundRoom[];
  try {
    rooms = await browse({ ifaces, timeoutMs: BROWSE_TIMEOUT_MS });
  } catch (error) {
    if (!(error instanceof BrowseError)) throw error;
    console.error(`chat: ${searchFailed(error, lang)}`);
    return 1;
  }
  if (rooms.length === 0) {
    console.error(`chat: ${noneFound(lang)}`);
    return 1;
  }
  for (const line of formatRooms(rooms, lang)) console.log(line);
  return 0;
}

function searchFailed(error: BrowseError, lang: Lang): string {
  return t(lang, "discovery.search-failed", { message: error.message });
}

function noneFound(lang: Lang): string {
  return t(lang, "discovery.none", { seconds: BROWSE_TIMEOUT_MS / 1000 });
}

/** True when the person types at a terminal and reads one. */
function atTerminal(): boolean {
  return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
}

/** Tries at choosing a room or typing a fingerprint. */
const PROMPT_TRIES = 3;

/**
 * `chat connect` without an address, or with a word that may be a room's
 * name: the options to connect with. The only room found, or the one
 * named; several at a terminal: the person picks one by number; several
 * without a terminal, or none: a {@linkcode ClientError} with the list or
 * the way to pass an address. A word that names no room is kept as a host
 * name. A room that needs TLS is joined with TLS: pinned to the
 * fingerprint the person types at a terminal, else verified.
 *
 * @example
 * ```ts
 * import { findRoom } from "./room_list.ts";
 * const target = await findRoom({ hostname: "", port: 5000, lang: "en",
 *   nameIsExplicit: false, lookup: {} });
 * // { hostname: "192.168.1.23", port: 5000, tls: undefined }
 * ```
 */
export async function findRoom(
  options: ConnectOptions,
): Promise<Pick<ConnectOptions, "hostname" | "port" | "tls">> {
  const { lang } = options;
  const asHost = {
    hostname: options.hostname,
    port: options.port,
    tls: options.tls,
  };
  const wanted = options.lookup?.room;
  let ifaces: DiscoveryInterface[];
  try {
    ifaces = browseInterfaces(options.iface, lang);
  } catch (error) {
    if (wanted !== undefined) return asHost;
    throw error;
  }
  if (ifaces.length === 0) {
    if (wanted !== undefined) return asHost;
    throw new ClientError(t(lang, "discovery.connect-no-network"));
  }
  const matches = (room: FoundRoom) =>
    wanted !== undefined && nameKey(room.name) === nameKey(wanted);
  let found: FoundRoom[];
  try {
    found = await browse({
      ifaces,
      timeoutMs: BROWSE_TIMEOUT_MS,
      until: wanted === undefined ? undefined : matches,
    });
  } catch (error) {
    if (!(error instanceof BrowseError)) throw error;
    if (wanted !== undefined) return asHost;
    throw new ClientError(searchFailed(error, lang));
  }
  const rooms = wanted === undefined ? found : found.filter(matches);
  if (rooms.length === 0) {
    // Not a room on this network: the word is a host's name.
    if (wanted !== undefined) return asHost;
    throw new ClientError(
      t(lang, "discovery.connect-none", {
        seconds: BROWSE_TIMEOUT_MS / 1000,
      }),
    );
  }
  const room = rooms.length === 1 ? rooms[0] : chooseRoom(rooms, lang);
  return {
    hostname: room.address,
    port: room.port,
    tls: options.tls ?? (room.tls ? askFingerprint(room, lang) : undefined),
  };
}

/** Several rooms: the person picks one at a terminal; elsewhere, refused. */
function chooseRoom(rooms: FoundRoom[], lang: Lang): FoundRoom {
  const lines = formatRooms(rooms, lang);
  if (!atTerminal()) {
    for (const line of lines) console.error(`  ${line}`);
    throw new ClientError(
      t(lang, "discovery.connect-several", { count: rooms.length }),
    );
  }
  console.log(t(lang, "discovery.found-several", { count: rooms.length }));
  lines.forEach((line, index) => console.log(`  ${index + 1}. ${line}`));
  for (let attempt = 0; attempt < PROMPT_TRIES; attempt++) {
    const answer = prompt(
      t(lang, "discovery.which", { max: rooms.length }),
    )?.trim();
    if (answer === undefined || answer === "") break;
    const number = /^\d+$/.test(answer) ? Number(answer) : NaN;
    if (number >= 1 && number <= rooms.length) return rooms[number - 1];
    const named = rooms.filter((room) =>
      nameKey(room.name) === nameKey(answer)
    );
    if (named.length === 1) return named[0];
  }
  throw new ClientError(t(lang, "discovery.no-choice"));
}

/**
 * A room that needs TLS: at a terminal, the fingerprint the host's screen
 * shows (the announcement cannot be trusted to give it); Enter, or no
 * terminal, checks the certificate against trusted authorities instead,
 * which explains itself when it fails.
 */
function askFingerprint(
  room: FoundRoom,
  lang: Lang,
): ConnectOptions["tls"] {
  if (!atTerminal()) return { caFile: undefined };
  console.log(t(lang, "discovery.tls-room", { room: room.name }));
  for (let attempt = 0; attempt < PROMPT_TRIES; attempt++) {
    const answer = prompt(t(lang, "discovery.ask-fingerprint"))?.trim();
    if (answer === undefined || answer === "") return { caFile: undefined };
    const fingerprint = parseFingerprint(answer);
    if (fingerprint) return { fingerprint };
    console.log(t(lang, "cli.bad-fingerprint", { fingerprint: answer }));
  }
  throw new ClientError(t(lang, "discovery.no-fingerprint"));
}
