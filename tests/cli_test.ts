/**
 * Tests of lib/cli.ts (the command line, its help and usage errors in English
 * and French), of what `chat serve` prints in each language (real
 * subprocesses and a raw TCP client on 127.0.0.1), and of how `chat connect`
 * colours events in a terminal.
 */

import assert from "node:assert/strict";
import {
  type CommandLineEnv,
  commandLineLang,
  connectHelp,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_PORT,
  mainHelp,
  parseCommandLine,
  serveHelp,
  UsageError,
} from "../lib/cli.ts";
import type { ServerEvent } from "../lib/events.ts";
import { formatEvent, nameColor } from "../lib/terminal.ts";
import {
  chatCommand,
  ChatProcess,
  TcpClient,
  Terminal,
  TMUX_FOUND,
} from "./harness.ts";

const NO_ENV = {};

/** Asserts that parsing fails with a one-line UsageError matching `pattern`. */
function assertUsageError(
  args: string[],
  pattern: RegExp,
  env: CommandLineEnv = NO_ENV,
): void {
  assert.throws(
    () => parseCommandLine(args, env),
    (error: unknown) => {
      assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
      assert.equal(error.name, "UsageError");
      assert.doesNotMatch(error.message, /\n/, "message is not one line");
      assert.match(error.message, pattern);
      return true;
    },
    JSON.stringify(args),
  );
}

// --- help and version -------------------------------------------------------

Deno.test("no arguments, --help, -h and help show the main help", () => {
  for (const args of [[], ["--help"], ["-h"], ["help"]]) {
    assert.deepEqual(parseCommandLine(args, NO_ENV), {
      command: "help",
      text: mainHelp("en"),
    }, JSON.stringify(args));
  }
  assert.match(mainHelp("en"), /chat serve/);
  assert.match(mainHelp("en"), /chat connect/);
});

Deno.test("--version, -V and version ask for the version", () => {
  for (const args of [["--version"], ["-V"], ["version"]]) {
    assert.deepEqual(parseCommandLine(args, NO_ENV), { command: "version" });
  }
});

Deno.test("serve --help and serve -h show the serve help", () => {
  for (const args of [["serve", "--help"], ["serve", "-h"]]) {
    assert.deepEqual(parseCommandLine(args, NO_ENV), {
      command: "help",
      text: serveHelp("en"),
    });
  }
  assert.match(serveHelp("en"), /--max-clients/);
});

Deno.test("connect --help shows the connect help, even without a host", () => {
  for (
    const args of [["connect", "--help"], ["connect", "-h"], [
      "connect",
      "10.0.0.1",
      "--help",
    ]]
  ) {
    assert.deepEqual(parseCommandLine(args, NO_ENV), {
      command: "help",
      text: connectHelp("en"),
    });
  }
  assert.match(connectHelp("en"), /--port/);
});

// --- serve ------------------------------------------------------------------

/** Everything `chat serve` sets when only the basic options are given. */
const SERVE_DEFAULTS = {
  maxPerAddress: 8,
  handshakeTimeoutMs: 30_000,
  heartbeatTimeoutMs: 60_000,
  flood: { burst: 20, perSecond: 5, disconnectAfter: 100 },
  roomRate: 50,
  maxLineBytes: 4096,
  queueLimitBytes: 1024 * 1024,
  wrongPasswordDelayMs: 1000,
  passwordTries: 5,
  askPassword: false,
  tls: undefined,
  lang: "en",
  // Issue 9.
  historyLines: 50,
  transcriptPath: undefined,
  reserveMs: 60_000,
  discovery: true, // issue 10
  // Issue 12: files.
  files: { maxFileBytes: 2 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 },
  // Issue 12: code blocks.
  blockLines: 200,
  blockBytes: 16384,
};

Deno.test("serve --block-lines and --block-bytes (issue 12): 0 is the most allowed", () => {
  const given = parseCommandLine(
    ["serve", "--block-lines", "40", "--block-bytes=4096"],
    NO_ENV,
  );
  assert.ok(given.command === "serve");
  assert.equal(given.blockLines, 40);
  assert.equal(given.blockBytes, 4096);
  const most = parseCommandLine(
    ["serve", "--block-lines=0", "--block-bytes", "0"],
    NO_ENV,
  );
  assert.ok(most.command === "serve");
  assert.equal(most.blockLines, 10_000);
  assert.equal(most.blockBytes, 1024 * 1024);
  assertUsageError(
    ["serve", "--block-bytes", "2000000"],
    /^Bad value "2000000" for --block-bytes: use a whole number from 0 to 1048576\.$/,
  );
  assert.match(serveHelp("en"), /--block-lines N +most lines in one block/);
  assert.match(serveHelp("fr"), /--block-bytes N +octets au plus par bloc/);
});

Deno.test("serve --file-max-bytes, --files-max-bytes (K, M) and --no-files (issue 12)", () => {
  const sized = parseCommandLine([
    "serve",
    "--file-max-bytes",
    "512K",
    "--files-max-bytes=3M",
  ], NO_ENV);
  assert.equal(sized.command, "serve");
  if (sized.command !== "serve") return;
  assert.deepEqual(sized.files, {
    maxFileBytes: 512 * 1024,
    maxTotalBytes: 3 * 1024 * 1024,
  });
  for (
    const args of [["--no-files"], ["--file-max-bytes", "0"], [
      "--files-max-bytes=0",
    ]]
  ) {
    const off = parseCommandLine(["serve", ...args], NO_ENV);
    assert.ok(
      off.command === "serve" && off.files === undefined,
      args.join(" "),
    );
  }
  assertUsageError(
    ["serve", "--file-max-bytes", "2G"],
    /--file-max-bytes: use a whole number of 0 or more/,
  );
  assert.match(serveHelp("en"), /--no-files +turn file sharing off/);
});

