/**
 * Code blocks (issue 12): a multi-line message that reaches everyone whole,
 * with its indentation and blank lines. Structured clients send one as the
 * request `{"type":"block","text":...,"lang":...}`; plain clients (`nc`,
 * `telnet`) type a fence: a line that is exactly three backticks,
 * optionally followed by a language, starts a block, and the next line
 * that is exactly three backticks ends it. This module holds what both
 * need and has no sockets: the fences, the limits, the assembly of a
 * plain client's lines, and what a block costs for flood control.
 *
 * @module
 */

import { sanitizeText, utf8Length } from "./protocol.ts";

/** Most lines in a block unless `--block-lines` says otherwise. */
export const DEFAULT_BLOCK_LINES = 200;

/** Most bytes (UTF-8, lines joined by `\n`) unless `--block-bytes` says. */
export const DEFAULT_BLOCK_BYTES = 16 * 1024;

/** The highest `--block-lines` accepted. */
export const MAX_BLOCK_LINES = 10_000;

/** The highest `--block-bytes` accepted (1 MiB). */
export const MAX_BLOCK_BYTES = 1024 * 1024;

/** A block's limits. */
export interface BlockLimits {
  maxLines: number;
  maxBytes: number;
}

/** The limits when no flag changes them. */
export const DEFAULT_BLOCK_LIMITS: BlockLimits = {
  maxLines: DEFAULT_BLOCK_LINES,
  maxBytes: DEFAULT_BLOCK_BYTES,
};

/** What a language name may hold: `py`, `c++`, `c#`, `objective-c`. */
export const BLOCK_LANG = /^[A-Za-z0-9+#._-]{1,20}$/;

const OPENING_FENCE = /^```([A-Za-z0-9+#._-]{1,20})?$/;

/** The fence that ends a block (and starts one without a language). */
export const FENCE = "```";

/**
 * The language of a line that opens a block (`""` when it names none), or
 * `undefined` when the line opens none. Blanks around the fence are
 * allowed, since a terminal or a paste may add them.
 *
 * @example
 * ```ts
 * import { openingFence } from "./code_block.ts";
 * openingFence("```py"); // "py"
 * openingFence("```"); // ""
 * openingFence("```py print(1)```"); // undefined: a message
 * ```
 */
export function openingFence(line: string): string | undefined {
  const match = OPENING_FENCE.exec(line.trim());
  return match ? match[1] ?? "" : undefined;
}

/**
 * True for the line that closes a block: three backticks alone.
 *
 * @example
 * ```ts
 * import { isClosingFence } from "./code_block.ts";
 * isClosingFence("```"); // true
 * isClosingFence("```py"); // false: inside a block, an ordinary line
 * ```
 */
export function isClosingFence(line: string): boolean {
  return line.trim() === FENCE;
}

/**
 * A block's text made safe and tidy: each line sanitised on its own
 * (`sanitizeText`: no escape sequences or control characters, tabs kept),
 * `\r\n` and `\r` taken as line ends, and blank lines at the end dropped.
 * Returns the lines; none when the block is blank.
 *
 * @example
 * ```ts
 * import { blockLines } from "./code_block.ts";
 * blockLines("def f():\r\n\treturn 1\n\n"); // ["def f():", "\treturn 1"]
 * blockLines("\x1b[2J*** fake\n"); // ["*** fake"]
 * ```
 */
export function blockLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/).map(sanitizeText);
  let end = lines.length;
  while (end > 0 && lines[end - 1].trim() === "") end--;
  lines.length = end;
  return lines;
}

/** How big a block is: its lines, and its bytes in UTF-8 joined by `\n`. */
export interface BlockSize {
  lines: number;
  bytes: number;
}

/**
 * The size of a block's lines, as compared with its limits.
 *
 * @example
 * ```ts
 * import { blockSize } from "./code_block.ts";
 * blockSize(["a", "é"]); // { lines: 2, bytes: 5 }
 * ```
 */
