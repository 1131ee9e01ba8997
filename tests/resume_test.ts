/**
 * Issue 9, reserved names and `resume`: a member whose connection drops
 * (connection lost, timed out, too slow) keeps its name for 60 s
 * (`--reserve-seconds`); nobody else can take it meanwhile (`name-away`);
 * the same client, proving it with the token of its last welcome, takes it
 * back with `{"type":"resume",...}`. Leaving on purpose keeps nothing.
 */

import assert from "node:assert/strict";
import type { EventOf, ServerEvent } from "../lib/events.ts";
import { renderText } from "../lib/render_text.ts";
import { type Member, Room } from "../lib/room.ts";
import { ChatProcess, TcpClient, whoLine } from "./harness.ts";
import { type JsonEvent, JsonPeer } from "./json_peer.ts";
import { issue9Lines, lines } from "./golden_lines.ts";

// --- in the room, on a clock the test moves ---------------------------------

function roomOnClock() {
  const clock = { now: 0 };
  const room = new Room({ now: () => clock.now, reserveMs: 60_000 });
  const arrive = () => {
    const events: ServerEvent[] = [];
    const member = room.arrive({
      send: (out) => events.push(out.event),
      close() {},
    });
    const text = () => events.map((event) => renderText(event, "en"));
    const welcome = () =>
      events.findLast((event) => event.type === "welcome") as
        | EventOf<"welcome">
        | undefined;
    return { member, events, text, welcome };
  };
  return { clock, room, arrive };
}

function joinAs(
  room: Room,
  client: { member: Member },
  name: string,
): void {
  room.handleLine(client.member, `/nick ${name}`);
}

Deno.test("Room: a dropped member's name is refused to others with the seconds left, then freed", () => {
  const { clock, room, arrive } = roomOnClock();
  const alice = arrive();
  joinAs(room, alice, "alice");
  const token = alice.welcome()!.token!;
  assert.match(token, /^[0-9a-f]{32}$/);
  clock.now = 1_000;
  room.leave(alice.member, "connection-lost");

  const mallory = arrive();
  clock.now = 18_500;
  joinAs(room, mallory, "ALICE"); // names compare without case
  assert.equal(mallory.text().at(-1), issue9Lines.nameAway("alice", 43));
  assert.equal(mallory.member.present, false);
  clock.now = 60_999;
  joinAs(room, mallory, "alice");
  assert.equal(mallory.text().at(-1), issue9Lines.nameAway("alice", 1));
  clock.now = 61_000;
  joinAs(room, mallory, "alice");
  assert.equal(mallory.member.name, "alice");
  assert.match(mallory.text().at(-1)!, /^\*\*\* Welcome, alice!/);
});

Deno.test("Room: resume with the right token takes the name back, with a new token; a wrong one changes nothing", () => {
  const { room, arrive } = roomOnClock();
  const bob = arrive();
  joinAs(room, bob, "bob");
  const alice = arrive();
  joinAs(room, alice, "alice");
  const token = alice.welcome()!.token!;
  room.leave(alice.member, "timed-out");
  assert.equal(bob.text().at(-1), "*** alice left (timed out)");

  const again = arrive();
  room.resume(again.member, "alice", "0".repeat(32));
  assert.equal(again.text().at(-1), issue9Lines.resumeFailed("alice"));
  room.resume(again.member, "bob", token);
  assert.equal(again.text().at(-1), issue9Lines.resumeFailed("bob"));
  assert.equal(again.member.waiting, true);

  room.resume(again.member, "alice", token);
  assert.equal(again.member.name, "alice");
  assert.equal(bob.text().at(-1), lines.joined("alice"));
  const welcome = again.welcome()!;
  assert.deepEqual(welcome.online, ["bob", "alice"]);
  assert.notEqual(welcome.token, token);
  assert.match(welcome.token!, /^[0-9a-f]{32}$/);
  // Used once: the old token cannot take it again after another drop.
  room.leave(again.member, "connection-lost");
  const third = arrive();
  room.resume(third.member, "alice", token);
  assert.equal(third.text().at(-1), issue9Lines.resumeFailed("alice"));
  room.resume(third.member, "alice", welcome.token!);
  assert.equal(third.member.name, "alice");
});

