/**
 * `chat connect` in a real terminal: tmux gives it a pseudo-terminal, keys
 * are typed with `send-keys` and the screen is read with `capture-pane`.
 * The client renders the server's events itself: colours from the events'
 * fields, its own name in bold, in the person's language. Skipped, with a
 * line saying so, where tmux is not installed.
 */

import assert from "node:assert/strict";
import {
  chatCommand,
  ChatProcess,
  deadline,
  TcpClient,
  WAIT_MS,
} from "./harness.ts";

const tmuxFound = await new Deno.Command("tmux", { args: ["-V"] }).output()
  .then((result) => result.success, () => false);
if (!tmuxFound) {
  console.log(
    "terminal tests skipped: tmux is not installed (apt-get install tmux)",
  );
}

/** A private tmux server with one window running a command. */
class Terminal {
  readonly #socket = `chat-test-${crypto.randomUUID()}`;

  async start(command: string[], env: Record<string, string>): Promise<void> {
    const assignments = Object.entries(env).map(([key, value]) =>
      `${key}=${shellQuote(value)}`
    );
    // The shell prints the exit status once the program ends, then waits.
    // English unless `env` says otherwise, whatever this machine's locale.
    const script = `env -u NO_COLOR -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 ${
      assignments.join(" ")
    } ${command.map(shellQuote).join(" ")}; echo "EXIT=$?"; sleep 60`;
    await this.#tmux([
      "new-session",
      "-d",
      "-x",
      "100",
      "-y",
      "30",
      script,
    ]);
  }

  /** Types text; `Enter`, `C-c` and `C-d` are keys. */
  async keys(...keys: string[]): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", ...keys]);
  }

  /** What the screen shows now; with `escapes`, including colours. */
  async screen(escapes = false): Promise<string> {
    return await this.#tmux([
      "capture-pane",
      "-p",
      ...(escapes ? ["-e"] : []),
      "-t",
      "0",
    ]);
  }

  /** Polls the screen until `test` passes; fails after the deadline. */
  async waitFor(
    what: string,
    test: (screen: string) => boolean,
    escapes = false,
  ): Promise<string> {
    let last = "";
    try {
      return await deadline(
        (async () => {
          for (let polls = 0; polls < WAIT_MS / 20; polls++) {
            last = await this.screen(escapes);
            if (test(last)) return last;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          throw new Error("gave up polling");
        })(),
        what,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; screen:\n${last}`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#tmux(["kill-server"]).catch(() => {});
  }

  async #tmux(args: string[]): Promise<string> {
    const result = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(
        `tmux ${args[0]} failed: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
    return new TextDecoder().decode(result.stdout);
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `chat connect --name alice` in the terminal and waits until the name
 * is hers (bob is already in the room).
 */
async function connectAlice(
  terminal: Terminal,
  port: number,
  env: Record<string, string> = {},
): Promise<void> {
  await terminal.start(
    chatCommand(["connect", `127.0.0.1:${port}`, "--name", "alice"]),
    { TERM: "xterm-256color", ...env },
  );
  await terminal.waitFor(
    "the welcome line",
    (screen) => screen.includes("*** Welcome, alice!"),
  );
}

/** The lines of a screen, without trailing blank ones. */
function rows(screen: string): string[] {
  return screen.trimEnd().split("\n").map((row) => row.trimEnd());
}

Deno.test({
  name:
    "at a terminal, incoming lines appear above the input line without disturbing what is typed",
  ignore: !tmuxFound,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port);
    await terminal.keys("half typed");
    await terminal.waitFor("the typed text", (s) => s.includes("> half typed"));
    await bob.send("interruption");
    const screen = await terminal.waitFor(
      "bob's line",
      (s) => s.includes("bob: interruption"),
    );
    const lines = rows(screen);
    assert.equal(lines.at(-1), "> half typed", screen);
    assert.equal(lines.at(-2), "bob: interruption", screen);

    // Enter sends the whole line; it is replaced by the server's copy.
    await terminal.keys(" and finished", "Enter");
    await bob.received.waitFor("alice: half typed and finished");
    const after = await terminal.waitFor(
      "alice's own line",
      (s) => s.includes("alice: half typed and finished"),
    );
    assert.equal(rows(after).at(-1), ">", after);
    assert.ok(!after.includes("> half typed and finished"), after);

    // Colours: names and notices are styled.
    const colored = await terminal.screen(true);
    // (tmux re-encodes colour codes, so look for one, not for ours exactly.)
    const bobRow = colored.split("\n").find((row) =>
      row.includes("bob") && row.includes(": interruption")
    );
    assert.ok(bobRow?.startsWith("\x1b["), `no colour on: ${bobRow}`);

    // History: the up arrow brings the last line back.
    await terminal.keys("Up");
    await terminal.waitFor(
      "the recalled line",
      (s) => rows(s).at(-1) === "> half typed and finished",
    );
    await terminal.keys("C-u", "C-c");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
    await bob.received.waitFor("*** alice left");
  },
});

Deno.test({
  name: "at a terminal, NO_COLOR turns colour off and Ctrl-D quits with 0",
  ignore: !tmuxFound,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port, { NO_COLOR: "1" });
    await bob.send("\x1b[31mno colour please");
    const colored = await terminal.waitFor(
      "bob's line",
      (s) => s.includes("bob: no colour please"),
      true,
    );
    const line = colored.split("\n").find((row) => row.includes("bob: no"));
    assert.equal(line?.trimEnd(), "bob: no colour please");
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal, the room password is asked for without being shown, and a wrong one ends with one line",
  ignore: !tmuxFound,
  async fn() {
    await using server = await ChatProcess.serve(["--password"], {
      env: { CHAT_PASSWORD: "open sesame" },
    });
    for (
      const [typed, admitted] of [["wrong guess", false], [
        "open sesame",
        true,
      ]] as const
    ) {
      await using terminal = new Terminal();
      await terminal.start(
        chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "alice"]),
        { TERM: "xterm-256color" },
      );
      await terminal.waitFor(
        "the password prompt",
        (s) => s.includes(`Password for the room at 127.0.0.1:${server.port}:`),
      );
      await terminal.keys(typed);
      // Typed but not sent yet: nothing of it is on the screen.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(!(await terminal.screen()).includes(typed));
      await terminal.keys("Enter");
      if (admitted) {
        const screen = await terminal.waitFor(
          "the welcome line",
          (s) => s.includes("*** Welcome, alice!"),
        );
        assert.ok(!screen.includes(typed), screen);
        await terminal.keys("C-d");
        await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
      } else {
        const screen = await terminal.waitFor(
          "exit status 1",
          (s) => s.includes("EXIT=1"),
        );
        assert.match(
          screen,
          /chat: The server at 127\.0\.0\.1:\d+ refused the password: wrong password\./,
        );
        assert.ok(!screen.includes(typed), screen);
      }
    }
  },
});

