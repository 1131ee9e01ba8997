/**
 * The golden reference for the plain-text wire format in English: the lines
 * the server sent before the room produced typed events, copied verbatim
 * from the previous commit (`git show 1553345:lib/protocol.ts`, the `lines`
 * object, `NOTICE_PREFIX` and `ERROR_PREFIX`; and `git show
 * 1553345:lib/room.ts` / `lib/server.ts` for the lines they built inline).
 * The English renderer must produce these byte for byte: `nc`, `telnet` and
 * the course's Python clients read them.
 *
 * Deliberately independent of the catalogues: nothing here calls `t()` or
 * imports from `lib/`, so a change to a catalogue sentence shows up as a
 * failing golden test instead of silently changing the expectation.
 *
 * Only two lines changed on purpose with issue 8, and they are marked
 * CHANGED below: the greeting (a newcomer now watches the room), and the
 * join deadline, which became the password deadline (there is no deadline
 * in a room without a password any more).
 */

/** Prefix of every line that comes from the server itself rather than a user. */
export const NOTICE_PREFIX = "*** ";

/** Prefix of an error line sent to one client only. */
export const ERROR_PREFIX = "*** error: ";

/**
 * The exact text of every line the server sends, without the trailing `\n`.
 * One place for each kind of line, so tests, clients and docs agree.
 */
export const lines = {
  /** A public message: `alice: hello`. */
  message: (from: string, text: string): string => `${from}: ${text}`,
  /** An action from `/me`: `* alice waves`. */
  action: (from: string, text: string): string => `* ${from} ${text}`,
  /** A private message from `/msg`, seen by sender and target only. */
  privateMessage: (from: string, to: string, text: string): string =>
    `[private] ${from} -> ${to}: ${text}`,
  /** Any notice from the server: `*** text`. */
  notice: (text: string): string => `${NOTICE_PREFIX}${text}`,
  /** An error sent to one client only: `*** error: text`. */
  error: (text: string): string => `${ERROR_PREFIX}${text}`,
  joined: (name: string): string => `${NOTICE_PREFIX}${name} joined`,
  left: (name: string, reason?: string): string =>
    `${NOTICE_PREFIX}${name} left${reason ? ` (${reason})` : ""}`,
  renamed: (from: string, to: string): string =>
    `${NOTICE_PREFIX}${from} is now known as ${to}`,
  welcome: (
    name: string,
    online: readonly string[],
    topic?: string,
  ): string =>
    `${NOTICE_PREFIX}Welcome, ${name}! Online (${online.length}): ${
      online.join(", ")
    }.${
      topic ? ` Topic: ${topic}.` : ""
    } Type /help for commands, /nick NAME to change your name.`,
  /**
   * First line to a new connection in an open room.
   *
   * CHANGED with issue 8: it now says the newcomer is watching. Before:
   * `*** Hello! Send /nick NAME to join with a name, or type a message to
   * join as a guest.`
   */
  greeting: (): string =>
    `${NOTICE_PREFIX}Hello! You are watching the room. Send /nick NAME to join with a name, or type a message to join as a guest.`,
  /** First line to a new connection when the room has a password. */
  passwordNeeded: (): string =>
    `${NOTICE_PREFIX}This room needs a password: send /pass PASSWORD`,
  passwordAccepted: (): string =>
    `${NOTICE_PREFIX}Password accepted. Send /nick NAME to join with a name, or type a message to join as a guest.`,
  /** Answer to `/ping`, which clients send to tell the server they are alive. */
  pong: (): string => `${NOTICE_PREFIX}pong`,
  topic: (topic: string | undefined): string =>
    `${NOTICE_PREFIX}${topic ? `Topic: ${topic}` : "No topic is set."}`,
  topicSet: (by: string, topic: string): string =>
    `${NOTICE_PREFIX}${by} set the topic: ${topic}`,
  /** The last line to someone the server disconnects on purpose. */
  removed: (why: string): string =>
    `${NOTICE_PREFIX}You were disconnected: ${why}.`,
  who: (online: readonly string[]): string =>
    `${NOTICE_PREFIX}Online (${online.length}): ${online.join(", ")}`,
  shutdown: (): string => `${NOTICE_PREFIX}server is shutting down`,
  full: (maxClients: number): string =>
    `${ERROR_PREFIX}the server is full (${maxClients} ${
      maxClients === 1 ? "client" : "clients"
    }). Try again later.`,
  goodbye: (): string => `${NOTICE_PREFIX}Bye!`,
  tooManyFromAddress: (limit: number): string =>
    `${ERROR_PREFIX}too many connections from your address (at most ${limit}). Close one and try again.`,
  banned: (): string => `${ERROR_PREFIX}you are banned from this room.`,
  /**
   * CHANGED with issue 8: replaces `handshakeTimeout`, which was
   * `*** error: nothing received within ${seconds} s of connecting; closing.
   * Send /nick NAME or a message to join.` The deadline now applies only to
   * giving the password.
   */
  passwordTimeout: (seconds: number): string =>
    `${ERROR_PREFIX}no password received within ${seconds} s of connecting; closing.`,
};

