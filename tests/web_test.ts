/**
 * `chat serve --web`: browsers join the same room as `nc` through `/ws`,
 * under the same rules (order, flood control, line limit, slow readers,
 * password); the HTTP side serves only the page, with a strict CSP, and
 * refuses WebSocket upgrades from other sites' pages.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { parseCommandLine, UsageError } from "../lib/cli.ts";
import { placeholders } from "../lib/i18n.ts";
import { PAGE_ASSETS, PAGE_HTML, PAGE_JS } from "../lib/web_page.ts";
import {
  CONTENT_SECURITY_POLICY,
  REQUEST_DEADLINE_MS,
} from "../lib/web_server.ts";
import {
  PAGE_STRINGS_EN,
  PAGE_STRINGS_FR,
  pageStrings,
} from "../lib/web_strings.ts";
import { ChatProcess, deadline, TcpClient, WAIT_MS } from "./harness.ts";
import {
  maskedFrame,
  maskedTextFrame,
  rawUpgrade,
  readFrameWith,
  serveWithWeb,
  WsClient,
} from "./web_helpers.ts";

const encoder = new TextEncoder();

/** The room's messages among `lines`, as `name: text`. */
function messagesIn(lines: readonly string[], pattern: RegExp): string[] {
  return lines.filter((line) => pattern.test(line));
}

