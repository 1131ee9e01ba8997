/**
 * Encryption for `chat`: a self-signed certificate made at start, its SHA-256
 * fingerprint, certificate files read with one-line errors, and the two ways
 * a client opens a TLS connection: checked against certificate authorities
 * ({@linkcode connectVerified}) or pinned to one certificate by its
 * fingerprint ({@linkcode connectPinned}).
 *
 * Deno does all of it alone, without an npm package: WebCrypto makes the
 * ECDSA P-256 key and signs, and the few DER structures of an X.509
 * certificate are written by the small encoder below.
 *
 * Nothing here keeps state between calls.
 *
 * @module
 */

import { type Lang, t } from "./i18n.ts";
import { concatBytes } from "./protocol.ts";

/** How long a connection may take, in milliseconds, unless told otherwise. */
export const TLS_TIMEOUT_MS = 10_000;

/**
 * A certificate, key or fingerprint given to `chat` cannot be used: a file
 * is missing or unreadable, or holds the wrong thing. The message is one line
 * meant for the user.
 *
 * @example
 * ```ts
 * import { readCertificateFiles, TlsSetupError } from "./tls.ts";
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

/**
 * A TLS connection could not be made safely: the certificate does not match
 * the fingerprint, is not trusted, the server does not speak TLS, or it did
 * not answer in time. The message is one line meant for the user. Network
 * failures before TLS starts are thrown as `Deno.errors` instead (see
 * {@linkcode connectPinned}).
 *
 * @example
 * ```ts
 * import { connectPinned, TlsConnectError } from "./tls.ts";
 * try {
 *   await connectPinned({ hostname: "127.0.0.1", port: 5000, fingerprint: "AB:..." });
 * } catch (error) {
 *   if (error instanceof TlsConnectError) console.error(`chat: ${error.message}`);
 * }
 * ```
 */
export class TlsConnectError extends Error {
  /** Makes the error; line breaks in `message` become spaces. */
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "TlsConnectError";
  }
}

// --- DER, the encoding of certificates ---------------------------------------

const encoder = new TextEncoder();

function derLength(length: number): Uint8Array {
  if (length < 0x80) return new Uint8Array([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) {
    bytes.unshift(rest % 256);
  }
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

/** One DER value: its tag, its length, then its contents. */
function der(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = concatBytes(contents);
  return concatBytes([new Uint8Array([tag]), derLength(body.length), body]);
}

const sequence = (...items: Uint8Array[]) => der(0x30, ...items);
const set = (...items: Uint8Array[]) => der(0x31, ...items);
const octetString = (bytes: Uint8Array) => der(0x04, bytes);
const utf8String = (text: string) => der(0x0c, encoder.encode(text));
const derTrue = () => der(0x01, new Uint8Array([0xff]));
/** A context-specific, constructed tag: `[n] EXPLICIT`. */
const explicit = (n: number, item: Uint8Array) => der(0xa0 | n, item);

/** A BIT STRING of whole bytes, or with `unusedBits` low bits of the last. */
function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  return der(0x03, new Uint8Array([unusedBits]), bytes);
}

/** A non-negative INTEGER from its big-endian bytes, in the fewest bytes. */
function integer(unsigned: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const digits = unsigned.subarray(start);
  // A set top bit would read as negative: put a zero byte in front.
  return digits[0] & 0x80
    ? der(0x02, new Uint8Array([0]), digits)
    : der(0x02, digits);
}

function objectIdentifier(dotted: string): Uint8Array {
  const [first, second, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) {
      groups.unshift(0x80 | (value & 0x7f));
    }
    bytes.push(...groups);
  }
  return der(0x06, new Uint8Array(bytes));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // 2025-01-31T12:34:56.789Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? der(0x17, encoder.encode(digits.slice(2)))
    : der(0x18, encoder.encode(digits));
}

/**
 * Converts an ECDSA signature as WebCrypto makes it (r and s side by side,
 * each as long as the curve) into the DER form certificates hold:
 * `SEQUENCE { INTEGER r, INTEGER s }`, each integer in its fewest bytes, with
 * a zero byte in front when its top bit is set.
 *
 * @example
 * ```ts
 * import { ecdsaSignatureToDer } from "./tls.ts";
 * const raw = new Uint8Array(64).fill(0x80); // r = s = 0x8080...80
 * ecdsaSignatureToDer(raw).length; // 2 + 2 * (2 + 33) = 72
 * ```
 */
