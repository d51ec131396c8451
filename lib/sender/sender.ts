/**
 * A sender that keeps one socket open between messages: for a client that
 * asks a group again and again (discovery every few seconds, a
 * request/reply loop), one socket, one interface lookup and one set of
 * socket options serve every message, where {@linkcode send} opens and
 * closes them on each call.
 *
 * @module
 */

import { McastTypeError, SendBatchError, SocketError } from "../errors.ts";
import type { Peer, Transport } from "../transports/transport.ts";
import type { SendEvent, SendReply } from "./events.ts";
import {
  checkSenderOptions,
  encodeMessage,
  planRun,
  type RunPlan,
  type SenderOptions,
  type SenderSetup,
  type SendRunOptions,
} from "./options.ts";
import { SendRun } from "./run.ts";

export type { SenderOptions, SendRunOptions } from "./options.ts";

/**
 * Requests per `sendBatch` call when sending as fast as the socket takes
 * (the ffi transport sends them 64 to a system call).
 */
const BURST = 256;
/**
 * How long a burst of sends may keep the event loop from replies, signals
 * and timers (`setImmediate` gives it one turn, in about 5 µs).
 */
const TURN_MS = 2;
/**
 * The longest a blocking wait (`blockingWait`) holds this thread before
 * the event loop gets a turn (signals, timers, other I/O).
 */
const SLICE_MS = 10;
/**
 * While this thread waits for replies itself (`blockingWait`), how often
 * the event loop gets a turn between rounds: no more than a slice, so a
 * signal or a timer waits no longer than when no reply comes. A turn costs
 * tens of microseconds of CPU here; every 2 ms it was 4-5% of a
 * ping-pong's user time in perf, and a library ping-pong against the C
 * responder went from 19-22 to 17-19 us of user CPU a round with 10.
 */
const WAIT_TURN_MS = SLICE_MS;
export type { SendEvent, SendReply, SendSummary } from "./events.ts";

/**
 * A socket for sending to one group, kept open between messages. Each
 * {@linkcode Sender.send} call is a run: it sends, yields every reply that
 * arrives before its timeout, then a summary. One run at a time; replies
 * that arrive between runs are dropped. With `sequence`, the numbers go
 * on from run to run, so a late reply to an earlier run is never taken
 * for an answer to this one; with a key, only this run's requests can be
 * answered.
 *
 * @example Ask a group on loopback three times over one socket
 * ```ts ignore
 * import { Sender } from "./sender.ts";
 * await using sender = await Sender.open({ group: "239.1.2.3", interface: "127.0.0.1" });
 * for (let round = 0; round < 3; round++) {
 *   for await (const event of sender.send("who is there?", { timeout: 200 })) {
 *     if (event.event === "reply") console.log(round, event.from, event.rttMs);
 *   }
 * }
 * ```
 */
export class Sender implements AsyncDisposable {
  /** The group's address. */
  readonly group: string;
  /** The group's port. */
  readonly port: number;
  #setup: SenderSetup;
  #transport: Transport;
  #deliver:
    | ((
      data: Uint8Array,
      from: Peer,
      truncated: boolean,
      receivedAt: number | undefined,
    ) => void)
    | undefined;
  /** Now, on the clock of the run's times: the kernel's where it stamps. */
  readonly #now: () => number;
  #socketError: Error | undefined;
  #wake: (() => void) | undefined;
  #running = false;
  #closed = false;
  /** The next sequence number on the wire (uint32, goes on across runs). */
  #nextSeq = 0;
  /** The kernel's drop count for the socket, and when it was read. */
  #drops = { count: 0, at: -Infinity };
  /** When a burst of sends last let the event loop run. */
  #lastTurn = 0;

  private constructor(setup: SenderSetup, transport: Transport) {
    this.#setup = setup;
    this.#transport = transport;
    this.group = setup.group.address;
    this.port = setup.port;
    transport.onError((error) => {
      this.#socketError = error;
      this.#wake?.();
    });
    transport.onDatagram((data, from, truncated, _to, receivedAt) =>
      this.#deliver?.(data, from, truncated === true, receivedAt)
    );
    const clock = transport.kernelClock;
    this.#now = clock === undefined
      ? () => performance.now()
      : () => clock.now();
  }

