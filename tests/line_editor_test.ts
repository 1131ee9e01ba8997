/**
 * The line editor byte for byte: what it writes is played on a small
 * terminal model (wrapping, wide characters, the pending wrap at the last
 * column, scrolling, and the few escape codes it uses), and the screen is
 * checked: lines shown always above the whole input, the input intact, the
 * cursor where it belongs, and the bytes written in proportion to what
 * changed. The real terminal (tmux) is in `terminal_test.ts`.
 */

import assert from "node:assert/strict";
import { charWidth, displayWidth } from "../lib/display_width.ts";
import { LineEditor, type ScreenSize } from "../lib/line_editor.ts";

/**
 * A terminal screen as xterm and tmux keep it: a character in the last
 * column leaves the cursor there until the next one wraps; a wide character
 * that does not fit in a row starts the next; a newline at the bottom
 * scrolls. Rows that scroll off are kept in `scrolled`.
 */
class ModelTerminal {
  readonly columns: number;
  readonly rows: number;
  cells: string[][];
  scrolled: string[] = [];
  row = 0;
  column = 0;
  #waiting = false;

  constructor(size: ScreenSize) {
    this.columns = size.columns;
    this.rows = size.rows;
    this.cells = Array.from({ length: size.rows }, () => this.#blankRow());
  }

  write(text: string): void {
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const char = chars[i];
      if (char === "\x1b") {
        assert.equal(chars[i + 1], "[", `unexpected escape in ${text}`);
        let end = i + 2;
        while (/[0-9;]/.test(chars[end])) end++;
        const parameter = chars.slice(i + 2, end).join("");
        this.#control(chars[end], parameter);
        i = end;
      } else if (char === "\r") {
        this.column = 0;
        this.#waiting = false;
      } else if (char === "\n") {
        this.#lineFeed();
        this.#waiting = false;
      } else {
        this.#put(char);
      }
    }
  }

  /** The screen's rows as text (blank cells left out). */
  screen(): string[] {
    return this.cells.map((row) => row.join(""));
  }

  #blankRow(): string[] {
    return Array.from({ length: this.columns }, () => "");
  }

  #control(final: string, parameter: string): void {
    const count = parameter === "" ? 1 : Number(parameter);
    this.#waiting = false;
    switch (final) {
      case "A":
        this.row = Math.max(0, this.row - count);
        return;
      case "C":
        this.column = Math.min(this.columns - 1, this.column + count);
        return;
      case "H":
        this.row = 0;
        this.column = 0;
        return;
      case "J":
        if (parameter === "2") {
          this.cells = this.cells.map(() => this.#blankRow());
          return;
        }
        assert.equal(parameter, "", `ESC [${parameter}J`);
        for (let column = this.column; column < this.columns; column++) {
          this.cells[this.row][column] = "";
        }
        for (let row = this.row + 1; row < this.rows; row++) {
          this.cells[row] = this.#blankRow();
        }
        return;
      default:
        // Colours change no cell.
        assert.equal(final, "m", `unexpected ESC [${parameter}${final}`);
    }
  }

  #lineFeed(): void {
    if (this.row < this.rows - 1) {
      this.row++;
      return;
    }
    this.scrolled.push(this.cells.shift()!.join(""));
    this.cells.push(this.#blankRow());
  }

  #put(char: string): void {
    const width = charWidth(char.codePointAt(0)!);
    if (width === 0) {
      const column = this.#waiting ? this.column : this.column - 1;
      if (column >= 0) this.cells[this.row][column] += char;
      return;
    }
    if (this.#waiting || this.column + width > this.columns) {
      this.column = 0;
      this.#lineFeed();
    }
    this.#waiting = false;
    this.cells[this.row][this.column] = char;
    if (width === 2) this.cells[this.row][this.column + 1] = "";
    this.column += width;
    if (this.column >= this.columns) {
      this.column = this.columns - 1;
      this.#waiting = true;
    }
  }
}

