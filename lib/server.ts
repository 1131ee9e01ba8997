/**
 * The network side of `chat serve`: accepts TCP connections, turns their
 * bytes into lines for the {@linkcode Room}, and writes the room's lines back
 * through one bounded outgoing queue per connection.
 *
 * @module
 */

import denoConfig from "../deno.json" with { type: "json" };
import type { ChatSocket } from "./chat_socket.ts";
import {
  CLOSE_GRACE_MS,
  Connection,
  type ConnectionSettings,
} from "./connection.ts";
import type { EventBody } from "./events.ts";
import { type Lang, t } from "./i18n.ts";
import { Renderings } from "./outgoing.ts";
import { FlowControl } from "./outgoing_queue.ts";
import { MAX_LINE_BYTES, sanitizeText } from "./protocol.ts";
import { DEFAULT_PASSWORD_LIMITS } from "./password_guard.ts";
import { type FloodLimits, Room } from "./room.ts";
import { serverContext, TlsServerConn } from "./tls_server.ts"; // issue 14 item 1
import { Transcript } from "./transcript.ts";
import { DEFAULT_BLOCK_BYTES, DEFAULT_BLOCK_LINES } from "./code_block.ts"; // issue 12
import {
  DEFAULT_FILE_MAX_BYTES,
  DEFAULT_FILES_MAX_BYTES,
  type FileLimits,
} from "./file_store.ts"; // issue 12
import { FileSharing } from "./file_transfer.ts"; // issue 12

export { IDLE_FLUSH_MS } from "./line_reader.ts";
export { BACKLOG_BYTES } from "./outgoing_queue.ts";

/** Bytes a connection may have waiting to be written before it is dropped. */
export const QUEUE_LIMIT_BYTES = 1024 * 1024;

/** How long shutdown waits for queued lines to reach clients. */
export const SHUTDOWN_GRACE_MS = CLOSE_GRACE_MS;

/** Connections from one address at once, unless `--max-per-ip` says otherwise. */
export const DEFAULT_MAX_PER_ADDRESS = 8;

/**
 * In a room with a password, a connection must give it within this long
 * (`--handshake-timeout`).
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * A client that sends `/ping` heartbeats is dropped after this long without
 * a byte from it (`--heartbeat-timeout`): its laptop went away.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;

/**
 * A peer no write to which has finished for this long has stopped reading:
 * it is dropped, so it holds a busy room for this long at most.
 */
export const STALLED_WRITE_MS = 5_000;

/**
 * When the server is full, a newcomer takes the seat of the connection that
 * has not joined and has sent nothing for longest, if that is at least this
 * long (issue 14).
 */
export const DEFAULT_DISPLACE_AFTER_MS = 10_000;

/** How often deadlines are checked. */
const SWEEP_INTERVAL_MS = 1000;

/** Different room errors logged at most; past this, no more are. */
const MAX_BUGS_LOGGED = 100;

/** Settings for {@linkcode ChatServer.listen}. */
export interface ServerOptions {
  /** Address to listen on, e.g. `0.0.0.0`. */
  hostname: string;
  /** Port to listen on; 0 lets the system pick a free one. */
  port: number;
  /** Most network clients connected at once; 0 for no limit. */
  maxClients: number;
  /** Most connections from one address at once; 0 for no limit. */
  maxPerAddress?: number;
  /** Time to join after connecting, in ms; 0 for no limit. */
  handshakeTimeoutMs?: number;
  /** Silence after which a heartbeat client is dropped, in ms; 0 never. */
  heartbeatTimeoutMs?: number;
  /** Outgoing queue limit per connection, in bytes. */
  queueLimitBytes?: number;
  /** Longest line a client may send, in bytes. */
  maxLineBytes?: number;
  /** Wait before a wrong password is refused, in ms. */
  wrongPasswordDelayMs?: number;
  /**
   * Wrong passwords an address may give before it is locked out (default
   * 5); 0 turns lock-outs and the room-wide cap off.
   */
  passwordTries?: number;
  /** Password newcomers must send with `/pass`. */
  password?: string;
  /** Flood control for clients. */
  flood?: FloodLimits;
  /** Lines per second the whole room accepts (`--room-rate`); 0: no ceiling. */
  roomRate?: number;
  /**
   * When full, a watcher silent this long (ms) makes way for a newcomer
   * (default {@linkcode DEFAULT_DISPLACE_AFTER_MS}).
   */
  displaceAfterMs?: number;
  /** Serve TLS with this certificate and key (PEM) instead of plain TCP. */
  tls?: { cert: string; key: string };
  /** Language of plain-text clients and of errors (default English). */
  lang?: Lang;
  /**
   * Earlier public lines kept for newcomers (`--history`, default 50); 0
   * keeps none.
   */
  historyLines?: number;
  /**
   * How long a dropped member's name is kept for it, in ms (default 60 s;
   * `--reserve-seconds`, for tests).
   */
  reserveMs?: number;
  /**
   * Appends the room's public lines to this file (`--log FILE`), one per
   * line with its time, in the server's language.
   */
  transcriptPath?: string;
  /**
   * Where a bug in the room is reported: one line, without `chat: `
   * (default: `chat: LINE` on stderr).
   */
  logBug?: (line: string) => void;
  /** Issue 12: most lines in a code block (`--block-lines`, default 200). */
  blockLines?: number;
  /** Issue 12: most bytes in a code block (`--block-bytes`, default 16 KiB). */
  blockBytes?: number;
  /**
   * Issue 12: limits of shared files (default 2 MiB each, 64 MiB in all);
   * `"off"` turns sharing off (`--no-files`).
   */
  files?: FileLimits | "off";
}

