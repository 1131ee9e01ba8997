/**
 * A raw TCP client speaking the structured protocol (`/proto 1`), for the
 * issue 9 server tests (history, resume, transcripts): plain lines before
 * the `proto` event are kept apart, JSON events after it are parsed.
 */

import { TcpClient } from "./harness.ts";

/** One JSON event as received. */
export type JsonEvent = Record<string, unknown> & { type: string };

/** A raw TCP client that switched to JSON Lines. */
export class JsonPeer implements AsyncDisposable {
  /** Index in `tcp.lines` of the `proto` event. */
  protoIndex = -1;

  private constructor(readonly tcp: TcpClient) {}

  /**
   * Connects, and sends `/proto 1` followed by `more` (each a line; objects
   * are sent as JSON) in one write; returns once `proto` arrived.
   */
  static async open(
    port: number,
    more: (string | Record<string, unknown>)[] = [],
  ): Promise<JsonPeer> {
    const tcp = await TcpClient.connect(port);
    const peer = new JsonPeer(tcp);
    try {
      const lines = ["/proto 1", ...more].map((line) =>
        typeof line === "string" ? line : JSON.stringify(line)
      );
      await tcp.send(lines.join("\n"));
      peer.protoIndex = await tcp.received.waitForIndex((line) =>
        line.startsWith('{"type":"proto"')
      );
      return peer;
    } catch (error) {
      await tcp[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The `proto` event. */
  get proto(): JsonEvent {
    return JSON.parse(this.tcp.lines[this.protoIndex]);
  }

  /** Plain lines received before the `proto` event. */
  get plainBefore(): string[] {
    return this.tcp.lines.slice(0, this.protoIndex);
  }

  /** Every event from `proto` on (index 0 is `proto`). */
  get events(): JsonEvent[] {
    return this.tcp.lines.slice(this.protoIndex).map((line) =>
      JSON.parse(line)
    );
  }

  /** Where the next event will be, for {@linkcode waitFor}'s `from`. */
  mark(): number {
    return this.tcp.lines.length - this.protoIndex;
  }

  /** Sends a line, or an object as one JSON line. */
  async send(line: string | Record<string, unknown>): Promise<void> {
    await this.tcp.send(
      typeof line === "string" ? line : JSON.stringify(line),
    );
  }

  /** Waits for an event (index from `proto` = 0) matching; returns its index. */
  async waitForIndex(
    match: (event: JsonEvent) => boolean,
    from = 0,
  ): Promise<number> {
    const index = await this.tcp.received.waitForIndex(
      (line) => match(JSON.parse(line)),
      { from: this.protoIndex + from },
    );
    return index - this.protoIndex;
  }

  /** Waits for an event matching; returns it. */
  async waitFor(
    match: (event: JsonEvent) => boolean,
    from = 0,
  ): Promise<JsonEvent> {
    const index = await this.waitForIndex(match, from);
    return this.events[index];
  }

  close(): void {
    this.tcp.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tcp[Symbol.asyncDispose]();
  }
}
