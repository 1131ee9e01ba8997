/**
 * Finding rooms on the local network without typing an address (issue 10):
 * DNS-SD (RFC 6763) over multicast DNS (RFC 6762), the standard Bonjour,
 * `avahi-browse` and `dns-sd` speak, under the service type
 * {@linkcode SERVICE_TYPE}.
 *
 * `chat serve` {@linkcode announce}s its room on each IPv4 interface it
 * listens on; `chat list` and `chat connect` without an address
 * {@linkcode browse}. The mDNS wire format is the npm package
 * `multicast-dns` (with `dns-packet`); this module decides what is said,
 * to whom, and how often, and reads what others say defensively: an
 * announcement proves nothing, so every room found carries the address it
 * came from, and malformed, oversized or off-link packets are dropped
 * without a word.
 *
 * Each socket is opened on an explicit interface address (`{ interface: IP,
 * bind: "0.0.0.0" }`): with the package's defaults, sends fail silently on
 * a machine without a default route.
 *
 * @module
 */

import multicastDns from "multicast-dns";

/** The DNS-SD service type of chat rooms (without the `.local` domain). */
export const SERVICE_TYPE = "_classchat._tcp";

/** The mDNS port and IPv4 group. */
export const MDNS_PORT = 5353;
export const MDNS_GROUP = "224.0.0.251";

/** The version of the TXT record layout (and of the chat protocol). */
export const TXT_VERSION = "1";

/** How long `chat list` listens for rooms by default. */
export const BROWSE_TIMEOUT_MS = 1_500;

/** Re-announcements for a changed count are at least this far apart. */
export const REANNOUNCE_MIN_MS = 2_000;

/** RFC 6762 §17: an mDNS packet is never larger than this; larger ones are ignored. */
export const MAX_PACKET_BYTES = 9_000;

/** Rooms one browse keeps at most, whatever the network sends. */
export const MAX_ROOMS = 256;

/** Answers to queries one interface sends per second at most. */
const ANSWERS_PER_SECOND = 10;

/** The same question is answered by multicast at most this often. */
const SAME_QUESTION_MS = 250;

/** Time to live of the host name and SRV records (RFC 6762 §10). */
const HOST_TTL = 120;
/** Time to live of the PTR and TXT records (RFC 6762 §10). */
const OTHER_TTL = 4_500;

const DOMAIN = "local";
const FULL_TYPE = `${SERVICE_TYPE}.${DOMAIN}`;
const TYPE_ENUMERATION = `_services._dns-sd._udp.${DOMAIN}`;

/** An IPv4 interface discovery speaks on. */
export interface DiscoveryInterface {
  /** e.g. `eth0` */
  name: string;
  /** e.g. `192.168.1.23` */
  address: string;
  /** e.g. `255.255.255.0` */
  netmask: string;
}

/** What a server says about its room; see {@linkcode announce}. */
export interface AnnounceOptions {
  /** The TCP port of the room. */
  port: number;
  /** The room's name: the DNS-SD instance name. */
  room: string;
  /** Who hosts it (the host's name in the room). */
  host: string;
  /** This computer's name, for the room's own host name (`Deno.hostname()`). */
  machine?: string;
  /** True when the room needs TLS (`tls=1`). */
  tls: boolean;
  /** The web page's port (`web=PORT`), when the server has one. */
  webPort?: number;
  /** People in the room now (`online=N`), read at each announcement. */
  online(): number;
  /** Where to announce: one socket per interface. */
  ifaces: DiscoveryInterface[];
  /** Told, once per interface, when announcing on it failed. */
  onProblem?: (iface: DiscoveryInterface, message: string) => void;
}

/** A running announcement; see {@linkcode announce}. */
export interface Announcement {
  /** Re-announces if the count changed, at most every {@linkcode REANNOUNCE_MIN_MS}. */
  update(): void;
  /** Says goodbye (TTL 0) on every interface, then closes the sockets. */
  stop(): Promise<void>;
}

