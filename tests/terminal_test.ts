/**
 * `chat connect` in a real terminal: tmux gives it a pseudo-terminal, keys
 * are typed with `send-keys` and the screen is read with `capture-pane`.
 * The client renders the server's events itself: colours from the events'
 * fields, its own name in bold, in the person's language. Ignored where
 * tmux is not installed.
 */

import assert from "node:assert/strict";
import { displayWidth } from "../lib/display_width.ts";
import { formatEvent } from "../lib/terminal.ts";
import type { ServerEvent } from "../lib/events.ts";
import {
  chatCommand,
  ChatProcess,
  deadline,
  LineCollector,
  shellQuote,
  TcpClient,
  Terminal,
  TMUX_FOUND,
  WAIT_MS,
} from "./harness.ts";

/**
 * Runs `chat connect --name alice` in the terminal and waits until the name
 * is hers (bob is already in the room).
 */
async function connectAlice(
  terminal: Terminal,
  port: number,
  env: Record<string, string> = {},
  size?: { columns: number; rows: number },
): Promise<void> {
  await terminal.start(
    chatCommand(["connect", `127.0.0.1:${port}`, "--name", "alice"]),
    { TERM: "xterm-256color", ...env },
    size,
  );
  await terminal.waitFor(
    "the welcome line",
    (screen) => screen.includes("*** Welcome, alice!"),
  );
}

/** The lines of a screen, without trailing blank ones. */
function rows(screen: string): string[] {
  return screen.trimEnd().split("\n").map((row) => row.trimEnd());
}

Deno.test({
  name:
    "at a terminal, incoming lines appear above the input line without disturbing what is typed",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port);
    await terminal.keys("half typed");
    await terminal.waitFor("the typed text", (s) => s.includes("> half typed"));
    await bob.send("interruption");
    const screen = await terminal.waitFor(
      "bob's line",
      (s) => s.includes("bob: interruption"),
    );
    const lines = rows(screen);
    assert.equal(lines.at(-1), "> half typed", screen);
    assert.equal(lines.at(-2), "bob: interruption", screen);

    // Enter sends the whole line; it is replaced by the server's copy.
    await terminal.keys(" and finished", "Enter");
    await bob.received.waitFor("alice: half typed and finished");
    const after = await terminal.waitFor(
      "alice's own line",
      (s) => s.includes("alice: half typed and finished"),
    );
    assert.equal(rows(after).at(-1), ">", after);
    assert.ok(!after.includes("> half typed and finished"), after);

    // Colours: names and notices are styled.
    const colored = await terminal.screen(true);
    // (tmux re-encodes colour codes, so look for one, not for ours exactly.)
    const bobRow = colored.split("\n").find((row) =>
      row.includes("bob") && row.includes(": interruption")
    );
    assert.ok(bobRow?.startsWith("\x1b["), `no colour on: ${bobRow}`);

    // History: the up arrow brings the last line back.
    await terminal.keys("Up");
    await terminal.waitFor(
      "the recalled line",
      (s) => rows(s).at(-1) === "> half typed and finished",
    );
    await terminal.keys("C-u", "C-c");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
    await bob.received.waitFor("*** alice left");
  },
});

Deno.test({
  name: "at a terminal, NO_COLOR turns colour off and Ctrl-D quits with 0",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port, { NO_COLOR: "1" });
    await bob.send("\x1b[31mno colour please");
    const colored = await terminal.waitFor(
      "bob's line",
      (s) => s.includes("bob: no colour please"),
      true,
    );
    const line = colored.split("\n").find((row) => row.includes("bob: no"));
    assert.equal(line?.trimEnd(), "bob: no colour please");
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal, the room password is asked for without being shown, also when asked again after a wrong one",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve(["--password"], {
      env: { CHAT_PASSWORD: "open sesame" },
    });
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "alice"]),
      { TERM: "xterm-256color" },
    );
    const prompt = `Password for the room at 127.0.0.1:${server.port}:`;
    const prompts = (s: string) => s.split(prompt).length - 1;
    for (const [attempt, typed] of ["wrong guess", "open sesame"].entries()) {
      await terminal.waitFor(
        `prompt ${attempt + 1}`,
        (s) => prompts(s) === attempt + 1,
      );
      await terminal.keys(typed);
      // Typed but not sent yet: nothing of it is on the screen.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(!(await terminal.screen()).includes(typed));
      await terminal.keys("Enter");
    }
    const screen = await terminal.waitFor(
      "the welcome line",
      (s) => s.includes("*** Welcome, alice!"),
    );
    assert.ok(!/wrong guess|open sesame/.test(screen), screen);
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

