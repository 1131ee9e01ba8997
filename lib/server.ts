/**
 * The network side of `chat serve`: accepts TCP connections, turns their
 * bytes into lines for the {@linkcode Room}, and writes the room's lines back
 * through one bounded outgoing queue per connection.
 *
 * @module
 */

import {
  concatBytes,
  decodeLine,
  type FramedLine,
  lines,
  LineSplitter,
  MAX_LINE_BYTES,
  OutgoingLine,
} from "./protocol.ts";
import { type FloodLimits, type Member, type Peer, Room } from "./room.ts";

/** Bytes a connection may have waiting to be written before it is dropped. */
export const QUEUE_LIMIT_BYTES = 1024 * 1024;

/**
 * A partial line (no `\n` yet) from a client that has never sent a newline
 * (the course's Python client) is delivered after this long without bytes.
 */
export const IDLE_FLUSH_MS = 300;

/** How long shutdown waits for queued lines to reach clients. */
export const SHUTDOWN_GRACE_MS = 1000;

/** Connections from one address at once, unless `--max-per-ip` says otherwise. */
export const DEFAULT_MAX_PER_ADDRESS = 8;

/** A connection must join within this long (`--handshake-timeout`). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * A client that sends `/ping` heartbeats is dropped after this long without
 * a byte from it (`--heartbeat-timeout`): its laptop went away.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;

/**
 * A connection with more than this waiting to be written is behind. When a
 * quarter of the room is behind (the readers cannot keep up with the
 * senders, rather than one reader being slow), the server stops reading from
 * senders until all have caught up: TCP then slows the senders down, and no
 * reader is dropped for a load no one could read.
 */
export const BACKLOG_BYTES = 64 * 1024;

/**
 * A peer no write to which has finished for this long has stopped reading:
 * it is dropped, so it holds a busy room for this long at most.
 */
export const STALLED_WRITE_MS = 5_000;

/** Queued bytes in several pieces are copied into one write below this. */
const COPY_BELOW_BYTES = 16 * 1024;

/** How often deadlines are checked. */
const SWEEP_INTERVAL_MS = 1000;

// Each waiting read holds its buffer: an idle connection gets a small one,
// one that fills it gets a large one, for fewer reads when bytes pour in.
const SMALL_READ_BUFFER_BYTES = 512;
const LARGE_READ_BUFFER_BYTES = 16 * 1024;

/** Settings for {@linkcode ChatServer.listen}. */
export interface ServerOptions {
  /** Address to listen on, e.g. `0.0.0.0`. */
  hostname: string;
  /** Port to listen on; 0 lets the system pick a free one. */
  port: number;
  /** Most network clients connected at once. */
  maxClients: number;
  /** Most connections from one address at once; 0 for no limit. */
  maxPerAddress?: number;
  /** Time to join after connecting, in ms; 0 for no limit. */
  handshakeTimeoutMs?: number;
  /** Silence after which a heartbeat client is dropped, in ms; 0 never. */
  heartbeatTimeoutMs?: number;
  /** Outgoing queue limit per connection, in bytes. */
  queueLimitBytes?: number;
  /** Longest line a client may send, in bytes. */
  maxLineBytes?: number;
  /** Wait before a wrong password is refused, in ms. */
  wrongPasswordDelayMs?: number;
  /** Password newcomers must send with `/pass`. */
  password?: string;
  /** Flood control for clients. */
  flood?: FloodLimits;
  /** Serve TLS with this certificate and key (PEM) instead of plain TCP. */
  tls?: { cert: string; key: string };
}

/** A problem the person starting the server can act on. */
export class ServerError extends Error {
  override name = "ServerError";
}

/**
 * A running chat server.
 *
 * @example Start on a free port, then stop
 * ```ts
 * import { ChatServer } from "./server.ts";
 * const server = ChatServer.listen({ hostname: "127.0.0.1", port: 0, maxClients: 10 });
 * console.log(server.port);
 * await server.shutdown();
 * ```
 */
