/**
 * Adversarial end-to-end tests of `chat serve` against one machine holding
 * many addresses (issue 14, item 5): a full room of silent watchers, 50
 * senders from 50 addresses flooding together, and a host banning a range.
 *
 * Deno 2.9.6 cannot choose a connection's local address (`Deno.connect`
 * ignores `localAddress`), so the connections from 127.0.0.2 and up are
 * opened by `tests/testdata/many_addresses.py`, each socket bound to its own
 * loopback address; these tests are skipped when python3 is missing. Each
 * prints what it tried and what held; every wait is bounded.
 */

import assert from "node:assert/strict";
import {
  ChatProcess,
  deadline,
  findProgram,
  LineCollector,
  TcpClient,
  WAIT_MS,
} from "./harness.ts";
import { disconnectedReasons, lines } from "./golden_lines.ts";
import { DEFAULT_DISPLACE_AFTER_MS } from "../lib/server.ts";

const PYTHON = findProgram("python3");
const HELPER = new URL("./testdata/many_addresses.py", import.meta.url)
  .pathname;
const encoder = new TextEncoder();

/** One event from the helper. */
interface HelperEvent {
  ev: "open" | "line" | "closed" | "flooded";
  id: number;
  ok?: boolean;
  error?: string;
  text?: string;
  last?: string;
  lines?: number;
}

/** The python helper: connections bound to 127.0.0.N, driven by JSON lines. */
class Addresses implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #out: LineCollector;
  readonly #port: number;

  /** Starts the helper for connections to `port`. */
  static create(port: number): Promise<Addresses> {
    return Promise.resolve(new Addresses(port));
  }

  private constructor(port: number) {
    this.#port = port;
    this.#child = new Deno.Command(PYTHON!, {
      args: ["-u", HELPER],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#out = new LineCollector(this.#child.stdout);
  }

  /** Every event so far. */
  get events(): HelperEvent[] {
    return this.#out.lines.map((line) => JSON.parse(line));
  }

  async #command(command: Record<string, unknown>): Promise<void> {
    await deadline(
      this.#stdin.write(encoder.encode(JSON.stringify(command) + "\n")),
      "a command to the helper",
    );
  }

  /** Waits for the first event matching `test` (bounded). */
  async waitFor(
    test: (event: HelperEvent) => boolean,
    ms: number = WAIT_MS,
  ): Promise<HelperEvent> {
    return JSON.parse(
      await this.#out.waitFor((line) => test(JSON.parse(line)), { ms }),
    );
  }

  /**
   * Opens connection `id` from `address` and waits until it is open and
   * its first line (the greeting or a refusal) has arrived.
   */
  async open(id: number, address: string): Promise<string> {
    await this.#command({
      op: "open",
      id,
      addr: address,
      port: this.#port,
      report: true,
    });
    const opened = await this.waitFor((e) => e.ev === "open" && e.id === id);
    assert.ok(opened.ok, `${address}: ${opened.error}`);
    const first = await this.waitFor((e) =>
      (e.ev === "line" || e.ev === "closed") && e.id === id
    );
    return first.text ?? first.last ?? "";
  }

  /** The lines connection `id` has received so far. */
  linesOf(id: number): string[] {
    return this.events.filter((e) => e.ev === "line" && e.id === id)
      .map((e) => e.text!);
  }

  /** True once connection `id` was closed by the server. */
  closed(id: number): boolean {
    return this.events.some((e) => e.ev === "closed" && e.id === id);
  }

  send(id: number, text: string): Promise<void> {
    return this.#command({ op: "send", id, text });
  }

  flood(id: number, prefix: string, count: number, intervalMs: number) {
    return this.#command({
      op: "flood",
      id,
      prefix,
      count,
      interval_ms: intervalMs,
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#command({ op: "quit" });
      await this.#stdin.close();
    } catch { /* already gone */ }
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(resolve, 3000, false)),
    ]);
    if (!exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
      await this.#child.status;
    }
    await this.#out.done.catch(() => {});
  }
}

