/**
 * The `text` codec: payloads are UTF-8 text. Bytes that are not valid
 * UTF-8 fail to decode (they are counted, never replaced silently).
 * `check` tells them apart without building the string (ASCII, most
 * requests, by a scan of the bytes), so a listener decodes only the
 * requests whose payload something reads.
 *
 * @module
 */

import type { Codec } from "../../lib/plugin.ts";
import { decodeUtf8, encodeUtf8, isAscii } from "../../lib/utf8.ts";

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
 * codec.check?.(codec.encode("héllo")); // valid: no throw
 * assert.throws(() => codec.check?.(new Uint8Array([0xff])), SyntaxError);
 * ```
 */
export function text(): Codec<string> {
  const decode = (bytes: Uint8Array): string => {
    try {
      return decodeUtf8(bytes);
    } catch {
      throw new SyntaxError(
        `Payload of ${bytes.byteLength} bytes is not valid UTF-8 text`,
      );
    }
  };
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
    decode,
    check(bytes: Uint8Array): void {
      if (!isAscii(bytes)) decode(bytes);
    },
  };
}

export default text;
