/**
 * End-to-end tests of `chat connect` in pipe mode, and of every error the
 * command line reports: the real `main.ts` in subprocesses, against the real
 * server or against a fake one on 127.0.0.1 that plays an older, newer or
 * misbehaving server line by line.
 */

import assert from "node:assert/strict";
import { eventText, parseServerEvent } from "../lib/client_events.ts";
import {
  chatCommand,
  ChatProcess,
  deadline,
  ENGLISH_LOCALE,
  LineCollector,
  TcpClient,
  Terminal,
  TMUX_FOUND,
} from "./harness.ts";

/** Runs `chat ARGS` to completion and returns its status and output. */
async function run(
  args: string[],
  options: { env?: Record<string, string>; ms?: number } = {},
) {
  await using child = new ChatProcess(args, { env: options.env });
  const status = await child.exit(options.ms);
  return {
    code: status.code,
    stdout: child.stdout.lines,
    stderr: child.stderr.lines,
  };
}

/** Asserts a failure was reported as exactly one line and no stack trace. */
function assertOneLineError(
  result: { code: number; stderr: string[] },
  code: number,
  message: string | RegExp,
) {
  assert.equal(result.code, code, result.stderr.join("\n"));
  assert.equal(result.stderr.length, 1, result.stderr.join("\n"));
  if (typeof message === "string") assert.equal(result.stderr[0], message);
  else assert.match(result.stderr[0], message);
}

Deno.test("two piped clients chat, and each exits 0 when its input ends", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using bob = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "bob"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** bob joined");
  await using alice = new ChatProcess(
    ["connect", "127.0.0.1", "--port", String(server.port), "--name", "alice"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** alice joined");
  await alice.type("bonjour bob");
  await alice.type("/me waves");
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  assert.match(alice.stdout.lines[0], /^\*\*\* Welcome, alice! Online \(4\)/);
  assert.deepEqual(alice.stdout.lines.slice(1), [
    "alice: bonjour bob",
    "* alice waves",
    "*** Bye!",
  ]);
  await bob.stdout.waitFor("alice: bonjour bob");
  await bob.stdout.waitFor("* alice waves");
  await bob.stdout.waitFor("*** alice left");
  await bob.type("/quit");
  assert.equal((await bob.exit()).code, 0, bob.stderr.text);
  assert.deepEqual(bob.stderr.lines, []);
});

Deno.test("lines piped in are all delivered, in order, before the client quits", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using sender = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "sender"],
    { stdin: true },
  );
  const count = 500;
  for (let n = 0; n < count; n++) await sender.type(`message ${n}`);
  await sender.endInput();
  assert.equal((await sender.exit()).code, 0, sender.stderr.text);
  await watcher.received.waitFor("*** sender left");
  const got = watcher.received.lines.filter((line) =>
    line.startsWith("sender: ")
  );
  assert.deepEqual(
    got,
    Array.from({ length: count }, (_, n) => `sender: message ${n}`),
  );
});

