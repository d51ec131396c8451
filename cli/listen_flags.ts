/**
 * `mcast listen`'s flag table: what its parser, its `--help` and the
 * launcher's permissions read (see `flag_table.ts`).
 *
 * @module
 */

import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { parseDuration } from "../lib/duration.ts";
import { numberFlag } from "./args.ts";
import {
  ALLOW_IMPORT_FLAG,
  ALLOW_READ_FLAG,
  CODEC_FLAG,
  durationAtLeast,
  GROUP_FLAG,
  HELP_FLAG,
  INTERFACE_FLAG,
  JSON_FLAG,
  KEY_FILE_FLAG,
  LISTEN_TRANSPORT_FLAG,
  METRICS_FLAG,
  PORT_FLAG,
  QUIET_FLAG,
  RECV_BUFFER_FLAG,
  SOURCE_FLAG,
} from "./common_flags.ts";
import type { CommandTable } from "./flag_table.ts";
import { METRICS_EXAMPLE_ADDRESS } from "./metrics/address.ts";
import { READABLE_LINES_PER_SECOND } from "./readable_rate.ts";
import { UsageError } from "./usage_error.ts";

/** A number >= 0 (`--rate-limit`, `--global-rate`). */
const rate = (value: string, flag: string) => numberFlag(flag, value);

/** The flags of `mcast listen`, its help and what the launcher grants it. */
export const LISTEN_TABLE: CommandTable = {
  name: "listen",
  usage: "[options]",
  about:
    "Join a multicast group and answer every datagram with a responder plugin. Ctrl-C, SIGTERM or SIGHUP leaves the group, closes the socket and prints a summary (exit status 0); a second one exits at once (130 for Ctrl-C).",
  positionals: false,
  sections: [
    { id: "options", heading: "Options:" },
    {
      id: "output",
      heading:
        `Output and stopping (a line per message is printed while there are at most ${READABLE_LINES_PER_SECOND} lines a second; when more come, listen says so and prints a line a second instead, every datagram still answered and counted, and goes back to a line per message after a second with ${READABLE_LINES_PER_SECOND} or fewer; --json prints every event):`,
    },
    {
      id: "safety",
      heading:
        'Safety (defaults are safe; see the README\'s "Safety" section):',
    },
    { id: "receive", heading: "Receive path:" },
  ],
  flags: {
    group: {
      ...GROUP_FLAG,
      multiple: true,
      help:
        `multicast group (default ${DEFAULT_GROUP}); repeat it to join several groups on one port, counted per group`,
    },
    port: PORT_FLAG,
    interface: {
      ...INTERFACE_FLAG,
      help: "join on this interface, address or name (default: OS choice)",
    },
    source: SOURCE_FLAG,
    plugin: {
      type: "string",
      value: "NAME",
      default: "ack",
      implies: "responder",
      help:
        "responder: ack, echo, status, silent, a path or a URL (default {default}); status answers with ~150 bytes of JSON: a sender asks for it with send --pad 512 (replies are at most 3x the request, see Safety)",
    },
    option: {
      type: "string",
      value: "KEY=VALUE",
      multiple: true,
      help: "option for the responder (repeatable)",
    },
    codec: CODEC_FLAG,
    "allow-import": ALLOW_IMPORT_FLAG,
    "allow-read": ALLOW_READ_FLAG,
    json: JSON_FLAG,
    transport: LISTEN_TRANSPORT_FLAG,
    help: HELP_FLAG,
    quiet: {
      ...QUIET_FLAG,
      section: "output",
      help:
        "print only the ready line and the summary (and the interval lines --report-every asks for)",
    },
    "report-every": {
      type: "string",
      value: "D",
      section: "output",
      check: durationAtLeast(100, "100ms"),
      help:
        'a line per interval D (such as 1s): received and replied per second, and each drop counter that grew (--json: an "interval" event)',
    },
    count: {
      type: "string",
      short: "c",
      value: "N",
      section: "output",
      check: (value, flag) => {
        const count = numberFlag(flag, value, true)!;
        if (count === 0) {
          throw new UsageError(
            `Invalid --${flag} "${value}": must be at least 1 datagram`,
          );
        }
        return count;
      },
      help: "stop after N datagrams have arrived, with the summary",
    },
    duration: {
      type: "string",
      value: "D",
      section: "output",
      check: durationAtLeast(1, "1ms"),
      help: "stop after D (such as 30s or 5m), with the summary",
    },
    metrics: {
      ...METRICS_FLAG,
      section: "output",
      help:
        `serve Prometheus metrics at http://HOST:PORT/metrics (such as ${METRICS_EXAMPLE_ADDRESS}): datagrams, replies and drops by reason, read from the counters at each scrape`,
    },
    "allow-from": {
      type: "string",
      value: "CIDR",
      multiple: true,
      section: "safety",
      help:
        "answer senders in this range (repeatable; default: the subnets this host is directly connected to)",
    },
    "max-reply-bytes": {
      type: "string",
      value: "N",
      section: "safety",
      check: (value, flag) => numberFlag(flag, value, true),
      help:
        "allow replies up to N bytes even when more than 3x the request (default 0: never more than 3x the request)",
    },
    "rate-limit": {
      type: "string",
      value: "R",
      section: "safety",
      check: rate,
      help: "replies per second to one source (default 10; 0 = off)",
    },
    burst: {
      type: "string",
      value: "B",
      section: "safety",
      check: (value, flag) => {
        const burst = numberFlag(flag, value)!;
        if (burst < 1) {
          throw new UsageError(
            `Invalid --${flag} "${value}": must be at least 1 (a burst below 1 never lets a reply through; --rate-limit 0 turns the per-source limit off)`,
          );
        }
        return burst;
      },
      help: "replies one source may get at once, at least 1 (default 2 x rate)",
    },
    "global-rate": {
      type: "string",
      value: "R",
      section: "safety",
      check: rate,
      help: "replies per second in total (default 1000; 0 = off)",
    },
    jitter: {
      type: "string",
      value: "D",
      section: "safety",
      check: (value) => parseDuration(value, "jitter"),
      help: "delay each reply by a random 0..D (default 0)",
    },
    "key-file": {
      ...KEY_FILE_FLAG,
      section: "safety",
      help:
        "require requests signed with this key (HMAC-SHA256) and sign replies",
    },
    "recv-buffer": {
      ...RECV_BUFFER_FLAG,
      section: "receive",
      help:
        "the socket's receive buffer, such as 512K or 32M (ffi transport only; default 32M, which the kernel caps at net.core.rmem_max unless run as root); the ready line shows what the kernel granted",
    },
  },
  launch: {
    // A feature flag, not a permission: lets listen use Deno.listenDatagram.
    features: ["--unstable-net"],
    net: "net",
    // The subnets of the default --allow-from, -i by name, and the status
    // responder's host name.
    sys: ["networkInterfaces", "hostname"],
    ffiByDefault: true,
  },
};
