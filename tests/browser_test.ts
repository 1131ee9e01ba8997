/**
 * The chat page in a real browser: Debian's Chromium, headless, driven by
 * `playwright-core`. Two pages (a desktop one in English, a phone-sized one
 * in French) and one `nc`-like TCP client chat in one room; markup sent as
 * a message is shown as text and runs nothing; a kicked page says so and
 * comes back with its button. The page's history handling is checked
 * against a scripted server speaking issue 9's contract; a room password
 * and HTTPS are checked too. Screenshots of each viewport are written to
 * `test-output/` (git-ignored) for review.
 *
 * Skipped, with the reason printed, when Chromium or playwright-core is
 * not there (decided when this file loads, before any test runs).
 */

import assert from "node:assert/strict";
import { PAGE_ASSETS } from "../lib/web_page.ts";
import { CONTENT_SECURITY_POLICY } from "../lib/web_server.ts";
import { deadline, TcpClient } from "./harness.ts";
import { serveWithWeb } from "./web_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const OUTPUT = new URL("../test-output/", import.meta.url);
/** Longest a browser wait may take. */
const BROWSER_WAIT_MS = 15_000;

type Playwright = typeof import("playwright-core");

/** Why the browser test cannot run here, or undefined when it can. */
async function browserProblem(): Promise<string | undefined> {
  try {
    if (!Deno.statSync(CHROMIUM).isFile) return `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} not found (apt-get install chromium)`;
  }
  const child = new Deno.Command(CHROMIUM, {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
  }, 10_000);
  const status = await child.status;
  clearTimeout(timer);
  if (!status.success) return `${CHROMIUM} --version failed`;
  return undefined;
}

let playwright: Playwright | undefined;
let problem = await browserProblem();
if (!problem) {
  try {
    playwright = await import("playwright-core");
  } catch (error) {
    problem = `playwright-core cannot be loaded: ${
      String((error as Error)?.message ?? error).split("\n")[0]
    }`;
  }
}
if (problem) console.log(`browser_test.ts skipped: ${problem}`);

