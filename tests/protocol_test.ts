import assert from "node:assert/strict";
import { OutgoingEvent, Renderings } from "../lib/outgoing.ts";
import {
  decodeLine,
  type FramedLine,
  LineArena,
  LineSplitter,
  MAX_COMBINING_MARKS,
  MAX_LINE_BYTES,
  MAX_NAME_LENGTH,
  nameFromLogin,
  nameKey,
  nameProblem,
  normalizeName,
  sanitizeText,
  TelnetFilter,
  utf8Length,
} from "../lib/protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Events as plain values, with line bytes decoded, for easy comparison. */
function readable(events: FramedLine[]): (string | { oversize: number })[] {
  return events.map((event) =>
    event.kind === "line"
      ? decoder.decode(event.bytes)
      : { oversize: event.limitBytes }
  );
}

/** Pushes each chunk in turn and returns every event, in order. */
function pushAll(
  splitter: LineSplitter,
  chunks: (string | Uint8Array)[],
): FramedLine[] {
  return chunks.flatMap((chunk) =>
    splitter.push(typeof chunk === "string" ? bytes(chunk) : chunk)
  );
}

// --- LineSplitter -----------------------------------------------------------

Deno.test("LineSplitter splits one chunk holding several lines", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(readable(splitter.push(bytes("one\ntwo\nthree\n"))), [
    "one",
    "two",
    "three",
  ]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("LineSplitter joins a line that arrives across several chunks", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(bytes("hel")), []);
  assert.equal(splitter.pendingBytes, 3);
  assert.deepEqual(splitter.push(bytes("lo wo")), []);
  assert.deepEqual(readable(splitter.push(bytes("rld\nnext"))), [
    "hello world",
  ]);
  assert.equal(splitter.pendingBytes, 4);
  assert.deepEqual(readable(splitter.push(bytes("\n"))), ["next"]);
});

Deno.test("LineSplitter accepts both \\r\\n and a lone \\n as line endings", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(readable(splitter.push(bytes("crlf\r\nlf\nboth\r\n"))), [
    "crlf",
    "lf",
    "both",
  ]);
});

Deno.test("LineSplitter ends a line at \\r and drops a \\n that comes in the next chunk", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(readable(pushAll(splitter, ["hi\r"])), ["hi"]);
  assert.deepEqual(readable(splitter.push(bytes("\n"))), []);
  assert.deepEqual(readable(splitter.push(bytes("next\n"))), ["next"]);
});

