/**
 * `mcast demo`'s flag table: only `--help` (see `flag_table.ts`).
 *
 * @module
 */

import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { HELP_FLAG } from "./common_flags.ts";
import type { CommandTable } from "./flag_table.ts";

/**
 * The demo pads its request (as `send --pad 512` does): a listener answers
 * with at most 3x the request's size, and a status document is ~150 bytes.
 */
export const DEMO_PAD = 512;

/** The flags of `mcast demo` (none but `--help`) and its help. */
export const DEMO_TABLE: CommandTable = {
  name: "demo",
  usage: "",
  about:
    `Starts three listeners (ack, echo, status) on ${DEFAULT_GROUP}, joined on the loopback interface 127.0.0.1 only, sends them one message with TTL 1, padded to ${DEMO_PAD} bytes so that the status document fits the listeners' reply cap (3x the request), and prints every reply. Nothing leaves this host.`,
  positionals: true,
  sections: [{ id: "options", heading: "Options:" }],
  flags: { help: { ...HELP_FLAG, help: undefined } },
  launch: { net: "net", sys: ["hostname", "networkInterfaces"] },
};