/** A room found on the network; see {@linkcode browse}. */
export interface FoundRoom {
  /** The room's name (the DNS-SD instance name). */
  name: string;
  /** Who hosts it, as announced (`host=`), or "" when not said. */
  host: string;
  /** The address the announcement claims (its A record), or the source. */
  address: string;
  port: number;
  /** People online as announced, or undefined when not said. */
  online?: number;
  /** True when the room needs TLS. */
  tls: boolean;
  /** The web page's port, when announced. */
  webPort?: number;
  /** The address the announcement came from: it proves nothing else. */
  source: string;
}

/** No interface could be searched: why, from the first that failed. */
export class BrowseError extends Error {
  override name = "BrowseError";
}

/** Options for {@linkcode browse}. */
export interface BrowseOptions {
  /** How long to listen (default {@linkcode BROWSE_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Where to ask: one socket per interface. */
  ifaces: DiscoveryInterface[];
  /** Stop listening as soon as a room found makes this true. */
  until?: (room: FoundRoom) => boolean;
}

// --- what we use of multicast-dns (it ships no types) ----------------------

interface DnsQuestion {
  name: string;
  type: string;
  class?: string;
}
interface DnsAnswer {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  flush?: boolean;
  data: unknown;
}
interface DnsPacket {
  id?: number;
  type?: "query" | "response";
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsAnswer[];
  additionals?: DnsAnswer[];
  authorities?: DnsAnswer[];
}
interface RemoteInfo {
  address: string;
  port: number;
  size: number;
}
interface MulticastDns {
  on(event: "ready", listener: () => void): void;
  on(event: "error" | "warning", listener: (error: Error) => void): void;
  on(
    event: "query" | "response",
    listener: (packet: DnsPacket, rinfo: RemoteInfo) => void,
  ): void;
  respond(
    packet: DnsPacket,
    rinfo?: { address: string; port: number },
    callback?: (error: Error | null) => void,
  ): void;
  query(packet: DnsPacket, callback?: (error: Error | null) => void): void;
  destroy(callback?: () => void): void;
}

/** Opens one mDNS socket on `iface` (bound to 0.0.0.0:5353, shared). */
function openSocket(iface: DiscoveryInterface): MulticastDns {
  return (multicastDns as (options: object) => MulticastDns)({
    interface: iface.address,
    bind: "0.0.0.0",
    port: MDNS_PORT,
    ip: MDNS_GROUP,
  });
}

// --- interfaces ---------------------------------------------------------------

/**
 * The IPv4 interfaces of this computer other than loopback, one entry per
 * address.
 *
 * @example
 * ```ts
 * import { lanInterfaces } from "./discovery.ts";
 * lanInterfaces(); // [{ name: "eth0", address: "192.168.1.23", netmask: "255.255.255.0" }]
 * ```
 */
export function lanInterfaces(): DiscoveryInterface[] {
  const seen = new Set<string>();
  const found: DiscoveryInterface[] = [];
  for (const nic of Deno.networkInterfaces()) {
    if (nic.family !== "IPv4" || isLoopbackAddress(nic.address)) continue;
    if (seen.has(nic.address)) continue;
    seen.add(nic.address);
    found.push({ name: nic.name, address: nic.address, netmask: nic.netmask });
  }
  return found;
}

/**
 * Where a server listening on `listenHost` announces its room: nowhere for
 * a loopback address (or a specific IPv6 one), the interface holding that
 * address for a specific IPv4 one, every LAN interface for `0.0.0.0` or
 * `::`. `iface` (`--iface NAME`) keeps only the interfaces with that name.
 *
 * @example
 * ```ts
 * import { announceInterfaces } from "./discovery.ts";
 * const lan = [{ name: "eth0", address: "10.1.2.3", netmask: "255.0.0.0" }];
 * announceInterfaces("127.0.0.1", undefined, lan); // []
 * announceInterfaces("0.0.0.0", "eth0", lan); // [lan[0]]
 * ```
 */
