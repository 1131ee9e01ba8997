/**
 * Issue 9, `chat connect` side: reconnecting with backoff, the outbox, the
 * name taken back, only the missed history shown; plus the pure parts
 * (backoff, failure lines, outbox) without a network.
 */
import assert from "node:assert/strict";
import {
  FailureLines,
  MAX_FAILURE_LINES,
  RECONNECT_MAX_DELAY_MS,
  reconnectDelay,
  reconnectsAfter,
} from "../lib/reconnect.ts";
import { expectedEcho, Outbox } from "../lib/outbox.ts";
import type { ServerEvent } from "../lib/events.ts";
import {
  chatCommand,
  ChatProcess,
  deadline,
  findProgram,
  LineCollector,
  TcpClient,
  Terminal,
  TMUX_FOUND,
} from "./harness.ts";

// --- without a network -----------------------------------------------------

Deno.test("backoff: 1, 2, 4 ... s doubling up to 30 s, each within 25 % jitter, never above 30 s", () => {
  const nominal = [1000, 2000, 4000, 8000, 16000, 30000, 30000];
  for (let attempt = 1; attempt <= nominal.length; attempt++) {
    const low = reconnectDelay(attempt, () => 0);
    const middle = reconnectDelay(attempt, () => 0.5);
    const high = reconnectDelay(attempt, () => 0.999999);
    assert.equal(middle, nominal[attempt - 1]);
    assert.equal(low, Math.round(nominal[attempt - 1] * 0.75));
    assert.equal(
      high,
      Math.min(RECONNECT_MAX_DELAY_MS, Math.round(nominal[attempt - 1] * 1.25)),
    );
  }
  assert.equal(reconnectDelay(1000, () => 1), RECONNECT_MAX_DELAY_MS);
  // Tests start smaller; the doubling and the ceiling stay.
  assert.equal(reconnectDelay(3, () => 0.5, 100), 400);
});

Deno.test("the room's decisions stand: no reconnecting after a kick, a ban or flooding", () => {
  for (
    const reason of [
      undefined,
      "connection-lost",
      "timed-out",
      "too-slow",
      "room-full",
    ]
  ) {
    assert.equal(reconnectsAfter(reason), true, String(reason));
  }
  for (const reason of ["kicked", "banned", "flooding"]) {
    assert.equal(reconnectsAfter(reason), false, reason);
  }
});

Deno.test("pipe mode says a failure once per change of reason, at most 10 per outage", () => {
  const lines = new FailureLines();
  const said = [];
  for (let i = 0; i < 100; i++) {
    said.push(lines.worthSaying(i < 50 ? "refused" : `other ${i % 2}`));
  }
  assert.equal(said.filter(Boolean).length, MAX_FAILURE_LINES);
  assert.equal(said[0], true);
  assert.equal(said[1], false);
  lines.reset();
  assert.equal(lines.worthSaying("refused"), true);
});

const event = (body: object, seq = 1) =>
  ({ ...body, seq, time: 0, history: true }) as ServerEvent;

Deno.test("outbox: bounded at 100 lines, in order, full said by add() returning false", () => {
  const outbox = new Outbox();
  for (let i = 0; i < 100; i++) assert.equal(outbox.add(`line ${i}`), true);
  assert.equal(outbox.full, true);
  assert.equal(outbox.add("one too many"), false);
  const lines = outbox.take();
  assert.equal(lines.length, 100);
  assert.equal(lines[0], "line 0");
  assert.equal(lines[99], "line 99");
  assert.equal(outbox.size, 0);
});

Deno.test("outbox: an echo or a heartbeat answer confirms what was sent before it; the rest goes back after a drop", () => {
  const outbox = new Outbox();
  outbox.sent("first");
  outbox.sent("/who");
  outbox.pinged();
  outbox.sent("second");
  outbox.sent("/me waves");
  outbox.sent("third");
  outbox.ponged(); // "first" and "/who" arrived
  assert.equal(outbox.unconfirmedCount, 3);
  outbox.received(
    { type: "action", from: "Alice", text: "waves", seq: 4, time: 0 },
    "alice",
  ); // "second" and "/me waves" arrived
  assert.equal(outbox.unconfirmedCount, 1);
  outbox.received({
    type: "message",
    from: "bob",
    text: "third",
    seq: 5,
    time: 0,
  }, "alice");
  assert.equal(
    outbox.unconfirmedCount,
    1,
    "someone else's line confirms nothing",
  );
  outbox.disconnected();
  outbox.add("typed while away");
  assert.deepEqual(outbox.waiting(), [
    { text: "third", maybeSent: true },
    { text: "typed while away", maybeSent: false },
  ]);
});

