/**
 * Shared files, kept in memory while the server runs (issue 12): each file
 * at most `maxFileBytes`, all of them at most `maxTotalBytes`; when a new
 * file does not fit, the oldest ones are dropped first. Nothing is written
 * to disk, and everything is forgotten when the server stops.
 *
 * @module
 */

/** Largest shared file by default (`--file-max-bytes`): 2 MiB. */
export const DEFAULT_FILE_MAX_BYTES = 2 * 1024 * 1024;

/** Most bytes of all shared files together by default (`--files-max-bytes`). */
export const DEFAULT_FILES_MAX_BYTES = 64 * 1024 * 1024;

/** Longest safe file name kept, in characters. */
const MAX_NAME_CHARS = 100;

/** One shared file. */
export interface StoredFile {
  /** Its number in the room, from 1 (`/get N`). */
  readonly id: number;
  /** Random, unguessable part of its web link: the page needs no login. */
  readonly key: string;
  /** A safe base name (see {@linkcode safeFileName}). */
  readonly name: string;
  readonly size: number;
  /** SHA-256 of the bytes, 64 lowercase hexadecimal digits. */
  readonly sha256: string;
  /** Who shared it. */
  readonly from: string;
  /** Only this member (and the sender) may fetch it, when set. */
  readonly to?: string;
  readonly bytes: Uint8Array;
}

/**
 * A file name reduced to a safe base name: only the part after the last
 * `/` or `\`, without control characters or leading dots, at most 100
 * characters; "file" when nothing is left.
 *
 * @example
 * ```ts
 * import { safeFileName } from "./file_store.ts";
 * safeFileName("../../etc/passwd"); // "passwd"
 * safeFileName("C:\\Users\\x\\notes.txt"); // "notes.txt"
 * safeFileName(".."); // "file"
 * ```
 */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  // deno-lint-ignore no-control-regex
  let safe = base.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029"]/g, "")
    .replace(/^[.\s]+/, "").trim();
  if ([...safe].length > MAX_NAME_CHARS) {
    const dot = safe.lastIndexOf(".");
    const extension = dot > 0 && safe.length - dot <= 10 ? safe.slice(dot) : "";
    safe = [...safe].slice(0, MAX_NAME_CHARS - extension.length).join("") +
      extension;
  }
  return safe === "" ? "file" : safe;
}

/** Limits of a {@linkcode FileStore}. */
export interface FileLimits {
  /** Largest file accepted, in bytes. */
  maxFileBytes: number;
  /** Most bytes kept for all files together. */
  maxTotalBytes: number;
}

/**
 * The server's shared files, oldest first.
 *
 * @example
 * ```ts
 * import { FileStore } from "./file_store.ts";
 * const store = new FileStore({ maxFileBytes: 10, maxTotalBytes: 15 });
 * const bytes = new Uint8Array(8);
 * store.add({ name: "a", sha256: "00", from: "alice", bytes }).id; // 1
 * store.add({ name: "b", sha256: "00", from: "alice", bytes }).id; // 2
 * store.get(1); // undefined: dropped to make room for file 2
 * ```
 */
export class FileStore {
  readonly limits: FileLimits;
  readonly #files = new Map<number, StoredFile>();
  #totalBytes = 0;
  #lastId = 0;

  constructor(limits: FileLimits) {
    this.limits = {
      maxFileBytes: limits.maxFileBytes,
      maxTotalBytes: Math.max(limits.maxTotalBytes, 0),
    };
  }

  /** Bytes of all files kept. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** How many files are kept. */
  get count(): number {
    return this.#files.size;
  }

  /** True when a file of `size` bytes may be shared at all. */
  accepts(size: number): boolean {
    return size <= this.limits.maxFileBytes &&
      size <= this.limits.maxTotalBytes;
  }

  /**
   * Keeps a file under the next number, dropping the oldest files until it
   * fits. The caller checked {@linkcode FileStore.accepts}.
   */
  add(
    file: Omit<StoredFile, "id" | "key" | "size">,
  ): StoredFile {
    const size = file.bytes.length;
    for (const [id, old] of this.#files) {
      if (this.#totalBytes + size <= this.limits.maxTotalBytes) break;
      this.#files.delete(id);
      this.#totalBytes -= old.size;
    }
    const stored: StoredFile = {
      ...file,
      id: ++this.#lastId,
      key: randomHex(8),
      size,
    };
    this.#files.set(stored.id, stored);
    this.#totalBytes += size;
    return stored;
  }

  /** The file numbered `id`, if still kept. */
  get(id: number): StoredFile | undefined {
    return this.#files.get(id);
  }

  /** Forgets every file. */
  clear(): void {
    this.#files.clear();
    this.#totalBytes = 0;
  }
}

/** `count` random bytes as hexadecimal digits. */
export function randomHex(count: number): string {
  let hex = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(count))) {
    hex += byte.toString(16).padStart(2, "0");
  }
  return hex;
}

/**
 * The SHA-256 of `bytes` as 64 lowercase hexadecimal digits.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./file_store.ts";
 * await sha256Hex(new Uint8Array()); // "e3b0c442...b855"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * A file size for people: `812 B`, `3.4 KiB`, `1.5 MiB`; in French
 * `812 o`, `3,4 Kio`, `1,5 Mio`.
 *
 * @example
 * ```ts
 * import { formatSize } from "./file_store.ts";
 * formatSize(1572864); // "1.5 MiB"
 * formatSize(1572864, "fr"); // "1,5 Mio"
 * ```
 */
export function formatSize(bytes: number, lang: "en" | "fr" = "en"): string {
  const french = lang === "fr";
  if (bytes < 1024) return `${bytes} ${french ? "o" : "B"}`;
  const units = french ? ["Kio", "Mio", "Gio"] : ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value >= 100 ? value.toFixed(0) : value.toFixed(1);
  const number = shown.replace(/\.0$/, "");
  return `${french ? number.replace(".", ",") : number} ${units[unit]}`;
}
