/**
 * The load generator: one run of one scenario against one running server.
 *
 * Clients connect in batches and join (`/nick bN`, then wait for the
 * welcome or rename notice; against ncat, connected is joined). When the
 * server's plan says so, every other client (odd indices) first sends
 * `/proto 1` and from the server's `proto` answer on reads JSON Lines
 * (`structured.ts`), checking each message's token exactly as a plain
 * client does, and each event's `seq` for increase. Lines a server sends a
 * connection before it has joined (a watcher gets the room's lines) only
 * matter for spotting its welcome or an error. Once every client has joined
 * and the room has gone quiet, the senders send for the scenario's duration,
 * either at a fixed rate spread evenly in time or as fast as their sockets
 * take the lines. Every client (the senders too) reads
 * and checks every line; afterwards the run waits (bounded) for the last
 * deliveries, reads the server's CPU time and peak memory, and, in the
 * stalled scenario, drains the stalled clients to see which the server
 * disconnected.
 *
 * Stalled clients read until they have joined, then never again. Deno
 * cannot shrink a socket's receive buffer (no setsockopt), and it would not
 * help much: on loopback the server's send buffer grows to `tcp_wmem`'s
 * 4 MiB, so a never-reading peer soaks up 3 to 4 MB before the server
 * notices anything (measured: 4.3 MB by default, 3.0 MB with SO_RCVBUF at
 * 4 KiB).
 *
 * Every wait here has a bound, so a server that stops answering cannot hang
 * the bench.
 *
 * @module
 */

import { cpuSeconds, machineBusySeconds, memoryMiB } from "./proc.ts";
import type { Scenario } from "./scenarios.ts";
import { type RunningServer, sleep } from "./servers.ts";
import {
  cpuPerMillion,
  deliveryRatio,
  type Figures,
  LatencyRecorder,
  SequenceTracker,
} from "./stats.ts";
import {
  classifyJsonLine,
  type JsonEvent,
  type JsonInfo,
  PROTO_REQUEST,
} from "./structured.ts";
import {
  classifyLine,
  clientName,
  formatMessage,
  LINE_BROKEN,
  LINE_MESSAGE,
  LINE_NOTICE,
  LineScanner,
  MESSAGE_BYTES,
  type Token,
} from "./token.ts";

/** Clients connected and joined together before the next batch starts. */
const BATCH = 100;
/** Batch size for a server that must be seen to accept (ncat's backlog). */
const ACCEPT_BATCH = 10;
/** Longest wait for one batch to connect, then to join. */
const BATCH_MS = 15_000;
/** The room counts as quiet after this long without a byte. */
const QUIET_MS = 300;
/** Longest wait for the room to go quiet after the joins. */
const SETTLE_MAX_MS = 15_000;
/** After the load, stop waiting once no delivery came for this long... */
const DRAIN_IDLE_MS = 1000;
/** ...or after this long in all. */
const DRAIN_MAX_MS = 10_000;
/** A drained stalled client still connected goes quiet for this long. */
const STALLED_QUIET_MS = 1000;
/** Longest time to drain the stalled clients. */
const STALLED_MAX_MS = 20_000;
/** Lines per write for a full-speed sender. */
const FULL_SPEED_BATCH = 50;
/** Bytes of every line on the wire from a sender. */
const LINE_BYTES = MESSAGE_BYTES + 1;
/** Broken lines kept as examples for the report. */
const BROKEN_SAMPLES = 5;
const BRACE_OPEN = 0x7b;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one run measured: figures, or the reason it could not finish. */
export interface RunResult {
  figures: Figures;
  /** Why the run failed, if it did; figures then hold what was measured. */
  error?: string;
  /** A few received lines that were not whole messages. */
  brokenSamples: string[];
  /** Fingerprint of our server's source when the run started. */
  source?: string;
}

/** Counters shared by every client of a run. */
class RunStats {
  measuring = false;
  deliveries = 0;
  echoes = 0;
  notices = 0;
  tooSlowNotices = 0;
  broken = 0;
  lastDeliveryMs = 0;
  bytesReceived = 0;
  lastByteMs = 0;
  /** Structured events whose `seq` was not above the one before. */
  seqErrors = 0;
  readonly latency = new LatencyRecorder();
  readonly brokenSamples: string[] = [];
}

