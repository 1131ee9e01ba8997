/**
 * Tests of lib/tls.ts, lib/certificate_files.ts and lib/certificate_make.ts:
 * the self-signed certificate checked by openssl, certificates made by
 * openssl (the README's recipe, and plain `openssl req -x509`, which says
 * CA:TRUE) served and joined, and real TLS connections on 127.0.0.1 (servers
 * from `Deno.listenTls` and `chat serve`, a plain TCP server, and machines in
 * the middle). The tests that need openssl are skipped where it is missing.
 */

import assert from "node:assert/strict";
import {
  connectPinned,
  connectVerified,
  ecdsaSignatureToDer,
  fingerprintOf,
  generateSelfSignedCertificate,
  loadServerCertificate,
  parseFingerprint,
  readCertificateFiles,
  type SelfSignedCertificate,
  TlsConnectError,
  TlsSetupError,
} from "../lib/tls.ts";
import { ChatProcess, deadline, findProgram } from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const WELCOME = "*** Welcome, guest1! Online (1): guest1.";

const opensslFound = await new Deno.Command("openssl", { args: ["version"] })
  .output().then((result) => result.success, () => false);
if (!opensslFound) {
  console.log(
    "certificate checks by openssl skipped: openssl is not installed (apt-get install openssl)",
  );
}

