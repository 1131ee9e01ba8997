/**
 * `chat serve --web`: the chat page for browsers and phones, and the
 * WebSocket at `/ws` that makes each page one more member of the room.
 *
 * Only `GET /`, the page's own script and style sheet, and `/ws` are
 * served; everything else is a 404. Every answer carries a strict
 * Content-Security-Policy (the script is a file of the same origin, never
 * inline) and the usual hardening headers. A WebSocket upgrade whose
 * `Origin` names another site is refused (403): another page the browser
 * has open must not join the room in its user's name. A client that sends
 * no `Origin` (a script, a test) is accepted, as a TCP client is.
 *
 * HTTP/1.1 is served here on a socket chat owns, one request per
 * connection, rather than with `Deno.serve`: an upgraded socket must be
 * one chat can close at any time (see `websocket_conn.ts`), a request or a
 * TLS handshake that never ends is closed at {@linkcode REQUEST_DEADLINE_MS},
 * and with TLS the same `TlsServerConn` as the chat port is used.
 *
 * @module
 */

import type { ChatSocket } from "./chat_socket.ts";
import { formatAddress } from "./client.ts";
import { type Lang, t } from "./i18n.ts";
import { qrLines } from "./qr.ts";
import { type ChatServer, ServerError } from "./server.ts";
import { serverContext, TlsServerConn } from "./tls_server.ts";
import { DEFAULT_WEB_PORT } from "./web_cli.ts";
import { PAGE_ASSETS } from "./web_page.ts";
import { WebSocketConn } from "./websocket_conn.ts";
import type { StoredFile } from "./file_store.ts"; // issue 12

/** The page may load only its own script and style, and talk to `/ws`. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
  // A new version of chat serves a new page: never a stale cached one.
  "cache-control": "no-store",
};

/** Time a browser has to send its request (and finish a TLS handshake). */
export const REQUEST_DEADLINE_MS = 10_000;

/** Longest request head (request line and headers) read. */
const MAX_HEAD_BYTES = 8 * 1024;

/** HTTP connections not yet answered or upgraded, at most, at once. */
const MAX_PENDING_REQUESTS = 64;

/** ... and from one address. */
const MAX_PENDING_PER_ADDRESS = 8;

/** How long an answer may take to write before the socket is closed. */
const ANSWER_DEADLINE_MS = 10_000;

/** Names only a LAN resolves: IPv4, [IPv6], no dot, or a local domain. */
const LOCAL_NAME =
  /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]|[^.]+|.+\.(?:local|lan|home\.arpa|internal))$/i;

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_END = /\r\n\r\n/;

/** Settings of {@linkcode startWebServer}. */
export interface WebServerOptions {
  /** Address to listen on, as for the chat port. */
  hostname: string;
  /** Port to listen on; 0 lets the system pick one. */
  port: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Takes a WebSocket peer into the room (`ChatServer.admit`). */
  admit(conn: ChatSocket, address: string): void;
  /**
   * Issue 12: the shared file a link `/files/N/KEY/NAME` names, if still
   * kept.
   */
  file?: (id: number, key: string) => StoredFile | undefined;
}

/** A running web server. */
export interface WebServer {
  /** The port actually bound. */
  readonly port: number;
  /** `http` or `https`. */
  readonly scheme: "http" | "https";
  /** Stops taking requests, and drops those not answered yet. */
  shutdown(): Promise<void>;
}

/** A request's method, path and headers (names in lower case). */
export interface WebRequest {
  method: string;
  path: string;
  headers: Map<string, string>;
}

/** What to answer: a response, or the WebSocket upgrade. */
export type WebAnswer =
  | {
    kind: "response";
    status: number;
    headers: Record<string, string>;
    body: Uint8Array;
  }
  | { kind: "upgrade"; accept: string };

/**
 * Starts serving the page and `/ws` on its own TCP port (HTTP/1.1, one
 * request per connection). Throws like `Deno.listen` when the port cannot
 * be bound (`Deno.errors.AddrInUse` ...).
 *
 * @example
 * ```ts
 * import { ChatServer } from "./server.ts";
 * import { startWebServer } from "./web_server.ts";
 * const chat = ChatServer.listen({ hostname: "127.0.0.1", port: 0, maxClients: 10 });
 * const web = startWebServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   admit: (conn, address) => chat.admit(conn, address),
 * });
 * console.log(`open http://127.0.0.1:${web.port}`);
 * await chat.shutdown();
 * await web.shutdown();
 * ```
 */
