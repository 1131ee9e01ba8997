/**
 * One sample event of every type and of every notice and error code, each
 * with its golden English plain-text form built from `golden_lines.ts` (the
 * old wire lines), never from the catalogues. Shared by the renderer and
 * catalogue tests.
 *
 * The code lists are typed as records over the codes of `lib/events.ts`, so
 * a code added there without a line here fails `deno check`.
 */

import type {
  ErrorCode,
  EventBody,
  EventType,
  LeaveReason,
  NoticeCode,
  ServerEvent,
} from "../lib/events.ts";
import {
  disconnectedReasons,
  HELP_GUEST,
  HELP_HOST,
  issue13Lines,
  issue9Lines,
  leftReasons,
  lines,
  nameProblems,
  roomLines,
} from "./golden_lines.ts";

const EVENT_TYPE_SET: Record<EventType, true> = {
  message: true,
  action: true,
  private: true,
  joined: true,
  left: true,
  renamed: true,
  topic: true,
  welcome: true,
  who: true,
  help: true,
  notice: true,
  error: true,
  disconnected: true,
  pong: true,
  shutdown: true,
  proto: true,
  // --- issue 12: code blocks ---
  block: true,
  // --- issue 12: files ---
  file: true,
  "file-ready": true,
  "file-data": true,
  "file-end": true,
};
/** Every event type of `lib/events.ts`. */
export const EVENT_TYPES = Object.keys(EVENT_TYPE_SET) as EventType[];

const NOTICE_CODE_SET: Record<NoticeCode, true> = {
  "greeting": true,
  "password-needed": true,
  "password-accepted": true,
  "no-password": true,
  "bye": true,
  "muted": true,
  "unmuted": true,
  "address-banned": true,
  "password-lockout": true,
  "password-room-lockout": true,
  "stop-confirm": true,
  "how-to-stop": true,
  "history-start": true,
  "history-end": true,
};
/** Every notice code of `lib/events.ts`. */
export const NOTICE_CODES = Object.keys(NOTICE_CODE_SET) as NoticeCode[];

const ERROR_CODE_SET: Record<ErrorCode, true> = {
  "unknown-command": true,
  "usage": true,
  "name-invalid": true,
  "name-taken": true,
  "name-reserved": true,
  "name-away": true,
  "resume-failed": true,
  "same-name": true,
  "no-such-name": true,
  "password-first": true,
  "wrong-password": true,
  "password-timeout": true,
  "password-locked": true,
  "flooding": true,
  "muted": true,
  "host-only-topic": true,
  "cannot-moderate-host": true,
  "no-address": true,
  "already-muted": true,
  "not-muted": true,
  "line-too-long": true,
  "full": true,
  "too-many-connections": true,
  "banned": true,
  "internal-error": true,
  "bad-json": true,
  "unknown-type": true,
  "unknown-field": true,
  "bad-field": true,
  "protocol-version": true,
  // --- issue 12: code blocks ---
  "block-too-long": true,
  // --- issue 12: files ---
  "files-off": true,
  "file-too-big": true,
  "file-busy": true,
  "file-join-first": true,
  "file-no-upload": true,
  "file-mismatch": true,
  "file-stalled": true,
  "file-gone": true,
};
/** Every error code of `lib/events.ts`. */
export const ERROR_CODES = Object.keys(ERROR_CODE_SET) as ErrorCode[];

/** An event, and the exact English plain text it must produce. */
export interface Sample {
  /** What the sample shows, for test messages. */
  label: string;
  body: EventBody;
  /** The golden English plain text (lines joined with `\n`). */
  en: string;
}

const REASONS = Object.keys(leftReasons) as LeaveReason[];

const HELP_COMMANDS = [
  { name: "nick", usage: "NAME", hostOnly: false },
  { name: "who", usage: "", hostOnly: false },
  { name: "me", usage: "TEXT", hostOnly: false },
  { name: "msg", usage: "NAME TEXT", hostOnly: false },
  { name: "help", usage: "", hostOnly: false },
  { name: "quit", usage: "", hostOnly: false },
  { name: "topic", usage: "[TEXT]", hostOnly: false },
  { name: "history", usage: "", hostOnly: false },
];
// The host cannot quit its own room: no /quit in its /help (issue 13).
const HOST_COMMANDS = [
  ...HELP_COMMANDS.filter((command) => command.name !== "quit"),
  { name: "kick", usage: "NAME", hostOnly: true },
  { name: "ban", usage: "NAME", hostOnly: true },
  { name: "mute", usage: "NAME", hostOnly: true },
  { name: "unmute", usage: "NAME", hostOnly: true },
  { name: "stop", usage: "", hostOnly: true },
];

