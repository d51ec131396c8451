/**
 * What a run expects (`expect`, `expectFrom`): how many distinct
 * responders, and which hosts, must answer. A round (one request and the
 * wait after it) ends as soon as its expectation is met; the summary says
 * who answered and who did not.
 *
 * @module
 */

import { addressFamily, addressKey, isMulticast } from "../address.ts";
import { McastRangeError, McastTypeError } from "../errors.ts";
import type { SendSummary } from "./events.ts";

/** What a run's summary says about its expectation. */
export type ExpectationSummary = NonNullable<SendSummary["expect"]>;

/** Checks `expect`: an integer >= 1, or nothing. */
function checkCount(expect: number | undefined): number {
  if (expect === undefined) return 0;
  if (!Number.isInteger(expect) || expect < 1) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid expect ${expect}: must be an integer >= 1 (responders to wait for)`,
    );
  }
  return expect;
}

/** Checks `expectFrom`: unicast addresses. */
function checkHosts(hosts: readonly string[]): string[] {
  for (const host of hosts) {
    if (typeof host !== "string" || addressFamily(host) === undefined) {
      throw new McastTypeError(
        "ERR_INVALID_OPTION",
        `Invalid expect-from "${host}": not an IP address (give a responder's address, as its replies show it)`,
      );
    }
    if (isMulticast(host)) {
      throw new McastTypeError(
        "ERR_INVALID_OPTION",
        `Invalid expect-from "${host}": a multicast address never answers (give a responder's own address)`,
      );
    }
  }
  return [...new Set(hosts)];
}

/**
 * Tracks who answered, per round and over the run.
 *
 * @example Two of three expected responders answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { Expectation } from "./expectation.ts";
 * const expectation = Expectation.of(3, ["10.0.0.9"])!;
 * expectation.newRound();
 * expectation.answered("10.0.0.1", true);
 * expectation.answered("10.0.0.2", true);
 * assert.equal(expectation.roundMet, false);
 * assert.deepEqual(expectation.summary().missing, ["10.0.0.9"]);
 * ```
 */
export class Expectation {
  readonly #responders: number;
  readonly #from: Map<string, string>;
  readonly #all = new Set<string>();
  #round = new Set<string>();
  #roundMet = false;
  #roundsMet = 0;
  // The latest address and its key: a ping-pong hears one responder.
  #lastAddress = "";
  #lastKey = "";

  private constructor(responders: number, from: string[]) {
    this.#from = new Map(from.map((host) => [addressKey(host), host]));
    this.#responders = Math.max(responders, from.length);
  }

  /**
   * Checks the options; `undefined` when nothing is expected.
   *
   * @throws {McastRangeError|McastTypeError} for a bad count or address.
   */
  static of(
    expect: number | undefined,
    expectFrom: readonly string[] | undefined,
  ): Expectation | undefined {
    const responders = checkCount(expect);
    const from = checkHosts(expectFrom ?? []);
    if (responders === 0 && from.length === 0) return undefined;
    return new Expectation(responders, from);
  }

  /** Whether the latest round's expectation is met. */
  get roundMet(): boolean {
    return this.#roundMet;
  }

  /** A request left: a new round starts. */
  newRound(): void {
    this.#round.clear();
    this.#roundMet = false;
  }

  /**
   * Notes an answer from `address`.
   *
   * @param address The responder's address.
   * @param thisRound Whether it answers the latest request.
   */
  answered(address: string, thisRound: boolean): void {
    if (address !== this.#lastAddress) {
      this.#lastAddress = address;
      this.#lastKey = addressKey(address);
    }
    const key = this.#lastKey;
    this.#all.add(key);
    if (!thisRound || this.#roundMet) return;
    this.#round.add(key);
    if (this.#satisfied(this.#round)) {
      this.#roundMet = true;
      this.#roundsMet++;
    }
  }

  /** What the summary says. */
  summary(): ExpectationSummary {
    return {
      responders: this.#responders,
      answered: this.#all.size,
      missing: [...this.#from].filter(([key]) => !this.#all.has(key)).map((
        [, host],
      ) => host),
      met: this.#satisfied(this.#all),
      roundsMet: this.#roundsMet,
    };
  }

  #satisfied(answered: Set<string>): boolean {
    if (answered.size < this.#responders) return false;
    for (const key of this.#from.keys()) if (!answered.has(key)) return false;
    return true;
  }
}
