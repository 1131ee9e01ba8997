/**
 * Unit tests for the room's defences against a hostile classroom: the door
 * (greeting, password, first line), flood control, host moderation, the
 * topic, host-name reservation, and impersonation.
 *
 * Peers are fakes that record what they are sent; flood control runs on a
 * fake clock, so nothing here sleeps except the wrong-password delay, which
 * is set to 0 or a few milliseconds and awaited with a bounded wait.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_FLOOD_LIMITS,
  FLOOD_MEMORY_MS,
  type FloodLimits,
  Room,
  type RoomOptions,
} from "../lib/room.ts";
import { nameProblem } from "../lib/protocol.ts";
import { type Client, client, type FakePeer, fakePeer } from "./fake_peer.ts";
import {
  issue9Lines,
  lines,
  NOTICE_PREFIX,
  roomLines,
} from "./golden_lines.ts";

// --- helpers ----------------------------------------------------------------

/** Joins at once, as the host does (no door). */
function join(
  room: Room,
  options?: { name?: string; isHost?: boolean; address?: string },
): Client {
  const peer = fakePeer();
  return client(room.join(peer, options), peer);
}

/** A network connection arriving at the door. */
function arrive(room: Room, address?: string): Client {
  const peer = fakePeer();
  return client(room.arrive(peer, { address }), peer);
}

/** A network connection that arrives and joins with `/nick name`. */
function enter(room: Room, name: string, address?: string): Client {
  const who = arrive(room, address);
  say(room, who, `/nick ${name}`);
  assert.equal(who.member.present, true, `${name} should have joined`);
  return who;
}

const say = (room: Room, who: Client, text: string) =>
  room.handleLine(who.member, text);

/** Discards what every client has received so far. */
function drain(...clients: Client[]): void {
  for (const who of clients) {
    who.take();
    who.takeEvents();
  }
}

/** A clock that only moves when told to. */
function fakeClock(start = 0) {
  let ms = start;
  return {
    now: () => ms,
    advance(by: number) {
      ms += by;
    },
    set(to: number) {
      ms = to;
    },
  };
}

/** Flood control off, so tests about other things may send freely. */
const NO_FLOOD: FloodLimits = { burst: 1, perSecond: 0, disconnectAfter: 0 };

/**
 * A room with the host `prof` (console, no address) and two network members,
 * `alice` from 10.0.0.1 and `bob` from 10.0.0.2, their join lines consumed.
 */
function classroom(options: RoomOptions = {}) {
  const clock = fakeClock();
  const room = new Room({ flood: NO_FLOOD, now: clock.now, ...options });
  const host = join(room, { name: "prof", isHost: true });
  const alice = enter(room, "alice", "10.0.0.1");
  const bob = enter(room, "bob", "10.0.0.2");
  drain(host, alice, bob);
  return { room, clock, host, alice, bob };
}

/** Waits for a peer's close(), failing after `ms`; leaves no timer behind. */
async function closedWithin(peer: FakePeer, ms = 2000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`peer not closed within ${ms} ms`)),
      ms,
    );
  });
  try {
    await Promise.race([peer.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const MUTED_ERROR = roomLines.muted();

function floodWarning(limits: FloodLimits): string {
  return roomLines.flooding(limits.burst, limits.perSecond);
}

const unknownCommand = roomLines.unknownCommand;

// --- the door -------------------------------------------------------------------

Deno.test("arrive greets a newcomer to an open room with the greeting only; it watches, outside the room", () => {
  const { room, host, alice } = classroom();
  const door = arrive(room, "10.0.0.9");
  assert.deepEqual(door.take(), [lines.greeting()]);
  assert.equal(door.member.waiting, true);
  assert.equal(door.member.watching, true);
  assert.equal(door.member.present, false);
  assert.equal(door.member.address, "10.0.0.9");
  assert.deepEqual(room.names, ["prof", "alice", "bob"]);
  assert.deepEqual(host.take(), []);
  assert.deepEqual(alice.take(), []);
  assert.equal(door.peer.closes, 0);
});

Deno.test("arrive asks for the password when the room has one", () => {
  const room = new Room({ password: "letmein", flood: NO_FLOOD });
  const door = arrive(room, "10.0.0.9");
  assert.deepEqual(door.take(), [lines.passwordNeeded()]);
  assert.equal(door.member.waiting, true);
  assert.equal(door.member.watching, false);
  assert.equal(room.watcherCount, 0);
  assert.deepEqual(room.names, []);
});

/**
 * Everything that can happen in a room while a connection has not joined.
 * `carol` arrives, joins and quits; `bob` is kicked; `alice` renamed
 * `alicia` is removed at the end.
 */
function everythingHappens(
  room: Room,
  { host, alice, bob }: { host: Client; alice: Client; bob: Client },
  enterCarol: () => Client,
): void {
  say(room, alice, "hello everyone");
  say(room, bob, "/me waves");
  say(room, alice, "/nick alicia");
  say(room, alice, "/msg bob psst");
  say(room, alice, "/msg guest1 are you there?");
  say(room, alice, "/who");
  say(room, alice, "/help");
  say(room, host, "/topic exam on friday");
  say(room, host, "/mute bob");
  say(room, host, "/unmute bob");
  const carol = enterCarol();
  say(room, carol, "/quit");
  say(room, host, "/kick bob");
  room.broadcast({ type: "shutdown" });
  room.remove(alice.member, "timed-out");
}

/** What everyone in the room read of {@linkcode everythingHappens}. */
const EVERYTHING_SAID = [
  "alice: hello everyone",
  "* bob waves",
  lines.renamed("alice", "alicia"),
  lines.topicSet("prof", "exam on friday"),
  roomLines.mutedNotice("bob"),
  roomLines.unmutedNotice("bob"),
  lines.joined("carol"),
  lines.left("carol"),
  lines.left("bob", "kicked by the host"),
  lines.shutdown(),
  lines.left("alicia", "timed out"),
];

Deno.test("before the right /pass a connection sees nothing of the room and is not in /who; then it watches", () => {
  const password = "sesame";
  const clock = fakeClock();
  const room = new Room({ password, flood: NO_FLOOD, now: clock.now });
  const host = join(room, { name: "prof", isHost: true });
  const knock = (name: string, address: string) => {
    const who = arrive(room, address);
    say(room, who, `/pass ${password}`);
    say(room, who, `/nick ${name}`);
    assert.equal(who.member.present, true, name);
    return who;
  };
  const alice = knock("alice", "10.0.0.1");
  const bob = knock("bob", "10.0.0.2");
  drain(host, alice, bob);

  const door = arrive(room, "10.0.0.9");
  assert.deepEqual(door.take(), [lines.passwordNeeded()]);
  assert.equal(door.member.watching, false);
  everythingHappens(
    room,
    { host, alice, bob },
    () => knock("carol", "10.0.0.3"),
  );
  assert.deepEqual(door.take(), [], "the connection saw something");
  assert.deepEqual(door.peer.events.length, 1);
  assert.deepEqual(host.take(), EVERYTHING_SAID);
  say(room, host, "/who");
  assert.deepEqual(host.take(), [lines.who(["prof"])]);
  assert.equal(room.watcherCount, 0);
  assert.equal(room.find(""), undefined);

  // The right password: from now on it watches.
  say(room, door, `/pass ${password}`);
  // Issue 9: once it may read, it gets the earlier public lines (never the
  // private ones), framed, then what is new.
  assert.deepEqual(door.take(), [
    lines.passwordAccepted(),
    issue9Lines.historyStart(3),
    "alice: hello everyone",
    "* bob waves",
    lines.topicSet("prof", "exam on friday"),
    issue9Lines.historyEnd(),
  ]);
  assert.equal(door.member.watching, true);
  say(room, host, "now you can read this");
  assert.deepEqual(door.take(), ["prof: now you can read this"]);
  say(room, host, "/who");
  assert.deepEqual(host.take().slice(-1), [
    "*** Online (1): prof; 1 watching",
  ]);

  // When it joins it gets its welcome, not the history.
  say(room, door, "/nick dave");
  assert.deepEqual(door.take(), [
    lines.welcome("dave", ["prof", "dave"], "exam on friday"),
  ]);
  assert.deepEqual(host.take(), [lines.joined("dave")]);
});

Deno.test("in a room without a password a connection sees everything said to all from arrival, unnamed, counted as watching", () => {
  const { room, host, alice, bob } = classroom();
  const door = arrive(room, "10.0.0.9");
  assert.deepEqual(door.take(), [lines.greeting()]);
  everythingHappens(
    room,
    { host, alice, bob },
    () => enter(room, "carol", "10.0.0.3"),
  );
  // Exactly what the room said to everyone: no private messages, no one
  // else's /who or /help, nothing about itself.
  assert.deepEqual(door.take(), EVERYTHING_SAID);
  assert.deepEqual(host.take(), EVERYTHING_SAID);

  say(room, host, "/who");
  assert.deepEqual(host.take(), [
    lines.who(["prof"]) + "; 1 watching",
  ]);
  assert.equal(room.find(""), undefined);
  assert.equal(door.member.name, "");

  // When it joins it gets its welcome, not the history again.
  say(room, door, "/nick dave");
  assert.deepEqual(door.take(), [
    lines.welcome("dave", ["prof", "dave"], "exam on friday"),
  ]);
  assert.deepEqual(host.take(), [lines.joined("dave")]);
  say(room, host, "/who");
  assert.deepEqual(host.take(), [lines.who(["prof", "dave (10.0.0.9)"])]);
});

Deno.test("/nick NAME at the door joins under NAME: joined to the others, welcome to it", () => {
  const { room, host, alice } = classroom();
  say(room, host, "/topic fractions");
  drain(host, alice);
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "/nick Dave");
  assert.equal(door.member.name, "Dave");
  assert.equal(door.member.present, true);
  assert.equal(door.member.waiting, false);
  assert.deepEqual(door.take(), [
    lines.welcome("Dave", ["prof", "alice", "bob", "Dave"], "fractions"),
  ]);
  assert.deepEqual(host.take(), [lines.joined("Dave")]);
  assert.deepEqual(alice.take(), [lines.joined("Dave")]);
  assert.deepEqual(room.names, ["prof", "alice", "bob", "Dave"]);
});

Deno.test("a refused /nick at the door (missing, invalid, taken, reserved) keeps it waiting, told why", () => {
  const { room, host, alice } = classroom();
  const door = arrive(room, "10.0.0.9");
  door.take();
  for (
    const [line, reason] of [
      ["/nick", /usage: \/nick NAME/],
      ["/nick   ", /usage: \/nick NAME/],
      ["/nick a b", /cannot use "a b"/],
      ["/nick x:y", /cannot use "x:y"/],
      ["/nick ALICE", /taken/],
      ["/nick Prof", /taken/],
    ] as const
  ) {
    say(room, door, line);
    const replies = door.take();
    assert.equal(replies.length, 1, line);
    assert.ok(replies[0].startsWith("*** error: "), line);
    assert.match(replies[0], reason, line);
    assert.equal(door.member.waiting, true, line);
    assert.equal(door.member.present, false, line);
  }
  // A reserved name (the host's earlier name) is refused too. The door
  // watches, so it sees the rename.
  say(room, host, "/nick teacher");
  assert.deepEqual(door.take(), [lines.renamed("prof", "teacher")]);
  drain(host, alice);
  say(room, door, "/nick PROF");
  const [reserved, ...rest] = door.take();
  assert.match(reserved, /^\*\*\* error: .*reserved for the host/);
  assert.deepEqual(rest, []);
  assert.equal(door.member.waiting, true);
  assert.deepEqual(host.take(), []);
  assert.deepEqual(alice.take(), []);
  assert.deepEqual(room.names, ["teacher", "alice", "bob"]);
});

Deno.test("/join at the door joins as guestN and says nothing else", () => {
  const { room, alice } = classroom();
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "/join");
  assert.equal(door.member.name, "guest1");
  assert.deepEqual(door.take(), [
    lines.welcome("guest1", ["prof", "alice", "bob", "guest1"]),
  ]);
  assert.deepEqual(alice.take(), [lines.joined("guest1")]);
});

Deno.test("any other first line joins as a guest and is then handled as that line", () => {
  const { room, alice } = classroom();
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "hello there");
  assert.equal(door.member.name, "guest1");
  assert.deepEqual(alice.take(), [
    lines.joined("guest1"),
    "guest1: hello there",
  ]);
  assert.deepEqual(door.take(), [
    lines.welcome("guest1", ["prof", "alice", "bob", "guest1"]),
    "guest1: hello there",
  ]);

  const second = arrive(room, "10.0.0.10");
  second.take();
  say(room, second, "/who");
  assert.deepEqual(second.take(), [
    lines.welcome("guest2", ["prof", "alice", "bob", "guest1", "guest2"]),
    lines.who(["prof", "alice", "bob", "guest1", "guest2"]),
  ]);
  assert.deepEqual(alice.take(), [lines.joined("guest2")]);

  const third = arrive(room, "10.0.0.11");
  say(room, third, "/me waves");
  assert.deepEqual(alice.take(), [lines.joined("guest3"), "* guest3 waves"]);

  const fourth = arrive(room, "10.0.0.12");
  say(room, fourth, "//slash");
  assert.deepEqual(alice.take(), [lines.joined("guest4"), "guest4: /slash"]);
});

