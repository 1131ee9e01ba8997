/**
 * The command line: what `chat serve` and `chat connect` accept, their help
 * texts, and one-line usage errors, in the person's language (`--lang`, else
 * the locale variables). Parsing only; nothing is started here.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  MAX_LINE_BYTES,
  MAX_NAME_LENGTH,
  nameFromLogin,
  nameProblem,
} from "./protocol.ts";
import {
  type Lang,
  langFromEnv,
  type LocaleEnv,
  type MessageArgs,
  type MessageKey,
  parseLang,
  t,
} from "./i18n.ts";
import { DEFAULT_PASSWORD_LIMITS } from "./password_guard.ts";
import { DEFAULT_ROOM_RATE } from "./room_rate.ts";
import { parseFingerprint } from "./tls.ts";
import { BROWSE_TIMEOUT_MS, discoveryOffByEnv } from "./discovery.ts"; // issue 10
import {
  DEFAULT_FLOOD_LIMITS,
  DEFAULT_RESERVE_MS,
  STOP_CONFIRM_MS,
  WRONG_PASSWORD_DELAY_MS,
} from "./room.ts";
import { DEFAULT_HISTORY_LINES } from "./history.ts";
import {
  DEFAULT_BLOCK_BYTES,
  DEFAULT_BLOCK_LINES,
  MAX_BLOCK_BYTES,
  MAX_BLOCK_LINES,
} from "./code_block.ts"; // issue 12
import {
  DEFAULT_FILE_MAX_BYTES,
  DEFAULT_FILES_MAX_BYTES,
} from "./file_store.ts"; // issue 12
import { OUTBOX_LINES } from "./outbox.ts";
import { RECONNECT_MAX_DELAY_MS } from "./reconnect.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_MAX_PER_ADDRESS,
  QUEUE_LIMIT_BYTES,
} from "./server.ts";
import { DEFAULT_WEB_PORT, withWebValue } from "./web_cli.ts"; // issue 11

/** Port used when none is given. */
export const DEFAULT_PORT = 5000;

/** Most clients a server accepts at once unless `--max-clients` says otherwise. */
export const DEFAULT_MAX_CLIENTS = 256;

/** A mistake on the command line: exit status 2 with a one-line message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What the command line asks for. */
export type Invocation =
  | { command: "help"; text: string }
  | { command: "version" }
  | ({ command: "serve" } & ServeOptions)
  | ({ command: "connect" } & ConnectOptions)
  | ({ command: "list" } & ListOptions); // issue 10

/** What `chat serve` was asked for; see {@linkcode serveHelp}. */
export interface ServeOptions {
  hostname: string;
  port: number;
  name: string;
  /** 0: no limit on connections. */
  maxClients: number;
  /** 0: no per-address limit. */
  maxPerAddress: number;
  /** 0: no deadline. */
  handshakeTimeoutMs: number;
  /** 0: heartbeat clients are never timed out. */
  heartbeatTimeoutMs: number;
  flood: { burst: number; perSecond: number; disconnectAfter: number };
  /** Lines per second the whole room accepts; 0: no ceiling. */
  roomRate: number;
  /** Longest line a client may send, in bytes. */
  maxLineBytes: number;
  /** Bytes waiting for a client before it is dropped as too slow. */
  queueLimitBytes: number;
  /** Wait before a wrong password is refused. */
  wrongPasswordDelayMs: number;
  /** Wrong passwords per address before a lock-out; 0: no lock-outs. */
  passwordTries: number;
  /** True with `--password`: read it from CHAT_PASSWORD or the terminal. */
  askPassword: boolean;
  /**
   * chat's own self-signed certificate, kept in the settings folder
   * (`fresh`: a new one, with `--tls-new`), or certificate files.
   */
  tls?:
    | { selfSigned: true; fresh?: true }
    | { certFile: string; keyFile: string };
  /**
   * The language of the console and of the room for plain-text clients:
   * `--lang`, else the locale variables, else English.
   */
  lang: Lang;
  /** Earlier public lines kept for newcomers (`--history`); 0: none. */
  historyLines: number;
  /** `--log FILE`: where the room's transcript is appended. */
  transcriptPath?: string;
  /**
   * How long a dropped member's name is kept for it, in ms
   * (`--reserve-seconds`, not in the help: for tests).
   */
  reserveMs: number;
  // Issue 10 (begin): announcing the room (lib/discovery.ts).
  /** `--room NAME`; the computer's name when absent. */
  room?: string;
  /** False with `--no-discovery` or CHAT_NO_DISCOVERY. */
  discovery: boolean;
  /** `--iface NAME`: announce on that interface only. */
  iface?: string;
  // Issue 10 (end).
  /**
   * Issue 11: with `--web [PORT]`, the page's port, and whether to print
   * its QR code (not with `--no-qr`).
   */
  web?: { port: number; qr: boolean };
  /**
   * Issue 12: shared files' limits in bytes (`--file-max-bytes`,
   * `--files-max-bytes`); absent with `--no-files`.
   */
  files?: { maxFileBytes: number; maxTotalBytes: number };
  /** Issue 12: most lines in a code block (`--block-lines`). */
  blockLines: number;
  /** Issue 12: most bytes in a code block (`--block-bytes`). */
  blockBytes: number;
}

