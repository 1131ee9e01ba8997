/**
 * The command line: what `chat serve` and `chat connect` accept, their help
 * texts, and one-line usage errors. Parsing only; nothing is started here.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { nameFromLogin, nameProblem } from "./protocol.ts";

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
  | {
    command: "serve";
    hostname: string;
    port: number;
    name: string;
    maxClients: number;
  }
  | {
    command: "connect";
    hostname: string;
    port: number;
    name?: string;
    nameIsExplicit: boolean;
  };

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
  --max-clients N     most people connected at once (default ${DEFAULT_MAX_CLIENTS})
  -h, --help          show this help`;

/** Help for `chat connect`. */
export const CONNECT_HELP = `Usage: chat connect <host>[:port] [options]

Joins the chat room at <host>, e.g. chat connect 192.168.1.23

Options:
  --port PORT         port of the room (default ${DEFAULT_PORT})
  --name NAME         your name (default: your login name)
  -h, --help          show this help

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
  return {
    command: "serve",
    hostname: (values.host as string | undefined) ?? "0.0.0.0",
    port: parsePort(values.port as string | undefined, DEFAULT_PORT, true),
    name,
    maxClients: parseCount(
      "--max-clients",
      values["max-clients"] as string | undefined,
      DEFAULT_MAX_CLIENTS,
    ),
  };
}

function parseConnect(
  args: string[],
  env: { USER?: string; USERNAME?: string },
): Invocation {
  const { values, positionals } = parse("connect", args, {
    port: { type: "string" },
    name: { type: "string" },
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
  };
}

const VALUE_EXAMPLES: Record<string, string> = {
  "--host": "0.0.0.0",
  "--port": String(DEFAULT_PORT),
  "--name": "alice",
  "--max-clients": "30",
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
): number {
  if (text === undefined) return fallback;
  const count = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(count >= 1)) {
    throw new UsageError(
      `Bad value "${text}" for ${option}: use a whole number of 1 or more.`,
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