export function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return sequence(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extendedKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

/** The DER of the subjectAltName extension's identifier, to find it. */
const SUBJECT_ALT_NAME_OID = objectIdentifier(OID.subjectAltName);

// --- IP addresses -------------------------------------------------------------

/**
 * The bytes of an IPv4 or IPv6 address (brackets and a `%zone` allowed), or
 * `undefined` when the text is not one.
 */
function ipAddressBytes(text: string): Uint8Array | undefined {
  const address = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((part) => part <= 255)
      ? new Uint8Array(parts)
      : undefined;
  }
  if (!address.includes(":")) return undefined;
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === "") return [];
    const groups: number[] = [];
    const parts = half.split(":");
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1 && part.includes(".")) {
        const tail = ipAddressBytes(part);
        if (tail?.length !== 4) return undefined;
        groups.push(tail[0] << 8 | tail[1], tail[2] << 8 | tail[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        groups.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array(missing).fill(0), ...tail];
  return new Uint8Array(groups.flatMap((group) => [group >> 8, group & 0xff]));
}

function ipAddressText(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) {
    groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  }
  return groups.join(":");
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

// --- PEM ----------------------------------------------------------------------

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function toPem(label: string, bytes: Uint8Array): string {
  const lines = base64(bytes).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

interface PemBlock {
  label: string;
  /** The text between the lines, possibly with `Proc-Type:` headers. */
  body: string;
}

function pemBlocks(text: string): PemBlock[] {
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  return [...text.matchAll(pattern)].map((match) => ({
    label: match[1],
    body: match[2],
  }));
}

/** The bytes of a PEM block, or `undefined` when its base64 is broken. */
function pemBytes(block: PemBlock): Uint8Array | undefined {
  try {
    const binary = atob(block.body.replace(/\s+/g, ""));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

const KEY_LABELS = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"];

// --- certificates ---------------------------------------------------------------

/** What {@linkcode generateSelfSignedCertificate} makes. */
export interface SelfSignedCertificate {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  cert: string;
  /** Its private key, PEM PKCS #8 (`-----BEGIN PRIVATE KEY-----`). */
  key: string;
  /** SHA-256 of the certificate, as `AB:CD:...` (32 pairs, like openssl). */
  fingerprint: string;
}

/**
 * Makes a new ECDSA P-256 key and a self-signed certificate for it, for a
 * server that has no certificate: valid from an hour ago for one year, for
 * the names `chat` and `localhost` and for every host name or IP address in
 * `hostnames` (names that cannot be in a certificate are left out). Clients
 * check it by its fingerprint with {@linkcode connectPinned}. Takes a few
 * milliseconds.
 *
 * @example
 * ```ts
 * import { generateSelfSignedCertificate } from "./tls.ts";
 * const { cert, key, fingerprint } = await generateSelfSignedCertificate({
 *   hostnames: ["192.168.1.23", "labpc7"],
 * });
 * const listener = Deno.listenTls({ port: 5000, cert, key });
 * console.log(`Certificate fingerprint (SHA-256): ${fingerprint}`);
 * ```
 */
export async function generateSelfSignedCertificate(
  options: { hostnames?: readonly string[]; now?: Date } = {},
): Promise<SelfSignedCertificate> {
  const now = options.now ?? new Date();
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const publicKeyInfo = new Uint8Array(
    await crypto.subtle.exportKey("spki", keys.publicKey),
  );
  const privateKey = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
  );

  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const name = sequence(
    set(sequence(objectIdentifier(OID.commonName), utf8String("chat"))),
  );
  const hour = 60 * 60 * 1000;
  const notBefore = new Date(now.getTime() - hour);
  const notAfter = new Date(now.getTime() + 365 * 24 * hour);

  const tbsCertificate = sequence(
    explicit(0, integer(new Uint8Array([2]))), // version 3
    integer(serial),
    algorithm,
    name, // issuer
    sequence(time(notBefore), time(notAfter)),
    name, // subject
    publicKeyInfo,
    explicit(
      3,
      sequence(
        // Not a certificate authority: rustls refuses a CA as a server.
        sequence(
          objectIdentifier(OID.basicConstraints),
          derTrue(),
          octetString(sequence()),
        ),
        // digitalSignature only: bit 0, so 7 unused bits.
        sequence(
          objectIdentifier(OID.keyUsage),
          derTrue(),
          octetString(bitString(new Uint8Array([0x80]), 7)),
        ),
        sequence(
          objectIdentifier(OID.extendedKeyUsage),
          octetString(sequence(objectIdentifier(OID.serverAuth))),
        ),
        sequence(
          objectIdentifier(OID.subjectAltName),
          octetString(sequence(...subjectAltNames(options.hostnames ?? []))),
        ),
      ),
    ),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      keys.privateKey,
      new Uint8Array(tbsCertificate),
    ),
  );
  const certificate = sequence(
    tbsCertificate,
    algorithm,
    bitString(ecdsaSignatureToDer(signature)),
  );
  return {
    cert: toPem("CERTIFICATE", certificate),
    key: toPem("PRIVATE KEY", privateKey),
    fingerprint: await fingerprintOf(certificate),
  };
}

/** dNSName `[2]` and iPAddress `[7]` entries, without repeats. */
function subjectAltNames(hostnames: readonly string[]): Uint8Array[] {
  const seen = new Set<string>();
  const names: Uint8Array[] = [];
  for (const hostname of ["chat", "localhost", ...hostnames]) {
    const ip = ipAddressBytes(hostname.trim());
    const name = ip ? undefined : hostname.trim().toLowerCase();
    const key = ip ? ipAddressText(ip) : name!;
    if (seen.has(key)) continue;
    if (ip) names.push(der(0x87, ip));
    else if (DNS_NAME.test(name!)) names.push(der(0x82, encoder.encode(name)));
    else continue;
    seen.add(key);
  }
  return names;
}

/**
 * The SHA-256 fingerprint of a certificate, given as PEM (the first
 * certificate in it) or as DER bytes: uppercase hex pairs joined by colons,
 * exactly as `openssl x509 -noout -fingerprint -sha256` prints it. Throws a
 * {@linkcode TlsSetupError}, in `lang`, when the text holds no certificate.
 *
 * @example
 * ```ts
 * import { fingerprintOf } from "./tls.ts";
 * const pem = await Deno.readTextFile("cert.pem");
 * await fingerprintOf(pem); // "28:39:B9:...:0F" (32 pairs)
 * ```
 */
export async function fingerprintOf(
  certPemOrDer: string | Uint8Array,
  lang: Lang = "en",
): Promise<string> {
  let der: Uint8Array | undefined;
  if (typeof certPemOrDer === "string") {
    const block = pemBlocks(certPemOrDer).find((b) =>
      b.label === "CERTIFICATE"
    );
    der = block && pemBytes(block);
    if (!der) {
      throw new TlsSetupError(t(lang, "tls.not-pem"));
    }
  } else {
    der = certPemOrDer;
  }
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new Uint8Array(der)),
  );
  return [...digest]
    .map((byte) => byte.toString(16).padStart(2, "0").toUpperCase())
    .join(":");
}

