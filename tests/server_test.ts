/**
 * End-to-end tests of `chat serve`: the real `main.ts` in a subprocess,
 * driven by real TCP clients on 127.0.0.1.
 */

import assert from "node:assert/strict";
import {
  chatCommand,
  ChatProcess,
  deadline,
  findProgram,
  LineCollector,
  residentKiB,
  sleep,
  TcpClient,
  Terminal,
  TMUX_FOUND,
  whoLine,
} from "./harness.ts";
import { Connection, type ConnectionSettings } from "../lib/connection.ts";
import { Renderings } from "../lib/outgoing.ts";
import { FlowControl } from "../lib/outgoing_queue.ts";
import { type Member, Room } from "../lib/room.ts";
import { ChatServer, STALLED_WRITE_MS } from "../lib/server.ts";
import { issue13Lines, lines } from "./golden_lines.ts";

const encoder = new TextEncoder();

const CONSOLE_HINT =
  "Type here to chat as the host; /help lists commands, /stop shuts down.";

Deno.test("the first line names the bound port; on loopback only this computer can join, with chat, from a clone or with nc", async () => {
  await using server = await ChatProcess.serve();
  const port = server.port;
  await server.stdout.waitFor(CONSOLE_HINT);
  assert.deepEqual(server.stdout.lines.slice(0, 6), [
    `Listening on 127.0.0.1:${port}`,
    "Only this computer can join: 127.0.0.1 is reachable from this computer only (--host 0.0.0.0 lets classmates in). Join with:",
    `  chat connect 127.0.0.1:${port}`,
    // The tests run main.ts from source, as a clone does.
    `  (or from a clone of chat: deno task connect 127.0.0.1:${port})`,
    `  (or without chat: nc 127.0.0.1 ${port})`,
    CONSOLE_HINT,
  ]);
});

Deno.test("in a room with a password, the nc hint says to send /pass first", async () => {
  await using server = await ChatProcess.serve(["--password"], {
    env: { CHAT_PASSWORD: "sesame-2" },
  });
  const port = server.port;
  await server.stdout.waitFor(CONSOLE_HINT);
  assert.deepEqual(server.stdout.lines.slice(1, 7), [
    "Newcomers must give the room password.",
    "Only this computer can join: 127.0.0.1 is reachable from this computer only (--host 0.0.0.0 lets classmates in). Join with:",
    `  chat connect 127.0.0.1:${port}`,
    `  (or from a clone of chat: deno task connect 127.0.0.1:${port})`,
    `  (or without chat: nc 127.0.0.1 ${port}, then send /pass PASSWORD)`,
    CONSOLE_HINT,
  ]);
});

Deno.test("a message reaches every client, the sender included", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  await alice.send("hello everyone");
  await alice.received.waitFor("alice: hello everyone");
  await bob.received.waitFor("alice: hello everyone");
  await server.stdout.waitFor("alice: hello everyone");
});

