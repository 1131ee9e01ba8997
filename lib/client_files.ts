/**
 * `chat connect`'s side of file sharing (issue 12): `/send PATH` (to the
 * room), `/send NAME PATH` (to one person) and `/get N [DIR]`.
 *
 * Sending: the file is read and hashed, offered (`file-offer`), and once
 * the server answers `file-ready` its chunks go out as `file-chunk` lines,
 * each written after the one before, so lines typed meanwhile go out
 * between them. The room's `file` notice from this client ends it.
 *
 * Fetching: `get`, then `file-data` chunks (the first names the file) and
 * `file-end`. The file is written into DIR as it arrives, under a safe
 * base name that never replaces an existing file (`name (1).py`), and
 * checked against its SHA-256 at the end: a mismatch deletes it.
 *
 * Files over {@linkcode PROGRESS_MIN_BYTES} show progress: a status line
 * updated in place at a terminal, at most three lines (25, 50, 75 %)
 * otherwise.
 *
 * @module
 */

import type { EventOf, ServerEvent } from "./events.ts";
import { formatSize, safeFileName, sha256Hex } from "./file_store.ts";
import { type Lang, type MessageKey, t } from "./i18n.ts";

/** Raw bytes per chunk sent: a chunk line stays under the 4 KiB limit. */
export const CLIENT_CHUNK_BYTES = 2048;

/** Files at least this big show their progress. */
export const PROGRESS_MIN_BYTES = 256 * 1024;

/** How long to wait for the server's answer, or for the next chunk. */
export const FILE_ANSWER_TIMEOUT_MS = 60_000;

/** Errors that end an offer waiting for `file-ready`. */
const OFFER_REFUSALS = new Set([
  "files-off",
  "file-too-big",
  "file-busy",
  "file-join-first",
  "muted",
  "no-such-name",
  "flooding",
  "bad-field",
]);

/** Errors that end an upload under way. */
const UPLOAD_FAILURES = new Set(["file-mismatch", "file-stalled"]);

/** What {@linkcode ClientFiles} needs from the session. */
export interface ClientFilesPort {
  lang: Lang;
  /** Sends a structured request on the current connection. */
  request(request: Record<string, unknown>): Promise<void>;
  /** Says one of the client's own lines (a notice). */
  say(key: MessageKey, args?: Record<string, string | number>): void;
  /** At a terminal: the status line (undefined: the prompt again). */
  setStatus(text: string | undefined): void;
  /** True at a terminal. */
  isTerminal(): boolean;
  /** The person's current name in the room. */
  ownName(): string;
}

interface PendingUpload {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** Settles with the upload number, or undefined when refused. */
  ready?: (upload: number | undefined) => void;
  /** Settles when the room's notice came (true) or it failed (false). */
  done?: (shared: boolean) => void;
  failed: boolean;
}

interface PendingDownload {
  readonly id: number;
  readonly dir: string;
  file?: Deno.FsFile;
  path?: string;
  name?: string;
  size?: number;
  sha256?: string;
  received: number;
  /** Writes in order, one after the other. */
  writes: Promise<void>;
  writeError?: string;
  progress: Progress | undefined;
  finish(): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * `/send` and `/get` for one `chat connect` session.
 *
 * @example
 * ```ts
 * import { ClientFiles } from "./client_files.ts";
 * declare const files: ClientFiles;
 * const handled = files.typed("/get 3 downloads"); // a promise: handled
 * files.typed("hello"); // undefined: an ordinary line
 * ```
 */
export class ClientFiles {
  readonly #port: ClientFilesPort;
  #upload: PendingUpload | undefined;
  readonly #downloads = new Map<number, PendingDownload>();

  constructor(port: ClientFilesPort) {
    this.#port = port;
  }

  /**
   * A typed line: a promise when it was `/send` or `/get` (settles when
   * the transfer ends), undefined for any other line.
   */
  typed(line: string): Promise<void> | undefined {
    const match = FILE_COMMAND.exec(line);
    if (!match) return undefined;
    const rest = match[2] ?? "";
    return match[1].toLowerCase() === "send"
      ? this.#send(rest)
      : this.#get(rest);
  }

  /**
   * An event from the server: true when it was part of a transfer and is
   * not to be shown (chunks, answers); file notices and errors are shown.
   */
  receive(event: ServerEvent): boolean {
    switch (event.type) {
      case "file-ready":
        this.#upload?.ready?.(event.upload);
        return true;
      case "file-data":
        this.#data(event);
        return true;
      case "file-end":
        this.#end(event);
        return true;
      case "file": {
        const upload = this.#upload;
        if (
          upload && event.from === this.#port.ownName() &&
          event.sha256 === upload.sha256
        ) upload.done?.(true);
        return false;
      }
      case "error":
        this.#error(event);
        return false;
    }
    return false;
  }