Deno.test("the login name is used by default; a taken one falls back to guestN", async () => {
  await using server = await ChatProcess.serve();
  await using taken = await TcpClient.join(server.port, "john_doe");
  await using client = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`],
    { stdin: true, env: { USER: "john.doe" } },
  );
  await client.stdout.waitFor(
    '*** error: the name "john_doe" is taken. Try another one.',
  );
  await client.type("still here");
  await taken.received.waitFor("guest1: still here");
  await client.endInput();
  assert.equal((await client.exit()).code, 0);
});

Deno.test("typing /quit or stop exits 0", async () => {
  await using server = await ChatProcess.serve();
  for (const quit of ["/quit", "stop"]) {
    await using client = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "quitter"],
      { stdin: true },
    );
    await client.type(quit);
    assert.equal(
      (await client.exit()).code,
      0,
      `${quit}: ${client.stderr.text}`,
    );
    assert.equal(client.stdout.lines.at(-1), "*** Bye!");
  }
});

Deno.test("Ctrl-C (SIGINT) quits the client with status 0", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using client = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "leaver"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** leaver joined");
  client.kill("SIGINT");
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  await watcher.received.waitFor("*** leaver left");
});

Deno.test("with --no-reconnect, when the server goes away the client says so and exits 1", async () => {
  await using server = await ChatProcess.serve();
  await using client = new ChatProcess(
    [
      "connect",
      `127.0.0.1:${server.port}`,
      "--name",
      "alice",
      "--no-reconnect",
    ],
    { stdin: true },
  );
  await server.stdout.waitFor("*** alice joined");
  server.kill("SIGTERM");
  const result = await client.exit();
  assertOneLineError(
    { code: result.code, stderr: client.stderr.lines },
    1,
    `Disconnected from 127.0.0.1:${server.port}: the server shut down.`,
  );
  assert.equal(client.stdout.lines.at(-1), "*** server is shutting down");
});

Deno.test("a refused --name is one clear line and exit 1", async () => {
  await using server = await ChatProcess.serve(["--name", "teacher"]);
  const result = await run([
    "connect",
    `127.0.0.1:${server.port}`,
    "--name",
    "Teacher",
  ]);
  assertOneLineError(
    result,
    1,
    'chat: The server refused the name "Teacher": the name "Teacher" is taken. Try another one.',
  );
});

Deno.test("any /quit the server treats as leaving exits 0, without a disconnection line", async () => {
  await using server = await ChatProcess.serve();
  for (const quit of ["/quit now", "/QUIT", "/quit see you tomorrow"]) {
    await using client = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "quitter"],
      { stdin: true },
    );
    await client.stdout.waitFor(/^\*\*\* Welcome, quitter!/);
    await client.type(quit);
    const status = await client.exit();
    assert.equal(status.code, 0, `${quit}: ${client.stderr.text}`);
    assert.deepEqual(client.stderr.lines, [], quit);
    assert.equal(client.stdout.lines.at(-1), "*** Bye!", quit);
  }
});

// --- at a terminal (tmux) -------------------------------------------------------

if (!TMUX_FOUND) {
  console.log(
    "terminal tests of chat connect skipped: tmux is not installed (apt-get install tmux)",
  );
}

/** The rows of a screen, without trailing blanks and blank rows. */
function screenRows(screen: string): string[] {
  return screen.split("\n").map((row) => row.trimEnd()).filter((row) =>
    row !== ""
  );
}

Deno.test({
  name:
    "at a terminal, a taken --name is one line, with no stray prompt, and exit 1",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using _bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "BOB"]),
      { TERM: "xterm-256color" },
    );
    const screen = await terminal.waitFor(
      "exit status 1",
      (s) => s.includes("EXIT=1"),
    );
    assert.deepEqual(screenRows(screen), [
      'chat: The server refused the name "BOB": the name "BOB" is taken. Try another one.',
      "EXIT=1",
    ]);
  },
});

Deno.test({
  name:
    "at a terminal, a default name that is taken (one login for the whole lab) is asked for again instead of becoming guestN",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using first = await TcpClient.join(server.port, "etudiant");
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`]),
      { TERM: "xterm-256color", USER: "etudiant" },
    );
    const question =
      "*** Type the name you want and press Enter, or just press Enter to join as a guest.";
    await terminal.waitFor("the question", (s) => s.includes(question));
    assert.ok(
      (await terminal.screen()).includes(
        '*** error: the name "etudiant" is taken. Try another one.',
      ),
    );
    // A taken answer is refused, and the question comes again.
    await terminal.keys("ETUDIANT", "Enter");
    await terminal.waitFor(
      "the second refusal and question",
      (s) =>
        s.includes('*** error: the name "ETUDIANT" is taken.') &&
        s.split(question).length === 3,
    );
    await terminal.keys("élodie", "Enter");
    await terminal.waitFor(
      "the welcome line",
      (s) =>
        s.includes("*** Welcome, élodie! Online (3): host, etudiant, élodie."),
    );
    await first.received.waitFor("*** élodie joined");
    await terminal.keys("bonjour", "Enter");
    await first.received.waitFor("élodie: bonjour");
    assert.ok(!first.lines.some((line) => /guest\d/.test(line)));
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));

    // Enter alone joins as a guest.
    await using second = new Terminal();
    await second.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`]),
      { TERM: "xterm-256color", USER: "etudiant" },
    );
    await second.waitFor("the question", (s) => s.includes(question));
    await second.keys("Enter");
    await second.waitFor(
      "the welcome line",
      (s) => /\*\*\* Welcome, guest\d+!/.test(s),
    );
    await second.keys("C-c");
    await second.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal, a wrong room password is asked for again, three tries in all",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve(["--password"], {
      env: { CHAT_PASSWORD: "sésame ouvre-toi" },
    });
    const prompt = `Password for the room at 127.0.0.1:${server.port}:`;
    const prompts = (s: string) => s.split(prompt).length - 1;
    const retry = (attempt: number) =>
      `Wrong password. Try again (try ${attempt} of 3).`;

    // Wrong, wrong, right: in.
    {
      await using terminal = new Terminal();
      await terminal.start(
        chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "alice"]),
        { TERM: "xterm-256color" },
      );
      for (const [attempt, typed] of ["guess one", "guess two"].entries()) {
        await terminal.waitFor(
          `prompt ${attempt + 1}`,
          (s) => prompts(s) === attempt + 1,
        );
        await terminal.keys(typed, "Enter");
        await terminal.waitFor(
          `the retry after ${typed}`,
          (s) => s.includes(retry(attempt + 2)),
        );
      }
      await terminal.waitFor("prompt 3", (s) => prompts(s) === 3);
      await terminal.keys("sésame ouvre-toi", "Enter");
      const screen = await terminal.waitFor(
        "the welcome line",
        (s) => s.includes("*** Welcome, alice!"),
      );
      assert.ok(!/guess|sésame/.test(screen), screen);
      await terminal.keys("C-d");
      await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
    }

    // Three wrong: one line, exit 1.
    {
      await using terminal = new Terminal();
      await terminal.start(
        chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "bob"]),
        { TERM: "xterm-256color" },
      );
      for (let attempt = 1; attempt <= 3; attempt++) {
        await terminal.waitFor(
          `prompt ${attempt}`,
          (s) => prompts(s) === attempt,
        );
        await terminal.keys(`wrong ${attempt}`, "Enter");
      }
      const screen = await terminal.waitFor(
        "exit status 1",
        (s) => s.includes("EXIT=1"),
      );
      const rows = screenRows(screen);
      assert.deepEqual(rows.slice(-2), [
        `chat: The server at 127.0.0.1:${server.port} refused the password: wrong password.`,
        "EXIT=1",
      ]);
      assert.equal(prompts(screen), 3, screen);
      assert.ok(!screen.includes(retry(4)), screen);
      assert.ok(!screen.includes("wrong 1"), screen);
    }
  },
});

Deno.test("a full server's refusal is one clear line and exit 1", async () => {
  await using server = await ChatProcess.serve(["--max-clients", "1"]);
  await using _occupant = await TcpClient.join(server.port);
  const result = await run(["connect", `127.0.0.1:${server.port}`]);
  assertOneLineError(
    result,
    1,
    `chat: The server at 127.0.0.1:${server.port} refused the connection: the server is full (1 client). Try again later.`,
  );
});

Deno.test("a server that never greets is reported after 10 s, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })().catch(() => {});
  try {
    const port = listener.addr.port;
    const result = await run(["connect", `127.0.0.1:${port}`], {
      ms: 20_000,
    });
    assertOneLineError(
      result,
      1,
      `chat: The server at 127.0.0.1:${port} said nothing for 10 s. Is "chat serve" what is running on port ${port}? If it was started with --tls, add --fingerprint or --tls.`,
    );
  } finally {
    listener.close();
    for (const conn of accepted) conn.close();
    await accepting;
  }
});

Deno.test("connecting to a port where nothing listens: connection refused, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await run(["connect", `127.0.0.1:${port}`]);
  assertOneLineError(
    result,
    1,
    `chat: Cannot reach 127.0.0.1:${port}: connection refused. Is "chat serve" running there, on port ${port}?`,
  );
});

// The unknown-host test runs in a network namespace of its own with only
// loopback, so the name lookup fails without sending anything onto any
// network. Creating one needs root (or user namespaces): decided before the
// test runs, so that it is reported as ignored where it cannot run.
const canUnshare = await new Deno.Command("unshare", {
  args: ["--net", "true"],
  stdout: "null",
  stderr: "null",
}).output().then((result) => result.success, () => false);
if (!canUnshare) {
  console.log(
    "unknown-host test skipped: cannot create a network namespace (unshare --net needs root)",
  );
}

Deno.test({
  name: "an unknown host is one clear line and exit 1",
  ignore: !canUnshare,
  fn: async () => {
    const child = new Deno.Command("unshare", {
      args: ["--net", ...chatCommand(["connect", "no-such-host.invalid"])],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...ENGLISH_LOCALE },
    });
    const output = await child.output();
    const stderr = new TextDecoder().decode(output.stderr).trimEnd().split(
      "\n",
    );
    assertOneLineError(
      { code: output.code, stderr },
      1,
      'chat: Cannot find host "no-such-host.invalid": no such name on this network. Check the address the server printed.',
    );
  },
});

Deno.test("a port already in use is one clear line and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = listener.addr.port;
    const result = await run([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ]);
    assertOneLineError(
      result,
      1,
      `chat: Port ${port} is already in use. Try --port ${port + 1}.`,
    );
  } finally {
    listener.close();
  }
});

Deno.test("command-line mistakes are one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [
      ["frobnicate"],
      'chat: Unknown command "frobnicate". Use "chat serve" or "chat connect <host>".',
    ],
    [
      ["serve", "--colour"],
      'chat: Unknown option "--colour" for "chat serve". Run "chat serve --help".',
    ],
    [
      ["serve", "--port", "99999"],
      'chat: Bad port "99999": use a number from 0 to 65535.',
    ],
    [
      ["connect", "10.0.0.7:abc"],
      'chat: Bad port "abc": use a number from 1 to 65535.',
    ],
    [
      ["connect"],
      'chat: Missing the server\'s address, e.g. "chat connect 192.168.1.23".',
    ],
    [
      ["connect", "127.0.0.1", "--name", "two words"],
      'chat: Cannot use "two words" as a name: names may contain only letters of the Latin alphabet, with or without accents (é, ç, ø ...), digits, _ and -.',
    ],
    [
      ["serve", "--max-clients", "none"],
      'chat: Bad value "none" for --max-clients: use a whole number of 0 or more.',
    ],
  ];
  for (const [args, message] of cases) {
    assertOneLineError(await run(args), 2, message);
  }
});

Deno.test("--help, --version and each command's help exit 0", async () => {
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout[0], /^chat \d+\.\d+\.\d+$/);
  for (
    const [args, first] of [
      [["--help"], "chat: a chat room for everyone on the local network"],
      [["serve", "--help"], "Usage: chat serve [options]"],
      [["connect", "--help"], "Usage: chat connect <host>[:port] [options]"],
    ] as const
  ) {
    const result = await run([...args]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout[0], first);
    assert.deepEqual(result.stderr, []);
  }
});

/** One connection to a {@linkcode FakeServer}, as the server sees it. */
interface FakePeer {
  /** The lines the client sent. */
  received: LineCollector;
  /** Sends one line (a `\n` is added). */
  send(line: string): Promise<void>;
}

/**
 * A fake chat server on 127.0.0.1 (port 0) that accepts one connection and
 * plays `script` on it, then closes it.
 */
class FakeServer {
  readonly #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #conn: Deno.Conn | undefined;
  #received: LineCollector | undefined;
  /** Settles when the script has finished; rejects if it failed. */
  readonly played: Promise<void>;

  constructor(script: (peer: FakePeer) => Promise<void>) {
    this.played = this.#play(script);
    // Until a test awaits it; a failure is reported there.
    this.played.catch(() => {});
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #play(script: (peer: FakePeer) => Promise<void>): Promise<void> {
    const conn = await deadline(this.#listener.accept(), "a client");
    this.#conn = conn;
    const received = new LineCollector(conn.readable);
    this.#received = received;
    const encoder = new TextEncoder();
    await script({
      received,
      send: async (line) => {
        const bytes = encoder.encode(line + "\n");
        for (let offset = 0; offset < bytes.length;) {
          offset += await conn.write(bytes.subarray(offset));
        }
      },
    });
    try {
      conn.close();
    } catch { /* its readable stream ended, which closed it */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    try {
      this.#conn?.close();
    } catch { /* closed by the script */ }
    await this.#received?.done;
  }
}

/** A line in the structured protocol, as the server would send it. */
function json(type: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type,
    seq: 1,
    time: "2025-09-01T08:00:00.000Z",
    ...fields,
  });
}

/** A typed line as `chat connect` sends it once structured. */
function typed(text: string): string {
  return JSON.stringify({ type: "line", text });
}

const GREETING =
  "*** Hello! You are watching the room. Send /nick NAME to join with a name, or type a message to join as a guest.";

Deno.test("chat connect asks for the structured protocol and sends typed lines as JSON, so a line starting with { is just a message", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using alice = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** alice joined");
  await alice.type('{"type":"say","text":"not a request"}');
  await alice.type('{"type":"ping"}');
  await watcher.received.waitFor(
    'alice: {"type":"say","text":"not a request"}',
  );
  await watcher.received.waitFor('alice: {"type":"ping"}');
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  assert.deepEqual(alice.stdout.lines.slice(1), [
    'alice: {"type":"say","text":"not a request"}',
    'alice: {"type":"ping"}',
    "*** Bye!",
  ]);
});

Deno.test("an older server that does not know /proto: one clear line in the user's language, exit 1, and the client leaves", async () => {
  const cases = [
    [
      "en",
      (port: number) =>
        `chat: The server at 127.0.0.1:${port} runs an older version of chat that does not speak the structured protocol. Use the same version of chat as the host.`,
    ],
    [
      "fr",
      (port: number) =>
        `chat: Le serveur 127.0.0.1:${port} est une version plus ancienne de chat, qui ne parle pas le protocole structuré. Utilisez la même version de chat que l'hôte.`,
    ],
  ] as const;
  for (const [lang, message] of cases) {
    // What the server before the structured protocol said, line for line:
    // the first line joins as a guest, and /proto is an unknown command.
    await using old = new FakeServer(async (peer) => {
      await peer.send(
        "*** Hello! Send /nick NAME to join with a name, or type a message to join as a guest.",
      );
      await peer.received.waitFor("/proto 1");
      await peer.send(
        "*** Welcome, guest1! Online (2): host, guest1. Type /help for commands, /nick NAME to change your name.",
      );
      await peer.send(
        '*** error: unknown command "/proto". Type /help for the list.',
      );
      await peer.received.waitFor("/quit");
    });
    const result = await run([
      "connect",
      `127.0.0.1:${old.port}`,
      "--name",
      "alice",
      "--lang",
      lang,
    ]);
    assertOneLineError(result, 1, message(old.port));
    assert.deepEqual(result.stdout, []);
    await deadline(old.played, "the fake server's script");
  }
});

