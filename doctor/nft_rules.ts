/**
 * Reads `nft -j list ruleset` into doctor's firewall rules
 * (`firewall_rules.ts`): the conditions it understands (protocol, port,
 * addresses, input interface, as values, sets, ranges and prefixes), the
 * verdict, and the command that deletes each rule. Anything else in a
 * rule is an unknown condition (`maybe`). Pure.
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

type Json = Record<string, unknown>;

const HOOKS = new Set([
  "input",
  "prerouting",
  "ingress",
  "output",
  "postrouting",
  "forward",
]);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function valuesOf(right: unknown): RuleValue[] | undefined {
  if (typeof right === "number") return [{ kind: "number", value: right }];
  if (typeof right === "string") return [{ kind: "text", value: right }];
  if (!isObject(right)) return undefined;
  if (Array.isArray(right.set)) {
    const all = right.set.map(valuesOf);
    return all.some((v) => v === undefined)
      ? undefined
      : all.flat() as RuleValue[];
  }
  const range = right.range;
  if (
    Array.isArray(range) && typeof range[0] === "number" &&
    typeof range[1] === "number"
  ) {
    return [{ kind: "range", from: range[0], to: range[1] }];
  }
  const prefix = right.prefix;
  if (
    isObject(prefix) && typeof prefix.addr === "string" &&
    typeof prefix.len === "number"
  ) {
    return [{ kind: "prefix", address: prefix.addr, length: prefix.len }];
  }
  return undefined;
}

/** The fields doctor understands on the left of an nft match. */
function fieldOf(left: unknown): RuleMatch["field"] | "l4" | undefined {
  if (!isObject(left)) return undefined;
  const payload = left.payload;
  if (isObject(payload)) {
    if (payload.field === "dport") return "dport";
    if (
      payload.field === "daddr" &&
      (payload.protocol === "ip" || payload.protocol === "ip6")
    ) return "daddr";
    if (
      payload.field === "saddr" &&
      (payload.protocol === "ip" || payload.protocol === "ip6")
    ) return "saddr";
    if (payload.field === "protocol" || payload.field === "nexthdr") {
      return "protocol";
    }
    return undefined;
  }
  const meta = left.meta;
  if (isObject(meta)) {
    if (meta.key === "l4proto") return "protocol";
    if (meta.key === "iifname" || meta.key === "iif") return "iif";
  }
  return undefined;
}

/** The conditions one nft match expression makes. */
function matchesOf(match: Json): RuleMatch[] {
  const text = renderMatch(match);
  const op = match.op ?? "==";
  const field = fieldOf(match.left);
  const values = valuesOf(match.right);
  if (
    field === undefined || field === "unknown" || field === "l4" ||
    values === undefined || (op !== "==" && op !== "!=" && op !== "in")
  ) {
    return [{ field: "unknown", text }];
  }
  const out: RuleMatch[] = [{ field, negate: op === "!=", values }];
  // `udp dport 5000` also says the protocol is UDP.
  const payload = (match.left as Json).payload as Json | undefined;
  const protocol = payload?.protocol;
  if (field === "dport" && (protocol === "udp" || protocol === "tcp")) {
    out.unshift({
      field: "protocol",
      negate: false,
      values: [{ kind: "text", value: protocol }],
    });
  }
  return out;
}

function renderValue(value: unknown): string {
  if (typeof value === "string" || typeof value === "number") {
    return String(value);
  }
  if (!isObject(value)) return JSON.stringify(value);
  if (Array.isArray(value.set)) {
    return `{ ${value.set.map(renderValue).join(", ")} }`;
  }
  if (Array.isArray(value.range)) return `${value.range[0]}-${value.range[1]}`;
  const prefix = value.prefix;
  if (isObject(prefix)) return `${prefix.addr}/${prefix.len}`;
  return JSON.stringify(value);
}

function renderLeft(left: unknown): string {
  if (!isObject(left)) return renderValue(left);
  const payload = left.payload;
  if (isObject(payload)) return `${payload.protocol} ${payload.field}`;
  const meta = left.meta;
  if (isObject(meta)) return `meta ${meta.key}`;
  const [key] = Object.keys(left);
  return key ?? "?";
}

