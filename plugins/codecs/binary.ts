/**
 * The `binary` codec: payloads are raw bytes, shown as hex. On the command
 * line a message is given in hex (`de ad be ef`, `de:ad:be:ef`, `0xdeadbeef`).
 *
 * @module
 */

import type { Codec } from "../../lib/plugin.ts";
import { encodeUtf8 } from "../../lib/utf8.ts";

/**
 * Formats bytes as lower-case hex, two digits a byte.
 *
 * @param bytes Any bytes.
 * @returns The hex text, without separators.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toHex } from "./binary.ts";
 * assert.equal(toHex(new Uint8Array([0xde, 0xad])), "dead");
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Parses hex text into bytes; spaces, colons and a leading `0x` are allowed.
 *
 * @param text Hex such as `"de ad be ef"`.
 * @returns The bytes.
 * @throws {SyntaxError} when the text is not an even number of hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromHex } from "./binary.ts";
 * assert.deepEqual(fromHex("de:ad"), new Uint8Array([0xde, 0xad]));
 * ```
 */
export function fromHex(text: string): Uint8Array {
  const digits = text.trim().replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) {
    throw new SyntaxError(
      `Message ${
        JSON.stringify(text)
      } is not hex bytes (expected pairs of hex digits, such as "de ad be ef")`,
    );
  }
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

/**
 * Makes the `binary` codec.
 *
 * @returns A codec whose values are the bytes themselves (strings encode as UTF-8).
 *
 * @example Bytes pass through, and show as hex
 * ```ts
 * import assert from "node:assert/strict";
 * import { binary } from "./binary.ts";
 * const codec = binary();
 * const bytes = codec.decode(new Uint8Array([1, 2, 255]));
 * assert.equal(codec.show?.(bytes), "0102ff");
 * ```
 */
export function binary(): Codec<Uint8Array | string> {
  return {
    name: "binary",
    encode(value: Uint8Array | string): Uint8Array {
      if (value instanceof Uint8Array) return value;
      if (typeof value === "string") return encodeUtf8(value);
      throw new TypeError(
        `The binary codec encodes bytes or strings, got ${
          value === null ? "null" : typeof value
        }`,
      );
    },
    decode(bytes: Uint8Array): Uint8Array {
      return bytes;
    },
    parse: fromHex,
    show(value: Uint8Array | string): string {
      return typeof value === "string"
        ? toHex(encodeUtf8(value))
        : toHex(value);
    },
  };
}

export default binary;
