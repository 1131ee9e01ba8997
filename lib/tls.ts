/**
 * Encryption for `chat connect`: the two ways a client opens a TLS
 * connection, checked against certificate authorities
 * ({@linkcode connectVerified}) or pinned to one certificate by its
 * fingerprint ({@linkcode connectPinned}), with every refusal explained in
 * one line.
 *
 * The certificates themselves are in `certificate_files.ts` (PEM files,
 * fingerprints) and `certificate_make.ts` (the certificates `chat serve`
 * makes); what callers use of them is exported from here too. A server's
 * certificate is read with `node:crypto`'s `X509Certificate`.
 *
 * Nothing here keeps state between calls.
 *
 * @module
 */

import { type Lang, t } from "./i18n.ts";
import {
  fingerprintOf,
  parseFingerprint,
  readCertificateFile,
  TlsSetupError,
  toPem,
} from "./certificate_files.ts";

export {
  fingerprintOf,
  parseFingerprint,
  readCertificateFiles,
  TlsSetupError,
} from "./certificate_files.ts";
export {
  ecdsaSignatureToDer,
  generateSelfSignedCertificate,
  loadServerCertificate,
  type SelfSignedCertificate,
  type ServerCertificate,
} from "./certificate_make.ts";

/** How long a connection may take, in milliseconds, unless told otherwise. */
export const TLS_TIMEOUT_MS = 10_000;

/**
 * A TLS connection could not be made safely: the certificate does not match
 * the fingerprint, is not trusted, the server does not speak TLS, or it did
 * not answer in time. The message is one line meant for the user, saying
 * what is wrong and what to do. Network failures before TLS starts are
 * thrown as `Deno.errors` instead (see {@linkcode connectPinned}).
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

/**
 * {@linkcode connectPinned} found no certificate with the expected
 * fingerprint: `expected` is the one asked for, `actual` the fingerprints of
 * the certificates the server showed (its own first). Issue 9: the known
 * hosts (`known_hosts.ts`) word this as a changed certificate.
 *
 * @example
 * ```ts
 * import { connectPinned, FingerprintMismatchError } from "./tls.ts";
 * try {
 *   await connectPinned({ hostname: "127.0.0.1", port: 5000, fingerprint: "AB:..." });
 * } catch (error) {
 *   if (error instanceof FingerprintMismatchError) console.log(error.actual[0]);
 * }
 * ```
 */
export class FingerprintMismatchError extends TlsConnectError {
  /** Makes the error from its one-line message and both fingerprints. */
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string[],
  ) {
    super(message);
    this.name = "FingerprintMismatchError";
  }
}

/**
 * {@linkcode connectVerified} refused the certificate because no authority
 * it trusts vouches for it (self-signed, or issued by an unknown authority).
 * Issue 9: `chat connect --tls` then trusts it on first use instead.
 *
 * @example
 * ```ts
 * import { connectVerified, UntrustedCertificateError } from "./tls.ts";
 * try {
 *   await connectVerified({ hostname: "127.0.0.1", port: 5000 });
 * } catch (error) {
 *   if (error instanceof UntrustedCertificateError) console.log("ask the user");
 * }
 * ```
 */
export class UntrustedCertificateError extends TlsConnectError {
  /** Makes the error; line breaks in `message` become spaces. */
  constructor(message: string) {
    super(message);
    this.name = "UntrustedCertificateError";
  }
}

// --- a server's certificate -----------------------------------------------------

/** What the connecting side needs to know about a server's certificate. */
interface CertificateFacts {
  /** Issuer and subject are the same: nobody vouches for it. */
  selfIssued: boolean;
  /** basicConstraints CA:TRUE. */
  isCa: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  validFrom: Date;
  validTo: Date;
}

