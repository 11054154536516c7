// Node-side input and output: resolve a --model argument to its files, read
// weights in chunks straight into wasm memory (no JavaScript copy, no 2 GiB
// readFileSync limit), read a data JSON, check output paths before any work
// and write outputs atomically (temp file + rename), with errors that name
// the file and what is wrong with it.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, accessSync, constants } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { loadModel } from "../model/load.js";
import { HUB_ALIASES, HubError, isHubRepoId } from "../model/hub.js";
import { loadHubModelCached } from "./hub-cache.js";
import type { Transformer } from "../model/transformer.js";
import type { PatchData } from "../patch/patcher.js";
import type { ByteSource } from "../model/formats/tensor.js";
import type { Engine } from "../wasm/engine.js";
import { AcdcError } from "../errors.js";

export class UsageError extends AcdcError {
  constructor(message: string) { super(message, "UsageError"); }
}

/** A file read on demand through one handle (positional reads; never the whole file at once). */
export function fileSource(path: string): ByteSource & { close(): void } {
  let fd: number;
  try { fd = openSync(path, "r"); } catch (e) { throw new UsageError(`cannot open ${path}: ${(e as Error).message}`); }
  const size = fstatSync(fd).size;
  return {
    byteLength: size,
    name: path,
    async read(offset, length) {
      if (offset < 0 || offset + length > size) throw new RangeError(`${path}: read [${offset}, ${offset + length}) beyond ${size} bytes`);
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) throw new UsageError(`${path} ended after ${offset + got} bytes (it was ${size} when opened; was it changed while loading?)`);
        got += n;
      }
      return buf;
    },
    close() { closeSync(fd); },
  };
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

/** Where a --model argument's weights (and config, for safetensors) are. */
export interface ModelFiles { weights: string; config: string | null; name: string }

/**
 * Resolve a --model argument: `NAME.safetensors` with `NAME.config.json` (or
 * `config.json`) beside it; a folder holding `model.safetensors` and
 * `config.json` (the Hugging Face layout); or a llama2.c checkpoint `.bin`
 * (its header is its config).
 */
export function resolveModelPath(arg: string): ModelFiles {
  if (!existsSync(arg)) throw new UsageError(`model not found: ${arg} (give a .safetensors file, a llama2.c .bin, or a folder with model.safetensors and config.json)`);
  if (statSync(arg).isDirectory()) {
    const weights = join(arg, "model.safetensors"), config = join(arg, "config.json");
    if (!existsSync(weights)) throw new UsageError(`model folder ${arg} has no model.safetensors`);
    if (!existsSync(config)) throw new UsageError(`model folder ${arg} has no config.json`);
    return { weights, config, name: basename(resolve(arg)) };
  }
  if (arg.endsWith(".bin")) return { weights: arg, config: null, name: basename(arg, ".bin") };
  if (!arg.endsWith(".safetensors")) throw new UsageError(`model file ${arg} is neither a .safetensors file nor a llama2.c .bin`);
  const stem = arg.slice(0, -".safetensors".length);
  const candidates = [`${stem}.config.json`, join(dirname(arg), "config.json")];
  const config = candidates.find((c) => existsSync(c));
  if (!config) throw new UsageError(`no config for ${arg}: expected ${candidates.join(" or ")}`);
  return { weights: arg, config, name: basename(stem) };
}

/** True when a --model argument is written as a path (./x, ../x, /x, ~/x, C:\\x, x.safetensors, x.json, x.bin), never a hub id. */
export function looksLikePath(arg: string): boolean {
  return /^(\.|\/|~|[A-Za-z]:)/.test(arg) || arg.includes("\\") || /\.(safetensors|json|bin)$/i.test(arg);
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
  const src = fileSource(files.weights);
  try {
    const model = await loadModel(src, config, { engine: opts.engine, onProgress: opts.onProgress });
    return { model, name: files.name, config, files };
  } catch (e) {
    // A hub model's files are in the cache, out of the user's sight: say which.
    if (e instanceof AcdcError && isHubModelArg(arg)) throw new UsageError(`${e.message} (in ${files.weights} and its config.json, downloaded from the hub)`);
    throw e;
  } finally {
    src.close();
  }
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
  const known = new Set(["clean", "corrupted", "positions", "correct", "incorrect"]);
  const extra = Object.keys(j).filter((k) => !known.has(k));
  if (extra.length) throw new UsageError(`data file ${path}: unknown field${extra.length > 1 ? "s" : ""} ${extra.map((k) => `"${k}"`).join(", ")} (expected clean, corrupted, positions, correct, incorrect)`);
  return { clean: j.clean, corrupted: j.corrupted as number[][] | undefined, positions: positions as number[] | number[][], correct: nums("correct"), incorrect: nums("incorrect") };
}

/** Refuse an output path that cannot be written, before any work: a folder, a missing or read-only folder. */
export function checkOutputPath(path: string, option: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${option} ${path} is a folder, not a file`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new UsageError(`${option} ${path}: folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${option} ${path}: ${dir} is not a folder`);
  try { accessSync(dir, constants.W_OK); } catch { throw new UsageError(`${option} ${path}: folder ${dir} is not writable`); }
  if (existsSync(path)) {
    try { accessSync(path, constants.W_OK); } catch { throw new UsageError(`${option} ${path} exists and is not writable`); }
  }
}

/** Temp files being written now (a download streaming to disk, an output before its rename). */
const tempFiles = new Set<string>();

/**
 * On SIGINT/SIGTERM while temp files exist: remove them, then die of the
 * same signal. Installed only while there are any, so a long synchronous
 * search keeps the default Ctrl-C (a JavaScript handler would wait for it
 * to finish); SIGKILL leaves at most a hidden .part file beside the output.
 */
function onSignal(sig: NodeJS.Signals): void {
  for (const p of tempFiles) rmSync(p, { force: true });
  tempFiles.clear();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.kill(process.pid, sig);
}

/** Note a temp file to remove if the process is interrupted; returns the function that forgets it. */
export function removeOnExit(path: string): () => void {
  if (!tempFiles.size) { process.on("SIGINT", onSignal); process.on("SIGTERM", onSignal); }
  tempFiles.add(path);
  return () => {
    tempFiles.delete(path);
    if (!tempFiles.size) { process.off("SIGINT", onSignal); process.off("SIGTERM", onSignal); }
  };
}

/** Write a file whole or not at all: a temp file beside it, then a rename. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
  const forget = removeOnExit(tmp);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
    forget();
  }
}
