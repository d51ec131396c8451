/**
 * The address ranges a lab may use, and the checks that keep every lab
 * address inside them: {@linkcode TEST_V4_RANGE} and
 * {@linkcode TEST_V6_RANGE} are private ranges no real network here uses.
 *
 * @module
 */

/** IPv4 range every lab address must lie in (private, never on the host). */
export const TEST_V4_RANGE = "10.77.0.0/16";
/** IPv6 range every lab address must lie in (unique local, never on the host). */
export const TEST_V6_RANGE = "fd77::/16";

function parseV4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>>
    0;
}

function inV4Range(addr: string): boolean {
  const [base, len] = TEST_V4_RANGE.split("/");
  const a = parseV4(addr);
  const b = parseV4(base)!;
  if (a === null) return false;
  const mask = (~0 << (32 - Number(len))) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Splits "a/len" and checks the address lies in {@linkcode TEST_V4_RANGE}. */
export function checkV4Cidr(
  cidr: string,
  what: string,
): { address: string; prefix: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || parseV4(m[1]) === null || Number(m[2]) > 32 || Number(m[2]) < 8) {
    throw new SyntaxError(
      `Cannot use ${what} "${cidr}": expected IPv4 "a.b.c.d/len"`,
    );
  }
  if (!inV4Range(m[1])) {
    throw new RangeError(
      `Cannot use ${what} "${cidr}": outside the test range ${TEST_V4_RANGE}`,
    );
  }
  return { address: m[1], prefix: Number(m[2]) };
}

/** Checks that `addr` is an IPv4 address in {@linkcode TEST_V4_RANGE}. */
export function checkV4(addr: string, what: string): string {
  if (parseV4(addr) === null) {
    throw new SyntaxError(`Cannot use ${what} "${addr}": not an IPv4 address`);
  }
  if (!inV4Range(addr)) {
    throw new RangeError(
      `Cannot use ${what} "${addr}": outside the test range ${TEST_V4_RANGE}`,
    );
  }
  return addr;
}

/** Splits "addr/len" and checks the address lies in {@linkcode TEST_V6_RANGE}. */
export function checkV6Cidr(
  cidr: string,
  what: string,
): { address: string; prefix: number } {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(cidr);
  if (!m || !m[1].includes(":") || Number(m[2]) > 128) {
    throw new SyntaxError(
      `Cannot use ${what} "${cidr}": expected IPv6 "addr/len"`,
    );
  }
  if (!/^fd77:/i.test(m[1])) {
    throw new RangeError(
      `Cannot use ${what} "${cidr}": outside the test range ${TEST_V6_RANGE}`,
    );
  }
  return { address: m[1].toLowerCase(), prefix: Number(m[2]) };
}