Deno.test("serve --history, --log and --reserve-seconds (issue 9)", () => {
  const invocation = parseCommandLine([
    "serve",
    "--history",
    "0",
    "--log",
    "class.log",
    "--reserve-seconds",
    "2",
  ], NO_ENV);
  assert.equal(invocation.command, "serve");
  if (invocation.command !== "serve") return;
  assert.equal(invocation.historyLines, 0);
  assert.equal(invocation.transcriptPath, "class.log");
  assert.equal(invocation.reserveMs, 2000);
  assert.throws(
    () => parseCommandLine(["serve", "--history", "-1"], NO_ENV),
    /--history/,
  );
  assert.throws(
    () => parseCommandLine(["serve", "--log"], NO_ENV),
    /"--log" needs a value, e.g. --log class.log/,
  );
  assert.match(serveHelp("en"), /--history N .*\n.*\(default 50; 0: none\)/);
  assert.match(serveHelp("fr"), /--log FICHIER/);
  // Only for tests: not in the help.
  assert.doesNotMatch(serveHelp("en"), /reserve-seconds/);
});

Deno.test("serve without options listens on 0.0.0.0:5000 as host for 256 clients", () => {
  assert.equal(DEFAULT_PORT, 5000);
  assert.equal(DEFAULT_MAX_CLIENTS, 256);
  assert.deepEqual(parseCommandLine(["serve"], NO_ENV), {
    command: "serve",
    hostname: "0.0.0.0",
    port: 5000,
    name: "host",
    maxClients: 256,
    ...SERVE_DEFAULTS,
  });
});

Deno.test("serve accepts --host, --port, --name and --max-clients", () => {
  assert.deepEqual(
    parseCommandLine([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "6000",
      "--name",
      "teacher",
      "--max-clients",
      "30",
    ], NO_ENV),
    {
      command: "serve",
      hostname: "127.0.0.1",
      port: 6000,
      name: "teacher",
      maxClients: 30,
      ...SERVE_DEFAULTS,
    },
  );
});

Deno.test("serve accepts options written as --option=value", () => {
  assert.deepEqual(
    parseCommandLine(
      ["serve", "--host=::", "--port=6001", "--name=Ms_K", "--max-clients=1"],
      NO_ENV,
    ),
    {
      command: "serve",
      hostname: "::",
      port: 6001,
      name: "Ms_K",
      maxClients: 1,
      ...SERVE_DEFAULTS,
    },
  );
});

Deno.test("serve ignores USER: the host is called host unless --name says otherwise", () => {
  const invocation = parseCommandLine(["serve"], { USER: "alice" });
  assert.equal(invocation.command === "serve" && invocation.name, "host");
});

Deno.test("serve allows --port 0 for any free port", () => {
  const invocation = parseCommandLine(["serve", "--port", "0"], NO_ENV);
  assert.equal(invocation.command === "serve" && invocation.port, 0);
});

Deno.test("serve accepts port 65535 and port 1", () => {
  for (const port of [1, 65535]) {
    const invocation = parseCommandLine(
      ["serve", "--port", String(port)],
      NO_ENV,
    );
    assert.equal(invocation.command === "serve" && invocation.port, port);
  }
});

Deno.test("serve refuses bad ports with a one-line message", () => {
  for (const port of ["65536", "abc", "", "1.5", "99999999"]) {
    assertUsageError(
      ["serve", "--port", port],
      /^Bad port ".*": use a number from 0 to 65535\.$/,
    );
  }
  assertUsageError(["serve", "--port=-1"], /^Bad port "-1"/);
});

Deno.test("serve refuses a bad --max-clients", () => {
  for (const value of ["abc", "-3", "", "2.5"]) {
    assertUsageError(
      ["serve", `--max-clients=${value}`],
      /--max-clients: use a whole number of 0 or more/,
    );
  }
});

Deno.test("serve --max-clients 0 turns the connection limit off", () => {
  const invocation = parseCommandLine(["serve", "--max-clients", "0"], NO_ENV);
  assert.equal(invocation.command === "serve" && invocation.maxClients, 0);
});

Deno.test("serve refuses bad names for --name", () => {
  // "\u0430lice" starts with a Cyrillic а: look-alikes stay refused.
  for (
    const name of ["", "a b", "a:b", "star*", "\u0430lice", "x".repeat(25)]
  ) {
    assertUsageError(
      ["serve", "--name", name],
      /^Cannot use ".*" as a name: /,
    );
  }
});

Deno.test("serve refuses extra positional arguments", () => {
  assertUsageError(
    ["serve", "extra"],
    /"chat serve" takes no arguments.*"extra"/,
  );
});

Deno.test("serve refuses an unknown option", () => {
  assertUsageError(
    ["serve", "--bogus"],
    /^Unknown option "--bogus" for "chat serve"/,
  );
  assertUsageError(["serve", "-x"], /^Unknown option "-x"/);
});

Deno.test("serve refuses an option missing its value, naming the option", () => {
  for (const option of ["--port", "--host", "--name", "--max-clients"]) {
    assertUsageError(
      ["serve", option],
      new RegExp(`^Option "${option}" needs a value`),
    );
  }
});

// --- connect ----------------------------------------------------------------

Deno.test("connect HOST uses port 5000", () => {
  assert.deepEqual(parseCommandLine(["connect", "192.168.1.23"], NO_ENV), {
    command: "connect",
    hostname: "192.168.1.23",
    port: 5000,
    name: undefined,
    nameIsExplicit: false,
    tls: undefined,
    lang: "en",
  });
});