// A colour code (SGR) as tmux writes it: ESC [ parameters m.
// deno-lint-ignore no-control-regex -- matching escape codes is the point
const COLOR_CODE = /\x1b\[([0-9;]*)m/g;

/**
 * True when a row starts in bold: one of the colour codes before its first
 * character has the parameter 1 (tmux writes `\x1b[1m` or `\x1b[0;1m`).
 */
function startsBold(row: string | undefined): boolean {
  let rest = row ?? "";
  while (rest.startsWith("\x1b[")) {
    const end = rest.indexOf("m");
    if (end === -1) return false;
    if (rest.slice(2, end).split(";").includes("1")) return true;
    rest = rest.slice(end + 1);
  }
  return false;
}

/** The screen's row that contains `text`, with its colour codes. */
function rowWith(screen: string, text: string): string | undefined {
  return screen.split("\n").find((row) =>
    row.replace(COLOR_CODE, "").includes(text)
  );
}

Deno.test({
  name:
    "at a terminal, your own name is in bold, also after /nick, and other names are not",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port);
    await terminal.keys("first", "Enter");
    await bob.send("from bob");
    await terminal.waitFor("bob's line", (s) => s.includes("bob: from bob"));
    await terminal.keys("/nick alicia", "Enter");
    await terminal.waitFor(
      "the rename",
      (s) => s.includes("*** alice is now known as alicia"),
    );
    await terminal.keys("second", "Enter");
    const screen = await terminal.waitFor(
      "the line under the new name",
      (s) => s.includes("alicia: second"),
    );
    const colored = await terminal.screen(true);
    for (const own of ["alice: first", "alicia: second"]) {
      const row = rowWith(colored, own);
      assert.ok(startsBold(row), `not bold: ${row}\n${screen}`);
    }
    const bobRow = rowWith(colored, "bob: from bob");
    assert.ok(bobRow?.startsWith("\x1b["), `no colour on: ${bobRow}`);
    assert.ok(!startsBold(bobRow), `bold: ${bobRow}`);
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal with LANG=fr_FR.UTF-8, the password prompt and the room are in French",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve(
      ["--password", "--lang", "en"],
      { env: { CHAT_PASSWORD: "sésame" } },
    );
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "alice"]),
      { TERM: "xterm-256color", LANG: "fr_FR.UTF-8" },
    );
    await terminal.waitFor(
      "the password prompt",
      (s) => s.includes(`Mot de passe du salon sur 127.0.0.1:${server.port} :`),
    );
    await terminal.keys("sésame", "Enter");
    await terminal.waitFor(
      "the welcome line",
      (s) => s.includes("*** Bienvenue, alice ! En ligne (2) : host, alice."),
    );
    await using bob = await TcpClient.connect(server.port);
    await bob.received.waitFor(() => true);
    await bob.send("/pass sésame");
    await bob.send("/nick bob");
    await bob.received.waitFor(/^\*\*\* Welcome, bob!/);
    await bob.send("salut alice");
    const screen = await terminal.waitFor(
      "bob's line",
      (s) => s.includes("bob: salut alice"),
    );
    assert.ok(screen.includes("*** bob a rejoint le salon"), screen);
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
    await bob.received.waitFor("*** alice left");
  },
});

/**
 * A long line as a French class types it, with accents, CJK, emoji and a
 * combining accent, at least 2.5 screen rows wide. (No `;` at the end of
 * what is typed: tmux would read it as the end of its command.)
 */
function longLine(columns: number): string {
  const piece = "carol écrit un très long message 漢字かな 😀 e\u0301 fin, ";
  let text = "";
  while (displayWidth(text) < 2.5 * columns) text += piece;
  return text.trimEnd();
}

