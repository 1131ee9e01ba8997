/**
 * `deno task bench`: how well `chat serve` fans lines out, side by side with
 * `ncat --broker`.
 *
 * Usage:
 *
 * ```sh
 * deno task bench                    # every scenario, 3 runs each (about 11 min)
 * deno task bench --quick            # one short run of each (about 1 min)
 * deno task bench --only class,hall  # some scenarios
 * deno task bench --runs 5 --no-ncat
 * deno task bench --only class --runs 1 --no-ncat --cpu-prof /tmp/prof
 * deno task bench --structured --baseline HEAD~1  # issue 8's comparison
 * ```
 *
 * Scenarios (see `scenarios.ts`): `small` 10 clients, 10 senders x 100
 * lines/s; `class` 100 clients, 10 x 100 lines/s; `hall` 1,000 clients, 5 x
 * 20 lines/s; `saturate` 50 clients, 5 senders as fast as their sockets take
 * lines; `stalled` the class load plus 20 clients that never read; `idle`
 * 2,000 clients doing nothing (memory per connection).
 *
 * Each run starts a fresh server on a free 127.0.0.1 port: our server from
 * `main.ts` with its limits lifted (only the options its `--help` lists), and
 * `ncat --broker` when `/usr/bin/ncat` exists (`apt-get install ncat`). With
 * `taskset` and 2 cores, the server runs on CPU 0 and this generator on
 * CPU 1. With `--baseline REF`, commit REF of this repository is exported
 * (`git archive`) into a temporary folder, removed afterwards, and its
 * `main.ts` is measured too, as `chat@<commit>`, in the same runs,
 * interleaved with the others. With `--structured`, every other client of
 * our server (odd indices, senders included) sends `/proto 1` before its
 * `/nick` and reads JSON Lines (see `structured.ts`); the others, and every
 * client of ncat and of the earlier commit, read plain text. Senders send
 * the same bytes either way. Every message is 100 bytes and carries a token
 * `T<sender>.<seq>.<sendMicros>.<check>:` (see `token.ts`); every client
 * checks every line it gets, and a line that is not one whole message is
 * counted as spliced/broken. Deliveries count lines to others only (ncat
 * does not echo to the sender). The server's CPU time and peak memory
 * (VmHWM) come from `/proc/PID/stat` and `/proc/PID/status`; so does the
 * generator's own CPU time, and "other processes" is what the rest of the
 * machine used meanwhile (kernel work for loopback traffic included), to
 * show when a run was disturbed.
 *
 * Output: one table per scenario on stdout (medians of the runs, every
 * server, ratios chat/ncat and chat/base), the issues' targets marked MET
 * or MISS (issue 8's: CPU per delivery in `class` and `hall` within 10% of
 * the earlier commit's and below ncat's), and `bench/results.json` with
 * every run's figures. Progress goes to stderr.
 * Linux only: CPU time and peak memory come from `/proc`, which Deno reads
 * only with `--allow-all`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type RunResult, runScenario } from "./load.ts";
import {
  evaluateBaselineTargets,
  evaluateTargets,
  type ScenarioResults,
  scenarioTable,
  serverResults,
  targetLines,
} from "./report.ts";
import { type Scenario, SCENARIO_NAMES, scenarios } from "./scenarios.ts";
import {
  canPin,
  exportCommit,
  type ExportedCommit,
  gitState,
  pinGenerator,
  planChat,
  planNcat,
  removeFolder,
  type ServerPlan,
  sourceFingerprint,
  startServer,
} from "./servers.ts";
import { cpuSeconds, machineBusySeconds } from "./proc.ts";
import { MESSAGE_BYTES } from "./token.ts";

const RESULTS = new URL("./results.json", import.meta.url);

const HELP =
  `Usage: deno task bench [--quick] [--only NAMES] [--runs N] [--no-ncat]
                        [--structured] [--baseline REF] [--cpu-prof DIR]

  --quick        one short run of each scenario (about a minute)
  --only NAMES   comma-separated scenarios: ${SCENARIO_NAMES.join(", ")}
  --runs N       runs per scenario and server (default 3, or 1 with --quick)
  --no-ncat      do not measure ncat --broker
  --structured   every other client of our server speaks the structured
                 protocol (/proto 1, JSON Lines), the others plain text
  --baseline REF also measure the server of git commit REF (e.g. HEAD~1),
                 exported into a temporary folder, as chat@<commit>; its
                 clients speak plain text
  --cpu-prof DIR run our server(s) under deno's --cpu-prof, writing one V8
                 CPU profile per run into DIR (the figures then include its
                 cost)`;

function options() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      only: { type: "string" },
      runs: { type: "string" },
      "no-ncat": { type: "boolean" },
      structured: { type: "boolean" },
      baseline: { type: "string" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const quick = values.quick ?? false;
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
    throw new Error(`--runs takes a number from 1 to 20, got ${values.runs}`);
  }
  const only = values.only?.split(",").map((name) => name.trim());
  for (const name of only ?? []) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new Error(
        `unknown scenario "${name}"; use ${SCENARIO_NAMES.join(", ")}`,
      );
    }
  }
  return {
    quick,
    runs,
    only,
    ncat: !values["no-ncat"],
    structured: values.structured ?? false,
    baseline: values.baseline,
    profileDir: values["cpu-prof"],
  };
}

function progress(text: string): void {
  console.error(text);
}

async function measure(
  plan: ServerPlan,
  scenario: Scenario,
): Promise<RunResult> {
  const source = plan.kind === "chat"
    ? await sourceFingerprint(plan.root)
    : undefined;
  let server;
  try {
    server = await startServer(plan);
  } catch (error) {
    return {
      figures: {},
      error: (error as Error).message,
      brokenSamples: [],
      source,
    };
  }
  try {
    return { ...await runScenario(scenario, server), source };
  } finally {
    await server.stop();
  }
}

function summary(result: RunResult): string {
  if (result.error) return `FAILED: ${result.error}`;
  const f = result.figures;
  const parts = [];
  if (f.deliveriesPerSec != null) {
    parts.push(
      `${Math.round(f.deliveriesPerSec)} deliveries/s`,
      `ratio ${f.deliveryRatioPct?.toFixed(3)}%`,
      `p99 ${f.latencyP99Ms?.toFixed(2)} ms`,
      `broken ${f.brokenLines}`,
    );
  }
  parts.push(
    `server CPU ${f.serverCpuSeconds?.toFixed(2)} s`,
    `peak ${f.serverPeakRssMiB?.toFixed(1)} MiB`,
    `generator ${f.generatorCpuPercent?.toFixed(0)}%`,
  );
  if (f.stalledDisconnected != null) {
    parts.push(`stalled dropped ${f.stalledDisconnected}`);
  }
  return parts.join(", ");
}

/** CPU used by other processes over one second, in % of a core. */
async function otherLoadPercent(): Promise<number> {
  const machine = machineBusySeconds();
  const self = cpuSeconds("self");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const other = machineBusySeconds() - machine - (cpuSeconds("self") - self);
  return Math.max(0, other) * 100;
}

