import assert from "node:assert/strict";
import { Room } from "../lib/room.ts";
import { type Client, client, fakePeer } from "./fake_peer.ts";

type Joined = Client;

function join(
  room: Room,
  options?: { name?: string; isHost?: boolean },
): Joined {
  const peer = fakePeer();
  return client(room.join(peer, options), peer);
}

/** A room with the given number of guests, with their join lines consumed. */
function roomWith(count: number, options?: { onStop?: () => void }) {
  const room = new Room(options);
  const guests = Array.from({ length: count }, () => join(room));
  for (const guest of guests) guest.take();
  return { room, guests };
}

const say = (room: Room, who: Joined, text: string) =>
  room.handleLine(who.member, text);

// --- joining ----------------------------------------------------------------

Deno.test("join names members guest1, guest2, guest3 in order", () => {
  const room = new Room();
  const names = [join(room), join(room), join(room)].map((j) => j.member.name);
  assert.deepEqual(names, ["guest1", "guest2", "guest3"]);
  assert.deepEqual(room.names, ["guest1", "guest2", "guest3"]);
  assert.equal(room.names.length, 3);
});

Deno.test("join sends the welcome only to the newcomer, naming who is online", () => {
  const room = new Room();
  const first = join(room);
  assert.deepEqual(first.take(), [
    "*** Welcome, guest1! Online (1): guest1. Type /help for commands, /nick NAME to change your name.",
  ]);
  const second = join(room);
  assert.deepEqual(second.take(), [
    "*** Welcome, guest2! Online (2): guest1, guest2. Type /help for commands, /nick NAME to change your name.",
  ]);
  assert.deepEqual(first.take(), ["*** guest2 joined"]);
});

Deno.test("join tells every earlier member that the newcomer joined", () => {
  const { room, guests: [a, b] } = roomWith(2);
  const c = join(room);
  assert.deepEqual(a.take(), ["*** guest3 joined"]);
  assert.deepEqual(b.take(), ["*** guest3 joined"]);
  assert.equal(c.take().length, 1);
});

// --- messages ---------------------------------------------------------------

Deno.test("a message reaches every member, the sender included, as name: text", () => {
  const { room, guests: [a, b, c] } = roomWith(3);
  say(room, b, "hello all");
  for (const guest of [a, b, c]) {
    assert.deepEqual(guest.take(), ["guest2: hello all"]);
  }
});

Deno.test("all members see the same lines in the same order across mixed events", () => {
  const { room, guests: [a, b, c] } = roomWith(3);
  say(room, a, "first");
  say(room, b, "/nick bob");
  say(room, c, "/me waves");
  const d = join(room);
  say(room, d, "hi, I'm new");
  say(room, a, "//not a command");
  say(room, c, "/quit");
  say(room, b, "second");
  room.leave(d.member);
  say(room, a, "third");

  const expected = [
    "guest1: first",
    "*** guest2 is now known as bob",
    "* guest3 waves",
    "*** guest4 joined",
    "guest4: hi, I'm new",
    "guest1: /not a command",
    "*** guest3 left",
    "bob: second",
    "*** guest4 left",
    "guest1: third",
  ];
  assert.deepEqual(a.take(), expected);
  assert.deepEqual(b.take(), expected);
  assert.deepEqual(c.take(), [...expected.slice(0, 6), "*** Bye!"]);
});

Deno.test("empty and whitespace-only lines are ignored", () => {
  const { room, guests: [a, b] } = roomWith(2);
  for (const text of ["", " ", "\t", "   \t  ", "\x1b[31m", "\u202e "]) {
    say(room, a, text);
  }
  assert.deepEqual(a.take(), []);
  assert.deepEqual(b.take(), []);
});

Deno.test("a line starting with // is sent as a message starting with /", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "//x");
  assert.deepEqual(a.take(), ["guest1: /x"]);
  assert.deepEqual(b.take(), ["guest1: /x"]);
});