export function startWebServer(options: WebServerOptions): WebServer {
  if (options.tls) {
    // Checked as Deno.listenTls checks them, for the same one-line errors.
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...options.tls })
      .close();
  }
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const context = options.tls
    ? serverContext(options.tls.cert, options.tls.key)
    : undefined;
  const scheme = context ? "https" : "http";
  const pending = new Set<ChatSocket>();
  const pendingByAddress = new Map<string, number>();
  let stopping = false;
  void (async () => {
    while (!stopping) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await listener.accept() as Deno.TcpConn;
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const address = (tcp.remoteAddr as Deno.NetAddr).hostname;
      const conn: ChatSocket = context
        ? new TlsServerConn(tcp, context, REQUEST_DEADLINE_MS)
        : tcp;
      const fromAddress = pendingByAddress.get(address) ?? 0;
      if (
        pending.size >= MAX_PENDING_REQUESTS ||
        fromAddress >= MAX_PENDING_PER_ADDRESS
      ) {
        closeQuietly(conn);
        continue;
      }
      pending.add(conn);
      pendingByAddress.set(address, fromAddress + 1);
      void serveOne(conn, address, scheme, options.admit, options.file).finally(
        () => {
          pending.delete(conn);
          const left = (pendingByAddress.get(address) ?? 1) - 1;
          if (left > 0) pendingByAddress.set(address, left);
          else pendingByAddress.delete(address);
        },
      );
    }
  })();
  return {
    port: listener.addr.port,
    scheme,
    shutdown() {
      stopping = true;
      closeQuietly(listener);
      for (const conn of pending) closeQuietly(conn);
      return Promise.resolve();
    },
  };
}

/**
 * One connection: reads its request (within the deadline), answers it and
 * closes, or hands it to the room as a WebSocket.
 */
async function serveOne(
  conn: ChatSocket,
  address: string,
  scheme: "http" | "https",
  admit: (conn: ChatSocket, address: string) => void,
  file?: (id: number, key: string) => StoredFile | undefined,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), REQUEST_DEADLINE_MS)
  );
  try {
    const head = await Promise.race([readHead(conn), expired]);
    if (!head) return closeQuietly(conn);
    const request = parseRequest(head.text);
    const answer = request
      ? await answerRequest(request, scheme, file)
      : response(400, "Bad request");
    if (answer.kind === "upgrade") {
      const written = await Promise.race([
        writeAll(conn, encoder.encode(upgradeHead(answer.accept))),
        expired,
      ]);
      if (written === undefined) return closeQuietly(conn);
      clearTimeout(timer);
      admit(new WebSocketConn(conn, head.rest), address);
      return;
    }
    const bytes = responseBytes(answer, request?.method === "HEAD");
    clearTimeout(timer);
    await Promise.race([
      writeAll(conn, bytes),
      new Promise((resolve) => timer = setTimeout(resolve, ANSWER_DEADLINE_MS)),
    ]);
    closeQuietly(conn);
  } catch {
    closeQuietly(conn);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads up to the blank line that ends a request's head; undefined if the
 * connection ends first or the head is too long. `rest` is what followed.
 */
async function readHead(
  conn: ChatSocket,
): Promise<{ text: string; rest: Uint8Array } | undefined> {
  const buffer = new Uint8Array(MAX_HEAD_BYTES);
  let length = 0;
  while (length < buffer.length) {
    const count = await conn.read(buffer.subarray(length));
    if (count === null) return undefined;
    length += count;
    const text = latin1.decode(buffer.subarray(0, length));
    const end = HEAD_END.exec(text);
    if (end) {
      const headLength = end.index + 4;
      return {
        text: text.slice(0, end.index),
        rest: buffer.slice(headLength, length),
      };
    }
  }
  return undefined;
}

/**
 * The request line and headers of a request head, or undefined when they
 * are not HTTP/1.x.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./web_server.ts";
 * parseRequest("GET /app.js?v=1 HTTP/1.1\r\nHost: x")?.path; // "/app.js"
 * ```
 */
export function parseRequest(head: string): WebRequest | undefined {
  const [requestLine, ...lines] = head.split("\r\n");
  const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
  if (!match) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // A repeated header is joined, as HTTP says.
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const target = match[2];
  const path = target.startsWith("/") ? target.split("?")[0] : "";
  return { method: match[1], path, headers };
}

/**
 * The answer to one request: a page asset, the WebSocket upgrade, or an
 * error status, always with the security headers.
 */
export async function answerRequest(
  request: WebRequest,
  scheme: "http" | "https",
  file?: (id: number, key: string) => StoredFile | undefined,
): Promise<WebAnswer> {
  const { method, path, headers } = request;
  if (path.startsWith("/files/")) return fileAnswer(method, path, file);
  const asset = PAGE_ASSETS.get(path);
  if (!asset && path !== "/ws") return response(404, "Not found");
  if (method !== "GET" && method !== "HEAD") {
    const answer = response(405, "Method not allowed");
    answer.headers["allow"] = "GET, HEAD";
    return answer;
  }
  if (asset) {
    return {
      kind: "response",
      status: 200,
      headers: { ...SECURITY_HEADERS, "content-type": asset.type },
      body: asset.body,
    };
  }
  if (!sameSite(headers.get("origin") ?? null, headers.get("host"), scheme)) {
    return response(403, "Forbidden: another site's page may not join");
  }
  const upgrade = headers.get("upgrade")?.toLowerCase() ?? "";
  const connection = headers.get("connection")?.toLowerCase() ?? "";
  const key = headers.get("sec-websocket-key") ?? "";
  if (
    !upgrade.split(/\s*,\s*/).includes("websocket") ||
    !connection.split(/\s*,\s*/).includes("upgrade")
  ) {
    const answer = response(426, "Upgrade Required: this is a WebSocket");
    answer.headers["upgrade"] = "websocket";
    return answer;
  }
  if (headers.get("sec-websocket-version") !== "13") {
    const answer = response(426, "Upgrade Required: WebSocket version 13");
    answer.headers["sec-websocket-version"] = "13";
    return answer;
  }
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return response(400, "Bad Sec-WebSocket-Key");
  }
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + WEBSOCKET_GUID),
  );
  return {
    kind: "upgrade",
    accept: btoa(String.fromCharCode(...new Uint8Array(digest))),
  };
}

