/**
 * Adversarial end-to-end test of password guessing against `chat serve
 * --password`: a guesser that hangs up without waiting for the refusal,
 * from one address and from 8 loopback addresses (127.0.0.2-9, bound with
 * `node:net`'s `localAddress`, since `Deno.connect` has no such option).
 * It prints what it tried and what held.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { ChatProcess, deadline, TcpClient } from "./harness.ts";
import { lines } from "./golden_lines.ts";

/** How long the guesser waits for an answer before hanging up. */
const HANG_UP_MS = 200;
/** Wrong passwords the whole room takes per minute (the default). */
const ROOM_TRIES_PER_MINUTE = 30;

type Outcome =
  | "accepted"
  | "locked"
  | "wrong"
  | "throttled"
  | "hung-up"
  | "no-connection";

/**
 * One guess from `localAddress`: connects, sends `/pass guess`, and hangs
 * up at the first answer or {@linkcode HANG_UP_MS} after sending.
 */
function guess(
  port: number,
  localAddress: string,
  secret: string,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let received = "";
    let done = false;
    let sent = false;
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    // Bounded even if the connection never opens.
    let timer = setTimeout(() => finish("no-connection"), 5000);
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      socket.write(`/pass ${secret}\n`);
      sent = true;
      clearTimeout(timer);
      timer = setTimeout(() => finish("hung-up"), HANG_UP_MS);
    });
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (received.includes("Password accepted")) finish("accepted");
      else if (received.includes("too many wrong passwords")) finish("locked");
      else if (received.includes("wrong password")) finish("wrong");
      // The room's line ceiling, when there is one, refuses the line itself.
      else if (received.includes("slow down")) finish("throttled");
    });
    const ended = () => finish(sent ? "hung-up" : "no-connection");
    socket.on("error", ended);
    socket.on("close", ended);
  });
}

Deno.test("password guessing: 200 quick guesses from 8 addresses, hanging up without waiting, do not find a password hidden at guess 150", async () => {
  const password = "4821";
  await using server = await ChatProcess.serve(
    ["--password", "--max-per-ip", "0"],
    { env: { CHAT_PASSWORD: password } },
  );
  const port = server.port;
  const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  const guesses = Array.from(
    { length: 200 },
    (_, i) => i === 150 ? password : String(1000 + i * 7).padStart(4, "0"),
  );
  assert.equal(guesses.filter((g) => g === password).length, 1);

  const outcomes: Outcome[] = [];
  const started = performance.now();
  // One guess at a time per address, 8 addresses at once.
  await deadline(
    Promise.all(addresses.map(async (address, lane) => {
      for (let i = lane; i < guesses.length; i += addresses.length) {
        outcomes[i] = await guess(port, address, guesses[i]);
      }
    })),
    "200 guesses",
    60_000,
  );
  const seconds = (performance.now() - started) / 1000;
  const count = (outcome: Outcome) =>
    outcomes.filter((o) => o === outcome).length;
  // A guess answered at once with a lock-out (or whose line the room's
  // ceiling refused) was not compared; one that got no answer before the
  // hang-up (or its refusal) was.
  const compared = count("hung-up") + count("wrong") + count("accepted");

  console.log(
    `    tried: ${guesses.length} guesses from ${addresses.length} addresses (127.0.0.2-9), the right one at #150, hanging up ${HANG_UP_MS} ms after sending, in ${
      seconds.toFixed(1)
    } s`,
  );
  console.log(
    `    held: compared ${compared} (accepted ${
      count("accepted")
    }), refused at once as locked out ${
      count("locked")
    }, line refused as flooding ${count("throttled")}; guess #150 was: ${
      outcomes[150]
    }`,
  );
  assert.equal(count("no-connection"), 0, "every guess was sent");
  assert.equal(count("accepted"), 0, "the guesser got in");
  assert.notEqual(outcomes[150], "accepted");
  assert.ok(
    compared <= ROOM_TRIES_PER_MINUTE,
    `${compared} guesses compared within ${seconds.toFixed(1)} s`,
  );
  assert.ok(seconds < 60, "the count covers less than a minute");
  assert.equal(
    count("locked") + count("throttled") + compared,
    guesses.length,
  );

  // The host's console hears of each lock-out.
  const lockoutLines = () =>
    server.stdout.lines.filter((line) => /wrong passwords/.test(line));
  await server.stdout.waitFor((line) =>
    line.includes("no password from anyone is tried")
  );
  const roomLockouts = lockoutLines().filter((l) => l.includes("anyone"));

  // A rightful newcomer (from 127.0.0.1) waits as well.
  await using late = await TcpClient.connect(port);
  assert.equal(await late.received.lineAt(0), lines.passwordNeeded());
  await late.send(`/pass ${password}`);
  const lateAnswer = await late.received.waitFor((line) =>
    line.startsWith("*** ") && line !== lines.passwordNeeded()
  );

  console.log(
    `    host console: ${lockoutLines().length} lock-out line(s):\n      ${
      lockoutLines().slice(0, 3).join("\n      ")
    }`,
  );
  console.log(`    a rightful newcomer meanwhile: ${lateAnswer}`);

  assert.equal(roomLockouts.length, 1, lockoutLines().join("\n"));
  // Each address is told once per lock-out: at most once here, since the
  // room-wide wait outlasts the first lock-outs.
  for (const address of addresses) {
    const told = lockoutLines().filter((l) => l.startsWith(`*** ${address} `));
    assert.ok(told.length <= 1, told.join("\n"));
  }
  // Refused while the room waits (or its line refused by the room's line
  // ceiling, when that applies at the door too); never let in.
  assert.match(
    lateAnswer,
    /^\*\*\* error: (too many wrong passwords: try again in \d+ s|slow down: .*)\.$/,
  );
});

Deno.test("password guessing: 40 quick guesses from one address get 5 compared, then a lock-out told once to the host", async () => {
  const password = "7345";
  await using server = await ChatProcess.serve(
    ["--password", "--max-per-ip", "0"],
    { env: { CHAT_PASSWORD: password } },
  );
  const guesses = Array.from(
    { length: 40 },
    (_, i) => i === 20 ? password : String(2000 + i).padStart(4, "0"),
  );
  const outcomes: Outcome[] = [];
  const started = performance.now();
  await deadline(
    (async () => {
      for (const secret of guesses) {
        outcomes.push(await guess(server.port, "127.0.0.2", secret));
      }
    })(),
    "40 guesses",
    60_000,
  );
  const seconds = (performance.now() - started) / 1000;
  const count = (outcome: Outcome) =>
    outcomes.filter((o) => o === outcome).length;
  const compared = count("hung-up") + count("wrong") + count("accepted");
  console.log(
    `    tried: ${guesses.length} guesses one after another from 127.0.0.2, the right one at #20, in ${
      seconds.toFixed(1)
    } s`,
  );
  console.log(
    `    held: compared ${compared}, refused at once as locked out ${
      count("locked")
    }, line refused as flooding ${count("throttled")}; guess #20 was: ${
      outcomes[20]
    }`,
  );
  assert.equal(count("no-connection"), 0, "every guess was sent");
  assert.equal(count("accepted"), 0, "the guesser got in");
  assert.ok(seconds < 5, "the whole run fits in the first lock-out");
  assert.ok(compared <= 5, `${compared} guesses compared`);
  const told = await server.stdout.waitFor((line) =>
    line.startsWith("*** 127.0.0.2 gave 5 wrong passwords")
  );
  console.log(`    host console: ${told}`);
  assert.equal(
    server.stdout.lines.filter((line) => line.includes("wrong passwords"))
      .length,
    1,
    server.stdout.text,
  );
});