Deno.test("connect HOST:PORT takes the port from the address", () => {
  const invocation = parseCommandLine(["connect", "pc-12.lan:5001"], NO_ENV);
  assert.equal(invocation.command, "connect");
  if (invocation.command !== "connect") return;
  assert.equal(invocation.hostname, "pc-12.lan");
  assert.equal(invocation.port, 5001);
});

Deno.test("connect [::1]:5001 takes a bracketed IPv6 address and port", () => {
  const invocation = parseCommandLine(["connect", "[::1]:5001"], NO_ENV);
  assert.equal(invocation.command === "connect" && invocation.hostname, "::1");
  assert.equal(invocation.command === "connect" && invocation.port, 5001);
});

Deno.test("connect [::1] without a port uses port 5000", () => {
  const invocation = parseCommandLine(["connect", "[::1]"], NO_ENV);
  assert.equal(invocation.command === "connect" && invocation.hostname, "::1");
  assert.equal(invocation.command === "connect" && invocation.port, 5000);
});

Deno.test("connect takes a bare ::1 as an IPv6 address, not host:port", () => {
  const invocation = parseCommandLine(["connect", "::1"], NO_ENV);
  assert.equal(invocation.command === "connect" && invocation.hostname, "::1");
  assert.equal(invocation.command === "connect" && invocation.port, 5000);
  const full = parseCommandLine(["connect", "fe80::1:2"], NO_ENV);
  assert.equal(full.command === "connect" && full.hostname, "fe80::1:2");
});

Deno.test("connect --port sets the port", () => {
  for (
    const args of [
      ["connect", "10.0.0.7", "--port", "6000"],
      ["connect", "--port", "6000", "10.0.0.7"],
      ["connect", "10.0.0.7", "--port=6000"],
      ["connect", "::1", "--port", "6000"],
    ]
  ) {
    const invocation = parseCommandLine(args, NO_ENV);
    assert.equal(invocation.command === "connect" && invocation.port, 6000);
  }
});

Deno.test("connect refuses a port given both in the address and with --port", () => {
  assertUsageError(
    ["connect", "10.0.0.7:5001", "--port", "5001"],
    /port is given twice/,
  );
  assertUsageError(
    ["connect", "[::1]:5001", "--port", "5002"],
    /port is given twice/,
  );
});

Deno.test("connect refuses bad ports in the address with a one-line message", () => {
  for (const port of ["0", "65536", "abc", "-1", "", "1e3"]) {
    assertUsageError(
      ["connect", `10.0.0.7:${port}`],
      /^Bad port ".*": use a number from 1 to 65535\.$/,
    );
  }
  assertUsageError(["connect", "[::1]:0"], /^Bad port "0"/);
  assertUsageError(["connect", "[::1]:"], /^Bad port ""/);
});

Deno.test("connect refuses bad ports given with --port, including 0", () => {
  for (const port of ["0", "65536", "abc", "-1", ""]) {
    assertUsageError(
      ["connect", "10.0.0.7", `--port=${port}`],
      /^Bad port ".*": use a number from 1 to 65535\.$/,
    );
  }
});

Deno.test("connect refuses an address without a host name", () => {
  assertUsageError(["connect", ":5000"], /^Bad address ":5000"/);
  assertUsageError(["connect", ""], /^Bad address ""/);
  assertUsageError(["connect", "a b"], /^Bad address "a b"/);
  assertUsageError(["connect", "http://x"], /^Bad /);
});

