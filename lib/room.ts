/**
 * The chat room: who is here, what their names are, and what each line they
 * send does. Plain logic with no sockets: the transport hands lines in and
 * receives typed events out through {@linkcode Peer}; each kind of client
 * renders them itself (`outgoing.ts`).
 *
 * The door (password and joining) is in `door.ts`, the commands in
 * `commands.ts`, flood control in `flood.ts` and the host's moderation in
 * `moderation.ts`.
 *
 * @module
 */

import {
  BlockDraft,
  type BlockLimits,
  blockLines,
  blockSize,
  DEFAULT_BLOCK_LIMITS,
  fitsLimits,
  floodCost,
  isClosingFence,
  openingFence,
} from "./code_block.ts";
import { COMMANDS, parseCommand } from "./commands.ts";
import { handleAtDoor } from "./door.ts";
import type {
  ErrorNotice,
  EventBody,
  LeaveReason,
  ServerEvent,
  WhoEntry,
} from "./events.ts";
import {
  DEFAULT_FLOOD_LIMITS,
  FLOOD_MEMORY_MS,
  FloodBucket,
  type FloodLimits,
} from "./flood.ts";
import {
  DEFAULT_HISTORY_LINES,
  History,
  HISTORY_MAX_BYTES,
  isKeptInHistory,
} from "./history.ts";
import { Moderation } from "./moderation.ts";
import {
  DEFAULT_PASSWORD_LIMITS,
  PasswordGuard,
  type PasswordLimits,
} from "./password_guard.ts";
import { OutgoingEvent } from "./outgoing.ts";
import { newRoomShare, RoomRate, type RoomShare } from "./room_rate.ts";
import {
  nameKey,
  nameProblem,
  normalizeName,
  sanitizeText,
} from "./protocol.ts";

export { DEFAULT_FLOOD_LIMITS, FLOOD_MEMORY_MS } from "./flood.ts";
export type { FloodLimits } from "./flood.ts";

/** The transport side of a member: where the room puts events for it. */
export interface Peer {
  /** Queues an event for this member. Must return at once, never wait. */
  send(event: OutgoingEvent): void;
  /** Asks the transport to end this member's connection after its queue. */
  close(): void;
}

/** Someone connected: at the door, watching, in the room, or gone. */
export interface Member {
  /**
   * Current name (NFC), unique in the room without regard to case or
   * accents; "" before joining.
   */
  readonly name: string;
  /** The host types at the server's console and may use host-only commands. */
  readonly isHost: boolean;
  /** True while in the room: seen by `/who`, may speak. */
  readonly present: boolean;
  /** True until the line that joins the room. */
  readonly waiting: boolean;
  /**
   * True while not yet joined but receiving everything said: from arrival
   * in a room without a password, after the right `/pass` in one with.
   */
  readonly watching: boolean;
  /** The network address it came from, if any; what `/ban` bans. */
  readonly address?: string;
}

/** The room's own record of a member. */
export interface MemberState extends Member {
  name: string;
  present: boolean;
  waiting: boolean;
  watching: boolean;
  readonly peer: Peer;
  passwordGiven: boolean;
  muted: boolean;
  readonly flood: FloodBucket;
  /** When it arrived or last sent a line (not a `/ping`), on the room's clock. */
  lastLineAt: number;
  /** Its recent share of the room's lines (`--room-rate`). */
  readonly roomShare: RoomShare;
  /** When the room's ceiling last refused one of its lines. */
  roomRefusedAt: number;
  /**
   * The secret its last welcome carried: with it, a new connection takes
   * the name back after a drop (issue 9). "" before joining.
   */
  token: string;
  /** Issue 12: the code block it is typing between fences, if any. */
  codeBlock: BlockDraft | undefined;
}

/**
 * Why leaving keeps a member's name for it a while: its connection went
 * away without it quitting, so its client may come back (issue 9).
 */
const REASONS_THAT_KEEP_THE_NAME: ReadonlySet<LeaveReason> = new Set<
  LeaveReason
>(["connection-lost", "timed-out", "too-slow"]);

/** How long a dropped member's name stays kept for it (issue 9). */
export const DEFAULT_RESERVE_MS = 60_000;

/** Most names kept at once; past this the oldest is let go first. */
const MAX_KEPT_NAMES = 1024;