Deno.test({
  name:
    "two browser pages (desktop in English, phone in French) and nc chat in one room; markup stays text",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server, url } = await serveWithWeb([], { stdin: true });
    await using _server = server;
    await using nc = await TcpClient.join(server.port, "nc");
    await Deno.mkdir(OUTPUT, { recursive: true });
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: BROWSER_WAIT_MS,
    });
    const problems: string[] = [];
    try {
      const desktop = await browser.newContext({
        viewport: { width: 1000, height: 640 },
        locale: "en-US",
      });
      const phone = await browser.newContext({
        viewport: { width: 390, height: 740 },
        isMobile: true,
        hasTouch: true,
        locale: "fr-FR",
      });
      const alice = await desktop.newPage();
      const bob = await phone.newPage();
      for (const [who, page] of [["alice", alice], ["bob", bob]] as const) {
        page.setDefaultTimeout(BROWSER_WAIT_MS);
        // Any dialog is the markup running: recorded, and dismissed.
        page.on("dialog", (dialog) => {
          problems.push(`${who}: dialog "${dialog.message()}"`);
          void dialog.dismiss().catch(() => {});
        });
        page.on("pageerror", (error) => problems.push(`${who}: ${error}`));
        page.on("console", (message) => {
          // A CSP violation or a script error shows as a console error.
          if (message.type() === "error") {
            problems.push(`${who}: console: ${message.text()}`);
          }
        });
      }

      // Keyboard only: the name field has the focus, Enter joins, and the
      // message field has the focus once in.
      for (const [name, page] of [["alice", alice], ["bob", bob]] as const) {
        await page.goto(url);
        await page.locator("#name").waitFor({ state: "visible" });
        await page.keyboard.type(name);
        await page.keyboard.press("Enter");
        await page.locator("#line").waitFor({ state: "visible" });
        await nc.received.waitFor(`*** ${name} joined`);
      }
      assert.equal(
        await bob.locator("#compose button").textContent(),
        "Envoyer",
      );
      assert.equal(
        await alice.locator("#compose button").textContent(),
        "Send",
      );

      await alice.keyboard.type("hello from alice");
      await alice.keyboard.press("Enter");
      await nc.received.waitFor("alice: hello from alice");
      await nc.send("hi from nc");
      const markup = "<img src=x onerror=alert(1)>";
      await bob.keyboard.type(markup);
      await bob.keyboard.press("Enter");
      await nc.received.waitFor(`bob: ${markup}`);
      await alice.keyboard.type("/me waves");
      await alice.keyboard.press("Enter");
      await nc.received.waitFor("* alice waves");
      await nc.send("/msg bob psst");

      const said = [
        "alice: hello from alice",
        "nc: hi from nc",
        `bob: ${markup}`,
        "* alice waves",
      ];
      for (const page of [alice, bob]) {
        await page.locator("#log .entry", { hasText: "alice waves" })
          .waitFor();
      }
      await bob.locator("#log .private").waitFor();
      const entries = async (page: typeof alice) =>
        (await page.locator("#log .entry.message, #log .entry.action")
          .allTextContents())
          // Each entry starts with its time, HH:MM.
          .map((text) => text.replace(/^\d\d:\d\d/, ""));
      assert.deepEqual(await entries(alice), said);
      assert.deepEqual(await entries(bob), said);
      assert.deepEqual(
        nc.lines.filter((line) => said.includes(line)),
        said,
        "nc saw the same lines in the same order",
      );
      // The markup is text: no image was made, nothing ran.
      for (const page of [alice, bob]) {
        assert.equal(await page.locator("#log img").count(), 0);
        assert.equal(
          await page.locator("#log .text", { hasText: markup }).count(),
          1,
        );
      }
      assert.match(
        (await bob.locator("#log .private").textContent()) ?? "",
        /\[privé\] nc -> bob: psst$/,
      );
      // Names keep their colour everywhere.
      const colour = async (page: typeof alice, name: string) =>
        await page.locator("#log .name", { hasText: name }).first()
          .getAttribute("class");
      assert.equal(await colour(alice, "alice"), await colour(bob, "alice"));
      // The online list, with the names of everyone in.
      const online = async (page: typeof alice) =>
        (await page.locator("#online li .name").allTextContents()).sort();
      assert.deepEqual(await online(alice), ["alice", "bob", "host", "nc"]);

      // The phone: nothing wider than the screen, the message field in
      // view, and the people list behind a button.
      // Run in the page, where `document` is; passed as a string, since
      // Deno's types have no DOM.
      const overflow = await bob.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth",
      ) as number;
      assert.ok(overflow <= 0, `the phone page is ${overflow}px too wide`);
      const field = await bob.locator("#line").boundingBox();
      assert.ok(field && field.y + field.height <= 740 && field.x >= 0);
      assert.equal(await bob.locator("#people").isVisible(), false);
      await bob.screenshot({ path: new URL("web-phone.png", OUTPUT).pathname });
      await bob.locator("#people-toggle").click();
      assert.deepEqual(await online(bob), ["alice", "bob", "host", "nc"]);
      await bob.locator("#people").waitFor({ state: "visible" });
      await bob.screenshot({
        path: new URL("web-phone-people.png", OUTPUT).pathname,
      });
      await bob.keyboard.press("Escape");
      await bob.locator("#people").waitFor({ state: "hidden" });
      await alice.screenshot({
        path: new URL("web-desktop.png", OUTPUT).pathname,
      });

      // Kicked: the page says so and does not come back by itself; its
      // button brings it back under the same name.
      await server.type("/kick alice");
      await nc.received.waitFor("*** alice left (kicked by the host)");
      await alice.locator("#banner").waitFor({ state: "visible" });
      await alice.locator("#reconnect").waitFor({ state: "visible" });
      await alice.locator("#reconnect").focus();
      await alice.keyboard.press("Enter");
      await nc.received.waitFor("*** alice joined", {
        from: nc.lines.indexOf("*** alice left (kicked by the host)"),
      });
      await alice.locator("#line").waitFor({ state: "visible" });

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
});

/**
 * A stand-in for a server with history (issue 9's contract): serves the
 * page, and answers on `/ws` from a script. Each connection's frames are
 * kept. The second connection plays an older server, which answers the
 * history request with `unknown-type`.
 */
