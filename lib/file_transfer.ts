/**
 * File sharing, the server's side (issue 12): a structured client offers a
 * file (`file-offer`), the server answers `file-ready`, the client sends
 * its bytes as `file-chunk` lines between its typed lines, and once the
 * size and SHA-256 match the room (or the sender and one recipient) gets
 * a `file` event. `get` sends a kept file back as `file-data` events then
 * `file-end`, one small batch at a time and only when that connection's
 * outgoing queue is empty, so chat lines never wait behind a file.
 *
 * Chunks are not chat lines: flood control does not count them (the offer
 * and the `get` count as one line each), but each connection has its own
 * byte budget ({@linkcode UPLOAD_BYTES_PER_SECOND}): past it, the server
 * reads that connection more slowly, and TCP slows the sender down. One
 * upload at a time per connection, a few downloads queued, and an upload
 * with no chunk for {@linkcode UPLOAD_STALL_MS} is cancelled.
 *
 * @module
 */

import type { EventBody } from "./events.ts";
import {
  type FileLimits,
  FileStore,
  safeFileName,
  sha256Hex,
  type StoredFile,
} from "./file_store.ts";
import type { Member, MemberState, Room } from "./room.ts";

/** Raw bytes per `file-chunk` that `chat connect` and the page send. */
export const UPLOAD_CHUNK_BYTES = 2048;

/** Raw bytes per `file-data` event. */
export const DOWNLOAD_CHUNK_BYTES = 8192;

/**
 * A download's next chunks are queued only while less than this is
 * waiting to be written to its connection.
 */
export const DOWNLOAD_LOW_WATER_BYTES = 16 * 1024;

/** File bytes a connection may upload per second, on average. */
export const UPLOAD_BYTES_PER_SECOND = 4 * 1024 * 1024;

/** ... and in one burst. */
export const UPLOAD_BURST_BYTES = 512 * 1024;

/** An upload with no chunk for this long is cancelled. */
export const UPLOAD_STALL_MS = 30_000;

/** Downloads one connection may have queued, the current one included. */
export const MAX_QUEUED_DOWNLOADS = 4;

/** What a `file-offer` asks. */
export interface FileOffer {
  name: string;
  size: number;
  sha256: string;
  to?: string;
}

/** What a {@linkcode FileSession} needs from its connection. */
export interface FileSessionPort {
  /** Bytes queued or being written to this connection. */
  pendingBytes(): number;
}

/**
 * The server's shared files and the rules for sharing them; one per
 * server.
 *
 * @example
 * ```ts
 * import { FileSharing } from "./file_transfer.ts";
 * import { Room } from "./room.ts";
 * const sharing = new FileSharing(new Room(), {
 *   maxFileBytes: 2 * 1024 * 1024,
 *   maxTotalBytes: 64 * 1024 * 1024,
 * });
 * sharing.store?.count; // 0
 * ```
 */
export class FileSharing {
  /** The kept files; undefined with `--no-files`. */
  readonly store: FileStore | undefined;
  readonly room: Room;
  /**
   * With `--web`: true, and the page's address (`http://HOST:PORT`) when
   * known, for the links in `file` events.
   */
  web: { base?: string } | undefined;
  /** Clock in ms, for the byte budget and stalls; tests pass their own. */
  readonly now: () => number;

  constructor(
    room: Room,
    limits: FileLimits | undefined,
    now: () => number = () => performance.now(),
  ) {
    this.room = room;
    this.store = limits ? new FileStore(limits) : undefined;
    this.now = now;
  }

  /** A connection's own side of sharing. */
  session(member: Member, port: FileSessionPort): FileSession {
    return new FileSession(this, member as MemberState, port);
  }

  /** The web path of a file: `/files/N/KEY/NAME`. */
  webPath(file: StoredFile): string {
    return `/files/${file.id}/${file.key}/${encodeURIComponent(file.name)}`;
  }

  /**
   * The file a web link names, if still kept: the number and the key
   * must both match.
   */
  fileForWeb(id: number, key: string): StoredFile | undefined {
    const file = this.store?.get(id);
    return file && file.key === key ? file : undefined;
  }

  /** Tells the room, or the sender and the recipient, about a new file. */
  announce(file: StoredFile): void {
    const body: EventBody = {
      type: "file",
      id: file.id,
      from: file.from,
      name: file.name,
      size: file.size,
      sha256: file.sha256,
    };
    if (file.to !== undefined) body.to = file.to;
    if (this.web) {
      body.web = this.webPath(file);
      if (this.web.base) body.url = this.web.base + body.web;
    }
    if (file.to === undefined) return this.room.broadcast(body);
    // One event, the same sequence number, for the two of them only.
    const event = this.room.eventFor(body);
    const told = new Set<Member>();
    for (const name of [file.from, file.to]) {
      const member = this.room.find(name) as MemberState | undefined;
      if (member && !told.has(member)) {
        told.add(member);
        member.peer.send(event);
      }
    }
  }