async function openssl(args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command("openssl", {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const result = await deadline(child.output(), `openssl ${args[0]}`);
  return {
    success: result.success,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** Writes files in a new temporary directory, removed by `await using`. */
async function tempDir(files: Record<string, string> = {}) {
  const path = await Deno.makeTempDir({ prefix: "chat-tls-test-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${path}/${name}`, text);
  }
  return {
    path,
    file: (name: string) => `${path}/${name}`,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (char) => char.charCodeAt(0));
}

/** Reads from a connection until it ends or fails; never throws. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: number[] = [];
  const buffer = new Uint8Array(4096);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(...buffer.subarray(0, n));
    }
  } catch { /* reset or closed: the end */ }
  return new Uint8Array(chunks);
}

/** Reads one `\n`-ended line, within the test deadline. */
async function readLine(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(1024);
  return await deadline(
    (async () => {
      while (!text.includes("\n")) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error(`connection ended after "${text}"`);
        text += decoder.decode(buffer.subarray(0, n));
      }
      return text.slice(0, text.indexOf("\n"));
    })(),
    "a line",
  );
}

/** What one accepted connection did, as the server saw it. */
interface Visit {
  /** Bytes the client sent (after TLS, for a TLS server). */
  received: Uint8Array;
  /** Why the TLS handshake failed, if it did. */
  handshakeError?: string;
}

/**
 * A server on 127.0.0.1 that greets each connection with one line, then
 * records what it receives until the client hangs up. TLS when given a
 * certificate, plain TCP otherwise; `silent` says nothing at all.
 */
class TestServer {
  readonly visits: Visit[] = [];
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks: Promise<void>[] = [];
  readonly #loop: Promise<void>;

  constructor(
    options: { tls?: SelfSignedCertificate; greeting?: string | null } = {},
  ) {
    const address = { hostname: "127.0.0.1", port: 0 };
    this.#listener = options.tls
      ? Deno.listenTls({ ...address, ...options.tls })
      : Deno.listen(address);
    this.#loop = this.#accept(
      options.greeting === undefined ? WELCOME : options.greeting,
    );
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(greeting: string | null): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#tasks.push(this.#serve(conn, greeting));
      }
    } catch { /* closed */ }
  }

  async #serve(conn: Deno.Conn, greeting: string | null): Promise<void> {
    const visit: Visit = { received: new Uint8Array() };
    this.visits.push(visit);
    try {
      if ("handshake" in conn) {
        try {
          await (conn as Deno.TlsConn).handshake();
        } catch (error) {
          visit.handshakeError = (error as Error).message;
          return;
        }
      }
      if (greeting !== null) {
        await conn.write(encoder.encode(greeting + "\n")).catch(() => {});
      }
      visit.received = await readAll(conn);
    } finally {
      this.#conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed by dispose */ }
    }
  }

  /** Waits until `count` connections have ended. */
  async settled(count: number): Promise<void> {
    await deadline(
      (async () => {
        while (this.#tasks.length < count) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await Promise.all(this.#tasks);
      })(),
      `${count} connection(s) to end`,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await this.#loop;
    await Promise.all(this.#tasks);
  }
}

/**
 * A machine in the middle: a plain TCP relay that passes the first
 * connection to `first` and every later one to `later`, so the probe sees
 * the genuine server and the real connection an impostor.
 */
class SwitchingRelay {
  readonly #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks: Promise<void>[] = [];
  readonly #loop: Promise<void>;

  constructor(first: number, later: number) {
    this.#loop = this.#accept(first, later);
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #accept(first: number, later: number): Promise<void> {
    let count = 0;
    try {
      for await (const client of this.#listener) {
        this.#conns.add(client);
        const port = count++ === 0 ? first : later;
        this.#tasks.push(this.#relay(client, port));
      }
    } catch { /* closed */ }
  }

  async #relay(client: Deno.Conn, port: number): Promise<void> {
    const server = await Deno.connect({ hostname: "127.0.0.1", port });
    this.#conns.add(server);
    const pump = async (from: Deno.Conn, to: Deno.Conn) => {
      const buffer = new Uint8Array(16384);
      try {
        while (true) {
          const n = await from.read(buffer);
          if (n === null) break;
          await to.write(buffer.subarray(0, n));
        }
      } catch { /* one side went away */ }
      for (const conn of [from, to]) {
        if (this.#conns.delete(conn)) conn.close();
      }
    };
    await Promise.all([pump(client, server), pump(server, client)]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
    await this.#loop;
    await Promise.all(this.#tasks);
  }
}

/** A port with nothing listening on it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    const value = await deadline(promise, "the promise to settle");
    (value as Deno.Conn)?.close?.();
  } catch (error) {
    assert.ok(error instanceof Error, String(error));
    return error;
  }
  assert.fail("expected the promise to be rejected");
}

/** Asserts a one-line error of the given class whose message matches. */
async function assertRejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  message: RegExp,
): Promise<Error> {
  const error = await rejection(promise);
  assert.ok(error instanceof type, `${error.name}: ${error.message}`);
  assert.match(error.message, message);
  assert.ok(!error.message.includes("\n"), `not one line: ${error.message}`);
  return error;
}

const FINGERPRINT_FORMAT = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

// --- generateSelfSignedCertificate --------------------------------------------

Deno.test("generateSelfSignedCertificate makes PEM certificate and PKCS #8 key, and a fingerprint in openssl's format", async () => {
  const { cert, key, fingerprint } = await generateSelfSignedCertificate();
  assert.match(
    cert,
    /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/,
  );
  assert.match(
    key,
    /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n$/,
  );
  for (const line of cert.split("\n")) assert.ok(line.length <= 64, line);
  assert.match(fingerprint, FINGERPRINT_FORMAT);
  assert.equal(await fingerprintOf(cert), fingerprint);
  assert.equal(await fingerprintOf(pemToDer(cert)), fingerprint);
});

Deno.test("generateSelfSignedCertificate makes a new key and certificate every time", async () => {
  const a = await generateSelfSignedCertificate();
  const b = await generateSelfSignedCertificate();
  assert.notEqual(a.key, b.key);
  assert.notEqual(a.fingerprint, b.fingerprint);
});

Deno.test({
  name:
    "openssl reads the certificate: CA:FALSE, ECDSA P-256 with SHA-256, CN=chat, the names, one year",
  ignore: !opensslFound,
  fn: async () => {
    const now = new Date();
    const { cert } = await generateSelfSignedCertificate({
      hostnames: [
        "192.168.1.23",
        "::1",
        "LabPC7",
        "fe80::1%eth0",
        "chat",
        "bad name!",
      ],
      now,
    });
    const text = await openssl(
      ["x509", "-noout", "-text"],
      encoder.encode(cert),
    );
    assert.ok(text.success, text.stderr);
    const out = text.stdout;
    assert.match(out, /Version: 3 \(0x2\)/);
    assert.match(out, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(out, /Issuer: CN ?= ?chat\n/);
    assert.match(out, /Subject: CN ?= ?chat\n/);
    assert.match(out, /NIST CURVE: P-256/);
    assert.match(out, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    assert.match(out, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    assert.match(
      out,
      /X509v3 Extended Key Usage: ?\n\s+TLS Web Server Authentication\n/,
    );
    const sans = /X509v3 Subject Alternative Name: ?\n\s+(.*)\n/.exec(out)?.[1];
    assert.equal(
      sans,
      "DNS:chat, DNS:localhost, IP Address:192.168.1.23, IP Address:0:0:0:0:0:0:0:1, DNS:labpc7, IP Address:FE80:0:0:0:0:0:0:1",
    );

    const serial = /Serial Number:\n\s+([0-9a-f:]+)/.exec(out)?.[1];
    assert.ok(serial, out);
    assert.ok(parseInt(serial.slice(0, 2), 16) < 0x80, `serial ${serial}`);

    const dates = await openssl(
      ["x509", "-noout", "-startdate", "-enddate"],
      encoder.encode(cert),
    );
    const notBefore = Date.parse(/notBefore=(.*)/.exec(dates.stdout)![1]);
    const notAfter = Date.parse(/notAfter=(.*)/.exec(dates.stdout)![1]);
    const hour = 3600_000;
    // openssl prints whole seconds.
    assert.ok(
      Math.abs(notBefore - (now.getTime() - hour)) < 1000,
      dates.stdout,
    );
    assert.ok(
      Math.abs(notAfter - (now.getTime() + 365 * 24 * hour)) < 1000,
      dates.stdout,
    );
  },
});

Deno.test({
  name:
    "openssl finds the same fingerprint, a valid self-signature, and the key that belongs to the certificate",
  ignore: !opensslFound,
  fn: async () => {
    const { cert, key, fingerprint } = await generateSelfSignedCertificate();
    const printed = await openssl(
      ["x509", "-noout", "-fingerprint", "-sha256"],
      encoder.encode(cert),
    );
    assert.equal(
      printed.stdout.trim().replace(/^.*Fingerprint=/i, ""),
      fingerprint,
    );

    await using dir = await tempDir({ "cert.pem": cert });
    const verified = await openssl([
      "verify",
      "-check_ss_sig",
      "-CAfile",
      dir.file("cert.pem"),
      dir.file("cert.pem"),
    ]);
    assert.ok(verified.success, verified.stdout + verified.stderr);

    // The same check fails once the signature is damaged.
    const der = pemToDer(cert);
    der[der.length - 1] ^= 0x01;
    const damaged = "-----BEGIN CERTIFICATE-----\n" +
      btoa(String.fromCharCode(...der)) + "\n-----END CERTIFICATE-----\n";
    await Deno.writeTextFile(dir.file("damaged.pem"), damaged);
    const refused = await openssl([
      "verify",
      "-check_ss_sig",
      "-CAfile",
      dir.file("damaged.pem"),
      dir.file("damaged.pem"),
    ]);
    assert.ok(!refused.success, refused.stdout);

    const fromCert = await openssl(
      ["x509", "-noout", "-pubkey"],
      encoder.encode(cert),
    );
    const fromKey = await openssl(["pkey", "-pubout"], encoder.encode(key));
    assert.ok(fromKey.success, fromKey.stderr);
    assert.equal(fromKey.stdout, fromCert.stdout);
  },
});

Deno.test({
  name:
    "a certificate that ends in 2050 or later uses GeneralizedTime, which openssl reads",
  ignore: !opensslFound,
  fn: async () => {
    const { cert } = await generateSelfSignedCertificate({
      now: new Date("2049-12-31T12:00:00Z"),
    });
    const dates = await openssl(
      ["x509", "-noout", "-startdate", "-enddate"],
      encoder.encode(cert),
    );
    assert.equal(
      dates.stdout,
      "notBefore=Dec 31 11:00:00 2049 GMT\nnotAfter=Dec 31 12:00:00 2050 GMT\n",
    );
    // UTCTime (tag 0x17) for 2049, GeneralizedTime (0x18) for 2050.
    const der = pemToDer(cert);
    const text = decoder.decode(
      der.map((byte) => byte < 0x20 || byte > 0x7e ? 0x2e : byte),
    );
    assert.ok(text.includes("491231110000Z"), "UTCTime for 2049");
    assert.ok(text.includes("20501231120000Z"), "GeneralizedTime for 2050");
    assert.equal(der[text.indexOf("491231110000Z") - 2], 0x17);
    assert.equal(der[text.indexOf("20501231120000Z") - 2], 0x18);
  },
});

Deno.test("Deno.listenTls accepts the generated certificate and key", async () => {
  const certificate = await generateSelfSignedCertificate();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    ...certificate,
  });
  listener.close();
});

Deno.test("generation takes well under a second", async () => {
  const started = performance.now();
  for (let i = 0; i < 10; i++) await generateSelfSignedCertificate();
  const each = (performance.now() - started) / 10;
  console.log(`    one certificate in ${each.toFixed(1)} ms`);
  assert.ok(each < 1000, `${each} ms`);
});

// --- ecdsaSignatureToDer ------------------------------------------------------

Deno.test("ecdsaSignatureToDer writes r and s as DER integers", () => {
  const r = new Uint8Array(32).fill(0x11);
  const s = new Uint8Array(32).fill(0x22);
  assert.deepEqual(
    ecdsaSignatureToDer(new Uint8Array([...r, ...s])),
    new Uint8Array([0x30, 68, 0x02, 32, ...r, 0x02, 32, ...s]),
  );
});

Deno.test("ecdsaSignatureToDer puts a zero byte before an integer whose top bit is set", () => {
  const r = new Uint8Array(32).fill(0x80);
  const s = new Uint8Array(32).fill(0x7f);
  assert.deepEqual(
    ecdsaSignatureToDer(new Uint8Array([...r, ...s])),
    new Uint8Array([0x30, 69, 0x02, 33, 0x00, ...r, 0x02, 32, ...s]),
  );
});

Deno.test("ecdsaSignatureToDer drops leading zero bytes, keeping one for zero", () => {
  const r = new Uint8Array(32);
  r[2] = 0x05;
  r[31] = 0x01;
  const s = new Uint8Array(32); // zero
  const rest = r.subarray(2);
  assert.deepEqual(
    ecdsaSignatureToDer(new Uint8Array([...r, ...s])),
    new Uint8Array([0x30, 2 + 30 + 3, 0x02, 30, ...rest, 0x02, 1, 0x00]),
  );
  // A leading zero is dropped, but not when the next byte's top bit is set.
  const high = new Uint8Array(32);
  high[1] = 0x90;
  assert.deepEqual(
    ecdsaSignatureToDer(new Uint8Array([...high, ...high])).subarray(0, 6),
    new Uint8Array([0x30, 2 * 34, 0x02, 32, 0x00, 0x90]),
  );
});

// --- fingerprints ---------------------------------------------------------------

const HEX = "2839B9" + "0A".repeat(28) + "FF";
const CANONICAL = HEX.match(/../g)!.join(":");

Deno.test("parseFingerprint accepts upper and lower case, with or without colons or spaces", () => {
  for (
    const text of [
      CANONICAL,
      CANONICAL.toLowerCase(),
      HEX,
      HEX.toLowerCase(),
      HEX.match(/../g)!.join(" "),
      `  ${CANONICAL}\n`,
    ]
  ) {
    assert.equal(parseFingerprint(text), CANONICAL, text);
  }
});

Deno.test("parseFingerprint accepts SHA256:, sha256= and openssl's own prefix", () => {
  for (
    const text of [
      `SHA256:${CANONICAL}`,
      `sha256=${HEX}`,
      `SHA-256: ${CANONICAL}`,
      `sha256 Fingerprint=${CANONICAL}`,
      `SHA256 Fingerprint=${CANONICAL}`,
    ]
  ) {
    assert.equal(parseFingerprint(text), CANONICAL, text);
  }
});

Deno.test("parseFingerprint refuses anything but 64 hex digits", () => {
  for (
    const text of [
      "",
      "28:39",
      HEX.slice(2),
      HEX + "00",
      HEX.slice(1) + "G",
      "SHA1:" + HEX.slice(24),
      CANONICAL.replace(/:/g, "-"),
      "md5=" + HEX,
    ]
  ) {
    assert.equal(parseFingerprint(text), undefined, text);
  }
});

Deno.test("fingerprintOf refuses text with no certificate in it", async () => {
  await assertRejects(
    fingerprintOf("hello"),
    TlsSetupError,
    /not a PEM certificate/,
  );
});

Deno.test("fingerprintOf gives what node:crypto's X509Certificate.fingerprint256 gives", async () => {
  const { X509Certificate } = await import("node:crypto");
  for (let i = 0; i < 3; i++) {
    const { cert, fingerprint } = await generateSelfSignedCertificate();
    assert.equal(new X509Certificate(cert).fingerprint256, fingerprint);
    assert.equal(await fingerprintOf(cert), fingerprint);
  }
});

// --- readCertificateFiles -----------------------------------------------------

Deno.test("readCertificateFiles returns both PEM texts as they are", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using dir = await tempDir({
    "cert.pem": certificate.cert,
    "key.pem": certificate.key,
  });
  assert.deepEqual(
    readCertificateFiles(dir.file("cert.pem"), dir.file("key.pem")),
    { cert: certificate.cert, key: certificate.key },
  );
});

Deno.test("readCertificateFiles explains each bad file in one line", async (t) => {
  const certificate = await generateSelfSignedCertificate();
  await using dir = await tempDir({
    "cert.pem": certificate.cert,
    "key.pem": certificate.key,
    "notes.txt": "just some text\n",
    "broken.pem":
      "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
    "encrypted.pem":
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    "legacy.pem":
      "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n",
  });
  await Deno.mkdir(dir.file("folder"));
  const cert = dir.file("cert.pem");
  const key = dir.file("key.pem");
  const cases: [string, string, string, RegExp][] = [
    [
      "missing certificate",
      dir.file("nope.pem"),
      key,
      /^Cannot read the certificate file ".*nope\.pem": no such file\.$/,
    ],
    [
      "missing key",
      cert,
      dir.file("nope.pem"),
      /^Cannot read the key file ".*nope\.pem": no such file\.$/,
    ],
    [
      "a directory",
      dir.file("folder"),
      key,
      /^Cannot read the certificate file ".*folder": it is a directory\.$/,
    ],
    [
      "not PEM",
      dir.file("notes.txt"),
      key,
      /notes\.txt" is not a PEM certificate: it has no "-----BEGIN CERTIFICATE-----" block\.$/,
    ],
    [
      "damaged base64",
      dir.file("broken.pem"),
      key,
      /broken\.pem" has a damaged certificate block/,
    ],
    [
      "no key",
      cert,
      dir.file("notes.txt"),
      /notes\.txt" is not a PEM private key: it has no "-----BEGIN PRIVATE KEY-----" block\.$/,
    ],
    [
      "swapped",
      key,
      cert,
      /holds a private key, not a certificate\. Did you swap --tls-cert and --tls-key\?$/,
    ],
    [
      "certificate as key",
      cert,
      cert,
      /holds a certificate, not a private key\. Did you swap --tls-cert and --tls-key\?$/,
    ],
    [
      "encrypted PKCS #8 key",
      cert,
      dir.file("encrypted.pem"),
      /is protected by a password, which chat cannot use\. Write it without one: openssl pkey/,
    ],
    [
      "encrypted legacy key",
      cert,
      dir.file("legacy.pem"),
      /is protected by a password/,
    ],
  ];
  for (const [label, certPath, keyPath, message] of cases) {
    await t.step(label, () => {
      assert.throws(
        () => readCertificateFiles(certPath, keyPath),
        (error: Error) => {
          assert.ok(error instanceof TlsSetupError, String(error));
          assert.match(error.message, message);
          assert.ok(!error.message.includes("\n"), error.message);
          return true;
        },
      );
    });
  }
  await t.step({
    name: "unreadable (skipped as root, who reads everything)",
    ignore: Deno.uid() === 0,
    fn: async () => {
      await Deno.chmod(key, 0o000);
      assert.throws(
        () => readCertificateFiles(cert, key),
        (error: Error) =>
          error instanceof TlsSetupError &&
          /^Cannot read the key file ".*key\.pem": permission denied\.$/
            .test(error.message),
      );
    },
  });
});

// --- connectPinned --------------------------------------------------------------

Deno.test("connectPinned with the server's fingerprint connects, and rustls checks the certificate", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: certificate });
  for (
    const fingerprint of [
      certificate.fingerprint,
      certificate.fingerprint.replace(/:/g, "").toLowerCase(),
    ]
  ) {
    const conn = await deadline(
      connectPinned({ hostname: "127.0.0.1", port: server.port, fingerprint }),
      "connectPinned",
    );
    try {
      assert.equal(await readLine(conn), WELCOME);
      await conn.write(encoder.encode("hello over TLS\n"));
    } finally {
      conn.close();
    }
  }
  // Each connection is a probe, then the real one.
  await server.settled(4);
  const texts = server.visits.map((visit) => decoder.decode(visit.received));
  assert.deepEqual(texts, ["", "hello over TLS\n", "", "hello over TLS\n"]);
  assert.ok(server.visits.every((visit) => !visit.handshakeError));
});

