/**
 * Shared tools for the end-to-end tests: run `main.ts` as a real subprocess
 * with the permissions the compiled binary gets, and talk to it over real
 * TCP sockets on 127.0.0.1. Every wait has a deadline and everything started
 * here is cleaned up by `await using`, even when an assertion fails.
 *
 * @module
 */

import { concatBytes } from "../lib/protocol.ts";
import { PERMISSION_FLAGS } from "../scripts/dist.ts";

/** Longest any single wait in a test may take before the test fails. */
export const WAIT_MS = 10_000;

/**
 * Flags that lift the per-address cap, flood control and the room-wide
 * ceiling (`--room-rate`). Every test client
 * comes from 127.0.0.1, so tests that measure something else pass these
 * (the default for {@linkcode ChatProcess.serve}); tests of those limits
 * ask for `limits: true`.
 */
export const LIFTED_LIMITS = [
  "--max-per-ip",
  "0",
  "--flood-rate",
  "0",
  "--room-rate",
  "0",
];

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * Issue 9: chat keeps its TLS identity and known servers in
 * `$XDG_CONFIG_HOME/chat`. No test may touch the real one: this test file's
 * own temporary folder, removed when the file's tests end, is the default
 * for anything this process starts (set in its environment), and
 * {@linkcode ChatProcess} and {@linkcode Terminal} give each program a new
 * folder inside it (a server makes a new certificate at each start, a
 * client knows no server), unless the test passes its own XDG_CONFIG_HOME.
 */
const CONFIG_ROOT = Deno.makeTempDirSync({ prefix: "chat-test-config-" });
Deno.env.set("XDG_CONFIG_HOME", CONFIG_ROOT);
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(CONFIG_ROOT, { recursive: true });
  } catch { /* already gone */ }
});

/**
 * A new, empty folder for `XDG_CONFIG_HOME`, inside this test file's
 * temporary folder (removed with it).
 */
export function newConfigHome(): string {
  return Deno.makeTempDirSync({ dir: CONFIG_ROOT, prefix: "home-" });
}

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
 * A test for one line: equal to a string, matching a pattern, or passing a
 * function.
 *
 * @example
 * ```ts
 * lineMatcher(/^alice: /)("alice: hi"); // true
 * ```
 */
export function lineMatcher(
  match: string | RegExp | ((line: string) => boolean),
): (line: string) => boolean {
  return typeof match === "function"
    ? match
    : typeof match === "string"
    ? (line: string) => line === match
    : (line: string) => match.test(line);
}

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

/** Resolves after `ms`: for pacing a test, never for waiting on a result. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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

/** How a {@linkcode LineCollector} splits and keeps what it reads. */
export interface LineCollectorOptions {
  /**
   * Keep a `\r` before `\n` (by default it is removed, as `\r\n` is one line
   * ending), so that one a server let through shows.
   */
  keepCarriageReturns?: boolean;
  /** False to only drain the stream and count its bytes, keeping no lines. */
  keep?: boolean;
  /**
   * Keep only this many bytes of each line: less to hold and to collect
   * where only the start of lines matters.
   */
  prefixBytes?: number;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Collects the lines of a byte stream as they arrive, so a test can wait for
 * a particular one while the stream keeps being drained. Lines end at `\n`
 * only; each is decoded on its own, and one that is not valid UTF-8 is
 * counted in {@linkcode LineCollector.invalidUtf8} (and read with U+FFFD).
 */
export class LineCollector {
  readonly lines: string[] = [];
  /** `performance.now()` when each line arrived. */
  readonly times: number[] = [];
  /** Lines that were not valid UTF-8. */
  invalidUtf8 = 0;
  /** Bytes read so far, kept or not. */
  bytes = 0;
  /** `performance.now()` when the stream ended; 0 before. */
  endedAt = 0;
  readonly done: Promise<void>;
  readonly #options: LineCollectorOptions;
  #pending: Uint8Array[] = [];
  #ended = false;
  #waiters: (() => void)[] = [];

  constructor(
    stream: ReadableStream<Uint8Array>,
    options: LineCollectorOptions = {},
  ) {
    this.#options = options;
    this.done = this.#pump(stream);
  }

