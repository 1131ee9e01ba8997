/**
 * Trust on first use for `chat connect --tls` without `--fingerprint` or
 * `--ca`, as ssh does with its known hosts. The servers this person
 * accepted are kept in `known_hosts` in chat's settings folder
 * (`config_dir.ts`), one `host:port fingerprint` a line (`#` starts a
 * comment), keyed by the address as typed:
 *
 * ```text
 * 192.168.1.23:5000 28:39:B9:...:0F
 * [fe80::1]:5000 AB:CD:...:12
 * ```
 *
 * - A server listed there is pinned to that fingerprint; another
 *   certificate is refused with a warning that shows both fingerprints and
 *   what to do, before anything is sent.
 * - A server not listed whose certificate an authority this computer trusts
 *   vouches for connects as before, and nothing is kept.
 * - Any other server is new: at a terminal its fingerprint is shown and the
 *   person asked (y/N); yes keeps it and connects. Without a terminal
 *   (input from a pipe) it is refused in one line that shows the
 *   fingerprint and says to pass `--fingerprint`: nobody is there to compare
 *   it with what the host printed.
 *
 * `--fingerprint` and `--ca` never read nor write the file.
 *
 * @module
 */

import { type Lang, t } from "./i18n.ts";
import {
  ConfigDirError,
  type ConfigEnv,
  configEnv,
  configFile,
  existingConfigDir,
  openConfigDir,
  readConfigFile,
  writeConfigFile,
} from "./config_dir.ts";
import {
  connectPinned,
  connectVerified,
  FingerprintMismatchError,
  parseFingerprint,
  serverFingerprint,
  TlsConnectError,
  TlsSetupError,
  UntrustedCertificateError,
} from "./tls.ts";

/**
 * A server kept in `known_hosts` showed another certificate: the warning,
 * in one line. Connecting again would be refused the same way, until the
 * person acts (`chat connect` stops reconnecting after it).
 *
 * @example
 * ```ts
 * import { connectKnownHost, KnownHostChangedError } from "./known_hosts.ts";
 * try {
 *   await connectKnownHost({ hostname: "192.168.1.23", port: 5000 });
 * } catch (error) {
 *   if (error instanceof KnownHostChangedError) console.error(error.message);
 * }
 * ```
 */
export class KnownHostChangedError extends TlsConnectError {
  /** Makes the error; line breaks in `message` become spaces. */
  constructor(message: string) {
    super(message);
    this.name = "KnownHostChangedError";
  }
}

/** The file's name in the settings folder. */
export const KNOWN_HOSTS_FILE = "known_hosts";

/** One server accepted before: a line of `known_hosts`. */
export interface KnownHost {
  /** `host:port` as typed, lowercase, IPv6 in brackets. */
  address: string;
  fingerprint: string;
  /** Its line number in the file, from 1. */
  line: number;
}

/**
 * How a server is named in `known_hosts`: `host:port`, lowercase, with
 * brackets around an IPv6 address.
 *
 * @example
 * ```ts
 * import { knownHostAddress } from "./known_hosts.ts";
 * knownHostAddress("LabPC7", 5000); // "labpc7:5000"
 * knownHostAddress("::1", 5000); // "[::1]:5000"
 * ```
 */
export function knownHostAddress(hostname: string, port: number): string {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Reads the text of `known_hosts`. Blank lines and `#` comments are
 * skipped; any other line that is not `host:port fingerprint` is a
 * {@linkcode TlsSetupError} naming the line, in `lang`: a damaged file
 * must not quietly stop protecting anyone.
 *
 * @example
 * ```ts
 * import { parseKnownHosts } from "./known_hosts.ts";
 * parseKnownHosts("# mine\n10.0.0.7:5000 " + "ab".repeat(32) + "\n", "known_hosts", "en");
 * // [{ address: "10.0.0.7:5000", fingerprint: "AB:AB:...", line: 2 }]
 * ```
 */
export function parseKnownHosts(
  text: string,
  file: string,
  lang: Lang,
): KnownHost[] {
  const hosts: KnownHost[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [address, fingerprintText, ...rest] = line.split(/\s+/);
    const fingerprint = parseFingerprint(fingerprintText ?? "");
    if (
      !fingerprint || rest.length > 0 ||
      !/^(?:\[[^\]\s]+\]|[^:\s]+):\d{1,5}$/.test(address)
    ) {
      throw new TlsSetupError(
        t(lang, "known.bad-line", { line: index + 1, file }),
      );
    }
    hosts.push({
      address: address.toLowerCase(),
      fingerprint,
      line: index + 1,
    });
  }
  return hosts;
}

/**
 * True once a connection of this run got through: from then on the chat's
 * console owns the terminal, so reconnecting never asks (a new certificate
 * is then refused as without a terminal).
 */
let connectedOnce = false;

/** Answers the first-use question: true to trust the certificate. */
export type AskTrust = (question: string) => Promise<boolean>;