for (const command of ["/quit", "stop", "/QUIT"]) {
  Deno.test(`${command} at the door says Bye, closes once and tells no one`, () => {
    const { room, host, alice } = classroom();
    const door = arrive(room, "10.0.0.9");
    door.take();
    say(room, door, command);
    assert.deepEqual(door.take(), [lines.goodbye()]);
    assert.equal(door.peer.closes, 1);
    assert.equal(door.member.waiting, false);
    assert.equal(door.member.present, false);
    assert.deepEqual(host.take(), []);
    assert.deepEqual(alice.take(), []);
    say(room, door, "hello?");
    assert.deepEqual(door.take(), []);
    assert.deepEqual(alice.take(), []);
    assert.equal(door.peer.closes, 1);
  });
}

Deno.test("stop with blanks around it at the door is not stop: it joins as a guest and is said", () => {
  const { room, alice } = classroom();
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, " stop ");
  assert.equal(door.member.present, true);
  assert.equal(door.peer.closes, 0);
  assert.deepEqual(alice.take(), [lines.joined("guest1"), "guest1:  stop "]);
});

Deno.test("/ping is answered with pong in every state and never joins", () => {
  const open = classroom();
  const door = arrive(open.room, "10.0.0.9");
  door.take();
  for (const ping of ["/ping", "/PING", "  /ping  "]) {
    say(open.room, door, ping);
    assert.deepEqual(door.take(), [lines.pong()], ping);
    assert.equal(door.member.waiting, true);
  }
  // Present, host, muted.
  say(open.room, open.alice, "/ping");
  assert.deepEqual(open.alice.take(), [lines.pong()]);
  say(open.room, open.host, "/ping");
  assert.deepEqual(open.host.take(), [lines.pong()]);
  say(open.room, open.host, "/mute bob");
  drain(open.host, open.alice, open.bob);
  say(open.room, open.bob, "/ping");
  assert.deepEqual(open.bob.take(), [lines.pong()]);
  assert.deepEqual(open.alice.take(), []);
  assert.deepEqual(open.host.take(), []);
  assert.deepEqual(open.room.names, ["prof", "alice", "bob"]);

  // Before the password.
  const locked = new Room({ password: "sesame", flood: NO_FLOOD });
  const knocker = arrive(locked, "10.0.0.9");
  knocker.take();
  say(locked, knocker, "/ping");
  assert.deepEqual(knocker.take(), [lines.pong()]);
  assert.equal(knocker.member.waiting, true);
  say(locked, knocker, "/pass sesame");
  knocker.take();
  say(locked, knocker, "/ping");
  assert.deepEqual(knocker.take(), [lines.pong()]);
  assert.equal(knocker.member.waiting, true);
  assert.deepEqual(locked.names, []);
});

// --- the password ---------------------------------------------------------------

