/**
 * The chat room: who is here, what their names are, and what each line they
 * send does. Plain logic with no sockets: the transport hands lines in and
 * receives lines out through {@linkcode Peer}.
 *
 * @module
 */

import {
  LineArena,
  lines,
  nameProblem,
  OutgoingLine,
  sanitizeText,
} from "./protocol.ts";

/** The transport side of a member: where the room puts lines for it. */
export interface Peer {
  /** Queues a line for this member. Must return at once, never wait. */
  send(line: OutgoingLine): void;
  /** Asks the transport to end this member's connection after its queued lines. */
  close(): void;
}

/** Someone connected: waiting at the door, in the room, or gone. */
export interface Member {
  /** Current name, unique in the room without regard to case. */
  readonly name: string;
  /** The host types at the server's console and may use host-only commands. */
  readonly isHost: boolean;
  /** True while in the room: seen by `/who`, receiving what is said. */
  readonly present: boolean;
  /** True until the first line that joins the room (and the password). */
  readonly waiting: boolean;
  /** The network address it came from, if any; what `/ban` bans. */
  readonly address?: string;
}

interface MemberState extends Member {
  name: string;
  present: boolean;
  waiting: boolean;
  readonly peer: Peer;
  passwordGiven: boolean;
  muted: boolean;
  /** Flood control: lines it may still send at once. */
  tokens: number;
  tokensAt: number;
  refusedCount: number;
  refusedAt: number;
}

/** One in-chat command: its help text and what it does. */
interface Command {
  /** Arguments as shown in `/help`, e.g. `NAME TEXT`. */
  readonly usage: string;
  readonly help: string;
  readonly hostOnly?: boolean;
  /** Whether a muted member may use it (it says nothing to the room). */
  readonly quiet?: boolean;
  run(room: Room, member: Member, args: string): void;
}

/** How many lines a member may send: a burst, then a steady rate. */
export interface FloodLimits {
  /** Lines that may be sent at once after a pause. */
  burst: number;
  /** Lines per second after the burst; 0 turns flood control off. */
  perSecond: number;
  /**
   * Lines refused in a row (no 10 s pause) after which the sender is
   * disconnected; 0 never disconnects.
   */
  disconnectAfter: number;
}

/** Flood control defaults: a paste of 20 lines passes, then 5 lines/s. */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  burst: 20,
  perSecond: 5,
  disconnectAfter: 100,
};

/** After this long without a refused line, a flooder's record is cleared. */
export const FLOOD_MEMORY_MS = 10_000;

/** How long a wrong password waits before its refusal, to slow guessing. */
export const WRONG_PASSWORD_DELAY_MS = 1000;

/** Options for {@linkcode Room}. */
export interface RoomOptions {
  /** Called when the host types `/stop`. */
  onStop?: () => void;
  /** When set, newcomers must send `/pass PASSWORD` before anything else. */
  password?: string;
  /** Flood control for members other than the host. */
  flood?: FloodLimits;
  /** Clock in milliseconds, for flood control; tests pass their own. */
  now?: () => number;
  /** Delay before a wrong password is refused (default 1 s). */
  wrongPasswordDelayMs?: number;
}

/**
 * The room every connection joins. Each method runs to completion without
 * awaiting, so every member sees every line in the same order.
 *
 * A network connection first {@linkcode Room.arrive}s: it is greeted but not
 * in the room, and does not see what is said, until it sends a first line
 * (after `/pass` when there is a password). Its `/nick NAME` joins under
 * that name; any other line joins it as a guest and is then handled.
 *
 * @example A member joins and speaks
 * ```ts
 * import { Room } from "./room.ts";
 * const room = new Room();
 * const seen: string[] = [];
 * const alice = room.arrive({ send: (l) => seen.push(l.text), close() {} });
 * room.handleLine(alice, "/nick alice");
 * room.handleLine(alice, "hello");
 * // seen: ["*** Hello! ...", "*** Welcome, alice! ...", "alice: hello"]
 * ```
 */
