/**
 * Network namespaces for the discovery tests (issue 10): two namespaces
 * joined by a veth pair, made by the test and deleted after it, so that
 * multicast DNS is only ever sent where nothing but the test listens.
 * Whether namespaces can be made here is decided once, when this file
 * loads: {@linkcode NETNS_PROBLEM} says why not.
 *
 * @module
 */

import { findProgram } from "./harness.ts";

const IP = findProgram("ip");

async function run(
  args: string[],
): Promise<{ ok: boolean; output: string }> {
  const result = await new Deno.Command(IP ?? "ip", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: result.success,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

let made = 0;

/** A name no other test run uses: `chatd-PID-N`. */
function uniqueName(): string {
  return `chatd-${Deno.pid}-${++made}`;
}

/**
 * Why the discovery tests cannot run here (one line), or undefined when
 * they can: they need root and `ip` (iproute2), and a namespace is made and
 * deleted once to be sure.
 */
export const NETNS_PROBLEM: string | undefined = await (async () => {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "making network namespaces needs root";
  if (!IP) return "no ip command (install iproute2)";
  const name = uniqueName();
  const added = await run(["netns", "add", name]);
  if (!added.ok) {
    return `ip netns add failed: ${added.output.trim().split("\n")[0]}`;
  }
  await run(["netns", "del", name]);
  return undefined;
})();

/** One end of the pair: its namespace, interface and address. */
export interface NetnsEnd {
  netns: string;
  iface: string;
  address: string;
}

/** The command to run `command` inside `netns`. */
export function inNetns(netns: string, command: string[]): string[] {
  return ["ip", "netns", "exec", netns, ...command];
}

/**
 * Two namespaces `a` and `b`, each with loopback up and one end of a veth
 * pair, addressed in 198.18.N.0/24 (the range set aside for testing
 * networks, RFC 2544), with IPv6 off so that the kernel sends no
 * multicast of its own. No route leads out of them.
 */
export class NetnsPair implements AsyncDisposable {
  readonly a: NetnsEnd;
  readonly b: NetnsEnd;

  private constructor(a: NetnsEnd, b: NetnsEnd) {
    this.a = a;
    this.b = b;
  }

  /** Makes the pair; throws (after cleaning up) when a step fails. */
  static async create(): Promise<NetnsPair> {
    const base = uniqueName();
    const subnet = (Deno.pid * 7 + made) % 250 + 1;
    const a = { netns: `${base}-a`, iface: `vc${made}a`, address: "" };
    const b = { netns: `${base}-b`, iface: `vc${made}b`, address: "" };
    a.address = `198.18.${subnet}.1`;
    b.address = `198.18.${subnet}.2`;
    const pair = new NetnsPair(a, b);
    const steps: string[][] = [
      ["netns", "add", a.netns],
      ["netns", "add", b.netns],
    ];
    for (const end of [a, b]) {
      for (const key of ["all", "default"]) {
        steps.push([
          "netns",
          "exec",
          end.netns,
          "sh",
          "-c",
          `echo 1 > /proc/sys/net/ipv6/conf/${key}/disable_ipv6`,
        ]);
      }
    }
    steps.push([
      "link",
      "add",
      a.iface,
      "netns",
      a.netns,
      "type",
      "veth",
      "peer",
      "name",
      b.iface,
      "netns",
      b.netns,
    ]);
    for (const end of [a, b]) {
      steps.push(
        ["-n", end.netns, "addr", "add", `${end.address}/24`, "dev", end.iface],
        ["-n", end.netns, "link", "set", "lo", "up"],
        ["-n", end.netns, "link", "set", end.iface, "up"],
      );
    }
    for (const step of steps) {
      const result = await run(step);
      if (!result.ok) {
        await pair[Symbol.asyncDispose]();
        throw new Error(`ip ${step.join(" ")}: ${result.output.trim()}`);
      }
    }
    return pair;
  }

  /** Deletes both namespaces (and with them the veth pair). */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const end of [this.a, this.b]) {
      await run(["netns", "del", end.netns]);
    }
  }
}