/**
 * Reads a SHA-256 fingerprint as people copy it: upper or lower case, with
 * or without colons or spaces, with or without a `SHA256:`, `sha256=` or
 * `SHA256 Fingerprint=` prefix. Returns it as {@linkcode fingerprintOf}
 * writes it, or `undefined` when it is not 64 hex digits.
 *
 * @example
 * ```ts
 * import { parseFingerprint } from "./tls.ts";
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
type FileKind = "tls.file.certificate" | "tls.file.key" | "tls.file.ca";

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

/** Reads a PEM file that must hold at least one certificate. */
function readCertificateFile(
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

/**
 * Reads a server's certificate (a chain is fine) and private key from PEM
 * files, for `Deno.listenTls({ cert, key })`. Throws a
 * {@linkcode TlsSetupError} with a one-line message in `lang` (English unless
 * given) when a file is missing or
 * unreadable, holds no certificate or no key, holds an encrypted key (TLS in
 * Deno needs a plain one), or when the two look swapped.
 *
 * Whether the key belongs to the certificate is checked by `Deno.listenTls`
 * itself, which throws `keys may not be consistent: KeyMismatch`.
 *
 * @example
 * ```ts
 * import { readCertificateFiles } from "./tls.ts";
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

// --- reading certificates -------------------------------------------------------

interface Tlv {
  tag: number;
  /** Where the value starts, header included. */
  offset: number;
  /** Where its contents start and end. */
  start: number;
  end: number;
}