Deno.test("before the password, /nick, /join and messages are refused and join nothing", () => {
  const room = new Room({ password: "sesame", flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  host.take();
  const door = arrive(room, "10.0.0.9");
  door.take();
  const needed = lines.error(
    "this room needs a password: send /pass PASSWORD first.",
  );
  for (const line of ["/nick alice", "/join", "hello", "/who", "//x"]) {
    say(room, door, line);
    assert.deepEqual(door.take(), [needed], line);
    assert.equal(door.member.waiting, true, line);
  }
  assert.deepEqual(host.take(), []);
  assert.deepEqual(room.names, ["prof"]);
});

Deno.test("the right /pass is accepted, later /pass lines are ignored, then /nick joins", () => {
  const room = new Room({ password: "open sesame", flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  host.take();
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "/PASS open sesame");
  assert.deepEqual(door.take(), [lines.passwordAccepted()]);
  assert.equal(door.member.waiting, true);
  assert.deepEqual(host.take(), []);
  say(room, door, "/pass wrong guess");
  assert.deepEqual(door.take(), []);
  assert.equal(door.member.waiting, true);
  say(room, door, "/nick alice");
  assert.equal(door.member.present, true);
  assert.deepEqual(host.take(), [lines.joined("alice")]);
});

Deno.test("a wrong /pass is out at once; the refusal and close() come only after the delay", async () => {
  const room = new Room({
    password: "sesame",
    flood: NO_FLOOD,
    wrongPasswordDelayMs: 20,
  });
  const host = join(room, { name: "prof", isHost: true });
  host.take();
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "/pass sesamE");
  // Out at once: no longer waiting, and nothing it sends counts any more.
  assert.equal(door.member.waiting, false);
  assert.equal(door.member.present, false);
  assert.deepEqual(door.take(), []);
  assert.equal(door.peer.closes, 0);
  say(room, door, "/pass sesame");
  say(room, door, "/nick alice");
  say(room, door, "/ping");
  assert.deepEqual(door.take(), []);
  assert.equal(door.member.present, false);

  await closedWithin(door.peer);
  assert.deepEqual(door.take(), [lines.error("wrong password.")]);
  assert.equal(door.peer.closes, 1);
  assert.deepEqual(host.take(), []);
  assert.deepEqual(room.names, ["prof"]);
});

Deno.test("a connection that gives a wrong /pass never sees anything said, before, during or after the delay", async () => {
  const room = new Room({
    password: "sesame",
    flood: NO_FLOOD,
    wrongPasswordDelayMs: 20,
  });
  const host = join(room, { name: "prof", isHost: true });
  const guesser = arrive(room, "10.0.0.9");
  const rightful = arrive(room, "10.0.0.10");
  say(room, host, "before the guess");
  say(room, guesser, "/pass open");
  say(room, rightful, "/pass sesame");
  say(room, host, "during the delay");
  say(room, host, "/topic secrets");
  say(room, rightful, "/nick alice");
  await closedWithin(guesser.peer);
  say(room, host, "after the refusal");
  assert.deepEqual(guesser.peer.seen, [
    lines.passwordNeeded(),
    roomLines.wrongPassword(),
  ]);
  assert.deepEqual(
    guesser.peer.events.map((event) => event.type),
    ["notice", "error"],
  );
  assert.equal(guesser.member.watching, false);
  assert.equal(room.watcherCount, 0);
  // The one who gave the right password saw what was said once it had.
  // (Issue 9: what was said before it gave it comes as earlier lines.)
  assert.deepEqual(rightful.peer.seen.slice(0, 7), [
    lines.passwordNeeded(),
    lines.passwordAccepted(),
    issue9Lines.historyStart(1),
    "prof: before the guess",
    issue9Lines.historyEnd(),
    "prof: during the delay",
    lines.topicSet("prof", "secrets"),
  ]);
});

Deno.test("a wrong /pass with wrongPasswordDelayMs 0 is refused once and closed once", async () => {
  const room = new Room({
    password: "sesame",
    flood: NO_FLOOD,
    wrongPasswordDelayMs: 0,
  });
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "/pass");
  await closedWithin(door.peer);
  assert.deepEqual(door.take(), [lines.error("wrong password.")]);
  assert.equal(door.peer.closes, 1);
});

Deno.test("/pass in a room without a password says so and keeps waiting", () => {
  const { room, alice } = classroom();
  const door = arrive(room, "10.0.0.9");
  door.take();
  say(room, door, "/pass anything");
  assert.deepEqual(door.take(), [roomLines.noPassword()]);
  assert.equal(door.member.waiting, true);
  assert.deepEqual(alice.take(), []);
});

Deno.test("the password is never included in any line sent to anyone", async () => {
  const password = "Zebra-42-Quux";
  const room = new Room({
    password,
    flood: NO_FLOOD,
    wrongPasswordDelayMs: 0,
  });
  const everyone: Client[] = [];
  const host = join(room, { name: "prof", isHost: true });
  everyone.push(host);

  // Right password, in several spellings of the command.
  for (
    const [i, line] of [
      `/pass ${password}`,
      `/PASS ${password}`,
      `  /pass   ${password}  `,
      `/pass\t${password}`,
    ].entries()
  ) {
    const who = arrive(room, `10.0.1.${i}`);
    everyone.push(who);
    say(room, who, line);
    say(room, who, `/pass ${password}`); // again, once accepted
    say(room, who, `/nick member${i}`);
    assert.equal(who.member.present, true, line);
    say(room, who, "hi");
    say(room, who, `/pass ${password}`); // once in the room
    say(room, who, "/who");
    say(room, who, "/help");
  }

  // The password typed without /pass, and wrong guesses close to it.
  const typedBare = arrive(room, "10.0.2.1");
  everyone.push(typedBare);
  say(room, typedBare, password);
  say(room, typedBare, `/nick ${password}`);
  say(room, typedBare, `/join ${password}`);
  assert.equal(typedBare.member.waiting, true);

  const guesses = [
    password.toLowerCase(),
    password.slice(0, -1),
    password + "x",
    `${password} ${password}`,
    `x${password}`,
  ];
  const guessers: Client[] = [];
  for (const [i, guess] of guesses.entries()) {
    const who = arrive(room, `10.0.3.${i}`);
    guessers.push(who);
    everyone.push(who);
    say(room, who, `/pass ${guess}`);
  }
  await Promise.all(guessers.map((who) => closedWithin(who.peer)));

  say(room, host, "/who");
  say(room, host, "/help");
  say(room, host, "/topic");

  for (const who of everyone) {
    for (const line of who.peer.seen) {
      assert.ok(
        !line.includes(password),
        `the password was sent: ${JSON.stringify(line)}`,
      );
    }
  }
  // Nor are wrong guesses shown to anyone but the guesser (and not even it).
  for (const who of everyone) {
    for (const line of who.peer.seen) {
      for (const guess of guesses) {
        assert.ok(!line.includes(guess), `a guess was sent: ${line}`);
      }
    }
  }
  for (const who of guessers) {
    assert.deepEqual(who.peer.seen, [
      lines.passwordNeeded(),
      lines.error("wrong password."),
    ]);
  }
});

// --- flood control ----------------------------------------------------------------

/**
 * A room with flood control on a fake clock, `alice` (who will flood) and
 * `bob` (who watches), both joined at time 0 with a full bucket.
 */
function floodRoom(flood: FloodLimits) {
  const clock = fakeClock(0);
  const room = new Room({ flood, now: clock.now });
  const host = join(room, { name: "prof", isHost: true });
  const alice = enter(room, "alice", "10.0.0.1");
  const bob = enter(room, "bob", "10.0.0.2");
  drain(host, alice, bob);
  /** Alice's lines that reached bob. */
  const delivered = () =>
    bob.take().filter((line) => line.startsWith("alice: ")).length;
  return { room, clock, host, alice, bob, delivered };
}

Deno.test("flood: exactly burst lines pass at once; the next is refused with one warning to the sender only", () => {
  const limits = { burst: 3, perSecond: 1, disconnectAfter: 0 };
  const { room, host, alice, bob } = floodRoom(limits);
  for (let i = 1; i <= 3; i++) say(room, alice, `line ${i}`);
  assert.deepEqual(bob.take(), [
    "alice: line 1",
    "alice: line 2",
    "alice: line 3",
  ]);
  assert.equal(alice.take().length, 3);
  say(room, alice, "line 4");
  assert.deepEqual(alice.take(), [floodWarning(limits)]);
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(host.take().filter((l) => l.includes("line 4")), []);
  assert.equal(alice.member.present, true);
});

Deno.test("flood: one line's worth comes back after exactly 1/perSecond s, and the bucket never holds more than burst", () => {
  const limits = { burst: 3, perSecond: 2, disconnectAfter: 0 };
  const { room, clock, alice, delivered } = floodRoom(limits);
  for (let i = 0; i < 4; i++) say(room, alice, `x${i}`);
  assert.equal(delivered(), 3);
  clock.set(499);
  say(room, alice, "too early");
  assert.equal(delivered(), 0);
  clock.set(500);
  say(room, alice, "on time");
  assert.equal(delivered(), 1);
  say(room, alice, "again at once");
  assert.equal(delivered(), 0);
  clock.set(999);
  say(room, alice, "too early again");
  assert.equal(delivered(), 0);
  clock.set(1000);
  say(room, alice, "on time again");
  assert.equal(delivered(), 1);
  // A long pause refills to burst, no more.
  clock.set(1_000_000);
  for (let i = 0; i < 10; i++) say(room, alice, `after pause ${i}`);
  assert.equal(delivered(), 3);
});

Deno.test("flood: 100,000 lines 1 ms apart deliver burst + perSecond × t lines, within one", () => {
  const limits = { burst: 20, perSecond: 5, disconnectAfter: 0 };
  const { room, clock, alice, delivered } = floodRoom(limits);
  const attempts = 100_000;
  let total = 0;
  for (let i = 0; i < attempts; i++) {
    clock.set(i);
    say(room, alice, `spam ${i}`);
    total += delivered();
  }
  const elapsedSeconds = (attempts - 1) / 1000;
  const budget = limits.burst + limits.perSecond * elapsedSeconds;
  assert.ok(total <= budget, `${total} lines delivered, budget ${budget}`);
  assert.ok(total >= Math.floor(budget) - 1, `only ${total} of ${budget}`);
  // disconnectAfter 0: never disconnected; the refusals never paused 10 s,
  // so this was one episode with one warning.
  assert.equal(alice.member.present, true);
  assert.equal(alice.peer.closes, 0);
  const warnings = alice.take().filter((l) => l === floodWarning(limits));
  assert.equal(warnings.length, 1);
});

Deno.test("flood: with irregular timing over 100,000 lines no window carries more than burst + perSecond × its length", () => {
  const limits = { burst: 20, perSecond: 5, disconnectAfter: 0 };
  const { room, clock, alice, delivered } = floodRoom(limits);
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const times: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    // Mostly rapid fire, sometimes a pause long enough to refill a little or all.
    const r = random();
    clock.advance(
      r < 0.999 ? Math.floor(random() * 5) : Math.floor(random() * 8000),
    );
    say(room, alice, `spam ${i}`);
    const got = delivered();
    assert.ok(got <= 1);
    if (got === 1) times.push(clock.now());
  }
  assert.ok(times.length > limits.burst, "the test should deliver something");
  // For every pair i <= j of delivered lines:
  //   (j - i + 1) <= burst + perSecond * (t_j - t_i) / 1000.
  // With f(k) = k - perSecond * t_k / 1000 that is f(j) - min f(i) <= burst - 1.
  let minF = Infinity;
  let worst = -Infinity;
  for (const [k, t] of times.entries()) {
    const f = k - limits.perSecond * t / 1000;
    minF = Math.min(minF, f);
    worst = Math.max(worst, f - minF);
  }
  assert.ok(
    worst <= limits.burst - 1 + 1e-9,
    `some window carried ${worst + 1} lines more than its refill`,
  );
  const total = limits.burst + limits.perSecond * clock.now() / 1000;
  assert.ok(times.length <= total);
  assert.equal(alice.member.present, true);
});

Deno.test("flood: exactly one warning per episode; a new episode after a FLOOD_MEMORY_MS pause warns again", () => {
  const limits = { burst: 2, perSecond: 1, disconnectAfter: 0 };
  const { room, clock, alice, bob, delivered } = floodRoom(limits);
  const warnings = () =>
    alice.take().filter((line) => line === floodWarning(limits)).length;
  for (let i = 0; i < 50; i++) say(room, alice, `burst one ${i}`);
  assert.equal(delivered(), 2);
  assert.equal(warnings(), 1);
  // Refused again within FLOOD_MEMORY_MS of the last refusal: same episode.
  clock.set(FLOOD_MEMORY_MS - 1);
  for (let i = 0; i < 50; i++) say(room, alice, `burst two ${i}`);
  assert.equal(delivered(), 2);
  assert.equal(warnings(), 0);
  // A pause longer than FLOOD_MEMORY_MS since the last refusal: new episode.
  clock.set(2 * FLOOD_MEMORY_MS);
  for (let i = 0; i < 50; i++) say(room, alice, `burst three ${i}`);
  assert.equal(delivered(), 2);
  assert.equal(warnings(), 1);
  // Warnings go to the flooder only.
  assert.deepEqual(bob.take().filter((l) => l.includes("slow down")), []);
});

Deno.test("flood: more than disconnectAfter refused lines disconnect with reason flooding", () => {
  const limits = { burst: 1, perSecond: 1, disconnectAfter: 3 };
  const { room, host, alice, bob } = floodRoom(limits);
  say(room, alice, "first");
  for (let i = 1; i <= 3; i++) say(room, alice, `refused ${i}`);
  assert.equal(alice.member.present, true, "three refusals are allowed");
  assert.equal(alice.peer.closes, 0);
  assert.deepEqual(alice.take(), ["alice: first", floodWarning(limits)]);
  drain(bob, host);

  say(room, alice, "refused 4");
  assert.deepEqual(alice.take(), [lines.removed("flooding")]);
  assert.equal(alice.peer.closes, 1);
  assert.equal(alice.member.present, false);
  assert.deepEqual(bob.take(), [lines.left("alice", "flooding")]);
  assert.deepEqual(host.take(), [lines.left("alice", "flooding")]);
  assert.deepEqual(room.names, ["prof", "bob"]);

  say(room, alice, "still here?");
  assert.deepEqual(alice.take(), []);
  assert.deepEqual(bob.take(), []);
  assert.equal(alice.peer.closes, 1);
});

