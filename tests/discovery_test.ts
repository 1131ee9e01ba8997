/**
 * Issue 10: finding rooms on the local network (DNS-SD over multicast DNS).
 *
 * Every test that announces or searches runs its servers and clients inside
 * two network namespaces it makes, joined by a veth pair, and deletes them
 * after: nothing here sends a multicast packet anywhere else. One test
 * proves that a server started the way the harness starts every other one
 * sends no multicast or broadcast packet at all, with a packet capture in a
 * namespace, next to a control where an announcing server is captured.
 * Without root or `ip` the namespace tests are skipped, and say why.
 */

import assert from "node:assert/strict";
import {
  announceInterfaces,
  discoveryOffByEnv,
  type FoundRoom,
  onLink,
  parseTxt,
} from "../lib/discovery.ts";
import { formatRooms } from "../lib/room_list.ts";
import { parseCommandLine, UsageError } from "../lib/cli.ts";
import {
  chatCommand,
  ChatProcess,
  deadline,
  findProgram,
  LineCollector,
  sleep,
  Terminal,
  TMUX_FOUND,
} from "./harness.ts";
import { inNetns, NETNS_PROBLEM, NetnsPair } from "./netns.ts";

const PYTHON = findProgram("python3");
const TESTDATA = new URL("./testdata/", import.meta.url).pathname;

/** Why the namespace tests cannot run here, decided before any runs. */
const SKIP = NETNS_PROBLEM ?? (PYTHON ? undefined : "no python3");
if (SKIP) console.log(`discovery tests in network namespaces skipped: ${SKIP}`);

/** Discovery on: the harness turns it off for everything else. */
const ON = { CHAT_NO_DISCOVERY: "" };

/** `chat serve` on every address of `netns`, announcing (unless `args` say). */
function announcing(
  netns: string,
  args: string[],
  env: Record<string, string> = ON,
): Promise<ChatProcess> {
  return ChatProcess.serve(["--host", "0.0.0.0", ...args], { netns, env });
}

/** `chat list` in `netns`: exit code, stdout and stderr lines. */
async function list(
  netns: string,
  args: string[] = [],
  env: Record<string, string> = ON,
): Promise<{ code: number; out: string[]; err: string[] }> {
  await using lister = new ChatProcess(["list", ...args], { netns, env });
  const { code } = await lister.exit();
  return { code, out: lister.stdout.lines, err: lister.stderr.lines };
}

/** A Python helper from testdata/ running in `netns`. */
class Helper implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stdout: LineCollector;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(netns: string, command: string[]) {
    const [program, ...args] = inNetns(netns, command);
    this.child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.stdout = new LineCollector(this.child.stdout);
    this.#stdin = this.child.stdin.getWriter();
  }

  /** Closes its stdin (the capture stops) and waits for it to end. */
  async finish(): Promise<string[]> {
    await this.#stdin.close().catch(() => {});
    await deadline(this.child.status, "the helper to exit");
    await this.stdout.waitForEnd();
    return this.stdout.lines;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
  }
}

/** Starts a packet capture of multicast and broadcast frames in `netns`. */
async function capture(netns: string): Promise<Helper> {
  const helper = new Helper(netns, [
    PYTHON!,
    `${TESTDATA}capture_multicast.py`,
    "60",
  ]);
  await helper.stdout.waitFor("ready");
  return helper;
}

/** Stops a server with SIGTERM (it says goodbye) and waits for it to end. */
async function stop(server: ChatProcess): Promise<void> {
  server.kill("SIGTERM");
  await server.exit();
}

// --- without a network ----------------------------------------------------------

