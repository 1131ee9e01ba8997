/**
 * The benchmark's scenarios, in their full and `--quick` forms.
 *
 * @module
 */

/** One load to put on a server. */
export interface Scenario {
  name: string;
  /** One line for the report. */
  description: string;
  /** Clients that read everything they are sent. */
  clients: number;
  /** The first `senders` clients send. */
  senders: number;
  /** Lines per second per sender; 0 means as fast as the socket takes them. */
  rate: number;
  /** How long the load lasts (for `idle`, how long the clients sit). */
  seconds: number;
  /** Extra clients that join, then never read again. */
  stalled: number;
}

/** Names of the scenarios, in the order they run. */
export const SCENARIO_NAMES = [
  "small",
  "class",
  "hall",
  "saturate",
  "stalled",
  "idle",
] as const;

function scenario(
  name: string,
  clients: number,
  senders: number,
  rate: number,
  seconds: number,
  stalled = 0,
): Scenario {
  const load = senders === 0
    ? "no one sends"
    : `${senders} senders x ${rate === 0 ? "full speed" : `${rate} lines/s`}`;
  return {
    name,
    description: `${clients} clients${
      stalled ? ` + ${stalled} that never read` : ""
    }, ${load}, ${seconds} s`,
    clients,
    senders,
    rate,
    seconds,
    stalled,
  };
}

/**
 * The scenarios of the issue. `stalled` runs longer than the others: a
 * never-reading client first fills about 4 MB of kernel buffers (the server's
 * send buffer grows to `tcp_wmem`'s 4 MiB), and only then does a server's
 * own queue start to grow, so the run must push more than that to each.
 */
export function scenarios(quick: boolean): Scenario[] {
  return quick
    ? [
      scenario("small", 10, 10, 100, 2),
      scenario("class", 100, 10, 100, 3),
      scenario("hall", 1000, 5, 20, 3),
      scenario("saturate", 50, 5, 0, 2),
      scenario("stalled", 100, 10, 100, 4, 20),
      scenario("idle", 2000, 0, 0, 1),
    ]
    : [
      scenario("small", 10, 10, 100, 10),
      scenario("class", 100, 10, 100, 10),
      scenario("hall", 1000, 5, 20, 10),
      scenario("saturate", 50, 5, 0, 5),
      scenario("stalled", 100, 10, 100, 60, 20),
      scenario("idle", 2000, 0, 0, 5),
    ];
}