/** A problem the person starting the server can act on. */
export class ServerError extends Error {
  override name = "ServerError";
}

/**
 * A running chat server.
 *
 * @example Start on a free port, then stop
 * ```ts
 * import { ChatServer } from "./server.ts";
 * const server = ChatServer.listen({ hostname: "127.0.0.1", port: 0, maxClients: 10 });
 * console.log(server.port);
 * await server.shutdown();
 * ```
 */
export class ChatServer {
  readonly room: Room;
  /** Issue 12: the room's shared files, kept in memory until the stop. */
  readonly files: FileSharing;
  readonly #listener: Deno.Listener<Deno.Conn, Deno.NetAddr>;
  readonly #options: ServerOptions;
  readonly #connections = new Set<Connection>();
  readonly #perAddress = new Map<string, number>();
  /** Connections told to make way for a newcomer, until their socket closes. */
  readonly #displaced = new Set<Connection>();
  // Connections from one address count once toward pausing senders.
  readonly #flow = new FlowControl(
    () => this.#connections.size,
    () => this.#perAddress.size,
  );
  readonly #renderings = new Renderings();
  readonly #lang: Lang;
  readonly #connectionSettings: ConnectionSettings;
  readonly #stopped: Promise<void>;
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  /** Room errors already logged, by their one-line message. */
  readonly #bugsLogged = new Set<string>();
  #resolveStopped!: () => void;
  #stopping = false;
  /** With `--tls`: the certificate, for each connection's handshake. */
  #tlsContext: ReturnType<typeof serverContext> | undefined;
  /** With `--log`: where the room's public lines are appended. */
  readonly #transcript: Transcript | undefined;

  private constructor(
    listener: Deno.Listener<Deno.Conn, Deno.NetAddr>,
    options: ServerOptions,
    transcript: Transcript | undefined,
  ) {
    this.#listener = listener;
    this.#options = options;
    this.#lang = options.lang ?? "en";
    this.#transcript = transcript;
    this.room = new Room({
      historyLines: options.historyLines,
      reserveMs: options.reserveMs,
      onBroadcast: transcript && ((event) => transcript.write(event)),
      onStop: () => void this.shutdown(),
      blocks: { // issue 12
        maxLines: options.blockLines ?? DEFAULT_BLOCK_LINES,
        maxBytes: options.blockBytes ?? DEFAULT_BLOCK_BYTES,
      },
      password: options.password,
      flood: options.flood,
      roomRate: options.roomRate,
      wrongPasswordDelayMs: options.wrongPasswordDelayMs,
      passwordLimits: {
        ...DEFAULT_PASSWORD_LIMITS,
        triesPerAddress: options.passwordTries ??
          DEFAULT_PASSWORD_LIMITS.triesPerAddress,
      },
    });
    this.files = new FileSharing(
      this.room,
      options.files === "off" ? undefined : options.files ?? {
        maxFileBytes: DEFAULT_FILE_MAX_BYTES,
        maxTotalBytes: DEFAULT_FILES_MAX_BYTES,
      },
    );
    this.#connectionSettings = {
      files: this.files,
      room: this.room,
      renderings: this.#renderings,
      textRendering: this.#renderings.text(this.#lang),
      queueLimitBytes: options.queueLimitBytes ?? QUEUE_LIMIT_BYTES,
      maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
      flow: this.#flow,
      serverName: `chat ${denoConfig.version}`,
      run: newRunId(),
      reportBug: (error, address) => this.reportBug(error, address),
    };
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.#acceptLoop();
  }

  /** Binds the port and starts accepting. Throws {@linkcode ServerError}. */
  static listen(options: ServerOptions): ChatServer {
    // Before the port: a transcript that cannot be written stops the start.
    let transcript: Transcript | undefined;
    if (options.transcriptPath !== undefined) {
      try {
        transcript = Transcript.open(
          options.transcriptPath,
          options.lang ?? "en",
        );
      } catch (error) {
        throw new ServerError((error as Error).message);
      }
    }
    try {
      const where = {
        hostname: options.hostname,
        port: options.port,
        transport: "tcp" as const,
      };
      // Issue 14 item 1 (begin): TLS runs over plain TCP sockets that chat
      // owns (lib/tls_server.ts), so that any connection can be closed. The
      // certificate and key are checked as Deno.listenTls checks them.
      if (options.tls) {
        Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...options.tls })
          .close();
      }
      const listener = Deno.listen(where);
      const server = new ChatServer(listener, options, transcript);
      if (options.tls) {
        server.#tlsContext = serverContext(options.tls.cert, options.tls.key);
      }
      return server;
      // Issue 14 item 1 (end).
    } catch (error) {
      transcript?.close();
      throw new ServerError(listenProblem(error, options));
    }
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Resolves once the server has shut down. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Reports an exception thrown by the room: a bug in chat, not something a
   * client did. One line in the server's language, with the error's
   * message; each different message is logged once, so a client that
   * repeats what triggers it cannot flood the log. `address` is the
   * client's, or none for the host's console.
   */
  reportBug(error: unknown, address?: string): void {
    const message = oneLineMessage(error);
    if (
      this.#bugsLogged.has(message) || this.#bugsLogged.size >= MAX_BUGS_LOGGED
    ) return;
    this.#bugsLogged.add(message);
    const line = address === undefined
      ? t(this.#lang, "server.bug.console", { message })
      : t(this.#lang, "server.bug", { address, message });
    const log = this.#options.logBug ??
      ((text: string) => console.error(`chat: ${text}`));
    log(line);
  }

  /**
   * Tells everyone the server is shutting down, gives queued lines a moment
   * to reach them, then closes every socket. Safe to call more than once.
   */
  async shutdown(): Promise<void> {
    if (this.#stopping) return this.#stopped;
    this.#stopping = true;
    clearInterval(this.#sweepTimer);
    this.files.clear(); // issue 12: forgotten at the stop
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    try {
      this.room.broadcast({ type: "shutdown" });
    } catch (error) {
      this.reportBug(error);
    }
    const drained = [...this.#connections].map((connection) =>
      connection.closeGracefully()
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(drained),
      new Promise((resolve) => timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)),
    ]);
    clearTimeout(timer);
    for (const connection of this.#connections) connection.abort();
    this.#transcript?.close();
    this.#resolveStopped();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#stopping) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors or a connection reset before accept:
        // wait a little rather than spin, and keep serving.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      // Issue 14 item 1: the TLS handshake has its deadline in every room
      // (--handshake-timeout, or its default when 0), and the socket is
      // closed at it however far the handshake got.
      if (this.#tlsContext) {
        conn = new TlsServerConn(
          conn as Deno.TcpConn,
          this.#tlsContext,
          this.#options.handshakeTimeoutMs || DEFAULT_HANDSHAKE_TIMEOUT_MS,
        ) as unknown as Deno.Conn;
      }
      this.#admit(conn, (conn.remoteAddr as Deno.NetAddr).hostname);
    }
  }

  /**
   * Issue 11: a browser's WebSocket (`websocket_conn.ts`) joins as one more
   * connection, under the same limits, bans and rules as a TCP one.
   */
  admit(conn: ChatSocket, address: string): void {
    if (this.#stopping) {
      try {
        conn.close();
      } catch { /* already closed */ }
      return;
    }
    this.#admit(conn, address);
  }

  /** Takes a new connection into the room, or refuses it with one line. */
  #admit(conn: ChatSocket, address: string): void {
    const fromAddress = this.#perAddress.get(address) ?? 0;
    const maxPerAddress = this.#options.maxPerAddress ??
      DEFAULT_MAX_PER_ADDRESS;
    if (this.room.isBanned(address)) {
      this.#refuse(conn, { type: "error", code: "banned" });
      return;
    }
    const maxClients = this.#options.maxClients;
    // Issue 14 item 5 (begin): a full room makes way for a newcomer.
    if (
      maxClients > 0 &&
      this.#connections.size - this.#displaced.size >= maxClients &&
      !((maxPerAddress <= 0 || fromAddress < maxPerAddress) &&
        this.#displaceSilentWatcher())
    ) {
      // Issue 14 item 5 (end).
      this.#refuse(conn, {
        type: "error",
        code: "full",
        args: { max: maxClients },
      });
      return;
    }
    if (maxPerAddress > 0 && fromAddress >= maxPerAddress) {
      this.#refuse(conn, {
        type: "error",
        code: "too-many-connections",
        args: { limit: maxPerAddress },
      });
      return;
    }
    this.#perAddress.set(address, fromAddress + 1);
    let connection: Connection;
    try {
      connection = new Connection(
        conn,
        address,
        this.#connectionSettings,
        () => {
          this.#connections.delete(connection);
          this.#displaced.delete(connection); // issue 14 item 5
          const left = (this.#perAddress.get(address) ?? 1) - 1;
          if (left > 0) this.#perAddress.set(address, left);
          else this.#perAddress.delete(address);
        },
      );
    } catch (error) {
      // The room could not take it in (a bug): it has been closed.
      this.reportBug(error, address);
      if (fromAddress > 0) this.#perAddress.set(address, fromAddress);
      else this.#perAddress.delete(address);
      return;
    }
    this.#connections.add(connection);
  }

  /**
   * Issue 14 item 5: the server is full; the connection that has not joined
   * and has been silent longest (`Room.longestSilentWaiting`) is told why
   * and closed, and stops counting toward `--max-clients` at once. False
   * when there is none to displace.
   */
  #displaceSilentWatcher(): boolean {
    const member = this.room.longestSilentWaiting(
      this.#options.displaceAfterMs ?? DEFAULT_DISPLACE_AFTER_MS,
    );
    if (!member) return false;
    for (const connection of this.#connections) {
      if (connection.member !== member || this.#displaced.has(connection)) {
        continue;
      }
      this.#displaced.add(connection);
      this.room.remove(member, "room-full");
      return true;
    }
    return false;
  }

  /**
   * Refuses a connection with one line in the server's language (it has not
   * asked for anything else yet), then closes it.
   */
  #refuse(conn: ChatSocket, body: EventBody): void {
    const event = this.room.eventFor(body);
    void refuse(conn, event.bytesFor(this.#renderings.text(this.#lang)));
  }

  /** Closes connections that missed the password deadline or their heartbeat. */
  #sweep(): void {
    const now = performance.now();
    const handshakeMs = this.#options.handshakeTimeoutMs ??
      DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const heartbeatMs = this.#options.heartbeatTimeoutMs ??
      DEFAULT_HEARTBEAT_TIMEOUT_MS;
    for (const connection of this.#connections) {
      try {
        this.#sweepOne(connection, now, handshakeMs, heartbeatMs);
      } catch (error) {
        this.reportBug(error, connection.address);
      }
    }
  }

  /** One connection's deadlines: the password, its heartbeat, its writes. */
  #sweepOne(
    connection: Connection,
    now: number,
    handshakeMs: number,
    heartbeatMs: number,
  ): void {
    // Watchers have no deadline: only a room's password has one.
    if (
      handshakeMs > 0 && connection.member.waiting &&
      !connection.member.watching &&
      now - connection.connectedAt > handshakeMs
    ) {
      this.room.tellError(connection.member, {
        code: "password-timeout",
        args: { seconds: Math.round(handshakeMs / 1000) },
      });
      this.room.leave(connection.member);
      connection.close();
    } else if (
      heartbeatMs > 0 && connection.sendsHeartbeats &&
      now - connection.lastHeardAt > heartbeatMs
    ) {
      this.room.remove(connection.member, "timed-out");
    } else if (connection.writeStalled(SWEEP_INTERVAL_MS, STALLED_WRITE_MS)) {
      connection.dropAsTooSlow();
    }
  }
}

