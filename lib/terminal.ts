/**
 * What a person sees and types: the chat lines in colour above an editable
 * input line when attached to a terminal, or plain lines in and out when
 * attached to pipes (which makes both commands scriptable).
 *
 * @module
 */

import * as readline from "node:readline";
import process from "node:process";
import { eventText } from "./client_events.ts";
import { sanitizeText } from "./protocol.ts";
import type { ServerEvent } from "./events.ts";
import type { Lang } from "./i18n.ts";

const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";
const RED = "\x1b[31m";
const MAGENTA = "\x1b[35m";
// Name colours; red is kept for errors and magenta for private messages.
const NAME_COLORS = [32, 33, 34, 36, 92, 93, 94, 96].map((code) =>
  `\x1b[${code}m`
);

/**
 * A stable colour for a name: the same name always gets the same colour,
 * whoever's screen it is on.
 *
 * @example
 * ```ts
 * import { nameColor } from "./terminal.ts";
 * nameColor("alice") === nameColor("ALICE"); // true
 * ```
 */
export function nameColor(name: string): string {
  let hash = 2166136261;
  for (const char of name.toLowerCase()) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  }
  return NAME_COLORS[hash % NAME_COLORS.length];
}

/**
 * An event as a person reads it in a terminal, in their language: the line
 * a plain-text client in that language gets, with anything that could
 * control the terminal removed and, when `color` is on, names in their
 * colours (your own in bold), notices dimmed, errors in red and private
 * messages in magenta. Notices and errors with a code this program does not
 * know (a newer server) show the server's own text.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./terminal.ts";
 * formatEvent(
 *   { type: "message", from: "bob", text: "hi", seq: 1, time: 0 },
 *   { lang: "en", ownName: "alice", color: false },
 * ); // "bob: hi"
 * formatEvent(
 *   { type: "joined", name: "bob", seq: 2, time: 0 },
 *   { lang: "fr", ownName: "alice", color: false },
 * ); // "*** bob a rejoint le salon"
 * ```
 */
export function formatEvent(
  event: ServerEvent,
  options: { lang: Lang; ownName: string; color: boolean },
): string {
  // Everything from the server is cleaned before it reaches the screen:
  // the rendered line (each line of /help), and the parts coloured below.
  const rendered = eventText(event, options.lang);
  const plain = rendered.includes("\n")
    ? rendered.split("\n").map(sanitizeText).join("\n")
    : sanitizeText(rendered);
  if (!options.color) return plain;
  const isOwn = (name: string) =>
    name.toLowerCase() === options.ownName.toLowerCase();
  const style = (name: string) => (isOwn(name) ? BOLD : "") + nameColor(name);
  switch (event.type) {
    case "message":
    case "action": {
      // `from: text` or `* from text`: the name is where the line starts.
      const from = sanitizeText(event.from);
      const start = event.type === "action" ? 2 : 0;
      return plain.slice(0, start) + style(from) + from + RESET +
        plain.slice(start + from.length);
    }
    case "private": {
      const head = plain.length - sanitizeText(event.text).length;
      return MAGENTA + plain.slice(0, head) + RESET + plain.slice(head);
    }
    case "error":
    case "disconnected":
      return RED + plain + RESET;
    default:
      return plain.split("\n").map((line) => DIM + line + RESET).join("\n");
  }
}

/** What the program does with the person's input. */
export interface ConsoleHandlers {
  /** A line the person typed. Input waits until the promise settles. */
  onLine(line: string): void | Promise<void>;
  /** Input ended: Ctrl-D at a terminal, or the end of piped input. */
  onEnd(): void;
  /**
   * Ctrl-C at a terminal (readline reads it as a key). Without a terminal it
   * arrives as SIGINT, which the caller handles.
   */
  onInterrupt(): void;
  /** The person's current chat name, to show their own lines in bold. */
  ownName(): string;
  /** The language events are shown in. */
  lang: Lang;
}

/** Where received lines are shown. */
export interface LineConsole {
  /** Shows one line of text without disturbing what is being typed. */
  print(line: string): void;
  /** Shows an event, in the console's language. */
  show(event: ServerEvent): void;
  /** Stops reading input. */
  close(): void;
}

/**
 * Opens the console: `node:readline` with history and colours when stdin and
 * stdout are a terminal, otherwise plain lines (printed unchanged).
 */