/** Reads a DER certificate with `X509Certificate`; throws if malformed. */
async function certificateFacts(der: Uint8Array): Promise<CertificateFacts> {
  const { X509Certificate } = await import("node:crypto");
  const certificate = new X509Certificate(der);
  // "DNS:localhost, IP Address:127.0.0.1"
  const names = (certificate.subjectAltName ?? "").split(/,\s*/);
  const valuesOf = (prefix: string) =>
    names.filter((name) => name.startsWith(prefix))
      .map((name) => name.slice(prefix.length));
  return {
    selfIssued: certificate.issuer === certificate.subject,
    isCa: certificate.ca,
    dnsNames: valuesOf("DNS:"),
    ipAddresses: valuesOf("IP Address:"),
    validFrom: certificate.validFromDate,
    validTo: certificate.validToDate,
  };
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

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

/**
 * Why TLS refuses a certificate as a server's own, from what rustls said,
 * as a phrase in `lang`; `undefined` when it is not about the certificate's
 * form (an unknown issuer, a signature, a name, a date).
 */
function certificateProblem(message: string, lang: Lang): string | undefined {
  if (/CaUsedAsEndEntity/i.test(message)) return t(lang, "tls.problem.ca");
  if (/InvalidPurpose|extended key usage|RequiredEku/i.test(message)) {
    return t(lang, "tls.problem.not-for-servers");
  }
  if (/UnsupportedCertVersion/i.test(message)) {
    return t(lang, "tls.problem.version-1");
  }
  if (/(?:Unsupported|Unhandled)CriticalExtension/i.test(message)) {
    return t(lang, "tls.problem.critical-extension");
  }
  if (
    /UnsupportedSignatureAlgorithm|InvalidSignatureForPublicKey/i.test(message)
  ) {
    return t(lang, "tls.problem.algorithm");
  }
  return undefined;
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

/** A day as people read it everywhere: 2026-12-31. */
function day(date: Date): string {
  return date.toISOString().slice(0, 10);
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
 * Connects with node:tls without checking anything, takes the certificates
 * the server shows (DER: its own first, then its issuers') and hangs up at
 * once. Nothing is written but the TLS handshake.
 */
async function probeCertificates(
  hostname: string,
  port: number,
  timeoutMs: number,
  lang: Lang,
): Promise<Uint8Array[]> {
  const where = formatAddress(hostname, port);
  // Loaded only here: node:tls costs a server that never probes megabytes.
  const [{ connect: connectNodeTls }, { isIP }] = await Promise.all([
    import("node:tls"),
    import("node:net"),
  ]);
  return await new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const socket = connectNodeTls({
      host: hostname,
      port,
      rejectUnauthorized: false,
      servername: isIP(hostname) ? undefined : hostname,
    });
    const finish = (error?: Error, chain?: Uint8Array[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(chain!);
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
      const chain: Uint8Array[] = [];
      const seen = new Set<object>();
      // A self-signed certificate is its own issuer: stop on a repeat.
      for (
        let certificate = socket.getPeerCertificate(true);
        certificate?.raw?.length && !seen.has(certificate);
        certificate = certificate.issuerCertificate
      ) {
        seen.add(certificate);
        chain.push(new Uint8Array(certificate.raw));
      }
      if (chain.length > 0) finish(undefined, chain);
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

/** Network failures the caller words itself. */
function isNetworkError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NetworkUnreachable ||
    error instanceof Deno.errors.TimedOut;
}

/**
 * Connects over TLS to a server that shows the certificate with the given
 * SHA-256 fingerprint, and to no other: for `chat connect --fingerprint F`,
 * against the self-signed certificate of `chat serve --tls`, or the one
 * given to `chat serve --tls-cert`.
 *
 * First a probe connection (node:tls, no checks, closed right after the
 * handshake: the server sees a connection that opens and closes) fetches the
 * certificates the server shows, and their SHA-256 are compared with
 * `fingerprint`. If none matches, nothing more is sent. The one that
 * matches is normally the server's own; it may also be its issuer, when
 * `chat serve` was given a certificate that says it is a certificate
 * authority's and serves one of its own under it. Then the real connection
 * is made with `Deno.startTls`, trusting the matching certificate, so rustls
 * itself proves the server holds its private key, or one it signed (the
 * probe proves nothing: node:tls without checks verifies no signature); a
 * server that shows another certificate this time is refused too. The name
 * checked is one the matching certificate holds, `localhost` or `chat`
 * first, never skipped: Deno trusts Mozilla's authorities as well as
 * `caCerts`, and without a name check any certificate they signed, for any
 * site, would pass. Each of the two connections may take `timeoutMs` (10 s
 * by default). Returns after the handshake. Error messages are in `lang`
 * (English unless given).
 *
 * Throws:
 * - {@linkcode TlsSetupError} if `fingerprint` is not 64 hex digits;
 * - {@linkcode TlsConnectError} (one line saying what to do) for a
 *   mismatch, a matching certificate that has expired, names no host or that
 *   TLS refuses as a server's (an older `chat serve` with a CA:TRUE
 *   certificate), a server that does not speak TLS or does not finish the
 *   handshake within `timeoutMs`, or one that cannot prove it holds the key;
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
  const chain = await probeCertificates(hostname, port, timeoutMs, lang);
  const fingerprints = await Promise.all(
    chain.map((certificate) => fingerprintOf(certificate)),
  );
  const index = fingerprints.indexOf(expected);
  if (index < 0) {
    throw new FingerprintMismatchError(
      t(lang, "tls.mismatch", { where, expected, actual: fingerprints[0] }),
      expected,
      fingerprints,
    );
  }
  let facts: CertificateFacts;
  try {
    facts = await certificateFacts(chain[index]);
  } catch {
    throw new TlsConnectError(t(lang, "tls.unreadable", { where }));
  }
  if (index === 0 && facts.isCa) {
    throw new TlsConnectError(
      t(lang, "tls.pinned-unusable", {
        where,
        problem: t(lang, "tls.problem.ca"),
      }),
    );
  }
  const now = Date.now();
  if (now < facts.validFrom.getTime() || now > facts.validTo.getTime()) {
    throw new TlsConnectError(
      t(lang, "tls.pinned-expired", {
        where,
        from: day(facts.validFrom),
        to: day(facts.validTo),
      }),
    );
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
      [toPem("CERTIFICATE", chain[index])],
      timeoutMs,
      lang,
    );
  } catch (error) {
    if (error instanceof TlsConnectError || isNetworkError(error)) {
      // The server went away since the probe, or did not answer in time.
      throw error;
    }
    const message = messageOf(error);
    const problem = certificateProblem(message, lang);
    if (problem) {
      throw new TlsConnectError(
        t(lang, "tls.pinned-unusable", { where, problem }),
      );
    }
    if (CERTIFICATE_REFUSED.test(message)) {
      throw new TlsConnectError(
        t(lang, "tls.key-not-proven", { where, expected, message }),
      );
    }
    throw new TlsConnectError(t(lang, "tls.failed", { where, message }));
  }
}

/**
 * Connects over TLS and checks the server's certificate the usual way: it
 * must be issued by an authority Deno trusts (Mozilla's list) or by the one
 * in `caFile`, and name `hostname`. For `chat connect --tls [--ca FILE]`.
 * `caFile` may also be the server's own self-signed certificate, or the
 * certificate given to `chat serve --tls-cert`. Returns after the
 * handshake. Error messages are in `lang` (English unless given).
 *
 * Throws:
 * - {@linkcode TlsSetupError} if `caFile` cannot be read or holds no
 *   certificate;
 * - {@linkcode TlsConnectError} (one line saying what to do) if the
 *   certificate is not trusted (saying whether it is self-signed and
 *   suggesting `--ca FILE` or `--fingerprint`), names other hosts, has
 *   expired, cannot be a server's (CA:TRUE, not for servers), or if the
 *   server does not speak TLS or does not finish the handshake within
 *   `timeoutMs`;
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
  const name = hostname.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  try {
    return await openTls(hostname, port, name, caCerts, timeoutMs, lang);
  } catch (error) {
    if (error instanceof TlsConnectError || isNetworkError(error)) throw error;
    const message = messageOf(error);
    const hint = options.caFile === undefined
      ? t(lang, "tls.hint.no-ca")
      : t(lang, "tls.hint.ca", { file: options.caFile });
    if (/UnknownIssuer|BadSignature|UnknownCA|unknown issuer/i.test(message)) {
      const facts = await diagnose(hostname, port, timeoutMs);
      throw new UntrustedCertificateError(
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
    if (/Expired|NotValidYet|not valid yet/i.test(message)) {
      throw new TlsConnectError(t(lang, "tls.expired", { where }));
    }
    const problem = certificateProblem(message, lang);
    if (problem) {
      throw new TlsConnectError(t(lang, "tls.unusable", { where, problem }));
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
    const [own] = await probeCertificates(
      hostname,
      port,
      Math.min(timeoutMs, 3000),
      "en",
    );
    return await certificateFacts(own);
  } catch {
    return undefined;
  }
}

/**
 * The SHA-256 fingerprint a server's `chat serve` printed, read from the
 * certificates it shows (one probe connection, no checks, closed after the
 * handshake): its own certificate's, or, when chat issued that one at start
 * under a certificate given to `--tls-cert` (subject `CN=chat server`), the
 * given certificate's, which stays the same across restarts. Issue 9: what
 * `chat connect --tls` shows on first use, then pins with
 * {@linkcode connectPinned}. Throws as `connectPinned` does for a server
 * that does not speak TLS or cannot be reached.
 *
 * @example
 * ```ts
 * import { serverFingerprint } from "./tls.ts";
 * await serverFingerprint({ hostname: "127.0.0.1", port: 5000 }); // "28:39:..."
 * ```
 */
export async function serverFingerprint(options: {
  hostname: string;
  port: number;
  timeoutMs?: number;
  /** The language of the error messages; English unless given. */
  lang?: Lang;
}): Promise<string> {
  const lang = options.lang ?? "en";
  const chain = await probeCertificates(
    options.hostname,
    options.port,
    options.timeoutMs ?? TLS_TIMEOUT_MS,
    lang,
  );
  let pinned = chain[0];
  if (chain.length > 1) {
    try {
      const { X509Certificate } = await import("node:crypto");
      const own = new X509Certificate(chain[0]);
      if (
        own.subject === "CN=chat server" &&
        own.checkIssued(new X509Certificate(chain[1]))
      ) {
        pinned = chain[1];
      }
    } catch { /* unreadable: pin what the server showed first */ }
  }
  return await fingerprintOf(pinned);
}
