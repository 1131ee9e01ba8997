/**
 * The servers under test: our `chat serve` (main.ts run from source),
 * optionally an earlier commit of it (exported with `git archive` into a
 * temporary folder) and `ncat --broker`, each started on a free loopback
 * port, pinned to CPU 0 with `taskset` when possible, and stopped with
 * SIGKILL after the figures are read.
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
  /**
   * Its name in the report and results: `chat` (this checkout), `ncat`, or
   * `chat@<commit>` for an earlier commit.
   */
  name: string;
  /** Folder of the `main.ts` it runs (chat only); it runs from there. */
  root?: string;
  /** Half of its clients speak the structured protocol (`/proto 1`). */
  structured: boolean;
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
  /** What it printed on stderr (the first 10,000 characters). */
  stderr(): string;
  /** Kills it and waits (bounded) for it to exit. */
  stop(): Promise<void>;
}

/** This checkout's root folder, where `main.ts` is. */
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname)
  .replace(/\/$/, "");

/** `folder/name`. */
function join(folder: string, name: string): string {
  return `${folder.replace(/\/$/, "")}/${name}`;
}

/** The permissions the shipped binary has (from deno.json's compile task). */
const CHAT_PERMISSIONS = PERMISSION_FLAGS;

/**
 * The permissions of an exported commit's binary, from its own `deno.json`
 * (as `scripts/dist.ts` reads them); this checkout's when it has none.
 */
function permissionsOf(root: string): string[] {
  if (root === ROOT) return CHAT_PERMISSIONS;
  try {
    const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
    const flags = String(config.tasks.compile)
      .split(/\s+/)
      .filter((word) => word.startsWith("--allow-"));
    if (flags.length > 0) return flags;
  } catch { /* no deno.json or no compile task */ }
  return CHAT_PERMISSIONS;
}

/**
 * Our limits to lift and their bench values: every one the server's help
 * lists is passed, so the bench runs before and after they exist.
 */