function listenProblem(error: unknown, options: ServerOptions): string {
  const lang = options.lang ?? "en";
  const where = `${options.hostname}:${options.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return t(lang, "listen.in-use", {
      port: options.port,
      next: options.port + 1,
    });
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return t(lang, "listen.not-local", { host: options.hostname });
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return t(lang, "listen.denied", { where });
  }
  const message = (error as Error).message ?? String(error);
  if (options.tls && /KeyMismatch|not be consistent/i.test(message)) {
    return t(lang, "listen.key-mismatch");
  }
  if (options.tls && /cert|key|pem/i.test(message)) {
    return t(lang, "listen.bad-certificate", { message });
  }
  return t(lang, "listen.other", { where, message });
}

/**
 * An error as one line of at most 300 characters: its name and message,
 * without a stack, line breaks or control characters.
 */
function oneLineMessage(error: unknown): string {
  const text = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  const line = sanitizeText(text.replace(/\s*[\r\n]+\s*/g, " ")).trim();
  return line.length > 300 ? line.slice(0, 299) + "…" : line;
}

/** Sends one line to a connection we will not serve, then closes it. */
async function refuse(conn: ChatSocket, bytes: Uint8Array): Promise<void> {
  // Issue 14 item 1: the farewell never waits longer than the close grace
  // period (a TLS one waits for the handshake; a peer may never read).
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      conn.write(bytes),
      new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
    ]);
  } catch { /* it is going away anyway */ }
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** 8 random bytes as 16 hexadecimal digits: this server run's id. */
function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