Deno.test("all clients receive all lines in one and the same order", async () => {
  await using server = await ChatProcess.serve();
  const clients: TcpClient[] = [];
  try {
    for (const name of ["c0", "c1", "c2", "c3"]) {
      clients.push(await TcpClient.join(server.port, name));
    }
    // Wait until everyone has seen the last join, so all start together.
    for (const client of clients.slice(0, -1)) {
      await client.received.waitFor("*** c3 joined");
    }
    const starts = clients.map((client) => client.received.lines.length);
    const linesPerClient = 50;
    await Promise.all(clients.map(async (client, index) => {
      for (let n = 0; n < linesPerClient; n++) {
        await client.send(`line ${n} from ${index}`);
      }
    }));
    const total = clients.length * linesPerClient;
    const seen = await Promise.all(clients.map(async (client, index) => {
      const isMessage = (line: string) => /^c\d: line \d+ from \d$/.test(line);
      await deadline(
        (async () => {
          while (
            client.received.lines.slice(starts[index]).filter(isMessage)
              .length < total
          ) {
            await client.received.waitFor(isMessage, {
              from: client.received.lines.length,
            }).catch(() => {});
          }
        })(),
        `all ${total} messages at client ${index}`,
      );
      return client.received.lines.slice(starts[index]).filter(isMessage);
    }));
    for (const other of seen.slice(1)) assert.deepEqual(other, seen[0]);
    // Each sender's own lines keep the order it sent them in.
    for (let index = 0; index < clients.length; index++) {
      const own = seen[0].filter((line) => line.startsWith(`c${index}:`));
      assert.deepEqual(
        own,
        Array.from(
          { length: linesPerClient },
          (_, n) => `c${index}: line ${n} from ${index}`,
        ),
      );
    }
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

Deno.test("joining, renaming and leaving are announced to the others", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await TcpClient.join(server.port);
  assert.equal(alice.received.lines[0], lines.greeting());
  assert.match(
    alice.received.lines[1],
    /^\*\*\* Welcome, guest1! Online \(2\): host, guest1\. Type \/help/,
  );
  await using bob = await TcpClient.join(server.port);
  await alice.received.waitFor("*** guest2 joined");
  await bob.send("/nick bob");
  await alice.received.waitFor("*** guest2 is now known as bob");
  await bob.send("/quit");
  await bob.received.waitFor("*** Bye!");
  await bob.received.waitForEnd();
  await alice.received.waitFor("*** bob left");
});

Deno.test("every kind of disconnect gives exactly one left notice and frees the name", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  const endings: Record<string, (client: TcpClient) => Promise<void>> = {
    quit: (client) => client.send("/quit"),
    stop: (client) => client.send("stop"),
    eof: async (client) => {
      await client.conn.closeWrite();
    },
    close: (client) => Promise.resolve(client.close()),
    // Closing a socket with unread bytes in it sends a reset.
    reset: async (client) => {
      await client.send("/help");
      await new Promise((resolve) => setTimeout(resolve, 50));
      client.close();
    },
  };
  for (const [how, end] of Object.entries(endings)) {
    const name = `leaver_${how}`;
    const from = watcher.received.lines.length;
    const client = await TcpClient.join(server.port, name);
    await watcher.received.waitFor(`*** ${name} joined`, { from });
    await end(client);
    await watcher.received.waitFor(new RegExp(`^\\*\\*\\* ${name} left`), {
      from,
    });
    // The name is free again: someone else can take it.
    const next = await TcpClient.join(server.port, name);
    const marker = `after ${how}`;
    await watcher.send(marker);
    await watcher.received.waitFor(`watcher: ${marker}`, { from });
    const leftNotices = watcher.received.lines.slice(from).filter((line) =>
      line.startsWith(`*** ${name} left`)
    );
    assert.equal(leftNotices.length, 1, `${how}: ${leftNotices}`);
    await next[Symbol.asyncDispose]();
    await client[Symbol.asyncDispose]();
  }
});

Deno.test("a taken name is refused, ignoring case, with an error to the asker only", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await TcpClient.join(server.port, "alice");
  await using other = await TcpClient.join(server.port);
  const from = alice.received.lines.length;
  await other.send("/nick ALICE");
  await other.received.waitFor(
    '*** error: the name "ALICE" is taken. Try another one.',
  );
  await other.send("/nick host");
  await other.received.waitFor(
    '*** error: the name "host" is taken. Try another one.',
  );
  await other.send("/nick bad:name");
  await other.received.waitFor(/^\*\*\* error: cannot use "bad:name"/);
  await other.send("done");
  await alice.received.waitFor("guest1: done");
  assert.deepEqual(alice.received.lines.slice(from), ["guest1: done"]);
});

Deno.test("/msg reaches only its target and the sender; /me and /who work over the wire", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  await using carol = await TcpClient.join(server.port, "carol");
  const carolFrom = carol.received.lines.length;
  await alice.send("/msg BOB the secret is 42");
  const privateLine = "[private] alice -> bob: the secret is 42";
  await bob.received.waitFor(privateLine);
  await alice.received.waitFor(privateLine);
  await alice.send("/me waves");
  await carol.received.waitFor("* alice waves");
  assert.ok(
    !carol.received.lines.slice(carolFrom).some((line) =>
      line.includes("secret")
    ),
    "carol saw the private message",
  );
  await carol.send("/who");
  await carol.received.waitFor("*** Online (4): host, alice, bob, carol");
  await carol.send("/frobnicate");
  await carol.received.waitFor(
    '*** error: unknown command "/frobnicate". Type /help for the list.',
  );
});

Deno.test("an oversize line is refused, not relayed, and the connection stays usable", async () => {
  await using server = await ChatProcess.serve();
  await using sender = await TcpClient.join(server.port, "sender");
  await using reader = await TcpClient.join(server.port, "reader");
  const from = reader.received.lines.length;
  await sender.write(encoder.encode("x".repeat(5000) + "\nstill here\n"));
  await sender.received.waitFor(
    "*** error: line too long (over 4096 bytes); it was not sent.",
  );
  await reader.received.waitFor("sender: still here");
  // A line of exactly the limit is fine.
  await sender.send("y".repeat(4096));
  await reader.received.waitFor(`sender: ${"y".repeat(4096)}`);
  assert.ok(
    !reader.received.lines.slice(from).some((line) => line.includes("xxx")),
  );
});

Deno.test("server memory stays bounded when a client sends 64 MiB without a newline", async () => {
  await using server = await ChatProcess.serve();
  await using sender = await TcpClient.join(server.port, "sender");
  await using reader = await TcpClient.join(server.port, "reader");
  const pid = server.child.pid;
  const before = await residentKiB(pid);
  const chunk = encoder.encode("z".repeat(1024 * 1024));
  for (let mib = 0; mib < 64; mib++) await sender.write(chunk);
  await sender.write(encoder.encode("\nafter the flood\n"));
  await reader.received.waitFor("sender: after the flood");
  const after = await residentKiB(pid);
  const growthMiB = (after - before) / 1024;
  console.log(
    `    resident memory ${Math.round(before / 1024)} MiB -> ${
      Math.round(after / 1024)
    } MiB after 64 MiB without a newline`,
  );
  assert.ok(growthMiB < 32, `server grew by ${growthMiB.toFixed(1)} MiB`);
  assert.equal(
    sender.received.lines.filter((line) => line.includes("line too long"))
      .length,
    1,
  );
});