  /** Forgets every file (the server stops). */
  clear(): void {
    this.store?.clear();
  }
}

/** An upload under way. */
interface Upload {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly to?: string;
  readonly parts: Uint8Array[];
  received: number;
  lastChunkAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A download under way or queued. */
interface Download {
  readonly file: StoredFile;
  offset: number;
  /** The first chunk, with the file's name, went out. */
  started: boolean;
}

/**
 * One connection's uploads and downloads. Made the first time the
 * connection sends a file request, so plain clients never have one.
 */
export class FileSession {
  readonly #sharing: FileSharing;
  readonly #member: MemberState;
  readonly #port: FileSessionPort;
  #upload: Upload | undefined;
  #lastUploadId = 0;
  /** Uploads that failed: their late chunks are dropped without a word. */
  #failedUpload = 0;
  readonly #downloads: Download[] = [];
  /** Upload bytes this connection may still send at once. */
  #budget = UPLOAD_BURST_BYTES;
  #budgetAt: number;
  /** While over budget: settles when reading may go on. */
  #pause: Promise<void> | undefined;
  #closed = false;

  constructor(
    sharing: FileSharing,
    member: MemberState,
    port: FileSessionPort,
  ) {
    this.#sharing = sharing;
    this.#member = member;
    this.#port = port;
    this.#budgetAt = sharing.now();
  }

  /** `file-offer`: answered with `file-ready`, or an error. */
  offer(offer: FileOffer): void {
    const room = this.#sharing.room;
    const member = this.#member;
    const store = this.#sharing.store;
    if (!store) return room.tellError(member, { code: "files-off" });
    if (!member.present) {
      return room.tellError(member, { code: "file-join-first" });
    }
    if (!room.withinFloodLimit(member)) return;
    if (member.muted) return room.tellError(member, { code: "muted" });
    if (this.#upload) return room.tellError(member, { code: "file-busy" });
    if (!store.accepts(offer.size)) {
      return room.tellError(member, {
        code: "file-too-big",
        args: {
          size: offer.size,
          max: Math.min(store.limits.maxFileBytes, store.limits.maxTotalBytes),
        },
      });
    }
    let to: string | undefined;
    if (offer.to !== undefined) {
      const recipient = room.find(offer.to);
      if (!recipient) {
        return room.tellError(member, {
          code: "no-such-name",
          args: { name: offer.to.slice(0, 64) },
        });
      }
      to = recipient.name;
    }
    const upload: Upload = {
      id: ++this.#lastUploadId,
      name: safeFileName(offer.name),
      size: offer.size,
      sha256: offer.sha256.toLowerCase(),
      to,
      parts: [],
      received: 0,
      lastChunkAt: this.#sharing.now(),
      timer: undefined,
    };
    this.#upload = upload;
    room.tell(member, { type: "file-ready", upload: upload.id });
    if (upload.size === 0) return void this.#finish(upload);
    this.#watchForStall(upload);
  }

  /** `file-chunk`: the next bytes of the upload under way. */
  chunk(uploadId: number, data: string): void {
    const room = this.#sharing.room;
    const upload = this.#upload;
    if (!upload || upload.id !== uploadId || upload.received >= upload.size) {
      if (uploadId === this.#failedUpload || uploadId === upload?.id) return;
      return room.tellError(this.#member, { code: "file-no-upload" });
    }
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.fromBase64(data);
    } catch {
      this.#fail(upload, "file-mismatch");
      return;
    }
    this.#spend(bytes.length);
    if (upload.received + bytes.length > upload.size) {
      return this.#fail(upload, "file-mismatch");
    }
    upload.parts.push(bytes);
    upload.received += bytes.length;
    upload.lastChunkAt = this.#sharing.now();
    if (upload.received === upload.size) void this.#finish(upload);
  }

  /** `get`: sends file `id` in chunks, after the downloads queued. */
  get(id: number): void {
    const room = this.#sharing.room;
    const member = this.#member;
    const store = this.#sharing.store;
    if (!store) return room.tellError(member, { code: "files-off" });
    if (!member.present && !member.watching) {
      return room.tellError(member, { code: "password-first" });
    }
    if (!room.withinFloodLimit(member)) return;
    const file = store.get(id);
    // A file for two is not there for anyone else.
    const mayHave = file !== undefined &&
      (file.to === undefined ||
        (member.present &&
          (member.name === file.from || member.name === file.to)));
    if (!mayHave) {
      return room.tellError(member, { code: "file-gone", args: { id } });
    }
    if (this.#downloads.length >= MAX_QUEUED_DOWNLOADS) {
      return room.tellError(member, { code: "file-busy" });
    }
    this.#downloads.push({ file, offset: 0, started: false });
    this.pump();
  }

  /**
   * Queues the next chunks of the current download while the connection's
   * queue is nearly empty. Called after `get` and each time the queue has
   * been written out.
   */
  pump(): void {
    const room = this.#sharing.room;
    while (
      !this.#closed && this.#downloads.length > 0 &&
      this.#port.pendingBytes() < DOWNLOAD_LOW_WATER_BYTES
    ) {
      const download = this.#downloads[0];
      const { file } = download;
      if (download.offset < file.size || !download.started) {
        const end = Math.min(file.size, download.offset + DOWNLOAD_CHUNK_BYTES);
        const data = file.bytes.subarray(download.offset, end).toBase64();
        room.tell(
          this.#member,
          download.started
            ? { type: "file-data", id: file.id, offset: download.offset, data }
            : {
              type: "file-data",
              id: file.id,
              offset: 0,
              data,
              name: file.name,
              size: file.size,
              sha256: file.sha256,
            },
        );
        download.started = true;
        download.offset = end;
        continue;
      }
      this.#downloads.shift();
      room.tell(this.#member, {
        type: "file-end",
        id: file.id,
        size: file.size,
        sha256: file.sha256,
      });
    }
  }

  /** True while downloads are queued (the queue's idle hook is wanted). */
  get downloading(): boolean {
    return this.#downloads.length > 0;
  }

  /**
   * While this connection is over its byte budget, a promise that settles
   * when reading may go on; undefined otherwise.
   */
  readPause(): Promise<void> | undefined {
    return this.#pause;
  }

  /** The connection is gone: the upload is dropped, downloads stop. */
  close(): void {
    this.#closed = true;
    if (this.#upload) clearTimeout(this.#upload.timer);
    this.#upload = undefined;
    this.#downloads.length = 0;
  }

  /** Takes `bytes` from the budget; past it, reading pauses a while. */
  #spend(bytes: number): void {
    const now = this.#sharing.now();
    this.#budget = Math.min(
      UPLOAD_BURST_BYTES,
      this.#budget + (now - this.#budgetAt) * UPLOAD_BYTES_PER_SECOND / 1000,
    );
    this.#budgetAt = now;
    this.#budget -= bytes;
    if (this.#budget >= 0 || this.#pause) return;
    const waitMs = -this.#budget * 1000 / UPLOAD_BYTES_PER_SECOND;
    this.#pause = new Promise((resolve) =>
      setTimeout(() => {
        this.#pause = undefined;
        resolve();
      }, Math.ceil(waitMs))
    );
  }

