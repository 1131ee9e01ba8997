/**
 * The catalogues: English and French hold the same keys with the same
 * `{placeholders}`, every code the room can say has its sentence, and the
 * language is chosen by the documented rules.
 */

import assert from "node:assert/strict";
import { COMMANDS } from "../lib/commands.ts";
import { LEAVE_REASONS, type NameProblem } from "../lib/events.ts";
import {
  CATALOGS,
  type Lang,
  langFromEnv,
  LANGS,
  localeEnv,
  type MessageKey,
  parseLang,
  placeholders,
  t,
} from "../lib/i18n.ts";
import { ERROR_CODES, NOTICE_CODES } from "./event_samples.ts";

type Catalogue = Readonly<Record<string, string>>;

/**
 * Everything wrong between two catalogues that must agree: keys missing in
 * either, values that are not strings, placeholders that differ, and a
 * sentence empty in one but not the other.
 */
function catalogueProblems(
  first: [string, Catalogue],
  second: [string, Catalogue],
): string[] {
  const problems: string[] = [];
  for (
    const [[name, catalogue], [otherName, other]] of [[first, second], [
      second,
      first,
    ]]
  ) {
    for (const key of Object.keys(catalogue)) {
      if (!Object.hasOwn(other, key)) {
        problems.push(`"${key}" is in ${name} but missing in ${otherName}`);
      }
    }
  }
  for (const key of Object.keys(first[1])) {
    const a = first[1][key];
    const b = second[1][key];
    if (!Object.hasOwn(second[1], key)) continue;
    if (typeof a !== "string" || typeof b !== "string") {
      problems.push(`"${key}" is not a string in both`);
      continue;
    }
    const pa = placeholders(a).join(", ");
    const pb = placeholders(b).join(", ");
    if (pa !== pb) {
      problems.push(
        `"${key}" has placeholders {${pa}} in ${first[0]} but {${pb}} in ${
          second[0]
        }`,
      );
    }
    if ((a === "") !== (b === "")) {
      problems.push(`"${key}" is empty in one language only`);
    }
  }
  return problems;
}

const EN = CATALOGS.en as Catalogue;
const FR = CATALOGS.fr as Catalogue;

// --- the two catalogues agree -----------------------------------------------------

Deno.test("English and French have the same keys with the same placeholders", () => {
  assert.deepEqual(catalogueProblems(["en", EN], ["fr", FR]), []);
  assert.deepEqual(Object.keys(CATALOGS).sort(), [...LANGS].sort());
});

Deno.test("the catalogue check finds a key missing in either language", () => {
  assert.deepEqual(
    catalogueProblems(
      ["en", { "a": "A", "b": "B" }],
      ["fr", { "a": "A fr", "c": "C fr" }],
    ),
    [
      `"b" is in en but missing in fr`,
      `"c" is in fr but missing in en`,
    ],
  );
});

Deno.test("the catalogue check finds placeholders that differ, are missing or are renamed", () => {
  assert.deepEqual(
    catalogueProblems(
      ["en", {
        "same": "{name} left ({reason})",
        "missing": "{name} joined",
        "renamed": "{from} is now {to}",
        "extra": "bye",
        "empty": "",
      }],
      ["fr", {
        "same": "{name} est parti ({reason})",
        "missing": "quelqu'un est arrivé",
        "renamed": "{from} s'appelle {nom}",
        "extra": "au revoir {name}",
        "empty": "rien",
      }],
    ),
    [
      `"missing" has placeholders {name} in en but {} in fr`,
      `"renamed" has placeholders {from, to} in en but {from, nom} in fr`,
      `"extra" has placeholders {} in en but {name} in fr`,
      `"empty" is empty in one language only`,
    ],
  );
});

Deno.test("no French sentence of two words or more is left in English", () => {
  const words = (text: string) =>
    text.replace(/\{\w+\}/g, " ").replace(/(^|\s)(--|\/)\S+/g, " ")
      .match(/\p{L}{2,}/gu) ?? [];
  const untranslated = Object.keys(EN).filter((key) =>
    FR[key] === EN[key] && words(EN[key]).length >= 2
  );
  assert.deepEqual(untranslated, []);
});

Deno.test("placeholders() lists each name once, sorted", () => {
  assert.deepEqual(placeholders("{b} and {a}, {b} again"), ["a", "b"]);
  assert.deepEqual(placeholders("no placeholders { here }"), []);
  assert.deepEqual(placeholders(""), []);
});

// --- every code has its sentence ------------------------------------------------------

/** Keys the renderers look up, which must exist in every language. */
function expectedKeys(): string[] {
  const keys: string[] = [];
  for (const reason of LEAVE_REASONS) {
    keys.push(`reason.${reason}`, `disconnected.${reason}`);
  }
  for (const code of NOTICE_CODES) keys.push(`notice.${code}`);
  for (const code of ERROR_CODES) {
    // "full" has a sentence for one client and one for several.
    if (code === "full") keys.push("error.full.one", "error.full.other");
    else keys.push(`error.${code}`);
  }
  const problems: Record<NameProblem, true> = {
    "empty": true,
    "too-long": true,
    "characters": true,
    "start": true,
  };
  for (const problem of Object.keys(problems)) keys.push(`name.${problem}`);
  for (const command of COMMANDS.keys()) {
    keys.push(`usage.${command}`, `command.${command}`);
  }
  return keys;
}