for (const columns of [40, 60, 100]) {
  Deno.test({
    name:
      `at a terminal ${columns} columns wide, a line that arrives while a long line is typed appears above all of it, and the input stays intact`,
    ignore: !TMUX_FOUND,
    async fn() {
      await using server = await ChatProcess.serve();
      await using bob = await TcpClient.join(server.port, "bob");
      await using terminal = new Terminal();
      await connectAlice(terminal, server.port, {}, { columns, rows: 30 });
      const typed = longLine(columns);
      await terminal.type(typed);
      await terminal.waitForLines(
        "the typed line",
        (lines) => lines.at(-1) === "> " + typed,
      );
      await bob.send("bob interrompt carol");
      // A capture may fall between bob's line and the input drawn again
      // below it: wait for both, then check how they stand.
      const lines = await terminal.waitForLines(
        "bob's line, and the input below it again",
        (lines) =>
          lines.includes("bob: bob interrompt carol") &&
          lines.at(-1) === "> " + typed,
      );
      const screen = lines.join("\n");
      assert.equal(lines.at(-1), "> " + typed, screen);
      assert.equal(lines.at(-2), "bob: bob interrompt carol", screen);
      assert.equal(lines.filter((line) => line.includes(typed)).length, 1);

      // The cursor is still where it was: an edit lands in the right place,
      // also after one more line arrives.
      await terminal.keys("Left", "Left", "Left");
      await bob.send("bob encore");
      await terminal.waitForLines(
        "bob's second line",
        (lines) => lines.includes("bob: bob encore"),
      );
      await terminal.type("X");
      const edited = typed.slice(0, -3) + "X" + typed.slice(-3);
      const after = await terminal.waitForLines(
        "the edit",
        (lines) => lines.at(-1) === "> " + edited,
      );
      assert.deepEqual(after.slice(-3, -1), [
        "bob: bob interrompt carol",
        "bob: bob encore",
      ]);

      // Enter sends it all; the server's copy replaces every row of it.
      await terminal.keys("Enter");
      await bob.received.waitFor(`alice: ${edited}`);
      const sent = await terminal.waitForLines(
        "alice's own line, and the empty prompt below it",
        (lines) =>
          lines.includes(`alice: ${edited}`) && lines.at(-1)?.trimEnd() === ">",
      );
      assert.equal(sent.at(-1)?.trimEnd(), ">", sent.join("\n"));
      assert.equal(sent.filter((line) => line.includes("X")).length, 1);
      await terminal.keys("C-d");
      await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
    },
  });
}

