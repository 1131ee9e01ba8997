/**
 * `chat`: a chat room for everyone on the local network.
 *
 * `chat serve` starts a room on this computer; `chat connect <host>` joins
 * one. Errors are printed as one line with exit status 1 (something went
 * wrong) or 2 (the command line was wrong).
 *
 * @module
 */

import denoConfig from "./deno.json" with { type: "json" };
import {
  type CommandLineEnv,
  commandLineLang,
  parseCommandLine,
  type ServeOptions,
  UsageError,
} from "./lib/cli.ts";
import { type Lang, localeEnv, t } from "./lib/i18n.ts";
import { ClientError, formatAddress, runClient } from "./lib/client.ts";
import { ChatServer, ServerError } from "./lib/server.ts";
import type { Member } from "./lib/room.ts";
import { openConsole, readSecret } from "./lib/terminal.ts";
import {
  fingerprintOf,
  generateSelfSignedCertificate,
  readCertificateFiles,
  TlsSetupError,
} from "./lib/tls.ts";

async function main(args: string[], env: CommandLineEnv): Promise<number> {
  const invocation = parseCommandLine(args, env);
  switch (invocation.command) {
    case "help":
      console.log(invocation.text);
      return 0;
    case "version":
      console.log(`chat ${denoConfig.version}`);
      return 0;
    case "connect":
      return await runClient({
        ...invocation,
        lang: invocation.lang,
        password: Deno.env.get("CHAT_PASSWORD") || undefined,
      });
    case "serve":
      return await serve(invocation);
  }
}

async function serve(options: ServeOptions): Promise<number> {
  const { lang } = options;
  const password = options.askPassword ? await askPassword(lang) : undefined;
  const lanAddresses = localAddresses(options.hostname);
  let tls: { cert: string; key: string } | undefined;
  if (options.tls && "selfSigned" in options.tls) {
    tls = await generateSelfSignedCertificate({ hostnames: lanAddresses });
  } else if (options.tls) {
    try {
      tls = readCertificateFiles(
        options.tls.certFile,
        options.tls.keyFile,
        lang,
      );
    } catch (error) {
      if (error instanceof TlsSetupError) throw new ServerError(error.message);
      throw error;
    }
  }
  const server = ChatServer.listen({ ...options, password, tls, lang });
  // Tests and scripts read the port from this first line: keep ADDRESS:PORT.
  console.log(
    t(lang, "cli.listening", {
      address: formatAddress(options.hostname, server.port),
    }),
  );
  const fingerprint = tls ? await fingerprintOf(tls.cert, lang) : undefined;
  if (fingerprint) {
    console.log(t(lang, "cli.encrypted"));
    console.log(`  ${fingerprint}`);
  }
  if (password) {
    console.log(t(lang, "cli.password-needed"));
  }
  printJoinCommands(lang, lanAddresses, server.port, {
    fingerprint: options.tls && "selfSigned" in options.tls
      ? fingerprint
      : undefined,
    tls: tls !== undefined,
  });

  // The host's seat is filled just below, once the console exists to show
  // its welcome line.
  const seat: { host?: Member } = {};
  const chatConsole = openConsole({
    onLine: (line) => {
      if (seat.host) server.room.handleLine(seat.host, line);
    },
    // Without a console the room keeps serving, as a background service.
    onEnd: () => {},
    onInterrupt: () => void server.shutdown(),
    ownName: () => seat.host?.name ?? options.name,
    lang,
  });
  seat.host = server.room.join({
    send: (out) => chatConsole.show(out.event),
    close: () => void server.shutdown(),
  }, { name: options.name, isHost: true });

  const stopOnSignal = () => void server.shutdown();
  // Ctrl-C at a terminal reaches the console as a key (onInterrupt above);
  // these are Ctrl-C without a terminal, and how `kill` or a service manager
  // asks the server to stop.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stopOnSignal);

  await server.stopped;
  chatConsole.close();
  console.log(t(lang, "cli.stopped"));
  return 0;
}

/** The room password, from CHAT_PASSWORD or typed twice at the terminal. */
async function askPassword(lang: Lang): Promise<string> {
  const fromEnv = Deno.env.get("CHAT_PASSWORD");
  if (fromEnv) return fromEnv;
  const first = await readSecret(t(lang, "cli.password-prompt"));
  if (first === undefined) {
    throw new ServerError(t(lang, "cli.password-no-terminal"));
  }
  if (first === "") throw new ServerError(t(lang, "cli.password-empty"));
  const again = await readSecret(t(lang, "cli.password-again"));
  if (again !== first) throw new ServerError(t(lang, "cli.password-differ"));
  return first;
}

/** Where classmates can reach this server: its LAN addresses, or loopback. */
function localAddresses(hostname: string): string[] {
  if (hostname !== "0.0.0.0" && hostname !== "::") return [hostname];
  return [
    ...new Set(
      Deno.networkInterfaces()
        .filter((nic) =>
          nic.family === "IPv4" && !nic.address.startsWith("127.")
        )
        .map((nic) => nic.address),
    ),
  ];
}

/** Prints the command a classmate types to join, for each LAN address. */
function printJoinCommands(
  lang: Lang,
  lanAddresses: string[],
  port: number,
  security: { tls: boolean; fingerprint?: string },
): void {
  const suffix = port === 5000 ? "" : `:${port}`;
  let addresses = lanAddresses;
  if (addresses.length === 0) {
    console.log(t(lang, "cli.join-local-only"));
    addresses = ["127.0.0.1"];
  } else {
    console.log(t(lang, "cli.join-with"));
  }
  const flags = security.fingerprint
    ? ` --fingerprint ${security.fingerprint}`
    : security.tls
    ? " --tls"
    : "";
  for (const address of addresses) {
    console.log(
      `  chat connect ${
        formatAddress(address, port).replace(/:\d+$/, suffix)
      }${flags}`,
    );
  }
  const command = security.tls
    ? `openssl s_client -quiet -connect ${formatAddress(addresses[0], port)}`
    : `nc ${addresses[0]} ${port}`;
  console.log(`  ${t(lang, "cli.join-without-chat", { command })}`);
  console.log(t(lang, "cli.console-hint"));
}

if (import.meta.main) {
  const env: CommandLineEnv = {
    USER: Deno.env.get("USER"),
    USERNAME: Deno.env.get("USERNAME"),
    ...localeEnv(),
  };
  let status: number;
  try {
    status = await main(Deno.args, env);
  } catch (error) {
    if (
      error instanceof UsageError || error instanceof ClientError ||
      error instanceof ServerError
    ) {
      console.error(`chat: ${error.message}`);
      status = error instanceof UsageError ? 2 : 1;
    } else {
      const message = String((error as Error)?.message ?? error);
      console.error(
        `chat: ${
          t(commandLineLang(Deno.args, env), "cli.unexpected-error", {
            message,
          })
        }`,
      );
      status = 1;
    }
  }
  Deno.exit(status);
}
