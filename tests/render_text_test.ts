/**
 * Golden tests of the plain-text rendering: in English every event is byte
 * for byte the line the server sent before events existed (`golden_lines.ts`,
 * never the catalogue), and every event also reads in French.
 */

import assert from "node:assert/strict";
import type { EventBody, LeaveReason } from "../lib/events.ts";
import { LEAVE_REASONS } from "../lib/events.ts";
import { OutgoingEvent, Renderings } from "../lib/outgoing.ts";
import {
  errorSentence,
  NOTICE_PREFIX,
  noticeSentence,
  noticeText,
  renderText,
} from "../lib/render_text.ts";
import {
  ERROR_CODES,
  EVENT_TYPES,
  NOTICE_CODES,
  SAMPLES,
  stamped,
} from "./event_samples.ts";
import { ERROR_PREFIX, lines } from "./golden_lines.ts";

const en = (body: EventBody) => renderText(stamped(body), "en");
const fr = (body: EventBody) => renderText(stamped(body), "fr");

// --- English: byte for byte the old wire format ---------------------------------

for (const sample of SAMPLES) {
  Deno.test(`English plain text of ${sample.label} is byte for byte the golden line`, () => {
    assert.equal(en(sample.body), sample.en);
  });
}

Deno.test("the samples cover every event type, notice code, error code and leave reason", () => {
  const bodies = SAMPLES.map((sample) => sample.body);
  for (const type of EVENT_TYPES) {
    assert.ok(bodies.some((body) => body.type === type), type);
  }
  for (const code of NOTICE_CODES) {
    assert.ok(
      bodies.some((body) => body.type === "notice" && body.code === code),
      `notice ${code}`,
    );
  }
  for (const code of ERROR_CODES) {
    assert.ok(
      bodies.some((body) => body.type === "error" && body.code === code),
      `error ${code}`,
    );
  }
  for (const reason of LEAVE_REASONS) {
    for (const type of ["left", "disconnected"]) {
      assert.ok(
        bodies.some((body) =>
          body.type === type && "reason" in body && body.reason === reason
        ),
        `${type} ${reason}`,
      );
    }
  }
});

Deno.test("the prefixes are the old ones", () => {
  assert.equal(NOTICE_PREFIX, "*** ");
  for (const sample of SAMPLES.filter((s) => s.body.type === "error")) {
    assert.ok(sample.en.startsWith(ERROR_PREFIX), sample.label);
    assert.ok(en(sample.body).startsWith("*** error: "), sample.label);
  }
});

Deno.test("the English greeting and password deadline are the two lines that changed", () => {
  assert.equal(
    en({ type: "notice", code: "greeting" }),
    "*** Hello! You are watching the room. Send /nick NAME to join with a name, or type a message to join as a guest.",
  );
  assert.equal(
    en({ type: "error", code: "password-timeout", args: { seconds: 30 } }),
    "*** error: no password received within 30 s of connecting; closing.",
  );
});

Deno.test("a welcome without a topic, or with an empty one, has no Topic part", () => {
  for (const topic of [undefined, ""]) {
    const body: EventBody = {
      type: "welcome",
      name: "bob",
      online: ["bob"],
      watchers: 0,
    };
    if (topic !== undefined) body.topic = topic;
    assert.equal(en(body), lines.welcome("bob", ["bob"], topic));
    assert.doesNotMatch(en(body), /Topic/);
  }
});

Deno.test("who counts watchers in a suffix only when there are some", () => {
  const who = (watchers: number): EventBody => ({
    type: "who",
    online: [{ name: "prof" }],
    watchers,
  });
  assert.equal(en(who(0)), "*** Online (1): prof");
  assert.equal(en(who(1)), "*** Online (1): prof; 1 watching");
  assert.equal(en(who(12)), "*** Online (1): prof; 12 watching");
});

