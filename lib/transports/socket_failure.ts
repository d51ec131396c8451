/**
 * What a user can do about a socket call the OS refused: one sentence per
 * errno a user can cause (a port held by another program, no route for
 * the group, an interface that is down, a firewall rule, ...), the same
 * whatever the transport. Every transport turns its OS failures into
 * messages here; the errno decides, never the wording of an error.
 *
 * The transports report errnos differently: the FFI transport's
 * `ErrnoError` and Deno's errors carry the name as `code`; Deno's
 * `joinMulticastV4` only says `(os error 19)` in its text; Deno's
 * `node:dgram` reports every failed join as `EINVAL` and most failed sends
 * as `UNKNOWN` (see `node_dgram.ts` for how it recovers the reason).
 *
 * @module
 */

import { formatEndpoint } from "../address.ts";
import { errorCode, errorText } from "../errors.ts";
import { describeInterfaceChoices, interfaceChoices } from "../interface.ts";
import type { Family } from "./transport.ts";

/** Linux's errno names by number, for errors that give only the number. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  13: "EACCES",
  19: "ENODEV",
  22: "EINVAL",
  90: "EMSGSIZE",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  105: "ENOBUFS",
  113: "EHOSTUNREACH",
};

/**
 * The errno name a transport's error carries, when it says one:
 * its `code` (the FFI transport's `ErrnoError`, Deno's errors, Node's),
 * or for an error with no code, the number in its `(os error N)` suffix,
 * which is how Deno's `joinMulticastV4` reports it.
 *
 * @param error The error a socket call threw or rejected with.
 * @returns `ENODEV`, `EADDRINUSE`, ...; `undefined` when it names none
 *   (node:dgram's `UNKNOWN` included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoOf } from "./socket_failure.ts";
 * assert.equal(errnoOf(Object.assign(new Error("x"), { code: "EADDRINUSE" })), "EADDRINUSE");
 * assert.equal(errnoOf(new Error("No such device (os error 19)")), "ENODEV");
 * assert.equal(errnoOf(Object.assign(new Error("send UNKNOWN"), { code: "UNKNOWN" })), undefined);
 * ```
 */
export function errnoOf(error: unknown): string | undefined {
  const code = errorCode(error);
  if (code !== undefined) return /^E[A-Z0-9]+$/.test(code) ? code : undefined;
  if (!(error instanceof Error)) return undefined;
  const number = /\(os error (\d+)\)\s*$/.exec(error.message)?.[1];
  return number === undefined ? undefined : ERRNO_NAMES[Number(number)];
}

/** A socket call the OS refused: what was being done, and where. */
export interface FailedCall {
  /** `bind`, `join` a group, `send` a datagram, or set the outgoing `interface`. */
  operation: "bind" | "join" | "send" | "interface";
  /** The socket's family. */
  family: Family;
  /** The local address (bind), the group (join), the destination (send), the interface (interface). */
  address: string;
  /** The port (bind, send). */
  port?: number;
  /** The interface asked for (`-i`), if any. */
  iface?: string;
  /** The datagram's size (send). */
  bytes?: number;
}

/**
 * The message of a join the OS refused, the same on every transport: the
 * errno's sentence ({@linkcode explainSocketFailure}), or for an errno it
 * has none for, `Cannot join group G on I: why`.
 *
 * @param family The socket's family.
 * @param group The group.
 * @param iface The interface asked for, if any.
 * @param errno The errno name, when the transport's error says one.
 * @param error The error, for the fallback's reason.
 * @returns One sentence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinFailureText } from "./socket_failure.ts";
 * assert.equal(
 *   joinFailureText("IPv4", "239.1.2.3", undefined, undefined, new Error("odd")),
 *   "Cannot join group 239.1.2.3 on the default interface: odd",
 * );
 * ```
 */
export function joinFailureText(
  family: Family,
  group: string,
  iface: string | undefined,
  errno: string | undefined,
  error: unknown,
): string {
  const call = { operation: "join", family, address: group, iface } as const;
  const on = iface === undefined
    ? "the default interface"
    : `interface ${iface}`;
  return explainSocketFailure(call, errno) ??
    `Cannot join group ${group} on ${on}: ${errorText(error)}`;
}

/** The interfaces to offer, as `-i` takes them: `-i: eth0 10.0.0.2, lo 127.0.0.1`. */
function choose(family: Family, what: string): string {
  const list = describeInterfaceChoices(interfaceChoices(family));
  return list === ""
    ? `choose the interface ${what} with -i (a name or an address)`
    : `choose the interface ${what} with -i: ${list}`;
}

/** `Cannot send 19 bytes to 239.1.1.1:5053`, ...: the failed call in words. */
function action(call: FailedCall): string {
  const { address, port = 0, iface } = call;
  const on = iface === undefined
    ? "the default interface"
    : `interface ${iface}`;
  switch (call.operation) {
    case "bind":
      return `Cannot bind ${formatEndpoint(address, port)}`;
    case "join":
      return `Cannot join group ${address} on ${on}`;
    case "interface":
      return `Cannot send multicast through interface ${address}`;
    case "send":
      return `Cannot send ${
        call.bytes === undefined ? "" : `${call.bytes} bytes `
      }to ${formatEndpoint(address, port)}${
        iface === undefined ? "" : ` via interface ${iface}`
      }`;
  }
}