Deno.test("control characters and escape sequences are stripped before broadcast", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "\x1b[2J\x1b]0;pwned\x07hi\x00\x07 \u202Ethere\x9b");
  assert.deepEqual(b.take(), ["guest1: hi there"]);
  assert.deepEqual(a.take(), ["guest1: hi there"]);
});

// --- /nick ------------------------------------------------------------------

Deno.test("/nick renames and tells everyone old is now known as new", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/nick alice");
  assert.equal(a.member.name, "alice");
  assert.deepEqual(a.take(), ["*** guest1 is now known as alice"]);
  assert.deepEqual(b.take(), ["*** guest1 is now known as alice"]);
  assert.equal(room.find("ALICE"), a.member);
  assert.equal(room.find("guest1"), undefined);
  say(room, a, "hi");
  assert.deepEqual(b.take(), ["alice: hi"]);
});

Deno.test("/nick keeps the member's place in the order of arrival", () => {
  const { room, guests: [a, b, c] } = roomWith(3);
  say(room, a, "/nick alice");
  say(room, b, "/nick Guest2");
  assert.deepEqual(room.names, ["alice", "Guest2", "guest3"]);
  c.take();
  say(room, c, "/who");
  assert.deepEqual(c.take(), ["*** Online (3): alice, Guest2, guest3"]);
});

Deno.test("/nick to another member's name differing only by case is refused to the sender only", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/nick Alice");
  a.take();
  b.take();
  say(room, b, "/nick aLICE");
  const errors = b.take();
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^\*\*\* error: /);
  assert.match(errors[0], /taken/);
  assert.deepEqual(a.take(), []);
  assert.equal(b.member.name, "guest2");
});

Deno.test("/nick to your own name in a different case is allowed", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/nick alice");
  a.take();
  b.take();
  say(room, a, "/nick ALICE");
  assert.equal(a.member.name, "ALICE");
  assert.deepEqual(b.take(), ["*** alice is now known as ALICE"]);
  assert.equal(room.find("alice"), a.member);
});

Deno.test("/nick to exactly your own name is refused with an error", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/nick guest1");
  const [error, ...rest] = a.take();
  assert.match(error, /^\*\*\* error: /);
  assert.deepEqual(rest, []);
  assert.deepEqual(b.take(), []);
});

Deno.test("/nick refuses invalid names with an error to the sender only", () => {
  const { room, guests: [a, b] } = roomWith(2);
  for (
    const name of ["a b", "bad:name", "star*", "é", "x".repeat(25), "x\ty"]
  ) {
    say(room, a, `/nick ${name}`);
    const replies = a.take();
    assert.equal(replies.length, 1, name);
    assert.match(replies[0], /^\*\*\* error: cannot use /, name);
  }
  assert.deepEqual(b.take(), []);
  assert.equal(a.member.name, "guest1");
});

Deno.test("/nick without a name gives a usage error", () => {
  const { room, guests: [a] } = roomWith(1);
  say(room, a, "/nick");
  assert.deepEqual(a.take(), ["*** error: usage: /nick NAME"]);
});

Deno.test("the guest counter skips a guestN name someone took with /nick", () => {
  const { room, guests: [a] } = roomWith(1);
  say(room, a, "/nick Guest2");
  const next = join(room);
  assert.equal(next.member.name, "guest3");
  assert.deepEqual(room.names, ["Guest2", "guest3"]);
});

// --- /who, /me, /msg ---------------------------------------------------------

Deno.test("/who lists everyone online to the sender only", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, b, "/nick bob");
  a.take();
  b.take();
  say(room, a, "/who");
  assert.deepEqual(a.take(), ["*** Online (2): guest1, bob"]);
  assert.deepEqual(b.take(), []);
});

Deno.test("/me broadcasts an action line", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/me waves hello");
  assert.deepEqual(a.take(), ["* guest1 waves hello"]);
  assert.deepEqual(b.take(), ["* guest1 waves hello"]);
});