/** What `chat connect` was asked for; see {@linkcode connectHelp}. */
export interface ConnectOptions {
  hostname: string;
  port: number;
  name?: string;
  nameIsExplicit: boolean;
  /** Connect with TLS: pinned to a fingerprint, or verified (with a CA file). */
  tls?: { fingerprint: string } | { caFile?: string };
  /** The language everything is shown in: `--lang`, else the locale. */
  lang: Lang;
  /**
   * False with `--no-reconnect`: a dropped connection ends the client.
   * The options of issue 9 are present only when given.
   */
  reconnect?: false;
  /** `--quiet`: no bell on mentions and private messages. */
  quiet?: true;
  /** `--log FILE`: the session's transcript. */
  log?: string;
  /** Hidden `--reconnect-delay-ms N`, for tests: the first retry's delay. */
  reconnectDelayMs?: number;
  /**
   * Issue 10: the address is found on the network: with no address
   * (`{}`), the only room found; with one word that may be a room's name
   * (`{ room }`), that room, else the word is a host name.
   */
  lookup?: { room?: string };
  /** Issue 10: `--iface NAME`, where to look for rooms. */
  iface?: string;
}

/** What `chat list` was asked for (issue 10); see {@linkcode listHelp}. */
export interface ListOptions {
  /** `--iface NAME`: look on that interface only. */
  iface?: string;
  /** False with CHAT_NO_DISCOVERY: nothing is sent. */
  discovery: boolean;
  lang: Lang;
}

/**
 * What the command line reads from the environment: the login name sources
 * for `chat connect`'s default name, and the locale variables for the
 * language.
 */
export interface CommandLineEnv extends LocaleEnv {
  USER?: string;
  USERNAME?: string;
  /** Issue 10: set (not "" or "0"), discovery is off, as with --no-discovery. */
  CHAT_NO_DISCOVERY?: string;
}

/**
 * The most `--max-line-bytes` allows. Clients accept server lines up to
 * 64 KiB: a name and a message must fit.
 */
export const LONGEST_LINE_BYTES = 32 * 1024;

// The defaults live beside the code that applies them; the help shows them.
const DEFAULT_FLOOD = DEFAULT_FLOOD_LIMITS;
const DEFAULT_HANDSHAKE_TIMEOUT_S = DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000;
const DEFAULT_HEARTBEAT_TIMEOUT_S = DEFAULT_HEARTBEAT_TIMEOUT_MS / 1000;

/**
 * Help for `chat` itself, in `lang`.
 *
 * @example
 * ```ts
 * import { mainHelp } from "./cli.ts";
 * console.log(mainHelp("fr")); // "chat : un salon de discussion ..."
 * ```
 */
