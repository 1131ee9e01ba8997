/**
 * `chat connect`: gets into the room (`client_handshake.ts`), then runs the
 * live session: shows the room's events in the person's language, sends
 * what they type, sends heartbeats, and decides how the session ends.
 *
 * @module
 */

import {
  type ClientOptions,
  connectToServer,
  formatAddress,
  joinRoom,
  startProtocol,
} from "./client_handshake.ts";
import { parseServerEvent } from "./client_events.ts";
import { ServerLink } from "./client_link.ts";
import type { ServerEvent } from "./events.ts";
import { type Lang, t } from "./i18n.ts";
import { type LineConsole, openConsole } from "./terminal.ts";

export {
  ClientError,
  type ClientOptions,
  CONNECT_TIMEOUT_MS,
  formatAddress,
  WELCOME_TIMEOUT_MS,
} from "./client_handshake.ts";

/** After sending `/quit`, wait this long for the server to close. */
export const QUIT_GRACE_MS = 5_000;

/** The client sends a heartbeat this often, so the server knows it is there. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

/** A server that sends nothing for this long (not even a pong) is gone. */
export const SERVER_SILENCE_MS = 45_000;

/**
 * Connects to a chat server and runs the chat until it ends. Resolves with
 * the exit status: 0 when the person quit, 1 when the server went away.
 * Throws `ClientError` when it cannot connect or get in (silent server,
 * refusal, older server, refused password or `--name`).
 *
 * @example
 * ```ts
 * import { runClient } from "./client.ts";
 * const status = await runClient({ hostname: "127.0.0.1", port: 5000, lang: "fr" });
 * ```
 */
export async function runClient(options: ClientOptions): Promise<number> {
  let session: ClientSession | undefined;
  // Ctrl-C arrives as a signal when not at a terminal, or from `kill`.
  const onInterrupt = () => session ? session.quit() : Deno.exit(0);
  Deno.addSignalListener("SIGINT", onInterrupt);
  let link: ServerLink | undefined;
  try {
    link = new ServerLink(await connectToServer(options));
    await startProtocol(link, options);
    session = new ClientSession(link, options);
    return await session.run();
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    session?.dispose();
    link?.close();
  }
}

/**
 * The live session, from joining to the end: events in, typed lines out,
 * heartbeats, and the exit status.
 */
class ClientSession {
  readonly #link: ServerLink;
  readonly #options: ClientOptions;
  readonly #lang: Lang;
  readonly #where: string;
  #console: LineConsole | undefined;
  #ownName = "";
  #quitting = false;
  #serverShutDown = false;
  #serverSilent = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Settles once joined; typed lines wait for it. */
  readonly #ready: Promise<void>;
  #markReady!: () => void;

  constructor(link: ServerLink, options: ClientOptions) {
    this.#link = link;
    this.#options = options;
    this.#lang = options.lang ?? "en";
    this.#where = formatAddress(options.hostname, options.port);
    this.#ready = new Promise((resolve) => this.#markReady = resolve);
  }

  async run(): Promise<number> {
    // Open before joining, so that lines typed meanwhile wait their turn.
    this.#console = openConsole({
      onLine: async (line) => {
        await this.#ready;
        await this.#onTyped(line);
      },
      onEnd: () => this.quit(),
      onInterrupt: () => this.quit(),
      ownName: () => this.#ownName,
      lang: this.#lang,
    });
    const joined = await joinRoom(
      this.#link,
      this.#options,
      (event) => this.#receive(event),
    );
    if (!joined) return this.#serverGone();
    this.#startHeartbeat();
    this.#markReady();
    return await this.#relay();
  }

  dispose(): void {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    this.#link.close();
  }

  /**
   * Pings the server now and then, so that it can tell this client is still
   * there, and gives up on a server that has gone silent.
   */
  #startHeartbeat(): void {
    void this.#link.ping();
    this.#heartbeat = setInterval(() => {
      if (performance.now() - this.#link.lastHeardAt > SERVER_SILENCE_MS) {
        this.#serverSilent = true;
        this.dispose();
        return;
      }
      void this.#link.ping();
    }, HEARTBEAT_INTERVAL_MS);
  }

  /** Shows the server's events until it closes the connection. */
  async #relay(): Promise<number> {
    while (true) {
      const line = await this.#link.next();
      if (line === undefined) break;
      // Unknown types (a newer server) and malformed lines are skipped.
      const event = parseServerEvent(line);
      if (event) this.#receive(event);
    }
    return this.#serverGone();
  }

  /** One event from the server: what it changes, then on the screen. */
  #receive(event: ServerEvent): void {
    switch (event.type) {
      case "pong":
      case "proto":
        return;
      case "welcome":
        this.#ownName = event.name;
        break;
      case "renamed":
        if (event.from.toLowerCase() === this.#ownName.toLowerCase()) {
          this.#ownName = event.to;
        }
        break;
      case "shutdown":
        this.#serverShutDown = true;
        break;
    }
    this.#console?.show(event);
  }

  #serverGone(): number {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    if (this.#quitting && !this.#link.writeFailed) return 0;
    const why = this.#serverShutDown
      ? t(this.#lang, "client.why.shutdown")
      : this.#serverSilent
      ? t(this.#lang, "client.why.silent", {
        seconds: SERVER_SILENCE_MS / 1000,
      })
      : t(this.#lang, "client.why.closed");
    console.error(
      t(this.#lang, "client.disconnected", { where: this.#where, why }),
    );
    return 1;
  }

  async #onTyped(line: string): Promise<void> {
    const command = line.trim().toLowerCase();
    if (command === "/quit" || command === "stop") this.#quitting = true;
    await this.#link.send(line);
  }

  /** Sends `/quit` after everything typed so far, then waits for the close. */
  quit(): void {
    if (this.#quitting) return;
    this.#quitting = true;
    void this.#ready.then(() => this.#link.send("/quit"));
    // A server that never closes must not keep us waiting forever.
    setTimeout(() => this.dispose(), QUIT_GRACE_MS);
  }
}