/** An editor wired to a model terminal of `size`. */
function setUp(size: ScreenSize) {
  const editor = new LineEditor({ prompt: "> " });
  const terminal = new ModelTerminal(size);
  let written = 0;
  const update = () => {
    const out = editor.render(size);
    written += new TextEncoder().encode(out).length;
    terminal.write(out);
  };
  update();
  return {
    editor,
    terminal,
    update,
    /** Feeds keys and draws; returns the bytes this drawing wrote. */
    keys(text: string) {
      const before = written;
      const actions = editor.feed(text);
      update();
      return { actions, bytes: written - before };
    },
    print(text: string) {
      editor.print(text);
      update();
    },
  };
}

/** The screen rows from the prompt's down, joined: the input as shown. */
function shownInput(screen: string[]): { first: number; text: string } {
  const first = screen.findLastIndex((row) => row.startsWith("> "));
  assert.notEqual(first, -1, `no prompt on screen:\n${screen.join("\n")}`);
  return { first, text: screen.slice(first).join("") };
}

/**
 * Where the cursor should be, from the prompt, with `before` typed before
 * it and the character `after` under it: on that character, which starts
 * the next row when it is wide and does not fit in this one.
 */
function expectedCursor(before: string, after: string, columns: number) {
  let row = 0;
  let column = 0;
  for (const char of "> " + before) {
    const width = charWidth(char.codePointAt(0)!);
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
  if (after !== "" && column + displayWidth(after) > columns) {
    return { row: row + 1, column: 0 };
  }
  return { row, column };
}

Deno.test("display width: ASCII and accents 1, CJK and emoji 2, combining marks 0", () => {
  assert.equal(displayWidth("hello"), 5);
  assert.equal(displayWidth("élodie françois"), 15);
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(displayWidth("漢字かなカナ한글"), 16);
  assert.equal(displayWidth("ｆｕｌｌ"), 8);
  assert.equal(displayWidth("😀🎉"), 4);
  assert.equal(displayWidth("a\u200db"), 2);
  assert.equal(charWidth(0x1b), 0);
});

for (const columns of [40, 60, 100]) {
  Deno.test(`a line shown while a long input wraps over several rows appears above all of it (${columns} columns)`, () => {
    const size = { columns, rows: 30 };
    const { editor, terminal, keys, print } = setUp(size);
    const typed = "carol écrit un très long message 漢字 😀 e\u0301 ".repeat(6);
    keys(typed);
    assert.ok(displayWidth(typed) > 2 * columns);
    print("bob: bob interrompt carol");
    const screen = terminal.screen();
    const { first, text } = shownInput(screen);
    assert.equal(text, "> " + typed);
    assert.equal(screen[first - 1], "bob: bob interrompt carol");
    assert.equal(
      screen.filter((row) => row === "bob: bob interrompt carol").length,
      1,
    );
    // Typing goes on where it was.
    keys("fin");
    assert.equal(shownInput(terminal.screen()).text, "> " + typed + "fin");
    // Enter sends it all and leaves an empty prompt under the lines shown.
    const { actions } = keys("\r");
    assert.deepEqual(actions, [{ type: "line", line: typed + "fin" }]);
    assert.equal(editor.line, "");
    const after = terminal.screen().filter((row) => row !== "");
    assert.deepEqual(after.slice(-2), ["bob: bob interrompt carol", "> "]);
  });
}

Deno.test("lines shown, keys and edits in any order keep the screen right (model terminal, many widths)", () => {
  // A fixed pseudo-random sequence, so a failure can be replayed.
  let seed = 12345;
  const random = (below: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % below;
  };
  const pieces = [
    "a",
    "b c",
    "é",
    "漢",
    "😀",
    "e\u0301",
    "xyz ",
    "字字字",
    "0123456789",
  ];
  const keysToPress = [
    "\x1b[D",
    "\x1b[C",
    "\x01",
    "\x05",
    "\x7f",
    "\x1b[3~",
    "\x17",
    "\x1b[1;5D",
  ];
  for (const columns of [7, 13, 40, 41, 60]) {
    const size = { columns, rows: 40 };
    const { editor, terminal, keys, print } = setUp(size);
    let model = "";
    let cursor = 0; // in characters as the editor counts them
    const printed: string[] = [];
    for (let step = 0; step < 400; step++) {
      // The input stays shorter than the screen (taller is tested below).
      if (displayWidth(editor.line) > (size.rows - 4) * (columns - 1) - 12) {
        keys("\r");
      }
      const choice = random(10);
      if (choice < 5) {
        const piece = pieces[random(pieces.length)];
        keys(piece);
      } else if (choice < 8) {
        keys(keysToPress[random(keysToPress.length)]);
      } else if (choice < 9) {
        const line = `#${step}`; // narrower than the narrowest screen
        printed.push(line);
        print(line);
      } else if (random(4) === 0) {
        keys("\r");
      }
      model = editor.line;
      const screen = terminal.screen();
      const { first, text } = shownInput(screen);
      assert.equal(text, "> " + model, `step ${step} at ${columns} columns`);
      if (printed.length > 0 && first > 0) {
        assert.equal(
          screen[first - 1],
          printed.at(-1),
          `step ${step} at ${columns} columns:\n${screen.join("\n")}`,
        );
      }
      // Where the cursor is: typing a marker shows it there, and is undone.
      keys("|");
      const marked = shownInput(terminal.screen()).text.slice(2);
      cursor = [...marked].indexOf("|");
      keys("\x7f");
      // (The marker may have scrolled the screen: find the prompt again.)
      const top = shownInput(terminal.screen()).first;
      const before = [...marked].slice(0, cursor).join("");
      const after = [...marked][cursor + 1] ?? "";
      const { row, column } = expectedCursor(before, after, columns);
      const where = `step ${step} at ${columns} columns: ${
        JSON.stringify(before)
      } then ${JSON.stringify(after)}\n${terminal.screen().join("\n")}`;
      assert.equal(terminal.row - top, row, `cursor row, ${where}`);
      assert.equal(terminal.column, column, `cursor column, ${where}`);
    }
    // Every line shown appears once, in order, above the input.
    const all = [...terminal.scrolled, ...terminal.screen()];
    const shownLines = all.filter((row) => row.startsWith("#"));
    assert.deepEqual(shownLines, printed);
  }
});

Deno.test("typing at the end writes each character once; a 5,000-character paste is drawn in one screenful", () => {
  const size = { columns: 40, rows: 30 };
  const typing = setUp(size);
  let bytes = 0;
  for (let i = 0; i < 5000; i++) {
    bytes += typing.keys("abcdefghij"[i % 10]).bytes;
  }
  // Each character once, plus a redraw of half a screen each time the input
  // outgrows the rows it has (every 14 rows): far from 5,000 squared.
  assert.ok(bytes < 3 * 5000, `${bytes} bytes for 5,000 keys`);

  const pasting = setUp(size);
  const paste = "x".repeat(5000);
  const { bytes: pasteBytes } = pasting.keys(paste);
  assert.ok(
    pasteBytes <= size.columns * size.rows + 100,
    `${pasteBytes} bytes`,
  );
  // The input taller than the screen shows the rows around the cursor and
  // leaves the row above for the lines shown.
  pasting.print("bob: still here");
  const screen = pasting.terminal.screen();
  const bob = screen.indexOf("bob: still here");
  assert.ok(bob >= 0, screen.join("\n"));
  assert.ok(screen.slice(bob + 1).every((row) => /^x*$/.test(row)));
  // Home shows the start of the input, prompt included, below the line.
  pasting.keys("\x01");
  pasting.print("bob: and here");
  const atHome = pasting.terminal.screen();
  const here = atHome.indexOf("bob: and here");
  assert.ok(here >= 0, atHome.join("\n"));
  assert.equal(atHome[here + 1], "> " + "x".repeat(38));
  assert.equal(pasting.terminal.row, here + 1);
  assert.equal(pasting.terminal.column, 2);
  pasting.keys("\x05");
  assert.deepEqual(pasting.keys("\r").actions, [{ type: "line", line: paste }]);
});

Deno.test("an edit in the middle of a long input redraws at most one screen", () => {
  const size = { columns: 40, rows: 30 };
  const { keys } = setUp(size);
  keys("y".repeat(5000));
  keys("\x01"); // to the start
  for (let i = 0; i < 20; i++) {
    const { bytes } = keys("z");
    assert.ok(bytes <= size.columns * size.rows + 100, `${bytes} bytes`);
  }
});

Deno.test("history, editing keys, Ctrl-L, Ctrl-C and Ctrl-D", () => {
  const size = { columns: 80, rows: 24 };
  const { editor, keys, print, terminal } = setUp(size);
  print("bob: before the clear");
  keys("typed\x0c");
  assert.deepEqual(terminal.screen().filter((row) => row !== ""), [
    "> typed",
  ]);
  keys("\x15");
  assert.deepEqual(keys("first\rsecond\r").actions, [
    { type: "line", line: "first" },
    { type: "line", line: "second" },
  ]);
  keys("draft");
  keys("\x1b[A");
  assert.equal(editor.line, "second");
  keys("\x1bOA"); // the up arrow in application mode
  assert.equal(editor.line, "first");
  keys("\x1b[B\x1b[B");
  assert.equal(editor.line, "draft");
  keys("\x15one two three\x17");
  assert.equal(editor.line, "one two ");
  keys("\x01X\x05Y\x1b[DZ");
  assert.equal(editor.line, "Xone two ZY");
  keys("\x01\x0b");
  assert.equal(editor.line, "");
  // A bracketed paste, UTF-8 and an escape sequence cut in two reads.
  keys("\x1b[200~collé\x1b[201~\x1b");
  keys("[Dx");
  assert.equal(editor.line, "collxé");
  // A Windows line ending is one Enter; a lone newline is one too.
  assert.deepEqual(keys("\r\n\n").actions, [
    { type: "line", line: "collxé" },
    { type: "line", line: "" },
  ]);
  // Ctrl-D deletes under the cursor on a line, and ends on an empty one.
  keys("ab\x01\x04");
  assert.equal(editor.line, "b");
  keys("\x7f\x04");
  assert.deepEqual(keys("\x04").actions, [{ type: "end" }]);
  assert.equal(editor.editing, false);
});

Deno.test("Ctrl-C drops the half-typed line from the screen; close keeps a half-typed line", () => {
  const size = { columns: 40, rows: 10 };
  const interrupted = setUp(size);
  interrupted.keys("half typed");
  assert.deepEqual(interrupted.keys("\x03ignored").actions, [
    { type: "interrupt" },
  ]);
  interrupted.print("*** Bye!");
  const screen = interrupted.terminal.screen().filter((row) => row !== "");
  assert.deepEqual(screen, ["*** Bye!"]);
  assert.deepEqual(interrupted.editor.feed("\x03"), [{ type: "interrupt" }]);

  const closed = setUp(size);
  closed.keys("kept");
  closed.terminal.write(closed.editor.finish(size));
  assert.deepEqual(closed.terminal.screen().filter((row) => row !== ""), [
    "> kept",
  ]);
  assert.equal(closed.terminal.column, 0);
  const empty = setUp(size);
  empty.terminal.write(empty.editor.finish(size));
  assert.deepEqual(empty.terminal.screen().filter((row) => row !== ""), []);
});

Deno.test("setPrompt: the status replaces the prompt in place, the input kept, and back again", () => {
  const editor = new LineEditor({ prompt: "> " });
  const size = { columns: 80, rows: 24 };
  editor.render(size);
  editor.feed("hi");
  editor.render(size);
  editor.setPrompt("away 3 s > ", "\x1b[2maway 3 s > \x1b[0m");
  // Cleared from the input's first row and drawn again: nothing scrolls.
  assert.equal(editor.render(size), "\r\x1b[J\x1b[2maway 3 s > \x1b[0mhi");
  editor.setPrompt("away 3 s > ", "\x1b[2maway 3 s > \x1b[0m");
  assert.equal(editor.render(size), "", "the same status draws nothing");
  editor.feed("!");
  assert.equal(editor.render(size), "!");
  editor.setPrompt("> ");
  assert.equal(editor.render(size), "\r\x1b[J> hi!");
});
