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
import { type Lang, localeEnv, type MessageKey, t } from "./lib/i18n.ts";
import { ClientError, formatAddress, runClient } from "./lib/client.ts";
import { ChatServer, ServerError } from "./lib/server.ts";
import type { Member } from "./lib/room.ts";
import { openConsole, readSecret } from "./lib/terminal.ts";
import { parseFencedBlock } from "./lib/code_block.ts"; // issue 12
import { loadServerCertificate, TlsSetupError } from "./lib/tls.ts";
import { identityNote, keptIdentity } from "./lib/tls_identity.ts";
import {
  findRoom,
  ifaceProblem,
  runList,
  startAnnouncing,
} from "./lib/room_list.ts"; // issue 10

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
        // Issue 10: no address, or maybe a room's name: found on the network.
        ...(invocation.lookup ? await findRoom(invocation) : {}),
        lang: invocation.lang,
        password: Deno.env.get("CHAT_PASSWORD") || undefined,
      });
    case "list": // issue 10
      return await runList(invocation);
    case "serve":
      return await serve(invocation);
  }
}

async function serve(options: ServeOptions): Promise<number> {
  const { lang } = options;
  // Issue 10: a wrong --iface is said before the room opens.
  const badIface = ifaceProblem(options);
  if (badIface) throw new ServerError(badIface);
  const password = options.askPassword ? await askPassword(lang) : undefined;
  const lanAddresses = localAddresses(options.hostname);
  let tls: { cert: string; key: string } | undefined;
  let fingerprint: string | undefined;
  let keptNote: string | undefined;
  if (options.tls && "selfSigned" in options.tls) {
    // Issue 9: kept in the settings folder, the same at every start.
    const kept = await keptIdentity({
      hostnames: lanAddresses,
      fresh: options.tls.fresh,
      lang,
    }).catch((error) => {
      throw error instanceof TlsSetupError
        ? new ServerError(error.message)
        : error;
    });
    tls = { cert: kept.cert, key: kept.key };
    fingerprint = kept.fingerprint;
    keptNote = identityNote(kept, lang);
  } else if (options.tls) {
    try {
      // A certificate made with plain `openssl req -x509` (CA:TRUE) is
      // served under a server certificate chat issues with its key.
      const loaded = await loadServerCertificate(
        options.tls.certFile,
        options.tls.keyFile,
        lang,
      );
      tls = loaded;
      fingerprint = loaded.fingerprint;
    } catch (error) {
      if (error instanceof TlsSetupError) throw new ServerError(error.message);
      throw error;
    }
  }
  const server = ChatServer.listen({
    ...options,
    password,
    tls,
    lang,
    files: options.files ?? "off", // issue 12: absent with --no-files
  });
  // Issue 11: the page for browsers and phones, loaded only with --web;
  // web?.port is the web port the room's announcement carries (issue 10).
  const webModule = options.web
    ? await import("./lib/web_server.ts")
    : undefined;
  const web = webModule && options.web
    ? webModule.startWebFor(server, {
      hostname: options.hostname,
      webPort: options.web.port,
      tls,
      lang,
    })
    : undefined;
  // Tests and scripts read the port from this first line: keep ADDRESS:PORT.
  console.log(
    t(lang, "cli.listening", {
      address: formatAddress(options.hostname, server.port),
    }),
  );
  if (fingerprint) {
    console.log(t(lang, "cli.encrypted"));
    console.log(`  ${fingerprint}`);
    if (keptNote) console.log(keptNote);
  }
  if (password) {
    console.log(t(lang, "cli.password-needed"));
  }
  if (options.transcriptPath !== undefined) {
    console.log(
      t(lang, "transcript.writing", { path: options.transcriptPath }),
    );
  }
  printJoinCommands(lang, options.hostname, lanAddresses, server.port, {
    fingerprint: options.tls && "selfSigned" in options.tls
      ? fingerprint
      : undefined,
    tls: tls !== undefined,
    password: password !== undefined,
  });
  if (webModule && web) {
    const hosts = isLoopback(options.hostname)
      ? [options.hostname]
      : lanAddresses.length > 0
      ? lanAddresses
      : ["127.0.0.1"];
    // Issue 12: file notices carry a full link on the first address.
    server.files.web = {
      base: `${web.scheme}://${formatAddress(hosts[0], web.port)}`,
    };
    webModule.printWebAddresses(lang, web, hosts, {
      qr: options.web?.qr ?? true,
      tls: tls !== undefined,
    });
  }
  // Issue 10: the room is announced on the local network (lib/room_list.ts).
  let discovery: ReturnType<typeof startAnnouncing>;
  try {
    discovery = startAnnouncing(options, {
      port: server.port,
      tls: tls !== undefined,
      online: () => server.room.names.length,
      webPort: web?.port, // issue 11: the page's port, in the TXT record
    });
  } catch (error) {
    await web?.shutdown();
    await server.shutdown();
    throw new ServerError((error as Error).message);
  }
  for (const line of discovery.lines) console.log(line);
  console.log(t(lang, "cli.console-hint"));

  // The host's seat is filled just below, once the console exists to show
  // its welcome line.
  const seat: { host?: Member } = {};
  const chatConsole = openConsole({
    onLine: (line) => {
      if (!seat.host) return;
      try {
        // Issue 12: a paste of several lines at the console is one block.
        const block = line.includes("\n") ? parseFencedBlock(line) : undefined;
        if (block) server.room.block(seat.host, block.text, block.lang);
        else server.room.handleLine(seat.host, line);
      } catch (error) {
        // A bug in the room: the console keeps reading.
        server.reportBug(error);
      }
    },
    // Without a console the room keeps serving, as a background service;
    // whoever was typing is told so.
    onEnd: () =>
      chatConsole.print(
        t(
          lang,
          Deno.stdin.isTerminal()
            ? "cli.console-ended.terminal"
            : "cli.console-ended",
          { pid: Deno.pid },
        ),
      ),
    onInterrupt: () => void server.shutdown(),
    ownName: () => seat.host?.name ?? options.name,
    lang,
    // Once the room is open, nothing goes to stdout but through this
    // console, asynchronously: a stdout nobody reads (`chat serve | less`,
    // a terminal held, an SSH session asleep) must never hold up the room,
    // so lines it cannot keep up with are skipped, and counted.
  }, { whenBehind: "skip" });
  seat.host = server.room.join({
    // The transcript (`--log FILE`) is not written through the console,
    // which may skip lines: the room hands it every public event itself.
    send: (out) => {
      chatConsole.show(out.event);
      // Issue 10: the count announced changes with these two only.
      const { type } = out.event;
      if (type === "joined" || type === "left") {
        discovery.announcement?.update();
      }
    },
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
  await web?.shutdown();
  await discovery.announcement?.stop(); // issue 10: goodbye (TTL 0)
  chatConsole.close();
  chatConsole.print(t(lang, "cli.stopped"));
  // What the console has left to write, unless nobody reads it.
  await waitAtMost(chatConsole.flushed(), CONSOLE_FLUSH_MS);
  return 0;
}

/** At exit, the server's console has this long to write what is left. */
const CONSOLE_FLUSH_MS = 2_000;

/** Settles when `promise` does, or after `ms` at the latest. */
async function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/** Tries at typing the room password twice the same before giving up. */
const PASSWORD_TRIES = 3;

/**
 * The room password, from CHAT_PASSWORD or typed twice at the terminal. An
 * empty password, or two that differ, is asked again, up to
 * {@linkcode PASSWORD_TRIES} times; Ctrl-C or Ctrl-D at the prompt gives up.
 */
async function askPassword(lang: Lang): Promise<string> {
  const fromEnv = Deno.env.get("CHAT_PASSWORD");
  if (fromEnv) return fromEnv;
  if (!Deno.stdin.isTerminal()) {
    throw new ServerError(t(lang, "cli.password-no-terminal"));
  }
  const cancelled = () => new ServerError(t(lang, "cli.password-cancelled"));
  for (let attempt = 1;; attempt++) {
    const first = await readSecret(t(lang, "cli.password-prompt"));
    if (first === undefined) throw cancelled();
    let problem: MessageKey = "cli.password-empty";
    if (first !== "") {
      const again = await readSecret(t(lang, "cli.password-again"));
      if (again === undefined) throw cancelled();
      if (again === first) return first;
      problem = "cli.password-differ";
    }
    if (attempt === PASSWORD_TRIES) {
      throw new ServerError(
        `${t(lang, problem)} ${
          t(lang, "cli.password-gave-up", { max: PASSWORD_TRIES })
        }`,
      );
    }
    console.error(
      `${t(lang, problem)} ${
        t(lang, "cli.password-try-again", {
          attempt: attempt + 1,
          max: PASSWORD_TRIES,
        })
      }`,
    );
  }
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

/**
 * True for an address only this computer can reach: `localhost`, 127.x.x.x
 * or `::1`.
 */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * True when chat runs from its source files (`deno task serve`, `deno run
 * main.ts`) rather than as a compiled binary: then classmates with a clone
 * of the repository, and no binary, join with `deno task connect`.
 */
function runsFromSource(): boolean {
  const program = Deno.execPath().split(/[\\/]/).at(-1)?.toLowerCase();
  return (program === "deno" || program === "deno.exe") &&
    new URL(import.meta.url).protocol === "file:";
}

/**
 * Prints the command a classmate types to join, for each LAN address; from
 * source, also the form that works from a clone; then how to join without
 * chat (with `/pass` in a room with a password).
 */
function printJoinCommands(
  lang: Lang,
  hostname: string,
  lanAddresses: string[],
  port: number,
  security: { tls: boolean; fingerprint?: string; password: boolean },
): void {
  const suffix = port === 5000 ? "" : `:${port}`;
  let addresses = lanAddresses;
  if (isLoopback(hostname)) {
    console.log(t(lang, "cli.join-loopback", { host: hostname }));
  } else if (addresses.length === 0) {
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
  const target = (address: string) =>
    formatAddress(address, port).replace(/:\d+$/, suffix) + flags;
  for (const address of addresses) {
    console.log(`  chat connect ${target(address)}`);
  }
  if (runsFromSource()) {
    const command = `deno task connect ${target(addresses[0])}`;
    console.log(`  ${t(lang, "cli.join-from-clone", { command })}`);
  }
  const command = security.tls
    ? `openssl s_client -quiet -connect ${formatAddress(addresses[0], port)}`
    : `nc ${addresses[0]} ${port}`;
  console.log(
    `  ${
      t(
        lang,
        security.password
          ? "cli.join-without-chat.password"
          : "cli.join-without-chat",
        { command },
      )
    }`,
  );
}

if (import.meta.main) {
  const env: CommandLineEnv = {
    USER: Deno.env.get("USER"),
    USERNAME: Deno.env.get("USERNAME"),
    CHAT_NO_DISCOVERY: Deno.env.get("CHAT_NO_DISCOVERY"), // issue 10
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
