/**
 * `mcast doctor`: why multicast does not arrive. Checks this host for one
 * group and port (interfaces, route, rp_filter, IGMP/MLD, receive buffers,
 * firewall, a self-test per interface, the TTL needed) and prints one line
 * per check: its verdict, what it found, and the fix.
 *
 * @module
 */

import { addressFamily, validateUnicast } from "../lib/address.ts";
import { DEFAULT_GROUP, DEFAULT_PORT } from "../lib/defaults.ts";
import { diagnose } from "../doctor/diagnose.ts";
import type { DoctorTarget } from "../doctor/facts.ts";
import { doctorExitStatus, type Finding } from "../doctor/finding.ts";
import { gatherFacts } from "../doctor/gather.ts";
import { SELF_TEST_WAIT_MS } from "../doctor/self_test.ts";
import { McastTypeError } from "../lib/errors.ts";
import { parseGroup } from "../lib/group.ts";
import { validatePort } from "../lib/numbers.ts";
import { type Flags, parse } from "./args.ts";
import { type Io, ndjson } from "./io.ts";
import { UsageError } from "./usage_error.ts";

/** Help for `doctor`. */
export const DOCTOR_HELP = `Usage: mcast doctor [options]

Checks whether multicast to a group and port can work on this host, and
if not, why: one line per check with its verdict (ok, warn, fail), what it
found and the fix. Exit status 0 when multicast can work as asked, 1 when
it cannot, 2 for bad usage.

Checks: interfaces (up, MULTICAST, addressed: the candidates for -i), the
route the group leaves by, rp_filter, forced IGMP/MLD versions and current
memberships, net.core.rmem_max, firewall rules (nft, iptables) that drop
UDP to the port or IGMP, a self-test on each candidate interface (join,
send with loopback and TTL 0, receive: nothing leaves this host), and the
TTL needed to cross routers.

Options:
  -g, --group ADDR       multicast group (default ${DEFAULT_GROUP})
  -p, --port N           UDP port (default ${DEFAULT_PORT})
  -i, --interface IF     check this interface, by address or name, as
                         send -i and listen -i would use it (default: the
                         OS's choice, and every candidate)
      --source ADDR      the sender you expect: checks the route back to it
                         (rp_filter) and firewall rules on it
      --json             NDJSON output: one "check" event per line, then a
                         "summary"
  -h, --help             show this help

Firewall rules and some /proc files are readable by root only: run doctor
as root to check them. deno task doctor runs it with only what it needs
(see the README's "When nothing arrives").`;

const FLAGS: Flags = {
  group: { type: "string", short: "g" },
  port: { type: "string", short: "p" },
  interface: { type: "string", short: "i" },
  source: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

function checkInterface(spec: string, family: DoctorTarget["family"]): void {
  const zoneless = spec.split("%")[0];
  if (addressFamily(zoneless) !== undefined) {
    const given = validateUnicast(zoneless, "interface");
    if (given !== family) {
      throw new McastTypeError(
        "ERR_INVALID_INTERFACE",
        `Invalid interface "${spec}": an ${given} address cannot serve an ${family} group`,
      );
    }
    return;
  }
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(spec)) {
    throw new McastTypeError(
      "ERR_INVALID_INTERFACE",
      `Invalid interface "${spec}": neither an IP address nor an interface name`,
    );
  }
}

/** Reads and checks the command line into a target. */
function targetOf(values: Record<string, unknown>): DoctorTarget {
  const source = typeof values.source === "string" ? values.source : undefined;
  const group = parseGroup(String(values.group ?? DEFAULT_GROUP), { source });
  const target: DoctorTarget = {
    group: group.address,
    family: group.family,
    port: validatePort(values.port ?? DEFAULT_PORT),
  };
  if (typeof values.interface === "string") {
    checkInterface(values.interface, group.family);
    target.iface = values.interface;
  }
  if (group.source !== undefined) target.source = group.source;
  return target;
}

/** One finding as a person reads it. */
export function findingLine(f: Finding): string {
  const fix = f.fix === undefined ? "" : `  fix: ${f.fix}`;
  return `${f.verdict.padEnd(4)}  ${f.check.padEnd(10)}  ${f.found}${fix}`;
}

function summaryLine(target: DoctorTarget, findings: Finding[]): string {
  const what = `multicast to ${target.group} port ${target.port}${
    target.iface === undefined ? "" : ` on ${target.iface}`
  }`;
  const failed = findings.filter((f) => f.verdict === "fail");
  const warned = findings.filter((f) => f.verdict === "warn").length;
  const warnings = warned === 0
    ? ""
    : ` (${warned} warning${warned === 1 ? "" : "s"})`;
  if (failed.length === 0) return `${what} can work on this host${warnings}`;
  const names = [...new Set(failed.map((f) => f.check))].join(", ");
  return `${what} cannot work on this host: ${failed.length} check${
    failed.length === 1 ? "" : "s"
  } failed (${names})${warnings}`;
}

/** Runs `doctor`; returns 0 when multicast can work as asked, 1 when it cannot. */
export async function doctorCommand(
  args: string[],
  io: Io,
  _signal: AbortSignal,
): Promise<number> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) {
    io.out(DOCTOR_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument "${positionals[0]}": doctor takes only options`,
    );
  }
  const target = targetOf(values);
  if (!values.json) {
    io.out(
      `mcast doctor: ${target.group} port ${target.port}${
        target.iface === undefined ? "" : ` on ${target.iface}`
      } on this host (self-tests wait up to ${SELF_TEST_WAIT_MS} ms each)`,
    );
  }
  const findings = diagnose(await gatherFacts(target), target);
  for (const f of findings) {
    io.out(values.json ? ndjson({ event: "check", ...f }) : findingLine(f));
  }
  const status = doctorExitStatus(findings);
  const count = (v: string) => findings.filter((f) => f.verdict === v).length;
  io.out(
    values.json
      ? ndjson({
        event: "summary",
        group: target.group,
        port: target.port,
        interface: target.iface ?? null,
        source: target.source ?? null,
        ok: count("ok"),
        warn: count("warn"),
        fail: count("fail"),
        works: status === 0,
      })
      : summaryLine(target, findings),
  );
  return status;
}