Deno.test("a server that speaks another protocol version: one line naming both versions, exit 1", async () => {
  await using newer = new FakeServer(async (peer) => {
    await peer.send(GREETING);
    await peer.received.waitFor("/proto 1");
    await peer.send(json("error", {
      code: "protocol-version",
      args: { asked: "1", supported: [2, 3] },
      text:
        "protocol version 1 is not spoken here; this server speaks version 2, 3.",
    }));
    await peer.received.waitForEnd();
  });
  const result = await run(["connect", `127.0.0.1:${newer.port}`]);
  assertOneLineError(
    result,
    1,
    `chat: The server at 127.0.0.1:${newer.port} speaks version 2, 3 of the chat protocol, and this chat connect speaks version 1. Use the same version of chat as the host.`,
  );
  await deadline(newer.played, "the fake server's script");
});

Deno.test("event types the client does not know and malformed lines are skipped, and the session goes on", async () => {
  await using fake = new FakeServer(async (peer) => {
    await peer.send(GREETING);
    await peer.received.waitFor("/proto 1");
    await peer.send("*** bob joined"); // said before the switch: skipped
    await peer.send(json("proto", {
      version: 1,
      versions: [1],
      password: false,
      server: "chat 9.0.0",
    }));
    await peer.received.waitFor(typed("/nick alice"));
    await peer.send(json("welcome", {
      name: "alice",
      online: ["host", "alice"],
      watchers: 0,
    }));
    for (
      const line of [
        json("hologram", { from: "bob", depth: 3 }),
        "{not json",
        json("message", { from: "bob" }),
        json("welcome", { name: "x", online: "everyone", watchers: 0 }),
        '["message"]',
        "plain text where JSON belongs",
        json("notice", { code: "future-thing", text: "Something new." }),
        json("left", { name: "carol", reason: "abducted-by-aliens" }),
        json("message", { from: "bob", text: "\x1b[2J\x1b[31mstill here" }),
      ]
    ) {
      await peer.send(line);
    }
    // The heartbeat, as JSON; its answer is not shown.
    await peer.received.waitFor(JSON.stringify({ type: "ping" }));
    await peer.send(json("pong"));
    await peer.received.waitFor(typed("hi"));
    await peer.send(json("message", { from: "alice", text: "hi" }));
    await peer.received.waitFor(typed("/quit"));
    await peer.send(json("notice", { code: "bye", text: "Bye!" }));
  });
  await using client = new ChatProcess(
    ["connect", `127.0.0.1:${fake.port}`, "--name", "alice"],
    { stdin: true },
  );
  await client.stdout.waitFor("bob: still here");
  await client.type("hi");
  await client.stdout.waitFor("alice: hi");
  await client.endInput();
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  await deadline(fake.played, "the fake server's script");
  assert.deepEqual(client.stdout.lines, [
    "*** Welcome, alice! Online (2): host, alice. Type /help for commands, /nick NAME to change your name.",
    "*** Something new.",
    "*** carol left",
    "bob: still here",
    "alice: hi",
    "*** Bye!",
  ]);
  assert.deepEqual(client.stderr.lines, []);
});

