/**
 * The door: what a connection's lines do before it has joined. In a room
 * with a password, `/pass` comes first; then `/nick NAME` joins under that
 * name, and any other line joins as a guest and is handled as usual.
 *
 * @module
 */

import { parseCommand } from "./commands.ts";
import type { Lockout, PasswordWait } from "./password_guard.ts";
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
  // Asking for the earlier lines does not join (issue 9).
  if (commandName === "history") {
    room.history(state, undefined, true);
    return false;
  }
  const password = room.password;
  if (commandName === "pass") {
    if (!password) {
      room.tell(state, { type: "notice", code: "no-password" });
    } else if (!state.passwordGiven) {
      // Counted as received, before any answer: hanging up early saves
      // nothing. While locked out, even the right password is refused.
      const guard = room.passwordGuard;
      const wait = guard.wait(state.address);
      if (wait) {
        refuseLockedOut(room, state, wait);
      } else if (!sameSecret(args, password)) {
        for (const lockout of guard.failed(state.address)) {
          tellHostLockout(room, lockout);
        }
        refusePassword(room, state);
      } else {
        guard.succeeded(state.address);
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

/** Refused at once, without comparing: says when to try again, closes. */
function refuseLockedOut(
  room: Room,
  state: MemberState,
  wait: PasswordWait,
): void {
  room.leave(state);
  room.tellError(state, {
    code: "password-locked",
    args: { seconds: Math.max(1, Math.ceil(wait.retryMs / 1000)) },
  });
  state.peer.close();
}

/** A lock-out has just started: the host hears of it once. */
function tellHostLockout(room: Room, lockout: Lockout): void {
  const seconds = Math.max(1, Math.ceil(lockout.lockMs / 1000));
  room.tellHost(
    lockout.roomWide
      ? {
        type: "notice",
        code: "password-room-lockout",
        args: { failures: lockout.failures, seconds },
      }
      : {
        type: "notice",
        code: "password-lockout",
        args: { address: lockout.address, failures: lockout.failures, seconds },
      },
  );
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
