/**
 * Adversarial end-to-end tests of what `chat serve` reads: partial lines
 * trickled a byte at a time (memory), telnet negotiation bytes, a UTF-8
 * character cut by the pause of a client that never sends newlines, lines
 * ended by `\r` alone or `\r` NUL, a sender killed in the middle of a line,
 * invisible and stacked Unicode, and names that are not names. Each starts
 * the real `main.ts` through the harness, talks to it over real sockets on
 * 127.0.0.1, prints what it tried and what held, and asserts it.
 */

import assert from "node:assert/strict";
import { ChatProcess, deadline, residentKiB, TcpClient } from "./harness.ts";

const encoder = new TextEncoder();
const IAC = 0xff;

function bytes(...parts: (string | number[])[]): Uint8Array {
  return new Uint8Array(
    parts.flatMap((part) =>
      typeof part === "string" ? [...encoder.encode(part)] : part
    ),
  );
}

/** The next line `observer` receives from index `from` on whose text starts with `prefix`. */
async function nextFrom(
  observer: TcpClient,
  prefix: string,
  from: number,
): Promise<{ line: string; index: number }> {
  const index = await observer.received.waitForIndex(
    (line) => line.startsWith(prefix),
    { from },
  );
  return { line: observer.lines[index], index };
}

/**
 * Connects a client that never ends a line, as the course's Python client:
 * `/nick NAME` without `\n`, delivered after the server's idle wait.
 */
async function newlineLessClient(
  port: number,
  name: string,
): Promise<TcpClient> {
  const client = await TcpClient.connect(port);
  await client.received.lineAt(0);
  await client.write(bytes(`/nick ${name}`));
  await client.received.waitFor((line) =>
    line.startsWith(`*** Welcome, ${name}!`)
  );
  return client;
}

