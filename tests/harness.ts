/**
 * Shared tools for the end-to-end tests: run `main.ts` as a real subprocess
 * with the permissions the compiled binary gets, and talk to it over real
 * TCP sockets on 127.0.0.1. Every wait has a deadline and everything started
 * here is cleaned up by `await using`, even when an assertion fails.
 *
 * @module
 */

import { PERMISSION_FLAGS } from "../scripts/dist.ts";

/** Longest any single wait in a test may take before the test fails. */
export const WAIT_MS = 10_000;

/**
 * Flags that lift the per-address cap and flood control. Every test client
 * comes from 127.0.0.1, so tests that measure something else pass these
 * (the default for {@linkcode ChatProcess.serve}); tests of those limits
 * ask for `limits: true`.
 */
export const LIFTED_LIMITS = ["--max-per-ip", "0", "--flood-rate", "0"];

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * Locale variables that make a subprocess English whatever the machine's
 * locale (an empty variable counts as unset). A test passes its own, e.g.
 * `{ LANG: "fr_FR.UTF-8" }`, in `env`, which overrides these.
 */
export const ENGLISH_LOCALE: Record<string, string> = {
  LC_ALL: "",
  LC_MESSAGES: "",
  LANG: "C.UTF-8",
};

/**
 * The `/who` line, with the `; N watching` suffix the server adds when
 * someone watches without having joined (`golden_lines.ts` has the line
 * without it).
 */
export function whoLine(online: readonly string[], watching = 0): string {
  return `*** Online (${online.length}): ${online.join(", ")}${
    watching > 0 ? `; ${watching} watching` : ""
  }`;
}

/**
 * The full path of a program found on `PATH`, or undefined: tests that need
 * it are skipped (decided when the test file loads, before anything runs).
 */
export function findProgram(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * The command line that runs `chat ARGS` from source with the compiled
 * binary's permissions: program first, then its arguments.
 */
export function chatCommand(args: string[]): [string, ...string[]] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    ...PERMISSION_FLAGS,
    MAIN,
    ...args,
  ];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rejects after `ms` with a message saying what was being waited for. */