Deno.test("outbox: lines found in the missed history (same sender, same text, in order) are not sent again", () => {
  const outbox = new Outbox();
  outbox.sent("ok");
  outbox.sent("//slash");
  outbox.sent("ok");
  outbox.sent("lost");
  outbox.disconnected();
  outbox.add("ok");
  outbox.confirmFrom([
    event({ type: "message", from: "bob", text: "ok" }, 10),
    event({ type: "message", from: "alice", text: "ok" }, 11),
    event({ type: "message", from: "ALICE", text: "/slash" }, 12),
  ], "alice");
  // The second "ok" and "lost" never arrived; "ok" typed while away is new.
  assert.deepEqual(outbox.take(), ["ok", "lost", "ok"]);
  assert.deepEqual(expectedEcho("/msg bob hi"), undefined);
  assert.deepEqual(expectedEcho("stop"), undefined);
});

const ESC = "\x1b";

/** `line` in reverse video on a tmux screen (colour resets may come between). */
function highlighted(line: string): RegExp {
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${ESC}\\[[0-9;]*7m(${ESC}\\[\\d+m)*${escaped}`);
}

// --- end to end ---------------------------------------------------------------

/** Starts `chat serve` on exactly `port` (a restart on the same port). */
function serveOn(port: number, args: string[] = []): Promise<ChatProcess> {
  return ChatProcess.serve(args, { port });
}

/** `chat connect` to `port` as `name`, piped, retrying after 100 ms first. */
function connect(port: number, name: string, more: string[] = []): ChatProcess {
  return new ChatProcess(
    [
      "connect",
      `127.0.0.1:${port}`,
      "--name",
      name,
      "--reconnect-delay-ms",
      "100",
      ...more,
    ],
    { stdin: true },
  );
}

function count(lines: readonly string[], line: string): number {
  return lines.filter((each) => each === line).length;
}

Deno.test("pipe mode: the server killed (SIGKILL) and restarted on the same port, the client comes back with its name and sends what was typed meanwhile, once each, in order", async () => {
  const first = await ChatProcess.serve();
  const port = first.port;
  await using alice = connect(port, "alice");
  {
    await using _bob = await TcpClient.join(port, "bob");
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    await alice.type("before the crash");
    // Echoed back to alice: known to have arrived, never sent again. (A line
    // whose echo was lost in the crash is sent again to the new server: it
    // cannot say whether the old one had it.)
    await alice.stdout.waitFor("alice: before the crash");
    first.kill("SIGKILL");
    await first.exit();
    await first[Symbol.asyncDispose]();
  }
  await alice.stderr.waitFor(
    `*** Connection to 127.0.0.1:${port} lost (the server closed the connection). Reconnecting; what you type meanwhile is kept (up to 100 lines) and sent once back.`,
  );
  for (const line of ["queued 1", "queued 2", "/me is back", "queued 3"]) {
    await alice.type(line);
  }
  // The host's console shows the room from its start.
  await using second = await serveOn(port);
  await alice.stderr.waitFor(
    `*** Reconnected to 127.0.0.1:${port}; the server had restarted.`,
  );
  await second.stdout.waitFor("*** alice joined");
  await alice.type("after");
  await second.stdout.waitFor("alice: after");
  const said = second.stdout.lines.filter((line) =>
    line.startsWith("alice") || line.startsWith("* alice")
  );
  assert.deepEqual(said, [
    "alice: queued 1",
    "alice: queued 2",
    "* alice is back",
    "alice: queued 3",
    "alice: after",
  ]);
  assert.equal(count(alice.stdout.lines, "alice: before the crash"), 1);
  // The name is hers again: welcomed twice as alice.
  assert.equal(
    alice.stdout.lines.filter((line) => line.startsWith("*** Welcome, alice!"))
      .length,
    2,
  );
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
});

const PYTHON = findProgram("python3");

// A relay that the test can cut like a dropped Wi-Fi. Python, because only
// SO_LINGER 0 makes a close send an RST (Deno's close is always orderly),
// and an RST is what the server takes for a lost connection.
const RELAY_SCRIPT = `
import socket, struct, sys, threading
target = int(sys.argv[1])
state = {"held": False, "pairs": [], "ghosts": [], "listener": None, "port": 0}
lock = threading.Lock()
def pump(src, dst, held):
    try:
        while True:
            data = src.recv(16384)
            if not data: break
            if held and state["held"]: continue
            dst.sendall(data)
    except OSError:
        pass
def accept(listener):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        server = socket.create_connection(("127.0.0.1", target))
        with lock:
            state["pairs"].append((client, server))
        threading.Thread(target=pump, args=(client, server, False), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, True), daemon=True).start()
def listen():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", state["port"]))
    listener.listen()
    state["port"] = listener.getsockname()[1]
    state["listener"] = listener
    threading.Thread(target=accept, args=(listener,), daemon=True).start()
listen()
print(state["port"], flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "hold":
        state["held"] = True
    elif command == "cut":
        state["listener"].shutdown(socket.SHUT_RDWR)
        state["listener"].close()
        with lock:
            for client, server in state["pairs"]:
                server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # Wakes the thread reading it (SHUT_RD sends nothing); the
                # close then resets the connection.
                server.shutdown(socket.SHUT_RD)
                server.close()
                client.shutdown(socket.SHUT_RDWR)
                client.close()
            state["pairs"] = []
    elif command == "drop-clients":
        # The clients' side closes; the server's stays open, unaware.
        with lock:
            for client, server in state["pairs"]:
                client.shutdown(socket.SHUT_RDWR)
                client.close()
                state["ghosts"].append(server)
            state["pairs"] = []
    elif command == "reset-ghosts":
        for server in state["ghosts"]:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            server.shutdown(socket.SHUT_RD)
            server.close()
        state["ghosts"] = []
    elif command == "restore":
        state["held"] = False
        listen()
    print("done", command, flush=True)
`;

/**
 * A TCP relay between clients and the server: {@linkcode Relay.hold} stops
 * what the server sends from reaching them, {@linkcode Relay.cut} drops
 * every connection (the server sees \`connection-lost\`, the clients the
 * connection end) and refuses new ones until {@linkcode Relay.restore}.
 */
class Relay implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #out: LineCollector;
  port = 0;

  constructor(target: number) {
    this.#child = new Deno.Command(PYTHON!, {
      args: ["-c", RELAY_SCRIPT, String(target)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#out = new LineCollector(this.#child.stdout);
  }

  static async start(target: number): Promise<Relay> {
    const relay = new Relay(target);
    relay.port = Number(await relay.#out.waitFor(() => true));
    return relay;
  }

  async #command(
    command: "hold" | "cut" | "restore" | "drop-clients" | "reset-ghosts",
  ): Promise<void> {
    const from = this.#out.lines.length;
    await this.#stdin.write(new TextEncoder().encode(command + "\n"));
    await this.#out.waitFor(`done ${command}`, { from });
  }

  hold(): Promise<void> {
    return this.#command("hold");
  }

  cut(): Promise<void> {
    return this.#command("cut");
  }

  restore(): Promise<void> {
    return this.#command("restore");
  }

  /**
   * Closes the clients' side of every connection, leaving the server's
   * open (a Wi-Fi outage the server has not noticed yet).
   */
  dropClients(): Promise<void> {
    return this.#command("drop-clients");
  }

  /** The server's side of the connections dropped earlier is reset. */
  resetGhosts(): Promise<void> {
    return this.#command("reset-ghosts");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#child.status;
    await this.#out.done;
  }
}

Deno.test({
  name:
    "a dropped connection (same server run): the name is kept for the client's token, nobody else can take it meanwhile, and only the missed lines are shown, sent-but-unechoed lines not sent twice",
  ignore: PYTHON === undefined,
  fn: droppedConnection,
});

async function droppedConnection(): Promise<void> {
  await using server = await ChatProcess.serve();
  await using relay = await Relay.start(server.port);
  await using bob = await TcpClient.join(server.port, "bob");
  await using alice = connect(relay.port, "alice");
  await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
  await bob.send("seen before");
  await alice.stdout.waitFor("bob: seen before");
  // The Wi-Fi goes: alice's next line reaches the room, its echo does not
  // reach alice; nor does bob's answer.
  await relay.hold();
  await alice.type("in flight");
  await bob.received.waitFor("alice: in flight");
  await bob.send("missed 1");
  await bob.received.waitFor("bob: missed 1");
  await relay.cut();
  await bob.received.waitFor("*** alice left (connection lost)");
  await alice.stderr.waitFor(/^\*\*\* Connection to .* lost/);
  await bob.send("missed 2");
  await alice.type("typed while away");
  await using carol = await TcpClient.join(server.port, "carol");
  await carol.send("/nick alice");
  await carol.received.waitFor(
    /^\*\*\* error: the name "alice" belongs to someone whose connection dropped; it is kept for them \d+ s more\. Try another one\.$/,
  );
  await relay.restore();
  await alice.stderr.waitFor(`*** Reconnected to 127.0.0.1:${relay.port}.`);
  await bob.received.waitFor("*** alice joined");
  await bob.received.waitFor("alice: typed while away");
  await alice.type("done");
  await bob.received.waitFor("alice: done");
  const fromAlice = bob.lines.filter((line) => line.startsWith("alice: "));
  assert.deepEqual(fromAlice, [
    "alice: in flight",
    "alice: typed while away",
    "alice: done",
  ]);
  // Only the missed lines, framed as earlier lines.
  const out = alice.stdout.lines;
  const start = out.indexOf(
    "*** Earlier in the room (3 lines):",
    out.indexOf("bob: seen before"),
  );
  assert.notEqual(start, -1, out.join("\n"));
  assert.deepEqual(out.slice(start + 1, start + 5), [
    "alice: in flight",
    "bob: missed 1",
    "bob: missed 2",
    "*** End of earlier lines.",
  ]);
  assert.equal(count(out, "bob: seen before"), 1);
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
}

Deno.test("--no-reconnect: a dropped connection ends the client as before, saying why, exit 1", async () => {
  await using server = await ChatProcess.serve();
  await using alice = connect(server.port, "alice", ["--no-reconnect"]);
  await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
  server.kill("SIGKILL");
  const result = await alice.exit();
  assert.equal(result.code, 1);
  assert.deepEqual(alice.stderr.lines, [
    `Disconnected from 127.0.0.1:${server.port}: the server closed the connection.`,
  ]);
});

Deno.test("leaving while disconnected reports every line not sent, and exits 1", async () => {
  await using server = await ChatProcess.serve();
  await using alice = connect(server.port, "alice");
  await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
  server.kill("SIGKILL");
  await alice.stderr.waitFor(/^\*\*\* Connection to .* lost/);
  await alice.type("never sent 1");
  await alice.type("never sent 2");
  await alice.endInput();
  const result = await alice.exit();
  assert.equal(result.code, 1);
  const report = alice.stderr.lines.slice(
    alice.stderr.lines.indexOf("2 lines were not sent:"),
  );
  assert.deepEqual(report, [
    "2 lines were not sent:",
    "  never sent 1",
    "  never sent 2",
  ]);
});

Deno.test("--log FILE: the session's lines with ISO times, private messages included; an unwritable file is one line at start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = new ChatProcess([
      "connect",
      "127.0.0.1:1",
      "--log",
      `${dir}/no/such/folder.log`,
    ]);
    const result = await bad.exit();
    assert.equal(result.code, 1);
    assert.deepEqual(bad.stderr.lines, [
      `chat: cannot write the transcript "${dir}/no/such/folder.log": its folder does not exist.`,
    ]);
    await using server = await ChatProcess.serve();
    const file = `${dir}/alice.log`;
    await using alice = connect(server.port, "alice", ["--log", file]);
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    await using bob = await TcpClient.join(server.port, "bob");
    await alice.stdout.waitFor("*** bob joined");
    await bob.send("hi alice");
    await bob.send("/msg alice psst");
    await alice.type("/msg bob secret back");
    await alice.stdout.waitFor("[private] alice -> bob: secret back");
    const lines = (await Deno.readTextFile(file)).trimEnd().split("\n");
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
    assert(lines.every((line) => iso.test(line)), lines.join("\n"));
    assert.deepEqual(lines.map((line) => line.replace(iso, "")), [
      "*** bob joined",
      "bob: hi alice",
      "[private] bob -> alice: psst",
      "[private] alice -> bob: secret back",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "at a terminal: a mention is highlighted with the bell; while away one status line updates in place, and the client comes back",
  ignore: !TMUX_FOUND,
  async fn() {
    const first = await ChatProcess.serve();
    const port = first.port;
    await using terminal = new Terminal();
    const recorded = await Deno.makeTempFile();
    try {
      await terminal.start(chatCommand([
        "connect",
        `127.0.0.1:${port}`,
        "--name",
        "alice",
        "--reconnect-delay-ms",
        "300",
      ]));
      await terminal.waitFor(
        "the welcome",
        (s) => s.includes("Welcome, alice!"),
      );
      await terminal.recordOutput(recorded);
      {
        await using bob = await TcpClient.join(port, "bob");
        await terminal.waitFor("bob", (s) => s.includes("bob joined"));
        await bob.send("are you there, Alice?");
        const screen = await terminal.waitFor(
          "the mention",
          (s) => s.includes("bob: are you there, Alice?"),
          true,
        );
        assert.match(screen, highlighted("bob: are you there, Alice?"));
        await deadline(
          (async () => {
            while (!(await Deno.readTextFile(recorded)).includes("\x07")) {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })(),
          "the bell in the terminal's output",
        );
        first.kill("SIGKILL");
        await first.exit();
        await first[Symbol.asyncDispose]();
      }
      await terminal.waitFor("the status", (s) => /Disconnected: /.test(s));
      await terminal.type("kept for later");
      await terminal.keys("Enter");
      await terminal.waitFor("the count", (s) => s.includes("1 to send."));
      await using _second = await serveOn(port);
      await using carol = await TcpClient.join(port, "carol");
      await carol.received.waitFor("alice: kept for later");
      const lines = await terminal.waitForLines(
        "reconnected",
        (lines) => lines.some((line) => line.includes("Reconnected to")),
      );
      const all = await terminal.lines(true);
      // The status replaced the prompt; it never scrolled.
      assert.equal(
        all.filter((line) => line.includes("Disconnected: ")).length,
        0,
        all.join("\n"),
      );
      assert.equal(lines.at(-1), "> ");
      await terminal.keys("C-d");
      await terminal.waitFor("exit", (s) => s.includes("EXIT=0"));
    } finally {
      await Deno.remove(recorded);
    }
  },
});

Deno.test("the room's earlier lines are shown framed on joining, once, also in a room with a password (where they come unasked)", async () => {
  for (const password of [undefined, "sesame"]) {
    await using server = await ChatProcess.serve(
      password ? ["--password", "--password-delay", "0"] : [],
      { env: password ? { CHAT_PASSWORD: password } : {} },
    );
    await using bob = await TcpClient.join(server.port, "bob", { password });
    await bob.send("said earlier");
    await bob.send("/me waves");
    await bob.received.waitFor("* bob waves");
    await using alice = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
      { stdin: true, env: password ? { CHAT_PASSWORD: password } : {} },
    );
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    await bob.send("said after");
    await alice.stdout.waitFor("bob: said after");
    const out = alice.stdout.lines;
    const start = out.indexOf("*** Earlier in the room (2 lines):");
    assert.notEqual(start, -1, out.join("\n"));
    assert.deepEqual(out.slice(start, start + 4), [
      "*** Earlier in the room (2 lines):",
      "bob: said earlier",
      "* bob waves",
      "*** End of earlier lines.",
    ]);
    assert.equal(count(out, "bob: said earlier"), 1, out.join("\n"));
    assert.match(out[start + 4], /^\*\*\* Welcome, alice!/);
    await alice.endInput();
    assert.equal((await alice.exit()).code, 0);
  }
});

Deno.test("pipe mode: with 100 lines waiting, the client says so and reads no more until it is back; then all of them go, in order", async () => {
  const first = await ChatProcess.serve();
  const port = first.port;
  await using alice = connect(port, "alice");
  await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
  first.kill("SIGKILL");
  await first.exit();
  await first[Symbol.asyncDispose]();
  await alice.stderr.waitFor(/^\*\*\* Connection to .* lost/);
  let lines = "";
  for (let i = 1; i <= 105; i++) lines += `line ${i}\n`;
  await alice.write(lines);
  await alice.stderr.waitFor(
    "Not connected, and 100 lines already wait to be sent: reading no more input until the connection is back.",
  );
  // The host's console shows the room from its start.
  await using second = await serveOn(port);
  await second.stdout.waitFor("alice: line 105");
  const said = second.stdout.lines.filter((line) => line.startsWith("alice: "));
  assert.deepEqual(
    said,
    Array.from({ length: 105 }, (_, i) => `alice: line ${i + 1}`),
  );
});

Deno.test({
  name:
    "at a terminal: earlier lines are dimmed; with --quiet a mention is highlighted without the bell",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await bob.send("said before you came");
    await bob.received.waitFor("bob: said before you came");
    await using terminal = new Terminal();
    const recorded = await Deno.makeTempFile();
    try {
      await terminal.start(chatCommand([
        "connect",
        `127.0.0.1:${server.port}`,
        "--name",
        "alice",
        "--quiet",
      ]));
      await terminal.recordOutput(recorded);
      const screen = await terminal.waitFor(
        "the welcome",
        (s) => s.includes("Welcome, alice!"),
        true,
      );
      // tmux writes an attribute once for the rows it spans: the last one
      // set before the line is dim.
      const before = screen.slice(
        0,
        screen.indexOf("bob: said before you came"),
      );
      const attributes = [
        ...before.matchAll(new RegExp(`${ESC}\\[([0-9;]*)m`, "g")),
      ]
        .map((match) => match[1]).filter((codes) => !/^(39|49)$/.test(codes));
      assert.match(attributes.at(-1) ?? "", /(^|;)2$/, JSON.stringify(screen));
      await bob.send("alice: look");
      await terminal.waitFor(
        "the mention",
        (s) => highlighted("bob: alice: look").test(s),
        true,
      );
      // Everything up to the mention was written out: no bell in it.
      await deadline(
        (async () => {
          while (!(await Deno.readTextFile(recorded)).includes("alice: look")) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        "the mention in the terminal's output",
      );
      assert.equal((await Deno.readTextFile(recorded)).includes("\x07"), false);
    } finally {
      await Deno.remove(recorded);
    }
  },
});

Deno.test({
  name:
    "after a restart (a new server run) the client shows the new run's whole replay, framed, and says the server restarted",
  ignore: PYTHON === undefined,
  async fn() {
    const first = await ChatProcess.serve();
    const port = first.port;
    await using relay = await Relay.start(port);
    await using alice = connect(relay.port, "alice");
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    await relay.cut();
    await alice.stderr.waitFor(/^\*\*\* Connection to .* lost/);
    first.kill("SIGKILL");
    await first.exit();
    await first[Symbol.asyncDispose]();
    await using _second = await serveOn(port);
    await using carol = await TcpClient.join(port, "carol");
    await carol.send("said in the new run");
    await carol.received.waitFor("carol: said in the new run");
    await relay.restore();
    await alice.stderr.waitFor(
      `*** Reconnected to 127.0.0.1:${relay.port}; the server had restarted.`,
    );
    const out = alice.stdout.lines;
    const start = out.indexOf("*** Earlier in the room (1 line):");
    assert.notEqual(start, -1, out.join("\n"));
    assert.deepEqual(out.slice(start + 1, start + 3), [
      "carol: said in the new run",
      "*** End of earlier lines.",
    ]);
    await carol.received.waitFor("*** alice joined");
  },
});

Deno.test({
  name:
    "when the server has not yet noticed the drop, the client's token takes the name over from its old connection",
  ignore: PYTHON === undefined,
  async fn() {
    await using server = await ChatProcess.serve();
    await using relay = await Relay.start(server.port);
    await using bob = await TcpClient.join(server.port, "bob");
    await using alice = connect(relay.port, "alice");
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    // Alice's side of the connection closes; the server's stays open.
    await relay.dropClients();
    await alice.stderr.waitFor(`*** Reconnected to 127.0.0.1:${relay.port}.`);
    await bob.received.waitFor("*** alice left (connection lost)");
    await alice.type("back as myself");
    await bob.received.waitFor("alice: back as myself");
    assert.equal(count(bob.lines, "*** alice joined"), 2, bob.lines.join("\n"));
    await relay.resetGhosts();
  },
});
