/**
 * What `chat connect` accepts from a server that speaks the structured
 * protocol (`docs/PROTOCOL.md`): each JSON line read back into a typed
 * event, with every string cleaned of anything that could control a
 * terminal. Types this client does not know (a newer server) and lines that
 * are not valid events are skipped; notices and errors with a code it does
 * not know are shown with the server's own `text`.
 *
 * @module
 */

import { CATALOG_EN } from "./catalog_en.ts";
import {
  type ErrorNotice,
  type EventOf,
  type EventType,
  LEAVE_REASONS,
  type ServerEvent,
} from "./events.ts";
import { type Lang, type MessageKey, t } from "./i18n.ts";
import { sanitizeText } from "./protocol.ts";
import { BLOCK_LANG, blockLines } from "./code_block.ts";
import { errorSentence, NOTICE_PREFIX, renderText } from "./render_text.ts";

type Check = (value: unknown) => boolean;

const isString: Check = (value) => typeof value === "string";
const isNumber: Check = (value) =>
  typeof value === "number" && Number.isFinite(value);
const isBoolean: Check = (value) => typeof value === "boolean";
const isObject: Check = (value) =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const optional = (check: Check): Check => (value) =>
  value === undefined || check(value);
const arrayOf = (check: Check): Check => (value) =>
  Array.isArray(value) && value.every(check);
const shaped = (fields: Record<string, Check>): Check => (value) =>
  isObject(value) &&
  Object.entries(fields).every(([field, check]) =>
    check((value as Record<string, unknown>)[field])
  );

/** The fields each known event type must have; others are ignored. */
const EVENT_FIELDS: Record<EventType, Record<string, Check>> = {
  message: { from: isString, text: isString },
  action: { from: isString, text: isString },
  private: { from: isString, to: isString, text: isString },
  joined: { name: isString },
  left: { name: isString, reason: optional(isString) },
  renamed: { from: isString, to: isString },
  topic: { topic: optional(isString), by: optional(isString) },
  welcome: {
    name: isString,
    online: arrayOf(isString),
    watchers: isNumber,
    topic: optional(isString),
    token: optional(isString),
  },
  who: {
    online: arrayOf(shaped({ name: isString, address: optional(isString) })),
    watchers: isNumber,
  },
  help: {
    commands: arrayOf(
      shaped({ name: isString, usage: isString, hostOnly: isBoolean }),
    ),
  },
  notice: {
    code: isString,
    args: optional(isObject),
    text: optional(isString),
  },
  error: { code: isString, args: optional(isObject), text: optional(isString) },
  disconnected: { reason: isString },
  pong: {},
  shutdown: {},
  // --- issue 12: code blocks ---
  block: { from: isString, text: isString, lang: optional(isString) },
  // --- issue 12: files ---
  file: {
    id: isNumber,
    from: isString,
    name: isString,
    size: isNumber,
    sha256: isString,
    to: optional(isString),
    web: optional(isString),
    url: optional(isString),
  },
  "file-ready": { upload: isNumber },
  "file-data": {
    id: isNumber,
    offset: isNumber,
    data: isString,
    name: optional(isString),
    size: optional(isNumber),
    sha256: optional(isString),
  },
  "file-end": { id: isNumber, size: isNumber, sha256: isString },
  proto: {
    version: isNumber,
    versions: arrayOf(isNumber),
    password: isBoolean,
    server: optional(isString),
    run: optional(isString),
    history: optional(isNumber),
  },
};

/**
 * True for a line in the structured protocol. No plain-text line from a
 * chat server starts with `{`: chat lines start with a name, notices with
 * `*** `.
 *
 * @example
 * ```ts
 * import { isJsonLine } from "./client_events.ts";
 * isJsonLine('{"type":"pong","seq":3,"time":"2025-01-01T00:00:00.000Z"}'); // true
 * isJsonLine("*** pong"); // false
 * ```
 */
export function isJsonLine(line: string): boolean {
  return line.startsWith("{");
}

/**
 * Reads one JSON line from the server as an event, every string in it
 * cleaned with `sanitizeText`. Returns `undefined` for a line that is not
 * JSON, an event type this client does not know, or a known type with a
 * missing or mistyped field: the caller skips it.
 *
 * @example
 * ```ts
 * import { parseServerEvent } from "./client_events.ts";
 * parseServerEvent('{"type":"joined","seq":5,"time":"1970-01-01T00:00:00.000Z","name":"bob"}');
 * // { type: "joined", seq: 5, time: 0, name: "bob" }
 * parseServerEvent('{"type":"hologram","seq":6}'); // undefined
 * parseServerEvent("{not json"); // undefined
 * ```
 */
