/**
 * The command line of `chat serve --web [PORT]`: an option whose value may
 * be left out, which `parseArgs` does not know.
 *
 * @module
 */

/** The web port when `--web` is given without one. */
export const DEFAULT_WEB_PORT = 8080;

const DIGITS = /^\d+$/;

/**
 * `args` with `--web` given a value `parseArgs` can read: `--web 8081`
 * becomes `--web=8081`, and `--web` alone (last, or before another option)
 * becomes `--web=` (the default port). `--web=PORT` stays as it is. Only
 * digits are taken as the port: `serve` takes no other argument, so
 * `--web foo` is still an error about `foo`. Nothing after `--` changes.
 *
 * @example
 * ```ts
 * import { withWebValue } from "./web_cli.ts";
 * withWebValue(["--web", "8081", "--no-qr"]); // ["--web=8081", "--no-qr"]
 * withWebValue(["--web", "--port", "5001"]); // ["--web=", "--port", "5001"]
 * ```
 */
export function withWebValue(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (arg !== "--web") {
      out.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && DIGITS.test(next)) {
      out.push(`--web=${next}`);
      i++;
    } else {
      out.push("--web=");
    }
  }
  return out;
}