  /**
   * Checks the options, opens the socket and sets its TTL, loopback and
   * interface.
   *
   * @param options Group, port, TTL, interface, codec, key and transport.
   * @returns The open sender; close it (or `await using` it) when done.
   * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
   * @throws {SocketError} when the socket cannot be opened or configured.
   *
   * @example
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * const sender = await Sender.open({ group: "239.1.2.3", interface: "127.0.0.1" });
   * await sender.close();
   * ```
   */
  static async open(options: SenderOptions = {}): Promise<Sender> {
    const setup = checkSenderOptions(options);
    const transport = await setup.open({
      family: setup.group.family,
      address: setup.group.family === "IPv4" ? "0.0.0.0" : "::",
      port: 0,
      reuseAddress: false,
      receiveBytes: setup.replyBufferBytes,
      // Round trips from the kernel's clock, where the transport has it.
      timestamps: true,
    });
    try {
      transport.setTtl(setup.ttl);
      transport.setLoopback(setup.loopback);
      if (setup.iface !== undefined) transport.setInterface(setup.iface);
    } catch (error) {
      await transport.close();
      throw error;
    }
    return new Sender(setup, transport);
  }

  /**
   * Sends `count` messages, `interval` apart, and yields each reply as it
   * arrives until `timeout` after the last send; then yields a summary.
   * The options and the message are checked before anything is sent.
   * With `expect` or `expectFrom`, a round (a request and the wait after
   * it) ends as soon as the expected responders answered it: the next
   * request leaves at once, and after the last one the run ends. Breaking
   * out of the loop ends the run; the socket stays open. A request the OS
   * refuses after the first is counted and the run goes on.
   *
   * @param message A value for the codec, or a string / bytes without one.
   * @param options Count, interval or rate, timeout, sequence numbers, abort signal.
   * @returns An async iterator of replies followed by one summary.
   * @throws {McastTypeError} `ERR_SENDER_BUSY` while another run is going
   *   on, `ERR_SENDER_CLOSED` after {@linkcode Sender.close}, or a bad
   *   option or message.
   * @throws {SocketError} when the run's first send fails, when every send
   *   fails for a second, or when the socket reports an error. A send that
   *   fails after the first is counted (`sendErrors` in the summary, and
   *   `onSendError`) and the run goes on.
   *
   * @example One request, the replies that come within 200 ms
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * await using sender = await Sender.open({ group: "239.1.2.3", interface: "127.0.0.1" });
   * for await (const event of sender.send("ping", { timeout: 200 })) console.log(event);
   * ```
   */
  async *send(
    message: unknown,
    options: SendRunOptions = {},
  ): AsyncGenerator<SendEvent, void, undefined> {
    this.#checkIdle();
    const plan = planRun(options);
    const { count, intervalMs, timeoutMs } = plan;
    const { onReply } = options;
    const run = this.#startRun(message, plan, options);
    const now = this.#now;
    const copy = this.#transport.reusesBuffers;
    const direct = this.#setup.blockingWait &&
      this.#transport.waitHere !== undefined;
    this.#running = true;
    this.#deliver = (data, from, truncated, receivedAt) => {
      run.read(data, from, truncated, receivedAt, copy);
      this.#wake?.();
    };
    try {
      let nextSendAt = now();
      let deadline = Infinity;
      while (true) {
        // The next request leaves as soon as it is due, before the replies
        // that made it due are yielded (a round answered: expect).
        const dueAt = now();
        if (this.#due(run, count, dueAt >= nextSendAt, options.signal)) {
          // Sent at once where the transport could (no await), else awaited.
          const sending = this.#sendNext(run, plan, options);
          const sentAt = typeof sending === "object" ? await sending : sending;
          if (sentAt === undefined) break;
          // On schedule, not from the last send: no drift at high rates;
          // but after a stall, no burst of more than a second's worth.
          nextSendAt = dueAt < nextSendAt
            ? sentAt + intervalMs
            : Math.max(nextSendAt + intervalMs, sentAt - 1000);
          if (run.issued === count) deadline = now() + timeoutMs;
        }
        // Not yield* of a generator: each of its values would be awaited.
        if (onReply !== undefined) this.#handOver(run, onReply);
        else while (run.queue.length > 0) yield this.#yielded(run);
        const at = now();
        run.expire(at);
        this.#throwSocketError();
        if (options.signal?.aborted || this.#closed) break;
        const sending = count === 0 || run.issued < count;
        const early = run.issued > 0 && run.roundMet;
        if (sending && (at >= nextSendAt || early)) continue;
        if (!sending && (at >= deadline || early)) break;
        // Wake for the next send, the end, or the next request's wait
        // running out (its losses told as they happen; on this thread, at
        // the end of the slice at the latest: a whole slice is one call).
        const until = Math.max(0, (sending ? nextSendAt : deadline) - at);
        // On this thread, with a turn of the event loop now and then.
        if (
          direct && this.#transport.waitHere!(Math.min(until, SLICE_MS)) >= 0
        ) {
          if (now() - this.#lastTurn >= WAIT_TURN_MS) await this.#turn();
          continue;
        }
        await this.#sleep(
          Math.max(0, Math.min(until, run.nextExpiryAt - at)),
          options.signal,
        );
      }
      if (onReply !== undefined) this.#handOver(run, onReply);
      else while (run.queue.length > 0) yield this.#yielded(run);
      run.expire(now());
      const summary = run.summary();
      const drops = this.#kernelDrops();
      if (drops > 0) summary.kernelDrops = drops;
      yield summary;
    } finally {
      this.#deliver = undefined;
      this.#running = false;
      if (direct) this.#transport.receiveInBackground?.();
    }
  }

