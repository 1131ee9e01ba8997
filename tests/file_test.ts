/**
 * Issue 12, file sharing: `/send` and `/get` in `chat connect` (pipe
 * mode), the structured requests behind them, the server's limits
 * (per file, in total with the oldest dropped, `--no-files`), files for
 * one person, safe names that never overwrite, the web download link, and
 * chat lines that keep flowing while a file is on its way (measured).
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  FileStore,
  formatSize,
  safeFileName,
  sha256Hex,
} from "../lib/file_store.ts";
import { parseClientJson } from "../lib/render_json.ts";
import { ChatProcess, deadline, sleep, TcpClient } from "./harness.ts";
import { type JsonEvent, JsonPeer } from "./json_peer.ts";
import { serveWithWeb } from "./web_helpers.ts";

/** `size` random bytes (getRandomValues gives at most 64 KiB a call). */
function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

/** A file of `size` random bytes in a new temporary folder. */
async function randomFile(
  size: number,
  name = "data.bin",
): Promise<{ dir: string; path: string; bytes: Uint8Array }> {
  const dir = await Deno.makeTempDir({ prefix: "chat-file-test-" });
  const bytes = randomBytes(size);
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, bytes);
  return { dir, path, bytes };
}

/** A structured peer that joined as `name`. */
async function joinedPeer(port: number, name: string): Promise<JsonPeer> {
  const peer = await JsonPeer.open(port, [`/nick ${name}`]);
  await peer.waitFor((event) => event.type === "welcome");
  return peer;
}

/**
 * Shares `bytes` from `peer` with the structured requests, as `chat
 * connect` does; returns the `file` event it gets back.
 */
async function shareBytes(
  peer: JsonPeer,
  name: string,
  bytes: Uint8Array,
  to?: string,
): Promise<JsonEvent> {
  const from = peer.mark();
  await peer.send({
    type: "file-offer",
    name,
    size: bytes.length,
    sha256: await sha256Hex(bytes),
    ...(to === undefined ? {} : { to }),
  });
  const ready = await peer.waitFor(
    (event) => event.type === "file-ready" || event.type === "error",
    from,
  );
  assert.equal(ready.type, "file-ready", JSON.stringify(ready));
  const chunks: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 2048) {
    chunks.push(JSON.stringify({
      type: "file-chunk",
      upload: ready.upload,
      data: bytes.subarray(offset, offset + 2048).toBase64(),
    }));
  }
  if (chunks.length > 0) await peer.send(chunks.join("\n"));
  return await peer.waitFor((event) => event.type === "file", from);
}

