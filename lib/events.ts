/**
 * What the room says, as typed events rather than sentences. The room
 * produces these; each kind of client turns them into its own form at the
 * edge: plain English or French text for `nc`, `telnet` and the course's
 * Python clients (`render_text.ts`), JSON Lines for `chat connect` and the
 * browser (`render_json.ts`). `docs/PROTOCOL.md` documents every type.
 *
 * @module
 */

/** Why someone left the room, or why the server disconnected them. */
export type LeaveReason =
  | "kicked"
  | "banned"
  | "flooding"
  | "too-slow"
  | "timed-out"
  | "connection-lost"
  /** The server was full: a newcomer took the seat of this silent watcher. */
  | "room-full";

/** Every leave reason, for validation and catalogue tests. */
export const LEAVE_REASONS: readonly LeaveReason[] = [
  "kicked",
  "banned",
  "flooding",
  "too-slow",
  "timed-out",
  "connection-lost",
  "room-full",
];

/** Why a name was refused as malformed. */
export type NameProblem = "empty" | "too-long" | "characters" | "start";

/**
 * Notices: something the server tells, with a code a client can translate
 * and the arguments the sentence needs.
 */
export type Notice =
  | { code: "greeting" }
  | { code: "password-needed" }
  | { code: "password-accepted" }
  | { code: "no-password" }
  | { code: "bye" }
  | { code: "muted"; args: { name: string } }
  | { code: "unmuted"; args: { name: string } }
  | { code: "address-banned"; args: { address: string } }
  /** To the host: wrong passwords from one address locked it out. */
  | {
    code: "password-lockout";
    args: { address: string; failures: number; seconds: number };
  }
  /** To the host: too many wrong passwords in the room; everyone waits. */
  | {
    code: "password-room-lockout";
    args: { failures: number; seconds: number };
  }
  /** To the host: `/stop` with people connected; a second one shuts down. */
  | { code: "stop-confirm"; args: { count: number; seconds: number } }
  /** To the host: `stop` or `/quit`, which do not shut the room down. */
  | { code: "how-to-stop"; args: { typed: string } }
  /** Before a replay of earlier lines (issue 9): `count` events follow. */
  | { code: "history-start"; args: { count: number } }
  /** After a replay of earlier lines: `count` events were replayed. */
  | { code: "history-end"; args: { count: number } };

/** Errors: something this client did was refused. */
export type ErrorNotice =
  | { code: "unknown-command"; args: { command: string } }
  | { code: "usage"; args: { command: string } }
  | { code: "name-invalid"; args: { name: string; problem: NameProblem } }
  | { code: "name-taken"; args: { name: string } }
  | { code: "name-reserved"; args: { name: string } }
  /**
   * The name belongs to a member whose connection dropped; it is kept for
   * them `seconds` more (issue 9).
   */
  | { code: "name-away"; args: { name: string; seconds: number } }
  /** `resume` found no name kept for that token: join with `/nick` instead. */
  | { code: "resume-failed"; args: { name: string } }
  | { code: "same-name"; args: { name: string } }
  | { code: "no-such-name"; args: { name: string } }
  | { code: "password-first" }
  | { code: "wrong-password" }
  | { code: "password-timeout"; args: { seconds: number } }
  /** Too many wrong passwords: no `/pass` is compared for `seconds`. */
  | { code: "password-locked"; args: { seconds: number } }
  | { code: "flooding"; args: { burst: number; rate: number } }
  | { code: "muted" }
  | { code: "host-only-topic" }
  | { code: "cannot-moderate-host"; args: { command: string } }
  | { code: "no-address"; args: { name: string } }
  | { code: "already-muted"; args: { name: string } }
  | { code: "not-muted"; args: { name: string } }
  | { code: "line-too-long"; args: { limit: number } }
  | { code: "full"; args: { max: number } }
  | { code: "too-many-connections"; args: { limit: number } }
  | { code: "banned" }
  | { code: "internal-error" }
  | { code: "bad-json" }
  | { code: "unknown-type"; args: { type: string } }
  | { code: "unknown-field"; args: { field: string } }
  | { code: "bad-field"; args: { field: string } }
  | {
    code: "protocol-version";
    args: { asked: string; supported: number[] };
  }
  // --- issue 12: code blocks ---
  /**
   * A code block over the limits (`--block-lines`, `--block-bytes`): it
   * was refused whole; `lines` and `bytes` are its size.
   */
  | {
    code: "block-too-long";
    args: { lines: number; bytes: number; maxLines: number; maxBytes: number };
  }
  // --- issue 12: files ---
  /** The server runs with `--no-files`. */
  | { code: "files-off" }
  /** A file offered is over the limit (`--file-max-bytes`), in bytes. */
  | { code: "file-too-big"; args: { size: number; max: number } }
  /** One upload at a time per connection, and a few downloads queued. */
  | { code: "file-busy" }
  /** Only members who joined may share a file. */
  | { code: "file-join-first" }
  /** A `file-chunk` for no upload under way (or after it failed). */
  | { code: "file-no-upload" }
  /** The bytes received do not match the size or SHA-256 offered. */
  | { code: "file-mismatch"; args: { name: string } }
  /** No chunk arrived for `seconds`: the upload was cancelled. */
  | { code: "file-stalled"; args: { name: string; seconds: number } }
  /** No file with this number (never shared, or dropped to make room). */
  | { code: "file-gone"; args: { id: number } };