Deno.test("flood: refusals less than FLOOD_MEMORY_MS apart add up even when lines pass in between", () => {
  const limits = { burst: 1, perSecond: 1, disconnectAfter: 5 };
  const { room, clock, alice, bob } = floodRoom(limits);
  let passed = 0;
  for (let second = 0; alice.member.present && second < 100; second++) {
    clock.set(second * 1000);
    say(room, alice, `a${second}`); // passes: one token per second
    say(room, alice, `b${second}`); // refused
    passed += bob.take().filter((l) => l.startsWith("alice: ")).length;
  }
  assert.equal(alice.member.present, false);
  assert.equal(
    passed,
    6,
    "disconnected at the sixth refusal, in the sixth second",
  );
  const got = alice.take();
  assert.equal(got.filter((l) => l === floodWarning(limits)).length, 1);
  assert.equal(got.at(-1), lines.removed("flooding"));
});

Deno.test("flood: the refusal count is forgotten after a pause longer than FLOOD_MEMORY_MS", () => {
  const limits = { burst: 1, perSecond: 1, disconnectAfter: 3 };
  const { room, clock, alice } = floodRoom(limits);
  say(room, alice, "ok");
  for (let i = 0; i < 3; i++) say(room, alice, `refused ${i}`);
  clock.set(FLOOD_MEMORY_MS + 1);
  say(room, alice, "ok again");
  for (let i = 0; i < 3; i++) say(room, alice, `refused again ${i}`);
  assert.equal(alice.member.present, true);
  assert.equal(
    alice.take().filter((l) => l === floodWarning(limits)).length,
    2,
  );
  say(room, alice, "one too many");
  assert.equal(alice.member.present, false);
  assert.equal(alice.take().at(-1), lines.removed("flooding"));
});

Deno.test("flood: disconnectAfter 0 never disconnects", () => {
  const limits = { burst: 1, perSecond: 1, disconnectAfter: 0 };
  const { room, alice, delivered } = floodRoom(limits);
  for (let i = 0; i < 5000; i++) say(room, alice, `x${i}`);
  assert.equal(alice.member.present, true);
  assert.equal(alice.peer.closes, 0);
  assert.equal(delivered(), 1);
});

Deno.test("flood: perSecond 0 turns flood control off", () => {
  const limits = { burst: 1, perSecond: 0, disconnectAfter: 1 };
  const { room, alice, delivered } = floodRoom(limits);
  for (let i = 0; i < 1000; i++) say(room, alice, `x${i}`);
  assert.equal(delivered(), 1000);
  assert.equal(alice.member.present, true);
  assert.ok(!alice.take().some((l) => l.includes("slow down")));
});

Deno.test("flood: the host is exempt", () => {
  const limits = { burst: 1, perSecond: 1, disconnectAfter: 1 };
  const { room, host, bob } = floodRoom(limits);
  for (let i = 0; i < 1000; i++) say(room, host, `announcement ${i}`);
  assert.equal(bob.take().filter((l) => l.startsWith("prof: ")).length, 1000);
  assert.equal(host.member.present, true);
  assert.ok(!host.take().some((l) => l.includes("slow down")));
});

Deno.test("flood: default limits let a paste of burst lines through and refuse the next", () => {
  const clock = fakeClock(0);
  const room = new Room({ now: clock.now });
  const alice = enter(room, "alice", "10.0.0.1");
  const bob = enter(room, "bob", "10.0.0.2");
  drain(alice, bob);
  for (let i = 0; i <= DEFAULT_FLOOD_LIMITS.burst; i++) {
    say(room, alice, `paste ${i}`);
  }
  assert.equal(bob.take().length, DEFAULT_FLOOD_LIMITS.burst);
  assert.equal(alice.take().at(-1), floodWarning(DEFAULT_FLOOD_LIMITS));
});

Deno.test("flood: refused commands do not run", () => {
  const limits = { burst: 1, perSecond: 1, disconnectAfter: 0 };
  const { room, alice, bob } = floodRoom(limits);
  say(room, alice, "only line");
  drain(alice, bob);
  say(room, alice, "/nick alicia");
  say(room, alice, "/me dances");
  say(room, alice, "/msg bob hi");
  assert.equal(alice.member.name, "alice");
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(alice.take(), [floodWarning(limits)]);
});

Deno.test("flood: /ping costs no tokens and never counts towards a disconnect", () => {
  const limits = { burst: 2, perSecond: 1, disconnectAfter: 1 };
  const { room, alice, delivered } = floodRoom(limits);
  for (let i = 0; i < 100; i++) say(room, alice, "/ping");
  say(room, alice, "one");
  say(room, alice, "two");
  assert.equal(delivered(), 2);
  say(room, alice, "refused"); // refusal 1 of 1 allowed
  for (let i = 0; i < 100; i++) say(room, alice, "/ping");
  assert.equal(alice.member.present, true);
  const got = alice.take();
  assert.equal(got.filter((l) => l === lines.pong()).length, 200);
  say(room, alice, "refused again");
  assert.equal(alice.member.present, false);
});

Deno.test("flood: each member has its own bucket", () => {
  const limits = { burst: 2, perSecond: 1, disconnectAfter: 0 };
  const { room, alice, bob, host } = floodRoom(limits);
  for (let i = 0; i < 10; i++) say(room, alice, `a${i}`);
  host.take();
  say(room, bob, "b1");
  say(room, bob, "b2");
  assert.deepEqual(host.take(), ["bob: b1", "bob: b2"]);
});

// --- /kick, /ban, /mute, /unmute ---------------------------------------------------

Deno.test("/kick disconnects the member: removal line to it, left (kicked by the host) to all, closed once", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/kick ALICE");
  assert.deepEqual(alice.take(), [lines.removed("kicked by the host")]);
  assert.equal(alice.peer.closes, 1);
  assert.equal(alice.member.present, false);
  assert.deepEqual(bob.take(), [lines.left("alice", "kicked by the host")]);
  assert.deepEqual(host.take(), [lines.left("alice", "kicked by the host")]);
  assert.deepEqual(room.names, ["prof", "bob"]);
  assert.equal(room.isBanned("10.0.0.1"), false);
});

for (const command of ["kick", "ban", "mute", "unmute"]) {
  Deno.test(`/${command} of the host is refused with an error to the host only`, () => {
    const { room, host, alice } = classroom();
    for (const name of ["prof", "PROF"]) {
      say(room, host, `/${command} ${name}`);
      assert.deepEqual(host.take(), [
        lines.error(`you cannot ${command} the host.`),
      ]);
    }
    assert.deepEqual(alice.take(), []);
    assert.equal(host.member.present, true);
    say(room, host, "still talking");
    assert.deepEqual(alice.take(), ["prof: still talking"]);
  });

  Deno.test(`/${command} of an unknown name, or of no name, gives an error to the host only`, () => {
    const { room, host, alice } = classroom();
    say(room, host, `/${command} nobody`);
    say(room, host, `/${command}`);
    assert.deepEqual(host.take(), [
      lines.error(`no one called "nobody" is here. Try /who.`),
      lines.error(`usage: /${command} NAME`),
    ]);
    assert.deepEqual(alice.take(), []);
    assert.deepEqual(room.names, ["prof", "alice", "bob"]);
  });
}

Deno.test("non-hosts get unknown command for /kick, /ban, /mute, /unmute and /stop, and nothing happens", () => {
  let stops = 0;
  const { room, host, alice, bob } = classroom({ onStop: () => stops++ });
  say(room, host, "/mute bob");
  drain(host, alice, bob);
  for (const command of ["kick", "ban", "mute", "unmute", "stop", "KICK"]) {
    say(room, alice, `/${command} bob`);
    assert.deepEqual(
      alice.take(),
      [unknownCommand(command.toLowerCase())],
      command,
    );
  }
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(host.take(), []);
  assert.equal(stops, 0);
  assert.equal(bob.member.present, true);
  assert.equal(bob.peer.closes, 0);
  assert.equal(room.isBanned("10.0.0.2"), false);
  // bob is still muted (alice's /unmute did nothing).
  say(room, bob, "hello");
  assert.deepEqual(bob.take(), [MUTED_ERROR]);
});

Deno.test("/help lists host-only commands to the host only", () => {
  const { room, host, alice } = classroom();
  const listed = (who: Client) => {
    say(room, who, "/help");
    return who.take().flatMap((line) =>
      /^\*\*\* {3}\/(\S+)/.exec(line)?.[1] ?? []
    );
  };
  const guestList = listed(alice);
  for (const hostOnly of ["kick", "ban", "mute", "unmute", "stop"]) {
    assert.ok(!guestList.includes(hostOnly), hostOnly);
  }
  assert.ok(guestList.includes("topic"));
  const hostList = listed(host);
  for (const hostOnly of ["kick", "ban", "mute", "unmute", "stop", "topic"]) {
    assert.ok(hostList.includes(hostOnly), hostOnly);
  }
});

