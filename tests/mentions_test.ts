import assert from "node:assert/strict";
import { isMention, mentions } from "../lib/mentions.ts";
import type { ServerEvent } from "../lib/events.ts";

Deno.test("a name is mentioned as a whole word, in any case, with or without accents", () => {
  for (
    const text of [
      "hi alice",
      "ALICE?",
      "@alice: look",
      "alice's turn",
      "(Alice)",
      "alice--",
    ]
  ) {
    assert(mentions(text, "alice"), text);
  }
  assert(mentions("merci elodie !", "Élodie"));
  assert(mentions("Merci ÉLODIE", "elodie"));
  assert(mentions("Łukasz, come", "lukasz"));
  for (const text of ["malice", "alicex", "alice_2", "alice-b", "ali ce", ""]) {
    assert(!mentions(text, "alice"), text);
  }
  assert(!mentions("hi", ""));
  // A name with a dash or a digit is one word.
  assert(mentions("jean-paul, ici", "Jean-Paul"));
  assert(!mentions("jean, ici", "jean-paul"));
  assert(mentions("bob2!", "bob2"));
});

Deno.test("a mention is someone else's line or action naming you, or a private message to you; never your own", () => {
  const at = { seq: 1, time: 0 };
  const event = (body: object) => ({ ...body, ...at }) as ServerEvent;
  assert(
    isMention(event({ type: "message", from: "bob", text: "alice?" }), "alice"),
  );
  assert(
    isMention(
      event({ type: "action", from: "bob", text: "waves at Alice" }),
      "alice",
    ),
  );
  assert(
    isMention(
      event({ type: "private", from: "bob", to: "alice", text: "psst" }),
      "alice",
    ),
  );
  assert(
    !isMention(
      event({ type: "message", from: "Alice", text: "I am alice" }),
      "alice",
    ),
  );
  assert(
    !isMention(
      event({ type: "private", from: "alice", to: "bob", text: "psst" }),
      "ALICE",
    ),
  );
  assert(
    !isMention(
      event({ type: "message", from: "bob", text: "hi all" }),
      "alice",
    ),
  );
  assert(!isMention(event({ type: "joined", name: "alice" }), "alice"));
  assert(
    !isMention(event({ type: "topic", topic: "alice", by: "bob" }), "alice"),
  );
  assert.equal(
    isMention(event({ type: "message", from: "bob", text: "alice" }), ""),
    false,
  );
});