/** A dropped member's name, kept for whoever holds its token. */
interface KeptName {
  readonly name: string;
  readonly token: string;
  /** When it is let go, on the room's clock. */
  readonly until: number;
}

/** How long a wrong password waits before its refusal, to slow guessing. */
export const WRONG_PASSWORD_DELAY_MS = 1000;

/**
 * While others are connected, the host's `/stop` asks for a second `/stop`
 * within this long before it shuts the room down.
 */
export const STOP_CONFIRM_MS = 10_000;

/** Options for {@linkcode Room}. */
export interface RoomOptions {
  /**
   * Called when the host's `/stop` shuts the room down (at once when no one
   * else is connected, else when it is confirmed).
   */
  onStop?: () => void;
  /** When set, newcomers must send `/pass PASSWORD` before anything else. */
  password?: string;
  /** Flood control for members other than the host. */
  flood?: FloodLimits;
  /**
   * Clock in milliseconds, for flood control and the confirmation of
   * `/stop`; tests pass their own.
   */
  now?: () => number;
  /** Delay before a wrong password is refused (default 1 s). */
  wrongPasswordDelayMs?: number;
  /** Lines per second the whole room accepts (`--room-rate`); 0 or unset: no ceiling. */
  roomRate?: number;
  /** Lock-outs after wrong passwords, per address and for the room. */
  passwordLimits?: PasswordLimits;
  /**
   * Earlier public lines kept for newcomers (`--history`, default
   * {@linkcode DEFAULT_HISTORY_LINES}); 0 keeps none.
   */
  historyLines?: number;
  /** Most bytes of text the history keeps (default 64 KiB). */
  historyBytes?: number;
  /**
   * How long a dropped member's name is kept for it, in ms (default
   * {@linkcode DEFAULT_RESERVE_MS}).
   */
  reserveMs?: number;
  /**
   * Called with every event said to everyone, once, as it is said (the
   * transcript, `--log`). Must not throw or wait.
   */
  onBroadcast?: (event: ServerEvent) => void;
  /** Issue 12: most lines and bytes in a code block (200, 16 KiB). */
  blocks?: BlockLimits;
}

/**
 * The room every connection joins. Each method runs to completion without
 * awaiting, so every member sees every event in the same order.
 *
 * A network connection first {@linkcode Room.arrive}s: it is greeted and,
 * in a room without a password, watches at once: it receives everything
 * said, unannounced and nameless. Its first line joins it (after `/pass`
 * when there is a password): `/nick NAME` under that name, anything else as
 * a guest, and the line is then handled.
 *
 * @example A member joins and speaks
 * ```ts
 * import { Room } from "./room.ts";
 * import { renderText } from "./render_text.ts";
 * const room = new Room();
 * const seen: string[] = [];
 * const alice = room.arrive({
 *   send: (out) => seen.push(renderText(out.event, "en")),
 *   close() {},
 * });
 * room.handleLine(alice, "/nick alice");
 * room.handleLine(alice, "hello");
 * // seen: ["*** Hello! ...", "*** Welcome, alice! ...", "alice: hello"]
 * ```
 */
export class Room {
  /** Everyone present, in order of arrival. */
  readonly #members = new Set<MemberState>();
  /** The same members, by the key of their name (`nameKey`). */
  readonly #byName = new Map<string, MemberState>();
  /** Connections greeted but not yet in the room, watching or not. */
  readonly #waiting = new Set<MemberState>();
  /** Everyone who receives what is said: members and watchers. */
  readonly #audience = new Set<MemberState>();
  /**
   * Keys of the names only the host may use: its own, whatever it renames
   * to.
   */
  readonly #reservedNames = new Set<string>();
  /** Names of dropped members kept for them, by `nameKey` (issue 9). */
  readonly #keptNames = new Map<string, KeptName>();
  readonly #history: History;
  readonly #reserveMs: number;
  readonly #onBroadcast: ((event: ServerEvent) => void) | undefined;
  readonly moderation: Moderation = new Moderation(this);
  #topic: string | undefined;
  #guestCounter = 0;
  #watcherCount = 0;
  #seq = 0;
  /** When the host's unconfirmed `/stop` was typed, on the room's clock. */
  #stopAskedAt: number | undefined;
  readonly #onStop: () => void;
  readonly #password: string | undefined;
  readonly #floodLimits: FloodLimits;
  readonly #now: () => number;
  readonly #roomRate: RoomRate;
  readonly #blockLimits: BlockLimits;
  /** Wait before a wrong password is refused, in ms. */
  readonly wrongPasswordDelayMs: number;
  /** Wrong passwords counted per address and for the room (`door.ts`). */
  readonly passwordGuard: PasswordGuard;

