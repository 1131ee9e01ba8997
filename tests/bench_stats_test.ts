/**
 * Unit tests for the benchmark's statistics and line checking (bench/):
 * what `deno task bench` reports is only as good as this code.
 */

import assert from "node:assert/strict";
import {
  cpuPerMillion,
  deliveryRatio,
  extreme,
  type Figures,
  LatencyRecorder,
  median,
  medianFigures,
  ratio,
  SequenceTracker,
} from "../bench/stats.ts";
import {
  checkDigits,
  classifyLine,
  formatMessage,
  LINE_BROKEN,
  LINE_MESSAGE,
  LINE_NOTICE,
  LineScanner,
  MESSAGE_BYTES,
  type Token,
} from "../bench/token.ts";
import { classifyJsonLine, type JsonInfo } from "../bench/structured.ts";
import {
  parseBusyTicks,
  parseCpuTicks,
  parseStatusKiB,
} from "../bench/proc.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- LatencyRecorder --------------------------------------------------------

Deno.test("LatencyRecorder gives nearest-rank percentiles of small values exactly", () => {
  const recorder = new LatencyRecorder();
  // 1..100 µs in shuffled order: the p-th percentile is p µs.
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  for (let i = 0; i < values.length; i++) {
    recorder.add(values[(i * 37) % 100]);
  }
  assert.equal(recorder.count, 100);
  assert.equal(recorder.percentile(50), 50);
  assert.equal(recorder.percentile(90), 90);
  assert.equal(recorder.percentile(99), 99);
  assert.equal(recorder.percentile(100), 100);
  assert.equal(recorder.percentile(0), 1);
  assert.deepEqual(recorder.summary(), {
    count: 100,
    p50Ms: 0.05,
    p90Ms: 0.09,
    p99Ms: 0.099,
    maxMs: 0.1,
  });
});

Deno.test("LatencyRecorder: p99 of 1,000 samples is the 990th, not the max", () => {
  const recorder = new LatencyRecorder();
  for (let i = 1; i <= 990; i++) recorder.add(100);
  for (let i = 1; i <= 10; i++) recorder.add(1000 + i);
  assert.equal(recorder.percentile(99), 100);
  assert.equal(recorder.percentile(99.1), 1001);
  assert.equal(recorder.summary().maxMs, 1.01);
});

Deno.test("LatencyRecorder stays within 0.1% of the exact percentile for large values", () => {
  const recorder = new LatencyRecorder();
  const values: number[] = [];
  let seed = 12345;
  for (let i = 0; i < 20_000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const value = Math.floor(Math.exp((seed / 2 ** 31) * 20)); // 1 µs to 8 min
    values.push(value);
    recorder.add(value);
  }
  values.sort((a, b) => a - b);
  for (const p of [1, 10, 50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((p / 100) * values.length) - 1];
    const got = recorder.percentile(p);
    assert.ok(got >= exact, `p${p}: ${got} < exact ${exact}`);
    assert.ok(got <= exact * 1.001 + 1, `p${p}: ${got} vs exact ${exact}`);
  }
  assert.equal(recorder.percentile(100), values[values.length - 1]);
});

Deno.test("LatencyRecorder rounds, clamps negatives to 0, and reports nothing when empty", () => {
  const recorder = new LatencyRecorder();
  assert.deepEqual(recorder.summary(), {
    count: 0,
    p50Ms: null,
    p90Ms: null,
    p99Ms: null,
    maxMs: null,
  });
  assert.ok(Number.isNaN(recorder.percentile(50)));
  recorder.add(-5);
  recorder.add(2.6);
  assert.equal(recorder.percentile(50), 0);
  assert.equal(recorder.percentile(100), 3);
  recorder.add(2 ** 40);
  assert.equal(recorder.percentile(100), 0xffffffff);
  recorder.clear();
  assert.equal(recorder.count, 0);
  assert.equal(recorder.summary().maxMs, null);
  assert.throws(() => recorder.percentile(101), RangeError);
});

// --- median, ratios ---------------------------------------------------------

