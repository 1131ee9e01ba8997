/**
 * The TLS identity of `chat serve --tls` that lasts: its key and
 * self-signed certificate are kept in chat's settings folder
 * (`config_dir.ts`) as `tls-key.pem` and `tls-cert.pem`, so the fingerprint
 * classmates pinned stays the same across restarts. Made on the first
 * start, and again with `--tls-new`, which replaces them.
 *
 * A kept identity that is damaged (a file missing, unreadable PEM, a key
 * that is not the certificate's) or out of its dates stops the server with
 * one line saying to start with `--tls-new`: never silently replaced, since
 * a new fingerprint makes every classmate's `chat connect` refuse the
 * server as changed.
 *
 * @module
 */

import { type Lang, t } from "./i18n.ts";
import {
  ConfigDirError,
  type ConfigEnv,
  configEnv,
  configFile,
  openConfigDir,
  readConfigFile,
  writeConfigFile,
} from "./config_dir.ts";
import {
  certificatesIn,
  fingerprintOf,
  pemBlocks,
  pemBytes,
  TlsSetupError,
} from "./certificate_files.ts";
import {
  generateSelfSignedCertificate,
  type ServerCertificate,
} from "./certificate_make.ts";

/** The key's file name in the settings folder. */
export const KEY_FILE = "tls-key.pem";
/** The certificate's file name in the settings folder. */
export const CERT_FILE = "tls-cert.pem";

/**
 * How long a kept certificate is valid: ten years. It is pinned by its
 * fingerprint, which must not change, like an ssh host key (which never
 * expires); a certificate that ran out would need a new fingerprint.
 */
export const KEPT_CERTIFICATE_DAYS = 3650;

/** A kept identity: what `Deno.listenTls` needs, and where it is kept. */
export interface KeptIdentity extends ServerCertificate {
  /** The settings folder it is kept in. */
  dir: string;
  /** True when it was made now (first start, or `--tls-new`). */
  made: boolean;
}

/**
 * The server's lasting TLS identity: the one kept in the settings folder,
 * or a new one (made and kept there) on the first start or when `fresh`
 * (`--tls-new`). A new certificate names `chat`, `localhost` and
 * `hostnames` (this computer's addresses now; a kept one keeps the
 * addresses it was made with, which pinning by fingerprint does not use).
 * Throws a {@linkcode TlsSetupError} with one line in `lang` when the
 * folder cannot be used, or the kept identity is damaged, out of its
 * dates, or readable by others.
 *
 * @example
 * ```ts
 * import { keptIdentity } from "./tls_identity.ts";
 * const identity = await keptIdentity({ hostnames: ["192.168.1.23"], lang: "en" });
 * console.log(identity.fingerprint, identity.made ? "new" : "as before");
 * ```
 */
export async function keptIdentity(options: {
  hostnames: readonly string[];
  fresh?: boolean;
  lang: Lang;
  env?: ConfigEnv;
}): Promise<KeptIdentity> {
  const { lang } = options;
  try {
    const dir = openConfigDir(lang, options.env ?? configEnv());
    if (!options.fresh) {
      const kept = await readIdentity(dir, lang);
      if (kept) return { ...kept, dir, made: false };
    }
    const made = await generateSelfSignedCertificate({
      hostnames: options.hostnames,
      validDays: KEPT_CERTIFICATE_DAYS,
    });
    // The key first: a crash between the two leaves a pair that does not
    // match, which the next start reports, rather than a lone certificate.
    writeConfigFile(dir, KEY_FILE, made.key, lang);
    writeConfigFile(dir, CERT_FILE, made.cert, lang);
    return { ...made, dir, made: true };
  } catch (error) {
    if (error instanceof ConfigDirError) {
      throw new TlsSetupError(error.message);
    }
    throw error;
  }
}

/**
 * The line `chat serve` prints under the fingerprint: where the identity
 * is kept, and whether it is new.
 *
 * @example
 * ```ts
 * import { identityNote } from "./tls_identity.ts";
 * identityNote({ dir: "/home/ada/.config/chat", made: false }, "en");
 * // "(the same at every start: kept in /home/ada/.config/chat; --tls-new makes a new one)"
 * ```
 */
export function identityNote(
  identity: Pick<KeptIdentity, "dir" | "made">,
  lang: Lang,
): string {
  return t(lang, identity.made ? "identity.made" : "identity.kept", {
    dir: identity.dir,
  });
}

/**
 * Reads the kept key and certificate; `undefined` when neither is there.
 * Throws a {@linkcode TlsSetupError} when they are not usable.
 */
async function readIdentity(
  dir: string,
  lang: Lang,
): Promise<ServerCertificate | undefined> {
  const key = readConfigFile(dir, KEY_FILE, lang, { secret: true });
  const cert = readConfigFile(dir, CERT_FILE, lang);
  if (key === undefined && cert === undefined) return undefined;
  const damaged = (problem: string) =>
    new TlsSetupError(t(lang, "identity.damaged", { dir, problem }));
  if (key === undefined || cert === undefined) {
    throw damaged(
      t(lang, "identity.problem.missing", {
        file: configFile(dir, key === undefined ? KEY_FILE : CERT_FILE),
      }),
    );
  }
  const der = certificatesIn(cert)[0];
  if (!der) {
    throw damaged(
      t(lang, "identity.problem.certificate", {
        file: configFile(dir, CERT_FILE),
      }),
    );
  }
  const keyBlock = pemBlocks(key).find((block) =>
    block.label === "PRIVATE KEY"
  );
  if (!keyBlock || !pemBytes(keyBlock)) {
    throw damaged(
      t(lang, "identity.problem.key", { file: configFile(dir, KEY_FILE) }),
    );
  }
  // Loaded only here: node:crypto costs a server megabytes.
  const { createPrivateKey, X509Certificate } = await import("node:crypto");
  let certificate: InstanceType<typeof X509Certificate>;
  try {
    certificate = new X509Certificate(der);
  } catch {
    throw damaged(
      t(lang, "identity.problem.certificate", {
        file: configFile(dir, CERT_FILE),
      }),
    );
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw damaged(
      t(lang, "identity.problem.key", { file: configFile(dir, KEY_FILE) }),
    );
  }
  if (!matches) throw damaged(t(lang, "identity.problem.mismatch"));
  const now = Date.now();
  const from = certificate.validFromDate;
  const to = certificate.validToDate;
  if (now < from.getTime() || now > to.getTime()) {
    throw new TlsSetupError(
      t(lang, "identity.out-of-dates", {
        dir,
        from: from.toISOString().slice(0, 10),
        to: to.toISOString().slice(0, 10),
      }),
    );
  }
  return { cert, key, fingerprint: await fingerprintOf(der) };
}