Deno.test({
  name:
    "at a terminal made narrower while a long line is typed, a line that arrives still appears above all of it",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port, {}, { columns: 60, rows: 30 });
    const typed = longLine(60);
    await terminal.type(typed);
    await terminal.waitForLines(
      "the typed line",
      (lines) => lines.at(-1) === "> " + typed,
    );
    await terminal.resize(40, 30);
    await bob.send("bob interrompt carol");
    const lines = await terminal.waitForLines(
      "bob's line",
      (lines) => lines.includes("bob: bob interrompt carol"),
    );
    assert.equal(lines.at(-1), "> " + typed, lines.join("\n"));
    assert.equal(lines.at(-2), "bob: bob interrompt carol", lines.join("\n"));
    assert.equal(lines.filter((line) => line.includes(typed)).length, 1);
    await terminal.keys("C-u", "C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal, a 5,000-character paste is drawn in proportion to its length, refused at once as too long, and leaves nothing behind",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port, {}, { columns: 40, rows: 30 });
    const output = await Deno.makeTempFile({ prefix: "chat-pane-" });
    try {
      await terminal.recordOutput(output);
      const paste = "lorem ipsum dolor sit amet, ".repeat(200).slice(0, 5000);
      await terminal.type(paste);
      await terminal.keys("Enter");
      const refusal =
        "*** error: line too long (over 4096 bytes); it was not sent.";
      // A redraw of the whole input per character took 15 to 20 s here.
      // The refusal, then the empty prompt redrawn below it (output is
      // written at most every 10 ms, so the two may come a moment apart).
      const lines = await terminal.waitForLines(
        "the refusal with the empty prompt below it",
        (lines) => lines.includes(refusal) && lines.at(-1)?.trimEnd() === ">",
      );
      assert.equal(lines.at(-1)?.trimEnd(), ">", lines.join("\n"));
      assert.equal(lines.at(-2), refusal, lines.join("\n"));
      // Everything drawn reached the file once the refusal is in it.
      const written = await deadline(
        (async () => {
          while (true) {
            const text = await Deno.readTextFile(output);
            if (text.includes("line too long")) return text.length;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        "the refusal in the recorded output",
      );
      // The paste once, plus at most a few screens of redrawing (40 x 30);
      // redrawing the input per character wrote hundreds of kilobytes.
      assert.ok(
        written < 2 * paste.length + 5 * 40 * 30,
        `${written} bytes written to the terminal for a ${paste.length}-character paste`,
      );
      // No part of the paste is left on screen or in the scrollback.
      const everything = await terminal.lines(true);
      assert.ok(
        !everything.some((line) => line.includes("lorem")),
        everything.join("\n"),
      );
      // And the console goes on.
      await terminal.type("still here");
      await terminal.keys("Enter");
      await bob.received.waitFor("alice: still here");
    } finally {
      await Deno.remove(output);
    }
  },
});

Deno.test({
  name:
    "at a terminal, Ctrl-C clears the half-typed line: nothing under *** Bye!",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port);
    await terminal.type("half typed");
    await terminal.waitFor("the typed text", (s) => s.includes("> half typed"));
    await terminal.keys("C-c");
    const lines = await terminal.waitForLines(
      "exit status 0",
      (lines) => lines.includes("EXIT=0"),
    );
    const exit = lines.indexOf("EXIT=0");
    assert.equal(lines[exit - 1], "*** Bye!", lines.join("\n"));
    assert.ok(
      !lines.some((line) => line.includes("half typed")),
      lines.join("\n"),
    );
    await bob.received.waitFor("*** alice left");
  },
});

/** A line in the structured protocol, as a server sends it. */
function json(type: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type,
    seq: 1,
    time: "2025-09-01T08:00:00.000Z",
    ...fields,
  });
}

Deno.test({
  name:
    "with stdin piped and stdout a terminal, escape sequences from a rogue server do not reach the terminal",
  ignore: !TMUX_FOUND,
  async fn() {
    // A rogue server: a normal handshake, then escape sequences in a
    // message and in a notice whose code the client does not know.
    await using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const played = (async () => {
      const conn = await deadline(listener.accept(), "the client");
      const received = new LineCollector(conn.readable);
      const writer = conn.writable.getWriter();
      const send = (line: string) =>
        writer.write(new TextEncoder().encode(line + "\n"));
      try {
        await send("*** Hello! Send /nick NAME to join with a name.");
        await received.waitFor("/proto 1");
        await send(
          json("proto", { version: 1, versions: [1], password: false }),
        );
        await received.waitFor((line) => line.includes("/nick alice"));
        await send(
          json("welcome", { name: "alice", online: ["alice"], watchers: 0 }),
        );
        await send(json("message", {
          from: "mallory",
          text: "\x1b[2J\x1b[Hred \x1b[31mRED\x1b]0;pwned\x07 up\x1b[5A end",
        }));
        await send(json("notice", {
          code: "brand-new-notice",
          text: "\x1b[41mnew\x1b]2;pwned\x1b\\ notice\x1b[2K",
        }));
        await received.waitForEnd(2 * WAIT_MS);
      } finally {
        try {
          conn.close();
        } catch { /* closed by the client */ }
      }
    })();
    played.catch(() => {});
    {
      await using terminal = new Terminal();
      const connect = chatCommand([
        "connect",
        `127.0.0.1:${listener.addr.port}`,
        "--name",
        "alice",
      ]).map(shellQuote).join(" ");
      // stdin is a pipe that stays open a while; stdout is the terminal.
      await terminal.start(["sh", "-c", `sleep 20 | ${connect}`], {
        TERM: "xterm-256color",
      });
      const screen = await terminal.waitFor(
        "the notice",
        (s) => s.includes("*** new notice"),
      );
      assert.ok(screen.includes("mallory: red RED up end"), screen);
      // Nothing was cleared, moved or retitled, and nothing is in colour.
      assert.ok(screen.includes("*** Welcome, alice!"), screen);
      const rows = screen.split("\n");
      assert.ok(
        rows.findIndex((row) => row.includes("Welcome")) <
          rows.findIndex((row) => row.includes("mallory")),
        screen,
      );
      const colored = await terminal.screen(true);
      assert.ok(!colored.includes("\x1b["), colored);
      assert.notEqual(await terminal.paneFormat("#{pane_title}"), "pwned");
    }
    // The client is gone with its terminal; the rogue server has finished.
    await deadline(played, "the rogue server to finish");
  },
});

