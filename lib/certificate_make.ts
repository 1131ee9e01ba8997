/**
 * The certificates `chat serve` makes: a self-signed one for `--tls`, and,
 * for `--tls-cert` with a certificate that TLS refuses as a server's own (one
 * that says it is a certificate authority's, as plain `openssl req -x509`
 * makes), a server certificate issued under it.
 *
 * No npm package: WebCrypto makes ECDSA P-256 keys and signs, `node:crypto`
 * signs with a key from a file, and the few DER structures of an X.509
 * certificate are written (and, for the issuer's name, validity and host
 * names, read) by the small code below.
 *
 * @module
 */

import { type Lang, t } from "./i18n.ts";
import type { KeyObject } from "node:crypto";
import { concatBytes } from "./protocol.ts";
import {
  certificatesIn,
  fingerprintOf,
  readCertificateFiles,
  TlsSetupError,
  toPem,
} from "./certificate_files.ts";

/** A certificate and key for `Deno.listenTls`, and the fingerprint to give out. */
export interface ServerCertificate {
  /** PEM: the server's certificate, then its issuers' if any. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
  /**
   * SHA-256 of the certificate clients pin (`AB:CD:...`, 32 pairs, as
   * openssl prints it): the server's own, or the one given to `chat serve`
   * when chat issued the server's certificate under it.
   */
  fingerprint: string;
}

/** What {@linkcode generateSelfSignedCertificate} makes. */
export type SelfSignedCertificate = ServerCertificate;

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
const derNull = () => der(0x05);
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
 * import { ecdsaSignatureToDer } from "./certificate_make.ts";
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
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  ed25519: "1.3.101.112",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extendedKeyUsage: "2.5.29.37",
  anyExtendedKeyUsage: "2.5.29.37.0",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

// --- host names -----------------------------------------------------------------

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

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** dNSName `[2]` and iPAddress `[7]` entries, without repeats. */
function subjectAltNames(hostnames: readonly string[]): Uint8Array[] {
  const seen = new Set<string>();
  const names: Uint8Array[] = [];
  for (const hostname of ["chat", "localhost", ...hostnames]) {
    const ip = ipAddressBytes(hostname.trim());
    const name = hostname.trim().toLowerCase();
    const key = ip ? ip.join(",") : name;
    if (seen.has(key)) continue;
    if (ip) names.push(der(0x87, ip));
    else if (DNS_NAME.test(name)) names.push(der(0x82, encoder.encode(name)));
    else continue;
    seen.add(key);
  }
  return names;
}

// --- building and signing -----------------------------------------------------

/** What signs a certificate: its algorithm (DER) and the signing itself. */
interface Signer {
  /** The `AlgorithmIdentifier` written twice in the certificate. */
  algorithm: Uint8Array;
  /** The signature of the to-be-signed bytes, as the certificate holds it. */
  sign(tbs: Uint8Array): Promise<Uint8Array>;
}

/** The name `CN=chat`. */
const CHAT_NAME = sequence(
  set(sequence(objectIdentifier(OID.commonName), utf8String("chat"))),
);

/** Not a certificate authority, for digital signatures by a TLS server. */
function serverExtensions(subjectAltName: Uint8Array): Uint8Array[] {
  return [
    sequence(
      objectIdentifier(OID.basicConstraints),
      derTrue(),
      octetString(sequence()), // cA absent: FALSE
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
    subjectAltName,
  ];
}

/** A new ECDSA P-256 key pair, with its public key as a certificate holds it. */
async function newKeyPair() {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const publicKeyInfo = new Uint8Array(
    await crypto.subtle.exportKey("spki", keys.publicKey),
  );
  const pkcs8 = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
  );
  const signer: Signer = {
    algorithm: sequence(objectIdentifier(OID.ecdsaWithSha256)),
    sign: async (tbs) =>
      ecdsaSignatureToDer(
        new Uint8Array(
          await crypto.subtle.sign(
            { name: "ECDSA", hash: "SHA-256" },
            keys.privateKey,
            new Uint8Array(tbs),
          ),
        ),
      ),
  };
  return { publicKeyInfo, key: toPem("PRIVATE KEY", pkcs8), signer };
}

/** A version 3 certificate with a random serial number, signed. */
async function signedCertificate(fields: {
  issuer: Uint8Array;
  validity: Uint8Array;
  subject: Uint8Array;
  publicKeyInfo: Uint8Array;
  extensions: Uint8Array[];
  signer: Signer;
}): Promise<Uint8Array> {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const tbsCertificate = sequence(
    explicit(0, integer(new Uint8Array([2]))), // version 3
    integer(serial),
    fields.signer.algorithm,
    fields.issuer,
    fields.validity,
    fields.subject,
    fields.publicKeyInfo,
    explicit(3, sequence(...fields.extensions)),
  );
  return sequence(
    tbsCertificate,
    fields.signer.algorithm,
    bitString(await fields.signer.sign(tbsCertificate)),
  );
}

