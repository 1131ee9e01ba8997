/**
 * Issue 12: pasting code into `chat connect` at a real terminal (tmux,
 * bracketed paste), typing a block by hand, and blocks from a pipe: what
 * arrives at another `chat connect` and at an `nc`-style client, and where
 * in the order, while others chat as fast as flood control allows.
 */

import assert from "node:assert/strict";
import {
  chatCommand,
  ChatProcess,
  sleep,
  TcpClient,
  Terminal,
  TMUX_FOUND,
} from "./harness.ts";

if (!TMUX_FOUND) {
  console.log("paste_test: tmux not found; terminal tests skipped");
}

/** 40 lines of code: indentation, tabs, blank lines, things that look like lines. */
const CODE = Array.from({ length: 40 }, (_, i) => {
  if (i % 9 === 4) return "";
  if (i === 20) return "*** bob joined";
  if (i === 21) return "bob: not really";
  return `${"    ".repeat(i % 4)}step_${i}(x)${i % 5 === 0 ? "\t# tab" : ""}`;
});

/** Where the block from `name` starts and ends in `lines` (once each). */
function findBlock(
  lines: readonly string[],
  name: string,
  header: string,
): { start: number; end: number } {
  const starts = lines.flatMap((line, i) => line === header ? [i] : []);
  assert.equal(starts.length, 1, `one header "${header}"`);
  const start = starts[0];
  const end = lines.indexOf(`${name} \`\`\``, start + 1);
  assert.notEqual(end, -1, "the end of the block");
  return { start, end };
}