/** Arrival time, in microseconds, of the chunk being scanned. */
let chunkMicros = 0;
const token: Token = { sender: 0, seq: 0, sentMicros: 0 };
const jsonInfo: JsonInfo = { seq: 0, event: null };

/** One TCP client of the bench. */
class BenchClient {
  readonly index: number;
  readonly name: string;
  readonly stalled: boolean;
  /** Speaks the structured protocol (JSON Lines) instead of plain text. */
  readonly structured: boolean;
  readonly tracker: SequenceTracker;
  conn: Deno.TcpConn | undefined;
  joined = false;
  ended = false;
  joinProblem = "";
  lastByteMs = 0;
  /** Bytes fully handed to the socket, for sent-line counting. */
  bytesSent = 0;
  /** Lines from others this client got while measuring. */
  deliveries = 0;
  readonly #stats: RunStats;
  readonly #senders: number;
  readonly #bufferBytes: number;
  readonly #joinPattern: RegExp;
  readonly #scanner: LineScanner;
  #paused = false;
  #resume: (() => void) | undefined;
  #onJoined: (() => void) | undefined;
  #onJoinFailed: ((error: Error) => void) | undefined;
  #failed = false;
  /** Structured only: the server has answered `/proto 1`. */
  #switched = false;
  /** Structured only: the `seq` of the last event. */
  #lastSeq = -1;

