/**
 * The library's `listen` and `send` pinned to the loopback interface, for
 * tests that must never reach a real network.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  listen,
  type Listener,
  type ListenOptions,
} from "../../lib/listener/listen.ts";
import { send, type SendOptions } from "../../lib/sender/send.ts";
import type {
  SendEvent,
  SendReply,
  SendSummary,
} from "../../lib/sender/sender.ts";

/** The loopback address every test socket is pinned to. */
export const LOOPBACK = "127.0.0.1";

/**
 * Starts a listener joined on 127.0.0.1 with a free port (0). `options` come
 * last, so a test may still ask for a port or, to see it refused, another
 * interface.
 */
export function listenOnLoopback(
  options: ListenOptions & Required<Pick<ListenOptions, "group">>,
): Promise<Listener> {
  return listen({ port: 0, interface: LOOPBACK, ...options });
}

/**
 * Sends `message` out of 127.0.0.1 (always: `options` cannot change the
 * interface) and returns every event, in order: the replies, then the
 * summary.
 */
export async function sendEvents(
  message: unknown,
  options: Omit<SendOptions, "interface">,
): Promise<SendEvent[]> {
  const events: SendEvent[] = [];
  for await (
    const event of send(message, { ...options, interface: LOOPBACK })
  ) events.push(event);
  return events;
}

/** What one `send` produced: its replies, and the summary it ends with. */
export interface Collected {
  /** Every reply, in order of arrival. */
  replies: SendReply[];
  /** The summary, the last event. */
  summary: SendSummary;
}

/**
 * Like {@linkcode sendEvents}, with the replies and the summary apart;
 * asserts that the summary came.
 */
export async function collectReplies(
  message: unknown,
  options: Omit<SendOptions, "interface">,
): Promise<Collected> {
  const replies: SendReply[] = [];
  let summary: SendSummary | undefined;
  for (const event of await sendEvents(message, options)) {
    if (event.event === "reply") replies.push(event);
    else summary = event;
  }
  assert.ok(summary, "send must end with a summary");
  return { replies, summary };
}