Deno.test("connect without a host says the address is missing", () => {
  // Issue 10: with discovery off; otherwise the room is looked for.
  const off = { CHAT_NO_DISCOVERY: "1" };
  assertUsageError(["connect"], /^Missing the server's address/, off);
  assertUsageError(["connect", "--name", "alice"], /^Missing/, off);
  const invocation = parseCommandLine(["connect"], NO_ENV);
  assert.deepEqual(invocation.command === "connect" && invocation.lookup, {});
});

Deno.test("connect refuses more than one address", () => {
  assertUsageError(
    ["connect", "10.0.0.7", "10.0.0.8"],
    /takes one address, got 2/,
  );
});

Deno.test("connect refuses an unknown option", () => {
  assertUsageError(
    ["connect", "10.0.0.7", "--max-clients", "3"],
    /^Unknown option "--max-clients" for "chat connect"/,
  );
});

Deno.test("connect refuses an option missing its value, naming the option", () => {
  assertUsageError(["connect", "10.0.0.7", "--port"], /^Option "--port" /);
  assertUsageError(["connect", "10.0.0.7", "--name"], /^Option "--name" /);
  assertUsageError(["connect", "10.0.0.7", "--port", "-1"], /"--port"/);
});

Deno.test("the message for an option missing its value does not suggest a different option", () => {
  assertUsageError(
    ["connect", "10.0.0.7", "--name"],
    /^Option "--name" needs a value(?!.*--port)/,
  );
});

Deno.test("connect --name sets an explicit name", () => {
  const invocation = parseCommandLine(
    ["connect", "10.0.0.7", "--name", "alice"],
    { USER: "someone" },
  );
  assert.deepEqual(invocation, {
    command: "connect",
    hostname: "10.0.0.7",
    port: 5000,
    name: "alice",
    nameIsExplicit: true,
    tls: undefined,
    lang: "en",
  });
});

Deno.test("connect refuses bad names for --name", () => {
  for (
    const name of ["", "a b", "a:b", "star*", "\u03bfscar", "x".repeat(25)]
  ) {
    assertUsageError(
      ["connect", "10.0.0.7", "--name", name],
      /^Cannot use ".*" as a name: /,
    );
  }
});

Deno.test("connect takes the default name from USER, then USERNAME", () => {
  const name = (env: { USER?: string; USERNAME?: string }) => {
    const invocation = parseCommandLine(["connect", "10.0.0.7"], env);
    assert.equal(invocation.command, "connect");
    if (invocation.command !== "connect") return;
    assert.equal(invocation.nameIsExplicit, false);
    return invocation.name;
  };
  assert.equal(name({ USER: "alice", USERNAME: "bob" }), "alice");
  assert.equal(name({ USERNAME: "bob" }), "bob");
  assert.equal(name({ USER: "", USERNAME: "bob" }), "bob");
  assert.equal(name({}), undefined);
});

Deno.test("connect turns a USER like john.doe into the name john_doe", () => {
  const invocation = parseCommandLine(["connect", "10.0.0.7"], {
    USER: "john.doe",
  });
  assert.equal(invocation.command === "connect" && invocation.name, "john_doe");
  assert.equal(
    invocation.command === "connect" && invocation.nameIsExplicit,
    false,
  );
});

// --- top level errors ---------------------------------------------------------

Deno.test("an unknown subcommand is a UsageError", () => {
  assertUsageError(["frobnicate"], /^Unknown command "frobnicate"/);
  assertUsageError(["Serve"], /^Unknown command "Serve"/);
});

Deno.test("an unknown top-level option is a UsageError", () => {
  assertUsageError(["--bogus"], /^Unknown option "--bogus"/);
  assertUsageError(["--port", "5000"], /^Unknown option "--port"/);
});

// --- terminal formatting ------------------------------------------------------

const RED = "\x1b[31m";
const DIM = "\x1b[2m";
const MAGENTA = "\x1b[35m";
const RESET = "\x1b[0m";

/** An event as the server sends it, with any sequence number and time. */
function event(body: Record<string, unknown>): ServerEvent {
  return { seq: 1, time: 0, ...body } as ServerEvent;
}

const PLAIN = { lang: "en", ownName: "alice", color: false } as const;
const COLOR = { lang: "en", ownName: "alice", color: true } as const;

Deno.test("formatEvent without colour gives the plain-text line", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ type: "message", from: "bob", text: "hi" }, "bob: hi"],
    [{ type: "action", from: "bob", text: "waves" }, "* bob waves"],
    [
      { type: "private", from: "bob", to: "alice", text: "psst" },
      "[private] bob -> alice: psst",
    ],
    [{ type: "joined", name: "bob" }, "*** bob joined"],
    [
      { type: "error", code: "wrong-password", text: "wrong password." },
      "*** error: wrong password.",
    ],
  ];
  for (const [body, line] of cases) {
    assert.equal(formatEvent(event(body), PLAIN), line);
  }
});

Deno.test("formatEvent strips terminal escapes and bidi controls sent by others", () => {
  const sneaky = event({
    type: "message",
    from: "bob",
    text: "\x1b[31mhi\x1b]0;t\x07\u202e!",
  });
  assert.equal(formatEvent(sneaky, PLAIN), "bob: hi!");
  const out = formatEvent(
    event({ type: "message", from: "bob", text: "\x1b[2Jhi\x1b]0;x\x07" }),
    COLOR,
  );
  assert.equal(out, `${nameColor("bob")}bob${RESET}: hi`);
});

Deno.test("formatEvent with colour shows errors red, notices dim and private messages magenta", () => {
  const error = event({
    type: "error",
    code: "banned",
    text: "you are banned from this room.",
  });
  assert.equal(
    formatEvent(error, COLOR),
    `${RED}*** error: you are banned from this room.${RESET}`,
  );
  assert.equal(
    formatEvent(event({ type: "joined", name: "bob" }), COLOR),
    `${DIM}*** bob joined${RESET}`,
  );
  assert.equal(
    formatEvent(
      event({ type: "private", from: "bob", to: "alice", text: "psst" }),
      COLOR,
    ),
    `${MAGENTA}[private] bob -> alice: ${RESET}psst`,
  );
});

Deno.test("formatEvent with colour colours the name and keeps the text", () => {
  assert.equal(
    formatEvent(
      event({ type: "message", from: "bob", text: "hi there" }),
      COLOR,
    ),
    `${nameColor("bob")}bob${RESET}: hi there`,
  );
  assert.equal(
    formatEvent(event({ type: "action", from: "bob", text: "waves" }), COLOR),
    `* ${nameColor("bob")}bob${RESET} waves`,
  );
});

Deno.test("formatEvent with colour shows your own name in bold", () => {
  assert.equal(
    formatEvent(event({ type: "message", from: "Alice", text: "hi" }), COLOR),
    `\x1b[1m${nameColor("Alice")}Alice${RESET}: hi`,
  );
});

Deno.test("formatEvent with colour shows your own name in bold whatever its case and accents", () => {
  const own = { ...COLOR, ownName: "elodie" };
  assert.equal(
    formatEvent(event({ type: "message", from: "Élodie", text: "hi" }), own),
    `\x1b[1m${nameColor("Élodie")}Élodie${RESET}: hi`,
  );
});

Deno.test("nameColor is stable and ignores case and accents, as names do", () => {
  assert.equal(nameColor("alice"), nameColor("alice"));
  assert.equal(nameColor("alice"), nameColor("ALICE"));
  assert.equal(nameColor("Élodie"), nameColor("elodie"));
  assert.equal(nameColor("françois"), nameColor("FRANCOIS"));
  assert.equal(nameColor("Guest_7"), nameColor("gUEST_7"));
  assert.match(nameColor("alice"), new RegExp("^\x1b\\[\\d+m$"));
});