export function announceInterfaces(
  listenHost: string,
  iface: string | undefined,
  lan: DiscoveryInterface[] = lanInterfaces(),
): DiscoveryInterface[] {
  if (isLoopbackHost(listenHost)) return [];
  const listening = listenHost === "0.0.0.0" || listenHost === "::"
    ? lan
    : lan.filter((nic) => nic.address === listenHost);
  return iface === undefined
    ? listening
    : listening.filter((nic) => nic.name === iface);
}

/**
 * True for a name or address only this computer reaches: `localhost`,
 * 127.x.x.x, `::1`. A server listening there never announces.
 *
 * @example
 * ```ts
 * import { isLoopbackHost } from "./discovery.ts";
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("0.0.0.0"); // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || isLoopbackAddress(bare);
}

function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address);
}

/**
 * True when the environment turns discovery off: `CHAT_NO_DISCOVERY` set
 * to anything but "" or "0" (like `--no-discovery`).
 *
 * @example
 * ```ts
 * import { discoveryOffByEnv } from "./discovery.ts";
 * discoveryOffByEnv("1"); // true
 * discoveryOffByEnv(undefined); // false
 * ```
 */
export function discoveryOffByEnv(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0";
}

function ipv4Number(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/**
 * True when `address` is on the same link as `iface` (its subnet): mDNS
 * ignores packets from anywhere else (RFC 6762 §11).
 *
 * @example
 * ```ts
 * import { onLink } from "./discovery.ts";
 * onLink("10.0.0.9", { name: "e", address: "10.0.0.1", netmask: "255.255.255.0" }); // true
 * ```
 */
export function onLink(address: string, iface: DiscoveryInterface): boolean {
  const a = ipv4Number(address);
  const b = ipv4Number(iface.address);
  const mask = ipv4Number(iface.netmask);
  if (a === undefined || b === undefined || mask === undefined) return false;
  // Unsigned 32-bit arithmetic: `&` on numbers above 2^31 goes negative.
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

// --- announcing ---------------------------------------------------------------

/** The DNS-SD records of one room on one interface. */
function roomRecords(
  options: AnnounceOptions,
  iface: DiscoveryInterface,
  online: number,
  goodbye: boolean,
): { ptr: DnsAnswer; srv: DnsAnswer; txt: DnsAnswer; a: DnsAnswer } {
  const instance = `${options.room}.${FULL_TYPE}`;
  const target = `${hostLabel(options.room, options.machine)}.${DOMAIN}`;
  const ttl = (normal: number) => goodbye ? 0 : normal;
  const txt = [
    `v=${TXT_VERSION}`,
    `room=${options.room}`,
    `host=${options.host}`,
    `online=${online}`,
  ];
  if (options.tls) txt.push("tls=1");
  if (options.webPort !== undefined) txt.push(`web=${options.webPort}`);
  return {
    ptr: { name: FULL_TYPE, type: "PTR", ttl: ttl(OTHER_TTL), data: instance },
    srv: {
      name: instance,
      type: "SRV",
      ttl: ttl(HOST_TTL),
      flush: true,
      data: { priority: 0, weight: 0, port: options.port, target },
    },
    txt: {
      name: instance,
      type: "TXT",
      ttl: ttl(OTHER_TTL),
      flush: true,
      data: txt,
    },
    a: {
      name: target,
      type: "A",
      ttl: ttl(HOST_TTL),
      flush: true,
      data: iface.address,
    },
  };
}

/**
 * The host name the SRV record points at: one of chat's own
 * (`chat-ROOM-MACHINE.local`), so that it never contradicts the records
 * another responder on this computer (avahi, Bonjour) keeps for the
 * computer's name, nor those of a room of the same name elsewhere.
 */
function hostLabel(room: string, machine = ""): string {
  const ascii = (text: string) =>
    text.normalize("NFKD").replace(/[^A-Za-z0-9-]/g, "").toLowerCase();
  const parts = ["chat", ascii(room) || "room", ascii(machine.split(".")[0])];
  return parts.filter((part) => part !== "").join("-").slice(0, 63);
}

/**
 * Announces a room on each interface of `options.ifaces`, answers the
 * queries that ask for it, re-announces when {@linkcode Announcement.update}
 * sees a new count, and says goodbye at {@linkcode Announcement.stop}.
 *
 * @example
 * ```ts
 * import { announce, lanInterfaces } from "./discovery.ts";
 * const announcement = announce({
 *   port: 5000, room: "physics", host: "prof", tls: false,
 *   online: () => 1, ifaces: lanInterfaces(),
 * });
 * announcement.update(); // after someone joined or left
 * await announcement.stop();
 * ```
 */
export function announce(options: AnnounceOptions): Announcement {
  const announcers = options.ifaces.map((iface) =>
    new InterfaceAnnouncer(options, iface)
  );
  let lastOnline = options.online();
  let lastAnnounceAt = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // RFC 6762 §8.3: a second announcement one second after the first.
  let second: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    second = undefined;
    announceNow();
  }, 1_000);
  const announceNow = () => {
    lastOnline = options.online();
    lastAnnounceAt = performance.now();
    for (const announcer of announcers) announcer.announce();
  };
  return {
    update() {
      if (options.online() === lastOnline || timer !== undefined) return;
      const wait = lastAnnounceAt + REANNOUNCE_MIN_MS - performance.now();
      timer = setTimeout(() => {
        timer = undefined;
        if (options.online() !== lastOnline) announceNow();
      }, Math.max(0, wait));
    },
    async stop() {
      clearTimeout(timer);
      clearTimeout(second);
      timer = undefined;
      await Promise.all(announcers.map((announcer) => announcer.stop()));
    },
  };
}

