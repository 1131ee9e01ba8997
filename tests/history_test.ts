/**
 * Issue 9, history: the room keeps its last public lines (messages,
 * actions, topics the host set; never private messages), bounded in lines
 * (`--history N`, 0 off) and in bytes, and replays them, framed and in
 * order, to a connection the moment it starts watching, on `/history`, and
 * on the structured request `history` (optionally only after a sequence
 * number).
 */

import assert from "node:assert/strict";
import { History, isKeptInHistory } from "../lib/history.ts";
import type { ServerEvent } from "../lib/events.ts";
import { renderText } from "../lib/render_text.ts";
import { Room } from "../lib/room.ts";
import { ChatProcess, TcpClient, whoLine } from "./harness.ts";
import { JsonPeer } from "./json_peer.ts";
import { issue9Lines, lines } from "./golden_lines.ts";

const START = issue9Lines.historyStart;
const END = issue9Lines.historyEnd();

function message(seq: number, text: string, from = "alice"): ServerEvent {
  return { type: "message", from, text, seq, time: 1000 * seq };
}

// --- the ring, on its own -------------------------------------------------

Deno.test("History keeps the last N events in order and forgets the oldest", () => {
  const history = new History(3);
  for (let seq = 1; seq <= 5; seq++) history.add(message(seq, `line ${seq}`));
  assert.equal(history.size, 3);
  assert.deepEqual(
    history.replay().map((out) => out.event.seq),
    [3, 4, 5],
  );
  // After a sequence number: only what came later.
  assert.deepEqual(history.replay(4).map((out) => out.event.seq), [5]);
  assert.deepEqual(history.replay(5), []);
  assert.deepEqual(history.replay(0).map((out) => out.event.seq), [3, 4, 5]);
});

Deno.test("History replays events marked as history, with their seq and time, and builds each replay once", () => {
  const history = new History(10);
  const original = message(7, "hi");
  history.add(original);
  const [first] = history.replay();
  assert.deepEqual(first.event, { ...original, history: true });
  // The stored event is the room's own, untouched.
  assert.equal(original.history, undefined);
  // A second replay shares the first's (and so its encoded bytes).
  assert.equal(history.replay()[0], first);
});

Deno.test("History is bounded in bytes too: long lines push out old ones", () => {
  const history = new History(50, 1000);
  const long = "é".repeat(200); // 400 bytes of UTF-8
  for (let seq = 1; seq <= 5; seq++) history.add(message(seq, long));
  assert.ok(history.bytes <= 1000, `${history.bytes} bytes`);
  assert.deepEqual(history.replay().map((out) => out.event.seq), [4, 5]);
  // A single event over the bound is not kept at all.
  history.add(message(6, "x".repeat(2000)));
  assert.deepEqual(history.replay().map((out) => out.event.seq), [4, 5]);
  // Emojis count 4 bytes each.
  const emoji = new History(50, 64 + 5 + 40);
  emoji.add(message(1, "👋".repeat(10))); // 64 + 5 + 40
  emoji.add(message(2, "👋".repeat(10)));
  assert.deepEqual(emoji.replay().map((out) => out.event.seq), [2]);
});

Deno.test("History of 0 lines keeps nothing", () => {
  const history = new History(0);
  history.add(message(1, "hi"));
  assert.equal(history.size, 0);
  assert.deepEqual(history.replay(), []);
});

Deno.test("only messages, actions and topics someone set are kept", () => {
  assert.equal(
    isKeptInHistory({ type: "message", from: "a", text: "t" }),
    true,
  );
  assert.equal(isKeptInHistory({ type: "action", from: "a", text: "t" }), true);
  assert.equal(
    isKeptInHistory({ type: "topic", topic: "x", by: "prof" }),
    true,
  );
  assert.equal(isKeptInHistory({ type: "topic", topic: "x" }), false);
  assert.equal(
    isKeptInHistory({ type: "private", from: "a", to: "b", text: "t" }),
    false,
  );
  assert.equal(isKeptInHistory({ type: "joined", name: "a" }), false);
  assert.equal(isKeptInHistory({ type: "left", name: "a" }), false);
});

// --- in the room, without sockets ------------------------------------------

