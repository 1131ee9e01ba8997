/**
 * End-to-end tests of watchers: in a room without a password a connection
 * receives everything said from the moment it connects, unannounced and
 * nameless, with no join deadline; it counts toward the connection limits
 * and is dropped like any reader that stops reading. In a room with a
 * password it sees nothing until the right `/pass`, and the deadline applies
 * to giving it. The real `main.ts` in a subprocess, real TCP on 127.0.0.1,
 * the course's own Python client and real `nc`.
 */

import assert from "node:assert/strict";
import {
  ChatProcess,
  deadline,
  findProgram,
  sleep,
  TcpClient,
  whoLine,
} from "./harness.ts";
import { lines } from "./golden_lines.ts";

const PYTHON3 = findProgram("python3");
const NC = findProgram("nc");
const SERIE3_CLIENT =
  new URL("./testdata/client_serie3.py", import.meta.url).pathname;

/** Asks `/who` from `asker` and returns the answer. */
async function who(asker: TcpClient): Promise<string> {
  const from = asker.received.lines.length;
  await asker.send("/who");
  return await asker.received.waitFor(
    (line) => line.startsWith("*** Online ("),
    {
      from,
    },
  );
}

/** Asks `/who` until the answer is `expected` (the server's view changed). */
async function whoUntil(
  asker: TcpClient,
  expected: string,
  ms = 10_000,
): Promise<void> {
  const giveUp = performance.now() + ms;
  let last = "";
  while ((last = await who(asker)) !== expected) {
    if (performance.now() > giveUp) {
      throw new Error(`/who still says "${last}", not "${expected}"`);
    }
    await sleep(50);
  }
}

Deno.test({
  name:
    "the course's series-3 Python client receives the conversation before and after it sends its first message without a newline",
  ignore: !PYTHON3,
  fn: async () => {
    await using server = await ChatProcess.serve();
    await using alice = await TcpClient.join(server.port, "alice");
    await using bob = await TcpClient.join(server.port, "bob");
    // -u: Python's own output unbuffered, so each print reaches the test.
    await using python = new ChatProcess(
      ["-u", SERIE3_CLIENT, "127.0.0.1", String(server.port)],
      { program: PYTHON3!, stdin: true },
    );
    await python.stdout.waitFor("Envoyez vos messages !");
    await python.stdout.waitFor(lines.greeting());
    const aliceFrom = alice.received.lines.length;

    // The conversation, before the Python client has typed anything.
    // Each waits for the line before it: lines from two connections have
    // no order of their own until the server has read them.
    await alice.send("Bonjour, qui est là ?");
    await bob.received.waitFor("alice: Bonjour, qui est là ?");
    await bob.send("Moi, Bob.");
    await alice.received.waitFor("bob: Moi, Bob.");
    await alice.send("/me fait signe");
    await python.stdout.waitFor("alice: Bonjour, qui est là ?");
    await python.stdout.waitFor("bob: Moi, Bob.");
    await python.stdout.waitFor("* alice fait signe");
    const watchedUntil = python.stdout.lines.length;

    // Its first message: input() then c.send(t.encode()), no newline. The
    // server delivers it after 300 ms without more bytes, as a guest.
    await python.type("Bonjour, je m'appelle Pierre");
    const said = await alice.received.waitFor(
      /^guest\d+: Bonjour, je m'appelle Pierre$/,
      { from: aliceFrom },
    );
    const guest = said.split(":")[0];
    await bob.received.waitFor(said);
    await python.stdout.waitFor((line) =>
      line.startsWith(
        `*** Welcome, ${guest}! Online (4): host, alice, bob, ${guest}.`,
      )
    );
    await python.stdout.waitFor(said);

    // And it keeps receiving.
    await bob.send("Et moi Paul");
    await python.stdout.waitFor("bob: Et moi Paul");
    await python.type("Enchanté");
    await alice.received.waitFor(`${guest}: Enchanté`, { from: aliceFrom });
    await python.stdout.waitFor(`${guest}: Enchanté`);

    // "stop" ends the client; the room sees it leave.
    await python.type("stop");
    const status = await deadline(python.child.status, "python to exit");
    assert.equal(status.code, 0, python.stderr.text);
    await alice.received.waitFor(`*** ${guest} left`, { from: aliceFrom });

    const output = python.stdout.lines.filter((line) => line !== "");
    assert.equal(output[0], "Envoyez vos messages !");
    // What it saw while watching came before its welcome, in room order.
    const at = (line: string) => output.indexOf(line);
    assert.ok(python.stdout.lines.indexOf(said) >= watchedUntil);
    assert.ok(at(lines.greeting()) < at("alice: Bonjour, qui est là ?"));
    assert.ok(at("alice: Bonjour, qui est là ?") < at("bob: Moi, Bob."));
    assert.ok(at("bob: Moi, Bob.") < at("* alice fait signe"));
    assert.ok(
      at("* alice fait signe") <
        output.findIndex((line) => line.startsWith("*** Welcome, ")),
    );
    assert.ok(at(said) < at("bob: Et moi Paul"));
    assert.ok(
      !output.some((line) => line.startsWith("*** error")),
      output.join("\n"),
    );
    assert.equal(python.stderr.text, "");
    // Watching was unannounced: the room heard of it only when it spoke.
    const aliceSaw = alice.received.lines.slice(aliceFrom);
    assert.ok(
      aliceSaw.indexOf(`*** ${guest} joined`) >
        aliceSaw.indexOf("* alice fait signe"),
      aliceSaw.join("\n"),
    );
  },
});