  constructor(options: RoomOptions = {}) {
    this.#onStop = options.onStop ?? (() => {});
    this.#password = options.password || undefined;
    this.#floodLimits = options.flood ?? DEFAULT_FLOOD_LIMITS;
    this.#now = options.now ?? (() => performance.now());
    this.#roomRate = new RoomRate(options.roomRate ?? 0, this.#now());
    this.wrongPasswordDelayMs = options.wrongPasswordDelayMs ??
      WRONG_PASSWORD_DELAY_MS;
    this.passwordGuard = new PasswordGuard(
      options.passwordLimits ?? DEFAULT_PASSWORD_LIMITS,
      this.#now,
    );
    this.#history = new History(
      options.historyLines ?? DEFAULT_HISTORY_LINES,
      options.historyBytes ?? HISTORY_MAX_BYTES,
    );
    this.#reserveMs = options.reserveMs ?? DEFAULT_RESERVE_MS;
    this.#onBroadcast = options.onBroadcast;
    this.#blockLimits = options.blocks ?? DEFAULT_BLOCK_LIMITS;
  }

  /** Issue 12: the limits of a code block. */
  get blockLimits(): BlockLimits {
    return this.#blockLimits;
  }

  /** How many earlier lines the room keeps for newcomers; 0: none. */
  get historyLines(): number {
    return this.#history.maxLines;
  }

  /** Names of everyone present, in order of arrival. */
  get names(): string[] {
    return [...this.#members].map((member) => member.name);
  }

  /** Connections watching without having joined. */
  get watcherCount(): number {
    return this.#watcherCount;
  }

  /** The topic shown in the welcome line, if the host set one. */
  get topic(): string | undefined {
    return this.#topic;
  }

  /** The room password, if it has one. */
  get password(): string | undefined {
    return this.#password;
  }

  /** True when connections from `address` are banned. */
  isBanned(address: string): boolean {
    return this.moderation.isBanned(address);
  }

  /** True while `member` must still send the room password. */
  passwordNeeded(member: Member): boolean {
    return this.#password !== undefined &&
      !(member as MemberState).passwordGiven && !member.present;
  }

  /**
   * A network connection arrives: it is greeted and, in a room without a
   * password, watches from now on; in one with, it is asked for the
   * password and sees nothing until it gives it.
   */
  arrive(peer: Peer, options: { address?: string } = {}): Member {
    const member = this.#newMember(peer, "", false, options.address);
    member.waiting = true;
    this.#waiting.add(member);
    if (this.#password) {
      this.tell(member, { type: "notice", code: "password-needed" });
    } else {
      this.tell(member, { type: "notice", code: "greeting" });
      this.startWatching(member);
    }
    return member;
  }

  /**
   * Adds a member at once under `name` (default a fresh `guestN`), sends it
   * the welcome line and tells everyone else. The host joins this way, and
   * its name is reserved from then on.
   */
  join(
    peer: Peer,
    options: { name?: string; isHost?: boolean; address?: string } = {},
  ): Member {
    const name = normalizeName(options.name ?? this.nextGuestName());
    if (this.#byName.has(nameKey(name))) {
      throw new Error(`the name "${name}" is taken`);
    }
    const member = this.#newMember(
      peer,
      name,
      options.isHost ?? false,
      options.address,
    );
    if (member.isHost) this.#reservedNames.add(nameKey(name));
    this.enter(member, name);
    return member;
  }

  /**
   * Removes a member and tells everyone it left. Safe to call more than once:
   * only the first call has an effect, so each departure is announced once.
   * Someone who has not joined leaves without a notice.
   */
  leave(member: Member, reason?: LeaveReason): void {
    const state = member as MemberState;
    if (state.waiting) {
      this.#stopWatching(state);
      state.waiting = false;
      this.#waiting.delete(state);
      return;
    }
    if (!state.present) return;
    state.present = false;
    this.#members.delete(state);
    this.#audience.delete(state);
    this.#byName.delete(nameKey(state.name));
    if (reason && REASONS_THAT_KEEP_THE_NAME.has(reason) && !state.isHost) {
      this.#keepName(state);
    }
    this.broadcast(
      reason
        ? { type: "left", name: state.name, reason }
        : { type: "left", name: state.name },
    );
  }

  /** Says something to everyone present and watching. */
  broadcast(body: EventBody): void {
    const stamped = this.#stamp(body);
    const event = new OutgoingEvent(stamped, true);
    for (const member of this.#audience) member.peer.send(event);
    // The same stamped object, kept by reference: nothing is copied or
    // encoded here for history or the transcript.
    if (isKeptInHistory(stamped)) this.#history.add(stamped);
    this.#onBroadcast?.(stamped);
  }

  /** Says something to the host at its console, when it is in the room. */
  tellHost(body: EventBody): void {
    for (const member of this.#members) {
      if (member.isHost) this.tell(member, body);
    }
  }

  /** Says something to one member only. */
  tell(member: Member, body: EventBody): void {
    (member as MemberState).peer.send(this.eventFor(body));
  }

  /**
   * An event for one member, stamped with the next sequence number, for a
   * transport to render itself (a farewell, a refusal at accept).
   */
  eventFor(body: EventBody): OutgoingEvent {
    return new OutgoingEvent(this.#stamp(body), false);
  }

  /**
   * Handles one line from a member: a message, a `/command`, or `stop`; for
   * someone who has not joined, the password or the line that joins. The
   * text is sanitised first; empty lines are ignored.
   *
   * A line that is exactly `stop` makes a member leave, as the exercise
   * sheet's client does (`stop` with blanks around it is a message). At the
   * host's console `stop`, with or without blanks, shuts nothing down: the
   * host is told how to (`/stop`), and nothing is sent.
   */
  handleLine(member: Member, rawText: string): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    const text = sanitizeText(rawText);
    // Issue 12: between fences every line, blank or `/...`, is the block's.
    if (state.codeBlock !== undefined) return this.#blockLine(state, text);
    const trimmed = text.trim();
    if (trimmed === "") return;
    // Heartbeat: answered, never counted, never joins.
    if (trimmed.toLowerCase() === "/ping") return this.ping(state);
    if (trimmed.startsWith("```") && !this.passwordNeeded(state)) {
      const lang = openingFence(trimmed);
      if (lang !== undefined) {
        state.lastLineAt = this.#now();
        state.codeBlock = new BlockDraft(lang, this.#blockLimits);
        return;
      }
    }
    // One clock reading per line, for silence, flood control and the
    // room's ceiling alike.
    const now = this.#now();
    state.lastLineAt = now;
    if (state.isHost && trimmed === "stop") {
      return this.tell(state, {
        type: "notice",
        code: "how-to-stop",
        args: { typed: "stop" },
      });
    }
    // Leaving is never refused, whatever the flood budget.
    const leaving = text === "stop" || /^\/quit$/i.test(trimmed);
    if (!leaving && !this.#withinFloodLimit(state, now)) return;
    if (state.waiting) {
      handleAtDoor(this, state, text, trimmed);
      return;
    }
    if (text === "stop") return this.quit(state);
    if (text.startsWith("//") || !text.startsWith("/")) {
      return this.#say(state, text.startsWith("//") ? text.slice(1) : text);
    }
    const { name: commandName, args } = parseCommand(trimmed);
    const command = COMMANDS.get(commandName);
    if (!command || (command.hostOnly && !state.isHost)) {
      return this.tellError(state, {
        code: "unknown-command",
        args: { command: commandName },
      });
    }
    if (state.muted && !command.quiet) return this.#tellMuted(state);
    command.run(this, state, args);
  }

  /**
   * A message that is never a command, even when it starts with `/` (the
   * structured protocol's `say`). Joins as a guest first if need be.
   */
  say(member: Member, rawText: string): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    const text = sanitizeText(rawText);
    if (text.trim() === "") return;
    const now = this.#now();
    state.lastLineAt = now;
    if (!this.#withinFloodLimit(state, now)) return;
    if (state.waiting) {
      if (!handleAtDoor(this, state, "/join", "/join")) return;
    }
    this.#say(state, text);
  }

  /**
   * Issue 12: a code block (the structured request `block`, a paste at the
   * host's console): said to everyone at once as one event, its lines
   * sanitised one by one and blank lines at its end dropped. Over the
   * limits it is refused whole (`block-too-long`, counted as one line for
   * flood control); within them it costs {@linkcode floodCost} lines.
   * Joins as a guest first if need be, like `say`.
   */
  block(member: Member, rawText: string, lang?: string): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    this.#sendBlock(state, blockLines(rawText), lang || undefined);
  }

  /** Issue 12: true while `member` is typing a code block between fences. */
  inBlock(member: Member): boolean {
    return (member as MemberState).codeBlock !== undefined;
  }

  /**
   * Issue 12: a line from `member` was too long for the connection. In a
   * code block it spoils the block (refused whole at its end: never sent
   * with a line missing) and true is returned; else false.
   */
  lineLostInBlock(member: Member, limitBytes: number): boolean {
    const draft = (member as MemberState).codeBlock;
    draft?.spoil(limitBytes);
    return draft !== undefined;
  }

  /** A line between fences: kept, or the closing fence that sends all. */
  #blockLine(state: MemberState, text: string): void {
    const draft = state.codeBlock!;
    state.lastLineAt = this.#now();
    if (!isClosingFence(text)) return draft.add(text);
    state.codeBlock = undefined;
    if (!draft.withinLimits) return this.#refuseBlock(state, draft.size);
    this.#sendBlock(state, blockLines(draft.text), draft.lang || undefined);
  }

  #sendBlock(state: MemberState, lines: string[], lang?: string): void {
    if (lines.length === 0) return;
    const size = blockSize(lines);
    if (!fitsLimits(size, this.#blockLimits)) {
      return this.#refuseBlock(state, size);
    }
    const now = this.#now();
    state.lastLineAt = now;
    const cost = floodCost(size.bytes, this.#floodLimits.burst);
    if (!this.#withinFloodLimit(state, now, cost)) return;
    if (state.waiting) {
      if (!handleAtDoor(this, state, "/join", "/join")) return;
    }
    if (state.muted) return this.#tellMuted(state);
    const text = lines.join("\n");
    this.broadcast(
      lang === undefined
        ? { type: "block", from: state.name, text }
        : { type: "block", from: state.name, text, lang },
    );
  }

  /** A block over the limits: one line says so; nothing of it is said. */
  #refuseBlock(
    state: MemberState,
    size: { lines: number; bytes: number },
  ): void {
    if (!this.#withinFloodLimit(state, this.#now())) return;
    this.tellError(state, {
      code: "block-too-long",
      args: {
        lines: size.lines,
        bytes: size.bytes,
        maxLines: this.#blockLimits.maxLines,
        maxBytes: this.#blockLimits.maxBytes,
      },
    });
  }

  /** Answers a heartbeat, in any state. */
  ping(member: Member): void {
    const state = member as MemberState;
    if (state.present || state.waiting) this.tell(state, { type: "pong" });
  }

  /** Sends an error to one member. */
  tellError(member: Member, error: ErrorNotice): void {
    this.tell(member, { type: "error", ...error } as EventBody);
  }

  /**
   * The member present with this name, compared without regard to case or
   * accents (`nameKey`).
   */
  find(name: string): Member | undefined {
    return this.#byName.get(nameKey(name));
  }

  /** Everyone connected from `address`: present, watching or at the door. */
  connectedFrom(address: string): Member[] {
    return this.connectedWhere((other) => other === address);
  }

  /** Everyone connected from an address that passes `test`. */
  connectedWhere(test: (address: string) => boolean): Member[] {
    return [...this.#members, ...this.#waiting].filter((other) =>
      other.address !== undefined && test(other.address)
    );
  }

  /**
   * The connection to make room for a newcomer when the server is full: of
   * those that have not joined (watching, or at the door), the one that has
   * sent nothing for longest, if that is at least `minSilenceMs`; members
   * who joined are never chosen. `undefined` when there is none.
   */
  longestSilentWaiting(minSilenceMs: number): Member | undefined {
    const latest = this.#now() - minSilenceMs;
    let chosen: MemberState | undefined;
    for (const state of this.#waiting) {
      if (state.isHost || state.lastLineAt > latest) continue;
      if (!chosen || state.lastLineAt < chosen.lastLineAt) chosen = state;
    }
    return chosen;
  }

  /** Renames a member, or tells it why not. */
  rename(member: Member, typedName: string): void {
    const state = member as MemberState;
    const newName = normalizeName(typedName);
    const problem = this.nameProblem(state, newName);
    if (problem) return this.tellError(state, problem);
    if (newName === state.name) {
      return this.tellError(state, {
        code: "same-name",
        args: { name: newName },
      });
    }
    const oldName = state.name;
    this.#byName.delete(nameKey(oldName));
    state.name = newName;
    this.#byName.set(nameKey(newName), state);
    if (state.isHost) this.#reservedNames.add(nameKey(newName));
    this.broadcast({ type: "renamed", from: oldName, to: newName });
  }

  /**
   * Says goodbye to a member and ends its connection. The host cannot leave
   * its own room: it is told that `/stop` shuts the room down.
   */
  quit(member: Member): void {
    const state = member as MemberState;
    if (state.isHost) {
      return this.tell(state, {
        type: "notice",
        code: "how-to-stop",
        args: { typed: "/quit" },
      });
    }
    this.tell(state, { type: "notice", code: "bye" });
    this.leave(state);
    state.peer.close();
  }

  /**
   * Disconnects a member on purpose: it gets a last line saying why, the
   * room sees it leave with `reason`.
   */
  remove(member: Member, reason: LeaveReason): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    this.tell(state, { type: "disconnected", reason });
    this.leave(state, reason);
    state.peer.close();
  }

  /** Host: disconnects a member. */
  kick(host: Member, name: string): void {
    this.moderation.kick(host, name);
  }

  /** Host: disconnects everyone from a member's address, and bans it. */
  ban(host: Member, name: string): void {
    this.moderation.ban(host, name);
  }

  /** Host: nothing a member sends reaches anyone, until `/unmute`. */
  mute(host: Member, name: string): void {
    this.moderation.mute(host, name);
  }

  /** Host: lets a muted member speak again. */
  unmute(host: Member, name: string): void {
    this.moderation.unmute(host, name);
  }

  /** Sets the topic shown to everyone and in each newcomer's welcome. */
  setTopic(member: Member, topic: string): void {
    this.#topic = topic;
    this.broadcast({ type: "topic", topic, by: member.name });
  }

  /** Stops the server at once, as a confirmed `/stop` does. */
  stop(): void {
    this.#stopAskedAt = undefined;
    this.#onStop();
  }

  /**
   * The host's `/stop`: shuts the room down at once when no one else is
   * connected; otherwise tells the host how many are and shuts down only
   * if `/stop` comes again within {@linkcode STOP_CONFIRM_MS} (on the
   * room's clock).
   */
  requestStop(host: Member): void {
    const now = this.#now();
    const others = this.#members.size + this.#waiting.size -
      (this.#members.has(host as MemberState) ? 1 : 0);
    const asked = this.#stopAskedAt;
    if (
      others === 0 || (asked !== undefined && now - asked <= STOP_CONFIRM_MS)
    ) {
      return this.stop();
    }
    this.#stopAskedAt = now;
    this.tell(host, {
      type: "notice",
      code: "stop-confirm",
      args: { count: others, seconds: STOP_CONFIRM_MS / 1000 },
    });
  }

  /** `/who` for `member`; the host also sees where each one connects from. */
  whoFor(member: Member): WhoEntry[] {
    return [...this.#members].map((other) =>
      member.isHost && other.address !== undefined
        ? { name: other.name, address: other.address }
        : { name: other.name }
    );
  }

  /**
   * Why `state` may not take `name`, or `undefined` when it may. Used by
   * the door and by `/nick`.
   */
  nameProblem(state: Member, typedName: string): ErrorNotice | undefined {
    const name = normalizeName(typedName);
    const problem = nameProblem(name);
    if (problem) {
      return { code: "name-invalid", args: { name, problem } };
    }
    const holder = this.find(name);
    if (holder && holder !== state) {
      return { code: "name-taken", args: { name } };
    }
    const kept = this.#keptName(name);
    if (kept) {
      const seconds = Math.max(1, Math.ceil((kept.until - this.#now()) / 1000));
      return { code: "name-away", args: { name: kept.name, seconds } };
    }
    if (!state.isHost && this.#reservedNames.has(nameKey(name))) {
      return { code: "name-reserved", args: { name } };
    }
    return undefined;
  }

  /** A fresh `guestN` name that no one holds or has reserved. */
  nextGuestName(): string {
    let name: string;
    do name = `guest${++this.#guestCounter}`; while (
      this.#byName.has(nameKey(name)) ||
      this.#reservedNames.has(nameKey(name)) ||
      this.#keptName(name) !== undefined
    );
    return name;
  }

  /** A connection at the door starts receiving what is said. */
  startWatching(state: MemberState): void {
    if (state.watching) return;
    state.watching = true;
    this.#watcherCount++;
    this.#audience.add(state);
    // What it missed, before anything new (issue 9).
    this.#replayHistory(state);
  }

  /**
   * The room's earlier lines for `member` (`/history`, or the structured
   * request `history`): all kept, or those with a sequence number above
   * `after`. Counted like any line for flood control (`counted`: the
   * line asking was already). Nothing before the room's password.
   */
  history(member: Member, after?: number, counted = false): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    if (!counted && !this.#withinFloodLimit(state, this.#now())) return;
    if (this.passwordNeeded(state)) {
      return this.tellError(state, { code: "password-first" });
    }
    this.#replayHistory(state, after);
  }

  /**
   * `resume` (issue 9): a connection that has not joined takes back the
   * name kept since its client's connection dropped, proving with the
   * token that client's last welcome carried. It then joins as with
   * `/nick` (everyone sees `joined`) and gets a welcome with a new token.
   * If the old connection is still in the room, it is disconnected first
   * (`connection-lost`). Otherwise it is told `resume-failed` and nothing
   * else changes.
   */
  resume(member: Member, typedName: string, token: string): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    if (!this.#withinFloodLimit(state, this.#now())) return;
    if (this.passwordNeeded(state)) {
      return this.tellError(state, { code: "password-first" });
    }
    const name = normalizeName(sanitizeText(typedName));
    // Its old connection may not have been found dead yet (a laptop that
    // woke up before its heartbeat ran out): the token proves it is the
    // same client, so the old connection goes and the new one takes over.
    const holder = state.waiting ? this.#byName.get(nameKey(name)) : undefined;
    if (holder && !holder.isHost && sameToken(holder.token, token)) {
      this.remove(holder, "connection-lost");
      this.#keptNames.delete(nameKey(holder.name));
      this.enter(state, holder.name);
      return;
    }
    const kept = state.waiting ? this.#keptName(name) : undefined;
    if (!kept || !sameToken(kept.token, token)) {
      return this.tellError(state, {
        code: "resume-failed",
        args: { name: name.slice(0, 64) },
      });
    }
    this.#keptNames.delete(nameKey(kept.name));
    this.enter(state, kept.name);
  }

  /** The name kept for a dropped member under `name`, if still kept. */
  #keptName(name: string): KeptName | undefined {
    if (this.#keptNames.size === 0) return undefined;
    const key = nameKey(name);
    const kept = this.#keptNames.get(key);
    if (!kept) return undefined;
    if (kept.until > this.#now()) return kept;
    this.#keptNames.delete(key);
    return undefined;
  }

  /** Keeps a dropped member's name for its token, for a while. */
  #keepName(state: MemberState): void {
    if (this.#reserveMs <= 0 || state.token === "") return;
    const now = this.#now();
    for (const [key, kept] of this.#keptNames) {
      if (kept.until <= now || this.#keptNames.size >= MAX_KEPT_NAMES) {
        this.#keptNames.delete(key);
      }
    }
    this.#keptNames.set(nameKey(state.name), {
      name: state.name,
      token: state.token,
      until: now + this.#reserveMs,
    });
  }

  /**
   * Sends the kept events to one member, framed by `history-start` and
   * `history-end`; nothing at all when there are none.
   */
  #replayHistory(state: MemberState, after?: number): void {
    const events = this.#history.replay(after);
    if (events.length === 0) return;
    const count = events.length;
    this.tell(state, {
      type: "notice",
      code: "history-start",
      args: { count },
    });
    for (const event of events) state.peer.send(event);
    this.tell(state, { type: "notice", code: "history-end", args: { count } });
  }

  /**
   * Puts someone waiting at the door into the room as `name`: the others
   * are told, it gets the welcome line.
   */
  enter(state: MemberState, typedName: string): void {
    const name = normalizeName(typedName);
    this.#stopWatching(state);
    this.#waiting.delete(state);
    state.waiting = false;
    state.name = name;
    // Lines spent at the door do not count against the room's budget.
    state.flood.refill();
    this.broadcast({ type: "joined", name });
    state.present = true;
    this.#members.add(state);
    this.#audience.add(state);
    this.#byName.set(nameKey(name), state);
    state.token = newToken();
    const welcome: EventBody = {
      type: "welcome",
      name,
      online: this.names,
      watchers: this.#watcherCount,
    };
    if (this.#topic) welcome.topic = this.#topic;
    welcome.token = state.token;
    this.tell(state, welcome);
  }

  #stopWatching(state: MemberState): void {
    if (!state.watching) return;
    state.watching = false;
    this.#watcherCount--;
    this.#audience.delete(state);
  }

  #say(state: MemberState, text: string): void {
    if (state.muted) return this.#tellMuted(state);
    this.broadcast({ type: "message", from: state.name, text });
  }

  /**
   * The event: its body with the next sequence number and the time. A copy,
   * once per event (not per recipient), so a body passed twice cannot
   * change an event already queued.
   */
  #stamp(body: EventBody): ServerEvent {
    return { ...body, seq: ++this.#seq, time: Date.now() } as ServerEvent;
  }

  #newMember(
    peer: Peer,
    name: string,
    isHost: boolean,
    address: string | undefined,
  ): MemberState {
    return {
      name,
      isHost,
      present: false,
      waiting: false,
      watching: false,
      address,
      peer,
      passwordGiven: false,
      muted: address !== undefined && this.moderation.isMutedAddress(address),
      flood: new FloodBucket(this.#floodLimits, this.#now()),
      lastLineAt: this.#now(),
      roomShare: newRoomShare(this.#now()),
      roomRefusedAt: -Infinity,
      token: "",
      codeBlock: undefined,
    };
  }

  /**
   * Issue 12: flood control for a request that is not a line (a file
   * offer, a `get`): counted as one line; true when it may go ahead.
   */
  withinFloodLimit(member: Member): boolean {
    return this.#withinFloodLimit(member as MemberState, this.#now());
  }

  /**
   * Flood control: true when the line may go ahead. `cost`: lines it
   * counts for (a code block counts for more than one, issue 12).
   */
  #withinFloodLimit(state: MemberState, now: number, cost = 1): boolean {
    if (state.isHost) return true;
    switch (state.flood.take(now, cost)) {
      case "pass":
        // The line that joins is not held to the room's ceiling: a class
        // arriving at once must all get in.
        return state.waiting || this.#withinRoomRate(state, now);
      case "warn":
        // One warning per burst of refusals, not one per refused line.
        this.#warnFlooding(state);
        return false;
      case "disconnect":
        this.remove(state, "flooding");
        return false;
      case "refuse":
        return false;
    }
  }

  /**
   * The room's ceiling (`--room-rate`): the heaviest senders are refused
   * first; a refused sender gets the flood warning once per episode.
   */
  #withinRoomRate(state: MemberState, now: number): boolean {
    if (this.#roomRate.take(state.roomShare, now, this.#members.size)) {
      return true;
    }
    const warn = now - state.roomRefusedAt > FLOOD_MEMORY_MS;
    state.roomRefusedAt = now;
    if (warn) this.#warnFlooding(state);
    return false;
  }

  /** The flood warning: what the limits are, and that faster lines are lost. */
  #warnFlooding(state: MemberState): void {
    this.tellError(state, {
      code: "flooding",
      args: {
        burst: this.#floodLimits.burst,
        rate: this.#floodLimits.perSecond,
      },
    });
  }

  #tellMuted(state: MemberState): void {
    this.tellError(state, { code: "muted" });
  }
}

/** A fresh secret: 16 random bytes as 32 hexadecimal digits. */
function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Compares tokens without stopping at the first difference. */
function sameToken(expected: string, given: string): boolean {
  let difference = expected.length ^ given.length;
  for (let i = 0; i < expected.length; i++) {
    difference |= expected.charCodeAt(i) ^ (given.charCodeAt(i) | 0);
  }
  return difference === 0;
}
