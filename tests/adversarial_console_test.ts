/**
 * Adversarial tests of the host's console: a `chat serve` whose stdout
 * nobody reads (`chat serve | less` left on one screen, an SSH session
 * asleep, a terminal held) must not hold up the room. Each starts the real
 * `main.ts`, stops reading its output, floods the room from 8 clients on
 * 127.0.0.1, prints what it tried and what held, and asserts it.
 *
 * Also unit tests of `ConsoleOutput` with a stdout that writes only when
 * the test lets it.
 */

import assert from "node:assert/strict";
import {
  chatCommand,
  ChatProcess,
  deadline,
  ENGLISH_LOCALE,
  findProgram,
  LIFTED_LIMITS,
  shellQuote,
  sleep,
  TcpClient,
} from "./harness.ts";
import { ConsoleOutput } from "../lib/terminal.ts";

const CLIENTS = 8;
const LINES_PER_CLIENT = 250;
const TOTAL_LINES = CLIENTS * LINES_PER_CLIENT;
/** Between two lines of one client: 8 clients send 800 lines/s in all. */
const PACE_MS = 10;
/** Each message is this long, so the room says far more than 256 KiB + a pipe. */
const PADDING = "x".repeat(150);
/** Every client must have every line this soon after the last was sent. */
const DELIVERY_MS = 15_000;

const decoder = new TextDecoder();

/** A message line as the console shows it: sender, number, padding. */
const MESSAGE = /^u(\d): line (\d+) from u\1 (x+)$/;

/** `chat serve` started with a stdout the test reads only when it wants. */
class UnreadServer implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Everything read from stdout so far. */
  output = "";
  port = 0;

  constructor(command: [string, ...string[]]) {
    const [program, ...args] = command;
    this.child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1", ...ENGLISH_LOCALE },
    }).spawn();
    this.#reader = this.child.stdout.getReader();
  }

  /** Reads stdout until `done(output)` holds; then stops reading. */
  async readUntil(
    done: (output: string) => boolean,
    what: string,
    ms = 10_000,
  ): Promise<void> {
    await deadline(
      (async () => {
        while (!done(this.output)) {
          const { value, done: ended } = await this.#reader.read();
          if (ended) throw new Error(`stdout ended before ${what}`);
          this.output += decoder.decode(value, { stream: true });
        }
      })(),
      what,
      ms,
    );
  }

  /** Reads the port from the first line, then reads nothing more. */
  async start(): Promise<void> {
    await this.readUntil((out) => /:(\d+)/.test(out), "the port line");
    this.port = Number(/:(\d+)/.exec(this.output)![1]);
  }

  /** Reads stdout to its end (the process must be ending). */
  async readToEnd(ms = 10_000): Promise<void> {
    await deadline(
      (async () => {
        while (true) {
          const { value, done } = await this.#reader.read();
          if (done) break;
          this.output += decoder.decode(value, { stream: true });
        }
      })(),
      "the end of stdout",
      ms,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
    await this.child.stdin.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
  }
}

/**
 * Joins 8 clients, has each send its lines at a steady pace, and waits
 * (bounded) until every client has every line. Returns how long delivery
 * took after the last line was sent, or throws with how far it got.
 */
async function floodRoom(port: number): Promise<number> {
  const clients: TcpClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(await TcpClient.join(port, `u${i}`));
    }
    await Promise.all(clients.map(async (client, i) => {
      for (let n = 1; n <= LINES_PER_CLIENT; n++) {
        await client.send(`line ${n} from u${i} ${PADDING}`);
        await sleep(PACE_MS);
      }
    }));
    const lastSent = performance.now();
    const received = (client: TcpClient) =>
      client.lines.slice(client.welcomeIndex + 1).filter((line) =>
        MESSAGE.test(line)
      ).length;
    await deadline(
      Promise.all(clients.map((client) =>
        client.received.waitForCount(
          (line) => MESSAGE.test(line),
          TOTAL_LINES,
          DELIVERY_MS + 1_000, // the deadline below says how far it got
        )
      )),
      () =>
        `every client to receive all ${TOTAL_LINES} lines; received: ${
          clients.map(received).join(", ")
        }`,
      DELIVERY_MS,
    );
    // Every client got every line, in each sender's order.
    for (const client of clients) {
      const next = Array(CLIENTS).fill(1);
      for (const line of client.lines.slice(client.welcomeIndex + 1)) {
        const match = MESSAGE.exec(line);
        if (!match) continue;
        const from = Number(match[1]);
        assert.equal(Number(match[2]), next[from], `order of u${from}`);
        next[from]++;
      }
    }
    return performance.now() - lastSent;
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
}