Deno.test({
  name:
    "nc with nothing typed watches the room: it sees joins, messages and actions",
  ignore: !NC,
  fn: async () => {
    await using server = await ChatProcess.serve();
    await using nc = new ChatProcess(["127.0.0.1", String(server.port)], {
      program: NC!,
      stdin: true,
    });
    await nc.stdout.waitFor(lines.greeting());
    await using alice = await TcpClient.join(server.port, "alice");
    await nc.stdout.waitFor(lines.joined("alice"));
    await using bob = await TcpClient.join(server.port, "bob");
    await alice.send("hello, is anyone watching?");
    await bob.send("/me looks around");
    await nc.stdout.waitFor("alice: hello, is anyone watching?");
    await nc.stdout.waitFor("* bob looks around");
    assert.equal(await who(alice), whoLine(["host", "alice", "bob"], 1));
    await bob.send("/quit");
    await nc.stdout.waitFor(lines.left("bob"));
    assert.deepEqual(nc.stdout.lines, [
      lines.greeting(),
      lines.joined("alice"),
      lines.joined("bob"),
      "alice: hello, is anyone watching?",
      "* bob looks around",
      lines.left("bob"),
    ]);
  },
});

Deno.test("/who counts watchers; watchers come and go unannounced, and one that joins is no longer counted", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await TcpClient.join(server.port, "alice");
  const from = alice.received.lines.length;
  assert.equal(await who(alice), whoLine(["host", "alice"]));
  await using w1 = await TcpClient.connect(server.port);
  await using w2 = await TcpClient.connect(server.port);
  await w1.received.waitFor(lines.greeting());
  await w2.received.waitFor(lines.greeting());
  await whoUntil(alice, whoLine(["host", "alice"], 2));
  await alice.send("for the watchers");
  await w1.received.waitFor("alice: for the watchers");
  await w2.received.waitFor("alice: for the watchers");
  await w1.send("/nick wanda");
  await alice.received.waitFor(lines.joined("wanda"));
  await w1.received.waitFor((line) =>
    line.startsWith("*** Welcome, wanda! Online (3): host, alice, wanda.")
  );
  assert.equal(await who(alice), whoLine(["host", "alice", "wanda"], 1));
  w2.close();
  await whoUntil(alice, whoLine(["host", "alice", "wanda"]));
  await alice.send("marker");
  await alice.received.waitFor("alice: marker", { from });
  // The only notice about either was wanda joining.
  assert.deepEqual(
    alice.received.lines.slice(from).filter((line) =>
      line.startsWith("*** ") && !line.startsWith("*** Online (")
    ),
    [lines.joined("wanda")],
  );
});

