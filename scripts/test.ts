/**
 * `deno task test`: the static checks, then every test, then one plain
 * closing line `N passed, M failed` that people and CI can read at a glance.
 * Exits non-zero when anything failed.
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
const TEST_ARGS = ["test", "--allow-all", "tests/", ...Deno.args];

let failedChecks = 0;
for (const [label, args] of STATIC_CHECKS) {
  const { code } = await new Deno.Command(Deno.execPath(), { args }).output()
    .then(async (result) => {
      if (!result.success) {
        await Deno.stdout.write(result.stdout);
        await Deno.stderr.write(result.stderr);
      }
      return result;
    });
  console.log(`${code === 0 ? "ok    " : "FAILED"} ${label}`);
  if (code !== 0) failedChecks++;
}

// Stream the test output as it comes, keeping a copy to find the totals.
const child = new Deno.Command(Deno.execPath(), {
  args: TEST_ARGS,
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

// Deno's summary looks like "ok | 57 passed | 0 failed (12s)", in colour.
// deno-lint-ignore no-control-regex -- removing colour codes
const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
const totals = /(\d+) passed[^\n]*?\| (\d+) failed/.exec(plain);
const ignored = Number(/\| (\d+) ignored/.exec(plain)?.[1] ?? 0);
const passed = Number(totals?.[1] ?? 0);
let failed = Number(totals?.[2] ?? 0) + failedChecks;
if (!totals && !status.success) failed++;
if (failedChecks > 0) console.log(`${failedChecks} static check(s) failed`);
console.log(
  `${passed} passed, ${failed} failed` +
    (ignored ? `, ${ignored} skipped` : ""),
);
Deno.exit(failed === 0 && status.success ? 0 : 1);
