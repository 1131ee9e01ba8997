/**
 * Issue 12: code blocks. The pure parts (fences, limits, pastes, flood
 * cost), the renderings, and real servers: blocks typed with backticks by
 * `nc`-style clients and sent as `block` requests by structured ones, the
 * limits, and what a block cannot do (forge a notice or someone's line).
 */

import assert from "node:assert/strict";
import {
  blockFromPaste,
  blockLines,
  blockSize,
  fencedBlock,
  floodCost,
  isClosingFence,
  openingFence,
  parseFencedBlock,
  TypedBlocks,
} from "../lib/code_block.ts";
import type { ServerEvent } from "../lib/events.ts";
import { History } from "../lib/history.ts";
import { parseClientJson, renderJson } from "../lib/render_json.ts";
import { renderText } from "../lib/render_text.ts";
import { transcriptLine } from "../lib/transcript.ts";
import { parseServerEvent } from "../lib/client_events.ts";
import { formatEvent, nameColor } from "../lib/terminal.ts";
import { expectedEcho, Outbox } from "../lib/outbox.ts";
import { ChatProcess, TcpClient } from "./harness.ts";
import { JsonPeer } from "./json_peer.ts";

const block = (
  text: string,
  lang?: string,
  extra: Partial<ServerEvent> = {},
): ServerEvent =>
  ({
    type: "block",
    from: "alice",
    text,
    ...(lang ? { lang } : {}),
    seq: 7,
    time: 0,
    ...extra,
  }) as ServerEvent;

// --- the pure parts ---

Deno.test("a fence is three backticks alone, with an optional language", () => {
  assert.equal(openingFence("```"), "");
  assert.equal(openingFence("```py"), "py");
  assert.equal(openingFence("  ```c++  "), "c++");
  assert.equal(openingFence("```objective-c"), "objective-c");
  assert.equal(openingFence("```py print(1)"), undefined);
  assert.equal(openingFence("``` py"), undefined);
  assert.equal(openingFence("````"), undefined);
  assert.equal(openingFence("```" + "x".repeat(21)), undefined);
  assert.equal(openingFence("```<script>"), undefined);
  assert.ok(isClosingFence("```"));
  assert.ok(isClosingFence(" ``` "));
  assert.ok(!isClosingFence("```py"));
});

Deno.test("a block's lines are cleaned one by one; blank lines at the end go", () => {
  assert.deepEqual(blockLines("a\r\n\tb\r\n\n  \n"), ["a", "\tb"]);
  assert.deepEqual(blockLines("\x1b[2J\x1b[H*** x\u202e\x07"), ["*** x"]);
  assert.deepEqual(blockLines("one\u2028two"), ["one two"]);
  assert.deepEqual(blockLines("  \n\n"), []);
  assert.deepEqual(blockSize(["ab", "", "é"]), { lines: 3, bytes: 6 });
});

Deno.test("a block costs one line plus one per started KiB, at most the burst", () => {
  assert.equal(floodCost(1, 20), 2);
  assert.equal(floodCost(1024, 20), 2);
  assert.equal(floodCost(1025, 20), 3);
  assert.equal(floodCost(16384, 20), 17);
  assert.equal(floodCost(16384, 4), 4);
  assert.equal(floodCost(0, 1), 1);
});

Deno.test("a paste of several lines is a block; of one line, not", () => {
  assert.deepEqual(blockFromPaste("a\r  b\r"), { text: "a\n  b" });
  assert.deepEqual(blockFromPaste("\n\nx\n\ny\n\n"), { text: "x\n\ny" });
  assert.deepEqual(blockFromPaste("```rust\nfn x() {}\n```\n"), {
    text: "fn x() {}",
    lang: "rust",
  });
  assert.equal(blockFromPaste("one line\r\n"), undefined);
  assert.equal(blockFromPaste("\n \n"), undefined);
  const kept = fencedBlock("x\n```py\ny", "py");
  assert.deepEqual(parseFencedBlock(kept), { text: "x\n```py\ny", lang: "py" });
  assert.equal(parseFencedBlock("hello"), undefined);
});

Deno.test("chat connect holds the lines between typed fences and gives the block whole", () => {
  const typed = new TypedBlocks();
  assert.equal(typed.take("before"), "before");
  assert.equal(typed.take("```js"), undefined);
  assert.equal(typed.open, "js");
  assert.equal(typed.take("if (x) {"), undefined);
  assert.equal(typed.take(""), undefined);
  assert.equal(typed.take("  y();"), undefined);
  assert.equal(typed.take("```js"), undefined); // inside: a line of code
  assert.equal(typed.count, 4);
  assert.equal(typed.take("```"), "```js\nif (x) {\n\n  y();\n```js\n```");
  assert.equal(typed.open, undefined);
  assert.equal(typed.take("```"), undefined);
  assert.equal(typed.take("```"), ""); // an empty block is dropped
});