  /** Cancels `upload` if no chunk comes for {@linkcode UPLOAD_STALL_MS}. */
  #watchForStall(upload: Upload): void {
    const check = () => {
      if (this.#upload !== upload) return;
      const quiet = this.#sharing.now() - upload.lastChunkAt;
      if (quiet >= UPLOAD_STALL_MS) return this.#fail(upload, "file-stalled");
      upload.timer = setTimeout(check, UPLOAD_STALL_MS - quiet);
    };
    upload.timer = setTimeout(check, UPLOAD_STALL_MS);
  }

  #fail(upload: Upload, code: "file-mismatch" | "file-stalled"): void {
    clearTimeout(upload.timer);
    if (this.#upload === upload) this.#upload = undefined;
    this.#failedUpload = upload.id;
    if (this.#closed) return;
    const room = this.#sharing.room;
    if (code === "file-stalled") {
      room.tellError(this.#member, {
        code,
        args: { name: upload.name, seconds: UPLOAD_STALL_MS / 1000 },
      });
    } else {
      room.tellError(this.#member, { code, args: { name: upload.name } });
    }
  }

  /** All bytes are in: checked, kept, announced. */
  async #finish(upload: Upload): Promise<void> {
    clearTimeout(upload.timer);
    const bytes = new Uint8Array(upload.size);
    let offset = 0;
    for (const part of upload.parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    upload.parts.length = 0;
    const sha256 = await sha256Hex(bytes);
    if (this.#closed || this.#upload !== upload) return;
    if (sha256 !== upload.sha256) return this.#fail(upload, "file-mismatch");
    this.#upload = undefined;
    const member = this.#member;
    const store = this.#sharing.store;
    if (!store || !member.present) return;
    const file = store.add({
      name: upload.name,
      sha256,
      from: member.name,
      ...(upload.to === undefined ? {} : { to: upload.to }),
      bytes,
    });
    this.#sharing.announce(file);
  }
}