/**
 * True when the request has no `Origin` (not a browser page: a script) or
 * an `Origin` that is this server as the browser reached it (`host`), by
 * a name that cannot be a public site's: an IP address, a name without a
 * dot, or one in a local domain. (A public name pointed at a LAN address,
 * DNS rebinding, would otherwise let a site's page join the room in the
 * name of whoever opened it.)
 *
 * @example
 * ```ts
 * import { sameSite } from "./web_server.ts";
 * sameSite("http://10.0.0.2:8080", "10.0.0.2:8080", "http"); // true
 * sameSite("http://evil.example", "10.0.0.2:8080", "http"); // false
 * sameSite("http://evil.example:8080", "evil.example:8080", "http"); // false
 * ```
 */
export function sameSite(
  origin: string | null,
  host: string | undefined,
  scheme: "http" | "https",
): boolean {
  if (origin === null) return true;
  if (!host) return false;
  try {
    const from = new URL(origin);
    const self = new URL(`${scheme}://${host}`);
    return from.protocol === self.protocol && from.host === self.host &&
      LOCAL_NAME.test(self.hostname);
  } catch {
    return false; // "null" (a file, a sandbox) or garbage
  }
}

/**
 * Issue 12: `/files/N/KEY/NAME`, a shared file, as a download (never shown
 * in the page's origin: `attachment`, a type browsers do not run, and the
 * same strict headers); 404 once it is gone or when the key is wrong.
 */
function fileAnswer(
  method: string,
  path: string,
  file: ((id: number, key: string) => StoredFile | undefined) | undefined,
): WebAnswer {
  const match = /^\/files\/(\d{1,9})\/([0-9a-f]{16})\/[^/]*$/.exec(path);
  const found = match && file?.(Number(match[1]), match[2]);
  if (!found) return response(404, "Not found");
  if (method !== "GET" && method !== "HEAD") {
    const answer = response(405, "Method not allowed");
    answer.headers["allow"] = "GET, HEAD";
    return answer;
  }
  const ascii = found.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return {
    kind: "response",
    status: 200,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/octet-stream",
      "content-disposition":
        `attachment; filename="${ascii}"; filename*=UTF-8''${
          encodeURIComponent(found.name)
        }`,
    },
    body: found.bytes,
  };
}