export function mainHelp(lang: Lang): string {
  return t(lang, "cli.help.main");
}

/**
 * Help for `chat list` (issue 10), in `lang`.
 *
 * @example
 * ```ts
 * import { listHelp } from "./cli.ts";
 * listHelp("en").startsWith("Usage: chat list"); // true
 * ```
 */
export function listHelp(lang: Lang): string {
  return t(lang, "discovery.help.list", { seconds: BROWSE_TIMEOUT_MS / 1000 });
}

/**
 * Help for `chat serve`, in `lang`, with the current defaults.
 *
 * @example
 * ```ts
 * import { serveHelp } from "./cli.ts";
 * serveHelp("en").startsWith("Usage: chat serve [options]"); // true
 * ```
 */
export function serveHelp(lang: Lang): string {
  return t(lang, "cli.help.serve", {
    port: DEFAULT_PORT,
    maxClients: DEFAULT_MAX_CLIENTS,
    maxPerAddress: DEFAULT_MAX_PER_ADDRESS,
    handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT_S,
    heartbeatTimeout: DEFAULT_HEARTBEAT_TIMEOUT_S,
    floodBurst: DEFAULT_FLOOD.burst,
    floodRate: DEFAULT_FLOOD.perSecond,
    floodDisconnect: DEFAULT_FLOOD.disconnectAfter,
    roomRate: DEFAULT_ROOM_RATE,
    maxLineBytes: MAX_LINE_BYTES,
    longestLine: LONGEST_LINE_BYTES,
    queueKib: QUEUE_LIMIT_BYTES / 1024,
    passwordDelay: WRONG_PASSWORD_DELAY_MS / 1000,
    passwordTries: DEFAULT_PASSWORD_LIMITS.triesPerAddress,
    roomPasswordTries: DEFAULT_PASSWORD_LIMITS.roomTriesPerMinute,
    stopConfirm: STOP_CONFIRM_MS / 1000,
    history: DEFAULT_HISTORY_LINES,
  }) + "\n\n" + t(lang, "discovery.help.serve") + // issue 10
    "\n\n" + t(lang, "web.help.serve", { webPort: DEFAULT_WEB_PORT }) + // issue 11
    "\n\n" + t(lang, "files.help.serve") + // issue 12
    "\n\n" + t(lang, "blocks.help.serve", { // issue 12: code blocks
      blockLines: DEFAULT_BLOCK_LINES,
      maxBlockLines: MAX_BLOCK_LINES,
      blockBytes: DEFAULT_BLOCK_BYTES,
      maxBlockBytes: MAX_BLOCK_BYTES,
    });
}

/**
 * Help for `chat connect`, in `lang`.
 *
 * @example
 * ```ts
 * import { connectHelp } from "./cli.ts";
 * connectHelp("fr").startsWith("Utilisation : chat connect"); // true
 * ```
 */
export function connectHelp(lang: Lang): string {
  return t(lang, "cli.help.connect", {
    port: DEFAULT_PORT,
    outbox: OUTBOX_LINES,
    backoff: RECONNECT_MAX_DELAY_MS / 1000,
  }) + "\n\n" + t(lang, "discovery.help.connect") + // issue 10
    "\n\n" + t(lang, "files.help.connect"); // issue 12
}

/**
 * The language the person running `chat` reads, decided before anything
 * else on the command line: the last `--lang VALUE` or `--lang=VALUE`
 * (before any `--`), else `LC_ALL`, `LC_MESSAGES` or `LANG`, else English.
 * Never throws: a bad or missing `--lang` value falls back to the locale
 * (and {@linkcode parseCommandLine} refuses it, in that language).
 *
 * @example
 * ```ts
 * import { commandLineLang } from "./cli.ts";
 * commandLineLang(["serve", "--lang", "fr"], { LANG: "en_US.UTF-8" }); // "fr"
 * commandLineLang(["serve"], { LANG: "fr_FR.UTF-8" }); // "fr"
 * commandLineLang(["serve", "--lang=de"], {}); // "en"
 * ```
 */