/**
 * Lines the old room (`lib/room.ts`) and server (`lib/server.ts`) built
 * inline with `lines.error(...)` and `lines.notice(...)`, their templates
 * copied verbatim.
 */
export const roomLines = {
  unknownCommand: (command: string): string =>
    lines.error(`unknown command "/${command}". Type /help for the list.`),
  /** `usage` as in the old command table: `NAME`, `TEXT`, `NAME TEXT`. */
  usage: (command: string, usage: string): string =>
    lines.error(`usage: /${command} ${usage}`),
  /** `problem` is one of {@linkcode nameProblems}. */
  nameInvalid: (name: string, problem: string): string =>
    lines.error(`cannot use "${name}" as a name: ${problem}.`),
  nameTaken: (name: string): string =>
    lines.error(`the name "${name}" is taken. Try another one.`),
  nameReserved: (name: string): string =>
    lines.error(
      `the name "${name}" is reserved for the host. Try another one.`,
    ),
  sameName: (name: string): string =>
    lines.error(`you are already called ${name}.`),
  noSuchName: (name: string): string =>
    lines.error(`no one called "${name}" is here. Try /who.`),
  passwordFirst: (): string =>
    lines.error("this room needs a password: send /pass PASSWORD first."),
  wrongPassword: (): string => lines.error("wrong password."),
  noPassword: (): string => lines.notice("This room has no password."),
  flooding: (burst: number, perSecond: number): string =>
    lines.error(
      `slow down: at most ${burst} lines at once, then ${perSecond} per second. Lines sent faster are not delivered.`,
    ),
  muted: (): string =>
    lines.error("you are muted by the host: nothing you send is delivered."),
  hostOnlyTopic: (): string => lines.error("only the host can set the topic."),
  cannotModerateHost: (command: string): string =>
    lines.error(`you cannot ${command} the host.`),
  noAddress: (name: string): string => lines.error(`${name} has no address.`),
  alreadyMuted: (name: string): string =>
    lines.error(`${name} is already muted.`),
  notMuted: (name: string): string => lines.error(`${name} is not muted.`),
  addressBanned: (address: string): string =>
    lines.notice(`${address} is banned until the server stops.`),
  mutedNotice: (name: string): string =>
    lines.notice(`${name} was muted by the host`),
  unmutedNotice: (name: string): string =>
    lines.notice(`${name} may speak again`),
  /** From the old `lib/server.ts`. */
  lineTooLong: (limitBytes: number): string =>
    lines.error(
      `line too long (over ${limitBytes} bytes); it was not sent.`,
    ),
};

/** The old `nameProblem()` sentences, by the problem's new code. */
export const nameProblems = {
  "empty": "a name needs at least one character",
  "too-long": "names are at most 24 characters long",
  // CHANGED with issue 13: names may hold accented Latin letters.
  "characters":
    "names may contain only letters of the Latin alphabet, with or without accents (é, ç, ø ...), digits, _ and -",
  // NEW with issue 14: `-`, `_` and `--help` are not names.
  "start": "a name starts with a letter or a digit",
} as const;

/**
 * The old reasons in `*** bob left (REASON)`, by the new leave reason code
 * (from the old `lib/room.ts` and `lib/server.ts`).
 */
export const leftReasons = {
  "kicked": "kicked by the host",
  "banned": "banned by the host",
  "flooding": "flooding",
  "too-slow": "too slow",
  "timed-out": "timed out",
  "connection-lost": "connection lost",
  /** New with issue 14: a silent watcher made way for a newcomer. */
  "room-full": "room full",
} as const;