/** Every notice code. */
export type NoticeCode = Notice["code"];
/** Every error code. */
export type ErrorCode = ErrorNotice["code"];

/** One entry of `/help`: a command and how it is called. */
export interface CommandInfo {
  name: string;
  /** Arguments in the server's English, e.g. `NAME TEXT`; "" for none. */
  usage: string;
  hostOnly: boolean;
}

/** One person in `/who`. */
export interface WhoEntry {
  name: string;
  /** Where they connect from; only the host is told. */
  address?: string;
}

/** The fields of each event type, before the room stamps it. */
export type EventBody =
  | { type: "message"; from: string; text: string }
  | { type: "action"; from: string; text: string }
  | { type: "private"; from: string; to: string; text: string }
  | { type: "joined"; name: string }
  | { type: "left"; name: string; reason?: LeaveReason }
  | { type: "renamed"; from: string; to: string }
  | { type: "topic"; topic?: string; by?: string }
  | {
    type: "welcome";
    name: string;
    online: string[];
    watchers: number;
    topic?: string;
    /**
     * Secret proof that a later connection is this same client: sent with
     * `resume` after a drop (issue 9). Only this member is told it.
     */
    token?: string;
  }
  | { type: "who"; online: WhoEntry[]; watchers: number }
  | { type: "help"; commands: CommandInfo[] }
  | ({ type: "notice" } & Notice)
  | ({ type: "error" } & ErrorNotice)
  | { type: "disconnected"; reason: LeaveReason }
  | { type: "pong" }
  | { type: "shutdown" }
  // --- issue 12: code blocks ---
  /**
   * A code block: several lines said at once, kept whole (`text`: the
   * lines joined by `\n`, no final one). `lang` names its language.
   */
  | { type: "block"; from: string; text: string; lang?: string }
  // --- issue 12: files ---
  /**
   * A file shared with the room, or with `to` only (then only the sender
   * and `to` are told). `web`: its download path on the page's port when
   * `--web` is on; `url`: the same as a full link, when the server knows
   * an address for it.
   */
  | {
    type: "file";
    id: number;
    from: string;
    name: string;
    size: number;
    sha256: string;
    to?: string;
    web?: string;
    url?: string;
  }
  /** To the sender: send the chunks of this upload now. */
  | { type: "file-ready"; upload: number }
  /**
   * One chunk of file `id` (`get`): `data` is base64, from `offset`. The
   * first (offset 0, sent even for an empty file) also names the file and
   * gives its size and SHA-256, so it can be saved as it arrives.
   */
  | {
    type: "file-data";
    id: number;
    offset: number;
    data: string;
    name?: string;
    size?: number;
    sha256?: string;
  }
  /** After the last chunk of file `id`: its size and SHA-256. */
  | { type: "file-end"; id: number; size: number; sha256: string }
  | {
    type: "proto";
    version: number;
    versions: number[];
    password: boolean;
    server: string;
    /** Random id of this server run: a restarted server has a new one. */
    run: string;
    /** How many earlier lines the room keeps (`--history`); 0: none. */
    history: number;
  };

/** Every event type. */
export type EventType = EventBody["type"];

/**
 * An event as sent: its body plus a sequence number (one counter per
 * server run, increasing in the order events happen) and the server's time
 * in milliseconds since 1970. `history` is true on an earlier event
 * replayed to a newcomer (it keeps its original `seq` and `time`).
 */
export type ServerEvent =
  | (Exclude<EventBody, { type: "proto" }> & {
    seq: number;
    time: number;
    history?: true;
  })
  // `proto` has its own `history` field: the server's `--history` limit.
  | (Extract<EventBody, { type: "proto" }> & { seq: number; time: number });

/** The body of the event of type `T`. */
export type BodyOf<T extends EventType> = Extract<EventBody, { type: T }>;

/** The stamped event of type `T`. */
export type EventOf<T extends EventType> = BodyOf<T> & {
  seq: number;
  time: number;
};

/** The structured protocol versions this program speaks. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];

/** The newest structured protocol version, the one `chat connect` asks for. */
export const PROTOCOL_VERSION = 1;
