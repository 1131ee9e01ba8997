/**
 * The structured protocol's JSON Lines: the shape of every event as sent
 * (`renderJson`) and what a structured client may send back
 * (`parseClientJson`), bad input included.
 */

import assert from "node:assert/strict";
import type { ErrorNotice, EventBody, ServerEvent } from "../lib/events.ts";
import {
  type ClientRequest,
  parseClientJson,
  renderJson,
} from "../lib/render_json.ts";
import { SAMPLES, stamped } from "./event_samples.ts";

/** A time with milliseconds, to see they survive: 2024-03-05T14:07:09.042Z. */
const TIME = Date.UTC(2024, 2, 5, 14, 7, 9, 42);
const ISO = "2024-03-05T14:07:09.042Z";

const json = (body: EventBody, seq = 7) => renderJson(stamped(body, seq, TIME));

// --- renderJson --------------------------------------------------------------------

Deno.test("renderJson: a message is type, seq, time (ISO 8601), from, text, in that order", () => {
  assert.equal(
    json({ type: "message", from: "alice", text: "hi" }),
    `{"type":"message","seq":7,"time":"${ISO}","from":"alice","text":"hi"}`,
  );
  assert.equal(
    renderJson({ type: "message", from: "a", text: "b", seq: 1, time: 0 }),
    '{"type":"message","seq":1,"time":"1970-01-01T00:00:00.000Z","from":"a","text":"b"}',
  );
});

Deno.test("renderJson: every event type starts with type, seq and time, then its own fields", () => {
  for (const sample of SAMPLES) {
    const line = json(sample.body);
    const parsed = JSON.parse(line);
    const keys = Object.keys(parsed);
    assert.deepEqual(keys.slice(0, 3), ["type", "seq", "time"], sample.label);
    const { type: _type, ...fields } = sample.body;
    const extra = sample.body.type === "notice" || sample.body.type === "error"
      ? ["text"]
      : [];
    assert.deepEqual(
      keys.slice(3),
      [...Object.keys(fields), ...extra],
      sample.label,
    );
  }
});

Deno.test("renderJson: every event type round-trips through JSON.parse, with the time as ISO text", () => {
  for (const sample of SAMPLES) {
    const event = stamped(sample.body, 123, TIME);
    const parsed = JSON.parse(renderJson(event));
    const expected: Record<string, unknown> = {
      ...structuredClone(sample.body),
      seq: 123,
      time: ISO,
    };
    if (sample.body.type === "notice" || sample.body.type === "error") {
      expected.text = parsed.text;
    }
    assert.equal(new Date(parsed.time).getTime(), TIME, sample.label);
    assert.deepEqual(parsed, expected, sample.label);
  }
});

Deno.test("renderJson: notices and errors carry their English sentence as text, without the *** prefix", () => {
  for (const sample of SAMPLES) {
    const parsed = JSON.parse(json(sample.body));
    if (sample.body.type === "notice") {
      assert.equal("*** " + parsed.text, sample.en, sample.label);
    } else if (sample.body.type === "error") {
      assert.equal("*** error: " + parsed.text, sample.en, sample.label);
    } else {
      assert.equal(
        "text" in parsed,
        "text" in sample.body,
        `${sample.label} has no text of its own`,
      );
    }
  }
});

Deno.test("renderJson: the exact lines of a notice, an error, a welcome and proto", () => {
  assert.equal(
    json({ type: "notice", code: "muted", args: { name: "bob" } }),
    `{"type":"notice","seq":7,"time":"${ISO}","code":"muted","args":{"name":"bob"},"text":"bob was muted by the host"}`,
  );
  assert.equal(
    json({
      type: "error",
      code: "protocol-version",
      args: { asked: "7", supported: [1] },
    }),
    `{"type":"error","seq":7,"time":"${ISO}","code":"protocol-version","args":{"asked":"7","supported":[1]},"text":"protocol version 7 is not spoken here; this server speaks version 1."}`,
  );
  assert.equal(
    json({ type: "welcome", name: "bob", online: ["bob"], watchers: 2 }),
    `{"type":"welcome","seq":7,"time":"${ISO}","name":"bob","online":["bob"],"watchers":2}`,
  );
  assert.equal(
    json({
      type: "proto",
      version: 1,
      versions: [1],
      password: false,
      server: "chat 1.0.0",
      run: "0123456789abcdef",
      history: 50,
    }),
    `{"type":"proto","seq":7,"time":"${ISO}","version":1,"versions":[1],"password":false,"server":"chat 1.0.0","run":"0123456789abcdef","history":50}`,
  );
});