Deno.test("nameColor never uses red or magenta, which mean errors and private messages", () => {
  for (let i = 0; i < 200; i++) {
    const color = nameColor(`user${i}`);
    assert.notEqual(color, RED);
    assert.notEqual(color, "\x1b[35m");
  }
});

Deno.test("nameColor gives different names different colours", () => {
  const colors = new Set(
    Array.from({ length: 50 }, (_, i) => nameColor(`user${i}`)),
  );
  assert.ok(colors.size > 1);
});

// --- limits, password and TLS ------------------------------------------------

Deno.test("serve takes every limit as a flag, and 0 turns a limit off", () => {
  const invocation = parseCommandLine([
    "serve",
    "--max-per-ip=0",
    "--handshake-timeout=0",
    "--heartbeat-timeout=90",
    "--flood-burst=50",
    "--flood-rate=0",
    "--flood-disconnect=0",
  ], NO_ENV);
  assert.ok(invocation.command === "serve");
  assert.equal(invocation.maxPerAddress, 0);
  assert.equal(invocation.handshakeTimeoutMs, 0);
  assert.equal(invocation.heartbeatTimeoutMs, 90_000);
  assert.deepEqual(invocation.flood, {
    burst: 50,
    perSecond: 0,
    disconnectAfter: 0,
  });
});

Deno.test("serve takes the line length, queue size and wrong-password delay as flags", () => {
  const invocation = parseCommandLine([
    "serve",
    "--max-line-bytes=512",
    "--queue-kib=256",
    "--password-delay=3",
  ], NO_ENV);
  assert.ok(invocation.command === "serve");
  assert.equal(invocation.maxLineBytes, 512);
  assert.equal(invocation.queueLimitBytes, 256 * 1024);
  assert.equal(invocation.wrongPasswordDelayMs, 3000);
  const longest = parseCommandLine(
    ["serve", "--max-line-bytes=32768"],
    NO_ENV,
  );
  assert.equal(longest.command === "serve" && longest.maxLineBytes, 32 * 1024);
  assertUsageError(
    ["serve", "--queue-kib=0"],
    /--queue-kib: use a whole number of 1 or more/,
  );
});

Deno.test("serve refuses a --max-line-bytes over 32 KiB with the allowed range, instead of lowering it", () => {
  for (const value of ["32769", "100000", "999999999", "0"]) {
    assertUsageError(
      ["serve", `--max-line-bytes=${value}`],
      new RegExp(
        `^Bad value "${value}" for --max-line-bytes: use a whole number from 1 to 32768\\.$`,
      ),
    );
    assertUsageError(
      ["serve", `--max-line-bytes=${value}`],
      new RegExp(
        `^Valeur invalide « ${value} » pour --max-line-bytes : utilisez un nombre entier de 1 à 32768\\.$`,
      ),
      { LANG: "fr_FR.UTF-8" },
    );
  }
});

for (const lang of ["en", "fr"] as const) {
  Deno.test(`serve --help (${lang}) says truly which limits 0 turns off`, () => {
    const help = serveHelp(lang);
    const limits = help.slice(
      help.indexOf(lang === "en" ? "Limits" : "Limites"),
    );
    const [header] = limits.split(/\) ?:\n/);
    const exceptions = new Set(header.match(/--[a-z-]+/g));
    const options = [...limits.matchAll(/^ {2}(--[a-z-]+) [A-ZÉ]+/gm)]
      .map((match) => match[1]);
    assert.ok(options.length >= 10, options.join(" "));
    assert.deepEqual(
      [...exceptions].sort(),
      ["--flood-burst", "--max-line-bytes", "--queue-kib"],
    );
    for (const option of options) {
      const parse = () => parseCommandLine(["serve", `${option}=0`], NO_ENV);
      if (exceptions.has(option)) {
        assert.throws(parse, UsageError, option);
      } else {
        assert.doesNotThrow(parse, `${option} 0`);
      }
    }
  });
}

Deno.test("serve refuses a burst of 0 and limits that are not whole numbers", () => {
  assertUsageError(
    ["serve", "--flood-burst=0"],
    /--flood-burst: use a whole number of 1 or more/,
  );
  for (
    const option of ["--max-per-ip", "--flood-rate", "--handshake-timeout"]
  ) {
    assertUsageError(
      ["serve", `${option}=-1`],
      new RegExp(`${option}: use a whole number of 0 or more`),
    );
  }
});

Deno.test("serve --password asks for the password instead of taking it as a value", () => {
  const invocation = parseCommandLine(["serve", "--password"], NO_ENV);
  assert.ok(invocation.command === "serve" && invocation.askPassword);
  assertUsageError(
    ["serve", "--password=secret"],
    /^Option "--password" does not take a value\.$/,
  );
});

Deno.test("serve --tls makes its own certificate; --tls-cert needs --tls-key", () => {
  const selfSigned = parseCommandLine(["serve", "--tls"], NO_ENV);
  assert.deepEqual(
    selfSigned.command === "serve" && selfSigned.tls,
    { selfSigned: true },
  );
  const files = parseCommandLine(
    ["serve", "--tls-cert", "c.pem", "--tls-key", "k.pem"],
    NO_ENV,
  );
  assert.deepEqual(files.command === "serve" && files.tls, {
    certFile: "c.pem",
    keyFile: "k.pem",
  });
  assertUsageError(
    ["serve", "--tls-cert", "c.pem"],
    /--tls-cert and --tls-key go together/,
  );
});