  /** A run of `message` as `plan` says, told to `options.onStart`. */
  #startRun(
    message: unknown,
    plan: RunPlan,
    options: SendRunOptions,
  ): SendRun {
    const { codec, auth, replyBufferBytes } = this.#setup;
    const run = new SendRun({
      bytes: encodeMessage(message, codec),
      codec,
      auth,
      sequence: plan.sequence,
      pad: plan.pad,
      firstSeq: this.#nextSeq,
      count: plan.count,
      replyBytes: replyBufferBytes,
      expectation: plan.expectation,
      onSendError: options.onSendError,
      timeoutMs: plan.timeoutMs,
      onLost: options.onLost,
      now: this.#now,
      clock: this.#transport.kernelClock === undefined ? "user" : "kernel",
    });
    options.onStart?.(run.live);
    return run;
  }

  /**
   * Whether the next request is due: requests are left, it is time
   * (`onTime`) or the latest round was answered, and nothing stops the
   * run.
   */
  #due(
    run: SendRun,
    count: number,
    onTime: boolean,
    signal: AbortSignal | undefined,
  ): boolean {
    if (this.#socketError !== undefined || signal?.aborted || this.#closed) {
      return false;
    }
    if (count !== 0 && run.issued >= count) return false;
    return onTime || (run.issued > 0 && run.roundMet);
  }

  /**
   * Sends the next request, or burst of requests at interval 0 where the
   * transport batches; returns when it left (on the run's clock), or
   * `undefined` when the sender was closed meanwhile.
   */
  #sendNext(
    run: SendRun,
    plan: RunPlan,
    options: SendRunOptions,
  ): number | undefined | Promise<number | undefined> {
    // As fast as the socket takes: batches, where the transport can.
    const burst = plan.intervalMs === 0 && plan.expectation === undefined &&
      this.#transport.sendBatch !== undefined;
    const sending = burst
      ? this.#sendBurst(run, plan.count, plan.sequence)
      : this.#sendOne(run, plan.sequence);
    const { onSent } = options;
    if (onSent === undefined) return sending;
    if (typeof sending === "object") {
      return sending.then((sentAt) => {
        if (sentAt !== undefined) onSent(run.sent);
        return sentAt;
      });
    }
    if (sending !== undefined) onSent(run.sent);
    return sending;
  }

  /**
   * One turn of the event loop (signals, timers, other I/O): the
   * transport's, where it has one that also lets the runtime poll its I/O
   * now and then (`Transport.turn`).
   */
  async #turn(): Promise<void> {
    const transport = this.#transport;
    if (transport.turn !== undefined) await transport.turn();
    else await new Promise((resolve) => setImmediate(resolve));
    this.#lastTurn = this.#now();
  }

  /**
   * Closes the socket; idempotent. A run still going on stops sending and
   * waiting, and yields its summary.
   *
   * @example
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * const sender = await Sender.open({ interface: "127.0.0.1" });
   * await sender.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#deliver = undefined;
    this.#wake?.();
    await this.#transport.close();
  }

  /**
   * Same as {@linkcode Sender.close}, for `await using`.
   *
   * @example
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * await using sender = await Sender.open({ interface: "127.0.0.1" });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #throwSocketError(): void {
    const error = this.#socketError;
    if (error === undefined) return;
    this.#socketError = undefined;
    throw error;
  }

  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done);
      this.#wake = done;
    });
  }

  /**
   * Replies the kernel dropped at this socket, read at most once a second
   * (a run that ends within a second of the last read reuses it).
   */
  #kernelDrops(): number {
    const now = performance.now();
    if (now - this.#drops.at >= 1000) {
      this.#drops = {
        count: this.#transport.droppedByKernel?.() ?? this.#drops.count,
        at: now,
      };
    }
    return this.#drops.count;
  }

  #checkIdle(): void {
    if (this.#closed) {
      throw new McastTypeError(
        "ERR_SENDER_CLOSED",
        `The sender to ${this.group} port ${this.port} is closed`,
      );
    }
    if (this.#running) {
      throw new McastTypeError(
        "ERR_SENDER_BUSY",
        `The sender to ${this.group} port ${this.port} is already running a send; wait for its summary`,
      );
    }
  }

  /** Hands the replies read and not yet yielded to `onReply`, oldest first. */
  #handOver(run: SendRun, onReply: (reply: SendReply) => void): void {
    while (run.queue.length > 0) onReply(this.#yielded(run));
  }

  /** The oldest reply read and not yet yielded, counted as yielded. */
  #yielded(run: SendRun): SendReply {
    const reply = run.queue.shift()!;
    run.yielded(reply);
    return reply;
  }

  /**
   * Sends the run's next {@linkcode BURST} requests (fewer at the end) in
   * one `sendBatch` call; returns when they left (or failed: see
   * `#failed`), or `undefined` when the sender was closed
   * meanwhile. At most every {@linkcode TURN_MS} it lets the event loop
   * run (replies, signals, timers) before sending on.
   */
  async #sendBurst(
    run: SendRun,
    count: number,
    sequence: boolean,
  ): Promise<number | undefined> {
    const size = count === 0 ? BURST : Math.min(BURST, count - run.issued);
    const sentAt = this.#now();
    const datagrams = run.nextBurst(size, sentAt);
    if (sequence) this.#nextSeq = (this.#nextSeq + size) >>> 0;
    try {
      await this.#transport.sendBatch!(datagrams, this.port, this.group);
      run.sent += size;
      run.failures.left(size);
    } catch (error) {
      if (this.#closed) return undefined;
      this.#failed(run, error, size);
    }
    if (this.#now() - this.#lastTurn >= TURN_MS) await this.#turn();
    return sentAt;
  }

  /**
   * Sends the run's next request; returns when it left (or failed: see
   * `#failed`), or `undefined` when the sender was closed meanwhile: at
   * once (no promise) where the transport sent it on the spot
   * (`sendNow`), else when its send settled.
   */
  #sendOne(
    run: SendRun,
    sequence: boolean,
  ): number | undefined | Promise<number | undefined> {
    const transport = this.#transport;
    // Sent on the spot, copied at once: a reused buffer will do.
    const datagram = run.nextRequest(transport.sendNow !== undefined);
    const sentAt = this.#now();
    run.sending(sentAt);
    if (sequence) this.#nextSeq = (this.#nextSeq + 1) >>> 0;
    if (transport.sendNow !== undefined) {
      try {
        if (transport.sendNow(datagram, this.port, this.group)) {
          return this.#left(run, sentAt);
        }
      } catch (error) {
        if (this.#closed) return undefined;
        this.#failed(run, error, 1);
        return sentAt;
      }
    }
    // Waits for room in the send buffer: its own copy of the datagram.
    const sending = transport.send(
      transport.sendNow === undefined ? datagram : datagram.slice(),
      this.port,
      this.group,
    );
    const left = this.#left(run, sentAt, 0);
    return sending.then(() => {
      run.sent++;
      run.failures.left(1);
      return left;
    }, (error) => {
      if (this.#closed) return undefined;
      this.#failed(run, error, 1);
      return left;
    });
  }

  /**
   * Counts `sent` requests as left (1: the one just sent) and returns when
   * it left: the kernel clock's stamp, read just before its system call,
   * where the transport has it.
   */
  #left(run: SendRun, sentAt: number, sent = 1): number {
    run.sent += sent;
    if (sent > 0) run.failures.left(sent);
    const clock = this.#transport.kernelClock;
    if (clock === undefined) return sentAt;
    const stamp = clock.sentAt();
    run.stamped(stamp);
    return stamp;
  }

  /**
   * Counts `count` sends that failed with `error` and goes on, or throws
   * when they end the run (the first send failed, or every send for a
   * second: `SendFailures`); an error that is no `SocketError` is no
   * refusal of the OS and is thrown as it is.
   */
  #failed(run: SendRun, error: unknown, count: number): void {
    if (!(error instanceof SocketError)) throw error;
    if (error instanceof SendBatchError) run.sent += error.sent;
    run.failures.failed(error, count, performance.now());
  }
}
