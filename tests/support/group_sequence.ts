/**
 * Fresh multicast groups for tests, from a range of their own, so that no two
 * tests (and no two test files) share a group.
 *
 * @module
 */

/**
 * Returns a function that gives a new group of `prefix` (the first two
 * octets, such as `"239.21"`) each call: `prefix.0.2`, `prefix.0.3`, ...
 * `prefix.0.250`, `prefix.1.1`, ...
 */
export function groupSequence(prefix: string): () => string {
  let next = 1;
  return () => `${prefix}.${Math.floor(next / 250)}.${(next++ % 250) + 1}`;
}