Deno.test({
  name:
    "at a terminal, what is pasted after the room password goes to the chat instead of being lost",
  ignore: !TMUX_FOUND,
  async fn() {
    await using server = await ChatProcess.serve(["--password"], {
      env: { CHAT_PASSWORD: "open sesame" },
    });
    await using bob = await TcpClient.connect(server.port);
    await bob.received.waitFor(() => true);
    await bob.send("/pass open sesame");
    await bob.send("/nick bob");
    await bob.received.waitFor(/^\*\*\* Welcome, bob!/);
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "alice"]),
      { TERM: "xterm-256color" },
    );
    await terminal.waitFor(
      "the password prompt",
      (s) => s.includes(`Password for the room at 127.0.0.1:${server.port}:`),
    );
    // Both lines in one burst, as a paste reads them.
    await terminal.keys(
      "open sesame",
      "Enter",
      "hello from the paste",
      "Enter",
    );
    await bob.received.waitFor("alice: hello from the paste");
    const screen = await terminal.waitFor(
      "alice's line",
      (s) => s.includes("alice: hello from the paste"),
    );
    assert.ok(!screen.includes("open sesame"), screen);
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal, a room password pasted twice at once answers both prompts of chat serve",
  ignore: !TMUX_FOUND,
  async fn() {
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand([
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--password",
      ]),
      { TERM: "xterm-256color", CHAT_PASSWORD: "" },
    );
    await terminal.waitFor(
      "the password prompt",
      (s) => s.includes("Room password:"),
    );
    await terminal.keys(
      "pâte à choux",
      "Enter",
      "pâte à choux",
      "Enter",
      "hello class",
      "Enter",
    );
    const screen = await terminal.waitFor(
      "the host's first line",
      (s) => s.includes("host: hello class"),
    );
    const port = Number(/Listening on 127\.0\.0\.1:(\d+)/.exec(screen)?.[1]);
    assert.ok(port > 0, screen);
    assert.ok(!screen.includes("pâte"), screen);
    await using student = await TcpClient.connect(port);
    await student.received.waitFor(() => true);
    await student.send("/pass pâte à choux");
    await student.received.waitFor(/^\*\*\* Password accepted/);
    await terminal.keys("C-c");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test("formatEvent: an earlier line is dimmed whole, a mention in reverse video; without colour both are the plain line", () => {
  const earlier = {
    type: "message",
    from: "bob",
    text: "hi",
    seq: 3,
    time: 0,
    history: true,
  } as ServerEvent;
  const options = { lang: "en" as const, ownName: "alice", color: true };
  assert.equal(formatEvent(earlier, options), "\x1b[2mbob: hi\x1b[0m");
  const mention = {
    type: "message",
    from: "bob",
    text: "alice?",
    seq: 4,
    time: 0,
  } as ServerEvent;
  assert.equal(
    formatEvent(mention, { ...options, mention: true }),
    "\x1b[7mbob: alice?\x1b[0m",
  );
  assert.equal(
    formatEvent(mention, { ...options, color: false, mention: true }),
    "bob: alice?",
  );
  assert.equal(formatEvent(earlier, { ...options, color: false }), "bob: hi");
});
