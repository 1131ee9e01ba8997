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
  type NameAnswer,
  startProtocol,
  WrongPasswordError,
} from "./client_handshake.ts";
import { parseServerEvent } from "./client_events.ts";
import { ServerLink } from "./client_link.ts";
import type { ServerEvent } from "./events.ts";
import { type Lang, t } from "./i18n.ts";
import { nameKey } from "./protocol.ts";
import { NOTICE_PREFIX } from "./render_text.ts";
import { type LineConsole, openConsole } from "./terminal.ts";

export {
  ClientError,
  type ClientOptions,
  CONNECT_TIMEOUT_MS,
  formatAddress,
  WELCOME_TIMEOUT_MS,
  WrongPasswordError,
} from "./client_handshake.ts";

/** After sending `/quit`, wait this long for the server to close. */
export const QUIT_GRACE_MS = 5_000;

/** The client sends a heartbeat this often, so the server knows it is there. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

/** A server that sends nothing for this long (not even a pong) is gone. */
export const SERVER_SILENCE_MS = 45_000;

/** At a terminal, the room password may be typed this many times. */
export const PASSWORD_TRIES = 3;

/** True when the person types at a terminal and reads one. */
function atTerminal(): boolean {
  return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
}

/**
 * Connects to a chat server and runs the chat until it ends. Resolves with
 * the exit status: 0 when the person quit (the server said goodbye), 1 when
 * the server went away. Throws `ClientError` when it cannot connect or get
 * in (silent server, refusal, older server, refused password or `--name`).
 * At a terminal, a wrong room password is asked for again, up to
 * {@linkcode PASSWORD_TRIES} tries in all.
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
    let password = options.password;
    for (let attempt = 1;; attempt++) {
      link = new ServerLink(await connectToServer(options));
      try {
        await startProtocol(link, { ...options, password });
        break;
      } catch (error) {
        // The server closes the connection after a wrong password: connect
        // again and ask again.
        const retry = error instanceof WrongPasswordError &&
          attempt < PASSWORD_TRIES && Deno.stdin.isTerminal();
        if (!retry) throw error;
        link.close();
        console.error(
          t(options.lang ?? "en", "client.password-retry", {
            attempt: attempt + 1,
            max: PASSWORD_TRIES,
          }),
        );
        password = undefined;
      }
    }
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
  /**
   * Events received before the console opens, shown when it does: a name
   * given with `--name` that is refused then ends the program with one
   * line, and nothing else on the screen.
   */
  #unshown: ServerEvent[] = [];
  #ownName = "";
  /** The person asked to leave (Ctrl-C, Ctrl-D, end of input). */
  #quitting = false;
  /** The server said goodbye: the person left, whatever they typed. */
  #saidBye = false;
  #serverShutDown = false;
  #serverSilent = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /**
   * Since when the server has been read again after waiting for stdout to
   * be read; time spent waiting is not the server's silence.
   */
  #readingSince = performance.now();
  #waitingForConsole = false;
  /** While a name is asked for, takes the next typed line. */
  #answerName: ((answer: NameAnswer) => void) | undefined;
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
    // Lines typed while joining wait, unread, until the console opens.
    const joined = await joinRoom(
      this.#link,
      this.#options,
      (event) => this.#receive(event),
      atTerminal() ? () => this.#askName() : undefined,
    );
    if (!joined) {
      // Why the server closed, if it said so before.
      if (this.#unshown.length > 0) this.#openConsole();
      return await this.#serverGone();
    }
    this.#openConsole();
    this.#startHeartbeat();
    this.#markReady();
    return await this.#relay();
  }

  dispose(): void {
    clearInterval(this.#heartbeat);
    this.#answerName?.(undefined);
    this.#console?.close();
    this.#link.close();
  }

  /** Opens the console, once, and shows the events that waited for it. */
  #openConsole(): LineConsole {
    if (this.#console) return this.#console;
    const screen = openConsole({
      onLine: async (line) => {
        const answer = this.#answerName;
        if (answer) {
          this.#answerName = undefined;
          return answer(line);
        }
        await this.#ready;
        await this.#link.send(line);
      },
      onEnd: () => this.quit(),
      onInterrupt: () => this.quit(),
      ownName: () => this.#ownName,
      lang: this.#lang,
    });
    this.#console = screen;
    for (const event of this.#unshown) screen.show(event);
    this.#unshown = [];
    return screen;
  }

  /**
   * At a terminal, after the default name was refused: asks for a name
   * (the refusal is on the screen just above); the next typed line is the
   * answer.
   */
  #askName(): Promise<NameAnswer> {
    if (this.#quitting) return Promise.resolve(undefined);
    this.#openConsole().print(
      NOTICE_PREFIX + t(this.#lang, "client.ask-name"),
    );
    return new Promise((resolve) => this.#answerName = resolve);
  }

  /**
   * Pings the server now and then, so that it can tell this client is still
   * there, and gives up on a server that has gone silent.
   */
  #startHeartbeat(): void {
    void this.#link.ping();
    this.#heartbeat = setInterval(() => {
      const heardAt = Math.max(this.#link.lastHeardAt, this.#readingSince);
      if (
        !this.#waitingForConsole &&
        performance.now() - heardAt > SERVER_SILENCE_MS
      ) {
        this.#serverSilent = true;
        this.dispose();
        return;
      }
      void this.#link.ping();
    }, HEARTBEAT_INTERVAL_MS);
  }

  /**
   * Shows the server's events until it closes the connection. Every line is
   * shown, never skipped (a script reads them all): while stdout is not
   * read and the console's buffer is full, the server is not read either,
   * and the server decides, as for any slow reader; timers go on.
   */
  async #relay(): Promise<number> {
    while (true) {
      const behind = this.#console?.whenWritable();
      if (behind) {
        this.#waitingForConsole = true;
        await behind;
        this.#waitingForConsole = false;
        this.#readingSince = performance.now();
      }
      const line = await this.#link.next();
      if (line === undefined) break;
      // Unknown types (a newer server) and malformed lines are skipped.
      const event = parseServerEvent(line);
      if (event) this.#receive(event);
    }
    return await this.#serverGone();
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
        if (nameKey(event.from) === nameKey(this.#ownName)) {
          this.#ownName = event.to;
        }
        break;
      case "notice":
        // The answer to `/quit`, `stop` or `/quit anything`, however typed.
        if (event.code === "bye") this.#saidBye = true;
        break;
      case "shutdown":
        this.#serverShutDown = true;
        break;
    }
    if (this.#console) this.#console.show(event);
    else this.#unshown.push(event);
  }

  async #serverGone(): Promise<number> {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    // Everything shown is written before the program ends, and before the
    // line on stderr below.
    await this.#console?.flushed();
    if (this.#saidBye) return 0;
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

  /** Sends `/quit` after everything typed so far, then waits for the close. */
  quit(): void {
    if (this.#quitting) return;
    this.#quitting = true;
    // Asked for a name, the person left instead.
    this.#answerName?.(undefined);
    this.#answerName = undefined;
    void this.#ready.then(() => this.#link.send("/quit"));
    // A server that never closes must not keep us waiting forever.
    setTimeout(() => this.dispose(), QUIT_GRACE_MS);
  }
}