export class ChatServer {
  readonly room: Room;
  readonly #listener: Deno.Listener<Deno.Conn, Deno.NetAddr>;
  readonly #options: ServerOptions;
  readonly #connections = new Set<Connection>();
  readonly #perAddress = new Map<string, number>();
  readonly #flow = new FlowControl(() => this.#connections.size);
  readonly #stopped: Promise<void>;
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  #resolveStopped!: () => void;
  #stopping = false;

  private constructor(
    listener: Deno.Listener<Deno.Conn, Deno.NetAddr>,
    options: ServerOptions,
  ) {
    this.#listener = listener;
    this.#options = options;
    this.room = new Room({
      onStop: () => void this.shutdown(),
      password: options.password,
      flood: options.flood,
      wrongPasswordDelayMs: options.wrongPasswordDelayMs,
    });
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.#acceptLoop();
  }

  /** Binds the port and starts accepting. Throws {@linkcode ServerError}. */
  static listen(options: ServerOptions): ChatServer {
    try {
      const where = {
        hostname: options.hostname,
        port: options.port,
        transport: "tcp" as const,
      };
      const listener = options.tls
        ? Deno.listenTls({ ...where, ...options.tls })
        : Deno.listen(where);
      return new ChatServer(listener, options);
    } catch (error) {
      throw new ServerError(listenProblem(error, options));
    }
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Resolves once the server has shut down. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Tells everyone the server is shutting down, gives queued lines a moment
   * to reach them, then closes every socket. Safe to call more than once.
   */
  async shutdown(): Promise<void> {
    if (this.#stopping) return this.#stopped;
    this.#stopping = true;
    clearInterval(this.#sweepTimer);
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    this.room.broadcast(lines.shutdown());
    const drained = [...this.#connections].map((connection) =>
      connection.closeGracefully()
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(drained),
      new Promise((resolve) => timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)),
    ]);
    clearTimeout(timer);
    for (const connection of this.#connections) connection.abort();
    this.#resolveStopped();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#stopping) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors or a connection reset before accept:
        // wait a little rather than spin, and keep serving.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const address = (conn.remoteAddr as Deno.NetAddr).hostname;
      const fromAddress = this.#perAddress.get(address) ?? 0;
      const maxPerAddress = this.#options.maxPerAddress ??
        DEFAULT_MAX_PER_ADDRESS;
      if (this.room.isBanned(address)) {
        refuse(conn, lines.banned());
        continue;
      }
      if (this.#connections.size >= this.#options.maxClients) {
        refuse(conn, lines.full(this.#options.maxClients));
        continue;
      }
      if (maxPerAddress > 0 && fromAddress >= maxPerAddress) {
        refuse(conn, lines.tooManyFromAddress(maxPerAddress));
        continue;
      }
      this.#perAddress.set(address, fromAddress + 1);
      const connection: Connection = new Connection(
        conn,
        address,
        this.room,
        this.#options.queueLimitBytes ?? QUEUE_LIMIT_BYTES,
        this.#options.maxLineBytes ?? MAX_LINE_BYTES,
        this.#flow,
        () => {
          this.#connections.delete(connection);
          const left = (this.#perAddress.get(address) ?? 1) - 1;
          if (left > 0) this.#perAddress.set(address, left);
          else this.#perAddress.delete(address);
        },
      );
      this.#connections.add(connection);
    }
  }

  /** Closes connections that missed the join deadline or their heartbeat. */
  #sweep(): void {
    const now = performance.now();
    const handshakeMs = this.#options.handshakeTimeoutMs ??
      DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const heartbeatMs = this.#options.heartbeatTimeoutMs ??
      DEFAULT_HEARTBEAT_TIMEOUT_MS;
    for (const connection of this.#connections) {
      if (
        handshakeMs > 0 && connection.member.waiting &&
        now - connection.connectedAt > handshakeMs
      ) {
        this.room.tell(
          connection.member,
          lines.handshakeTimeout(Math.round(handshakeMs / 1000)),
        );
        this.room.leave(connection.member);
        connection.close();
      } else if (
        heartbeatMs > 0 && connection.sendsHeartbeats &&
        now - connection.lastHeardAt > heartbeatMs
      ) {
        this.room.remove(connection.member, "timed out");
      } else if (connection.writeStalled(SWEEP_INTERVAL_MS, STALLED_WRITE_MS)) {
        connection.abort("too slow");
      }
    }
  }
}

function listenProblem(error: unknown, options: ServerOptions): string {
  const where = `${options.hostname}:${options.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return `Port ${options.port} is already in use. Try --port ${
      options.port + 1
    }.`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot listen on ${options.hostname}: it is not an address of this machine. Try --host 0.0.0.0.`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `Not allowed to listen on ${where}. Ports below 1024 need administrator rights; try --port 5000.`;
  }
  const message = (error as Error).message ?? String(error);
  if (options.tls && /KeyMismatch|not be consistent/i.test(message)) {
    return "The TLS key does not belong to the certificate: check --tls-cert and --tls-key.";
  }
  if (options.tls && /cert|key|pem/i.test(message)) {
    return `Cannot use the TLS certificate or key: ${message}`;
  }
  return `Cannot listen on ${where}: ${message}`;
}

/** Sends one line to a connection we will not serve, then closes it. */
async function refuse(conn: Deno.Conn, text: string): Promise<void> {
  try {
    await conn.write(new OutgoingLine(text).bytes);
  } catch { /* it is going away anyway */ }
  try {
    conn.close();
  } catch { /* already closed */ }
}

/**
 * Counts the connections that are behind: holds reading once a quarter of
 * them are, until none is.
 */
class FlowControl {
  #behind = 0;
  #resume: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #connectionCount: () => number;

  constructor(connectionCount: () => number) {
    this.#connectionCount = connectionCount;
  }

  /** While reading is held, a promise that settles when it resumes. */
  ready(): Promise<void> | undefined {
    return this.#resume;
  }

  /** A connection fell behind (+1), or caught up or left (-1). */
  behind(change: 1 | -1): void {
    this.#behind += change;
    const count = this.#connectionCount();
    if (!this.#resume && this.#behind >= 2 && this.#behind * 4 >= count) {
      this.#resume = new Promise((resolve) => this.#wake = resolve);
    } else if (this.#resume && this.#behind === 0) {
      // Held until every reader caught up: the slowest one still reading
      // sets the pace, instead of falling further behind each time.
      this.#wake!();
      this.#resume = undefined;
    }
  }
}

/** Bytes `start` to `end` of `buffer`, waiting to be written. */
interface QueuedRun {
  readonly buffer: ArrayBufferLike;
  readonly start: number;
  end: number;
}

function runOf(bytes: Uint8Array): QueuedRun {
  return {
    buffer: bytes.buffer,
    start: bytes.byteOffset,
    end: bytes.byteOffset + bytes.length,
  };
}

/**
 * One client connection: a reader that feeds the room and a writer that
 * drains this connection's own queue. The room only ever enqueues, so a slow
 * reader delays no one but itself; past the queue limit it is dropped.
 */
class Connection implements Peer {
  readonly #conn: Deno.Conn;
  readonly #room: Room;
  readonly #queueLimitBytes: number;
  readonly #maxLineBytes: number;
  readonly #onGone: () => void;
  readonly member: Member;
  readonly connectedAt = performance.now();
  /** When the last bytes arrived from this client. */
  lastHeardAt = this.connectedAt;
  /** True once the client sent `/ping`: it promises to keep doing so. */
  sendsHeartbeats = false;
  /**
   * What waits to be written. A line that follows the last one in memory
   * (lines broadcast one after another, see `LineArena`) only lengthens the
   * last run, so a burst of lines is sent as one view, with no copying.
   */
  #queue: QueuedRun[] = [];
  #queuedBytes = 0;
  /** Bytes handed to the socket whose write has not finished yet. */
  #writingBytes = 0;
  /** Writes finished so far, and sweeps that saw none finish. */
  #writesDone = 0;
  #writesDoneAtSweep = 0;
  #sweepsWithoutProgress = 0;
  /** Counted as behind by the flow control. */
  #behind = false;
  readonly #flow: FlowControl;
  #wakeWriter: (() => void) | undefined;
  #closing = false;
  #gone = false;
  readonly #writerDone: Promise<void>;

  constructor(
    conn: Deno.Conn,
    address: string,
    room: Room,
    queueLimitBytes: number,
    maxLineBytes: number,
    flow: FlowControl,
    onGone: () => void,
  ) {
    this.#conn = conn;
    this.#maxLineBytes = maxLineBytes;
    this.#flow = flow;
    this.#room = room;
    this.#queueLimitBytes = queueLimitBytes;
    this.#onGone = onGone;
    const tcp = conn as Partial<Deno.TcpConn>;
    try {
      // TLS connections lack these; plain TCP ones always have them.
      tcp.setNoDelay?.(true);
      // Lets the system notice a vanished peer (after its own long delay;
      // heartbeats from `chat connect` notice much sooner).
      tcp.setKeepAlive?.(true);
    } catch { /* not fatal */ }
    this.member = room.arrive(this, { address });
    this.#writerDone = this.#writeLoop();
    this.#readLoop();
  }

  send(line: OutgoingLine): void {
    if (this.#closing || this.#gone) return;
    const bytes = line.bytes;
    if (this.#queuedBytes + bytes.length > this.#queueLimitBytes) {
      this.#dropSlowReader();
      return;
    }
    const last = this.#queue[this.#queue.length - 1];
    if (
      last !== undefined && last.buffer === bytes.buffer &&
      last.end === bytes.byteOffset
    ) {
      last.end += bytes.length;
    } else {
      this.#queue.push(runOf(bytes));
    }
    this.#queuedBytes += bytes.length;
    if (!this.#behind) this.#updateBehind();
    this.#wakeWriter?.();
  }

  /** Behind: more than the backlog queued or being written. */
  #updateBehind(): void {
    const behind = !this.#gone &&
      this.#queuedBytes + this.#writingBytes > BACKLOG_BYTES;
    if (behind === this.#behind) return;
    this.#behind = behind;
    this.#flow.behind(behind ? 1 : -1);
  }

  /**
   * Called by each sweep: true once a write has been waiting for the peer to
   * read, with no write finishing, for `stalledMs`.
   */
  writeStalled(sweepMs: number, stalledMs: number): boolean {
    if (
      this.#writingBytes === 0 || this.#writesDone !== this.#writesDoneAtSweep
    ) {
      this.#writesDoneAtSweep = this.#writesDone;
      this.#sweepsWithoutProgress = 0;
      return false;
    }
    return ++this.#sweepsWithoutProgress * sweepMs >= stalledMs;
  }

  /** Writes what is queued, then closes; gives up after a grace period. */
  close(): void {
    if (this.#gone) return;
    const timer = setTimeout(() => this.abort(), SHUTDOWN_GRACE_MS);
    void this.closeGracefully().finally(() => clearTimeout(timer));
  }

  /** Stops taking lines, writes what is queued, then closes. */
  closeGracefully(): Promise<void> {
    this.#closing = true;
    this.#wakeWriter?.();
    return this.#writerDone;
  }

  /**
   * Closes the socket at once, dropping anything queued, and takes the member
   * out of the room with `reason` shown in the notice.
   */
  abort(reason?: string): void {
    if (this.#gone) return;
    this.#gone = true;
    // Leave once the current broadcast has reached everyone, so that every
    // member still sees the same lines in the same order.
    queueMicrotask(() => this.#room.leave(this.member, reason));
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#updateBehind();
    this.#wakeWriter?.();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#onGone();
  }

  /**
   * Past the queue limit: what is queued is dropped and replaced by one line
   * saying why, which reaches the client if its socket ever takes it.
   */
  #dropSlowReader(): void {
    const farewell =
      new OutgoingLine(lines.removed("too slow to keep up")).bytes;
    this.#queue = [runOf(farewell)];
    this.#queuedBytes = farewell.length;
    this.#closing = true;
    queueMicrotask(() => this.#room.leave(this.member, "too slow"));
    this.close();
  }

  async #writeLoop(): Promise<void> {
    while (!this.#gone) {
      if (this.#queue.length === 0) {
        if (this.#closing) break;
        await new Promise<void>((resolve) => this.#wakeWriter = resolve);
        this.#wakeWriter = undefined;
        continue;
      }
      // Everything queued goes out at once: fewer system calls when lines
      // arrive faster than this peer reads. Runs of broadcast lines are
      // views of shared blocks; only small, scattered ones are copied.
      let chunks = this.#queue.map((run) =>
        new Uint8Array(run.buffer, run.start, run.end - run.start)
      );
      if (chunks.length > 1 && this.#queuedBytes < COPY_BELOW_BYTES) {
        chunks = [concatBytes(chunks, this.#queuedBytes)];
      }
      this.#writingBytes = this.#queuedBytes;
      this.#queue = [];
      this.#queuedBytes = 0;
      try {
        for (const chunk of chunks) {
          for (let offset = 0; offset < chunk.length;) {
            const written = await this.#conn.write(chunk.subarray(offset));
            offset += written;
            this.#writingBytes -= written;
            this.#writesDone++;
          }
        }
        this.#writingBytes = 0;
        this.#updateBehind();
      } catch {
        this.abort("connection lost");
        return;
      }
    }
    this.abort();
  }

  async #readLoop(): Promise<void> {
    const splitter = new LineSplitter(this.#maxLineBytes);
    let buffer = new Uint8Array(SMALL_READ_BUFFER_BYTES);
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let sentNewline = false;
    const deliverPartial = () => {
      idleTimer = undefined;
      const partial = splitter.flush();
      if (partial) this.#receive(partial);
    };
    try {
      while (!this.#gone) {
        const saturated = this.#flow.ready();
        if (saturated) await saturated;
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        this.lastHeardAt = performance.now();
        const filled = count === buffer.length;
        clearTimeout(idleTimer);
        for (const event of splitter.push(buffer.subarray(0, count))) {
          if (event.kind === "line") sentNewline = true;
          this.#receive(event);
        }
        // For clients that never end a line (like the course's Python
        // client). One that does is waited for: under load, a pause in the
        // middle of its line must not cut the line in two.
        if (!sentNewline && splitter.pendingBytes > 0) {
          idleTimer = setTimeout(deliverPartial, IDLE_FLUSH_MS);
        }
        if (filled && buffer.length < LARGE_READ_BUFFER_BYTES) {
          buffer = new Uint8Array(LARGE_READ_BUFFER_BYTES);
        }
      }
    } catch {
      // A reset, or a TLS handshake that failed (say, plain text sent to a
      // TLS server).
      clearTimeout(idleTimer);
      return this.abort("connection lost");
    }
    clearTimeout(idleTimer);
    if (this.#gone) return;
    // A client that never sends "\n" still has its last words delivered.
    deliverPartial();
    this.#room.leave(this.member);
    this.close();
  }

  #receive(event: FramedLine): void {
    if (event.kind === "line") {
      const text = decodeLine(event.bytes);
      if (!this.sendsHeartbeats && text.trim().toLowerCase() === "/ping") {
        this.sendsHeartbeats = true;
      }
      this.#room.handleLine(this.member, text);
    } else {
      this.#room.tell(
        this.member,
        lines.error(
          `line too long (over ${event.limitBytes} bytes); it was not sent.`,
        ),
      );
    }
  }
}
