/**
 * Packet capture with tcpdump in a lab node, and the parser that turns its
 * `-n -v` / `-n -vv` output into {@linkcode Packet}s (`-vv` adds the source
 * lists of IGMPv3 and MLDv2 reports).
 *
 * @module
 */

import type { Proc, ProcOptions } from "./process.ts";

/** Options of {@linkcode startCapture}. */
export interface CaptureOptions {
  /**
   * Interface to capture on.
   * @default {"eth0"}
   */
  iface?: string;
  /** Stop after this many packets (`tcpdump -c`). */
  count?: number;
  /**
   * Lifetime of the capture in milliseconds.
   * @default {DEFAULT_PROC_TIMEOUT_MS}
   */
  timeoutMs?: number;
  /**
   * 1 for `tcpdump -v`; 2 for `-vv`, which also prints the source lists of
   * IGMPv3 and MLDv2 reports (`[gaddr 232.1.1.1 allow { 10.77.1.10 }]`).
   * @default {1}
   */
  verbosity?: 1 | 2;
}

/** One packet as `tcpdump -n -v` (or `-vv`) printed it. */
export interface Packet {
  /** `IP` or `IP6`. */
  family: "IP" | "IP6";
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number | null;
  /** Protocol name as printed (`UDP`, `IGMP`, `ICMP`, ...). */
  proto: string;
  /** Source address (without port). */
  src: string;
  /** Source port for UDP/TCP. */
  srcPort: number | null;
  /** Destination address (without port). */
  dst: string;
  /** Destination port for UDP/TCP. */
  dstPort: number | null;
  /** Text after `src > dst:` and any further lines, e.g. `igmp v3 report, ...`. */
  info: string;
  /** The lines tcpdump printed for this packet. */
  lines: string[];
}

/** A running tcpdump. */
export interface Capture extends AsyncDisposable {
  /** Packets parsed so far. */
  readonly packets: readonly Packet[];
  /** The tcpdump process. */
  readonly proc: Proc;
  /** Resolves with the first packet (seen or to come) passing `test`. */
  waitFor(test: (p: Packet) => boolean, timeoutMs?: number): Promise<Packet>;
  /**
   * Waits until at least `count` packets are parsed, for at most `timeoutMs`
   * (default 3 s); returns the packets either way (the caller asserts).
   */
  waitForCount(count: number, timeoutMs?: number): Promise<readonly Packet[]>;
  /** Stops tcpdump (SIGINT, bounded) and returns every parsed packet. */
  stop(): Promise<Packet[]>;
}

/** Where a capture runs: a lab node, which starts processes in its namespace. */
export interface CaptureNode {
  /** Starts a command inside the node's namespace. */
  spawn(cmd: string[], options?: ProcOptions): Proc;
}

/**
 * Starts tcpdump with `filter` in `node` and waits (up to 10 s) until it
 * listens.
 */
export async function startCapture(
  node: CaptureNode,
  filter: string,
  options: CaptureOptions = {},
): Promise<Capture> {
  const iface = options.iface ?? "eth0";
  const verbose = options.verbosity === 2 ? "-vv" : "-v";
  const argv = [
    "tcpdump",
    "-i",
    iface,
    "-n",
    verbose,
    "-l",
    "--immediate-mode",
  ];
  if (options.count !== undefined) argv.push("-c", String(options.count));
  if (filter.trim() !== "") argv.push(filter);
  const proc = node.spawn(argv, { timeoutMs: options.timeoutMs });
  await proc.waitForErrorLine((l) => /listening on/.test(l), 10_000);
  return new CaptureImpl(proc);
}

/**
 * Parses `tcpdump -n -v` (or `-vv`) output lines into packets. A packet starts with a
 * line holding `IP (` or `IP6 (`; indented lines continue it.
 *
 * @param lines Output lines.
 * @returns The packets whose addresses could be read.
 */