Deno.test("a server that greets but never answers /proto 1 is reported after 10 s, exit 1", async () => {
  await using mute = new FakeServer(async (peer) => {
    await peer.send(GREETING);
    await peer.received.waitForEnd(20_000);
  });
  const result = await run(["connect", `127.0.0.1:${mute.port}`], {
    ms: 20_000,
  });
  assertOneLineError(
    result,
    1,
    `chat: The server at 127.0.0.1:${mute.port} did not answer "/proto 1" within 10 s. Is "chat serve" what is running on port ${mute.port}?`,
  );
});

Deno.test("a French chat connect against an English server shows the room in French", async () => {
  await using server = await ChatProcess.serve(["--lang", "en"]);
  await using alice = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "alice", "--lang", "fr"],
    { stdin: true },
  );
  await alice.stdout.waitFor(
    "*** Bienvenue, alice ! En ligne (2) : host, alice. Tapez /help pour la liste des commandes, /nick NOM pour changer de nom.",
  );
  await using bob = await TcpClient.join(server.port, "bob");
  await alice.stdout.waitFor("*** bob a rejoint le salon");
  await bob.send("hello alice");
  await bob.send("/msg alice psst");
  await bob.send("/me waves");
  // Bob's lines and Alice's /nick come over two connections: let Bob's
  // arrive first, so the order below is the server's, not a race.
  await alice.stdout.waitFor("* bob waves");
  await alice.type("/nick alicia");
  // The server itself still speaks English to plain-text clients.
  await bob.received.waitFor("*** alice is now known as alicia");
  await bob.send("/quit");
  await alice.stdout.waitFor("*** bob a quitté le salon");
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  assert.deepEqual(alice.stdout.lines.slice(1), [
    "*** bob a rejoint le salon",
    "bob: hello alice",
    "[privé] bob -> alice: psst",
    "* bob waves",
    "*** alice s'appelle désormais alicia",
    "*** bob a quitté le salon",
    "*** Au revoir !",
  ]);
});