export function deadline<T>(
  promise: Promise<T>,
  what: string | (() => string),
  ms: number = WAIT_MS,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `timed out after ${ms} ms waiting for ${
              typeof what === "string" ? what : what()
            }`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Collects the lines of a byte stream as they arrive, so a test can wait for
 * a particular one while the stream keeps being drained.
 */
export class LineCollector {
  readonly lines: string[] = [];
  #pending = "";
  #ended = false;
  #waiters: (() => void)[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  /** True once the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Everything received so far, joined with newlines. */
  get text(): string {
    return this.lines.join("\n") + (this.#pending ? "\n" + this.#pending : "");
  }

  /** Waits until a line (from index `from` on) matches; returns it. */
  async waitFor(
    match: string | RegExp | ((line: string) => boolean),
    options: { from?: number; ms?: number } = {},
  ): Promise<string> {
    const test = typeof match === "function"
      ? match
      : typeof match === "string"
      ? (line: string) => line === match
      : (line: string) => match.test(line);
    let index = options.from ?? 0;
    return await deadline(
      (async () => {
        while (true) {
          for (; index < this.lines.length; index++) {
            if (test(this.lines[index])) return this.lines[index];
          }
          if (this.#ended) {
            throw new Error(
              `stream ended without a line matching ${match}; got:\n${this.text}`,
            );
          }
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      // Built only on a timeout: the text can be thousands of lines.
      () => `a line matching ${match}; got so far:\n${this.text}`,
      options.ms,
    );
  }

  /** Waits until the stream ends. */
  async waitForEnd(ms: number = WAIT_MS): Promise<void> {
    await deadline(this.done, "the stream to end", ms);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream) {
        this.#pending += decoder.decode(chunk, { stream: true });
        const parts = this.#pending.split("\n");
        this.#pending = parts.pop()!;
        this.lines.push(...parts.map((line) => line.replace(/\r$/, "")));
        this.#wake();
      }
    } catch { /* the stream was cut: treat as its end */ }
    if (this.#pending) this.lines.push(this.#pending);
    this.#pending = "";
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A running `main.ts` subprocess with its output being collected. */
export class ChatProcess {
  readonly child: Deno.ChildProcess;
  readonly stdout: LineCollector;
  readonly stderr: LineCollector;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;

  /**
   * Runs `chat ARGS`: `main.ts` under the binary's permission flags, or the
   * compiled binary at `options.program`.
   */
  constructor(
    args: string[],
    options: {
      stdin?: boolean;
      env?: Record<string, string>;
      program?: string;
    } = {},
  ) {
    const [program, ...programArgs] = options.program
      ? [options.program, ...args]
      : chatCommand(args);
    this.child = new Deno.Command(program, {
      args: programArgs,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      // English unless a test asks otherwise, whatever this machine's locale.
      env: { NO_COLOR: "1", ...ENGLISH_LOCALE, ...options.env },
    }).spawn();
    this.stdout = new LineCollector(this.child.stdout);
    this.stderr = new LineCollector(this.child.stderr);
    this.#stdin = options.stdin ? this.child.stdin.getWriter() : undefined;
  }

  /** The port a server started by {@linkcode ChatProcess.serve} bound. */
  port = 0;

  /** Starts `chat serve --port 0 ...` and waits for the port it bound. */
  static async serve(
    args: string[] = [],
    options: {
      stdin?: boolean;
      program?: string;
      limits?: boolean;
      env?: Record<string, string>;
    } = {},
  ): Promise<ChatProcess> {
    const server = new ChatProcess(
      [
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        ...(options.limits ? [] : LIFTED_LIMITS),
        ...args,
      ],
      options,
    );
    try {
      const first = await server.stdout.waitFor(() => true);
      server.port = Number(/:(\d+)/.exec(first)?.[1]);
      if (!server.port) throw new Error(`no port in first line: ${first}`);
      return server;
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Writes one line to the process's stdin. */
  async type(line: string): Promise<void> {
    await this.#stdin!.write(encoder.encode(line + "\n"));
  }

  /** Closes the process's stdin (like Ctrl-D or the end of a pipe). */
  async endInput(): Promise<void> {
    await this.#stdin!.close().catch(() => {});
  }

  /** Waits for the process to exit and for its output to be read. */
  async exit(ms: number = WAIT_MS): Promise<Deno.CommandStatus> {
    const status = await deadline(this.child.status, "the process to exit", ms);
    await deadline(
      Promise.all([this.stdout.done, this.stderr.done]),
      "the output to end",
      ms,
    );
    return status;
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin?.close().catch(() => {});
    this.kill("SIGKILL");
    await this.child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}

/** A raw TCP client, as `nc` would be: bytes out, lines in. */
export class TcpClient {
  readonly conn: Deno.TcpConn;
  readonly received: LineCollector;
  /**
   * Index in `received.lines` of this client's welcome line, once
   * {@linkcode TcpClient.join} has joined; -1 before. Lines after it were
   * said after it joined (a watcher also receives lines before it).
   */
  welcomeIndex = -1;
  readonly #reads: boolean;

  private constructor(conn: Deno.TcpConn, read: boolean) {
    this.conn = conn;
    this.#reads = read;
    // A client that never reads is built by not draining its socket.
    this.received = new LineCollector(
      read ? conn.readable : new ReadableStream(),
    );
  }

  /** Connects to the server on 127.0.0.1 and, by default, reads what it sends. */
  static async connect(
    port: number,
    options: { read?: boolean } = {},
  ): Promise<TcpClient> {
    const conn = await deadline(
      Deno.connect({ hostname: "127.0.0.1", port }),
      `a connection to port ${port}`,
    );
    return new TcpClient(conn, options.read ?? true);
  }

  /**
   * Connects and joins: as `name` with `/nick`, or as a guest with `/join`;
   * returns once the welcome line arrived. With `password`, gives it with
   * `/pass` first. Until then the connection watches, so room lines may
   * arrive between the greeting and the welcome: each wait searches on from
   * the line the previous one found.
   */
  static async join(
    port: number,
    name?: string,
    options: { password?: string } = {},
  ): Promise<TcpClient> {
    const client = await TcpClient.connect(port);
    try {
      // The greeting (or the password request) is the first line.
      await client.received.waitFor(() => true);
      let from = 1;
      if (options.password !== undefined) {
        await client.send(`/pass ${options.password}`);
        await client.received.waitFor(
          (line) => line.startsWith("*** Password accepted."),
          { from },
        );
        from = client.received.lines.length;
      }
      await client.send(name ? `/nick ${name}` : "/join");
      const welcome = `*** Welcome, ${name ? `${name}!` : ""}`;
      await client.received.waitFor((line) => line.startsWith(welcome), {
        from,
      });
      client.welcomeIndex = client.received.lines.findIndex((line, index) =>
        index >= from && line.startsWith(welcome)
      );
      return client;
    } catch (error) {
      await client[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Sends text followed by `\n`. */
  async send(text: string): Promise<void> {
    await this.write(encoder.encode(text + "\n"));
  }

  /** Sends bytes exactly as given. */
  async write(bytes: Uint8Array): Promise<void> {
    await deadline(
      (async () => {
        for (let offset = 0; offset < bytes.length;) {
          offset += await this.conn.write(bytes.subarray(offset));
        }
      })(),
      "a write to the server",
    );
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (this.#reads) await this.received.done;
  }
}

/** Reads a process's resident memory in KiB from /proc (Linux only). */
export async function residentKiB(
  pid: number,
  field: "VmRSS" | "VmHWM" = "VmRSS",
): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
}
