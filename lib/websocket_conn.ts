/**
 * A WebSocket (RFC 6455, server side) over a socket chat owns, seen as the
 * byte stream a {@linkcode Connection} reads and writes, so that a browser
 * is one more member of the room through the same code as a TCP client:
 * names, commands, limits, sanitising, flood control, moderation, password,
 * ordering and the structured protocol.
 *
 * One message in (a text frame, or a binary one, with its continuations) is
 * one line: its bytes are handed on as they arrive, line breaks in it turned
 * into spaces, and a line ending after its last frame. So the line reader
 * refuses a message over the line limit exactly as a long line, holding no
 * more of it than the limit. One line out is one text frame.
 *
 * Why not `Deno.upgradeWebSocket`: its socket cannot be closed until the
 * peer answers the close handshake, so a tab that stops reading (or a
 * script that never answers) would keep its socket and what is buffered
 * for it for ever. Here writes wait for the socket like a TCP client's (the
 * usual queue limit and stall rules drop a reader that stops), and
 * {@linkcode WebSocketConn.close} closes the socket whatever the peer does.
 *
 * @module
 */

import type { ChatSocket } from "./chat_socket.ts";

const FIN = 0x80;
const RSV = 0x70;
const MASKED = 0x80;
const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;

/** A closing socket may take this long to send its close frame. */
const CLOSE_FRAME_MS = 250;

/** A frame, or a read, that breaks the protocol. */
class ProtocolError extends Error {
  override name = "ProtocolError";
}

/**
 * A WebSocket after its handshake: reads messages as lines and writes lines
 * as text frames, on `socket` (TCP, or TLS with `TlsServerConn`).
 *
 * @example
 * ```ts
 * import { WebSocketConn } from "./websocket_conn.ts";
 * declare const tcp: Deno.TcpConn; // after the HTTP upgrade
 * const ws = new WebSocketConn(tcp, new Uint8Array());
 * await ws.write(new TextEncoder().encode("hello\n")); // one text frame: "hello"
 * ws.close();
 * ```
 */
export class WebSocketConn implements ChatSocket {
  readonly #socket: ChatSocket;
  /** Bytes read from the socket and not decoded yet. */
  #input: Uint8Array;
  #inputStart = 0;
  #inputEnd: number;
  /** Decoded bytes waiting for {@linkcode read}. */
  #output: Uint8Array[] = [];
  /** Payload bytes left in the current frame. */
  #payloadLeft = 0;
  /** The opcode of the frame being read; -1 between frames. */
  #frameOpcode = -1;
  #frameFin = false;
  #mask = new Uint8Array(4);
  #maskOffset = 0;
  /** A text or binary message whose last frame has not come yet. */
  #inMessage = false;
  /** The payload of the current control frame. */
  #control: Uint8Array | undefined;
  #controlLength = 0;
  #ended = false;
  #closed = false;
  /** Every write to the socket, one after another: frames never mix. */
  #writes: Promise<unknown> = Promise.resolve();

