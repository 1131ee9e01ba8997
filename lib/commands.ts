/**
 * The in-chat commands: one table of name, arguments and handler, from
 * which `/help` is generated. What each one does is said in the catalogues
 * (`command.NAME`, `usage.NAME`), so `/help` reads in each client's language.
 *
 * @module
 */

import type { CommandInfo } from "./events.ts";
import type { Member, Room } from "./room.ts";

/** One in-chat command. */
export interface Command {
  /** Arguments as shown in English in `/help`, e.g. `NAME TEXT`. */
  readonly usage: string;
  readonly hostOnly?: boolean;
  /**
   * Not in the host's `/help`: the host cannot leave its own room (its
   * `/quit` says how to shut the room down instead).
   */
  readonly notForHost?: boolean;
  /** Whether a muted member may use it (it says nothing to the room). */
  readonly quiet?: boolean;
  run(room: Room, member: Member, args: string): void;
}

/**
 * Splits `/cmd args` into a lower-case command name and its arguments.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./commands.ts";
 * parseCommand("/MSG bob hi there"); // { name: "msg", args: "bob hi there" }
 * ```
 */
export function parseCommand(trimmed: string): { name: string; args: string } {
  const match = /^\/(\S+)\s*(.*)$/s.exec(trimmed);
  return { name: match?.[1].toLowerCase() ?? "", args: match?.[2] ?? "" };
}

function usageError(room: Room, member: Member, command: string): void {
  room.tellError(member, { code: "usage", args: { command } });
}

/** Every in-chat command. `/help` is generated from this table. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["nick", {
    usage: "NAME",
    run(room, member, args) {
      if (args === "") return usageError(room, member, "nick");
      room.rename(member, args);
    },
  }],
  ["who", {
    usage: "",
    quiet: true,
    run(room, member) {
      room.tell(member, {
        type: "who",
        online: room.whoFor(member),
        watchers: room.watcherCount,
      });
    },
  }],
  ["me", {
    usage: "TEXT",
    run(room, member, args) {
      if (args === "") return usageError(room, member, "me");
      room.broadcast({ type: "action", from: member.name, text: args });
    },
  }],
  ["msg", {
    usage: "NAME TEXT",
    run(room, member, args) {
      const match = /^(\S+)\s+(.+)$/s.exec(args);
      if (!match) return usageError(room, member, "msg");
      const target = room.find(match[1]);
      if (!target) {
        return room.tellError(member, {
          code: "no-such-name",
          args: { name: match[1] },
        });
      }
      const body = {
        type: "private" as const,
        from: member.name,
        to: target.name,
        text: match[2],
      };
      room.tell(target, body);
      if (target !== member) room.tell(member, { ...body });
    },
  }],
  ["help", {
    usage: "",
    quiet: true,
    run(room, member) {
      room.tell(member, { type: "help", commands: commandList(member) });
    },
  }],
  ["quit", {
    usage: "",
    quiet: true,
    notForHost: true,
    run(room, member) {
      room.quit(member);
    },
  }],
  ["topic", {
    usage: "[TEXT]",
    quiet: true,
    run(room, member, args) {
      if (args === "") {
        return room.tell(
          member,
          room.topic ? { type: "topic", topic: room.topic } : { type: "topic" },
        );
      }
      if (!member.isHost) {
        return room.tellError(member, { code: "host-only-topic" });
      }
      room.setTopic(member, args);
    },
  }],
  ["history", {
    usage: "",
    quiet: true,
    run(room, member) {
      room.history(member, undefined, true);
    },
  }],
  ["kick", {
    usage: "NAME",
    hostOnly: true,
    run: (room, member, args) => room.kick(member, args),
  }],
  ["ban", {
    usage: "NAME",
    hostOnly: true,
    run: (room, member, args) => room.ban(member, args),
  }],
  ["mute", {
    usage: "NAME",
    hostOnly: true,
    run: (room, member, args) => room.mute(member, args),
  }],
  ["unmute", {
    usage: "NAME",
    hostOnly: true,
    run: (room, member, args) => room.unmute(member, args),
  }],
  ["stop", {
    usage: "",
    hostOnly: true,
    run(room, member) {
      room.requestStop(member);
    },
  }],
]);

/** The commands `member` may use, for `/help`. */
function commandList(member: Member): CommandInfo[] {
  return [...COMMANDS]
    .filter(([, command]) =>
      member.isHost ? !command.notForHost : !command.hostOnly
    )
    .map(([name, command]) => ({
      name,
      usage: command.usage,
      hostOnly: command.hostOnly ?? false,
    }));
}