Deno.test("connect --tls, --ca and --fingerprint choose how the server is checked", () => {
  const hex = "ab".repeat(32);
  const canonical = Array.from({ length: 32 }, () => "AB").join(":");
  const cases: [string[], unknown][] = [
    [["--tls"], { caFile: undefined }],
    [["--ca", "ca.pem"], { caFile: "ca.pem" }],
    [["--fingerprint", hex], { fingerprint: canonical }],
    [["--tls", "--fingerprint", canonical], { fingerprint: canonical }],
  ];
  for (const [flags, tls] of cases) {
    const invocation = parseCommandLine(["connect", "h", ...flags], NO_ENV);
    assert.deepEqual(
      invocation.command === "connect" && invocation.tls,
      tls,
      flags.join(" "),
    );
  }
  assertUsageError(
    ["connect", "h", "--fingerprint", "12:34"],
    /^Bad fingerprint "12:34": copy the 64 hexadecimal digits/,
  );
  assertUsageError(
    ["connect", "h", "--fingerprint", hex, "--ca", "ca.pem"],
    /^Give either --fingerprint or --ca, not both/,
  );
});

// --- languages ----------------------------------------------------------------

const FRENCH = { LANG: "fr_FR.UTF-8" };

Deno.test("English usage errors are today's sentences, byte for byte", () => {
  const cases: [string[], string][] = [
    [
      ["frobnicate"],
      'Unknown command "frobnicate". Use "chat serve" or "chat connect <host>".',
    ],
    [["--bogus"], 'Unknown option "--bogus". Run "chat --help" for usage.'],
    [
      ["serve", "--bogus"],
      'Unknown option "--bogus" for "chat serve". Run "chat serve --help".',
    ],
    [["serve", "--password=x"], 'Option "--password" does not take a value.'],
    [["serve", "--port"], 'Option "--port" needs a value, e.g. --port 5000.'],
    [
      ["serve", "--name", "-x"],
      'Option "--name" got a value starting with "-": write it as --name=VALUE.',
    ],
    [
      ["serve", "--port", "99999"],
      'Bad port "99999": use a number from 0 to 65535.',
    ],
    [
      ["serve", "--flood-burst=0"],
      'Bad value "0" for --flood-burst: use a whole number of 1 or more.',
    ],
    [
      ["serve", "--name", "a b"],
      'Cannot use "a b" as a name: names may contain only letters of the Latin alphabet, with or without accents (é, ç, ø ...), digits, _ and -.',
    ],
    [
      ["serve", "--name", "x".repeat(25)],
      `Cannot use "${
        "x".repeat(25)
      }" as a name: names are at most 24 characters long.`,
    ],
    [
      ["serve", "extra"],
      '"chat serve" takes no arguments, got "extra". Run "chat serve --help".',
    ],
    [
      ["serve", "--tls-key", "k.pem"],
      "--tls-cert and --tls-key go together: give the certificate and its key.",
    ],
    [
      ["connect"],
      'Missing the server\'s address, e.g. "chat connect 192.168.1.23".',
    ],
    [["connect", "a", "b"], '"chat connect" takes one address, got 2: a b.'],
    [
      ["connect", "h:5001", "--port=5001"],
      'The port is given twice ("h:5001" and --port). Give it once.',
    ],
    [
      ["connect", "a b"],
      'Bad address "a b": use a host name or IP address, e.g. 192.168.1.23.',
    ],
    [
      ["connect", "h", "--fingerprint", "12"],
      'Bad fingerprint "12": copy the 64 hexadecimal digits that "chat serve --tls" printed (colons optional).',
    ],
    [
      ["connect", "h", "--fingerprint", "ab".repeat(32), "--ca", "c.pem"],
      "Give either --fingerprint or --ca, not both: the fingerprint already names the one certificate to accept.",
    ],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseCommandLine(args, { LANG: "C.UTF-8", CHAT_NO_DISCOVERY: "1" }),
      (error: Error) =>
        error instanceof UsageError && error.message === message,
      `${JSON.stringify(args)} should say: ${message}`,
    );
  }
});

Deno.test("the language comes from --lang, else LC_ALL, LC_MESSAGES or LANG, else English", () => {
  const lang = (args: string[], env: CommandLineEnv) => {
    const invocation = parseCommandLine(args, env);
    assert.ok(
      invocation.command === "serve" || invocation.command === "connect",
    );
    return invocation.lang;
  };
  assert.equal(lang(["serve"], NO_ENV), "en");
  assert.equal(lang(["serve"], FRENCH), "fr");
  assert.equal(
    lang(["serve"], { LC_MESSAGES: "fr_CA.UTF-8", LANG: "en_US" }),
    "fr",
  );
  assert.equal(lang(["serve"], { LC_ALL: "C", LANG: "fr_FR.UTF-8" }), "en");
  assert.equal(lang(["serve", "--lang", "en"], FRENCH), "en");
  assert.equal(lang(["serve", "--lang=fr"], { LANG: "en_GB.UTF-8" }), "fr");
  assert.equal(lang(["connect", "h", "--lang", "fr"], NO_ENV), "fr");
  assert.equal(lang(["connect", "--lang=en", "h"], { LC_ALL: "fr_FR" }), "en");
  // The last --lang wins, as for any option.
  assert.equal(lang(["serve", "--lang", "en", "--lang", "fr"], NO_ENV), "fr");
  assert.equal(commandLineLang(["serve", "--lang", "de"], FRENCH), "fr");
  assert.equal(commandLineLang(["serve", "--lang"], NO_ENV), "en");
});

