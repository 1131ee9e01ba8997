/**
 * Browses for chat rooms for `Deno.args[0]` ms with lib/discovery.ts, for
 * tests/discovery_test.ts (issue 10), inside a namespace the test made.
 * Prints `seen NAME ONLINE` when a room is first heard, and again each time
 * its number of people online changes, then `final ["NAME", ...]`: the
 * rooms still there at the end (a goodbye removes one). It asks at the
 * start and halfway only: anything else it hears, the rooms announced by
 * themselves.
 */
import { browse, lanInterfaces } from "../../lib/discovery.ts";

const seen = new Map<string, number | undefined>();
console.log("browsing");
const rooms = await browse({
  ifaces: lanInterfaces(),
  timeoutMs: Number(Deno.args[0]),
  until: (room) => {
    if (seen.get(room.name) !== room.online) {
      seen.set(room.name, room.online);
      console.log(`seen ${room.name} ${room.online}`);
    }
    return false;
  },
});
console.log(`final ${JSON.stringify(rooms.map((room) => room.name))}`);