Deno.test("LineSplitter ends a line at a lone \\r, and at \\r NUL as telnet sends it", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(readable(splitter.push(bytes("a\rb\r\0c\r"))), [
    "a",
    "b",
    "c",
  ]);
  // The NUL of a "\r NUL" split between chunks is dropped too.
  assert.deepEqual(readable(splitter.push(bytes("\0d\r\r\n"))), ["d", ""]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("LineSplitter: a \\r\\n split at every possible place is one line end", () => {
  const text = "ab\r\ncd\r\n\r\nef\r\n";
  for (let cut = 0; cut <= text.length; cut++) {
    const splitter = new LineSplitter();
    const events = pushAll(splitter, [text.slice(0, cut), text.slice(cut)]);
    assert.deepEqual(readable(events), ["ab", "cd", "", "ef"], `cut ${cut}`);
  }
  // One byte per chunk.
  const splitter = new LineSplitter();
  assert.deepEqual(readable(pushAll(splitter, [...text])), [
    "ab",
    "cd",
    "",
    "ef",
  ]);
});

Deno.test("LineSplitter reports empty lines as empty", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(readable(splitter.push(bytes("\n\r\n"))), ["", ""]);
});

Deno.test("LineSplitter accepts a line of exactly 4096 bytes", () => {
  assert.equal(MAX_LINE_BYTES, 4096);
  const splitter = new LineSplitter();
  const text = "a".repeat(MAX_LINE_BYTES);
  assert.deepEqual(readable(splitter.push(bytes(text + "\n"))), [text]);
});

Deno.test("LineSplitter accepts a line of exactly 4096 bytes ending in \\r\\n", () => {
  const splitter = new LineSplitter();
  const text = "b".repeat(MAX_LINE_BYTES);
  assert.deepEqual(readable(splitter.push(bytes(text + "\r\n"))), [text]);
});

Deno.test("LineSplitter accepts a 4096-byte line ending in \\r\\n split between chunks", () => {
  const splitter = new LineSplitter();
  const text = "c".repeat(MAX_LINE_BYTES);
  assert.deepEqual(pushAll(splitter, [text.slice(0, 1000)]), []);
  assert.deepEqual(readable(pushAll(splitter, [text.slice(1000) + "\r"])), [
    text,
  ]);
  assert.deepEqual(readable(splitter.push(bytes("\n"))), []);
});

Deno.test("LineSplitter reports a 4097-byte line once as oversize", () => {
  const splitter = new LineSplitter();
  const events = splitter.push(bytes("a".repeat(MAX_LINE_BYTES + 1) + "\n"));
  assert.deepEqual(events, [{ kind: "oversize", limitBytes: MAX_LINE_BYTES }]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("LineSplitter reports a 4097-byte line ending in \\r\\n as oversize", () => {
  const splitter = new LineSplitter();
  const events = splitter.push(bytes("a".repeat(MAX_LINE_BYTES + 1) + "\r\n"));
  assert.deepEqual(readable(events), [{ oversize: MAX_LINE_BYTES }]);
});

Deno.test("LineSplitter reports an unfinished line as oversize once it passes 4096 bytes", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(pushAll(splitter, ["a".repeat(MAX_LINE_BYTES)]), []);
  assert.deepEqual(readable(splitter.push(bytes("a"))), [
    { oversize: MAX_LINE_BYTES },
  ]);
  assert.equal(splitter.pendingBytes, 0);
  assert.deepEqual(readable(splitter.push(bytes("\nok\n"))), ["ok"]);
});

Deno.test("LineSplitter discards the rest of an oversize line up to its \\n and reads the next line", () => {
  const splitter = new LineSplitter();
  const events = pushAll(splitter, [
    "x".repeat(MAX_LINE_BYTES + 1),
    "still the same line",
    " and more of it\r",
    "\nnext line\n",
  ]);
  assert.deepEqual(readable(events), [
    { oversize: MAX_LINE_BYTES },
    "next line",
  ]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("LineSplitter reads the line after an oversize line in the same chunk", () => {
  const splitter = new LineSplitter();
  const events = splitter.push(
    bytes("y".repeat(MAX_LINE_BYTES + 10) + "\r\nafter\r\n"),
  );
  assert.deepEqual(readable(events), [{ oversize: MAX_LINE_BYTES }, "after"]);
});

Deno.test("LineSplitter keeps pendingBytes at most 4096 while 1 MiB without newline arrives in chunks", () => {
  const splitter = new LineSplitter();
  const chunk = new Uint8Array(1000).fill(0x7a);
  const events: FramedLine[] = [];
  let maxPending = 0;
  for (let sent = 0; sent < 1024 * 1024; sent += chunk.length) {
    events.push(...splitter.push(chunk));
    maxPending = Math.max(maxPending, splitter.pendingBytes);
  }
  assert.ok(maxPending <= MAX_LINE_BYTES, `pending was ${maxPending}`);
  assert.deepEqual(readable(events), [{ oversize: MAX_LINE_BYTES }]);
  assert.deepEqual(readable(splitter.push(bytes("tail\nok\n"))), ["ok"]);
});

Deno.test("LineSplitter honours a custom limit", () => {
  const splitter = new LineSplitter(5);
  assert.deepEqual(readable(splitter.push(bytes("12345\n123456\n"))), [
    "12345",
    { oversize: 5 },
  ]);
});

Deno.test("LineSplitter.flush returns the unfinished line and forgets it", () => {
  const splitter = new LineSplitter();
  splitter.push(bytes("done\npart"));
  splitter.push(bytes("ial"));
  assert.deepEqual(readable([splitter.flush()!]), ["partial"]);
  assert.equal(splitter.pendingBytes, 0);
  assert.equal(splitter.flush(), undefined);
});

Deno.test("LineSplitter.flush returns undefined when nothing is held back", () => {
  const splitter = new LineSplitter();
  assert.equal(splitter.flush(), undefined);
  splitter.push(bytes("whole\n"));
  assert.equal(splitter.flush(), undefined);
});

Deno.test("LineSplitter.flush has nothing to return after a trailing \\r: it ended the line", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(readable(splitter.push(bytes("almost\r"))), ["almost"]);
  assert.equal(splitter.flush(), undefined);
});

Deno.test("LineSplitter.flush returns undefined while discarding an oversize line, then reads normally", () => {
  const splitter = new LineSplitter();
  splitter.push(bytes("q".repeat(MAX_LINE_BYTES + 100)));
  assert.equal(splitter.flush(), undefined);
  assert.deepEqual(readable(splitter.push(bytes("fresh\n"))), ["fresh"]);
});

Deno.test("LineSplitter.flush after an unfinished line over the limit returns nothing: it was reported", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(bytes("a".repeat(MAX_LINE_BYTES + 1))), [
    { kind: "oversize", limitBytes: MAX_LINE_BYTES },
  ]);
  assert.equal(splitter.flush(), undefined);
  // One byte less is a line of exactly the limit, and is delivered.
  splitter.push(bytes("b".repeat(MAX_LINE_BYTES)));
  assert.deepEqual(readable([splitter.flush()!]), ["b".repeat(MAX_LINE_BYTES)]);
});

Deno.test("LineSplitter output stays correct when the caller reuses its buffer", () => {
  const splitter = new LineSplitter();
  const buffer = new Uint8Array(8);
  const events: FramedLine[] = [];
  for (const piece of ["abc", "def\ngh", "ij\nkl", "m"]) {
    buffer.fill(0x21); // overwrite what the splitter saw last time
    const n = encoder.encodeInto(piece, buffer).written;
    events.push(...splitter.push(buffer.subarray(0, n)));
  }
  buffer.fill(0x21);
  assert.deepEqual(readable(events), ["abcdef", "ghij"]);
  assert.deepEqual(readable([splitter.flush()!]), ["klm"]);
});

Deno.test("LineSplitter line from a single chunk does not change when the buffer is reused", () => {
  const splitter = new LineSplitter();
  const buffer = bytes("whole\n");
  const [event] = splitter.push(buffer);
  buffer.fill(0x21);
  assert.deepEqual(readable([event]), ["whole"]);
});

Deno.test("LineSplitter holds a line sent one byte per chunk in one buffer, at most the limit, freed once the line is complete", () => {
  const limit = 32 * 1024;
  const splitter = new LineSplitter(limit);
  const one = new Uint8Array(1).fill(0x79);
  let most = 0;
  for (let sent = 0; sent < limit; sent++) {
    assert.deepEqual(splitter.push(one), []);
    most = Math.max(most, splitter.allocatedBytes);
  }
  console.log(
    `    ${limit} one-byte chunks held in ${splitter.allocatedBytes} bytes (at most ${most})`,
  );
  assert.equal(splitter.pendingBytes, limit);
  assert.ok(most <= limit, `allocated ${most} bytes`);
  const [line] = splitter.push(bytes("\n"));
  assert.equal(line.kind === "line" && line.bytes.length, limit);
  assert.equal(splitter.allocatedBytes, 0);
  // A short line in pieces keeps its small buffer for the next one.
  pushAll(splitter, ["ab", "c\n"]);
  assert.ok(splitter.allocatedBytes <= 1024);
});

Deno.test("LineSplitter.flush(true) holds back a UTF-8 character cut at the end for the next line", () => {
  const cafe = bytes("café ok");
  for (let cut = 1; cut <= cafe.length; cut++) {
    const splitter = new LineSplitter();
    splitter.push(cafe.subarray(0, cut));
    const first = splitter.flush(true);
    splitter.push(cafe.subarray(cut));
    const second = splitter.flush(true);
    const parts = readable([first, second].filter((e) => e !== undefined));
    assert.equal(parts.join(""), "café ok", `cut ${cut}`);
    assert.ok(!parts.join("").includes("\uFFFD"), `cut ${cut}`);
  }
  // Every cut of a 4-byte character; a lone first byte is not a line.
  const emoji = bytes("\u{1F600}");
  for (let cut = 1; cut < 4; cut++) {
    const splitter = new LineSplitter();
    splitter.push(emoji.subarray(0, cut));
    assert.equal(splitter.flush(true), undefined, `cut ${cut}`);
    assert.equal(splitter.pendingBytes, cut);
    splitter.push(emoji.subarray(cut));
    assert.deepEqual(readable([splitter.flush(true)!]), ["\u{1F600}"]);
  }
  // Invalid bytes are not held back; at the end, nothing is.
  const splitter = new LineSplitter();
  splitter.push(new Uint8Array([0x61, 0xff]));
  assert.deepEqual(readable([splitter.flush(true)!]), ["a\uFFFD"]);
  splitter.push(new Uint8Array([0x62, 0xc3]));
  assert.deepEqual(readable([splitter.flush()!]), ["b\uFFFD"]);
});

// --- TelnetFilter -----------------------------------------------------------

Deno.test("TelnetFilter removes IAC WILL/WONT/DO/DONT x, IAC SB ... IAC SE and IAC x, and nothing else", () => {
  const IAC = 0xff;
  const input = [
    ...[IAC, 0xfb, 0x01, IAC, 0xfd, 0x03, IAC, 0xfc, 0x22, IAC, 0xfe, 0x05],
    ...bytes("/nick tel"),
    ...[IAC, 0xfa, 0x1f, 0x00, 0x50, IAC, IAC, 0x18, IAC, 0xf0],
    ...bytes(" é"),
    ...[IAC, 0xf4, IAC, IAC],
    ...bytes("!\r\n"),
  ];
  assert.equal(
    decoder.decode(new TelnetFilter().strip(new Uint8Array(input))),
    "/nick tel é!\r\n",
  );
  // The same, one byte per chunk: state carries across chunks.
  const filter = new TelnetFilter();
  const kept = input.flatMap((byte) => [
    ...filter.strip(new Uint8Array([byte])),
  ]);
  assert.equal(decoder.decode(new Uint8Array(kept)), "/nick tel é!\r\n");
});

Deno.test("TelnetFilter never takes a line end for a command byte: stray 0xFF before \\n keeps two lines apart", () => {
  const filter = new TelnetFilter();
  const kept = filter.strip(
    new Uint8Array([0x68, 0x69, 0xff, 0xfe, 0x0a, 0x6f, 0x6b, 0xff, 0x0d]),
  );
  assert.equal(decoder.decode(kept), "hi\nok\r");
});

Deno.test("TelnetFilter returns a chunk without IAC as it is, and stops skipping an endless subnegotiation", () => {
  const filter = new TelnetFilter();
  const plain = bytes("hello\n");
  assert.equal(filter.strip(plain), plain);
  filter.strip(new Uint8Array([0xff, 0xfa, 0x18]));
  filter.strip(new Uint8Array(2000).fill(0x41));
  assert.equal(decoder.decode(filter.strip(bytes("back\n"))), "back\n");
});

// --- decodeLine -------------------------------------------------------------

Deno.test("decodeLine decodes UTF-8", () => {
  assert.equal(decodeLine(bytes("héllo 👋")), "héllo 👋");
});

Deno.test("decodeLine turns invalid UTF-8 into U+FFFD", () => {
  assert.equal(decodeLine(new Uint8Array([0x68, 0x69, 0xff])), "hi\uFFFD");
  assert.equal(
    decodeLine(new Uint8Array([0x61, 0xc3, 0x62])),
    "a\uFFFDb",
  );
});

// --- sanitizeText -----------------------------------------------------------

Deno.test("sanitizeText removes CSI colour codes", () => {
  assert.equal(
    sanitizeText("\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[m"),
    "red green",
  );
});

Deno.test("sanitizeText removes cursor movement and screen clearing", () => {
  assert.equal(sanitizeText("a\x1b[2Ab\x1b[10;5Hc\x1b[2Jd\x1b[?25le"), "abcde");
});

Deno.test("sanitizeText removes OSC title sequences ended by BEL", () => {
  assert.equal(sanitizeText("x\x1b]0;evil title\x07y"), "xy");
});

Deno.test("sanitizeText removes OSC title sequences ended by ESC \\", () => {
  assert.equal(sanitizeText("x\x1b]2;evil title\x1b\\y"), "xy");
});

Deno.test("sanitizeText removes a lone ESC", () => {
  assert.equal(sanitizeText("\x1b"), "");
  assert.equal(sanitizeText("end\x1b"), "end");
  assert.equal(sanitizeText("x\x1bé"), "xé");
  assert.ok(!sanitizeText("\x1b\x1b[31m\x1b").includes("\x1b"));
});

Deno.test("sanitizeText removes two-byte escapes such as ESC c (reset)", () => {
  assert.equal(sanitizeText("a\x1bcb"), "ab");
  assert.equal(sanitizeText("a\x1b7b\x1b8"), "ab");
});

Deno.test("sanitizeText removes C0 controls but keeps tab", () => {
  let c0 = "";
  for (let code = 0; code < 0x20; code++) c0 += String.fromCharCode(code);
  assert.equal(sanitizeText(`a${c0}b`), "a\tb");
});

Deno.test("sanitizeText removes DEL and C1 controls U+0080-U+009F", () => {
  let c1 = "";
  for (let code = 0x80; code <= 0x9f; code++) c1 += String.fromCharCode(code);
  assert.equal(sanitizeText(`a\x7f${c1}b`), "ab");
});

Deno.test("sanitizeText removes bidi embeddings, overrides, isolates and marks", () => {
  const bidi = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
  ];
  for (const char of bidi) {
    assert.equal(
      sanitizeText(`ab${char}cd`),
      "abcd",
      `U+${char.codePointAt(0)!.toString(16).toUpperCase()} was kept`,
    );
  }
  assert.equal(sanitizeText(bidi.join("")), "");
});

Deno.test("sanitizeText keeps normal text, emoji, accents and tabs", () => {
  const text = "Hello, wörld! Ça va? 👋🏽 日本語 naïve\tcafé [x] 100% ~/path";
  assert.equal(sanitizeText(text), text);
  assert.equal(sanitizeText(""), "");
});

// --- names ------------------------------------------------------------------

Deno.test("sanitizeText turns U+2028 and U+2029 into spaces and drops U+FEFF", () => {
  assert.equal(sanitizeText("one\u2028two\u2029three"), "one two three");
  assert.equal(sanitizeText("\uFEFFhi\uFEFF there"), "hi there");
});

Deno.test("sanitizeText keeps at most 4 combining marks on a character", () => {
  assert.equal(MAX_COMBINING_MARKS, 4);
  const zalgo = "Z" + "\u0336\u0301\u0315".repeat(100) + "ok";
  assert.equal(sanitizeText(zalgo), "Z\u0336\u0301\u0315\u0336ok");
  // Four are kept as they are; a run joined by a removed control is capped.
  const four = "e\u0301\u0302\u0303\u0304";
  assert.equal(sanitizeText(four), four);
  assert.equal(
    sanitizeText("a\u0301\u0302\u0303\x07\u0304\u0305"),
    "a\u0301\u0302\u0303\u0304",
  );
  // Each character has its own allowance: Vietnamese, Hindi.
  const text = "Tiếng Việt ệ̀ हिन्दी";
  assert.equal(sanitizeText(text), text);
});

Deno.test("sanitizeText keeps emoji sequences: ZWJ, variation selectors, keycaps, skin tones, tags", () => {
  const text =
    "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466} \u{1F3F3}\uFE0F\u200D\u{1F308} 1\uFE0F\u20E3 \u{1F44B}\u{1F3FD} \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
  assert.equal(sanitizeText(text), text);
});

Deno.test("nameProblem accepts letters, digits, _ and - up to 24 characters", () => {
  for (const name of ["alice", "Bob_2", "x", "a-b", "0", "z".repeat(24)]) {
    assert.equal(nameProblem(name), undefined, name);
  }
  assert.equal(MAX_NAME_LENGTH, 24);
});

Deno.test("nameProblem accepts Latin letters with accents, from Latin-1 and Latin Extended-A and -B", () => {
  for (
    const name of [
      "élodie",
      "Élodie",
      "François",
      "jürgen",
      "Zoë",
      "Ñúñez",
      "Łukasz",
      "Ærøskøbing",
      "Ștefan",
      "Őrség",
      "ǅemal",
      "é".repeat(24),
    ]
  ) {
    assert.equal(nameProblem(name), undefined, name);
  }
});

Deno.test("nameProblem checks the NFC form: a decomposed é is one character", () => {
  const decomposed = "e\u0301lodie";
  assert.equal(nameProblem(decomposed), undefined);
  assert.equal(normalizeName(decomposed), "\u00e9lodie");
  assert.equal(nameProblem("e\u0301".repeat(24)), undefined);
  assert.equal(nameProblem("e\u0301".repeat(25)), "too-long");
});

Deno.test("nameProblem refuses an empty name", () => {
  assert.equal(nameProblem(""), "empty");
});

Deno.test("nameProblem refuses a 25-character name", () => {
  assert.equal(nameProblem("z".repeat(25)), "too-long");
  assert.equal(nameProblem("é".repeat(25)), "too-long");
});

Deno.test("nameProblem refuses spaces, punctuation, other scripts and look-alikes", () => {
  for (
    const name of [
      "a b",
      " alice",
      "alice:",
      "*alice",
      "名前",
      "a.b",
      "a\tb",
      "\u0430lice", // Cyrillic а
      "\u03bfscar", // Greek ο
      "\uff41lice", // fullwidth ａ
      "µ", // the micro sign, a Greek letter
      "a×b",
      "a÷b",
      "\u01c3", // ǃ, a click letter that passes for "!"
      "q\u0301", // a mark with no composed letter
      "ệ", // Latin Extended Additional: outside the blocks allowed
      "ª",
    ]
  ) {
    assert.equal(nameProblem(name), "characters", JSON.stringify(name));
  }
});

Deno.test("nameProblem refuses a name that does not start with a letter or a digit", () => {
  for (const name of ["-", "_", "--help", "-h", "_alice", "-42", "__"]) {
    assert.equal(nameProblem(name), "start", JSON.stringify(name));
  }
  for (const name of ["a-", "a_", "7up", "x--y", "élodie_", "Ødegaard"]) {
    assert.equal(nameProblem(name), undefined, JSON.stringify(name));
  }
});

Deno.test("nameKey ignores case and accents: Élodie, elodie and ÉLODIE are one name", () => {
  const key = nameKey("elodie");
  for (
    const name of ["Élodie", "ÉLODIE", "élodie", "e\u0301lodie", "Elodié"]
  ) {
    assert.equal(nameKey(name), key, name);
  }
  assert.notEqual(nameKey("elodie"), nameKey("melodie"));
  assert.equal(nameKey("François"), "francois");
  // Letters Unicode does not decompose still read as their plain letter.
  assert.equal(nameKey("Łukasz"), "lukasz");
  assert.equal(nameKey("Søren"), "soren");
  assert.equal(nameKey("al\u0131ce"), "alice"); // dotless ı
  assert.equal(nameKey("AL\u0130CE"), "alice"); // dotted İ
  assert.equal(nameKey("Straße"), "strasse");
  assert.equal(nameKey("ǅemal"), "dzemal");
  // Other scripts keep their letters: a Cyrillic а is not an a.
  assert.notEqual(nameKey("\u0430lice"), "alice");
});

Deno.test("nameFromLogin keeps a valid login as it is", () => {
  assert.equal(nameFromLogin("alice"), "alice");
  assert.equal(nameFromLogin("Bob-2_x"), "Bob-2_x");
  assert.equal(nameFromLogin("josé"), "josé");
});

Deno.test("nameFromLogin turns what cannot be kept into one _ between kept characters", () => {
  assert.equal(nameFromLogin("john.doe"), "john_doe");
  assert.equal(nameFromLogin("DOMAIN\\user"), "DOMAIN_user");
  assert.equal(nameFromLogin("élodie.françois"), "élodie_françois");
  assert.equal(nameFromLogin("a..b"), "a_b");
  assert.equal(nameFromLogin(".alice."), "alice");
});

Deno.test("nameFromLogin keeps accented letters composed, and the base letter of one outside the allowed blocks", () => {
  assert.equal(nameFromLogin("e\u0301lodie"), "\u00e9lodie");
  assert.equal(nameFromLogin("Nguyễn.Văn"), "Nguyen_Văn");
});

Deno.test("nameFromLogin shortens a long login to 24 characters", () => {
  const name = nameFromLogin("a".repeat(40));
  assert.equal(name, "a".repeat(24));
  assert.equal(nameProblem(name!), undefined);
  assert.equal(nameFromLogin("é".repeat(30)), "é".repeat(24));
});

Deno.test("nameFromLogin returns undefined when nothing usable is left", () => {
  assert.equal(nameFromLogin(undefined), undefined);
  assert.equal(nameFromLogin(""), undefined);
  assert.equal(nameFromLogin("..."), undefined);
  assert.equal(nameFromLogin("__--"), undefined);
  // A name starts with a letter or a digit: leading _ and - are dropped.
  assert.equal(nameFromLogin("_svc-backup"), "svc-backup");
  assert.equal(nameFromLogin("-.x"), "x");
  assert.equal(nameFromLogin("иван"), undefined);
});

// --- LineArena -----------------------------------------------------------

Deno.test("LineArena encodes lines side by side in one block, each with its newline", () => {
  const arena = new LineArena();
  const a = arena.encode("alice: héllo");
  const b = arena.encode("bob: 👋");
  assert.equal(new TextDecoder().decode(a), "alice: héllo\n");
  assert.equal(new TextDecoder().decode(b), "bob: 👋\n");
  assert.equal(a.buffer, b.buffer);
  assert.equal(a.byteOffset + a.length, b.byteOffset);
});

Deno.test("LineArena starts a new block when one is full, and keeps huge lines apart", () => {
  const arena = new LineArena();
  const first = arena.encode("x".repeat(4000));
  let last = first;
  for (let n = 0; n < 20; n++) last = arena.encode("y".repeat(4000));
  assert.notEqual(last.buffer, first.buffer);
  assert.equal(new TextDecoder().decode(last), "y".repeat(4000) + "\n");
  // Earlier lines are untouched by later ones.
  assert.equal(new TextDecoder().decode(first), "x".repeat(4000) + "\n");
  const huge = arena.encode("z".repeat(30_000));
  assert.equal(huge.length, 30_001);
  assert.notEqual(huge.buffer, last.buffer);
});

// --- OutgoingEvent ---------------------------------------------------------

const joined = () => ({
  type: "joined" as const,
  name: "bob",
  seq: 1,
  time: 0,
});

Deno.test("OutgoingEvent bytes are the rendering's text followed by \\n, per kind of client", () => {
  const renderings = new Renderings();
  const event = new OutgoingEvent(joined(), false);
  assert.equal(
    decoder.decode(event.bytesFor(renderings.en)),
    "*** bob joined\n",
  );
  assert.equal(
    decoder.decode(event.bytesFor(renderings.fr)),
    "*** bob a rejoint le salon\n",
  );
  assert.equal(
    decoder.decode(event.bytesFor(renderings.json)),
    '{"type":"joined","seq":1,"time":"1970-01-01T00:00:00.000Z","name":"bob"}\n',
  );
  assert.equal(renderings.text("fr"), renderings.fr);
  assert.equal(renderings.text("en"), renderings.en);
});

Deno.test("OutgoingEvent encodes once per rendering and returns the same bytes to every recipient", () => {
  const renderings = new Renderings();
  const event = new OutgoingEvent(joined(), true);
  for (const rendering of [renderings.en, renderings.fr, renderings.json]) {
    assert.equal(event.bytesFor(rendering), event.bytesFor(rendering));
  }
  assert.notEqual(event.bytesFor(renderings.en), event.bytesFor(renderings.fr));
});

Deno.test("OutgoingEvents said to everyone sit side by side in their rendering's blocks; one member's do not", () => {
  const renderings = new Renderings();
  const first = new OutgoingEvent(joined(), true);
  const second = new OutgoingEvent(
    { type: "message", from: "bob", text: "hi", seq: 2, time: 0 },
    true,
  );
  for (const rendering of [renderings.en, renderings.fr, renderings.json]) {
    const a = first.bytesFor(rendering);
    const b = second.bytesFor(rendering);
    assert.equal(a.buffer, b.buffer, rendering.kind);
    assert.equal(a.byteOffset + a.length, b.byteOffset, rendering.kind);
  }
  const own = new OutgoingEvent(
    { type: "pong", seq: 3, time: 0 },
    false,
  ).bytesFor(renderings.en);
  assert.notEqual(own.buffer, first.bytesFor(renderings.en).buffer);
  assert.equal(decoder.decode(own), "*** pong\n");
});

Deno.test("utf8Length counts what TextEncoder would encode, without encoding", () => {
  const samples = [
    "",
    "hello",
    "é",
    "ßø€",
    "漢字かな",
    "😀👍🏽",
    "e\u0301",
    "a\u07ffb\u0800c\uffff",
    "\ud83d", // a lone surrogate: encoded as U+FFFD, 3 bytes
  ];
  for (const text of samples) {
    assert.equal(utf8Length(text), encoder.encode(text).length, text);
  }
});