/** Samples of every event type, notice code, error code and leave reason. */
export const SAMPLES: readonly Sample[] = [
  {
    label: "message",
    body: { type: "message", from: "alice", text: "hello" },
    en: lines.message("alice", "hello"),
  },
  {
    label: "message that looks like a notice",
    body: { type: "message", from: "alice", text: "*** bob joined" },
    en: lines.message("alice", "*** bob joined"),
  },
  {
    label: "action",
    body: { type: "action", from: "alice", text: "waves" },
    en: lines.action("alice", "waves"),
  },
  {
    label: "private",
    body: { type: "private", from: "alice", to: "bob", text: "psst" },
    en: lines.privateMessage("alice", "bob", "psst"),
  },
  {
    label: "joined",
    body: { type: "joined", name: "bob" },
    en: lines.joined("bob"),
  },
  {
    label: "left",
    body: { type: "left", name: "bob" },
    en: lines.left("bob"),
  },
  ...REASONS.map((reason): Sample => ({
    label: `left (${reason})`,
    body: { type: "left", name: "bob", reason },
    en: lines.left("bob", leftReasons[reason]),
  })),
  {
    label: "renamed",
    body: { type: "renamed", from: "guest1", to: "carol" },
    en: lines.renamed("guest1", "carol"),
  },
  {
    label: "topic set",
    body: { type: "topic", topic: "Chapter 3: fractions", by: "prof" },
    en: lines.topicSet("prof", "Chapter 3: fractions"),
  },
  {
    label: "topic shown",
    body: { type: "topic", topic: "fractions" },
    en: lines.topic("fractions"),
  },
  {
    label: "no topic",
    body: { type: "topic" },
    en: lines.topic(undefined),
  },
  {
    label: "welcome",
    body: {
      type: "welcome",
      name: "bob",
      online: ["alice", "bob"],
      watchers: 0,
    },
    en: lines.welcome("bob", ["alice", "bob"]),
  },
  {
    label: "welcome with a topic and watchers",
    body: {
      type: "welcome",
      name: "bob",
      online: ["prof", "bob"],
      watchers: 3,
      topic: "algebra",
    },
    en: lines.welcome("bob", ["prof", "bob"], "algebra"),
  },
  {
    label: "who",
    body: {
      type: "who",
      online: [{ name: "alice" }, { name: "bob" }],
      watchers: 0,
    },
    en: lines.who(["alice", "bob"]),
  },
  {
    label: "who for the host, with addresses",
    body: {
      type: "who",
      online: [{ name: "prof" }, { name: "alice", address: "10.0.0.1" }],
      watchers: 0,
    },
    en: lines.who(["prof", "alice (10.0.0.1)"]),
  },
  {
    // New with issue 8: the suffix only when someone is watching.
    label: "who with watchers",
    body: {
      type: "who",
      online: [{ name: "prof" }, { name: "alice" }, { name: "bob" }],
      watchers: 2,
    },
    en: "*** Online (3): prof, alice, bob; 2 watching",
  },
  {
    label: "help for a guest",
    body: { type: "help", commands: HELP_COMMANDS },
    en: HELP_GUEST.join("\n"),
  },
  {
    label: "help for the host",
    body: { type: "help", commands: HOST_COMMANDS },
    en: HELP_HOST.join("\n"),
  },
  // Notices.
  {
    label: "notice greeting",
    body: { type: "notice", code: "greeting" },
    en: lines.greeting(),
  },
  {
    label: "notice password-needed",
    body: { type: "notice", code: "password-needed" },
    en: lines.passwordNeeded(),
  },
  {
    label: "notice password-accepted",
    body: { type: "notice", code: "password-accepted" },
    en: lines.passwordAccepted(),
  },
  {
    label: "notice no-password",
    body: { type: "notice", code: "no-password" },
    en: roomLines.noPassword(),
  },
  {
    label: "notice bye",
    body: { type: "notice", code: "bye" },
    en: lines.goodbye(),
  },
  {
    label: "notice muted",
    body: { type: "notice", code: "muted", args: { name: "bob" } },
    en: roomLines.mutedNotice("bob"),
  },
  {
    label: "notice unmuted",
    body: { type: "notice", code: "unmuted", args: { name: "bob" } },
    en: roomLines.unmutedNotice("bob"),
  },
  {
    label: "notice address-banned",
    body: {
      type: "notice",
      code: "address-banned",
      args: { address: "10.0.0.1" },
    },
    en: roomLines.addressBanned("10.0.0.1"),
  },
  {
    label: "notice password-lockout",
    body: {
      type: "notice",
      code: "password-lockout",
      args: { address: "10.0.0.9", failures: 5, seconds: 5 },
    },
    en:
      "*** 10.0.0.9 gave 5 wrong passwords: no password from it is tried for 5 s.",
  },
  {
    label: "notice password-room-lockout",
    body: {
      type: "notice",
      code: "password-room-lockout",
      args: { failures: 30, seconds: 42 },
    },
    en:
      "*** 30 wrong passwords in the last minute: no password from anyone is tried for 42 s.",
  },
  // Notices new with issue 13: no old line.
  {
    label: "notice stop-confirm",
    body: {
      type: "notice",
      code: "stop-confirm",
      args: { count: 3, seconds: 10 },
    },
    en: issue13Lines.stopConfirm(3),
  },
  ...["stop", "/quit"].map((typed): Sample => ({
    label: `notice how-to-stop (${typed})`,
    body: { type: "notice", code: "how-to-stop", args: { typed } },
    en: issue13Lines.howToStop(typed),
  })),
  // Notices new with issue 9: no old line.
  {
    label: "notice history-start",
    body: { type: "notice", code: "history-start", args: { count: 12 } },
    en: issue9Lines.historyStart(12),
  },
  {
    label: "notice history-start (one line)",
    body: { type: "notice", code: "history-start", args: { count: 1 } },
    en: issue9Lines.historyStart(1),
  },
  {
    label: "notice history-end",
    body: { type: "notice", code: "history-end", args: { count: 12 } },
    en: issue9Lines.historyEnd(),
  },
  {
    label: "error name-away",
    body: {
      type: "error",
      code: "name-away",
      args: { name: "alice", seconds: 42 },
    },
    en: issue9Lines.nameAway("alice", 42),
  },
  {
    label: "error resume-failed",
    body: { type: "error", code: "resume-failed", args: { name: "alice" } },
    en: issue9Lines.resumeFailed("alice"),
  },
  {
    // The token is for structured clients: the plain line is unchanged.
    label: "welcome with a token",
    body: {
      type: "welcome",
      name: "bob",
      online: ["alice", "bob"],
      watchers: 0,
      token: "0123456789abcdef0123456789abcdef",
    },
    en: lines.welcome("bob", ["alice", "bob"]),
  },
  // Errors.
  {
    label: "error unknown-command",
    body: {
      type: "error",
      code: "unknown-command",
      args: { command: "dance" },
    },
    en: roomLines.unknownCommand("dance"),
  },
  ...([
    ["nick", "NAME"],
    ["me", "TEXT"],
    ["msg", "NAME TEXT"],
    ["kick", "NAME"],
    ["ban", "NAME"],
    ["mute", "NAME"],
    ["unmute", "NAME"],
  ] as const).map(([command, usage]): Sample => ({
    label: `error usage /${command}`,
    body: { type: "error", code: "usage", args: { command } },
    en: roomLines.usage(command, usage),
  })),
  ...(Object.keys(nameProblems) as (keyof typeof nameProblems)[]).map((
    problem,
  ): Sample => ({
    label: `error name-invalid (${problem})`,
    body: {
      type: "error",
      code: "name-invalid",
      args: { name: "a b", problem },
    },
    en: roomLines.nameInvalid("a b", nameProblems[problem]),
  })),
  {
    label: "error name-taken",
    body: { type: "error", code: "name-taken", args: { name: "Alice" } },
    en: roomLines.nameTaken("Alice"),
  },
  {
    label: "error name-reserved",
    body: { type: "error", code: "name-reserved", args: { name: "prof" } },
    en: roomLines.nameReserved("prof"),
  },
  {
    label: "error same-name",
    body: { type: "error", code: "same-name", args: { name: "alice" } },
    en: roomLines.sameName("alice"),
  },
  {
    label: "error no-such-name",
    body: { type: "error", code: "no-such-name", args: { name: "nobody" } },
    en: roomLines.noSuchName("nobody"),
  },
  {
    label: "error password-first",
    body: { type: "error", code: "password-first" },
    en: roomLines.passwordFirst(),
  },
  {
    label: "error wrong-password",
    body: { type: "error", code: "wrong-password" },
    en: roomLines.wrongPassword(),
  },
  {
    label: "error password-timeout",
    body: { type: "error", code: "password-timeout", args: { seconds: 30 } },
    en: lines.passwordTimeout(30),
  },
  {
    label: "error password-locked",
    body: { type: "error", code: "password-locked", args: { seconds: 10 } },
    en: "*** error: too many wrong passwords: try again in 10 s.",
  },
  {
    label: "error flooding",
    body: { type: "error", code: "flooding", args: { burst: 20, rate: 5 } },
    en: roomLines.flooding(20, 5),
  },
  {
    label: "error muted",
    body: { type: "error", code: "muted" },
    en: roomLines.muted(),
  },
  {
    label: "error host-only-topic",
    body: { type: "error", code: "host-only-topic" },
    en: roomLines.hostOnlyTopic(),
  },
  ...["kick", "ban", "mute", "unmute"].map((command): Sample => ({
    label: `error cannot-moderate-host (${command})`,
    body: { type: "error", code: "cannot-moderate-host", args: { command } },
    en: roomLines.cannotModerateHost(command),
  })),
  {
    label: "error no-address",
    body: { type: "error", code: "no-address", args: { name: "local" } },
    en: roomLines.noAddress("local"),
  },
  {
    label: "error already-muted",
    body: { type: "error", code: "already-muted", args: { name: "bob" } },
    en: roomLines.alreadyMuted("bob"),
  },
  {
    label: "error not-muted",
    body: { type: "error", code: "not-muted", args: { name: "bob" } },
    en: roomLines.notMuted("bob"),
  },
  {
    label: "error line-too-long",
    body: { type: "error", code: "line-too-long", args: { limit: 4096 } },
    en: roomLines.lineTooLong(4096),
  },
  {
    label: "error full (one client)",
    body: { type: "error", code: "full", args: { max: 1 } },
    en: lines.full(1),
  },
  {
    label: "error full (many clients)",
    body: { type: "error", code: "full", args: { max: 256 } },
    en: lines.full(256),
  },
  {
    label: "error too-many-connections",
    body: {
      type: "error",
      code: "too-many-connections",
      args: { limit: 4 },
    },
    en: lines.tooManyFromAddress(4),
  },
  {
    label: "error banned",
    body: { type: "error", code: "banned" },
    en: lines.banned(),
  },
  {
    label: "error internal-error",
    body: { type: "error", code: "internal-error" },
    en: issue13Lines.internalError(),
  },
  // Errors of the structured protocol, new with issue 8: no old line.
  {
    label: "error bad-json",
    body: { type: "error", code: "bad-json" },
    en:
      "*** error: that line is not a JSON object; send one object per line, or plain text.",
  },
  {
    label: "error unknown-type",
    body: { type: "error", code: "unknown-type", args: { type: "dance" } },
    en:
      '*** error: unknown message type "dance"; nothing was done. See docs/PROTOCOL.md.',
  },
  {
    label: "error unknown-field",
    body: { type: "error", code: "unknown-field", args: { field: "txt" } },
    en:
      '*** error: unknown field "txt"; nothing was done. See docs/PROTOCOL.md.',
  },
  {
    label: "error bad-field",
    body: { type: "error", code: "bad-field", args: { field: "text" } },
    en:
      '*** error: field "text" is missing or has the wrong type; nothing was done.',
  },
  {
    label: "error protocol-version",
    body: {
      type: "error",
      code: "protocol-version",
      args: { asked: "7", supported: [1] },
    },
    en:
      "*** error: protocol version 7 is not spoken here; this server speaks version 1.",
  },
  // The rest.
  ...REASONS.map((reason): Sample => ({
    label: `disconnected (${reason})`,
    body: { type: "disconnected", reason },
    en: lines.removed(disconnectedReasons[reason]),
  })),
  { label: "pong", body: { type: "pong" }, en: lines.pong() },
  { label: "shutdown", body: { type: "shutdown" }, en: lines.shutdown() },
  {
    label: "proto (no plain form)",
    body: {
      type: "proto",
      version: 1,
      versions: [1],
      password: false,
      server: "chat 1.0.0",
      run: "0123456789abcdef",
      history: 50,
    },
    en: "",
  },
  // --- issue 12: code blocks --- (new lines: the golden text is here)
  {
    label: "block with a language",
    body: {
      type: "block",
      from: "alice",
      text: "def f(x):\n\n\treturn x",
      lang: "py",
    },
    en: [
      "alice ```py (3 lines)",
      "alice | def f(x):",
      "alice | ",
      "alice | \treturn x",
      "alice ```",
    ].join("\n"),
  },
  {
    label: "block of one line that looks like a notice",
    body: { type: "block", from: "alice", text: "*** bob joined" },
    en: ["alice ``` (1 line)", "alice | *** bob joined", "alice ```"].join(
      "\n",
    ),
  },
  {
    label: "error block-too-long",
    body: {
      type: "error",
      code: "block-too-long",
      args: { lines: 250, bytes: 9000, maxLines: 200, maxBytes: 16384 },
    },
    en:
      "*** error: code block refused: 250 lines and 9000 bytes, over the limit of 200 lines and 16384 bytes. Nothing of it was sent.",
  },
  // --- issue 12: files --- (new lines: the golden text is written here)
  {
    label: "file for the room",
    body: {
      type: "file",
      id: 3,
      from: "alice",
      name: "x.py",
      size: 1572864,
      sha256:
        "45d3df3296a8aab3c13325c9d63c62b3c18161d19557377d430f664dacc94bef",
    },
    en:
      '*** alice shares "x.py" (1.5 MiB, sha256 45d3df3296a8aab3c13325c9d63c62b3c18161d19557377d430f664dacc94bef): type /get 3 in chat connect',
  },
  {
    label: "file for one person, with a link",
    body: {
      type: "file",
      id: 4,
      from: "alice",
      name: "notes.txt",
      size: 812,
      sha256:
        "45d3df3296a8aab3c13325c9d63c62b3c18161d19557377d430f664dacc94bef",
      to: "bob",
      web: "/files/4/0123456789abcdef/notes.txt",
      url: "http://10.0.0.2:8080/files/4/0123456789abcdef/notes.txt",
    },
    en:
      '*** alice shares "notes.txt" with bob (812 B, sha256 45d3df3296a8aab3c13325c9d63c62b3c18161d19557377d430f664dacc94bef): type /get 4 in chat connect, or download it at http://10.0.0.2:8080/files/4/0123456789abcdef/notes.txt',
  },
  {
    label: "file-ready (no plain form)",
    body: { type: "file-ready", upload: 1 },
    en: "",
  },
  {
    label: "file-data (no plain form)",
    body: { type: "file-data", id: 3, offset: 0, data: "aGk=" },
    en: "",
  },
  {
    label: "file-end (no plain form)",
    body: {
      type: "file-end",
      id: 3,
      size: 2,
      sha256:
        "45d3df3296a8aab3c13325c9d63c62b3c18161d19557377d430f664dacc94bef",
    },
    en: "",
  },
  {
    label: "error files-off",
    body: { type: "error", code: "files-off" },
    en: "*** error: file sharing is off in this room.",
  },
  {
    label: "error file-too-big",
    body: {
      type: "error",
      code: "file-too-big",
      args: { size: 3145728, max: 2097152 },
    },
    en: "*** error: the file is too big (3 MiB): the limit is 2 MiB.",
  },
  {
    label: "error file-busy",
    body: { type: "error", code: "file-busy" },
    en: "*** error: a file transfer is already under way: wait for it to end.",
  },
  {
    label: "error file-join-first",
    body: { type: "error", code: "file-join-first" },
    en: "*** error: join the room (/nick NAME) before sharing a file.",
  },
  {
    label: "error file-no-upload",
    body: { type: "error", code: "file-no-upload" },
    en: "*** error: no file upload is under way (send file-offer first).",
  },
  {
    label: "error file-mismatch",
    body: { type: "error", code: "file-mismatch", args: { name: "x.py" } },
    en:
      '*** error: the file "x.py" received does not match its size or SHA-256: it was not shared.',
  },
  {
    label: "error file-stalled",
    body: {
      type: "error",
      code: "file-stalled",
      args: { name: "x.py", seconds: 30 },
    },
    en:
      '*** error: nothing more of the file "x.py" arrived for 30 s: the upload was cancelled.',
  },
  {
    label: "error file-gone",
    body: { type: "error", code: "file-gone", args: { id: 7 } },
    en:
      "*** error: there is no file 7 (it may have been dropped to make room).",
  },
];

/** The sample's body stamped as the room would: a copy, seq 42, time 0. */
export function stamped(body: EventBody, seq = 42, time = 0): ServerEvent {
  return { ...structuredClone(body), seq, time } as ServerEvent;
}
