/**
 * The structured protocol (`docs/PROTOCOL.md`): events as JSON Lines for
 * clients that asked with `/proto 1`, and what such a client may send back.
 *
 * @module
 */

import type { ErrorNotice, ServerEvent } from "./events.ts";
import { sanitizeText } from "./protocol.ts";
import { BLOCK_LANG } from "./code_block.ts";
import { errorSentence, noticeSentence } from "./render_text.ts";

/**
 * The event as one JSON object (no newline): `type`, `seq` and `time` (ISO
 * 8601) first, then the type's own fields. Notices and errors also carry
 * `text`, their English sentence, for clients that do not know the code.
 *
 * @example
 * ```ts
 * import { renderJson } from "./render_json.ts";
 * renderJson({ type: "message", from: "alice", text: "hi", seq: 7, time: 0 });
 * // '{"type":"message","seq":7,"time":"1970-01-01T00:00:00.000Z","from":"alice","text":"hi"}'
 * ```
 */
export function renderJson(event: ServerEvent): string {
  const time = isoTime(event.time);
  if (event.type === "message" && event.history === undefined) {
    // The common case, built directly: one event per line said. Names
    // never need escaping (letters, digits, _ and -), texts may.
    return escapeLineSeparators(
      `{"type":"message","seq":${event.seq},"time":"${time}","from":"${event.from}","text":${
        JSON.stringify(event.text)
      }}`,
    );
  }
  const { type, seq, time: _time, ...fields } = event;
  const extra = event.type === "notice"
    ? { text: noticeSentence(event, "en") }
    : event.type === "error"
    ? { text: errorSentence(event, "en") }
    : {};
  return escapeLineSeparators(
    JSON.stringify({ type, seq, time, ...fields, ...extra }),
  );
}

let lastMs = NaN;
let lastIso = "";

/** ISO 8601 for a time in ms; events come many to a millisecond. */
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

const HAS_LINE_SEPARATOR = /[\u2028\u2029]/;
const LINE_SEPARATORS = /[\u2028\u2029]/g;

/**
 * U+2028 and U+2029 are valid inside JSON strings, but some line readers
 * (Python's `str.splitlines()`) split on them: send them escaped.
 */
function escapeLineSeparators(json: string): string {
  return HAS_LINE_SEPARATOR.test(json)
    ? json.replace(
      LINE_SEPARATORS,
      (char) => char === "\u2028" ? "\\u2028" : "\\u2029",
    )
    : json;
}

/** What a structured client's line asks for. */
export type ClientRequest =
  /** A line exactly as if typed in plain text: a message or a `/command`. */
  | { type: "line"; text: string }
  /** A message, never taken as a command even if it starts with `/`. */
  | { type: "say"; text: string }
  /** A heartbeat, answered with `pong`. */
  | { type: "ping" }
  /**
   * The room's earlier lines (issue 9), all of them or only those with a
   * sequence number above `after`.
   */
  | { type: "history"; after?: number }
  /**
   * Back under a name kept since this client's connection dropped; `token`
   * is the one its last `welcome` carried (issue 9).
   */
  | { type: "resume"; name: string; token: string }
  // --- issue 12: code blocks ---
  /** A code block: lines joined by `\n`, said at once and kept whole. */
  | { type: "block"; text: string; lang?: string }
  // --- issue 12: files ---
  /** Shares a file with the room, or with `to` only. */
  | {
    type: "file-offer";
    name: string;
    size: number;
    sha256: string;
    to?: string;
  }
  /** The next bytes (base64) of the upload `file-ready` named. */
  | { type: "file-chunk"; upload: number; data: string }
  /** Sends file `id` back as `file-data` events, then `file-end`. */
  | { type: "get"; id: number }
  /** Not a valid request: the error to answer with; nothing else happens. */
  | { type: "invalid"; error: ErrorNotice };

