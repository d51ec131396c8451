/**
 * `mcast send`'s flag table: what its parser, its `--help` and the
 * launcher's permissions read (see `flag_table.ts`).
 *
 * @module
 */

import { DEFAULT_GROUP, DEFAULT_RECEIVE_BYTES } from "../lib/defaults.ts";
import { parseDuration } from "../lib/duration.ts";
import { validateCount } from "../lib/numbers.ts";
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
  METRICS_FLAG,
  PORT_FLAG,
  QUIET_FLAG,
  RECV_BUFFER_FLAG,
  SEND_TRANSPORT_FLAG,
  TTL_FLAG,
} from "./common_flags.ts";
import { METRICS_EXAMPLE_ADDRESS } from "./metrics/address.ts";
import { DEFAULT_MESSAGE } from "./default_message.ts";
import type { CommandTable } from "./flag_table.ts";

/** A whole number >= 0, naming the flag. */
const wholeNumber = (value: string, flag: string) =>
  numberFlag(flag, value, true);

/** The flags of `mcast send`, its help and what the launcher grants it. */
export const SEND_TABLE: CommandTable = {
  name: "send",
  usage: "[options] [message]",
  about:
    "Multicast a message to a group and print every reply that arrives before the timeout, then a table of the responders. Exit status: 0 if at least one reply came (from every group; as expected, with --expect), 1 if none, 2 for bad usage.",
  positionals: true,
  sections: [{ id: "options", heading: "Options:" }],
  flags: {
    group: {
      ...GROUP_FLAG,
      multiple: true,
      help:
        `multicast group (default ${DEFAULT_GROUP}); repeat it to send to several groups at once, reported per group`,
    },
    port: PORT_FLAG,
    ttl: TTL_FLAG,
    interface: {
      ...INTERFACE_FLAG,
      help: "outgoing interface, address or name (default: OS route)",
    },
    timeout: {
      type: "string",
      short: "w",
      value: "D",
      default: "1s",
      check: (value) => parseDuration(value, "timeout"),
      help:
        "wait this long for replies after the last send (default {default})",
    },
    count: {
      type: "string",
      short: "c",
      value: "N",
      default: "1",
      check: (value) => validateCount(value),
      help: "messages to send (default {default}; 0 = until Ctrl-C)",
    },
    interval: {
      type: "string",
      value: "D",
      check: (value) => parseDuration(value, "interval"),
      help:
        "time between messages (default 1s); 0: as fast as the socket takes them (ffi: sendmmsg batches), for load",
    },
    rate: {
      type: "string",
      value: "R",
      check: (value, flag) => value === "max" ? "max" : numberFlag(flag, value),
      help: "messages per second (instead of --interval); max is --interval 0",
    },
    seq: {
      type: "boolean",
      help:
        "number the requests: per-responder loss (over the run, and from its first reply on, as omping's seq>=N), duplicates, reordering, RTT min/p50/p90/p99/p99.9/max/avg/stddev and jitter in the summary; a request whose wait (-w) ran out without a known responder's reply is a \"lost\" event with --json",
    },
    pad: {
      type: "string",
      value: "N",
      check: wholeNumber,
      help:
        "pad each request to N bytes (0-65507): a listener answers with at most 3x its request's size, so ask for a larger reply (status: --pad 512) by padding",
    },
    expect: {
      type: "string",
      value: "N",
      check: wholeNumber,
      help:
        "stop as soon as N distinct responders (addresses) answered (in each group); exit 1 if fewer did. With --count, each request's round ends as soon as they answered it",
    },
    "expect-from": {
      type: "string",
      value: "ADDR",
      multiple: true,
      help:
        "wait for this responder too (repeatable); the summary names those that did not answer, and the exit is 1",
    },
    report: {
      type: "string",
      value: "FILE.html",
      implies: "write",
      help:
        "write one self-contained HTML page of the run: per responder, RTT over time with lost requests marked, an RTT histogram, and the responder table (best with --seq)",
    },
    "report-every": {
      type: "string",
      value: "D",
      check: durationAtLeast(100, "100ms"),
      help:
        'a line per interval D (such as 1s) per responder, the most lossy first (past 20 responders, the 10 most lossy and a count of the rest): requests, replies, lost (with --seq: its wait ran out), RTT p50/p99/max in the interval (--json: an "interval" event)',
    },
    "rtt-log": {
      type: "string",
      value: "FILE.csv",
      implies: "write",
      help:
        "write a row per request and responder as the run goes (seq, send time, responder, RTT; the RTT empty when the wait ran out, with --seq), like sockperf's --full-log; one group only",
    },
    metrics: {
      ...METRICS_FLAG,
      help:
        `serve Prometheus metrics at http://HOST:PORT/metrics (such as ${METRICS_EXAMPLE_ADDRESS}) while the run goes on (-c 0 or a long --count): requests, and per responder replies, losses and the RTT histogram`,
    },
    quiet: {
      ...QUIET_FLAG,
      help:
        "print only the summary (and the progress line); without it a line per reply while at most 20 come a second, then a line a second (sent, replies) until fewer do",
    },
    codec: CODEC_FLAG,
    "allow-import": ALLOW_IMPORT_FLAG,
    "allow-read": ALLOW_READ_FLAG,
    "no-loopback": {
      type: "boolean",
      help:
        "do not deliver to listeners on this host (no effect when sending through lo: the kernel loops lo anyway)",
    },
    "key-file": {
      ...KEY_FILE_FLAG,
      help: "sign requests with this key (HMAC-SHA256), verify replies",
    },
    "reply-buffer": {
      type: "string",
      value: "N",
      default: String(DEFAULT_RECEIVE_BYTES),
      check: wholeNumber,
      help:
        "bytes set aside for each reply: the largest reply taken whole, 1-65536 (default {default}); a larger one is shown cut, later ones arrive whole",
    },
    "recv-buffer": {
      ...RECV_BUFFER_FLAG,
      help:
        "the socket's receive buffer for replies, such as 512K or 32M (ffi transport only; default 32M, which the kernel caps at net.core.rmem_max unless run as root): room for the replies of many responders at once",
    },
    // A listener's --max-reply-bytes is its reply cap; send's old name for
    // --reply-buffer would read as the same thing and is not.
    "max-reply-bytes": {
      type: "string",
      retired:
        "send --max-reply-bytes is retired: use --reply-buffer N, the bytes set aside for each reply (--max-reply-bytes is a listener's reply cap)",
    },
    json: JSON_FLAG,
    transport: SEND_TRANSPORT_FLAG,
    help: HELP_FLAG,
  },
  footer:
    `Durations: 500ms, 2s, 1m, or a bare number of milliseconds.\nMessage default: "${DEFAULT_MESSAGE}".`,
  launch: { net: "net", sys: ["networkInterfaces"], ffiByDefault: true },
};