Deno.test("/ban removes every connection from the address, present or waiting, and isBanned reports it", () => {
  const { room, host, alice, bob } = classroom();
  const twin = enter(room, "twin", "10.0.0.1");
  const atDoor = arrive(room, "10.0.0.1");
  const otherDoor = arrive(room, "10.0.0.2");
  drain(host, alice, bob, twin, atDoor, otherDoor);

  say(room, host, "/ban alice");
  const banned = lines.removed("banned by the host");
  assert.deepEqual(alice.take(), [banned]);
  assert.deepEqual(twin.take(), [
    lines.left("alice", "banned by the host"),
    banned,
  ]);
  // Watching from the banned address until it is removed in its turn.
  assert.deepEqual(atDoor.take(), [
    lines.left("alice", "banned by the host"),
    lines.left("twin", "banned by the host"),
    banned,
  ]);
  for (const gone of [alice, twin, atDoor]) {
    assert.equal(gone.peer.closes, 1);
    assert.equal(gone.member.present, false);
    assert.equal(gone.member.waiting, false);
  }
  assert.deepEqual(bob.take(), [
    lines.left("alice", "banned by the host"),
    lines.left("twin", "banned by the host"),
  ]);
  assert.deepEqual(host.take(), [
    lines.left("alice", "banned by the host"),
    lines.left("twin", "banned by the host"),
    lines.notice("10.0.0.1 is banned until the server stops."),
  ]);
  assert.equal(room.isBanned("10.0.0.1"), true);
  assert.equal(room.isBanned("10.0.0.2"), false);
  assert.equal(room.isBanned("10.0.0.10"), false);
  assert.deepEqual(room.names, ["prof", "bob"]);
  assert.equal(otherDoor.member.waiting, true);
  assert.equal(otherDoor.member.watching, true);
  assert.deepEqual(otherDoor.take(), [
    lines.left("alice", "banned by the host"),
    lines.left("twin", "banned by the host"),
  ]);
  assert.equal(room.watcherCount, 1);

  // Lines from the banned connections are ignored.
  say(room, atDoor, "/nick sneaky");
  say(room, twin, "hello");
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(room.names, ["prof", "bob"]);
});

Deno.test("/ban of a member without an address is refused and bans nothing", () => {
  const { room, host, alice } = classroom();
  const local = join(room, { name: "local" });
  drain(host, alice, local);
  say(room, host, "/ban local");
  assert.deepEqual(host.take(), [lines.error("local has no address.")]);
  assert.equal(local.member.present, true);
  assert.equal(local.peer.closes, 0);
  assert.deepEqual(alice.take(), []);
});

Deno.test("/mute is announced to everyone; muting a muted member or unmuting an unmuted one is an error", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/mute Alice");
  for (const who of [host, alice, bob]) {
    assert.deepEqual(who.take(), [lines.notice("alice was muted by the host")]);
  }
  say(room, host, "/mute alice");
  assert.deepEqual(host.take(), [lines.error("alice is already muted.")]);
  say(room, host, "/unmute bob");
  assert.deepEqual(host.take(), [lines.error("bob is not muted.")]);
  assert.deepEqual(alice.take(), []);
  assert.deepEqual(bob.take(), []);
});

Deno.test("a muted member's message, //, /me, /msg and /nick are refused with an error to it only", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/mute alice");
  drain(host, alice, bob);
  for (
    const line of [
      "hello",
      "//slash",
      "/me waves",
      "/msg bob psst",
      "/msg prof please unmute me",
      "/msg alice note to self",
      "/nick alicia",
      "   spaced",
    ]
  ) {
    say(room, alice, line);
    assert.deepEqual(alice.take(), [MUTED_ERROR], line);
    assert.deepEqual(bob.take(), [], line);
    assert.deepEqual(host.take(), [], line);
  }
  assert.equal(alice.member.name, "alice");
  assert.equal(room.find("alicia"), undefined);
});

Deno.test("a muted member can still use /who, /help and /topic to view, and unknown commands say so", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/topic algebra");
  say(room, host, "/mute alice");
  drain(host, alice, bob);
  say(room, alice, "/who");
  assert.deepEqual(alice.take(), [lines.who(["prof", "alice", "bob"])]);
  say(room, alice, "/help");
  const help = alice.take();
  assert.equal(help[0], lines.notice("Commands:"));
  assert.ok(help.length > 5);
  say(room, alice, "/topic");
  assert.deepEqual(alice.take(), [lines.topic("algebra")]);
  say(room, alice, "/topic free time");
  assert.deepEqual(alice.take(), [
    lines.error("only the host can set the topic."),
  ]);
  say(room, alice, "/dance");
  assert.deepEqual(alice.take(), [unknownCommand("dance")]);
  assert.equal(room.topic, "algebra");
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(host.take(), []);
});

for (const command of ["/quit", "stop"]) {
  Deno.test(`a muted member can still leave with ${command}`, () => {
    const { room, host, alice, bob } = classroom();
    say(room, host, "/mute alice");
    drain(host, alice, bob);
    say(room, alice, command);
    assert.deepEqual(alice.take(), [lines.goodbye()]);
    assert.equal(alice.peer.closes, 1);
    assert.deepEqual(bob.take(), [lines.left("alice")]);
  });
}

Deno.test("a reconnection from a muted address arrives muted; other addresses do not", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/mute alice");
  say(room, alice, "/quit");
  drain(host, alice, bob);

  // Back with /nick.
  const again = enter(room, "alice2", "10.0.0.1");
  assert.deepEqual(bob.take(), [lines.joined("alice2")]);
  again.take();
  say(room, again, "I'm back");
  say(room, again, "/me is back");
  assert.deepEqual(again.take(), [MUTED_ERROR, MUTED_ERROR]);
  assert.deepEqual(bob.take(), []);

  // Back with a message as first line: it joins, the message is refused.
  const guest = arrive(room, "10.0.0.1");
  guest.take();
  say(room, guest, "hello again");
  assert.deepEqual(bob.take(), [lines.joined("guest1")]);
  assert.deepEqual(guest.take(), [
    lines.welcome("guest1", ["prof", "bob", "alice2", "guest1"]),
    MUTED_ERROR,
  ]);

  // Someone from another address speaks freely.
  const carol = enter(room, "carol", "10.0.0.3");
  say(room, carol, "hi");
  assert.deepEqual(bob.take(), [lines.joined("carol"), "carol: hi"]);

  // The host sees the reconnection is muted: /mute says so.
  host.take();
  say(room, host, "/mute alice2");
  assert.deepEqual(host.take(), [lines.error("alice2 is already muted.")]);
});

Deno.test("/unmute lets the member speak again, and later reconnections are not muted", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/mute alice");
  say(room, host, "/unmute ALICE");
  for (const who of [host, alice, bob]) {
    assert.deepEqual(who.take(), [
      lines.notice("alice was muted by the host"),
      lines.notice("alice may speak again"),
    ]);
  }
  say(room, alice, "thanks");
  assert.deepEqual(bob.take(), ["alice: thanks"]);
  say(room, alice, "/quit");
  bob.take();
  const again = enter(room, "alice", "10.0.0.1");
  say(room, again, "back");
  assert.deepEqual(bob.take(), [lines.joined("alice"), "alice: back"]);
});

Deno.test({
  name:
    "mute silences the other connections already open from the same address, present or waiting",
  fn() {
    const { room, host, alice, bob } = classroom();
    const twin = enter(room, "twin", "10.0.0.1");
    const atDoor = arrive(room, "10.0.0.1");
    drain(host, alice, bob, twin, atDoor);
    say(room, host, "/mute alice");
    drain(host, alice, bob, twin);
    say(room, twin, "I can still talk");
    assert.deepEqual(twin.take(), [MUTED_ERROR]);
    say(room, atDoor, "me too");
    assert.deepEqual(bob.take(), [lines.joined("guest1")]);
  },
});

// --- /topic -----------------------------------------------------------------------

Deno.test("/topic shows 'No topic is set.' to anyone, to the sender only", () => {
  const { room, host, alice, bob } = classroom();
  say(room, alice, "/topic");
  assert.deepEqual(alice.take(), [lines.topic(undefined)]);
  assert.equal(lines.topic(undefined), "*** No topic is set.");
  say(room, host, "/topic");
  assert.deepEqual(host.take(), [lines.topic(undefined)]);
  assert.deepEqual(bob.take(), []);
  assert.equal(room.topic, undefined);
});

Deno.test("the host sets the topic: announced to all, shown by /topic and in later welcomes", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/topic Chapter 3: fractions");
  for (const who of [host, alice, bob]) {
    assert.deepEqual(who.take(), [
      lines.topicSet("prof", "Chapter 3: fractions"),
    ]);
  }
  assert.equal(room.topic, "Chapter 3: fractions");
  say(room, bob, "/topic");
  assert.deepEqual(bob.take(), ["*** Topic: Chapter 3: fractions"]);
  const carol = enter(room, "carol", "10.0.0.3");
  assert.deepEqual(carol.take(), [
    lines.greeting(),
    // Issue 9: the topic the host set is among the earlier lines.
    issue9Lines.historyStart(1),
    lines.topicSet("prof", "Chapter 3: fractions"),
    issue9Lines.historyEnd(),
    lines.welcome(
      "carol",
      ["prof", "alice", "bob", "carol"],
      "Chapter 3: fractions",
    ),
  ]);
  assert.match(lines.welcome("x", ["x"], "t"), / Topic: t\. /);
});

Deno.test("a non-host's /topic TEXT is refused to it only and the topic is unchanged", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/topic real topic");
  drain(host, alice, bob);
  say(room, alice, "/topic *** prof set the topic: no homework");
  assert.deepEqual(alice.take(), [
    lines.error("only the host can set the topic."),
  ]);
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(host.take(), []);
  assert.equal(room.topic, "real topic");
});

// --- host names ----------------------------------------------------------------

Deno.test("the host's name is refused to others in any case, by /nick in the room and at the door", () => {
  const { room, host, alice } = classroom();
  for (const name of ["prof", "PROF", "Prof", "pRoF"]) {
    say(room, alice, `/nick ${name}`);
    const replies = alice.take();
    assert.equal(replies.length, 1, name);
    assert.ok(replies[0].startsWith("*** error: "), name);
    assert.equal(alice.member.name, "alice");
    const door = arrive(room, "10.0.0.9");
    door.take();
    say(room, door, `/nick ${name}`);
    assert.equal(door.member.waiting, true, name);
    assert.equal(door.take().length, 1, name);
    room.leave(door.member);
  }
  assert.deepEqual(host.take(), []);
});