export function commandLineLang(
  args: readonly string[],
  env: LocaleEnv,
): Lang {
  const option = findLangOption(args);
  return parseLang(option?.value) ?? langFromEnv(env);
}

/**
 * Parses the arguments after the program name. Every usage error and help
 * text is in the language {@linkcode commandLineLang} decides.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./cli.ts";
 * parseCommandLine(["connect", "10.0.0.7:5001"], {});
 * // { command: "connect", hostname: "10.0.0.7", port: 5001, lang: "en", ... }
 * ```
 *
 * @param env the login name sources (`USER`, `USERNAME`) and the locale
 *   variables (`LC_ALL`, `LC_MESSAGES`, `LANG`)
 * @throws {UsageError} on anything it cannot make sense of
 */
export function parseCommandLine(
  args: readonly string[],
  env: CommandLineEnv,
): Invocation {
  const lang = commandLineLang(args, env);
  const option = findLangOption(args);
  if (option && parseLang(option.value) === undefined) {
    throw new UsageError(
      option.value === undefined
        ? t(lang, "cli.option-needs-value", { option: "--lang", example: "fr" })
        : t(lang, "cli.bad-lang", { lang: option.value }),
    );
  }
  // `chat --lang fr --help`: the language may come before the command.
  let start = 0;
  while (args[start] === "--lang" || args[start]?.startsWith("--lang=")) {
    start += args[start] === "--lang" ? 2 : 1;
  }
  const [command, ...rest] = args.slice(start);
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return { command: "help", text: mainHelp(lang) };
    case "-V":
    case "--version":
    case "version":
      return { command: "version" };
    case "serve":
      return parseServe(rest, env, lang);
    case "connect":
      return parseConnect(rest, env, lang);
    case "list": // issue 10
      return parseList(rest, env, lang);
    default:
      throw new UsageError(
        command.startsWith("-")
          ? t(lang, "cli.unknown-top-option", { option: command })
          : t(lang, "cli.unknown-command", { command }),
      );
  }
}

/**
 * The last `--lang` on the command line, before any `--`: its value, or
 * no value when it is last or followed by another option.
 */
function findLangOption(
  args: readonly string[],
): { value?: string } | undefined {
  let found: { value?: string } | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg.startsWith("--lang=")) {
      found = { value: arg.slice("--lang=".length) };
    } else if (arg === "--lang") {
      const next = args[i + 1];
      found = next === undefined || next.startsWith("-") ? {} : { value: next };
      if (found.value !== undefined) i++;
    }
  }
  return found;
}

/** Throws a {@linkcode UsageError} with the sentence for `key`. */
function usage(lang: Lang, key: MessageKey, args?: MessageArgs): never {
  throw new UsageError(t(lang, key, args));
}

