/**
 * Loads a plugin chosen at launch: by built-in name, by file path
 * (resolved against the directory the user ran the command from) or by
 * URL. It checks what an untrusted module exports and says what is wrong.
 * Only the module the user named is imported.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { errorText, PluginError } from "./errors.ts";
import type { Codec, PluginOptions, Responder } from "./plugin.ts";

/** Modules by name: a thunk per plugin, each a literal `import()`. */
export type PluginModules = Record<string, () => Promise<unknown>>;

/** The built-in plugins a loader knows by name. */
export interface PluginCatalog {
  /** Responder modules by name. */
  responders: PluginModules;
  /** Codec modules by name. */
  codecs: PluginModules;
}

/** Options for {@linkcode loadResponder} and {@linkcode loadCodec}. */
export interface LoadOptions {
  /** Handed to the module's factory (`--option key=value`). @default {{}} */
  options?: PluginOptions;
  /** Where relative paths start. @default `Deno.cwd()` */
  cwd?: string;
  /** Modules known by name. @default none */
  builtins?: PluginModules;
}

type Kind = "responder" | "codec";

/**
 * Tells where a plugin specifier points: a built-in name, or a module URL.
 *
 * @param spec A name (`echo`), a path (`./mine.ts`, `/abs/mine.ts`) or a URL (`https://host/mine.ts`).
 * @param builtins Names known as built-ins.
 * @param cwd Where relative paths start.
 * @returns `{ builtin: name }` or `{ url }`.
 * @throws {PluginError} `ERR_PLUGIN_NOT_FOUND` for a name that is none of these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePluginSpecifier } from "./loader.ts";
 * const where = resolvePluginSpecifier("./mine.ts", [], "/home/me");
 * assert.ok("url" in where);
 * assert.equal(where.url.href, "file:///home/me/mine.ts");
 * ```
 */
export function resolvePluginSpecifier(
  spec: string,
  builtins: readonly string[],
  cwd: string,
): { builtin: string } | { url: URL } {
  if (builtins.includes(spec)) return { builtin: spec };
  if (/^(https?|file):/i.test(spec)) {
    try {
      return { url: new URL(spec) };
    } catch {
      throw new PluginError(
        "ERR_PLUGIN_NOT_FOUND",
        spec,
        `Invalid plugin URL "${spec}"`,
      );
    }
  }
  if (
    spec.includes("/") || spec.includes("\\") || spec.startsWith(".") ||
    /\.(ts|js|mjs|mts)$/.test(spec)
  ) {
    const path = isAbsolute(spec) ? spec : resolve(cwd, spec);
    return { url: pathToFileURL(path) };
  }
  throw new PluginError(
    "ERR_PLUGIN_NOT_FOUND",
    spec,
    `Unknown plugin "${spec}": not a built-in (${
      builtins.join(", ") || "none"
    }), a file path (./${spec}.ts) or a URL`,
  );
}

/** A permission Deno refused while importing a module. */
interface Refused {
  /** `read` (a file) or `import` (a host). */
  permission: "read" | "import";
  /** The path or the host:port refused. */
  target: string;
}

/**
 * The permission a failed `import()` was refused, if that is why it failed.
 * Deno 2.9 reports it as a `TypeError` with code `ERR_MODULE_NOT_FOUND`
 * (`NotCapable` in other versions or for other operations), and names what
 * was refused only in the message: this is the one place that reads it.
 */
function refusedPermission(error: unknown): Refused | undefined {
  const refusal = error instanceof Deno.errors.NotCapable ||
    (error instanceof TypeError &&
      (error as { code?: string }).code === "ERR_MODULE_NOT_FOUND");
  if (!refusal) return undefined;
  const found = /Requires (read|import) access to "([^"]+)"/.exec(
    errorText(error),
  );
  return found === null
    ? undefined
    : { permission: found[1] as Refused["permission"], target: found[2] };
}

async function importModule(spec: string, url: URL): Promise<unknown> {
  try {
    return await import(url.href);
  } catch (error) {
    const refused = refusedPermission(error);
    // Name what was refused (the plugin itself, or a module it imports)
    // and the flag that allows it: Deno's flag, which `deno task send` and
    // `deno task listen` take too.
    const reason = refused === undefined
      ? errorText(error)
      : refused.permission === "import"
      ? `import access to "${refused.target}" was refused (allow it with --allow-import=${refused.target})`
      : `read access to "${refused.target}" was refused (allow it with --allow-read=${refused.target})`;
    throw new PluginError(
      "ERR_PLUGIN_LOAD",
      spec,
      `Cannot load plugin "${spec}" from ${url.href}: ${reason}`,
      { cause: error },
    );
  }
}

