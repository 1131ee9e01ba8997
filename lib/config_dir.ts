/**
 * chat's settings folder: where `chat serve --tls` keeps its key and
 * certificate, and `chat connect --tls` the servers it trusts
 * (`known_hosts`). `$XDG_CONFIG_HOME/chat`, else `$HOME/.config/chat`;
 * `%APPDATA%\chat` on Windows.
 *
 * Only this person may use it: the folder is made with mode 0700 and every
 * file with 0600, written whole (a temporary file renamed over the old one,
 * so a crash leaves the old file or the new one, never half of one). A
 * folder or file that other users can change is refused, and the TLS key
 * when they can read it (as ssh refuses its keys): chat says so in one line,
 * with the command that fixes it, rather than fixing it silently, since
 * whoever could read or change it may already have. Windows has no such
 * modes; there the folder under `%APPDATA%` is the user's own.
 *
 * Needs `--allow-env=XDG_CONFIG_HOME,HOME,APPDATA`, `--allow-read` and
 * `--allow-write`.
 *
 * @module
 */

import { type Lang, type MessageKey, t } from "./i18n.ts";

/**
 * The settings folder cannot be found, made, read or written, or is not
 * safe to use. The message is one line meant for the user, saying what to
 * do.
 *
 * @example
 * ```ts
 * import { ConfigDirError, openConfigDir } from "./config_dir.ts";
 * try {
 *   openConfigDir("en");
 * } catch (error) {
 *   if (error instanceof ConfigDirError) console.error(`chat: ${error.message}`);
 * }
 * ```
 */
export class ConfigDirError extends Error {
  /** Makes the error; line breaks in `message` become spaces. */
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "ConfigDirError";
  }
}

/** The environment variables that say where the settings folder is. */
export interface ConfigEnv {
  XDG_CONFIG_HOME?: string;
  HOME?: string;
  APPDATA?: string;
}

/**
 * The settings folder's path, from `env`, without touching the disk:
 * `$XDG_CONFIG_HOME/chat` (an absolute path; a relative one is ignored, as
 * the XDG specification says), else `$HOME/.config/chat`; on Windows
 * `%APPDATA%\chat`. `undefined` when none of them is set.
 *
 * @example
 * ```ts
 * import { configDirPath } from "./config_dir.ts";
 * configDirPath({ HOME: "/home/ada" }, "linux"); // "/home/ada/.config/chat"
 * configDirPath({ XDG_CONFIG_HOME: "/tmp/x", HOME: "/home/ada" }, "linux"); // "/tmp/x/chat"
 * configDirPath({ APPDATA: "C:\\Users\\ada\\AppData\\Roaming" }, "windows");
 * // "C:\\Users\\ada\\AppData\\Roaming\\chat"
 * ```
 */
export function configDirPath(
  env: ConfigEnv,
  os: typeof Deno.build.os = Deno.build.os,
): string | undefined {
  if (os === "windows") {
    return env.APPDATA
      ? `${env.APPDATA.replace(/[\\/]+$/, "")}\\chat`
      : undefined;
  }
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && xdg.startsWith("/")) return `${xdg.replace(/\/+$/, "")}/chat`;
  if (env.HOME) return `${env.HOME.replace(/\/+$/, "")}/.config/chat`;
  return undefined;
}

/**
 * The variables {@linkcode configDirPath} reads, from this process's
 * environment.
 *
 * @example
 * ```ts
 * import { configDirPath, configEnv } from "./config_dir.ts";
 * const dir = configDirPath(configEnv());
 * ```
 */
export function configEnv(): ConfigEnv {
  return {
    XDG_CONFIG_HOME: Deno.env.get("XDG_CONFIG_HOME"),
    HOME: Deno.env.get("HOME"),
    APPDATA: Deno.env.get("APPDATA"),
  };
}

/**
 * The path of a file in the settings folder.
 *
 * @example
 * ```ts
 * import { configFile } from "./config_dir.ts";
 * configFile("/home/ada/.config/chat", "known_hosts"); // "/home/ada/.config/chat/known_hosts"
 * ```
 */
export function configFile(dir: string, name: string): string {
  return `${dir}${Deno.build.os === "windows" ? "\\" : "/"}${name}`;
}

/** Why a file cannot be read or written, as a phrase in `lang`. */
function reason(error: unknown, lang: Lang): string {
  if (error instanceof Deno.errors.NotFound) {
    return t(lang, "tls.reason.not-found");
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return t(lang, "tls.reason.denied");
  }
  if (error instanceof Deno.errors.NotCapable) {
    return t(lang, "config.reason.not-allowed");
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return t(lang, "config.reason.not-a-folder");
  }
  const message = (error as Error)?.message ?? String(error);
  if (/read-only file system/i.test(message)) {
    return t(lang, "config.reason.read-only");
  }
  return message.split("\n")[0];
}

/** Mode bits as people write them for chmod: `0644`. */
function octal(mode: number): string {
  return "0" + (mode & 0o777).toString(8).padStart(3, "0");
}

/** Group and others may write. */
const OTHERS_WRITE = 0o022;
/** Group and others may do anything. */
const OTHERS_ANY = 0o077;

/**
 * Refuses a folder or file that other users may change (or, with `secret`,
 * read) with a one-line {@linkcode ConfigDirError}. Nothing to check on
 * Windows, where stat gives no mode.
 */
