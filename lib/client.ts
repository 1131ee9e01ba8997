/**
 * The network side of `chat connect`: connects, takes the requested name,
 * then moves lines between the console and the server until one side ends.
 *
 * @module
 */

import {
  decodeLine,
  ERROR_PREFIX,
  lines,
  LineSplitter,
  OutgoingLine,
} from "./protocol.ts";
import { type LineConsole, openConsole, readSecret } from "./terminal.ts";
import {
  connectPinned,
  connectVerified,
  TlsConnectError,
  TlsSetupError,
} from "./tls.ts";

/** Give up connecting after this long. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** A chat server greets at once; give up on a silent one after this long. */
export const WELCOME_TIMEOUT_MS = 10_000;

/** After sending `/quit`, wait this long for the server to close. */
export const QUIT_GRACE_MS = 5_000;

/** The client sends `/ping` this often, so the server knows it is there. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

/** A server that sends nothing for this long (not even a pong) is gone. */
export const SERVER_SILENCE_MS = 45_000;

// Lines from the server are at most a name and a 4 KiB message; anything far
// longer is not from a chat server and is skipped.
const MAX_SERVER_LINE_BYTES = 64 * 1024;

/** Settings for {@linkcode runClient}. */
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
}

/** A problem the person connecting can act on; printed as one line. */
export class ClientError extends Error {
  override name = "ClientError";
}

/**
 * Connects to a chat server and runs the chat until it ends. Resolves with
 * the exit status: 0 when the person quit, 1 when the server went away.
 * Throws {@linkcode ClientError} when it cannot connect or its name is refused.
 */
export async function runClient(options: ClientOptions): Promise<number> {
  let session: ClientSession | undefined;
  // Ctrl-C arrives as a signal when not at a terminal, or from `kill`.
  const onInterrupt = () => session ? session.quit() : Deno.exit(0);
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    session = new ClientSession(
      await connect(options),
      options,
    );
    return await session.run();
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    session?.dispose();
  }
}

/** Formats `host:port`, with brackets around IPv6 addresses. */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

