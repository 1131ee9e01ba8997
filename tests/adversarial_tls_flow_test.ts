/**
 * Adversarial tests of issue 14, items 1 and 6: TLS connections that never
 * handshake, and slow readers from one address that would pause the room.
 * Each starts the real `main.ts` through the harness, attacks it over
 * loopback only, prints what it tried and what held, and asserts it.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { ChatProcess, deadline, TcpClient } from "./harness.ts";
import { FlowControl, SLOW_ADDRESS_PENALTY_MS } from "../lib/outgoing_queue.ts";

const encoder = new TextEncoder();

/** A second loopback address for the attacker, if this machine binds it. */
const OTHER_LOOPBACK = "127.0.0.2";
const OTHER_LOOPBACK_USABLE: boolean = (() => {
  try {
    Deno.listen({ hostname: OTHER_LOOPBACK, port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

/**
 * Opens a TCP connection from `localAddress` (Deno.connect cannot choose
 * it; node:net can) that sends `text` and never reads.
 */
function connectNeverReading(
  port: number,
  localAddress: string,
  text: string,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    socket.pause();
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      socket.on("error", () => {/* dropped by the server: expected */});
      socket.write(text);
      resolve(socket);
    });
  });
}

// --- 1. TLS connections that never handshake ----------------------------------

/** The fingerprint a `chat serve --tls` printed in its join command. */
async function printedFingerprint(server: ChatProcess): Promise<string> {
  const line = await server.stdout.waitFor((l) => l.includes("--fingerprint "));
  return /--fingerprint (\S+)/.exec(line)![1];
}

/** Open file descriptors of a process (Linux /proc). */
/**
 * The process's TCP connections on `port` (the listening socket excluded):
 * its descriptors that are sockets whose inode /proc/net/tcp lists on that
 * port. Only these: the runtime opens sockets of its own, lazily.
 */
function openFiles(pid: number, port?: number): number {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const row of text.split("\n").slice(1)) {
      const fields = row.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = parseInt(fields[1].split(":")[1], 16);
      const listening = fields[3] === "0A";
      if ((port === undefined || localPort === port) && !listening) {
        inodes.add(fields[9]);
      }
    }
  }
  let count = 0;
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const link = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`);
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) count++;
    } catch { /* closed while we looked */ }
  }
  return count;
}

const PROC_USABLE: boolean = (() => {
  try {
    Deno.readTextFileSync("/proc/net/tcp");
    return [...Deno.readDirSync(`/proc/${Deno.pid}/fd`)].length > 0;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "TLS: connections that never handshake are closed at the deadline, seated or refused, and a real client then joins",
  ignore: !PROC_USABLE,
}, async () => {
  const deadlineS = 2;
  await using server = await ChatProcess.serve([
    "--tls",
    "--max-clients",
    "2",
    "--handshake-timeout",
    String(deadlineS),
  ]);
  const fingerprint = await printedFingerprint(server);
  const pid = server.child.pid;
  const before = openFiles(pid, server.port);
  const silentCount = 30;
  const openedAt = performance.now();
  const silent = await Promise.all(
    Array.from(
      { length: silentCount },
      () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
    ),
  );
  // Each silent connection reads until the server closes it.
  const outcomes = await deadline(
    Promise.all(silent.map(async (conn) => {
      const buffer = new Uint8Array(4096);
      let bytes = 0;
      try {
        for (;;) {
          const count = await conn.read(buffer);
          if (count === null) break;
          bytes += count;
        }
        return { end: "EOF", bytes, ms: performance.now() - openedAt };
      } catch {
        return { end: "reset", bytes, ms: performance.now() - openedAt };
      } finally {
        conn.close();
      }
    })),
    "the silent connections to be closed",
    deadlineS * 1000 + 3000,
  );
  // The server's sockets are closed: its descriptors are back where they were.
  let after = openFiles(pid, server.port);
  const closingFrom = performance.now();
  for (let wait = 0; after > before && wait < 60; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = openFiles(pid, server.port);
  }
  await using real = new ChatProcess(
    [
      "connect",
      `127.0.0.1:${server.port}`,
      "--fingerprint",
      fingerprint,
      "--name",
      "tlsreal",
    ],
    { stdin: true },
  );
  await real.stdout.waitFor((line) => line.startsWith("*** Welcome, tlsreal!"));
  await real.type("in after the squatters");
  await server.stdout.waitFor("tlsreal: in after the squatters");
  const slowest = Math.max(...outcomes.map((outcome) => outcome.ms));
  const ends = outcomes.map((outcome) => outcome.end);
  console.log(
    `    tried: ${silentCount} TCP connections that never start the TLS handshake, against serve --tls --max-clients 2 --handshake-timeout ${deadlineS}`,
  );
  console.log(
    `    held: all closed by the server (${
      ends.filter((end) => end === "EOF").length
    } EOF, ${
      ends.filter((end) => end === "reset").length
    } reset), the last after ${
      Math.round(slowest)
    } ms; server connections on its port ${before} before, ${after} after (${
      Math.round(performance.now() - closingFrom)
    } ms after the last close); a pinned TLS client then joined and spoke`,
  );
  assert.ok(after <= before, `${after - before} descriptors still open`);
});

// --- 6. slow readers from one address ------------------------------------------

Deno.test({
  name:
    "eight never-reading connections from one address do not hold back an honest line",
  ignore: !OTHER_LOOPBACK_USABLE,
}, async () => {
  await using server = await ChatProcess.serve();
  const slowCount = 8;
  const slow = await Promise.all(
    Array.from(
      { length: slowCount },
      (_, index) =>
        connectNeverReading(
          server.port,
          OTHER_LOOPBACK,
          `/nick slow${index}\n`,
        ),
    ),
  );
  try {
    await server.stdout.waitFor(`*** slow${slowCount - 1} joined`);
    await using reader = await TcpClient.join(server.port, "reader");
    await using honest = await TcpClient.join(server.port, "honest");
    await using flooder = await TcpClient.join(server.port, "flooder");
    // A flood the honest reader keeps up with, more than the slow readers'
    // socket buffers take (about 4 MiB each on Linux loopback) plus their
    // backlog: without the fix they are all behind, the room holds every
    // sender, and honest lines wait until the stall rule drops them (5 s).
    const lineCount = 40_000;
    const line = encoder.encode(`${"f".repeat(190)}\n`);
    const batch = new Uint8Array(line.length * 100);
    for (let n = 0; n < 100; n++) batch.set(line, n * line.length);
    let flooded = false;
    const flooding = (async () => {
      for (let sent = 0; sent < lineCount; sent += 100) {
        await flooder.write(batch);
      }
      await reader.received.waitForCount(
        (text) => text.startsWith("flooder: f"),
        lineCount,
        20_000,
      );
      flooded = true;
    })();
    // Meanwhile an honest line every 100 ms; each one's delay to the reader.
    const delays: number[] = [];
    let from = 0;
    while (!flooded && delays.length < 150) {
      const sentAt = performance.now();
      await honest.send(`tick ${delays.length}`);
      from = await reader.received.waitForIndex(
        `honest: tick ${delays.length}`,
        {
          from,
        },
      );
      delays.push(performance.now() - sentAt);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await flooding;
    const delayMs = Math.max(...delays);
    // Dropped by the queue limit or the stall rule, as usual.
    await reader.received.waitForCount(
      (text) => /^\*\*\* slow\d+ left \(too slow\)$/.test(text),
      slowCount,
      15_000,
    );
    const dropped = slowCount;
    console.log(
      `    tried: ${slowCount} never-reading connections from ${OTHER_LOOPBACK}, a flood of ${lineCount} lines of 191 bytes from 127.0.0.1, an honest line every 100 ms meanwhile (${delays.length} lines)`,
    );
    console.log(
      `    held: the slowest honest line reached the reader in ${
        Math.round(delayMs)
      } ms (bound 2,500 ms; about 5,000 ms before the fix); the reader got all ${lineCount} flood lines; ${dropped} of ${slowCount} slow readers dropped as too slow`,
    );
    assert.ok(delayMs < 2500, `an honest line took ${Math.round(delayMs)} ms`);
  } finally {
    for (const socket of slow) socket.destroy();
  }
});

Deno.test("flow control: one address counts once when the room has several; a penalised address is not counted", () => {
  const addresses = { connections: 10, addresses: 2 };
  const flow = new FlowControl(
    () => addresses.connections,
    () => addresses.addresses,
  );
  // Eight connections from one address fall behind: not enough.
  for (let i = 0; i < 8; i++) flow.behind(1, "10.0.0.2");
  assert.equal(flow.ready(), undefined);
  // One from the other address too: now the readers cannot keep up.
  flow.behind(1, "10.0.0.1");
  assert.notEqual(flow.ready(), undefined);
  // The first address is dropped as too slow: the hold no longer counts it,
  // and resumes once the rest caught up.
  flow.penalize("10.0.0.2");
  assert.notEqual(flow.ready(), undefined);
  flow.behind(-1, "10.0.0.1");
  assert.equal(flow.ready(), undefined);
  // While penalised, it cannot hold the room again, even with another.
  flow.behind(1, "10.0.0.1");
  assert.equal(flow.ready(), undefined);
  // Penalties end: 60 s later it counts again.
  flow.penalize("10.0.0.2", performance.now() - SLOW_ADDRESS_PENALTY_MS - 1);
  flow.behind(-1, "10.0.0.1");
  flow.behind(1, "10.0.0.1");
  assert.notEqual(flow.ready(), undefined);

  // All from one address (tests, one NAT): per connection, as before.
  const single = new FlowControl(() => 5, () => 1);
  single.behind(1, "127.0.0.1");
  assert.equal(single.ready(), undefined, "one slow reader never holds");
  single.behind(1, "127.0.0.1");
  assert.notEqual(single.ready(), undefined);
  // There a penalty would stop flow control for everyone: it is not applied.
  single.penalize("127.0.0.1");
  assert.notEqual(single.ready(), undefined);
  console.log(
    "    held: 8 behind from one address of 2 do not hold; 1 more from the other does; a penalised address stops counting for 60 s; one address alone: per connection, no penalty",
  );
});