/** Which protocol each server's clients speak, for the report. */
function clientModes(plans: ServerPlan[]): string {
  if (!plans.some((plan) => plan.structured)) return "";
  return plans.map((plan) =>
    `${plan.name}: ${
      plan.structured
        ? "every other client on JSON Lines (/proto 1), the rest plain text"
        : "all plain text"
    }`
  ).join("; ");
}

async function main(): Promise<void> {
  const opts = options();
  let baseline: ExportedCommit | undefined;
  // The exported commit is removed however the bench ends, ^C included.
  const interrupted = () => {
    if (baseline) removeFolder(baseline.folder);
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  try {
    if (opts.baseline) baseline = await exportCommit(opts.baseline);
    await bench(opts, baseline);
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    if (baseline) removeFolder(baseline.folder);
  }
}

async function bench(
  opts: ReturnType<typeof options>,
  baseline: ExportedCommit | undefined,
): Promise<void> {
  const started = performance.now();
  const otherLoad = await otherLoadPercent();
  const pinnedOk = await pinGenerator();
  if (opts.profileDir) await Deno.mkdir(opts.profileDir, { recursive: true });
  const plans: ServerPlan[] = [
    await planChat({
      profileDir: opts.profileDir,
      structured: opts.structured,
    }),
  ];
  const baselineName = baseline ? `chat@${baseline.short}` : undefined;
  if (baseline) {
    plans.push(
      await planChat({
        profileDir: opts.profileDir,
        root: baseline.folder,
        name: baselineName,
      }),
    );
  }
  const ncat = opts.ncat ? await planNcat() : null;
  if (ncat) plans.push(ncat);
  const modes = clientModes(plans);

  const header = [
    `chat bench${opts.quick ? " --quick" : ""}, ${new Date().toISOString()}`,
    `servers: ${plans.map((plan) => plan.version).join("; ")}`,
    `our server's source: ${await gitState()}; fingerprint ${await sourceFingerprint()} (SHA-256 of main.ts and lib/*.ts)`,
    baseline
      ? `${baselineName}: commit ${baseline.commit} ("${baseline.subject}", --baseline ${baseline.ref}), exported to ${baseline.folder} (removed afterwards); fingerprint ${await sourceFingerprint(
        baseline.folder,
      )}`
      : "",
    `clients: ${
      modes ||
      "all plain text (--structured puts every other client of our server on JSON Lines)"
    }`,
    opts.ncat && !ncat
      ? "ncat: not installed (/usr/bin/ncat), measuring our server only; apt-get install ncat to compare"
      : "",
    `limits lifted: ${
      plans.map((plan) =>
        `${plan.name}: ${plan.limitsChanged.join(", ") || "none"}`
      ).join("; ")
    }`,
    `cores: ${navigator.hardwareConcurrency}; ${
      pinnedOk && canPin()
        ? "server pinned to CPU 0, generator to CPU 1 (taskset)"
        : "no pinning (taskset missing or one core)"
    }`,
    `machine: other processes used ${
      otherLoad.toFixed(0)
    }% of a core in the second before the start${
      otherLoad > 20 ? " (busy: figures will be disturbed)" : ""
    }; see "other processes CPU" per scenario`,
    `messages: ${MESSAGE_BYTES} bytes of text; ${opts.runs} run(s) per scenario and server, median shown`,
    opts.profileDir
      ? `our server runs under --cpu-prof (profiles in ${opts.profileDir}): its figures include the profiler's cost`
      : "",
  ].filter(Boolean);
  for (const line of header) console.log(line);
  console.log("");

  const selected = scenarios(opts.quick).filter((scenario) =>
    !opts.only || opts.only.includes(scenario.name)
  );
  const byName = new Map<string, ScenarioResults>();
  for (const scenario of selected) {
    const runs = new Map<string, RunResult[]>(
      plans.map((plan) => [plan.name, []]),
    );
    for (let run = 0; run < opts.runs; run++) {
      // Alternate which server goes first, so neither always runs warm.
      const order = run % 2 === 0 ? plans : [...plans].reverse();
      for (const plan of order) {
        const t = performance.now();
        const result = await measure(plan, scenario);
        runs.get(plan.name)!.push(result);
        progress(
          `${scenario.name} ${plan.name} run ${run + 1}/${opts.runs} (${
            ((performance.now() - t) / 1000).toFixed(1)
          } s): ${summary(result)}`,
        );
      }
    }
    const results: ScenarioResults = { scenario, servers: {} };
    for (const plan of plans) {
      results.servers[plan.name] = serverResults(runs.get(plan.name)!);
    }
    byName.set(scenario.name, results);
    for (const line of scenarioTable(results, baselineName, modes)) {
      console.log(line);
    }
    console.log("");
  }

  const sources = new Set(
    [...byName.values()].flatMap((results) =>
      (results.servers.chat?.runs ?? []).map((run) => run.source)
    ),
  );
  if (sources.size > 1) {
    console.log(
      `WARNING: our server's source changed while the bench ran (${
        [...sources].join(", ")
      }): the figures mix versions; each run's fingerprint is in results.json`,
    );
    console.log("");
  }
  const targets = evaluateTargets(byName);
  console.log("targets (issue 3), chat:");
  for (const line of targetLines(targets)) console.log(line);
  const baselineTargets = baseline || opts.structured
    ? evaluateBaselineTargets(byName, baselineName, opts.structured)
    : [];
  if (baselineTargets.length > 0) {
    console.log(
      `targets (issue 8), chat${
        opts.structured ? " with half its clients on JSON" : ""
      }${baseline ? ` against ${baselineName}` : " (no --baseline given)"}:`,
    );
    for (const line of targetLines(baselineTargets)) console.log(line);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log("");
  console.log(
    `bench took ${seconds.toFixed(0)} s; every figure is in ${
      decodeURIComponent(RESULTS.pathname)
    }`,
  );

  await Deno.writeTextFile(
    RESULTS,
    JSON.stringify(
      {
        header,
        date: new Date().toISOString(),
        quick: opts.quick,
        runsPerScenario: opts.runs,
        seconds,
        messageBytes: MESSAGE_BYTES,
        pinned: pinnedOk && canPin(),
        structured: opts.structured,
        baseline: baseline
          ? {
            name: baselineName,
            ref: baseline.ref,
            commit: baseline.commit,
            subject: baseline.subject,
          }
          : null,
        servers: plans,
        scenarios: Object.fromEntries(byName),
        targets,
        baselineTargets,
      },
      null,
      2,
    ) + "\n",
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