Deno.test("connectPinned refuses a server with another certificate, and sends it nothing", async () => {
  const genuine = await generateSelfSignedCertificate();
  const impostor = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: impostor });
  const error = await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: server.port,
      fingerprint: genuine.fingerprint,
    }),
    TlsConnectError,
    /^The certificate of the server at 127\.0\.0\.1:\d+ does not match the fingerprint: /,
  );
  assert.ok(error.message.includes(`expected ${genuine.fingerprint}`));
  assert.ok(error.message.includes(`got ${impostor.fingerprint}`));
  assert.match(
    error.message,
    /machine in the middle, a different server, or a server restarted with a new certificate/,
  );
  assert.match(error.message, /nothing was sent/);
  await server.settled(1);
  assert.equal(server.visits.length, 1);
  assert.equal(server.visits[0].received.length, 0);
});

Deno.test("connectPinned refuses a machine in the middle that shows the genuine certificate only to the probe", async () => {
  const genuine = await generateSelfSignedCertificate();
  const impostor = await generateSelfSignedCertificate();
  await using real = new TestServer({ tls: genuine });
  await using fake = new TestServer({ tls: impostor });
  await using relay = new SwitchingRelay(real.port, fake.port);
  await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: relay.port,
      fingerprint: genuine.fingerprint,
    }),
    TlsConnectError,
    /showed the certificate with fingerprint .* then refused to prove it holds its key or showed another certificate \(invalid peer certificate: .*\)\. It may be a machine in the middle; nothing was sent\.$/,
  );
  await fake.settled(1);
  assert.equal(fake.visits[0].received.length, 0);
  assert.match(fake.visits[0].handshakeError ?? "", /UnknownCA|alert/i);
});