export function blockSize(lines: readonly string[]): BlockSize {
  let bytes = Math.max(0, lines.length - 1);
  for (const line of lines) bytes += utf8Length(line);
  return { lines: lines.length, bytes };
}

/**
 * True when a block of `size` is within `limits`.
 *
 * @example
 * ```ts
 * import { fitsLimits } from "./code_block.ts";
 * fitsLimits({ lines: 201, bytes: 900 }, { maxLines: 200, maxBytes: 16384 }); // false
 * ```
 */
export function fitsLimits(size: BlockSize, limits: BlockLimits): boolean {
  return size.lines <= limits.maxLines && size.bytes <= limits.maxBytes;
}

/**
 * What a block costs for flood control, in lines: one, like a message,
 * plus one per started KiB, at most `burst` (so that a block within the
 * limits can always be sent after a pause, whatever `--flood-burst`).
 * A page of code (40 lines, 1.2 KiB) costs 3; 16 KiB costs 17.
 *
 * @example
 * ```ts
 * import { floodCost } from "./code_block.ts";
 * floodCost(10, 20); // 2
 * floodCost(16384, 20); // 17
 * floodCost(16384, 5); // 5
 * ```
 */
export function floodCost(bytes: number, burst: number): number {
  return Math.max(1, Math.min(burst, 1 + Math.ceil(bytes / 1024)));
}

/**
 * A plain client's block being typed: the lines between the fences. Past
 * a limit it keeps counting (for the refusal) but stops keeping lines, so
 * a block that never ends holds at most the limit in memory.
 *
 * @example
 * ```ts
 * import { BlockDraft } from "./code_block.ts";
 * const draft = new BlockDraft("py", { maxLines: 200, maxBytes: 16384 });
 * draft.add("def f():");
 * draft.add("    return 1");
 * draft.size; // { lines: 2, bytes: 21 }
 * draft.text; // "def f():\n    return 1"
 * ```
 */
export class BlockDraft {
  /** The language the opening fence named; "" for none. */
  readonly lang: string;
  readonly #limits: BlockLimits;
  readonly #lines: string[] = [];
  #count = 0;
  #bytes = -1;
  /** A line was lost (too long for the connection): the block is spoilt. */
  #spoilt = false;

  constructor(lang: string, limits: BlockLimits) {
    this.lang = lang;
    this.#limits = limits;
  }

  /** Adds one line (already sanitised). */
  add(line: string): void {
    this.#count++;
    this.#bytes += utf8Length(line) + 1;
    if (this.withinLimits) this.#lines.push(line);
  }

  /**
   * A line of the block was lost on the way (over the connection's line
   * limit): the block can no longer be sent whole, so it is refused at
   * its end.
   */
  spoil(limitBytes: number): void {
    this.#spoilt = true;
    this.#count++;
    this.#bytes += limitBytes + 2;
  }

