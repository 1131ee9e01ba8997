/**
 * The command line: what `chat serve` and `chat connect` accept, their help
 * texts, and one-line usage errors. Parsing only; nothing is started here.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MAX_LINE_BYTES, nameFromLogin, nameProblem } from "./protocol.ts";
import { parseFingerprint } from "./tls.ts";
import { DEFAULT_FLOOD_LIMITS, WRONG_PASSWORD_DELAY_MS } from "./room.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_MAX_PER_ADDRESS,
  QUEUE_LIMIT_BYTES,
} from "./server.ts";

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
  | ({ command: "connect" } & ConnectOptions);

/** What `chat serve` was asked for; see {@linkcode SERVE_HELP}. */
export interface ServeOptions {
  hostname: string;
  port: number;
  name: string;
  maxClients: number;
  /** 0: no per-address limit. */
  maxPerAddress: number;
  /** 0: no deadline. */
  handshakeTimeoutMs: number;
  /** 0: heartbeat clients are never timed out. */
  heartbeatTimeoutMs: number;
  flood: { burst: number; perSecond: number; disconnectAfter: number };
  /** Longest line a client may send, in bytes. */
  maxLineBytes: number;
  /** Bytes waiting for a client before it is dropped as too slow. */
  queueLimitBytes: number;
  /** Wait before a wrong password is refused. */
  wrongPasswordDelayMs: number;
  /** True with `--password`: read it from CHAT_PASSWORD or the terminal. */
  askPassword: boolean;
  /** Self-signed certificate made at start, or certificate files. */
  tls?: { selfSigned: true } | { certFile: string; keyFile: string };
}

/** What `chat connect` was asked for; see {@linkcode CONNECT_HELP}. */
export interface ConnectOptions {
  hostname: string;
  port: number;
  name?: string;
  nameIsExplicit: boolean;
  /** Connect with TLS: pinned to a fingerprint, or verified (with a CA file). */
  tls?: { fingerprint: string } | { caFile?: string };
}

// Clients accept server lines up to 64 KiB: a name and a message must fit.
const LONGEST_LINE_BYTES = 32 * 1024;

// The defaults live beside the code that applies them; the help shows them.
const DEFAULT_FLOOD = DEFAULT_FLOOD_LIMITS;
const DEFAULT_HANDSHAKE_TIMEOUT_S = DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000;
const DEFAULT_HEARTBEAT_TIMEOUT_S = DEFAULT_HEARTBEAT_TIMEOUT_MS / 1000;

/** Help for `chat` itself. */
export const MAIN_HELP = `chat: a chat room for everyone on the local network

Usage:
  chat serve [options]            start a chat room on this computer
  chat connect <host>[:port]      join a chat room
  chat --help | --version

Run "chat serve --help" or "chat connect --help" for their options.
People without chat can join with: nc <host> <port>  (or telnet)`;

/** Help for `chat serve`. */
export const SERVE_HELP = `Usage: chat serve [options]

Starts a chat room and prints the commands classmates can type to join.
Type at the console to chat as the host; /stop or Ctrl-C shuts the room down.

Options:
  --host ADDRESS      address to listen on (default 0.0.0.0: every network)
  --port PORT         port to listen on, 0 for any free port (default ${DEFAULT_PORT})
  --name NAME         your name in the room (default host)
  --password          ask for a room password (or take it from CHAT_PASSWORD);
                      newcomers must send /pass PASSWORD first
  --tls               encrypt, with a certificate made at start; prints its
                      fingerprint for chat connect --fingerprint
  --tls-cert FILE     encrypt with this certificate (PEM) ...
  --tls-key FILE      ... and its private key (PEM)
  -h, --help          show this help

Limits (0 turns a limit off):
  --max-clients N     most people connected at once (default ${DEFAULT_MAX_CLIENTS})
  --max-per-ip N      most connections from one address (default ${DEFAULT_MAX_PER_ADDRESS})
  --handshake-timeout SECONDS
                      time to join after connecting (default ${DEFAULT_HANDSHAKE_TIMEOUT_S})
  --heartbeat-timeout SECONDS
                      drop a chat client silent this long (default ${DEFAULT_HEARTBEAT_TIMEOUT_S})
  --flood-burst N     lines anyone may send at once (default ${DEFAULT_FLOOD.burst})
  --flood-rate N      lines per second after that (default ${DEFAULT_FLOOD.perSecond})
  --flood-disconnect N
                      refused lines in a row that disconnect the sender
                      (default ${DEFAULT_FLOOD.disconnectAfter})
  --max-line-bytes N  longest line a client may send (default ${MAX_LINE_BYTES})
  --queue-kib N       KiB waiting for a client before it is dropped as too
                      slow (default ${QUEUE_LIMIT_BYTES / 1024})
  --password-delay SECONDS
                      wait before refusing a wrong password (default ${
  WRONG_PASSWORD_DELAY_MS / 1000
})

Host commands at the console: /kick /ban /mute /unmute NAME, /topic TEXT.`;

