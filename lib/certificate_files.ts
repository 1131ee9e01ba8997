/**
 * Certificates and keys as people hand them to `chat`: PEM files read with
 * one-line errors, SHA-256 fingerprints as openssl prints them, and
 * fingerprints read back however they were copied.
 *
 * Nothing here keeps state between calls.
 *
 * @module
 */

import { type Lang, t } from "./i18n.ts";

/**
 * A certificate, key or fingerprint given to `chat` cannot be used: a file
 * is missing or unreadable, or holds the wrong thing. The message is one line
 * meant for the user.
 *
 * @example
 * ```ts
 * import { readCertificateFiles, TlsSetupError } from "./certificate_files.ts";
 * try {
 *   readCertificateFiles("missing.pem", "key.pem");
 * } catch (error) {
 *   if (error instanceof TlsSetupError) console.error(`chat: ${error.message}`);
 * }
 * ```
 */
export class TlsSetupError extends Error {
  /** Makes the error; line breaks in `message` become spaces. */
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "TlsSetupError";
  }
}

// --- PEM ----------------------------------------------------------------------

/**
 * Wraps DER bytes as PEM: base64 in lines of 64 characters between the
 * `-----BEGIN label-----` and `-----END label-----` lines.
 *
 * @example
 * ```ts
 * import { toPem } from "./certificate_files.ts";
 * toPem("CERTIFICATE", new Uint8Array([1, 2, 3]));
 * // "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
 * ```
 */
export function toPem(label: string, der: Uint8Array): string {
  const lines = der.toBase64().match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

/** One `-----BEGIN label-----` ... `-----END label-----` block of a PEM text. */
export interface PemBlock {
  label: string;
  /** The text between the lines, possibly with `Proc-Type:` headers. */
  body: string;
}

/**
 * The PEM blocks of a text, in order; text around them is ignored.
 *
 * @example
 * ```ts
 * import { pemBlocks } from "./certificate_files.ts";
 * pemBlocks("-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n");
 * // [{ label: "CERTIFICATE", body: "\nAQID\n" }]
 * ```
 */
export function pemBlocks(text: string): PemBlock[] {
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  return [...text.matchAll(pattern)].map((match) => ({
    label: match[1],
    body: match[2],
  }));
}

/**
 * The bytes of a PEM block, or `undefined` when its base64 is broken.
 *
 * @example
 * ```ts
 * import { pemBytes } from "./certificate_files.ts";
 * pemBytes({ label: "CERTIFICATE", body: "\nAQID\n" }); // Uint8Array [1, 2, 3]
 * pemBytes({ label: "CERTIFICATE", body: "!!" }); // undefined
 * ```
 */
export function pemBytes(block: PemBlock): Uint8Array | undefined {
  try {
    return Uint8Array.fromBase64(block.body.trim());
  } catch {
    return undefined;
  }
}

/**
 * The DER of every certificate in a PEM text, in order (a server's own
 * first, then its issuers'); blocks with broken base64 are left out.
 *
 * @example
 * ```ts
 * import { certificatesIn } from "./certificate_files.ts";
 * const [own, ...issuers] = certificatesIn(await Deno.readTextFile("chain.pem"));
 * ```
 */
export function certificatesIn(pem: string): Uint8Array[] {
  return pemBlocks(pem)
    .filter((block) => block.label === "CERTIFICATE")
    .map(pemBytes)
    .filter((der) => der !== undefined);
}

// --- fingerprints ---------------------------------------------------------------

/**
 * The SHA-256 fingerprint of a certificate, given as PEM (the first
 * certificate in it) or as DER bytes: uppercase hex pairs joined by colons,
 * exactly as `openssl x509 -noout -fingerprint -sha256` prints it, and as
 * `node:crypto`'s `X509Certificate.fingerprint256` gives it. Throws a
 * {@linkcode TlsSetupError}, in `lang`, when the text holds no certificate.
 *
 * @example
 * ```ts
 * import { fingerprintOf } from "./certificate_files.ts";
 * const pem = await Deno.readTextFile("cert.pem");
 * await fingerprintOf(pem); // "28:39:B9:...:0F" (32 pairs)
 * ```
 */
export async function fingerprintOf(
  certPemOrDer: string | Uint8Array,
  lang: Lang = "en",
): Promise<string> {
  const der = typeof certPemOrDer === "string"
    ? certificatesIn(certPemOrDer)[0]
    : certPemOrDer;
  if (!der) throw new TlsSetupError(t(lang, "tls.not-pem"));
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(der));
  return new Uint8Array(digest).toHex().toUpperCase().match(/../g)!.join(":");
}