export function parseTcpdump(lines: readonly string[]): Packet[] {
  const packets: Packet[] = [];
  let current: Packet | null = null;
  let pendingHeader:
    | { family: "IP" | "IP6"; head: string; lines: string[] }
    | null = null;
  for (const line of lines) {
    if (/^\s/.test(line)) {
      if (pendingHeader) {
        const p = finishPacket(
          pendingHeader.family,
          pendingHeader.head,
          line.trim(),
          [
            ...pendingHeader.lines,
            line,
          ],
        );
        pendingHeader = null;
        if (p) packets.push(p);
        current = p;
      } else if (current) {
        current.lines.push(line);
        current.info += "\n" + line.trim();
      }
      continue;
    }
    current = null;
    pendingHeader = null;
    const h = splitHeader(line);
    if (!h) continue;
    if (h.rest.trim() === "") {
      pendingHeader = { family: h.family, head: h.head, lines: [line] };
    } else {
      const p = finishPacket(h.family, h.head, h.rest.trim(), [line]);
      if (p) packets.push(p);
      current = p;
    }
  }
  return packets;
}

function splitHeader(
  line: string,
): { family: "IP" | "IP6"; head: string; rest: string } | null {
  const m = /(?:^|\s)(IP6?) \(/.exec(line);
  if (!m) return null;
  const open = m.index + m[0].length - 1;
  let depth = 0;
  for (let i = open; i < line.length; i++) {
    if (line[i] === "(") depth++;
    else if (line[i] === ")") {
      depth--;
      if (depth === 0) {
        return {
          family: m[1] as "IP" | "IP6",
          head: line.slice(open + 1, i),
          rest: line.slice(i + 1),
        };
      }
    }
  }
  return null;
}

function finishPacket(
  family: "IP" | "IP6",
  head: string,
  body: string,
  lines: string[],
): Packet | null {
  const m = /^(\S+) > (\S+):(?:\s+(.*))?$/.exec(body);
  if (!m) return null;
  const ttlMatch = /\b(?:ttl|hlim) (\d+)/.exec(head);
  const protoMatch = /\b(?:proto|next-header) (\S+)/.exec(head);
  const proto = protoMatch ? protoMatch[1] : "";
  const ported = proto === "UDP" || proto === "TCP";
  const split = (s: string): [string, number | null] => {
    if (!ported) return [s, null];
    const dot = s.lastIndexOf(".");
    if (dot < 0) return [s, null];
    const port = Number(s.slice(dot + 1));
    return Number.isInteger(port) ? [s.slice(0, dot), port] : [s, null];
  };
  const [src, srcPort] = split(m[1]);
  const [dst, dstPort] = split(m[2]);
  return {
    family,
    ttl: ttlMatch ? Number(ttlMatch[1]) : null,
    proto,
    src,
    srcPort,
    dst,
    dstPort,
    info: m[3] ?? "",
    lines,
  };
}

class CaptureImpl implements Capture {
  readonly proc: Proc;
  #packets: Packet[] = [];
  #seenLines = 0;

  constructor(proc: Proc) {
    this.proc = proc;
  }

  get packets(): readonly Packet[] {
    this.#refresh();
    return this.#packets;
  }

  #refresh(): void {
    if (this.proc.lines.length === this.#seenLines) return;
    this.#seenLines = this.proc.lines.length;
    this.#packets = parseTcpdump(this.proc.lines);
  }

  async waitFor(
    test: (p: Packet) => boolean,
    timeoutMs = 10_000,
  ): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    // Poll: parsing needs the line after a header, which arrives together.
    while (true) {
      const found = this.packets.find(test);
      if (found) return found;
      if (this.proc.exited) {
        await this.proc.done;
        const late = this.packets.find(test);
        if (late) return late;
        throw new Error(
          `tcpdump exited without the expected packet; saw:\n${
            this.proc.lines.join("\n")
          }`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for a packet; saw:\n${
            this.proc.lines.join("\n")
          }`,
        );
      }
      await sleep(20);
    }
  }

  async waitForCount(
    count: number,
    timeoutMs = 3_000,
  ): Promise<readonly Packet[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length < count && Date.now() < deadline) {
      await sleep(20);
    }
    return this.packets;
  }

  async stop(): Promise<Packet[]> {
    await this.proc.stop("SIGINT", 2_000);
    this.#refresh();
    return this.#packets;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
