/**
 * `chat connect`'s connection to the server, as lines: read one at a time,
 * written in order. Once the server speaks the structured protocol, every
 * line sent is a JSON object, so no typed line (not even one that starts
 * with `{`) can be mistaken for something else.
 *
 * @module
 */

import { decodeLine, LineSplitter } from "./protocol.ts";

// Lines from the server are at most a name and a message of up to 32 KiB,
// in JSON; anything far longer is not from a chat server and is skipped.
const MAX_SERVER_LINE_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/**
 * Lines to and from the server.
 *
 * @example
 * ```ts
 * import { ServerLink } from "./client_link.ts";
 * const link = new ServerLink(await Deno.connect({ port: 5000 }));
 * const greeting = await link.next();
 * await link.sendPlain("/proto 1");
 * ```
 */
export class ServerLink {
  readonly #conn: Deno.Conn;
  readonly #incoming: AsyncIterator<string>;
  #writes: Promise<void> = Promise.resolve();
  #writeFailed = false;
  #structured = false;
  /** When the last line arrived (`performance.now()`). */
  lastHeardAt: number = performance.now();

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#incoming = readLines(conn);
  }

  /** True once a write failed: the connection is gone. */
  get writeFailed(): boolean {
    return this.#writeFailed;
  }

  /** From now on, lines are sent as JSON objects. */
  speakStructured(): void {
    this.#structured = true;
  }

  /** The next line from the server, or `undefined` once it has closed. */
  async next(): Promise<string | undefined> {
    const { value, done } = await this.#incoming.next();
    this.lastHeardAt = performance.now();
    return done ? undefined : value;
  }

  /**
   * Sends a line as if typed: as it is before the structured protocol, as
   * `{"type":"line","text":...}` after.
   */
  send(text: string): Promise<void> {
    return this.sendPlain(
      this.#structured ? JSON.stringify({ type: "line", text }) : text,
    );
  }

  /**
   * Sends a structured request (such as `{"type":"history"}`), as one JSON
   * line; only once the server speaks the structured protocol.
   */
  request(request: Record<string, unknown>): Promise<void> {
    return this.sendPlain(JSON.stringify(request));
  }

  /** Sends a heartbeat, which the server answers with `pong`. */
  ping(): Promise<void> {
    return this.sendPlain(
      this.#structured ? JSON.stringify({ type: "ping" }) : "/ping",
    );
  }

  /**
   * Writes one line exactly as given, after all earlier ones. A failed write
   * marks the link as failed; the reader then sees the connection end.
   */
  sendPlain(text: string): Promise<void> {
    const bytes = encoder.encode(text + "\n");
    this.#writes = this.#writes.then(async () => {
      if (this.#writeFailed) return;
      try {
        for (let offset = 0; offset < bytes.length;) {
          offset += await this.#conn.write(bytes.subarray(offset));
        }
      } catch {
        this.#writeFailed = true;
      }
    });
    return this.#writes;
  }

  /** Closes the connection; reading then ends. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** Yields the lines a server sends until it closes or the socket fails. */
async function* readLines(conn: Deno.Conn): AsyncGenerator<string> {
  const splitter = new LineSplitter(MAX_SERVER_LINE_BYTES);
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    let count: number | null;
    try {
      count = await conn.read(buffer);
    } catch {
      count = null;
    }
    if (count === null) break;
    for (const event of splitter.push(buffer.subarray(0, count))) {
      if (event.kind === "line") yield decodeLine(event.bytes);
    }
  }
  const rest = splitter.flush();
  if (rest?.kind === "line") yield decodeLine(rest.bytes);
}