function parseServe(
  args: string[],
  env: CommandLineEnv,
  lang: Lang,
): Invocation {
  const { values, positionals } = parse(lang, "serve", withWebValue(args), {
    web: { type: "string" }, // issue 11
    "no-qr": { type: "boolean" }, // issue 11
    host: { type: "string" },
    port: { type: "string" },
    name: { type: "string" },
    "max-clients": { type: "string" },
    "max-per-ip": { type: "string" },
    "handshake-timeout": { type: "string" },
    "heartbeat-timeout": { type: "string" },
    "flood-burst": { type: "string" },
    "flood-rate": { type: "string" },
    "flood-disconnect": { type: "string" },
    "room-rate": { type: "string" },
    "max-line-bytes": { type: "string" },
    "queue-kib": { type: "string" },
    "password-delay": { type: "string" },
    "password-tries": { type: "string" },
    history: { type: "string" },
    log: { type: "string" },
    "reserve-seconds": { type: "string" },
    password: { type: "boolean" },
    tls: { type: "boolean" },
    "tls-new": { type: "boolean" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    lang: { type: "string" },
    help: { type: "boolean", short: "h" },
    room: { type: "string" }, // issue 10
    "no-discovery": { type: "boolean" }, // issue 10
    iface: { type: "string" }, // issue 10
    "file-max-bytes": { type: "string" }, // issue 12
    "files-max-bytes": { type: "string" }, // issue 12
    "no-files": { type: "boolean" }, // issue 12
    "block-lines": { type: "string" }, // issue 12: code blocks
    "block-bytes": { type: "string" }, // issue 12: code blocks
  });
  if (values.help) return { command: "help", text: serveHelp(lang) };
  // Issue 12: sizes may be given as 512K or 2M (KiB, MiB).
  for (const option of ["file-max-bytes", "files-max-bytes"]) {
    const given = values[option];
    const sized = typeof given === "string"
      ? /^(\d+)([kKmM])(?:i?[bB])?$/.exec(given)
      : null;
    if (sized) {
      const unit = /[kK]/.test(sized[2]) ? 1024 : 1024 * 1024;
      values[option] = String(Number(sized[1]) * unit);
    }
  }
  if (positionals.length > 0) {
    usage(lang, "cli.serve-no-arguments", { argument: positionals[0] });
  }
  const name = (values.name as string | undefined) ?? "host";
  checkName(name, lang);
  const room = values.room as string | undefined; // issue 10
  if (room !== undefined) checkRoomName(room, lang);
  const count = (
    option: string,
    fallback: number,
    min: number,
    max?: number,
  ) =>
    parseCount(
      `--${option}`,
      values[option] as string | undefined,
      fallback,
      { min, max },
      lang,
    );
  const certFile = values["tls-cert"] as string | undefined;
  const keyFile = values["tls-key"] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    usage(lang, "cli.tls-cert-and-key");
  }
  // Issue 9: --tls-new replaces chat's own kept certificate.
  if (values["tls-new"] && certFile !== undefined) {
    usage(lang, "identity.new-and-cert");
  }
  return {
    command: "serve",
    hostname: (values.host as string | undefined) ?? "0.0.0.0",
    port: parsePort(
      values.port as string | undefined,
      DEFAULT_PORT,
      true,
      lang,
    ),
    name,
    maxClients: count("max-clients", DEFAULT_MAX_CLIENTS, 0),
    maxPerAddress: count("max-per-ip", DEFAULT_MAX_PER_ADDRESS, 0),
    handshakeTimeoutMs:
      count("handshake-timeout", DEFAULT_HANDSHAKE_TIMEOUT_S, 0) * 1000,
    heartbeatTimeoutMs:
      count("heartbeat-timeout", DEFAULT_HEARTBEAT_TIMEOUT_S, 0) * 1000,
    flood: {
      burst: count("flood-burst", DEFAULT_FLOOD.burst, 1),
      perSecond: count("flood-rate", DEFAULT_FLOOD.perSecond, 0),
      disconnectAfter: count(
        "flood-disconnect",
        DEFAULT_FLOOD.disconnectAfter,
        0,
      ),
    },
    roomRate: count("room-rate", DEFAULT_ROOM_RATE, 0),
    maxLineBytes: count(
      "max-line-bytes",
      MAX_LINE_BYTES,
      1,
      LONGEST_LINE_BYTES,
    ),
    queueLimitBytes: count("queue-kib", QUEUE_LIMIT_BYTES / 1024, 1) * 1024,
    wrongPasswordDelayMs:
      count("password-delay", WRONG_PASSWORD_DELAY_MS / 1000, 0) * 1000,
    passwordTries: count(
      "password-tries",
      DEFAULT_PASSWORD_LIMITS.triesPerAddress,
      0,
    ),
    askPassword: values.password === true,
    historyLines: count("history", DEFAULT_HISTORY_LINES, 0),
    transcriptPath: values.log as string | undefined,
    reserveMs: count("reserve-seconds", DEFAULT_RESERVE_MS / 1000, 0) * 1000,
    tls: certFile !== undefined && keyFile !== undefined
      ? { certFile, keyFile }
      : values["tls-new"]
      ? { selfSigned: true, fresh: true }
      : values.tls
      ? { selfSigned: true }
      : undefined,
    lang,
    // Issue 10: room and iface only when given.
    ...(room === undefined ? {} : { room }),
    discovery: values["no-discovery"] !== true &&
      !discoveryOffByEnv(env.CHAT_NO_DISCOVERY),
    ...(values.iface === undefined ? {} : { iface: values.iface as string }),
    // Issue 11: `--web` alone is the default port; 0 picks a free one.
    ...(values.web === undefined ? {} : {
      web: {
        port: parsePort(
          (values.web as string) || String(DEFAULT_WEB_PORT),
          DEFAULT_WEB_PORT,
          true,
          lang,
        ),
        qr: values["no-qr"] !== true,
      },
    }),
    // Issue 12: code blocks' limits; 0 is the most allowed.
    blockLines: count("block-lines", DEFAULT_BLOCK_LINES, 0, MAX_BLOCK_LINES) ||
      MAX_BLOCK_LINES,
    blockBytes: count("block-bytes", DEFAULT_BLOCK_BYTES, 0, MAX_BLOCK_BYTES) ||
      MAX_BLOCK_BYTES,
    // Issue 12: shared files, unless --no-files (or a limit of 0).
    ...(() => {
      const maxFileBytes = count("file-max-bytes", DEFAULT_FILE_MAX_BYTES, 0);
      const maxTotalBytes = count(
        "files-max-bytes",
        DEFAULT_FILES_MAX_BYTES,
        0,
      );
      return values["no-files"] === true || maxFileBytes === 0 ||
          maxTotalBytes === 0
        ? {}
        : { files: { maxFileBytes, maxTotalBytes } };
    })(),
  };
}