for (const lang of LANGS) {
  Deno.test(`${lang}: every leave reason, notice code, error code, name problem and command has its sentence`, () => {
    const catalogue = CATALOGS[lang] as Catalogue;
    const missing = expectedKeys().filter((key) =>
      !Object.hasOwn(catalogue, key)
    );
    assert.deepEqual(missing, []);
    for (const key of expectedKeys()) {
      if (key.startsWith("usage.")) continue; // "" for a command without arguments
      assert.notEqual(catalogue[key].trim(), "", `${lang} ${key} is empty`);
    }
  });
}

Deno.test("the code lists are the ones of lib/events.ts", () => {
  // Issue 9: history-start, history-end; name-away, resume-failed.
  assert.equal(NOTICE_CODES.length, 14);
  // Issue 12: + 8 for files.
  assert.equal(ERROR_CODES.length, 30 + 8 + 1); // + 1: block-too-long
  assert.ok(NOTICE_CODES.includes("greeting"));
  assert.ok(ERROR_CODES.includes("password-timeout"));
  assert.deepEqual(
    [...LEAVE_REASONS],
    [
      "kicked",
      "banned",
      "flooding",
      "too-slow",
      "timed-out",
      "connection-lost",
      "room-full",
    ],
  );
});

Deno.test("a command's usage is the same in /help for every language, words aside", () => {
  for (const command of COMMANDS.keys()) {
    const key = `usage.${command}` as MessageKey;
    const shape = (lang: Lang) => t(lang, key).replace(/[\p{L}_]+/gu, "W");
    assert.equal(shape("fr"), shape("en"), command);
    assert.equal(t("en", key), COMMANDS.get(command)!.usage, command);
  }
});

// --- t() ------------------------------------------------------------------------------

Deno.test("t() fills placeholders, leaves unknown ones, and inserts values literally", () => {
  assert.equal(t("en", "joined", { name: "bob" }), "bob joined");
  assert.equal(t("fr", "joined", { name: "bob" }), "bob a rejoint le salon");
  assert.equal(t("en", "joined"), "{name} joined");
  assert.equal(t("en", "joined", {}), "{name} joined");
  assert.equal(
    t("en", "joined", { name: "$& {name} $1" }),
    "$& {name} $1 joined",
  );
  assert.equal(
    t("en", "error.full.other", { max: 256 }),
    "the server is full (256 clients). Try again later.",
  );
});

// --- which language -----------------------------------------------------------------

Deno.test("parseLang: anything starting with fr is French, with en English, else nothing", () => {
  for (
    const text of ["fr", "FR", "fr_FR.UTF-8", "fr_CH.UTF-8", "fr-BE", " fr "]
  ) {
    assert.equal(parseLang(text), "fr", text);
  }
  for (const text of ["en", "EN", "en_US.UTF-8", "en_GB", "english"]) {
    assert.equal(parseLang(text), "en", text);
  }
  for (const text of ["de", "de_DE.UTF-8", "C", "POSIX", "", "  ", undefined]) {
    assert.equal(parseLang(text), undefined, String(text));
  }
});

Deno.test("langFromEnv: LC_ALL wins over LC_MESSAGES, which wins over LANG", () => {
  assert.equal(
    langFromEnv({ LC_ALL: "fr_FR.UTF-8", LC_MESSAGES: "en_US", LANG: "en_US" }),
    "fr",
  );
  assert.equal(
    langFromEnv({ LC_ALL: "en_US.UTF-8", LC_MESSAGES: "fr_FR", LANG: "fr_FR" }),
    "en",
  );
  assert.equal(
    langFromEnv({ LC_MESSAGES: "fr_FR.UTF-8", LANG: "en_US.UTF-8" }),
    "fr",
  );
  assert.equal(
    langFromEnv({ LC_MESSAGES: "en_US.UTF-8", LANG: "fr_FR.UTF-8" }),
    "en",
  );
  assert.equal(langFromEnv({ LANG: "fr_FR.UTF-8" }), "fr");
  // C or POSIX is a choice, and not French: it wins like any other value.
  assert.equal(langFromEnv({ LC_ALL: "C", LANG: "fr_FR.UTF-8" }), "en");
  assert.equal(langFromEnv({ LC_MESSAGES: "POSIX", LANG: "fr_FR" }), "en");
});

Deno.test("langFromEnv: fr_CH.UTF-8 is French, C is English, unset or empty is English", () => {
  assert.equal(langFromEnv({ LANG: "fr_CH.UTF-8" }), "fr");
  assert.equal(langFromEnv({ LC_ALL: "fr_CA" }), "fr");
  assert.equal(langFromEnv({ LANG: "FR_fr.utf8" }), "fr");
  assert.equal(langFromEnv({ LANG: "C" }), "en");
  assert.equal(langFromEnv({ LANG: "C.UTF-8" }), "en");
  assert.equal(langFromEnv({ LANG: "de_DE.UTF-8" }), "en");
  assert.equal(langFromEnv({}), "en");
  assert.equal(
    langFromEnv({ LC_ALL: undefined, LC_MESSAGES: undefined, LANG: undefined }),
    "en",
  );
  // An empty variable counts as unset, as for the C library.
  assert.equal(
    langFromEnv({ LC_ALL: "", LC_MESSAGES: "", LANG: "fr_FR" }),
    "fr",
  );
  assert.equal(langFromEnv({ LC_ALL: "", LANG: "" }), "en");
});

Deno.test("localeEnv reads LC_ALL, LC_MESSAGES and LANG of this process", () => {
  assert.deepEqual(localeEnv(), {
    LC_ALL: Deno.env.get("LC_ALL"),
    LC_MESSAGES: Deno.env.get("LC_MESSAGES"),
    LANG: Deno.env.get("LANG"),
  });
});