/**
 * Connects over TLS the `known_hosts` way (see the module's notes): pinned
 * to the kept fingerprint, verified by a trusted authority, or after asking
 * `ask` about a new certificate (without `ask`, a new certificate is
 * refused). By default `ask` is {@linkcode askAtTerminal} when the input is
 * a terminal, for the first connection of the run only (a reconnection
 * never asks: the chat's console has the terminal by then). Every refusal
 * is a {@linkcode TlsConnectError} (a changed certificate: a
 * {@linkcode KnownHostChangedError}) or {@linkcode TlsSetupError} with one
 * line in `lang`; network failures are thrown as `connectPinned` throws
 * them.
 *
 * @example
 * ```ts
 * import { connectKnownHost } from "./known_hosts.ts";
 * const conn = await connectKnownHost({ hostname: "192.168.1.23", port: 5000, lang: "en" });
 * ```
 */
export async function connectKnownHost(options: {
  hostname: string;
  port: number;
  timeoutMs?: number;
  lang?: Lang;
  ask?: AskTrust;
  env?: ConfigEnv;
}): Promise<Deno.TlsConn> {
  const lang = options.lang ?? "en";
  const ask = "ask" in options
    ? options.ask
    : Deno.stdin.isTerminal() && !connectedOnce
    ? askAtTerminal
    : undefined;
  const conn = await connectTrusted(options, lang, ask);
  connectedOnce = true;
  return conn;
}

async function connectTrusted(
  options: {
    hostname: string;
    port: number;
    timeoutMs?: number;
    env?: ConfigEnv;
  },
  lang: Lang,
  ask: AskTrust | undefined,
): Promise<Deno.TlsConn> {
  const { hostname, port, timeoutMs } = options;
  const env = options.env ?? configEnv();
  const address = knownHostAddress(hostname, port);
  const where = address;
  const dir = inFolder(() => existingConfigDir(lang, env));
  const file = dir === undefined
    ? undefined
    : configFile(dir, KNOWN_HOSTS_FILE);
  const text = dir === undefined
    ? undefined
    : inFolder(() => readConfigFile(dir, KNOWN_HOSTS_FILE, lang));
  const known = text === undefined || file === undefined
    ? []
    : parseKnownHosts(text, file, lang).filter((host) =>
      host.address === address
    );

  if (known.length > 0 && file !== undefined) {
    // The last line for this address counts, as the newest.
    const expected = known[known.length - 1].fingerprint;
    try {
      return await connectPinned({
        hostname,
        port,
        fingerprint: expected,
        timeoutMs,
        lang,
      });
    } catch (error) {
      if (!(error instanceof FingerprintMismatchError)) throw error;
      throw new KnownHostChangedError(
        t(lang, "known.changed", {
          where,
          expected,
          actual: error.actual[0],
          lines: known.map((host) => host.line).join(", "),
          file,
        }),
      );
    }
  }

  try {
    return await connectVerified({ hostname, port, timeoutMs, lang });
  } catch (error) {
    if (!(error instanceof UntrustedCertificateError)) throw error;
  }
  const fingerprint = await serverFingerprint({
    hostname,
    port,
    timeoutMs,
    lang,
  });
  if (!ask) {
    throw new TlsConnectError(
      t(lang, "known.no-terminal", { where, fingerprint }),
    );
  }
  const question = [
    t(lang, "known.new", { where }),
    `  ${fingerprint}`,
    t(lang, "known.compare"),
    t(lang, "known.ask", { where }),
  ].join("\n");
  if (!await ask(question)) {
    throw new TlsConnectError(t(lang, "known.declined", { where }));
  }
  const saved = inFolder(() => {
    const folder = openConfigDir(lang, env);
    const before = readConfigFile(folder, KNOWN_HOSTS_FILE, lang) ?? "";
    const separator = before === "" || before.endsWith("\n") ? "" : "\n";
    writeConfigFile(
      folder,
      KNOWN_HOSTS_FILE,
      `${before}${separator}${address} ${fingerprint}\n`,
      lang,
    );
    return configFile(folder, KNOWN_HOSTS_FILE);
  });
  console.error(t(lang, "known.saved", { file: saved }));
  return await connectPinned({ hostname, port, fingerprint, timeoutMs, lang });
}

/** Runs `use`; a settings folder problem becomes a {@linkcode TlsSetupError}. */
function inFolder<T>(use: () => T): T {
  try {
    return use();
  } catch (error) {
    if (error instanceof ConfigDirError) throw new TlsSetupError(error.message);
    throw error;
  }
}

/** Answers that trust: yes in English or French. */
const YES = /^\s*(?:y|yes|o|oui)\s*$/i;

/**
 * Asks `question` at the terminal (on stderr) and reads one line of the
 * answer with the terminal's own line editing: true for `y`, `yes`, `o` or
 * `oui` (any case), false for anything else, an empty line, or Ctrl-D.
 *
 * @example
 * ```ts
 * import { askAtTerminal } from "./known_hosts.ts";
 * if (await askAtTerminal("Trust it? (y/N) ")) console.log("trusted");
 * ```
 */
export async function askAtTerminal(question: string): Promise<boolean> {
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(question));
  // Cooked mode: one read returns one line, so nothing typed after it is
  // taken from the chat that reads the terminal next.
  const buffer = new Uint8Array(256);
  const count = await Deno.stdin.read(buffer);
  if (count === null || count === 0) {
    Deno.stderr.writeSync(encoder.encode("\n"));
    return false;
  }
  return YES.test(new TextDecoder().decode(buffer.subarray(0, count)));
}