/** Lines shown and lines said skipped, after the room's lines start. */
function checkConsole(
  lines: string[],
): { shown: number; skipped: number; notices: number } {
  let shown = 0;
  let skipped = 0;
  let notices = 0;
  const next = Array(CLIENTS).fill(0);
  for (const line of lines) {
    const message = MESSAGE.exec(line);
    const skip = /^\[(\d+) lines? not shown: the console was not keeping up\]$/
      .exec(line);
    if (message) {
      // Whole lines only, each sender's in order (gaps where skipped).
      assert.equal(message[3], PADDING, `a cut line: ${line}`);
      const from = Number(message[1]);
      assert.ok(Number(message[2]) > next[from], `order: ${line}`);
      next[from] = Number(message[2]);
      shown++;
    } else if (skip) {
      skipped += Number(skip[1]);
      notices++;
    } else {
      assert.match(
        line,
        /^(\*\*\* |Server stopped\.$|$)/,
        `not a whole console line: ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
  }
  return { shown, skipped, notices };
}

Deno.test("a server whose stdout nobody reads keeps serving the room, and its console says how many lines it skipped", async () => {
  await using server = new UnreadServer(
    chatCommand([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--name",
      "host",
      ...LIFTED_LIMITS,
    ]),
  );
  await server.start();
  console.log(
    `tried: chat serve with stdout a pipe read up to its port line only, then ${CLIENTS} clients sending ${LINES_PER_CLIENT} lines of ${
      PADDING.length + 20
    } bytes each every ${PACE_MS} ms (${TOTAL_LINES} lines, ~${
      Math.round(TOTAL_LINES * (PADDING.length + 20) / 1024)
    } KiB of console output)`,
  );
  const late = await floodRoom(server.port);
  console.log(
    `held: every client received all ${TOTAL_LINES} lines, in order, ${
      Math.round(late)
    } ms after the last was sent, while nobody read the console`,
  );

  // Reading again: what was written is whole, and a line says what was not.
  await server.readUntil(
    (out) => /lines? not shown: the console was not keeping up\]\n/.test(out),
    "the skipped-lines line once stdout is read again",
  );
  server.child.kill("SIGTERM");
  await server.readToEnd();
  const status = await deadline(server.child.status, "the server to exit");
  assert.equal(status.code, 0);
  const all = server.output.split("\n");
  const first = all.findIndex((line) => line.startsWith("*** u0 joined"));
  assert.ok(first >= 0, "the console showed u0 joining");
  assert.equal(all.at(-1), "", "the output ends with a whole line");
  const { shown, skipped, notices } = checkConsole(all.slice(first));
  assert.ok(skipped > 0 && notices >= 1);
  assert.ok(shown < TOTAL_LINES);
  assert.ok(
    shown + skipped >= TOTAL_LINES,
    `${shown} shown + ${skipped} skipped < ${TOTAL_LINES}`,
  );
  assert.ok(server.output.includes("Server stopped.\n"));
  console.log(
    `held: once read, the console had ${shown} whole message lines in order, ${notices} line(s) saying ${skipped} were not shown, no partial line, and "Server stopped." at the end`,
  );
});

const SCRIPT = findProgram("script");

Deno.test({
  name:
    "a server at a terminal nobody reads (a pty whose other end stopped reading) keeps serving the room",
  // `script` gives the server a real terminal (stdin and stdout a pty) and
  // copies it to a pipe: when the test stops reading that pipe, `script`
  // stops reading the pty, and the server's writes to its terminal block,
  // like a terminal held or an SSH session asleep.
  ignore: SCRIPT === undefined,
  async fn() {
    const chat = chatCommand([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--name",
      "host",
      ...LIFTED_LIMITS,
    ]).map(shellQuote).join(" ");
    await using server = new UnreadServer([
      SCRIPT!,
      "-q",
      "-e",
      "-c",
      chat,
      "/dev/null",
    ]);
    await server.start();
    console.log(
      `tried: chat serve at a pty (through script) read up to its port line only, then ${CLIENTS} clients sending ${TOTAL_LINES} lines`,
    );
    const late = await floodRoom(server.port);
    console.log(
      `held: every client received all ${TOTAL_LINES} lines, in order, ${
        Math.round(late)
      } ms after the last was sent, while nobody read the terminal`,
    );
    await server.readUntil(
      (out) => /lines? not shown: the console was not keeping up\]/.test(out),
      "the skipped-lines line once the terminal is read again",
    );
    // Whole lines on the screen: the editor's drawing is never cut.
    const screen = server.output
      // deno-lint-ignore no-control-regex -- removing the editor's drawing
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")
      .split(/\r?\n/)
      .map((line) =>
        line.replace(/\r+$/, "").replace(/^.*\r/, "").replace(/^> /, "")
      );
    const first = screen.findIndex((line) => line.startsWith("*** u0 joined"));
    assert.ok(first >= 0, "the terminal showed u0 joining");
    const shown = screen.filter((line) => MESSAGE.test(line)).length;
    const cut = screen.filter((line) =>
      /^u\d: line/.test(line) && !MESSAGE.test(line) && line !== "> "
    );
    assert.deepEqual(cut.slice(0, 3), [], "lines cut on the screen");
    console.log(
      `held: once read, the terminal showed ${shown} whole message lines and the skipped-lines line`,
    );
  },
});

Deno.test("chat connect whose stdout nobody reads still sends what is typed, and shows every line once read", async () => {
  // The server's own output is read: only chat connect's is not.
  await using server = await ChatProcess.serve(["--name", "host"]);
  const [program, ...args] = chatCommand([
    "connect",
    `127.0.0.1:${server.port}`,
    "--name",
    "robot",
  ]);
  // stdout a pipe the test does not read until the end; stdin a pipe.
  const robot = new Deno.Command(program, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1", ...ENGLISH_LOCALE },
  }).spawn();
  const typing = robot.stdin.getWriter();
  try {
    await using watcher = await TcpClient.join(server.port, "watcher");
    await watcher.received.waitFor("*** robot joined", {
      from: watcher.welcomeIndex,
    });
    // Half the room's lines of the test above: more than a pipe holds
    // (64 KiB), less than the console's buffer (256 KiB).
    const lines = TOTAL_LINES / 2;
    console.log(
      `tried: chat connect with stdout a pipe nobody reads, ${CLIENTS} clients sending ${lines} lines of ${
        PADDING.length + 20
      } bytes (~${
        Math.round(lines * (PADDING.length + 20) / 1024)
      } KiB), then a line typed at chat connect`,
    );
    const clients: TcpClient[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) {
        clients.push(await TcpClient.join(server.port, `u${i}`));
      }
      await Promise.all(clients.map(async (client, i) => {
        for (let n = 1; n <= lines / CLIENTS; n++) {
          await client.send(`line ${n} from u${i} ${PADDING}`);
          await sleep(PACE_MS);
        }
      }));
      await watcher.received.waitForCount(
        (line) => MESSAGE.test(line),
        lines,
      );
      await deadline(
        typing.write(new TextEncoder().encode("still here\n")),
        "a line typed at chat connect",
      );
      await watcher.received.waitFor("robot: still here", {
        from: watcher.welcomeIndex,
        ms: 5_000,
      });
      console.log(
        "held: what was typed reached the room while chat connect's output was not read",
      );
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
    await typing.close();
    let output = "";
    await deadline(
      (async () => {
        for await (const chunk of robot.stdout) {
          output += decoder.decode(chunk, { stream: true });
        }
      })(),
      "the end of chat connect's output",
    );
    const status = await deadline(robot.status, "chat connect to exit");
    assert.equal(status.code, 0);
    const shown = output.split("\n").filter((line) => MESSAGE.test(line));
    assert.equal(shown.length, lines, "every line, none skipped");
    assert.ok(!output.includes("not shown"));
    assert.ok(output.includes("robot: still here\n"));
    console.log(
      `held: once read, chat connect's output had all ${lines} lines, whole, and its own`,
    );
  } finally {
    await typing.close().catch(() => {});
    try {
      robot.kill("SIGKILL");
    } catch { /* already gone */ }
    await robot.status;
    await robot.stdout.cancel().catch(() => {});
  }
});