Deno.test("text from users is inserted as it is: placeholders and $ patterns in it are not expanded", () => {
  const tricky = "{by} {topic} {name} $& $1 $$ $` $'";
  assert.equal(
    en({ type: "topic", topic: tricky, by: "prof" }),
    lines.topicSet("prof", tricky),
  );
  assert.equal(
    en({
      type: "welcome",
      name: "bob",
      online: ["bob"],
      watchers: 0,
      topic: tricky,
    }),
    lines.welcome("bob", ["bob"], tricky),
  );
  assert.equal(
    en({
      type: "error",
      code: "unknown-command",
      args: { command: "{command}$&" },
    }),
    '*** error: unknown command "/{command}$&". Type /help for the list.',
  );
  assert.equal(
    fr({ type: "topic", topic: tricky, by: "prof" }),
    `*** prof a changé le sujet : ${tricky}`,
  );
});

Deno.test("noticeText is the line without its prefix; the sentences have neither prefix nor 'error:'", () => {
  for (const sample of SAMPLES) {
    const event = stamped(sample.body);
    if (
      ["message", "action", "private", "proto", "block"].includes(event.type)
    ) {
      continue;
    }
    if (NO_PLAIN_FORM.includes(event.type)) continue; // issue 12
    assert.equal(
      NOTICE_PREFIX + noticeText(event, "en"),
      sample.en,
      sample.label,
    );
    if (event.type === "notice") {
      assert.equal(
        NOTICE_PREFIX + noticeSentence(event, "en"),
        sample.en,
        sample.label,
      );
    }
    if (event.type === "error") {
      assert.equal(
        ERROR_PREFIX + errorSentence(event, "en"),
        sample.en,
        sample.label,
      );
    }
  }
});

// --- French ------------------------------------------------------------------------

Deno.test("French: the lines the issue requires, exactly", () => {
  assert.ok(
    fr({ type: "welcome", name: "bob", online: ["alice", "bob"], watchers: 0 })
      .startsWith("*** Bienvenue, bob"),
  );
  assert.equal(
    fr({ type: "joined", name: "bob" }),
    "*** bob a rejoint le salon",
  );
  assert.equal(fr({ type: "left", name: "bob" }), "*** bob a quitté le salon");
  assert.equal(
    fr({ type: "left", name: "bob", reason: "kicked" }),
    "*** bob a quitté le salon (expulsé par l'hôte)",
  );
});