const CHAT_LIMITS: [flag: string, value: string, meaning: string][] = [
  ["--max-clients", "5000", "default 256"],
  ["--max-per-ip", "0", "no per-IP cap"],
  ["--flood-rate", "0", "no flood control"],
  ["--room-rate", "0", "no room-wide ceiling"],
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

async function output(
  program: string,
  args: string[],
  cwd?: string,
): Promise<string> {
  const child = new Deno.Command(program, {
    args,
    cwd,
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
 * `root` is the folder of the `main.ts` to run (this checkout's by
 * default, or an exported earlier commit, then named `name`); `structured`
 * has half of its clients speak the structured protocol.
 */
export async function planChat(options: {
  profileDir?: string;
  root?: string;
  name?: string;
  structured?: boolean;
} = {}): Promise<ServerPlan> {
  const { profileDir, root = ROOT } = options;
  const main = join(root, "main.ts");
  const permissions = permissionsOf(root);
  const help = await output(Deno.execPath(), [
    "run",
    ...permissions,
    main,
    "serve",
    "--help",
  ], root);
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
    name: options.name ?? "chat",
    root,
    structured: options.structured ?? false,
    command: [
      Deno.execPath(),
      "run",
      ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      ...permissions,
      main,
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
    version: `${options.name ?? "chat"} (${
      root === ROOT ? "main.ts" : main
    }) on ${version}`,
  };
}

/** How to start `ncat --broker`, or `null` when ncat is not installed. */
export async function planNcat(): Promise<ServerPlan | null> {
  if (!installed(NCAT)) return null;
  const version = (await output(NCAT, ["--version"])).trim().split("\n")[0];
  return {
    kind: "ncat",
    name: "ncat",
    structured: false,
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
 * `main.ts` and `lib/*.ts` in `folder` (this checkout by default), so that
 * a report can tell when runs measured different versions of it (someone
 * editing while the bench runs). Files are named relative to `folder`, so
 * the same source gives the same fingerprint wherever it is.
 */
export async function sourceFingerprint(folder = ROOT): Promise<string> {
  const files = ["main.ts"];
  try {
    const names = [...Deno.readDirSync(join(folder, "lib"))]
      .filter((entry) => entry.isFile && entry.name.endsWith(".ts"))
      .map((entry) => entry.name)
      .sort();
    files.push(...names.map((name) => `lib/${name}`));
  } catch { /* no lib/: main.ts alone */ }
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of files) {
    parts.push(encoder.encode(file + "\n"));
    try {
      parts.push(Deno.readFileSync(join(folder, file)));
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

/** Runs git in this checkout: its output, or `null` when it fails. */
async function git(args: string[]): Promise<string | null> {
  try {
    const result = await new Deno.Command("git", {
      args: ["-C", ROOT, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return result.success ? new TextDecoder().decode(result.stdout) : null;
  } catch {
    return null;
  }
}

/** The git commit checked out, and whether main.ts or lib/ have changes. */
export async function gitState(): Promise<string> {
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
  // Issue 10: a benchmarked server never announces itself on the network.
  env.CHAT_NO_DISCOVERY = "1";
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    cwd: plan.root,
    // The server prints every room line; a pipe nobody reads would block it.
    stdout: "null",
    // Read, so that a server that exits at once can say why.
    stderr: "piped",
    env,
    clearEnv: true,
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  let stderrText = "";
  const stderrRead = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of child.stderr) {
        if (stderrText.length < 10_000) {
          stderrText += decoder.decode(chunk, { stream: true });
        }
      }
    } catch { /* killed */ }
  })();
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
  await Promise.race([stderrRead, sleep(1000)]);
  throw new Error(
    `${plan.kind} did not accept connections on 127.0.0.1:${port}` +
      (exited ? " (it exited)" : "") +
      (stderrText ? `: ${stderrText.trim().slice(0, 2000)}` : ""),
  );
}

/** An earlier commit's tree, exported into a temporary folder. */
export interface ExportedCommit {
  /** The ref as given, e.g. `HEAD~1`. */
  ref: string;
  /** Full commit hash. */
  commit: string;
  /** Abbreviated hash, as in the report's `chat@<short>`. */
  short: string;
  /** The commit's subject line. */
  subject: string;
  /** The temporary folder holding its files; remove it when done. */
  folder: string;
}

/**
 * Exports the tree of commit `ref` of this checkout (`git archive`) into a
 * new temporary folder, to run that version's server next to this one.
 * Throws when `ref` is not a commit or the commit has no `main.ts`.
 */
export async function exportCommit(ref: string): Promise<ExportedCommit> {
  const commit =
    (await git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]))
      ?.trim();
  if (!commit) throw new Error(`--baseline: "${ref}" is not a commit here`);
  const short = (await git(["rev-parse", "--short", commit]))!.trim();
  const subject = (await git(["log", "-1", "--format=%s", commit]))?.trim() ??
    "";
  const folder = await Deno.makeTempDir({ prefix: `chat-bench-${short}-` });
  try {
    const tar = join(folder, ".export.tar");
    if (
      await git(["archive", "--format=tar", `--output=${tar}`, commit]) === null
    ) {
      throw new Error(`git archive ${commit} failed`);
    }
    const untar = await new Deno.Command("tar", {
      args: ["-x", "-f", tar, "-C", folder],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    await Deno.remove(tar);
    if (!untar.success) {
      throw new Error(
        `tar could not unpack ${commit}: ${
          new TextDecoder().decode(untar.stderr).trim()
        }`,
      );
    }
    if (!exists(join(folder, "main.ts"))) {
      throw new Error(`commit ${short} has no main.ts`);
    }
  } catch (error) {
    removeFolder(folder);
    throw error;
  }
  return { ref, commit, short, subject, folder };
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Removes a folder made by {@linkcode exportCommit}, quietly. */
export function removeFolder(folder: string): void {
  try {
    Deno.removeSync(folder, { recursive: true });
  } catch { /* already gone */ }
}
