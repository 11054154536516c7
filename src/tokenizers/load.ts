// Resolve a task file's tokenizer spec to a Tokenizer:
//   "gpt2" or "r50k"        GPT-2's r50k_base (no file needed);
//   a path ending in .json  a Hugging Face tokenizer.json (a tokenizer_config.json
//                           beside a file named tokenizer.json is read too, for BOS);
//   any other path          a llama2.c tokenizer .bin.
// Files come through the caller's readFile, so this runs anywhere (Node's fs,
// Deno.readFile, fetch in a browser). Relative paths are joined to baseDir
// with string logic only: core code cannot use node:path.
//
// Each tokenizer's module is imported when one is asked for: gpt-tokenizer's
// r50k table alone is 6 MiB of JavaScript heap, which a run on token ids
// never needs.
import { InputError } from "../errors.js";
import type { Tokenizer } from "./tokenizer.js";

/** Reads a file's bytes, or returns null when there is no such file. */
export type ReadFile = (path: string) => Promise<Uint8Array | null>;

const NAMED = new Set(["gpt2", "r50k"]);

// A root: "/", "\\" (UNC), "C:\" or "C:/", or a URL's "scheme://host/".
const ROOT = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*\/?|[A-Za-z]:[\\/]|[\\/]{1,2})/;

/** `path` with "." and ".." segments folded and separators made "/" (a root is kept as written). */
export function normalizePath(path: string): string {
  const root = ROOT.exec(path)?.[0] ?? "";
  const out: string[] = [];
  for (const seg of path.slice(root.length).split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg !== "..") out.push(seg);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (root === "") out.push(".."); // above the root there is nothing to go to
  }
  const rest = out.join("/");
  return root + (rest === "" && root === "" ? "." : rest);
}

/** `path` resolved against `baseDir` unless it is absolute (or there is no baseDir). */
export function resolvePath(path: string, baseDir?: string): string {
  if (ROOT.test(path) || baseDir === undefined || baseDir === "") return normalizePath(path);
  return normalizePath(`${baseDir}/${path}`);
}

/** Read `path`, turning a missing file into InputError and a failed read into a one-line one. */
async function readOrThrow(readFile: ReadFile, spec: string, path: string): Promise<Uint8Array> {
  let bytes: Uint8Array | null;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError(`tokenizer "${spec}" could not be read (${path}: ${String((e as Error)?.message ?? e).split("\n")[0]})`);
  }
  if (bytes === null) throw new InputError(`tokenizer "${spec}" not found (looked for ${path})`);
  return bytes;
}

/** The Tokenizer a task file names: "gpt2"/"r50k", a tokenizer.json path, or a llama2.c .bin path. */
export async function loadTokenizer(spec: string, readFile: ReadFile, baseDir?: string): Promise<Tokenizer> {
  if (typeof spec !== "string" || spec.trim() === "") throw new InputError(`tokenizer spec must be "gpt2", a tokenizer.json path or a llama2.c .bin path; got ${JSON.stringify(spec)}`);
  if (NAMED.has(spec)) return new (await import("./r50k.js")).R50kTokenizer(spec);
  const path = resolvePath(spec, baseDir);
  const bytes = await readOrThrow(readFile, spec, path);
  if (/\.json$/i.test(path)) {
    // Hugging Face keeps bos_token in tokenizer_config.json next to tokenizer.json.
    let configFile: { bytes: Uint8Array; name: string } | undefined;
    if (/(^|\/)tokenizer\.json$/.test(path)) {
      const configPath = path.replace(/tokenizer\.json$/, "tokenizer_config.json");
      let configBytes: Uint8Array | null = null;
      try { configBytes = await readFile(configPath); } catch { configBytes = null; }
      if (configBytes !== null) configFile = { bytes: configBytes, name: configPath };
    }
    return (await import("./hf.js")).HfTokenizer.parse(bytes, path, configFile);
  }
  return (await import("./llama2c.js")).Llama2cBinTokenizer.parse(bytes, path);
}
