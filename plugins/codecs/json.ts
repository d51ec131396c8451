/**
 * The `json` codec: payloads are UTF-8 JSON documents.
 *
 * @module
 */

import type { Codec } from "../../lib/plugin.ts";
import { decodeUtf8, encodeUtf8 } from "../../lib/utf8.ts";

/**
 * Makes the `json` codec.
 *
 * @returns A codec that reads and writes JSON values.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { json } from "./json.ts";
 * const codec = json();
 * const value = codec.decode(codec.encode({ hello: [1, 2] })) as { hello: number[] };
 * assert.deepEqual(value, { hello: [1, 2] });
 * ```
 */
export function json(): Codec<unknown> {
  return {
    name: "json",
    encode(value: unknown): Uint8Array {
      const text = JSON.stringify(value);
      if (text === undefined) {
        throw new TypeError(`The json codec cannot encode ${typeof value}`);
      }
      return encodeUtf8(text);
    },
    decode(bytes: Uint8Array): unknown {
      let text: string;
      try {
        text = decodeUtf8(bytes);
      } catch {
        throw new SyntaxError(
          `Payload of ${bytes.byteLength} bytes is not valid UTF-8, so not JSON`,
        );
      }
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(
          `Payload is not valid JSON: ${(error as Error).message}`,
        );
      }
    },
    parse(text: string): unknown {
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(
          `Message ${JSON.stringify(text)} is not valid JSON: ${
            (error as Error).message
          }`,
        );
      }
    },
  };
}

export default json;
