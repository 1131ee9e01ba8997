/**
 * `chat connect`: gets into the room (`client_handshake.ts`), then runs the
 * live session: shows the room's events in the person's language (earlier
 * lines marked, mentions highlighted), sends what they type, sends
 * heartbeats, connects again when the connection drops (`reconnect.ts`,
 * keeping what is typed meanwhile in an `outbox.ts`), and decides how the
 * session ends.
 *
 * @module
 */

import {
  ClientError,
  type ClientOptions,
  connectToServer,
  formatAddress,
  joinRoom,
  type NameAnswer,
  ServerMismatchError,
  startProtocol,
  WELCOME_TIMEOUT_MS,
  WrongPasswordError,
} from "./client_handshake.ts";
import { isJsonLine, parseServerEvent } from "./client_events.ts";
import { ServerLink } from "./client_link.ts";
import { openClientLog } from "./client_log.ts";
import { type Transcript, TranscriptError } from "./transcript.ts";
import { ClientFiles, isFileCommand } from "./client_files.ts"; // issue 12
import { parseFencedBlock, TypedBlocks } from "./code_block.ts"; // issue 12
import type { EventOf, ServerEvent } from "./events.ts";
import { type Lang, type MessageKey, t } from "./i18n.ts";
import { isMention } from "./mentions.ts";
import { Outbox, OUTBOX_LINES } from "./outbox.ts";
import { nameKey } from "./protocol.ts";
import { FailureLines, reconnectDelay, reconnectsAfter } from "./reconnect.ts";
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

/** Earlier lines kept from one replay, at most (the server sends 50). */
const MAX_REPLAY_EVENTS = 1_000;

/** True when the person types at a terminal and reads one. */
function atTerminal(): boolean {
  return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
}

/**
 * Connects to a chat server and runs the chat until it ends. Resolves with
 * the exit status: 0 when the person quit (the server said goodbye, or
 * nothing typed was left unsent), 1 when the server went away for good
 * (or, with `reconnect: false`, at all). Throws `ClientError` when it
 * cannot connect or get in the first time (silent server, refusal, older
 * server, refused password or `--name`, a `--log` file it cannot write).
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
  const lang = options.lang ?? "en";
  let log: Transcript | undefined;
  if (options.log !== undefined) {
    try {
      log = openClientLog(
        options.log,
        lang,
        (line) => console.error(`chat: ${line}`),
      );
    } catch (error) {
      if (error instanceof TranscriptError) {
        // Said like any other problem, before connecting.
        throw new ClientError(error.message);
      }
      throw error;
    }
  }
  let session: ClientSession | undefined;
  // Ctrl-C arrives as a signal when not at a terminal, or from `kill`.
  const onInterrupt = () => session ? session.quit() : Deno.exit(0);
  Deno.addSignalListener("SIGINT", onInterrupt);
  let link: ServerLink | undefined;
  try {
    let password = options.password;
    let started: Awaited<ReturnType<typeof startProtocol>>;
    for (let attempt = 1;; attempt++) {
      link = new ServerLink(await connectToServer(options));
      try {
        started = await startProtocol(link, { ...options, password });
        break;
      } catch (error) {
        // The server closes the connection after a wrong password: connect
        // again and ask again.
        const retry = error instanceof WrongPasswordError &&
          attempt < PASSWORD_TRIES && Deno.stdin.isTerminal();
        if (!retry) throw error;
        link.close();
        console.error(
          t(lang, "client.password-retry", {
            attempt: attempt + 1,
            max: PASSWORD_TRIES,
          }),
        );
        password = undefined;
      }
    }
    session = new ClientSession(options, started.password, log);
    return await session.run(link, started.proto);
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    session?.dispose();
    link?.close();
    log?.close();
  }
}

/** How a connection ended, as far as the client can tell. */
interface LinkEnd {
  /** The server said it was shutting down. */
  shutdown: boolean;
  /** Nothing came from the server for {@linkcode SERVER_SILENCE_MS}. */
  silent: boolean;
  /** The server disconnected us, and said why (`disconnected`). */
  reason?: string;
}

/**
 * The live session, from joining to the end: events in, typed lines out,
 * heartbeats, reconnecting, and the exit status.
 */
