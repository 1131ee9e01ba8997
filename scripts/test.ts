/**
 * `deno task test`: the static checks, then every test, then one plain
 * closing line `N passed, M failed, K skipped` that people and CI can read
 * at a glance. Skipped are the tests, and the steps of tests, that were
 * ignored (decided with `ignore:` before they run) because a tool they need
 * is missing: they are never counted as passed. Exits non-zero when
 * anything failed.
 *
 * @module
 */

const STATIC_CHECKS: [string, string[]][] = [
  ["deno fmt --check", ["fmt", "--check"]],
  ["deno lint", ["lint"]],
  ["deno check", ["check", "main.ts", "lib/", "tests/", "scripts/"]],
];

// The tests read /proc for memory figures, which Deno grants only with
// --allow-all. The chat itself runs under the compiled binary's narrow flags.
const TEST_ARGS = ["test", "--allow-all", "tests/"];

/** The counts in the summary line of `deno test`. */
export interface TestTotals {
  passed: number;
  failed: number;
  /** Tests ignored before they ran. */
  ignored: number;
  /** Steps ignored in tests that ran. */
  ignoredSteps: number;
}

/**
 * The counts in the last summary line of `deno test` output (colour codes
 * removed first), or `undefined` when there is none: the run did not get
 * that far.
 *
 * @example
 * ```ts
 * import { parseSummary } from "./test.ts";
 * parseSummary("ok | 5 passed (2 steps) | 0 failed | 1 ignored (3 steps) (9s)");
 * // { passed: 5, failed: 0, ignored: 1, ignoredSteps: 3 }
 * ```
 */
export function parseSummary(output: string): TestTotals | undefined {
  // deno-lint-ignore no-control-regex -- removing colour codes
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const last = [
    ...plain.matchAll(
      /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?/g,
    ),
  ].at(-1);
  if (!last) return undefined;
  return {
    passed: Number(last[1]),
    failed: Number(last[2]),
    ignored: Number(last[3] ?? 0),
    ignoredSteps: Number(last[4] ?? 0),
  };
}

/**
 * The closing line: tests passed, tests (and static checks) failed, and
 * tests and steps skipped.
 *
 * @example
 * ```ts
 * import { closingLine } from "./test.ts";
 * closingLine({ passed: 5, failed: 1, ignored: 1, ignoredSteps: 2 });
 * // "5 passed, 1 failed, 3 skipped"
 * ```
 */
export function closingLine(totals: TestTotals): string {
  return `${totals.passed} passed, ${totals.failed} failed, ${
    totals.ignored + totals.ignoredSteps
  } skipped`;
}

async function main(extraArgs: string[]): Promise<number> {
  let failedChecks = 0;
  for (const [label, args] of STATIC_CHECKS) {
    const result = await new Deno.Command(Deno.execPath(), { args }).output();
    if (!result.success) {
      await Deno.stdout.write(result.stdout);
      await Deno.stderr.write(result.stderr);
    }
    console.log(`${result.success ? "ok    " : "FAILED"} ${label}`);
    if (!result.success) failedChecks++;
  }

  // Stream the test output as it comes, keeping a copy to find the totals.
  const child = new Deno.Command(Deno.execPath(), {
    args: [...TEST_ARGS, ...extraArgs],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
  }
  const status = await child.status;

  const totals = parseSummary(tail) ??
    { passed: 0, failed: status.success ? 0 : 1, ignored: 0, ignoredSteps: 0 };
  totals.failed += failedChecks;
  if (failedChecks > 0) console.log(`${failedChecks} static check(s) failed`);
  console.log(closingLine(totals));
  return totals.failed === 0 && status.success ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
