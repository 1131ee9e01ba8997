/**
 * Issue 9, transcripts: `chat serve --log FILE` appends every public line,
 * join, leave, rename and topic, each after its ISO 8601 time, written per
 * line so that `kill -9` loses nothing the clients received; never a
 * password or a private message; a file that cannot be written stops the
 * start with one line.
 */

import assert from "node:assert/strict";
import {
  isTranscribed,
  Transcript,
  transcriptLine,
} from "../lib/transcript.ts";
import { ChatProcess, TcpClient, WAIT_MS } from "./harness.ts";
import { lines } from "./golden_lines.ts";

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/;

/** The transcript's lines as [time in ms, line without the time]. */
async function readTranscript(path: string): Promise<[number, string][]> {
  const text = await Deno.readTextFile(path);
  assert.ok(text === "" || text.endsWith("\n"), "ends with a newline");
  return text.split("\n").slice(0, -1).map((line) => {
    const match = STAMP.exec(line);
    assert.ok(match, `no ISO 8601 time in: ${line}`);
    return [Date.parse(match[1]), match[2]];
  });
}

Deno.test("transcriptLine: the event's plain line after its ISO time, in the language asked", () => {
  const event = {
    type: "message" as const,
    from: "alice",
    text: "hi",
    seq: 3,
    time: Date.UTC(2026, 11, 2, 10, 2, 3, 123),
  };
  assert.equal(
    transcriptLine(event, "en"),
    "2026-12-02T10:02:03.123Z alice: hi",
  );
  assert.equal(
    transcriptLine({ type: "left", name: "bob", seq: 4, time: 0 }, "fr"),
    "1970-01-01T00:00:00.000Z *** bob a quitté le salon",
  );
  assert.equal(
    transcriptLine(
      { type: "private", from: "a", to: "b", text: "psst", seq: 5, time: 0 },
      "en",
    ),
    "1970-01-01T00:00:00.000Z [private] a -> b: psst",
  );
  assert.equal(isTranscribed({ ...event, type: "private", to: "b" }), false);
  assert.equal(
    isTranscribed({ type: "topic", topic: "x", seq: 1, time: 0 }),
    false,
  );
  assert.equal(
    isTranscribed({ type: "topic", topic: "x", by: "p", seq: 1, time: 0 }),
    true,
  );
});

Deno.test("Transcript appends to an existing file and creates it owner-only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-transcript-" });
  try {
    const path = `${dir}/class.log`;
    await Deno.writeTextFile(path, "earlier run\n");
    const transcript = Transcript.open(path, "en");
    transcript.write({ type: "joined", name: "bob", seq: 1, time: 0 });
    transcript.write({ type: "pong", seq: 2, time: 0 }); // not kept
    transcript.write({ type: "shutdown", seq: 3, time: 0 });
    transcript.close();
    transcript.write({ type: "joined", name: "late", seq: 3, time: 0 });
    assert.equal(
      await Deno.readTextFile(path),
      "earlier run\n1970-01-01T00:00:00.000Z *** bob joined\n" +
        "1970-01-01T00:00:00.000Z *** server is shutting down\n",
    );
    if (Deno.build.os !== "windows") {
      const fresh = `${dir}/fresh.log`;
      Transcript.open(fresh, "en").close();
      assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o600);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after kill -9 of the server the transcript holds exactly the public lines the clients received, never the password or a private line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-transcript-" });
  const path = `${dir}/class.log`;
  const password = "never-in-the-log-42";
  const started = Date.now();
  try {
    await using server = await ChatProcess.serve(
      ["--password", "--log", path],
      { stdin: true, env: { CHAT_PASSWORD: password } },
    );
    await using observer = await TcpClient.join(server.port, "observer", {
      password,
    });
    await using alice = await TcpClient.join(server.port, "alice", {
      password,
    });
    await using bob = await TcpClient.join(server.port, "bob", { password });
    await using guesser = await TcpClient.connect(server.port);
    await guesser.send("/pass wrong-guess-17");
    await guesser.received.waitForEnd();
    await server.type("/topic transcripts");
    await alice.received.waitFor(lines.topicSet("host", "transcripts"));
    await alice.send("hello class");
    await alice.send("/me waves");
    await bob.send("/msg alice a private word");
    await alice.received.waitFor(
      lines.privateMessage("bob", "alice", "a private word"),
    );
    await bob.send("/nick bobby");
    await alice.received.waitFor(lines.renamed("bob", "bobby"));
    const carol = await TcpClient.join(server.port, "carol", { password });
    await carol.send("/quit");
    await carol.received.waitForEnd();
    await alice.send("last line: é 👋");
    await observer.received.waitFor("alice: last line: é 👋");

    server.kill("SIGKILL");
    const status = await server.exit(WAIT_MS);
    assert.equal(status.signal, "SIGKILL");

    const transcript = await readTranscript(path);
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes(password), "the password is in the transcript");
    assert.ok(!text.includes("wrong-guess"), "a guessed password is in it");
    assert.ok(!text.includes("private word"), "a private line is in it");
    // Times: in order, during the test.
    const times = transcript.map(([time]) => time);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.ok(times[0] >= started - 1000 && times.at(-1)! <= Date.now());
    // What the observer received after its welcome, line for line.
    const logged = transcript.map(([, line]) => line);
    const from = logged.indexOf(lines.joined("observer")) + 1;
    assert.ok(from > 0, logged.join("\n"));
    assert.deepEqual(
      logged.slice(from),
      observer.lines.slice(observer.welcomeIndex + 1),
    );
    assert.deepEqual(logged.slice(from), [
      lines.joined("alice"),
      lines.joined("bob"),
      lines.topicSet("host", "transcripts"),
      "alice: hello class",
      "* alice waves",
      lines.renamed("bob", "bobby"),
      lines.joined("carol"),
      lines.left("carol"),
      "alice: last line: é 👋",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a transcript that cannot be written is one clear line at start, exit status 1, in the server's language", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-transcript-" });
  try {
    const cases: [string[], string][] = [
      [
        ["--log", `${dir}/missing/class.log`],
        `chat: cannot write the transcript "${dir}/missing/class.log": its folder does not exist.`,
      ],
      [
        ["--log", dir],
        `chat: cannot write the transcript "${dir}": it is a folder.`,
      ],
      [
        ["--log", dir, "--lang", "fr"],
        `chat: impossible d'écrire la transcription « ${dir} » : c'est un dossier.`,
      ],
    ];
    for (const [args, expected] of cases) {
      await using server = new ChatProcess([
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        ...args,
      ]);
      const status = await server.exit();
      assert.equal(status.code, 1, args.join(" "));
      assert.deepEqual(server.stderr.lines, [expected]);
      // Nothing was started: no listening line.
      assert.deepEqual(server.stdout.lines, []);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