/** Help for `chat connect`. */
export const CONNECT_HELP = `Usage: chat connect <host>[:port] [options]

Joins the chat room at <host>, e.g. chat connect 192.168.1.23

Options:
  --port PORT         port of the room (default ${DEFAULT_PORT})
  --name NAME         your name (default: your login name)
  --tls               encrypt; the server's certificate must be trusted
  --ca FILE           ... or signed by this certificate authority (PEM)
  --fingerprint SHA256
                      encrypt, accepting only the certificate with this
                      fingerprint (printed by chat serve --tls)
  -h, --help          show this help

A room with a password asks for it (or takes it from CHAT_PASSWORD).

In the chat: /help lists commands; /quit, stop, Ctrl-C or Ctrl-D leaves.`;

/**
 * Parses the arguments after the program name.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./cli.ts";
 * parseCommandLine(["connect", "10.0.0.7:5001"], {});
 * // { command: "connect", hostname: "10.0.0.7", port: 5001, ... }
 * ```
 *
 * @param env the login name sources, normally `USER` and `USERNAME`
 * @throws {UsageError} on anything it cannot make sense of
 */
export function parseCommandLine(
  args: readonly string[],
  env: { USER?: string; USERNAME?: string },
): Invocation {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return { command: "help", text: MAIN_HELP };
    case "-V":
    case "--version":
    case "version":
      return { command: "version" };
    case "serve":
      return parseServe(rest);
    case "connect":
      return parseConnect(rest, env);
    default:
      throw new UsageError(
        command.startsWith("-")
          ? `Unknown option "${command}". Run "chat --help" for usage.`
          : `Unknown command "${command}". Use "chat serve" or "chat connect <host>".`,
      );
  }
}