  constructor(
    index: number,
    options: {
      stalled: boolean;
      structured: boolean;
      senders: number;
      bufferBytes: number;
      stats: RunStats;
    },
  ) {
    this.index = index;
    this.name = clientName(index);
    this.stalled = options.stalled;
    this.structured = options.structured;
    this.tracker = new SequenceTracker(Math.max(1, options.senders));
    this.#stats = options.stats;
    this.#senders = options.senders;
    this.#bufferBytes = options.bufferBytes;
    this.#joinPattern = new RegExp(
      `Welcome, ${this.name}!|is now known as ${this.name}(?![\\w-])`,
    );
    this.#scanner = new LineScanner((bytes, start, end) =>
      this.#line(bytes, start, end)
    );
  }

  /**
   * Connects, starts reading and, when the server wants it, asks for a name;
   * a structured client first asks for the structured protocol, in the same
   * write.
   */
  async connect(port: number, joins: boolean): Promise<void> {
    const joined = new Promise<void>((resolve, reject) => {
      this.#onJoined = resolve;
      this.#onJoinFailed = reject;
    });
    joined.catch(() => {}); // awaited below; the read loop may reject first
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    this.conn = conn;
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    this.#readLoop(conn);
    if (joins) {
      const nick = `/nick ${this.name}\n`;
      await this.write(
        encoder.encode(
          this.structured ? `${PROTO_REQUEST}\n${nick}` : nick,
        ),
      );
      await joined;
    } else {
      this.#markJoined();
    }
  }

  /** Writes all of `bytes`; rejects if the connection fails. */
  async write(bytes: Uint8Array): Promise<void> {
    const conn = this.conn!;
    for (let offset = 0; offset < bytes.length;) {
      const written = await conn.write(bytes.subarray(offset));
      offset += written;
      this.bytesSent += written;
    }
  }

  /** Stops reading (the stalled clients, once joined). */
  pause(): void {
    this.#paused = true;
  }

  /** Reads again, discarding what arrives. */
  resume(): void {
    this.#paused = false;
    this.#resume?.();
  }

  close(): void {
    try {
      this.conn?.close();
    } catch { /* already closed */ }
    this.resume();
  }

  #markJoined(): void {
    this.joined = true;
    this.#onJoined?.();
  }

  #failJoin(problem: string): void {
    if (this.#failed) return; // the first problem is the one to report
    this.#failed = true;
    this.joinProblem = problem;
    this.#onJoinFailed?.(new Error(`${this.name}: ${problem}`));
  }

  async #readLoop(conn: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(this.#bufferBytes);
    const stats = this.#stats;
    try {
      while (true) {
        if (this.#paused) {
          await new Promise<void>((resolve) => this.#resume = resolve);
          this.#resume = undefined;
        }
        const count = await conn.read(buffer);
        if (count === null) break;
        const now = performance.now();
        chunkMicros = now * 1000;
        this.lastByteMs = now;
        stats.bytesReceived += count;
        stats.lastByteMs = now;
        this.#scanner.push(buffer.subarray(0, count));
      }
    } catch { /* reset or closed: the connection is over either way */ }
    this.ended = true;
    if (!this.joined && !this.joinProblem) {
      this.joinProblem = "the server closed the connection";
    }
  }

  #line(bytes: Uint8Array, start: number, end: number): void {
    if (this.structured) {
      this.#jsonLine(bytes, start, end);
      return;
    }
    const kind = classifyLine(bytes, start, end, token);
    const stats = this.#stats;
    if (!this.joined) {
      // A server may send a connection the room's lines before it joins
      // (it watches): only its welcome or an error matters here.
      if (kind !== LINE_NOTICE) return;
      const text = decoder.decode(bytes.subarray(start, end));
      if (this.#joinPattern.test(text)) this.#markJoined();
      else if (text.startsWith("*** error")) this.joinProblem = text;
      return;
    }
    if (!stats.measuring || this.stalled) return;
    if (kind === LINE_MESSAGE) {
      this.#message(bytes, start, end);
    } else if (kind === LINE_NOTICE) {
      stats.notices++;
      if (
        decoder.decode(bytes.subarray(start, end)).endsWith("(too slow)")
      ) {
        stats.tooSlowNotices++;
      }
    } else {
      this.#broken(bytes, start, end);
    }
  }

  /**
   * A line to a structured client: before the server's `proto` answer,
   * plain-text room lines (skipped); then one JSON event per line.
   */
  #jsonLine(bytes: Uint8Array, start: number, end: number): void {
    const stats = this.#stats;
    if (!this.#switched) {
      if (bytes[start] === BRACE_OPEN) {
        const kind = classifyJsonLine(bytes, start, end, token, jsonInfo);
        if (kind === LINE_NOTICE && jsonInfo.event!.type === "proto") {
          this.#switched = true;
          this.#lastSeq = jsonInfo.seq;
          const version = jsonInfo.event!.version;
          if (version !== 1) {
            this.#failJoin(
              `the server switched to protocol version ${version}`,
            );
          }
          return;
        }
      }
      if (classifyLine(bytes, start, end, token) !== LINE_NOTICE) return;
      const text = decoder.decode(bytes.subarray(start, end));
      if (this.#joinPattern.test(text)) {
        this.#failJoin(
          "joined in plain text without answering /proto 1: the server does not speak the structured protocol",
        );
      } else if (text.startsWith("*** error")) {
        this.#failJoin(`the server answered /proto 1 with: ${text}`);
      }
      return;
    }
    const kind = classifyJsonLine(bytes, start, end, token, jsonInfo);
    if (kind !== LINE_BROKEN) {
      if (jsonInfo.seq <= this.#lastSeq) stats.seqErrors++;
      this.#lastSeq = jsonInfo.seq;
    }
    const event = jsonInfo.event;
    if (!this.joined) {
      if (kind !== LINE_NOTICE) return;
      if (
        (event!.type === "welcome" && event!.name === this.name) ||
        (event!.type === "renamed" && event!.to === this.name)
      ) {
        this.#markJoined();
      } else if (event!.type === "error") {
        this.joinProblem = `error ${event!.code}: ${event!.text}`;
      }
      return;
    }
    if (!stats.measuring || this.stalled) return;
    if (kind === LINE_MESSAGE) {
      this.#message(bytes, start, end);
    } else if (kind === LINE_NOTICE) {
      stats.notices++;
      if (isTooSlowLeave(event!)) stats.tooSlowNotices++;
    } else {
      this.#broken(bytes, start, end);
    }
  }

  /** A whole message, its token in `token`. */
  #message(bytes: Uint8Array, start: number, end: number): void {
    const stats = this.#stats;
    if (token.sender >= this.#senders) {
      this.#broken(bytes, start, end); // not one of this run's senders
    } else if (token.sender === this.index) {
      stats.echoes++;
    } else {
      stats.deliveries++;
      this.deliveries++;
      stats.lastDeliveryMs = chunkMicros / 1000;
      stats.latency.add(chunkMicros - token.sentMicros);
      this.tracker.record(token.sender, token.seq);
    }
  }

  #broken(bytes: Uint8Array, start: number, end: number): void {
    const stats = this.#stats;
    stats.broken++;
    if (stats.brokenSamples.length < BROKEN_SAMPLES) {
      stats.brokenSamples.push(
        decoder.decode(bytes.subarray(start, Math.min(end, start + 300))),
      );
    }
  }
}

