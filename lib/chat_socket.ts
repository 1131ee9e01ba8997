/**
 * What a {@linkcode Connection} needs from its socket: a TCP or TLS
 * connection, or a browser's WebSocket (`websocket_conn.ts`).
 *
 * @module
 */

/**
 * The part of a `Deno.Conn` the server reads, writes and closes; a
 * `Deno.TcpConn` is one as it is.
 *
 * @example
 * ```ts
 * import type { ChatSocket } from "./chat_socket.ts";
 * const conn: ChatSocket = await Deno.connect({ hostname: "127.0.0.1", port: 5000 });
 * await conn.write(new TextEncoder().encode("hi\n"));
 * conn.close();
 * ```
 */
export interface ChatSocket {
  /** Bytes into `buffer`; null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; resolves with how many. */
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  /** TCP only: sends small writes at once. */
  setNoDelay?(noDelay?: boolean): void;
  /** TCP only: lets the system notice a vanished peer. */
  setKeepAlive?(keepAlive?: boolean): void;
}
