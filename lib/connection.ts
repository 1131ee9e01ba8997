/**
 * One client connection: the glue between its socket's line reader, its
 * outgoing queue and the room. It also holds what the room does not care
 * about: which rendering this client reads (plain English, plain French, or
 * the structured protocol after `/proto 1`), and whether it sends
 * heartbeats.
 *
 * @module
 */

import type { ChatSocket } from "./chat_socket.ts";
import { type LeaveReason, PROTOCOL_VERSIONS } from "./events.ts";
import { readLines } from "./line_reader.ts";
import type { OutgoingEvent, Rendering, Renderings } from "./outgoing.ts";
import { type FlowControl, OutgoingQueue } from "./outgoing_queue.ts";
import {
  decodeLine,
  type FramedLine,
  LineSplitter,
  sanitizeText,
} from "./protocol.ts";
import { parseClientJson } from "./render_json.ts";
import type { Member, Peer, Room } from "./room.ts";
import type { FileSession, FileSharing } from "./file_transfer.ts";

/** The longest `file-chunk` request: 2 KiB in base64, with its JSON. */
const FILE_CHUNK_LINE_BYTES = 4096;

/** How long a closing connection may take to write what is queued. */
export const CLOSE_GRACE_MS = 1000;

const PROTO_REQUEST = /^\/proto(?:\s+(\S*))?\s*$/i;
const SLASH = 0x2f;

/** Settings of one {@linkcode Connection}, shared by all of a server's. */
export interface ConnectionSettings {
  room: Room;
  renderings: Renderings;
  /** The plain-text rendering, in the server's language. */
  textRendering: Rendering;
  queueLimitBytes: number;
  maxLineBytes: number;
  flow: FlowControl;
  /** `chat x.y.z`, told to structured clients. */
  serverName: string;
  /** Random id of this server run, told to structured clients (issue 9). */
  run: string;
  /** Issue 12: the server's shared files (`file-offer`, `get`). */
  files?: FileSharing;
  /**
   * Called when the room throws: a bug in chat, not something the client
   * did. `address` is the client's.
   */
  reportBug(error: unknown, address: string): void;
}

/**
 * A client connection: its reader feeds the room, the room's events go to
 * its own queue, rendered for this client.
 *
 * An exception from the room is a bug in chat, not the client's doing: it
 * is handed to `reportBug`, and the connection is kept (the client is told
 * that its line may not have gone out); other connections never see it.
 * Only an exception from {@linkcode Room.arrive} ends the connection, since
 * it then has no place in the room: the constructor closes the socket and
 * throws.
 */
export class Connection implements Peer {
  readonly #conn: ChatSocket;
  /** The client's address, as the room and the logs know it. */
  readonly address: string;
  readonly #settings: ConnectionSettings;
  readonly #queue: OutgoingQueue;
  readonly #onGone: () => void;
  #rendering: Rendering;
  readonly member: Member;
  readonly connectedAt = performance.now();
  /** When the last bytes arrived from this client. */
  lastHeardAt = this.connectedAt;
  /** True once the client sent a heartbeat: it promises to keep doing so. */
  sendsHeartbeats = false;
  #gone = false;
  /** Issue 12: this client's line splitter, whose limit `/proto` raises. */
  readonly #splitter: LineSplitter;
  /** Issue 12: uploads and downloads, from this client's first file request. */
  #files: FileSession | undefined;