  /** True while the block is within its limits and whole. */
  get withinLimits(): boolean {
    return !this.#spoilt &&
      fitsLimits({ lines: this.#count, bytes: this.#bytes }, this.#limits);
  }

  /** Lines and bytes so far (blank lines at the end included). */
  get size(): BlockSize {
    return { lines: this.#count, bytes: Math.max(0, this.#bytes) };
  }

  /** The lines kept, joined by `\n`. */
  get text(): string {
    return this.#lines.join("\n");
  }
}

/**
 * A block as the line-by-line form `chat connect` keeps it in while it
 * waits to be sent (its outbox holds strings): the fences around the
 * text. No line typed at a terminal or read from a pipe holds `\n`, so
 * a string that does is a block.
 *
 * @example
 * ```ts
 * import { fencedBlock, parseFencedBlock } from "./code_block.ts";
 * const kept = fencedBlock("print(1)", "py"); // "```py\nprint(1)\n```"
 * parseFencedBlock(kept); // { text: "print(1)", lang: "py" }
 * ```
 */
export function fencedBlock(text: string, lang: string | undefined): string {
  return `${FENCE}${lang ?? ""}\n${text}\n${FENCE}`;
}

/**
 * The text and language of a string made by {@linkcode fencedBlock};
 * `undefined` for anything else (a typed line).
 *
 * @example
 * ```ts
 * import { parseFencedBlock } from "./code_block.ts";
 * parseFencedBlock("hello"); // undefined
 * parseFencedBlock("```\na\n\nb\n```"); // { text: "a\n\nb", lang: undefined }
 * ```
 */
export function parseFencedBlock(
  kept: string,
): { text: string; lang?: string } | undefined {
  const first = kept.indexOf("\n");
  const last = kept.lastIndexOf("\n");
  if (first === -1 || first === last) return undefined;
  const lang = openingFence(kept.slice(0, first));
  if (lang === undefined || !isClosingFence(kept.slice(last + 1))) {
    return undefined;
  }
  const text = kept.slice(first + 1, last);
  return lang === "" ? { text } : { text, lang };
}

/**
 * A paste of several lines as a block: a final line end dropped; when the
 * paste is itself a fenced block (copied from Markdown), its fences give
 * the language and are not part of the text. `undefined` when the paste
 * is one line (it is typed into the input instead) or blank.
 *
 * @example
 * ```ts
 * import { blockFromPaste } from "./code_block.ts";
 * blockFromPaste("a\r\n  b\r\n"); // { text: "a\n  b" }
 * blockFromPaste("```js\nf();\ng();\n```"); // { text: "f();\ng();", lang: "js" }
 * blockFromPaste("one line\n"); // undefined
 * ```
 */
export function blockFromPaste(
  paste: string,
): { text: string; lang?: string } | undefined {
  let lines = paste.split(/\r\n|\r|\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") {
    lines.pop();
  }
  while (lines.length > 0 && lines[0].trim() === "") lines.shift();
  let lang: string | undefined;
  const opening = lines.length >= 2 ? openingFence(lines[0]) : undefined;
  if (opening !== undefined && isClosingFence(lines[lines.length - 1])) {
    lines = lines.slice(1, -1);
    if (opening !== "") lang = opening;
  }
  if (lines.length === 0 || (lines.length === 1 && lang === undefined)) {
    return undefined;
  }
  const text = lines.join("\n");
  return lang === undefined ? { text } : { text, lang };
}

/**
 * What `chat connect` does with each typed line when it may open a block
 * typed by hand: lines between fences are held, and the block comes out
 * whole (as {@linkcode fencedBlock}) when its closing fence is typed.
 *
 * @example
 * ```ts
 * import { TypedBlocks } from "./code_block.ts";
 * const typed = new TypedBlocks();
 * typed.take("hello"); // "hello": an ordinary line
 * typed.take("```py"); // undefined: held
 * typed.take("x = 1"); // undefined
 * typed.take("```"); // "```py\nx = 1\n```"
 * ```
 */
export class TypedBlocks {
  #lang: string | undefined;
  #lines: string[] = [];

  /** The language of the block being typed ("" none); undefined: none open. */
  get open(): string | undefined {
    return this.#lang;
  }

  /** Lines typed so far in the open block. */
  get count(): number {
    return this.#lines.length;
  }

  /**
   * The line to send now: the line itself, a whole block once closed, or
   * `undefined` while a block is being typed. A block with no line is
   * dropped. `maxLines` bounds what is held: a runaway block stops
   * growing (the server refuses it whole anyway).
   */
  take(
    line: string,
    maxLines: number = MAX_BLOCK_LINES + 1,
  ): string | undefined {
    if (this.#lang === undefined) {
      const lang = openingFence(line);
      if (lang === undefined) return line;
      this.#lang = lang;
      this.#lines = [];
      return undefined;
    }
    if (!isClosingFence(line)) {
      if (this.#lines.length < maxLines) this.#lines.push(line);
      return undefined;
    }
    const lang = this.#lang;
    const text = this.#lines.join("\n");
    this.#lang = undefined;
    this.#lines = [];
    return text.trim() === "" ? "" : fencedBlock(text, lang || undefined);
  }
}