Deno.test("trickle: 8 connections send near-limit partial lines a byte per write; server memory stays bounded and the lines arrive whole", async () => {
  const connections = 8;
  const lineBytes = 32 * 1024 - 1;
  const boundMiB = 20;
  await using server = await ChatProcess.serve(["--max-line-bytes", "32768"]);
  await using reader = await TcpClient.join(server.port, "reader");
  const senders: TcpClient[] = [];
  try {
    for (let i = 0; i < connections; i++) {
      senders.push(await TcpClient.join(server.port, `s${i}`));
    }
    const beforeKiB = await residentKiB(server.child.pid);
    let peakKiB = beforeKiB;
    let trickling = true;
    const sampler = (async () => {
      while (trickling) {
        peakKiB = Math.max(peakKiB, await residentKiB(server.child.pid));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const started = performance.now();
    const one = bytes("x");
    try {
      // Each write is one segment (Nagle is off); all 8 in turn.
      await deadline(
        Promise.all(senders.map(async (sender) => {
          for (let sent = 0; sent < lineBytes; sent++) {
            await sender.conn.write(one);
          }
        })),
        "the trickle",
        60_000,
      );
    } finally {
      trickling = false;
      await sampler;
    }
    peakKiB = Math.max(peakKiB, await residentKiB(server.child.pid));
    const seconds = (performance.now() - started) / 1000;
    const grownMiB = (peakKiB - beforeKiB) / 1024;
    // Ending the lines shows the server kept every byte, in order.
    const from = reader.lines.length;
    for (const sender of senders) await sender.write(bytes("\n"));
    for (let i = 0; i < connections; i++) {
      const { line } = await nextFrom(reader, `s${i}: `, from);
      assert.equal(line, `s${i}: ${"x".repeat(lineBytes)}`);
    }
    console.log(
      `    tried: ${connections} connections x ${lineBytes} bytes, 1 byte per write (${
        seconds.toFixed(1)
      } s), --max-line-bytes 32768`,
    );
    console.log(
      `    held: server RSS ${(beforeKiB / 1024).toFixed(1)} -> peak ${
        (peakKiB / 1024).toFixed(1)
      } MiB (+${
        grownMiB.toFixed(1)
      } MiB, bound ${boundMiB} MiB); all ${connections} lines arrived whole`,
    );
    assert.ok(
      grownMiB < boundMiB,
      `server RSS grew by ${grownMiB.toFixed(1)} MiB`,
    );
  } finally {
    for (const sender of senders) await sender[Symbol.asyncDispose]();
  }
});

Deno.test("telnet: negotiation bytes are removed and not answered; /nick after them works", async () => {
  await using server = await ChatProcess.serve();
  await using observer = await TcpClient.join(server.port, "observer");
  await using telnet = await TcpClient.connect(server.port);
  await telnet.received.lineAt(0);
  const from = observer.lines.length;
  // What a telnet client sends first: WILL/DO options, a window size
  // subnegotiation (with an escaped 0xFF in it), then the line, ended as
  // telnet ends lines (CR LF), split across writes in the middle of a
  // command.
  await telnet.write(bytes([IAC, 0xfb, 0x01, IAC, 0xfd, 0x03, IAC]));
  await telnet.write(
    bytes([0xfb, 0x1f, IAC, 0xfa, 0x1f, 0x00, 0x50, IAC, IAC, 0x18, IAC]),
  );
  await telnet.write(bytes([0xf0], "/nick tel\r\n"));
  const { line: joined } = await nextFrom(observer, "*** ", from);
  await telnet.write(
    bytes("hi", [IAC, 0xf1], " there", [IAC, 0xfe, 0x01], "\r\n"),
  );
  const { line: said } = await nextFrom(observer, "tel: ", from);
  console.log(
    "    tried: IAC WILL ECHO, IAC DO SGA, IAC WILL NAWS, IAC SB NAWS .. IAC IAC .. IAC SE (split across writes), /nick tel, then IAC NOP and IAC DONT inside a line",
  );
  console.log(`    held: ${JSON.stringify(joined)}, ${JSON.stringify(said)}`);
  assert.equal(joined, "*** tel joined");
  assert.equal(said, "tel: hi there");
  // Nothing answered: the telnet client got only lines, no IAC bytes.
  assert.ok(
    telnet.lines.every((line) => !line.includes("\uFFFD")),
    telnet.lines.join("\n"),
  );
});

Deno.test("split UTF-8: a character cut by the pause of a client that never sends newlines is not turned into U+FFFD", async () => {
  await using server = await ChatProcess.serve();
  await using observer = await TcpClient.join(server.port, "observer");
  await using python = await newlineLessClient(server.port, "py");
  const from = observer.lines.length;
  const cafe = encoder.encode("café");
  // "caf" and the first byte of "é"; after the server's idle wait (300 ms)
  // "caf" is delivered on its own.
  await python.write(cafe.subarray(0, cafe.length - 1));
  const first = await nextFrom(observer, "py: ", from);
  await python.write(bytes([cafe[cafe.length - 1]], " ok"));
  const second = await nextFrom(observer, "py: ", first.index + 1);
  // A 4-byte character cut after its first byte, then after its third.
  const grin = encoder.encode("\u{1F600}");
  await python.write(bytes("smile ", [grin[0]]));
  const third = await nextFrom(observer, "py: ", second.index + 1);
  await python.write(grin.subarray(1, 3));
  await python.write(bytes([grin[3]]));
  const fourth = await nextFrom(observer, "py: ", third.index + 1);
  console.log(
    "    tried: 'caf' + first byte of 'é', pause > 300 ms, the rest + ' ok'; 'smile ' + first byte of U+1F600, pause, its 3 other bytes",
  );
  console.log(
    `    held: ${
      JSON.stringify([first.line, second.line, third.line, fourth.line])
    }`,
  );
  assert.deepEqual(
    [first.line, second.line, third.line, fourth.line],
    ["py: caf", "py: é ok", "py: smile ", "py: \u{1F600}"],
  );
});

Deno.test("line ends: \\r alone and \\r NUL end a line, a \\r\\n split across writes is one line end", async () => {
  await using server = await ChatProcess.serve();
  await using observer = await TcpClient.join(server.port, "observer");
  // A client that has sent "\n" once is no longer flushed after a pause:
  // only a line end delivers its lines.
  await using sender = await TcpClient.join(server.port, "cr");
  const from = observer.lines.length;
  await sender.write(bytes("one\r"));
  await sender.write(bytes("two\r\0three\r\0"));
  await sender.write(bytes("four\r"));
  await sender.write(bytes("\nfive\r\n"));
  await sender.write(bytes("\r\0/me six\n"));
  const said: string[] = [];
  let index = from;
  for (let i = 0; i < 6; i++) {
    index = await observer.received.waitForIndex(
      (line) => line.startsWith("cr: ") || line.startsWith("* cr "),
      { from: index },
    );
    said.push(observer.lines[index++]);
  }
  console.log(
    '    tried: "one\\r" | "two\\r\\0three\\r\\0" | "four\\r" | "\\nfive\\r\\n" | "\\r\\0/me six\\n" (| = a separate write)',
  );
  console.log(`    held: ${JSON.stringify(said)}`);
  assert.deepEqual(said, [
    "cr: one",
    "cr: two",
    "cr: three",
    "cr: four",
    "cr: five",
    "* cr six",
  ]);
});

Deno.test("killed mid-line: a client that sent newlines and closes in the middle of a line has nothing said for it; a newline-less client still has its last words", async () => {
  await using server = await ChatProcess.serve();
  await using observer = await TcpClient.join(server.port, "observer");
  const victim = await TcpClient.join(server.port, "victim");
  await victim.send("first line");
  await observer.received.waitFor("victim: first line");
  const from = observer.lines.length;
  await victim.write(bytes("I think the answer is NOT"));
  await victim[Symbol.asyncDispose](); // FIN, as when the process is killed
  const leftIndex = await observer.received.waitForIndex(
    (line) => line.startsWith("*** victim left"),
    { from },
  );
  const cutOff = observer.lines.slice(from, leftIndex + 1);
  // The course's client never ends a line: its last words still count.
  const python = await newlineLessClient(server.port, "py");
  const pyFrom = observer.lines.length;
  await python.write(bytes("bye now"));
  await python[Symbol.asyncDispose]();
  const pyLeft = await observer.received.waitForIndex(
    (line) => line.startsWith("*** py left"),
    { from: pyFrom },
  );
  const lastWords = observer.lines.slice(pyFrom, pyLeft + 1);
  console.log(
    '    tried: victim sends "first line\\n", then "I think the answer is NOT" and closes; py (never a newline) sends "bye now" and closes',
  );
  console.log(
    `    held: ${JSON.stringify(cutOff)}; ${JSON.stringify(lastWords)}`,
  );
  assert.equal(cutOff.length, 1, JSON.stringify(cutOff));
  assert.equal(lastWords.length, 2, JSON.stringify(lastWords));
  assert.equal(lastWords[0], "py: bye now");
});

Deno.test("Unicode: line separators become spaces, U+FEFF is dropped, stacked marks are capped, emoji sequences are kept", async () => {
  await using server = await ChatProcess.serve();
  await using observer = await TcpClient.join(server.port, "observer");
  await using sender = await TcpClient.join(server.port, "uni");
  const cases: [sent: string, expected: string][] = [
    ["one\u2028two\u2029three", "one two three"],
    ["\uFEFFinvisible\uFEFF", "invisible"],
    ["Z" + "\u0336\u0301".repeat(300) + "!", "Z\u0336\u0301\u0336\u0301!"],
    ["na\u0308i\u0308ve Tiếng Việt", "na\u0308i\u0308ve Tiếng Việt"],
    [
      "\u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F3F3}\uFE0F\u200D\u{1F308} 1\uFE0F\u20E3",
      "\u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F3F3}\uFE0F\u200D\u{1F308} 1\uFE0F\u20E3",
    ],
  ];
  let index = observer.lines.length;
  const held: string[] = [];
  for (const [sent, expected] of cases) {
    await sender.send(sent);
    index = await observer.received.waitForIndex(
      (line) => line.startsWith("uni: "),
      { from: index },
    );
    const line = observer.lines[index++];
    held.push(line);
    assert.equal(line, `uni: ${expected}`, JSON.stringify(sent));
  }
  console.log(
    "    tried: U+2028/U+2029 in a line, U+FEFF around a word, 600 combining marks on one letter, accents, ZWJ emoji, keycap",
  );
  console.log(
    `    held: ${JSON.stringify(held)} (${
      held[2].length
    } UTF-16 units for the stacked line)`,
  );
});

Deno.test("names: -, _, --help and _x are refused with the rule in words; a- and x_ are fine", async () => {
  await using server = await ChatProcess.serve();
  const names = ["-", "_", "--help", "_x", "a-", "x_"];
  const answers: string[] = [];
  for (const name of names) {
    await using client = await TcpClient.connect(server.port);
    await client.received.lineAt(0);
    await client.send(`/nick ${name}`);
    answers.push(
      await client.received.waitFor(
        (line) =>
          line.startsWith("*** error:") || line.startsWith("*** Welcome"),
        { from: 1 },
      ),
    );
  }
  console.log(
    `    tried: /nick ${names.join(" | ")}, each on its own connection`,
  );
  console.log(`    held: ${JSON.stringify(answers)}`);
  const refused = (name: string) =>
    `*** error: cannot use "${name}" as a name: a name starts with a letter or a digit.`;
  assert.deepEqual(answers.slice(0, 4), names.slice(0, 4).map(refused));
  assert.ok(answers[4].startsWith("*** Welcome, a-!"), answers[4]);
  assert.ok(answers[5].startsWith("*** Welcome, x_!"), answers[5]);
});