  constructor(
    conn: ChatSocket,
    address: string,
    settings: ConnectionSettings,
    onGone: () => void,
  ) {
    this.#conn = conn;
    this.address = address;
    this.#settings = settings;
    this.#onGone = onGone;
    this.#rendering = settings.textRendering;
    this.#splitter = new LineSplitter(settings.maxLineBytes);
    try {
      // TCP, and TLS and WebSocket over TCP, have these; a socket of
      // another kind need not.
      conn.setNoDelay?.(true);
      // Lets the system notice a vanished peer (after its own long delay;
      // heartbeats from `chat connect` notice much sooner).
      conn.setKeepAlive?.(true);
    } catch { /* not fatal */ }
    this.#queue = new OutgoingQueue(
      conn,
      settings.queueLimitBytes,
      settings.flow,
      address,
    );
    try {
      this.member = settings.room.arrive(this, { address });
    } catch (error) {
      this.#gone = true;
      this.#queue.abort();
      try {
        conn.close();
      } catch { /* already closed */ }
      throw error;
    }
    void this.#queue.done.then((end) =>
      this.abort(end === "failed" ? "connection-lost" : undefined)
    );
    void this.#read();
  }

  /** True once this client reads the structured protocol. */
  get structured(): boolean {
    return this.#rendering === this.#settings.renderings.json;
  }

  send(event: OutgoingEvent): void {
    if (this.#gone || this.#queue.closing) return;
    if (!this.#queue.push(event.bytesFor(this.#rendering))) {
      this.#dropSlowReader();
    }
  }

  /** Writes what is queued, then closes; gives up after a grace period. */
  close(): void {
    if (this.#gone) return;
    const timer = setTimeout(() => this.abort(), CLOSE_GRACE_MS);
    void this.closeGracefully().finally(() => clearTimeout(timer));
  }

  /** Stops taking events, writes what is queued, then closes. */
  async closeGracefully(): Promise<void> {
    this.#queue.close();
    await this.#queue.done;
  }

  /**
   * Closes the socket at once, dropping anything queued, and takes the member
   * out of the room with `reason` shown in the notice.
   */
  abort(reason?: LeaveReason): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#files?.close();
    // Leave once the current broadcast has reached everyone, so that every
    // member still sees the same events in the same order.
    queueMicrotask(() =>
      this.#inRoom(() => this.#settings.room.leave(this.member, reason))
    );
    this.#queue.abort();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#onGone();
  }

  /**
   * Called by each sweep: true once a write has been waiting for the peer to
   * read, with no write finishing, for `stalledMs`.
   */
  writeStalled(sweepMs: number, stalledMs: number): boolean {
    return this.#queue.writeStalled(sweepMs, stalledMs);
  }

  /**
   * Past the queue limit, or no write finished for too long: what is queued
   * is dropped and replaced by one line saying why, which reaches the client
   * if its socket takes it within the close grace period. The room sees it
   * leave at once, and it no longer holds anyone up.
   */
  dropAsTooSlow(): void {
    if (this.#gone || this.#queue.closing) return;
    this.#dropSlowReader();
  }

  #dropSlowReader(): void {
    const room = this.#settings.room;
    // Its address cannot hold the room again for a while (flow control).
    this.#settings.flow.penalize(this.address);
    // The farewell is rendered for this client alone and queued in place of
    // everything else.
    this.#inRoom(() => {
      const farewell = room.eventFor({
        type: "disconnected",
        reason: "too-slow",
      });
      this.#queue.replaceAndClose(farewell.bytesFor(this.#rendering));
    });
    queueMicrotask(() =>
      this.#inRoom(() => room.leave(this.member, "too-slow"))
    );
    this.close();
  }

  async #read(): Promise<void> {
    const end = await readLines(this.#conn, {
      maxLineBytes: this.#settings.maxLineBytes,
      splitter: this.#splitter,
      // Issue 12: a client past its upload budget is read more slowly.
      ready: () => this.#settings.flow.ready() ?? this.#files?.readPause(),
      gone: () => this.#gone,
      onBytes: () => this.lastHeardAt = performance.now(),
      onLine: (line) => this.#receiveGuarded(line),
    });
    if (this.#gone) return;
    if (end === "failed") return this.abort("connection-lost");
    this.#inRoom(() => this.#settings.room.leave(this.member));
    this.close();
  }

  /**
   * Runs something that calls into the room. An exception is a bug in
   * chat: reported, and this connection stays as it is. Returns true when
   * nothing was thrown.
   */
  #inRoom(action: () => void): boolean {
    try {
      action();
      return true;
    } catch (error) {
      this.#settings.reportBug(error, this.address);
      return false;
    }
  }

  /**
   * One line from the client. If the room throws on it, the line is lost
   * but the connection is kept, and the client is told so.
   */
  #receiveGuarded(line: FramedLine): void {
    if (this.#inRoom(() => this.#receive(line)) || this.#gone) return;
    this.#inRoom(() =>
      this.#settings.room.tellError(this.member, { code: "internal-error" })
    );
  }

  #receive(line: FramedLine): void {
    const room = this.#settings.room;
    if (line.kind === "oversize") {
      // Issue 12: in a code block, the block is refused whole at its end.
      if (room.lineLostInBlock(this.member, line.limitBytes)) return;
      return room.tellError(this.member, {
        code: "line-too-long",
        args: { limit: line.limitBytes },
      });
    }
    const text = decodeLine(line.bytes);
    // Issue 12: a structured client's lines may be longer, for `block` and
    // `file-chunk`; anything else is held to the usual limit.
    const maxLineBytes = this.#settings.maxLineBytes;
    if (this.structured && line.bytes.length > maxLineBytes) {
      const request = text.trimStart().startsWith("{")
        ? parseClientJson(text)
        : undefined;
      if (request?.type !== "block" && request?.type !== "file-chunk") {
        return room.tellError(this.member, {
          code: "line-too-long",
          args: { limit: maxLineBytes },
        });
      }
    }
    if (this.structured && text.trimStart().startsWith("{")) {
      const request = parseClientJson(text);
      switch (request.type) {
        case "invalid":
          return room.tellError(this.member, request.error);
        case "ping":
          this.sendsHeartbeats = true;
          return room.ping(this.member);
        case "say":
          return room.say(this.member, request.text);
        case "line":
          return this.#handleText(request.text);
        case "history":
          return room.history(this.member, request.after);
        case "resume":
          return room.resume(this.member, request.name, request.token);
        case "block": // issue 12
          return room.block(this.member, request.text, request.lang);
        case "file-offer": // issue 12
          return this.#fileSession()?.offer(request);
        case "file-chunk":
          return this.#fileSession()?.chunk(request.upload, request.data);
        case "get":
          return this.#fileSession()?.get(request.id);
      }
    }
    this.#handleText(text);
  }

  /**
   * Issue 12: this client's file session, made on its first request. Once
   * it exists, each time the queue has been written out the next chunks of
   * a download go in: chat lines wait behind at most one small batch.
   */
  #fileSession(): FileSession | undefined {
    if (this.#files) return this.#files;
    const sharing = this.#settings.files;
    if (!sharing) {
      this.#settings.room.tellError(this.member, { code: "files-off" });
      return undefined;
    }
    const queue = this.#queue;
    const files = sharing.session(this.member, {
      pendingBytes: () => queue.pendingBytes,
    });
    this.#files = files;
    queue.onIdle = () => {
      if (files.downloading) this.#inRoom(() => files.pump());
    };
    return files;
  }

  #handleText(text: string): void {
    // Only lines that start with "/" (after blanks) can be /proto or /ping.
    const start = text.charCodeAt(0) === SLASH ? text : text.trimStart();
    // In a code block (issue 12), `/proto` and `/ping` are lines of code.
    if (
      start.charCodeAt(0) === SLASH && !this.#settings.room.inBlock(this.member)
    ) {
      const trimmed = start.trimEnd();
      const proto = PROTO_REQUEST.exec(trimmed);
      if (proto) return this.#switchProtocol(proto[1] ?? "");
      if (!this.sendsHeartbeats && trimmed.toLowerCase() === "/ping") {
        this.sendsHeartbeats = true;
      }
    }
    this.#settings.room.handleLine(this.member, text);
  }

  /**
   * `/proto N`: from now on this client reads JSON Lines. The answer is
   * JSON either way, so a client that asked can read it: the `proto` event,
   * or an error naming the versions spoken here (and the client keeps the
   * plain text).
   */
  #switchProtocol(asked: string): void {
    const room = this.#settings.room;
    const json = this.#settings.renderings.json;
    const version = Number(asked);
    if (!PROTOCOL_VERSIONS.includes(version)) {
      const previous = this.#rendering;
      this.#rendering = json;
      room.tellError(this.member, {
        code: "protocol-version",
        args: {
          asked: sanitizeText(asked).slice(0, 16),
          supported: [...PROTOCOL_VERSIONS],
        },
      });
      this.#rendering = previous;
      return;
    }
    this.#rendering = json;
    // Issue 12: room for a `block` request, its text escaped in JSON
    // (each tab, newline or quote takes two bytes), and for a `file-chunk`
    // (2 KiB in base64) however small `--max-line-bytes` is.
    this.#splitter.maxLineBytes = Math.max(
      this.#splitter.maxLineBytes,
      this.#settings.maxLineBytes +
        Math.max(2 * room.blockLimits.maxBytes, FILE_CHUNK_LINE_BYTES) + 256,
    );
    room.tell(this.member, {
      type: "proto",
      version,
      versions: [...PROTOCOL_VERSIONS],
      password: room.passwordNeeded(this.member),
      server: this.#settings.serverName,
      run: this.#settings.run,
      history: room.historyLines,
    });
  }
}