export class Room {
  /** Everyone present, in order of arrival. */
  readonly #members = new Set<MemberState>();
  /** The same members, by lower-case name. */
  readonly #byName = new Map<string, MemberState>();
  /** Connections greeted but not yet in the room. */
  readonly #waiting = new Set<MemberState>();
  /** Lower-case names only the host may use: its own, whatever it renames to. */
  readonly #reservedNames = new Set<string>();
  readonly #bannedAddresses = new Set<string>();
  readonly #mutedAddresses = new Set<string>();
  #topic: string | undefined;
  #guestCounter = 0;
  /**
   * Where broadcast lines are encoded, side by side. Lines for one member
   * only are not: a queue holding a few of them must not keep whole blocks.
   */
  readonly #arena = new LineArena();
  readonly #onStop: () => void;
  readonly #password: string | undefined;
  readonly #flood: FloodLimits;
  readonly #now: () => number;
  readonly #wrongPasswordDelayMs: number;

  constructor(options: RoomOptions = {}) {
    this.#onStop = options.onStop ?? (() => {});
    this.#password = options.password || undefined;
    this.#flood = options.flood ?? DEFAULT_FLOOD_LIMITS;
    this.#now = options.now ?? (() => performance.now());
    this.#wrongPasswordDelayMs = options.wrongPasswordDelayMs ??
      WRONG_PASSWORD_DELAY_MS;
  }

  /** Names of everyone present, in order of arrival. */
  get names(): string[] {
    return [...this.#members].map((member) => member.name);
  }

  /** The topic shown in the welcome line, if the host set one. */
  get topic(): string | undefined {
    return this.#topic;
  }

  /** True when connections from `address` are banned. */
  isBanned(address: string): boolean {
    return this.#bannedAddresses.has(address);
  }

  /**
   * A network connection arrives: it is greeted (asked for the password
   * when there is one) and waits outside the room for its first line.
   */
  arrive(peer: Peer, options: { address?: string } = {}): Member {
    const member = this.#newMember(peer, "", false, options.address);
    member.waiting = true;
    this.#waiting.add(member);
    this.tell(
      member,
      this.#password ? lines.passwordNeeded() : lines.greeting(),
    );
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
    const name = options.name ?? this.#nextGuestName();
    if (this.#byName.has(name.toLowerCase())) {
      throw new Error(`the name "${name}" is taken`);
    }
    const member = this.#newMember(
      peer,
      name,
      options.isHost ?? false,
      options.address,
    );
    if (member.isHost) this.#reservedNames.add(name.toLowerCase());
    this.#enter(member, name);
    return member;
  }

  /**
   * Removes a member and tells everyone it left. Safe to call more than once:
   * only the first call has an effect, so each departure is announced once.
   * Someone still waiting at the door leaves without a notice.
   */
  leave(member: Member, reason?: string): void {
    const state = member as MemberState;
    if (state.waiting) {
      state.waiting = false;
      this.#waiting.delete(state);
      return;
    }
    if (!state.present) return;
    state.present = false;
    this.#members.delete(state);
    this.#byName.delete(state.name.toLowerCase());
    this.broadcast(lines.left(state.name, reason));
  }

