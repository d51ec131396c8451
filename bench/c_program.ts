/**
 * Builds one of the bench's C programs (`senders/flood.c`,
 * `receivers/recvmmsg.c`) with `gcc -O2` into a fresh temporary directory
 * at run time; nothing compiled is kept in the tree.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** A compiled program; `dispose` removes it. */
export interface CProgram {
  /** The executable. */
  path: string;
  /** Deletes the temporary directory. */
  dispose(): Promise<void>;
}

/**
 * Compiles `bench/<source>`.
 *
 * @param source Path of the C file under `bench/`, e.g. `senders/flood.c`.
 * @returns The program, or why it could not be built (no gcc, errors).
 *
 * @example
 * ```ts ignore
 * import { compileC } from "./c_program.ts";
 * const flood = await compileC("senders/flood.c");
 * if (typeof flood !== "string") await flood.dispose();
 * ```
 */
export async function compileC(source: string): Promise<CProgram | string> {
  const file = fileURLToPath(new URL(`./${source}`, import.meta.url));
  const name = source.replace(/^.*\//, "").replace(/\.c$/, "");
  let dir: string | undefined;
  try {
    dir = await Deno.makeTempDir({ prefix: `mcast_bench_${name}_` });
    const gcc = await new Deno.Command("gcc", {
      args: ["-O2", "-o", `${dir}/${name}`, file],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!gcc.success) {
      throw new Error(new TextDecoder().decode(gcc.stderr).trim());
    }
    const made = dir;
    return {
      path: `${dir}/${name}`,
      dispose: () => Deno.remove(made, { recursive: true }),
    };
  } catch (error) {
    if (dir !== undefined) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    return `cannot build ${source}: ${(error as Error).message}`;
  }
}