Deno.test("control characters, escape sequences and bidi overrides are removed; bad UTF-8 becomes U+FFFD", async () => {
  await using server = await ChatProcess.serve();
  await using sender = await TcpClient.join(server.port, "sender");
  await using reader = await TcpClient.join(server.port, "reader");
  await sender.write(
    encoder.encode(
      "\x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07bell\x07 nul\x00 del\x7f " +
        "c1\u0085 rtl\u202Egnp.exe\u202C tab\tok\r\n",
    ),
  );
  await reader.received.waitFor(
    "sender: red bell nul del c1 rtlgnp.exe tab\tok",
  );
  // Not 0xFF: that starts a telnet command, which is removed (issue 14).
  await sender.write(new Uint8Array([0x68, 0x69, 0xfe, 0xc0, 0x0a]));
  await reader.received.waitFor("sender: hi\uFFFD\uFFFD");
  await sender.send("/nick \x1b[1mevil");
  await sender.received.waitFor("*** sender is now known as evil");
});

Deno.test("a client that never reads is dropped as too slow while the others keep chatting", async () => {
  await using server = await ChatProcess.serve();
  await using stalled = await TcpClient.connect(server.port, { read: false });
  await stalled.send("/nick stalled");
  await using talker = await TcpClient.join(server.port, "talker");
  await using listener = await TcpClient.join(server.port, "listener");
  const payload = "p".repeat(4000);
  const count = 4000; // 16 MB: far beyond the 1 MiB queue and socket buffers
  const started_ms = performance.now();
  const relayed = (line: string) =>
    line.startsWith("talker: ") && line.endsWith(payload);
  const sending = (async () => {
    for (let n = 0; n < count; n++) {
      await talker.send(`${n} ${payload}`);
      // At most 128 lines (512 KB) ahead of the listener: this process
      // also reads the talker's copy and the server's console, and a
      // listener it reads too slowly would be dropped (the console no
      // longer holds up the server to its reader's pace).
      if (n % 64 === 63) {
        await listener.received.waitForCount(relayed, n - 127, 30_000);
      }
    }
    await talker.send("the end");
  })();
  await listener.received.waitFor("*** stalled left (too slow)", {
    ms: 30_000,
  });
  await sending;
  await listener.received.waitFor("talker: the end", { ms: 30_000 });
  const elapsed = performance.now() - started_ms;
  const received = listener.received.lines.filter(relayed);
  assert.equal(received.length, count, "the listener missed lines");
  console.log(
    `    ${count} lines of 4 KB relayed to a reader in ${
      Math.round(elapsed)
    } ms while a stalled peer was dropped`,
  );
});

Deno.test("a client that has ended a line with a newline is waited for: a pause mid-line does not cut it", async () => {
  await using server = await ChatProcess.serve();
  await using reader = await TcpClient.join(server.port, "reader");
  await using slow = await TcpClient.join(server.port, "slow");
  await slow.write(encoder.encode("first half, "));
  // Well past the 300 ms after which a client without newlines is served.
  await new Promise((resolve) => setTimeout(resolve, 600));
  await slow.write(encoder.encode("second half\n"));
  await reader.received.waitFor("slow: first half, second half");
  assert.ok(!reader.received.lines.includes("slow: first half, "));
});

Deno.test("text without a newline is delivered after a pause, and when the connection closes", async () => {
  await using server = await ChatProcess.serve();
  await using reader = await TcpClient.join(server.port, "reader");
  // Like the course's Python client: send() with no newline, stay connected.
  await using python = await TcpClient.connect(server.port);
  await python.received.waitFor(lines.greeting());
  await python.write(encoder.encode("bonjour sans retour"));
  const said = await reader.received.waitFor(
    /^guest\d+: bonjour sans retour$/,
  );
  await python.write(encoder.encode("et encore"));
  await reader.received.waitFor(said.replace(/:.*/, ": et encore"));
  // Like the exercise's first client: send, then close at once.
  await using quick = await TcpClient.connect(server.port);
  await quick.received.waitFor(lines.greeting());
  await quick.write(encoder.encode("au revoir"));
  quick.close();
  await reader.received.waitFor(/^guest\d+: au revoir$/);
});