  /** Sends a line to everyone present. */
  broadcast(text: string): void {
    const line = new OutgoingLine(text, this.#arena);
    for (const member of this.#members) member.peer.send(line);
  }

  /**
   * Handles one line from a member: a message, a `/command`, or `stop`; for
   * someone waiting, the password or the line that joins. The text is
   * sanitised first; empty lines are ignored.
   */
  handleLine(member: Member, rawText: string): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    const text = sanitizeText(rawText);
    const trimmed = text.trim();
    if (trimmed === "") return;
    // Heartbeat: answered, never counted, never joins.
    if (trimmed.toLowerCase() === "/ping") {
      return this.tell(state, lines.pong());
    }
    // Leaving is never refused, whatever the flood budget.
    const leaving = trimmed === "stop" || /^\/quit$/i.test(trimmed);
    if (!state.isHost && !leaving && !this.#withinFloodLimit(state)) return;
    if (state.waiting) return this.#handleWaiting(state, text, trimmed);
    if (trimmed === "stop") return this.quit(state);
    if (text.startsWith("//") || !text.startsWith("/")) {
      if (state.muted) return this.#tellMuted(state);
      return this.broadcast(
        lines.message(state.name, text.startsWith("//") ? text.slice(1) : text),
      );
    }
    const { name: commandName, args } = parseCommand(trimmed);
    const command = COMMANDS.get(commandName);
    if (!command || (command.hostOnly && !state.isHost)) {
      return this.tell(
        state,
        lines.error(
          `unknown command "/${commandName}". Type /help for the list.`,
        ),
      );
    }
    if (state.muted && !command.quiet) return this.#tellMuted(state);
    command.run(this, state, args);
  }

  /** Sends a line to one member only. */
  tell(member: Member, text: string): void {
    (member as MemberState).peer.send(new OutgoingLine(text));
  }

  /** The member present with this name, compared without regard to case. */
  find(name: string): Member | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  /** Renames a member, or tells it why not. */
  rename(member: Member, newName: string): void {
    const state = member as MemberState;
    const problem = this.#nameProblem(state, newName);
    if (problem) return this.tell(state, lines.error(problem));
    if (newName === state.name) {
      return this.tell(
        state,
        lines.error(`you are already called ${newName}.`),
      );
    }
    const oldName = state.name;
    this.#byName.delete(oldName.toLowerCase());
    state.name = newName;
    this.#byName.set(newName.toLowerCase(), state);
    if (state.isHost) this.#reservedNames.add(newName.toLowerCase());
    this.broadcast(lines.renamed(oldName, newName));
  }

  /** Says goodbye to a member and ends its connection; the host stops the server. */
  quit(member: Member): void {
    const state = member as MemberState;
    if (state.isHost) return this.#onStop();
    this.tell(state, lines.goodbye());
    this.leave(state);
    state.peer.close();
  }

  /**
   * Disconnects a member on purpose: it gets a last line saying why, the
   * room sees it leave with `reason`.
   */
  remove(member: Member, reason: string): void {
    const state = member as MemberState;
    if (!state.present && !state.waiting) return;
    this.tell(state, lines.removed(reason));
    this.leave(state, reason);
    state.peer.close();
  }

  /** Host: disconnects a member. */
  kick(host: Member, name: string): void {
    const target = this.#moderationTarget(host, name, "kick");
    if (target) this.remove(target, "kicked by the host");
  }

  /**
   * Host: disconnects a member and everyone else from its address, and
   * refuses that address until the server stops.
   */
  ban(host: Member, name: string): void {
    const target = this.#moderationTarget(host, name, "ban");
    if (!target) return;
    const address = target.address;
    if (address === undefined) {
      return this.tell(host, lines.error(`${target.name} has no address.`));
    }
    this.#bannedAddresses.add(address);
    for (const other of [...this.#members, ...this.#waiting]) {
      if (other.address === address) this.remove(other, "banned by the host");
    }
    this.tell(
      host,
      lines.notice(`${address} is banned until the server stops.`),
    );
  }

  /**
   * Host: stops a member's lines from reaching anyone, also after it
   * reconnects from the same address, until `/unmute`.
   */
  mute(host: Member, name: string): void {
    const target = this.#moderationTarget(host, name, "mute");
    if (!target) return;
    if (target.muted) {
      return this.tell(host, lines.error(`${target.name} is already muted.`));
    }
    this.#setMuted(target, true);
    this.broadcast(lines.notice(`${target.name} was muted by the host`));
  }

  /** Host: lets a muted member speak again. */
  unmute(host: Member, name: string): void {
    const target = this.#moderationTarget(host, name, "unmute");
    if (!target) return;
    if (!target.muted) {
      return this.tell(host, lines.error(`${target.name} is not muted.`));
    }
    this.#setMuted(target, false);
    this.broadcast(lines.notice(`${target.name} may speak again`));
  }

  /** Sets the topic shown to everyone and in each newcomer's welcome. */
  setTopic(member: Member, topic: string): void {
    this.#topic = topic;
    this.broadcast(lines.topicSet(member.name, topic));
  }

  /** Stops the server, as the host's `/stop` does. */
  stop(): void {
    this.#onStop();
  }

  /** Names for `/who`; the host also sees where each member connects from. */
  whoFor(member: Member): string[] {
    return [...this.#members].map((other) =>
      member.isHost && other.address !== undefined
        ? `${other.name} (${other.address})`
        : other.name
    );
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
      address,
      peer,
      passwordGiven: false,
      muted: address !== undefined && this.#mutedAddresses.has(address),
      tokens: this.#flood.burst,
      tokensAt: this.#now(),
      refusedCount: 0,
      refusedAt: -Infinity,
    };
  }

  #enter(state: MemberState, name: string): void {
    this.#waiting.delete(state);
    state.waiting = false;
    state.name = name;
    // Lines spent at the door do not count against the room's budget.
    state.tokens = this.#flood.burst;
    this.broadcast(lines.joined(name));
    state.present = true;
    this.#members.add(state);
    this.#byName.set(name.toLowerCase(), state);
    this.tell(state, lines.welcome(name, this.names, this.#topic));
  }

  #handleWaiting(state: MemberState, text: string, trimmed: string): void {
    const { name: commandName, args } = trimmed.startsWith("/")
      ? parseCommand(trimmed)
      : { name: "", args: "" };
    if (commandName === "quit" || trimmed === "stop") return this.quit(state);
    if (commandName === "pass") {
      if (!this.#password) {
        return this.tell(state, lines.notice("This room has no password."));
      }
      if (state.passwordGiven) return;
      if (!sameSecret(args, this.#password)) return this.#refusePassword(state);
      state.passwordGiven = true;
      return this.tell(state, lines.passwordAccepted());
    }
    if (this.#password && !state.passwordGiven) {
      return this.tell(
        state,
        lines.error("this room needs a password: send /pass PASSWORD first."),
      );
    }
    if (commandName === "nick") {
      const problem = args === ""
        ? "usage: /nick NAME"
        : this.#nameProblem(state, args);
      if (problem) return this.tell(state, lines.error(problem));
      return this.#enter(state, args);
    }
    this.#enter(state, this.#nextGuestName());
    if (commandName !== "join") this.handleLine(state, text);
  }

  #refusePassword(state: MemberState): void {
    // Out at once, refused after a delay: guessing costs a connection and a
    // second per try.
    this.leave(state);
    setTimeout(() => {
      this.tell(state, lines.error("wrong password."));
      state.peer.close();
    }, this.#wrongPasswordDelayMs);
  }

  #nameProblem(state: MemberState, name: string): string | undefined {
    const problem = nameProblem(name);
    if (problem) return `cannot use "${name}" as a name: ${problem}.`;
    const holder = this.find(name);
    if (holder && holder !== state) {
      return `the name "${name}" is taken. Try another one.`;
    }
    if (!state.isHost && this.#reservedNames.has(name.toLowerCase())) {
      return `the name "${name}" is reserved for the host. Try another one.`;
    }
    return undefined;
  }

  /** Token bucket: true when the line may go ahead. */
  #withinFloodLimit(state: MemberState): boolean {
    const { burst, perSecond, disconnectAfter } = this.#flood;
    if (perSecond <= 0) return true;
    const now = this.#now();
    state.tokens = Math.min(
      burst,
      state.tokens + (now - state.tokensAt) * perSecond / 1000,
    );
    state.tokensAt = now;
    if (state.tokens >= 1) {
      state.tokens -= 1;
      return true;
    }
    if (now - state.refusedAt > FLOOD_MEMORY_MS) state.refusedCount = 0;
    state.refusedAt = now;
    state.refusedCount++;
    if (disconnectAfter > 0 && state.refusedCount > disconnectAfter) {
      this.remove(state, "flooding");
    } else if (state.refusedCount === 1) {
      // One warning per burst of refusals, not one per refused line.
      this.tell(
        state,
        lines.error(
          `slow down: at most ${burst} lines at once, then ${perSecond} per second. Lines sent faster are not delivered.`,
        ),
      );
    }
    return false;
  }

  /**
   * Mutes or unmutes a member together with every other connection from its
   * address, present or waiting, and those that come later: a second
   * terminal must not be a way around a mute.
   */
  #setMuted(target: MemberState, muted: boolean): void {
    target.muted = muted;
    const address = target.address;
    if (address === undefined) return;
    if (muted) this.#mutedAddresses.add(address);
    else this.#mutedAddresses.delete(address);
    for (const other of [...this.#members, ...this.#waiting]) {
      if (other.address === address) other.muted = muted;
    }
  }

  #tellMuted(state: MemberState): void {
    this.tell(
      state,
      lines.error("you are muted by the host: nothing you send is delivered."),
    );
  }

  #moderationTarget(
    host: Member,
    name: string,
    command: string,
  ): MemberState | undefined {
    if (name === "") {
      this.tell(host, lines.error(`usage: /${command} NAME`));
      return undefined;
    }
    const target = this.#byName.get(name.toLowerCase());
    if (!target) {
      this.tell(
        host,
        lines.error(`no one called "${name}" is here. Try /who.`),
      );
      return undefined;
    }
    if (target.isHost) {
      this.tell(host, lines.error(`you cannot ${command} the host.`));
      return undefined;
    }
    return target;
  }

