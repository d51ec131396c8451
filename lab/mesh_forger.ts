/**
 * A forger of mesh rows, for `mesh_test.ts`: run in a lab host, it sends
 * to the mesh's group, every interval, a row whose every entry is about
 * a pair it is not part of (`from -> to` with `to` another host: "I
 * heard that 10.77.1.3 lost every probe of 10.77.1.2"). A mesh node must
 * flag such entries and leave them out of its matrix. It sends rows only,
 * never a probe, unsigned: with `--key-file` a node refuses them before
 * reading them.
 *
 * Usage (in the lab host; lab addresses, TTL 1):
 *
 * ```sh
 * deno run --allow-net mesh_forger.ts GROUP PORT SOURCE COUNT INTERVAL_MS FROM TO
 * ```
 *
 * SOURCE is the forger's own address (the interface it sends through).
 * Prints `sent N` when done.
 *
 * @module
 */

import { createSocket } from "node:dgram";
import type { RowEntry } from "../lib/mesh/rows.ts";
import { encodeRow, newRunId } from "../lib/mesh/wire.ts";

/** The forged entries: `to` lost every probe of `from`, unicast fine. */
export function forgedEntries(from: string, to: string): RowEntry[] {
  return [{
    from,
    to,
    multicast: {
      received: 0,
      expected: 1000,
      joinMissed: 0,
      duplicates: 0,
      reordered: 0,
    },
    unicast: { received: 1000, expected: 1000 },
    probedSince: 1,
    rtt: { multicast: null, unicast: { p50: 0.1, p99: 0.2 } },
    left: null,
  }];
}

if (import.meta.main) {
  const [group, portText, source, countText, intervalText, from, to] =
    Deno.args;
  const port = Number(portText);
  const count = Number(countText);
  const intervalMs = Number(intervalText);
  if (
    to === undefined || !(port > 0) || !(count > 0 && count <= 1000) ||
    !(intervalMs >= 10 && intervalMs <= 5000)
  ) {
    console.error(
      "usage: mesh_forger.ts GROUP PORT SOURCE COUNT(1-1000) INTERVAL_MS(10-5000) FROM TO",
    );
    Deno.exit(2);
  }
  const six = group.includes(":");
  const socket = createSocket({ type: six ? "udp6" : "udp4" });
  await new Promise<void>((resolve) => socket.bind(0, source, resolve));
  socket.setMulticastTTL(1);
  socket.setMulticastInterface(source);
  const runId = newRunId();
  let sent = 0;
  for (let round = 1; round <= count; round++) {
    const chunks = encodeRow(
      { round, runId, intervalMs, family: six ? "IPv6" : "IPv4", final: false },
      forgedEntries(from, to),
      1400,
    );
    for (const chunk of chunks) {
      await new Promise<void>((resolve, reject) =>
        socket.send(
          chunk,
          port,
          group,
          (error) => error ? reject(error) : resolve(),
        )
      );
      sent++;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  socket.close();
  console.log(`sent ${sent}`);
}
