// Node-side inputs: resolve a --model argument to its files (local, or the
// hub through the disk cache), read weights in chunks straight into wasm
// memory (no JavaScript copy, no 2 GiB readFileSync limit) and read a data
// JSON, with errors that name the file and what is wrong with it. Output
// paths and atomic writes live in local-io.ts (re-exported here).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { loadModel } from "../model/load.js";
import { HUB_ALIASES, HubError, isHubRepoId } from "../model/hub.js";
import { loadHubModelCached } from "./hub-cache.js";
import { fileSource, UsageError } from "./local-io.js";
export { UsageError, fileSource, checkOutputPath, removeOnExit, writeAtomic } from "./local-io.js";
import type { Transformer } from "../model/transformer.js";
import type { ByteSource } from "../model/formats/tensor.js";
import { parseDataJson, type DataJson } from "../io/data.js";
import type { Engine } from "../wasm/engine.js";
import { AcdcError } from "../errors.js";

/** Read and parse a JSON file, naming the file on failure. */
export function readJsonFile(path: string, what: string): Record<string, unknown> {
  if (!existsSync(path)) throw new UsageError(`${what} file not found: ${path}`);
  let text: string;
  try { text = readFileSync(path, "utf8"); } catch (e) { throw new UsageError(`cannot read ${what} file ${path}: ${(e as Error).message}`); }
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new UsageError(`${what} file ${path} is not valid JSON: ${(e as Error).message}`); }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new UsageError(`${what} file ${path} must hold a JSON object`);
  return j as Record<string, unknown>;
}

/**
 * Where a --model argument's weights (and config, when the weights need one)
 * are. `index` is set for a checkpoint split into shards: `weights` is then
 * the index JSON and `shards` its files (the weight_map's values).
 */
export interface ModelFiles { weights: string; config: string | null; name: string; index?: string; shards?: string[] }

/** Files a Hugging Face folder may hold its weights in, in order of preference (an index: shards). */
const FOLDER_WEIGHTS = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

/** The weights file of a Hugging Face folder (see FOLDER_WEIGHTS), or undefined. */
export function folderWeights(dir: string): string | undefined {
  return FOLDER_WEIGHTS.map((f) => join(dir, f)).find((f) => existsSync(f));
}

/** Whether a file starts like a zip archive (a torch.save checkpoint, whatever its extension). */
function isZip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
  } finally {
    closeSync(fd);
  }
}

/** The shard files an index JSON names (the distinct values of its weight_map), checked to exist beside it. */
export function shardFiles(index: string): string[] {
  const j = readJsonFile(index, "shard index");
  const map = j.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) throw new UsageError(`shard index ${index} has no "weight_map" object`);
  const files = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const f of files) {
    if (typeof f !== "string" || f.includes("/") || f.includes("\\") || f.startsWith(".")) throw new UsageError(`shard index ${index} names ${JSON.stringify(f)}, which is not a file name beside it`);
    if (!existsSync(join(dirname(index), f))) throw new UsageError(`shard index ${index} names ${f}, which is missing`);
  }
  return files as string[];
}

/** A sharded checkpoint as loadModel takes it: the parsed index and a source per shard beside it, by the index's names (close them when done). */
export function shardedWeights(index: string, names: string[] = shardFiles(index)): { index: Record<string, unknown>; shards: Map<string, ByteSource & { close(): void }> } {
  return { index: readJsonFile(index, "shard index"), shards: new Map(names.map((f) => [f, fileSource(join(dirname(index), f))])) };
}

/**
 * Resolve a --model argument: `NAME.safetensors` or a PyTorch checkpoint
 * `NAME.pth` / `NAME.pt` with `NAME.config.json` (or `config.json`) beside
 * it; a folder holding `config.json` and `model.safetensors`, or shards with
 * `model.safetensors.index.json`, or `pytorch_model.bin` (the Hugging Face
 * layouts); or a llama2.c checkpoint `.bin` (its header is its config).
 */