/** A stdout that writes only when the test calls `release()`. */
class HeldStdout {
  written = "";
  #pending: (() => void)[] = [];
  readonly write = (bytes: Uint8Array): Promise<number> =>
    new Promise((resolve) => {
      this.#pending.push(() => {
        this.written += decoder.decode(bytes);
        resolve(bytes.length);
      });
    });
  get waiting(): number {
    return this.#pending.length;
  }
  release(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const finish of pending) finish();
  }
}

/** Lets every write finish, one after the other, until nothing is left. */
async function releaseAll(
  stdout: HeldStdout,
  output: ConsoleOutput,
): Promise<void> {
  let flushed = false;
  output.flushed().then(() => flushed = true);
  for (let round = 0; round < 100 && !flushed; round++) {
    stdout.release();
    await settle();
  }
  assert.ok(flushed, "the output was flushed");
}

/** Lets queued microtasks and settled promises run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("the server's console output skips lines while stdout is held, then says how many, in French too", async () => {
  for (
    const [lang, said] of [
      ["en", "[4 lines not shown: the console was not keeping up]"],
      ["fr", "[4 lignes non affichées : la console ne suivait pas]"],
    ] as const
  ) {
    const stdout = new HeldStdout();
    const output = new ConsoleOutput({
      whenBehind: "skip",
      lang,
      limitBytes: 128,
      write: stdout.write,
    });
    output.line("one");
    await settle();
    assert.equal(stdout.waiting, 1, "one write at a time");
    output.line("two"); // 4 + 4 bytes: fits
    output.line("three-33"); // 4 + 4 + 9 = 17: fits
    output.line("four".repeat(30)); // 17 + 121 > 128: skipped
    output.line("five"); // skipped until the output catches up
    output.line("six\nsix"); // two lines
    assert.equal(output.whenWritable(), undefined, "the room never waits");
    stdout.release(); // "one" written: "two" and "three-33" left, then
    await settle(); // the skipped-lines line
    output.line("seven");
    await releaseAll(stdout, output);
    assert.equal(
      stdout.written,
      `one\ntwo\nthree-33\n${said}\nseven\n`,
    );
  }
});

Deno.test("chat connect's console output keeps every line and says when to stop reading the room", async () => {
  const stdout = new HeldStdout();
  const output = new ConsoleOutput({
    whenBehind: "wait",
    lang: "en",
    limitBytes: 16,
    write: stdout.write,
  });
  output.line("first line");
  assert.equal(output.whenWritable(), undefined);
  output.line("second");
  const behind = output.whenWritable();
  assert.ok(behind, "past the limit, the room must wait");
  let resumed = false;
  behind.then(() => resumed = true);
  await settle();
  assert.equal(resumed, false);
  await releaseAll(stdout, output);
  assert.equal(resumed, true);
  assert.equal(stdout.written, "first line\nsecond\n");
});
