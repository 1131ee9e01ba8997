/**
 * End-to-end tests of `chat connect` in pipe mode, and of every error the
 * command line reports: the real `main.ts` in subprocesses.
 */

import assert from "node:assert/strict";
import { chatCommand, ChatProcess, TcpClient } from "./harness.ts";

/** Runs `chat ARGS` to completion and returns its status and output. */
async function run(
  args: string[],
  options: { env?: Record<string, string>; ms?: number } = {},
) {
  await using child = new ChatProcess(args, { env: options.env });
  const status = await child.exit(options.ms);
  return {
    code: status.code,
    stdout: child.stdout.lines,
    stderr: child.stderr.lines,
  };
}

/** Asserts a failure was reported as exactly one line and no stack trace. */
function assertOneLineError(
  result: { code: number; stderr: string[] },
  code: number,
  message: string | RegExp,
) {
  assert.equal(result.code, code, result.stderr.join("\n"));
  assert.equal(result.stderr.length, 1, result.stderr.join("\n"));
  if (typeof message === "string") assert.equal(result.stderr[0], message);
  else assert.match(result.stderr[0], message);
}

Deno.test("two piped clients chat, and each exits 0 when its input ends", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using bob = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "bob"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** bob joined");
  await using alice = new ChatProcess(
    ["connect", "127.0.0.1", "--port", String(server.port), "--name", "alice"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** alice joined");
  await alice.type("bonjour bob");
  await alice.type("/me waves");
  await alice.endInput();
  assert.equal((await alice.exit()).code, 0, alice.stderr.text);
  assert.match(alice.stdout.lines[0], /^\*\*\* Welcome, alice! Online \(4\)/);
  assert.deepEqual(alice.stdout.lines.slice(1), [
    "alice: bonjour bob",
    "* alice waves",
    "*** Bye!",
  ]);
  await bob.stdout.waitFor("alice: bonjour bob");
  await bob.stdout.waitFor("* alice waves");
  await bob.stdout.waitFor("*** alice left");
  await bob.type("/quit");
  assert.equal((await bob.exit()).code, 0, bob.stderr.text);
  assert.deepEqual(bob.stderr.lines, []);
});

Deno.test("lines piped in are all delivered, in order, before the client quits", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using sender = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "sender"],
    { stdin: true },
  );
  const count = 500;
  for (let n = 0; n < count; n++) await sender.type(`message ${n}`);
  await sender.endInput();
  assert.equal((await sender.exit()).code, 0, sender.stderr.text);
  await watcher.received.waitFor("*** sender left");
  const got = watcher.received.lines.filter((line) =>
    line.startsWith("sender: ")
  );
  assert.deepEqual(
    got,
    Array.from({ length: count }, (_, n) => `sender: message ${n}`),
  );
});