Deno.test("a loopback server never announces; 0.0.0.0 announces on every LAN interface, --iface on one", () => {
  const lan = [
    { name: "eth0", address: "192.168.1.23", netmask: "255.255.255.0" },
    { name: "wlan0", address: "10.0.0.5", netmask: "255.0.0.0" },
  ];
  for (const host of ["127.0.0.1", "127.8.9.1", "localhost", "::1"]) {
    assert.deepEqual(announceInterfaces(host, undefined, lan), [], host);
  }
  assert.deepEqual(announceInterfaces("0.0.0.0", undefined, lan), lan);
  assert.deepEqual(announceInterfaces("::", undefined, lan), lan);
  assert.deepEqual(announceInterfaces("0.0.0.0", "wlan0", lan), [lan[1]]);
  assert.deepEqual(announceInterfaces("192.168.1.23", undefined, lan), [
    lan[0],
  ]);
  assert.deepEqual(announceInterfaces("127.0.0.1", "eth0", lan), []);
});

Deno.test("CHAT_NO_DISCOVERY turns discovery off for serve, connect and list", () => {
  assert.equal(discoveryOffByEnv("1"), true);
  assert.equal(discoveryOffByEnv("yes"), true);
  assert.equal(discoveryOffByEnv(""), false);
  assert.equal(discoveryOffByEnv("0"), false);
  assert.equal(discoveryOffByEnv(undefined), false);
  const off = { CHAT_NO_DISCOVERY: "1" };
  const serve = parseCommandLine(["serve"], off);
  assert.equal(serve.command === "serve" && serve.discovery, false);
  const flag = parseCommandLine(["serve", "--no-discovery"], {});
  assert.equal(flag.command === "serve" && flag.discovery, false);
  const listing = parseCommandLine(["list"], off);
  assert.equal(listing.command === "list" && listing.discovery, false);
  // An address given: nothing is looked up, whatever the environment.
  const connect = parseCommandLine(["connect", "192.168.1.23"], {});
  assert.equal(connect.command === "connect" && connect.lookup, undefined);
});

Deno.test("serve --room follows the rules of names; connect WORD may be a room, connect HOST.DOMAIN or HOST:PORT is not", () => {
  const serve = parseCommandLine(["serve", "--room", "physics"], {});
  assert.equal(serve.command === "serve" && serve.room, "physics");
  assert.throws(
    () => parseCommandLine(["serve", "--room", "two words"], {}),
    (error: Error) =>
      error instanceof UsageError &&
      /^Cannot use "two words" as a room name: /.test(error.message),
  );
  assert.throws(
    () => parseCommandLine(["serve", "--room", "a b", "--lang", "fr"], {}),
    /^UsageError: Impossible de prendre « a b » comme nom de salon/,
  );
  const lookup = (args: string[]) => {
    const invocation = parseCommandLine(["connect", ...args], {});
    return invocation.command === "connect" ? invocation.lookup : "?";
  };
  assert.deepEqual(lookup(["physics"]), { room: "physics" });
  assert.deepEqual(lookup([]), {});
  assert.equal(lookup(["physics:5000"]), undefined);
  assert.equal(lookup(["physics", "--port", "5000"]), undefined);
  assert.equal(lookup(["lab.school.lan"]), undefined);
  assert.equal(lookup(["localhost"]), undefined);
  assert.throws(
    () => parseCommandLine(["list", "extra"], {}),
    /"chat list" takes no arguments, got "extra"/,
  );
});

Deno.test("chat list lines: room, host, address:port, online, then TLS, web and who announced it", () => {
  const room: FoundRoom = {
    name: "physics",
    host: "prof",
    address: "192.168.1.23",
    port: 5000,
    online: 12,
    tls: false,
    source: "192.168.1.23",
  };
  assert.deepEqual(formatRooms([room], "en"), [
    "physics  prof  192.168.1.23:5000  12 online",
  ]);
  assert.deepEqual(
    formatRooms([
      room,
      {
        ...room,
        name: "chemistry-2",
        host: "",
        port: 5001,
        online: undefined,
        tls: true,
        webPort: 8080,
        source: "192.168.1.66",
      },
    ], "fr"),
    [
      "physics      prof  192.168.1.23:5000  12 en ligne",
      "chemistry-2  -     192.168.1.23:5001  ?  TLS  http://192.168.1.23:8080/  annoncé par 192.168.1.66",
    ],
  );
});

