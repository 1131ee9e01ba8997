/**
 * `deno task dist`: builds the standalone `chat` binary for every platform a
 * classroom is likely to have, plus `SHA256SUMS` so classmates can check
 * what they were sent. Each binary gets exactly the permissions of
 * `deno task compile`.
 *
 * `deno compile` needs Deno's `denort` runtime for each target, which it
 * downloads; on a machine without that access the build stops with a
 * message saying so.
 *
 * @module
 */

import denoConfig from "../deno.json" with { type: "json" };

/** The `--allow-*` flags of `deno task compile`: the binary's permissions. */
export const PERMISSION_FLAGS: string[] = denoConfig.tasks.compile
  .split(/\s+/)
  .filter((word) => word.startsWith("--allow-"));

/** Deno target triple and the file name its binary gets in `dist/`. */
export const TARGETS: [target: string, file: string][] = [
  ["x86_64-unknown-linux-gnu", "chat-linux-x64"],
  ["aarch64-unknown-linux-gnu", "chat-linux-arm64"],
  ["x86_64-apple-darwin", "chat-macos-x64"],
  ["aarch64-apple-darwin", "chat-macos-arm64"],
  ["x86_64-pc-windows-msvc", "chat-windows-x64.exe"],
];

/**
 * Arguments for `deno compile` building `chat` into `output`, for `target`
 * (this machine when omitted), with the binary's permissions.
 */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    "--quiet",
    ...PERMISSION_FLAGS,
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    new URL("../main.ts", import.meta.url).pathname,
  ];
}

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    await Deno.readFile(path),
  );
  return [...new Uint8Array(digest)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

if (import.meta.main) {
  await Deno.mkdir("dist", { recursive: true });
  const sums: string[] = [];
  for (const [target, file] of TARGETS) {
    console.log(`Building dist/${file} (${target})`);
    const result = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(`dist/${file}`, target),
      stdout: "inherit",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!result.success) {
      // deno compile explains itself as a chain of causes; the last one
      // (before any backtrace) is the root of it.
      const lines = new TextDecoder().decode(result.stderr).split("\n");
      const causes = lines
        .map((line) => /^\s*\d+: (.+)$/.exec(line)?.[1].trim())
        .filter((cause) => cause && cause !== "<unknown>");
      const why = causes.at(-1) ?? lines[0];
      console.error(
        `chat dist: could not build ${target}: ${why}\n` +
          "deno compile downloads the Deno runtime for each target; " +
          "run this where that download is possible.",
      );
      Deno.exit(1);
    }
    sums.push(`${await sha256Hex(`dist/${file}`)}  ${file}`);
  }
  await Deno.writeTextFile("dist/SHA256SUMS", sums.join("\n") + "\n");
  console.log("Wrote dist/SHA256SUMS:\n" + sums.join("\n"));
}