export function parseServerEvent(line: string): ServerEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const object = value as Record<string, unknown>;
  const type = object.type;
  if (typeof type !== "string" || !Object.hasOwn(EVENT_FIELDS, type)) {
    return undefined;
  }
  const fields = EVENT_FIELDS[type as EventType];
  for (const [field, check] of Object.entries(fields)) {
    if (!check(object[field])) return undefined;
  }
  const time = typeof object.time === "string" ? Date.parse(object.time) : NaN;
  const event = sanitizeStrings({ ...object }) as Record<string, unknown>;
  if (type === "block") {
    // Issue 12: a block's lines are cleaned one by one (the newlines
    // between them are what a block is), and a strange language dropped.
    event.text = blockLines(object.text as string).join("\n");
    if (event.lang !== undefined && !BLOCK_LANG.test(event.lang as string)) {
      delete event.lang;
    }
  }
  event.seq = isNumber(object.seq) ? object.seq : 0;
  event.time = Number.isNaN(time) ? 0 : time;
  // Replayed earlier lines (issue 9) are marked `history: true`; `proto`
  // has a `history` of its own (how many lines the room keeps).
  if (type !== "proto" && object.history !== true) delete event.history;
  return event as unknown as ServerEvent;
}

/** A copy of a JSON value with `sanitizeText` applied to every string. */
function sanitizeStrings(value: unknown): unknown {
  if (typeof value === "string") return sanitizeText(value);
  if (Array.isArray(value)) return value.map(sanitizeStrings);
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map((
        [key, field],
      ) => [key, sanitizeStrings(field)]),
    );
  }
  return value;
}

/**
 * The event as a plain-text client in `lang` reads it (`renderText`), also
 * for events from a newer server: a notice or error whose code has no
 * sentence here shows the server's `text`, a reason this client does not
 * know is left out or shown as sent, and an event that cannot be rendered
 * gives "" rather than an exception.
 *
 * @example
 * ```ts
 * import { eventText } from "./client_events.ts";
 * eventText({ type: "joined", name: "bob", seq: 1, time: 0 }, "fr");
 * // "*** bob a rejoint le salon"
 * eventText(
 *   { type: "notice", code: "new-thing", text: "Something new.", seq: 2, time: 0 } as never,
 *   "fr",
 * ); // "*** Something new."
 * ```
 */
export function eventText(event: ServerEvent, lang: Lang): string {
  switch (event.type) {
    case "notice":
      if (!hasKey(`notice.${event.code}`)) {
        return NOTICE_PREFIX + serverText(event);
      }
      break;
    case "error":
      return NOTICE_PREFIX + t(lang, "error", { text: errorText(event, lang) });
    case "left":
      if (event.reason !== undefined && !LEAVE_REASONS.includes(event.reason)) {
        return NOTICE_PREFIX + t(lang, "left", { name: event.name });
      }
      break;
    case "disconnected":
      if (!LEAVE_REASONS.includes(event.reason)) {
        return NOTICE_PREFIX +
          t(lang, "disconnected", { reason: event.reason });
      }
      break;
  }
  try {
    return renderText(event, lang);
  } catch {
    return "";
  }
}

/**
 * The sentence of an error event in `lang`, without `error: ` in front;
 * the server's `text` for a code this client does not know.
 *
 * @example
 * ```ts
 * import { errorText } from "./client_events.ts";
 * errorText({ type: "error", code: "wrong-password", seq: 1, time: 0 }, "fr");
 * // "mot de passe incorrect."
 * ```
 */
export function errorText(event: EventOf<"error">, lang: Lang): string {
  const error = event as ErrorNotice;
  const known = hasKey(`error.${error.code}`) ||
    hasKey(`error.${error.code}.one`);
  if (!known) return serverText(event);
  try {
    return errorSentence(error, lang);
  } catch {
    // A known code whose arguments a newer server shaped differently.
    return serverText(event);
  }
}

/** The English `text` a notice or error carries, or its code. */
function serverText(event: ServerEvent): string {
  const { text, code } = event as { text?: unknown; code?: unknown };
  return typeof text === "string" ? text : String(code);
}

function hasKey(key: string): boolean {
  return Object.hasOwn(CATALOG_EN, key as MessageKey);
}