Deno.test("the outbox confirms a block by its echo", () => {
  const kept = fencedBlock("x = 1\n\ty()\n", "py");
  assert.deepEqual(expectedEcho(kept), { type: "block", text: "x = 1\n\ty()" });
  const outbox = new Outbox();
  outbox.sent(kept);
  assert.equal(outbox.unconfirmedCount, 1);
  outbox.received(block("x = 1\n\ty()", "py", { from: "alice" }), "alice");
  assert.equal(outbox.unconfirmedCount, 0);
});

// --- renderings ---

Deno.test("plain text: a header, every line after the sender's name, a footer", () => {
  const event = block("def f():\n\n    return 1", "py");
  assert.equal(
    renderText(event, "en"),
    [
      "alice ```py (3 lines)",
      "alice | def f():",
      "alice | ",
      "alice |     return 1",
      "alice ```",
    ].join("\n"),
  );
  assert.equal(
    renderText(block("x"), "fr"),
    "alice ``` (1 ligne)\nalice | x\nalice ```",
  );
});

Deno.test("JSON: one event with the text and language; the block request is checked", () => {
  assert.equal(
    renderJson(block("a\n\tb", "py")),
    '{"type":"block","seq":7,"time":"1970-01-01T00:00:00.000Z","from":"alice","text":"a\\n\\tb","lang":"py"}',
  );
  assert.deepEqual(
    parseClientJson('{"type":"block","text":"a\\nb","lang":"c#"}'),
    { type: "block", text: "a\nb", lang: "c#" },
  );
  assert.deepEqual(parseClientJson('{"type":"block","text":"a"}'), {
    type: "block",
    text: "a",
  });
  for (const lang of ['"a b"', '"<b>"', "3", '""', `"${"x".repeat(21)}"`]) {
    assert.deepEqual(
      parseClientJson(`{"type":"block","text":"a","lang":${lang}}`),
      {
        type: "invalid",
        error: { code: "bad-field", args: { field: "lang" } },
      },
      lang,
    );
  }
  assert.deepEqual(parseClientJson('{"type":"block","txt":"a"}'), {
    type: "invalid",
    error: { code: "unknown-field", args: { field: "txt" } },
  });
});

Deno.test("chat connect reads a block event with its newlines, each line cleaned", () => {
  const event = parseServerEvent(
    JSON.stringify({
      type: "block",
      seq: 3,
      time: "1970-01-01T00:00:00.000Z",
      from: "bob",
      text: "a\n\x1b[31mb\x1b[0m\n\tc",
      lang: "bad lang",
    }),
  );
  assert.ok(event?.type === "block");
  assert.equal(event.text, "a\nb\n\tc");
  assert.equal(event.lang, undefined);
});

Deno.test("at a terminal a block is framed, numbered, with its language", () => {
  const event = block("if x:\n\ty()\n\nz", "py");
  assert.equal(
    formatEvent(event, {
      lang: "en",
      ownName: "bob",
      color: false,
      framed: true,
    }),
    [
      "╭── alice ```py (4 lines)",
      "│ 1  if x:",
      "│ 2      y()",
      "│ 3  ",
      "│ 4  z",
      "╰──",
    ].join("\n"),
  );
  // From a pipe: the plain lines, for scripts.
  assert.equal(
    formatEvent(event, { lang: "en", ownName: "bob", color: false }),
    renderText(event, "en"),
  );
  const ten = block(Array.from({ length: 10 }, (_, i) => `l${i}`).join("\n"));
  const framed = formatEvent(ten, {
    lang: "fr",
    ownName: "bob",
    color: false,
    framed: true,
  }).split("\n");
  assert.equal(framed[0], "╭── alice ``` (10 lignes)");
  assert.equal(framed[1], "│  1  l0");
  assert.equal(framed[10], "│ 10  l9");
  const colored = formatEvent(event, {
    lang: "en",
    ownName: "alice",
    color: true,
    framed: true,
  });
  // One's own name in bold and its colour.
  assert.ok(colored.includes("\x1b[1m" + nameColor("alice") + "alice\x1b[0m"));
});

