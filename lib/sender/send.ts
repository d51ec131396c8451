/**
 * The sending half: multicast a message, then report every reply that
 * arrives before the timeout, since nobody knows how many peers will answer.
 *
 * @module
 */

import type { SendEvent } from "./events.ts";
import {
  checkSendRunOptions,
  type SenderOptions,
  type SendRunOptions,
} from "./options.ts";
import { Sender } from "./sender.ts";

/**
 * Options for {@linkcode send}: where to send ({@linkcode SenderOptions})
 * and how one run sends and waits ({@linkcode SendRunOptions}).
 */
export interface SendOptions extends SenderOptions, SendRunOptions {}

/**
 * Sends `count` messages to a group, `interval` apart, and yields each
 * reply as it arrives until `timeout` after the last send (or, with
 * `expect` / `expectFrom`, until the expected responders answered); then
 * yields a summary with a row per responder. All options are checked before any socket opens. Breaking out
 * of the loop closes the socket. One socket per call: to send again and
 * again, keep a {@linkcode Sender} open instead.
 *
 * @param message The message: a value for the codec, or a string / bytes without one.
 * @param options Group, port, TTL, interface, timing and codec.
 * @returns An async iterator of replies followed by one summary.
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 * @throws {SocketError} when the socket cannot be opened, the first send
 *   fails, or every send fails for a second (a send that fails after the
 *   first is counted in the summary's `sendErrors`, and the run goes on).
 *
 * @example Ask a group on loopback who is there
 * ```ts ignore
 * import { send } from "./send.ts";
 * for await (const event of send("hello", { group: "239.1.2.3", interface: "127.0.0.1" })) {
 *   if (event.event === "reply") console.log(event.from, event.rttMs, event.payload);
 *   else console.log(`${event.replies} replies`);
 * }
 * ```
 */
export async function* send(
  message: unknown,
  options: SendOptions = {},
): AsyncGenerator<SendEvent, void, undefined> {
  checkSendRunOptions(options);
  await using sender = await Sender.open(options);
  yield* sender.send(message, options);
}