Deno.test("median takes the middle value, or the mean of the two middle ones", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

Deno.test("median ignores runs without the figure", () => {
  assert.equal(median([null, 9, NaN, 1, 4]), 4);
  assert.equal(median([null, NaN]), null);
  assert.equal(median([]), null);
});

Deno.test("medianFigures takes each figure's median across runs", () => {
  assert.deepEqual(
    medianFigures([
      { p99Ms: 3, deliveries: 10, only: 1 },
      { p99Ms: 1, deliveries: 30, only: null },
      { p99Ms: 2, deliveries: 20 },
    ]),
    { p99Ms: 2, deliveries: 20, only: 1 },
  );
  assert.deepEqual(medianFigures([]), {});
});

Deno.test("extreme finds the worst run of several, skipping runs without the figure", () => {
  const runs: Figures[] = [
    { ratio: 100, broken: 0 },
    { ratio: 99.5, broken: 7 },
    { ratio: null, broken: 2 },
    { broken: NaN },
  ];
  assert.equal(extreme(runs, "ratio", "min"), 99.5);
  assert.equal(extreme(runs, "ratio", "max"), 100);
  assert.equal(extreme(runs, "broken", "max"), 7);
  assert.equal(extreme(runs, "broken", "min"), 0);
  assert.equal(extreme(runs, "missing", "max"), null);
  assert.equal(extreme([], "ratio", "min"), null);
});

Deno.test("deliveryRatio counts every line to every reader but its sender", () => {
  assert.equal(deliveryRatio(990, 10, 100), 1);
  assert.equal(deliveryRatio(891, 100, 10), 0.99);
  assert.equal(deliveryRatio(0, 0, 10), null);
  assert.equal(deliveryRatio(0, 10, 1), null);
});

Deno.test("ratio is ours over theirs, and null when it means nothing", () => {
  assert.equal(ratio(2, 4), 0.5);
  assert.equal(ratio(0, 4), 0);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(null, 4), null);
  assert.equal(ratio(4, undefined), null);
  assert.equal(ratio(NaN, 4), null);
});

Deno.test("cpuPerMillion is CPU seconds per million deliveries", () => {
  assert.equal(cpuPerMillion(0.5, 2_000_000), 0.25);
  assert.equal(cpuPerMillion(1, 0), null);
  assert.equal(cpuPerMillion(null, 10), null);
});

// --- SequenceTracker --------------------------------------------------------

Deno.test("SequenceTracker accepts gaps but counts late and repeated lines", () => {
  const tracker = new SequenceTracker(2);
  assert.equal(tracker.record(0, 1), true);
  assert.equal(tracker.record(0, 3), true); // line 2 lost: not an order error
  assert.equal(tracker.record(1, 1), true); // senders are independent
  assert.equal(tracker.record(0, 2), false); // late
  assert.equal(tracker.record(0, 3), false); // repeated
  assert.equal(tracker.record(0, 4), true);
  assert.equal(tracker.outOfOrder, 1);
  assert.equal(tracker.duplicates, 1);
});

// --- message tokens ---------------------------------------------------------

function classify(text: string): { kind: number; token: Token } {
  const bytes = encoder.encode(text);
  const token: Token = { sender: -1, seq: -1, sentMicros: -1 };
  return { kind: classifyLine(bytes, 0, bytes.length, token), token };
}

Deno.test("formatMessage pads every message to the same length", () => {
  const message = formatMessage(12, 345, 6789.4);
  assert.equal(message.length, MESSAGE_BYTES);
  assert.ok(message.startsWith(`T12.345.6789.${checkDigits(12, 345, 6789)}:x`));
  assert.equal(formatMessage(1, 2, 3, 16), "T1.2.3.301291:xx");
  assert.throws(() => formatMessage(1, 2, 3, 10), RangeError);
});

Deno.test("classifyLine reads a message with or without its sender's name", () => {
  const message = formatMessage(7, 42, 1_234_567);
  for (const line of [message, `b7: ${message}`, `b7: ${message}\r`]) {
    const { kind, token } = classify(line);
    assert.equal(kind, LINE_MESSAGE, line);
    assert.deepEqual(token, { sender: 7, seq: 42, sentMicros: 1_234_567 });
  }
});