Deno.test("connectPinned says so when the server does not speak TLS", async (t) => {
  const { fingerprint } = await generateSelfSignedCertificate();
  await t.step("a plain chat server, which greets first", async () => {
    await using server = new TestServer();
    await assertRejects(
      connectPinned({ hostname: "127.0.0.1", port: server.port, fingerprint }),
      TlsConnectError,
      /^The server at 127\.0\.0\.1:\d+ did not answer with TLS; is it started with --tls\?$/,
    );
  });
  await t.step("a server that hangs up at once", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closer = (async () => {
      for await (const conn of listener) conn.close();
    })().catch(() => {});
    try {
      await assertRejects(
        connectPinned({
          hostname: "127.0.0.1",
          port: listener.addr.port,
          fingerprint,
        }),
        TlsConnectError,
        /did not answer with TLS; is it started with --tls\?$/,
      );
    } finally {
      listener.close();
      await closer;
    }
  });
});

Deno.test("connectPinned gives up on a server that never answers the handshake", async () => {
  const { fingerprint } = await generateSelfSignedCertificate();
  await using server = new TestServer({ greeting: null });
  const started = performance.now();
  await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: server.port,
      fingerprint,
      timeoutMs: 300,
    }),
    TlsConnectError,
    /^The server at 127\.0\.0\.1:\d+ did not complete a TLS handshake within 0\.3 s; is it started with --tls\?$/,
  );
  const took = performance.now() - started;
  assert.ok(took >= 290 && took < 5000, `${took} ms`);
});

Deno.test("connectPinned throws Deno.errors.ConnectionRefused when nothing listens", async () => {
  const { fingerprint } = await generateSelfSignedCertificate();
  await assertRejects(
    connectPinned({ hostname: "127.0.0.1", port: closedPort(), fingerprint }),
    Deno.errors.ConnectionRefused,
    /connection refused/,
  );
});

Deno.test("the error classes keep their messages on one line", () => {
  assert.equal(new TlsConnectError("a\n  b\r\nc").message, "a b c");
  assert.equal(new TlsSetupError("x\ny").message, "x y");
  assert.equal(new TlsConnectError("one").name, "TlsConnectError");
  assert.equal(new TlsSetupError("one").name, "TlsSetupError");
});

Deno.test("connectPinned refuses a malformed fingerprint before connecting", async () => {
  await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: closedPort(),
      fingerprint: "AB:CD",
    }),
    TlsSetupError,
    /^Bad fingerprint "AB:CD": give the 64 hex digits \(SHA-256\) that "chat serve --tls" printed\.$/,
  );
});

// --- a plain client and a TLS server ------------------------------------------