Deno.test("a block is one entry of the history and one stamped line per line of the transcript", () => {
  const history = new History(2);
  history.add(block("a\nb\nc"));
  history.add({ type: "message", from: "bob", text: "hi", seq: 8, time: 0 });
  const replay = history.replay();
  assert.equal(replay.length, 2);
  assert.equal(replay[0].event.type, "block");
  assert.equal(
    transcriptLine(block("x\ny", "sh"), "en"),
    [
      "1970-01-01T00:00:00.000Z alice ```sh (2 lines)",
      "1970-01-01T00:00:00.000Z alice | x",
      "1970-01-01T00:00:00.000Z alice | y",
      "1970-01-01T00:00:00.000Z alice ```",
    ].join("\n"),
  );
});

// --- real servers ---

/** The lines of `client` from `from` on that a block from `name` sent. */
function blockAt(lines: string[], name: string, from = 0): string[] {
  const start = lines.findIndex((line, i) =>
    i >= from && line.startsWith(`${name} \`\`\``) && line !== `${name} \`\`\``
  );
  assert.notEqual(start, -1, `no block from ${name}`);
  const end = lines.indexOf(`${name} \`\`\``, start + 1);
  assert.notEqual(end, -1, `no end of the block from ${name}`);
  return lines.slice(start, end + 1);
}

Deno.test("an nc client's backtick block reaches others whole, in place, indentation and blank lines intact", async () => {
  // Flood control on (the defaults): 40 lines one by one would be refused
  // after 20; as a block they are one message.
  await using server = await ChatProcess.serve([], { limits: true });
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  const code = Array.from(
    { length: 40 },
    (_, i) => i % 10 === 4 ? "" : `${"    ".repeat(i % 3)}line_${i}()\t# ok`,
  );
  await alice.send(["before", "```python", ...code, "```", "after"].join("\n"));
  const after = await bob.received.waitForIndex("alice: after", {
    from: bob.welcomeIndex,
  });
  const lines = bob.lines.slice(bob.welcomeIndex + 1, after + 1);
  assert.deepEqual(lines, [
    "alice: before",
    "alice ```python (40 lines)",
    ...code.map((line) => `alice | ${line}`),
    "alice ```",
    "alice: after",
  ]);
  // The sender sees its own block too, once.
  await alice.received.waitFor("alice: after");
  assert.equal(
    alice.lines.filter((line) => line.startsWith("alice ```python")).length,
    1,
  );
});

Deno.test("a block starts with a fence as the first line (joining as a guest) and ends at the next fence only", async () => {
  await using server = await ChatProcess.serve([]);
  await using bob = await TcpClient.join(server.port, "bob");
  await using nc = await TcpClient.connect(server.port);
  await nc.received.lineAt(0);
  await nc.send("```\n/quit\nstop\n/proto 1\n```js\n/nick eve\n```");
  const header = await bob.received.waitForIndex(/^guest\d+ ``` \(5 lines\)$/);
  const guest = bob.lines[header].split(" ")[0];
  assert.deepEqual(bob.lines.slice(header + 1, header + 7), [
    `${guest} | /quit`,
    `${guest} | stop`,
    `${guest} | /proto 1`,
    `${guest} | \`\`\`js`,
    `${guest} | /nick eve`,
    `${guest} \`\`\``,
  ]);
  // Still connected and plain: its next line is a message.
  await nc.send("still here");
  await bob.received.waitFor(`${guest}: still here`);
});

Deno.test("a block over the limits is refused whole with one line; nothing of it is said", async () => {
  await using server = await ChatProcess.serve([
    "--block-lines",
    "5",
    "--block-bytes",
    "100",
  ]);
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  await using json = await JsonPeer.open(server.port, ["/nick carol"]);
  await json.waitFor((event) => event.type === "welcome");
  // Too many lines, from nc.
  await alice.send(["```", "1", "2", "3", "4", "5", "6", "```"].join("\n"));
  // Too many bytes, from nc; a line over the connection's limit spoils a
  // block too (it cannot be sent whole).
  await alice.send(["```", "x".repeat(60), "y".repeat(60), "```"].join("\n"));
  await alice.send(["```", "z".repeat(5000), "short", "```"].join("\n"));
  // Too many, as a request.
  const mark = json.mark();
  await json.send({ type: "block", text: "a\nb\nc\nd\ne\nf" });
  const refused = await json.waitFor((event) => event.type === "error", mark);
  assert.equal(refused.code, "block-too-long");
  assert.deepEqual(refused.args, {
    lines: 6,
    bytes: 11,
    maxLines: 5,
    maxBytes: 100,
  });
  // Within the limits: goes.
  await alice.send(["```", "1", "2", "3", "4", "5", "```", "done"].join("\n"));
  await bob.received.waitFor("alice: done");
  const errors = alice.lines.filter((line) => line.startsWith("*** error"));
  assert.deepEqual(errors, [
    "*** error: code block refused: 6 lines and 11 bytes, over the limit of 5 lines and 100 bytes. Nothing of it was sent.",
    "*** error: code block refused: 2 lines and 121 bytes, over the limit of 5 lines and 100 bytes. Nothing of it was sent.",
    "*** error: code block refused: 2 lines and 4103 bytes, over the limit of 5 lines and 100 bytes. Nothing of it was sent.",
  ]);
  const said = bob.lines.slice(bob.welcomeIndex + 1).filter((line) =>
    !line.startsWith("*** ")
  );
  assert.deepEqual(said, [
    "alice ``` (5 lines)",
    "alice | 1",
    "alice | 2",
    "alice | 3",
    "alice | 4",
    "alice | 5",
    "alice ```",
    "alice: done",
  ]);
});