/** Fetches file `id` with `get`: its bytes, from the `file-data` events. */
async function fetchBytes(peer: JsonPeer, id: number): Promise<Uint8Array> {
  const from = peer.mark();
  await peer.send({ type: "get", id });
  const endIndex = await peer.waitForIndex(
    (event) =>
      (event.type === "file-end" && event.id === id) ||
      (event.type === "error" && event.code === "file-gone"),
    from,
  );
  const events = peer.events.slice(from, endIndex + 1);
  const end = events[events.length - 1];
  if (end.type === "error") throw new Error(`file ${id} is gone`);
  const parts = events.filter((event) =>
    event.type === "file-data" && event.id === id
  ).map((event) => Uint8Array.fromBase64(event.data as string));
  const bytes = new Uint8Array(
    parts.reduce((sum, part) => sum + part.length, 0),
  );
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  assert.equal(await sha256Hex(bytes), end.sha256);
  return bytes;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// --- pure helpers ---

Deno.test("safe names: a path is cut to its base name, never a way out of the folder", () => {
  assert.equal(safeFileName("../../etc/passwd"), "passwd");
  assert.equal(safeFileName("..\\..\\windows\\win.ini"), "win.ini");
  assert.equal(safeFileName("/abs/path/x.py"), "x.py");
  assert.equal(safeFileName(".."), "file");
  assert.equal(safeFileName(""), "file");
  assert.equal(safeFileName(".bashrc"), "bashrc");
  assert.equal(safeFileName("a\u0000b\nc.txt"), "abc.txt");
  assert.equal([...safeFileName("x".repeat(500) + ".py")].length, 100);
  assert.ok(safeFileName("x".repeat(500) + ".py").endsWith(".py"));
});

Deno.test("the store drops the oldest files first to make room, and forgets all on clear", () => {
  const store = new FileStore({ maxFileBytes: 100, maxTotalBytes: 250 });
  const add = (name: string) =>
    store.add({
      name,
      sha256: "00",
      from: "alice",
      bytes: new Uint8Array(100),
    });
  assert.equal(store.accepts(101), false);
  assert.equal(store.accepts(100), true);
  assert.equal(add("a").id, 1);
  assert.equal(add("b").id, 2);
  assert.equal(store.totalBytes, 200);
  assert.equal(add("c").id, 3);
  assert.equal(store.get(1), undefined, "the oldest went");
  assert.equal(store.get(2)?.name, "b");
  assert.equal(store.totalBytes, 200);
  assert.match(store.get(3)!.key, /^[0-9a-f]{16}$/);
  store.clear();
  assert.equal(store.count, 0);
  assert.equal(store.totalBytes, 0);
});

Deno.test("sizes read as people write them, in both languages", () => {
  assert.equal(formatSize(812), "812 B");
  assert.equal(formatSize(1536), "1.5 KiB");
  assert.equal(formatSize(1572864), "1.5 MiB");
  assert.equal(formatSize(2 * 1024 * 1024), "2 MiB");
  assert.equal(formatSize(1572864, "fr"), "1,5 Mio");
  assert.equal(formatSize(812, "fr"), "812 o");
});

Deno.test("file requests are checked before the room sees them", () => {
  const sha256 = "a".repeat(64);
  assert.deepEqual(
    parseClientJson(JSON.stringify({
      type: "file-offer",
      name: "x.py",
      size: 3,
      sha256,
    })),
    { type: "file-offer", name: "x.py", size: 3, sha256 },
  );
  const bad = (request: Record<string, unknown>, field: string) =>
    assert.deepEqual(parseClientJson(JSON.stringify(request)), {
      type: "invalid",
      error: { code: "bad-field", args: { field } },
    });
  bad({ type: "file-offer", name: "x", size: -1, sha256 }, "size");
  bad({ type: "file-offer", name: "x", size: 1.5, sha256 }, "size");
  bad({ type: "file-offer", name: "x", size: 1, sha256: "zz" }, "sha256");
  bad({ type: "file-offer", name: 7, size: 1, sha256 }, "name");
  bad({ type: "file-chunk", upload: "1", data: "" }, "upload");
  bad({ type: "file-chunk", upload: 1, data: 5 }, "data");
  bad({ type: "get", id: "3" }, "id");
  assert.deepEqual(parseClientJson('{"type":"get","id":3}'), {
    type: "get",
    id: 3,
  });
});

// --- end to end ---

Deno.test("a 1.5 MiB binary file goes from one chat connect to another, byte for byte, while two others chat", async () => {
  await using server = await ChatProcess.serve();
  await using ann = await TcpClient.join(server.port, "ann");
  await using ben = await TcpClient.join(server.port, "ben");
  const { dir, path, bytes } = await randomFile(1.5 * 1024 * 1024);
  const saveDir = await Deno.makeTempDir({ prefix: "chat-file-save-" });
  try {
    await using alice = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
      { stdin: true },
    );
    await ben.received.waitFor("*** alice joined");
    await using bob = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "bob"],
      { stdin: true },
    );
    await ben.received.waitFor("*** bob joined");

    // ann says a numbered line every 10 ms; ben and bob's arrival times
    // give each line's latency.
    const sentAt: number[] = [];
    let ticking = true;
    const tick = async (max: number) => {
      for (let n = sentAt.length; n < max && ticking; n++) {
        sentAt[n] = performance.now();
        await ann.send(`tick ${n}`);
        await sleep(10);
      }
    };
    const latencies = (
      lines: string[],
      times: number[],
      from: number,
      to: number,
    ) => {
      const result: number[] = [];
      lines.forEach((line, index) => {
        const match = /^ann: tick (\d+)$/.exec(line);
        const n = match ? Number(match[1]) : -1;
        if (n >= from && n < to) result.push(times[index] - sentAt[n]);
      });
      return result;
    };

    // Without a transfer.
    await tick(100);
    await ben.received.waitFor("ann: tick 99");
    await bob.stdout.waitFor("ann: tick 99");
    const quietEnd = sentAt.length;

    // During one: alice shares, bob fetches, ann goes on.
    const ticker = tick(quietEnd + 3000);
    const started = performance.now();
    await alice.type(`/send ${path}`);
    const notice = await bob.stdout.waitFor(/^\*\*\* alice shares "data\.bin"/);
    const id = Number(/\/get (\d+)/.exec(notice)![1]);
    assert.match(notice, new RegExp(`sha256 ${await sha256Hex(bytes)}`));
    assert.match(notice, /\(1\.5 MiB, /);
    await bob.type(`/get ${id} ${saveDir}`);
    await bob.stderr.waitFor(/^\*\*\* file \d+ saved as /, { ms: 30_000 });
    const transferMs = performance.now() - started;
    ticking = false;
    await ticker;
    const busyEnd = sentAt.length;
    await ben.received.waitFor(`ann: tick ${busyEnd - 1}`);
    await bob.stdout.waitFor(`ann: tick ${busyEnd - 1}`);

    const saved = await Deno.readFile(`${saveDir}/data.bin`);
    assert.equal(saved.length, bytes.length);
    assert.deepEqual(saved, bytes, "byte for byte the same");
    // Progress on both sides, a bounded number of lines in pipe mode.
    const upLines = alice.stderr.lines.filter((line) =>
      line.startsWith('*** sending "data.bin"')
    );
    const downLines = bob.stderr.lines.filter((line) =>
      line.startsWith('*** receiving "data.bin"')
    );
    assert.ok(upLines.length >= 1 && upLines.length <= 3, upLines.join("\n"));
    assert.ok(
      downLines.length >= 1 && downLines.length <= 3,
      downLines.join("\n"),
    );

    const figures = (label: string, values: number[]) =>
      `${label}: ${values.length} lines, p50 ${
        percentile(values, 0.5).toFixed(1)
      } ms, p99 ${percentile(values, 0.99).toFixed(1)} ms`;
    const benQuiet = latencies(ben.lines, ben.received.times, 0, quietEnd);
    const benBusy = latencies(ben.lines, ben.received.times, quietEnd, busyEnd);
    const bobQuiet = latencies(bob.stdout.lines, bob.stdout.times, 0, quietEnd);
    const bobBusy = latencies(
      bob.stdout.lines,
      bob.stdout.times,
      quietEnd,
      busyEnd,
    );
    console.log(
      [
        `transfer of 1.5 MiB (send + get): ${transferMs.toFixed(0)} ms`,
        figures("chat latency at nc ben, no transfer", benQuiet),
        figures("chat latency at nc ben, during the transfer", benBusy),
        figures("chat latency at bob (chat connect), no transfer", bobQuiet),
        figures(
          "chat latency at bob (chat connect, downloading), during",
          bobBusy,
        ),
      ].join("\n"),
    );
    assert.ok(benBusy.length > 0 && bobBusy.length > 0);
    // A very generous bound: a chat line never waits behind the file.
    assert.ok(percentile(benBusy, 0.99) < 1000, figures("ben", benBusy));
    assert.ok(percentile(bobBusy, 0.99) < 2000, figures("bob", bobBusy));

    await alice.endInput();
    await bob.endInput();
    assert.equal((await alice.exit()).code, 0, alice.stderr.text);
    assert.equal((await bob.exit()).code, 0, bob.stderr.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(saveDir, { recursive: true });
  }
});

