/**
 * Row 2p: request/reply ping-pong with the Python client
 * (`clients/pingpong.py`: the origin Python example's sender in a loop, a
 * blocking socket with a timeout), the client a Python user would write.
 * Responders, alternating: the origin example's responder
 * (`receivers/python_seed.py`: blocking `recvfrom`, `sendto`), the Python
 * selector loop, mcast's `listen()` over `Deno.listenDatagram` and over
 * FFI, `deno task listen --plugin ack` as users run it (the launcher picks
 * ffi for built-ins; `-q`, and `--rate-limit 0 --global-rate 0`, since the
 * default limits of 10 replies/s per source and 1,000/s in all would be all
 * this row measures), and the C recvmmsg responder (the ceiling).
 *
 * Where the Deno client of row 2 spends ~40 us of a round trip on itself
 * and the C client of row 2c almost nothing, the Python client is in
 * between: the listener sleeps between requests, and its wake-up is part
 * of every round trip.
 *
 * Network safety: 127.0.0.1 only (TTL 0 from the client), endpoints from
 * `addresses.ts`, every run bounded in count and time.
 *
 * @module
 */

import type { Endpoint } from "../addresses.ts";
import { withCliListener } from "../cli_listener.ts";
import {
  pingPongMetrics,
  type PingPongResult,
  runPythonClient,
} from "../client_protocol.ts";
import {
  C_RECVMMSG,
  type Implementation,
  MCAST,
  MCAST_FFI,
  PYTHON,
  PYTHON_SEED,
} from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";

/** `deno task listen --plugin ack`, as users run it, without reply limits. */
export const CLI_ACK: Subject = {
  id: "cli-listen-ack",
  label: "deno task listen --plugin ack -q (limits off)",
  side: "mcast",
  required: true,
};

/** The flags of {@linkcode CLI_ACK} beside the endpoint (rows 2p and 2s). */
export const CLI_ACK_FLAGS: readonly string[] = [
  ...["--plugin", "ack", "-q"],
  ...["--rate-limit", "0", "--global-rate", "0"],
];

function pythonPingPong(
  context: RowContext,
  endpoint: Endpoint,
): Promise<PingPongResult> {
  const { plan } = context;
  return runPythonClient<PingPongResult>("pingpong.py", [
    endpoint.group,
    String(endpoint.port),
    String(plan.pyPingPongCount),
    String(plan.pyPingPongSeconds),
    String(plan.requestSize),
    String(plan.pingPongWarmup),
  ], (plan.pyPingPongSeconds * 2 + 20) * 1000);
}

/** The Python client against a responder speaking the receiver protocol. */
async function againstResponder(
  context: RowContext,
  responder: Implementation,
): Promise<Metrics> {
  const endpoint = context.endpoints.next();
  const receiver = await ReceiverProcess.start(
    responder.command(
      "ack",
      endpoint,
      context.plan.pyPingPongSeconds + 30,
      1,
    ),
  );
  try {
    const result = await pythonPingPong(context, endpoint);
    await receiver.stop();
    return pingPongMetrics(result);
  } finally {
    await receiver.kill();
  }
}

/** The Python client against `deno task listen --plugin ack`. */
async function againstCli(context: RowContext): Promise<Metrics> {
  const endpoint = context.endpoints.next();
  const { result, outcome } = await withCliListener(
    endpoint,
    [...CLI_ACK_FLAGS],
    () => pythonPingPong(context, endpoint),
  );
  return { ...pingPongMetrics(result), received: outcome.received };
}

/**
 * Row 2p, `plan.repeats` times, alternating. Needs Python (the client);
 * without it the row is skipped with the reason.
 *
 * @param context The run's shared state.
 */
export async function requestReplyPythonRow(
  context: RowContext,
): Promise<void> {
  const { plan, recorder, implementations } = context;
  const available = new Set(implementations.map((i) => i.id));
  if (!available.has(PYTHON.id)) {
    context.skipped.push({
      id: "request-reply-py",
      reason: "no working python3 (the row's client)",
    });
    return;
  }
  const responders = [PYTHON_SEED, PYTHON, MCAST, MCAST_FFI, C_RECVMMSG]
    .filter((i) => i === PYTHON_SEED || available.has(i.id));
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const responder of responders) {
      await recorder.record(
        "request-reply-py",
        responder,
        () => againstResponder(context, responder),
      );
    }
    await recorder.record(
      "request-reply-py",
      CLI_ACK,
      () => againstCli(context),
    );
  }
}