Deno.test("lines from browsers and nc reach everyone, in the same order for all", async () => {
  const { server, webPort } = await serveWithWeb();
  await using _server = server;
  await using nc1 = await TcpClient.join(server.port, "nc1");
  await using nc2 = await TcpClient.join(server.port, "nc2");
  await using web1 = await WsClient.join(webPort, "web1");
  // web2 reads the structured protocol, as the page does.
  await using web2 = await WsClient.join(webPort, "web2");
  web2.send("/proto 1");
  await web2.waitFor((line) => line.startsWith('{"type":"proto"'));
  const perSender = 15;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < perSender; i++) {
    writes.push(nc1.send(`nc1 line ${i}`));
    web1.send(`web1 line ${i}`);
    writes.push(nc2.send(`nc2 line ${i}`));
    web2.send(JSON.stringify({ type: "line", text: `web2 line ${i}` }));
  }
  await Promise.all(writes);
  const total = perSender * 4;
  const said = /^(nc1|nc2|web1|web2): \1 line \d+$/;
  await nc1.received.waitForCount((line) => said.test(line), total);
  await nc2.received.waitForCount((line) => said.test(line), total);
  const web2Lines = () =>
    web2.lines.filter((line) => line.startsWith('{"type":"message"'))
      .map((line) => JSON.parse(line))
      .map((event) => `${event.from}: ${event.text}`);
  await deadline(
    (async () => {
      while (
        messagesIn(web1.lines, said).length < total ||
        web2Lines().length < total
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
    "every line at both browsers",
  );
  const order = messagesIn(nc1.lines, said);
  assert.equal(order.length, total);
  for (const sender of ["nc1", "nc2", "web1", "web2"]) {
    assert.deepEqual(
      order.filter((line) => line.startsWith(`${sender}:`)),
      Array.from(
        { length: perSender },
        (_, i) => `${sender}: ${sender} line ${i}`,
      ),
      `${sender}'s lines in the order sent`,
    );
  }
  assert.deepEqual(messagesIn(nc2.lines, said), order);
  assert.deepEqual(messagesIn(web1.lines, said), order);
  assert.deepEqual(web2Lines(), order);
});

Deno.test("a frame that is not a JSON object is a line typed as with nc; one frame is one line", async () => {
  const { server, webPort } = await serveWithWeb();
  await using _server = server;
  await using nc = await TcpClient.join(server.port, "nc");
  await using web = await WsClient.join(webPort, "web");
  web.send("/proto 1");
  await web.waitFor((line) => line.startsWith('{"type":"proto"'));
  web.send("hello plain");
  web.send("/me waves");
  web.send(JSON.stringify({ type: "say", text: "/not a command" }));
  web.send("two\nlines\r\nin one frame");
  web.send(encoder.encode("binary frame"));
  web.send("{not json");
  await web.waitFor((line) => line.includes('"code":"bad-json"'));
  web.send("last");
  const from = nc.welcomeIndex + 1;
  const expected = [
    "web: hello plain",
    "* web waves",
    "web: /not a command",
    "web: two lines  in one frame",
    "web: binary frame",
    "web: last",
  ];
  await nc.received.waitFor("web: last", { from });
  assert.deepEqual(
    nc.lines.slice(from).filter((line) => !line.startsWith("*** ")),
    expected,
  );
});

Deno.test("frames: a message in pieces is one line, a ping in the middle is answered, an unmasked frame ends the connection", async () => {
  const { server, webPort } = await serveWithWeb();
  await using _server = server;
  await using nc = await TcpClient.join(server.port, "nc");
  const { conn, status } = await rawUpgrade(webPort);
  try {
    assert.equal(status, 101);
    await conn.write(maskedTextFrame("/nick raw"));
    await nc.received.waitFor("*** raw joined");
    const parts = [
      maskedFrame(0x1, encoder.encode("hel"), { fin: false }),
      maskedFrame(0x9, encoder.encode("are you there")),
      maskedFrame(0x0, encoder.encode("lo "), { fin: false }),
      maskedFrame(0x0, encoder.encode("world"), { fin: true }),
      maskedFrame(0x1, new Uint8Array()),
    ];
    for (const part of parts) await conn.write(part);
    const pong = await readFrameWith(conn, 0xa);
    assert.equal(new TextDecoder().decode(pong), "are you there");
    await nc.received.waitFor("raw: hello world");
    // A client frame must be masked: the connection ends, as a reset.
    await conn.write(
      maskedFrame(0x1, encoder.encode("bare"), { masked: false }),
    );
    await nc.received.waitFor("*** raw left (connection lost)");
    assert.ok(!nc.lines.includes("raw: bare"));
  } finally {
    conn.close();
  }
});

Deno.test("a browser that floods is refused like any sender", async () => {
  const { server, webPort } = await serveWithWeb([
    "--flood-burst",
    "5",
    "--flood-rate",
    "1",
    "--flood-disconnect",
    "0",
  ], { limits: true });
  await using _server = server;
  await using nc = await TcpClient.join(server.port, "nc");
  const web = await WsClient.join(webPort, "web");
  for (let i = 0; i < 15; i++) web.send(`flood ${i}`);
  await web.waitFor(/^\*\*\* error: slow down: at most 5 lines at once/);
  // Its frames are read in order: once it is gone, every one was handled.
  await web[Symbol.asyncDispose]();
  const from = nc.welcomeIndex + 1;
  const leftAt = await nc.received.waitForIndex("*** web left", { from });
  const delivered = nc.lines.slice(from, leftAt)
    .filter((line) => line.startsWith("web: flood "));
  assert.ok(
    delivered.length >= 5 && delivered.length <= 6,
    `5 lines at once (6 if a second passed), not ${delivered.length}`,
  );
  assert.deepEqual(
    delivered.slice(0, 5),
    [0, 1, 2, 3, 4].map((i) => `web: flood ${i}`),
  );
});

Deno.test("a frame over the line limit is refused like a long line, and the browser stays", async () => {
  const { server, webPort } = await serveWithWeb(["--max-line-bytes", "100"]);
  await using _server = server;
  await using nc = await TcpClient.join(server.port, "nc");
  await using web = await WsClient.join(webPort, "web");
  const tooLong = "*** error: line too long (over 100 bytes); it was not sent.";
  web.send("x".repeat(101));
  await web.waitFor(tooLong);
  // A huge frame too: refused, and the browser stays.
  web.send("é".repeat(300_000));
  await web.waitFor(tooLong, { from: web.lines.indexOf(tooLong) + 1 });
  web.send("y".repeat(100));
  web.send("short");
  const from = nc.welcomeIndex + 1;
  await nc.received.waitFor("web: short", { from });
  const said = nc.lines.slice(from).filter((line) => line.startsWith("web: "));
  assert.deepEqual(said, [`web: ${"y".repeat(100)}`, "web: short"]);
});

Deno.test("a browser tab that stops reading is dropped as too slow, and the room goes on", async () => {
  const { server, webPort } = await serveWithWeb(["--queue-kib", "64"]);
  await using _server = server;
  await using watcher = await TcpClient.join(server.port, "watch", {
    prefixBytes: 64,
  });
  await using talker = await TcpClient.join(server.port, "talker", {
    prefixBytes: 64,
  });
  // A tab that upgrades, joins, and then never reads a byte.
  const { conn, status } = await rawUpgrade(webPort);
  try {
    assert.equal(status, 101);
    await conn.write(maskedTextFrame("/nick slowtab"));
    await watcher.received.waitFor("*** slowtab joined");
    const line = "z".repeat(4000);
    const started = performance.now();
    let sent = 0;
    // Bounded: at most 8000 lines (32 MB) and 30 s.
    while (
      !watcher.lines.includes("*** slowtab left (too slow)") &&
      sent < 8000 && performance.now() - started < 30_000
    ) {
      await talker.send(`${sent++} ${line}`);
      if (sent % 8 === 0) {
        // The watcher keeps up: the point is one reader that stops.
        await watcher.received.waitFor(
          (text) => text.startsWith(`talker: ${sent - 1} `),
          { from: Math.max(0, watcher.lines.length - 20) },
        );
      }
    }
    await watcher.received.waitFor("*** slowtab left (too slow)", {
      ms: WAIT_MS,
    });
    // The room still works for everyone else.
    await talker.send("still here");
    await watcher.received.waitFor("talker: still here");
    // And the server let go of the socket: once the tab reads again, what
    // was sent drains and the stream ends (bounded: 64 MB, the deadline).
    const buffer = new Uint8Array(64 * 1024);
    let drained = 0;
    await deadline(
      (async () => {
        while (drained < 64 * 1024 * 1024) {
          const count = await conn.read(buffer).catch(() => null);
          if (count === null) return;
          drained += count;
        }
      })(),
      "the server to close the dropped tab's socket",
    );
  } finally {
    conn.close();
  }
});

Deno.test("a room password holds for browsers too", async () => {
  const { server, webPort } = await serveWithWeb(
    ["--password", "--password-delay", "0"],
    { env: { CHAT_PASSWORD: "s3cret" } },
  );
  await using _server = server;
  await using host = await TcpClient.join(server.port, "nc", {
    password: "s3cret",
  });
  await using wrong = await WsClient.connect(webPort);
  await wrong.waitFor("*** This room needs a password: send /pass PASSWORD");
  wrong.send("hello before the password");
  await wrong.waitFor(/^\*\*\* error: this room needs a password/);
  wrong.send("/pass wrong");
  await wrong.waitFor("*** error: wrong password.");
  // As for nc: a wrong password closes the connection.
  await wrong.waitForClose();
  await using web = await WsClient.connect(webPort);
  await web.waitFor("*** This room needs a password: send /pass PASSWORD");
  web.send("/pass s3cret");
  await web.waitFor(/^\*\*\* Password accepted\./);
  web.send("/nick web");
  await web.waitFor(/^\*\*\* Welcome, web!/);
  web.send("in at last");
  await host.received.waitFor("web: in at last");
  assert.ok(!host.lines.some((line) => line.includes("before the password")));
});

Deno.test("HTTP: only the page, its script and style sheet, and /ws; a strict CSP everywhere", async () => {
  const { server, webPort } = await serveWithWeb();
  await using _server = server;
  const base = `http://127.0.0.1:${webPort}`;
  const get = async (path: string, init?: RequestInit) => {
    const response = await deadline(
      fetch(`${base}${path}`, init),
      `GET ${path}`,
    );
    const body = await response.text();
    return { response, body };
  };
  for (
    const [path, type] of [
      ["/", "text/html"],
      ["/app.js", "text/javascript"],
      ["/app.css", "text/css"],
    ]
  ) {
    const { response, body } = await get(path);
    assert.equal(response.status, 200, path);
    assert.ok(response.headers.get("content-type")?.startsWith(type), path);
    assert.equal(
      response.headers.get("content-security-policy"),
      CONTENT_SECURITY_POLICY,
    );
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(body, new TextDecoder().decode(PAGE_ASSETS.get(path)!.body));
  }
  for (
    const path of [
      "/favicon.ico",
      "/index.html",
      "/app.js.map",
      "/ws/more",
      "/..%2fdeno.json",
      "/%2e%2e/main.ts",
    ]
  ) {
    const { response } = await get(path);
    assert.equal(response.status, 404, path);
    assert.ok(response.headers.get("content-security-policy"), path);
  }
  const head = await deadline(fetch(`${base}/`, { method: "HEAD" }), "HEAD /");
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  const post = await get("/", { method: "POST", body: "x" });
  assert.equal(post.response.status, 405);
  const notUpgrade = await get("/ws");
  assert.equal(notUpgrade.response.status, 426);
  // The CSP allows no inline script or style: the page has none.
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
  assert.doesNotMatch(PAGE_HTML, /<script(?![^>]*\ssrc=)[^>]*>/);
  assert.doesNotMatch(PAGE_HTML, /\sstyle=|\son[a-z]+=|<style/i);
  // What others write goes in as text, never as HTML.
  assert.doesNotMatch(PAGE_JS, /innerHTML|outerHTML|insertAdjacentHTML/);
  assert.doesNotMatch(PAGE_JS, /document\.write|\beval\(|new Function/);
});

Deno.test("HTTP: a connection that never finishes its request is closed at the deadline; the page is still served meanwhile", async () => {
  const { server, webPort } = await serveWithWeb();
  await using _server = server;
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: webPort });
  const halfway = await Deno.connect({ hostname: "127.0.0.1", port: webPort });
  try {
    await halfway.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const page = await deadline(
      fetch(`http://127.0.0.1:${webPort}/`),
      "the page",
    );
    assert.equal(page.status, 200);
    await page.body?.cancel();
    const started = performance.now();
    const buffer = new Uint8Array(1024);
    for (const conn of [silent, halfway]) {
      const ended = await deadline(
        conn.read(buffer).catch(() => null),
        "the server to close a silent connection",
        REQUEST_DEADLINE_MS + WAIT_MS,
      );
      assert.equal(ended, null);
    }
    assert.ok(performance.now() - started < REQUEST_DEADLINE_MS + 2000);
  } finally {
    silent.close();
    halfway.close();
  }
});

Deno.test("a WebSocket upgrade from another site's page is refused; same site or no Origin is accepted", async () => {
  const { server, webPort } = await serveWithWeb();
  await using _server = server;
  const cases: [Record<string, string>, number][] = [
    [{ Origin: "http://evil.example" }, 403],
    [{ Origin: `http://evil.example:${webPort}` }, 403],
    [{ Origin: `https://127.0.0.1:${webPort}` }, 403],
    [{ Origin: "null" }, 403],
    // A public name pointed at this address (DNS rebinding).
    [{ Origin: "http://evil.example", Host: "evil.example" }, 403],
    [{ Origin: "http://localhost", Host: "localhost" }, 101],
    [{
      Origin: "http://prof-laptop.local:8080",
      Host: "prof-laptop.local:8080",
    }, 101],
    [{ Origin: `http://127.0.0.1:${webPort}` }, 101],
    [{}, 101],
  ];
  for (const [headers, expected] of cases) {
    const { conn, status } = await rawUpgrade(webPort, headers);
    conn.close();
    assert.equal(status, expected, JSON.stringify(headers));
  }
});

Deno.test("with --tls the page is served over HTTPS, and the terminal says how to accept the certificate", async () => {
  const { server, webPort, url } = await serveWithWeb(["--tls"]);
  await using _server = server;
  assert.ok(url.startsWith("https://"), url);
  await server.stdout.waitFor(/^The page is served over HTTPS\./);
  const head = await deadline(
    new Promise<string>((resolve, reject) => {
      // The certificate chat made is checked by its fingerprint elsewhere
      // (tls_test.ts); here only that the page answers over TLS.
      const socket = tls.connect({
        host: "127.0.0.1",
        port: webPort,
        rejectUnauthorized: false,
      }, () => {
        socket.write(
          "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
      });
      let text = "";
      socket.on("data", (chunk: Uint8Array) => {
        text += new TextDecoder().decode(chunk);
        if (text.includes("\r\n\r\n")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
    }),
    "the page over TLS",
  );
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.match(head, /content-security-policy: default-src 'none'/i);
});

Deno.test("--web takes an optional port; --no-qr hides the QR code", () => {
  const serve = (...args: string[]) => {
    const invocation = parseCommandLine(["serve", ...args], {});
    assert.equal(invocation.command, "serve");
    return invocation as Extract<typeof invocation, { command: "serve" }>;
  };
  assert.equal(serve().web, undefined);
  assert.deepEqual(serve("--web").web, { port: 8080, qr: true });
  assert.deepEqual(serve("--web", "8081").web, { port: 8081, qr: true });
  assert.deepEqual(serve("--web=8082", "--no-qr").web, {
    port: 8082,
    qr: false,
  });
  assert.deepEqual(serve("--no-qr", "--web", "0").web, { port: 0, qr: false });
  const both = serve("--web", "--port", "5001");
  assert.deepEqual([both.web?.port, both.port], [8080, 5001]);
  assert.throws(() => serve("--web", "abc"), UsageError);
  assert.throws(
    () => serve("--web=70000"),
    (error: Error) =>
      error instanceof UsageError && /Bad port "70000"/.test(error.message),
  );
  const help = parseCommandLine(["serve", "--help"], {});
  assert.ok(help.command === "help" && /--web \[PORT\]/.test(help.text));
  assert.ok(/--no-qr/.test((help as { text: string }).text));
});

Deno.test("the page's words exist in English and French, with the same placeholders", () => {
  assert.deepEqual(
    Object.keys(PAGE_STRINGS_FR).sort(),
    Object.keys(PAGE_STRINGS_EN).sort(),
  );
  const strings = pageStrings();
  assert.deepEqual(
    Object.keys(strings.fr).sort(),
    Object.keys(strings.en).sort(),
  );
  for (const [key, english] of Object.entries(strings.en)) {
    assert.deepEqual(placeholders(strings.fr[key]), placeholders(english), key);
    assert.equal(strings.fr[key] === "", english === "", key);
  }
  // Every key the script names is in both languages.
  const named = [
    ...PAGE_JS.matchAll(/\b(?:say|tr)\("([a-z][\w.-]*[\w-])"\s*[,)]/g),
  ]
    .map((match) => match[1]);
  assert.ok(named.length > 20);
  for (const key of named) {
    assert.ok(key in strings.en && key in strings.fr, key);
  }
});

Deno.test("serve --web prints the page's address and its QR code, in French too", async () => {
  await using server = await ChatProcess.serve(["--web", "0"], {
    env: { LANG: "fr_FR.UTF-8" },
  });
  const address = await server.stdout.waitFor(/^ {2}ou ouvrez http:\/\//);
  assert.match(address, /^ {2}ou ouvrez http:\/\/127\.0\.0\.1:\d+$/);
  const at = await server.stdout.waitForIndex(
    "Les téléphones peuvent scanner ce code pour ouvrir la page :",
  );
  // Half blocks, two rows of modules a line, as wide as the code plus its
  // quiet zone (stdout is not a terminal: no colours).
  const first = await server.stdout.lineAt(at + 1);
  const qr: string[] = [];
  for (let i = at + 1; /^[ █▀▄]+$/.test(await server.stdout.lineAt(i)); i++) {
    qr.push(server.stdout.lines[i]);
  }
  assert.ok(qr.length >= 11, `a QR code, got ${qr.length} lines`);
  assert.ok(qr.every((line) => line.length === first.length));
});

Deno.test("a web port already in use is one clear line and exit status 1", async () => {
  using blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = blocker.addr.port;
  await using server = new ChatProcess([
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--web",
    String(port),
  ]);
  const status = await server.exit();
  assert.equal(status.code, 1);
  assert.deepEqual(server.stderr.lines, [
    `chat: Web port ${port} is already in use. Try --web ${port + 1}.`,
  ]);
});
