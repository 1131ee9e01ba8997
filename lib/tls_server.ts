/**
 * The server side of TLS for `chat serve --tls`, over a plain TCP socket
 * that chat owns, so that a connection can always be closed, however far
 * its handshake got.
 *
 * Why not `Deno.listenTls`: in Deno 2.9.6, closing a `Deno.TlsConn` whose
 * handshake has not finished fails its pending reads and writes but leaves
 * the socket open until the handshake ends, which for a peer that sends
 * nothing is never (the TLS library keeps the socket for a background
 * handshake task, and nothing cancels it). Here the TLS layer is Node's
 * `TLSSocket` (`node:tls`) running over a stream that reads and writes the
 * `Deno.TcpConn`: closing that closes the socket at once.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import tls from "node:tls";

/** How long a closing TLS connection may take to send what is queued. */
const CLOSE_GRACE_MS = 1000;

/** Decrypted bytes held for the reader before the socket stops reading. */
const READ_AHEAD_BYTES = 64 * 1024;

/** The certificate and key, ready to serve connections. */
export function serverContext(
  cert: string,
  key: string,
): tls.SecureContext {
  return tls.createSecureContext({ cert, key });
}

/**
 * A stream of a TCP socket's bytes, for `TLSSocket` to encrypt over.
 * `onGone` is called once it closes, for whatever reason (a reset too).
 */
function streamOf(tcp: Deno.TcpConn, onGone: () => void): Duplex {
  let reading = false;
  const buffer = new Uint8Array(16 * 1024);
  const closeTcp = () => {
    try {
      tcp.close();
    } catch { /* already closed */ }
  };
  const stream: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      tcp.read(buffer).then((count) => {
        reading = false;
        if (count === null) stream.push(null);
        else if (stream.push(Buffer.from(buffer.subarray(0, count)))) {
          stream.read(0);
        }
      }, (error) => stream.destroy(error));
    },
    write(chunk: Uint8Array, _encoding, done) {
      (async () => {
        for (let offset = 0; offset < chunk.length;) {
          offset += await tcp.write(chunk.subarray(offset));
        }
      })().then(() => done(), (error) => done(error));
    },
    final(done) {
      try {
        tcp.closeWrite();
      } catch { /* closed */ }
      done();
    },
    destroy(error, done) {
      closeTcp();
      done(error);
    },
  });
  // A reset reaches the TLS socket as the stream's end: not an exception.
  stream.on("error", () => {/* closed below */});
  stream.once("close", onGone);
  return stream;
}

/**
 * One TLS connection accepted by `chat serve --tls`: reads and writes like
 * a `Deno.Conn` (the part of it the server uses), and its TCP socket is
 * closed by {@linkcode TlsServerConn.close} or by the handshake deadline,
 * whatever state the handshake is in.
 */
export class TlsServerConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly #tcp: Deno.TcpConn;
  readonly #socket: tls.TLSSocket;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wakeReader: (() => void) | undefined;
  #drained: (() => void) | undefined;
  #secure = false;
  #closing = false;

  /**
   * Starts the handshake on `tcp`. Unless it finishes within `handshakeMs`
   * (0: no limit), the socket is closed.
   */
  constructor(
    tcp: Deno.TcpConn,
    context: tls.SecureContext,
    handshakeMs: number,
  ) {
    this.#tcp = tcp;
    this.remoteAddr = tcp.remoteAddr;
    this.localAddr = tcp.localAddr;
    const socket = new tls.TLSSocket(streamOf(tcp, () => this.destroy()), {
      isServer: true,
      secureContext: context,
    });
    this.#socket = socket;
    socket.once("secure", () => {
      this.#secure = true;
      clearTimeout(this.#timer);
    });
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > READ_AHEAD_BYTES) socket.pause();
      this.#wake();
    });
    socket.on("drain", () => {
      const drained = this.#drained;
      this.#drained = undefined;
      drained?.();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.destroy();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.destroy();
    });
    this.#timer = handshakeMs > 0
      ? setTimeout(() => {
        if (!this.#secure) this.destroy();
      }, handshakeMs)
      : undefined;
  }

  /** True once the handshake finished. */
  get secure(): boolean {
    return this.#secure;
  }

  setNoDelay(noDelay = true): void {
    this.#tcp.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive = true): void {
    this.#tcp.setKeepAlive(keepAlive);
  }

  /** Decrypted bytes into `buffer`; null at the end of the stream. */
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended || this.#closing) return null;
      if (this.#error) {
        throw new Deno.errors.ConnectionReset(this.#error.message);
      }
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
    let count = 0;
    while (count < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const taken = Math.min(chunk.length, buffer.length - count);
      buffer.set(chunk.subarray(0, taken), count);
      count += taken;
      if (taken === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(taken);
    }
    this.#buffered -= count;
    if (this.#buffered <= READ_AHEAD_BYTES && !this.#ended) {
      this.#socket.resume();
    }
    return count;
  }

  /**
   * Encrypts and sends `bytes` (copied); settles at once unless the bytes
   * waiting to go out reach the socket's high-water mark, then once they
   * drain. Before the handshake ends, they wait for it.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closing || this.#ended || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("closed"));
    }
    if (this.#socket.write(Buffer.from(bytes))) {
      return Promise.resolve(bytes.length);
    }
    return new Promise((resolve, reject) => {
      this.#drained = () =>
        this.#socket.destroyed
          ? reject(new Deno.errors.BrokenPipe("closed"))
          : resolve(bytes.length);
    });
  }

  /**
   * Sends what is queued (once the handshake is done) and closes; the
   * socket is closed within a second whatever the peer does.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#wake();
    if (!this.#secure && this.#socket.writableLength === 0) {
      return this.destroy();
    }
    this.#socket.end();
    setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
  }

  /** Closes the TCP socket now. */
  destroy(): void {
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#wake();
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
    if (!this.#socket.destroyed) this.#socket.destroy();
    try {
      this.#tcp.close();
    } catch { /* already closed */ }
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }
}