  /** True once the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Everything received so far, joined with newlines. */
  get text(): string {
    const unfinished = this.#pending.length > 0
      ? "\n" + decoder.decode(concatBytes(this.#pending))
      : "";
    return this.lines.join("\n") + unfinished;
  }

  /** Waits until a line (from index `from` on) matches; returns it. */
  async waitFor(
    match: string | RegExp | ((line: string) => boolean),
    options: { from?: number; ms?: number } = {},
  ): Promise<string> {
    return this.lines[await this.waitForIndex(match, options)];
  }

  /** Waits until a line (from index `from` on) matches; returns its index. */
  waitForIndex(
    match: string | RegExp | ((line: string) => boolean),
    options: { from?: number; ms?: number } = {},
  ): Promise<number> {
    const test = lineMatcher(match);
    let index = options.from ?? 0;
    return this.#wait(
      () => {
        for (; index < this.lines.length; index++) {
          if (test(this.lines[index])) return index;
        }
        return undefined;
      },
      `a line matching ${match}`,
      options.ms,
    );
  }

  /** The line at `index`, once it has arrived. */
  async lineAt(index: number, ms?: number): Promise<string> {
    await this.#wait(
      () => index < this.lines.length ? true : undefined,
      `line ${index}`,
      ms,
    );
    return this.lines[index];
  }

  /** Waits until `target` lines in all match `predicate`. */
  async waitForCount(
    predicate: (line: string) => boolean,
    target: number,
    ms?: number,
  ): Promise<void> {
    let seen = 0;
    let index = 0;
    await this.#wait(
      () => {
        for (; index < this.lines.length; index++) {
          if (predicate(this.lines[index])) seen++;
        }
        return seen >= target ? true : undefined;
      },
      `${target} matching lines`,
      ms,
    );
  }

  /** Waits until the stream ends. */
  async waitForEnd(ms: number = WAIT_MS): Promise<void> {
    await deadline(this.done, "the stream to end", ms);
  }