const loopback = (n: number) => `127.0.0.${n}`;
const ignore = PYTHON === undefined;

Deno.test({
  name:
    "many addresses: a full room of silent watchers makes way for a real student; joined members and fresh watchers are never displaced",
  ignore,
  async fn() {
    const seats = 30;
    await using server = await ChatProcess.serve(
      ["--max-clients", String(seats), "--max-per-ip", "0"],
      { limits: true },
    );
    await using squatters = await Addresses.create(server.port);
    // 28 silent watchers from 127.0.0.2-29, 2 joined members from .30-.31.
    for (let n = 0; n < seats; n++) {
      assert.equal(
        await squatters.open(n, loopback(n + 2)),
        lines.greeting(),
      );
    }
    await squatters.send(28, "/nick sq28");
    await squatters.send(29, "/nick sq29");
    await server.stdout.waitFor("*** sq29 joined");
    // Every seat is taken; the watchers stay silent past the threshold.
    await new Promise((resolve) =>
      setTimeout(resolve, DEFAULT_DISPLACE_AFTER_MS + 500)
    );

    await using student = await TcpClient.join(server.port, "student");
    await squatters.waitFor((e) => e.ev === "closed" && e.id === 0);
    const displaced = [0];
    assert.deepEqual(squatters.linesOf(0).slice(-1), [
      lines.removed(disconnectedReasons["room-full"]),
    ]);
    await student.send("I made it");
    await server.stdout.waitFor("student: I made it");

    // 28 more newcomers from 127.0.0.100-127: each takes an old watcher's
    // seat (27 left) until only joined members and fresh watchers remain.
    const refusals: string[] = [];
    for (let k = 0; k < 28; k++) {
      const id = 100 + k;
      const first = await squatters.open(id, loopback(100 + k));
      if (first !== lines.greeting()) refusals.push(first);
    }
    for (let n = 1; n < 28; n++) {
      await squatters.waitFor((e) => e.ev === "closed" && e.id === n);
      displaced.push(n);
    }
    assert.deepEqual(refusals, [lines.full(seats)]);
    assert.ok(!squatters.closed(28) && !squatters.closed(29));
    assert.ok(
      squatters.events.every((e) =>
        e.ev !== "closed" || e.id < 28 || e.id === 127
      ),
    );
    console.log(
      `tried: ${seats} seats taken from ${seats} addresses (28 silent watchers, 2 joined), ` +
        `then a student and 28 more newcomers. held: the student joined and spoke; ` +
        `${displaced.length} silent watchers displaced with "room-full"; ` +
        `joined members and fresh watchers kept; the last newcomer refused (full)`,
    );
  },
});

Deno.test({
  name:
    "many addresses: 50 senders from 50 addresses flooding together stay under the room's ceiling, and an honest line gets through",
  ignore,
  async fn() {
    const senders = 50;
    const ceiling = 50; // the default --room-rate
    await using server = await ChatProcess.serve(
      ["--max-per-ip", "0"],
      { limits: true },
    );
    await using observer = await TcpClient.join(server.port, "observer");
    await using student = await TcpClient.join(server.port, "student");
    await using flood = await Addresses.create(server.port);
    for (let n = 0; n < senders; n++) {
      await flood.open(n, loopback(n + 2));
      await flood.send(n, `/nick f${n}`);
    }
    await observer.received.waitFor(`*** f${senders - 1} joined`);
    const from = observer.lines.length;
    // Each sends 60 lines, one every 50 ms (3 s): within its own allowance
    // it could pass 20 at once and then 5/s, 35 lines, 1,750 in all.
    const started = performance.now();
    for (let n = 0; n < senders; n++) await flood.flood(n, `f${n}`, 60, 50);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await student.send("honest question");
    await observer.received.waitFor("student: honest question");
    for (let n = 0; n < senders; n++) {
      await flood.waitFor((e) => e.ev === "flooded" && e.id === n, 15_000);
    }
    const floodedFor = (performance.now() - started) / 1000;
    // Everything delivered has arrived once a line sent after it arrives.
    await student.send("after the flood");
    await observer.received.waitFor("student: after the flood");
    const isFlood = (line: string) => /^f\d+: f\d+ line \d+$/.test(line);
    const delivered = observer.lines.slice(from).filter(isFlood).length;
    const times = observer.received.times.slice(from).filter((_, i) =>
      isFlood(observer.lines[from + i])
    );
    let busiestSecond = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] > 1000) j++;
      busiestSecond = Math.max(busiestSecond, i - j + 1);
    }
    const allowed = ceiling + ceiling * floodedFor;
    console.log(
      `tried: ${senders} senders from 127.0.0.2-${
        senders + 1
      }, 60 lines each ` +
        `in ${floodedFor.toFixed(1)} s, and an honest student. held: ` +
        `${delivered} flood lines reached the room (at most ${
          allowed.toFixed(0)
        } allowed by --room-rate ${ceiling}), busiest second ${busiestSecond}; ` +
        `the honest line got through`,
    );
    assert.ok(delivered <= allowed, `${delivered} > ${allowed}`);
    // One second's worth at once plus one second's refill, with slack for
    // arrival jitter at the observer.
    assert.ok(busiestSecond <= 2 * ceiling + 10, `${busiestSecond}`);
    // The ceiling holds the room back but still lets the flooders speak.
    assert.ok(delivered >= ceiling, `${delivered}`);
  },
});