Deno.test("TXT records: the first of each key counts, entries without a key are skipped", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const txt = parseTxt([
    bytes("v=1"),
    bytes("room=physics"),
    bytes("ROOM=other"),
    bytes("=x"),
    bytes("flag"),
    "online=3",
  ]);
  assert.deepEqual([...txt], [["v", "1"], ["room", "physics"], [
    "online",
    "3",
  ]]);
  assert.deepEqual([...parseTxt(42)], []);
});

Deno.test("mDNS is answered only on the link it came from", () => {
  const eth0 = {
    name: "eth0",
    address: "192.168.1.23",
    netmask: "255.255.255.0",
  };
  assert.equal(onLink("192.168.1.200", eth0), true);
  assert.equal(onLink("192.168.2.1", eth0), false);
  assert.equal(onLink("not an address", eth0), false);
  const wide = { name: "e", address: "200.1.2.3", netmask: "255.0.0.0" };
  assert.equal(onLink("200.9.9.9", wide), true);
});

// --- in two network namespaces --------------------------------------------------

Deno.test({
  name:
    "no server started the way the harness starts them sends a multicast or broadcast packet (and an announcing one is captured)",
  ignore: SKIP !== undefined,
  async fn(t) {
    await t.step(
      "the harness's servers and clients: nothing captured",
      async () => {
        await using net = await NetnsPair.create();
        const { netns } = net.a;
        await using capturing = await capture(netns);
        // Exactly as every other test starts a server: 127.0.0.1, the
        // harness's environment (CHAT_NO_DISCOVERY=1).
        await using harnessServer = await ChatProcess.serve([], { netns });
        // Listening everywhere, with discovery off by environment or option,
        // and on loopback with discovery on.
        await using offByEnv = await ChatProcess.serve(
          ["--host", "0.0.0.0"],
          { netns },
        );
        await using offByFlag = await announcing(netns, ["--no-discovery"]);
        await using loopback = await ChatProcess.serve([], { netns, env: ON });
        // The harness's clients: list and connect without an address look
        // for nothing.
        const listed = await list(netns, [], {});
        assert.equal(listed.code, 1);
        assert.deepEqual(listed.err, [
          "chat: Discovery is off (CHAT_NO_DISCOVERY is set): nothing was searched.",
        ]);
        await using connect = new ChatProcess(["connect"], { netns });
        assert.equal((await connect.exit()).code, 2);
        // Someone joins and leaves (an announcing server would re-announce).
        await using client = new ChatProcess(
          ["connect", `127.0.0.1:${offByEnv.port}`, "--name", "alice"],
          { netns, stdin: true },
        );
        await client.type("hello");
        await offByEnv.stdout.waitFor("alice: hello");
        await client.endInput();
        await client.exit();
        // An announcing server sends within a second of starting, again a
        // second later, and on stopping: give each that long.
        await sleep(2_500);
        for (const server of [harnessServer, offByEnv, offByFlag, loopback]) {
          await stop(server);
        }
        const lines = await capturing.finish();
        assert.deepEqual(lines, ["ready", "done 0"]);
      },
    );

    await t.step("control: an announcing server is captured", async () => {
      await using net = await NetnsPair.create();
      const { netns } = net.a;
      await using capturing = await capture(netns);
      await using server = await announcing(netns, ["--room", "physics"]);
      await sleep(2_500);
      await stop(server);
      const lines = await capturing.finish();
      assert.ok(
        lines.some((line) =>
          /^OUT vc\d+a 01:00:5e:00:00:fb ipv4 198\.18\.\d+\.1 -> 224\.0\.0\.251 udp 5353>5353$/
            .test(line)
        ),
        lines.join("\n"),
      );
    });
  },
});