  /**
   * `socket` is past the HTTP upgrade; `leftover` holds bytes the client
   * sent right after its request, already read.
   */
  constructor(socket: ChatSocket, leftover: Uint8Array) {
    this.#socket = socket;
    this.#input = new Uint8Array(Math.max(16 * 1024, leftover.length));
    this.#input.set(leftover);
    this.#inputEnd = leftover.length;
  }

  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay?.(noDelay);
  }

  setKeepAlive(keepAlive = true): void {
    this.#socket.setKeepAlive?.(keepAlive);
  }

  /**
   * The next bytes of lines into `buffer`; null once the peer closed. A
   * frame that breaks the protocol closes the socket and throws.
   */
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#output.length === 0) {
      if (this.#ended || this.#closed) return null;
      if (!this.#decode()) {
        const more = await this.#fill();
        if (!more) {
          this.#ended = true;
          return null;
        }
      }
    }
    let count = 0;
    while (count < buffer.length && this.#output.length > 0) {
      const chunk = this.#output[0];
      const taken = Math.min(chunk.length, buffer.length - count);
      buffer.set(chunk.subarray(0, taken), count);
      count += taken;
      if (taken === chunk.length) this.#output.shift();
      else this.#output[0] = chunk.subarray(taken);
    }
    return count;
  }

  /**
   * Sends each complete line of `bytes` as one text frame; settles once the
   * socket took them all, as a TCP write does.
   */
  write(bytes: Uint8Array): Promise<number> {
    const frames: Uint8Array[] = [];
    let size = 0;
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1;) {
      const frame = frameOf(OPCODE_TEXT, bytes.subarray(start, end));
      frames.push(frame);
      size += frame.length;
      start = end + 1;
      end = bytes.indexOf(NEWLINE, start);
    }
    // The server always writes whole lines; a rest is sent as a frame too.
    if (start < bytes.length) {
      const frame = frameOf(OPCODE_TEXT, bytes.subarray(start));
      frames.push(frame);
      size += frame.length;
    }
    const joined = new Uint8Array(size);
    let offset = 0;
    for (const frame of frames) {
      joined.set(frame, offset);
      offset += frame.length;
    }
    return this.#send(joined).then(() => bytes.length);
  }

  /**
   * Closes the socket: a close frame goes first if the socket takes it at
   * once, but nothing waits for the peer.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const frame = frameOf(OPCODE_CLOSE, new Uint8Array([0x03, 0xe8]));
    let timer: ReturnType<typeof setTimeout> | undefined;
    void Promise.race([
      this.#send(frame).catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, CLOSE_FRAME_MS)),
    ]).finally(() => {
      clearTimeout(timer);
      try {
        this.#socket.close();
      } catch { /* already closed */ }
    });
  }

  /** Writes `bytes` after every earlier write, in full. */
  #send(bytes: Uint8Array): Promise<void> {
    const write = this.#writes.then(async () => {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#socket.write(bytes.subarray(offset));
      }
    });
    this.#writes = write.catch(() => {});
    return write;
  }

  /** Reads more bytes from the socket; false at its end. */
  async #fill(): Promise<boolean> {
    if (this.#inputStart === this.#inputEnd) {
      this.#inputStart = this.#inputEnd = 0;
    } else if (this.#inputEnd === this.#input.length) {
      this.#input.copyWithin(0, this.#inputStart, this.#inputEnd);
      this.#inputEnd -= this.#inputStart;
      this.#inputStart = 0;
    }
    const count = await this.#socket.read(
      this.#input.subarray(this.#inputEnd),
    );
    if (count === null) return false;
    this.#inputEnd += count;
    return true;
  }

  /**
   * Decodes what was read: true when it produced something to read (or
   * ended the stream), false when more bytes are needed.
   */
  #decode(): boolean {
    try {
      while (this.#inputStart < this.#inputEnd) {
        if (this.#payloadLeft === 0 && !this.#readHeader()) return false;
        this.#readPayload();
        if (this.#payloadLeft === 0 && this.#finishFrame()) return true;
        if (this.#output.length > 0) return true;
      }
      return this.#output.length > 0;
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#ended = true;
      this.close();
      throw new Deno.errors.InvalidData(error.message);
    }
  }

  /** Reads a frame header if all of it is there; checks it. */
  #readHeader(): boolean {
    const input = this.#input;
    const start = this.#inputStart;
    const available = this.#inputEnd - start;
    if (available < 2) return false;
    const first = input[start];
    const second = input[start + 1];
    let length = second & 0x7f;
    let headerLength = 2;
    if (length === 126) headerLength = 4;
    else if (length === 127) headerLength = 10;
    headerLength += 4; // the mask
    if (available < headerLength) return false;
    if (length === 126) {
      length = (input[start + 2] << 8) | input[start + 3];
    } else if (length === 127) {
      const view = new DataView(input.buffer, input.byteOffset + start + 2, 8);
      const big = view.getBigUint64(0);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new ProtocolError("frame too long");
      }
      length = Number(big);
    }
    const opcode = first & 0x0f;
    const fin = (first & FIN) !== 0;
    if ((first & RSV) !== 0) throw new ProtocolError("reserved bits set");
    if ((second & MASKED) === 0) throw new ProtocolError("frame not masked");
    if (opcode >= OPCODE_CLOSE) {
      if (!fin || length > 125) throw new ProtocolError("bad control frame");
      if (
        opcode !== OPCODE_CLOSE && opcode !== OPCODE_PING &&
        opcode !== OPCODE_PONG
      ) throw new ProtocolError("unknown opcode");
      this.#control = new Uint8Array(length);
      this.#controlLength = 0;
    } else if (opcode === OPCODE_CONTINUATION) {
      if (!this.#inMessage) throw new ProtocolError("continuation alone");
    } else if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
      if (this.#inMessage) throw new ProtocolError("message in a message");
      this.#inMessage = true;
    } else {
      throw new ProtocolError("unknown opcode");
    }
    this.#mask.set(
      input.subarray(start + headerLength - 4, start + headerLength),
    );
    this.#maskOffset = 0;
    this.#frameOpcode = opcode;
    this.#frameFin = fin;
    this.#payloadLeft = length;
    this.#inputStart += headerLength;
    return true;
  }

  /** Unmasks the payload bytes at hand, for the reader or the control. */
  #readPayload(): void {
    const count = Math.min(
      this.#payloadLeft,
      this.#inputEnd - this.#inputStart,
    );
    if (count === 0) return;
    const bytes = this.#input.slice(this.#inputStart, this.#inputStart + count);
    this.#inputStart += count;
    this.#payloadLeft -= count;
    const mask = this.#mask;
    let offset = this.#maskOffset;
    for (let i = 0; i < count; i++) {
      bytes[i] ^= mask[offset];
      offset = (offset + 1) & 3;
    }
    this.#maskOffset = offset;
    if (this.#frameOpcode >= OPCODE_CLOSE) {
      this.#control!.set(bytes, this.#controlLength);
      this.#controlLength += count;
      return;
    }
    // One message is one line: its line breaks are spaces.
    for (let i = 0; i < count; i++) {
      if (bytes[i] === NEWLINE || bytes[i] === CARRIAGE_RETURN) {
        bytes[i] = SPACE;
      }
    }
    this.#output.push(bytes);
  }

  /**
   * A frame is complete: ends the message's line, answers a ping, or ends
   * the stream on a close. True when the reader has something new.
   */
  #finishFrame(): boolean {
    const opcode = this.#frameOpcode;
    this.#frameOpcode = -1;
    if (opcode === -1) return false;
    if (opcode < OPCODE_CLOSE) {
      if (!this.#frameFin) return false;
      this.#inMessage = false;
      this.#output.push(new Uint8Array([NEWLINE]));
      return true;
    }
    const payload = this.#control!;
    this.#control = undefined;
    if (opcode === OPCODE_PING) {
      void this.#send(frameOf(OPCODE_PONG, payload)).catch(() => {});
      return false;
    }
    if (opcode === OPCODE_CLOSE) {
      this.#ended = true;
      this.close();
      return true;
    }
    return false; // a pong
  }
}

/** One unmasked server frame with `payload`. */
function frameOf(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + length);
  frame[0] = FIN | opcode;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(length));
  }
  frame.set(payload, header);
  return frame;
}
