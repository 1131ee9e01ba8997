/**
 * The bench's output: one table per scenario (each figure for every server,
 * our server's ratio to ncat and to an earlier commit of it) and the
 * issues' targets, each marked met or missed.
 *
 * @module
 */

import type { RunResult } from "./load.ts";
import type { Scenario } from "./scenarios.ts";
import { extreme, type Figures, medianFigures, ratio } from "./stats.ts";

/** Every run of one server in one scenario, and their medians. */
export interface ServerResults {
  runs: RunResult[];
  /** Medians over the runs that finished without error. */
  median: Figures;
}

/**
 * One scenario's results for each server that ran it, by name: `chat`,
 * `ncat`, and `chat@<commit>` for an earlier commit, in the order they
 * appear in the table.
 */
export interface ScenarioResults {
  scenario: Scenario;
  servers: Record<string, ServerResults>;
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
  /** Hidden when no server has the figure (e.g. no client spoke JSON). */
  optional?: boolean;
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
  {
    label: "JSON readers' delivery ratio %",
    key: "jsonDeliveryRatioPct",
    digits: 3,
    optional: true,
  },
  {
    label: "plain readers' delivery ratio %",
    key: "plainDeliveryRatioPct",
    digits: 3,
    optional: true,
  },
  {
    label: "JSON events seq not increasing",
    key: "jsonSeqErrors",
    digits: 0,
    optional: true,
  },
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
  "jsonDeliveryRatioPct",
  "plainDeliveryRatioPct",
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

/**
 * The table for one scenario, as lines of text: a column per server, then
 * `chat/ncat` when ncat ran and `chat/base` when the earlier commit
 * `baseline` (its name) ran; `clients` says which protocol the clients
 * spoke, when that needs saying.
 */
export function scenarioTable(
  results: ScenarioResults,
  baseline?: string,
  clients?: string,
): string[] {
  const { scenario, servers } = results;
  const names = Object.keys(servers);
  const runCounts = names.map((name) => {
    const runs = servers[name].runs;
    return `${name} ${runs.filter((run) => !run.error).length}/${runs.length}`;
  });
  const out = [
    `${scenario.name}: ${scenario.description} (median of runs that finished: ${
      runCounts.join(", ")
    })`,
  ];
  if (clients) out.push(`  clients: ${clients}`);
  const ratios: [label: string, theirs: string][] = [];
  if (servers.chat && servers.ncat) ratios.push(["chat/ncat", "ncat"]);
  if (servers.chat && baseline && servers[baseline]) {
    ratios.push(["chat/base", baseline]);
  }
  const header = pad("figure", 32, true) +
    names.map((name) => pad(name, 14)).join("") +
    ratios.map(([label]) => pad(label, 11)).join("");
  out.push("  " + header);
  for (const row of ROWS) {
    if (row.only && !row.only(scenario)) continue;
    if (LOAD_ONLY.has(row.key) && !hasLoad(scenario)) continue;
    const values = names.map((name) => servers[name].median[row.key]);
    if (row.optional && values.every((value) => value == null)) continue;
    let line = pad(row.label, 32, true) +
      values.map((value) => pad(format(value, row.digits), 14)).join("");
    for (const [, theirs] of ratios) {
      line += pad(
        format(
          ratio(servers.chat.median[row.key], servers[theirs].median[row.key]),
          2,
        ),
        11,
      );
    }
    out.push("  " + line);
  }
  for (const name of names) {
    servers[name].runs.forEach((run, index) => {
      if (run.error) {
        out.push(`  ${name} run ${index + 1} failed: ${run.error}`);
      }
      for (const sample of run.brokenSamples.slice(0, 2)) {
        out.push(
          `  ${name} run ${index + 1} broken line: ${JSON.stringify(sample)}`,
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

/** Checks the issue's targets; `byName` maps scenario names to results. */
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
    // Only when some clients spoke JSON: their events' seq must increase.
    const seqErrors = extreme(figures, "jsonSeqErrors", "max");
    const met = runs.length > 0 && failed === 0 && minRatio !== null &&
      minRatio >= 100 && order === 0 && duplicates === 0 && broken === 0 &&
      dropped === 0 && (seqErrors === null || seqErrors === 0);
    targets.push({
      name: `${name}: ${
        results.scenario.stalled ? "readers get " : ""
      }every line, in order, whole`,
      met: runs.length === 0 ? null : met,
      detail: `worst run: ratio ${n(minRatio, 3)}%, out-of-order ${
        n(order, 0)
      }, duplicates ${n(duplicates, 0)}, broken ${n(broken, 0)}, readers lost ${
        n(dropped, 0)
      }${
        seqErrors === null ? "" : `, JSON seq not increasing ${n(seqErrors, 0)}`
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

/** Our server's CPU per delivery may be this much above the earlier commit's. */
export const BASELINE_CPU_MARGIN = 0.10;

/**
 * Issue 8's targets: in `class` and `hall`, our server's CPU per delivery
 * within 10% of the earlier commit `baseline` (its name in the results)
 * measured in the same invocation, and still below ncat's; `structured`
 * says whether half of our server's clients spoke JSON, as the issue asks.
 */
export function evaluateBaselineTargets(
  byName: Map<string, ScenarioResults>,
  baseline: string | undefined,
  structured: boolean,
): Target[] {
  const targets: Target[] = [];
  const mode = structured
    ? "chat with half its clients on JSON"
    : "chat with plain clients only (the issue asks for --structured)";
  for (const name of ["class", "hall"]) {
    const servers = byName.get(name)?.servers;
    const ours = servers?.chat?.median;
    if (!ours) continue;
    if (baseline) {
      const base = servers[baseline]?.median;
      const cpu = ratio(ours.serverCpuPerMillion, base?.serverCpuPerMillion);
      targets.push({
        name: `${name}: server CPU per delivery within ${
          BASELINE_CPU_MARGIN * 100
        }% of ${baseline}'s`,
        met: cpu === null ? null : cpu <= 1 + BASELINE_CPU_MARGIN,
        detail: `chat ${n(ours.serverCpuPerMillion, 3)} s per M, ${baseline} ${
          n(base?.serverCpuPerMillion, 3)
        } s per M, ratio ${n(cpu)} (${mode})`,
      });
    }
    const theirs = servers.ncat?.median;
    const cpu = ratio(ours.serverCpuPerMillion, theirs?.serverCpuPerMillion);
    targets.push({
      name: `${name}: server CPU per delivery still below ncat --broker's`,
      met: cpu === null ? null : cpu < 1,
      detail: `chat ${n(ours.serverCpuPerMillion, 3)} s per M, ncat ${
        n(theirs?.serverCpuPerMillion, 3)
      } s per M, ratio ${n(cpu)}`,
    });
  }
  return targets;
}