Deno.test({
  name:
    "chat list finds --room physics with its address and port, and not a --no-discovery room",
  ignore: SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    await using physics = await announcing(net.a.netns, [
      "--room",
      "physics",
      "--name",
      "prof",
    ]);
    await using hidden = await announcing(net.a.netns, [
      "--room",
      "chemistry",
      "--no-discovery",
    ]);
    assert.ok(
      physics.stdout.lines.includes(
        `Announced on the local network as "physics" (${net.a.iface} ${net.a.address}): classmates can type chat connect, or chat list to see it.`,
      ),
      physics.stdout.text,
    );
    assert.ok(!hidden.stdout.text.includes("Announced"));
    const found = await list(net.b.netns);
    assert.deepEqual(found, {
      code: 0,
      out: [`physics  prof  ${net.a.address}:${physics.port}  1 online`],
      err: [],
    });
    const french = await list(net.b.netns, ["--lang", "fr"]);
    assert.deepEqual(french.out, [
      `physics  prof  ${net.a.address}:${physics.port}  1 en ligne`,
    ]);
    // --iface: the one named, or one line before the room opens.
    const onIface = await list(net.b.netns, ["--iface", net.b.iface]);
    assert.equal(onIface.out.length, 1);
    await using wrong = new ChatProcess(
      ["serve", "--host", "0.0.0.0", "--port", "0", "--iface", "wlan9"],
      { netns: net.a.netns, env: ON },
    );
    assert.equal((await wrong.exit()).code, 1);
    assert.deepEqual(wrong.stdout.lines, []);
    assert.deepEqual(wrong.stderr.lines, [
      `chat: No network interface "wlan9" with an IPv4 address; this computer has: ${net.a.iface}.`,
    ]);
  },
});

Deno.test({
  name:
    "chat connect without an address joins the only room, and chat connect ROOM joins it by name",
  ignore: SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    await using server = await announcing(net.a.netns, ["--room", "physics"]);
    for (const [args, name] of [[[], "alice"], [["PHYSICS"], "bob"]] as const) {
      await using client = new ChatProcess(
        ["connect", ...args, "--name", name],
        { netns: net.b.netns, env: ON, stdin: true },
      );
      await client.type(`hello from ${name}`);
      await server.stdout.waitFor(`${name}: hello from ${name}`);
      await client.endInput();
      assert.equal((await client.exit()).code, 0);
    }
    // The count answered follows: 1 (host) + nobody now.
    const found = await list(net.b.netns);
    assert.equal(found.code, 0);
    assert.match(
      found.out[0],
      /^physics {2}host {2}198\.18\.\d+\.1:\d+ {2}1 online$/,
    );
  },
});

Deno.test({
  name:
    "a room announces itself again when the number of people changes, without being asked",
  ignore: SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    await using server = await announcing(net.a.netns, ["--room", "physics"]);
    // Asks at 0 s and 20 s only: what it hears in between, the room said
    // by itself.
    await using browser = browseRooms(net.b.netns, 40000);
    await browser.stdout.waitFor("seen physics 1");
    await using client = new ChatProcess(
      ["connect", `${net.a.address}:${server.port}`, "--name", "alice"],
      { netns: net.b.netns, env: ON, stdin: true },
    );
    await server.stdout.waitFor("*** alice joined");
    // Re-announced within 2 s of the last announcement (start-up ones
    // included), long before the browser asks again.
    await browser.stdout.waitFor("seen physics 2", { ms: 8_000 });
    await client.endInput();
    await client.exit();
    await browser.stdout.waitFor("seen physics 1", { from: 2, ms: 8_000 });
  },
});

