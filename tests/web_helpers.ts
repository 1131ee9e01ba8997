/**
 * Shared tools for the tests of `chat serve --web`: start a server with the
 * page, find the web port it printed, and talk to `/ws` as a browser would
 * (a real `WebSocket`) or byte by byte (a raw TCP socket that performs the
 * upgrade itself and then may never read).
 *
 * @module
 */

import { ChatProcess, deadline, lineMatcher, WAIT_MS } from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Starts `chat serve --web 0 --no-qr ARGS` and waits for the page's
 * address line; returns the server and the web port it printed.
 */
export async function serveWithWeb(
  args: string[] = [],
  options: Parameters<typeof ChatProcess.serve>[1] = {},
): Promise<{ server: ChatProcess; webPort: number; url: string }> {
  const server = await ChatProcess.serve(
    ["--web", "0", "--no-qr", ...args],
    options,
  );
  try {
    const line = await server.stdout.waitFor(/or open https?:\/\//);
    const url = /(https?:\/\/\S+)/.exec(line)![1];
    return { server, webPort: Number(new URL(url).port), url };
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * A real WebSocket client of `/ws`: frames out, frames in, each frame kept
 * as one line, with waits that have deadlines.
 */
export class WsClient implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly lines: string[] = [];
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event) => {
      this.lines.push(String(event.data));
      this.#wake();
    };
    socket.onclose = () => {
      this.#closed = true;
      this.#wake();
    };
  }

  /** Opens `ws://127.0.0.1:PORT/ws` and waits until it is open. */
  static async connect(port: number): Promise<WsClient> {
    const client = new WsClient(new WebSocket(`ws://127.0.0.1:${port}/ws`));
    await deadline(
      new Promise<void>((resolve, reject) => {
        client.socket.onopen = () => resolve();
        client.socket.onerror = () => reject(new Error("WebSocket failed"));
      }),
      `a WebSocket to port ${port}`,
    );
    return client;
  }

  /** Connects, then `/nick NAME`, and waits for its welcome. */
  static async join(port: number, name: string): Promise<WsClient> {
    const client = await WsClient.connect(port);
    client.send(`/nick ${name}`);
    await client.waitFor(new RegExp(`^\\*\\*\\* Welcome, ${name}!`));
    return client;
  }

  /** True once the server closed the socket. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one text frame. */
  send(text: string | Uint8Array<ArrayBuffer>): void {
    this.socket.send(text);
  }

  /** Waits for a line (from index `from` on) that matches; returns it. */
  async waitFor(
    match: string | RegExp | ((line: string) => boolean),
    options: { from?: number; ms?: number } = {},
  ): Promise<string> {
    const test = lineMatcher(match);
    let index = options.from ?? 0;
    return await this.#until(
      () => {
        for (; index < this.lines.length; index++) {
          if (test(this.lines[index])) return this.lines[index];
        }
        return undefined;
      },
      `a frame matching ${match}`,
      options.ms,
    );
  }

  /** Waits until the server closes the socket. */
  async waitForClose(ms: number = WAIT_MS): Promise<void> {
    await this.#until(() => this.#closed || undefined, "the close", ms, true);
  }

  async #until<T>(
    check: () => T | undefined,
    what: string,
    ms = WAIT_MS,
    closeIsFine = false,
  ): Promise<T> {
    return await deadline(
      (async () => {
        while (true) {
          const found = check();
          if (found !== undefined) return found;
          if (this.#closed && !closeIsFine) {
            throw new Error(
              `closed before ${what}; got:\n${
                this.lines.slice(-20).join("\n")
              }`,
            );
          }
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      () => `${what}; got:\n${this.lines.slice(-20).join("\n")}`,
      ms,
    );
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) {
      try {
        this.socket.close();
      } catch { /* closing */ }
      await this.waitForClose().catch(() => {});
    }
  }
}

/**
 * Sends a WebSocket upgrade request for `/ws` over a raw TCP socket, with
 * `headers` added; returns the socket and the response's status code. The
 * socket is then the client's to use (or never to read again).
 */
export async function rawUpgrade(
  port: number,
  headers: Record<string, string> = {},
): Promise<{ conn: Deno.TcpConn; status: number }> {
  const conn = await deadline(
    Deno.connect({ hostname: "127.0.0.1", port }),
    `a connection to port ${port}`,
  );
  const request = [
    "GET /ws HTTP/1.1",
    ...("Host" in headers ? [] : [`Host: 127.0.0.1:${port}`]),
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  await conn.write(encoder.encode(request));
  // Only the status line and headers are read: up to the blank line.
  let head = "";
  const buffer = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    const count = await deadline(conn.read(buffer), "the upgrade's answer");
    if (count === null) break;
    head += decoder.decode(buffer.subarray(0, count));
    if (head.length > 8192) break;
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { conn, status };
}

/** One masked client text frame (RFC 6455), as a browser sends it. */
export function maskedTextFrame(text: string): Uint8Array<ArrayBuffer> {
  return maskedFrame(0x1, encoder.encode(text));
}

/**
 * One client frame: `opcode` (1 text, 0 continuation, 8 close, 9 ping ...),
 * masked unless `masked` is false, the last of its message unless `fin` is
 * false.
 */
export function maskedFrame(
  opcode: number,
  payload: Uint8Array,
  options: { fin?: boolean; masked?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  const masked = options.masked ?? true;
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const maskBytes = masked ? 4 : 0;
  const frame = new Uint8Array(header + maskBytes + length);
  frame[0] = (options.fin ?? true ? 0x80 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) {
    frame[1] = maskBit | length;
  } else if (length < 65536) {
    frame[1] = maskBit | 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = maskBit | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(length));
  }
  const mask = masked
    ? crypto.getRandomValues(new Uint8Array(4))
    : new Uint8Array(4);
  frame.set(mask.subarray(0, maskBytes), header);
  for (let i = 0; i < length; i++) {
    frame[header + maskBytes + i] = payload[i] ^ mask[i % 4];
  }
  return frame;
}

/**
 * Reads server frames from a raw socket until one has `opcode`; returns
 * its payload. Server frames are never masked.
 */
export async function readFrameWith(
  conn: Deno.Conn,
  opcode: number,
): Promise<Uint8Array> {
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(16 * 1024);
  return await deadline(
    (async () => {
      while (true) {
        // Whole frames at the front of `bytes`, one by one.
        while (bytes.length >= 2) {
          let length = bytes[1] & 0x7f;
          let header = 2;
          if (length === 126) {
            if (bytes.length < 4) break;
            length = (bytes[2] << 8) | bytes[3];
            header = 4;
          } else if (length === 127) {
            if (bytes.length < 10) break;
            length = Number(new DataView(bytes.buffer, 2, 8).getBigUint64(0));
            header = 10;
          }
          if (bytes.length < header + length) break;
          const payload = bytes.slice(header, header + length);
          const found = (bytes[0] & 0x0f) === opcode;
          bytes = bytes.slice(header + length);
          if (found) return payload;
        }
        const count = await conn.read(buffer);
        if (count === null) throw new Error("the socket ended");
        const joined = new Uint8Array(bytes.length + count);
        joined.set(bytes);
        joined.set(buffer.subarray(0, count), bytes.length);
        bytes = joined;
      }
    })(),
    `a frame with opcode ${opcode}`,
  );
}
