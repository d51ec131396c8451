/**
 * `send -g A -g B`: one run per group, side by side, their events merged
 * in the order they come, each tagged with its group.
 *
 * @module
 */

/** An event of one group's run. */
export interface GroupEvent<T> {
  /** Which group's run yielded it (its index in the list). */
  index: number;
  /** The event. */
  event: T;
}

/**
 * Iterates several async iterators at once and yields each value as it
 * comes, tagged with its iterator's index; ends when all have ended.
 * Leaving the loop early (or a throw) ends every iterator still going.
 */
export async function* mergeRuns<T>(
  runs: readonly AsyncIterator<T>[],
): AsyncGenerator<GroupEvent<T>, void, undefined> {
  const pending = new Map<number, Promise<[number, IteratorResult<T>]>>();
  const next = (index: number) =>
    pending.set(
      index,
      runs[index].next().then((result) => [index, result]),
    );
  runs.forEach((_, index) => next(index));
  try {
    while (pending.size > 0) {
      const [index, result] = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      next(index);
      yield { index, event: result.value };
    }
  } finally {
    await Promise.allSettled(
      [...pending.keys()].map((index) => runs[index].return?.()),
    );
  }
}