function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error("truncated DER");
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) {
      throw new Error("bad DER length");
    }
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i];
    start += count;
  }
  if (start + length > limit) throw new Error("truncated DER");
  return { tag, offset, start, end: start + length };
}

function childrenOf(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const child = readTlv(bytes, at, parent.end);
    children.push(child);
    at = child.end;
  }
  return children;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** What the connecting side needs to know about a server's certificate. */
interface CertificateFacts {
  /** Issuer and subject are the same: nobody vouches for it. */
  selfIssued: boolean;
  dnsNames: string[];
  ipAddresses: string[];
}

/** Reads the names and issuer of a DER certificate; throws if malformed. */
function certificateFacts(cert: Uint8Array): CertificateFacts {
  const outer = readTlv(cert, 0, cert.length);
  const tbs = childrenOf(cert, outer)[0];
  if (!tbs) throw new Error("empty certificate");
  const fields = childrenOf(cert, tbs);
  const first = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const issuer = fields[first + 2];
  const subject = fields[first + 4];
  if (!issuer || !subject) throw new Error("short certificate");
  const facts: CertificateFacts = {
    selfIssued: bytesEqual(
      cert.subarray(issuer.offset, issuer.end),
      cert.subarray(subject.offset, subject.end),
    ),
    dnsNames: [],
    ipAddresses: [],
  };
  const extensions = fields.find((field) => field.tag === 0xa3);
  if (!extensions) return facts;
  const list = childrenOf(cert, extensions)[0];
  for (const extension of list ? childrenOf(cert, list) : []) {
    const [id, ...rest] = childrenOf(cert, extension);
    if (!bytesEqual(cert.subarray(id.offset, id.end), SUBJECT_ALT_NAME_OID)) {
      continue;
    }
    const value = rest[rest.length - 1]; // after the optional critical flag
    const names = readTlv(cert, value.start, value.end);
    for (const name of childrenOf(cert, names)) {
      const bytes = cert.subarray(name.start, name.end);
      if (name.tag === 0x82) {
        facts.dnsNames.push(new TextDecoder().decode(bytes));
      }
      if (name.tag === 0x87 && (bytes.length === 4 || bytes.length === 16)) {
        facts.ipAddresses.push(ipAddressText(bytes));
      }
    }
  }
  return facts;
}

/**
 * The name to check a pinned certificate against: one it holds, preferring
 * names no public authority may certify, so that a certificate from one of
 * this computer's trusted authorities is never taken in its place.
 */
function nameToVerify(facts: CertificateFacts): string | undefined {
  const dns = facts.dnsNames.map((name) => name.toLowerCase());
  for (const preferred of ["localhost", "chat"]) {
    if (dns.includes(preferred)) return preferred;
  }
  const plain = dns.find((name) => DNS_NAME.test(name));
  if (plain) return plain;
  const wildcard = dns.find((name) => DNS_NAME.test(name.replace(/^\*\./, "")));
  if (wildcard) return wildcard.replace(/^\*\./, "chat.");
  return facts.ipAddresses[0];
}

// --- connecting -----------------------------------------------------------------

function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

/** Seconds to one decimal, as `lang` writes numbers: 2.5 or 2,5. */
function seconds(ms: number, lang: Lang = "en"): string {
  const text = String(Math.round(ms / 100) / 10);
  return lang === "fr" ? text.replace(".", ",") : text;
}

function notTls(where: string, lang: Lang): TlsConnectError {
  return new TlsConnectError(t(lang, "tls.not-tls", { where }));
}

function handshakeTimeout(
  where: string,
  timeoutMs: number,
  lang: Lang,
): TlsConnectError {
  return new TlsConnectError(
    t(lang, "tls.handshake-timeout", {
      where,
      seconds: seconds(timeoutMs, lang),
    }),
  );
}