class ClientSession {
  readonly #options: ClientOptions;
  readonly #lang: Lang;
  readonly #where: string;
  readonly #log: Transcript | undefined;
  /** The room password that was accepted, to give again after a drop. */
  readonly #password: string | undefined;
  #link!: ServerLink;
  #console: LineConsole | undefined;
  /**
   * Events received before the console opens, shown when it does: a name
   * given with `--name` that is refused then ends the program with one
   * line, and nothing else on the screen.
   */
  #unshown: ServerEvent[] = [];
  #ownName = "";
  /** The secret from the last `welcome`: takes the name back after a drop. */
  #token: string | undefined;
  /** The server run of the current connection, and the last event seen in it. */
  #run: string | undefined;
  #lastSeq = 0;
  /**
   * Set from the drop until the room is joined again: the run and the last
   * sequence number seen before it, to show only the lines missed.
   */
  #resumeFrom:
    | { run: string | undefined; seq: number; name: string }
    | undefined;
  /** The earlier lines being received between history-start and -end. */
  #replay: ServerEvent[] | undefined;
  /** The earlier lines missed during the last drop (for the outbox). */
  #missed: ServerEvent[] = [];
  readonly #outbox = new Outbox(OUTBOX_LINES);
  /** Typed lines go straight to the server (joined, connection up). */
  #connected = false;
  /** Wakes what waits for the connection to come back (or the end). */
  #backWaiters: (() => void)[] = [];
  /** A typed line that did not fit in the full outbox when the person left. */
  #notKept: string[] = [];
  /** The person asked to leave (Ctrl-C, Ctrl-D, end of input). */
  #quitting = false;
  #quitWaiters: (() => void)[] = [];
  /** The server said goodbye: the person left, whatever they typed. */
  #saidBye = false;
  #end: LinkEnd = { shutdown: false, silent: false };
  /** Why reconnecting stopped for good (a changed server), if it did. */
  #fatal: string | undefined;
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
  readonly #failures = new FailureLines();
  /** The `proto` of the connection being made after a drop. */
  #proto: EventOf<"proto"> | undefined;
  /** The terminal status shown while away, to update its count of lines. */
  #lastStatus: MessageKey | undefined;
  #lastStatusArgs: Record<string, string | number> = {};
  /** Issue 12: `/send` and `/get`. */
  readonly #files: ClientFiles;
  /** Issue 12: a code block being typed between fences. */
  readonly #typedBlocks = new TypedBlocks();

