/**
 * `chat connect --log FILE`: the session's transcript, in the server's
 * format (`transcript.ts`: ISO 8601 time, a space, the plain-text line),
 * with the private messages this person sent and received besides what the
 * room's transcript keeps. Each line is appended with one synchronous
 * write, so a crash loses nothing already shown. Passwords never reach it:
 * only events from the server are written, and `/pass` is not one.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import { type Lang, t } from "./i18n.ts";
import { isTranscribed, transcriptLine } from "./transcript.ts";

const encoder = new TextEncoder();

/**
 * True for what the client's transcript keeps: what the server's keeps,
 * and private messages (to or from this person: the only ones it gets).
 *
 * @example
 * ```ts
 * import { isLogged } from "./client_log.ts";
 * isLogged({ type: "private", from: "bob", to: "alice", text: "psst", seq: 1, time: 0 }); // true
 * isLogged({ type: "pong", seq: 2, time: 0 }); // false
 * ```
 */
export function isLogged(event: ServerEvent): boolean {
  return event.type === "private" || isTranscribed(event);
}

/** The transcript file could not be opened; the message says it in one line. */
export class ClientLogError extends Error {
  override name = "ClientLogError";
}

/**
 * The session's transcript file, open for appending.
 *
 * @example
 * ```ts
 * import { ClientLog } from "./client_log.ts";
 * const log = ClientLog.open("chat.log", "en", console.error);
 * log.write({ type: "message", from: "bob", text: "hi", seq: 1, time: Date.now() });
 * log.close();
 * ```
 */
export class ClientLog {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #lang: Lang;
  readonly #report: (line: string) => void;
  #closed = false;

  private constructor(
    file: Deno.FsFile,
    path: string,
    lang: Lang,
    report: (line: string) => void,
  ) {
    this.#file = file;
    this.#path = path;
    this.#lang = lang;
    this.#report = report;
  }

  /**
   * Opens (creating it, owner-only, if need be) `path` for appending;
   * throws {@linkcode ClientLogError} with one line in `lang` when it
   * cannot. A later failure to write is told once to `report`.
   */
  static open(
    path: string,
    lang: Lang,
    report: (line: string) => void,
  ): ClientLog {
    try {
      const file = Deno.openSync(path, {
        append: true,
        create: true,
        mode: 0o600,
      });
      return new ClientLog(file, path, lang, report);
    } catch (error) {
      throw new ClientLogError(
        t(lang, "transcript.cannot-open", {
          path,
          reason: reasonOf(error, lang),
        }),
      );
    }
  }

  /**
   * Appends the event's line(s) if the transcript keeps it, in the
   * person's language (as the server's transcript is in the server's).
   * Never throws: after a failed write it stops, and says so once.
   */
  write(event: ServerEvent): void {
    if (this.#closed || !isLogged(event)) return;
    const line = transcriptLine(event, this.#lang);
    if (line === "") return;
    const bytes = encoder.encode(line + "\n");
    try {
      for (let written = 0; written < bytes.length;) {
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

/** Why a file operation failed, in a few words in `lang`. */
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