Deno.test("classifyLine tells notices apart", () => {
  assert.equal(classify("*** b3 joined").kind, LINE_NOTICE);
  assert.equal(classify("*** b3 left (too slow)").kind, LINE_NOTICE);
  assert.equal(classify("**no").kind, LINE_BROKEN);
});

Deno.test("classifyLine rejects spliced, cut and foreign lines", () => {
  const a = formatMessage(1, 5, 1000);
  const b = formatMessage(2, 9, 2000);
  const broken = [
    "", // empty
    "hello", // no token
    a.slice(0, 40), // cut short
    a + "x", // too long
    a.slice(0, 30) + b, // the head of one line, then another whole
    a.slice(0, 50) + b.slice(0, 50), // two halves, two tokens, right length
    a.slice(0, 50) + "T" + a.slice(51), // a second "T" in the padding
    "xxxx" + a, // junk before the token
    `b2: ${a}`, // prefixed with someone else's name
    `b01: ${a}`, // a name that is not b1
    `B1: ${a}`,
    `b1 ${a}`,
    `b1:${a}`,
    "T1.5.9:" + "x".repeat(MESSAGE_BYTES - 7), // no check
    "T1..5.9:" + "x".repeat(MESSAGE_BYTES - 8), // an empty field
    `T1.5.9.${checkDigits(1, 5, 9)} ` + "x".repeat(MESSAGE_BYTES - 14), // wrong separator
    `T1.5.9.${checkDigits(1, 5, 9) + 1}:` + "x".repeat(MESSAGE_BYTES - 14), // wrong check
  ];
  for (const line of broken) {
    assert.equal(classify(line).kind, LINE_BROKEN, JSON.stringify(line));
  }
});

Deno.test("classifyLine rejects a splice that reads as a well-formed token", () => {
  // Two lines from the same sender, cut in the middle of their send times:
  // the head of one then the tail of the other has the right length and a
  // token of the right shape, but a send time that is neither line's.
  const a = formatMessage(1, 44, 1_234_567);
  const b = formatMessage(1, 44, 1_299_999);
  const spliced = a.slice(0, 10) + b.slice(10);
  assert.equal(spliced.length, MESSAGE_BYTES);
  assert.match(spliced, /^T1\.44\.1234999\.\d+:x+$/);
  assert.equal(classify(spliced).kind, LINE_BROKEN);
  assert.equal(
    classify(a.slice(0, 14) + b.slice(14, 20) + a.slice(20)).kind,
    LINE_BROKEN,
  );
  assert.equal(classify(a).kind, LINE_MESSAGE);
  assert.equal(classify(b).kind, LINE_MESSAGE);
});

Deno.test("classifyLine works on a slice of a larger buffer", () => {
  const message = formatMessage(3, 1, 99);
  const bytes = encoder.encode(`junk\nb3: ${message}\nmore`);
  const token: Token = { sender: 0, seq: 0, sentMicros: 0 };
  const start = 5;
  const end = start + 4 + MESSAGE_BYTES;
  assert.equal(classifyLine(bytes, start, end, token), LINE_MESSAGE);
  assert.equal(token.sentMicros, 99);
  assert.equal(classifyLine(bytes, start, end - 1, token), LINE_BROKEN);
});

// --- structured protocol (JSON Lines) ---------------------------------------

const TIME = "2026-12-02T04:05:14.123Z";

/** A message event exactly as the server writes it. */
function jsonMessage(from: string, text: string, seq = 12): string {
  return `{"type":"message","seq":${seq},"time":"${TIME}","from":${
    JSON.stringify(from)
  },"text":${JSON.stringify(text)}}`;
}

function classifyJson(text: string) {
  const bytes = encoder.encode(text);
  const token: Token = { sender: -1, seq: -1, sentMicros: -1 };
  const info: JsonInfo = { seq: -1, event: null };
  return {
    kind: classifyJsonLine(bytes, 0, bytes.length, token, info),
    token,
    info,
  };
}

