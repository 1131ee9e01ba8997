/**
 * Run by `tests/test_runner_test.ts` with `deno test`, to read the summary
 * Deno prints for tests and steps that are ignored: two tests pass (one of
 * them with an ignored step), one is ignored before it runs.
 */

Deno.test("passes", () => {});

Deno.test({
  name: "is ignored before it runs, as when its tool is missing",
  ignore: true,
  fn: () => {
    throw new Error("an ignored test ran");
  },
});

Deno.test("passes, with one ignored step", async (t) => {
  await t.step("a step that runs", () => {});
  await t.step({
    name: "an ignored step",
    ignore: true,
    fn: () => {
      throw new Error("an ignored step ran");
    },
  });
});
