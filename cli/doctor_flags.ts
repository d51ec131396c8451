/**
 * `mcast doctor`'s flag table: what its parser, its `--help` and the
 * launcher's permissions read (see `flag_table.ts`).
 *
 * @module
 */

import { DOCTOR_PROGRAMS } from "../doctor/programs.ts";
import {
  GROUP_FLAG,
  HELP_FLAG,
  INTERFACE_FLAG,
  JSON_FLAG,
  PORT_FLAG,
  SOURCE_FLAG,
} from "./common_flags.ts";
import type { CommandTable } from "./flag_table.ts";

/** The flags of `mcast doctor`, its help and what the launcher grants it. */
export const DOCTOR_TABLE: CommandTable = {
  name: "doctor",
  usage: "[options]",
  about:
    "Checks whether multicast to a group and port can work on this host, and if not, why: one line per check with its verdict (ok, warn, fail), what it found and the fix. Exit status 0 when multicast can work as asked, 1 when it cannot, 2 for bad usage.\n\nChecks: interfaces (up, MULTICAST, addressed: the candidates for -i), the route the group leaves by, rp_filter, forced IGMP/MLD versions and current memberships, net.core.rmem_max, firewall rules (nft, iptables) that drop UDP to the port or IGMP, a self-test on each candidate interface (join, send with loopback and TTL 0, receive: nothing leaves this host), and the TTL needed to cross routers.",
  positionals: false,
  sections: [{ id: "options", heading: "Options:" }],
  flags: {
    group: GROUP_FLAG,
    port: PORT_FLAG,
    interface: {
      ...INTERFACE_FLAG,
      help:
        "check this interface, by address or name, as send -i and listen -i would use it (default: the OS's choice, and every candidate)",
    },
    source: {
      ...SOURCE_FLAG,
      help:
        "the sender you expect: checks the route back to it (rp_filter) and firewall rules on it",
    },
    json: {
      ...JSON_FLAG,
      help: 'NDJSON output: one "check" event per line, then a "summary"',
    },
    help: HELP_FLAG,
  },
  footer:
    'Firewall rules and some /proc files are readable by root only: run doctor as root to check them. deno task doctor runs it with only what it needs (see the README\'s "When nothing arrives").',
  launch: {
    // The programs it asks, and FFI where it works: its self-test sends
    // with TTL 0, which only the FFI transport can, and it reads
    // /proc/sys/net and /proc/net through libc, since Deno reads under
    // /proc only with --allow-all. Elsewhere the network, for a
    // node:dgram self-test with TTL 1.
    run: DOCTOR_PROGRAMS,
    net: "ffi-else-net",
    // --allow-run names programs that may be missing (nft): without
    // --quiet, Deno says so on stderr before doctor does.
    quiet: true,
  },
};