Deno.test("classifyJsonLine reads a message event and its token", () => {
  const message = formatMessage(3, 17, 123_456);
  const line = jsonMessage("b3", message, 4321);
  for (const text of [line, line + "\r"]) {
    const { kind, token, info } = classifyJson(text);
    assert.equal(kind, LINE_MESSAGE, text);
    assert.deepEqual(token, { sender: 3, seq: 17, sentMicros: 123_456 });
    assert.deepEqual(info, { seq: 4321, event: null });
  }
});

Deno.test("classifyJsonLine reads a message written another way through JSON.parse", () => {
  const message = formatMessage(5, 2, 777);
  const variants = [
    // Keys in another order, spaces, and an extra field.
    JSON.stringify({
      text: message,
      from: "b5",
      time: TIME,
      seq: 9,
      type: "message",
    }),
    `{ "type": "message", "seq": 9, "time": "${TIME}", "from": "b5", "text": "${message}" }`,
    jsonMessage("b5", message, 9).slice(0, -1) + ',"id":"x"}',
    // Escapes that decode to the same text: \u0078 is "x", \u0062 is "b".
    jsonMessage("b5", message, 9).replace(/x"\}$/, '\\u0078"}'),
    jsonMessage("b5", message, 9).replace('"from":"b5"', '"from":"\\u00625"'),
  ];
  for (const line of variants) {
    const { kind, token, info } = classifyJson(line);
    assert.equal(kind, LINE_MESSAGE, line);
    assert.deepEqual(token, { sender: 5, seq: 2, sentMicros: 777 });
    assert.equal(info.seq, 9);
  }
});

Deno.test("classifyJsonLine rejects spliced, cut, foreign and malformed lines", () => {
  const a = formatMessage(1, 5, 1000);
  const b = formatMessage(2, 9, 2000);
  const lineA = jsonMessage("b1", a, 20);
  const lineB = jsonMessage("b2", b, 21);
  const broken = [
    "", // empty
    "b1: " + a, // plain text after the switch
    "*** b4 joined", // a plain notice after the switch
    lineA.slice(0, 60), // cut short
    lineA.slice(0, 90) + lineB, // the head of one line, then another whole
    lineA.slice(0, 95) + lineB.slice(95), // two halves, cut in the token
    lineA + lineB, // two lines glued
    jsonMessage("b2", a), // someone else's name
    jsonMessage("b01", a), // a name that is not b1
    jsonMessage("b1", `b1: ${a}`), // the plain prefix inside the text
    jsonMessage("b1", a + "x"), // too long
    jsonMessage("b1", a.slice(0, 10) + b.slice(10)), // spliced text
    jsonMessage("b1", a).replace('"seq":12', '"seq":012'), // not JSON
    jsonMessage("b1", a).replace('"seq":12', '"seq":-1'), // negative seq
    jsonMessage("b1", a).replace('"seq":12', '"seq":1.5'), // not an integer
    jsonMessage("b1", a).replace('"seq":12,', ""), // no seq
    jsonMessage("b1", a).replace(`"time":"${TIME}",`, ""), // no time
    jsonMessage("b1", a).replace('"from":"b1",', ""), // no sender
    jsonMessage("b1", a).replace('"from":"b1"', '"from":1'), // not a string
    '{"seq":1,"time":"t"}', // no type
    '[{"type":"joined","seq":1,"time":"t","name":"b4"}]', // not an object
    '"message"',
    "null",
  ];
  for (const line of broken) {
    assert.equal(classifyJson(line).kind, LINE_BROKEN, JSON.stringify(line));
  }
  // Not valid UTF-8: broken, never a crash.
  const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
  const token: Token = { sender: 0, seq: 0, sentMicros: 0 };
  assert.equal(
    classifyJsonLine(bytes, 0, bytes.length, token, { seq: 0, event: null }),
    LINE_BROKEN,
  );
});

