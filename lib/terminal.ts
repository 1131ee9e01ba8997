/**
 * What a person sees and types: the chat lines in colour above an editable
 * input line when attached to a terminal, or plain lines in and out when
 * attached to pipes (which makes both commands scriptable).
 *
 * @module
 */

import { eventText } from "./client_events.ts";
import { nameKey, sanitizeText, utf8Length } from "./protocol.ts";
import type { ServerEvent } from "./events.ts";
import { type Lang, t } from "./i18n.ts";
import { LineEditor, type ScreenSize } from "./line_editor.ts";
import { charWidth } from "./display_width.ts";

const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";
const RED = "\x1b[31m";
const MAGENTA = "\x1b[35m";
const REVERSE = "\x1b[7m";
const BELL = "\x07";
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
 * know (a newer server) show the server's own text. An earlier line the
 * room replays (`history`) is dimmed whole; a line that mentions the person
 * (`mention`, see `mentions.ts`) is shown in reverse video.
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
  options: {
    lang: Lang;
    ownName: string;
    color: boolean;
    mention?: boolean;
    /** Issue 12: a code block framed, with line numbers (at a terminal). */
    framed?: boolean;
  },
): string {
  if (event.type === "block" && options.framed) {
    return framedBlock(event, options);
  }
  // Everything from the server is cleaned before it reaches the screen:
  // the rendered line (each line of /help), and the parts coloured below.
  const rendered = eventText(event, options.lang);
  const plain = rendered.includes("\n")
    ? rendered.split("\n").map(sanitizeText).join("\n")
    : sanitizeText(rendered);
  if (!options.color) return plain;
  if (options.mention) return REVERSE + plain + RESET;
  if (event.history) return DIM + plain + RESET;
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

/**
 * Issue 12: a code block as a terminal shows it: a frame on the left, the
 * sender and language on top, each line numbered, tabs as spaces (every 4
 * columns) so the indentation stays lined up after the numbers.
 *
 * @example
 * ```ts
 * import { framedBlock } from "./terminal.ts";
 * framedBlock(
 *   { type: "block", from: "bob", text: "if x:\n\ty()", lang: "py", seq: 1, time: 0 },
 *   { lang: "en", ownName: "alice", color: false },
 * );
 * // "╭── bob ```py (2 lines)\n│ 1  if x:\n│ 2      y()\n╰──"
 * ```
 */
export function framedBlock(
  event: Extract<ServerEvent, { type: "block" }>,
  options: { lang: Lang; ownName: string; color: boolean },
): string {
  const from = sanitizeText(event.from);
  const lines = event.text.split("\n").map((line) =>
    expandTabs(sanitizeText(line))
  );
  const blockLang = event.lang ? sanitizeText(event.lang) : "";
  const color = options.color;
  const dim = (text: string) => color ? DIM + text + RESET : text;
  const history = color && event.history;
  const styledName = color && !history
    ? (nameKey(from) === nameKey(options.ownName) ? BOLD : "") +
      nameColor(from) + from + RESET
    : from;
  const header = t(
    options.lang,
    lines.length === 1 ? "block.start.one" : "block.start.other",
    { name: "\u0000", lang: blockLang, count: lines.length },
  );
  const [before, after] = header.split("\u0000");
  const width = String(lines.length).length;
  const out = [dim("╭── " + before) + styledName + dim(after)];
  lines.forEach((line, index) => {
    out.push(dim("│ " + String(index + 1).padStart(width) + " ") + " " + line);
  });
  out.push(dim("╰──"));
  const text = out.join("\n");
  return history ? DIM + text.replaceAll(RESET, RESET + DIM) + RESET : text;
}

/** Tabs as spaces up to the next multiple of 4 columns. */
function expandTabs(line: string): string {
  if (!line.includes("\t")) return line;
  let out = "";
  for (const char of line) {
    out += char === "\t" ? " ".repeat(4 - (out.length % 4)) : char;
  }
  return out;
}

/** What the program does with the person's input. */
export interface ConsoleHandlers {
  /**
   * A line the person typed. From a pipe, the next line waits until the
   * promise settles; at a terminal, typing goes on meanwhile. Issue 12: a
   * paste of several lines at a terminal comes as one string of several
   * lines, a code block between its fences (`fencedBlock` in
   * `code_block.ts`); no typed line holds a `\n`.
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
  /**
   * Shows an event, in the console's language; with `mention`, highlighted
   * (at a terminal) and, with `bell` too, with the terminal's bell.
   */
  show(event: ServerEvent, how?: { mention?: boolean; bell?: boolean }): void;
  /**
   * At a terminal, shows `status` in place of the prompt, updated in place
   * rather than scrolling (`undefined`: the usual prompt again). Without a
   * terminal, does nothing: the caller says what matters in lines.
   */
  setStatus(status: string | undefined): void;
  /** True when this console is a terminal (line editor, colours). */
  readonly isTerminal: boolean;
  /**
   * Stops reading input. A half-typed line stays on screen. Lines printed
   * after still show.
   */
  close(): void;
  /**
   * Undefined while the output keeps up; else settles when it does again
   * (see {@linkcode ConsoleOutput.whenWritable}).
   */
  whenWritable(): Promise<void> | undefined;
  /** Settles once everything shown so far is written (or stdout failed). */
  flushed(): Promise<void>;
}

/** How a console's output copes with a stdout nobody reads. */
export interface ConsoleOutputMode {
  /**
   * `"skip"` (the server's console: it must never hold up the room) or
   * `"wait"` (`chat connect`: every line, and the room is read no faster
   * than the output is written). See {@linkcode ConsoleOutputOptions}.
   */
  whenBehind: "skip" | "wait";
}

/**
 * Opens the console: a line editor with history and colours when stdin and
 * stdout are a terminal, otherwise plain lines in and out. Output is
 * written asynchronously (never `writeSync`): an unread stdout holds up
 * neither timers nor sockets; `mode` says what happens to lines meanwhile.
 */
export function openConsole(
  handlers: ConsoleHandlers,
  mode: ConsoleOutputMode = { whenBehind: "wait" },
): LineConsole {
  if (Deno.stdin.isTerminal() && Deno.stdout.isTerminal()) {
    return openTerminalConsole(handlers, mode);
  }
  return openPipeConsole(handlers, mode);
}

const encoder = new TextEncoder();

/**
 * Console output not yet written, at most (in UTF-8 bytes): beyond it the
 * server's console skips lines and `chat connect` stops reading the room.
 */
export const CONSOLE_BUFFER_BYTES = 256 * 1024;

/** Writes some of `bytes` and says how many, like `Deno.stdout.write`. */
export type ByteWriter = (bytes: Uint8Array) => Promise<number>;

/** How a {@linkcode ConsoleOutput} writes, and what it does when behind. */
export interface ConsoleOutputOptions {
  /**
   * What happens to lines that come while more than `limitBytes` wait to be
   * written (stdout not read: `chat serve | less`, a terminal held, an SSH
   * session asleep). `"skip"`: they are not shown, and once writing
   * catches up one line says how many were skipped; the host's console
   * must never hold up the room. `"wait"`: every line is kept, and
   * {@linkcode ConsoleOutput.whenWritable} tells the reader of the room to
   * wait (`chat connect`, whose script reads everything).
   */
  whenBehind: "skip" | "wait";
  /** The language of the line saying how many lines were skipped. */
  lang: Lang;
  /** Bytes that may wait to be written (default {@linkcode CONSOLE_BUFFER_BYTES}). */
  limitBytes?: number;
  /** Where bytes go (default `Deno.stdout.write`, asynchronous). */
  write?: ByteWriter;
  /**
   * Called before each write for more to write after what is queued: the
   * line editor's redraw, which must never be skipped or split.
   */
  refresh?: () => string;
  /** Shows the skipped-lines line (default: queued like any line). */
  showSkipped?: (line: string) => void;
}

/**
 * The console's output: lines written to stdout asynchronously, one write
 * at a time, through a bounded buffer, so that an unread stdout never
 * blocks the program (a blocked write waits in the background; timers and
 * sockets go on). Each write takes everything queued since the last one,
 * and there is at most one every 10 ms: a busy room's lines go out
 * together.
 *
 * @example
 * ```ts
 * import { ConsoleOutput } from "./terminal.ts";
 * const output = new ConsoleOutput({ whenBehind: "skip", lang: "en" });
 * output.line("bob: hi");
 * await output.flushed();
 * ```
 */
export class ConsoleOutput {
  readonly #skip: boolean;
  readonly #lang: Lang;
  readonly #limit: number;
  readonly #write: ByteWriter;
  readonly #refresh: (() => string) | undefined;
  readonly #showSkipped: (line: string) => void;
  /**
   * Bytes not yet handed to a write, encoded at once into a buffer that is
   * reused: two buffers take turns, one filled while the other is written.
   * (Strings kept until the next write outlived V8's young generation:
   * 20 MiB more peak memory in a saturated room.)
   */
  #buffer: Uint8Array = new Uint8Array(4096);
  #length = 0;
  #spare: Uint8Array | undefined;
  /** Bytes admitted but held elsewhere until `refresh` (the line editor). */
  #held = 0;
  /** Bytes of the write in progress. */
  #writingBytes = 0;
  #writing = false;
  #scheduled = false;
  /** Stdout failed (nobody reads it any more): nothing more is written. */
  #failed = false;
  /** Lines are being skipped until the output catches up. */
  #skipping = false;
  #skipped = 0;
  /** Least time between the starts of two writes. */
  readonly #intervalMs: number;
  #lastWriteAt = -Infinity;
  /** Called whenever a write ends or the output goes idle. */
  #waiters: (() => void)[] = [];

  constructor(options: ConsoleOutputOptions) {
    this.#skip = options.whenBehind === "skip";
    this.#lang = options.lang;
    this.#limit = options.limitBytes ?? CONSOLE_BUFFER_BYTES;
    // Asynchronous: if nobody reads, the write waits on another thread and
    // the program goes on, where `writeSync` would stop it. (Whether stdout
    // is a file, which never keeps a write waiting, cannot be known without
    // --allow-all.)
    this.#write = options.write ?? ((bytes) => Deno.stdout.write(bytes));
    this.#intervalMs = options.write ? 0 : WRITE_INTERVAL_MS;
    this.#refresh = options.refresh;
    this.#showSkipped = options.showSkipped ??
      ((line) => this.raw(line + "\n"));
  }

  /**
   * For lines held elsewhere until `refresh` draws them (the line
   * editor's): whether `text` (one line, or several separated by `\n`) may
   * be shown; false when the output is too far behind and lines are
   * skipped (they are counted, and reported once the output catches up),
   * or stdout has failed. {@linkcode line} does this itself.
   */
  admit(text: string): boolean {
    if (this.#failed) return false;
    const bytes = utf8Length(text) + 1;
    if (this.#skip && (this.#skipping || !this.#fits(bytes))) {
      this.#skipLines(text);
      return false;
    }
    this.#held += bytes;
    return true;
  }

  /** Writes a line (or several separated by `\n`), unless it is skipped. */
  line(text: string): void {
    if (this.#failed) return;
    if (this.#skip && this.#skipping) return this.#skipLines(text);
    const start = this.#length;
    this.#append(text);
    this.#append("\n");
    if (this.#skip && !this.#fits(0)) {
      this.#length = start;
      return this.#skipLines(text);
    }
    this.#schedule();
  }

  /**
   * Writes `text` as it is, never skipped: what leaves a terminal in a
   * known state, and the last words of a program.
   */
  raw(text: string): void {
    if (this.#failed || text === "") return;
    this.#append(text);
    this.#schedule();
  }

  /** Something changed for `refresh` to draw: a write is due. */
  update(): void {
    this.#schedule();
  }

  /**
   * In `"wait"` mode, undefined while there is room for more, else settles
   * when there is (or stdout failed): the caller reads no more of the room
   * meanwhile. Always undefined in `"skip"` mode.
   */
  whenWritable(): Promise<void> | undefined {
    if (this.#skip || this.#failed) return undefined;
    if (this.#fits(0)) return undefined;
    return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(
      () => this.whenWritable(),
    );
  }

  /** Settles once everything queued is written, or stdout failed. */
  async flushed(): Promise<void> {
    while (!this.#failed && (this.#writing || this.#scheduled)) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Whether `more` bytes fit with what waits and is being written. */
  #fits(more: number): boolean {
    return this.#length + this.#held + this.#writingBytes + more <=
      this.#limit;
  }

  #skipLines(text: string): void {
    this.#skipping = true;
    this.#skipped += lineCount(text);
  }

  /** Encodes `text` at the end of the buffer, which grows as needed. */
  #append(text: string): void {
    const most = text.length * 3;
    if (this.#length + most > this.#buffer.length) {
      const grown = new Uint8Array(
        Math.max(this.#length + most, this.#buffer.length * 2),
      );
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#length += encoder.encodeInto(
      text,
      this.#buffer.subarray(this.#length),
    ).written;
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing || this.#failed) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      void this.#drain();
    };
    // Lines queued in the same burst go out in one write, and at most one
    // write per interval, what came meanwhile going out together.
    const wait = this.#lastWriteAt + this.#intervalMs - performance.now();
    if (wait > 0) setTimeout(run, wait);
    else queueMicrotask(run);
  }

  /** One write: everything queued, then what `refresh` adds. */
  async #drain(): Promise<void> {
    if (this.#writing || this.#failed) return;
    if (this.#refresh) this.#append(this.#refresh());
    this.#held = 0;
    if (this.#length === 0) {
      this.#wake();
      return;
    }
    this.#writing = true;
    this.#lastWriteAt = performance.now();
    const written = this.#buffer;
    const bytes = written.subarray(0, this.#length);
    this.#buffer = this.#spare ?? new Uint8Array(written.length);
    this.#spare = undefined;
    this.#length = 0;
    this.#writingBytes = bytes.length;
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#write(bytes.subarray(offset));
      }
    } catch {
      // Nobody reads our output any more.
      this.#failed = true;
    }
    this.#writingBytes = 0;
    this.#writing = false;
    this.#spare = written;
    // Caught up: say what was skipped, before any newer line.
    if (this.#skipping && this.#length + this.#held <= this.#limit / 4) {
      this.#skipping = false;
      const count = this.#skipped;
      this.#skipped = 0;
      this.#showSkipped(
        t(
          this.#lang,
          count === 1 ? "cli.console-skipped.one" : "cli.console-skipped.other",
          { count },
        ),
      );
    }
    // What came during the write (the editor may have something to draw).
    if (this.#length > 0 || this.#refresh) this.#schedule();
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * At most one write to stdout this often, in ms: each is a trip to another
 * thread (some 30 µs), and a busy room's lines go out together.
 */
const WRITE_INTERVAL_MS = 10;

/** How many lines `text` holds (lines separated by `\n`). */
function lineCount(text: string): number {
  let count = 1;
  for (
    let at = text.indexOf("\n");
    at !== -1;
    at = text.indexOf("\n", at + 1)
  ) {
    count++;
  }
  return count;
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

function openPipeConsole(
  handlers: ConsoleHandlers,
  mode: ConsoleOutputMode,
): LineConsole {
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
  const output = new ConsoleOutput({ ...mode, lang: handlers.lang });
  return {
    print: (text) => output.line(sanitizeLines(text)),
    show(event) {
      if (event.type === "proto") return;
      output.line(
        formatEvent(event, { lang: handlers.lang, ownName: "", color: false }),
      );
    },
    setStatus() {},
    isTerminal: false,
    close() {
      closed = true;
    },
    whenWritable: () => output.whenWritable(),
    flushed: () => output.flushed(),
  };
}

/** The input line's usual prompt. */
const PROMPT = "> ";

/** `text` cut to at most `columns` columns, with "…" when cut. */
function fitWidth(text: string, columns: number): string {
  const most = Math.max(8, columns);
  let width = 0;
  let out = "";
  for (const char of text) {
    const next = charWidth(char.codePointAt(0)!);
    if (width + next > most - 1) return out + "…";
    width += next;
    out += char;
  }
  return out;
}

/** The terminal's size; 80 by 24 when it cannot be known. */
function screenSize(): ScreenSize {
  try {
    return Deno.consoleSize();
  } catch {
    return { columns: 80, rows: 24 };
  }
}

function openTerminalConsole(
  handlers: ConsoleHandlers,
  mode: ConsoleOutputMode,
): LineConsole {
  const color = !Deno.noColor;
  const editor = new LineEditor({ prompt: PROMPT, historySize: 500 });
  let reading = true;
  let closed = false;
  // One write at a time: the editor draws what changed since the last one
  // (lines shown in one burst, a busy room, are drawn in one update), and
  // only once that one is written, so its drawing is never cut or skipped.
  const output: ConsoleOutput = new ConsoleOutput({
    ...mode,
    lang: handlers.lang,
    refresh: () => closed ? "" : editor.render(screenSize()),
    showSkipped: (line) => {
      const shown = color ? DIM + line + RESET : line;
      if (closed) output.raw(shown + "\n");
      else editor.print(shown);
    },
  });
  let raw = false;
  const setRaw = (on: boolean) => {
    if (raw === on) return;
    try {
      Deno.stdin.setRaw(on);
      raw = on;
    } catch { /* not a terminal any more */ }
  };
  const update = () => output.update();
  const onResize = () => update();
  try {
    Deno.addSignalListener("SIGWINCH", onResize);
  } catch { /* no such signal here (Windows) */ }
  // Issue 12: bracketed paste, so that a paste of several lines arrives
  // marked and becomes one code block; turned off when reading stops.
  let bracketedPaste = false;
  const setBracketedPaste = (on: boolean) => {
    if (bracketedPaste === on) return;
    bracketedPaste = on;
    output.raw(on ? "\x1b[?2004h" : "\x1b[?2004l");
  };
  const stopReading = () => {
    reading = false;
    setBracketedPaste(false);
    setRaw(false);
  };

  setRaw(true);
  setBracketedPaste(true);
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
        if (action.type === "block") {
          void handlers.onLine(action.block);
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
      output.line(text);
    } else if (output.admit(text)) {
      editor.print(text);
      update();
    }
  };
  return {
    print: (text) => print(sanitizeLines(text)),
    show(event, how = {}) {
      if (event.type === "proto") return;
      print(
        formatEvent(event, {
          lang: handlers.lang,
          ownName: handlers.ownName(),
          color,
          mention: how.mention,
          framed: true,
        }),
      );
      if (how.mention && how.bell) output.raw(BELL);
    },
    setStatus(status) {
      if (closed) return;
      if (status === undefined) {
        editor.setPrompt(PROMPT);
      } else {
        // One row, whatever the width: the input stays on the same row.
        const shown =
          fitWidth(sanitizeText(status), screenSize().columns - 12) + " " +
          PROMPT;
        editor.setPrompt(shown, color ? DIM + shown + RESET : shown);
      }
      update();
    },
    isTerminal: true,
    close() {
      if (closed) return;
      // After what is being written, leave the terminal ready for what
      // the program prints next.
      output.raw(editor.finish(screenSize()));
      closed = true;
      stopReading();
      try {
        Deno.removeSignalListener("SIGWINCH", onResize);
      } catch { /* never added */ }
    },
    whenWritable: () => output.whenWritable(),
    flushed: () => output.flushed(),
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