Deno.test("a plain TCP client (nc) gets no text from a TLS server, which refuses its handshake", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: certificate });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(encoder.encode("hello\n"));
    const bytes = await deadline(readAll(conn), "the TLS server to hang up");
    // At most a TLS alert record (content type 21), never the greeting.
    assert.ok(bytes.length === 0 || bytes[0] === 0x15, `got ${bytes}`);
    assert.ok(!decoder.decode(bytes).includes("Welcome"));
  } finally {
    conn.close();
  }
  await server.settled(1);
  assert.ok(server.visits[0].handshakeError, "the handshake should fail");
  assert.equal(server.visits[0].received.length, 0);
});

// --- connectVerified ------------------------------------------------------------

Deno.test("connectVerified with --ca set to the server's certificate connects by name and by IP address", async () => {
  const certificate = await generateSelfSignedCertificate({
    hostnames: ["127.0.0.1"],
  });
  await using server = new TestServer({ tls: certificate });
  await using dir = await tempDir({ "ca.pem": certificate.cert });
  for (const hostname of ["localhost", "127.0.0.1"]) {
    const conn = await deadline(
      connectVerified({
        hostname,
        port: server.port,
        caFile: dir.file("ca.pem"),
      }),
      `connectVerified to ${hostname}`,
    );
    try {
      assert.equal(await readLine(conn), WELCOME);
    } finally {
      conn.close();
    }
  }
});

Deno.test("connectVerified without --ca refuses a self-signed certificate and says what to do", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: certificate });
  await assertRejects(
    connectVerified({ hostname: "localhost", port: server.port }),
    TlsConnectError,
    /^The server at localhost:\d+ uses a self-signed certificate, which this computer does not trust\. Pass the server's certificate \(or its authority's\) with --ca FILE, or use --fingerprint with the fingerprint the server printed\.$/,
  );
  await server.settled(2); // the refused connection, and the look at why
  assert.ok(server.visits.every((visit) => visit.received.length === 0));
});

Deno.test("connectVerified with the wrong --ca file says the certificate is not signed by it", async () => {
  const certificate = await generateSelfSignedCertificate();
  const other = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: certificate });
  await using dir = await tempDir({ "other.pem": other.cert });
  await assertRejects(
    connectVerified({
      hostname: "localhost",
      port: server.port,
      caFile: dir.file("other.pem"),
    }),
    TlsConnectError,
    /uses a self-signed certificate, which this computer does not trust\. It is not signed by the certificate in ".*other\.pem"\./,
  );
});

Deno.test("connectVerified names the hosts a certificate is for when the name does not match", async () => {
  const certificate = await generateSelfSignedCertificate(); // chat, localhost
  await using server = new TestServer({ tls: certificate });
  await using dir = await tempDir({ "ca.pem": certificate.cert });
  await assertRejects(
    connectVerified({
      hostname: "127.0.0.1",
      port: server.port,
      caFile: dir.file("ca.pem"),
    }),
    TlsConnectError,
    /^The certificate of the server at 127\.0\.0\.1:\d+ is not valid for the name "127\.0\.0\.1" \(it is for chat, localhost\)\. Connect by a name it holds, or use --fingerprint\.$/,
  );
});

Deno.test("connectVerified refuses an expired certificate with a clear line", async () => {
  const twoYearsAgo = new Date(Date.now() - 2 * 365 * 24 * 3600_000);
  const certificate = await generateSelfSignedCertificate({ now: twoYearsAgo });
  await using server = new TestServer({ tls: certificate });
  await using dir = await tempDir({ "ca.pem": certificate.cert });
  await assertRejects(
    connectVerified({
      hostname: "localhost",
      port: server.port,
      caFile: dir.file("ca.pem"),
    }),
    TlsConnectError,
    /^The certificate of the server at localhost:\d+ has expired or is not valid yet\./,
  );
});

Deno.test("connectVerified says so when the server does not speak TLS", async () => {
  await using server = new TestServer();
  await assertRejects(
    connectVerified({ hostname: "127.0.0.1", port: server.port }),
    TlsConnectError,
    /^The server at 127\.0\.0\.1:\d+ did not answer with TLS; is it started with --tls\?$/,
  );
});

Deno.test("connectVerified says so when the server hangs up or never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closer = (async () => {
    for await (const conn of listener) conn.close();
  })().catch(() => {});
  try {
    await assertRejects(
      connectVerified({ hostname: "127.0.0.1", port: listener.addr.port }),
      TlsConnectError,
      /^The server at 127\.0\.0\.1:\d+ did not answer with TLS; is it started with --tls\?$/,
    );
  } finally {
    listener.close();
    await closer;
  }
  await using silent = new TestServer({ greeting: null });
  await assertRejects(
    connectVerified({
      hostname: "127.0.0.1",
      port: silent.port,
      timeoutMs: 200,
    }),
    TlsConnectError,
    /^The server at 127\.0\.0\.1:\d+ did not complete a TLS handshake within 0\.2 s; is it started with --tls\?$/,
  );
});

Deno.test("connectVerified passes Deno.errors.ConnectionRefused through, and a missing --ca file is a TlsSetupError", async () => {
  await assertRejects(
    connectVerified({ hostname: "127.0.0.1", port: closedPort() }),
    Deno.errors.ConnectionRefused,
    /./,
  );
  await assertRejects(
    connectVerified({
      hostname: "127.0.0.1",
      port: closedPort(),
      caFile: "/nonexistent/ca.pem",
    }),
    TlsSetupError,
    /^Cannot read the CA file "\/nonexistent\/ca\.pem": no such file\.$/,
  );
});

// --- in French --------------------------------------------------------------------

Deno.test("connectPinned with lang fr refuses another certificate in French, and sends it nothing", async () => {
  const genuine = await generateSelfSignedCertificate();
  const impostor = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: impostor });
  const error = await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: server.port,
      fingerprint: genuine.fingerprint,
      lang: "fr",
    }),
    TlsConnectError,
    /^Le certificat du serveur 127\.0\.0\.1:\d+ ne correspond pas à l'empreinte : /,
  );
  assert.ok(error.message.includes(`attendue ${genuine.fingerprint}`));
  assert.ok(error.message.includes(`reçue ${impostor.fingerprint}`));
  assert.match(error.message, /; rien n'a été envoyé\.$/);
  await server.settled(1);
  assert.equal(server.visits[0].received.length, 0);
});

