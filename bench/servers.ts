/**
 * The servers under test: our `chat serve` (main.ts run from source) and
 * `ncat --broker`, each started on a free loopback port, pinned to CPU 0
 * with `taskset` when possible, and stopped with SIGKILL after the figures
 * are read.
 *
 * @module
 */

import { processName } from "./proc.ts";
import { PERMISSION_FLAGS } from "../scripts/dist.ts";

/** Which server a run measures. */
export type ServerKind = "chat" | "ncat";

/** How a server is started, worked out once per bench invocation. */
export interface ServerPlan {
  kind: ServerKind;
  /** Program and arguments; `{port}` stands for the port. */
  command: string[];
  /** Clients must send `/nick bN` and wait for their welcome. */
  joins: boolean;
  /** Limits raised from their defaults, as shown in the report. */
  limitsChanged: string[];
  /** Program version, for the report. */
  version: string;
  /** Stop with SIGTERM and wait, so a CPU profile gets written. */
  gentleStop?: boolean;
}

/** A running server. */
export interface RunningServer {
  readonly plan: ServerPlan;
  readonly pid: number;
  readonly port: number;
  /** False once the process has exited. */
  alive(): boolean;
  /**
   * How many files (sockets included) the server has open: how to tell that
   * ncat, which says nothing on a new connection, has accepted it.
   */
  openFiles(): number;
  /** What it printed on stderr (ncat only; ours writes to /dev/null). */
  stderr(): string;
  /** Kills it and waits (bounded) for it to exit. */
  stop(): Promise<void>;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The permissions `chat serve` gets, as in the issue. */
/** The permissions the shipped binary has (from deno.json's compile task). */
const CHAT_PERMISSIONS = PERMISSION_FLAGS;

/**
 * Our limits to lift and their bench values: every one the server's help
 * lists is passed, so the bench runs before and after they exist.
 */
const CHAT_LIMITS: [flag: string, value: string, meaning: string][] = [
  ["--max-clients", "5000", "default 256"],
  ["--max-per-ip", "0", "no per-IP cap"],
  ["--flood-rate", "0", "no flood control"],
  ["--handshake-timeout", "0", "no handshake deadline"],
];

const TASKSET = "/usr/bin/taskset";
const NCAT = "/usr/bin/ncat";

/** True when `path` is an executable file. */
export function installed(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Whether the server and the generator can be pinned to their own cores. */
export function canPin(): boolean {
  return installed(TASKSET) && navigator.hardwareConcurrency >= 2;
}

/** Pins every thread of this process (the generator) to CPU 1. */
export async function pinGenerator(): Promise<boolean> {
  if (!canPin()) return false;
  const { success } = await new Deno.Command(TASKSET, {
    args: ["-a", "-cp", "1", String(Deno.pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

function pinned(command: string[]): string[] {
  return canPin() ? [TASKSET, "-c", "0", ...command] : command;
}

async function output(program: string, args: string[]): Promise<string> {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 30_000);
  const result = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return decoder.decode(result.stdout) + decoder.decode(result.stderr);
}

/**
 * How to start our server, with each limit its `--help` offers lifted;
 * with `profileDir`, under `--cpu-prof`, writing a V8 CPU profile there.
 */
export async function planChat(profileDir?: string): Promise<ServerPlan> {
  const help = await output(Deno.execPath(), [
    "run",
    ...CHAT_PERMISSIONS,
    MAIN,
    "serve",
    "--help",
  ]);
  const flags: string[] = [];
  const limitsChanged: string[] = [];
  for (const [flag, value, meaning] of CHAT_LIMITS) {
    if (new RegExp(`${flag}\\b`).test(help)) {
      flags.push(flag, value);
      limitsChanged.push(`${flag} ${value} (${meaning})`);
    }
  }
  const version = (await output(Deno.execPath(), ["--version"])).split("\n")[0];
  return {
    kind: "chat",
    command: [
      Deno.execPath(),
      "run",
      ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      ...CHAT_PERMISSIONS,
      MAIN,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "{port}",
      ...flags,
    ],
    joins: true,
    gentleStop: profileDir !== undefined,
    limitsChanged,
    version: `chat (main.ts) on ${version}`,
  };
}

/** How to start `ncat --broker`, or `null` when ncat is not installed. */
export async function planNcat(): Promise<ServerPlan | null> {
  if (!installed(NCAT)) return null;
  const version = (await output(NCAT, ["--version"])).trim().split("\n")[0];
  return {
    kind: "ncat",
    command: [
      NCAT,
      "--broker",
      "--listen",
      "127.0.0.1",
      "{port}",
      "--max-conns",
      "5000",
    ],
    joins: false,
    limitsChanged: ["--max-conns 5000 (default 100)"],
    version,
  };
}

function openFiles(pid: number): number {
  let count = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  } catch { /* gone */ }
  return count;
}

/**
 * A short fingerprint (SHA-256, 12 hex digits) of our server's source,
 * `main.ts` and `lib/*.ts`, so that a report can tell when runs measured
 * different versions of it (someone editing while the bench runs).
 */
export async function sourceFingerprint(): Promise<string> {
  const root = new URL("../", import.meta.url);
  const files = [new URL("main.ts", root)];
  try {
    const lib = new URL("lib/", root);
    const names = [...Deno.readDirSync(lib)]
      .filter((entry) => entry.isFile && entry.name.endsWith(".ts"))
      .map((entry) => entry.name)
      .sort();
    files.push(...names.map((name) => new URL(name, lib)));
  } catch { /* no lib/: main.ts alone */ }
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of files) {
    parts.push(encoder.encode(file.pathname + "\n"));
    try {
      parts.push(Deno.readFileSync(file));
    } catch { /* missing: its name alone */ }
  }
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 6)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

/** The git commit checked out, and whether main.ts or lib/ have changes. */
export async function gitState(): Promise<string> {
  const root = new URL("../", import.meta.url).pathname;
  const git = async (args: string[]) => {
    try {
      const result = await new Deno.Command("git", {
        args: ["-C", root, ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      return result.success ? new TextDecoder().decode(result.stdout) : null;
    } catch {
      return null;
    }
  };
  const head = (await git(["rev-parse", "--short", "HEAD"]))?.trim();
  if (!head) return "not a git checkout";
  const changes = await git(["status", "--porcelain", "--", "main.ts", "lib"]);
  return changes?.trim()
    ? `commit ${head} with uncommitted changes to main.ts or lib/`
    : `commit ${head}`;
}

/** A port nobody listens on right now: bind port 0, note it, close. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Tries one connection with a deadline; true when it was accepted. */
async function canConnect(port: number, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Deno.connect({ hostname: "127.0.0.1", port });
  const result = await Promise.race([
    attempt.then((conn) => {
      conn.close();
      return true;
    }, () => false),
    new Promise<false>((resolve) => timer = setTimeout(resolve, ms, false)),
  ]);
  clearTimeout(timer);
  // A connection that succeeds after the deadline is closed, not leaked.
  if (!result) attempt.then((conn) => conn.close(), () => {});
  return result;
}

/**
 * Starts a server on a free loopback port and waits (at most 100 tries,
 * about 15 s) until it accepts a connection.
 */
export async function startServer(plan: ServerPlan): Promise<RunningServer> {
  const port = freePort();
  const [program, ...args] = pinned(
    plan.command.map((word) => word === "{port}" ? String(port) : word),
  );
  const env = Deno.env.toObject();
  // A password in the environment would make every bench client fail.
  delete env.CHAT_PASSWORD;
  env.NO_COLOR = "1";
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    // The server prints every room line; a pipe nobody reads would block it.
    stdout: "null",
    stderr: plan.kind === "ncat" ? "piped" : "null",
    env,
    clearEnv: true,
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  let stderrText = "";
  if (plan.kind === "ncat") {
    (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of child.stderr) {
          if (stderrText.length < 10_000) {
            stderrText += decoder.decode(chunk, { stream: true });
          }
        }
      } catch { /* killed */ }
    })();
  }
  const server: RunningServer = {
    plan,
    pid: child.pid,
    port,
    alive: () => !exited,
    openFiles: () => openFiles(child.pid),
    stderr: () => stderrText.trim(),
    async stop() {
      const exit = async (signal: Deno.Signal, ms: number) => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          status,
          new Promise((resolve) => timer = setTimeout(resolve, ms)),
        ]);
        clearTimeout(timer);
      };
      if (plan.gentleStop) await exit("SIGTERM", 10_000);
      if (!exited) await exit("SIGKILL", 5000);
      await child.stdin.close().catch(() => {});
    },
  };
  for (let attempt = 0; attempt < 100 && !exited; attempt++) {
    if (await canConnect(port, 1000)) {
      // taskset has exec'd by now: the PID is the server's own.
      const name = processName(child.pid);
      if (name !== null && name !== "taskset") return server;
    }
    await sleep(50);
  }
  await server.stop();
  throw new Error(
    `${plan.kind} did not accept connections on 127.0.0.1:${port}` +
      (exited ? " (it exited)" : "") +
      (stderrText ? `: ${stderrText.trim()}` : ""),
  );
}