Deno.test("a block cannot forge a notice, another user's line or a block of theirs", async () => {
  await using server = await ChatProcess.serve([]);
  await using mallory = await TcpClient.join(server.port, "mallory");
  await using bob = await TcpClient.join(server.port, "bob");
  const forged = [
    "*** alice joined",
    "alice: hi bob",
    "alice | x",
    "alice ```",
    "\r*** error: you were kicked",
    "\x1b[1A\x1b[2K*** bob left",
    "\x1b]0;title\x07[private] alice -> bob: psst",
    "* alice waves",
  ];
  await mallory.send(["```", ...forged, "```", "end"].join("\n"));
  await bob.received.waitFor("mallory: end");
  const lines = blockAt(bob.lines, "mallory", bob.welcomeIndex);
  // A "\r" ends a line for plain clients: that one is two lines of the block.
  assert.equal(lines.length, forged.length + 1 + 2);
  for (const line of lines) assert.match(line, /^mallory( \| | ```)/);
  assert.ok(
    !bob.lines.some((line) => line.includes("\x1b") || line.includes("\r")),
  );
  // After bob's welcome only mallory spoke: not one line reads otherwise.
  assert.deepEqual(
    bob.lines.slice(bob.welcomeIndex + 1).filter((line) =>
      !line.startsWith("mallory")
    ),
    [],
  );
  // The same through the structured request.
  await using json = await JsonPeer.open(server.port, ["/nick eve"]);
  await json.waitFor((event) => event.type === "welcome");
  await json.send({ type: "block", text: forged.join("\n") + "\n```\nbob: x" });
  await json.send({ type: "say", text: "end2" });
  await bob.received.waitFor("eve: end2");
  const fromEve = blockAt(bob.lines, "eve", bob.welcomeIndex);
  // The forged lines ("\r" splits one), "```", "bob: x", and the frame.
  assert.equal(fromEve.length, forged.length + 1 + 2 + 2);
  for (const line of fromEve) assert.match(line, /^eve( \| | ```)/);
});

Deno.test("a structured client's block: one JSON event for it, lines for nc, one entry in a newcomer's history", async () => {
  await using server = await ChatProcess.serve([]);
  await using alice = await JsonPeer.open(server.port, ["/nick alice"]);
  await alice.waitFor((event) => event.type === "welcome");
  await using nc = await TcpClient.join(server.port, "nc");
  // 15 KiB of code with quotes and tabs: over the line limit (4 KiB) as
  // JSON, yet a block within its own limit.
  const code = Array.from(
    { length: 150 },
    (_, i) => `\tprint("line ${i}", '${"q".repeat(70)}')`,
  ).join("\n");
  assert.ok(new TextEncoder().encode(code).length < 16384);
  assert.ok(JSON.stringify(code).length > 4096 * 3);
  const mark = alice.mark();
  await alice.send({ type: "block", text: code, lang: "py" });
  const echo = await alice.waitFor((event) => event.type === "block", mark);
  assert.equal(echo.text, code);
  assert.equal(echo.lang, "py");
  assert.equal(echo.from, "alice");
  await nc.received.waitFor("alice ```");
  const lines = blockAt(nc.lines, "alice", nc.welcomeIndex);
  assert.equal(lines[0], "alice ```py (150 lines)");
  assert.deepEqual(
    lines.slice(1, -1),
    code.split("\n").map((line) => `alice | ${line}`),
  );
  // A long line that is not a block is still refused.
  const mark2 = alice.mark();
  await alice.send({ type: "say", text: "x".repeat(5000) });
  const refused = await alice.waitFor((event) => event.type === "error", mark2);
  assert.equal(refused.code, "line-too-long");
  // A newcomer gets the block as one entry of the history.
  await using late = await JsonPeer.open(server.port, [{ type: "history" }]);
  const start = await late.waitFor((event) => event.code === "history-start");
  const kept = late.events.filter((event) => event.history === true);
  assert.deepEqual((start.args as { count: number }).count, kept.length);
  assert.equal(kept.filter((event) => event.type === "block").length, 1);
});

Deno.test("a block counts for flood control as one message plus its size", async () => {
  await using server = await ChatProcess.serve([
    "--max-per-ip",
    "0",
    "--room-rate",
    "0",
    "--flood-burst",
    "20",
    "--flood-rate",
    "1",
  ]);
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  // 8 KiB: costs 9 of the 20 lines of the burst; the second costs 9 more,
  // the third is refused (about 2 left), with the flood warning.
  const kib8 = Array.from({ length: 100 }, () => "x".repeat(81)).join("\n");
  for (let i = 0; i < 3; i++) {
    await alice.send(["```", kib8, "```"].join("\n"));
  }
  await alice.received.waitFor((line) =>
    line.startsWith("*** error: slow down")
  );
  await alice.send("//sync");
  await bob.received.waitFor("alice ```", { from: bob.welcomeIndex });
  const headers = bob.lines.filter((line) => line === "alice ``` (100 lines)");
  assert.equal(headers.length, 2);
});

Deno.test("the line editor: a bracketed paste of several lines is one block, even cut across reads", async () => {
  const { LineEditor } = await import("../lib/line_editor.ts");
  const editor = new LineEditor({ prompt: "> " });
  assert.deepEqual(editor.feed("hi "), []);
  // The markers and the text come in pieces, as reads may cut them.
  assert.deepEqual(editor.feed("\x1b[20", 0), []);
  assert.deepEqual(editor.feed("0~def f():\r    return 1\r\r\x1b[2", 10), []);
  assert.deepEqual(editor.feed("01~", 20), [
    { type: "block", block: "```\ndef f():\n    return 1\n```" },
  ]);
  // What was typed before the paste is still there.
  assert.equal(editor.line, "hi ");
  // A paste of one line is typed in, its line end dropped, tabs as spaces.
  assert.deepEqual(editor.feed("\x1b[200~x\ty\r\x1b[201~"), []);
  assert.equal(editor.line, "hi x y");
  // Inside a paste, Enter and Ctrl-C are text, not keys.
  assert.deepEqual(editor.feed("\x1b[200~a\x03\rb\x1b[201~"), [
    { type: "block", block: "```\na\x03\nb\n```" },
  ]);
  assert.ok(editor.editing);
  assert.deepEqual(editor.feed("\r"), [{ type: "line", line: "hi x y" }]);
});

Deno.test("over a WebSocket: a long block request goes whole; a plain WebSocket reads the block's lines, one frame each", async () => {
  const { serveWithWeb, WsClient } = await import("./web_helpers.ts");
  const { server, webPort } = await serveWithWeb([]);
  await using _server = server;
  await using nc = await TcpClient.join(server.port, "nc");
  await using plain = await WsClient.join(webPort, "plainws");
  await using wes = await WsClient.connect(webPort);
  wes.send("/proto 1");
  await wes.waitFor((line) => line.startsWith('{"type":"proto"'));
  wes.send("/nick wes");
  await wes.waitFor((line) => line.startsWith('{"type":"welcome"'));
  const code = Array.from(
    { length: 120 },
    (_, i) => `\tsay("${i}", "${"\\".repeat(30)}", '${"w".repeat(40)}')`,
  ).join("\n");
  const request = JSON.stringify({ type: "block", text: code, lang: "js" });
  assert.ok(request.length > 4096 * 3);
  wes.send(request);
  const echo = JSON.parse(
    await wes.waitFor((line) => line.startsWith('{"type":"block"')),
  );
  assert.equal(echo.text, code);
  await nc.received.waitFor("wes ```");
  const atNc = blockAt(nc.lines, "wes", nc.welcomeIndex);
  assert.equal(atNc.length, 122);
  assert.equal(atNc[1], `wes | ${code.split("\n")[0]}`);
  await plain.waitFor("wes ```");
  const start = plain.lines.indexOf("wes ```js (120 lines)");
  assert.notEqual(start, -1);
  assert.deepEqual(
    plain.lines.slice(start + 1, start + 121),
    code.split("\n").map((line) => `wes | ${line}`),
  );
});