Deno.test("connectPinned with lang fr writes the handshake deadline with a decimal comma", async () => {
  const { fingerprint } = await generateSelfSignedCertificate();
  await using server = new TestServer({ greeting: null });
  await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: server.port,
      fingerprint,
      timeoutMs: 300,
      lang: "fr",
    }),
    TlsConnectError,
    /^Le serveur 127\.0\.0\.1:\d+ n'a pas terminé la négociation TLS en 0,3 s ; a-t-il été lancé avec --tls \?$/,
  );
});

Deno.test("connectVerified with lang fr explains a self-signed certificate and what to do, in French", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using server = new TestServer({ tls: certificate });
  await assertRejects(
    connectVerified({ hostname: "localhost", port: server.port, lang: "fr" }),
    TlsConnectError,
    /^Le serveur localhost:\d+ utilise un certificat auto-signé, auquel cet ordinateur ne fait pas confiance\. Donnez le certificat du serveur \(ou celui de son autorité\) avec --ca FICHIER, ou utilisez --fingerprint avec l'empreinte affichée par le serveur\.$/,
  );
});

Deno.test("readCertificateFiles and a missing --ca file explain themselves in French with lang fr", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using dir = await tempDir({
    "cert.pem": certificate.cert,
    "key.pem": certificate.key,
  });
  const french = (pattern: RegExp) => (error: Error) => {
    assert.ok(error instanceof TlsSetupError, String(error));
    assert.match(error.message, pattern);
    return true;
  };
  assert.throws(
    () => readCertificateFiles(dir.file("nope.pem"), dir.file("key.pem"), "fr"),
    french(
      /^Impossible de lire le fichier de certificat « .*nope\.pem » : ce fichier n'existe pas\.$/,
    ),
  );
  assert.throws(
    () => readCertificateFiles(dir.file("key.pem"), dir.file("cert.pem"), "fr"),
    french(
      /key\.pem » contient une clé privée, pas un certificat\. Avez-vous inversé --tls-cert et --tls-key \?$/,
    ),
  );
  await assertRejects(
    connectVerified({
      hostname: "127.0.0.1",
      port: closedPort(),
      caFile: "/nonexistent/ca.pem",
      lang: "fr",
    }),
    TlsSetupError,
    /^Impossible de lire le fichier d'autorité de certification « \/nonexistent\/ca\.pem » : ce fichier n'existe pas\.$/,
  );
  await assertRejects(
    fingerprintOf("hello", "fr"),
    TlsSetupError,
    /^Ce n'est pas un certificat PEM/,
  );
});

// --- certificates made by openssl, served by chat -------------------------------

const shFound = findProgram("sh") !== undefined;

/** The certificates a server shows, as PEM blocks, its own first. */
function pemCertificates(pem: string): string[] {
  return pem.match(
    /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g,
  ) ?? [];
}

/**
 * Makes `NAME-cert.pem` and `NAME-key.pem` in `dir` with plain
 * `openssl req -x509` (which marks the certificate CA:TRUE), for localhost
 * and 127.0.0.1, plus `extra` arguments.
 */
async function opensslCertificate(
  dir: { file: (name: string) => string },
  name: string,
  newkey: string[] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  extra: string[] = [],
): Promise<{ certPath: string; keyPath: string; cert: string }> {
  const certPath = dir.file(`${name}-cert.pem`);
  const keyPath = dir.file(`${name}-key.pem`);
  const made = await openssl([
    "req",
    "-x509",
    ...newkey,
    "-nodes",
    "-days",
    "30",
    "-subj",
    "/CN=chat",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ...extra,
  ]);
  assert.ok(made.success, made.stderr);
  return { certPath, keyPath, cert: await Deno.readTextFile(certPath) };
}

/** What `openssl x509 -text` says of the first certificate in `pem`. */
async function opensslText(pem: string): Promise<string> {
  const text = await openssl(["x509", "-noout", "-text"], encoder.encode(pem));
  assert.ok(text.success, text.stderr);
  return text.stdout;
}

/** openssl's own SHA-256 fingerprint of the first certificate in `pem`. */
async function opensslFingerprint(pem: string): Promise<string> {
  const printed = await openssl(
    ["x509", "-noout", "-fingerprint", "-sha256"],
    encoder.encode(pem),
  );
  assert.ok(printed.success, printed.stderr);
  return printed.stdout.trim().replace(/^.*Fingerprint=/i, "");
}

/** Connects both ways a classmate can, reads the greeting, says hello. */
async function joinBothWays(
  server: TestServer,
  fingerprint: string,
  caFile: string,
): Promise<void> {
  for (
    const connect of [
      () =>
        connectPinned({
          hostname: "127.0.0.1",
          port: server.port,
          fingerprint,
        }),
      () =>
        connectVerified({ hostname: "localhost", port: server.port, caFile }),
    ]
  ) {
    const conn = await deadline(connect(), "the TLS connection");
    try {
      assert.equal(await readLine(conn), WELCOME);
      await conn.write(encoder.encode("hello over TLS\n"));
    } finally {
      conn.close();
    }
  }
}

Deno.test("loadServerCertificate serves a certificate that TLS accepts as it is, with its fingerprint", async () => {
  const certificate = await generateSelfSignedCertificate();
  await using dir = await tempDir({
    "cert.pem": certificate.cert,
    "key.pem": certificate.key,
  });
  assert.deepEqual(
    await loadServerCertificate(dir.file("cert.pem"), dir.file("key.pem")),
    certificate,
  );
});