/** rustls and OpenSSL-style messages that mean "those bytes are not TLS". */
const NOT_TLS =
  /corrupt message|InvalidContentType|wrong version number|unexpected eof|unexpected end of file|close_notify|ECONNRESET|EPIPE|connection reset|broken pipe|disconnected before secure TLS/i;

/** Turns a node:tls error into what {@linkcode connectPinned} promises. */
function probeError(
  error: NodeJS.ErrnoException,
  hostname: string,
  where: string,
  lang: Lang,
): Error {
  const message = `${error.code ?? ""} ${error.message ?? ""}`;
  switch (error.code) {
    case "ECONNREFUSED":
      return new Deno.errors.ConnectionRefused(`connection refused: ${where}`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_FAIL":
    case "EAI_NODATA":
      return new Deno.errors.NotFound(
        `failed to lookup address information: ${hostname}`,
      );
    case "ENETUNREACH":
    case "EHOSTUNREACH":
      return new Deno.errors.NetworkUnreachable(
        `network unreachable: ${where}`,
      );
    case "ETIMEDOUT":
      return new Deno.errors.TimedOut(`connection timed out: ${where}`);
  }
  if (NOT_TLS.test(message)) {
    return notTls(where, lang);
  }
  return new TlsConnectError(
    t(lang, "tls.failed", { where, message: error.message }),
  );
}

/**
 * Connects with node:tls without checking anything, takes the server's
 * certificate (DER) and hangs up at once. Nothing is written but the TLS
 * handshake.
 */
async function probeCertificate(
  hostname: string,
  port: number,
  timeoutMs: number,
  lang: Lang,
): Promise<Uint8Array> {
  const where = formatAddress(hostname, port);
  // Loaded only here: node:tls costs a server that never probes megabytes.
  const { connect: connectNodeTls } = await import("node:tls");
  return await new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const socket = connectNodeTls({
      host: hostname,
      port,
      rejectUnauthorized: false,
      servername: ipAddressBytes(hostname) ? undefined : hostname,
    });
    const finish = (error?: Error, cert?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(cert!);
    };
    const timer = setTimeout(() => {
      finish(
        connected
          ? handshakeTimeout(where, timeoutMs, lang)
          : new Deno.errors.TimedOut(
            `connection timed out after ${seconds(timeoutMs)} s: ${where}`,
          ),
      );
    }, timeoutMs);
    socket.once("connect", () => connected = true);
    socket.once("secureConnect", () => {
      const raw = socket.getPeerCertificate(true)?.raw;
      if (raw && raw.length > 0) finish(undefined, new Uint8Array(raw));
      else {
        finish(
          new TlsConnectError(t(lang, "tls.no-certificate", { where })),
        );
      }
    });
    socket.on(
      "error",
      (error) => finish(probeError(error, hostname, where, lang)),
    );
    socket.once("close", () => finish(notTls(where, lang)));
  });
}

/**
 * Opens TCP with `Deno.connect`, then TLS over it with `Deno.startTls`,
 * checking the certificate against `name` and the trusted authorities plus
 * `caCerts`, and finishes the handshake. A timeout is `Deno.errors.TimedOut`
 * before TCP is up; after, it is a {@linkcode TlsConnectError}.
 */
