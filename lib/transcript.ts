/**
 * Transcripts (issue 9): `chat serve --log FILE` appends the room's public
 * lines, joins, leaves, topic changes and renames, one per line, each after
 * its ISO 8601 time (UTC):
 *
 * ```text
 * 2026-12-02T10:02:03.123Z alice: hi
 * 2026-12-02T10:02:04.500Z *** bob joined
 * ```
 *
 * Each line is written with one synchronous write to a file opened for
 * appending, before the next event is handled: once a line was broadcast,
 * a crash or `kill -9` of the server cannot lose it (it is in the
 * system's hands). Passwords never reach it: `/pass` lines are not events.
 *
 * `chat connect --log FILE` formats its lines with the same
 * {@linkcode transcriptLine}.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import { type Lang, t } from "./i18n.ts";
import { renderText } from "./render_text.ts";

const encoder = new TextEncoder();

/**
 * The event as transcript lines: its plain-text line(s) in `lang`, each
 * after the event's time in ISO 8601 (UTC) and a space, joined with `\n`,
 * without a final newline. "" for an event with no plain form (`proto`).
 *
 * @example
 * ```ts
 * import { transcriptLine } from "./transcript.ts";
 * transcriptLine({ type: "message", from: "alice", text: "hi", seq: 3, time: 0 }, "en");
 * // "1970-01-01T00:00:00.000Z alice: hi"
 * transcriptLine({ type: "joined", name: "bob", seq: 4, time: 0 }, "fr");
 * // "1970-01-01T00:00:00.000Z *** bob a rejoint le salon"
 * ```
 */
export function transcriptLine(event: ServerEvent, lang: Lang): string {
  const text = renderText(event, lang);
  if (text === "") return "";
  const time = new Date(event.time).toISOString();
  return text.split("\n").map((line) => `${time} ${line}`).join("\n");
}

/**
 * True for what the server's transcript keeps: what everyone in the room
 * saw said or happen (messages, actions, joins, leaves, renames, a topic
 * someone set, the server shutting down). Never private messages, nor what
 * one member was told.
 *
 * @example
 * ```ts
 * import { isTranscribed } from "./transcript.ts";
 * isTranscribed({ type: "joined", name: "bob", seq: 1, time: 0 }); // true
 * isTranscribed({ type: "pong", seq: 2, time: 0 }); // false
 * ```
 */
export function isTranscribed(event: ServerEvent): boolean {
  switch (event.type) {
    case "message":
    case "action":
    case "block": // issue 12: each of its lines with the block's time
    case "file": // issue 12: only files shared with the room are broadcast
    case "joined":
    case "left":
    case "renamed":
    case "shutdown":
      return true;
    case "topic":
      return event.by !== undefined;
    default:
      return false;
  }
}

/** A transcript file could not be opened; the message says so in one line. */
export class TranscriptError extends Error {
  override name = "TranscriptError";
}

/**
 * The server's transcript file, open for appending.
 *
 * @example
 * ```ts
 * import { Transcript } from "./transcript.ts";
 * const transcript = Transcript.open("class.log", "en");
 * transcript.write({ type: "message", from: "alice", text: "hi", seq: 1, time: Date.now() });
 * transcript.close();
 * ```
 */
export class Transcript {
  readonly #file: Deno.FsFile;
  readonly #lang: Lang;
  readonly #path: string;
  readonly #report: (line: string) => void;
  readonly #keeps: (event: ServerEvent) => boolean;
  #closed = false;

  private constructor(
    file: Deno.FsFile,
    path: string,
    lang: Lang,
    report: (line: string) => void,
    keeps: (event: ServerEvent) => boolean,
  ) {
    this.#file = file;
    this.#path = path;
    this.#lang = lang;
    this.#report = report;
    this.#keeps = keeps;
  }

  /**
   * Opens (creating if need be) `path` for appending. Throws
   * {@linkcode TranscriptError} with one line in `lang` when it cannot.
   *
   * @param report where a failure to write later is reported, once
   *   (default: `chat: LINE` on stderr)
   * @param keeps which events it writes (default: the room's public ones,
   *   {@linkcode isTranscribed}; `chat connect --log` adds its privates)
   */
  static open(
    path: string,
    lang: Lang,
    report: (line: string) => void = (line) => console.error(`chat: ${line}`),
    keeps: (event: ServerEvent) => boolean = isTranscribed,
  ): Transcript {
    try {
      const file = Deno.openSync(path, {
        append: true,
        create: true,
        mode: 0o600,
      });
      return new Transcript(file, path, lang, report, keeps);
    } catch (error) {
      throw new TranscriptError(
        t(lang, "transcript.cannot-open", {
          path,
          reason: reasonOf(error, lang),
        }),
      );
    }
  }

  /**
   * Appends the event's line if it is one the transcript keeps. Never
   * throws: after a failed write (disk full) the transcript stops, and says
   * so once.
   */
  write(event: ServerEvent): void {
    if (this.#closed || !this.#keeps(event)) return;
    const line = transcriptLine(event, this.#lang);
    if (line === "") return;
    const bytes = encoder.encode(line + "\n");
    try {
      let written = 0;
      while (written < bytes.length) {
        written += this.#file.writeSync(bytes.subarray(written));
      }
    } catch (error) {
      this.close();
      this.#report(
        t(this.#lang, "transcript.write-failed", {
          path: this.#path,
          reason: reasonOf(error, this.#lang),
        }),
      );
    }
  }

  /** Closes the file; later events are not written. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }
}

/** Why a file operation failed, in a few words in `lang`, without the path. */
function reasonOf(error: unknown, lang: Lang): string {
  if (error instanceof Deno.errors.PermissionDenied) {
    return t(lang, "transcript.reason.denied");
  }
  if (error instanceof Deno.errors.NotFound) {
    return t(lang, "transcript.reason.no-folder");
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return t(lang, "transcript.reason.folder");
  }
  const message = (error as Error)?.message ?? String(error);
  return message.split(/[\r\n]/)[0].replace(/,? ?(open|write)[a-z]* '.*$/, "");
}
