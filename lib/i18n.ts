/**
 * Languages: which one a person reads, and the sentence for a catalogue key
 * in it. Every word the program says comes from `catalog_en.ts` or
 * `catalog_fr.ts`, which hold the same keys with the same placeholders.
 *
 * @module
 */

import { CATALOG_EN, type MessageKey } from "./catalog_en.ts";
import { CATALOG_FR } from "./catalog_fr.ts";

export type { MessageKey };

/** A language the program speaks. */
export type Lang = "en" | "fr";

/** Every language, English first (the default). */
export const LANGS: readonly Lang[] = ["en", "fr"];

/** Every catalogue, by language. */
export const CATALOGS: Readonly<
  Record<Lang, Readonly<Record<MessageKey, string>>>
> = {
  en: CATALOG_EN,
  fr: CATALOG_FR,
};

/** Values for a sentence's `{placeholders}`. */
export type MessageArgs = Readonly<Record<string, string | number>>;

/**
 * The sentence for `key` in `lang`, with each `{name}` replaced by its
 * value from `args`.
 *
 * @example
 * ```ts
 * import { t } from "./i18n.ts";
 * t("fr", "joined", { name: "bob" }); // "bob a rejoint le salon"
 * ```
 */
export function t(lang: Lang, key: MessageKey, args?: MessageArgs): string {
  const template = CATALOGS[lang][key];
  if (args === undefined) return template;
  return template.replace(
    /\{(\w+)\}/g,
    (whole, name: string) => name in args ? String(args[name]) : whole,
  );
}

/**
 * Reads a language name as given to `--lang` or found in a locale variable:
 * anything starting with `fr` is French, with `en` English.
 *
 * @example
 * ```ts
 * import { parseLang } from "./i18n.ts";
 * parseLang("fr_CH.UTF-8"); // "fr"
 * parseLang("de"); // undefined
 * ```
 */
export function parseLang(text: string | undefined): Lang | undefined {
  const lower = text?.trim().toLowerCase() ?? "";
  if (lower.startsWith("fr")) return "fr";
  if (lower.startsWith("en")) return "en";
  return undefined;
}

/** The locale variables, in the order that decides. */
export interface LocaleEnv {
  LC_ALL?: string;
  LC_MESSAGES?: string;
  LANG?: string;
}

/**
 * The language of the person at this machine: the first of `LC_ALL`,
 * `LC_MESSAGES` and `LANG` that is set decides (a value starting with `fr`
 * means French); otherwise English.
 *
 * @example
 * ```ts
 * import { langFromEnv } from "./i18n.ts";
 * langFromEnv({ LANG: "fr_FR.UTF-8" }); // "fr"
 * langFromEnv({ LC_ALL: "C", LANG: "fr_FR.UTF-8" }); // "en"
 * ```
 */
export function langFromEnv(env: LocaleEnv): Lang {
  for (const value of [env.LC_ALL, env.LC_MESSAGES, env.LANG]) {
    if (value) return value.toLowerCase().startsWith("fr") ? "fr" : "en";
  }
  return "en";
}

/** The locale variables of this process, where the permission allows. */
export function localeEnv(): LocaleEnv {
  const read = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  return {
    LC_ALL: read("LC_ALL"),
    LC_MESSAGES: read("LC_MESSAGES"),
    LANG: read("LANG"),
  };
}

/**
 * The placeholder names in a sentence, sorted, for the test that checks
 * both catalogues agree.
 *
 * @example
 * ```ts
 * import { placeholders } from "./i18n.ts";
 * placeholders("{b} and {a}"); // ["a", "b"]
 * ```
 */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))]
    .sort();
}