Deno.test("watchers count toward --max-per-ip", async () => {
  await using server = await ChatProcess.serve(["--max-per-ip", "3"], {
    limits: true,
  });
  await using alice = await TcpClient.join(server.port, "alice");
  await using w1 = await TcpClient.connect(server.port);
  await using w2 = await TcpClient.connect(server.port);
  await w1.received.waitFor(lines.greeting());
  await w2.received.waitFor(lines.greeting());
  await using w3 = await TcpClient.connect(server.port);
  await w3.received.waitForEnd();
  assert.deepEqual(w3.received.lines, [lines.tooManyFromAddress(3)]);
  assert.equal(await who(alice), whoLine(["host", "alice"], 2));
  // When a watcher leaves, its slot is free again.
  w1.close();
  await whoUntil(alice, whoLine(["host", "alice"], 1));
  await using w4 = await TcpClient.connect(server.port);
  await w4.received.waitFor(lines.greeting());
  await alice.send("to w2 and w4");
  await w4.received.waitFor("alice: to w2 and w4");
  await w2.received.waitFor("alice: to w2 and w4");
});

Deno.test("watchers count toward --max-clients", async () => {
  await using server = await ChatProcess.serve(["--max-clients", "3"]);
  await using alice = await TcpClient.join(server.port, "alice");
  await using w1 = await TcpClient.connect(server.port);
  await using w2 = await TcpClient.connect(server.port);
  await w1.received.waitFor(lines.greeting());
  await w2.received.waitFor(lines.greeting());
  await using w3 = await TcpClient.connect(server.port);
  await w3.received.waitForEnd();
  assert.deepEqual(w3.received.lines, [lines.full(3)]);
  assert.equal(await who(alice), whoLine(["host", "alice"], 2));
  w2.close();
  await whoUntil(alice, whoLine(["host", "alice"], 1));
  await using w4 = await TcpClient.connect(server.port);
  await w4.received.waitFor(lines.greeting());
});

