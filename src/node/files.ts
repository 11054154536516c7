// Node-side input: resolve a --model path to safetensors + config, read a
// data JSON, with errors that name the file and what is wrong with it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { loadModel } from "../model/load.js";
import { HUB_ALIASES, HubError, isHubRepoId } from "../model/hub.js";
import { loadHubModelCached } from "./hub-cache.js";
import type { Transformer } from "../model/transformer.js";
import type { PatchData } from "../graph/patcher.js";

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = "UsageError"; }
}

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
 * Where a --model argument's weights and config are: `NAME.safetensors` with
 * `NAME.config.json` (or `config.json`) beside it, or a folder holding
 * `model.safetensors` and `config.json` (the Hugging Face layout).
 */
export function resolveModelPath(arg: string): { weights: string; config: string; name: string } {
  if (!existsSync(arg)) throw new UsageError(`model not found: ${arg} (give a .safetensors file or a folder with model.safetensors and config.json)`);
  if (statSync(arg).isDirectory()) {
    const weights = join(arg, "model.safetensors"), config = join(arg, "config.json");
    if (!existsSync(weights)) throw new UsageError(`model folder ${arg} has no model.safetensors`);
    if (!existsSync(config)) throw new UsageError(`model folder ${arg} has no config.json`);
    return { weights, config, name: basename(arg.replace(/\/+$/, "")) };
  }
  if (!arg.endsWith(".safetensors")) throw new UsageError(`model file ${arg} is not a .safetensors file`);
  const stem = arg.slice(0, -".safetensors".length);
  const candidates = [`${stem}.config.json`, join(dirname(arg), "config.json")];
  const config = candidates.find((c) => existsSync(c));
  if (!config) throw new UsageError(`no config for ${arg}: expected ${candidates.join(" or ")}`);
  return { weights: arg, config, name: basename(stem) };
}

/** True when a --model argument is written as a path (./x, ../x, /x, ~/x, C:\\x, x.safetensors, x.json), never a hub id. */
export function looksLikePath(arg: string): boolean {
  return /^(\.|\/|~|[A-Za-z]:)/.test(arg) || arg.includes("\\") || /\.(safetensors|json)$/i.test(arg);
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

/**
 * Load a model from a --model argument: a local file or folder (see
 * resolveModelPath), or a Hugging Face repo id (gpt2, OWNER/NAME) fetched
 * through the disk cache (src/node/hub-cache.ts; ACDC_CACHE, ACDC_HUB_URL).
 */
export async function loadModelFromPath(arg: string, opts: { quiet?: boolean } = {}): Promise<{ model: Transformer; name: string; config: Record<string, unknown> }> {
  if (isHubModelArg(arg)) {
    let hub: Awaited<ReturnType<typeof loadHubModelCached>>;
    try { hub = await loadHubModelCached(arg, opts.quiet ? { progress: null } : {}); } catch (e) { throw e instanceof HubError ? hubUsageError(e, arg) : e; }
    return { model: await loadModel(hub.safetensors, hub.config), name: hub.repo, config: hub.config };
  }
  const { weights, config, name } = resolveModelPath(arg);
  const cfgJson = readJsonFile(config, "model config");
  const model = await loadModel(new Uint8Array(readFileSync(weights)), cfgJson);
  return { model, name, config: cfgJson };
}

const isTokenRows = (x: unknown): x is number[][] => Array.isArray(x) && x.every((r) => Array.isArray(r) && r.every((v) => typeof v === "number"));

/** Read a data JSON: clean and corrupted token ids [batch][pos], positions, and (logit-diff) correct/incorrect tokens. */
export function readDataFile(path: string): PatchData & { correct?: number[]; incorrect?: number[] } {
  const j = readJsonFile(path, "data");
  if (!isTokenRows(j.clean) || j.clean.length === 0) throw new UsageError(`data file ${path}: "clean" must be a non-empty list of token-id lists`);
  if (j.corrupted !== undefined && !isTokenRows(j.corrupted)) throw new UsageError(`data file ${path}: "corrupted" must be a list of token-id lists`);
  const positions = j.positions;
  if (!Array.isArray(positions) || !positions.every((p) => typeof p === "number" || (Array.isArray(p) && p.every((q) => typeof q === "number")))) {
    throw new UsageError(`data file ${path}: "positions" must list one position (or a list of positions) per prompt`);
  }
  const nums = (k: string) => {
    const v = j[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new UsageError(`data file ${path}: "${k}" must be a list of token ids`);
    return v as number[];
  };
  return { clean: j.clean, corrupted: j.corrupted as number[][] | undefined, positions: positions as number[] | number[][], correct: nums("correct"), incorrect: nums("incorrect") };
}
