/**
 * The door: what a connection's lines do before it has joined. In a room
 * with a password, `/pass` comes first; then `/nick NAME` joins under that
 * name, and any other line joins as a guest and is handled as usual.
 *
 * @module
 */

import { parseCommand } from "./commands.ts";
import type { MemberState, Room } from "./room.ts";

/**
 * Handles a line from someone who has not joined yet. Returns true when it
 * joined the room.
 */
export function handleAtDoor(
  room: Room,
  state: MemberState,
  text: string,
  trimmed: string,
): boolean {
  const { name: commandName, args } = trimmed.startsWith("/")
    ? parseCommand(trimmed)
    : { name: "", args: "" };
  // Exactly "stop", as the exercise sheet's client sends it.
  if (commandName === "quit" || text === "stop") {
    room.quit(state);
    return false;
  }
  const password = room.password;
  if (commandName === "pass") {
    if (!password) {
      room.tell(state, { type: "notice", code: "no-password" });
    } else if (!state.passwordGiven) {
      if (!sameSecret(args, password)) {
        refusePassword(room, state);
      } else {
        state.passwordGiven = true;
        room.tell(state, { type: "notice", code: "password-accepted" });
        room.startWatching(state);
      }
    }
    return false;
  }
  if (password && !state.passwordGiven) {
    room.tellError(state, { code: "password-first" });
    return false;
  }
  if (commandName === "nick") {
    const problem = args === ""
      ? { code: "usage" as const, args: { command: "nick" } }
      : room.nameProblem(state, args);
    if (problem) {
      room.tellError(state, problem);
      return false;
    }
    room.enter(state, args);
    return true;
  }
  room.enter(state, room.nextGuestName());
  if (commandName !== "join") room.handleLine(state, text);
  return true;
}

function refusePassword(room: Room, state: MemberState): void {
  // Out at once, refused after a delay: guessing costs a connection and a
  // second per try.
  room.leave(state);
  setTimeout(() => {
    room.tellError(state, { code: "wrong-password" });
    state.peer.close();
  }, room.wrongPasswordDelayMs);
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