function parseServe(args: string[]): Invocation {
  const { values, positionals } = parse("serve", args, {
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
    "max-line-bytes": { type: "string" },
    "queue-kib": { type: "string" },
    "password-delay": { type: "string" },
    password: { type: "boolean" },
    tls: { type: "boolean" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { command: "help", text: SERVE_HELP };
  if (positionals.length > 0) {
    throw new UsageError(
      `"chat serve" takes no arguments, got "${
        positionals[0]
      }". Run "chat serve --help".`,
    );
  }
  const name = (values.name as string | undefined) ?? "host";
  checkName(name);
  const count = (option: string, fallback: number, min: number) =>
    parseCount(
      `--${option}`,
      values[option] as string | undefined,
      fallback,
      min,
    );
  const certFile = values["tls-cert"] as string | undefined;
  const keyFile = values["tls-key"] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      `--tls-cert and --tls-key go together: give the certificate and its key.`,
    );
  }
  return {
    command: "serve",
    hostname: (values.host as string | undefined) ?? "0.0.0.0",
    port: parsePort(values.port as string | undefined, DEFAULT_PORT, true),
    name,
    maxClients: count("max-clients", DEFAULT_MAX_CLIENTS, 1),
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
    maxLineBytes: Math.min(
      count("max-line-bytes", MAX_LINE_BYTES, 1),
      LONGEST_LINE_BYTES,
    ),
    queueLimitBytes: count("queue-kib", QUEUE_LIMIT_BYTES / 1024, 1) * 1024,
    wrongPasswordDelayMs:
      count("password-delay", WRONG_PASSWORD_DELAY_MS / 1000, 0) * 1000,
    askPassword: values.password === true,
    tls: certFile !== undefined && keyFile !== undefined
      ? { certFile, keyFile }
      : values.tls
      ? { selfSigned: true }
      : undefined,
  };
}

function parseConnect(
  args: string[],
  env: { USER?: string; USERNAME?: string },
): Invocation {
  const { values, positionals } = parse("connect", args, {
    port: { type: "string" },
    name: { type: "string" },
    tls: { type: "boolean" },
    ca: { type: "string" },
    fingerprint: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { command: "help", text: CONNECT_HELP };
  if (positionals.length === 0) {
    throw new UsageError(
      `Missing the server's address, e.g. "chat connect 192.168.1.23".`,
    );
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `"chat connect" takes one address, got ${positionals.length}: ${
        positionals.join(" ")
      }.`,
    );
  }
  const target = splitHostPort(positionals[0]);
  if (target.port !== undefined && values.port !== undefined) {
    throw new UsageError(
      `The port is given twice ("${positionals[0]}" and --port). Give it once.`,
    );
  }
  const port = target.port ??
    parsePort(values.port as string | undefined, DEFAULT_PORT, false);
  const explicitName = values.name as string | undefined;
  if (explicitName !== undefined) checkName(explicitName);
  return {
    command: "connect",
    hostname: target.hostname,
    port,
    name: explicitName ?? nameFromLogin(env.USER) ??
      nameFromLogin(env.USERNAME),
    nameIsExplicit: explicitName !== undefined,
    tls: connectTls(values),
  };
}

function connectTls(
  values: Record<string, string | boolean | undefined>,
): ConnectOptions["tls"] {
  const fingerprintText = values.fingerprint as string | undefined;
  const caFile = values.ca as string | undefined;
  if (fingerprintText !== undefined) {
    if (caFile !== undefined) {
      throw new UsageError(
        `Give either --fingerprint or --ca, not both: the fingerprint already names the one certificate to accept.`,
      );
    }
    const fingerprint = parseFingerprint(fingerprintText);
    if (!fingerprint) {
      throw new UsageError(
        `Bad fingerprint "${fingerprintText}": copy the 64 hexadecimal digits that "chat serve --tls" printed (colons optional).`,
      );
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
  "--max-line-bytes": "4096",
  "--queue-kib": "1024",
  "--password-delay": "1",
  "--tls-cert": "cert.pem",
  "--tls-key": "key.pem",
  "--ca": "ca.pem",
  "--fingerprint": "AB:CD:...",
};

type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string }
>;

function parse(command: string, args: string[], options: OptionSpec) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const option = /'(-[^']*)'/.exec(message)?.[1];
    const code = (error as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(
        `Unknown option "${
          option ?? message
        }" for "chat ${command}". Run "chat ${command} --help".`,
      );
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = /--[\w-]+/.exec(option ?? "")?.[0] ?? option ?? "?";
      if (/does not take an argument/.test(message)) {
        throw new UsageError(`Option "${name}" does not take a value.`);
      }
      if (/ambiguous/.test(message)) {
        throw new UsageError(
          `Option "${name}" got a value starting with "-": write it as ${name}=VALUE.`,
        );
      }
      throw new UsageError(
        `Option "${name}" needs a value, e.g. ${name} ${
          VALUE_EXAMPLES[name] ?? "VALUE"
        }.`,
      );
    }
    throw new UsageError(message.split("\n")[0]);
  }
}

function checkName(name: string): void {
  const problem = nameProblem(name);
  if (problem) {
    throw new UsageError(`Cannot use "${name}" as a name: ${problem}.`);
  }
}

function parsePort(
  text: string | undefined,
  fallback: number,
  allowZero: boolean,
): number {
  if (text === undefined) return fallback;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535) || (port === 0 && !allowZero)) {
    throw new UsageError(
      `Bad port "${text}": use a number from ${allowZero ? 0 : 1} to 65535.`,
    );
  }
  return port;
}

function parseCount(
  option: string,
  text: string | undefined,
  fallback: number,
  min: number,
): number {
  if (text === undefined) return fallback;
  const count = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(count >= min)) {
    throw new UsageError(
      `Bad value "${text}" for ${option}: use a whole number of ${min} or more.`,
    );
  }
  return count;
}

/**
 * Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./cli.ts";
 * splitHostPort("[::1]:5001"); // { hostname: "::1", port: 5001 }
 * ```
 */
export function splitHostPort(
  text: string,
): { hostname: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    return withPort(bracketed[1], bracketed[2], text);
  }
  const colons = text.split(":").length - 1;
  if (colons === 1) {
    const [hostname, port] = text.split(":");
    return withPort(hostname, port, text);
  }
  if (text === "" || /[\s/]/.test(text)) {
    throw new UsageError(
      `Bad address "${text}": use a host name or IP address, e.g. 192.168.1.23.`,
    );
  }
  return { hostname: text };
}

function withPort(
  hostname: string,
  port: string | undefined,
  text: string,
): { hostname: string; port?: number } {
  if (hostname === "" || /[\s/]/.test(hostname)) {
    throw new UsageError(
      `Bad address "${text}": use a host name or IP address, e.g. 192.168.1.23.`,
    );
  }
  return {
    hostname,
    port: port === undefined ? undefined : parsePort(port, DEFAULT_PORT, false),
  };
}