/** A connection of the room, recording its plain English lines. */
function arrive(room: Room) {
  const seen: string[] = [];
  const member = room.arrive({
    send: (out) => seen.push(...renderText(out.event, "en").split("\n")),
    close() {},
  });
  return { member, seen };
}

Deno.test("Room: a newcomer gets the greeting, then the framed earlier lines, then what is new", () => {
  const room = new Room({ historyLines: 2 });
  const alice = arrive(room);
  room.handleLine(alice.member, "/nick alice");
  room.handleLine(alice.member, "one");
  room.handleLine(alice.member, "/me waves");
  room.handleLine(alice.member, "/msg alice a note to self");
  room.handleLine(alice.member, "three");
  const late = arrive(room);
  room.handleLine(alice.member, "four");
  assert.deepEqual(late.seen, [
    lines.greeting(),
    START(2),
    "* alice waves",
    "alice: three",
    END,
    "alice: four",
  ]);
});

Deno.test("Room: /history at the door replays without joining; with nothing kept it says nothing", () => {
  const room = new Room();
  const watcher = arrive(room);
  room.handleLine(watcher.member, "/history");
  assert.deepEqual(watcher.seen, [lines.greeting()]);
  const alice = arrive(room);
  room.handleLine(alice.member, "/nick alice");
  room.handleLine(alice.member, "hello");
  watcher.seen.length = 0;
  room.handleLine(watcher.member, "/history");
  assert.deepEqual(watcher.seen, [START(1), "alice: hello", END]);
  assert.equal(watcher.member.waiting, true);
  assert.deepEqual(room.names, ["alice"]);
});

// --- end to end, over TCP ------------------------------------------------

/** Waits until `client` has its `/ping` answered: all before it arrived. */
async function settle(client: TcpClient): Promise<void> {
  const from = client.lines.length;
  await client.send("/ping");
  await client.received.waitFor(lines.pong(), { from });
}

Deno.test("a newcomer receives the last N public lines in order, framed, never the private ones, before anything new", async () => {
  await using server = await ChatProcess.serve(["--history", "3"], {
    stdin: true,
  });
  await using alice = await TcpClient.join(server.port, "alice");
  await using bob = await TcpClient.join(server.port, "bob");
  await alice.send("first, forgotten");
  await alice.send("second");
  await bob.send("/msg alice secret between us");
  await alice.received.waitFor(
    lines.privateMessage("bob", "alice", "secret between us"),
  );
  await server.type("/topic fractions");
  await alice.received.waitFor(lines.topicSet("host", "fractions"));
  await alice.send("/me nods");
  await bob.send("last one");
  await alice.received.waitFor("bob: last one");

  await using late = await TcpClient.connect(server.port);
  await late.received.waitFor(END);
  await alice.send("after the newcomer");
  await late.received.waitFor("alice: after the newcomer");
  assert.deepEqual(late.lines, [
    lines.greeting(),
    START(3),
    lines.topicSet("host", "fractions"),
    "* alice nods",
    "bob: last one",
    END,
    "alice: after the newcomer",
  ]);
  assert.ok(!late.received.text.includes("secret"));
  // A watcher: it is counted as watching, not as present.
  await alice.send("/who");
  await alice.received.waitFor(whoLine(["host", "alice", "bob"], 1));
});

Deno.test("with --history 0 a newcomer gets only the greeting, and /history says nothing", async () => {
  await using server = await ChatProcess.serve(["--history", "0"]);
  await using alice = await TcpClient.join(server.port, "alice");
  await alice.send("said before");
  await alice.received.waitFor("alice: said before");
  await using late = await TcpClient.connect(server.port);
  await late.received.lineAt(0);
  await late.send("/history");
  await settle(late);
  assert.deepEqual(late.lines, [lines.greeting(), lines.pong()]);
  await using jay = await JsonPeer.open(server.port, [{ type: "history" }]);
  assert.equal(jay.proto.history, 0);
  await jay.send({ type: "ping" });
  await jay.waitFor((event) => event.type === "pong");
  assert.deepEqual(jay.events.map((event) => event.type), ["proto", "pong"]);
});