Deno.test("/me without text gives a usage error to the sender only", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/me");
  say(room, a, "/me   ");
  assert.deepEqual(a.take(), [
    "*** error: usage: /me TEXT",
    "*** error: usage: /me TEXT",
  ]);
  assert.deepEqual(b.take(), []);
});

Deno.test("/msg is delivered only to the target and the sender", () => {
  const { room, guests: [a, b, c] } = roomWith(3);
  say(room, a, "/msg guest2 secret plan");
  const line = "[private] guest1 -> guest2: secret plan";
  assert.deepEqual(a.take(), [line]);
  assert.deepEqual(b.take(), [line]);
  assert.deepEqual(c.take(), []);
});

Deno.test("/msg finds its target without regard to case", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, b, "/nick Bob");
  a.take();
  b.take();
  say(room, a, "/msg bOB hi");
  assert.deepEqual(b.take(), ["[private] guest1 -> Bob: hi"]);
  assert.deepEqual(a.take(), ["[private] guest1 -> Bob: hi"]);
});

Deno.test("/msg to an unknown name gives an error to the sender only", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/msg nobody hello");
  const replies = a.take();
  assert.equal(replies.length, 1);
  assert.match(replies[0], /^\*\*\* error: .*nobody/);
  assert.deepEqual(b.take(), []);
});

Deno.test("/msg to yourself is delivered once", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/msg guest1 note to self");
  assert.deepEqual(a.take(), ["[private] guest1 -> guest1: note to self"]);
  assert.deepEqual(b.take(), []);
});

Deno.test("/msg without text gives a usage error", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/msg guest2");
  say(room, a, "/msg guest2   ");
  say(room, a, "/msg");
  assert.deepEqual(a.take(), [
    "*** error: usage: /msg NAME TEXT",
    "*** error: usage: /msg NAME TEXT",
    "*** error: usage: /msg NAME TEXT",
  ]);
  assert.deepEqual(b.take(), []);
});

// --- /help and unknown commands ------------------------------------------------

/** The command names listed by /help, in order. */
function helpCommands(helpLines: string[]): string[] {
  return helpLines.flatMap((line) =>
    /^\*\*\* {3}\/(\S+)/.exec(line)?.[1] ?? []
  );
}

Deno.test("/help lists every command to the sender only, without /stop for guests", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/help");
  const help = a.take();
  assert.equal(help[0], "*** Commands:");
  assert.deepEqual(helpCommands(help), [
    "nick",
    "who",
    "me",
    "msg",
    "help",
    "quit",
    "topic",
  ]);
  assert.match(help.join("\n"), /\/nick NAME/);
  assert.match(help.join("\n"), /\/msg NAME TEXT/);
  assert.match(help.at(-1)!, /'stop'/);
  assert.deepEqual(b.take(), []);
});

Deno.test("/help for the host also lists the moderation commands and /stop", () => {
  const room = new Room();
  const host = join(room, { name: "host", isHost: true });
  host.take();
  say(room, host, "/help");
  assert.deepEqual(helpCommands(host.take()), [
    "nick",
    "who",
    "me",
    "msg",
    "help",
    "quit",
    "topic",
    "kick",
    "ban",
    "mute",
    "unmute",
    "stop",
  ]);
});

Deno.test("/help is generated from the command table: every listed command is known", () => {
  let stops = 0;
  const room = new Room({ onStop: () => stops++ });
  const host = join(room, { name: "host", isHost: true });
  say(room, host, "/help");
  const listed = helpCommands(host.take());
  assert.equal(listed.length, 12);
  for (const name of listed) {
    say(room, host, `/${name}`);
    for (const reply of host.take()) {
      assert.doesNotMatch(reply, /unknown command/, `/${name}`);
    }
  }
  assert.equal(stops, 2); // the host's /quit and /stop both stop the server
  assert.equal(host.member.present, true);
});

Deno.test("an unknown command gives an error to the sender only", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/dance wildly");
  assert.deepEqual(a.take(), [
    '*** error: unknown command "/dance". Type /help for the list.',
  ]);
  assert.deepEqual(b.take(), []);
});