/**
 * The old reasons in `*** You were disconnected: WHY.`, by leave reason code.
 * A slow reader was told `too slow to keep up` while the others read
 * `too slow`. The old server never told anyone `connection lost` (there was
 * no one left to tell); the sentence follows the same pattern.
 */
export const disconnectedReasons = {
  "kicked": "kicked by the host",
  "banned": "banned by the host",
  "flooding": "flooding",
  "too-slow": "too slow to keep up",
  "timed-out": "timed out",
  "connection-lost": "connection lost",
  /** New with issue 14: a silent watcher made way for a newcomer. */
  "room-full":
    "the room is full and you had sent nothing for a while: a newcomer took your seat. Reconnect and send a line to join",
} as const;

/** `/help` for a guest, line by line, as the old room sent it. */
export const HELP_GUEST: readonly string[] = [
  "*** Commands:",
  "***   /nick NAME      change your name (letters, digits, _ and -; at most 24)",
  "***   /who            list who is online",
  "***   /me TEXT        describe an action: /me waves shows * NAME waves",
  "***   /msg NAME TEXT  send a private message that only NAME sees",
  "***   /help           show this list",
  "***   /quit           leave the chat",
  "***   /topic [TEXT]   show the topic (the host can set it)",
  // CHANGED with issue 9: /history is new.
  "***   /history        show the room's earlier lines again",
  "*** A line that is just 'stop' also quits. Start a line with // to send a message beginning with /.",
  // CHANGED with issue 12: code blocks.
  "*** A line that is just ``` (or ```py, ```js ...) starts a code block; everything up to the next line ``` goes out as one message.",
];

/**
 * `/help` for the host, line by line.
 *
 * CHANGED with issue 13: without `/quit` (the host cannot leave its own
 * room), and with a footer saying how to shut the room down. Before: every
 * line of {@linkcode HELP_GUEST} (the footer last), with the host's
 * commands before the footer.
 */
export const HELP_HOST: readonly string[] = [
  ...HELP_GUEST.slice(0, -2).filter((line) => !line.includes("/quit")),
  "***   /kick NAME      disconnect NAME",
  // CHANGED with issue 14: says that a range can be banned too.
  "***   /ban NAME       disconnect NAME and refuse its address until the server stops (or a range: /ban 192.168.1.0/28)",
  "***   /mute NAME      stop NAME's lines from reaching anyone",
  "***   /unmute NAME    let NAME speak again",
  "***   /stop           shut the server down for everyone",
  "*** At this console, /stop shuts the room down for everyone (so does Ctrl-C); 'stop' and /quit do not. Start a line with // to send a message beginning with /.",
  // CHANGED with issue 12: code blocks.
  "*** A line that is just ``` (or ```py, ```js ...) starts a code block; everything up to the next line ``` goes out as one message.",
];

/** Lines new with issue 13, which the old room never sent. */
export const issue13Lines = {
  /** To the host: its `/stop` while others are connected. */
  stopConfirm: (count: number): string =>
    `${NOTICE_PREFIX}People connected besides you: ${count}. Type /stop again within 10 s to shut the room down for everyone.`,
  /** To the host: `stop` or `/quit` at its console. */
  howToStop: (typed: string): string =>
    `${NOTICE_PREFIX}"${typed}" does not shut the room down at the host's console, and nothing was sent: /stop does, for everyone.`,
  /** To a client whose line the room failed on (a bug in chat). */
  internalError: (): string =>
    `${ERROR_PREFIX}the server hit a bug while handling that line (it is logged on the server); it may not have been delivered.`,
};

/** Lines new with issue 9, which the old room never sent. */
export const issue9Lines = {
  /** Before a replay of the room's earlier lines. */
  historyStart: (count: number): string =>
    `${NOTICE_PREFIX}Earlier in the room (${count} ${
      count === 1 ? "line" : "lines"
    }):`,
  /** After a replay of the room's earlier lines. */
  historyEnd: (): string => `${NOTICE_PREFIX}End of earlier lines.`,
  /** `/nick` of a name kept for a member whose connection dropped. */
  nameAway: (name: string, seconds: number): string =>
    `${ERROR_PREFIX}the name "${name}" belongs to someone whose connection dropped; it is kept for them ${seconds} s more. Try another one.`,
  /** `resume` with no name kept for that token. */
  resumeFailed: (name: string): string =>
    `${ERROR_PREFIX}the name "${name}" is not kept for you (it was let go, or the server restarted). Join with /nick NAME.`,
};
