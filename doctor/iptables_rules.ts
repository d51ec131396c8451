/**
 * Reads `iptables-save` and `ip6tables-save` into doctor's firewall rules
 * (`firewall_rules.ts`): protocol (`-p`), ports (`--dport`, `--dports`),
 * addresses (`-d`, `-s`), input interface (`-i`), each maybe negated with
 * `!`, and the target (`-j DROP`, `REJECT`, `ACCEPT`). Any other option is
 * an unknown condition (`maybe`). Pure.
 *
 * @module
 */

import type {
  ChainPolicy,
  FirewallRule,
  RuleHook,
  RuleMatch,
  Ruleset,
  RuleValue,
} from "./firewall_rules.ts";

const BUILT_IN: Record<string, RuleHook> = {
  INPUT: "input",
  PREROUTING: "prerouting",
  OUTPUT: "output",
  POSTROUTING: "postrouting",
  FORWARD: "forward",
};

/** Options that take no part in what a rule matches, with how many values they take. */
const IGNORED: Record<string, number> = {
  "-m": 1,
  "--comment": 1,
  "--reject-with": 1,
};

/** Splits a rule's words, keeping "quoted words" whole. */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] ?? m[2]
  );
}

function ports(text: string): RuleValue[] {
  return text.split(",").map((part) => {
    const [from, to] = part.split(":").map(Number);
    return to === undefined
      ? { kind: "number", value: from }
      : { kind: "range", from, to };
  });
}

function address(text: string): RuleValue[] {
  return text.split(",").map((part) => {
    const [address, length] = part.split("/");
    return length === undefined || !/^\d+$/.test(length)
      ? { kind: "text", value: address }
      : { kind: "prefix", address, length: Number(length) };
  });
}

const FIELDS: Record<
  string,
  [Exclude<RuleMatch["field"], "unknown">, (text: string) => RuleValue[]]
> = {
  "-p": ["protocol", (t) => [{ kind: "text", value: t }]],
  "--protocol": ["protocol", (t) => [{ kind: "text", value: t }]],
  "--dport": ["dport", ports],
  "--destination-port": ["dport", ports],
  "--dports": ["dport", ports],
  "--destination-ports": ["dport", ports],
  "-d": ["daddr", address],
  "--destination": ["daddr", address],
  "-s": ["saddr", address],
  "--source": ["saddr", address],
  "-i": ["iif", (t) => [{ kind: "text", value: t }]],
  "--in-interface": ["iif", (t) => [{ kind: "text", value: t }]],
};

/** The conditions and target of one `-A CHAIN ...` line's words. */
function readRule(
  args: string[],
): { matches: RuleMatch[]; target: string | undefined } {
  const matches: RuleMatch[] = [];
  let target: string | undefined;
  let negate = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "!") {
      negate = true;
      continue;
    }
    if (arg === "-j" || arg === "--jump" || arg === "-g" || arg === "--goto") {
      target = args[++i];
    } else if (arg in IGNORED) {
      i += IGNORED[arg];
    } else if (arg in FIELDS) {
      const [field, values] = FIELDS[arg];
      matches.push({ field, negate, values: values(args[++i] ?? "") });
    } else if (arg.startsWith("-")) {
      // An option doctor does not know, and its values.
      let text = arg;
      while (args[i + 1] !== undefined && !args[i + 1].startsWith("-")) {
        text += ` ${args[++i]}`;
      }
      matches.push({ field: "unknown", text: negate ? `! ${text}` : text });
    }
    negate = false;
  }
  return { matches, target };
}

function verdictOf(target: string | undefined): FirewallRule["verdict"] {
  if (target === "DROP") return "drop";
  if (target === "REJECT") return "reject";
  if (target === "ACCEPT") return "accept";
  return "other";
}

/**
 * Parses what `iptables-save` (or `ip6tables-save`) printed.
 *
 * @param text Its output.
 * @param family `ip` for iptables, `ip6` for ip6tables.
 * @returns Its rules and the policies of its built-in chains.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIptablesSave } from "./iptables_rules.ts";
 * const { rules, policies } = parseIptablesSave(
 *   "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp -m udp --dport 5000 -j DROP\nCOMMIT\n",
 *   "ip",
 * );
 * assert.equal(rules[0].verdict, "drop");
 * assert.equal(rules[0].remove, "iptables -D INPUT -p udp -m udp --dport 5000 -j DROP");
 * assert.equal(policies[0].policy, "drop");
 * ```
 */
export function parseIptablesSave(text: string, family: "ip" | "ip6"): Ruleset {
  const tool = family === "ip" ? "iptables" : "ip6tables";
  const rules: FirewallRule[] = [];
  const policies: ChainPolicy[] = [];
  let table = "filter";
  for (const line of text.split("\n")) {
    const tableLine = /^\*(\S+)/.exec(line);
    if (tableLine) table = tableLine[1];
    const t = table === "filter" ? "" : `-t ${table} `;
    const policy = /^:(\S+) (ACCEPT|DROP)/.exec(line);
    if (policy && policy[1] in BUILT_IN) {
      policies.push({
        family,
        table,
        chain: policy[1],
        hook: BUILT_IN[policy[1]],
        policy: policy[2].toLowerCase(),
        allow: (c) => `${tool} ${t}-I ${policy[1]} ${c.iptables} -j ACCEPT`,
      });
    }
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule) continue;
    const { matches, target } = readRule(words(rule[2]));
    rules.push({
      family,
      table,
      chain: rule[1],
      hook: BUILT_IN[rule[1]] ?? "none",
      verdict: verdictOf(target),
      matches,
      text: `-A ${rule[1]} ${rule[2]}`,
      remove: `${tool} ${t}-D ${rule[1]} ${rule[2]}`,
    });
  }
  return { rules, policies };
}
