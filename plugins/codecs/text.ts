/**
 * The `text` codec: payloads are UTF-8 text. Bytes that are not valid
 * UTF-8 fail to decode (they are counted, never replaced silently).
 *
 * @module
 */

import type { Codec } from "../../lib/plugin.ts";
import { decodeUtf8, encodeUtf8 } from "../../lib/utf8.ts";

/**
 * Makes the `text` codec.
 *
 * @returns A codec that reads and writes UTF-8 strings.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { text } from "./text.ts";
 * const codec = text();
 * assert.equal(codec.decode(codec.encode("héllo")), "héllo");
 * ```
 */
export function text(): Codec<string> {
  return {
    name: "text",
    encode(value: string): Uint8Array {
      if (typeof value !== "string") {
        throw new TypeError(
          `The text codec encodes strings, got ${
            value === null ? "null" : typeof value
          }`,
        );
      }
      return encodeUtf8(value);
    },
    decode(bytes: Uint8Array): string {
      try {
        return decodeUtf8(bytes);
      } catch {
        throw new SyntaxError(
          `Payload of ${bytes.byteLength} bytes is not valid UTF-8 text`,
        );
      }
    },
  };
}

export default text;