export function openConsole(handlers: ConsoleHandlers): LineConsole {
  if (Deno.stdin.isTerminal() && Deno.stdout.isTerminal()) {
    return openTerminalConsole(handlers);
  }
  return openPipeConsole(handlers);
}

const encoder = new TextEncoder();

/** Writes all of `text` to stdout, ignoring a closed stdout. */
function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  try {
    for (let offset = 0; offset < bytes.length;) {
      offset += Deno.stdout.writeSync(bytes.subarray(offset));
    }
  } catch { /* nobody is reading our output any more */ }
}

function openPipeConsole(handlers: ConsoleHandlers): LineConsole {
  let closed = false;
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
    .getReader();
  (async () => {
    let pending = "";
    try {
      while (!closed) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += value;
        let newline;
        while (!closed && (newline = pending.indexOf("\n")) !== -1) {
          await handlers.onLine(pending.slice(0, newline).replace(/\r$/, ""));
          pending = pending.slice(newline + 1);
        }
      }
      if (!closed && pending !== "") await handlers.onLine(pending);
    } catch { /* stdin went away: treat as its end */ }
    if (!closed) handlers.onEnd();
  })();
  // Lines printed in one burst (a busy room) go out in one write.
  let unwritten = "";
  const flush = () => {
    const text = unwritten;
    unwritten = "";
    if (text) writeStdout(text);
  };
  const print = (line: string) => {
    if (unwritten === "") queueMicrotask(flush);
    unwritten += line + "\n";
  };
  return {
    print,
    show(event) {
      if (event.type === "proto") return;
      print(
        formatEvent(event, { lang: handlers.lang, ownName: "", color: false }),
      );
    },
    close() {
      flush();
      if (closed) return;
      closed = true;
      reader.cancel().catch(() => {});
    },
  };
}

function openTerminalConsole(handlers: ConsoleHandlers): LineConsole {
  const color = !Deno.noColor;
  const prompt = "> ";
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt,
    historySize: 500,
    terminal: true,
  });
  let closed = false;
  rl.on("line", (line: string) => {
    // Erase the line as typed: the server's copy of it comes back in place,
    // which also shows that it was delivered.
    const columns = process.stdout.columns || 80;
    const rows = Math.max(
      1,
      Math.ceil((prompt.length + line.length) / columns),
    );
    process.stdout.write("\x1b[1A\x1b[2K".repeat(rows) + "\r");
    if (!closed) rl.prompt();
    void handlers.onLine(line);
  });
  rl.on("SIGINT", () => handlers.onInterrupt());
  rl.on("close", () => {
    if (!closed) {
      closed = true;
      handlers.onEnd();
    }
  });
  rl.prompt();
  const print = (text: string) => {
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    process.stdout.write(text + "\n");
    if (!closed) rl.prompt(true);
  };
  return {
    print,
    show(event) {
      if (event.type === "proto") return;
      print(
        formatEvent(event, {
          lang: handlers.lang,
          ownName: handlers.ownName(),
          color,
        }),
      );
    },
    close() {
      if (closed) return;
      closed = true;
      rl.close();
      process.stdout.write("\n");
    },
  };
}

/**
 * Asks for a secret at the terminal without echoing it. Resolves with what
 * was typed, or `undefined` when there is no terminal to ask at or the
 * person pressed Ctrl-C or Ctrl-D.
 *
 * @example
 * ```ts
 * import { readSecret } from "./terminal.ts";
 * const password = await readSecret("Room password: ");
 * ```
 */
export async function readSecret(prompt: string): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const typed: number[] = [];
  const buffer = new Uint8Array(256);
  try {
    while (true) {
      const count = await Deno.stdin.read(buffer);
      if (count === null) return undefined;
      for (const byte of buffer.subarray(0, count)) {
        if (byte === 0x0d || byte === 0x0a) {
          return new TextDecoder().decode(new Uint8Array(typed));
        }
        if (byte === 0x03 || byte === 0x04) return undefined; // Ctrl-C, Ctrl-D
        if (byte === 0x7f || byte === 0x08) {
          // Backspace removes a whole UTF-8 character.
          while (typed.length > 0 && (typed.pop()! & 0xc0) === 0x80);
        } else if (byte === 0x15) {
          typed.length = 0; // Ctrl-U
        } else if (byte >= 0x20) {
          typed.push(byte);
        }
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}
