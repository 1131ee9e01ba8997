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
import { parseCommandLine, type ServeOptions, UsageError } from "./lib/cli.ts";
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

async function main(args: string[]): Promise<number> {
  const invocation = parseCommandLine(args, {
    USER: Deno.env.get("USER"),
    USERNAME: Deno.env.get("USERNAME"),
  });
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
        password: Deno.env.get("CHAT_PASSWORD") || undefined,
      });
    case "serve":
      return await serve(invocation);
  }
}

async function serve(options: ServeOptions): Promise<number> {
  const password = options.askPassword ? await askPassword() : undefined;
  const lanAddresses = localAddresses(options.hostname);
  let tls: { cert: string; key: string } | undefined;
  if (options.tls && "selfSigned" in options.tls) {
    tls = await generateSelfSignedCertificate({ hostnames: lanAddresses });
  } else if (options.tls) {
    try {
      tls = readCertificateFiles(options.tls.certFile, options.tls.keyFile);
    } catch (error) {
      if (error instanceof TlsSetupError) throw new ServerError(error.message);
      throw error;
    }
  }
  const server = ChatServer.listen({ ...options, password, tls });
  console.log(
    `Listening on ${formatAddress(options.hostname, server.port)}`,
  );
  const fingerprint = tls ? await fingerprintOf(tls.cert) : undefined;
  if (fingerprint) {
    console.log(`Encrypted (TLS). Certificate fingerprint (SHA-256):`);
    console.log(`  ${fingerprint}`);
  }
  if (password) {
    console.log("Newcomers must give the room password.");
  }
  printJoinCommands(lanAddresses, server.port, {
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
  });
  seat.host = server.room.join({
    send: (line) => chatConsole.print(line.text),
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
  console.log("Server stopped.");
  return 0;
}

/** The room password, from CHAT_PASSWORD or typed twice at the terminal. */
async function askPassword(): Promise<string> {
  const fromEnv = Deno.env.get("CHAT_PASSWORD");
  if (fromEnv) return fromEnv;
  const first = await readSecret("Room password: ");
  if (first === undefined) {
    throw new ServerError(
      "--password needs a terminal to type it at, or the password in CHAT_PASSWORD.",
    );
  }
  if (first === "") throw new ServerError("The room password cannot be empty.");
  const again = await readSecret("Same password again: ");
  if (again !== first) throw new ServerError("The two passwords differ.");
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
  lanAddresses: string[],
  port: number,
  security: { tls: boolean; fingerprint?: string },
): void {
  const suffix = port === 5000 ? "" : `:${port}`;
  let addresses = lanAddresses;
  if (addresses.length === 0) {
    console.log(
      "No network address found: only this computer can join, with:",
    );
    addresses = ["127.0.0.1"];
  } else {
    console.log("Classmates can join with:");
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
  console.log(
    security.tls
      ? `  (or without chat: openssl s_client -quiet -connect ${
        formatAddress(addresses[0], port)
      })`
      : `  (or without chat: nc ${addresses[0]} ${port})`,
  );
  console.log(
    "Type here to chat as the host; /help lists commands, /stop shuts down.",
  );
}

if (import.meta.main) {
  let status: number;
  try {
    status = await main(Deno.args);
  } catch (error) {
    if (
      error instanceof UsageError || error instanceof ClientError ||
      error instanceof ServerError
    ) {
      console.error(`chat: ${error.message}`);
      status = error instanceof UsageError ? 2 : 1;
    } else {
      console.error(
        `chat: unexpected error: ${(error as Error)?.message ?? error}`,
      );
      status = 1;
    }
  }
  Deno.exit(status);
}
