/**
 * The standalone binary: `deno compile` with the permissions of
 * `deno task compile`, then a real chat through it.
 *
 * `deno compile` needs Deno's `denort` runtime. It is downloaded on first
 * use, which machines without internet access cannot do; point DENORT_BIN at
 * a `denort` binary to build offline. Without one this test is skipped, and
 * says why. Every other test already runs `main.ts` with the binary's
 * permission flags, so a missing permission fails there too.
 */

import assert from "node:assert/strict";
import { compileArgs } from "../scripts/dist.ts";
import { ChatProcess, TcpClient } from "./harness.ts";

const denort = Deno.env.get("DENORT_BIN");
const denortFound = denort !== undefined &&
  (await Deno.stat(denort).then((info) => info.isFile, () => false));
if (!denortFound) {
  console.log(
    "compile test skipped: no Deno runtime to build with (set DENORT_BIN to a denort binary; this machine cannot download it)",
  );
}

Deno.test({
  name: "the compiled binary serves and connects with its narrow permissions",
  ignore: !denortFound,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-compile-" });
    try {
      const binary = `${dir}/chat`;
      const build = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(binary),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(build.success, new TextDecoder().decode(build.stderr));

      await using version = new ChatProcess(["--version"], { program: binary });
      assert.equal((await version.exit()).code, 0);
      assert.match(version.stdout.lines[0], /^chat \d+\.\d+\.\d+$/);

      // The binary may read the locale: a French user gets French errors.
      await using french = new ChatProcess(["serve", "--port", "abc"], {
        program: binary,
        env: { LANG: "fr_FR.UTF-8", LC_ALL: "", LC_MESSAGES: "" },
      });
      assert.equal((await french.exit()).code, 2);
      assert.deepEqual(french.stderr.lines, [
        "chat: Port invalide « abc » : utilisez un nombre de 0 à 65535.",
      ]);

      await using server = await ChatProcess.serve([], { program: binary });
      await using watcher = await TcpClient.join(server.port, "watcher");
      await using client = new ChatProcess(
        ["connect", `127.0.0.1:${server.port}`, "--name", "binary"],
        { stdin: true, program: binary },
      );
      await client.type("compiled and chatting");
      await watcher.received.waitFor("binary: compiled and chatting");
      await client.endInput();
      assert.equal((await client.exit()).code, 0, client.stderr.text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