Deno.test("names the host had or renamed to stay reserved, in any case, after it moves on", () => {
  const { room, host, alice, bob } = classroom();
  say(room, host, "/nick Teacher");
  say(room, host, "/nick boss");
  drain(host, alice, bob);
  assert.equal(host.member.name, "boss");
  for (
    const name of ["prof", "PROF", "teacher", "TEACHER", "Teacher", "BOSS"]
  ) {
    say(room, alice, `/nick ${name}`);
    const [reply, ...rest] = alice.take();
    assert.match(reply, /^\*\*\* error: .*(reserved|taken)/, name);
    assert.deepEqual(rest, []);
    assert.equal(alice.member.name, "alice", name);
    const door = arrive(room, "10.0.0.9");
    door.take();
    say(room, door, `/nick ${name}`);
    assert.match(door.take()[0], /^\*\*\* error: .*(reserved|taken)/, name);
    assert.equal(door.member.waiting, true, name);
    room.leave(door.member);
  }
  say(room, alice, "/nick teacher");
  assert.deepEqual(alice.take(), [
    lines.error(
      `the name "teacher" is reserved for the host. Try another one.`,
    ),
  ]);
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(host.take(), []);
});

Deno.test("the host can take back its own earlier name", () => {
  const { room, host, alice } = classroom();
  say(room, host, "/nick teacher");
  say(room, host, "/nick PROF");
  assert.equal(host.member.name, "PROF");
  assert.deepEqual(alice.take(), [
    lines.renamed("prof", "teacher"),
    lines.renamed("teacher", "PROF"),
  ]);
});