/** The structured form of `*** bN left (too slow)`. */
function isTooSlowLeave(event: JsonEvent): boolean {
  return event.type === "left" && event.reason === "too-slow";
}

/**
 * Resolves with `promise`, or rejects after `ms` or as soon as the server
 * exits, saying what was awaited.
 */
function whileAlive<T>(
  server: RunningServer,
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  return new Promise<T>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms ${what}`)),
      ms,
    );
    poll = setInterval(() => {
      if (!server.alive()) reject(new Error(`the server exited ${what}`));
    }, 50);
    promise.then(resolve, reject);
  }).finally(() => {
    clearTimeout(timer);
    clearInterval(poll);
  });
}

/** Polls `done` every 20 ms until it is true or `ms` have passed. */
async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() >= end) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Connects and joins every client, a batch at a time. A server without a
 * join step (ncat) counts a client as joined once it has accepted it, seen
 * as one more open file; its listen backlog is only 10, so its batches are
 * small, and a connection left in the backlog would otherwise miss lines.
 */
async function joinAll(
  clients: BenchClient[],
  server: RunningServer,
): Promise<void> {
  const joins = server.plan.joins;
  const batchSize = joins ? BATCH : ACCEPT_BATCH;
  const filesBefore = server.openFiles();
  let joined = 0;
  for (let first = 0; first < clients.length; first += batchSize) {
    const batch = clients.slice(first, first + batchSize);
    const attempts = batch.map((client) => client.connect(server.port, joins));
    const accepted = first + batch.length;
    try {
      await whileAlive(
        server,
        Promise.all(attempts).then(async () => {
          if (joins) return;
          const ok = await waitUntil(
            () =>
              !server.alive() || server.openFiles() - filesBefore >= accepted,
            BATCH_MS,
          );
          if (!ok) throw new Error("the server did not accept them");
        }),
        BATCH_MS,
        `waiting for clients ${first} to ${accepted - 1} to join`,
      );
      joined = accepted;
    } catch (error) {
      attempts.forEach((attempt) => attempt.catch(() => {}));
      if (joins) joined = clients.filter((client) => client.joined).length;
      const problem = clients.find((client) => client.joinProblem)
        ?.joinProblem;
      const message = (error as Error).message;
      throw new Error(
        `${joined} of ${clients.length} clients joined: ${message}${
          problem && !message.includes(problem)
            ? `; a client got: ${problem}`
            : ""
        }${server.stderr() ? `; server said: ${server.stderr()}` : ""}`,
      );
    }
  }
}

/**
 * Sends `rate` lines per second from each sender for `seconds`, sender k's
 * lines offset by k/S of an interval so that sends are spread evenly. A
 * sender whose socket is still busy sends its late lines in one write as
 * soon as it is free.
 */
async function sendAtRate(
  senders: BenchClient[],
  rate: number,
  seconds: number,
  start: number,
): Promise<void> {
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const end = start + seconds * 1000;
  const handedOver = senders.map(() => 0);
  const busy = senders.map(() => false);
  while (true) {
    const now = performance.now();
    if (now >= end) return;
    let next = end;
    senders.forEach((sender, k) => {
      const offset = (k * interval) / senders.length;
      if (!busy[k]) {
        const due = Math.min(
          total,
          now < start + offset
            ? 0
            : Math.floor((now - start - offset) / interval) + 1,
        );
        if (due > handedOver[k]) {
          const sentMicros = now * 1000;
          let text = "";
          for (let seq = handedOver[k] + 1; seq <= due; seq++) {
            text += formatMessage(sender.index, seq, sentMicros) + "\n";
          }
          handedOver[k] = due;
          busy[k] = true;
          sender.write(encoder.encode(text)).then(
            () => busy[k] = false,
            () => {/* the connection is gone; this sender stays busy */},
          );
        }
      }
      if (!busy[k] && handedOver[k] < total) {
        next = Math.min(next, start + offset + handedOver[k] * interval);
      }
    });
    // A busy sender is looked at again within a millisecond or two.
    await sleep(Math.max(0, Math.min(next - performance.now(), 2)));
  }
}

/** Sends as fast as the socket takes it, until `end`, from one sender. */
async function sendFullSpeed(
  server: RunningServer,
  sender: BenchClient,
  end: number,
): Promise<void> {
  let seq = 0;
  while (performance.now() < end) {
    const sentMicros = performance.now() * 1000;
    let text = "";
    for (let i = 0; i < FULL_SPEED_BATCH; i++) {
      text += formatMessage(sender.index, ++seq, sentMicros) + "\n";
    }
    try {
      await whileAlive(
        server,
        sender.write(encoder.encode(text)),
        Math.max(1, end - performance.now()),
        "writing",
      );
    } catch {
      return; // blocked past the end of the load, or the connection failed
    }
  }
}

/**
 * Runs `scenario` once against `server` (already started, and stopped by
 * the caller) and returns every figure.
 */
export async function runScenario(
  scenario: Scenario,
  server: RunningServer,
): Promise<RunResult> {
  const stats = new RunStats();
  const total = scenario.clients + scenario.stalled;
  const bufferBytes = total > 200 ? 16 * 1024 : 256 * 1024;
  const clients = Array.from(
    { length: total },
    (_, index) =>
      new BenchClient(index, {
        stalled: index >= scenario.clients,
        // Every other client, when the server speaks the structured protocol.
        structured: server.plan.structured && server.plan.joins &&
          index % 2 === 1,
        senders: scenario.senders,
        bufferBytes,
        stats,
      }),
  );
  const readers = clients.filter((client) => !client.stalled);
  const stalled = clients.filter((client) => client.stalled);
  const senders = clients.slice(0, scenario.senders);
  const figures: Figures = {
    clients: scenario.clients,
    stalledClients: scenario.stalled,
  };
  try {
    await sleep(300);
    figures.baselineRssMiB = memoryMiB(server.pid).rssMiB;

    const joinStart = performance.now();
    await joinAll(clients, server);
    figures.joinSeconds = (performance.now() - joinStart) / 1000;
    for (const client of stalled) client.pause();
    const settled = await waitUntil(
      () => performance.now() - stats.lastByteMs >= QUIET_MS,
      SETTLE_MAX_MS,
    );
    if (!settled) throw new Error("the room never went quiet after the joins");

    const serverCpuStart = cpuSeconds(server.pid);
    const generatorCpuStart = cpuSeconds("self");
    const machineCpuStart = machineBusySeconds();
    const start = performance.now();
    // From here on bytesSent counts message lines only (the same bytes
    // whichever protocol a client reads), not /proto and /nick.
    for (const client of clients) client.bytesSent = 0;
    stats.measuring = true;

    if (scenario.senders === 0) {
      await sleep(scenario.seconds * 1000);
    } else if (scenario.rate > 0) {
      await sendAtRate(senders, scenario.rate, scenario.seconds, start);
    } else {
      const end = start + scenario.seconds * 1000;
      await Promise.all(
        senders.map((sender) => sendFullSpeed(server, sender, end)),
      );
    }
    const loadEnd = performance.now();
    const linesOf = (client: BenchClient) =>
      Math.floor(client.bytesSent / LINE_BYTES);
    const linesSent = () =>
      senders.reduce((sum, sender) => sum + linesOf(sender), 0);
    const expected = () => linesSent() * (readers.length - 1);
    if (scenario.senders > 0) {
      let last = -1;
      let lastChange = performance.now();
      await waitUntil(() => {
        if (stats.deliveries !== last) {
          last = stats.deliveries;
          lastChange = performance.now();
        }
        return stats.deliveries >= expected() ||
          performance.now() - lastChange >= DRAIN_IDLE_MS;
      }, DRAIN_MAX_MS);
    }
    const measuredEnd = performance.now();
    stats.measuring = false;

    const serverCpu = cpuSeconds(server.pid) - serverCpuStart;
    const generatorCpu = cpuSeconds("self") - generatorCpuStart;
    const otherCpu = machineBusySeconds() - machineCpuStart - serverCpu -
      generatorCpu;
    const measuredSeconds = (measuredEnd - start) / 1000;
    const memory = memoryMiB(server.pid);
    const lines = linesSent();
    const loadSeconds = (loadEnd - start) / 1000;
    const windowSeconds = Math.max(
      loadSeconds,
      (stats.lastDeliveryMs - start) / 1000,
    );
    const latency = stats.latency.summary();
    const ratio = deliveryRatio(stats.deliveries, lines, readers.length);
    // Each half's own delivery ratio, when some clients spoke JSON.
    const jsonClients = clients.filter((client) => client.structured).length;
    const halfRatio = (structured: boolean) => {
      const half = readers.filter((c) => c.structured === structured);
      const wanted = half.reduce((sum, c) => sum + lines - linesOf(c), 0);
      return jsonClients === 0 || wanted === 0 ? null : (half.reduce(
        (sum, c) => sum + c.deliveries,
        0,
      ) / wanted) * 100;
    };
    Object.assign(figures, {
      linesSent: lines,
      offeredLinesPerSec: scenario.senders ? lines / loadSeconds : null,
      deliveries: stats.deliveries,
      expectedDeliveries: expected(),
      deliveriesPerSec: scenario.senders
        ? stats.deliveries / windowSeconds
        : null,
      deliveryRatioPct: ratio === null ? null : ratio * 100,
      latencyP50Ms: latency.p50Ms,
      latencyP90Ms: latency.p90Ms,
      latencyP99Ms: latency.p99Ms,
      latencyMaxMs: latency.maxMs,
      outOfOrder: readers.reduce((sum, c) => sum + c.tracker.outOfOrder, 0),
      duplicates: readers.reduce((sum, c) => sum + c.tracker.duplicates, 0),
      brokenLines: stats.broken,
      jsonClients,
      jsonDeliveryRatioPct: halfRatio(true),
      plainDeliveryRatioPct: halfRatio(false),
      jsonSeqErrors: jsonClients === 0 ? null : stats.seqErrors,
      echoes: stats.echoes,
      notices: stats.notices,
      tooSlowNotices: stats.tooSlowNotices,
      readersDisconnected: readers.filter((client) => client.ended).length,
      serverCpuSeconds: serverCpu,
      serverCpuPercent: (serverCpu / measuredSeconds) * 100,
      serverCpuPerMillion: cpuPerMillion(serverCpu, stats.deliveries),
      serverRssMiB: memory.rssMiB,
      serverPeakRssMiB: memory.peakRssMiB,
      // Memory per connection means something only when nothing is queued.
      perConnectionKiB: scenario.senders === 0 && memory.rssMiB !== null &&
          figures.baselineRssMiB !== null
        ? ((memory.rssMiB - figures.baselineRssMiB) * 1024) / total
        : null,
      generatorCpuSeconds: generatorCpu,
      generatorCpuPercent: (generatorCpu / measuredSeconds) * 100,
      // Anything else running disturbs the figures: the kernel's own work
      // for loopback traffic shows up here too, so a few percent is normal.
      otherCpuPercent: Math.max(0, otherCpu / measuredSeconds) * 100,
      windowSeconds,
    });

    if (stalled.length > 0) {
      // Read what the stalled clients were sent: the ones the server dropped
      // reach the end of their stream, the others go quiet.
      const resumed = performance.now();
      for (const client of stalled) {
        client.lastByteMs = resumed;
        client.resume();
      }
      await waitUntil(
        () =>
          stalled.every((client) =>
            client.ended ||
            performance.now() - client.lastByteMs >= STALLED_QUIET_MS
          ),
        STALLED_MAX_MS,
      );
      figures.stalledDisconnected = stalled.filter((c) => c.ended).length;
    }
    if (!server.alive()) throw new Error("the server exited during the run");
    return { figures, brokenSamples: stats.brokenSamples };
  } catch (error) {
    return {
      figures,
      error: (error as Error).message,
      brokenSamples: stats.brokenSamples,
    };
  } finally {
    for (const client of clients) client.close();
  }
}