  /** The connection dropped: transfers under way fail. */
  disconnected(): void {
    const upload = this.#upload;
    if (upload && !upload.failed) {
      upload.failed = true;
      this.#port.say("client.file.upload-interrupted", { name: upload.name });
      upload.ready?.(undefined);
      upload.done?.(false);
    }
    for (const download of [...this.#downloads.values()]) {
      this.#port.say("client.file.interrupted", { id: download.id });
      void this.#discard(download);
    }
  }

  async #send(rest: string): Promise<void> {
    const port = this.#port;
    if (rest === "") return port.say("client.file.usage-send");
    if (this.#upload) return port.say("client.file.busy");
    // `/send PATH`, or `/send NAME PATH` when the whole is not a file.
    let to: string | undefined;
    let path = rest;
    if (!await isFile(rest)) {
      const space = rest.search(/\s/);
      if (space > 0) {
        to = rest.slice(0, space);
        path = rest.slice(space).trim();
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      return port.say("client.file.cannot-read", {
        path,
        message: errorMessage(error),
      });
    }
    const upload: PendingUpload = {
      name: safeFileName(path),
      size: bytes.length,
      sha256: await sha256Hex(bytes),
      failed: false,
    };
    this.#upload = upload;
    try {
      const ready = new Promise<number | undefined>((resolve) =>
        upload.ready = resolve
      );
      const done = new Promise<boolean>((resolve) => upload.done = resolve);
      await port.request({
        type: "file-offer",
        name: upload.name,
        size: upload.size,
        sha256: upload.sha256,
        ...(to === undefined ? {} : { to }),
      });
      const id = await withTimeout(ready, FILE_ANSWER_TIMEOUT_MS);
      upload.ready = undefined;
      if (id === undefined || upload.failed) return;
      const progress = upload.size >= PROGRESS_MIN_BYTES
        ? new Progress(
          port,
          "client.file.progress-up",
          upload.name,
          upload.size,
        )
        : undefined;
      for (let offset = 0; offset < bytes.length;) {
        if (upload.failed) break;
        const end = Math.min(bytes.length, offset + CLIENT_CHUNK_BYTES);
        await port.request({
          type: "file-chunk",
          upload: id,
          data: bytes.subarray(offset, end).toBase64(),
        });
        offset = end;
        progress?.update(offset);
      }
      progress?.end();
      await withTimeout(done, FILE_ANSWER_TIMEOUT_MS);
    } finally {
      if (this.#upload === upload) this.#upload = undefined;
    }
  }

  async #get(rest: string): Promise<void> {
    const port = this.#port;
    const match = /^(\d{1,9})(?:\s+(.+))?$/.exec(rest);
    if (!match) return port.say("client.file.usage-get");
    const id = Number(match[1]);
    const dir = match[2] ?? ".";
    if (this.#downloads.has(id)) return port.say("client.file.busy");
    try {
      if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a folder");
    } catch (error) {
      return port.say("client.file.cannot-save", {
        id,
        dir,
        message: errorMessage(error),
      });
    }
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => finish = resolve);
    const download: PendingDownload = {
      id,
      dir,
      received: 0,
      writes: Promise.resolve(),
      progress: undefined,
      finish,
      timer: undefined,
    };
    this.#downloads.set(id, download);
    this.#armTimeout(download);
    await port.request({ type: "get", id });
    await finished;
  }

  /** A download that hears nothing for a minute is given up. */
  #armTimeout(download: PendingDownload): void {
    clearTimeout(download.timer);
    download.timer = setTimeout(() => {
      if (this.#downloads.get(download.id) !== download) return;
      this.#port.say("client.file.interrupted", { id: download.id });
      void this.#discard(download);
    }, FILE_ANSWER_TIMEOUT_MS);
  }

  #data(event: EventOf<"file-data">): void {
    const download = this.#downloads.get(event.id);
    if (!download) return;
    this.#armTimeout(download);
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.fromBase64(event.data);
    } catch {
      bytes = new Uint8Array();
    }
    if (event.offset === 0 && download.file === undefined) {
      download.name = safeFileName(event.name ?? `file-${event.id}`);
      download.size = event.size;
      download.sha256 = event.sha256;
      if ((event.size ?? 0) >= PROGRESS_MIN_BYTES) {
        download.progress = new Progress(
          this.#port,
          "client.file.progress-down",
          download.name,
          event.size ?? 0,
        );
      }
      download.writes = download.writes.then(() => this.#open(download));
    }
    download.received += bytes.length;
    const received = download.received;
    download.writes = download.writes.then(async () => {
      if (!download.file || download.writeError) return;
      try {
        for (let offset = 0; offset < bytes.length;) {
          offset += await download.file.write(bytes.subarray(offset));
        }
        download.progress?.update(received);
      } catch (error) {
        download.writeError = errorMessage(error);
      }
    });
  }

  /** Creates the file in DIR under a name no file has yet. */
  async #open(download: PendingDownload): Promise<void> {
    const name = download.name ?? "file";
    const dot = name.lastIndexOf(".");
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const extension = dot > 0 ? name.slice(dot) : "";
    for (let n = 0; n < 1000; n++) {
      const candidate = n === 0 ? name : `${stem} (${n})${extension}`;
      const path = joinPath(download.dir, candidate);
      try {
        // createNew: never replaces a file, even one made meanwhile.
        download.file = await Deno.open(path, {
          write: true,
          createNew: true,
        });
        download.path = path;
        return;
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue;
        download.writeError = errorMessage(error);
        return;
      }
    }
    download.writeError = "no free name";
  }