Deno.test({
  name:
    "a certificate from plain openssl req -x509 (CA:TRUE) is served under one chat makes: --fingerprint and --ca both connect, for EC and RSA keys in every PEM form",
  ignore: !opensslFound,
  fn: async (t) => {
    await using dir = await tempDir();
    const keys: [string, string[], string[]][] = [
      ["EC P-256, PKCS #8", [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
      ], []],
      ["RSA 2048, PKCS #8", ["-newkey", "rsa:2048"], []],
      ["EC P-384, SEC 1", [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
      ], ["ec"]],
      ["RSA 2048, PKCS #1", ["-newkey", "rsa:2048"], ["rsa", "-traditional"]],
      ["Ed25519", ["-newkey", "ed25519"], []],
    ];
    for (const [label, newkey, rewriteKey] of keys) {
      await t.step(label, async () => {
        const name = label.replace(/\W+/g, "-");
        const made = await opensslCertificate(dir, name, newkey);
        if (rewriteKey.length > 0) {
          const rewritten = await openssl([
            ...rewriteKey,
            "-in",
            made.keyPath,
            "-out",
            made.keyPath,
          ]);
          assert.ok(rewritten.success, rewritten.stderr);
        }
        // What the issue saw: openssl marks it as an authority's.
        assert.match(
          await opensslText(made.cert),
          /X509v3 Basic Constraints: critical\n\s+CA:TRUE/,
        );

        const served = await loadServerCertificate(made.certPath, made.keyPath);
        assert.equal(served.fingerprint, await opensslFingerprint(made.cert));
        const [own, given] = pemCertificates(served.cert);
        assert.equal(given, made.cert, "the given certificate comes second");
        const ownText = await opensslText(own);
        assert.match(
          ownText,
          /X509v3 Basic Constraints: critical\n\s+CA:FALSE/,
        );
        assert.match(
          ownText,
          /Subject Alternative Name: ?\n\s+DNS:localhost, IP Address:127\.0\.0\.1\n/,
        );
        assert.match(ownText, /TLS Web Server Authentication/);
        await Deno.writeTextFile(dir.file(`${name}-own.pem`), own);
        const verified = await openssl([
          "verify",
          "-CAfile",
          made.certPath,
          dir.file(`${name}-own.pem`),
        ]);
        assert.ok(verified.success, verified.stdout + verified.stderr);

        await using server = new TestServer({ tls: served });
        await joinBothWays(server, served.fingerprint, made.certPath);
        // Each pinned connection is a probe, then the real one.
        await server.settled(3);
        assert.deepEqual(
          server.visits.map((visit) => decoder.decode(visit.received)),
          ["", "hello over TLS\n", "hello over TLS\n"],
        );
      });
    }
  },
});

Deno.test({
  name:
    "a certificate not meant for servers (extendedKeyUsage clientAuth) is served under one chat makes too",
  ignore: !opensslFound,
  fn: async () => {
    await using dir = await tempDir();
    const made = await opensslCertificate(dir, "client", undefined, [
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=clientAuth",
    ]);
    const served = await loadServerCertificate(made.certPath, made.keyPath);
    assert.equal(pemCertificates(served.cert).length, 2);
    await using server = new TestServer({ tls: served });
    await joinBothWays(server, served.fingerprint, made.certPath);
  },
});

Deno.test({
  name:
    "loadServerCertificate refuses in one line a key that is not the certificate's, and an X.509 version 1 certificate, in English and French",
  ignore: !opensslFound,
  fn: async () => {
    await using dir = await tempDir();
    const ca = await opensslCertificate(dir, "ca");
    const other = await opensslCertificate(dir, "other");
    for (
      const [lang, pattern] of [
        [
          "en",
          /^The TLS key does not belong to the certificate: check --tls-cert and --tls-key\.$/,
        ],
        [
          "fr",
          /^La clé TLS ne correspond pas au certificat : vérifiez --tls-cert et --tls-key\.$/,
        ],
      ] as const
    ) {
      await assertRejects(
        loadServerCertificate(ca.certPath, other.keyPath, lang),
        TlsSetupError,
        pattern,
      );
    }
    const csr = await openssl([
      "req",
      "-new",
      "-key",
      ca.keyPath,
      "-subj",
      "/CN=chat",
      "-out",
      dir.file("v1.csr"),
    ]);
    assert.ok(csr.success, csr.stderr);
    const v1 = await openssl([
      "x509",
      "-req",
      "-in",
      dir.file("v1.csr"),
      "-signkey",
      ca.keyPath,
      "-days",
      "30",
      "-out",
      dir.file("v1.pem"),
    ]);
    assert.ok(v1.success, v1.stderr);
    assert.match(
      await opensslText(await Deno.readTextFile(dir.file("v1.pem"))),
      /Version: 1 \(0x0\)/,
    );
    await assertRejects(
      loadServerCertificate(dir.file("v1.pem"), ca.keyPath),
      TlsSetupError,
      /^The certificate file ".*v1\.pem" holds an X\.509 version 1 certificate, which TLS cannot use\. Make one as the README shows\.$/,
    );
    await assertRejects(
      loadServerCertificate(dir.file("v1.pem"), ca.keyPath, "fr"),
      TlsSetupError,
      /^Le fichier de certificat « .*v1\.pem » contient un certificat X\.509 de version 1/,
    );
  },
});

Deno.test({
  name:
    "connectPinned refuses a server that shows the pinned certificate above a certificate it did not sign, and sends it nothing",
  ignore: !opensslFound,
  fn: async () => {
    await using dir = await tempDir();
    const genuine = await opensslCertificate(dir, "genuine");
    const impostor = await opensslCertificate(dir, "impostor");
    // Both are "CN=chat": the impostor's own certificate names the genuine
    // one as its issuer, and shows it, but is signed with another key.
    const forged = await loadServerCertificate(
      impostor.certPath,
      impostor.keyPath,
    );
    const [own] = pemCertificates(forged.cert);
    await using server = new TestServer({
      tls: { ...forged, cert: own + genuine.cert },
    });
    await assertRejects(
      connectPinned({
        hostname: "127.0.0.1",
        port: server.port,
        fingerprint: await fingerprintOf(genuine.cert),
      }),
      TlsConnectError,
      /then refused to prove it holds its key or showed another certificate \(invalid peer certificate: .*\)\. It may be a machine in the middle; nothing was sent\.$/,
    );
    await server.settled(2);
    assert.ok(server.visits.every((visit) => visit.received.length === 0));
  },
});

Deno.test({
  name:
    "a CA:TRUE certificate served as it is (an older chat serve) is explained in one line, pinned or with --ca, in English and French, and nothing is sent",
  ignore: !opensslFound,
  fn: async () => {
    await using dir = await tempDir();
    const made = await opensslCertificate(dir, "ca");
    const key = await Deno.readTextFile(made.keyPath);
    const fingerprint = await fingerprintOf(made.cert);
    await using server = new TestServer({
      tls: { cert: made.cert, key, fingerprint },
    });
    const pinned = await assertRejects(
      connectPinned({ hostname: "127.0.0.1", port: server.port, fingerprint }),
      TlsConnectError,
      /^The certificate of the server at 127\.0\.0\.1:\d+ matches the fingerprint, but TLS refuses it as a server's: it says it is a certificate authority's \(basicConstraints CA:TRUE\); nothing was sent\. The host should run the same version of chat as you, .* or make a certificate as the README shows\.$/,
    );
    assert.doesNotMatch(pinned.message, /machine in the middle/);
    // Only the probe connected.
    await server.settled(1);
    assert.equal(server.visits.length, 1);
    await assertRejects(
      connectPinned({
        hostname: "127.0.0.1",
        port: server.port,
        fingerprint,
        lang: "fr",
      }),
      TlsConnectError,
      /^Le certificat du serveur 127\.0\.0\.1:\d+ correspond à l'empreinte, mais TLS le refuse comme certificat de serveur : il se dit certificat d'autorité de certification \(basicConstraints CA:TRUE\) ; rien n'a été envoyé\./,
    );
    const verified = await assertRejects(
      connectVerified({
        hostname: "localhost",
        port: server.port,
        caFile: made.certPath,
      }),
      TlsConnectError,
      /^The certificate of the server at localhost:\d+ cannot be a TLS server's: it says it is a certificate authority's \(basicConstraints CA:TRUE\)\. The host should run the same version of chat as you, .* or make a certificate as the README shows\.$/,
    );
    assert.doesNotMatch(verified.message, /OtherError|CaUsedAsEndEntity/);
    await assertRejects(
      connectVerified({
        hostname: "localhost",
        port: server.port,
        caFile: made.certPath,
        lang: "fr",
      }),
      TlsConnectError,
      /^Le certificat du serveur localhost:\d+ ne peut pas être celui d'un serveur TLS : il se dit certificat d'autorité/,
    );
    await server.settled(4);
    assert.ok(server.visits.every((visit) => visit.received.length === 0));
  },
});