Deno.test("with LANG=fr_FR.UTF-8, chat connect's own messages are French: a refused name, a server that shuts down", async () => {
  const french = { LANG: "fr_FR.UTF-8", LC_ALL: "", LC_MESSAGES: "" };
  await using server = await ChatProcess.serve(["--name", "teacher"], {
    env: { LANG: "C.UTF-8", LC_ALL: "", LC_MESSAGES: "" },
  });
  const refused = await run(
    ["connect", `127.0.0.1:${server.port}`, "--name", "Teacher"],
    { env: french },
  );
  assertOneLineError(
    refused,
    1,
    "chat: Le serveur a refusé le nom « Teacher » : le nom « Teacher » est déjà pris. Essayez-en un autre.",
  );
  await using alice = new ChatProcess(
    [
      "connect",
      `127.0.0.1:${server.port}`,
      "--name",
      "alice",
      "--no-reconnect",
    ],
    { stdin: true, env: french },
  );
  await alice.stdout.waitFor(/^\*\*\* Bienvenue, alice ! /);
  server.kill("SIGTERM");
  const result = await alice.exit();
  assertOneLineError(
    { code: result.code, stderr: alice.stderr.lines },
    1,
    `Déconnecté de 127.0.0.1:${server.port} : le serveur s'est arrêté.`,
  );
  assert.equal(alice.stdout.lines.at(-1), "*** le serveur s'arrête");
});