Deno.test("commands are recognised without regard to case", () => {
  const { room, guests: [a] } = roomWith(1);
  say(room, a, "/WHO");
  assert.deepEqual(a.take(), ["*** Online (1): guest1"]);
});

// --- leaving ------------------------------------------------------------------

for (const command of ["/quit", "stop"]) {
  Deno.test(`${command} says Bye to the member, tells the others once and closes the peer once`, () => {
    const { room, guests: [a, b, c] } = roomWith(3);
    say(room, a, command);
    assert.deepEqual(a.take(), ["*** Bye!"]);
    assert.deepEqual(b.take(), ["*** guest1 left"]);
    assert.deepEqual(c.take(), ["*** guest1 left"]);
    assert.equal(a.peer.closes, 1);
    assert.equal(a.member.present, false);
    assert.deepEqual(room.names, ["guest2", "guest3"]);
  });
}

Deno.test("leave() twice announces the departure once", () => {
  const { room, guests: [a, b] } = roomWith(2);
  room.leave(a.member, "connection lost");
  room.leave(a.member, "connection lost");
  assert.deepEqual(b.take(), ["*** guest1 left (connection lost)"]);
  assert.deepEqual(a.take(), []);
  assert.equal(room.names.length, 1);
});

Deno.test("leave() frees the name for someone else's /nick", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/nick alice");
  room.leave(a.member);
  b.take();
  say(room, b, "/nick Alice");
  assert.equal(b.member.name, "Alice");
  assert.deepEqual(b.take(), ["*** guest2 is now known as Alice"]);
});

Deno.test("lines from a member who left are ignored", () => {
  const { room, guests: [a, b] } = roomWith(2);
  say(room, a, "/quit");
  b.take();
  say(room, a, "still here?");
  say(room, a, "/who");
  say(room, a, "/quit");
  assert.deepEqual(a.take(), ["*** Bye!"]);
  assert.deepEqual(b.take(), []);
  assert.equal(a.peer.closes, 1);
});

// --- the host -----------------------------------------------------------------

for (const command of ["/stop", "stop", "/quit"]) {
  Deno.test(`the host typing ${command} calls onStop and does not leave`, () => {
    let stops = 0;
    const room = new Room({ onStop: () => stops++ });
    const host = join(room, { name: "host", isHost: true });
    const guest = join(room);
    host.take();
    guest.take();
    say(room, host, command);
    assert.equal(stops, 1);
    assert.equal(host.member.present, true);
    assert.deepEqual(room.names, ["host", "guest1"]);
    assert.equal(host.peer.closes, 0);
    assert.deepEqual(guest.take(), []);
  });
}

Deno.test("a non-host typing /stop gets the unknown-command error", () => {
  let stops = 0;
  const room = new Room({ onStop: () => stops++ });
  const host = join(room, { name: "host", isHost: true });
  const guest = join(room);
  host.take();
  guest.take();
  say(room, guest, "/stop");
  assert.deepEqual(guest.take(), [
    '*** error: unknown command "/stop". Type /help for the list.',
  ]);
  assert.deepEqual(host.take(), []);
  assert.equal(stops, 0);
});

Deno.test("the host's name cannot be taken by /nick in another case", () => {
  const room = new Room();
  const host = join(room, { name: "host", isHost: true });
  const guest = join(room);
  host.take();
  guest.take();
  say(room, guest, "/nick HOST");
  const [error, ...rest] = guest.take();
  assert.match(error, /^\*\*\* error: .*taken/);
  assert.deepEqual(rest, []);
  assert.deepEqual(host.take(), []);
  assert.equal(guest.member.name, "guest1");
});

Deno.test("the host joins under its own name and guests are numbered from 1", () => {
  const room = new Room();
  const host = join(room, { name: "host", isHost: true });
  const guest = join(room);
  assert.equal(host.member.name, "host");
  assert.equal(host.member.isHost, true);
  assert.equal(guest.member.name, "guest1");
  assert.equal(guest.member.isHost, false);
});