function problems(kind: Kind, value: unknown): string[] {
  if (typeof value !== "object" || value === null) {
    return [`is ${value === null ? "null" : typeof value}, not an object`];
  }
  const plugin = value as Record<string, unknown>;
  const found: string[] = [];
  if (typeof plugin.name !== "string" || plugin.name === "") {
    found.push("has no name (a non-empty string)");
  }
  const required = kind === "responder" ? ["respond"] : ["encode", "decode"];
  const optional = kind === "responder"
    ? ["setup", "teardown"]
    : ["parse", "show"];
  for (const hook of required) {
    if (typeof plugin[hook] !== "function") {
      found.push(`has no ${hook}() function`);
    }
  }
  for (const hook of optional) {
    if (plugin[hook] !== undefined && typeof plugin[hook] !== "function") {
      found.push(`has a ${hook} that is not a function`);
    }
  }
  return found;
}

async function load(
  kind: Kind,
  spec: string,
  load: LoadOptions,
): Promise<unknown> {
  const builtins = load.builtins ?? {};
  const where = resolvePluginSpecifier(
    spec,
    Object.keys(builtins),
    load.cwd ?? Deno.cwd(),
  );
  const module = "builtin" in where
    ? await builtins[where.builtin]()
    : await importModule(spec, where.url);
  const exported = (module as { default?: unknown }).default;
  if (exported === undefined) {
    throw new PluginError(
      "ERR_PLUGIN_SHAPE",
      spec,
      `Plugin "${spec}" has no default export (expected a ${kind} object or a factory function returning one)`,
    );
  }
  const options = load.options ?? {};
  let plugin = exported;
  if (typeof exported === "function") {
    try {
      plugin = await exported(options);
    } catch (error) {
      throw new PluginError(
        "ERR_PLUGIN_HOOK",
        spec,
        // A factory that refuses its options says so itself.
        errorText(error).startsWith("Plugin ")
          ? errorText(error)
          : `Plugin "${spec}" failed in its factory: ${errorText(error)}`,
        { hook: "factory", cause: error },
      );
    }
  } else if (Object.keys(options).length > 0) {
    throw new PluginError(
      "ERR_PLUGIN_SHAPE",
      spec,
      `Plugin "${spec}" takes no options: its default export is a ${kind}, not a factory`,
    );
  }
  const found = problems(kind, plugin);
  if (found.length > 0) {
    throw new PluginError(
      "ERR_PLUGIN_SHAPE",
      spec,
      `Plugin "${spec}" is not a ${kind}: it ${found.join(", ")}`,
    );
  }
  return plugin;
}

/**
 * Loads a responder by built-in name, path or URL, and checks its shape.
 *
 * @param spec What the user named with `--plugin`.
 * @param options Factory options, the directory paths start from, and the built-ins.
 * @returns The responder.
 * @throws {PluginError} `ERR_PLUGIN_NOT_FOUND`, `ERR_PLUGIN_LOAD`, `ERR_PLUGIN_SHAPE` or `ERR_PLUGIN_HOOK` (its factory threw).
 *
 * @example Load a built-in
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadResponder } from "./loader.ts";
 * import { builtins } from "../plugins/builtins.ts";
 * const responder = await loadResponder("ack", { builtins: builtins.responders });
 * assert.equal(responder.name, "ack");
 * ```
 */
export async function loadResponder(
  spec: string,
  options: LoadOptions = {},
): Promise<Responder> {
  return await load("responder", spec, options) as Responder;
}

/**
 * Loads a codec by built-in name, path or URL, and checks its shape.
 *
 * @param spec What the user named with `--codec`.
 * @param options Factory options, the directory paths start from, and the built-ins.
 * @returns The codec.
 * @throws {PluginError} `ERR_PLUGIN_NOT_FOUND`, `ERR_PLUGIN_LOAD`, `ERR_PLUGIN_SHAPE` or `ERR_PLUGIN_HOOK`.
 *
 * @example Load a built-in
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCodec } from "./loader.ts";
 * import { builtins } from "../plugins/builtins.ts";
 * const codec = await loadCodec("json", { builtins: builtins.codecs });
 * assert.equal(codec.name, "json");
 * ```
 */
export async function loadCodec(
  spec: string,
  options: LoadOptions = {},
): Promise<Codec> {
  return await load("codec", spec, options) as Codec;
}