  #nextGuestName(): string {
    let name: string;
    do name = `guest${++this.#guestCounter}`; while (
      this.#byName.has(name) || this.#reservedNames.has(name)
    );
    return name;
  }
}

/** Splits `/cmd args` into a lower-case command name and its arguments. */
function parseCommand(trimmed: string): { name: string; args: string } {
  const match = /^\/(\S+)\s*(.*)$/s.exec(trimmed);
  return { name: match?.[1].toLowerCase() ?? "", args: match?.[2] ?? "" };
}

/** Compares secrets without stopping at the first difference. */
function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  }
  return difference === 0;
}

function usageError(room: Room, member: Member, command: string): void {
  room.tell(
    member,
    lines.error(`usage: /${command} ${COMMANDS.get(command)!.usage}`),
  );
}

/** Every in-chat command. `/help` is generated from this table. */
const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["nick", {
    usage: "NAME",
    help: "change your name (letters, digits, _ and -; at most 24)",
    run(room, member, args) {
      if (args === "") return usageError(room, member, "nick");
      room.rename(member, args);
    },
  }],
  ["who", {
    usage: "",
    help: "list who is online",
    quiet: true,
    run(room, member) {
      room.tell(member, lines.who(room.whoFor(member)));
    },
  }],
  ["me", {
    usage: "TEXT",
    help: "describe an action: /me waves shows * NAME waves",
    run(room, member, args) {
      if (args === "") return usageError(room, member, "me");
      room.broadcast(lines.action(member.name, args));
    },
  }],
  ["msg", {
    usage: "NAME TEXT",
    help: "send a private message that only NAME sees",
    run(room, member, args) {
      const match = /^(\S+)\s+(.+)$/s.exec(args);
      if (!match) return usageError(room, member, "msg");
      const target = room.find(match[1]);
      if (!target) {
        return room.tell(
          member,
          lines.error(`no one called "${match[1]}" is here. Try /who.`),
        );
      }
      const text = lines.privateMessage(member.name, target.name, match[2]);
      room.tell(target, text);
      if (target !== member) room.tell(member, text);
    },
  }],
  ["help", {
    usage: "",
    help: "show this list",
    quiet: true,
    run(room, member) {
      room.tell(member, lines.notice("Commands:"));
      for (const [name, command] of COMMANDS) {
        if (command.hostOnly && !member.isHost) continue;
        const synopsis = `/${name}${command.usage ? " " + command.usage : ""}`;
        room.tell(
          member,
          lines.notice(`  ${synopsis.padEnd(15)} ${command.help}`),
        );
      }
      room.tell(
        member,
        lines.notice(
          "A line that is just 'stop' also quits. Start a line with // to send a message beginning with /.",
        ),
      );
    },
  }],
  ["quit", {
    usage: "",
    help: "leave the chat",
    quiet: true,
    run(room, member) {
      room.quit(member);
    },
  }],
  ["topic", {
    usage: "[TEXT]",
    help: "show the topic (the host can set it)",
    quiet: true,
    run(room, member, args) {
      if (args === "") return room.tell(member, lines.topic(room.topic));
      if (!member.isHost) {
        return room.tell(
          member,
          lines.error("only the host can set the topic."),
        );
      }
      room.setTopic(member, args);
    },
  }],
  ["kick", {
    usage: "NAME",
    help: "disconnect NAME",
    hostOnly: true,
    run: (room, member, args) => room.kick(member, args),
  }],
  ["ban", {
    usage: "NAME",
    help: "disconnect NAME and refuse its address until the server stops",
    hostOnly: true,
    run: (room, member, args) => room.ban(member, args),
  }],
  ["mute", {
    usage: "NAME",
    help: "stop NAME's lines from reaching anyone",
    hostOnly: true,
    run: (room, member, args) => room.mute(member, args),
  }],
  ["unmute", {
    usage: "NAME",
    help: "let NAME speak again",
    hostOnly: true,
    run: (room, member, args) => room.unmute(member, args),
  }],
  ["stop", {
    usage: "",
    help: "shut the server down for everyone",
    hostOnly: true,
    run(room) {
      room.stop();
    },
  }],
]);
