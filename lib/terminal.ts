/**
 * What a person sees and types: the chat lines in colour above an editable
 * input line when attached to a terminal, or plain lines in and out when
 * attached to pipes (which makes both commands scriptable).
 *
 * @module
 */

import { eventText } from "./client_events.ts";
import { nameKey, sanitizeText } from "./protocol.ts";
import type { ServerEvent } from "./events.ts";
import type { Lang } from "./i18n.ts";
import { LineEditor, type ScreenSize } from "./line_editor.ts";

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
 * nameColor("Élodie") === nameColor("elodie"); // true: the same name
 * ```
 */
export function nameColor(name: string): string {
  let hash = 2166136261;
  for (const char of nameKey(name)) {
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
  const isOwn = (name: string) => nameKey(name) === nameKey(options.ownName);
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
  /**
   * A line the person typed. From a pipe, the next line waits until the
   * promise settles; at a terminal, typing goes on meanwhile.
   */
  onLine(line: string): void | Promise<void>;
  /** Input ended: Ctrl-D at a terminal, or the end of piped input. */
  onEnd(): void;
  /**
   * Ctrl-C at a terminal (read as a key: the input line is cleared first).
   * Without a terminal it arrives as SIGINT, which the caller handles.
   */
  onInterrupt(): void;
  /** The person's current chat name, to show their own lines in bold. */
  ownName(): string;
  /** The language events are shown in. */
  lang: Lang;
}

/** Where received lines are shown. */
export interface LineConsole {
  /**
   * Shows text (one line, or several separated by `\n`) above what is
   * being typed, without disturbing it. Anything in it that could control
   * the terminal is removed.
   */
  print(text: string): void;
  /** Shows an event, in the console's language. */
  show(event: ServerEvent): void;
  /** Stops reading input. A half-typed line stays on screen. */
  close(): void;
}

/**
 * Opens the console: a line editor with history and colours when stdin and
 * stdout are a terminal, otherwise plain lines in and out.
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

/** Every line of `text` cleaned with `sanitizeText`. */
function sanitizeLines(text: string): string {
  return text.includes("\n")
    ? text.split("\n").map(sanitizeText).join("\n")
    : sanitizeText(text);
}

// Bytes read from stdin that the reader did not use: what was typed after
// Enter at a password prompt goes to the next prompt or the line editor.
let unreadInput: Uint8Array | undefined;

/** The next bytes of stdin (unread ones first), or `null` at its end. */
async function readInput(): Promise<Uint8Array | null> {
  if (unreadInput) {
    const bytes = unreadInput;
    unreadInput = undefined;
    return bytes;
  }
  const buffer = new Uint8Array(16 * 1024);
  const count = await Deno.stdin.read(buffer);
  return count === null ? null : buffer.subarray(0, count);
}

function openPipeConsole(handlers: ConsoleHandlers): LineConsole {
  let closed = false;
  (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      while (!closed) {
        const bytes = await readInput();
        if (bytes === null) break;
        pending += decoder.decode(bytes, { stream: true });
        let newline;
        while (!closed && (newline = pending.indexOf("\n")) !== -1) {
          await handlers.onLine(pending.slice(0, newline).replace(/\r$/, ""));
          pending = pending.slice(newline + 1);
        }
      }
      pending += decoder.decode();
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
  const write = (text: string) => {
    if (unwritten === "") queueMicrotask(flush);
    unwritten += text + "\n";
  };
  return {
    print: (text) => write(sanitizeLines(text)),
    show(event) {
      if (event.type === "proto") return;
      write(
        formatEvent(event, { lang: handlers.lang, ownName: "", color: false }),
      );
    },
    close() {
      flush();
      closed = true;
    },
  };
}

/** The terminal's size; 80 by 24 when it cannot be known. */
function screenSize(): ScreenSize {
  try {
    return Deno.consoleSize();
  } catch {
    return { columns: 80, rows: 24 };
  }
}

function openTerminalConsole(handlers: ConsoleHandlers): LineConsole {
  const color = !Deno.noColor;
  const editor = new LineEditor({ prompt: "> ", historySize: 500 });
  let reading = true;
  let closed = false;
  let raw = false;
  const setRaw = (on: boolean) => {
    if (raw === on) return;
    try {
      Deno.stdin.setRaw(on);
      raw = on;
    } catch { /* not a terminal any more */ }
  };
  const update = () => {
    const out = editor.render(screenSize());
    if (out) writeStdout(out);
  };
  // Lines shown in one burst (a busy room) are drawn in one update.
  let updateQueued = false;
  const queueUpdate = () => {
    if (updateQueued) return;
    updateQueued = true;
    queueMicrotask(() => {
      updateQueued = false;
      if (!closed) update();
    });
  };
  const onResize = () => queueUpdate();
  try {
    Deno.addSignalListener("SIGWINCH", onResize);
  } catch { /* no such signal here (Windows) */ }
  const stopReading = () => {
    reading = false;
    setRaw(false);
  };

  setRaw(true);
  update();
  (async () => {
    const decoder = new TextDecoder();
    while (reading) {
      let bytes: Uint8Array | null;
      try {
        bytes = await readInput();
      } catch {
        bytes = null;
      }
      if (!reading) break;
      if (bytes === null) {
        editor.stop();
        update();
        stopReading();
        handlers.onEnd();
        break;
      }
      const actions = editor.feed(decoder.decode(bytes, { stream: true }));
      for (const action of actions) {
        if (action.type === "line") {
          void handlers.onLine(action.line);
          continue;
        }
        // The input line leaves the screen before anything else is said.
        update();
        if (action.type === "interrupt") {
          handlers.onInterrupt();
        } else {
          stopReading();
          handlers.onEnd();
        }
      }
      if (!closed) update();
    }
  })();

  const print = (text: string) => {
    if (closed) {
      writeStdout(text + "\n");
      return;
    }
    editor.print(text);
    queueUpdate();
  };
  return {
    print: (text) => print(sanitizeLines(text)),
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
      const out = editor.finish(screenSize());
      if (out) writeStdout(out);
      stopReading();
      try {
        Deno.removeSignalListener("SIGWINCH", onResize);
      } catch { /* never added */ }
    },
  };
}

/**
 * Asks for a secret at the terminal without echoing it. Resolves with what
 * was typed, or `undefined` when there is no terminal to ask at or the
 * person pressed Ctrl-C or Ctrl-D. What was typed after Enter in the same
 * read (two passwords pasted at once, or a first chat line) is kept for the
 * next prompt or the console. Arrow and other special keys are ignored.
 *
 * @example
 * ```ts
 * import { readSecret } from "./terminal.ts";
 * const password = await readSecret("Room password: ");
 * ```
 */
export async function readSecret(prompt: string): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const typed: number[] = [];
  // Inside an escape sequence: after ESC, in a CSI (ESC [) or SS3 (ESC O).
  let escape: "" | "esc" | "csi" | "ss3" = "";
  try {
    while (true) {
      const bytes = await readInput();
      if (bytes === null) return undefined;
      for (let i = 0; i < bytes.length; i++) {
        const byte = bytes[i];
        if (escape === "esc") {
          escape = byte === 0x5b ? "csi" : byte === 0x4f ? "ss3" : "";
          if (escape !== "" || (byte >= 0x20 && byte < 0x7f)) continue;
        } else if (escape === "ss3") {
          escape = "";
          continue;
        } else if (escape === "csi") {
          if (byte >= 0x40 && byte <= 0x7e) escape = "";
          if (byte >= 0x20 && byte <= 0x7e) continue;
          escape = "";
        }
        if (byte === 0x0d || byte === 0x0a) {
          let rest = i + 1;
          if (byte === 0x0d && bytes[rest] === 0x0a) rest++;
          if (rest < bytes.length) unreadInput = bytes.slice(rest);
          return new TextDecoder().decode(new Uint8Array(typed));
        }
        if (byte === 0x03 || byte === 0x04) return undefined; // Ctrl-C, Ctrl-D
        if (byte === 0x1b) {
          escape = "esc";
        } else if (byte === 0x7f || byte === 0x08) {
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
