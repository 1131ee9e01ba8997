/**
 * The chat room: who is here, what their names are, and what each line they
 * send does. Plain logic with no sockets: the transport hands lines in and
 * receives lines out through {@linkcode Peer}.
 *
 * @module
 */

import { lines, nameProblem, OutgoingLine, sanitizeText } from "./protocol.ts";

/** The transport side of a member: where the room puts lines for it. */
export interface Peer {
  /** Queues a line for this member. Must return at once, never wait. */
  send(line: OutgoingLine): void;
  /** Asks the transport to end this member's connection after its queued lines. */
  close(): void;
}

/** Someone in the room. */
export interface Member {
  /** Current name, unique in the room without regard to case. */
  readonly name: string;
  /** The host types at the server's console and may use host-only commands. */
  readonly isHost: boolean;
  /** False once the member has left; lines from it are then ignored. */
  readonly present: boolean;
}

interface MemberState extends Member {
  name: string;
  present: boolean;
  readonly peer: Peer;
}

/** One in-chat command: its help text and what it does. */
interface Command {
  /** Arguments as shown in `/help`, e.g. `NAME TEXT`. */
  readonly usage: string;
  readonly help: string;
  readonly hostOnly?: boolean;
  run(room: Room, member: Member, args: string): void;
}

/** Options for {@linkcode Room}. */
export interface RoomOptions {
  /** Called when the host types `/stop`. */
  onStop?: () => void;
}

/**
 * The room every connection joins. Each method runs to completion without
 * awaiting, so every member sees every line in the same order.
 *
 * @example A member joins and speaks
 * ```ts
 * import { Room } from "./room.ts";
 * const room = new Room();
 * const seen: string[] = [];
 * const alice = room.join({ send: (l) => seen.push(l.text), close() {} });
 * room.handleLine(alice, "hello");
 * // seen: ["*** Welcome, guest1! ...", "guest1: hello"]
 * ```
 */
export class Room {
  /** Everyone present, in order of arrival. */
  readonly #members = new Set<MemberState>();
  /** The same members, by lower-case name. */
  readonly #byName = new Map<string, MemberState>();
  #guestCounter = 0;
  readonly #onStop: () => void;

  constructor(options: RoomOptions = {}) {
    this.#onStop = options.onStop ?? (() => {});
  }

  /** Names of everyone present, in order of arrival. */
  get names(): string[] {
    return [...this.#members].map((member) => member.name);
  }

  /**
   * Adds a member under a fresh `guestN` name (or `name`, for the host),
   * sends it the welcome line and tells everyone else.
   */
  join(peer: Peer, options: { name?: string; isHost?: boolean } = {}): Member {
    const name = options.name ?? this.#nextGuestName();
    if (this.#byName.has(name.toLowerCase())) {
      throw new Error(`the name "${name}" is taken`);
    }
    const member: MemberState = {
      name,
      isHost: options.isHost ?? false,
      present: true,
      peer,
    };
    this.broadcast(lines.joined(name));
    this.#members.add(member);
    this.#byName.set(name.toLowerCase(), member);
    this.tell(member, lines.welcome(name, this.names));
    return member;
  }

  /**
   * Removes a member and tells everyone it left. Safe to call more than once:
   * only the first call has an effect, so each departure is announced once.
   */
  leave(member: Member, reason?: string): void {
    const state = member as MemberState;
    if (!state.present) return;
    state.present = false;
    this.#members.delete(state);
    this.#byName.delete(state.name.toLowerCase());
    this.broadcast(lines.left(state.name, reason));
  }

  /** Sends a line to everyone present. */
  broadcast(text: string): void {
    const line = new OutgoingLine(text);
    for (const member of this.#members) member.peer.send(line);
  }

  /**
   * Handles one line typed by a member: a message, a `/command`, or `stop`.
   * The text is sanitised first; empty lines are ignored.
   */
  handleLine(member: Member, rawText: string): void {
    const state = member as MemberState;
    if (!state.present) return;
    const text = sanitizeText(rawText);
    const trimmed = text.trim();
    if (trimmed === "") return;
    if (trimmed === "stop") return this.quit(state);
    if (text.startsWith("//")) {
      return this.broadcast(lines.message(state.name, text.slice(1)));
    }
    if (!text.startsWith("/")) {
      return this.broadcast(lines.message(state.name, text));
    }
    const match = /^\/(\S+)\s*(.*)$/s.exec(trimmed);
    const commandName = match?.[1].toLowerCase() ?? "";
    const command = COMMANDS.get(commandName);
    if (!command || (command.hostOnly && !state.isHost)) {
      return this.tell(
        state,
        lines.error(
          `unknown command "/${commandName}". Type /help for the list.`,
        ),
      );
    }
    command.run(this, state, match?.[2] ?? "");
  }

  /** Sends a line to one member only. */
  tell(member: Member, text: string): void {
    (member as MemberState).peer.send(new OutgoingLine(text));
  }

  /** The member with this name, compared without regard to case. */
  find(name: string): Member | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  /** Renames a member, or tells it why not. */
  rename(member: Member, newName: string): void {
    const state = member as MemberState;
    const problem = nameProblem(newName);
    if (problem) {
      return this.tell(
        state,
        lines.error(`cannot use "${newName}" as a name: ${problem}.`),
      );
    }
    if (newName === state.name) {
      return this.tell(
        state,
        lines.error(`you are already called ${newName}.`),
      );
    }
    const holder = this.find(newName);
    if (holder && holder !== state) {
      return this.tell(
        state,
        lines.error(`the name "${newName}" is taken. Try another one.`),
      );
    }
    const oldName = state.name;
    this.#byName.delete(oldName.toLowerCase());
    state.name = newName;
    this.#byName.set(newName.toLowerCase(), state);
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

  /** Stops the server, as the host's `/stop` does. */
  stop(): void {
    this.#onStop();
  }

  #nextGuestName(): string {
    let name: string;
    do name = `guest${++this.#guestCounter}`; while (this.#byName.has(name));
    return name;
  }
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
    run(room, member) {
      room.tell(member, lines.who(room.names));
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
    run(room, member) {
      room.quit(member);
    },
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