function parseConnect(
  args: string[],
  env: CommandLineEnv,
  lang: Lang,
): Invocation {
  const { values, positionals } = parse(lang, "connect", args, {
    port: { type: "string" },
    name: { type: "string" },
    tls: { type: "boolean" },
    ca: { type: "string" },
    fingerprint: { type: "string" },
    lang: { type: "string" },
    // Issue 9: reconnecting, mentions, transcript.
    "no-reconnect": { type: "boolean" },
    quiet: { type: "boolean" },
    log: { type: "string" },
    // Not in the help: lets tests reconnect without waiting a second.
    "reconnect-delay-ms": { type: "string" },
    help: { type: "boolean", short: "h" },
    iface: { type: "string" }, // issue 10
  });
  if (values.help) return { command: "help", text: connectHelp(lang) };
  // Issue 10 (begin): no address: find the room on the network.
  const discovery = !discoveryOffByEnv(env.CHAT_NO_DISCOVERY);
  const iface = values.iface as string | undefined;
  if (positionals.length === 0 && discovery) {
    if (values.port !== undefined) usage(lang, "cli.connect-no-address");
    const explicitName = values.name as string | undefined;
    if (explicitName !== undefined) checkName(explicitName, lang);
    return {
      command: "connect",
      hostname: "",
      port: DEFAULT_PORT,
      name: explicitName ?? nameFromLogin(env.USER) ??
        nameFromLogin(env.USERNAME),
      nameIsExplicit: explicitName !== undefined,
      tls: connectTls(values, lang),
      lang,
      lookup: {},
      ...(iface === undefined ? {} : { iface }),
    };
  }
  // Issue 10 (end).
  if (positionals.length === 0) usage(lang, "cli.connect-no-address");
  if (positionals.length > 1) {
    usage(lang, "cli.connect-addresses", {
      count: positionals.length,
      addresses: positionals.join(" "),
    });
  }
  const target = splitHostPort(positionals[0], lang);
  if (target.port !== undefined && values.port !== undefined) {
    usage(lang, "cli.connect-port-twice", { address: positionals[0] });
  }
  const port = target.port ??
    parsePort(values.port as string | undefined, DEFAULT_PORT, false, lang);
  const explicitName = values.name as string | undefined;
  if (explicitName !== undefined) checkName(explicitName, lang);
  return {
    command: "connect",
    hostname: target.hostname,
    port,
    name: explicitName ?? nameFromLogin(env.USER) ??
      nameFromLogin(env.USERNAME),
    nameIsExplicit: explicitName !== undefined,
    tls: connectTls(values, lang),
    lang,
    ...(values["no-reconnect"] ? { reconnect: false as const } : {}),
    ...(values.quiet ? { quiet: true as const } : {}),
    ...(values.log !== undefined ? { log: values.log as string } : {}),
    ...(values["reconnect-delay-ms"] !== undefined
      ? {
        reconnectDelayMs: parseCount(
          "--reconnect-delay-ms",
          values["reconnect-delay-ms"] as string,
          0,
          { min: 1, max: 30_000 },
          lang,
        ),
      }
      : {}),
    // Issue 10: one word without a port may be a room's name.
    ...(discovery && target.port === undefined &&
        values.port === undefined && mayBeRoomName(target.hostname)
      ? { lookup: { room: target.hostname } }
      : {}),
    ...(iface === undefined ? {} : { iface }),
  };
}