Deno.test({
  name:
    "many addresses: the host bans 127.0.0.0/28; everyone in it is disconnected and refused, others stay; /who groups by address",
  ignore,
  async fn() {
    await using server = await ChatProcess.serve(
      ["--max-per-ip", "0"],
      { stdin: true, limits: true },
    );
    await using crowd = await Addresses.create(server.port);
    // 20 connections from 127.0.0.2-21: the even ones join, the rest watch.
    for (let n = 2; n <= 21; n++) {
      await crowd.open(n, loopback(n));
      if (n % 2 === 0) {
        await crowd.send(n, `/nick c${n}`);
        await server.stdout.waitFor(`*** c${n} joined`);
      }
    }
    // Two joined from one address show as one group in the host's /who.
    await crowd.open(40, loopback(40));
    await crowd.send(40, "/nick alice");
    await crowd.open(41, loopback(40));
    await crowd.send(41, "/nick bob");
    await server.stdout.waitFor("*** bob joined");
    await server.type("/who");
    const who = await server.stdout.waitFor((line) =>
      line.startsWith("*** Online (")
    );
    assert.ok(who.includes("alice + bob (127.0.0.40)"), who);

    await server.type("/ban 127.0.0.0/28");
    await server.stdout.waitFor(
      "*** 127.0.0.0/28 is banned until the server stops.",
    );
    const inRange = [...Array(14)].map((_, i) => i + 2); // .2-.15
    for (const n of inRange) {
      await crowd.waitFor((e) => e.ev === "closed" && e.id === n);
      assert.equal(
        crowd.linesOf(n).at(-1),
        lines.removed(disconnectedReasons.banned),
      );
    }
    // Those outside it are still served: they answer a /ping.
    for (let n = 16; n <= 21; n++) {
      await crowd.send(n, "/ping");
      await crowd.waitFor((e) =>
        e.ev === "line" && e.id === n && e.text === lines.pong()
      );
      assert.ok(!crowd.closed(n));
    }
    // A new connection from inside the range is refused at once.
    assert.equal(await crowd.open(60, loopback(9)), lines.banned());
    await crowd.waitFor((e) => e.ev === "closed" && e.id === 60);
    assert.equal(await crowd.open(61, loopback(16)), lines.greeting());
    console.log(
      `tried: 20 connections from 127.0.0.2-21 (half joined), /ban 127.0.0.0/28 at the console, ` +
        `then reconnecting from 127.0.0.9. held: the 14 in the range were disconnected ` +
        `("banned by the host"), the 6 outside kept, 127.0.0.9 refused, 127.0.0.16 served; ` +
        `/who showed "${who}"`,
    );
  },
});