Deno.test("classifyJsonLine returns other events, unknown types included", () => {
  const events = [
    `{"type":"proto","seq":3,"time":"${TIME}","version":1,"versions":[1],"password":false,"server":"chat"}`,
    `{"type":"welcome","seq":4,"time":"${TIME}","name":"b3","online":["host","b3"],"watchers":0}`,
    `{"type":"left","seq":5,"time":"${TIME}","name":"b4","reason":"too-slow"}`,
    `{"type":"some-future-type","seq":6,"time":"${TIME}","x":{"y":[1]}}`,
  ];
  const seen = events.map((line) => {
    const { kind, info } = classifyJson(line);
    assert.equal(kind, LINE_NOTICE, line);
    return info;
  });
  assert.deepEqual(seen.map((info) => info.seq), [3, 4, 5, 6]);
  assert.deepEqual(
    seen.map((info) => info.event?.type),
    ["proto", "welcome", "left", "some-future-type"],
  );
  assert.equal(seen[0].event?.version, 1);
  assert.equal(seen[1].event?.name, "b3");
  assert.equal(seen[2].event?.reason, "too-slow");
});

Deno.test("classifyJsonLine works on a slice of a larger buffer", () => {
  const message = formatMessage(3, 1, 99);
  const line = jsonMessage("b3", message, 7);
  const bytes = encoder.encode(`junk\n${line}\nmore`);
  const token: Token = { sender: 0, seq: 0, sentMicros: 0 };
  const info: JsonInfo = { seq: 0, event: null };
  const start = 5;
  const end = start + line.length;
  assert.equal(classifyJsonLine(bytes, start, end, token, info), LINE_MESSAGE);
  assert.equal(token.sentMicros, 99);
  assert.equal(info.seq, 7);
  assert.equal(
    classifyJsonLine(bytes, start, end - 1, token, info),
    LINE_BROKEN,
  );
  // Past the newline: the next line's start is not part of the JSON.
  assert.equal(
    classifyJsonLine(bytes, start, end + 2, token, info),
    LINE_BROKEN,
  );
});

// --- LineScanner ------------------------------------------------------------

function scan(chunks: string[], maxLineBytes?: number) {
  const lines: string[] = [];
  const scanner = new LineScanner(
    (bytes, start, end) =>
      lines.push(decoder.decode(bytes.subarray(start, end))),
    maxLineBytes,
  );
  for (const chunk of chunks) scanner.push(encoder.encode(chunk));
  return { lines, scanner };
}

Deno.test("LineScanner splits lines within and across chunks", () => {
  const { lines, scanner } = scan(["one\ntw", "", "o\nthr", "ee", "\nfour"]);
  assert.deepEqual(lines, ["one", "two", "three"]);
  assert.equal(scanner.pendingBytes, 4);
});

Deno.test("LineScanner keeps a long line split over many chunks intact", () => {
  const long = "y".repeat(5000);
  const chunks = long.match(/.{1,7}/g)!.concat(["\nnext\n"]);
  assert.deepEqual(scan(chunks).lines, [long, "next"]);
});

Deno.test("LineScanner skips a line over its limit and carries on", () => {
  const { lines, scanner } = scan([
    "short\n",
    "z".repeat(30),
    "z".repeat(30),
    "zz\nok\n",
  ], 50);
  assert.deepEqual(lines, ["short", "ok"]);
  assert.equal(scanner.oversize, 1);
});

// --- /proc parsing ----------------------------------------------------------

Deno.test("parseCpuTicks adds utime and stime, whatever the command name", () => {
  const stat =
    "4242 (deno (main) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 30 0 0 20 0 9 0 100 0 0";
  assert.equal(parseCpuTicks(stat), 280);
  assert.throws(() => parseCpuTicks("garbage"));
});

Deno.test("parseStatusKiB reads VmHWM and VmRSS", () => {
  const status =
    "Name:\tdeno\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
  assert.equal(parseStatusKiB(status, "VmHWM"), 51200);
  assert.equal(parseStatusKiB(status, "VmRSS"), 40960);
  assert.equal(parseStatusKiB(status, "VmSwap"), null);
});

Deno.test("parseBusyTicks counts all but idle and iowait", () => {
  const stat = "cpu  100 5 50 900 10 1 2 3 0 0\ncpu0 50 2 25 450 5 0 1 1 0 0\n";
  assert.equal(parseBusyTicks(stat), 161);
  assert.throws(() => parseBusyTicks("intr 1 2 3\n"));
});
