/**
 * A QR code of the page's address, drawn with text so a phone can scan it
 * off the host's terminal. The encoding is `qrcode-generator` (MIT, no
 * dependencies, one file, reads no files or environment); the drawing is
 * here: two rows of modules per line of text, with half blocks.
 *
 * @module
 */

import qrcode from "qrcode-generator";

/** Light modules around the code, so a camera finds its edges. */
const QUIET_MODULES = 2;

/** Black on white, whatever the terminal's own colours are. */
const BLACK_ON_WHITE = "\x1b[30;107m";
const RESET = "\x1b[0m";

/**
 * The QR code of `text` as lines of half blocks. With `ansi`, each line is
 * drawn black on white, so it scans on dark terminals too; without, dark
 * modules are the filled parts (for a file or a light background).
 *
 * @example
 * ```ts
 * import { qrLines } from "./qr.ts";
 * const lines = qrLines("http://192.168.1.23:8080", { ansi: false });
 * lines.length; // 15: 25 modules plus a quiet zone, two rows a line
 * ```
 */
export function qrLines(text: string, options: { ansi: boolean }): string[] {
  const qr = qrcode(0, "L");
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const size = count + 2 * QUIET_MODULES;
  const dark = (row: number, column: number) => {
    const r = row - QUIET_MODULES;
    const c = column - QUIET_MODULES;
    return r >= 0 && c >= 0 && r < count && c < count && qr.isDark(r, c);
  };
  const lines: string[] = [];
  for (let row = 0; row < size; row += 2) {
    let line = "";
    for (let column = 0; column < size; column++) {
      const top = dark(row, column);
      const bottom = row + 1 < size && dark(row + 1, column);
      line += top ? (bottom ? "█" : "▀") : bottom ? "▄" : " ";
    }
    lines.push(options.ansi ? BLACK_ON_WHITE + line + RESET : line);
  }
  return lines;
}
