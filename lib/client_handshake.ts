/**
 * How `chat connect` gets into a room: connect (plain, TLS pinned to a
 * fingerprint, or TLS verified), wait for the server's first line, ask for
 * the structured protocol with `/proto 1`, give the room password when the
 * server asks for one, and join under the requested name or as a guest.
 * Every step that fails ends with one {@linkcode ClientError} line in the
 * user's language.
 *
 * @module
 */

import { type Lang, LANGS, t } from "./i18n.ts";
import { type EventOf, PROTOCOL_VERSION, type ServerEvent } from "./events.ts";
import { errorText, isJsonLine, parseServerEvent } from "./client_events.ts";
import type { ServerLink } from "./client_link.ts";
import { sanitizeText } from "./protocol.ts";
import { NOTICE_PREFIX } from "./render_text.ts";
import { readSecret } from "./terminal.ts";
import {
  connectPinned,
  connectVerified,
  TlsConnectError,
  TlsSetupError,
} from "./tls.ts";
import { connectKnownHost, KnownHostChangedError } from "./known_hosts.ts";

/** Give up connecting after this long. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A chat server greets at once, and answers `/proto` at once; give up on a
 * silent one after this long.
 */
export const WELCOME_TIMEOUT_MS = 10_000;

/** Settings for `runClient`. */
export interface ClientOptions {
  hostname: string;
  port: number;
  /** Name to ask for with `/nick`, if any. */
  name?: string;
  /** True when the name came from `--name`: a refusal then ends the client. */
  nameIsExplicit?: boolean;
  /** Connect with TLS: pinned to a fingerprint, or verified (with a CA file). */
  tls?: { fingerprint: string } | { caFile?: string };
  /** Room password; asked for at the terminal when missing and needed. */
  password?: string;
  /** The language the person reads; English when missing. */
  lang?: Lang;
  /**
   * Connect again after the connection drops (default true); false is
   * `--no-reconnect`: say why and end with status 1.
   */
  reconnect?: boolean;
  /** `--quiet`: no bell when the person is mentioned. */
  quiet?: boolean;
  /** `--log FILE`: where the session's transcript is appended. */
  log?: string;
  /**
   * The first delay before reconnecting, in ms (default 1 s), for tests
   * only: `--reconnect-delay-ms`, not in the help.
   */
  reconnectDelayMs?: number;
}

/** A problem the person connecting can act on; printed as one line. */
export class ClientError extends Error {
  override name = "ClientError";
}

/**
 * Connecting again would fail the same way: the server is an older chat,
 * speaks another protocol version, or now wants a password this client
 * does not have. `chat connect` stops reconnecting after it.
 */
export class ServerMismatchError extends ClientError {
  override name = "ServerMismatchError";
}

/**
 * The server refused the room password as wrong. It has closed the
 * connection; at a terminal, `chat connect` connects again and asks again.
 */
export class WrongPasswordError extends ClientError {
  override name = "WrongPasswordError";
}

/**
 * Formats `host:port`, with brackets around IPv6 addresses.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./client_handshake.ts";
 * formatAddress("::1", 5000); // "[::1]:5000"
 * ```
 */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

/**
 * Opens the connection to the server; throws a {@linkcode ClientError}
 * saying why when it cannot.
 *
 * @example
 * ```ts
 * import { connectToServer } from "./client_handshake.ts";
 * const conn = await connectToServer({ hostname: "127.0.0.1", port: 5000 });
 * ```
 */
export async function connectToServer(
  options: ClientOptions,
): Promise<Deno.Conn> {
  const { hostname, port, tls } = options;
  try {
    if (tls && "fingerprint" in tls) {
      return await connectPinned({
        hostname,
        port,
        fingerprint: tls.fingerprint,
        timeoutMs: CONNECT_TIMEOUT_MS,
        lang: options.lang,
      });
    }
    // Issue 9: --tls alone trusts on first use (known_hosts.ts).
    if (tls && tls.caFile === undefined) {
      return await connectKnownHost({
        hostname,
        port,
        timeoutMs: CONNECT_TIMEOUT_MS,
        lang: options.lang,
      });
    }
    if (tls) {
      return await connectVerified({
        hostname,
        port,
        caFile: tls.caFile,
        timeoutMs: CONNECT_TIMEOUT_MS,
        lang: options.lang,
      });
    }
    const conn = await Deno.connect({
      hostname,
      port,
      transport: "tcp",
      signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
    });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    // Issue 9: a changed certificate is refused again at every try.
    if (error instanceof KnownHostChangedError) {
      throw new ServerMismatchError(error.message);
    }
    throw new ClientError(connectProblem(error, options));
  }
}