/**
 * Makes a new ECDSA P-256 key and a self-signed certificate for it, for a
 * server that has no certificate: valid from an hour ago for one year
 * (`validDays`), for
 * the names `chat` and `localhost` and for every host name or IP address in
 * `hostnames` (names that cannot be in a certificate are left out). Clients
 * check it by its fingerprint with `connectPinned`. Takes a few
 * milliseconds.
 *
 * @example
 * ```ts
 * import { generateSelfSignedCertificate } from "./certificate_make.ts";
 * const { cert, key, fingerprint } = await generateSelfSignedCertificate({
 *   hostnames: ["192.168.1.23", "labpc7"],
 * });
 * const listener = Deno.listenTls({ port: 5000, cert, key });
 * console.log(`Certificate fingerprint (SHA-256): ${fingerprint}`);
 * ```
 */
export async function generateSelfSignedCertificate(
  options: {
    hostnames?: readonly string[];
    now?: Date;
    /** How many days it is valid (365 unless given). */
    validDays?: number;
  } = {},
): Promise<SelfSignedCertificate> {
  const now = options.now ?? new Date();
  const hour = 60 * 60 * 1000;
  const days = options.validDays ?? 365;
  const { publicKeyInfo, key, signer } = await newKeyPair();
  const certificate = await signedCertificate({
    issuer: CHAT_NAME,
    validity: sequence(
      time(new Date(now.getTime() - hour)),
      time(new Date(now.getTime() + days * 24 * hour)),
    ),
    subject: CHAT_NAME,
    publicKeyInfo,
    extensions: serverExtensions(
      sequence(
        objectIdentifier(OID.subjectAltName),
        octetString(sequence(...subjectAltNames(options.hostnames ?? []))),
      ),
    ),
    signer,
  });
  return {
    cert: toPem("CERTIFICATE", certificate),
    key,
    fingerprint: await fingerprintOf(certificate),
  };
}

// --- a certificate given to chat serve ----------------------------------------

/** A DER value found in a certificate: where it starts, and its contents. */
interface Tlv {
  tag: number;
  /** The whole value, header included. */
  bytes: Uint8Array;
  /** Its contents. */
  contents: Uint8Array;
}

/** The DER values one after another in `bytes`; throws if malformed. */
function derValues(bytes: Uint8Array): Tlv[] {
  const values: Tlv[] = [];
  for (let at = 0; at < bytes.length;) {
    if (at + 2 > bytes.length) throw new Error("truncated DER");
    let length = bytes[at + 1];
    let start = at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw new Error("bad DER length");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i];
      start += count;
    }
    if (start + length > bytes.length) throw new Error("truncated DER");
    values.push({
      tag: bytes[at],
      bytes: bytes.subarray(at, start + length),
      contents: bytes.subarray(start, start + length),
    });
    at = start + length;
  }
  return values;
}