Deno.test("/history from a member replays again, in the member's language, and is in /help", async () => {
  await using server = await ChatProcess.serve(["--lang", "fr"]);
  await using alice = await TcpClient.connect(server.port);
  await alice.send("/nick alice");
  await alice.received.waitFor(/^\*\*\* Bienvenue, alice !/);
  await alice.send("bonjour");
  await alice.received.waitFor("alice: bonjour");
  const from = alice.lines.length;
  await alice.send("/history");
  await alice.received.waitFor("*** Fin des lignes précédentes.", { from });
  assert.deepEqual(alice.lines.slice(from), [
    "*** Plus tôt dans le salon (1 ligne) :",
    "alice: bonjour",
    "*** Fin des lignes précédentes.",
  ]);
  await alice.send("/help");
  await alice.received.waitFor(/^\*{3} {3}\/history +réafficher/, { from });
});

Deno.test("a structured watcher sees earlier lines marked history: true with their own seq; after SEQ gives only what it missed", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await TcpClient.join(server.port, "alice");
  await alice.send("one");
  await alice.send("/me two");
  await alice.received.waitFor("* alice two");
  await using jay = await JsonPeer.open(server.port, [{ type: "history" }]);
  // The automatic replay came as plain text, before /proto.
  assert.deepEqual(jay.plainBefore, [
    lines.greeting(),
    START(2),
    "alice: one",
    "* alice two",
    END,
  ]);
  assert.equal(jay.proto.history, 50);
  await jay.waitFor((event) => event.code === "history-end");
  const replay = jay.events.slice(1);
  assert.deepEqual(
    replay.map(({ seq: _seq, time: _time, ...rest }) => rest),
    [
      {
        type: "notice",
        code: "history-start",
        args: { count: 2 },
        text: "Earlier in the room (2 lines):",
      },
      { type: "message", from: "alice", text: "one", history: true },
      { type: "action", from: "alice", text: "two", history: true },
      {
        type: "notice",
        code: "history-end",
        args: { count: 2 },
        text: "End of earlier lines.",
      },
    ],
  );
  const [start, one, two, end] = replay.map((event) => Number(event.seq));
  assert.ok(one < two && two < start && start < end, `${replay}`);
  assert.match(String(replay[1].time), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);

  // Only what came after `one`.
  const from = jay.mark();
  await jay.send({ type: "history", after: one });
  await jay.waitFor((event) => event.code === "history-end", from);
  assert.deepEqual(
    jay.events.slice(from).map((event) => event.text ?? event.code),
    ["Earlier in the room (1 line):", "two", "End of earlier lines."],
  );
  // Nothing after the last: no answer at all (the pong comes next).
  const last = jay.mark();
  await jay.send({ type: "history", after: two });
  await jay.send({ type: "ping" });
  await jay.waitFor((event) => event.type === "pong", last);
  assert.deepEqual(jay.events.slice(last).map((event) => event.type), [
    "pong",
  ]);
  // A bad `after` is one error; nothing else happens.
  await jay.send({ type: "history", after: "soon" });
  const error = await jay.waitFor((event) => event.type === "error", last);
  assert.deepEqual(error.code, "bad-field");
  assert.deepEqual(error.args, { field: "after" });
  // It never joined: asking for history does not.
  await alice.send("/who");
  await alice.received.waitFor(whoLine(["host", "alice"], 1));
});

Deno.test("in a password room the history comes after the right /pass, not before", async () => {
  const password = "hist-sesame";
  await using server = await ChatProcess.serve(["--password"], {
    env: { CHAT_PASSWORD: password },
  });
  await using alice = await TcpClient.join(server.port, "alice", { password });
  await alice.send("only for insiders");
  await alice.received.waitFor("alice: only for insiders");
  await using door = await TcpClient.connect(server.port);
  await door.received.lineAt(0);
  await door.send("/history");
  await door.received.waitFor(/^\*\*\* error: /);
  await door.send(`/pass ${password}`);
  await door.received.waitFor(END);
  assert.deepEqual(door.lines, [
    lines.passwordNeeded(),
    "*** error: this room needs a password: send /pass PASSWORD first.",
    lines.passwordAccepted(),
    START(1),
    "alice: only for insiders",
    END,
  ]);
});