async function openTls(
  hostname: string,
  port: number,
  name: string,
  caCerts: string[],
  timeoutMs: number,
  lang: Lang,
): Promise<Deno.TlsConn> {
  const where = formatAddress(hostname, port);
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({
      hostname,
      port,
      transport: "tcp",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if ((error as Error).name === "TimeoutError") {
      throw new Deno.errors.TimedOut(
        `connection timed out after ${seconds(timeoutMs)} s: ${where}`,
      );
    }
    throw error;
  }
  tcp.setNoDelay(true);
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.startTls(tcp, { hostname: name, caCerts });
  } catch (error) {
    try {
      tcp.close();
    } catch { /* already taken by startTls */ }
    throw error;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const handshake = conn.handshake();
    handshake.catch(() => {}); // if the timeout wins, it fails when closed
    await Promise.race([
      handshake,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(handshakeTimeout(where, timeoutMs, lang)),
          timeoutMs,
        );
      }),
    ]);
    return conn;
  } catch (error) {
    try {
      conn.close();
    } catch { /* already closed */ }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** rustls refusing the certificate or the proof that the server holds it. */
const CERTIFICATE_REFUSED = /certificate|signature/i;

/**
 * Connects over TLS to a server whose certificate has the given SHA-256
 * fingerprint, and to no other: for `chat connect --tls --fingerprint F`,
 * against the self-signed certificate of `chat serve --tls`.
 *
 * First a probe connection (node:tls, no checks, closed right after the
 * handshake: the server sees a connection that opens and closes) fetches the
 * certificate, and its SHA-256 is compared with `fingerprint`. If they
 * differ, nothing more is sent. If they match, the real connection is made
 * with `Deno.startTls`, trusting that certificate, so rustls itself proves
 * the server holds the certificate's private key (the probe proves nothing:
 * it checks no signature); a server that shows another certificate this time
 * is refused too. The name checked is one the certificate holds, `localhost`
 * or `chat` first, never skipped: Deno trusts Mozilla's authorities as well
 * as `caCerts`, and without a name check any certificate they signed, for
 * any site, would pass. Each of the two connections may take `timeoutMs`
 * (10 s by default). Returns after the handshake. Error messages are in
 * `lang` (English unless given).
 *
 * Throws:
 * - {@linkcode TlsSetupError} if `fingerprint` is not 64 hex digits;
 * - {@linkcode TlsConnectError} (one line) for a mismatch, a server that does
 *   not speak TLS, a handshake that does not finish within `timeoutMs`, or a
 *   certificate that names no host;
 * - `Deno.errors.ConnectionRefused`, `NotFound` (unknown host),
 *   `NetworkUnreachable` and `TimedOut` (no TCP connection within
 *   `timeoutMs`), as `Deno.connect` would, for the caller to word.
 *
 * Needs `--allow-net`.
 *
 * @example
 * ```ts
 * import { connectPinned } from "./tls.ts";
 * const conn = await connectPinned({
 *   hostname: "192.168.1.23",
 *   port: 5000,
 *   fingerprint: "28:39:B9:...", // as printed by `chat serve --tls`
 * });
 * ```
 */
export async function connectPinned(options: {
  hostname: string;
  port: number;
  fingerprint: string;
  timeoutMs?: number;
  /** The language of the error messages; English unless given. */
  lang?: Lang;
}): Promise<Deno.TlsConn> {
  const { hostname, port } = options;
  const lang = options.lang ?? "en";
  const timeoutMs = options.timeoutMs ?? TLS_TIMEOUT_MS;
  const where = formatAddress(hostname, port);
  const expected = parseFingerprint(options.fingerprint);
  if (!expected) {
    throw new TlsSetupError(
      t(lang, "tls.bad-fingerprint", { fingerprint: options.fingerprint }),
    );
  }
  const cert = await probeCertificate(hostname, port, timeoutMs, lang);
  const actual = await fingerprintOf(cert);
  if (actual !== expected) {
    throw new TlsConnectError(
      t(lang, "tls.mismatch", { where, expected, actual }),
    );
  }
  let facts: CertificateFacts;
  try {
    facts = certificateFacts(cert);
  } catch {
    throw new TlsConnectError(t(lang, "tls.unreadable", { where }));
  }
  const name = nameToVerify(facts);
  if (!name) {
    throw new TlsConnectError(t(lang, "tls.no-name", { where }));
  }
  try {
    return await openTls(
      hostname,
      port,
      name,
      [toPem("CERTIFICATE", cert)],
      timeoutMs,
      lang,
    );
  } catch (error) {
    if (
      error instanceof TlsConnectError || error instanceof Deno.errors.TimedOut
    ) {
      throw error;
    }
    const message = messageOf(error);
    if (CERTIFICATE_REFUSED.test(message)) {
      throw new TlsConnectError(
        t(lang, "tls.key-not-proven", { where, expected, message }),
      );
    }
    if (
      error instanceof Deno.errors.ConnectionRefused ||
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NetworkUnreachable
    ) {
      throw error; // the server went away since the probe
    }
    throw new TlsConnectError(t(lang, "tls.failed", { where, message }));
  }
}

/**
 * Connects over TLS and checks the server's certificate the usual way: it
 * must be issued by an authority Deno trusts (Mozilla's list) or by the one
 * in `caFile`, and name `hostname`. For `chat connect --tls [--ca FILE]`.
 * `caFile` may also be the server's own self-signed certificate. Returns
 * after the handshake. Error messages are in `lang` (English unless given).
 *
 * Throws:
 * - {@linkcode TlsSetupError} if `caFile` cannot be read or holds no
 *   certificate;
 * - {@linkcode TlsConnectError} (one line) if the certificate is not trusted
 *   (saying whether it is self-signed and suggesting `--ca FILE` or
 *   `--fingerprint`), names other hosts, has expired, or if the server does
 *   not speak TLS or does not finish the handshake within `timeoutMs`;
 * - `Deno.errors.ConnectionRefused`, `NotFound`, `NetworkUnreachable` and
 *   `TimedOut`, unchanged from `Deno.connect`, for the caller to word.
 *
 * Needs `--allow-net`, and `--allow-read` for `caFile`.
 *
 * @example
 * ```ts
 * import { connectVerified } from "./tls.ts";
 * const conn = await connectVerified({
 *   hostname: "labpc7.school.lan",
 *   port: 5000,
 *   caFile: "school-ca.pem",
 * });
 * ```
 */
export async function connectVerified(options: {
  hostname: string;
  port: number;
  caFile?: string;
  timeoutMs?: number;
  /** The language of the error messages; English unless given. */
  lang?: Lang;
}): Promise<Deno.TlsConn> {
  const { hostname, port } = options;
  const lang = options.lang ?? "en";
  const timeoutMs = options.timeoutMs ?? TLS_TIMEOUT_MS;
  const where = formatAddress(hostname, port);
  const caCerts = options.caFile === undefined
    ? []
    : [readCertificateFile(options.caFile, "tls.file.ca", lang)];
  // The name to check: an IPv6 address without its brackets or zone.
  const name = ipAddressBytes(hostname)
    ? ipAddressText(ipAddressBytes(hostname)!)
    : hostname;
  try {
    return await openTls(hostname, port, name, caCerts, timeoutMs, lang);
  } catch (error) {
    if (!(error instanceof Error) || error instanceof TlsConnectError) {
      throw error;
    }
    if (
      error instanceof Deno.errors.ConnectionRefused ||
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NetworkUnreachable ||
      error instanceof Deno.errors.TimedOut
    ) {
      throw error;
    }
    const message = error.message;
    const hint = options.caFile === undefined
      ? t(lang, "tls.hint.no-ca")
      : t(lang, "tls.hint.ca", { file: options.caFile });
    if (/UnknownIssuer|BadSignature|UnknownCA|unknown issuer/i.test(message)) {
      const facts = await diagnose(hostname, port, timeoutMs);
      throw new TlsConnectError(
        t(lang, facts?.selfIssued ? "tls.self-signed" : "tls.untrusted", {
          where,
          hint,
        }),
      );
    }
    if (/NotValidForName|not valid for name/i.test(message)) {
      const facts = await diagnose(hostname, port, timeoutMs);
      const names = facts ? [...facts.dnsNames, ...facts.ipAddresses] : [];
      const holds = names.length > 0
        ? t(lang, "tls.wrong-name.holds", { names: names.join(", ") })
        : "";
      throw new TlsConnectError(
        t(lang, "tls.wrong-name", { where, hostname, holds }),
      );
    }
    if (/Expired|NotValidYet/i.test(message)) {
      throw new TlsConnectError(t(lang, "tls.expired", { where }));
    }
    if (CERTIFICATE_REFUSED.test(message)) {
      throw new TlsConnectError(t(lang, "tls.refused", { where, message }));
    }
    if (NOT_TLS.test(message)) throw notTls(where, lang);
    throw new TlsConnectError(t(lang, "tls.failed", { where, message }));
  }
}

/** Fetches the certificate again only to explain a refusal; never throws. */
async function diagnose(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<CertificateFacts | undefined> {
  try {
    return certificateFacts(
      await probeCertificate(hostname, port, Math.min(timeoutMs, 3000), "en"),
    );
  } catch {
    return undefined;
  }
}