async function connect(options: ClientOptions): Promise<Deno.Conn> {
  const { hostname, port, tls } = options;
  try {
    if (tls && "fingerprint" in tls) {
      return await connectPinned({
        hostname,
        port,
        fingerprint: tls.fingerprint,
        timeoutMs: CONNECT_TIMEOUT_MS,
      });
    }
    if (tls) {
      return await connectVerified({
        hostname,
        port,
        caFile: tls.caFile,
        timeoutMs: CONNECT_TIMEOUT_MS,
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
    throw new ClientError(connectProblem(error, hostname, port));
  }
}

function connectProblem(
  error: unknown,
  hostname: string,
  port: number,
): string {
  const where = formatAddress(hostname, port);
  if (error instanceof TlsConnectError || error instanceof TlsSetupError) {
    return error.message;
  }
  const message = (error as Error).message ?? String(error);
  if (error instanceof Deno.errors.ConnectionRefused) {
    return `Cannot reach ${where}: connection refused. Is "chat serve" running there, on port ${port}?`;
  }
  if (error instanceof Deno.errors.NotFound || /lookup|resolv/i.test(message)) {
    return `Cannot find host "${hostname}": no such name on this network. Check the address the server printed.`;
  }
  if (
    error instanceof Deno.errors.TimedOut ||
    (error as Error).name === "TimeoutError"
  ) {
    return `Cannot reach ${where}: no answer after ${
      CONNECT_TIMEOUT_MS / 1000
    } s. Are you on the same network?`;
  }
  if (error instanceof Deno.errors.NetworkUnreachable) {
    return `Cannot reach ${where}: network unreachable. Are you connected to the network?`;
  }
  return `Cannot reach ${where}: ${message}`;
}

const WELCOME = /^\*\*\* Welcome, ([A-Za-z0-9_-]+)!/;
const RENAMED = /^\*\*\* ([A-Za-z0-9_-]+) is now known as ([A-Za-z0-9_-]+)$/;

/** One connection's life: reading, writing, and deciding how it ends. */
class ClientSession {
  readonly #conn: Deno.Conn;
  readonly #options: ClientOptions;
  readonly #incoming: AsyncIterator<string>;
  readonly #where: string;
  #console: LineConsole | undefined;
  #ownName = "";
  #quitting = false;
  #serverShutDown = false;
  #serverSilent = false;
  #lastHeardAt = performance.now();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #writes: Promise<void> = Promise.resolve();
  #writeFailed = false;
  /** Settles once the name is settled; typed lines wait for it. */
  readonly #ready: Promise<void>;
  #markReady!: () => void;

  constructor(conn: Deno.Conn, options: ClientOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#incoming = readServerLines(conn);
    this.#where = formatAddress(options.hostname, options.port);
    this.#ready = new Promise((resolve) => this.#markReady = resolve);
  }

  async run(): Promise<number> {
    if ((await this.#greeting()) === lines.passwordNeeded()) {
      await this.#givePassword();
    }
    this.#console = openConsole({
      onLine: async (line) => {
        await this.#ready;
        await this.#onTyped(line);
      },
      onEnd: () => this.quit(),
      onInterrupt: () => this.quit(),
      ownName: () => this.#ownName,
    });
    const ended = await this.#join();
    if (ended !== undefined) return ended;
    this.#startHeartbeat();
    this.#markReady();
    return await this.#relay();
  }

  dispose(): void {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** The server's first line, which says whether it wants a password. */
  async #greeting(): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ClientError(
              `The server at ${this.#where} said nothing for ${
                WELCOME_TIMEOUT_MS / 1000
              } s. Is "chat serve" what is running on port ${this.#options.port}?${
                this.#options.tls
                  ? ""
                  : " If it was started with --tls, add --fingerprint or --tls."
              }`,
            ),
          ),
        WELCOME_TIMEOUT_MS,
      );
    });
    const first = await Promise.race([this.#next(), silent])
      .finally(() => clearTimeout(timer));
    return this.#mayGoOn(first, "before saying anything", "the connection");
  }

  /** Sends the room password; throws when it is refused. */
  async #givePassword(): Promise<void> {
    const password = this.#options.password ??
      await readSecret(`Password for the room at ${this.#where}: `);
    if (password === undefined) {
      throw new ClientError(
        `The room at ${this.#where} needs a password: run chat connect at a terminal to type it, or set CHAT_PASSWORD.`,
      );
    }
    await this.#send(`/pass ${password}`);
    this.#mayGoOn(
      await this.#next(),
      "after the password",
      "the password",
    );
  }

  /**
   * The server's answer at a step that must succeed; throws a
   * {@linkcode ClientError} when it closed the connection or refused.
   */
  #mayGoOn(answer: string | undefined, when: string, what: string): string {
    if (answer === undefined) {
      throw new ClientError(
        `The server at ${this.#where} closed the connection ${when}.`,
      );
    }
    if (answer.startsWith(ERROR_PREFIX)) {
      throw new ClientError(
        `The server at ${this.#where} refused ${what}: ${
          answer.slice(ERROR_PREFIX.length)
        }`,
      );
    }
    return answer;
  }

  /**
   * Joins under the requested name, or as a guest when there is none or an
   * implicit one is refused; returns an exit status if the session is over.
   */
  async #join(): Promise<number | undefined> {
    const name = this.#options.name;
    await this.#send(name === undefined ? "/join" : `/nick ${name}`);
    while (true) {
      const line = await this.#next();
      if (line === undefined) return this.#serverGone();
      const welcome = WELCOME.exec(line);
      if (welcome) {
        this.#ownName = welcome[1];
        this.#show(line);
        return undefined;
      }
      if (line.startsWith(ERROR_PREFIX)) {
        this.#show(line);
        if (!this.#options.nameIsExplicit) {
          await this.#send("/join");
          continue;
        }
        this.#quitting = true;
        await this.#send("/quit");
        throw new ClientError(
          `The server refused the name "${name}": ${
            line.slice(ERROR_PREFIX.length)
          }`,
        );
      }
      // Anything else before the welcome (a notice) is shown as it is.
      this.#show(line);
    }
  }

  /**
   * Pings the server now and then, so that it can tell this client is still
   * there, and gives up on a server that has gone silent.
   */
  #startHeartbeat(): void {
    void this.#send("/ping");
    this.#heartbeat = setInterval(() => {
      if (performance.now() - this.#lastHeardAt > SERVER_SILENCE_MS) {
        this.#serverSilent = true;
        this.dispose();
        return;
      }
      void this.#send("/ping");
    }, HEARTBEAT_INTERVAL_MS);
  }

  /** Prints server lines until the server closes the connection. */
  async #relay(): Promise<number> {
    while (true) {
      const line = await this.#next();
      if (line === undefined) break;
      if (line === lines.pong()) continue;
      const renamed = RENAMED.exec(line);
      if (renamed && renamed[1] === this.#ownName) this.#ownName = renamed[2];
      if (line === lines.shutdown()) this.#serverShutDown = true;
      this.#show(line);
    }
    return this.#serverGone();
  }

  #serverGone(): number {
    clearInterval(this.#heartbeat);
    this.#console?.close();
    if (this.#quitting && !this.#writeFailed) return 0;
    const why = this.#serverShutDown
      ? "the server shut down"
      : this.#serverSilent
      ? `the server stopped answering (nothing for ${
        SERVER_SILENCE_MS / 1000
      } s)`
      : "the server closed the connection";
    console.error(`Disconnected from ${this.#where}: ${why}.`);
    return 1;
  }

  async #onTyped(line: string): Promise<void> {
    const command = line.trim().toLowerCase();
    if (command === "/quit" || command === "stop") this.#quitting = true;
    await this.#send(line);
  }

  /** Sends `/quit` after everything typed so far, then waits for the close. */
  quit(): void {
    if (this.#quitting) return;
    this.#quitting = true;
    void this.#ready.then(() => this.#send("/quit"));
    // A server that never closes must not keep us waiting forever.
    setTimeout(() => this.dispose(), QUIT_GRACE_MS);
  }

  /** Writes one line after all earlier ones; write errors end the session. */
  #send(text: string): Promise<void> {
    const bytes = new OutgoingLine(text).bytes;
    this.#writes = this.#writes.then(async () => {
      if (this.#writeFailed) return;
      try {
        for (let offset = 0; offset < bytes.length;) {
          offset += await this.#conn.write(bytes.subarray(offset));
        }
      } catch {
        // The reader sees the connection end and reports it.
        this.#writeFailed = true;
      }
    });
    return this.#writes;
  }

  async #next(): Promise<string | undefined> {
    const { value, done } = await this.#incoming.next();
    this.#lastHeardAt = performance.now();
    return done ? undefined : value;
  }

  #show(line: string): void {
    this.#console?.print(line);
  }
}

/** Yields the lines a server sends until it closes or the socket fails. */
async function* readServerLines(conn: Deno.Conn): AsyncGenerator<string> {
  const splitter = new LineSplitter(MAX_SERVER_LINE_BYTES);
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    let count: number | null;
    try {
      count = await conn.read(buffer);
    } catch {
      count = null;
    }
    if (count === null) break;
    for (const event of splitter.push(buffer.subarray(0, count))) {
      if (event.kind === "line") yield decodeLine(event.bytes);
    }
  }
  const rest = splitter.flush();
  if (rest?.kind === "line") yield decodeLine(rest.bytes);
}