// A colour code (SGR) as tmux writes it: ESC [ parameters m.
// deno-lint-ignore no-control-regex -- matching escape codes is the point
const COLOR_CODE = /\x1b\[([0-9;]*)m/g;

/**
 * True when a row starts in bold: one of the colour codes before its first
 * character has the parameter 1 (tmux writes `\x1b[1m` or `\x1b[0;1m`).
 */
function startsBold(row: string | undefined): boolean {
  let rest = row ?? "";
  while (rest.startsWith("\x1b[")) {
    const end = rest.indexOf("m");
    if (end === -1) return false;
    if (rest.slice(2, end).split(";").includes("1")) return true;
    rest = rest.slice(end + 1);
  }
  return false;
}

/** The screen's row that contains `text`, with its colour codes. */
function rowWith(screen: string, text: string): string | undefined {
  return screen.split("\n").find((row) =>
    row.replace(COLOR_CODE, "").includes(text)
  );
}

Deno.test({
  name:
    "at a terminal, your own name is in bold, also after /nick, and other names are not",
  ignore: !tmuxFound,
  async fn() {
    await using server = await ChatProcess.serve();
    await using bob = await TcpClient.join(server.port, "bob");
    await using terminal = new Terminal();
    await connectAlice(terminal, server.port);
    await terminal.keys("first", "Enter");
    await bob.send("from bob");
    await terminal.waitFor("bob's line", (s) => s.includes("bob: from bob"));
    await terminal.keys("/nick alicia", "Enter");
    await terminal.waitFor(
      "the rename",
      (s) => s.includes("*** alice is now known as alicia"),
    );
    await terminal.keys("second", "Enter");
    const screen = await terminal.waitFor(
      "the line under the new name",
      (s) => s.includes("alicia: second"),
    );
    const colored = await terminal.screen(true);
    for (const own of ["alice: first", "alicia: second"]) {
      const row = rowWith(colored, own);
      assert.ok(startsBold(row), `not bold: ${row}\n${screen}`);
    }
    const bobRow = rowWith(colored, "bob: from bob");
    assert.ok(bobRow?.startsWith("\x1b["), `no colour on: ${bobRow}`);
    assert.ok(!startsBold(bobRow), `bold: ${bobRow}`);
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
  },
});

Deno.test({
  name:
    "at a terminal with LANG=fr_FR.UTF-8, the password prompt and the room are in French",
  ignore: !tmuxFound,
  async fn() {
    await using server = await ChatProcess.serve(
      ["--password", "--lang", "en"],
      { env: { CHAT_PASSWORD: "sésame" } },
    );
    await using terminal = new Terminal();
    await terminal.start(
      chatCommand(["connect", `127.0.0.1:${server.port}`, "--name", "alice"]),
      { TERM: "xterm-256color", LANG: "fr_FR.UTF-8" },
    );
    await terminal.waitFor(
      "the password prompt",
      (s) => s.includes(`Mot de passe du salon sur 127.0.0.1:${server.port} :`),
    );
    await terminal.keys("sésame", "Enter");
    await terminal.waitFor(
      "the welcome line",
      (s) => s.includes("*** Bienvenue, alice ! En ligne (2) : host, alice."),
    );
    await using bob = await TcpClient.connect(server.port);
    await bob.received.waitFor(() => true);
    await bob.send("/pass sésame");
    await bob.send("/nick bob");
    await bob.received.waitFor(/^\*\*\* Welcome, bob!/);
    await bob.send("salut alice");
    const screen = await terminal.waitFor(
      "bob's line",
      (s) => s.includes("bob: salut alice"),
    );
    assert.ok(screen.includes("*** bob a rejoint le salon"), screen);
    await terminal.keys("C-d");
    await terminal.waitFor("exit status 0", (s) => s.includes("EXIT=0"));
    await bob.received.waitFor("*** alice left");
  },
});