/** The room's announcer on one interface. */
class InterfaceAnnouncer {
  readonly #options: AnnounceOptions;
  readonly #iface: DiscoveryInterface;
  readonly #socket: MulticastDns;
  /** When each question was last answered by multicast. */
  readonly #answeredAt = new Map<string, number>();
  /** Answers sent in the current second. */
  #answers = { second: 0, count: 0 };
  #ready = false;
  #failed = false;
  #stopped = false;

  constructor(options: AnnounceOptions, iface: DiscoveryInterface) {
    this.#options = options;
    this.#iface = iface;
    this.#socket = openSocket(iface);
    this.#socket.on("error", (error) => this.#fail(error));
    // Undecodable packets and failed memberships: nothing to act on, and
    // saying so for each packet would let anyone flood the log.
    this.#socket.on("warning", () => {});
    this.#socket.on("ready", () => {
      this.#ready = true;
      this.announce();
    });
    this.#socket.on("query", (packet, rinfo) => {
      try {
        this.#answer(packet, rinfo);
      } catch {
        // A packet dns-packet decoded but we cannot make sense of.
      }
    });
  }

  announce(): void {
    if (!this.#ready || this.#stopped || this.#failed) return;
    this.#send(this.#allRecords(false));
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    const goodbye = this.#ready && !this.#failed;
    this.#stopped = true;
    if (goodbye) {
      await withinMs(
        new Promise<void>((resolve) =>
          this.#socket.respond(
            { answers: this.#allRecords(true) },
            undefined,
            () => resolve(),
          )
        ),
        1_000,
      );
    }
    await withinMs(
      new Promise<void>((resolve) => this.#socket.destroy(() => resolve())),
      1_000,
    );
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#options.onProblem?.(this.#iface, error.message);
  }

  #allRecords(goodbye: boolean): DnsAnswer[] {
    const { ptr, srv, txt, a } = roomRecords(
      this.#options,
      this.#iface,
      this.#options.online(),
      goodbye,
    );
    return [ptr, srv, txt, a];
  }

  #send(answers: DnsAnswer[], additionals: DnsAnswer[] = []): void {
    try {
      this.#socket.respond({ answers, additionals }, undefined, (error) => {
        if (error) this.#fail(error);
      });
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  /** Answers a query for our service type, room, or host name. */
  #answer(packet: DnsPacket, rinfo: RemoteInfo): void {
    if (this.#stopped || this.#failed || !this.#ready) return;
    if (rinfo.size > MAX_PACKET_BYTES || !onLink(rinfo.address, this.#iface)) {
      return;
    }
    const records = roomRecords(
      this.#options,
      this.#iface,
      this.#options.online(),
      false,
    );
    const answers: DnsAnswer[] = [];
    // The questions answered, rebuilt from our own names: they are echoed
    // to one-shot queriers, and nothing of the query is sent back.
    const answered: DnsQuestion[] = [];
    for (const question of (packet.questions ?? []).slice(0, 16)) {
      if (typeof question?.name !== "string") continue;
      const found = recordsFor(question, records, packet);
      for (const record of found) {
        if (!answers.includes(record)) answers.push(record);
      }
      if (found.length > 0) {
        answered.push({ name: found[0].name, type: question.type });
      }
    }
    if (answers.length === 0 || !this.#withinRate()) return;
    // What a browser needs next comes along (RFC 6763 §12).
    const additionals = [records.srv, records.txt, records.a].filter((record) =>
      !answers.includes(record)
    );
    if (rinfo.port !== MDNS_PORT) {
      // A one-shot query from an ordinary port (RFC 6762 §6.7): answered to
      // that port only, with its id and question, and short TTLs.
      const short = (record: DnsAnswer) => ({
        ...record,
        ttl: Math.min(record.ttl ?? 10, 10),
        flush: false,
      });
      this.#socket.respond(
        {
          id: typeof packet.id === "number" ? packet.id : 0,
          questions: answered.map((q) => ({ ...q, class: "IN" })),
          answers: answers.map(short),
          additionals: additionals.map(short),
        },
        { address: rinfo.address, port: rinfo.port },
      );
      return;
    }
    const key = answered.map((q) => `${q.name}/${q.type}`).join(" ");
    const now = performance.now();
    if (now - (this.#answeredAt.get(key) ?? -Infinity) < SAME_QUESTION_MS) {
      return;
    }
    if (this.#answeredAt.size > 64) this.#answeredAt.clear();
    this.#answeredAt.set(key, now);
    this.#send(answers, additionals);
  }

  /** At most {@linkcode ANSWERS_PER_SECOND} answers a second, whoever asks. */
  #withinRate(): boolean {
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.#answers.second) this.#answers = { second, count: 0 };
    return ++this.#answers.count <= ANSWERS_PER_SECOND;
  }
}

/** Our records that answer `question` (none when it is not about us). */
function recordsFor(
  question: DnsQuestion,
  records: ReturnType<typeof roomRecords>,
  packet: DnsPacket,
): DnsAnswer[] {
  const name = question.name.toLowerCase();
  const wanted = (type: string) =>
    question.type === type || question.type === "ANY";
  if (name === FULL_TYPE.toLowerCase() && wanted("PTR")) {
    return knownAnswer(packet, records.ptr) ? [] : [records.ptr];
  }
  if (name === records.srv.name.toLowerCase()) {
    return [
      ...(wanted("SRV") ? [records.srv] : []),
      ...(wanted("TXT") ? [records.txt] : []),
    ];
  }
  if (name === records.a.name.toLowerCase() && wanted("A")) {
    return [records.a];
  }
  if (name === TYPE_ENUMERATION && wanted("PTR")) {
    return [{
      name: TYPE_ENUMERATION,
      type: "PTR",
      ttl: OTHER_TTL,
      data: FULL_TYPE,
    }];
  }
  return [];
}

/**
 * True when the querier says it already knows `record` with more than half
 * its lifetime left (known-answer suppression, RFC 6762 §7.1).
 */
function knownAnswer(packet: DnsPacket, record: DnsAnswer): boolean {
  return (packet.answers ?? []).some((known) =>
    known?.type === record.type &&
    String(known.name).toLowerCase() === record.name.toLowerCase() &&
    String(known.data).toLowerCase() === String(record.data).toLowerCase() &&
    (known.ttl ?? 0) > (record.ttl ?? 0) / 2
  );
}

/** Settles when `promise` does, or after `ms`. */
async function withinMs(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

// --- browsing -----------------------------------------------------------------

/** What one source has said so far. */
interface SourceRecords {
  instances: Map<string, { gone: boolean }>;
  srv: Map<string, { port: number; target: string; gone: boolean }>;
  txt: Map<string, Map<string, string>>;
  addresses: Map<string, string>;
}

/**
 * Asks for chat rooms on each interface of `options.ifaces` and listens for
 * `timeoutMs` (or until `until` says a room is the one): the rooms found,
 * sorted by name then address. Answers from off the link, oversized or
 * malformed packets, and rooms of another TXT version are ignored; a
 * goodbye (TTL 0) removes its room. Throws {@linkcode BrowseError} when no
 * interface could be searched.
 *
 * @example
 * ```ts
 * import { browse, lanInterfaces } from "./discovery.ts";
 * const rooms = await browse({ timeoutMs: 1500, ifaces: lanInterfaces() });
 * for (const room of rooms) console.log(room.name, room.address, room.port);
 * ```
 */
export async function browse(options: BrowseOptions): Promise<FoundRoom[]> {
  const timeoutMs = options.timeoutMs ?? BROWSE_TIMEOUT_MS;
  const sources = new Map<string, SourceRecords>();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const failures: string[] = [];
  const sockets = options.ifaces.map((iface) => {
    const socket = openSocket(iface);
    socket.on("error", (error) => {
      // This interface cannot be searched; when none can, say why.
      failures.push(`${iface.name}: ${error.message}`);
      if (failures.length === options.ifaces.length) finish();
    });
    socket.on("warning", () => {});
    socket.on("ready", () => ask(socket));
    socket.on("response", (packet, rinfo) => {
      if (rinfo.size > MAX_PACKET_BYTES) return;
      if (!options.ifaces.some((nic) => onLink(rinfo.address, nic))) return;
      try {
        readResponse(packet, rinfo.address, sources);
      } catch {
        return; // a packet we cannot make sense of
      }
      const until = options.until;
      if (until && assemble(sources).some(until)) finish();
    });
    return socket;
  });
  // A second question halfway, in case the first or its answer was lost,
  // or answered just before we listened.
  const again = setTimeout(
    () => sockets.forEach((socket) => ask(socket)),
    timeoutMs / 2,
  );
  const timer = setTimeout(finish, timeoutMs);
  await finished;
  clearTimeout(again);
  clearTimeout(timer);
  await Promise.all(
    sockets.map((socket) =>
      withinMs(new Promise((resolve) => socket.destroy(() => resolve())), 500)
    ),
  );
  if (failures.length > 0 && failures.length === options.ifaces.length) {
    throw new BrowseError(failures[0]);
  }
  return assemble(sources);
}

function ask(socket: MulticastDns): void {
  try {
    socket.query({ questions: [{ name: FULL_TYPE, type: "PTR" }] }, () => {});
  } catch { /* the socket is gone */ }
}

/** Files the records of one response under its source address. */
function readResponse(
  packet: DnsPacket,
  source: string,
  sources: Map<string, SourceRecords>,
): void {
  const records = [
    ...(packet.answers ?? []),
    ...(packet.additionals ?? []),
  ].slice(0, 64);
  let known = sources.get(source);
  if (!known) {
    if (sources.size >= MAX_ROOMS) return;
    known = {
      instances: new Map(),
      srv: new Map(),
      txt: new Map(),
      addresses: new Map(),
    };
    sources.set(source, known);
  }
  const suffix = `.${FULL_TYPE}`.toLowerCase();
  for (const record of records) {
    if (!record || typeof record.name !== "string") continue;
    const name = record.name.toLowerCase();
    const gone = record.ttl === 0;
    if (
      record.type === "PTR" && name === FULL_TYPE.toLowerCase() &&
      typeof record.data === "string" &&
      record.data.toLowerCase().endsWith(suffix)
    ) {
      const instance = record.data.toLowerCase();
      if (known.instances.size < MAX_ROOMS || known.instances.has(instance)) {
        known.instances.set(instance, { gone });
      }
    } else if (record.type === "SRV" && name.endsWith(suffix)) {
      const data = record.data as { port?: unknown; target?: unknown };
      if (
        typeof data?.port === "number" && data.port > 0 &&
        typeof data.target === "string"
      ) {
        known.srv.set(name, {
          port: data.port,
          target: data.target.toLowerCase(),
          gone,
        });
      }
    } else if (record.type === "TXT" && name.endsWith(suffix) && !gone) {
      known.txt.set(name, parseTxt(record.data));
    } else if (
      record.type === "A" && typeof record.data === "string" && !gone &&
      ipv4Number(record.data) !== undefined
    ) {
      if (known.addresses.size < MAX_ROOMS) {
        known.addresses.set(name, record.data);
      }
    }
  }
}

/**
 * The `key=value` pairs of a TXT record (RFC 6763 §6): the first of each
 * key counts; entries without `=` or with an empty key are skipped.
 *
 * @example
 * ```ts
 * import { parseTxt } from "./discovery.ts";
 * parseTxt(["v=1", "room=physics"]).get("room"); // "physics"
 * ```
 */
export function parseTxt(data: unknown): Map<string, string> {
  const entries = new Map<string, string>();
  const items = Array.isArray(data) ? data.slice(0, 32) : [data];
  const decoder = new TextDecoder();
  for (const item of items) {
    const text = typeof item === "string"
      ? item
      : item instanceof Uint8Array
      ? decoder.decode(item)
      : undefined;
    if (text === undefined) continue;
    const equals = text.indexOf("=");
    if (equals <= 0) continue;
    const key = text.slice(0, equals).toLowerCase();
    if (!entries.has(key)) entries.set(key, text.slice(equals + 1));
  }
  return entries;
}

/** Rooms from everything heard: one per source, name, address and port. */
function assemble(sources: Map<string, SourceRecords>): FoundRoom[] {
  const rooms = new Map<string, FoundRoom>();
  const suffix = `.${FULL_TYPE}`;
  for (const [source, known] of sources) {
    for (const [instance, { gone }] of known.instances) {
      if (rooms.size >= MAX_ROOMS) break;
      const srv = known.srv.get(instance);
      if (gone || !srv || srv.gone) continue;
      const txt = known.txt.get(instance) ?? new Map<string, string>();
      const version = txt.get("v");
      if (version !== undefined && version !== TXT_VERSION) continue;
      const label = instance.slice(0, instance.length - suffix.length);
      const name = displayText(txt.get("room") ?? label, 63);
      const online = Number(txt.get("online"));
      const web = Number(txt.get("web"));
      const room: FoundRoom = {
        name: name || "?",
        host: displayText(txt.get("host") ?? "", 24),
        address: known.addresses.get(srv.target) ?? source,
        port: srv.port,
        online: /^\d{1,7}$/.test(txt.get("online") ?? "") ? online : undefined,
        tls: txt.get("tls") === "1",
        webPort: /^\d{1,5}$/.test(txt.get("web") ?? "") && web > 0 &&
            web <= 65535
          ? web
          : undefined,
        source,
      };
      rooms.set(`${room.name}\n${room.address}\n${room.port}`, room);
    }
  }
  return [...rooms.values()].sort((a, b) =>
    a.name.localeCompare(b.name) || a.address.localeCompare(b.address) ||
    a.port - b.port
  );
}

/**
 * Text from the network made safe to print on one line: control
 * characters removed, white space made single spaces, at most `max`
 * characters.
 */
function displayText(text: string, max: number): string {
  return [
    ...text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "")
      .replace(/\s+/g, " ").trim(),
  ].slice(0, max).join("");
}