Deno.test("a full server tells the newcomer why and closes", async () => {
  await using server = await ChatProcess.serve(["--max-clients", "2"]);
  await using first = await TcpClient.join(server.port);
  await using second = await TcpClient.join(server.port);
  await using third = await TcpClient.connect(server.port);
  await third.received.waitForEnd();
  assert.deepEqual(third.received.lines, [
    "*** error: the server is full (2 clients). Try again later.",
  ]);
  // When someone leaves, there is room again.
  first.close();
  await second.received.waitFor("*** guest1 left");
  await using fourth = await TcpClient.join(server.port);
  assert.match(fourth.received.lines[1], /Welcome, guest3!/);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} tells every client the server is shutting down and exits 0 within 2 s`, async () => {
    await using server = await ChatProcess.serve();
    await using alice = await TcpClient.join(server.port);
    await using bob = await TcpClient.join(server.port);
    const sent = performance.now();
    server.kill(signal);
    const status = await server.exit();
    const elapsed = performance.now() - sent;
    assert.equal(status.code, 0, server.stderr.text);
    assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
    for (const client of [alice, bob]) {
      await client.received.waitForEnd();
      assert.equal(client.received.lines.at(-1), "*** server is shutting down");
    }
  });
}

Deno.test("the host chats from the console; /stop asks first while people are connected, and a second /stop shuts the server down", async () => {
  await using server = await ChatProcess.serve(["--name", "teacher"], {
    stdin: true,
  });
  await using alice = await TcpClient.join(server.port, "alice");
  await server.type("bonjour la classe");
  await alice.received.waitFor("teacher: bonjour la classe");
  await alice.send("merci");
  await server.stdout.waitFor("alice: merci");
  const from = server.stdout.lines.length;
  await server.type("/stop");
  await server.stdout.waitFor(issue13Lines.stopConfirm(1), { from });
  // The room is still open: alice still chats.
  await alice.send("encore là");
  await server.stdout.waitFor("alice: encore là", { from });
  await server.type("/stop");
  const status = await server.exit();
  assert.equal(status.code, 0);
  await alice.received.waitForEnd();
  assert.equal(alice.received.lines.at(-1), "*** server is shutting down");
  assert.ok(
    !alice.received.lines.some((line) => line.includes("/stop again")),
    "the confirmation is for the host only",
  );
});

Deno.test("/stop with no one connected shuts the server down at once", async () => {
  await using server = await ChatProcess.serve([], { stdin: true });
  await server.stdout.waitFor(CONSOLE_HINT);
  await server.type("/stop");
  assert.equal((await server.exit()).code, 0);
  assert.equal(server.stdout.lines.at(-1), "Server stopped.");
});

Deno.test("at the host's console, stop and /quit shut nothing down, are not sent, and say how to shut down", async () => {
  await using server = await ChatProcess.serve([], { stdin: true });
  await using alice = await TcpClient.join(server.port, "alice");
  const from = alice.received.lines.length;
  for (const typed of ["stop", " stop ", "/quit"]) {
    await server.type(typed);
    await server.stdout.waitFor(issue13Lines.howToStop(typed.trim()), {
      from: server.stdout.lines.length,
    });
  }
  await server.type("still teaching");
  await alice.received.waitFor("host: still teaching");
  assert.deepEqual(alice.received.lines.slice(from), ["host: still teaching"]);
  assert.equal(server.stdout.ended, false);
});

Deno.test("the end of the console's input does not stop the server, and says so", async () => {
  await using server = await ChatProcess.serve([], { stdin: true });
  await server.stdout.waitFor(CONSOLE_HINT);
  await server.endInput();
  await server.stdout.waitFor(
    `The console's input has ended: the room keeps running without a console. Stop it with: kill ${server.child.pid}`,
  );
  // Give a wrongly stopping server the chance to go, then check it serves.
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  await alice.send("still open");
  await bob.received.waitFor("alice: still open");
  assert.equal(server.stdout.ended, false);
});

const NC = findProgram("nc");

Deno.test({
  name: "a user with plain nc can chat",
  ignore: !NC,
  fn: async () => {
    await using server = await ChatProcess.serve();
    await using alice = await TcpClient.join(server.port, "alice");
    await using nc = new NetcatSession(NC!, server.port);
    await nc.output.waitFor(lines.greeting());
    await nc.write("/nick netcat\nsalut depuis nc\r\n");
    await nc.output.waitFor(/^\*\*\* Welcome, netcat!/);
    await alice.received.waitFor("netcat: salut depuis nc");
    await alice.send("hello nc");
    await nc.output.waitFor("alice: hello nc");
    await nc.write("/quit\n");
    await nc.output.waitFor("*** Bye!");
    await alice.received.waitFor("*** netcat left");
  },
});

