/**
 * The bench's output: one table per scenario (each figure for both servers
 * and their ratio) and the targets, each marked met or missed.
 *
 * @module
 */

import type { RunResult } from "./load.ts";
import type { Scenario } from "./scenarios.ts";
import type { ServerKind } from "./servers.ts";
import { extreme, type Figures, medianFigures, ratio } from "./stats.ts";

/** Every run of one server in one scenario, and their medians. */
export interface ServerResults {
  runs: RunResult[];
  /** Medians over the runs that finished without error. */
  median: Figures;
}

/** One scenario's results for each server that ran it. */
export interface ScenarioResults {
  scenario: Scenario;
  servers: Partial<Record<ServerKind, ServerResults>>;
}

/** Builds a server's results from its runs. */
export function serverResults(runs: RunResult[]): ServerResults {
  return {
    runs,
    median: medianFigures(
      runs.filter((run) => !run.error).map((run) => run.figures),
    ),
  };
}

/** One row of a scenario table. */
interface Row {
  label: string;
  key: string;
  digits: number;
  /** Shown only in these scenarios (all when absent). */
  only?: (scenario: Scenario) => boolean;
}

const hasLoad = (scenario: Scenario) => scenario.senders > 0;
const isIdle = (scenario: Scenario) => scenario.senders === 0;

const ROWS: Row[] = [
  { label: "offered lines/s", key: "offeredLinesPerSec", digits: 0 },
  { label: "deliveries/s (to others)", key: "deliveriesPerSec", digits: 0 },
  { label: "delivery ratio %", key: "deliveryRatioPct", digits: 3 },
  { label: "latency p50 ms", key: "latencyP50Ms", digits: 2 },
  { label: "latency p90 ms", key: "latencyP90Ms", digits: 2 },
  { label: "latency p99 ms", key: "latencyP99Ms", digits: 2 },
  { label: "latency max ms", key: "latencyMaxMs", digits: 2 },
  { label: "out-of-order lines", key: "outOfOrder", digits: 0 },
  { label: "duplicate lines", key: "duplicates", digits: 0 },
  { label: "spliced/broken lines", key: "brokenLines", digits: 0 },
  { label: "readers disconnected", key: "readersDisconnected", digits: 0 },
  {
    label: "stalled clients dropped",
    key: "stalledDisconnected",
    digits: 0,
    only: (scenario) => scenario.stalled > 0,
  },
  { label: "server CPU s", key: "serverCpuSeconds", digits: 2 },
  { label: "server CPU % of a core", key: "serverCpuPercent", digits: 1 },
  {
    label: "server CPU s per M deliveries",
    key: "serverCpuPerMillion",
    digits: 3,
  },
  {
    label: "server RSS before clients MiB",
    key: "baselineRssMiB",
    digits: 1,
    only: isIdle,
  },
  { label: "server RSS MiB", key: "serverRssMiB", digits: 1, only: isIdle },
  { label: "server peak RSS MiB", key: "serverPeakRssMiB", digits: 1 },
  {
    label: "server KiB per connection",
    key: "perConnectionKiB",
    digits: 1,
    only: isIdle,
  },
  { label: "generator CPU % of a core", key: "generatorCpuPercent", digits: 1 },
  {
    label: "other processes CPU % of a core",
    key: "otherCpuPercent",
    digits: 1,
  },
  { label: "time to connect and join s", key: "joinSeconds", digits: 2 },
];

const LOAD_ONLY = new Set([
  "offeredLinesPerSec",
  "deliveriesPerSec",
  "deliveryRatioPct",
  "latencyP50Ms",
  "latencyP90Ms",
  "latencyP99Ms",
  "latencyMaxMs",
  "outOfOrder",
  "duplicates",
  "brokenLines",
  "serverCpuPerMillion",
]);