const REQUEST_FIELDS: Record<string, readonly string[]> = {
  line: ["type", "text"],
  say: ["type", "text"],
  ping: ["type"],
  history: ["type", "after"],
  resume: ["type", "name", "token"],
  block: ["type", "text", "lang"], // issue 12: code blocks
  "file-offer": ["type", "name", "size", "sha256", "to"], // issue 12
  "file-chunk": ["type", "upload", "data"],
  get: ["type", "id"],
};

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** Issue 12: the file requests, checked before the room sees them. */
function parseFileRequest(
  object: Record<string, unknown>,
): ClientRequest | undefined {
  const count = (value: unknown) =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  switch (object.type) {
    case "file-offer": {
      const { name, size, sha256, to } = object;
      if (typeof name !== "string" || name.length > 1024) {
        return badField("name");
      }
      if (!count(size)) return badField("size");
      if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
        return badField("sha256");
      }
      if (to !== undefined && (typeof to !== "string" || to.length > 64)) {
        return badField("to");
      }
      return {
        type: "file-offer",
        name,
        size: size as number,
        sha256,
        ...(to === undefined ? {} : { to: to as string }),
      };
    }
    case "file-chunk":
      if (!count(object.upload)) return badField("upload");
      if (typeof object.data !== "string") return badField("data");
      return {
        type: "file-chunk",
        upload: object.upload as number,
        data: object.data,
      };
    case "get":
      if (!count(object.id)) return badField("id");
      return { type: "get", id: object.id as number };
  }
  return undefined;
}

/**
 * Reads one line from a structured client that starts with `{`: a JSON
 * object with a known `type` and only that type's fields.
 *
 * @example
 * ```ts
 * import { parseClientJson } from "./render_json.ts";
 * parseClientJson('{"type":"say","text":"/not a command"}');
 * // { type: "say", text: "/not a command" }
 * parseClientJson('{"type":"say","txt":"oops"}');
 * // { type: "invalid", error: { code: "unknown-field", args: { field: "txt" } } }
 * ```
 */
export function parseClientJson(line: string): ClientRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { type: "invalid", error: { code: "bad-json" } };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { type: "invalid", error: { code: "bad-json" } };
  }
  const object = value as Record<string, unknown>;
  if (typeof object.type !== "string") {
    return {
      type: "invalid",
      error: { code: "bad-field", args: { field: "type" } },
    };
  }
  const fields = REQUEST_FIELDS[object.type];
  if (!Object.hasOwn(REQUEST_FIELDS, object.type) || !fields) {
    return {
      type: "invalid",
      error: {
        code: "unknown-type",
        args: { type: sanitizeText(object.type).slice(0, 64) },
      },
    };
  }
  for (const field of Object.keys(object)) {
    if (!fields.includes(field)) {
      return {
        type: "invalid",
        error: {
          code: "unknown-field",
          args: { field: sanitizeText(field).slice(0, 64) },
        },
      };
    }
  }
  if (object.type === "ping") return { type: "ping" };
  const fileRequest = parseFileRequest(object); // issue 12
  if (fileRequest) return fileRequest;
  if (object.type === "history") {
    if (object.after === undefined) return { type: "history" };
    const after = object.after;
    if (typeof after !== "number" || !Number.isSafeInteger(after)) {
      return badField("after");
    }
    return { type: "history", after };
  }
  if (object.type === "resume") {
    // Checked here so the room never sees a name or token of any size.
    if (typeof object.name !== "string" || object.name.length > 64) {
      return badField("name");
    }
    if (typeof object.token !== "string" || object.token.length > 64) {
      return badField("token");
    }
    return { type: "resume", name: object.name, token: object.token };
  }
  if (typeof object.text !== "string") {
    return {
      type: "invalid",
      error: { code: "bad-field", args: { field: "text" } },
    };
  }
  if (object.type === "block") { // issue 12: code blocks
    if (object.lang === undefined) return { type: "block", text: object.text };
    if (typeof object.lang !== "string" || !BLOCK_LANG.test(object.lang)) {
      return badField("lang");
    }
    return { type: "block", text: object.text, lang: object.lang };
  }
  return { type: object.type as "line" | "say", text: object.text };
}

function badField(field: string): ClientRequest {
  return { type: "invalid", error: { code: "bad-field", args: { field } } };
}
