/**
 * Names a French class uses: letters with accents are accepted, names are
 * NFC-normalised on the way in, and uniqueness ignores case and accents
 * (`Élodie` and `elodie` are one name) everywhere the room looks a name up:
 * joining, `/nick`, the host's reserved names, guest names, `/msg` and the
 * host's moderation. Look-alikes from other scripts stay refused. First the
 * room on its own (fake peers), then the real program: `chat connect` with
 * an accented login or `--name`, and a raw client sending a decomposed `é`.
 */

import assert from "node:assert/strict";
import type { ServerEvent } from "../lib/events.ts";
import { nameKey } from "../lib/protocol.ts";
import { Room } from "../lib/room.ts";
import { type Client, client, fakePeer } from "./fake_peer.ts";
import { ChatProcess, TcpClient } from "./harness.ts";

/** `é` as `e` and a combining acute accent, as some keyboards and nc send it. */
const DECOMPOSED_E = "e\u0301";

function join(
  room: Room,
  options?: { name?: string; isHost?: boolean },
): Client {
  const peer = fakePeer();
  const joined = client(room.join(peer, options), peer);
  joined.take();
  joined.takeEvents();
  return joined;
}

/** A connection that arrives and sends `line` as its first line. */
function arriveWith(room: Room, line: string): Client {
  const peer = fakePeer();
  const arrived = client(room.arrive(peer), peer);
  arrived.take();
  arrived.takeEvents();
  room.handleLine(arrived.member, line);
  return arrived;
}

/** The code of each error event received since the last call. */
function errorCodes(who: Client): string[] {
  return who.takeEvents().flatMap((event: ServerEvent) =>
    event.type === "error" ? [event.code] : []
  );
}

// --- the room ----------------------------------------------------------------

Deno.test("a name with accents joins; the same name in another case or without its accents is taken", () => {
  const room = new Room();
  const elodie = arriveWith(room, "/nick Élodie");
  assert.equal(elodie.member.name, "Élodie");
  assert.ok(elodie.take()[0].startsWith("*** Welcome, Élodie!"));
  for (
    const other of [
      "elodie",
      "ELODIE",
      "élodie",
      "Elodié",
      `${DECOMPOSED_E}lodie`,
      "ÉLODIE",
    ]
  ) {
    const rival = arriveWith(room, `/nick ${other}`);
    assert.equal(rival.member.present, false, other);
    const [line] = rival.take();
    assert.match(line, /^\*\*\* error: the name ".*" is taken\./, other);
  }
  // Once she has gone, the name is free in any spelling.
  room.leave(elodie.member);
  assert.equal(arriveWith(room, "/nick ELODIE").member.name, "ELODIE");
});

Deno.test("a decomposed é is stored as the composed one, and /nick to it again is the same name", () => {
  const room = new Room();
  const watcher = join(room, { name: "watcher" });
  const elodie = arriveWith(room, `/nick ${DECOMPOSED_E}lodie`);
  assert.equal(elodie.member.name, "\u00e9lodie");
  assert.deepEqual(watcher.take(), ["*** \u00e9lodie joined"]);
  elodie.take();
  room.handleLine(elodie.member, `/nick ${DECOMPOSED_E}lodie`);
  assert.deepEqual(errorCodes(elodie), ["same-name"]);
  // Changing only the case or the accents of one's own name is a rename.
  room.handleLine(elodie.member, "/nick Élodie");
  assert.deepEqual(watcher.take(), ["*** élodie is now known as Élodie"]);
  assert.equal(room.find("elodie"), elodie.member);
});

Deno.test("/msg finds a name whatever its case and accents", () => {
  const room = new Room();
  const francois = join(room, { name: "François" });
  const bob = join(room, { name: "bob" });
  francois.take();
  for (const target of ["francois", "FRANÇOIS", "franc\u0327ois"]) {
    room.handleLine(bob.member, `/msg ${target} salut`);
    assert.deepEqual(francois.take(), ["[private] bob -> François: salut"]);
    assert.deepEqual(bob.take(), ["[private] bob -> François: salut"]);
  }
});

Deno.test("the host's moderation finds a name whatever its case and accents", () => {
  const room = new Room();
  const host = join(room, { name: "prof", isHost: true });
  const zoe = join(room, { name: "Zoë" });
  room.handleLine(host.member, "/mute ZOE");
  assert.equal((zoe.member as { muted?: boolean }).muted, true);
  room.handleLine(host.member, "/unmute zoë");
  assert.equal((zoe.member as { muted?: boolean }).muted, false);
  room.handleLine(host.member, "/kick zoe");
  assert.equal(zoe.member.present, false);
  assert.equal(room.find("Zoë"), undefined);
});

