/**
 * Events on their way out: each is rendered and encoded once per kind of
 * client that receives it (plain English, plain French, JSON), never once
 * per recipient, and events said to everyone are encoded side by side in
 * shared blocks so a writer sends a run of them as one view.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import type { Lang } from "./i18n.ts";
import { LineArena } from "./protocol.ts";
import { renderJson } from "./render_json.ts";
import { renderText } from "./render_text.ts";

const encoder = new TextEncoder();

/** One kind of client's form of events: how to render, where to encode. */
export class Rendering {
  /** Plain English or French text, or the structured protocol. */
  readonly kind: Lang | "json";
  /** Slot of this rendering's bytes in each {@linkcode OutgoingEvent}. */
  readonly index: number;
  readonly #render: (event: ServerEvent) => string;
  readonly #arena = new LineArena();

  constructor(kind: Lang | "json", index: number) {
    this.kind = kind;
    this.index = index;
    this.#render = kind === "json"
      ? renderJson
      : (event) => renderText(event, kind);
  }

  /** The event as text, without the final newline. */
  render(event: ServerEvent): string {
    return this.#render(event);
  }

  /**
   * The event's bytes on the wire, with a final `\n`. Events for everyone
   * go into the shared blocks; one member's own do not, so a queue holding
   * a few of them never keeps whole blocks alive.
   */
  encode(event: ServerEvent, shared: boolean): Uint8Array {
    const text = this.#render(event);
    return shared ? this.#arena.encode(text) : encoder.encode(text + "\n");
  }
}

/**
 * The renderings of one server, one of each kind, with their own shared
 * blocks.
 *
 * @example
 * ```ts
 * import { Renderings } from "./outgoing.ts";
 * const renderings = new Renderings();
 * renderings.text("fr").kind; // "fr"
 * renderings.json.kind; // "json"
 * ```
 */
export class Renderings {
  readonly en: Rendering = new Rendering("en", 0);
  readonly fr: Rendering = new Rendering("fr", 1);
  readonly json: Rendering = new Rendering("json", 2);

  /** The plain-text rendering in `lang`. */
  text(lang: Lang): Rendering {
    return lang === "fr" ? this.fr : this.en;
  }
}

/**
 * An event for one or more members, with its bytes cached per rendering.
 *
 * @example
 * ```ts
 * import { OutgoingEvent, Renderings } from "./outgoing.ts";
 * const renderings = new Renderings();
 * const event = new OutgoingEvent(
 *   { type: "joined", name: "bob", seq: 1, time: 0 },
 *   true,
 * );
 * new TextDecoder().decode(event.bytesFor(renderings.en)); // "*** bob joined\n"
 * ```
 */
export class OutgoingEvent {
  #en: Uint8Array | undefined;
  #fr: Uint8Array | undefined;
  #json: Uint8Array | undefined;

  /**
   * @param event what happened
   * @param shared true when said to everyone, false for one member
   */
  constructor(readonly event: ServerEvent, readonly shared: boolean) {}

  /** The bytes for clients of `rendering`, encoded on first use. */
  bytesFor(rendering: Rendering): Uint8Array {
    switch (rendering.index) {
      case 0:
        return this.#en ??= rendering.encode(this.event, this.shared);
      case 1:
        return this.#fr ??= rendering.encode(this.event, this.shared);
      default:
        return this.#json ??= rendering.encode(this.event, this.shared);
    }
  }
}