/** One French line per event type (and per form of the topic). */
const FRENCH: [string, EventBody, string][] = [
  [
    "message",
    { type: "message", from: "alice", text: "bonjour" },
    "alice: bonjour",
  ],
  ["action", { type: "action", from: "alice", text: "salue" }, "* alice salue"],
  [
    "private",
    { type: "private", from: "alice", to: "bob", text: "psst" },
    "[privé] alice -> bob: psst",
  ],
  ["joined", { type: "joined", name: "bob" }, "*** bob a rejoint le salon"],
  ["left", { type: "left", name: "bob" }, "*** bob a quitté le salon"],
  [
    "left with a reason",
    { type: "left", name: "bob", reason: "timed-out" },
    "*** bob a quitté le salon (plus de nouvelles)",
  ],
  [
    "renamed",
    { type: "renamed", from: "guest1", to: "carol" },
    "*** guest1 s'appelle désormais carol",
  ],
  [
    "topic set",
    { type: "topic", topic: "fractions", by: "prof" },
    "*** prof a changé le sujet : fractions",
  ],
  [
    "topic shown",
    { type: "topic", topic: "fractions" },
    "*** Sujet : fractions",
  ],
  ["no topic", { type: "topic" }, "*** Aucun sujet n'est défini."],
  [
    "welcome",
    { type: "welcome", name: "bob", online: ["alice", "bob"], watchers: 2 },
    "*** Bienvenue, bob ! En ligne (2) : alice, bob. Tapez /help pour la liste des commandes, /nick NOM pour changer de nom.",
  ],
  [
    "welcome with a topic",
    {
      type: "welcome",
      name: "bob",
      online: ["bob"],
      watchers: 0,
      topic: "algèbre",
    },
    "*** Bienvenue, bob ! En ligne (1) : bob. Sujet : algèbre. Tapez /help pour la liste des commandes, /nick NOM pour changer de nom.",
  ],
  [
    "who",
    {
      type: "who",
      online: [{ name: "prof" }, { name: "alice", address: "10.0.0.1" }],
      watchers: 0,
    },
    "*** En ligne (2) : prof, alice (10.0.0.1)",
  ],
  [
    "who with watchers",
    { type: "who", online: [{ name: "prof" }], watchers: 2 },
    "*** En ligne (1) : prof ; 2 spectateurs",
  ],
  [
    "help",
    {
      type: "help",
      commands: [
        { name: "nick", usage: "NAME", hostOnly: false },
        { name: "msg", usage: "NAME TEXT", hostOnly: false },
        { name: "kick", usage: "NAME", hostOnly: true },
      ],
    },
    [
      "*** Commandes :",
      "***   /nick NOM       changer de nom (lettres, chiffres, _ et - ; 24 caractères au plus)",
      "***   /msg NOM TEXTE  envoyer un message privé que seul NOM voit",
      "***   /kick NOM       déconnecter NOM",
      // The host's /help (it lists host-only commands) says how to stop.
      "*** Dans cette console, /stop arrête le salon pour tout le monde (Ctrl-C aussi) ; « stop » et /quit ne l'arrêtent pas. Commencez une ligne par // pour envoyer un message qui commence par /.",
      "*** Une ligne qui ne contient que ``` (ou ```py, ```js ...) commence un bloc de code ; tout jusqu'à la ligne ``` suivante part en un seul message.",
    ].join("\n"),
  ],
  ["notice", { type: "notice", code: "bye" }, "*** Au revoir !"],
  [
    "notice with arguments",
    { type: "notice", code: "muted", args: { name: "bob" } },
    "*** bob a été rendu muet par l'hôte",
  ],
  [
    "error",
    { type: "error", code: "wrong-password" },
    "*** erreur : mot de passe incorrect.",
  ],
  [
    "error with arguments",
    { type: "error", code: "name-taken", args: { name: "Alice" } },
    "*** erreur : le nom « Alice » est déjà pris. Essayez-en un autre.",
  ],
  [
    "disconnected",
    { type: "disconnected", reason: "kicked" },
    "*** Vous avez été déconnecté : expulsé par l'hôte.",
  ],
  ["pong", { type: "pong" }, "*** pong"],
  ["shutdown", { type: "shutdown" }, "*** le serveur s'arrête"],
  [
    "proto",
    {
      type: "proto",
      version: 1,
      versions: [1],
      password: true,
      server: "chat 1.0.0",
      run: "0123456789abcdef",
      history: 50,
    },
    "",
  ],
];

// --- issue 12: files ---
/** Issue 12: transfer events, for structured clients only: no plain form. */
const NO_PLAIN_FORM: string[] = ["file-ready", "file-data", "file-end"];
FRENCH.push(
  [
    "file",
    {
      type: "file",
      id: 3,
      from: "alice",
      name: "x.py",
      size: 1572864,
      sha256: "ab".repeat(32),
      url: "http://10.0.0.2:8080/files/3/0123456789abcdef/x.py",
    },
    `*** alice partage « x.py » (1,5 Mio, sha256 ${
      "ab".repeat(32)
    }) : tapez /get 3 dans chat connect, ou téléchargez-le sur http://10.0.0.2:8080/files/3/0123456789abcdef/x.py`,
  ],
  ["file-ready", { type: "file-ready", upload: 1 }, ""],
  ["file-data", { type: "file-data", id: 3, offset: 0, data: "aGk=" }, ""],
  [
    "file-end",
    { type: "file-end", id: 3, size: 2, sha256: "ab".repeat(32) },
    "",
  ],
  [
    "error file-too-big",
    {
      type: "error",
      code: "file-too-big",
      args: { size: 3145728, max: 2097152 },
    },
    "*** erreur : le fichier est trop gros (3 Mio) : la limite est 2 Mio.",
  ],
);

// --- issue 12: code blocks ---
FRENCH.push(
  [
    "block",
    { type: "block", from: "alice", text: "x = 1\n\ty()", lang: "py" },
    "alice ```py (2 lignes)\nalice | x = 1\nalice | \ty()\nalice ```",
  ],
  [
    "block of one line",
    { type: "block", from: "alice", text: "x = 1" },
    "alice ``` (1 ligne)\nalice | x = 1\nalice ```",
  ],
  [
    "error block-too-long",
    {
      type: "error",
      code: "block-too-long",
      args: { lines: 250, bytes: 9000, maxLines: 200, maxBytes: 16384 },
    },
    "*** erreur : bloc de code refusé : 250 lignes et 9000 octets, au-delà de la limite de 200 lignes et 16384 octets. Rien n'en a été envoyé.",
  ],
);