Deno.test("Room: resume while the old connection is still in the room replaces it", () => {
  const { room, arrive } = roomOnClock();
  const bob = arrive();
  joinAs(room, bob, "bob");
  const old = arrive();
  joinAs(room, old, "alice");
  const token = old.welcome()!.token!;
  const thief = arrive();
  room.resume(thief.member, "alice", "1".repeat(32));
  assert.equal(thief.text().at(-1), issue9Lines.resumeFailed("alice"));
  assert.equal(old.member.present, true);

  const fresh = arrive();
  room.resume(fresh.member, "alice", token);
  assert.equal(old.member.present, false);
  assert.equal(
    old.text().at(-1),
    "*** You were disconnected: connection lost.",
  );
  assert.equal(fresh.member.name, "alice");
  assert.deepEqual(bob.text().slice(-2), [
    "*** alice left (connection lost)",
    lines.joined("alice"),
  ]);
  assert.deepEqual(room.names, ["bob", "alice"]);
});

Deno.test("Room: leaving on purpose keeps no name: /quit, stop, a plain close, kick, flooding", () => {
  const { room, arrive } = roomOnClock();
  const host = room.join({ send() {}, close() {} }, {
    name: "host",
    isHost: true,
  });
  const cases: [string, (member: Member) => void][] = [
    ["quitter", (member) => room.handleLine(member, "/quit")],
    ["stopper", (member) => room.handleLine(member, "stop")],
    ["closer", (member) => room.leave(member)],
    ["kicked", (member) => room.handleLine(host, `/kick ${member.name}`)],
    ["flooder", (member) => room.remove(member, "flooding")],
  ];
  for (const [name, leave] of cases) {
    const client = arrive();
    joinAs(room, client, name);
    leave(client.member);
    const next = arrive();
    joinAs(room, next, name);
    assert.equal(next.member.name, name, next.text().join("\n"));
  }
  // The host's own name is never kept for anyone else; too-slow is.
  const slow = arrive();
  joinAs(room, slow, "slow");
  room.leave(slow.member, "too-slow");
  const other = arrive();
  joinAs(room, other, "slow");
  assert.equal(other.member.present, false);
});

Deno.test("Room: a guest's name is never one kept for a dropped member", () => {
  const { room, arrive } = roomOnClock();
  const first = arrive();
  room.handleLine(first.member, "/join");
  assert.equal(first.member.name, "guest1");
  room.leave(first.member, "connection-lost");
  const second = arrive();
  room.handleLine(second.member, "hello");
  assert.equal(second.member.name, "guest2");
});

// --- end to end, over TCP ------------------------------------------------

/** The error event's code and args, without seq, time or text. */
function errorOf(event: JsonEvent): unknown {
  return { code: event.code, args: event.args };
}

