/**
 * `deno task test`'s closing line counts what a real `deno test` run
 * reports: ignored tests and ignored steps are skipped, never passed.
 */

import assert from "node:assert/strict";
import { closingLine, parseSummary } from "../scripts/test.ts";

const FIXTURE = new URL("./testdata/skips_fixture.ts", import.meta.url)
  .pathname;

Deno.test("the closing line counts ignored tests and ignored steps of a real deno test run as skipped", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--no-check", FIXTURE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(result.stdout);
  assert.ok(result.success, output);
  const totals = parseSummary(output);
  assert.deepEqual(
    totals,
    { passed: 2, failed: 0, ignored: 1, ignoredSteps: 1 },
    output,
  );
  assert.equal(closingLine(totals!), "2 passed, 0 failed, 2 skipped");
});

Deno.test("parseSummary reads Deno's summary with and without colour, steps and ignored tests", () => {
  const cases: [string, ReturnType<typeof parseSummary>][] = [
    [
      "ok | 57 passed | 0 failed (12s)",
      { passed: 57, failed: 0, ignored: 0, ignoredSteps: 0 },
    ],
    [
      "\x1b[0m\x1b[32mok\x1b[0m | 3 passed (1 step) | 0 failed | 0 ignored (2 steps) \x1b[0m\x1b[38;5;245m(1s)\x1b[0m",
      { passed: 3, failed: 0, ignored: 0, ignoredSteps: 2 },
    ],
    [
      "FAILED | 4 passed (5 steps) | 2 failed (1 step) | 1 ignored (3s)",
      { passed: 4, failed: 2, ignored: 1, ignoredSteps: 0 },
    ],
    ["error: Module not found", undefined],
  ];
  for (const [output, expected] of cases) {
    assert.deepEqual(parseSummary(output), expected, output);
  }
  // Only the last summary counts (a test may print one of its own first).
  assert.deepEqual(
    parseSummary("ok | 1 passed | 0 failed\nok | 9 passed | 1 failed"),
    { passed: 9, failed: 1, ignored: 0, ignoredSteps: 0 },
  );
});