for (const [label, body, expected] of FRENCH) {
  Deno.test(`French plain text of ${label}`, () => {
    assert.equal(fr(body), expected);
  });
}

Deno.test("French lines cover every event type", () => {
  for (const type of EVENT_TYPES) {
    assert.ok(FRENCH.some(([, body]) => body.type === type), type);
  }
});

Deno.test("every sample reads in both languages: whole sentences, right prefixes, one line except /help", () => {
  for (const sample of SAMPLES) {
    const event = stamped(sample.body);
    for (const lang of ["en", "fr"] as const) {
      const text = renderText(event, lang);
      const where = `${lang} ${sample.label}: ${JSON.stringify(text)}`;
      assert.doesNotMatch(text, /\{\w+\}/, `placeholder left in ${where}`);
      assert.doesNotMatch(text, /undefined|NaN|\[object/, where);
      assert.doesNotMatch(text, /\r/, where);
      if (event.type !== "help" && event.type !== "block") {
        assert.doesNotMatch(text, /\n/, where);
      }
      if (event.type === "proto" || NO_PLAIN_FORM.includes(event.type)) {
        assert.equal(text, "", where);
      } else if (event.type === "block") {
        // Issue 12: every line of a block carries its sender's name.
        for (const line of text.split("\n")) {
          assert.match(line, /^alice( \| | ```)/, where);
        }
      } else if (!["message", "action", "private"].includes(event.type)) {
        for (const line of text.split("\n")) {
          assert.ok(line.startsWith("*** "), where);
        }
      }
      if (event.type === "error") {
        assert.ok(
          text.startsWith(lang === "en" ? "*** error: " : "*** erreur : "),
          where,
        );
      }
    }
  }
});

Deno.test("every server line in French differs from the English one (but pong)", () => {
  for (const sample of SAMPLES) {
    const event = stamped(sample.body);
    if (
      ["message", "action", "proto", "pong"].includes(event.type) ||
      NO_PLAIN_FORM.includes(event.type) // issue 12
    ) continue;
    assert.notEqual(renderText(event, "fr"), sample.en, sample.label);
  }
});

Deno.test("chat lines are the same in both languages, a private one but for its tag", () => {
  for (
    const body of [
      { type: "message", from: "alice", text: "hi" },
      { type: "action", from: "alice", text: "waves" },
    ] as EventBody[]
  ) {
    assert.equal(fr(body), en(body));
  }
  assert.equal(
    fr({ type: "private", from: "a", to: "b", text: "t" }),
    "[privé] a -> b: t",
  );
});

Deno.test("every leave reason reads in both languages, in a departure and in a disconnection", () => {
  for (const reason of LEAVE_REASONS as readonly LeaveReason[]) {
    for (const lang of ["en", "fr"] as const) {
      const left = renderText(
        stamped({ type: "left", name: "bob", reason }),
        lang,
      );
      assert.match(left, /^\*\*\* bob \S.*\(.+\)$/, `${lang} ${reason}`);
      const gone = renderText(stamped({ type: "disconnected", reason }), lang);
      assert.match(gone, /^\*\*\* .+: .+\.$/, `${lang} ${reason}`);
    }
  }
});

// --- on the wire ---------------------------------------------------------------------

Deno.test("on the wire each event is its plain text in UTF-8 plus \\n, in each language", () => {
  const renderings = new Renderings();
  const decoder = new TextDecoder();
  for (const sample of SAMPLES) {
    for (const shared of [true, false]) {
      const out = new OutgoingEvent(stamped(sample.body), shared);
      assert.equal(
        decoder.decode(out.bytesFor(renderings.en)),
        sample.en + "\n",
        sample.label,
      );
      assert.equal(
        decoder.decode(out.bytesFor(renderings.fr)),
        renderText(out.event, "fr") + "\n",
        sample.label,
      );
    }
  }
});