Deno.test({
  name:
    "a 40-line paste in chat connect arrives whole and once, in its place, at chat connect and nc, while two others chat at full speed",
  ignore: !TMUX_FOUND,
  async fn() {
    // Flood control and the room's ceiling as in class (one address here
    // holds every seat, so only the per-address cap is lifted).
    await using server = await ChatProcess.serve(["--max-per-ip", "0"], {
      limits: true,
    });
    const port = server.port;
    await using nc = await TcpClient.join(port, "nc");
    await using chatter1 = await TcpClient.join(port, "c1");
    await using chatter2 = await TcpClient.join(port, "c2");
    await using bob = new ChatProcess(
      ["connect", `127.0.0.1:${port}`, "--name", "bob"],
      { stdin: true },
    );
    await nc.received.waitFor("*** bob joined");
    await using terminal = new Terminal();
    const record = await Deno.makeTempFile({ prefix: "chat-paste-" });
    try {
      await terminal.start(
        chatCommand(["connect", `127.0.0.1:${port}`, "--name", "alice"]),
        { TERM: "xterm-256color" },
        { columns: 100, rows: 30 },
      );
      await terminal.recordOutput(record);
      await terminal.waitFor(
        "the welcome",
        (s) => s.includes("Welcome, alice"),
      );
      await nc.received.waitFor("*** alice joined");

      // Two chatters at the rate flood control allows (5 lines a second),
      // from before the paste until after it.
      let chatting = true;
      const sent = { c1: 0, c2: 0 };
      const chat = async (client: TcpClient, name: "c1" | "c2") => {
        for (let i = 0; chatting && i < 50; i++) {
          await client.send(`${name} line ${i}`);
          sent[name]++;
          await sleep(200);
        }
      };
      const chatters = [chat(chatter1, "c1"), chat(chatter2, "c2")];
      await sleep(600);
      await terminal.keys("before the paste", "Enter");
      await nc.received.waitFor("alice: before the paste");
      const pastedAt = performance.now();
      await terminal.paste(CODE.join("\n") + "\n");
      const header = "alice ``` (40 lines)";
      await nc.received.waitFor(header);
      const pasteMs = performance.now() - pastedAt;
      await terminal.keys("after the paste", "Enter");
      await nc.received.waitFor("alice: after the paste");
      await sleep(600);
      chatting = false;
      await Promise.all(chatters);
      await chatter1.send("//c1 done");
      await chatter2.send("//c2 done");
      await nc.received.waitFor("c1: /c1 done");
      await nc.received.waitFor("c2: /c2 done");
      console.log(
        `paste of 40 lines seen by nc ${
          pasteMs.toFixed(0)
        } ms after tmux pasted it; ` +
          `c1 sent ${sent.c1} and c2 ${sent.c2} lines meanwhile`,
      );

      // nc: the block once, whole, between the lines typed before and after.
      const lines = nc.lines.slice(nc.welcomeIndex + 1);
      const { start, end } = findBlock(lines, "alice", header);
      assert.deepEqual(
        lines.slice(start + 1, end),
        CODE.map((line) => `alice | ${line}`),
      );
      assert.ok(lines.indexOf("alice: before the paste") < start);
      assert.ok(lines.indexOf("alice: after the paste") > end);
      // None of the code went out as chat lines.
      assert.ok(!lines.some((line) => /^alice: .*step_/.test(line)));
      // The chatters were never refused, and every line of theirs arrived.
      for (const chatter of [chatter1, chatter2]) {
        assert.ok(
          !chatter.lines.some((line) => line.startsWith("*** error")),
          chatter.lines.filter((line) => line.startsWith("*** error")).join(),
        );
      }
      for (const name of ["c1", "c2"] as const) {
        const got = lines.filter((line) =>
          line.startsWith(`${name}: ${name} line`)
        );
        assert.equal(got.length, sent[name], name);
      }
      assert.ok(sent.c1 >= 5 && sent.c2 >= 5, "the chatters chatted meanwhile");

      // bob, another chat connect (from a pipe: plain lines), the same.
      await bob.stdout.waitFor("c2: /c2 done");
      const bobLines = bob.stdout.lines;
      const atBob = findBlock(bobLines, "alice", header);
      assert.deepEqual(
        bobLines.slice(atBob.start + 1, atBob.end),
        CODE.map((line) => `alice | ${line}`),
      );
      assert.ok(bobLines.indexOf("alice: before the paste") < atBob.start);
      assert.ok(bobLines.indexOf("alice: after the paste") > atBob.end);

      // alice's own screen: the block framed, numbered.
      const screen = await terminal.lines(true);
      const top = screen.findIndex((line) => line.startsWith("╭── alice ```"));
      assert.notEqual(top, -1, screen.join("\n"));
      assert.equal(screen[top], "╭── alice ``` (40 lines)");
      assert.equal(screen[top + 1], "│  1  step_0(x)   # tab");
      assert.equal(screen[top + 3], "│  3          step_2(x)");
      assert.equal(screen[top + 40], "│ 40              step_39(x)");
      assert.equal(screen[top + 41], "╰──");

      // A one-line paste is typed into the input, not sent.
      await terminal.paste("one line pasted");
      await terminal.waitFor(
        "the pasted line",
        (s) => s.includes("> one line pasted"),
      );
      await terminal.keys(" and typed", "Enter");
      await nc.received.waitFor("alice: one line pasted and typed");

      // A block typed by hand between fences; the prompt says it is open.
      await terminal.keys("```py", "Enter");
      await terminal.waitFor(
        "the block status",
        (s) => s.includes("code block py (0 so far)"),
      );
      await terminal.keys("def f():", "Enter", "    return 1", "Enter");
      await terminal.keys("", "Enter", "```", "Enter");
      await nc.received.waitFor("alice ```py (2 lines)");
      await nc.received.waitFor("alice ```");
      const typed = nc.lines.slice(-4);
      assert.deepEqual(typed, [
        "alice ```py (2 lines)",
        "alice | def f():",
        "alice |     return 1",
        "alice ```",
      ]);

      // Leaving turns bracketed paste off again.
      await terminal.keys("C-d");
      await terminal.waitFor("exit", (s) => s.includes("EXIT=0"));
      const written = await Deno.readTextFile(record);
      const on = written.indexOf("\x1b[?2004h");
      assert.notEqual(on, -1, "bracketed paste turned on");
      assert.ok(written.indexOf("\x1b[?2004l", on) > on, "and off at the end");
    } finally {
      await Deno.remove(record).catch(() => {});
    }
  },
});

Deno.test("from a pipe, lines between ``` fences go out as one block", async () => {
  await using server = await ChatProcess.serve([]);
  await using nc = await TcpClient.join(server.port, "nc");
  await using carol = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "carol"],
    { stdin: true },
  );
  await nc.received.waitFor("*** carol joined");
  await carol.write(
    ["hello", "```sh", "for f in *; do", '\techo "$f"', "done", "```", "bye"]
      .join("\n") + "\n",
  );
  await nc.received.waitFor("carol: bye");
  const lines = nc.lines.slice(nc.lines.indexOf("carol: hello"));
  assert.deepEqual(lines, [
    "carol: hello",
    "carol ```sh (3 lines)",
    "carol | for f in *; do",
    'carol | \techo "$f"',
    "carol | done",
    "carol ```",
    "carol: bye",
  ]);
  // carol's own output shows the block as nc does.
  await carol.stdout.waitFor("carol: bye");
  assert.ok(carol.stdout.lines.includes("carol ```sh (3 lines)"));
  await carol.endInput();
  assert.equal((await carol.exit()).code, 0);
});