/** Texts that must not break a JSON line. */
const SPECIAL = [
  'say "hi"',
  "back\\slash",
  "new\nline",
  "carriage\rreturn",
  "tab\there",
  "nul\x00byte",
  "escape\x1b[31m",
  "emoji 👋🏽 and é and 名前",
  "line\u2028separator",
  "paragraph\u2029separator",
  "next\x85line",
  "lone \ud83d surrogate",
  "</script>",
  "{}[],:",
];

Deno.test("renderJson: quotes, backslashes, newlines, emoji and U+2028 give one valid line that parses back", () => {
  for (const text of SPECIAL) {
    const events: ServerEvent[] = [
      stamped({ type: "message", from: "alice", text }, 1, TIME),
      stamped({ type: "action", from: "alice", text }, 2, TIME),
      stamped({ type: "private", from: "alice", to: "bob", text }, 3, TIME),
      stamped({ type: "topic", topic: text, by: "prof" }, 4, TIME),
      stamped(
        { type: "error", code: "unknown-field", args: { field: text } },
        5,
        TIME,
      ),
    ];
    for (const event of events) {
      const line = renderJson(event);
      const shown = `${event.type} ${JSON.stringify(text)}`;
      assert.doesNotMatch(line, /[\n\r]/, shown);
      // deno-lint-ignore no-control-regex -- no raw control character at all
      assert.doesNotMatch(line, /[\x00-\x1f]/, shown);
      // Escaped, so that readers splitting on Unicode line breaks
      // (Python's str.splitlines) still see one line.
      assert.doesNotMatch(line, /[\u2028\u2029]/, shown);
      const parsed = JSON.parse(line);
      const field = event.type === "topic"
        ? parsed.topic
        : event.type === "error"
        ? parsed.args.field
        : parsed.text;
      // A lone surrogate is escaped by JSON.stringify and reads back as is.
      assert.equal(field, text, shown);
    }
  }
});

Deno.test("renderJson: the line is well-formed UTF-8 once encoded, even with a lone surrogate", () => {
  const line = renderJson(
    stamped({ type: "message", from: "a", text: "x\ud83dy" }, 1, 0),
  );
  assert.match(line, /\\ud83d/);
  const bytes = new TextEncoder().encode(line);
  assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(bytes), line);
});

// --- parseClientJson ------------------------------------------------------------------

const invalid = (error: ErrorNotice): ClientRequest => ({
  type: "invalid",
  error,
});

Deno.test("parseClientJson: line, say and ping", () => {
  assert.deepEqual(parseClientJson('{"type":"line","text":"/nick bob"}'), {
    type: "line",
    text: "/nick bob",
  });
  assert.deepEqual(parseClientJson('{"type":"say","text":"/not a command"}'), {
    type: "say",
    text: "/not a command",
  });
  assert.deepEqual(parseClientJson('{"type":"ping"}'), { type: "ping" });
  assert.deepEqual(parseClientJson('  {"text":"x","type":"say"}  '), {
    type: "say",
    text: "x",
  });
  assert.deepEqual(
    parseClientJson('{"type":"say","text":"👋 \\"quoted\\" \\u2028"}'),
    { type: "say", text: '👋 "quoted" \u2028' },
  );
  // An empty text is a valid request; the room ignores it.
  assert.deepEqual(parseClientJson('{"type":"say","text":""}'), {
    type: "say",
    text: "",
  });
});

Deno.test("parseClientJson: malformed JSON is bad-json", () => {
  for (
    const line of [
      "{",
      "{type:say}",
      "{'type':'say'}",
      '{"type":"say","text":"x",}',
      '{"type":"say" "text":"x"}',
      '{"type":"say","text":"x"} trailing',
      '{"type":"say","text":"x"}{"type":"ping"}',
      "",
      "   ",
      "{".repeat(5000),
      "[".repeat(5000),
      '{"type":"say","text":"unterminated}',
    ]
  ) {
    assert.deepEqual(
      parseClientJson(line),
      invalid({ code: "bad-json" }),
      JSON.stringify(line.slice(0, 40)),
    );
  }
});

Deno.test("parseClientJson: JSON that is not an object is bad-json", () => {
  for (
    const line of [
      "[]",
      '[{"type":"ping"}]',
      "42",
      "-1.5e3",
      '"say"',
      "null",
      "true",
      "false",
    ]
  ) {
    assert.deepEqual(
      parseClientJson(line),
      invalid({ code: "bad-json" }),
      line,
    );
  }
});