Deno.test({
  name:
    "with two rooms, chat connect in pipe mode refuses and lists both; at a terminal it asks which",
  ignore: SKIP !== undefined,
  async fn(t) {
    await using net = await NetnsPair.create();
    await using physics = await announcing(net.a.netns, ["--room", "physics"]);
    await using chemistry = await announcing(net.a.netns, [
      "--room",
      "chemistry",
    ]);
    await t.step("pipe mode: refused, with the list", async () => {
      await using client = new ChatProcess(["connect", "--name", "alice"], {
        netns: net.b.netns,
        env: ON,
        stdin: true,
      });
      assert.equal((await client.exit()).code, 1);
      const a = net.a.address;
      assert.deepEqual(client.stderr.lines, [
        `  chemistry  host  ${a}:${chemistry.port}  1 online`,
        `  physics    host  ${a}:${physics.port}  1 online`,
        'chat: Found 2 rooms (listed above): pass the address or the room\'s name, e.g. "chat connect 192.168.1.23".',
      ]);
      assert.deepEqual(client.stdout.lines, []);
    });
    await t.step({
      name: "at a terminal: numbered, and the one chosen is joined",
      ignore: !TMUX_FOUND,
      fn: async () => {
        await using terminal = new Terminal();
        await terminal.start(
          inNetns(net.b.netns, chatCommand(["connect", "--name", "carol"])),
          ON,
        );
        await terminal.waitFor(
          "the list of rooms",
          (screen) =>
            /Found 2 rooms:\n {2}1\. chemistry .*\n {2}2\. physics .*\nWhich room\? Type its number \(1-2\), or Enter to cancel:/
              .test(screen),
        );
        await terminal.type("2");
        await terminal.keys("Enter");
        await physics.stdout.waitFor("*** carol joined");
        await terminal.type("hi physics");
        await terminal.keys("Enter");
        await physics.stdout.waitFor("carol: hi physics");
        assert.ok(!chemistry.stdout.text.includes("carol"));
      },
    });
  },
});

Deno.test({
  name:
    "garbage, oversized and floods of packets to port 5353 do not disturb the server, and its answers stay rate-limited",
  ignore: SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    await using server = await announcing(net.a.netns, ["--room", "physics"]);
    // Past the start-up announcements, so that what is captured is answers.
    await sleep(1_500);
    await using capturing = await capture(net.a.netns);
    await using sender = new Helper(net.b.netns, [
      PYTHON!,
      `${TESTDATA}mdns_packets.py`,
      "garbage",
      net.b.address,
      net.a.address,
    ]);
    const sent = await sender.stdout.waitFor(/^sent \d+$/);
    await sender.finish();
    const isAnswer = (line: string) =>
      line.startsWith(`OUT ${net.a.iface} `) && / udp 5353>\d+$/.test(line);
    await capturing.stdout.waitFor(isAnswer);
    // The burst took well under a second; answers are counted for two.
    await sleep(2_000);
    const frames = await capturing.finish();
    const answers = frames.filter(isAnswer);
    console.log(`${sent} packets; the server answered ${answers.length}`);
    // At most 10 answers a second, whoever asks.
    assert.ok(answers.length <= 20, frames.join("\n"));
    // The room still answers, serves, and logged nothing.
    const found = await list(net.b.netns);
    assert.equal(found.code, 0, found.err.join("\n"));
    assert.match(found.out[0], /^physics {2}/);
    await using client = new ChatProcess(
      ["connect", "physics", "--name", "alice"],
      { netns: net.b.netns, env: ON, stdin: true },
    );
    await client.type("still here?");
    await server.stdout.waitFor("alice: still here?");
    await client.endInput();
    await client.exit();
    assert.deepEqual(server.stderr.lines, []);
    assert.equal(server.child.pid > 0, true);
  },
});

Deno.test({
  name:
    "a forged announcement is listed with the address it came from next to the one it claims",
  ignore: SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    await using forger = new Helper(net.b.netns, [
      PYTHON!,
      `${TESTDATA}mdns_packets.py`,
      "forge",
      net.b.address,
      net.a.address,
      "2.5",
    ]);
    const found = await list(net.a.netns);
    await forger.finish();
    assert.deepEqual(found.out, [
      `fake  mallory  ${net.a.address}:5000  99 online  announced by ${net.b.address}`,
    ]);
  },
});