function connectProblem(error: unknown, options: ClientOptions): string {
  const { hostname, port } = options;
  const lang = options.lang ?? "en";
  const where = formatAddress(hostname, port);
  if (error instanceof TlsConnectError || error instanceof TlsSetupError) {
    return error.message;
  }
  const message = (error as Error).message ?? String(error);
  if (error instanceof Deno.errors.ConnectionRefused) {
    return t(lang, "client.cannot-reach.refused", { where, port });
  }
  if (error instanceof Deno.errors.NotFound || /lookup|resolv/i.test(message)) {
    return t(lang, "client.cannot-find-host", { host: hostname });
  }
  if (
    error instanceof Deno.errors.TimedOut ||
    (error as Error).name === "TimeoutError"
  ) {
    return t(lang, "client.cannot-reach.timeout", {
      where,
      seconds: CONNECT_TIMEOUT_MS / 1000,
    });
  }
  if (error instanceof Deno.errors.NetworkUnreachable) {
    return t(lang, "client.cannot-reach.unreachable", { where });
  }
  return t(lang, "client.cannot-reach.other", { where, message });
}

// The start of an error line from a plain-text server, in any language it
// may speak ("*** error: ", "*** erreur : ").
const PLAIN_ERROR_PREFIXES = LANGS.map((lang) =>
  NOTICE_PREFIX + t(lang, "error", { text: "" })
);

/** What follows the error prefix of a plain error line, if it is one. */
function plainError(line: string): string | undefined {
  const prefix = PLAIN_ERROR_PREFIXES.find((prefix) => line.startsWith(prefix));
  return prefix === undefined ? undefined : line.slice(prefix.length);
}

/**
 * From the server's first line to the structured protocol, password given:
 * reads the first line (any line shows a server is there), sends `/proto 1`,
 * skips the plain lines sent before the switch, and gives the password when
 * the `proto` event says one is needed. Throws a {@linkcode ClientError}
 * for a silent server, a refusal, an older server that does not speak the
 * protocol, a protocol version mismatch, or a refused password.
 *
 * @example
 * ```ts
 * import { ServerLink } from "./client_link.ts";
 * import { connectToServer, startProtocol } from "./client_handshake.ts";
 * const options = { hostname: "127.0.0.1", port: 5000, lang: "fr" as const };
 * const link = new ServerLink(await connectToServer(options));
 * await startProtocol(link, options);
 * ```
 */
export async function startProtocol(
  link: ServerLink,
  options: ClientOptions,
  canAsk = true,
): Promise<{ proto: EventOf<"proto">; password?: string }> {
  const lang = options.lang ?? "en";
  const where = formatAddress(options.hostname, options.port);
  const first = await within(
    link.next(),
    () =>
      t(lang, "client.silent", {
        where,
        port: options.port,
        seconds: WELCOME_TIMEOUT_MS / 1000,
      }) +
      (options.tls ? "" : t(lang, "client.silent.tls-hint")),
  );
  if (first === undefined) {
    throw new ClientError(t(lang, "client.closed.before-greeting", { where }));
  }
  const refusal = plainError(first);
  if (refusal !== undefined) {
    // Full, banned or too many connections: said at once, then closed.
    throw new ClientError(
      t(lang, "client.refused.connection", {
        where,
        reason: sanitizeText(refusal),
      }),
    );
  }
  await link.sendPlain(`/proto ${PROTOCOL_VERSION}`);
  const proto = await within(
    awaitProto(link, options),
    () =>
      t(lang, "client.no-proto-answer", {
        where,
        port: options.port,
        version: PROTOCOL_VERSION,
        seconds: WELCOME_TIMEOUT_MS / 1000,
      }),
  );
  link.speakStructured();
  const password = proto.password
    ? await givePassword(link, options, canAsk)
    : undefined;
  return { proto, password };
}

/** Waits for the `proto` event, reading past the plain lines before it. */
async function awaitProto(
  link: ServerLink,
  options: ClientOptions,
): Promise<EventOf<"proto">> {
  const lang = options.lang ?? "en";
  const where = formatAddress(options.hostname, options.port);
  while (true) {
    const line = await link.next();
    if (line === undefined) {
      throw new ClientError(t(lang, "client.closed.before-proto", { where }));
    }
    if (!isJsonLine(line)) {
      // Said before the switch, so skipped; but an error here is a server
      // that did not understand `/proto`, and has joined us as a guest.
      if (plainError(line) === undefined) continue;
      await link.sendPlain("/quit");
      throw new ServerMismatchError(t(lang, "client.older-server", { where }));
    }
    const event = parseServerEvent(line);
    if (event?.type === "proto") return event;
    if (event?.type === "error" && event.code === "protocol-version") {
      const { supported } = (event.args ?? {}) as { supported?: unknown };
      throw new ServerMismatchError(
        t(lang, "client.protocol-version", {
          where,
          theirs: Array.isArray(supported) ? supported.join(", ") : "?",
          ours: PROTOCOL_VERSION,
        }),
      );
    }
  }
}