Deno.test("parseClientJson: a missing or non-string type is bad-field type", () => {
  for (
    const line of [
      "{}",
      '{"text":"hi"}',
      '{"type":1}',
      '{"type":null}',
      '{"type":["say"]}',
      '{"type":{"name":"say"}}',
      '{"type":true}',
    ]
  ) {
    assert.deepEqual(
      parseClientJson(line),
      invalid({ code: "bad-field", args: { field: "type" } }),
      line,
    );
  }
});

Deno.test("parseClientJson: a missing or non-string text is bad-field text", () => {
  for (
    const line of [
      '{"type":"say"}',
      '{"type":"line"}',
      '{"type":"say","text":null}',
      '{"type":"say","text":42}',
      '{"type":"line","text":["hi"]}',
      '{"type":"line","text":{"hi":1}}',
      '{"type":"say","text":true}',
    ]
  ) {
    assert.deepEqual(
      parseClientJson(line),
      invalid({ code: "bad-field", args: { field: "text" } }),
      line,
    );
  }
});

Deno.test("parseClientJson: an unknown type is unknown-type, named", () => {
  for (const type of ["dance", "Say", "PING", "", " say", "message"]) {
    assert.deepEqual(
      parseClientJson(JSON.stringify({ type, text: "x" })),
      invalid({ code: "unknown-type", args: { type } }),
      type,
    );
  }
});

Deno.test("parseClientJson: prototype keys as type are unknown types, not crashes or commands", () => {
  for (
    const type of [
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "valueOf",
      "__defineGetter__",
      "prototype",
    ]
  ) {
    assert.deepEqual(
      parseClientJson(JSON.stringify({ type })),
      invalid({ code: "unknown-type", args: { type } }),
      type,
    );
    assert.deepEqual(
      parseClientJson(JSON.stringify({ type, text: "hi" })),
      invalid({ code: "unknown-type", args: { type } }),
      type,
    );
  }
});

Deno.test("parseClientJson: an unknown field is unknown-field, named, even a prototype key", () => {
  assert.deepEqual(
    parseClientJson('{"type":"say","txt":"oops"}'),
    invalid({ code: "unknown-field", args: { field: "txt" } }),
  );
  assert.deepEqual(
    parseClientJson('{"type":"say","text":"hi","to":"bob"}'),
    invalid({ code: "unknown-field", args: { field: "to" } }),
  );
  assert.deepEqual(
    parseClientJson('{"type":"ping","text":"hi"}'),
    invalid({ code: "unknown-field", args: { field: "text" } }),
  );
  for (const field of ["__proto__", "constructor", "prototype"]) {
    assert.deepEqual(
      parseClientJson(`{"type":"say","text":"hi","${field}":{"x":1}}`),
      invalid({ code: "unknown-field", args: { field } }),
      field,
    );
  }
  // A prototype key does not change what a later object looks like.
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("parseClientJson: a huge or hostile type or field name is cut to 64 characters and cleaned", () => {
  const huge = "f".repeat(3000);
  assert.deepEqual(
    parseClientJson(JSON.stringify({ type: "say", text: "x", [huge]: 1 })),
    invalid({ code: "unknown-field", args: { field: "f".repeat(64) } }),
  );
  assert.deepEqual(
    parseClientJson(JSON.stringify({ type: huge })),
    invalid({ code: "unknown-type", args: { type: "f".repeat(64) } }),
  );
  // Escape sequences and bidi overrides never reach a terminal through
  // an error line.
  const hostile = "\x1b[2J\x1b]0;pwned\x07\u202eevil\r\n*** fake";
  const field = parseClientJson(
    JSON.stringify({ type: "say", text: "x", [hostile]: 1 }),
  );
  assert.deepEqual(
    field,
    invalid({ code: "unknown-field", args: { field: "evil*** fake" } }),
  );
  const type = parseClientJson(JSON.stringify({ type: hostile }));
  assert.deepEqual(
    type,
    invalid({ code: "unknown-type", args: { type: "evil*** fake" } }),
  );
});

Deno.test("parseClientJson: the error for any bad input renders as one error line", () => {
  for (
    const line of [
      "{",
      "[]",
      "{}",
      '{"type":"say"}',
      '{"type":"dance"}',
      '{"type":"say","txt":1}',
      JSON.stringify({ type: "x".repeat(5000) }),
    ]
  ) {
    const request = parseClientJson(line);
    assert.equal(request.type, "invalid");
    if (request.type !== "invalid") continue;
    const out = renderJson(
      stamped({ type: "error", ...request.error } as EventBody, 1, 0),
    );
    assert.doesNotMatch(out, /\n/);
    const parsed = JSON.parse(out);
    assert.equal(parsed.type, "error");
    assert.equal(parsed.code, request.error.code);
    assert.ok(parsed.text.length < 200, parsed.text);
  }
});