Deno.test({
  name:
    "the goodbye of a stopped room removes it; a room killed without one stays until it expires",
  ignore: SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    await using physics = await announcing(net.a.netns, ["--room", "physics"]);
    await using chemistry = await announcing(net.a.netns, [
      "--room",
      "chemistry",
    ]);
    await using browser = browseRooms(net.b.netns, 8000);
    await browser.stdout.waitFor("seen physics 1");
    await browser.stdout.waitFor("seen chemistry 1");
    await stop(physics);
    chemistry.kill("SIGKILL");
    await chemistry.exit();
    const final = await browser.stdout.waitFor(/^final /, { ms: 15_000 });
    assert.equal(final, 'final ["chemistry"]');
    await browser.finish();
    const again = await list(net.b.netns);
    assert.equal(again.code, 1);
    assert.deepEqual(again.err, [
      "chat: No chat room found on the local network within 1.5 s. If the host's room is running, this network may block multicast: ask the host for the address and type chat connect ADDRESS.",
    ]);
  },
});

// --- avahi ------------------------------------------------------------------------

const AVAHI_PROGRAMS = [
  "avahi-daemon",
  "avahi-browse",
  "avahi-publish",
  "dbus-daemon",
  "unshare",
];
const AVAHI_MISSING = AVAHI_PROGRAMS.filter((name) => !findProgram(name));
const AVAHI_SKIP = SKIP ??
  (AVAHI_MISSING.length > 0
    ? `no ${
      AVAHI_MISSING.join(", ")
    } (apt-get install avahi-daemon avahi-utils dbus)`
    : undefined);
if (AVAHI_SKIP && !SKIP) console.log(`avahi test skipped: ${AVAHI_SKIP}`);

/** A program with stdout and stderr read as one stream of lines. */
class Background implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly output: LineCollector;

  constructor(command: string[], env: Record<string, string> = {}) {
    const [program, ...args] = command;
    this.child = new Deno.Command("sh", {
      args: ["-c", 'exec "$@" 2>&1', "sh", program, ...args],
      stdin: "null",
      stdout: "piped",
      env,
    }).spawn();
    this.output = new LineCollector(this.child.stdout);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await deadline(this.child.status, "a background program to stop");
  }
}

