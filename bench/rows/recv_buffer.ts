/**
 * The pitfall row: Deno's `node:dgram` allocates a fresh receive buffer for
 * every datagram (`ext/node/polyfills/internal_binding/udp_wrap.ts`,
 * `#receive`: `new Uint8Array(this.#recvBufferSize)`), 64 KiB by default;
 * `setRecvBufferSize(n)` sets that size (2n on Linux) and not the kernel's
 * SO_RCVBUF. The raw `node:dgram` receiver is flooded for a fixed time
 * with the default, with 8 MiB and with 1 KiB (2 KiB per receive: enough
 * for these 64-byte datagrams; larger ones would be cut).
 *
 * @module
 */

import { RAW_NODE_DGRAM } from "../implementations.ts";
import type { Subject } from "../recorder.ts";
import type { RowContext } from "./context.ts";
import { measureOneWay } from "./one_way.ts";

/** The small setting: 2 KiB per receive, enough for 64-byte datagrams. */
const SMALL_BUFFER = 1024;

/**
 * The pitfall row, `plan.repeats` times, alternating: the default, the
 * plan's big buffer and a small one.
 *
 * @param context The run's shared state.
 */
export async function recvBufferRow(context: RowContext): Promise<void> {
  const { plan, flooder, endpoints, recorder } = context;
  const variant = (bytes: number): Subject => {
    const size = bytes >= 1 << 20
      ? `${bytes / (1 << 20)} MiB`
      : `${bytes / 1024} KiB`;
    return {
      id: `deno-node-dgram-recv-buffer-${bytes}`,
      label: `raw node:dgram + setRecvBufferSize(${size})`,
      side: "variant",
      required: true,
    };
  };
  const runs = [
    { subject: RAW_NODE_DGRAM as Subject, flags: [] as string[] },
    ...[plan.recvBufferBytes, SMALL_BUFFER].map((bytes) => ({
      subject: variant(bytes),
      flags: [`--recv-buffer=${bytes}`],
    })),
  ];
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const { subject, flags } of runs) {
      await recorder.record("recv-buffer", subject, () =>
        measureOneWay(
          {
            implementation: RAW_NODE_DGRAM,
            flags,
            size: 64,
            count: plan.recvBufferCount,
            seconds: plan.recvBufferSeconds,
            warmupSeconds: 0,
          },
          flooder,
          endpoints,
        ));
    }
  }
}
