/**
 * The input line at a terminal, and the lines shown above it: keys in,
 * the bytes to write to the terminal out. It does no input or output
 * itself (`terminal.ts` reads the keys and writes the bytes), so it can be
 * tested byte for byte.
 *
 * What it keeps right, whatever the length of the input and the width of
 * its characters (`display_width.ts`): a line shown while someone types
 * always appears above the whole input, which may wrap over several rows;
 * and drawing costs in proportion to what changed: a typed or pasted
 * character at the end of the input is written as it is, and anything else
 * redraws at most one screen of input, once per read of the keyboard, never
 * once per character. An input taller than the screen shows the rows around
 * the cursor, so the latest line shown above stays in view.
 *
 * Keys: Enter sends; Left, Right, Home, End, Ctrl-A, Ctrl-E, Ctrl-B,
 * Ctrl-F, Alt-B, Alt-F, Ctrl-Left and Ctrl-Right move; Backspace, Delete,
 * Ctrl-D (on a line that is not empty), Ctrl-U, Ctrl-K, Ctrl-W and
 * Alt-Backspace delete; Up, Down, Ctrl-P and Ctrl-N browse the history;
 * Ctrl-L clears the screen; Ctrl-C interrupts; Ctrl-D on an empty line ends
 * the input. Other control keys and escape sequences are ignored; a Tab is
 * typed as a space.
 *
 * Bracketed paste (issue 12; the terminal marks a paste with `ESC[200~`
 * and `ESC[201~` once `ESC[?2004h` asked it to): a paste of several lines
 * becomes one code block, given whole (`block`); a paste of one line is
 * typed into the input, its line end dropped.
 *
 * @module
 */

import { charWidth } from "./display_width.ts";
import { blockFromPaste, fencedBlock } from "./code_block.ts";

/** What the keys fed to the editor asked for, in order. */
export type EditorAction =
  | { type: "line"; line: string }
  /**
   * Issue 12: a paste of several lines, as one code block in the form
   * `fencedBlock` gives (the fences around its lines).
   */
  | { type: "block"; block: string }
  | { type: "interrupt" }
  | { type: "end" };

/** The terminal's size, in columns and rows. */
export interface ScreenSize {
  columns: number;
  rows: number;
}

/** Options of a {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /** Shown before the input; plain characters, narrower than the screen. */
  prompt: string;
  /** Lines kept for the up arrow. */
  historySize?: number;
}

// An escape sequence cut by the end of a read waits this long for the rest;
// after that it was the Escape key on its own, and is dropped.
const ESCAPE_WAIT_MS = 50;
// Narrower terminals are drawn as if this wide (a wide character must fit).
const MIN_COLUMNS = 4;
// deno-lint-ignore no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
const SPACE = /\s/;
// Issue 12: the markers of a bracketed paste, and the most of one kept.
const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";
const MAX_PASTE_CHARS = 4 * 1024 * 1024;

/** What the terminal shows of the input, as last drawn. */
interface Shown {
  columns: number;
  maxRows: number;
  /** The input's row drawn first on the screen (0 shows the prompt). */
  top: number;
  /** The terminal cursor's row, counted from the first row drawn. */
  cursorRow: number;
  /** Characters of the input when drawn. */
  count: number;
  /** Where the input ended (the position after its last character). */
  endRow: number;
  endColumn: number;
  cursorAtEnd: boolean;
  /** The widths drawn before the cursor, to find it again after a resize. */
  widthsBeforeCursor: number[];
}

/**
 * An editable input line with history, drawn below the lines shown.
 *
 * @example
 * ```ts
 * import { LineEditor } from "./line_editor.ts";
 * const editor = new LineEditor({ prompt: "> " });
 * const size = { columns: 80, rows: 24 };
 * editor.render(size); // "\r\x1b[J> " the first time: draws the prompt
 * editor.feed("hi"); // []
 * editor.render(size); // "hi": typed at the end, written as it is
 * editor.print("bob: hello");
 * editor.render(size); // "\r\x1b[Jbob: hello\r\n> hi"
 * editor.feed("\r"); // [{ type: "line", line: "hi" }]
 * ```
 */