function format(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

/** The table for one scenario, as lines of text. */
export function scenarioTable(results: ScenarioResults): string[] {
  const { scenario, servers } = results;
  const kinds = (["chat", "ncat"] as const).filter((kind) => servers[kind]);
  const runCounts = kinds.map((kind) => {
    const runs = servers[kind]!.runs;
    return `${kind} ${runs.filter((run) => !run.error).length}/${runs.length}`;
  });
  const out = [
    `${scenario.name}: ${scenario.description} (median of runs that finished: ${
      runCounts.join(", ")
    })`,
  ];
  const header = pad("figure", 32, true) +
    kinds.map((kind) => pad(kind, 14)).join("") +
    (kinds.length === 2 ? pad("chat/ncat", 11) : "");
  out.push("  " + header);
  for (const row of ROWS) {
    if (row.only && !row.only(scenario)) continue;
    if (LOAD_ONLY.has(row.key) && !hasLoad(scenario)) continue;
    const values = kinds.map((kind) => servers[kind]!.median[row.key]);
    let line = pad(row.label, 32, true) +
      values.map((value) => pad(format(value, row.digits), 14)).join("");
    if (kinds.length === 2) {
      line += pad(format(ratio(values[0], values[1]), 2), 11);
    }
    out.push("  " + line);
  }
  for (const kind of kinds) {
    servers[kind]!.runs.forEach((run, index) => {
      if (run.error) {
        out.push(`  ${kind} run ${index + 1} failed: ${run.error}`);
      }
      for (const sample of run.brokenSamples.slice(0, 2)) {
        out.push(
          `  ${kind} run ${index + 1} broken line: ${JSON.stringify(sample)}`,
        );
      }
    });
  }
  return out;
}

/** One target of the issue, checked against this invocation's figures. */
export interface Target {
  name: string;
  /** `null` when the figures needed are missing (no ncat, failed runs). */
  met: boolean | null;
  detail: string;
}

const n = (value: number | null | undefined, digits = 2) =>
  format(value, digits);

/** Checks the targets; `byName` maps scenario names to results. */
export function evaluateTargets(
  byName: Map<string, ScenarioResults>,
): Target[] {
  const targets: Target[] = [];
  const chat = (name: string) => byName.get(name)?.servers.chat;
  const ncat = (name: string) => byName.get(name)?.servers.ncat;

  for (const [name, results] of byName) {
    if (!hasLoad(results.scenario)) continue;
    const runs = results.servers.chat?.runs ?? [];
    const failed = runs.filter((run) => run.error).length;
    const figures = runs.map((run) => run.figures);
    const minRatio = extreme(figures, "deliveryRatioPct", "min");
    const order = extreme(figures, "outOfOrder", "max");
    const duplicates = extreme(figures, "duplicates", "max");
    const broken = extreme(figures, "brokenLines", "max");
    const dropped = extreme(figures, "readersDisconnected", "max");
    const met = runs.length > 0 && failed === 0 && minRatio !== null &&
      minRatio >= 100 && order === 0 && duplicates === 0 && broken === 0 &&
      dropped === 0;
    targets.push({
      name: `${name}: ${
        results.scenario.stalled ? "readers get " : ""
      }every line, in order, whole`,
      met: runs.length === 0 ? null : met,
      detail: `worst run: ratio ${n(minRatio, 3)}%, out-of-order ${
        n(order, 0)
      }, duplicates ${n(duplicates, 0)}, broken ${n(broken, 0)}, readers lost ${
        n(dropped, 0)
      }, failed runs ${failed}`,
    });
  }

  for (const name of ["class", "hall"]) {
    const ours = chat(name)?.median;
    const theirs = ncat(name)?.median;
    if (!ours) continue;
    const cpu = ratio(ours.serverCpuPerMillion, theirs?.serverCpuPerMillion);
    targets.push({
      name: `${name}: server CPU per million deliveries <= ncat's (aim 0.67x)`,
      met: cpu === null ? null : cpu <= 1,
      detail: `chat ${n(ours.serverCpuPerMillion, 3)} s, ncat ${
        n(theirs?.serverCpuPerMillion, 3)
      } s, ratio ${n(cpu)}`,
    });
    const p99 = ours.latencyP99Ms;
    const half = theirs?.latencyP99Ms == null ? null : theirs.latencyP99Ms / 2;
    targets.push({
      name: `${name}: p99 <= half of ncat's and < 5 ms`,
      met: p99 === null ? null : half === null ? null : p99 <= half && p99 < 5,
      detail: `chat ${n(p99)} ms, ncat ${n(theirs?.latencyP99Ms)} ms`,
    });
  }

  const ours = chat("saturate");
  const theirs = ncat("saturate");
  if (ours) {
    const generator = Math.max(
      ours.median.generatorCpuPercent ?? 0,
      theirs?.median.generatorCpuPercent ?? 0,
    );
    const busy = generator > 90;
    const deliveries = ratio(
      ours.median.deliveriesPerSec,
      theirs?.median.deliveriesPerSec,
    );
    const cpu = ratio(
      ours.median.serverCpuPerMillion,
      theirs?.median.serverCpuPerMillion,
    );
    targets.push({
      name: busy
        ? "saturate: generator above 90% of a core, so: server CPU per delivery <= ncat's"
        : "saturate: deliveries/s >= ncat's",
      met: busy
        ? (cpu === null ? null : cpu <= 1)
        : (deliveries === null ? null : deliveries >= 1),
      detail: `deliveries/s chat ${n(ours.median.deliveriesPerSec, 0)}, ncat ${
        n(theirs?.median.deliveriesPerSec, 0)
      } (ratio ${n(deliveries)}); CPU s per M deliveries chat ${
        n(ours.median.serverCpuPerMillion, 3)
      }, ncat ${n(theirs?.median.serverCpuPerMillion, 3)} (ratio ${
        n(cpu)
      }); generator CPU up to ${n(generator, 1)}% of a core`,
    });
  }

  const stalled = byName.get("stalled");
  const stalledChat = stalled?.servers.chat?.median;
  const classChat = chat("class")?.median;
  if (stalled && stalledChat) {
    const p99 = stalledChat.latencyP99Ms;
    const classP99 = classChat?.latencyP99Ms ?? null;
    targets.push({
      name: "stalled: readers' p99 within 2x of the class run",
      met: p99 === null || classP99 === null ? null : p99 <= 2 * classP99,
      detail: `stalled ${n(p99)} ms, class ${n(classP99)} ms`,
    });
    const limit = classChat?.serverPeakRssMiB == null
      ? null
      : classChat.serverPeakRssMiB + stalled.scenario.stalled * 1;
    const peak = stalledChat.serverPeakRssMiB;
    targets.push({
      name:
        "stalled: server peak memory <= class peak + 1 MiB per stalled client",
      met: peak === null || limit === null ? null : peak <= limit,
      detail: `peak ${n(peak, 1)} MiB, limit ${n(limit, 1)} MiB; ${
        n(stalledChat.stalledDisconnected, 0)
      } of ${stalled.scenario.stalled} stalled clients dropped (ncat: ${
        n(stalled.servers.ncat?.median.stalledDisconnected, 0)
      }; ncat readers' ratio ${
        n(stalled.servers.ncat?.median.deliveryRatioPct, 2)
      }%)`,
    });
  }

  const idle = chat("idle")?.median;
  if (idle) {
    const clients = byName.get("idle")!.scenario.clients;
    targets.push({
      name:
        `idle: ${clients} connections with the server under 64 MiB resident`,
      met: idle.serverPeakRssMiB === null ? null : idle.serverPeakRssMiB < 64,
      detail: `peak ${n(idle.serverPeakRssMiB, 1)} MiB, now ${
        n(idle.serverRssMiB, 1)
      } MiB, ${n(idle.perConnectionKiB, 1)} KiB per connection (ncat: ${
        n(ncat("idle")?.median.perConnectionKiB, 1)
      } KiB${
        ncat("idle")?.runs.some((run) => run.error) ? ", failed runs" : ""
      })`,
    });
  }
  return targets;
}

/** The targets as lines of text. */
export function targetLines(targets: Target[]): string[] {
  return targets.map((target) =>
    `  ${
      target.met === null ? "n/a " : target.met ? "MET " : "MISS"
    } ${target.name}: ${target.detail}`
  );
}
