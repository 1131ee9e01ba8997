/**
 * How many terminal columns text takes, as terminals count them (the
 * `wcwidth` rules): East Asian wide and fullwidth characters and emoji take
 * two columns, combining marks and other zero-width characters none, and
 * everything else one. The line editor needs this to know where a long
 * input line wraps.
 *
 * @module
 */

// East Asian Width W and F (Unicode 15): first and last code point of each
// range, in order. Emoji are matched separately (Emoji_Presentation).
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals and symbols, Kangxi, ideographic space
  [0x3041, 0x33ff], // Kana, Bopomofo, Hangul compatibility Jamo, CJK compat.
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4], // ideographic symbols
  [0x16ff0, 0x16ff1],
  [0x17000, 0x18cd5], // Tangut, Khitan
  [0x18d00, 0x18d08],
  [0x1aff0, 0x1b2fb], // Kana supplements, Nushu
  [0x1f200, 0x1f202], // enclosed ideographic supplement
  [0x1f210, 0x1f23b],
  [0x1f240, 0x1f248],
  [0x1f250, 0x1f251],
  [0x1f260, 0x1f265],
  [0x20000, 0x2fffd], // CJK extensions B to F
  [0x30000, 0x3fffd], // CJK extensions G and H
];

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const EMOJI = /^\p{Emoji_Presentation}$/u;

function isWide(codePoint: number): boolean {
  let low = 0;
  let high = WIDE_RANGES.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (codePoint < WIDE_RANGES[middle][0]) high = middle - 1;
    else if (codePoint > WIDE_RANGES[middle][1]) low = middle + 1;
    else return true;
  }
  return false;
}

/**
 * The columns one character (a code point) takes: 0, 1 or 2. Control
 * characters count 0: they are not drawn.
 *
 * @example
 * ```ts
 * import { charWidth } from "./display_width.ts";
 * charWidth("a".codePointAt(0)!); // 1
 * charWidth("漢".codePointAt(0)!); // 2
 * charWidth(0x301); // 0 (combining acute accent)
 * ```
 */
export function charWidth(codePoint: number): number {
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return 0;
  if (codePoint < 0x300) return 1; // Latin, with accents: the common case
  const char = String.fromCodePoint(codePoint);
  // Hangul vowels and final consonants join the syllable before them.
  if (
    ZERO_WIDTH.test(char) || (codePoint >= 0x1160 && codePoint <= 0x11ff)
  ) {
    return 0;
  }
  return isWide(codePoint) || EMOJI.test(char) ? 2 : 1;
}

/**
 * The columns `text` takes on one terminal line.
 *
 * @example
 * ```ts
 * import { displayWidth } from "./display_width.ts";
 * displayWidth("élodie"); // 6
 * displayWidth("e\u0301"); // 1 (e and a combining accent)
 * displayWidth("日本語 😀"); // 9
 * ```
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char.codePointAt(0)!);
  return width;
}