Deno.test("the room password from CHAT_PASSWORD: the right one lets the client in, a wrong one is one line and exit 1", async () => {
  await using server = await ChatProcess.serve(
    ["--password", "--password-delay", "0"],
    { env: { CHAT_PASSWORD: "open sesame" } },
  );
  const wrong = await run(["connect", `127.0.0.1:${server.port}`], {
    env: { CHAT_PASSWORD: "guess" },
  });
  assertOneLineError(
    wrong,
    1,
    `chat: The server at 127.0.0.1:${server.port} refused the password: wrong password.`,
  );
  await using alice = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
    { stdin: true, env: { CHAT_PASSWORD: "open sesame" } },
  );
  await alice.stdout.waitFor(/^\*\*\* Welcome, alice! Online \(2\)/);
  await alice.type("in at last");
  await server.stdout.waitFor("alice: in at last");
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  assert.deepEqual(alice.stdout.lines.slice(1), [
    "alice: in at last",
    "*** Bye!",
  ]);
});

// --- reading the server's events (lib/client_events.ts) -----------------

Deno.test("parseServerEvent reads known events, cleans their strings, and turns the ISO time into milliseconds", () => {
  assert.deepEqual(
    parseServerEvent(
      json("message", { seq: 9, from: "bob", text: "\x1b[31mred\u202e!" }),
    ),
    {
      type: "message",
      seq: 9,
      time: Date.parse("2025-09-01T08:00:00.000Z"),
      from: "bob",
      text: "red!",
    },
  );
  const who = parseServerEvent(json("who", {
    online: [{ name: "host", address: "10.0.0.1\x07" }, { name: "bob" }],
    watchers: 2,
    futureField: { anything: true },
  }));
  assert.equal(who?.type, "who");
  assert.deepEqual(who?.type === "who" && who.online, [
    { name: "host", address: "10.0.0.1" },
    { name: "bob" },
  ]);
});