/** No route for the group: the one sentence for a join and a send. */
function noRoute(call: FailedCall): string {
  const group = call.address;
  const what = call.operation === "join" ? "to join on" : "to send through";
  return `this host has no route for group ${group} (no default route, no multicast route): ${
    choose(call.family, what)
  }`;
}

/** A sentence per errno a user can cause, for the calls it can come from. */
const SENTENCES: Record<
  string,
  (call: FailedCall) => string | undefined
> = {
  EADDRINUSE: (call) =>
    call.operation === "bind"
      ? `another program holds port ${call.port} without sharing it (it did not set SO_REUSEADDR): stop it, or choose another port with -p`
      : undefined,
  EACCES: (call) =>
    call.operation === "bind"
      ? `ports below 1024 need root (or CAP_NET_BIND_SERVICE): choose a port from 1024 up with -p`
      : undefined,
  EADDRNOTAVAIL: (call) => {
    if (call.operation === "interface") {
      return `${call.address} is not an address of this host: ${
        choose(call.family, "to send through")
      }`;
    }
    if (call.operation !== "bind") return undefined;
    const list = describeInterfaceChoices(interfaceChoices(call.family));
    return `${call.address} is not an address of this host${
      list === "" ? "" : ` (its interfaces: ${list})`
    }`;
  },
  ENODEV: (call) => {
    if (call.operation !== "join") return undefined;
    if (call.iface === undefined) return noRoute(call);
    return `interface ${call.iface} cannot join groups (is it down? ip link set ... up): ${
      choose(call.family, "to join on")
    }`;
  },
  ENETUNREACH: (call) => unreachable(call),
  EHOSTUNREACH: (call) => unreachable(call),
  ENETDOWN: (call) =>
    call.operation === "send"
      ? `the interface it would leave by is down: bring it up (ip link set ... up), or ${
        choose(call.family, "to send through")
      }`
      : undefined,
  EPERM: (call) =>
    call.operation === "send"
      ? `a firewall rule on this host refused it (nftables or iptables, output chain, UDP to port ${call.port}): allow the port there`
      : undefined,
  ENOBUFS: (call) =>
    call.operation === "join"
      ? `the socket or host has joined too many groups (net.ipv4.igmp_max_memberships, net.ipv6.mld_max_msf)`
      : undefined,
  // Deno's node:dgram reports most failed sends so (see node_dgram.ts).
  UNKNOWN: (call) =>
    call.operation === "send"
      ? `the OS refused it and Deno's node:dgram does not say why: most often a firewall rule on this host (nftables or iptables, output chain, UDP to port ${call.port}) or an interface that is down; --transport ffi names the reason`
      : undefined,
  EMSGSIZE: (call) =>
    call.operation === "send"
      ? `the datagram is larger than UDP allows (at most 65,507 bytes over IPv4, 65,527 over IPv6)`
      : undefined,
};

function unreachable(call: FailedCall): string | undefined {
  if (call.operation !== "send") return undefined;
  if (call.iface === undefined) return noRoute(call);
  return `interface ${call.iface} is down or has no route to ${call.address}: bring it up (ip link set ... up), or ${
    choose(call.family, "to send through")
  }`;
}

/**
 * The message for a socket call the OS refused with an errno a user can
 * cause: what was being done, then what to do about it, then the errno
 * (`Cannot bind 0.0.0.0:5000: another program holds port 5000 ... (EADDRINUSE)`).
 * No route for a group is one line for every transport, without errno
 * (transports learn it differently).
 *
 * @param call What was being done, and where.
 * @param errno The errno name ({@linkcode errnoOf}, or what a transport recovered).
 * @returns The message, or `undefined` when no user action explains the
 *   errno (the transport keeps its own, naming the errno).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainSocketFailure } from "./socket_failure.ts";
 * assert.equal(
 *   explainSocketFailure(
 *     { operation: "bind", family: "IPv4", address: "239.1.2.3", port: 5000 },
 *     "EADDRINUSE",
 *   ),
 *   "Cannot bind 239.1.2.3:5000: another program holds port 5000 without sharing it (it did not set SO_REUSEADDR): stop it, or choose another port with -p (EADDRINUSE)",
 * );
 * assert.equal(explainSocketFailure({ operation: "bind", family: "IPv4", address: "0.0.0.0" }, "EBADF"), undefined);
 * ```
 */
export function explainSocketFailure(
  call: FailedCall,
  errno: string | undefined,
): string | undefined {
  if (errno === undefined) return undefined;
  const sentence = SENTENCES[errno]?.(call);
  if (sentence === undefined) return undefined;
  const routeless = (errno === "ENODEV" || errno === "ENETUNREACH" ||
    errno === "EHOSTUNREACH") && call.iface === undefined;
  return routeless
    ? `${action(call)}: ${sentence}`
    : `${action(call)}: ${sentence} (${errno})`;
}