  constructor(
    options: ClientOptions,
    password: string | undefined,
    log: Transcript | undefined,
  ) {
    this.#options = options;
    this.#lang = options.lang ?? "en";
    this.#where = formatAddress(options.hostname, options.port);
    this.#password = password ?? options.password;
    this.#log = log;
    this.#ready = new Promise((resolve) => this.#markReady = resolve);
    this.#files = new ClientFiles({
      lang: this.#lang,
      request: (request) => this.#link.request(request),
      say: (key, args) => this.#say(key, args),
      setStatus: (text) => this.#console?.setStatus(text),
      isTerminal: () => this.#console?.isTerminal === true,
      ownName: () => this.#ownName,
    });
  }

  async run(link: ServerLink, proto: EventOf<"proto">): Promise<number> {
    this.#link = link;
    this.#startRun(proto);
    await this.#askHistory(link, proto, undefined);
    // Lines typed while joining wait, unread, until the console opens.
    const joined = await joinRoom(
      link,
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
    this.#connected = true;
    this.#startHeartbeat(link);
    this.#markReady();
    while (true) {
      await this.#relay(this.#link);
      this.#connected = false;
      this.#files.disconnected(); // issue 12
      clearInterval(this.#heartbeat);
      this.#link.close();
      if (this.#saidBye) return await this.#finish(0);
      this.#outbox.disconnected();
      if (this.#quitting) break;
      const retry = this.#options.reconnect !== false &&
        reconnectsAfter(this.#end.reason);
      if (!retry) return await this.#serverGone();
      if (!await this.#reconnect()) break;
    }
    return await this.#finish(this.#fatal === undefined ? 0 : 1);
  }

  dispose(): void {
    clearInterval(this.#heartbeat);
    this.#answerName?.(undefined);
    this.#console?.close();
    this.#link?.close();
    this.#wakeQuit();
  }

  /** Opens the console, once, and shows the events that waited for it. */
  #openConsole(): LineConsole {
    if (this.#console) return this.#console;
    const screen = openConsole({
      onLine: (line) => this.#typed(line),
      onEnd: () => this.quit(),
      onInterrupt: () => this.quit(),
      ownName: () => this.#ownName,
      lang: this.#lang,
    });
    this.#console = screen;
    for (const event of this.#unshown) this.#show(event);
    this.#unshown = [];
    return screen;
  }

  /** A line the person typed: sent, or kept while disconnected. */
  async #typed(line: string): Promise<void> {
    const answer = this.#answerName;
    if (answer) {
      this.#answerName = undefined;
      return answer(line);
    }
    // Issue 12: a block typed between fences goes out whole when closed;
    // a pasted one (several lines) already is whole.
    if (!line.includes("\n")) {
      const wasOpen = this.#typedBlocks.open !== undefined;
      const taken = this.#typedBlocks.take(line);
      if (wasOpen || this.#typedBlocks.open !== undefined) {
        this.#showBlockStatus();
      }
      if (!taken) return;
      line = taken;
    }
    await this.#ready;
    // Issue 12: `/send` and `/get`. From a pipe, the next line waits for
    // the transfer (a script's `/get 3` then `/quit` saves the file).
    const transfer = this.#connected ? this.#files.typed(line) : undefined;
    if (transfer) return this.#console?.isTerminal ? void transfer : transfer;
    if (!this.#connected && !this.#quitting && isFileCommand(line)) {
      // A transfer is not a line to send later as text: at a terminal it is
      // refused (Up brings it back); from a pipe it waits for the room.
      if (this.#console?.isTerminal) return this.#say("client.files.offline");
      while (!this.#connected && !this.#quitting) {
        await new Promise<void>((resolve) => this.#backWaiters.push(resolve));
      }
      const later = this.#connected ? this.#files.typed(line) : undefined;
      if (later) return later;
      this.#notKept.push(line);
      return;
    }
    if (this.#connected) return this.#send(line);
    if (this.#quitting) {
      this.#notKept.push(line);
      return;
    }
    if (this.#outbox.add(line)) return this.#showStatus();
    if (this.#console?.isTerminal) {
      // The line is still in the input history (up arrow).
      this.#say("client.outbox.full", { max: OUTBOX_LINES, text: line });
      return;
    }
    // From a pipe: read no more until there is room, so nothing is lost.
    console.error(t(this.#lang, "client.outbox.full-waiting", {
      max: OUTBOX_LINES,
    }));
    while (!this.#connected && !this.#quitting && this.#outbox.full) {
      await new Promise<void>((resolve) => this.#backWaiters.push(resolve));
    }
    if (this.#connected) return this.#send(line);
    if (this.#quitting || !this.#outbox.add(line)) this.#notKept.push(line);
  }

  #send(line: string): Promise<void> {
    this.#outbox.sent(line);
    // Issue 12: a code block (kept in its fences) is one `block` request.
    const block = line.includes("\n") ? parseFencedBlock(line) : undefined;
    if (block) return this.#link.request({ type: "block", ...block });
    return this.#link.send(line);
  }

  /**
   * Issue 12: at a terminal, while a block is typed between fences, the
   * prompt says so (and how to end it).
   */
  #showBlockStatus(): void {
    if (!this.#console?.isTerminal) return;
    const lang = this.#typedBlocks.open;
    if (lang === undefined) {
      this.#console.setStatus(undefined);
      return this.#showStatus();
    }
    this.#console.setStatus(t(this.#lang, "client.block.status", {
      lang: lang ? lang + " " : "",
      count: this.#typedBlocks.count,
    }));
  }

  /** Says a line of the client's own, as a notice. */
  #say(key: MessageKey, args: Record<string, string | number> = {}): void {
    const text = NOTICE_PREFIX + t(this.#lang, key, args);
    if (this.#console?.isTerminal) this.#console.print(text);
    else console.error(text);
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
   * there, and closes a connection whose server has gone silent.
   */
  #startHeartbeat(link: ServerLink): void {
    const ping = () => {
      this.#outbox.pinged();
      void link.ping();
    };
    ping();
    this.#readingSince = performance.now();
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      const heardAt = Math.max(link.lastHeardAt, this.#readingSince);
      if (
        !this.#waitingForConsole &&
        performance.now() - heardAt > SERVER_SILENCE_MS
      ) {
        this.#end.silent = true;
        link.close();
        return;
      }
      ping();
    }, HEARTBEAT_INTERVAL_MS);
  }

  /**
   * Shows the server's events until the connection ends. Every line is
   * shown, never skipped (a script reads them all): while stdout is not
   * read and the console's buffer is full, the server is not read either,
   * and the server decides, as for any slow reader; timers go on.
   */
  async #relay(link: ServerLink): Promise<void> {
    while (true) {
      const behind = this.#console?.whenWritable();
      if (behind) {
        this.#waitingForConsole = true;
        await behind;
        this.#waitingForConsole = false;
        this.#readingSince = performance.now();
      }
      const line = await link.next();
      if (line === undefined) return;
      // Unknown types (a newer server) and malformed lines are skipped.
      const event = parseServerEvent(line);
      if (event) this.#receive(event);
    }
  }

  /** A new connection's server run: sequence numbers start again if new. */
  #startRun(proto: EventOf<"proto">): void {
    if (proto.run === undefined || proto.run !== this.#run) this.#lastSeq = 0;
    this.#run = proto.run;
  }

  /**
   * Asks for the room's earlier lines (all, or those after `after`) when
   * the server keeps some and did not just send them by itself: in a room
   * with a password, they came after the password, unasked.
   */
  async #askHistory(
    link: ServerLink,
    proto: EventOf<"proto">,
    after: number | undefined,
  ): Promise<void> {
    if (!proto.history || proto.password) return;
    await link.request(
      after === undefined ? { type: "history" } : { type: "history", after },
    );
  }

  /** One event from the server: what it changes, then on the screen. */
  #receive(event: ServerEvent): void {
    if (event.seq > this.#lastSeq) this.#lastSeq = event.seq;
    if (event.type === "notice" && event.code === "history-start") {
      this.#replay = [];
      return;
    }
    if (event.history && this.#replay) {
      if (this.#replay.length < MAX_REPLAY_EVENTS) this.#replay.push(event);
      return;
    }
    if (event.type === "notice" && event.code === "history-end") {
      this.#showReplay();
      return;
    }
    if (this.#files.receive(event)) return; // issue 12: chunks, answers
    switch (event.type) {
      case "pong":
        this.#outbox.ponged();
        return;
      case "proto":
        return;
      case "welcome":
        this.#ownName = event.name;
        this.#token = event.token;
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
        this.#end.shutdown = true;
        break;
      case "disconnected":
        this.#end.reason = event.reason;
        break;
      case "message":
      case "action":
      case "block": // issue 12
        this.#outbox.received(event, this.#ownName);
        break;
    }
    if (!event.history) this.#log?.write(event);
    if (this.#console) this.#show(event);
    else this.#unshown.push(event);
  }

  /** Shows an event, highlighted (and with the bell) when it is a mention. */
  #show(event: ServerEvent): void {
    const mention = isMention(event, this.#ownName);
    this.#console?.show(event, {
      mention,
      // Earlier lines are highlighted, but ring no bell.
      bell: mention && !event.history && !this.#options.quiet,
    });
  }

  /**
   * The earlier lines of one replay, framed: after a drop from the same
   * server run, only those newer than the last event seen (whatever the
   * server sent), and written to the transcript; after a restart, the
   * whole replay of the new run, which this client never saw either.
   */
  #showReplay(): void {
    const events = this.#replay ?? [];
    this.#replay = undefined;
    const resumeFrom = this.#resumeFrom;
    const after = resumeFrom && resumeFrom.run !== undefined &&
        resumeFrom.run === this.#run
      ? resumeFrom.seq
      : undefined;
    const shown = after === undefined
      ? events
      : events.filter((event) => event.seq > after);
    if (resumeFrom) this.#missed.push(...shown);
    if (shown.length === 0) return;
    const frame = (code: "history-start" | "history-end") =>
      ({
        type: "notice",
        code,
        args: { count: shown.length },
        seq: 0,
        time: Date.now(),
      }) as ServerEvent;
    const show = (event: ServerEvent) =>
      this.#console ? this.#show(event) : this.#unshown.push(event);
    show(frame("history-start"));
    for (const event of shown) {
      if (resumeFrom) this.#log?.write(event);
      show(event);
    }
    show(frame("history-end"));
  }

  /**
   * Connects again after a drop, with growing delays, until back in the
   * room (true), or until the person leaves or the server changed so that
   * trying again is pointless (false).
   */
  async #reconnect(): Promise<boolean> {
    this.#resumeFrom = {
      run: this.#run,
      seq: this.#lastSeq,
      name: this.#ownName,
    };
    this.#missed = [];
    this.#failures.reset();
    const why = this.#why();
    this.#end = { shutdown: false, silent: false };
    this.#say("client.reconnect.lost", {
      where: this.#where,
      why,
      max: OUTBOX_LINES,
    });
    for (let attempt = 1;; attempt++) {
      const delay = reconnectDelay(
        attempt,
        Math.random,
        this.#options.reconnectDelayMs,
      );
      if (!await this.#countDown(delay, attempt)) return false;
      this.#showStatus("client.reconnect.status.connecting", { attempt });
      let link: ServerLink | undefined;
      try {
        link = await this.#untilQuit(this.#connectAgain());
        if (link === undefined) return false;
        if (await this.#untilQuit(this.#rejoin(link)) !== true) {
          link.close();
          if (this.#quitting) return false;
          throw new Error(t(this.#lang, "client.why.closed"));
        }
      } catch (error) {
        link?.close();
        const message = (error as Error)?.message ?? String(error);
        if (
          error instanceof ServerMismatchError ||
          error instanceof WrongPasswordError
        ) {
          this.#fatal = message;
          this.#console?.setStatus(undefined);
          console.error(message);
          return false;
        }
        if (this.#failures.worthSaying(message) && !this.#console?.isTerminal) {
          console.error(
            NOTICE_PREFIX +
              t(this.#lang, "client.reconnect.failed", { attempt, message }),
          );
        }
        continue;
      }
      this.#back(link);
      return true;
    }
  }

  /** Why the last connection ended, in words. */
  #why(): string {
    // A `disconnected` event, if any, was shown with its reason just above.
    const end = this.#end;
    return end.shutdown
      ? t(this.#lang, "client.why.shutdown")
      : end.silent
      ? t(this.#lang, "client.why.silent", {
        seconds: SERVER_SILENCE_MS / 1000,
      })
      : t(this.#lang, "client.why.closed");
  }

  /** Opens a new connection and starts the protocol (password given). */
  async #connectAgain(): Promise<ServerLink> {
    const link = new ServerLink(await connectToServer(this.#options));
    try {
      const { proto } = await startProtocol(
        link,
        { ...this.#options, password: this.#password },
        false,
      );
      this.#startRun(proto);
      // What was asked before this point (a password room) is not asked again.
      await this.#askHistory(
        link,
        proto,
        this.#resumeFrom?.run !== undefined &&
          this.#resumeFrom.run === proto.run
          ? this.#resumeFrom.seq
          : undefined,
      );
      this.#proto = proto;
      return link;
    } catch (error) {
      link.close();
      throw error;
    }
  }

  /**
   * Back in the room under the same name: with the token (same server
   * run), else with `/nick`, else as a guest, saying so. Resolves with true
   * once welcomed, false when the connection closed first.
   */
  async #rejoin(link: ServerLink): Promise<boolean> {
    const name = this.#ownName;
    const sameRun = this.#resumeFrom?.run !== undefined &&
      this.#resumeFrom.run === this.#proto?.run;
    let step: "resume" | "nick" | "guest";
    if (sameRun && this.#token && name) {
      step = "resume";
      await link.request({ type: "resume", name, token: this.#token });
    } else if (name) {
      step = "nick";
      await link.send(`/nick ${name}`);
    } else {
      step = "guest";
      await link.send("/join");
    }
    const deadline = performance.now() + WELCOME_TIMEOUT_MS;
    while (true) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(t(this.#lang, "client.why.welcome-late"));
      const line = await withTimeout(link.next(), left);
      if (line === null) continue;
      if (line === undefined) return false;
      const event = isJsonLine(line) ? parseServerEvent(line) : undefined;
      if (event === undefined) continue;
      if (event.type === "error") {
        const code = event.code as string;
        if (
          step === "resume" &&
          (code === "resume-failed" || code === "unknown-type")
        ) {
          step = "nick";
          await link.send(`/nick ${name}`);
          continue;
        }
        if (
          step === "nick" &&
          ["name-taken", "name-away", "name-reserved", "name-invalid"]
            .includes(code)
        ) {
          this.#receive(event);
          this.#say("client.reconnect.name-lost", { name });
          step = "guest";
          await link.send("/join");
          continue;
        }
      }
      this.#receive(event);
      if (event.type === "welcome") return true;
    }
  }

  /** Joined again: the outbox goes out, once each, in order. */
  #back(link: ServerLink): void {
    this.#link = link;
    const restarted = this.#resumeFrom?.run === undefined ||
      this.#resumeFrom.run !== this.#run;
    const before = this.#resumeFrom;
    if (!restarted && before) {
      // Under the name the lines were sent with, whatever it is now.
      this.#outbox.confirmFrom(this.#missed, before.name);
    }
    this.#resumeFrom = undefined;
    this.#missed = [];
    this.#lastStatus = undefined;
    this.#console?.setStatus(undefined);
    this.#say(
      restarted ? "client.reconnect.back-restarted" : "client.reconnect.back",
      { where: this.#where },
    );
    // Synchronously: a line typed now goes after the outbox.
    for (const line of this.#outbox.take()) void this.#send(line);
    this.#connected = true;
    this.#startHeartbeat(link);
    this.#wakeBack();
  }

  /**
   * Waits `ms` before an attempt, the status counting down each second at
   * a terminal; false when the person left meanwhile.
   */
  async #countDown(ms: number, attempt: number): Promise<boolean> {
    const until = performance.now() + ms;
    while (!this.#quitting) {
      const left = until - performance.now();
      if (left <= 0) return true;
      this.#showStatus("client.reconnect.status.waiting", {
        seconds: Math.ceil(left / 1000),
        attempt,
      });
      await this.#untilQuit(sleep(Math.min(left, 1000)));
    }
    return false;
  }

  /**
   * At a terminal while away, the status `key` in place of the prompt
   * (without `key`: the last one again), with how many lines wait to be
   * sent.
   */
  #showStatus(
    key?: MessageKey,
    args: Record<string, string | number> = {},
  ): void {
    if (!this.#console?.isTerminal || this.#connected) return;
    const status = key ?? this.#lastStatus;
    if (status === undefined) return;
    if (key) {
      this.#lastStatus = key;
      this.#lastStatusArgs = args;
    }
    const waiting = this.#outbox.size;
    this.#console.setStatus(
      t(this.#lang, status, this.#lastStatusArgs) +
        (waiting > 0
          ? " " + t(this.#lang, "client.reconnect.status.waiting-lines", {
            count: waiting,
          })
          : ""),
    );
  }

  /** `promise`, or `undefined` as soon as the person leaves. */
  #untilQuit<T>(promise: Promise<T>): Promise<T | undefined> {
    if (this.#quitting) return Promise.resolve(undefined);
    return Promise.race([
      promise,
      new Promise<undefined>((resolve) =>
        this.#quitWaiters.push(() => resolve(undefined))
      ),
    ]);
  }

  #wakeQuit(): void {
    const waiters = this.#quitWaiters;
    this.#quitWaiters = [];
    for (const wake of waiters) wake();
    this.#wakeBack();
  }

  #wakeBack(): void {
    const waiters = this.#backWaiters;
    this.#backWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The end without reconnecting: says why, exit status 1. */
  async #serverGone(): Promise<number> {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    // Everything shown is written before the program ends, and before the
    // line on stderr below.
    await this.#console?.flushed();
    if (this.#saidBye) return 0;
    if (this.#quitting && !this.#link.writeFailed) {
      return this.#reportUnsent() ? 1 : 0;
    }
    console.error(
      t(this.#lang, "client.disconnected", {
        where: this.#where,
        why: this.#why(),
      }),
    );
    this.#reportUnsent();
    return 1;
  }

  /** The end after the person left: what was not sent is said. */
  async #finish(status: number): Promise<number> {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    await this.#console?.flushed();
    if (this.#saidBye) return status;
    return this.#reportUnsent() ? 1 : status;
  }

  /** Says which typed lines were never sent; true if there were some. */
  #reportUnsent(): boolean {
    const lines = [
      ...this.#outbox.waiting(),
      ...this.#notKept.map((text) => ({ text, maybeSent: false })),
    ];
    if (lines.length === 0) return false;
    const key = lines.length === 1
      ? "client.outbox.unsent.one"
      : "client.outbox.unsent.other";
    const out = [t(this.#lang, key, { count: lines.length })];
    for (const line of lines) {
      out.push(
        "  " +
          (line.maybeSent
            ? t(this.#lang, "client.outbox.maybe-sent", { text: line.text })
            : line.text),
      );
    }
    console.error(out.join("\n"));
    return true;
  }

  /** Sends `/quit` after everything typed so far, then waits for the close. */
  quit(): void {
    if (this.#quitting) return;
    this.#quitting = true;
    // Asked for a name, the person left instead.
    this.#answerName?.(undefined);
    this.#answerName = undefined;
    this.#wakeQuit();
    if (this.#connected || this.#console === undefined) {
      void this.#ready.then(() => this.#link.send("/quit"));
      // A server that never closes must not keep us waiting forever.
      setTimeout(() => this.dispose(), QUIT_GRACE_MS);
    }
  }
}

/** Resolves after `ms`. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or `null` when it takes longer than `ms`. */
async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<null>((resolve) =>
        timer = setTimeout(() => resolve(null), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
