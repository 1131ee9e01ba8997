/**
 * End-to-end tests of the structured protocol (`docs/PROTOCOL.md`) over raw
 * TCP: a client sends `/proto 1` and from then on reads one JSON event per
 * line. The real `main.ts` in a subprocess, real sockets on 127.0.0.1; plain
 * and structured clients in the same room.
 */

import assert from "node:assert/strict";
import { ChatProcess, TcpClient, whoLine } from "./harness.ts";
import { leftReasons, lines } from "./golden_lines.ts";

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** One event as received: its type, seq, time and its own fields. */
type Event =
  & { type: string; seq: number; time: string }
  & Record<
    string,
    unknown
  >;

/** An event without its `seq` and `time`, to compare content. */
function content(event: Event): Record<string, unknown> {
  const { seq: _seq, time: _time, ...rest } = event;
  // A welcome's token is random (issue 9): only its form is compared.
  if (typeof rest.token === "string" && /^[0-9a-f]{32}$/.test(rest.token)) {
    rest.token = "TOKEN";
  }
  return rest;
}

/** A raw TCP client that asked for the structured protocol. */
class JsonClient implements AsyncDisposable {
  /** Index in `tcp.received.lines` of the `proto` event. */
  protoIndex = -1;

  private constructor(readonly tcp: TcpClient) {}