export function resolveModelPath(arg: string): ModelFiles {
  if (!existsSync(arg)) throw new UsageError(`model not found: ${arg} (give a .safetensors or .pth file, a llama2.c .bin, or a folder with config.json and model.safetensors)`);
  if (statSync(arg).isDirectory()) {
    const found = folderWeights(arg);
    const config = join(arg, "config.json");
    if (!found) throw new UsageError(`model folder ${arg} has no model.safetensors (nor shards with model.safetensors.index.json, nor pytorch_model.bin)`);
    if (!existsSync(config)) throw new UsageError(`model folder ${arg} has no config.json`);
    const name = basename(resolve(arg));
    if (found.endsWith(".index.json")) return { weights: found, config, name, index: found, shards: shardFiles(found) };
    return { weights: found, config, name };
  }
  // A .bin is a llama2.c checkpoint unless it is a zip (pytorch_model.bin): then it needs its config like a .pth.
  if (arg.endsWith(".bin") && !isZip(arg)) return { weights: arg, config: null, name: basename(arg, ".bin") };
  const ext = [".safetensors", ".pth", ".pt", ".bin"].find((x) => arg.endsWith(x));
  if (!ext) throw new UsageError(`model file ${arg} is neither a .safetensors file nor a llama2.c .bin nor a PyTorch checkpoint (.pth, .pt)`);
  const stem = arg.slice(0, -ext.length);
  const candidates = [`${stem}.config.json`, join(dirname(arg), "config.json")];
  const config = candidates.find((c) => existsSync(c));
  if (!config) throw new UsageError(`no config for ${arg}: expected ${candidates.join(" or ")}`);
  return { weights: arg, config, name: basename(stem) };
}

/** True when a --model argument is written as a path (./x, ../x, /x, ~/x, C:\\x, x.safetensors, x.json, x.bin, x.pth, x.pt), never a hub id. */
export function looksLikePath(arg: string): boolean {
  return /^(\.|\/|~|[A-Za-z]:)/.test(arg) || arg.includes("\\") || /\.(safetensors|json|bin|pth|pt)$/i.test(arg);
}

/** True when a --model argument names a Hugging Face repo: not an existing path, not path-like, a valid repo id. */
export function isHubModelArg(arg: string): boolean {
  return !existsSync(arg) && !looksLikePath(arg) && isHubRepoId(HUB_ALIASES[arg] ?? arg);
}

/** A hub failure as a usage error, with the command-line way out. */
function hubUsageError(e: HubError, arg: string): UsageError {
  if (e.kind === "offline") return new UsageError(`${e.message} — pass --model ./dir with model.safetensors and config.json`);
  if (e.kind === "not-found") return new UsageError(`${e.message} (and there is no local file or folder ${arg})`);
  return new UsageError(e.message);
}

/** The files of a --model argument (a hub model is downloaded into the cache first) and its parsed config. */
export async function modelFiles(arg: string, opts: { quiet?: boolean } = {}): Promise<{ files: ModelFiles; config: Record<string, unknown> | null }> {
  if (isHubModelArg(arg)) {
    let hub: Awaited<ReturnType<typeof loadHubModelCached>>;
    try { hub = await loadHubModelCached(arg, opts.quiet ? { progress: null } : {}); } catch (e) { throw e instanceof HubError ? hubUsageError(e, arg) : e; }
    return { files: { weights: hub.weightsPath, config: join(hub.dir, "config.json"), name: hub.repo }, config: hub.config };
  }
  const files = resolveModelPath(arg);
  return { files, config: files.config ? readJsonFile(files.config, "model config") : null };
}

export interface LoadFromPathOptions {
  quiet?: boolean;
  engine?: Engine;
  /** Called as weights are read: (bytes done, bytes total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Load a model from a --model argument: a local file or folder (see
 * resolveModelPath), or a Hugging Face repo id (gpt2, OWNER/NAME) fetched
 * through the disk cache (src/node/hub-cache.ts; ACDC_CACHE, ACDC_HUB_URL).
 */
export async function loadModelFromPath(arg: string, opts: LoadFromPathOptions = {}): Promise<{ model: Transformer; name: string; config: Record<string, unknown> | null; files: ModelFiles }> {
  const { files, config } = await modelFiles(arg, opts);
  const sharded = files.shards ? shardedWeights(files.index!, files.shards) : null;
  const sources = sharded ? [...sharded.shards.values()] : [fileSource(files.weights)];
  try {
    const model = await loadModel(sharded ?? sources[0], config, { engine: opts.engine, onProgress: opts.onProgress });
    return { model, name: files.name, config, files };
  } catch (e) {
    // A hub model's files are in the cache, out of the user's sight: say which.
    if (e instanceof AcdcError && isHubModelArg(arg)) throw new UsageError(`${e.message} (in ${files.weights} and its config.json, downloaded from the hub)`);
    throw e;
  } finally {
    for (const s of sources) s.close();
  }
}

/** Read a data JSON: clean and corrupted token ids [batch][pos], positions, and (logit-diff) correct/incorrect tokens. */
export function readDataFile(path: string): DataJson {
  return parseDataJson(readJsonFile(path, "data"), path);
}