export class LineEditor {
  #prompt: string;
  #promptWidth: number;
  readonly #historySize: number;
  // The input, one entry per character as drawn (a character and the
  // zero-width marks after it), and the columns of each.
  #chars: string[] = [];
  #widths: number[] = [];
  #cursor = 0;
  #history: string[] = [];
  /** The history entry shown; `#history.length` is the line being typed. */
  #browsing = 0;
  #draft = "";
  /** The start of an escape sequence that the next read completes. */
  #cutSequence = "";
  #cutAt = 0;
  #afterReturn = false;
  #editing = true;
  #printed: string[] = [];
  #clearScreen = false;
  /** The input must be drawn again in full at the next render. */
  #dirty = true;
  #top = 0;
  #shown: Shown | undefined;
  #drawnOnce = false;
  /** Issue 12: the text of a bracketed paste not yet ended, if any. */
  #paste: string | undefined;

  constructor(options: LineEditorOptions) {
    this.#prompt = options.prompt;
    this.#promptWidth = textWidth(options.prompt);
    this.#historySize = options.historySize ?? 500;
  }

  /**
   * Changes the prompt (a status that updates in place, such as "reconnecting
   * in 4 s"): `prompt` is what it shows, in plain characters narrower than
   * the screen; `styled` the same with colour codes around it, written
   * instead. The input is drawn again at the next render.
   */
  setPrompt(prompt: string, styled: string = prompt): void {
    if (styled === this.#prompt) return;
    this.#prompt = styled;
    this.#promptWidth = textWidth(prompt);
    this.#dirty = true;
  }

  /** The input as typed so far. */
  get line(): string {
    return this.#chars.join("");
  }

  /** True until Ctrl-C, Ctrl-D on an empty line, or {@linkcode stop}. */
  get editing(): boolean {
    return this.#editing;
  }

  /**
   * Applies typed keys (decoded text, as read) and says what they asked
   * for. After Ctrl-C or the end of input, the rest of what was read is
   * dropped, and from then on only Ctrl-C is reported.
   */
  feed(input: string, now: number = performance.now()): EditorAction[] {
    const actions: EditorAction[] = [];
    let text = input;
    if (this.#cutSequence) {
      if (now - this.#cutAt <= ESCAPE_WAIT_MS) text = this.#cutSequence + text;
      this.#cutSequence = "";
    }
    if (!this.#editing) {
      if (text.includes("\x03")) actions.push({ type: "interrupt" });
      return actions;
    }
    let index = 0;
    while (index < text.length) {
      if (this.#paste !== undefined) {
        index = this.#pasted(text, index, actions);
        continue;
      }
      if (text.startsWith(PASTE_START, index)) {
        this.#paste = "";
        index += PASTE_START.length;
        continue;
      }
      CONTROL.lastIndex = index;
      const found = CONTROL.exec(text);
      const next = found ? found.index : text.length;
      if (next > index) {
        this.#insert(text.slice(index, next));
        this.#afterReturn = false;
        index = next;
        continue;
      }
      const code = text.charCodeAt(index);
      if (code === 0x1b) {
        const length = this.#escape(text, index);
        if (length === 0) {
          this.#cutSequence = text.slice(index);
          this.#cutAt = now;
          break;
        }
        index += length;
        this.#afterReturn = false;
        continue;
      }
      index++;
      const afterReturn = this.#afterReturn;
      this.#afterReturn = code === 0x0d;
      switch (code) {
        case 0x0a:
        case 0x0d:
          // A newline after a carriage return is the same Enter.
          if (code === 0x0a && afterReturn) break;
          actions.push({ type: "line", line: this.#submit() });
          break;
        case 0x03: // Ctrl-C
          this.stop();
          actions.push({ type: "interrupt" });
          return actions;
        case 0x04: // Ctrl-D
          if (this.#chars.length === 0) {
            this.stop();
            actions.push({ type: "end" });
            return actions;
          }
          this.#delete(this.#cursor, this.#cursor + 1);
          break;
        case 0x01:
          this.#moveTo(0);
          break;
        case 0x05:
          this.#moveTo(this.#chars.length);
          break;
        case 0x02:
          this.#moveTo(this.#cursor - 1);
          break;
        case 0x06:
          this.#moveTo(this.#cursor + 1);
          break;
        case 0x08:
        case 0x7f:
          this.#delete(this.#cursor - 1, this.#cursor);
          break;
        case 0x09:
          this.#insert(" ");
          break;
        case 0x0b: // Ctrl-K
          this.#delete(this.#cursor, this.#chars.length);
          break;
        case 0x15: // Ctrl-U
          this.#delete(0, this.#cursor);
          break;
        case 0x17: // Ctrl-W
          this.#delete(this.#wordStart(), this.#cursor);
          break;
        case 0x0c: // Ctrl-L
          this.#clearScreen = true;
          break;
        case 0x10: // Ctrl-P
          this.#browse(-1);
          break;
        case 0x0e: // Ctrl-N
          this.#browse(1);
          break;
      }
    }
    return actions;
  }

  /**
   * Issue 12: takes the text of a bracketed paste from `index` up to its
   * end marker (which may come in a later read); returns where to go on.
   * At the end, several lines are one block; one line is typed in.
   */
  #pasted(text: string, index: number, actions: EditorAction[]): number {
    const end = text.indexOf(PASTE_END, index);
    const upTo = end === -1 ? text.length : end;
    if (this.#paste!.length < MAX_PASTE_CHARS) {
      this.#paste += text.slice(index, upTo);
    }
    if (end === -1) {
      // The end marker may be cut by the end of this read: keep its start.
      const keep = partialMarker(this.#paste!, PASTE_END);
      if (keep > 0) {
        this.#cutSequence = this.#paste!.slice(-keep);
        this.#cutAt = Infinity;
        this.#paste = this.#paste!.slice(0, -keep);
      }
      return text.length;
    }
    const paste = this.#paste!;
    this.#paste = undefined;
    const block = blockFromPaste(paste);
    if (block) {
      actions.push({
        type: "block",
        block: fencedBlock(block.text, block.lang),
      });
    } else {
      const line = paste.replace(/[\r\n]+$/, "").replaceAll("\t", " ")
        .replace(CONTROL, "");
      this.#insert(line);
    }
    return end + PASTE_END.length;
  }

  /** Queues a line (or several, separated by `\n`) to show above the input. */
  print(text: string): void {
    this.#printed.push(text);
  }

  /**
   * Stops editing: the input is dropped and no longer drawn (the next
   * render erases it); lines printed still show.
   */
  stop(): void {
    this.#editing = false;
    this.#setLine("");
  }

  /**
   * The bytes that bring the terminal up to date: the lines printed since
   * the last render, above the input, and the input with the cursor in
   * place. Empty when nothing changed.
   */
  render(size: ScreenSize): string {
    const columns = Math.max(MIN_COLUMNS, Math.floor(size.columns) || 80);
    const maxRows = Math.max(1, (Math.floor(size.rows) || 24) - 1);
    const shown = this.#shown;
    const resized = shown !== undefined &&
      (shown.columns !== columns || shown.maxRows !== maxRows);
    if (
      shown && !resized && !this.#dirty && !this.#clearScreen &&
      this.#printed.length === 0
    ) {
      if (this.#chars.length === shown.count) return "";
      const appended = this.#appendShown(shown);
      if (appended !== undefined) return appended;
    }
    if (
      shown === undefined && this.#printed.length === 0 &&
      !this.#clearScreen && !(this.#editing && this.#dirty)
    ) {
      return "";
    }
    let out = "";
    if (this.#clearScreen) {
      out += "\x1b[H\x1b[2J";
      this.#clearScreen = false;
    } else if (shown) {
      // After a resize the terminal may have rewrapped the rows drawn.
      const up = resized
        ? Math.min(
          maxRows,
          layoutEnd(shown.widthsBeforeCursor, columns).row,
        )
        : shown.cursorRow;
      out += cursorUp(up) + "\r\x1b[J";
    } else if (!this.#drawnOnce) {
      out += "\r\x1b[J";
    }
    this.#shown = undefined;
    for (const text of this.#printed) {
      out += text.replaceAll("\n", "\r\n") + "\r\n";
    }
    this.#printed = [];
    if (this.#editing) out += this.#draw(columns, maxRows);
    this.#dirty = false;
    this.#drawnOnce = true;
    return out;
  }

  /**
   * The bytes that leave the terminal ready for what the program prints
   * after it: a half-typed input stays on screen with the cursor below it,
   * an empty prompt is erased. Editing stops.
   */
  finish(size: ScreenSize): string {
    if (this.#chars.length === 0) {
      this.stop();
      return this.render(size);
    }
    this.#moveTo(this.#chars.length);
    const out = this.render(size);
    const ended = this.#shown?.endColumn === 0;
    this.#editing = false;
    this.#shown = undefined;
    return out + (ended ? "" : "\r\n");
  }

  #insert(text: string): void {
    const chars: string[] = [];
    const widths: number[] = [];
    for (const char of text) {
      const width = charWidth(char.codePointAt(0)!);
      if (width === 0 && chars.length > 0) {
        chars[chars.length - 1] += char;
      } else if (width === 0 && this.#cursor > 0 && chars.length === 0) {
        this.#chars[this.#cursor - 1] += char;
        this.#dirty = true;
      } else {
        chars.push(char);
        widths.push(width);
      }
    }
    if (chars.length === 0) return;
    if (this.#cursor === this.#chars.length) {
      for (let i = 0; i < chars.length; i++) {
        this.#chars.push(chars[i]);
        this.#widths.push(widths[i]);
      }
    } else {
      const at = this.#cursor;
      this.#chars = this.#chars.slice(0, at).concat(
        chars,
        this.#chars.slice(at),
      );
      this.#widths = this.#widths.slice(0, at).concat(
        widths,
        this.#widths.slice(at),
      );
      this.#dirty = true;
    }
    this.#cursor += chars.length;
  }

  #delete(from: number, to: number): void {
    const start = Math.max(0, from);
    const end = Math.min(this.#chars.length, to);
    if (start >= end) return;
    this.#chars.splice(start, end - start);
    this.#widths.splice(start, end - start);
    if (this.#cursor > start) {
      this.#cursor = Math.max(start, this.#cursor - (end - start));
    }
    this.#dirty = true;
  }

  #moveTo(position: number): void {
    const to = Math.max(0, Math.min(this.#chars.length, position));
    if (to === this.#cursor) return;
    this.#cursor = to;
    this.#dirty = true;
  }

  #isSpace(index: number): boolean {
    return SPACE.test(this.#chars[index]);
  }

  /** Where the word before the cursor starts (spaces before it skipped). */
  #wordStart(): number {
    let at = this.#cursor;
    while (at > 0 && this.#isSpace(at - 1)) at--;
    while (at > 0 && !this.#isSpace(at - 1)) at--;
    return at;
  }

  /** Where the word after the cursor ends (spaces before it skipped). */
  #wordEnd(): number {
    let at = this.#cursor;
    const length = this.#chars.length;
    while (at < length && this.#isSpace(at)) at++;
    while (at < length && !this.#isSpace(at)) at++;
    return at;
  }

  #setLine(text: string): void {
    this.#chars = [];
    this.#widths = [];
    this.#cursor = 0;
    this.#insert(text);
    this.#dirty = true;
  }

  #submit(): string {
    const line = this.line;
    if (line.trim() !== "" && this.#history.at(-1) !== line) {
      this.#history.push(line);
      if (this.#history.length > this.#historySize) this.#history.shift();
    }
    this.#browsing = this.#history.length;
    this.#draft = "";
    this.#setLine("");
    return line;
  }

  #browse(step: -1 | 1): void {
    const to = this.#browsing + step;
    if (to < 0 || to > this.#history.length) return;
    if (this.#browsing === this.#history.length) this.#draft = this.line;
    this.#browsing = to;
    this.#setLine(
      to === this.#history.length ? this.#draft : this.#history[to],
    );
  }

  /**
   * Applies the escape sequence at `index`; returns its length, or 0 when
   * the text ends before it does.
   */
  #escape(text: string, index: number): number {
    if (index + 1 >= text.length) return 0;
    const kind = text[index + 1];
    if (kind === "[") {
      // CSI: parameters, intermediates, then one final character.
      let end = index + 2;
      while (end < text.length && /[\x20-\x3f]/.test(text[end])) end++;
      if (end >= text.length) return end - index > 32 ? end - index : 0;
      const final = text[end];
      if (!/[\x40-\x7e]/.test(final)) return end - index; // broken: dropped
      const params = text.slice(index + 2, end).split(";");
      const modified = params.length > 1 && params[1] !== "1";
      this.#csiKey(final, params[0], modified);
      return end + 1 - index;
    }
    if (kind === "O") {
      if (index + 2 >= text.length) return 0;
      this.#csiKey(text[index + 2], "", false);
      return 3;
    }
    switch (kind) {
      case "b":
      case "B":
        this.#moveTo(this.#wordStart());
        return 2;
      case "f":
      case "F":
        this.#moveTo(this.#wordEnd());
        return 2;
      case "d":
        this.#delete(this.#cursor, this.#wordEnd());
        return 2;
      case "\x7f":
      case "\x08":
        this.#delete(this.#wordStart(), this.#cursor);
        return 2;
    }
    // Alt and a character: ignored; Escape before a control key: dropped.
    return /[\x20-\x7e]/.test(kind) ? 2 : 1;
  }

  #csiKey(final: string, first: string, modified: boolean): void {
    switch (final) {
      case "A":
        return this.#browse(-1);
      case "B":
        return this.#browse(1);
      case "C":
        return this.#moveTo(modified ? this.#wordEnd() : this.#cursor + 1);
      case "D":
        return this.#moveTo(modified ? this.#wordStart() : this.#cursor - 1);
      case "H":
        return this.#moveTo(0);
      case "F":
        return this.#moveTo(this.#chars.length);
      case "~":
        switch (first) {
          case "1":
          case "7":
            return this.#moveTo(0);
          case "4":
          case "8":
            return this.#moveTo(this.#chars.length);
          case "3":
            return this.#delete(this.#cursor, this.#cursor + 1);
        }
    }
    // Anything else (function keys, the 200~ and 201~ around a bracketed
    // paste) is ignored.
  }

  /**
   * Writes the characters typed at the end since the last drawing, when
   * that is all that changed and they fit in the rows drawn; `undefined`
   * when the input must be drawn again instead.
   */
  #appendShown(shown: Shown): string | undefined {
    const count = this.#chars.length;
    if (!shown.cursorAtEnd || this.#cursor !== count || count < shown.count) {
      return undefined;
    }
    const columns = shown.columns;
    let row = shown.endRow;
    let column = shown.endColumn;
    let filled = false;
    for (let i = shown.count; i < count; i++) {
      const width = this.#widths[i];
      if (width > 0 && column + width > columns) {
        row++;
        column = 0;
      }
      column += width;
      filled = column >= columns;
      if (filled) {
        row++;
        column = 0;
      }
    }
    if (row - shown.top >= shown.maxRows) return undefined;
    let out = "";
    for (let i = shown.count; i < count; i++) {
      out += this.#chars[i];
      shown.widthsBeforeCursor.push(this.#widths[i]);
    }
    // A row filled to its last column leaves the terminal's cursor there,
    // waiting; a new line puts it where the next character goes.
    if (filled) out += "\r\n";
    shown.count = count;
    shown.endRow = row;
    shown.endColumn = column;
    shown.cursorRow = row - shown.top;
    return out;
  }

  /** Draws the prompt and input from column 0 of a cleared row. */
  #draw(columns: number, maxRows: number): string {
    const count = this.#chars.length;
    const widths = this.#widths;
    // Where each character goes, wrapping as the terminal does: a wide
    // character that does not fit in a row's last column starts the next.
    const rows = new Int32Array(count + 1);
    const cols = new Int32Array(count + 1);
    let row = 0;
    let column = this.#promptWidth;
    for (let i = 0; i < count; i++) {
      const width = widths[i];
      if (width > 0 && column + width > columns) {
        row++;
        column = 0;
      }
      rows[i] = row;
      cols[i] = column;
      column += width;
      if (column >= columns) {
        row++;
        column = 0;
      }
    }
    rows[count] = row;
    cols[count] = column;
    const lastRow = row;
    const cursorRow = rows[this.#cursor];
    const cursorColumn = cols[this.#cursor];
    let top = this.#top;
    if (lastRow < maxRows) top = 0;
    else if (cursorRow < top || cursorRow >= top + maxRows) {
      // Leave room to type on below the cursor before drawing again.
      top = Math.max(0, cursorRow - (maxRows >> 1));
    }
    this.#top = top;
    const bottom = Math.min(lastRow, top + maxRows - 1);
    const start = top === 0 ? 0 : firstAtRow(rows, count, top);
    const end = firstAtRow(rows, count, bottom + 1);
    let out = top === 0 ? this.#prompt : "";
    for (let i = start; i < end; i++) out += this.#chars[i];
    // Where the terminal's cursor is now: after the last cell written (if
    // that filled a row, still in that row's last column).
    let atRow = top;
    let atColumn = top === 0 ? this.#promptWidth : 0;
    if (end > start) {
      atRow = rows[end - 1];
      atColumn = cols[end - 1] + widths[end - 1];
    }
    const waiting = atColumn >= columns;
    if (waiting || atRow !== cursorRow || atColumn !== cursorColumn) {
      out += "\r" +
        (cursorRow > atRow
          ? "\n".repeat(cursorRow - atRow)
          : cursorUp(atRow - cursorRow)) +
        (cursorColumn > 0 ? `\x1b[${cursorColumn}C` : "");
    }
    const widthsBeforeCursor = top === 0 ? [this.#promptWidth] : [];
    for (let i = start; i < this.#cursor; i++) {
      widthsBeforeCursor.push(widths[i]);
    }
    this.#shown = {
      columns,
      maxRows,
      top,
      cursorRow: cursorRow - top,
      count,
      endRow: rows[count],
      endColumn: cols[count],
      cursorAtEnd: this.#cursor === count,
      widthsBeforeCursor,
    };
    return out;
  }
}

/** How many characters at the end of `text` begin `marker` (not all of it). */
function partialMarker(text: string, marker: string): number {
  for (
    let length = Math.min(marker.length - 1, text.length);
    length > 0;
    length--
  ) {
    if (text.endsWith(marker.slice(0, length))) return length;
  }
  return 0;
}

/** The columns `text` (plain characters) takes on the screen. */
function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char.codePointAt(0)!);
  return width;
}

/** The first character at `row` or below it (`count` when there is none). */
function firstAtRow(rows: Int32Array, count: number, row: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (rows[middle] < row) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Where text of these widths ends, written from column 0. */
function layoutEnd(
  widths: readonly number[],
  columns: number,
): { row: number; column: number } {
  let row = 0;
  let column = 0;
  for (const width of widths) {
    if (width > 0 && column + width > columns) {
      row++;
      column = 0;
    }
    column += width;
    if (column >= columns) {
      row++;
      column = 0;
    }
  }
  return { row, column };
}

function cursorUp(rows: number): string {
  return rows > 0 ? `\x1b[${rows}A` : "";
}