Deno.test("a bad --lang is a one-line usage error, in the locale's language", () => {
  assertUsageError(
    ["serve", "--lang", "de"],
    /^Unknown language "de" for --lang: use fr or en\.$/,
  );
  assertUsageError(
    ["connect", "h", "--lang=klingon"],
    /^Langue inconnue « klingon » pour --lang : utilisez fr ou en\.$/,
    FRENCH,
  );
  assertUsageError(["serve", "--lang="], /^Unknown language ""/);
  assertUsageError(
    ["serve", "--lang"],
    /^Option "--lang" needs a value, e.g\. --lang fr\.$/,
  );
  assertUsageError(
    ["serve", "--lang", "--port", "1"],
    /^L'option « --lang » demande une valeur, par exemple --lang fr\.$/,
    FRENCH,
  );
});

Deno.test("usage errors are in French with a French locale or --lang fr", () => {
  const cases: [string[], RegExp][] = [
    [
      ["frobnicate"],
      /^Commande inconnue « frobnicate »\. Utilisez « chat serve » ou « chat connect <hôte> »\.$/,
    ],
    [
      ["serve", "--bogus"],
      /^Option inconnue « --bogus » pour « chat serve »\. Lancez « chat serve --help »\.$/,
    ],
    [
      ["serve", "--port", "99999"],
      /^Port invalide « 99999 » : utilisez un nombre de 0 à 65535\.$/,
    ],
    [
      ["serve", "--port"],
      /^L'option « --port » demande une valeur, par exemple --port 5000\.$/,
    ],
    [
      ["serve", "--max-clients=-1"],
      /^Valeur invalide « -1 » pour --max-clients : utilisez un nombre entier d'au moins 0\.$/,
    ],
    [
      ["serve", "--name", "a b"],
      /^Impossible de prendre « a b » comme nom : un nom ne peut contenir que des lettres/,
    ],
    [["connect"], /^Il manque l'adresse du serveur/],
    [
      ["connect", "h:0"],
      /^Port invalide « 0 » : utilisez un nombre de 1 à 65535\.$/,
    ],
    [["connect", "h", "--fingerprint", "12"], /^Empreinte invalide « 12 »/],
  ];
  for (const [args, pattern] of cases) {
    const off = { CHAT_NO_DISCOVERY: "1" }; // issue 10: connect needs an address
    assertUsageError(args, pattern, { ...FRENCH, ...off });
    // --lang may come first, or after the command.
    const english = { LANG: "en_US.UTF-8", ...off };
    assertUsageError(["--lang", "fr", ...args], pattern, english);
    const [command, ...rest] = args;
    assertUsageError([command, "--lang=fr", ...rest], pattern, english);
  }
  // --lang en wins over a French locale.
  assertUsageError(
    ["serve", "--bogus", "--lang", "en"],
    /^Unknown option "--bogus"/,
    FRENCH,
  );
});

Deno.test("--help is in French with a French locale or --lang fr, and documents --lang", () => {
  assert.deepEqual(parseCommandLine(["--help"], FRENCH), {
    command: "help",
    text: mainHelp("fr"),
  });
  assert.deepEqual(parseCommandLine(["--lang", "fr"], NO_ENV), {
    command: "help",
    text: mainHelp("fr"),
  });
  assert.deepEqual(parseCommandLine(["serve", "-h", "--lang=fr"], NO_ENV), {
    command: "help",
    text: serveHelp("fr"),
  });
  assert.deepEqual(parseCommandLine(["connect", "--help"], FRENCH), {
    command: "help",
    text: connectHelp("fr"),
  });
  assert.deepEqual(parseCommandLine(["--lang=fr", "version"], NO_ENV), {
    command: "version",
  });
  assert.match(mainHelp("fr"), /^chat : un salon de discussion/);
  assert.match(serveHelp("fr"), /^Utilisation : chat serve \[options\]/);
  assert.match(serveHelp("fr"), /--max-clients N .*\n.*\(par défaut 256\)/);
  assert.match(
    connectHelp("fr"),
    /^Utilisation : chat connect <hôte>\[:port\]/,
  );
  for (const help of [serveHelp, connectHelp]) {
    for (const lang of ["en", "fr"] as const) {
      assert.match(help(lang), /\n {2}--lang fr\|en {8}\S/);
      assert.doesNotMatch(help(lang), /\{\w+\}/, "a placeholder left unfilled");
    }
  }
  // The option names are the same in both languages.
  const options = (text: string) =>
    [...text.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
  assert.deepEqual(options(serveHelp("fr")), options(serveHelp("en")));
  assert.deepEqual(options(connectHelp("fr")), options(connectHelp("en")));
});

// --- what chat serve prints, in each language ------------------------------------

/** The locale of a French user; LC_ALL and LC_MESSAGES empty so LANG decides. */
const FRENCH_LOCALE = { LANG: "fr_FR.UTF-8", LC_ALL: "", LC_MESSAGES: "" };

Deno.test("chat serve with LANG=fr prints its console lines in French, and nc users are welcomed in French", async () => {
  await using server = await ChatProcess.serve([], { env: FRENCH_LOCALE });
  const out = server.stdout;
  const port = server.port;
  const hint =
    "Tapez ici pour discuter en tant qu'hôte ; /help liste les commandes, /stop arrête le salon.";
  await out.waitFor(hint);
  assert.deepEqual(out.lines.slice(0, 6), [
    `Écoute sur 127.0.0.1:${port}`,
    "Seul cet ordinateur peut se connecter : 127.0.0.1 n'est joignable que depuis cet ordinateur (--host 0.0.0.0 ouvre le salon à vos camarades). Connexion avec :",
    `  chat connect 127.0.0.1:${port}`,
    `  (ou depuis une copie de chat : deno task connect 127.0.0.1:${port})`,
    `  (ou sans chat : nc 127.0.0.1 ${port})`,
    hint,
  ]);
  await using bob = await TcpClient.connect(server.port);
  await bob.received.waitFor(/^\*\*\* Bonjour ! /);
  await bob.send("/nick bob");
  await bob.received.waitFor((line) => line.startsWith("*** Bienvenue, bob !"));
  // The host's console speaks French too.
  await out.waitFor("*** bob a rejoint le salon");
  server.kill("SIGTERM");
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  assert.equal(out.lines.at(-1), "Serveur arrêté.");
  assert.ok(!out.text.includes("Listening"), out.text);
});

Deno.test("chat serve --lang en speaks English whatever LANG says", async () => {
  await using server = await ChatProcess.serve(["--lang", "en"], {
    env: FRENCH_LOCALE,
  });
  assert.equal(
    server.stdout.lines[0],
    `Listening on 127.0.0.1:${server.port}`,
  );
  await server.stdout.waitFor(/^Only this computer can join: /);
  // join() waits for "*** Welcome, bob!": the room speaks English too.
  await using bob = await TcpClient.join(server.port, "bob");
  assert.match(bob.received.lines[0], /^\*\*\* Hello! /);
  await server.stdout.waitFor("*** bob joined");
});

Deno.test("chat with LANG=fr prints usage errors in French on one line, with status 2", async () => {
  for (
    const [args, message] of [
      [
        ["serve", "--port", "abc"],
        "chat: Port invalide « abc » : utilisez un nombre de 0 à 65535.",
      ],
      [
        ["connect", "--lang", "de", "h"],
        "chat: Langue inconnue « de » pour --lang : utilisez fr ou en.",
      ],
    ]
  ) {
    await using chat = new ChatProcess(args as string[], {
      env: FRENCH_LOCALE,
    });
    assert.equal((await chat.exit()).code, 2);
    assert.deepEqual(chat.stderr.lines, [message]);
    assert.deepEqual(chat.stdout.lines, []);
  }
});

// --- chat serve --password at a terminal ------------------------------------

/** Types a secret at a prompt once it shows, then Enter. */
async function answer(
  terminal: Terminal,
  prompt: string,
  count: number,
  secret: string,
): Promise<void> {
  await terminal.waitFor(
    `prompt ${count} "${prompt}"`,
    // tmux drops the blanks at the end of a row.
    (screen) => screen.split(prompt.trimEnd()).length - 1 >= count,
  );
  if (secret !== "") await terminal.keys("-l", secret);
  await terminal.keys("Enter");
}

Deno.test({
  name:
    "serve --password asks again when the two passwords differ, and the room then takes the password",
  ignore: !TMUX_FOUND,
  fn: async () => {
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand([
        "serve",
        "--password",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
      ]),
      { CHAT_PASSWORD: "" },
      { columns: 200 },
    );
    await answer(terminal, "Room password: ", 1, "sesame");
    await answer(terminal, "Same password again: ", 1, "sesane");
    await terminal.waitFor(
      "the retry line",
      (screen) =>
        screen.includes("The two passwords differ. Try again (2 of 3)."),
    );
    await answer(terminal, "Room password: ", 2, "");
    await terminal.waitFor(
      "the empty-password line",
      (screen) =>
        screen.includes(
          "The room password cannot be empty. Try again (3 of 3).",
        ),
    );
    await answer(terminal, "Room password: ", 3, "sesame");
    await answer(terminal, "Same password again: ", 2, "sesame");
    const screen = await terminal.waitFor(
      "the server to listen",
      (text) => /Listening on 127\.0\.0\.1:\d+/.test(text),
    );
    assert.ok(!screen.includes("sesame"), "the password was shown");
    const port = Number(/Listening on 127\.0\.0\.1:(\d+)/.exec(screen)![1]);
    await using alice = await TcpClient.join(port, "alice", {
      password: "sesame",
    });
    await alice.send("/who");
    await alice.received.waitFor(/^\*\*\* Online \(2\): host, alice$/);
  },
});

Deno.test({
  name:
    "serve --password gives up after three tries, with one line and status 1, in French too",
  ignore: !TMUX_FOUND,
  fn: async () => {
    for (
      const [env, prompt, again, message] of [
        [
          {},
          "Room password: ",
          "Same password again: ",
          "chat: The two passwords differ. No password after 3 tries; the room was not started.",
        ],
        [
          { LANG: "fr_FR.UTF-8" },
          "Mot de passe du salon : ",
          "Répétez le mot de passe : ",
          "chat: Les deux mots de passe sont différents. Pas de mot de passe après 3 essais ; le salon n'a pas été ouvert.",
        ],
      ] as const
    ) {
      await using terminal = new Terminal();
      await terminal.start(
        chatCommand(["serve", "--password", "--host", "127.0.0.1"]),
        { CHAT_PASSWORD: "", ...env },
        { columns: 200 },
      );
      for (let attempt = 1; attempt <= 3; attempt++) {
        await answer(terminal, prompt, attempt, `first${attempt}`);
        await answer(terminal, again, attempt, `second${attempt}`);
      }
      const screen = await terminal.waitFor(
        "the program to give up",
        (text) => text.includes("EXIT="),
      );
      assert.match(screen, /EXIT=1/);
      assert.ok(screen.includes(message), screen);
      assert.ok(!/Listening|Écoute/.test(screen), screen);
    }
  },
});