// Issue 10 (begin)
function parseList(
  args: string[],
  env: CommandLineEnv,
  lang: Lang,
): Invocation {
  const { values, positionals } = parse(lang, "list", args, {
    iface: { type: "string" },
    lang: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { command: "help", text: listHelp(lang) };
  if (positionals.length > 0) {
    usage(lang, "discovery.list-no-arguments", { argument: positionals[0] });
  }
  return {
    command: "list",
    iface: values.iface as string | undefined,
    discovery: !discoveryOffByEnv(env.CHAT_NO_DISCOVERY),
    lang,
  };
}

/** A room's name follows the rules of a person's name (see `nameProblem`). */
function checkRoomName(room: string, lang: Lang): void {
  const problem = nameProblem(room);
  if (problem) {
    usage(lang, "discovery.bad-room", {
      room,
      problem: t(lang, `name.${problem}`, { max: MAX_NAME_LENGTH }),
    });
  }
}

/**
 * True for one word that could be a room's name rather than a host's: no
 * dot, not an address, not `localhost`.
 */
function mayBeRoomName(word: string): boolean {
  return !word.includes(".") && !word.includes(":") &&
    word.toLowerCase() !== "localhost" && nameProblem(word) === undefined;
}
// Issue 10 (end)

function connectTls(
  values: Record<string, string | boolean | undefined>,
  lang: Lang,
): ConnectOptions["tls"] {
  const fingerprintText = values.fingerprint as string | undefined;
  const caFile = values.ca as string | undefined;
  if (fingerprintText !== undefined) {
    if (caFile !== undefined) usage(lang, "cli.fingerprint-and-ca");
    const fingerprint = parseFingerprint(fingerprintText);
    if (!fingerprint) {
      usage(lang, "cli.bad-fingerprint", { fingerprint: fingerprintText });
    }
    return { fingerprint };
  }
  if (caFile !== undefined || values.tls) return { caFile };
  return undefined;
}

const VALUE_EXAMPLES: Record<string, string> = {
  "--host": "0.0.0.0",
  "--port": String(DEFAULT_PORT),
  "--name": "alice",
  "--max-clients": "30",
  "--max-per-ip": "8",
  "--handshake-timeout": "30",
  "--heartbeat-timeout": "60",
  "--flood-burst": "20",
  "--flood-rate": "5",
  "--flood-disconnect": "100",
  "--room-rate": "50",
  "--max-line-bytes": "4096",
  "--queue-kib": "1024",
  "--password-delay": "1",
  "--password-tries": "5",
  "--history": "50",
  "--log": "class.log",
  "--reserve-seconds": "60",
  "--tls-cert": "cert.pem",
  "--tls-key": "key.pem",
  "--ca": "ca.pem",
  "--fingerprint": "AB:CD:...",
  "--lang": "fr",
  "--reconnect-delay-ms": "100",
  "--room": "physics", // issue 10
  "--iface": "eth0", // issue 10
  "--web": String(DEFAULT_WEB_PORT),
  "--file-max-bytes": "2M", // issue 12
  "--files-max-bytes": "64M", // issue 12
  "--block-lines": "200", // issue 12
  "--block-bytes": "16384", // issue 12
};

type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string }
>;

function parse(
  lang: Lang,
  command: string,
  args: string[],
  options: OptionSpec,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const option = /'(-[^']*)'/.exec(message)?.[1];
    const code = (error as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      usage(lang, "cli.unknown-option", {
        option: option ?? message,
        command,
      });
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = /--[\w-]+/.exec(option ?? "")?.[0] ?? option ?? "?";
      if (/does not take an argument/.test(message)) {
        usage(lang, "cli.option-takes-no-value", { option: name });
      }
      if (/ambiguous/.test(message)) {
        usage(lang, "cli.option-dash-value", { option: name });
      }
      usage(lang, "cli.option-needs-value", {
        option: name,
        example: VALUE_EXAMPLES[name] ?? t(lang, "cli.value"),
      });
    }
    throw new UsageError(message.split("\n")[0]);
  }
}