Deno.test("the host's name stays reserved in any case and accents, also after the host renames", () => {
  const room = new Room();
  const host = join(room, { name: "Hélène", isHost: true });
  room.handleLine(host.member, "/nick prof");
  for (const other of ["Hélène", "helene", "HELENE", "hélène"]) {
    const rival = arriveWith(room, `/nick ${other}`);
    assert.deepEqual(errorCodes(rival), ["name-reserved"], other);
  }
  // The host itself may take it back.
  room.handleLine(host.member, "/nick Helene");
  assert.equal(host.member.name, "Helene");
});

Deno.test("guest names skip a guestN someone holds with accents or capitals", () => {
  const room = new Room();
  join(room, { name: "GUÉST1" });
  const guest = arriveWith(room, "hello");
  assert.equal(guest.member.name, "guest2");
});

Deno.test("look-alike letters from other scripts are refused as characters", () => {
  const room = new Room();
  join(room, { name: "alice" });
  for (
    const other of [
      "\u0430lice", // Cyrillic а
      "alic\u0435", // Cyrillic е
      "\u03bflivier", // Greek ο
      "\uff41lice", // fullwidth ａ
      "q\u0301", // a mark with no composed letter
    ]
  ) {
    const rival = arriveWith(room, `/nick ${other}`);
    const [event] = rival.takeEvents();
    assert.deepEqual(
      event,
      {
        type: "error",
        code: "name-invalid",
        args: { name: other.normalize("NFC"), problem: "characters" },
        seq: event.seq,
        time: event.time,
      },
      other,
    );
  }
  // Latin letters without a dot or with a stroke are the plain letter.
  assert.equal(nameKey("al\u0131ce"), "alice");
  assert.deepEqual(errorCodes(arriveWith(room, "/nick al\u0131ce")), [
    "name-taken",
  ]);
});

Deno.test("names that do not start with a letter or a digit (-, _, --help) are refused, in words", () => {
  const room = new Room();
  for (const name of ["-", "_", "--help", "_alice", "-x"]) {
    const arrived = arriveWith(room, `/nick ${name}`);
    const [event] = arrived.takeEvents();
    assert.deepEqual(
      event,
      {
        type: "error",
        code: "name-invalid",
        args: { name, problem: "start" },
        seq: event.seq,
        time: event.time,
      },
      name,
    );
    assert.equal(arrived.member.name, "", name);
  }
  // Renaming to one is refused too, and the name stays.
  const alice = arriveWith(room, "/nick alice");
  alice.take();
  room.handleLine(alice.member, "/nick --help");
  assert.deepEqual(alice.take(), [
    '*** error: cannot use "--help" as a name: a name starts with a letter or a digit.',
  ]);
  assert.equal(alice.member.name, "alice");
  // - and _ are still allowed after the first character.
  assert.equal(arriveWith(room, "/nick a-_b").member.name, "a-_b");
});

// --- the real program ------------------------------------------------------------

Deno.test("chat connect --name élodie joins as élodie; a raw client's decomposed é is the same name", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using elodie = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "élodie"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** élodie joined");
  await elodie.stdout.waitFor(/^\*\*\* Welcome, élodie! Online \(3\)/);
  await using rival = await TcpClient.connect(server.port);
  await rival.send(`/nick ${DECOMPOSED_E}LODIE`);
  await rival.received.waitFor(
    '*** error: the name "\u00e9LODIE" is taken. Try another one.',
  );
  await watcher.send("/msg ELODIE bonjour");
  await elodie.stdout.waitFor("[private] watcher -> élodie: bonjour");
  await elodie.type("/quit");
  assert.equal((await elodie.exit()).code, 0, elodie.stderr.text);
});

Deno.test("the login élodie.françois becomes the name élodie_françois", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using student = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`],
    { stdin: true, env: { USER: "élodie.françois" } },
  );
  await watcher.received.waitFor("*** élodie_françois joined");
  await student.type("bonjour");
  await watcher.received.waitFor("élodie_françois: bonjour");
  await student.endInput();
  assert.equal((await student.exit()).code, 0, student.stderr.text);
});

Deno.test("a --name from another script is refused with the name rule, exit 2", async () => {
  await using refused = new ChatProcess(
    ["connect", "127.0.0.1", "--name", "\u0430lice"],
  );
  const status = await refused.exit();
  assert.equal(status.code, 2);
  assert.deepEqual(refused.stderr.lines, [
    `chat: Cannot use "\u0430lice" as a name: names may contain only letters of the Latin alphabet, with or without accents (é, ç, ø ...), digits, _ and -.`,
  ]);
});
