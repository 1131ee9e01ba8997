/**
 * Events as plain text lines, for `nc`, `telnet`, the course's Python
 * clients and the host's console: in English, byte for byte the format the
 * README documents, or in French. Chat lines (`alice: hi`, `* alice waves`)
 * are the same in both; everything from the server starts with `*** `, which
 * no user's line can (names cannot contain `*`).
 *
 * @module
 */

import type { ErrorNotice, Notice, ServerEvent, WhoEntry } from "./events.ts";
import { CATALOG_EN as CATALOG_KEYS } from "./catalog_en.ts";
import { type Lang, type MessageKey, t } from "./i18n.ts";
import { MAX_NAME_LENGTH } from "./protocol.ts";
import { formatSize } from "./file_store.ts";

/** Prefix of every line that comes from the server rather than a user. */
export const NOTICE_PREFIX = "*** ";

/**
 * The event as the lines a plain-text client reads, joined with `\n` and
 * without a final one. A `proto` event has no plain form: it gives "".
 *
 * @example
 * ```ts
 * import { renderText } from "./render_text.ts";
 * renderText({ type: "joined", name: "bob", seq: 1, time: 0 }, "en"); // "*** bob joined"
 * renderText({ type: "joined", name: "bob", seq: 1, time: 0 }, "fr"); // "*** bob a rejoint le salon"
 * ```
 */
export function renderText(event: ServerEvent, lang: Lang): string {
  switch (event.type) {
    case "message":
      return `${event.from}: ${event.text}`;
    case "action":
      return `* ${event.from} ${event.text}`;
    case "private":
      return `${
        t(lang, "private.prefix")
      } ${event.from} -> ${event.to}: ${event.text}`;
    case "block": // issue 12: code blocks
      return blockText(event.from, event.text, event.lang, lang);
    case "proto":
    // Issue 12: transfers are for structured clients only.
    case "file-ready":
    case "file-data":
    case "file-end":
      return "";
    default:
      return NOTICE_PREFIX + noticeText(event, lang);
  }
}

/**
 * What the server says in a notice, error or announcement, without the
 * `*** ` prefix; several lines for `/help`.
 *
 * @example
 * ```ts
 * import { noticeText } from "./render_text.ts";
 * noticeText({ type: "pong", seq: 1, time: 0 }, "en"); // "pong"
 * ```
 */
export function noticeText(event: ServerEvent, lang: Lang): string {
  switch (event.type) {
    case "joined":
      return t(lang, "joined", { name: event.name });
    case "left":
      return event.reason
        ? t(lang, "left.reason", {
          name: event.name,
          reason: t(lang, `reason.${event.reason}`),
        })
        : t(lang, "left", { name: event.name });
    case "renamed":
      return t(lang, "renamed", { from: event.from, to: event.to });
    case "topic":
      if (event.by !== undefined && event.topic !== undefined) {
        return t(lang, "topic.set", { by: event.by, topic: event.topic });
      }
      return event.topic
        ? t(lang, "topic.is", { topic: event.topic })
        : t(lang, "topic.none");
    case "welcome":
      return t(lang, "welcome", {
        name: event.name,
        count: event.online.length,
        names: event.online.join(", "),
      }) +
        (event.topic ? t(lang, "welcome.topic", { topic: event.topic }) : "") +
        t(lang, "welcome.end");
    case "who":
      return t(lang, "who", {
        count: event.online.length,
        names: whoNames(event.online, lang),
      }) +
        (event.watchers > 0
          ? t(
            lang,
            event.watchers === 1 ? "who.watchers.one" : "who.watchers.other",
            { count: event.watchers },
          )
          : "");
    case "help":
      return [
        t(lang, "help.title"),
        ...event.commands.map((command) => {
          const usage = usageOf(command.name, lang, command.usage);
          const synopsis = `/${command.name}${usage ? " " + usage : ""}`;
          return `${NOTICE_PREFIX}  ${synopsis.padEnd(15)} ${
            commandHelp(command.name, lang)
          }`;
        }),
        // Only the host is offered host-only commands, and the host cannot
        // quit its own room: its footer says how to shut the room down.
        NOTICE_PREFIX + t(
          lang,
          event.commands.some((command) => command.hostOnly)
            ? "help.footer.host"
            : "help.footer",
        ),
        NOTICE_PREFIX + t(lang, "help.blocks"), // issue 12
      ].join("\n");
    case "notice":
      return noticeSentence(event, lang);
    case "error":
      return t(lang, "error", { text: errorSentence(event, lang) });
    case "disconnected":
      return t(lang, "disconnected", {
        reason: t(lang, `disconnected.${event.reason}`),
      });
    case "pong":
      return t(lang, "pong");
    case "shutdown":
      return t(lang, "shutdown");
    case "file": // issue 12
      return fileSentence(event, lang);
    case "message":
    case "action":
    case "private":
    case "block": // issue 12
    case "proto":
    case "file-ready":
    case "file-data":
    case "file-end":
      return renderText(event, lang);
  }
}

/**
 * Issue 12: the notice of a shared file, with its size, SHA-256, the
 * command that fetches it and, with `--web`, its link.
 */