function checkPrivate(
  path: string,
  info: Deno.FileInfo,
  kind: "folder" | "file" | "key",
  lang: Lang,
): void {
  if (info.mode === null) return;
  const loose = info.mode & (kind === "key" ? OTHERS_ANY : OTHERS_WRITE);
  if (loose === 0) return;
  const key: MessageKey = kind === "folder"
    ? "config.loose-folder"
    : kind === "key"
    ? "config.loose-key"
    : "config.loose-file";
  throw new ConfigDirError(t(lang, key, { path, mode: octal(info.mode) }));
}

/**
 * The settings folder's path when it exists and is safe, `undefined` when
 * it does not exist yet; nothing is made. For reading what may have been
 * kept (`known_hosts`) without making a folder for nothing.
 *
 * Throws a {@linkcode ConfigDirError} when no folder can be named (no HOME),
 * when the path is not a folder, or when other users may change it.
 *
 * @example
 * ```ts
 * import { existingConfigDir } from "./config_dir.ts";
 * const dir = existingConfigDir("en"); // undefined on a first run
 * ```
 */
export function existingConfigDir(
  lang: Lang,
  env: ConfigEnv = configEnv(),
): string | undefined {
  const dir = namedDir(env, lang);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    // Not there, or not makeable (which openConfigDir then says).
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotADirectory
    ) {
      return undefined;
    }
    throw new ConfigDirError(
      t(lang, "config.cannot-read", { path: dir, reason: reason(error, lang) }),
    );
  }
  if (!info.isDirectory) {
    throw new ConfigDirError(t(lang, "config.not-a-folder", { path: dir }));
  }
  checkPrivate(dir, info, "folder", lang);
  return dir;
}

function namedDir(env: ConfigEnv, lang: Lang): string {
  const dir = configDirPath(env);
  if (dir === undefined) {
    throw new ConfigDirError(
      t(
        lang,
        Deno.build.os === "windows" ? "config.no-appdata" : "config.no-home",
      ),
    );
  }
  return dir;
}

/**
 * The settings folder's path, made first if needed with mode 0700 (missing
 * parents too, such as `~/.config` on a new account). Throws a
 * {@linkcode ConfigDirError} saying in one line, in `lang`, why it cannot be
 * made or used.
 *
 * @example
 * ```ts
 * import { openConfigDir } from "./config_dir.ts";
 * const dir = openConfigDir("en"); // "/home/ada/.config/chat"
 * ```
 */
export function openConfigDir(
  lang: Lang,
  env: ConfigEnv = configEnv(),
): string {
  const existing = existingConfigDir(lang, env);
  if (existing !== undefined) return existing;
  const dir = namedDir(env, lang);
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode passes through the umask; make sure of it.
    if (Deno.build.os !== "windows") Deno.chmodSync(dir, 0o700);
  } catch (error) {
    throw new ConfigDirError(
      t(lang, "config.cannot-create", {
        path: dir,
        reason: reason(error, lang),
      }),
    );
  }
  return dir;
}

/**
 * Reads a file of the settings folder as text; `undefined` when it does
 * not exist. With `secret`, other users may not even read it (the TLS key);
 * otherwise they may not change it. Throws a {@linkcode ConfigDirError}
 * (one line, in `lang`) when it cannot be read or is not private.
 *
 * @example
 * ```ts
 * import { openConfigDir, readConfigFile } from "./config_dir.ts";
 * const text = readConfigFile(openConfigDir("en"), "known_hosts", "en");
 * ```
 */
export function readConfigFile(
  dir: string,
  name: string,
  lang: Lang,
  options: { secret?: boolean } = {},
): string | undefined {
  const path = configFile(dir, name);
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) {
      throw new ConfigDirError(t(lang, "config.not-a-file", { path }));
    }
    checkPrivate(path, info, options.secret ? "key" : "file", lang);
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof ConfigDirError) throw error;
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigDirError(
      t(lang, "config.cannot-read", { path, reason: reason(error, lang) }),
    );
  }
}

/**
 * Writes a file of the settings folder whole, readable and writable by
 * this person only (0600): a temporary file next to it, then renamed over
 * it, so that readers see the old text or the new, never part of it.
 * Throws a {@linkcode ConfigDirError} (one line, in `lang`) when it cannot.
 *
 * @example
 * ```ts
 * import { openConfigDir, writeConfigFile } from "./config_dir.ts";
 * writeConfigFile(openConfigDir("en"), "known_hosts", "h:5000 AB:...\n", "en");
 * ```
 */
export function writeConfigFile(
  dir: string,
  name: string,
  text: string,
  lang: Lang,
): void {
  const path = configFile(dir, name);
  const temporary = configFile(
    dir,
    `.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  try {
    Deno.writeTextFileSync(temporary, text, { createNew: true, mode: 0o600 });
    // The mode passes through the umask; make sure of it.
    if (Deno.build.os !== "windows") Deno.chmodSync(temporary, 0o600);
    Deno.renameSync(temporary, path);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch { /* never made, or already renamed */ }
    throw new ConfigDirError(
      t(lang, "config.cannot-write", { path, reason: reason(error, lang) }),
    );
  }
}
