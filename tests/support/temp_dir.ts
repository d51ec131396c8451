/**
 * A temporary directory that removes itself, for `await using`.
 *
 * @module
 */

/** A temporary directory; disposal removes it and everything in it. */
export interface TempDir extends AsyncDisposable {
  /** Its absolute path. */
  readonly path: string;
}

/** Makes a temporary directory named with `prefix`. */
export async function tempDir(prefix?: string): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