Deno.test("the login name is used by default; a taken one falls back to guestN", async () => {
  await using server = await ChatProcess.serve();
  await using taken = await TcpClient.join(server.port, "john_doe");
  await using client = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`],
    { stdin: true, env: { USER: "john.doe" } },
  );
  await client.stdout.waitFor(
    '*** error: the name "john_doe" is taken. Try another one.',
  );
  await client.type("still here");
  await taken.received.waitFor("guest1: still here");
  await client.endInput();
  assert.equal((await client.exit()).code, 0);
});

Deno.test("typing /quit or stop exits 0", async () => {
  await using server = await ChatProcess.serve();
  for (const quit of ["/quit", "stop"]) {
    await using client = new ChatProcess(
      ["connect", `127.0.0.1:${server.port}`, "--name", "quitter"],
      { stdin: true },
    );
    await client.type(quit);
    assert.equal(
      (await client.exit()).code,
      0,
      `${quit}: ${client.stderr.text}`,
    );
    assert.equal(client.stdout.lines.at(-1), "*** Bye!");
  }
});

Deno.test("Ctrl-C (SIGINT) quits the client with status 0", async () => {
  await using server = await ChatProcess.serve();
  await using watcher = await TcpClient.join(server.port, "watcher");
  await using client = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "leaver"],
    { stdin: true },
  );
  await watcher.received.waitFor("*** leaver joined");
  client.kill("SIGINT");
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  await watcher.received.waitFor("*** leaver left");
});

Deno.test("when the server goes away the client says so and exits 1", async () => {
  await using server = await ChatProcess.serve();
  await using client = new ChatProcess(
    ["connect", `127.0.0.1:${server.port}`, "--name", "alice"],
    { stdin: true },
  );
  await server.stdout.waitFor("*** alice joined");
  server.kill("SIGTERM");
  const result = await client.exit();
  assertOneLineError(
    { code: result.code, stderr: client.stderr.lines },
    1,
    `Disconnected from 127.0.0.1:${server.port}: the server shut down.`,
  );
  assert.equal(client.stdout.lines.at(-1), "*** server is shutting down");
});

Deno.test("a refused --name is one clear line and exit 1", async () => {
  await using server = await ChatProcess.serve(["--name", "teacher"]);
  const result = await run([
    "connect",
    `127.0.0.1:${server.port}`,
    "--name",
    "Teacher",
  ]);
  assertOneLineError(
    result,
    1,
    'chat: The server refused the name "Teacher": the name "Teacher" is taken. Try another one.',
  );
});

Deno.test("a full server's refusal is one clear line and exit 1", async () => {
  await using server = await ChatProcess.serve(["--max-clients", "1"]);
  await using _occupant = await TcpClient.join(server.port);
  const result = await run(["connect", `127.0.0.1:${server.port}`]);
  assertOneLineError(
    result,
    1,
    `chat: The server at 127.0.0.1:${server.port} refused the connection: the server is full (1 client). Try again later.`,
  );
});

Deno.test("a server that never greets is reported after 10 s, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })().catch(() => {});
  try {
    const port = listener.addr.port;
    const result = await run(["connect", `127.0.0.1:${port}`], {
      ms: 20_000,
    });
    assertOneLineError(
      result,
      1,
      `chat: The server at 127.0.0.1:${port} said nothing for 10 s. Is "chat serve" what is running on port ${port}? If it was started with --tls, add --fingerprint or --tls.`,
    );
  } finally {
    listener.close();
    for (const conn of accepted) conn.close();
    await accepting;
  }
});

Deno.test("connecting to a port where nothing listens: connection refused, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await run(["connect", `127.0.0.1:${port}`]);
  assertOneLineError(
    result,
    1,
    `chat: Cannot reach 127.0.0.1:${port}: connection refused. Is "chat serve" running there, on port ${port}?`,
  );
});

Deno.test("an unknown host is one clear line and exit 1", async (t) => {
  // Run in a network namespace of our own with only loopback, so the name
  // lookup fails here without sending anything onto any network.
  const probe = await new Deno.Command("unshare", {
    args: ["--net", "true"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!probe?.success) {
    console.log(
      "    skipped: cannot create a network namespace (unshare --net needs root)",
    );
    t.step({ name: "unknown host", ignore: true, fn: () => {} });
    return;
  }
  const child = new Deno.Command("unshare", {
    args: ["--net", ...chatCommand(["connect", "no-such-host.invalid"])],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr).trimEnd().split("\n");
  assertOneLineError(
    { code: output.code, stderr },
    1,
    'chat: Cannot find host "no-such-host.invalid": no such name on this network. Check the address the server printed.',
  );
});

Deno.test("a port already in use is one clear line and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = listener.addr.port;
    const result = await run([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ]);
    assertOneLineError(
      result,
      1,
      `chat: Port ${port} is already in use. Try --port ${port + 1}.`,
    );
  } finally {
    listener.close();
  }
});

Deno.test("command-line mistakes are one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [
      ["frobnicate"],
      'chat: Unknown command "frobnicate". Use "chat serve" or "chat connect <host>".',
    ],
    [
      ["serve", "--colour"],
      'chat: Unknown option "--colour" for "chat serve". Run "chat serve --help".',
    ],
    [
      ["serve", "--port", "99999"],
      'chat: Bad port "99999": use a number from 0 to 65535.',
    ],
    [
      ["connect", "10.0.0.7:abc"],
      'chat: Bad port "abc": use a number from 1 to 65535.',
    ],
    [
      ["connect"],
      'chat: Missing the server\'s address, e.g. "chat connect 192.168.1.23".',
    ],
    [
      ["connect", "127.0.0.1", "--name", "two words"],
      'chat: Cannot use "two words" as a name: names may contain only letters (a-z, A-Z), digits, _ and -.',
    ],
    [
      ["serve", "--max-clients", "none"],
      'chat: Bad value "none" for --max-clients: use a whole number of 1 or more.',
    ],
  ];
  for (const [args, message] of cases) {
    assertOneLineError(await run(args), 2, message);
  }
});

Deno.test("--help, --version and each command's help exit 0", async () => {
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout[0], /^chat \d+\.\d+\.\d+$/);
  for (
    const [args, first] of [
      [["--help"], "chat: a chat room for everyone on the local network"],
      [["serve", "--help"], "Usage: chat serve [options]"],
      [["connect", "--help"], "Usage: chat connect <host>[:port] [options]"],
    ] as const
  ) {
    const result = await run([...args]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout[0], first);
    assert.deepEqual(result.stderr, []);
  }
});