function scriptedServer(): {
  url: string;
  connections: string[][];
  server: Deno.HttpServer<Deno.NetAddr>;
} {
  const connections: string[][] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    const asset = PAGE_ASSETS.get(path);
    if (asset) {
      return new Response(asset.body, {
        headers: {
          "content-type": asset.type,
          "content-security-policy": CONTENT_SECURITY_POLICY,
        },
      });
    }
    if (path !== "/ws") return new Response("", { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    const frames: string[] = [];
    const older = connections.length > 0;
    connections.push(frames);
    let seq = 100;
    const time = new Date(Date.UTC(2026, 0, 5, 9, 30)).toISOString();
    const send = (body: Record<string, unknown>) =>
      socket.send(JSON.stringify({ seq: ++seq, time, ...body }));
    const replay = (events: Record<string, unknown>[]) => {
      send({
        type: "notice",
        code: "history-start",
        args: { count: events.length },
        text: "",
      });
      for (const event of events) {
        socket.send(JSON.stringify({ time, history: true, ...event }));
      }
      send({
        type: "notice",
        code: "history-end",
        args: { count: events.length },
        text: "",
      });
    };
    const earlier = [
      { type: "message", seq: 3, from: "ann", text: "earlier one" },
      { type: "action", seq: 4, from: "ann", text: "waved earlier" },
    ];
    socket.onmessage = (event) => {
      const frame = String(event.data);
      frames.push(frame);
      if (frame === "/proto 1") {
        return send({
          type: "proto",
          version: 1,
          versions: [1],
          password: false,
          server: "chat test",
          run: "0123456789abcdef",
          history: 50,
        });
      }
      const request = JSON.parse(frame);
      if (request.type === "history") {
        if (older) {
          return send({
            type: "error",
            code: "unknown-type",
            args: { type: "history" },
            text: "",
          });
        }
        return replay(earlier);
      }
      if (request.type === "resume" || request.text?.startsWith("/nick ")) {
        const name = request.name ?? request.text.slice(6);
        send({
          type: "welcome",
          name,
          online: ["ann", name],
          watchers: 1,
          token: "ab".repeat(16),
        });
        if (older) return;
        socket.send(
          JSON.stringify({
            type: "message",
            seq: 20,
            time,
            from: "ann",
            text: "live now",
          }),
        );
        // Asked again (a reconnection would): only what is new is shown.
        replay([...earlier, {
          type: "message",
          seq: 21,
          from: "ann",
          text: "missed one",
        }]);
      }
    };
    return response;
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, connections, server };
}

Deno.test({
  name:
    "the page shows the room's history dimmed under a divider, once; resumes its name; an older server's unknown-type is ignored",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { url, connections, server } = scriptedServer();
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: BROWSER_WAIT_MS,
    });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ locale: "en-US" });
      page.setDefaultTimeout(BROWSER_WAIT_MS);
      page.on("pageerror", (error) => problems.push(String(error)));
      await page.goto(url);
      await page.locator("#name").waitFor({ state: "visible" });
      await page.keyboard.type("zoe");
      await page.keyboard.press("Enter");
      await page.locator("#log .entry", { hasText: "missed one" }).waitFor();
      const history = (await page.locator("#log .entry.history")
        .allTextContents()).map((text) => text.replace(/^\d\d:\d\d/, ""));
      assert.deepEqual(history, [
        "ann: earlier one",
        "* ann waved earlier",
        "ann: missed one",
      ]);
      assert.deepEqual(await page.locator("#log .divider").allTextContents(), [
        "Earlier in the room (2)",
        "End of earlier lines",
        "Earlier in the room (1)",
        "End of earlier lines",
      ]);
      assert.equal(
        await page.locator("#log .entry.history", { hasText: "live now" })
          .count(),
        0,
      );
      assert.deepEqual(connections[0], [
        "/proto 1",
        '{"type":"history"}',
        '{"type":"line","text":"/nick zoe"}',
      ]);
      await page.screenshot({
        path: new URL("web-history.png", OUTPUT).pathname,
      });

      // Reloaded in the same tab: back under its name with the token, to
      // a server that has no history (and says unknown-type).
      await page.reload();
      await page.locator("#line").waitFor({ state: "visible" });
      await deadline(
        (async () => {
          while ((connections[1]?.length ?? 0) < 3) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        "the second connection's requests",
      );
      assert.deepEqual(
        connections[1].map((frame) =>
          frame[0] === "{" ? JSON.parse(frame) : frame
        ),
        [
          "/proto 1",
          { type: "history" },
          { type: "resume", name: "zoe", token: "ab".repeat(16) },
        ],
      );
      await page.locator("#log .entry", { hasText: "Welcome, zoe" }).waitFor();
      assert.equal(await page.locator("#log .entry.error").count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "in a room with a password the page asks for it; a wrong one is said and asked again",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server, url } = await serveWithWeb(
      ["--password", "--password-delay", "0"],
      { env: { CHAT_PASSWORD: "s3cret" } },
    );
    await using _server = server;
    await using nc = await TcpClient.join(server.port, "nc", {
      password: "s3cret",
    });
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: BROWSER_WAIT_MS,
    });
    try {
      const page = await browser.newPage({ locale: "en-US" });
      page.setDefaultTimeout(BROWSER_WAIT_MS);
      await page.goto(url);
      // The password field has the focus; Tab leads to the name.
      await page.locator("#password").waitFor({ state: "visible" });
      await page.keyboard.type("wrong");
      await page.keyboard.press("Tab");
      await page.keyboard.type("pat");
      await page.keyboard.press("Enter");
      await page.locator("#join-error", { hasText: "wrong password" })
        .waitFor();
      await page.locator("#password").waitFor({ state: "visible" });
      assert.equal(await page.locator("#name").inputValue(), "pat");
      await page.locator("#password").focus();
      await page.keyboard.type("s3cret");
      await page.keyboard.press("Enter");
      await nc.received.waitFor("*** pat joined");
      await page.locator("#line").waitFor({ state: "visible" });
      await page.keyboard.type("in with the password");
      await page.keyboard.press("Enter");
      await nc.received.waitFor("pat: in with the password");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "with --tls the page works over HTTPS and its WebSocket over TLS (the certificate accepted as a person would)",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server, url } = await serveWithWeb(["--tls"]);
    await using _server = server;
    assert.ok(url.startsWith("https://"), url);
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: BROWSER_WAIT_MS,
    });
    try {
      // What a person does at the browser's warning about a certificate
      // no authority signed.
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      page.setDefaultTimeout(BROWSER_WAIT_MS);
      await page.goto(url);
      await page.locator("#name").waitFor({ state: "visible" });
      await page.keyboard.type("sam");
      await page.keyboard.press("Enter");
      await page.locator("#line").waitFor({ state: "visible" });
      await page.keyboard.type("over TLS");
      await page.keyboard.press("Enter");
      // Its own line comes back through the room.
      await page.locator("#log .entry.message", { hasText: "over TLS" })
        .waitFor();
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "a page the server refuses (full) says why in its banner",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server, url } = await serveWithWeb(["--max-clients", "1"]);
    await using _server = server;
    await using _nc = await TcpClient.join(server.port, "nc");
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: BROWSER_WAIT_MS,
    });
    try {
      const page = await browser.newPage({ locale: "en-US" });
      page.setDefaultTimeout(BROWSER_WAIT_MS);
      await page.goto(url);
      await page.locator("#banner", {
        hasText:
          "The server refused the connection: the server is full (1 client). Try again later.",
      }).waitFor();
      assert.equal(await page.locator("#reconnect").isVisible(), true);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "issue 12: the page shows a code block numbered, as text, and sends one with Shift+Enter or a paste of several lines",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server, url } = await serveWithWeb([]);
    await using _server = server;
    await using nc = await TcpClient.join(server.port, "nc");
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: BROWSER_WAIT_MS,
    });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ locale: "en-US" });
      page.setDefaultTimeout(BROWSER_WAIT_MS);
      page.on("dialog", (dialog) => {
        problems.push(`dialog "${dialog.message()}"`);
        void dialog.dismiss().catch(() => {});
      });
      page.on("pageerror", (error) => problems.push(String(error)));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      await page.goto(url);
      await page.locator("#name").waitFor({ state: "visible" });
      await page.keyboard.type("ada");
      await page.keyboard.press("Enter");
      await page.locator("#line").waitFor({ state: "visible" });
      await nc.received.waitFor("*** ada joined");

      // From nc, with markup and indentation: shown in a <pre>, numbered.
      const markup = "<img src=x onerror=alert(1)>";
      await nc.send(["```html", markup, "", "  <b>x</b>", "```"].join("\n"));
      const pre = page.locator("#log .entry.block pre.code");
      await pre.waitFor();
      assert.deepEqual(await pre.locator(".ln").allTextContents(), [
        "1",
        "2",
        "3",
      ]);
      assert.equal(
        await pre.evaluate((element) =>
          [...element.childNodes].filter((node) => node.nodeType === 3)
            .map((node) => node.textContent).join("")
        ),
        `${markup}\n\n  <b>x</b>`,
      );
      assert.match(
        (await page.locator("#log .entry.block .lang").textContent()) ?? "",
        /```html \(3 lines\)/,
      );
      assert.equal(await page.locator("#log img, #log pre b").count(), 0);

      // Shift+Enter: a new line; Enter: the block goes, whole.
      await page.locator("#line").focus();
      await page.keyboard.type("def f():");
      await page.keyboard.press("Shift+Enter");
      await page.keyboard.type("    return 1");
      await page.keyboard.press("Enter");
      await nc.received.waitFor("ada ``` (2 lines)");
      await nc.received.waitFor("ada ```");
      assert.deepEqual(nc.lines.slice(-4), [
        "ada ``` (2 lines)",
        "ada | def f():",
        "ada |     return 1",
        "ada ```",
      ]);
      // A paste of several lines (from Markdown, fences and all).
      await page.keyboard.insertText("```py\nx = 1\n\ty()\n```");
      await page.keyboard.press("Enter");
      await nc.received.waitFor("ada ```py (2 lines)");
      await nc.received.waitFor("ada | \ty()");
      // One line is still a message.
      await page.keyboard.type("just a line");
      await page.keyboard.press("Enter");
      await nc.received.waitFor("ada: just a line");
      await page.locator("#log .entry.block", { hasText: "return 1" })
        .waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
});