/**
 * Reads a SHA-256 fingerprint as people copy it: upper or lower case, with
 * or without colons or spaces, with or without a `SHA256:`, `sha256=` or
 * `SHA256 Fingerprint=` prefix. Returns it as {@linkcode fingerprintOf}
 * writes it, or `undefined` when it is not 64 hex digits.
 *
 * @example
 * ```ts
 * import { parseFingerprint } from "./certificate_files.ts";
 * parseFingerprint("sha256=28:39:b9" + ":00".repeat(29)); // "28:39:B9:00:...:00"
 * parseFingerprint("28:39"); // undefined
 * ```
 */
export function parseFingerprint(text: string): string | undefined {
  const hex = text.trim()
    .replace(/^sha-?256(?:\s*fingerprint)?\s*[:=]?/i, "")
    .replace(/[\s:]/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  return hex.toUpperCase().match(/../g)!.join(":");
}

// --- certificate files ----------------------------------------------------------

/** Which file a message is about. */
export type FileKind = "tls.file.certificate" | "tls.file.key" | "tls.file.ca";

function readTextFile(path: string, kind: FileKind, lang: Lang): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? t(lang, "tls.reason.not-found")
      : error instanceof Deno.errors.IsADirectory
      ? t(lang, "tls.reason.directory")
      : error instanceof Deno.errors.PermissionDenied
      ? t(lang, "tls.reason.denied")
      : error instanceof Deno.errors.NotCapable
      ? t(lang, "tls.reason.not-allowed")
      : (error as Error).message ?? String(error);
    throw new TlsSetupError(
      t(lang, "tls.cannot-read", { what: t(lang, kind), path, reason }),
    );
  }
}

/**
 * Reads a PEM file that must hold at least one certificate (`--tls-cert`,
 * `--ca`) and returns its text; throws a {@linkcode TlsSetupError} saying in
 * one line, in `lang`, what is wrong with it.
 *
 * @example
 * ```ts
 * import { readCertificateFile } from "./certificate_files.ts";
 * const caCert = readCertificateFile("school-ca.pem", "tls.file.ca", "en");
 * ```
 */
export function readCertificateFile(
  path: string,
  kind: FileKind,
  lang: Lang,
): string {
  const text = readTextFile(path, kind, lang);
  const what = t(lang, kind);
  const blocks = pemBlocks(text);
  const certificates = blocks.filter((block) => block.label === "CERTIFICATE");
  if (certificates.length === 0) {
    if (blocks.some((block) => block.label.endsWith("PRIVATE KEY"))) {
      throw new TlsSetupError(t(lang, "tls.cert.holds-key", { what, path }));
    }
    throw new TlsSetupError(t(lang, "tls.cert.not-pem", { what, path }));
  }
  if (certificates.some((block) => !pemBytes(block))) {
    throw new TlsSetupError(t(lang, "tls.cert.damaged", { what, path }));
  }
  return text;
}

const KEY_LABELS = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"];

/**
 * Reads a server's certificate (a chain is fine) and private key from PEM
 * files, as they are. Throws a {@linkcode TlsSetupError} with a one-line
 * message in `lang` (English unless given) when a file is missing or
 * unreadable, holds no certificate or no key, holds an encrypted key (TLS in
 * Deno needs a plain one), or when the two look swapped.
 *
 * `chat serve` uses {@linkcode loadServerCertificate} from
 * `certificate_make.ts`, which calls this, then also accepts a certificate
 * that says it is a certificate authority's.
 *
 * @example
 * ```ts
 * import { readCertificateFiles } from "./certificate_files.ts";
 * const { cert, key } = readCertificateFiles("cert.pem", "key.pem");
 * const listener = Deno.listenTls({ port: 5000, cert, key });
 * ```
 */
export function readCertificateFiles(
  certPath: string,
  keyPath: string,
  lang: Lang = "en",
): { cert: string; key: string } {
  const cert = readCertificateFile(certPath, "tls.file.certificate", lang);
  const key = readTextFile(keyPath, "tls.file.key", lang);
  const path = keyPath;
  const blocks = pemBlocks(key);
  const keyBlock = blocks.find((block) => KEY_LABELS.includes(block.label));
  const encrypted = blocks.some((block) =>
    block.label === "ENCRYPTED PRIVATE KEY" ||
    (KEY_LABELS.includes(block.label) &&
      /Proc-Type:.*ENCRYPTED/.test(block.body))
  );
  if (encrypted) {
    throw new TlsSetupError(t(lang, "tls.key.encrypted", { path }));
  }
  if (!keyBlock) {
    if (blocks.some((block) => block.label === "CERTIFICATE")) {
      throw new TlsSetupError(t(lang, "tls.key.holds-certificate", { path }));
    }
    throw new TlsSetupError(t(lang, "tls.key.not-pem", { path }));
  }
  if (!pemBytes(keyBlock)) {
    throw new TlsSetupError(t(lang, "tls.key.damaged", { path }));
  }
  return { cert, key };
}