Deno.test("guest numbering skips a guestN name reserved by the host", () => {
  const room = new Room({ flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  say(room, host, "/nick guest1");
  say(room, host, "/nick prof");
  const door = arrive(room, "10.0.0.9");
  say(room, door, "/join");
  assert.equal(door.member.name, "guest2");
  const next = join(room);
  assert.equal(next.member.name, "guest3");
});

// --- /who ----------------------------------------------------------------------

Deno.test("/who shows addresses to the host only", () => {
  const { room, host, alice } = classroom();
  const local = join(room, { name: "local" });
  drain(host, alice, local);
  say(room, host, "/who");
  assert.deepEqual(host.take(), [
    lines.who(["prof", "alice (10.0.0.1)", "bob (10.0.0.2)", "local"]),
  ]);
  say(room, alice, "/who");
  assert.deepEqual(alice.take(), [
    lines.who(["prof", "alice", "bob", "local"]),
  ]);
  for (const line of alice.peer.seen.concat(local.peer.seen)) {
    assert.ok(!line.includes("10.0.0."), line);
  }
});

// --- remove() ------------------------------------------------------------------

Deno.test("remove() sends the reason, announces the departure with it and closes once; again does nothing", () => {
  const { room, host, alice, bob } = classroom();
  room.remove(alice.member, "timed-out");
  assert.deepEqual(alice.take(), [lines.removed("timed out")]);
  assert.equal(
    lines.removed("timed out"),
    "*** You were disconnected: timed out.",
  );
  assert.deepEqual(bob.take(), [lines.left("alice", "timed out")]);
  assert.deepEqual(host.take(), ["*** alice left (timed out)"]);
  assert.equal(alice.peer.closes, 1);
  assert.equal(alice.member.present, false);
  room.remove(alice.member, "timed-out");
  room.leave(alice.member, "kicked");
  assert.deepEqual(alice.take(), []);
  assert.deepEqual(bob.take(), []);
  assert.equal(alice.peer.closes, 1);
});

Deno.test("remove() gives the typed reason to the one removed and to the room", () => {
  const { room, host, alice } = classroom();
  room.remove(alice.member, "too-slow");
  const [disconnected] = alice.takeEvents();
  assert.equal(disconnected.type, "disconnected");
  assert.equal(
    disconnected.type === "disconnected" && disconnected.reason,
    "too-slow",
  );
  assert.deepEqual(alice.take(), [lines.removed("too slow to keep up")]);
  const [left] = host.takeEvents();
  assert.deepEqual({ ...left, seq: 0, time: 0 }, {
    type: "left",
    name: "alice",
    reason: "too-slow",
    seq: 0,
    time: 0,
  });
  assert.deepEqual(host.take(), [lines.left("alice", "too slow")]);
});

Deno.test("remove() of a watching connection tells it why and closes it, without a notice to the room", () => {
  const { room, host, bob } = classroom();
  const door = arrive(room, "10.0.0.9");
  door.take();
  room.remove(door.member, "timed-out");
  assert.deepEqual(door.take(), [lines.removed("timed out")]);
  assert.equal(door.peer.closes, 1);
  assert.equal(door.member.waiting, false);
  assert.equal(door.member.watching, false);
  assert.equal(room.watcherCount, 0);
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(host.take(), []);
  say(room, door, "/nick late");
  say(room, bob, "after");
  assert.deepEqual(door.take(), []);
  assert.deepEqual(room.names, ["prof", "alice", "bob"]);
});

// --- impersonation ---------------------------------------------------------------

/** Characters that must never reach a terminal inside a line. */
const UNSAFE_IN_LINE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Crafted texts a hostile student might try. */
const CRAFTED = [
  "*** prof joined",
  "*** prof set the topic: no exam today",
  "*** error: you are muted",
  "***",
  "** *",
  "prof: class is cancelled",
  "PROF: class is cancelled",
  "Prof:no space",
  "olivia: I agree",
  " *** leading space",
  "   prof: leading spaces",
  "\t*** tab",
  "\r*** carriage return",
  "\rprof: carriage return",
  "x\rprof: after CR",
  "\nprof: newline",
  "x\n*** newline notice",
  "\r\n*** crlf",
  "\x1b[2K\rprof: erase line",
  "\x1b[1G*** cursor home",
  "\x1b[A\x1b[2K*** up and erase",
  "\x1b]0;title\x07*** osc",
  "\x1bc*** reset",
  "\x1b",
  "\x9b2K*** c1 csi",
  "\x85*** next line",
  "\x08\x08\x08\x08\x08\x08\x08\x08*** backspaces",
  "\x00*** nul",
  "\x7f*** del",
  "\u202e*** rtl override",
  "\u202e:forp",
  "\u202e:forp \u202d",
  "\u2066*** isolate\u2069",
  "\u200f\u200e*** marks",
  "\u061c*** arabic mark",
  "\u200b*** zero width",
  "\ufeff*** bom",
  "\u0440rof: cyrillic p",
  "\u03c1rof: greek rho",
  "\uff50\uff52\uff4f\uff46: fullwidth",
  "pr\u200bof: zero width",
  "prof\u0301: combining",
  "//*** double slash",
  "// *** double slash space",
  "//prof: double slash",
  "///prof: triple slash",
  "/ *** slash space",
  "/me",
  "/me *** action",
  "/me: prof",
  "/ME \r*** upper me",
  "/me\t*** tab me",
  "/me\x1b[2K\r*** erased me",
  "/nick prof",
  "/nick PROF",
  "/nick olivia",
  "/nick Olivia",
  "/nick *** prof",
  "/nick prof: hi",
  "/nick prof:",
  "/nick pr of",
  "/nick *",
  "/nick ***",
  "/nick \u0440rof",
  "/nick pr\u200bof",
  "/nick \u202eforp",
  "/nick pro\x1b[0mf",
  "/nick p\u202erof",
  "/nick \rprof",
  "/NICK  prof",
  "/nick\tPrOf",
  "/nick\u00a0prof",
  "/nick prof ",
  "/nick prof\u200b",
  "/nick olivia\x07",
  "/msg olivia *** fake notice",
  "/msg olivia \rprof: fake",
  "/msg prof\x1b[0m: x",
  "/topic *** prof set the topic: fake",
  "/kick olivia",
  "/ban olivia",
  "/mute olivia",
  "/stop",
];

/**
 * Checks one line that `observer` received while the attacker, called
 * `before` and then `after`, sent one crafted line: it must be one of the
 * attacker's own kinds of line, never a notice it could shape, nor a line
 * that starts like someone else's.
 */
function assertHonest(
  line: string,
  before: string,
  after: string,
  others: readonly string[],
): void {
  const shown = JSON.stringify(line);
  assert.doesNotMatch(line, UNSAFE_IN_LINE, shown);
  for (const other of others) {
    assert.ok(
      !line.toLowerCase().startsWith(`${other.toLowerCase()}:`),
      `${shown} starts like ${other}'s line`,
    );
  }
  const speakers = new Set([before, after].filter((name) => name !== ""));
  if (line.startsWith(NOTICE_PREFIX)) {
    const notices = new Set<string>();
    for (const name of speakers) {
      notices.add(lines.joined(name));
      notices.add(lines.left(name));
    }
    if (before !== "" && before !== after) {
      notices.add(lines.renamed(before, after));
    }
    assert.ok(notices.has(line), `a notice the attacker shaped: ${shown}`);
    return;
  }
  const own = [...speakers].some((name) =>
    line.startsWith(`${name}: `) || line.startsWith(`* ${name} `) ||
    line.startsWith(`[private] ${name} -> `)
  );
  assert.ok(own, `not recognisably the attacker's own line: ${shown}`);
}

function assertHonestName(name: string, others: readonly string[]): void {
  assert.equal(nameProblem(name), undefined, JSON.stringify(name));
  // Checked here too, not only through nameProblem: plain ASCII, no spaces,
  // colons or asterisks.
  assert.match(name, /^[A-Za-z0-9_-]{1,24}$/, JSON.stringify(name));
  for (const other of others) {
    assert.notEqual(name.toLowerCase(), other.toLowerCase(), name);
  }
}

Deno.test("impersonation: no crafted line from a member makes a line look like a notice or someone else's", () => {
  const room = new Room({ flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  const olivia = enter(room, "olivia", "10.0.0.1");
  let mallory = enter(room, "mallory", "10.6.6.6");
  drain(host, olivia, mallory);
  const protectedNames = ["prof", "olivia"];
  let checked = 0;
  for (const crafted of CRAFTED) {
    for (
      const line of [
        crafted,
        `/me ${crafted}`,
        `//${crafted}`,
        `/nick ${crafted}`,
        `/msg olivia ${crafted}`,
        `/topic ${crafted}`,
      ]
    ) {
      const before = mallory.member.name;
      say(room, mallory, line);
      const after = mallory.member.name;
      assertHonestName(after, protectedNames);
      for (const observer of [host, olivia]) {
        for (const got of observer.take()) {
          assertHonest(got, before, after, protectedNames);
          checked++;
        }
      }
      mallory.take();
      if (!mallory.member.present) {
        mallory = enter(room, "mallory", "10.6.6.6");
        drain(host, olivia, mallory);
      }
    }
  }
  assert.ok(checked > 200, `only ${checked} lines were checked`);
  assert.equal(room.topic, undefined);
  assert.deepEqual(room.names.slice(0, 2), ["prof", "olivia"]);
});

Deno.test("impersonation: crafted first lines at the door cannot impersonate either", () => {
  const room = new Room({ flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  const olivia = enter(room, "olivia", "10.0.0.1");
  drain(host, olivia);
  const protectedNames = ["prof", "olivia"];
  for (const crafted of CRAFTED) {
    for (const line of [crafted, `/nick ${crafted}`, `/me ${crafted}`]) {
      const attacker = arrive(room, "10.6.6.6");
      say(room, attacker, line);
      if (attacker.member.present) {
        assertHonestName(attacker.member.name, protectedNames);
        // Whatever name it got, its next message must still be its own.
        say(room, attacker, "the test is cancelled");
      }
      for (const observer of [host, olivia]) {
        for (const got of observer.take()) {
          assertHonest(got, "", attacker.member.name, protectedNames);
        }
      }
      room.leave(attacker.member);
      drain(host, olivia);
    }
  }
});

/** Names that look like `prof`, `kim` or `sam` (all present) to a reader. */
const LOOKALIKES = [
  "PROF",
  "Prof",
  "pROF",
  "\u0440rof", // Cyrillic er
  "pr\u043ef", // Cyrillic o
  "\u03c1rof", // Greek rho
  "\uff50\uff52\uff4f\uff46", // fullwidth
  "pr\u200bof", // zero-width space
  "\u200bprof",
  "prof\u200b",
  "pr\u200cof", // zero-width non-joiner
  "pr\u200dof", // zero-width joiner
  "prof\u2060", // word joiner
  "\ufeffprof", // byte order mark
  "pr\u00adof", // soft hyphen
  "prof\u0301", // combining accent
  "pro\x1b[0mf", // escape sequence, stripped: exactly "prof"
  "p\u202erof", // bidi override, stripped: exactly "prof"
  "pr\u200eof", // left-to-right mark, stripped: exactly "prof"
  "KIM",
  "\u212aim", // Kelvin sign, lower-cases to "k"
  "k\u0131m", // dotless i
  "k\u0456m", // Cyrillic i
  "SAM",
  "\u017fam", // long s, upper-cases to "S"
  "\u0455am", // Cyrillic dze
];

Deno.test("names differing only by case, confusable Unicode or zero-width characters are refused by /nick", () => {
  const room = new Room({ flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  const kim = enter(room, "kim", "10.0.0.1");
  const sam = enter(room, "sam", "10.0.0.2");
  const mallory = enter(room, "mallory", "10.6.6.6");
  drain(host, kim, sam, mallory);
  for (const name of LOOKALIKES) {
    say(room, mallory, `/nick ${name}`);
    const replies = mallory.take();
    assert.equal(replies.length, 1, JSON.stringify(name));
    assert.ok(replies[0].startsWith("*** error: "), JSON.stringify(name));
    assert.equal(mallory.member.name, "mallory", JSON.stringify(name));
  }
  assert.deepEqual(room.names, ["prof", "kim", "sam", "mallory"]);
  for (const observer of [host, kim, sam]) {
    assert.deepEqual(observer.take(), []);
  }
});

Deno.test("names differing only by case, confusable Unicode or zero-width characters are refused at the door", () => {
  const room = new Room({ flood: NO_FLOOD });
  const host = join(room, { name: "prof", isHost: true });
  const kim = enter(room, "kim", "10.0.0.1");
  const sam = enter(room, "sam", "10.0.0.2");
  drain(host, kim, sam);
  for (const name of LOOKALIKES) {
    const door = arrive(room, "10.6.6.6");
    door.take();
    say(room, door, `/nick ${name}`);
    const replies = door.take();
    assert.equal(replies.length, 1, JSON.stringify(name));
    assert.ok(replies[0].startsWith("*** error: "), JSON.stringify(name));
    assert.equal(door.member.waiting, true, JSON.stringify(name));
    room.leave(door.member);
  }
  assert.deepEqual(room.names, ["prof", "kim", "sam"]);
  for (const observer of [host, kim, sam]) {
    assert.deepEqual(observer.take(), []);
  }
});

Deno.test("/quit and stop are never refused by flood control", () => {
  for (const leave of ["/quit", "stop"]) {
    let clock = 0;
    const room = new Room({
      now: () => clock,
      flood: { burst: 2, perSecond: 1, disconnectAfter: 0 },
    });
    const peer = fakePeer();
    const member = room.join(peer);
    for (let n = 0; n < 5; n++) room.handleLine(member, `line ${n}`);
    room.handleLine(member, leave);
    assert.equal(member.present, false, leave);
    assert.equal(peer.closes, 1, leave);
    assert.equal(peer.seen.at(-1), lines.goodbye(), leave);
    clock++;
  }
});

Deno.test("flood control applies at the door too: a waiting connection cannot spam refusals", () => {
  const room = new Room({
    now: () => 0,
    flood: { burst: 3, perSecond: 1, disconnectAfter: 5 },
  });
  const peer = fakePeer();
  const member = room.arrive(peer, { address: "10.0.0.9" });
  for (let n = 0; n < 20; n++) room.handleLine(member, "/nick bad name");
  const errors = peer.seen.filter((line) => line.includes("cannot use"));
  assert.equal(errors.length, 3);
  assert.equal(peer.seen.at(-1), lines.removed("flooding"));
  assert.equal(peer.closes, 1);
  assert.deepEqual(room.names, []);
});

// --- wrong passwords: lock-outs per address and for the room -------------------

const lockedOut = (seconds: number) =>
  lines.error(`too many wrong passwords: try again in ${seconds} s.`);
const addressLockout = (address: string, failures: number, seconds: number) =>
  `${NOTICE_PREFIX}${address} gave ${failures} wrong passwords: no password from it is tried for ${seconds} s.`;
const roomLockout = (failures: number, seconds: number) =>
  `${NOTICE_PREFIX}${failures} wrong passwords in the last minute: no password from anyone is tried for ${seconds} s.`;

/** A room with a password on a fake clock, refusals without delay. */
function lockedDoor(options: RoomOptions = {}) {
  const clock = fakeClock(1_000_000);
  const room = new Room({
    password: "sesame",
    flood: NO_FLOOD,
    now: clock.now,
    wrongPasswordDelayMs: 0,
    ...options,
  });
  const host = join(room, { name: "prof", isHost: true });
  drain(host);
  /** One connection from `address` that sends `/pass guess`. */
  const knock = (address: string, guess: string) => {
    const who = arrive(room, address);
    who.take();
    say(room, who, `/pass ${guess}`);
    return who;
  };
  return { room, clock, host, knock };
}

Deno.test("5 wrong passwords from an address lock it out for 5 s, then 10 s, 20 s ... up to 15 min, told to the host once each", async () => {
  const { clock, host, knock } = lockedDoor();
  const guessers: Client[] = [];
  for (let i = 0; i < 4; i++) guessers.push(knock("10.0.0.9", `guess${i}`));
  assert.deepEqual(host.take(), [], "no lock-out before the 5th");
  guessers.push(knock("10.0.0.9", "guess4"));
  assert.deepEqual(host.take(), [addressLockout("10.0.0.9", 5, 5)]);

  const expected = [10, 20, 40, 80, 160, 320, 640, 900, 900, 900];
  let lockSeconds = 5;
  for (const [i, nextSeconds] of expected.entries()) {
    // While locked: refused at once, counted for nothing, host not told.
    const early = knock("10.0.0.9", "sesame");
    assert.deepEqual(early.take(), [lockedOut(lockSeconds)]);
    assert.equal(early.peer.closes, 1, "closed at once");
    assert.equal(early.member.watching, false);
    clock.advance(lockSeconds * 1000 - 1);
    assert.deepEqual(knock("10.0.0.9", `late${i}`).take(), [lockedOut(1)]);
    assert.deepEqual(host.take(), []);
    // Lock over: the next wrong one locks it out twice as long, capped.
    clock.advance(1);
    guessers.push(knock("10.0.0.9", `again${i}`));
    assert.deepEqual(host.take(), [
      addressLockout("10.0.0.9", 6 + i, nextSeconds),
    ]);
    lockSeconds = nextSeconds;
  }
  for (const guesser of guessers) await closedWithin(guesser.peer);
  for (const guesser of guessers) {
    assert.deepEqual(guesser.take(), [roomLines.wrongPassword()]);
  }
});

Deno.test("the right password is refused during a lock-out, accepted after it, and resets the address's count", async () => {
  const { room, clock, host, knock } = lockedDoor();
  const guessers: Client[] = [];
  for (let i = 0; i < 5; i++) guessers.push(knock("10.0.0.9", `guess${i}`));
  host.take();
  const refused = knock("10.0.0.9", "sesame");
  assert.deepEqual(refused.take(), [lockedOut(5)]);
  assert.equal(refused.member.watching, false);
  assert.equal(room.watcherCount, 0);
  // Another address is not held up by this one.
  const neighbour = knock("10.0.0.10", "sesame");
  assert.deepEqual(neighbour.take(), [lines.passwordAccepted()]);

  clock.advance(5000);
  const rightful = knock("10.0.0.9", "sesame");
  assert.deepEqual(rightful.take(), [lines.passwordAccepted()]);
  assert.equal(rightful.member.watching, true);
  // Forgotten: 4 more wrong ones are free again, and the 5th locks for
  // 5 s, not 10 s.
  for (let i = 0; i < 4; i++) guessers.push(knock("10.0.0.9", `more${i}`));
  assert.deepEqual(host.take(), []);
  guessers.push(knock("10.0.0.9", "more4"));
  assert.deepEqual(host.take(), [addressLockout("10.0.0.9", 5, 5)]);
  for (const guesser of guessers) await closedWithin(guesser.peer);
});

Deno.test("a wrong password counts when it is received: hanging up before the refusal saves nothing", async () => {
  const { knock, host } = lockedDoor({ wrongPasswordDelayMs: 50 });
  const guessers: Client[] = [];
  for (let i = 0; i < 5; i++) guessers.push(knock("10.0.0.9", `guess${i}`));
  // No refusal sent yet to any of them...
  for (const guesser of guessers) assert.deepEqual(guesser.take(), []);
  // ...and the right one, at once after, is still refused.
  const sixth = knock("10.0.0.9", "sesame");
  assert.deepEqual(sixth.take(), [lockedOut(5)]);
  assert.deepEqual(host.take(), [addressLockout("10.0.0.9", 5, 5)]);
  for (const guesser of guessers) await closedWithin(guesser.peer);
});

Deno.test("beyond 30 wrong passwords a minute from all addresses, everyone waits, told to the host once", async () => {
  const { clock, host, knock } = lockedDoor();
  const guessers: Client[] = [];
  // 30 addresses, one guess each, one every second: no address is locked.
  for (let i = 0; i < 29; i++) {
    guessers.push(knock(`127.0.0.${i + 2}`, `guess${i}`));
    clock.advance(1000);
  }
  assert.deepEqual(host.take(), []);
  guessers.push(knock("127.0.0.31", "guess29"));
  // The first of the 30 was 29 s ago: 31 s until it is a minute old.
  assert.deepEqual(host.take(), [roomLockout(30, 31)]);

  // A fresh address, with the right password: it waits too.
  const fresh = knock("10.9.9.9", "sesame");
  assert.deepEqual(fresh.take(), [lockedOut(31)]);
  clock.advance(30_999);
  assert.deepEqual(knock("10.9.9.9", "wrong").take(), [lockedOut(1)]);
  assert.deepEqual(host.take(), [], "told once per lock-out");
  // The oldest guess is a minute old: one more may be tried.
  clock.advance(1);
  const rightful = knock("10.9.9.9", "sesame");
  assert.deepEqual(rightful.take(), [lines.passwordAccepted()]);
  // A wrong one now fills the minute again: a new lock-out, told again.
  guessers.push(knock("10.9.9.10", "wrong"));
  assert.deepEqual(host.take(), [roomLockout(30, 1)]);
  for (const guesser of guessers) await closedWithin(guesser.peer);
});

Deno.test("passwordLimits with 0 tries turns the lock-outs off", async () => {
  const { host, knock } = lockedDoor({
    passwordLimits: {
      triesPerAddress: 0,
      firstLockoutMs: 5000,
      longestLockoutMs: 900_000,
      roomTriesPerMinute: 30,
    },
  });
  const guessers: Client[] = [];
  for (let i = 0; i < 40; i++) guessers.push(knock("10.0.0.9", `guess${i}`));
  assert.deepEqual(knock("10.0.0.9", "sesame").take(), [
    lines.passwordAccepted(),
  ]);
  assert.deepEqual(host.take(), []);
  for (const guesser of guessers) await closedWithin(guesser.peer);
});

// --- issue 14: one machine with many addresses -------------------------------

Deno.test("a full room makes way: the longest-silent connection that has not joined, never a member, never one silent less than the threshold", () => {
  const clock = fakeClock(1000);
  const room = new Room({ flood: NO_FLOOD, now: clock.now });
  const host = join(room, { name: "prof", isHost: true });
  const first = arrive(room, "127.0.0.2");
  clock.advance(1000);
  const second = arrive(room, "127.0.0.3");
  clock.advance(1000);
  const member = enter(room, "early", "127.0.0.4");
  clock.advance(1000);
  // A heartbeat is not a line: `first` is still the longest silent.
  say(room, first, "/ping");
  assert.equal(room.longestSilentWaiting(0), first.member);
  assert.equal(room.longestSilentWaiting(3000), first.member);
  // Silent for 3 s only: not if the threshold is longer.
  assert.equal(room.longestSilentWaiting(3001), undefined);
  // A line (here a wrong command at the door, which joins nothing) counts.
  say(room, first, "/pass x");
  assert.equal(first.member.waiting, true);
  assert.equal(room.longestSilentWaiting(0), second.member);
  room.remove(second.member, "room-full");
  assert.deepEqual(second.take().slice(-1), [
    lines.removed(
      "the room is full and you had sent nothing for a while: a newcomer took your seat. Reconnect and send a line to join",
    ),
  ]);
  assert.equal(second.peer.closes, 1);
  // Nobody sees a watcher go.
  assert.ok(!host.take().some((line) => line.includes("room full")));
  assert.equal(room.longestSilentWaiting(0), first.member);
  room.remove(first.member, "room-full");
  // Only joined members (and the host) are left: no one to displace.
  clock.advance(60_000);
  assert.equal(room.longestSilentWaiting(0), undefined);
  assert.equal(member.member.present, true);
});

Deno.test("room rate: many senders within their own allowance are held to the room's ceiling, heaviest first; a light sender and the host still get through", () => {
  const clock = fakeClock();
  const ceiling = 10;
  const room = new Room({
    flood: DEFAULT_FLOOD_LIMITS,
    roomRate: ceiling,
    now: clock.now,
  });
  const host = join(room, { name: "prof", isHost: true });
  const honest = enter(room, "honest", "10.0.1.1");
  const flooders = [...Array(20)].map((_, i) =>
    enter(room, `f${i}`, `10.0.0.${i + 1}`)
  );
  drain(host, honest, ...flooders);
  clock.advance(10_000);
  // 3 s: every flooder sends a line every 100 ms (10/s, each within burst
  // 20 and then 5/s of its own); the honest student one line a second; the
  // host one line a second.
  let floodTried = 0;
  for (let tick = 0; tick < 30; tick++) {
    for (const [i, flooder] of flooders.entries()) {
      say(room, flooder, `f${i} ${tick}`);
      floodTried++;
    }
    if (tick % 10 === 5) {
      say(room, honest, `honest ${tick}`);
      say(room, host, `host ${tick}`);
    }
    clock.advance(100);
  }
  const seen = host.take();
  const floodLines = seen.filter((line) => /^f\d+: /.test(line)).length;
  assert.deepEqual(
    seen.filter((line) => /^(honest|prof): /.test(line)),
    [
      "honest: honest 5",
      "prof: host 5",
      "honest: honest 15",
      "prof: host 15",
      "honest: honest 25",
      "prof: host 25",
    ],
  );
  // A second's worth at once, then the ceiling's rate, for 3 s.
  assert.ok(floodLines <= ceiling + ceiling * 3, `${floodLines}`);
  assert.ok(floodLines >= ceiling, `${floodLines}`);
  assert.ok(floodTried > 10 * floodLines);
  // A refused flooder is warned once, with the flood warning.
  const warned = flooders[0].take().filter((line) =>
    line === floodWarning(DEFAULT_FLOOD_LIMITS)
  );
  assert.equal(warned.length, 1);
});

Deno.test("room rate 0 (the default of a Room) puts no ceiling on the room", () => {
  const { room, host, alice, bob } = classroom({ roomRate: 0 });
  for (let i = 0; i < 500; i++) {
    say(room, alice, `a${i}`);
    say(room, bob, `b${i}`);
  }
  assert.equal(host.take().length, 1000);
});

Deno.test("/ban with an address range disconnects everyone in it and refuses it; others stay", () => {
  const { room, host } = classroom();
  const inside = [...Array(16)].map((_, i) =>
    i % 2 === 0
      ? enter(room, `in${i}`, `192.168.1.${i}`)
      : arrive(room, `192.168.1.${i}`)
  );
  const outside = [
    enter(room, "out16", "192.168.1.16"),
    arrive(room, "192.168.2.1"),
    enter(room, "v6", "fe80::1"),
  ];
  drain(host, ...inside, ...outside);
  room.handleLine(host.member, "/ban 192.168.1.3/28");
  const seen = host.take();
  assert.equal(seen.at(-1), roomLines.addressBanned("192.168.1.0/28"));
  // Those who had joined are seen leaving; watchers go unseen.
  assert.deepEqual(
    seen.slice(0, -1),
    inside.filter((_, i) => i % 2 === 0).map((_, k) =>
      lines.left(`in${2 * k}`, "banned by the host")
    ),
  );
  for (const who of inside) {
    assert.deepEqual(who.take().slice(-1), [
      lines.removed("banned by the host"),
    ]);
    assert.equal(who.peer.closes, 1);
  }
  for (const who of outside) assert.equal(who.peer.closes, 0);
  assert.ok(room.isBanned("192.168.1.9"));
  assert.ok(room.isBanned("::ffff:192.168.1.15"));
  assert.ok(!room.isBanned("192.168.1.16"));
  // IPv6 ranges too.
  room.handleLine(host.member, "/ban fe80::/64");
  assert.equal(outside[2].peer.closes, 1);
  assert.ok(room.isBanned("fe80::abcd"));
  assert.ok(!room.isBanned("fe81::1"));
  // Something that is neither a name nor a range: the usage.
  drain(host);
  room.handleLine(host.member, "/ban 10.0.0.0/33");
  assert.deepEqual(host.take(), [roomLines.usage("ban", "NAME")]);
  assert.ok(!room.isBanned("10.0.0.1"));
  // A name still bans its one address.
  const carol = enter(room, "carol", "10.0.0.9");
  room.handleLine(host.member, "/ban carol");
  assert.equal(carol.peer.closes, 1);
  assert.ok(room.isBanned("10.0.0.9") && !room.isBanned("10.0.0.8"));
});

Deno.test("the host's /who groups the connections of one address; plain /who is unchanged", () => {
  const { room, host, alice } = classroom();
  const carol = enter(room, "carol", "10.0.0.1");
  enter(room, "dave", "10.0.0.7");
  drain(host, alice, carol);
  room.handleLine(host.member, "/who");
  assert.deepEqual(host.take(), [
    "*** Online (5): prof, alice + carol (10.0.0.1), bob (10.0.0.2), dave (10.0.0.7)",
  ]);
  room.handleLine(alice.member, "/who");
  assert.deepEqual(alice.take(), [
    lines.who(["prof", "alice", "bob", "carol", "dave"]),
  ]);
});