Deno.test("a chat line said during a download reaches the downloader right behind the first chunks, not after the file", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await joinedPeer(server.port, "alice");
  const big = randomBytes(1.5 * 1024 * 1024);
  const file = await shareBytes(alice, "big.bin", big);
  await using bob = await joinedPeer(server.port, "bob");
  const from = bob.mark();
  // In one write: the request, then a line of bob's own.
  await bob.send(
    JSON.stringify({ type: "get", id: file.id }) + "\n" +
      JSON.stringify({ type: "say", text: "still here" }),
  );
  const end = await bob.waitForIndex(
    (event) => event.type === "file-end",
    from,
  );
  const said = await bob.waitForIndex(
    (event) => event.type === "message" && event.text === "still here",
    from,
  );
  const chunksBefore =
    bob.events.slice(from, said).filter((event) => event.type === "file-data")
      .length;
  const chunksInAll =
    bob.events.slice(from, end).filter((event) => event.type === "file-data")
      .length;
  console.log(
    `the line arrived after ${chunksBefore} of ${chunksInAll} chunks`,
  );
  assert.ok(said < end, "the line came before the end of the file");
  assert.ok(chunksBefore <= 4, `${chunksBefore} chunks before the line`);
});

Deno.test("names like ../../etc/passwd are saved as safe names inside the folder, never overwriting", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await joinedPeer(server.port, "alice");
  const content = new TextEncoder().encode("root:x:0:0\n");
  const file = await shareBytes(alice, "../../etc/passwd", content);
  assert.equal(file.name, "passwd");
  const base = await Deno.makeTempDir({ prefix: "chat-file-safe-" });
  try {
    const saveDir = `${base}/in/here`;
    await Deno.mkdir(saveDir, { recursive: true });
    await Deno.writeTextFile(`${saveDir}/passwd`, "keep me");
    await using bob = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "bob"],
      { stdin: true },
    );
    await bob.stdout.waitFor(/^\*\*\* Welcome, bob!/);
    await bob.type(`/get ${file.id} ${saveDir}`);
    await bob.stderr.waitFor(/saved as .*passwd \(1\)/);
    await bob.type(`/get ${file.id} ${saveDir}`);
    await bob.stderr.waitFor(/saved as .*passwd \(2\)/);
    await bob.endInput();
    assert.equal((await bob.exit()).code, 0, bob.stderr.text);
    assert.equal(await Deno.readTextFile(`${saveDir}/passwd`), "keep me");
    assert.equal(
      await Deno.readTextFile(`${saveDir}/passwd (1)`),
      "root:x:0:0\n",
    );
    const entries = [];
    for await (const entry of Deno.readDir(base)) entries.push(entry.name);
    assert.deepEqual(entries, ["in"], "nothing written outside the folder");
    const inside = [];
    for await (const entry of Deno.readDir(saveDir)) inside.push(entry.name);
    assert.deepEqual(inside.sort(), ["passwd", "passwd (1)", "passwd (2)"]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("limits: a file too big is refused, the oldest is dropped for a new one, bad bytes are not shared", async () => {
  await using server = await ChatProcess.serve([
    "--file-max-bytes",
    "1000",
    "--files-max-bytes",
    "2500",
  ]);
  await using alice = await joinedPeer(server.port, "alice");
  await using nc = await TcpClient.join(server.port, "nc");
  const from = alice.mark();
  await alice.send({
    type: "file-offer",
    name: "big",
    size: 1001,
    sha256: "0".repeat(64),
  });
  const refused = await alice.waitFor((event) => event.type === "error", from);
  assert.equal(refused.code, "file-too-big");
  assert.deepEqual(refused.args, { size: 1001, max: 1000 });
  assert.equal(
    refused.text,
    "the file is too big (1001 B): the limit is 1000 B.",
  );
  const files = [];
  for (const name of ["one", "two", "three"]) {
    const bytes = randomBytes(1000);
    files.push({ event: await shareBytes(alice, name, bytes), bytes });
  }
  assert.deepEqual(files.map(({ event }) => event.id), [1, 2, 3]);
  await nc.received.waitFor(
    /^\*\*\* alice shares "three" \(1000 B, sha256 [0-9a-f]{64}\): type \/get 3 in chat connect$/,
  );
  // 3000 bytes do not fit in 2500: file 1 went.
  await assert.rejects(fetchBytes(alice, 1), /file 1 is gone/);
  assert.deepEqual(await fetchBytes(alice, 2), files[1].bytes);
  assert.deepEqual(await fetchBytes(alice, 3), files[2].bytes);
  // Bytes that do not match the SHA-256 offered are not shared.
  const mark = alice.mark();
  await alice.send({
    type: "file-offer",
    name: "liar",
    size: 4,
    sha256: "0".repeat(64),
  });
  const ready = await alice.waitFor(
    (event) => event.type === "file-ready",
    mark,
  );
  await alice.send({
    type: "file-chunk",
    upload: ready.upload,
    data: "AAAAAA==",
  });
  const mismatch = await alice.waitFor((event) => event.type === "error", mark);
  assert.equal(mismatch.code, "file-mismatch");
  // A chunk for no upload is refused.
  await alice.send({ type: "file-chunk", upload: 99, data: "AAAA" });
  await alice.waitFor(
    (event) => event.type === "error" && event.code === "file-no-upload",
    mark,
  );
});

Deno.test("--no-files: offers and gets are refused with one clear line", async () => {
  await using server = await ChatProcess.serve(["--no-files"]);
  await using alice = await joinedPeer(server.port, "alice");
  const from = alice.mark();
  await alice.send({
    type: "file-offer",
    name: "x",
    size: 1,
    sha256: "0".repeat(64),
  });
  await alice.send({ type: "get", id: 1 });
  const first = await alice.waitFor((event) => event.type === "error", from);
  assert.equal(first.code, "files-off");
  assert.equal(first.text, "file sharing is off in this room.");
  const index = await alice.waitForIndex(
    (event) => event.type === "error",
    from,
  );
  const second = await alice.waitFor(
    (event) => event.type === "error",
    index + 1,
  );
  assert.equal(second.code, "files-off");
  // chat connect says it in one line.
  const { dir, path } = await randomFile(10);
  try {
    await using carol = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "carol"],
      { stdin: true },
    );
    await carol.stdout.waitFor(/^\*\*\* Welcome, carol!/);
    await carol.type(`/send ${path}`);
    await carol.stdout.waitFor(
      "*** error: file sharing is off in this room.",
    );
    await carol.endInput();
    assert.equal((await carol.exit()).code, 0, carol.stderr.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("/send NAME PATH: only the sender and that person see the file, and only they may fetch it", async () => {
  await using server = await ChatProcess.serve();
  await using bob = await TcpClient.join(server.port, "bob");
  await using carol = await TcpClient.join(server.port, "carol");
  await using dave = await joinedPeer(server.port, "dave");
  const { dir, path } = await randomFile(5000, "notes.txt");
  try {
    await using alice = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
      { stdin: true },
    );
    await carol.received.waitFor("*** alice joined");
    await alice.type(`/send bob ${path}`);
    const notice = await bob.received.waitFor(/^\*\*\* alice shares/);
    assert.match(
      notice,
      /^\*\*\* alice shares "notes\.txt" with bob \(4\.9 KiB, sha256 [0-9a-f]{64}\): type \/get 1 in chat connect$/,
    );
    await alice.stdout.waitFor(notice);
    await alice.type("done");
    await carol.received.waitFor("alice: done");
    assert.ok(
      !carol.lines.some((line) => line.includes("shares")),
      carol.received.text,
    );
    assert.ok(!dave.events.some((event) => event.type === "file"));
    await assert.rejects(fetchBytes(dave, 1), /file 1 is gone/);
    await alice.endInput();
    assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with --web, the notice's link downloads the same bytes as an attachment; a wrong key or a dropped file is a 404", async () => {
  const { server, webPort } = await serveWithWeb([
    "--files-max-bytes",
    "70000",
  ]);
  await using _server = server;
  await using alice = await joinedPeer(server.port, "alice");
  await using nc = await TcpClient.join(server.port, "nc");
  const bytes = randomBytes(40000);
  const file = await shareBytes(alice, "x y.py", bytes);
  assert.match(file.web as string, /^\/files\/1\/[0-9a-f]{16}\/x%20y\.py$/);
  const url = file.url as string;
  assert.equal(url, `http://127.0.0.1:${webPort}${file.web}`);
  const line = await nc.received.waitFor(/^\*\*\* alice shares "x y\.py"/);
  assert.ok(line.endsWith(`, or download it at ${url}`), line);
  const response = await deadline(fetch(url), "the download");
  assert.equal(response.status, 200);
  assert.equal(
    response.headers.get("content-type"),
    "application/octet-stream",
  );
  assert.match(
    response.headers.get("content-disposition") ?? "",
    /^attachment; filename="x y\.py"/,
  );
  assert.match(
    response.headers.get("content-security-policy") ?? "",
    /default-src 'none'/,
  );
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
  const wrongKey = await fetch(
    url.replace(/\/[0-9a-f]{16}\//, "/0000000000000000/"),
  );
  assert.equal(wrongKey.status, 404);
  await wrongKey.body?.cancel();
  // A second file does not fit with the first: the first link is gone.
  await shareBytes(alice, "second", bytes);
  const gone = await fetch(url);
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
});

Deno.test("one upload at a time per connection: a second offer meanwhile is refused", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await joinedPeer(server.port, "alice");
  const from = alice.mark();
  await alice.send({
    type: "file-offer",
    name: "slow",
    size: 10,
    sha256: "0".repeat(64),
  });
  await alice.waitFor((event) => event.type === "file-ready", from);
  await alice.send({
    type: "file-offer",
    name: "other",
    size: 10,
    sha256: "0".repeat(64),
  });
  const busy = await alice.waitFor((event) => event.type === "error", from);
  assert.equal(busy.code, "file-busy");
});

// --- the page ---

Deno.test("the page's own SHA-256 (for plain-HTTP pages, where crypto.subtle is missing) matches", async () => {
  const { PAGE_JS } = await import("../lib/web_page.ts");
  const start = PAGE_JS.indexOf("  function sha256Hex(bytes) {");
  const end = PAGE_JS.indexOf("  function base64(bytes) {");
  assert.ok(start > 0 && end > start);
  const pageSha256 = new Function(
    "window",
    `${PAGE_JS.slice(start, end)}; return sha256Hex;`,
  )({ isSecureContext: false }) as (bytes: Uint8Array) => Promise<string>;
  for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 100_000]) {
    const bytes = randomBytes(size);
    assert.equal(
      await pageSha256(bytes),
      await sha256Hex(bytes),
      `${size} bytes`,
    );
  }
});

const CHROMIUM = "/usr/bin/chromium";
/** Why the browser cannot be used here, or undefined (decided at load). */
const browserProblem: string | undefined = await (async () => {
  try {
    if (!Deno.statSync(CHROMIUM).isFile) return `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} not found (apt-get install chromium)`;
  }
  try {
    await import("playwright-core");
  } catch {
    return "playwright-core cannot be loaded";
  }
  return undefined;
})();
if (browserProblem) {
  console.log(`file_test.ts: the browser test is skipped: ${browserProblem}`);
}

Deno.test({
  name:
    "a page shares a file with its file button; nc sees the notice, another page gets a download link to the same bytes",
  ignore: browserProblem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const playwright = await import("playwright-core");
    const { server, url } = await serveWithWeb();
    await using _server = server;
    await using nc = await TcpClient.join(server.port, "nc");
    const browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
      timeout: 15_000,
    });
    try {
      const problems: string[] = [];
      const pages = [];
      for (const name of ["alice", "bob"]) {
        const page = await (await browser.newContext()).newPage();
        page.setDefaultTimeout(15_000);
        page.on("pageerror", (error) => problems.push(`${name}: ${error}`));
        await page.goto(url);
        await page.locator("#name").fill(name);
        await page.keyboard.press("Enter");
        await page.locator("#line").waitFor({ state: "visible" });
        await nc.received.waitFor(`*** ${name} joined`);
        pages.push(page);
      }
      const [alice, bob] = pages;
      const bytes = randomBytes(300_000);
      await alice.locator("#file").setInputFiles({
        name: "../exercise 3.py",
        mimeType: "text/x-python",
        buffer: Buffer.from(bytes),
      });
      const line = await nc.received.waitFor(/^\*\*\* alice shares /);
      assert.match(
        line,
        new RegExp(
          `^\\*\\*\\* alice shares "exercise 3\\.py" \\(293 KiB, sha256 ${await sha256Hex(
            bytes,
          )}\\): type /get 1 in chat connect, or download it at http://`,
        ),
      );
      const link = bob.locator(".entry.file a");
      await link.waitFor({ state: "visible" });
      assert.equal(await link.textContent(), "Download");
      const href = await link.getAttribute("href");
      assert.match(href ?? "", /^\/files\/1\/[0-9a-f]{16}\/exercise%203\.py$/);
      const response = await deadline(
        fetch(new URL(href!, url)),
        "the download",
      );
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test("a file shared with the room is in the history for latecomers; one for one person is not", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await joinedPeer(server.port, "alice");
  await using _bob = await joinedPeer(server.port, "bob");
  const bytes = new TextEncoder().encode("print('hi')\n");
  await shareBytes(alice, "hi.py", bytes);
  await shareBytes(alice, "secret.txt", bytes, "bob");
  await using late = await TcpClient.connect(server.port);
  await late.received.waitFor("*** End of earlier lines.");
  const replay = late.lines.slice(
    late.lines.indexOf("*** Earlier in the room (1 line):"),
  );
  assert.match(replay[1], /^\*\*\* alice shares "hi\.py" \(12 B, sha256 /);
  assert.equal(replay[2], "*** End of earlier lines.");
  assert.ok(!late.lines.some((line) => line.includes("secret")));
});

Deno.test("progress: updated in place at a terminal, at most three lines from a pipe", async () => {
  const { Progress } = await import("../lib/client_files.ts");
  const record = (terminal: boolean) => {
    const said: string[] = [];
    const statuses: (string | undefined)[] = [];
    const port = {
      lang: "en" as const,
      request: () => Promise.resolve(),
      say: (key: string, args?: Record<string, string | number>) =>
        said.push(`${key} ${args?.percent}`),
      setStatus: (text: string | undefined) => statuses.push(text),
      isTerminal: () => terminal,
      ownName: () => "alice",
    };
    const progress = new Progress(
      port,
      "client.file.progress-down",
      "x.bin",
      1000,
    );
    for (let done = 0; done <= 1000; done += 10) progress.update(done);
    progress.end();
    return { said, statuses };
  };
  const pipe = record(false);
  assert.deepEqual(pipe.said, [
    "client.file.progress-down 25",
    "client.file.progress-down 50",
    "client.file.progress-down 75",
  ]);
  assert.deepEqual(pipe.statuses, []);
  const terminal = record(true);
  assert.deepEqual(terminal.said, []);
  assert.equal(terminal.statuses[0], 'receiving "x.bin": 0% of 1000 B');
  assert.equal(terminal.statuses.at(-2), 'receiving "x.bin": 100% of 1000 B');
  assert.equal(terminal.statuses.at(-1), undefined, "the prompt comes back");
  assert.equal(terminal.statuses.length, 102);
});

/** Splits text into lines and passes each through `rewrite`. */
function lineRewriter(
  rewrite: (line: string) => string,
): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) controller.enqueue(rewrite(line) + "\n");
    },
  });
}