  /**
   * Connects, reads the plain greeting (or password request), sends
   * `/proto 1` and waits for the `proto` event; plain lines before it are
   * room events from before the switch.
   */
  static async connect(port: number): Promise<JsonClient> {
    const client = new JsonClient(await TcpClient.connect(port));
    try {
      await client.tcp.received.lineAt(0);
      await client.tcp.send("/proto 1");
      client.protoIndex = await client.tcp.received.waitForIndex(
        (line) => line.startsWith('{"type":"proto"'),
        { from: 1 },
      );
      return client;
    } catch (error) {
      await client[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Connects as {@linkcode JsonClient.connect}, then joins as `name`. */
  static async join(port: number, name: string): Promise<JsonClient> {
    const client = await JsonClient.connect(port);
    try {
      await client.send(`/nick ${name}`);
      await client.waitFor((event) =>
        event.type === "welcome" && event.name === name
      );
      return client;
    } catch (error) {
      await client[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The `proto` event. */
  get proto(): Event {
    return this.events[0];
  }

  /** Every event from `proto` on; every line after it must be JSON. */
  get events(): Event[] {
    return this.eventsFrom(0);
  }

  /** A position in the event stream, for {@linkcode JsonClient.eventsFrom}. */
  mark(): number {
    return this.tcp.received.lines.length - this.protoIndex;
  }

  /** The events from position `mark` on. */
  eventsFrom(mark: number): Event[] {
    return this.tcp.received.lines.slice(this.protoIndex + mark).map(parse);
  }

  /** Waits for an event (from position `from`) and returns it. */
  async waitFor(
    match: (event: Event) => boolean,
    from = 0,
    ms?: number,
  ): Promise<Event> {
    const at = await this.waitForIndex(match, from, ms);
    return this.events[at];
  }

  /** Waits for an event (from position `from`) and returns its position. */
  async waitForIndex(
    match: (event: Event) => boolean,
    from = 0,
    ms?: number,
  ): Promise<number> {
    const at = await this.tcp.received.waitForIndex(
      (line) => match(parse(line)),
      { from: this.protoIndex + from, ms },
    );
    return at - this.protoIndex;
  }

  /** Sends one line, a JSON request or plain text. */
  async send(line: string): Promise<void> {
    await this.tcp.send(line);
  }

  /** Sends a request as JSON. */
  async request(request: Record<string, unknown>): Promise<void> {
    await this.tcp.send(JSON.stringify(request));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tcp[Symbol.asyncDispose]();
  }
}

function parse(line: string): Event {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`not a JSON line: ${JSON.stringify(line)}`);
  }
  assert.equal(typeof value, "object", line);
  return value as Event;
}

/**
 * Checks the frame of every event: a string `type`, `seq` an integer that
 * increases strictly, `time` in ISO 8601 between `since` and now.
 */
function assertWellFormed(events: Event[], since: number): void {
  let previous = 0;
  for (const event of events) {
    const line = JSON.stringify(event);
    assert.equal(typeof event.type, "string", line);
    assert.ok(Number.isInteger(event.seq) && event.seq > previous, line);
    previous = event.seq;
    assert.match(event.time, ISO_TIME, line);
    const time = Date.parse(event.time);
    assert.ok(time >= since - 1000 && time <= Date.now() + 1000, line);
  }
}

/**
 * The English plain-text line a room event is for plain clients, from the
 * golden lines (not from the server's own renderer).
 */
function plainLine(event: Event): string {
  const text = (key: string) => String(event[key]);
  switch (event.type) {
    case "message":
      return lines.message(text("from"), text("text"));
    case "action":
      return lines.action(text("from"), text("text"));
    case "joined":
      return lines.joined(text("name"));
    case "left":
      return lines.left(
        text("name"),
        event.reason === undefined
          ? undefined
          : leftReasons[event.reason as keyof typeof leftReasons],
      );
    case "renamed":
      return lines.renamed(text("from"), text("to"));
    default:
      throw new Error(`no plain line for ${JSON.stringify(event)}`);
  }
}

Deno.test("/proto 1 answers with a proto event, then every event type the room produces arrives as JSON Lines with increasing seq and ISO time", async () => {
  const started = Date.now();
  await using server = await ChatProcess.serve([], { stdin: true });
  // A plain watcher, so that watchers are counted.
  await using watcher = await TcpClient.connect(server.port);
  await watcher.received.waitFor(lines.greeting());
  await using jay = await JsonClient.connect(server.port);
  assert.deepEqual(content(jay.proto), {
    type: "proto",
    version: 1,
    versions: [1],
    password: false,
    server: jay.proto.server,
    run: jay.proto.run,
    history: 50,
  });
  assert.match(String(jay.proto.server), /^chat \d+\.\d+\.\d+$/);
  assert.match(String(jay.proto.run), /^[0-9a-f]{16}$/);
  // Before /proto, the greeting came as plain text.
  assert.deepEqual(jay.tcp.received.lines.slice(0, jay.protoIndex), [
    lines.greeting(),
  ]);

  // Each expected event is looked for after the previous one.
  let cursor = jay.mark();
  const expect = async (expected: Record<string, unknown>): Promise<void> => {
    const at = await jay.waitForIndex(
      (event) =>
        event.type === expected.type &&
        (expected.code === undefined || event.code === expected.code),
      cursor,
    );
    assert.deepEqual(content(jay.events[at]), expected);
    cursor = at + 1;
  };
  // While watching: a notice, a pong, someone joining.
  await jay.send("/pass nothing");
  await expect({
    type: "notice",
    code: "no-password",
    text: "This room has no password.",
  });
  await jay.request({ type: "ping" });
  await expect({ type: "pong" });
  await using pat = await TcpClient.join(server.port, "pat");
  await expect({ type: "joined", name: "pat" });

  await jay.send("/nick jay");
  await expect({
    type: "welcome",
    name: "jay",
    online: ["host", "pat", "jay"],
    watchers: 1,
    token: "TOKEN",
  });
  await pat.received.waitFor(lines.joined("jay"));
  await pat.send("hi jay");
  await expect({ type: "message", from: "pat", text: "hi jay" });
  await pat.send("/me waves");
  await expect({ type: "action", from: "pat", text: "waves" });
  await jay.send("/msg pat psst");
  await expect({ type: "private", from: "jay", to: "pat", text: "psst" });
  await pat.received.waitFor(lines.privateMessage("jay", "pat", "psst"));
  await jay.send("/nick jay2");
  await expect({ type: "renamed", from: "jay", to: "jay2" });
  await server.type("/topic sockets");
  await expect({ type: "topic", topic: "sockets", by: "host" });

  await jay.send("/topic");
  await expect({ type: "topic", topic: "sockets" });
  await jay.send("/who");
  await expect({
    type: "who",
    online: [{ name: "host" }, { name: "pat" }, { name: "jay2" }],
    watchers: 1,
  });
  await jay.send("/help");
  const helpAt = await jay.waitForIndex(
    (event) => event.type === "help",
    cursor,
  );
  const help = jay.events[helpAt];
  cursor = helpAt + 1;
  assert.deepEqual(help.commands, [
    { name: "nick", usage: "NAME", hostOnly: false },
    { name: "who", usage: "", hostOnly: false },
    { name: "me", usage: "TEXT", hostOnly: false },
    { name: "msg", usage: "NAME TEXT", hostOnly: false },
    { name: "help", usage: "", hostOnly: false },
    { name: "quit", usage: "", hostOnly: false },
    { name: "topic", usage: "[TEXT]", hostOnly: false },
    { name: "history", usage: "", hostOnly: false },
  ]);
  await jay.send("/frob");
  await expect({
    type: "error",
    code: "unknown-command",
    args: { command: "frob" },
    text: 'unknown command "/frob". Type /help for the list.',
  });
  await server.type("/mute pat");
  await expect({
    type: "notice",
    code: "muted",
    args: { name: "pat" },
    text: "pat was muted by the host",
  });
  await server.type("/unmute pat");
  await expect({
    type: "notice",
    code: "unmuted",
    args: { name: "pat" },
    text: "pat may speak again",
  });

  // Leaving: with a reason, without, and a structured client's own ends.
  await using kay = await JsonClient.join(server.port, "kay");
  await server.type("/kick kay");
  await expect({ type: "left", name: "kay", reason: "kicked" });
  await kay.tcp.received.waitForEnd();
  assert.deepEqual(content(kay.events.at(-1)!), {
    type: "disconnected",
    reason: "kicked",
  });
  await using lou = await JsonClient.join(server.port, "lou");
  await lou.request({ type: "line", text: "/quit" });
  await lou.tcp.received.waitForEnd();
  assert.deepEqual(content(lou.events.at(-1)!), {
    type: "notice",
    code: "bye",
    text: "Bye!",
  });
  await expect({ type: "left", name: "lou" });
  await pat.send("/quit");
  await expect({ type: "left", name: "pat" });

  // People are connected: the host's /stop asks first, the second one stops.
  await server.type("/stop");
  await server.stdout.waitFor(/^\*\*\* People connected besides you: /);
  await server.type("/stop");
  await jay.tcp.received.waitForEnd();
  assert.deepEqual(content(jay.events.at(-1)!), { type: "shutdown" });

  for (const client of [jay, kay, lou]) {
    assertWellFormed(client.events, started);
  }
  const types = new Set(jay.events.map((event) => event.type));
  for (
    const type of [
      "proto",
      "notice",
      "pong",
      "joined",
      "welcome",
      "message",
      "action",
      "private",
      "renamed",
      "topic",
      "who",
      "help",
      "error",
      "left",
      "shutdown",
    ]
  ) {
    assert.ok(types.has(type), `no ${type} event`);
  }
  // The plain watcher saw the same room events, as plain text.
  await watcher.received.waitForEnd();
  assert.equal(watcher.received.lines.at(-1), lines.shutdown());
});

Deno.test("plain and structured clients see the same events in the same order", async () => {
  await using server = await ChatProcess.serve();
  await using pat = await TcpClient.join(server.port, "pat");
  await using jo = await JsonClient.join(server.port, "jo");
  await using jim = await JsonClient.join(server.port, "jim");
  await using s0 = await TcpClient.join(server.port, "s0");
  await using s1 = await TcpClient.join(server.port, "s1");
  await using s2 = await JsonClient.join(server.port, "s2");
  await pat.send("start");
  const startEvent = (event: Event) =>
    event.type === "message" && event.text === "start";
  await pat.received.waitFor("pat: start");
  await jo.waitFor(startEvent);
  await jim.waitFor(startEvent);
  const patFrom = pat.received.lines.indexOf("pat: start");
  const joFrom = jo.events.findIndex(startEvent);
  const jimFrom = jim.events.findIndex(startEvent);

  // Three senders at once, two plain and one structured, with actions,
  // renames, a guest coming and going, in between.
  const perSender = 40;
  await Promise.all([
    (async () => {
      for (let n = 0; n < perSender; n++) {
        await s0.send(`s0 line ${n}`);
        if (n === 10) await s0.send("/nick s0b");
        if (n === 20) await s0.send("/me is halfway");
      }
    })(),
    (async () => {
      for (let n = 0; n < perSender; n++) await s1.send(`s1 line ${n}`);
    })(),
    (async () => {
      for (let n = 0; n < perSender; n++) {
        await s2.request({ type: "say", text: `s2 line ${n}` });
        if (n === 15) await s2.request({ type: "line", text: "/me waves" });
      }
    })(),
    (async () => {
      await using guest = await TcpClient.join(server.port);
      await guest.send("just passing");
      await guest.send("/quit");
      await guest.received.waitForEnd();
    })(),
  ]);
  await s1.received.waitFor("s1: s1 line 39");
  await s2.waitFor((event) => event.text === "s2 line 39");
  await pat.send("end");
  const endEvent = (event: Event) =>
    event.type === "message" && event.text === "end";
  await pat.received.waitFor("pat: end");
  await jo.waitFor(endEvent);
  await jim.waitFor(endEvent);

  const window = (client: JsonClient, from: number) => {
    const events = client.events.slice(from);
    return events.slice(0, events.findIndex(endEvent) + 1);
  };
  const joSaw = window(jo, joFrom);
  const jimSaw = window(jim, jimFrom);
  const patSaw = pat.received.lines.slice(
    patFrom,
    pat.received.lines.indexOf("pat: end") + 1,
  );
  // The two structured clients got the very same events: same seq, same
  // content, same order.
  assert.deepEqual(jimSaw, joSaw);
  // The plain client got the same events in the same order, as text.
  assert.deepEqual(patSaw, joSaw.map(plainLine));
  const messages = joSaw.filter((event) => event.type === "message").length;
  assert.equal(messages, 3 * perSender + 3); // start, just passing, end
  assert.ok(joSaw.some((event) => event.type === "renamed"));
  assert.ok(joSaw.some((event) => event.type === "left"));
  assertWellFormed(joSaw, 0);
  // Each sender's own lines kept their order.
  for (const sender of ["s1", "s2"]) {
    assert.deepEqual(
      joSaw.filter((event) => event.from === sender && event.type === "message")
        .map((event) => event.text),
      Array.from({ length: perSender }, (_, n) => `${sender} line ${n}`),
    );
  }
});

Deno.test('a structured client\'s {"type":"say"} is always a message, {"type":"line"} is as typed, and plain text keeps working', async () => {
  await using server = await ChatProcess.serve();
  await using pat = await TcpClient.join(server.port, "pat");
  await using jay = await JsonClient.join(server.port, "jay");
  const from = jay.mark();
  const patFrom = pat.received.lines.length;
  await jay.request({ type: "say", text: "/x" });
  await jay.request({ type: "say", text: "/nick evil" });
  await jay.request({ type: "line", text: "/me dances" });
  await jay.request({ type: "line", text: "//starts with a slash" });
  await jay.send("plain text from a structured client");
  await jay.send("{ not json, but starts with a brace");
  await jay.request({ type: "line", text: "/nick jay2" });
  await pat.received.waitFor(lines.renamed("jay", "jay2"));
  assert.deepEqual(pat.received.lines.slice(patFrom), [
    "jay: /x",
    "jay: /nick evil",
    "* jay dances",
    "jay: /starts with a slash",
    "jay: plain text from a structured client",
    lines.renamed("jay", "jay2"),
  ]);
  await jay.waitFor((event) => event.type === "renamed", from);
  assert.deepEqual(jay.eventsFrom(from).map(content), [
    { type: "message", from: "jay", text: "/x" },
    { type: "message", from: "jay", text: "/nick evil" },
    { type: "action", from: "jay", text: "dances" },
    { type: "message", from: "jay", text: "/starts with a slash" },
    {
      type: "message",
      from: "jay",
      text: "plain text from a structured client",
    },
    {
      type: "error",
      code: "bad-json",
      text:
        "that line is not a JSON object; send one object per line, or plain text.",
    },
    { type: "renamed", from: "jay", to: "jay2" },
  ]);
});

/** Bad requests, each with the one error it must get. */
const BAD_REQUESTS: [string, Record<string, unknown>][] = [
  ["{not json", { code: "bad-json" }],
  ['{"type":"say","text":"x"} trailing', { code: "bad-json" }],
  ['{"type":"say","txt":"x"}', {
    code: "unknown-field",
    args: { field: "txt" },
  }],
  ['{"type":"say","text":"x","extra":1}', {
    code: "unknown-field",
    args: { field: "extra" },
  }],
  ['{"type":"ping","text":"x"}', {
    code: "unknown-field",
    args: { field: "text" },
  }],
  ['{"type":"shout","text":"x"}', {
    code: "unknown-type",
    args: { type: "shout" },
  }],
  ['  {"type":"__proto__"}', {
    code: "unknown-type",
    args: { type: "__proto__" },
  }],
  ['{"type":"nick","text":"evil"}', {
    code: "unknown-type",
    args: { type: "nick" },
  }],
  ['{"type":"say","text":5}', { code: "bad-field", args: { field: "text" } }],
  ['{"type":"line"}', { code: "bad-field", args: { field: "text" } }],
  ['{"text":"no type"}', { code: "bad-field", args: { field: "type" } }],
  ["{}", { code: "bad-field", args: { field: "type" } }],
];

Deno.test("malformed JSON, unknown fields and unknown types get exactly one error each and change nothing, for a member and for a watcher", async () => {
  await using server = await ChatProcess.serve();
  await using pat = await TcpClient.join(server.port, "pat");
  await using jay = await JsonClient.join(server.port, "jay");
  await using wes = await JsonClient.connect(server.port);
  await pat.received.waitFor(lines.joined("jay"));
  const patFrom = pat.received.lines.length;
  for (const client of [jay, wes]) {
    const from = client.mark();
    for (const [line] of BAD_REQUESTS) await client.send(line);
    // Lines from one client are handled in order: once the ping is
    // answered, every bad line before it has been.
    await client.request({ type: "ping" });
    await client.waitFor((event) => event.type === "pong", from);
    const marker = `marker after ${client === jay ? "jay" : "wes"}`;
    await pat.send(marker);
    // Both see it (the watcher too), before the next round begins.
    for (const each of [jay, wes]) {
      await each.waitFor((event) => event.text === marker);
    }
    const got = client.eventsFrom(from);
    assert.deepEqual(
      got.map((event) =>
        event.type === "error"
          ? content({ ...event, text: "" })
          : content(event)
      ),
      [
        ...BAD_REQUESTS.map(([, error]) => ({
          type: "error",
          ...error,
          text: "",
        })),
        { type: "pong" },
        { type: "message", from: "pat", text: marker },
      ],
    );
    // Each error also says what went wrong in English.
    for (const event of got.slice(0, -2)) {
      assert.equal(typeof event.text, "string");
      assert.ok((event.text as string).length > 10, JSON.stringify(event));
    }
    assert.equal(
      got[0].text,
      "that line is not a JSON object; send one object per line, or plain text.",
    );
    assert.equal(
      got[2].text,
      'unknown field "txt"; nothing was done. See docs/PROTOCOL.md.',
    );
  }
  // Nobody else saw anything, and nothing changed: jay is still jay, the
  // watcher is still watching.
  assert.deepEqual(pat.received.lines.slice(patFrom), [
    "pat: marker after jay",
    "pat: marker after wes",
  ]);
  const from = pat.received.lines.length;
  await pat.send("/who");
  await pat.received.waitFor(whoLine(["host", "pat", "jay"], 1), { from });
});

Deno.test("/proto 7 gets a JSON protocol-version error and the connection stays plain", async () => {
  await using server = await ChatProcess.serve();
  await using pat = await TcpClient.join(server.port, "pat");
  await using old = await TcpClient.connect(server.port);
  await old.received.waitFor(lines.greeting());
  await old.send("/proto 7");
  const answer = JSON.parse(
    await old.received.waitFor((line) => line.startsWith("{"), { from: 1 }),
  );
  assert.deepEqual(content(answer), {
    type: "error",
    code: "protocol-version",
    args: { asked: "7", supported: [1] },
    text:
      "protocol version 7 is not spoken here; this server speaks version 1.",
  });
  assert.ok(Number.isInteger(answer.seq));
  assert.match(answer.time, ISO_TIME);
  await old.send("/proto");
  const noVersion = JSON.parse(
    await old.received.waitFor(
      (line) => line.startsWith("{") && line.includes('"asked":""'),
      { from: 2 },
    ),
  );
  assert.equal(noVersion.code, "protocol-version");
  // Still plain, still watching, not joined.
  await pat.send("still plain?");
  await old.received.waitFor("pat: still plain?");
  await old.send("/nick olive");
  await old.received.waitFor((line) => line.startsWith("*** Welcome, olive!"));
  await pat.received.waitFor(lines.joined("olive"));
  assert.ok(
    !pat.received.lines.some((line) => /guest\d/.test(line)),
    pat.received.text,
  );
  // A later /proto 1 still switches.
  await old.send("/proto 1");
  const proto = JSON.parse(
    await old.received.waitFor((line) => line.startsWith('{"type":"proto"')),
  );
  assert.equal(proto.version, 1);
  await pat.send("now JSON");
  const message = JSON.parse(
    await old.received.waitFor((line) => line.includes('"text":"now JSON"')),
  );
  assert.deepEqual(content(message), {
    type: "message",
    from: "pat",
    text: "now JSON",
  });
});

/**
 * One scripted session with a structured client (`jo`) and a plain one
 * (`nina`); returns what each received after joining.
 */
async function scriptedSession(
  lang: "en" | "fr",
): Promise<{ json: Record<string, unknown>[]; plain: string[] }> {
  await using server = await ChatProcess.serve(["--lang", lang]);
  await using jo = await JsonClient.connect(server.port);
  const from = jo.mark();
  await using nina = await TcpClient.connect(server.port);
  await nina.received.waitFor(() => true);
  await nina.send("/nick nina");
  await nina.received.waitFor((line) => line.startsWith("*** "), { from: 1 });
  await jo.waitFor((event) => event.type === "joined", from);
  await jo.send("/nick jo");
  await nina.received.waitFor((line) => line.includes("jo"), { from: 2 });
  const ninaFrom = nina.received.lines.length;
  // One step at a time, each waited for where it shows, so that both runs
  // happen in the same order.
  const steps: [TcpClient | JsonClient, string, (event: Event) => boolean][] = [
    [nina, "salut", (event) => event.type === "message"],
    [nina, "/me fait coucou", (event) => event.type === "action"],
    [jo, "/frob", (event) => event.type === "error"],
    [jo, "/msg nina psst", (event) => event.type === "private"],
    [jo, "/who", (event) => event.type === "who"],
    [jo, "/topic", (event) => event.type === "topic"],
    [nina, "/nick nina2", (event) => event.type === "renamed"],
  ];
  for (const [client, line, shows] of steps) {
    await client.send(line);
    await jo.waitFor(shows, from);
  }
  // Said to nina alone: waited for at nina.
  for (const line of ["/frob", "/who"]) {
    const before = nina.received.lines.length;
    await nina.send(line);
    await nina.received.waitFor((text) => text.startsWith("*** "), {
      from: before,
    });
  }
  await nina.send("/quit");
  await nina.received.waitForEnd();
  return {
    json: jo.eventsFrom(from).map(content),
    plain: nina.received.lines.slice(ninaFrom),
  };
}

Deno.test("a French server sends French plain text to plain clients while structured clients get the same JSON as from an English server", async () => {
  const english = await scriptedSession("en");
  const french = await scriptedSession("fr");
  assert.deepEqual(french.json, english.json);
  assert.deepEqual(english.json.map((event) => event.type), [
    "joined",
    "welcome",
    "message",
    "action",
    "error",
    "private",
    "who",
    "topic",
    "renamed",
    "left",
  ]);
  assert.equal(
    english.json[4].text,
    'unknown command "/frob". Type /help for the list.',
  );
  assert.deepEqual(english.plain, [
    "nina: salut",
    "* nina fait coucou",
    "[private] jo -> nina: psst",
    "*** nina is now known as nina2",
    '*** error: unknown command "/frob". Type /help for the list.',
    "*** Online (3): host, nina2, jo",
    "*** Bye!",
  ]);
  assert.deepEqual(french.plain, [
    "nina: salut",
    "* nina fait coucou",
    "[privé] jo -> nina: psst",
    "*** nina s'appelle désormais nina2",
    "*** erreur : commande inconnue « /frob ». Tapez /help pour la liste.",
    "*** En ligne (3) : host, nina2, jo",
    "*** Au revoir !",
  ]);
});

Deno.test("a structured watcher receives events before joining; /who counts it; say joins it as a guest", async () => {
  await using server = await ChatProcess.serve();
  await using pat = await TcpClient.join(server.port, "pat");
  await using wes = await JsonClient.connect(server.port);
  const from = wes.mark();
  await pat.send("hello watcher");
  await wes.waitFor((event) => event.text === "hello watcher", from);
  await using jay = await JsonClient.join(server.port, "jay");
  await wes.waitFor((event) => event.type === "joined", from);
  await jay.send("/who");
  const who = await jay.waitFor((event) => event.type === "who");
  assert.deepEqual(content(who), {
    type: "who",
    online: [{ name: "host" }, { name: "pat" }, { name: "jay" }],
    watchers: 1,
  });
  await wes.request({ type: "say", text: "/not a command" });
  const welcome = await wes.waitFor((event) => event.type === "welcome", from);
  const guest = String(welcome.name);
  assert.match(guest, /^guest\d+$/);
  assert.deepEqual(welcome.watchers, 0);
  await pat.received.waitFor(`${guest}: /not a command`);
  assert.deepEqual(wes.eventsFrom(from).map(content), [
    { type: "message", from: "pat", text: "hello watcher" },
    { type: "joined", name: "jay" },
    // (Not its own joined: the room tells the others; it gets the welcome.)
    {
      type: "welcome",
      name: guest,
      online: ["host", "pat", "jay", guest],
      watchers: 0,
      token: "TOKEN",
    },
    { type: "message", from: guest, text: "/not a command" },
  ]);
});

Deno.test("in a password room a structured client is told so in proto, sees nothing before /pass, and gets JSON for the password and its deadline", async () => {
  const password = "json-sesame";
  await using server = await ChatProcess.serve(
    ["--password", "--handshake-timeout", "2"],
    { env: { CHAT_PASSWORD: password } },
  );
  await using insider = await TcpClient.join(server.port, "insider", {
    password,
  });
  await using jay = await JsonClient.connect(server.port);
  await using silent = await JsonClient.connect(server.port);
  assert.equal(jay.proto.password, true);
  assert.equal(silent.proto.password, true);
  assert.deepEqual(jay.tcp.received.lines.slice(0, jay.protoIndex), [
    lines.passwordNeeded(),
  ]);
  await insider.send("before");
  await insider.received.waitFor("insider: before");
  await jay.send("/nick early");
  await jay.waitFor((event) => event.type === "error");
  await jay.send(`/pass ${password}`);
  await jay.waitFor((event) => event.type === "notice");
  await insider.send("after");
  await jay.waitFor((event) => event.text === "after");
  assert.deepEqual(jay.events.slice(1).map(content), [
    {
      type: "error",
      code: "password-first",
      text: "this room needs a password: send /pass PASSWORD first.",
    },
    {
      type: "notice",
      code: "password-accepted",
      text:
        "Password accepted. Send /nick NAME to join with a name, or type a message to join as a guest.",
    },
    // Issue 9: what was said before, replayed once the password is given.
    {
      type: "notice",
      code: "history-start",
      args: { count: 1 },
      text: "Earlier in the room (1 line):",
    },
    { type: "message", from: "insider", text: "before", history: true },
    {
      type: "notice",
      code: "history-end",
      args: { count: 1 },
      text: "End of earlier lines.",
    },
    { type: "message", from: "insider", text: "after" },
  ]);
  await silent.tcp.received.waitForEnd(6000);
  assert.deepEqual(silent.events.slice(1).map(content), [{
    type: "error",
    code: "password-timeout",
    args: { seconds: 2 },
    text: "no password received within 2 s of connecting; closing.",
  }]);
  // The one that gave the password watches past the deadline.
  await insider.send("after the deadline");
  await jay.waitFor((event) => event.text === "after the deadline");
  await jay.send("/nick jay");
  await insider.received.waitFor(lines.joined("jay"));
});