function fileSentence(
  file: Extract<ServerEvent, { type: "file" }>,
  lang: Lang,
): string {
  const args = {
    from: file.from,
    name: file.name,
    to: file.to ?? "",
    size: formatSize(file.size, lang),
    sha256: file.sha256,
    id: file.id,
  };
  const link = file.url ?? file.web;
  return t(
    lang,
    file.to === undefined ? "file.shared" : "file.shared.to",
    args,
  ) +
    (link ? t(lang, "file.link", { url: link }) : "");
}

/**
 * A code block (issue 12) as plain lines: a first line with the sender,
 * the fence and its language and how many lines follow, then each line
 * after `NAME | `, then `NAME ```` alone. No other line the server sends
 * starts with a name and ` | ` or ` ``` ` (chat lines have `NAME: `,
 * notices `*** `), and every line of the block carries the sender's name,
 * so no line of a block can pass for a notice or for someone else's line.
 *
 * @example
 * ```ts
 * import { blockText } from "./render_text.ts";
 * blockText("alice", "def f():\n    return 1", "py", "en");
 * // "alice ```py (2 lines)\nalice | def f():\nalice |     return 1\nalice ```"
 * ```
 */
export function blockText(
  from: string,
  text: string,
  blockLang: string | undefined,
  lang: Lang,
): string {
  const lines = text.split("\n");
  const prefix = from + " | ";
  let out = t(
    lang,
    lines.length === 1 ? "block.start.one" : "block.start.other",
    {
      name: from,
      lang: blockLang ?? "",
      count: lines.length,
    },
  );
  for (const line of lines) out += "\n" + prefix + line;
  return out + "\n" + from + " ```";
}

/**
 * The sentence of a notice, in `lang`.
 *
 * @example
 * ```ts
 * import { noticeSentence } from "./render_text.ts";
 * noticeSentence({ code: "bye" }, "fr"); // "Au revoir !"
 * ```
 */
export function noticeSentence(notice: Notice, lang: Lang): string {
  if (notice.code === "history-start" && notice.args.count === 1) {
    return t(lang, "notice.history-start.one", notice.args);
  }
  return t(
    lang,
    `notice.${notice.code}`,
    "args" in notice ? notice.args : undefined,
  );
}

/**
 * The sentence of an error, in `lang`, without the `error: ` in front.
 *
 * @example
 * ```ts
 * import { errorSentence } from "./render_text.ts";
 * errorSentence({ code: "name-taken", args: { name: "bob" } }, "en");
 * // 'the name "bob" is taken. Try another one.'
 * ```
 */
export function errorSentence(error: ErrorNotice, lang: Lang): string {
  switch (error.code) {
    case "usage":
      return t(lang, "error.usage", {
        command: error.args.command,
        usage: usageOf(error.args.command, lang, ""),
      }).trimEnd();
    case "name-invalid":
      return t(lang, "error.name-invalid", {
        name: error.args.name,
        problem: t(lang, `name.${error.args.problem}`, {
          max: MAX_NAME_LENGTH,
        }),
      });
    case "full":
      return t(
        lang,
        error.args.max === 1 ? "error.full.one" : "error.full.other",
        error.args,
      );
    case "file-too-big": // issue 12
      return t(lang, "error.file-too-big", {
        size: formatSize(error.args.size, lang),
        max: formatSize(error.args.max, lang),
      });
    case "protocol-version":
      return t(lang, "error.protocol-version", {
        asked: error.args.asked,
        supported: error.args.supported.join(", "),
      });
    default:
      return t(
        lang,
        `error.${error.code}`,
        "args" in error ? error.args : undefined,
      );
  }
}

/** A command's arguments in `lang`, or `fallback` for one we do not know. */
function usageOf(command: string, lang: Lang, fallback: string): string {
  const key = `usage.${command}` as MessageKey;
  return key in CATALOG_KEYS ? t(lang, key) : fallback;
}

/** What a command does, in `lang`; "" for one we do not know. */
function commandHelp(command: string, lang: Lang): string {
  const key = `command.${command}` as MessageKey;
  return key in CATALOG_KEYS ? t(lang, key) : "";
}

/**
 * `/who`'s names. For the host, whose entries carry addresses, those from
 * one address are grouped where the first of them stands, joined by `+`
 * (`alice + bob (127.0.0.1)`), so that one machine holding many seats shows.
 * Plain clients get no addresses: their line is unchanged.
 */
function whoNames(online: readonly WhoEntry[], lang: Lang): string {
  const groups = new Map<string, string[]>();
  const shown: (string | { address: string; names: string[] })[] = [];
  for (const { name, address } of online) {
    if (address === undefined) {
      shown.push(name);
    } else if (groups.has(address)) {
      groups.get(address)!.push(name);
    } else {
      const names = [name];
      groups.set(address, names);
      shown.push({ address, names });
    }
  }
  return shown.map((item) =>
    typeof item === "string" ? item : t(lang, "who.address", {
      name: item.names.join(" + "),
      address: item.address,
    })
  ).join(", ");
}