  #wait<T>(
    check: () => T | undefined,
    what: string,
    ms: number = WAIT_MS,
  ): Promise<T> {
    return deadline(
      (async () => {
        while (true) {
          const found = check();
          if (found !== undefined) return found;
          if (this.#ended) {
            throw new Error(
              `stream ended before ${what}; got:\n${this.#tail()}`,
            );
          }
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      // Built only on a timeout: joining thousands of lines on each wait
      // would stall the event loop and distort latencies being measured.
      () => `${what}; got so far:\n${this.#tail()}`,
      ms,
    );
  }

  /** The last lines received, for error messages. */
  #tail(): string {
    return this.lines.slice(-40).join("\n").slice(-2000);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream) {
        this.bytes += chunk.length;
        if (this.#options.keep ?? true) this.#split(chunk);
        this.#wake();
      }
    } catch { /* the stream was cut: treat as its end */ }
    if (this.#pending.length > 0) {
      this.#push(concatBytes(this.#pending), performance.now());
    }
    this.#pending = [];
    this.#ended = true;
    this.endedAt = performance.now();
    this.#wake();
  }

  #split(chunk: Uint8Array): void {
    const at = performance.now();
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.#pending.push(chunk.slice(start));
        break;
      }
      const part = chunk.subarray(start, newline);
      this.#push(
        this.#pending.length ? concatBytes([...this.#pending, part]) : part,
        at,
      );
      this.#pending = [];
      start = newline + 1;
    }
  }

  #push(bytes: Uint8Array, at: number): void {
    if (
      !this.#options.keepCarriageReturns && bytes[bytes.length - 1] === 0x0d
    ) {
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length > (this.#options.prefixBytes ?? Infinity)) {
      bytes = bytes.subarray(0, this.#options.prefixBytes);
    }
    let text: string;
    try {
      text = strictDecoder.decode(bytes);
    } catch {
      this.invalidUtf8++;
      text = decoder.decode(bytes);
    }
    this.lines.push(text);
    this.times.push(at);
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
      /** Issue 10: run inside this network namespace (`ip netns exec`). */
      netns?: string;
    } = {},
  ) {
    const [program, ...programArgs] = [
      ...(options.netns ? ["ip", "netns", "exec", options.netns] : []),
      ...(options.program ? [options.program, ...args] : chatCommand(args)),
    ];
    this.child = new Deno.Command(program, {
      args: programArgs,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      // English unless a test asks otherwise, whatever this machine's locale.
      // Issue 10: no server or client a test starts sends a multicast packet
      // (discovery tests turn it back on, inside their own namespaces).
      env: {
        NO_COLOR: "1",
        CHAT_NO_DISCOVERY: "1",
        ...ENGLISH_LOCALE,
        XDG_CONFIG_HOME: newConfigHome(),
        ...options.env,
      },
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
      netns?: string; // issue 10
      /** A port of its own, e.g. to restart a server where it was. */
      port?: number;
    } = {},
  ): Promise<ChatProcess> {
    const server = new ChatProcess(
      [
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        String(options.port ?? 0),
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
    await this.write(line + "\n");
  }

  /** Writes `text` to the process's stdin exactly as given. */
  async write(text: string): Promise<void> {
    await deadline(
      this.#stdin!.write(encoder.encode(text)),
      "a write to the program's input",
    );
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

/** How {@linkcode TcpClient.connect} reads what the server sends. */
export interface TcpClientOptions extends LineCollectorOptions {
  /**
   * False for a client that never reads: its socket is left undrained, so
   * the server's writes to it fill the socket buffers, then its queue.
   */
  read?: boolean;
}

/**
 * A raw TCP client, as `nc` would be: bytes out, lines in (split on `\n`
 * only, each checked for valid UTF-8).
 */
export class TcpClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly received: LineCollector;
  /**
   * Index in `received.lines` of this client's welcome line, once
   * {@linkcode TcpClient.join} has joined; -1 before. Lines after it were
   * said after it joined (a watcher also receives lines before it).
   */
  welcomeIndex = -1;
  readonly #reads: boolean;
  #closed = false;

  private constructor(conn: Deno.TcpConn, options: TcpClientOptions) {
    this.conn = conn;
    this.#reads = options.read ?? true;
    // A client that never reads is built by not draining its socket. Like
    // nc, it shows a "\r" the server sent, which the server never should.
    this.received = new LineCollector(
      this.#reads ? conn.readable : new ReadableStream(),
      { keepCarriageReturns: true, ...options },
    );
  }

  /** The lines received so far (`received.lines`). */
  get lines(): string[] {
    return this.received.lines;
  }

  /**
   * Connects to the server on 127.0.0.1 and, by default, reads what it
   * sends. Nagle's algorithm is off, as in `chat connect`: no delay on lines.
   */
  static async connect(
    port: number,
    options: TcpClientOptions = {},
  ): Promise<TcpClient> {
    const conn = await deadline(
      Deno.connect({ hostname: "127.0.0.1", port }),
      `a connection to port ${port}`,
    );
    conn.setNoDelay(true);
    return new TcpClient(conn, options);
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
    options: { password?: string } & LineCollectorOptions = {},
  ): Promise<TcpClient> {
    const client = await TcpClient.connect(port, options);
    try {
      // The greeting (or the password request) is the first line.
      await client.received.lineAt(0);
      let from = 1;
      if (options.password !== undefined) {
        await client.send(`/pass ${options.password}`);
        from = 1 + await client.received.waitForIndex(
          (line) => line.startsWith("*** Password accepted."),
          { from },
        );
      }
      await client.send(name ? `/nick ${name}` : "/join");
      const welcome = `*** Welcome, ${name ? `${name}!` : ""}`;
      client.welcomeIndex = await client.received.waitForIndex(
        (line) => line.startsWith(welcome),
        { from },
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

  /** Closes the connection (again: nothing happens). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
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

/**
 * True when `tmux` runs here; tests of a real terminal are ignored
 * (`Deno.test({ ignore: !TMUX_FOUND })`) where it does not.
 */
export const TMUX_FOUND: boolean = await new Deno.Command("tmux", {
  args: ["-V"],
  stdout: "null",
  stderr: "null",
}).output().then((result) => result.success, () => false);

/** Quotes `text` for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * A program in a real terminal: a private tmux server with one window.
 * Keys are typed with `send-keys`, the screen read with `capture-pane`.
 */
export class Terminal implements AsyncDisposable {
  readonly #socket = `chat-test-${crypto.randomUUID()}`;

  /**
   * Runs `command` in a terminal `columns` wide, in English unless `env`
   * says otherwise. Once it ends, the screen shows `EXIT=status`.
   */
  async start(
    command: string[],
    env: Record<string, string> = {},
    size: { columns?: number; rows?: number } = {},
  ): Promise<void> {
    const assignments = Object.entries({
      XDG_CONFIG_HOME: newConfigHome(),
      ...env,
    }).map(([key, value]) => `${key}=${shellQuote(value)}`);
    // The shell prints the exit status once the program ends, then waits.
    // English unless `env` says otherwise, whatever this machine's locale.
    // Issue 10: CHAT_NO_DISCOVERY=1 unless `env` says otherwise.
    const script =
      `env -u NO_COLOR -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 CHAT_NO_DISCOVERY=1 ${
        assignments.join(" ")
      } ${command.map(shellQuote).join(" ")}; echo "EXIT=$?"; sleep 60`;
    await this.#tmux([
      "new-session",
      "-d",
      "-x",
      String(size.columns ?? 100),
      "-y",
      String(size.rows ?? 30),
      script,
    ]);
  }

  /** Types `text` as it is (no key names), in one burst like a paste. */
  async type(text: string): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", "-l", text]);
  }

  /**
   * Issue 12: pastes `text` as a terminal does: tmux wraps it in the
   * bracketed-paste markers when the program asked for them (`ESC[?2004h`),
   * and sends each line end as a carriage return, as a real terminal does.
   */
  async paste(text: string): Promise<void> {
    const buffer = `paste-${crypto.randomUUID()}`;
    await this.#tmux(["set-buffer", "-b", buffer, "--", text]);
    await this.#tmux(["paste-buffer", "-p", "-d", "-b", buffer, "-t", "0"]);
  }

  /** From now on, everything the program writes to the screen goes to `file`. */
  async recordOutput(file: string): Promise<void> {
    await this.#tmux(["pipe-pane", "-t", "0", "-O", `cat >> ${file}`]);
  }

  /**
   * The screen's lines with rows that wrapped joined into one line, as
   * typed (trailing spaces kept); with `history`, the lines that scrolled
   * off the top too.
   */
  async lines(history = false): Promise<string[]> {
    const text = await this.#tmux([
      "capture-pane",
      "-p",
      "-J",
      ...(history ? ["-S", "-"] : []),
      "-t",
      "0",
    ]);
    return text.replace(/\n+$/, "").split("\n");
  }

  /** A tmux format for the pane, such as `#{pane_title}`. */
  async paneFormat(format: string): Promise<string> {
    return (await this.#tmux(["display-message", "-p", "-t", "0", format]))
      .trimEnd();
  }

  /** Makes the window `columns` wide (tmux rewraps what is on screen). */
  async resize(columns: number, rows: number): Promise<void> {
    await this.#tmux([
      "resize-window",
      "-t",
      "0",
      "-x",
      String(columns),
      "-y",
      String(rows),
    ]);
  }

  /** Types text; `Enter`, `C-c` and `C-d` are keys. */
  async keys(...keys: string[]): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", ...keys]);
  }

  /** What the screen shows now; with `escapes`, including colours. */
  async screen(escapes = false): Promise<string> {
    return await this.#tmux([
      "capture-pane",
      "-p",
      ...(escapes ? ["-e"] : []),
      "-t",
      "0",
    ]);
  }

  /** Polls the screen until `test` passes; fails after the deadline. */
  async waitFor(
    what: string,
    test: (screen: string) => boolean,
    escapes = false,
  ): Promise<string> {
    return await this.#poll(what, () => this.screen(escapes), test, (s) => s);
  }

  /** Polls {@linkcode Terminal.lines} until `test` passes. */
  async waitForLines(
    what: string,
    test: (lines: string[]) => boolean,
  ): Promise<string[]> {
    return await this.#poll(
      what,
      () => this.lines(),
      test,
      (lines) => lines.join("\n"),
    );
  }

  async #poll<T>(
    what: string,
    read: () => Promise<T>,
    test: (value: T) => boolean,
    show: (value: T) => string,
  ): Promise<T> {
    let last: T | undefined;
    try {
      return await deadline(
        (async () => {
          for (let polls = 0; polls < WAIT_MS / 20; polls++) {
            last = await read();
            if (test(last)) return last;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          throw new Error("gave up polling");
        })(),
        what,
      );
    } catch (error) {
      const screen = last === undefined ? "" : show(last);
      throw new Error(`${(error as Error).message}; screen:\n${screen}`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#tmux(["kill-server"]).catch(() => {});
  }

  async #tmux(args: string[]): Promise<string> {
    const result = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(
        `tmux ${args[0]} failed: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
    return new TextDecoder().decode(result.stdout);
  }
}