Deno.test("a watcher that never reads is dropped as too slow, unannounced, while the others keep receiving", async () => {
  await using server = await ChatProcess.serve();
  await using stalled = await TcpClient.connect(server.port, { read: false });
  await using talker = await TcpClient.join(server.port, "talker");
  await using listener = await TcpClient.join(server.port, "listener");
  await using watcher = await TcpClient.connect(server.port);
  await watcher.received.waitFor(lines.greeting());
  await whoUntil(listener, whoLine(["host", "talker", "listener"], 2));
  const from = listener.received.lines.length;
  const payload = "w".repeat(4000);
  const count = 4000; // 16 MB: far beyond the 1 MiB queue and socket buffers
  const relayed = (line: string) =>
    line.startsWith("talker: ") && line.endsWith(payload);
  for (let n = 0; n < count; n++) {
    await talker.send(`${n} ${payload}`);
    // At most 128 lines (512 KB) ahead of the two readers: this process
    // reads them all, and a reader it reads too slowly would be dropped.
    if (n % 64 === 63) {
      await listener.received.waitForCount(relayed, n - 127, 30_000);
      await watcher.received.waitForCount(relayed, n - 127, 30_000);
    }
  }
  await talker.send("the end");
  await listener.received.waitFor("talker: the end", { from, ms: 30_000 });
  await watcher.received.waitFor("talker: the end", { ms: 30_000 });
  const isPayload = (line: string) =>
    line.startsWith("talker: ") && line.endsWith(payload);
  assert.equal(listener.received.lines.filter(isPayload).length, count);
  assert.equal(watcher.received.lines.filter(isPayload).length, count);
  await whoUntil(
    listener,
    whoLine(["host", "talker", "listener"], 1),
    30_000,
  );
  // Now read what the stalled watcher was sent: it ends with the reason.
  const text = new TextDecoder().decode(
    await deadline(
      new Response(stalled.conn.readable).arrayBuffer(),
      "the stalled watcher's socket to drain",
    ),
  );
  assert.ok(text.startsWith(lines.greeting() + "\n"), text.slice(0, 200));
  // Two rules drop it, whichever comes first: its queue passing the limit
  // (it is then sent a last line saying why, if it reads within a second),
  // or no write to it finishing for 5 s, which is what happens when the
  // room holds its readers meanwhile (flow control, on a loaded machine);
  // its socket is then closed wherever the kernel stopped taking bytes. It
  // reads only now, so the farewell may be missing, but never misplaced.
  const farewell = lines.removed("too slow to keep up");
  const at = text.indexOf(farewell);
  assert.ok(
    at === -1 || at === text.length - farewell.length - 1,
    text.slice(-200),
  );
  // A watcher has no name: nobody was told it left.
  assert.ok(
    !listener.received.lines.slice(from).some((line) =>
      / left( \(|$)/.test(line)
    ),
  );
});

Deno.test("without a password there is no join deadline: a watcher is still there and receiving after --handshake-timeout 1", async () => {
  await using server = await ChatProcess.serve(["--handshake-timeout", "1"]);
  await using watcher = await TcpClient.connect(server.port);
  const connectedAt = performance.now();
  await watcher.received.waitFor(lines.greeting());
  await using alice = await TcpClient.join(server.port, "alice");
  // Past the deadline (1 s) and the next check of it (the server checks
  // every second), with a margin: a deadline would have closed it by now.
  await sleep(Math.max(0, connectedAt + 3000 - performance.now()));
  assert.equal(watcher.received.ended, false);
  await alice.send("still watching?");
  await watcher.received.waitFor("alice: still watching?");
  assert.equal(await who(alice), whoLine(["host", "alice"], 1));
  await watcher.send("/nick late");
  await watcher.received.waitFor((line) =>
    line.startsWith("*** Welcome, late!")
  );
  assert.ok(
    !watcher.received.lines.some((line) => line.startsWith("*** error")),
    watcher.received.text,
  );
});

Deno.test("in a password room a connection sees nothing before the right /pass, everything after it, and is closed at the deadline without it", async () => {
  const password = "sesame-2";
  await using server = await ChatProcess.serve(
    ["--password", "--handshake-timeout", "2"],
    { env: { CHAT_PASSWORD: password } },
  );
  await using insider = await TcpClient.join(server.port, "insider", {
    password,
  });
  await using giver = await TcpClient.connect(server.port);
  await using silent = await TcpClient.connect(server.port);
  await giver.received.waitFor(lines.passwordNeeded());
  await silent.received.waitFor(lines.passwordNeeded());
  await insider.send("before the password");
  await insider.received.waitFor("insider: before the password");
  // At the door: not watching, not counted.
  assert.equal(await who(insider), whoLine(["host", "insider"]));

  await giver.send(`/pass ${password}`);
  await giver.received.waitFor(lines.passwordAccepted());
  await insider.send("after the password");
  await giver.received.waitFor("insider: after the password");
  // Nothing live before the password; what was said before comes once it
  // is accepted, framed as earlier lines (issue 9).
  const accepted = giver.received.lines.indexOf(lines.passwordAccepted());
  assert.deepEqual(giver.received.lines.slice(accepted + 1), [
    "*** Earlier in the room (1 line):",
    "insider: before the password",
    "*** End of earlier lines.",
    "insider: after the password",
  ]);
  assert.equal(await who(insider), whoLine(["host", "insider"], 1));

  // The silent one is closed at the deadline, having seen nothing.
  await silent.received.waitForEnd(6000);
  assert.deepEqual(silent.received.lines, [
    lines.passwordNeeded(),
    lines.passwordTimeout(2),
  ]);
  // The giver connected before the silent one: the check that closed the
  // silent one found it past the deadline too, and left it watching.
  await insider.send("after the deadline");
  await giver.received.waitFor("insider: after the deadline");
  assert.equal(giver.received.ended, false);
  assert.ok(
    !giver.received.lines.some((line) => line.startsWith("*** error")),
    giver.received.text,
  );
  await giver.send("/nick giver");
  await insider.received.waitFor(lines.joined("giver"));
});