function renderMatch(match: Json): string {
  const op = match.op === "==" || match.op === "in" || match.op === undefined
    ? ""
    : `${match.op} `;
  return `${renderLeft(match.left)} ${op}${renderValue(match.right)}`;
}

const VERDICTS = ["drop", "reject", "accept"] as const;

/** One nft rule in doctor's terms. */
function ruleOf(rule: Json, hooks: Map<string, RuleHook>): FirewallRule {
  const expressions = Array.isArray(rule.expr)
    ? rule.expr.filter(isObject)
    : [];
  const matches: RuleMatch[] = [];
  const words: string[] = [];
  let verdict: FirewallRule["verdict"] = "other";
  for (const expression of expressions) {
    const [key] = Object.keys(expression);
    const body = expression[key];
    if (key === "match" && isObject(body)) {
      matches.push(...matchesOf(body));
      words.push(renderMatch(body));
    } else if ((VERDICTS as readonly string[]).includes(key)) {
      verdict = key as FirewallRule["verdict"];
      words.push(key);
    } else if (key === "xt" && isObject(body)) {
      if (body.type === "target") {
        verdict = body.name === "REJECT"
          ? "reject"
          : body.name === "DROP"
          ? "drop"
          : "other";
      } else matches.push({ field: "unknown", text: `xt ${body.name}` });
      words.push(`xt ${body.name}`);
    } else if (key !== "counter" && key !== "log" && key !== "comment") {
      if (key === "jump" || key === "goto") {
        words.push(`${key} ${(body as Json)?.target}`);
      } else {
        matches.push({ field: "unknown", text: key });
        words.push(key);
      }
    }
  }
  const where = `${rule.family} ${rule.table} ${rule.chain}`;
  return {
    family: String(rule.family),
    table: String(rule.table),
    chain: String(rule.chain),
    hook: hooks.get(where) ?? "none",
    verdict,
    matches,
    text: words.join(" "),
    remove: `nft delete rule ${where} handle ${rule.handle}`,
  };
}

/**
 * Parses `nft -j list ruleset`.
 *
 * @param text What the command printed.
 * @returns Its rules and the policies of its hooked chains.
 * @throws {SyntaxError} when it is not nft's JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNftRuleset } from "./nft_rules.ts";
 * const { rules } = parseNftRuleset(JSON.stringify({ nftables: [
 *   { chain: { family: "inet", table: "t", name: "in", hook: "input", policy: "accept" } },
 *   { rule: { family: "inet", table: "t", chain: "in", handle: 2, expr: [
 *     { match: { op: "==", left: { payload: { protocol: "udp", field: "dport" } }, right: 5000 } },
 *     { drop: null },
 *   ] } },
 * ] }));
 * assert.equal(rules[0].text, "udp dport 5000 drop");
 * assert.equal(rules[0].remove, "nft delete rule inet t in handle 2");
 * assert.equal(rules[0].hook, "input");
 * ```
 */
export function parseNftRuleset(text: string): Ruleset {
  const parsed: unknown = JSON.parse(text);
  if (!isObject(parsed) || !Array.isArray(parsed.nftables)) {
    throw new SyntaxError('nft -j list ruleset: expected {"nftables": [...]}');
  }
  const items = parsed.nftables.filter(isObject);
  const hooks = new Map<string, RuleHook>();
  const policies: ChainPolicy[] = [];
  for (const item of items) {
    const chain = item.chain;
    if (!isObject(chain)) continue;
    const hook = HOOKS.has(String(chain.hook))
      ? chain.hook as RuleHook
      : "none";
    const where = `${chain.family} ${chain.table} ${chain.name}`;
    hooks.set(where, hook);
    if (hook !== "none" && typeof chain.policy === "string") {
      policies.push({
        family: String(chain.family),
        table: String(chain.table),
        chain: String(chain.name),
        hook,
        policy: chain.policy,
        allow: (conditions) =>
          `nft insert rule ${where} ${conditions.nft} accept`,
      });
    }
  }
  const rules = items.map((item) => item.rule).filter(isObject)
    .map((rule) => ruleOf(rule, hooks));
  return { rules, policies };
}