/** The parts of a certificate that decide how chat serves it. */
interface CertificateOutline {
  /** 1 for a certificate without extensions, 3 for the usual kind. */
  version: number;
  subject: Uint8Array;
  validity: Uint8Array;
  /** basicConstraints says CA:TRUE. */
  isCa: boolean;
  /** No extendedKeyUsage, or one that allows serverAuth. */
  forServers: boolean;
  /** The subjectAltName extension, as it is. */
  subjectAltName?: Uint8Array;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Reads what {@linkcode CertificateOutline} holds; throws if malformed. */
function outline(certificate: Uint8Array): CertificateOutline {
  const [tbs] = derValues(derValues(certificate)[0].contents);
  const fields = derValues(tbs.contents);
  const versioned = fields[0].tag === 0xa0 ? 1 : 0;
  const version = versioned
    ? derValues(fields[0].contents)[0].contents.at(-1)! + 1
    : 1;
  // serialNumber, signature, issuer, validity, subject
  const validity = fields[versioned + 3];
  const subject = fields[versioned + 4];
  if (!subject) throw new Error("short certificate");
  const result: CertificateOutline = {
    version,
    subject: subject.bytes,
    validity: validity.bytes,
    isCa: false,
    forServers: true,
  };
  const extensions = fields.find((field) => field.tag === 0xa3);
  for (
    const extension of extensions
      ? derValues(derValues(extensions.contents)[0].contents)
      : []
  ) {
    const [id, ...rest] = derValues(extension.contents);
    const is = (oid: string) => sameBytes(id.bytes, objectIdentifier(oid));
    // The extension's value, DER inside an OCTET STRING, after the optional
    // critical flag.
    const inside = () =>
      derValues(derValues(rest[rest.length - 1].contents)[0].contents);
    if (is(OID.basicConstraints)) {
      const [cA] = inside();
      result.isCa = cA?.tag === 0x01 && cA.contents[0] !== 0;
    } else if (is(OID.extendedKeyUsage)) {
      const allowed = [OID.serverAuth, OID.anyExtendedKeyUsage]
        .map(objectIdentifier);
      result.forServers = inside().some((purpose) =>
        allowed.some((oid) => sameBytes(purpose.bytes, oid))
      );
    } else if (is(OID.subjectAltName)) {
      result.subjectAltName = extension.bytes;
    }
  }
  return result;
}

/**
 * How to sign with the key of a certificate given to `chat serve`, with
 * `node:crypto`, which reads every PEM key openssl writes. Throws a
 * {@linkcode TlsSetupError} if the key is not the certificate's, or of a kind
 * certificates cannot be signed with here.
 */
async function fileKeySigner(
  keyPem: string,
  keyPath: string,
  certificate: Uint8Array,
  lang: Lang,
): Promise<Signer> {
  // Loaded only here: node:crypto costs a server megabytes.
  const { createPrivateKey, sign, X509Certificate } = await import(
    "node:crypto"
  );
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new TlsSetupError(t(lang, "tls.key.unsupported", { path: keyPath }));
  }
  if (!new X509Certificate(certificate).checkPrivateKey(key)) {
    throw new TlsSetupError(t(lang, "listen.key-mismatch"));
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const [oid, hash] = key.asymmetricKeyType === "rsa"
    ? [OID.sha256WithRsa, "sha256"]
    : key.asymmetricKeyType === "ed25519"
    ? [OID.ed25519, null]
    : curve === "prime256v1"
    ? [OID.ecdsaWithSha256, "sha256"]
    : curve === "secp384r1"
    ? [OID.ecdsaWithSha384, "sha384"]
    : curve === "secp521r1"
    ? [OID.ecdsaWithSha512, "sha512"]
    : [];
  if (!oid) {
    throw new TlsSetupError(t(lang, "tls.key.unsupported", { path: keyPath }));
  }
  return {
    // RSA's algorithm has NULL parameters; the others none.
    algorithm: oid === OID.sha256WithRsa
      ? sequence(objectIdentifier(oid), derNull())
      : sequence(objectIdentifier(oid)),
    sign: (tbs) => Promise.resolve(new Uint8Array(sign(hash, tbs, key))),
  };
}

/**
 * Reads `chat serve --tls-cert CERT --tls-key KEY` with
 * `readCertificateFiles` (one-line errors in `lang`), and returns what
 * `Deno.listenTls` needs, with the fingerprint of the given certificate.
 *
 * TLS refuses a certificate that says it is a certificate authority's
 * (basicConstraints CA:TRUE, which plain `openssl req -x509` writes) or that
 * is not for servers (an extendedKeyUsage without serverAuth) as a server's
 * own. For such a certificate this makes a new key and a server certificate
 * (CA:FALSE, with the same host names and dates) signed by the given key,
 * and serves it in front of the given one. Clients then accept the server
 * with `--ca CERT` (the given certificate is the authority) or with
 * `--fingerprint` (the given certificate's, which `connectPinned` finds in
 * the chain the server shows); the server still proves it holds the given
 * key, since only that key can sign a certificate under it. Throws a
 * {@linkcode TlsSetupError} if the key is not the certificate's, cannot sign,
 * or if the certificate is X.509 version 1, which TLS cannot use.
 *
 * @example
 * ```ts
 * import { loadServerCertificate } from "./certificate_make.ts";
 * const tls = await loadServerCertificate("cert.pem", "key.pem", "en");
 * const listener = Deno.listenTls({ port: 5000, cert: tls.cert, key: tls.key });
 * console.log(`Certificate fingerprint (SHA-256): ${tls.fingerprint}`);
 * ```
 */
export async function loadServerCertificate(
  certPath: string,
  keyPath: string,
  lang: Lang = "en",
): Promise<ServerCertificate> {
  const files = readCertificateFiles(certPath, keyPath, lang);
  const given = certificatesIn(files.cert)[0];
  const fingerprint = await fingerprintOf(given);
  let facts: CertificateOutline;
  try {
    facts = outline(given);
  } catch {
    // Not ours to judge: Deno.listenTls explains what it cannot read.
    return { ...files, fingerprint };
  }
  if (facts.version < 3) {
    throw new TlsSetupError(t(lang, "tls.cert.version-1", { path: certPath }));
  }
  if (!facts.isCa && facts.forServers) return { ...files, fingerprint };

  const signer = await fileKeySigner(files.key, keyPath, given, lang);
  const { publicKeyInfo, key } = await newKeyPair();
  const certificate = await signedCertificate({
    issuer: facts.subject,
    validity: facts.validity,
    subject: sequence(
      set(
        sequence(objectIdentifier(OID.commonName), utf8String("chat server")),
      ),
    ),
    publicKeyInfo,
    extensions: serverExtensions(facts.subjectAltName ?? new Uint8Array()),
    signer,
  });
  return {
    cert: toPem("CERTIFICATE", certificate) + files.cert,
    key,
    fingerprint,
  };
}