  #end(event: EventOf<"file-end">): void {
    const download = this.#downloads.get(event.id);
    if (!download) return;
    clearTimeout(download.timer);
    download.writes = download.writes.then(async () => {
      download.progress?.end();
      const port = this.#port;
      try {
        download.file?.close();
      } catch { /* already closed */ }
      download.file = undefined;
      if (download.writeError || !download.path) {
        port.say("client.file.cannot-save", {
          id: download.id,
          dir: download.dir,
          message: download.writeError ?? "",
        });
        await removeQuietly(download.path);
      } else {
        const bytes = await Deno.readFile(download.path).catch(() => undefined);
        const sha256 = bytes && await sha256Hex(bytes);
        if (
          !bytes || bytes.length !== event.size || sha256 !== event.sha256
        ) {
          await removeQuietly(download.path);
          port.say("client.file.mismatch", {
            id: download.id,
            path: download.path,
          });
        } else {
          port.say("client.file.saved", {
            id: download.id,
            path: download.path,
            size: formatSize(bytes.length, port.lang),
          });
        }
      }
      this.#downloads.delete(download.id);
      download.finish();
    });
  }

  #error(event: EventOf<"error">): void {
    const upload = this.#upload;
    if (upload?.ready && OFFER_REFUSALS.has(event.code)) {
      upload.failed = true;
      upload.ready(undefined);
      upload.done?.(false);
    } else if (upload && UPLOAD_FAILURES.has(event.code)) {
      upload.failed = true;
      upload.done?.(false);
    }
    if (event.code === "file-gone" || event.code === "files-off") {
      const id = event.code === "file-gone" ? event.args.id : undefined;
      for (const download of [...this.#downloads.values()]) {
        if (id === undefined || download.id === id) {
          void this.#discard(download);
        }
      }
    }
  }

  /** Stops a download: its partial file is deleted. */
  async #discard(download: PendingDownload): Promise<void> {
    clearTimeout(download.timer);
    this.#downloads.delete(download.id);
    download.progress?.end();
    await download.writes;
    try {
      download.file?.close();
    } catch { /* already closed */ }
    download.file = undefined;
    await removeQuietly(download.path);
    download.finish();
  }
}

/**
 * Progress of one transfer: the status line at a terminal, updated in
 * place; at most three lines otherwise (25, 50, 75 %).
 *
 * @example
 * ```ts
 * import { type ClientFilesPort, Progress } from "./client_files.ts";
 * declare const port: ClientFilesPort;
 * const progress = new Progress(port, "client.file.progress-up", "x.py", 1000);
 * progress.update(500); // "sending "x.py": 50% of 1000 B"
 * progress.end();
 * ```
 */
export class Progress {
  readonly #port: ClientFilesPort;
  readonly #key: MessageKey;
  readonly #name: string;
  readonly #size: number;
  #shown = -1;

  constructor(
    port: ClientFilesPort,
    key: MessageKey,
    name: string,
    size: number,
  ) {
    this.#port = port;
    this.#key = key;
    this.#name = name;
    this.#size = size;
    this.update(0);
  }

  update(done: number): void {
    const percent = this.#size > 0 ? Math.floor(done * 100 / this.#size) : 100;
    const port = this.#port;
    const step = port.isTerminal() ? percent : Math.floor(percent / 25) * 25;
    if (
      step === this.#shown ||
      (!port.isTerminal() && (step === 0 || step >= 100))
    ) {
      return;
    }
    this.#shown = step;
    const args = {
      name: this.#name,
      percent: step,
      size: formatSize(this.#size, port.lang),
    };
    if (port.isTerminal()) port.setStatus(t(port.lang, this.#key, args));
    else port.say(this.#key, args);
  }

  end(): void {
    if (this.#port.isTerminal()) this.#port.setStatus(undefined);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\")
    ? dir + name
    : `${dir}/${name}`;
}

async function removeQuietly(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  try {
    await Deno.remove(path);
  } catch { /* already gone */ }
}

function errorMessage(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0];
}

/** `promise`, or undefined after `ms`. */
function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) =>
      timer = setTimeout(() => resolve(undefined), ms)
    ),
  ]).finally(() => clearTimeout(timer));
}

/** `/send ...` or `/get ...`, as typed. */
const FILE_COMMAND = /^\s*\/(send|get)(?:\s+(.*?))?\s*$/i;

/**
 * Whether a typed line is a file command, `/send` or `/get`, which
 * `chat connect` runs itself rather than sending it as a line.
 *
 * @example
 * ```ts
 * isFileCommand("/get 3 ~/Downloads"); // true
 * isFileCommand("/getaway"); // false
 * ```
 */
export function isFileCommand(line: string): boolean {
  return FILE_COMMAND.test(line);
}