/**
 * Sends the room password (asked for at the terminal when missing and
 * `canAsk`); resolves with it once accepted, throws when it is refused.
 */
async function givePassword(
  link: ServerLink,
  options: ClientOptions,
  canAsk: boolean,
): Promise<string> {
  const lang = options.lang ?? "en";
  const where = formatAddress(options.hostname, options.port);
  const password = options.password ??
    (canAsk
      ? await readSecret(t(lang, "client.password-prompt", { where }))
      : undefined);
  if (password === undefined) {
    throw new ServerMismatchError(t(lang, "client.password-needed", { where }));
  }
  await link.send(`/pass ${password}`);
  while (true) {
    const line = await link.next();
    if (line === undefined) {
      throw new ClientError(
        t(lang, "client.closed.after-password", { where }),
      );
    }
    const event = parseServerEvent(line);
    if (event?.type === "notice" && event.code === "password-accepted") {
      return password;
    }
    if (event?.type === "error") {
      const message = t(lang, "client.refused.password", {
        where,
        reason: errorText(event, lang),
      });
      throw event.code === "wrong-password"
        ? new WrongPasswordError(message)
        : new ClientError(message);
    }
  }
}

// Refusals of a name; an implicit name is then replaced by a guest name.
const NAME_REFUSALS = new Set(["name-taken", "name-reserved", "name-invalid"]);

/**
 * What the person wants after the default name was refused: a name to try,
 * `""` to join as a guest, or `undefined` to leave.
 */
export type NameAnswer = string | undefined;

/**
 * Joins the room: `/nick NAME`, or `/join` as a guest when there is no name.
 * Every event until the welcome, and the welcome, goes to `receive` (the
 * room as watched meanwhile). When an implicit name (from the login) is
 * refused, `askName` (at a terminal) is asked for another, again after each
 * refusal; without it (piped input) the client joins as a guest. Resolves
 * with true once joined, false when the server closed the connection first
 * (or the person left instead of choosing a name); throws a
 * {@linkcode ClientError} when a name given with `--name` is refused.
 *
 * @example
 * ```ts
 * import { ServerLink } from "./client_link.ts";
 * import { connectToServer, joinRoom, startProtocol } from "./client_handshake.ts";
 * const options = { hostname: "127.0.0.1", port: 5000, name: "alice" };
 * const link = new ServerLink(await connectToServer(options));
 * await startProtocol(link, options);
 * await joinRoom(link, options, (event) => console.log(event.type));
 * ```
 */
export async function joinRoom(
  link: ServerLink,
  options: ClientOptions,
  receive: (event: ServerEvent) => void,
  askName?: () => Promise<NameAnswer>,
): Promise<boolean> {
  const lang = options.lang ?? "en";
  const name = options.name === undefined
    ? undefined
    : options.name.normalize("NFC");
  await link.send(name === undefined ? "/join" : `/nick ${name}`);
  while (true) {
    const line = await link.next();
    if (line === undefined) return false;
    const event = isJsonLine(line) ? parseServerEvent(line) : undefined;
    if (event === undefined) continue;
    if (event.type === "error" && NAME_REFUSALS.has(event.code)) {
      if (options.nameIsExplicit) {
        await link.send("/quit");
        throw new ClientError(
          t(lang, "client.refused.name", {
            name: name ?? "",
            reason: errorText(event, lang),
          }),
        );
      }
      receive(event);
      const answer = askName ? (await askName())?.trim() : "";
      if (answer === undefined) {
        await link.send("/quit");
      } else {
        await link.send(answer === "" ? "/join" : `/nick ${answer}`);
      }
      continue;
    }
    receive(event);
    if (event.type === "welcome") return true;
  }
}

/**
 * Waits for `promise`; throws a {@linkcode ClientError} with the message
 * `why()` after {@linkcode WELCOME_TIMEOUT_MS}.
 */
async function within<T>(promise: Promise<T>, why: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ClientError(why())),
      WELCOME_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, silent]);
  } finally {
    clearTimeout(timer);
  }
}