/**
 * A proxy between `chat connect` and the real server that lets `rewrite`
 * change each line the server sends: a hostile or broken server.
 */
function rewritingProxy(
  serverPort: number,
  rewrite: (line: string) => string,
): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<unknown>[] = [];
  const conns: Deno.Conn[] = [];
  const accepted = (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({
        hostname: "127.0.0.1",
        port: serverPort,
      });
      conns.push(client, upstream);
      tasks.push(
        upstream.readable.pipeThrough(new TextDecoderStream())
          .pipeThrough(lineRewriter(rewrite))
          .pipeThrough(new TextEncoderStream())
          .pipeTo(client.writable).catch(() => {}),
        client.readable.pipeTo(upstream.writable).catch(() => {}),
      );
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await accepted.catch(() => {});
      await Promise.all(tasks);
    },
  };
}

Deno.test("chat connect against a hostile server: a name with a path stays in the folder, a wrong SHA-256 deletes the file", async () => {
  await using server = await ChatProcess.serve();
  await using alice = await joinedPeer(server.port, "alice");
  const bytes = randomBytes(5000);
  const good = await shareBytes(alice, "good.bin", bytes);
  const bad = await shareBytes(alice, "bad.bin", randomBytes(300_000));
  const proxy = rewritingProxy(server.port, (line) => {
    if (!line.startsWith('{"type":"file-')) return line;
    const event = JSON.parse(line);
    if (event.type === "file-data" && event.offset === 0) {
      event.name = event.id === good.id ? "../../evil.sh" : event.name;
    }
    if (event.type === "file-end" && event.id === bad.id) {
      event.sha256 = "0".repeat(64);
    }
    return JSON.stringify(event);
  });
  const base = await Deno.makeTempDir({ prefix: "chat-file-hostile-" });
  try {
    const saveDir = `${base}/save`;
    await Deno.mkdir(saveDir);
    await using bob = new ChatProcess(
      ["connect", `127.0.0.1:${proxy.port}`, "--name", "bob"],
      { stdin: true },
    );
    await bob.stdout.waitFor(/^\*\*\* Welcome, bob!/);
    await bob.type(`/get ${good.id} ${saveDir}`);
    await bob.stderr.waitFor(
      `*** file ${good.id} saved as ${saveDir}/evil.sh (4.9 KiB, SHA-256 checked).`,
    );
    await bob.type(`/get ${bad.id} ${saveDir}`);
    await bob.stderr.waitFor(
      `*** file ${bad.id} does not match its SHA-256: the partial file ${saveDir}/bad.bin was deleted.`,
    );
    await bob.endInput();
    assert.equal((await bob.exit()).code, 0, bob.stderr.text);
    assert.deepEqual(await Deno.readFile(`${saveDir}/evil.sh`), bytes);
    const inside = [];
    for await (const entry of Deno.readDir(saveDir)) inside.push(entry.name);
    assert.deepEqual(inside, ["evil.sh"], "the bad file was deleted");
    const outside = [];
    for await (const entry of Deno.readDir(base)) outside.push(entry.name);
    assert.deepEqual(outside, ["save"]);
  } finally {
    await proxy.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a /send typed from a pipe while the server is away waits for the reconnection, then shares the file in its place in the order", async () => {
  const first = await ChatProcess.serve();
  const port = first.port;
  const { dir, path } = await randomFile(3000, "notes.txt");
  try {
    await using alice = new ChatProcess(
      [
        "connect",
        `127.0.0.1:${port}`,
        "--name",
        "alice",
        "--reconnect-delay-ms",
        "100",
      ],
      { stdin: true },
    );
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    first.kill("SIGKILL");
    await first.exit();
    await first[Symbol.asyncDispose]();
    await alice.stderr.waitFor(/^\*\*\* Connection to .* lost/);
    await alice.type("before the file");
    await alice.type(`/send ${path}`);
    await alice.type("after the file");
    // Restarted on the same port: the host's console shows the room.
    await using second = await ChatProcess.serve([], { port });
    await second.stdout.waitFor("alice: after the file");
    const said = second.stdout.lines.filter((line) =>
      line.startsWith("alice") || line.startsWith('*** alice shares "')
    );
    assert.equal(said.length, 3, said.join("\n"));
    assert.equal(said[0], "alice: before the file");
    assert.match(said[1], /^\*\*\* alice shares "notes\.txt" \(/);
    assert.equal(said[2], "alice: after the file");
    // Never sent as a plain line.
    assert.ok(!second.stdout.lines.some((line) => line.includes("/send")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file goes through however small --max-line-bytes is, while longer plain lines are still refused", async () => {
  await using server = await ChatProcess.serve(["--max-line-bytes", "300"]);
  const { dir, path } = await randomFile(10_000, "small-lines.bin");
  try {
    await using alice = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
      { stdin: true },
    );
    await alice.stdout.waitFor(/^\*\*\* Welcome, alice!/);
    await alice.type(`/send ${path}`);
    await server.stdout.waitFor(/^\*\*\* alice shares "small-lines\.bin" \(/);
    await alice.type("x".repeat(400));
    await alice.stdout.waitFor(/^\*\*\* error: .*300/);
    await alice.endInput();
    assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