/** A real `nc 127.0.0.1 PORT` with its input and output piped. */
class NetcatSession implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly output: LineCollector;
  readonly #input: WritableStreamDefaultWriter<Uint8Array>;

  constructor(program: string, port: number) {
    this.child = new Deno.Command(program, {
      args: ["127.0.0.1", String(port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.output = new LineCollector(this.child.stdout);
    this.#input = this.child.stdin.getWriter();
  }

  /** Types `text` into nc, exactly as given. */
  async write(text: string): Promise<void> {
    await deadline(this.#input.write(encoder.encode(text)), "a write to nc");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#input.close().catch(() => {});
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
    await this.output.done;
  }
}

// --- French -----------------------------------------------------------------

Deno.test({
  name:
    "a French server speaks French to nc: greeting, welcome, joins, departures and errors",
  ignore: !NC,
  fn: async () => {
    await using server = await ChatProcess.serve(["--lang", "fr"]);
    await using nc = new NetcatSession(NC!, server.port);
    await nc.output.waitFor(
      "*** Bonjour ! Vous regardez le salon. Envoyez /nick NOM pour le rejoindre sous un nom, ou tapez un message pour le rejoindre en invité.",
    );
    await nc.write("/nick bob\n");
    await nc.output.waitFor(
      /^\*\*\* Bienvenue, bob ! En ligne \(2\) : \S+, bob\. Tapez \/help /,
    );
    await using alice = await TcpClient.connect(server.port);
    await alice.received.waitFor(() => true);
    await alice.send("/nick alice");
    await alice.received.waitFor(
      /^\*\*\* Bienvenue, alice ! En ligne \(3\) : /,
    );
    await nc.output.waitFor("*** alice a rejoint le salon");
    await alice.send("bonjour bob");
    await nc.output.waitFor("alice: bonjour bob");
    await alice.send("/msg bob un secret");
    await nc.output.waitFor("[privé] alice -> bob: un secret");
    await nc.write("/frobnique\n");
    await nc.output.waitFor(
      "*** erreur : commande inconnue « /frobnique ». Tapez /help pour la liste.",
    );
    await nc.write("/nick alice\n");
    await nc.output.waitFor(
      "*** erreur : le nom « alice » est déjà pris. Essayez-en un autre.",
    );
    await alice.send("/quit");
    await alice.received.waitFor("*** Au revoir !");
    await nc.output.waitFor("*** alice a quitté le salon");
    await nc.write("/who\n");
    await nc.output.waitFor(/^\*\*\* En ligne \(2\) : \S+, bob$/);
  },
});

Deno.test("a French server says why it disconnects someone, in French", async () => {
  await using server = await ChatProcess.serve(["--lang", "fr"], {
    stdin: true,
  });
  await using bob = await TcpClient.connect(server.port);
  await bob.received.waitFor(() => true);
  await bob.send("/nick bob");
  await bob.received.waitFor(/^\*\*\* Bienvenue, bob ! /);
  await using carol = await TcpClient.connect(server.port);
  await carol.received.waitFor(() => true);
  await carol.send("/nick carol");
  await bob.received.waitFor("*** carol a rejoint le salon");
  await server.type("/kick carol");
  await carol.received.waitForEnd();
  assert.equal(
    carol.received.lines.at(-1),
    "*** Vous avez été déconnecté : expulsé par l'hôte.",
  );
  await bob.received.waitFor(
    "*** carol a quitté le salon (expulsé par l'hôte)",
  );
  await server.type("/stop");
  await server.stdout.waitFor(
    "*** Personnes connectées à part vous : 1. Tapez de nouveau /stop dans les 10 s pour arrêter le salon pour tout le monde.",
  );
  await server.type("/stop");
  await bob.received.waitForEnd();
  assert.equal(bob.received.lines.at(-1), "*** le serveur s'arrête");
});

Deno.test("the locale picks the server's language when --lang is not given", async () => {
  await using server = await ChatProcess.serve([], {
    env: { LANG: "fr_FR.UTF-8" },
  });
  await using bob = await TcpClient.connect(server.port);
  assert.equal(
    await bob.received.waitFor(() => true),
    "*** Bonjour ! Vous regardez le salon. Envoyez /nick NOM pour le rejoindre sous un nom, ou tapez un message pour le rejoindre en invité.",
  );
  await bob.send("/nick bob");
  await bob.received.waitFor(/^\*\*\* Bienvenue, bob ! /);
  // LC_ALL decides before LANG.
  await using english = await ChatProcess.serve([], {
    env: { LC_ALL: "en_GB.UTF-8", LANG: "fr_FR.UTF-8" },
  });
  await using ann = await TcpClient.connect(english.port);
  assert.equal(await ann.received.waitFor(() => true), lines.greeting());
});

// --- deadlines and moderation ------------------------------------------------

Deno.test("in a password room, a connection that does not give the password within the handshake timeout is told why and closed, having seen nothing", async () => {
  const password = "sesame-1";
  await using server = await ChatProcess.serve(
    ["--password", "--handshake-timeout", "1"],
    { env: { CHAT_PASSWORD: password } },
  );
  await using insider = await TcpClient.join(server.port, "insider", {
    password,
  });
  await using silent = await TcpClient.connect(server.port);
  const started = performance.now();
  await silent.received.waitFor(lines.passwordNeeded());
  await insider.send("said while it waits");
  await insider.received.waitFor("insider: said while it waits");
  await silent.received.waitForEnd();
  const elapsed = performance.now() - started;
  assert.deepEqual(silent.received.lines, [
    lines.passwordNeeded(),
    lines.passwordTimeout(1),
  ]);
  assert.ok(
    elapsed >= 900 && elapsed < 3000,
    `closed after ${Math.round(elapsed)} ms`,
  );
  // It was never in the room: no one saw it come or go.
  await insider.send("/who");
  await insider.received.waitFor(whoLine(["host", "insider"]));
  assert.ok(!insider.received.lines.some((line) => /guest\d/.test(line)));
});

Deno.test("a client that sent /ping and then falls silent is timed out and its name freed", async () => {
  // Issue 9: its name is kept for it a while; here 1 s (--reserve-seconds).
  await using server = await ChatProcess.serve([
    "--heartbeat-timeout",
    "1",
    "--reserve-seconds",
    "1",
  ]);
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using laptop = await TcpClient.join(server.port, "laptop");
  await laptop.send("/ping");
  await laptop.received.waitFor(lines.pong());
  // The laptop's lid closes: it neither sends nor closes its socket.
  await watcher.received.waitFor("*** laptop left (timed out)", {
    ms: 5000,
  });
  // Issue 9: another client is refused the name while it is kept ...
  await using again = await TcpClient.connect(server.port);
  await again.received.lineAt(0);
  await again.send("/nick laptop");
  let from = 1 + await again.received.waitForIndex(/^\*\*\* error: /);
  assert.match(again.received.lines[from - 1], /"laptop" belongs to someone/);
  // ... and gets it once the second is over (bounded retries).
  for (let attempt = 0;; attempt++) {
    await again.send("/nick laptop");
    from = 1 + await again.received.waitForIndex(
      (line) => line.startsWith("*** "),
      { from },
    );
    if (again.received.lines[from - 1].startsWith("*** Welcome, laptop!")) {
      break;
    }
    assert.ok(attempt < 20, "the name was never freed");
    await sleep(200);
  }
  // A client that never pings (nc) is not timed out: watcher is still here.
  await again.send("/who");
  await again.received.waitFor("*** Online (3): host, watcher, laptop");
});

Deno.test("the host moderates from the console: /topic, /mute, /unmute, /kick, /ban", async () => {
  await using server = await ChatProcess.serve([], { stdin: true });
  await using alice = await TcpClient.join(server.port, "alice");
  await using troll = await TcpClient.join(server.port, "troll");
  await server.type("/topic sockets, chapter 3");
  await alice.received.waitFor("*** host set the topic: sockets, chapter 3");
  await using late = await TcpClient.join(server.port, "late");
  // Issue 9: the topic the host set is also in the replay of earlier lines.
  assert.match(
    late.received.lines[late.welcomeIndex],
    /Topic: sockets, chapter 3\./,
  );

  await server.type("/mute troll");
  await alice.received.waitFor("*** troll was muted by the host");
  await troll.send("spam");
  await troll.received.waitFor(
    "*** error: you are muted by the host: nothing you send is delivered.",
  );
  await server.type("/unmute troll");
  await alice.received.waitFor("*** troll may speak again");
  await troll.send("sorry");
  await alice.received.waitFor("troll: sorry");
  assert.ok(!alice.received.lines.includes("troll: spam"));

  await server.type("/kick late");
  await late.received.waitForEnd();
  assert.equal(
    late.received.lines.at(-1),
    "*** You were disconnected: kicked by the host.",
  );
  await alice.received.waitFor("*** late left (kicked by the host)");

  // Everyone here comes from 127.0.0.1: the ban disconnects them all and
  // refuses all newcomers.
  await server.type("/ban troll");
  await troll.received.waitForEnd();
  assert.equal(
    troll.received.lines.at(-1),
    "*** You were disconnected: banned by the host.",
  );
  await server.stdout.waitFor("*** troll left (banned by the host)");
  await server.stdout.waitFor("*** alice left (banned by the host)");
  await server.stdout.waitFor(
    "*** 127.0.0.1 is banned until the server stops.",
  );
  await using refused = await TcpClient.connect(server.port);
  await refused.received.waitForEnd();
  assert.deepEqual(refused.received.lines, [lines.banned()]);
});

Deno.test("a guest cannot take the host's name in any case, nor use host commands", async () => {
  await using server = await ChatProcess.serve(["--name", "teacher"], {
    stdin: true,
  });
  await using guest = await TcpClient.connect(server.port);
  await guest.received.waitFor(lines.greeting());
  await guest.send("/nick TEACHER");
  await guest.received.waitFor(/^\*\*\* error: the name "TEACHER" is taken/);
  await server.type("/nick prof");
  await server.stdout.waitFor("*** teacher is now known as prof");
  await guest.send("/nick teacher");
  await guest.received.waitFor(
    '*** error: the name "teacher" is reserved for the host. Try another one.',
  );
  await guest.send("/join");
  await guest.received.waitFor(/^\*\*\* Welcome, guest1!/);
  await guest.send("/kick prof");
  await guest.received.waitFor(
    '*** error: unknown command "/kick". Type /help for the list.',
  );
});

Deno.test("a client dropped as too slow is sent a last line saying why", async () => {
  await using server = await ChatProcess.serve();
  await using listener = await TcpClient.join(server.port, "listener");
  await using stalled = await TcpClient.connect(server.port, { read: false });
  await stalled.send("/nick stalled");
  await listener.received.waitFor("*** stalled joined");
  await using talker = await TcpClient.join(server.port, "talker");
  const payload = "q".repeat(4000);
  // 16 MB: far beyond the 1 MiB queue and the socket buffers.
  for (let n = 0; n < 4000; n++) await talker.send(payload);
  await listener.received.waitFor("*** stalled left (too slow)", {
    ms: 30_000,
  });
  // Now read what the stalled client was sent: it ends with the reason.
  const text = new TextDecoder().decode(
    await deadline(
      new Response(stalled.conn.readable).arrayBuffer(),
      "the stalled client's socket to drain",
    ),
  );
  assert.ok(
    text.endsWith("*** You were disconnected: too slow to keep up.\n"),
    text.slice(-200),
  );
});

Deno.test("when every reader is slower than the sender, the sender is slowed down and no reader is dropped", async () => {
  await using server = await ChatProcess.serve();
  const readerCount = 5;
  const lineCount = 30_000; // 6 MB to each reader: past socket buffers and the 1 MiB queue
  const payload = "s".repeat(190);
  const readers = await Promise.all(
    Array.from({ length: readerCount }, async (_, index) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await conn.write(encoder.encode(`/nick sip${index}\n`));
      return conn;
    }),
  );
  await using sender = await TcpClient.join(server.port, "firehose");
  const started = performance.now();
  // Each reader sips 4 KiB every 2 ms (about 2 MB/s), and counts lines.
  const sipping = readers.map(async (conn) => {
    const buffer = new Uint8Array(4096);
    let lines = 0;
    let ended = false;
    while (!ended && performance.now() - started < 30_000) {
      const count = await conn.read(buffer);
      if (count === null) {
        ended = true;
        break;
      }
      for (let i = 0; i < count; i++) if (buffer[i] === 0x0a) lines++;
      if (lines >= lineCount + 2) break; // + its welcome and firehose joined
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    conn.close();
    return { lines, ended };
  });
  const line = encoder.encode(`${payload}\n`);
  const batch = new Uint8Array(line.length * 100);
  for (let n = 0; n < 100; n++) batch.set(line, n * line.length);
  for (let sent = 0; sent < lineCount; sent += 100) await sender.write(batch);
  const results = await deadline(Promise.all(sipping), "the readers", 40_000);
  const elapsed = performance.now() - started;
  console.log(
    `    ${lineCount} lines of 200 bytes to ${readerCount} readers at about 2 MB/s each: ${
      results.map((r) => r.lines).join(", ")
    } lines in ${Math.round(elapsed)} ms`,
  );
  for (const result of results) {
    assert.equal(result.ended, false, "a reader was disconnected");
    assert.ok(result.lines >= lineCount + 2, `only ${result.lines} lines`);
  }
});

Deno.test("--max-line-bytes sets the longest line a client may send", async () => {
  await using server = await ChatProcess.serve(["--max-line-bytes", "10"]);
  // Short names: "/nick NAME" is a line too.
  await using sender = await TcpClient.join(server.port, "s");
  await using reader = await TcpClient.join(server.port, "r");
  await sender.send("0123456789");
  await reader.received.waitFor("s: 0123456789");
  await sender.send("0123456789a");
  await sender.received.waitFor(
    "*** error: line too long (over 10 bytes); it was not sent.",
  );
  await sender.send("ok");
  await reader.received.waitFor("s: ok");
  assert.ok(!reader.received.lines.some((line) => line.includes("9a")));
});

// --- issue 13: limits, the console's end, the README, bugs in the room ------

Deno.test("--max-clients 0 turns the connection limit off", async () => {
  await using server = await ChatProcess.serve(["--max-clients", "0"]);
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  await bob.send("no limit");
  await alice.received.waitFor("bob: no limit");
});

Deno.test("the README gives the one stall limit the server applies", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const seconds = [
    ...readme.matchAll(
      /no\s+write\s+to\s+\w+(?:\s+\w+)?\s+finished\s+for\s+(\d+)\s+s|(\d+)\s+s\s+without\s+a\s+finished\s+write/g,
    ),
  ].map((match) => Number(match[1] ?? match[2]));
  assert.ok(seconds.length >= 3, `found ${seconds}`);
  assert.deepEqual(
    seconds,
    seconds.map(() => STALLED_WRITE_MS / 1000),
    "every mention of the stall limit",
  );
});

Deno.test({
  name:
    "Ctrl-D at the host's terminal says the console stopped reading; the room keeps serving and Ctrl-C still stops it",
  ignore: !TMUX_FOUND,
  fn: async () => {
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["serve", "--host", "127.0.0.1", "--port", "0"]),
      { TERM: "xterm-256color" },
      { columns: 200 },
    );
    const screen = await terminal.waitFor(
      "the host's welcome",
      (text) => text.includes("*** Welcome, host!"),
    );
    const port = Number(/Listening on 127\.0\.0\.1:(\d+)/.exec(screen)?.[1]);
    await terminal.keys("C-d");
    await terminal.waitFor(
      "the line saying the console stopped reading",
      (text) =>
        /Ctrl-D: this console no longer reads what you type, and the room keeps running\. Stop it with Ctrl-C, or with: kill \d+/
          .test(text),
    );
    await using alice = await TcpClient.join(port, "alice");
    await using bob = await TcpClient.join(port, "bob");
    await alice.send("still served");
    await bob.received.waitFor("alice: still served");
    await terminal.keys("C-c");
    await bob.received.waitForEnd();
    assert.equal(bob.received.lines.at(-1), lines.shutdown());
    await terminal.waitFor(
      "the server to exit 0",
      (text) => text.includes("Server stopped.") && text.includes("EXIT=0"),
    );
  },
});

/** A room whose handleLine throws on "boom": a stand-in for a bug in it. */
class BuggyRoom extends Room {
  override handleLine(member: Member, rawText: string): void {
    if (rawText === "boom") throw new TypeError("the room broke\non boom");
    super.handleLine(member, rawText);
  }
}

/** A listener on 127.0.0.1 and the connections it accepts, for unit tests. */
async function socketPair(
  listener: Deno.TcpListener,
): Promise<{ client: TcpClient; server: Deno.TcpConn }> {
  const accepted = listener.accept();
  const client = await TcpClient.connect(listener.addr.port);
  return { client, server: await deadline(accepted, "an accept") };
}

Deno.test("an exception in the room is reported as a bug; the connection that caused it is kept and told, the others never notice", async () => {
  const room = new BuggyRoom();
  const renderings = new Renderings();
  const reported: { error: unknown; address: string }[] = [];
  const connections: Connection[] = [];
  const settings: ConnectionSettings = {
    room,
    renderings,
    textRendering: renderings.text("en"),
    queueLimitBytes: 1024 * 1024,
    maxLineBytes: 4096,
    flow: new FlowControl(() => connections.length),
    serverName: "chat test",
    run: "0123456789abcdef",
    reportBug: (error, address) => reported.push({ error, address }),
  };
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const clients: TcpClient[] = [];
  try {
    for (let n = 0; n < 3; n++) {
      const { client, server } = await socketPair(listener);
      clients.push(client);
      connections.push(new Connection(server, "127.0.0.1", settings, () => {}));
      await client.received.waitFor(lines.greeting());
    }
    const [alice, bob, python] = clients;
    await alice.send("/nick alice");
    await bob.send("/nick bob");
    await bob.received.waitFor(/^\*\*\* Welcome, bob!/);

    await alice.send("boom");
    await alice.received.waitFor(issue13Lines.internalError());
    assert.equal(reported.length, 1);
    assert.equal(reported[0].address, "127.0.0.1");
    assert.match(String(reported[0].error), /the room broke/);
    // Alice is still in the room, and so is everyone else.
    await alice.send("still here");
    await bob.received.waitFor("alice: still here");
    assert.ok(
      !bob.received.lines.some((line) => line.includes("left")),
      bob.received.text,
    );

    // Like the course's Python client: "boom" with no newline, delivered
    // after a pause, from a timer.
    await python.write(new TextEncoder().encode("boom"));
    await python.received.waitFor(issue13Lines.internalError());
    assert.equal(reported.length, 2);
    await python.write(new TextEncoder().encode("et puis"));
    await bob.received.waitFor(/^guest\d+: et puis$/);
  } finally {
    for (const connection of connections) connection.abort();
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

Deno.test("the server logs a bug in the room once per different error, in one line, and keeps serving", async () => {
  const logged: string[] = [];
  const server = ChatServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    maxClients: 10,
    maxPerAddress: 0,
    flood: { burst: 100, perSecond: 0, disconnectAfter: 0 },
    logBug: (line) => logged.push(line),
  });
  try {
    const room = server.room;
    const handleLine = room.handleLine.bind(room);
    // Stands in for a bug: the room throws on these lines.
    room.handleLine = (member, text) => {
      if (text.startsWith("boom")) throw new Error(`failed on ${text}`);
      handleLine(member, text);
    };
    await using alice = await TcpClient.join(server.port, "alice");
    await using bob = await TcpClient.join(server.port, "bob");
    for (let n = 0; n < 3; n++) await alice.send("boom");
    await alice.send("boom two");
    await alice.send("after the bugs");
    await bob.received.waitFor("alice: after the bugs");
    assert.deepEqual(logged, [
      "Bug in chat (please report it), with the connection from 127.0.0.1: Error: failed on boom. The room keeps serving; this error is logged once.",
      "Bug in chat (please report it), with the connection from 127.0.0.1: Error: failed on boom two. The room keeps serving; this error is logged once.",
    ]);
    assert.equal(
      alice.received.lines.filter((line) =>
        line === issue13Lines.internalError()
      ).length,
      4,
    );
  } finally {
    await server.shutdown();
  }
});
