/**
 * `mcast doctor`: why multicast does not arrive. Checks this host for one
 * group and port (interfaces, route, rp_filter, IGMP/MLD, receive buffers,
 * firewall, a self-test per interface, the TTL needed) and prints one line
 * per check: its verdict, what it found, and the fix.
 *
 * @module
 */

import { addressFamily, validateUnicast } from "../lib/address.ts";
import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { diagnose } from "../doctor/diagnose.ts";
import type { DoctorTarget } from "../doctor/facts.ts";
import { doctorExitStatus, type Finding } from "../doctor/finding.ts";
import { gatherFacts } from "../doctor/gather.ts";
import { SELF_TEST_WAIT_MS } from "../doctor/self_test.ts";
import { McastTypeError } from "../lib/errors.ts";
import { parseGroup } from "../lib/group.ts";
import { DOCTOR_TABLE } from "./doctor_flags.ts";
import { helpText, type ParsedFlags, parseFlags } from "./flag_table.ts";
import { type Io, ndjson } from "./io.ts";

/** Help for `doctor`, from its flag table. */
export const DOCTOR_HELP: string = helpText(DOCTOR_TABLE);

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
function targetOf(flags: ParsedFlags): DoctorTarget {
  const group = parseGroup(flags.text("group") ?? DEFAULT_GROUP, {
    source: flags.text("source"),
  });
  const target: DoctorTarget = {
    group: group.address,
    family: group.family,
    port: flags.value<number>("port")!,
  };
  const iface = flags.text("interface");
  if (iface !== undefined) {
    checkInterface(iface, group.family);
    target.iface = iface;
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
  const flags = parseFlags(DOCTOR_TABLE, args);
  if (flags.help) {
    io.out(DOCTOR_HELP);
    return 0;
  }
  const target = targetOf(flags);
  const json = flags.on("json");
  if (!json) {
    io.out(
      `mcast doctor: ${target.group} port ${target.port}${
        target.iface === undefined ? "" : ` on ${target.iface}`
      } on this host (self-tests wait up to ${SELF_TEST_WAIT_MS} ms each)`,
    );
  }
  const findings = diagnose(await gatherFacts(target), target);
  for (const f of findings) {
    io.out(json ? ndjson({ event: "check", ...f }) : findingLine(f));
  }
  const status = doctorExitStatus(findings);
  const count = (v: string) => findings.filter((f) => f.verdict === v).length;
  io.out(
    json
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