Deno.test("a structured client that timed out gets its name back with resume and only the lines it missed; others are refused the name meanwhile", async () => {
  await using server = await ChatProcess.serve([
    "--heartbeat-timeout",
    "1",
  ]);
  await using bob = await TcpClient.join(server.port, "bob");
  await using laptop = await JsonPeer.open(server.port, ["/nick alice"]);
  const welcome = await laptop.waitFor((event) => event.type === "welcome");
  const token = String(welcome.token);
  assert.match(token, /^[0-9a-f]{32}$/);
  const run = laptop.proto.run;
  await bob.send("seen by alice");
  const seen = await laptop.waitFor((event) => event.text === "seen by alice");
  // One heartbeat, then the lid closes: silent, socket left open.
  await laptop.send({ type: "ping" });
  await laptop.waitFor((event) => event.type === "pong");
  await bob.received.waitFor("*** alice left (timed out)", { ms: 5000 });
  await bob.send("missed by alice");
  await bob.received.waitFor("bob: missed by alice");

  // Someone else cannot take the name, plain or structured.
  await using mallory = await TcpClient.connect(server.port);
  await mallory.received.waitFor(issue9Lines.historyEnd());
  await mallory.send("/nick alice");
  const refusal = await mallory.received.waitFor(/^\*\*\* error: /);
  assert.match(
    refusal,
    /^\*\*\* error: the name "alice" belongs to someone whose connection dropped; it is kept for them (59|60) s more\. Try another one\.$/,
  );
  await using thief = await JsonPeer.open(server.port, [
    { type: "resume", name: "alice", token: "f".repeat(32) },
    "/nick alice",
  ]);
  await thief.waitFor((event) => event.code === "name-away");
  assert.deepEqual(
    thief.events.slice(1).filter((event) => event.type === "error").map(
      errorOf,
    ),
    [
      { code: "resume-failed", args: { name: "alice" } },
      { code: "name-away", args: thief.events.at(-1)!.args },
    ],
  );

  // The same client comes back: history after what it saw, then resume.
  await using back = await JsonPeer.open(server.port, [
    { type: "history", after: seen.seq },
    { type: "resume", name: "alice", token },
  ]);
  assert.equal(back.proto.run, run);
  const again = await back.waitFor((event) => event.type === "welcome");
  assert.equal(again.name, "alice");
  assert.notEqual(again.token, token);
  assert.deepEqual(
    back.events.slice(1).map((event) => event.text ?? event.type),
    [
      "Earlier in the room (1 line):",
      "missed by alice",
      "End of earlier lines.",
      "welcome",
    ],
  );
  await bob.received.waitFor(lines.joined("alice"));
  await bob.send("/who");
  await bob.received.waitFor(whoLine(["host", "bob", "alice"], 2));
});

Deno.test("a client that closes its connection normally or quits keeps no name: the next one gets it at once", async () => {
  await using server = await ChatProcess.serve();
  await using bob = await TcpClient.join(server.port, "bob");
  const closer = await TcpClient.join(server.port, "closer");
  closer.close();
  await bob.received.waitFor(lines.left("closer"));
  await using next = await TcpClient.join(server.port, "closer");
  await using quitter = await JsonPeer.open(server.port, ["/nick quitter"]);
  const welcome = await quitter.waitFor((event) => event.type === "welcome");
  await quitter.send("/quit");
  await bob.received.waitFor(lines.left("quitter"));
  await using resumer = await JsonPeer.open(server.port, [
    { type: "resume", name: "quitter", token: String(welcome.token) },
  ]);
  const failed = await resumer.waitFor((event) => event.type === "error");
  assert.deepEqual(errorOf(failed), {
    code: "resume-failed",
    args: { name: "quitter" },
  });
  await using taker = await TcpClient.join(server.port, "quitter");
  assert.ok(next.welcomeIndex >= 0 && taker.welcomeIndex >= 0);
});

Deno.test("resume is checked: bad fields are one error each, and a joined member cannot resume", async () => {
  await using server = await ChatProcess.serve();
  await using jay = await JsonPeer.open(server.port, [
    { type: "resume", name: "alice" },
    { type: "resume", name: 7, token: "x" },
    { type: "resume", name: "alice", token: "x".repeat(65) },
    { type: "resume", name: "alice", token: "x", extra: 1 },
    "/nick jay",
    { type: "resume", name: "jay", token: "x" },
  ]);
  await jay.waitFor((event) => event.code === "resume-failed");
  assert.deepEqual(
    jay.events.filter((event) => event.type === "error").map(errorOf),
    [
      { code: "bad-field", args: { field: "token" } },
      { code: "bad-field", args: { field: "name" } },
      { code: "bad-field", args: { field: "token" } },
      { code: "unknown-field", args: { field: "extra" } },
      { code: "resume-failed", args: { name: "jay" } },
    ],
  );
});