Deno.test("parseServerEvent skips what is not an event it knows, without throwing", () => {
  const skipped = [
    "",
    "{",
    "{not json",
    "null",
    "[]",
    '"message"',
    "42",
    json("hologram"),
    json("__proto__"),
    json("toString"),
    JSON.stringify({ seq: 1, from: "bob", text: "no type" }),
    json("message", { from: "bob" }),
    json("message", { from: "bob", text: 7 }),
    json("welcome", { name: "x", online: "everyone", watchers: 0 }),
    json("who", { online: [{ address: "1.2.3.4" }], watchers: 0 }),
    json("help", { commands: [{ name: "nick" }] }),
    json("proto", { version: "1", versions: [1], password: false }),
    json("notice", {}),
    json("error", { code: 404 }),
  ];
  for (const line of skipped) {
    assert.equal(parseServerEvent(line), undefined, line);
  }
});

Deno.test("eventText renders in the client's language, and falls back to the server's text for codes and reasons it does not know", () => {
  const text = (line: string, lang: "en" | "fr") =>
    eventText(parseServerEvent(line)!, lang);
  assert.equal(
    text(
      json("welcome", {
        name: "alice",
        online: ["host", "alice"],
        watchers: 1,
      }),
      "fr",
    ),
    "*** Bienvenue, alice ! En ligne (2) : host, alice. Tapez /help pour la liste des commandes, /nick NOM pour changer de nom.",
  );
  assert.equal(
    text(json("joined", { name: "bob" }), "fr"),
    "*** bob a rejoint le salon",
  );
  assert.equal(
    text(json("left", { name: "bob", reason: "timed-out" }), "fr"),
    "*** bob a quitté le salon (plus de nouvelles)",
  );
  assert.equal(
    text(
      json("error", { code: "name-taken", args: { name: "bob" }, text: "x" }),
      "fr",
    ),
    "*** erreur : le nom « bob » est déjà pris. Essayez-en un autre.",
  );
  // A newer server: unknown codes and reasons.
  assert.equal(
    text(
      json("notice", { code: "future-thing", text: "Something new." }),
      "fr",
    ),
    "*** Something new.",
  );
  assert.equal(
    text(json("error", { code: "future-error", text: "not now." }), "fr"),
    "*** erreur : not now.",
  );
  assert.equal(
    text(
      json("error", {
        code: "name-invalid",
        args: { name: "x", problem: "new" },
        text: "bad name.",
      }),
      "en",
    ),
    "*** error: bad name.",
  );
  assert.equal(
    text(json("error", { code: "full", text: "the server is full." }), "en"),
    "*** error: the server is full.",
  );
  assert.equal(
    text(json("left", { name: "carol", reason: "abducted" }), "fr"),
    "*** carol a quitté le salon",
  );
  assert.equal(
    text(json("disconnected", { reason: "solar-flare" }), "en"),
    "*** You were disconnected: solar-flare.",
  );
});
