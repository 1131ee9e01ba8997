/**
 * CPU time and memory of a process, from Linux's `/proc`. Deno lets a
 * program read `/proc` only with `--allow-all`, which is why `deno task
 * bench` runs with it.
 *
 * @module
 */

/** Clock ticks per second in `/proc/PID/stat` (`getconf CLK_TCK`). */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * User plus system CPU time, in clock ticks, from the text of
 * `/proc/PID/stat` (fields 14 and 15, counted after the command name, which
 * may itself hold spaces and parentheses).
 *
 * @example
 * ```ts
 * import { parseCpuTicks } from "./proc.ts";
 * parseCpuTicks("42 (a b) S 1 1 1 0 -1 0 0 0 0 0 250 30 0 0"); // 280
 * ```
 */
export function parseCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`cannot read CPU time from: ${stat.slice(0, 80)}`);
  }
  return utime + stime;
}

/**
 * A `kB` field of `/proc/PID/status` (e.g. `VmHWM`, `VmRSS`), in KiB;
 * `null` when absent.
 *
 * @example
 * ```ts
 * import { parseStatusKiB } from "./proc.ts";
 * parseStatusKiB("VmHWM:\t  51200 kB\nVmRSS:\t 40960 kB\n", "VmHWM"); // 51200
 * ```
 */
export function parseStatusKiB(status: string, field: string): number | null {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : null;
}

/**
 * CPU time spent busy by the whole machine, all cores together, in clock
 * ticks, from the first line of `/proc/stat` (everything but idle and
 * iowait).
 *
 * @example
 * ```ts
 * import { parseBusyTicks } from "./proc.ts";
 * parseBusyTicks("cpu  100 5 50 900 10 1 2 3 0 0\ncpu0 ..."); // 161
 * ```
 */
export function parseBusyTicks(stat: string): number {
  const fields = stat.slice(0, stat.indexOf("\n")).trim().split(/\s+/);
  if (fields[0] !== "cpu") throw new Error("not /proc/stat");
  const [user, nice, system, , , irq, softirq, steal] = fields.slice(1, 9)
    .map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  if (!Number.isFinite(busy)) throw new Error("cannot read /proc/stat");
  return busy;
}

/** CPU seconds the whole machine has spent busy so far, all cores together. */
export function machineBusySeconds(): number {
  return parseBusyTicks(Deno.readTextFileSync("/proc/stat")) /
    CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds (user + system, all threads) used so far by process `pid`. */
export function cpuSeconds(pid: number | "self"): number {
  return parseCpuTicks(Deno.readTextFileSync(`/proc/${pid}/stat`)) /
    CLOCK_TICKS_PER_SECOND;
}

/** Memory figures of process `pid` in MiB: current and peak resident. */
export function memoryMiB(
  pid: number,
): { rssMiB: number | null; peakRssMiB: number | null } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rss = parseStatusKiB(status, "VmRSS");
  const peak = parseStatusKiB(status, "VmHWM");
  return {
    rssMiB: rss === null ? null : rss / 1024,
    peakRssMiB: peak === null ? null : peak / 1024,
  };
}

/** The program name of process `pid` (`/proc/PID/comm`), or `null` if gone. */
export function processName(pid: number): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return null;
  }
}