Deno.test({
  name:
    "avahi-browse on another machine sees the room, and chat list sees a room avahi-publish announces",
  ignore: AVAHI_SKIP !== undefined,
  async fn() {
    await using net = await NetnsPair.create();
    const dir = await Deno.makeTempDir({ prefix: "chat-avahi-" });
    try {
      // A private system bus, and an avahi-daemon in namespace b with its
      // own /run/avahi-daemon: nothing of this machine's is touched.
      const bus = `${dir}/bus`;
      await Deno.writeTextFile(
        `${dir}/dbus.conf`,
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`,
      );
      await Deno.writeTextFile(
        `${dir}/avahi.conf`,
        `[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=${net.b.iface}
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
`,
      );
      const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${bus}` };
      await using dbus = new Background([
        "dbus-daemon",
        `--config-file=${dir}/dbus.conf`,
        "--nofork",
        "--print-address",
      ]);
      await dbus.output.waitFor((line) => line.includes(bus));
      await using avahi = new Background(
        inNetns(net.b.netns, [
          "unshare",
          "-m",
          "sh",
          "-c",
          `mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f ${dir}/avahi.conf`,
        ]),
        env,
      );
      await avahi.output.waitFor(/^Server startup complete/);

      await using server = await announcing(net.a.netns, [
        "--room",
        "physics",
        "--name",
        "prof",
      ]);
      const resolved = new RegExp(
        `^=;[^;]*;IPv4;physics;_classchat\\._tcp;local;[^;]*;${
          net.a.address.replaceAll(".", "\\.")
        };${server.port};.*"room=physics".*$`,
      );
      let seen: string | undefined;
      for (let attempt = 0; attempt < 5 && !seen; attempt++) {
        await using browse = new Background(
          ["avahi-browse", "-rtp", "_classchat._tcp"],
          env,
        );
        await deadline(browse.child.status, "avahi-browse to finish");
        await browse.output.waitForEnd();
        seen = browse.output.lines.find((line) => resolved.test(line));
      }
      assert.ok(seen, "avahi-browse did not resolve the room");
      assert.match(seen, /"v=1"/);
      assert.match(seen, /"online=1"/);
      assert.match(seen, /"host=prof"/);

      await using publish = new Background([
        "avahi-publish",
        "-s",
        "biology",
        "_classchat._tcp",
        "5001",
        "v=1",
        "room=biology",
        "host=avahi",
        "online=3",
      ], env);
      await publish.output.waitFor(/^Established under name 'biology'$/);
      const found = await list(net.a.netns);
      const physicsAt = `${net.a.address}:${server.port}`;
      const biologyAt = `${net.b.address}:5001`.padEnd(physicsAt.length);
      assert.deepEqual(found.out, [
        `biology  avahi  ${biologyAt}  3 online`,
        `physics  prof   ${physicsAt}  1 online`,
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a room that needs TLS says so: chat list shows TLS, and chat connect uses TLS and asks for the fingerprint",
  ignore: SKIP !== undefined,
  async fn(t) {
    await using net = await NetnsPair.create();
    await using server = await announcing(net.a.netns, [
      "--room",
      "secure",
      "--tls",
    ]);
    const fingerprint = (await server.stdout.waitFor(
      /^ {2}[0-9A-F]{2}(:[0-9A-F]{2}){31}$/,
    )).trim();
    const found = await list(net.b.netns);
    assert.deepEqual(found.out, [
      `secure  host  ${net.a.address}:${server.port}  1 online  TLS`,
    ]);
    await t.step(
      "pipe mode: an unknown certificate is refused, its fingerprint shown",
      async () => {
        await using client = new ChatProcess(["connect", "--name", "alice"], {
          netns: net.b.netns,
          env: ON,
          stdin: true,
        });
        assert.equal((await client.exit()).code, 1);
        assert.match(
          client.stderr.lines.join("\n"),
          /^chat: The server at 198\.18\.\d+\.1:\d+ shows a certificate this computer has not seen before, with fingerprint [0-9A-F:]+; nothing was sent\. .*--fingerprint/,
        );
      },
    );
    await t.step({
      name: "at a terminal: the fingerprint typed pins the certificate",
      ignore: !TMUX_FOUND,
      fn: async () => {
        await using terminal = new Terminal();
        await terminal.start(
          inNetns(net.b.netns, chatCommand(["connect", "--name", "carol"])),
          ON,
          { columns: 200 },
        );
        await terminal.waitFor(
          "the fingerprint question",
          (screen) =>
            screen.includes(
              'The room "secure" encrypts (TLS). Type the fingerprint shown on the host\'s screen, to be sure it is that room.\nFingerprint (or Enter to check the certificate against trusted authorities):',
            ),
        );
        await terminal.type(fingerprint.replaceAll(":", ""));
        await terminal.keys("Enter");
        await server.stdout.waitFor("*** carol joined");
      },
    });
  },
});

/**
 * `tests/testdata/browse_rooms.ts` in `netns` for `ms`: prints `seen ROOM N`
 * for each announcement it hears.
 */
function browseRooms(netns: string, ms: number): Helper {
  return new Helper(netns, [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-net",
    "--allow-sys",
    "--allow-read",
    `${TESTDATA}browse_rooms.ts`,
    String(ms),
  ]);
}