function checkName(name: string, lang: Lang): void {
  const problem = nameProblem(name);
  if (problem) {
    usage(lang, "cli.bad-name", {
      name,
      problem: t(lang, `name.${problem}`, { max: MAX_NAME_LENGTH }),
    });
  }
}

function parsePort(
  text: string | undefined,
  fallback: number,
  allowZero: boolean,
  lang: Lang,
): number {
  if (text === undefined) return fallback;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535) || (port === 0 && !allowZero)) {
    usage(lang, "cli.bad-port", { port: text, min: allowZero ? 0 : 1 });
  }
  return port;
}

/** A whole number from `range.min` to `range.max` (no upper bound if absent). */
function parseCount(
  option: string,
  text: string | undefined,
  fallback: number,
  range: { min: number; max?: number },
  lang: Lang,
): number {
  if (text === undefined) return fallback;
  const { min, max } = range;
  const count = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (max !== undefined && !(count >= min && count <= max)) {
    usage(lang, "cli.bad-range", { value: text, option, min, max });
  }
  if (!(count >= min)) {
    usage(lang, "cli.bad-count", { value: text, option, min });
  }
  return count;
}

/**
 * Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address. A bad
 * address or port is a {@linkcode UsageError} in `lang` (English unless
 * given).
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./cli.ts";
 * splitHostPort("[::1]:5001"); // { hostname: "::1", port: 5001 }
 * ```
 */
export function splitHostPort(
  text: string,
  lang: Lang = "en",
): { hostname: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    return withPort(bracketed[1], bracketed[2], text, lang);
  }
  const colons = text.split(":").length - 1;
  if (colons === 1) {
    const [hostname, port] = text.split(":");
    return withPort(hostname, port, text, lang);
  }
  if (text === "" || /[\s/]/.test(text)) {
    usage(lang, "cli.bad-address", { address: text });
  }
  return { hostname: text };
}

function withPort(
  hostname: string,
  port: string | undefined,
  text: string,
  lang: Lang,
): { hostname: string; port?: number } {
  if (hostname === "" || /[\s/]/.test(hostname)) {
    usage(lang, "cli.bad-address", { address: text });
  }
  return {
    hostname,
    port: port === undefined
      ? undefined
      : parsePort(port, DEFAULT_PORT, false, lang),
  };
}