function response(status: number, text: string): WebAnswer & {
  kind: "response";
} {
  return {
    kind: "response",
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/plain; charset=utf-8",
    },
    body: encoder.encode(`${text}\n`),
  };
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
};

/** The bytes of a response, head and body (no body for HEAD). */
function responseBytes(
  answer: WebAnswer & { kind: "response" },
  head: boolean,
): Uint8Array {
  const lines = [
    `HTTP/1.1 ${answer.status} ${STATUS_TEXT[answer.status] ?? ""}`,
    ...Object.entries(answer.headers).map(([name, value]) =>
      `${name}: ${value}`
    ),
    `content-length: ${answer.body.length}`,
    "connection: close",
    "",
    "",
  ];
  const top = encoder.encode(lines.join("\r\n"));
  if (head) return top;
  const bytes = new Uint8Array(top.length + answer.body.length);
  bytes.set(top);
  bytes.set(answer.body, top.length);
  return bytes;
}

function upgradeHead(accept: string): string {
  return [
    "HTTP/1.1 101 Switching Protocols",
    "upgrade: websocket",
    "connection: Upgrade",
    `sec-websocket-accept: ${accept}`,
    "",
    "",
  ].join("\r\n");
}

async function writeAll(conn: ChatSocket, bytes: Uint8Array): Promise<true> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
  return true;
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch { /* already closed */ }
}

const encoder = new TextEncoder();
// Request heads are ASCII; Latin-1 keeps one character per byte.
const latin1 = new TextDecoder("latin1");

/** What {@linkcode startWebFor} needs from `chat serve`'s options. */
export interface WebStartOptions {
  hostname: string;
  webPort: number;
  tls?: { cert: string; key: string };
  lang: Lang;
}

/**
 * Starts the page for `chat serve --web`, with browsers joining `server`'s
 * room. A port that cannot be bound is a {@linkcode ServerError}: one line
 * the host can act on.
 *
 * @example
 * ```ts
 * import { ChatServer } from "./server.ts";
 * import { startWebFor } from "./web_server.ts";
 * const chat = ChatServer.listen({ hostname: "127.0.0.1", port: 0, maxClients: 10 });
 * const web = startWebFor(chat, { hostname: "127.0.0.1", webPort: 0, lang: "en" });
 * await chat.shutdown();
 * await web.shutdown();
 * ```
 */
export function startWebFor(
  server: ChatServer,
  options: WebStartOptions,
): WebServer {
  try {
    const web = startWebServer({
      hostname: options.hostname,
      port: options.webPort,
      tls: options.tls,
      admit: (conn, address) => server.admit(conn, address),
      // Issue 12: shared files are downloaded from the page's port.
      file: (id, key) => server.files.fileForWeb(id, key),
    });
    server.files.web ??= {};
    return web;
  } catch (error) {
    const lang = options.lang;
    const port = options.webPort;
    const where = `${options.hostname}:${port}`;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ServerError(
        t(lang, "web.listen.in-use", { port, next: port + 1 }),
      );
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new ServerError(
        t(lang, "web.listen.denied", { where, port: DEFAULT_WEB_PORT }),
      );
    }
    const message = String((error as Error)?.message ?? error).split("\n")[0];
    throw new ServerError(t(lang, "web.listen.other", { where, message }));
  }
}

/**
 * Prints where browsers open the page (`or open http://IP:PORT`, one line
 * per address), and the QR code of the first unless `qr` is false; with
 * TLS, how to accept a certificate no authority signed.
 */
export function printWebAddresses(
  lang: Lang,
  web: WebServer,
  hosts: readonly string[],
  show: { qr: boolean; tls: boolean },
): void {
  const urls = hosts.map((host) =>
    `${web.scheme}://${formatAddress(host, web.port)}`
  );
  for (const url of urls) console.log(`  ${t(lang, "web.open", { url })}`);
  if (show.tls) console.log(t(lang, "web.tls-hint"));
  if (show.qr && urls.length > 0) {
    console.log(t(lang, "web.qr"));
    const ansi = Deno.stdout.isTerminal();
    for (const line of qrLines(urls[0], { ansi })) console.log(line);
  }
}