Deno.test({
  name:
    "connectVerified explains a certificate not meant for servers instead of rustls' words",
  ignore: !opensslFound,
  fn: async () => {
    await using dir = await tempDir();
    const made = await opensslCertificate(dir, "client", undefined, [
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=clientAuth",
    ]);
    const key = await Deno.readTextFile(made.keyPath);
    await using server = new TestServer({
      tls: { cert: made.cert, key, fingerprint: "" },
    });
    await assertRejects(
      connectVerified({
        hostname: "localhost",
        port: server.port,
        caFile: made.certPath,
      }),
      TlsConnectError,
      /^The certificate of the server at localhost:\d+ cannot be a TLS server's: its extended key usage does not allow TLS servers \(no serverAuth\)\. The host should/,
    );
  },
});

Deno.test("connectPinned says when the matching certificate has expired, instead of blaming a machine in the middle", async () => {
  const twoYearsAgo = new Date(Date.now() - 2 * 365 * 24 * 3600_000);
  const certificate = await generateSelfSignedCertificate({ now: twoYearsAgo });
  await using server = new TestServer({ tls: certificate });
  const error = await assertRejects(
    connectPinned({
      hostname: "127.0.0.1",
      port: server.port,
      fingerprint: certificate.fingerprint,
    }),
    TlsConnectError,
    /^The certificate of the server at 127\.0\.0\.1:\d+ matches the fingerprint but is valid only from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d; nothing was sent\. Check the date and time on both computers; if it has expired, the host needs a new certificate\.$/,
  );
  assert.ok(
    error.message.includes(
      `to ${
        new Date(twoYearsAgo.getTime() + 365 * 24 * 3600_000).toISOString()
          .slice(0, 10)
      }`,
    ),
    error.message,
  );
  await server.settled(1);
  assert.equal(server.visits.length, 1);
});

// --- chat serve and chat connect with openssl's certificates ----------------------

/** The openssl command and the `chat serve` line of the README's recipe. */
async function readmeRecipe(): Promise<{ openssl: string; serve: string[] }> {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const block = /```sh\n(openssl req [\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "the README shows an openssl req recipe in a sh block");
  const [command, serveLine] = block.split(/\n(?=chat serve )/);
  assert.ok(serveLine, "the recipe ends with the chat serve command");
  return {
    openssl: command,
    serve: serveLine.trim().split(/\s+/).slice(2),
  };
}

/** The fingerprint `chat serve` printed under "Encrypted (TLS)". */
async function printedFingerprint(server: ChatProcess): Promise<string> {
  const line = await server.stdout.waitFor(FINGERPRINT_LINE);
  return line.trim();
}

const FINGERPRINT_LINE = /^ {2}[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

/** Runs `chat connect` with `args` and waits for its welcome, then quits. */
async function joinWithChat(args: string[], name: string): Promise<void> {
  await using client = new ChatProcess(
    ["connect", ...args, "--name", name],
    { stdin: true },
  );
  try {
    await client.stdout.waitFor((line) =>
      line.startsWith(`*** Welcome, ${name}!`)
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nstderr: ${client.stderr.text}`,
    );
  }
  await client.type("/quit");
  await client.exit();
}

Deno.test({
  name:
    "the README's openssl recipe makes a certificate chat serve uses, and chat connect joins with --ca and with the printed --fingerprint",
  ignore: !opensslFound || !shFound,
  fn: async () => {
    const recipe = await readmeRecipe();
    await using dir = await tempDir();
    // Exactly the README's command, in a shell, as a reader would paste it.
    const made = await new Deno.Command("sh", {
      args: ["-c", recipe.openssl],
      cwd: dir.path,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(made.success, decoder.decode(made.stderr));
    const cert = await Deno.readTextFile(dir.file("cert.pem"));
    assert.match(
      await opensslText(cert),
      /X509v3 Basic Constraints: critical\n\s+CA:FALSE/,
    );

    const serveArgs = recipe.serve.map((arg) =>
      arg.endsWith(".pem") ? dir.file(arg) : arg
    );
    await using server = await ChatProcess.serve(serveArgs);
    const fingerprint = await printedFingerprint(server);
    assert.equal(fingerprint, await opensslFingerprint(cert));
    await joinWithChat(
      [`localhost:${server.port}`, "--ca", dir.file("cert.pem")],
      "alice",
    );
    await joinWithChat(
      [`127.0.0.1:${server.port}`, "--fingerprint", fingerprint],
      "bob",
    );
  },
});

Deno.test({
  name:
    "chat serve with a certificate from plain openssl req -x509 (CA:TRUE) prints its fingerprint, and chat connect joins with it and with --ca",
  ignore: !opensslFound,
  fn: async () => {
    await using dir = await tempDir();
    const made = await opensslCertificate(dir, "plain", [
      "-newkey",
      "rsa:2048",
    ]);
    await using server = await ChatProcess.serve([
      "--tls-cert",
      made.certPath,
      "--tls-key",
      made.keyPath,
    ]);
    const fingerprint = await printedFingerprint(server);
    assert.equal(fingerprint, await opensslFingerprint(made.cert));
    await joinWithChat(
      [`127.0.0.1:${server.port}`, "--fingerprint", fingerprint],
      "carol",
    );
    await joinWithChat(
      [`localhost:${server.port}`, "--ca", made.certPath],
      "dave",
    );
  },
});
