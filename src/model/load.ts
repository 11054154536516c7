// From a weights file to a ready Transformer: find the format, read its
// tensor index (never the values), plan each parameter's copy, allocate
// every parameter once and fill it straight from the file(s). Formats:
// safetensors and PyTorch zip checkpoints (.pth) with a config
// (TransformerLens, or a Hugging Face config.json whose model_type picks the
// naming scheme), one file or shards with their index; llama2.c
// checkpoints, whose header is their config. Runtime-agnostic: callers
// bring the bytes or ByteSources (Node reads files in chunks through
// src/node/; browsers wrap a File).
import { makeConfig, type ModelConfig } from "./config.js";
import { configFromJson, hfConfig, isHfConfigJson, type HfLayout } from "./config-json.js";
import { mayStore16, Params, paramTable, withPacking, withStorage, withTiedUnembed, type ParamSpec } from "./params.js";
import { weight } from "../names.js";
import { Transformer } from "./transformer.js";
import { createEngine, type Engine } from "../wasm/engine.js";
import { FormatError, InputError } from "../errors.js";
import { bytesSource, type ByteSource, type StoredTensor } from "./formats/tensor.js";
import { looksLikeSafetensors } from "./formats/safetensors.js";
import { looksLikeZip, readCheckpoint, readShards, type ShardedWeights } from "./formats/checkpoint.js";
import { canonicalPlans, gpt2Plans, isBuffer, isHuggingFaceGPT2, type SourceTensors } from "./formats/convert.js";
import { gptNeoXPlans, hfFamily, layoutFromNames, llamaPlans } from "./formats/hf.js";
import { fillParams, type CopyPlan } from "./formats/plan.js";
import { llama2cPlans } from "./formats/llama2c.js";

export interface LoadOptions {
  engine?: Engine;
  /** Bytes of weights converted so far, and in all. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Keep the matrices of a bf16 or f16 checkpoint in their 16 bits (the
   * default: about half the memory; the kernels widen them exactly, so the
   * results are those of the widened f32 weights), or widen everything to
   * f32 at load (false).
   */
  keep16?: boolean;
  /**
   * Store the f32 weights the SGEMM reads packed into its panels (the
   * default; the same results, no per-call packing), or row-major (false).
   */
  pack?: boolean;
}

/** The formats loadModel reads. */
export type WeightsFormat = "safetensors" | "pth" | "llama2c";

/** Tell a weights file's format from its first bytes. */
export async function detectFormat(src: ByteSource): Promise<WeightsFormat> {
  const head = await src.read(0, Math.min(16, src.byteLength));
  if (looksLikeSafetensors(head)) return "safetensors";
  if (looksLikeZip(head)) return "pth";
  return "llama2c";
}

const isSharded = (w: unknown): w is ShardedWeights => typeof w === "object" && w !== null && "shards" in w && "index" in w;

/**
 * Load a model: safetensors or .pth bytes (TransformerLens or Hugging Face
 * names), or the shards of a checkpoint with its index, with its config
 * (parsed JSON or a ModelConfig); or a llama2.c checkpoint (no config: its
 * header is the config).
 */
export async function loadModel(weights: Uint8Array | ByteSource | ShardedWeights, config?: Record<string, unknown> | ModelConfig | null, opts?: Engine | LoadOptions): Promise<Transformer> {
  const o: LoadOptions = opts && "k" in opts ? { engine: opts as Engine } : (opts as LoadOptions) ?? {};
  const src = weights instanceof Uint8Array ? bytesSource(weights, "weights") : isSharded(weights) ? null : weights;
  let cfg: ModelConfig, plans: CopyPlan[];
  // With a config the file must hold named tensors (its reader names what is wrong with a bad one);
  // without one, a llama2.c checkpoint, whose header is its config.
  if (!config) {
    const format = src ? await detectFormat(src) : "safetensors";
    if (format !== "llama2c") throw new InputError(`${src?.name ?? "the shards"} ${format === "pth" ? "is a PyTorch checkpoint" : "are safetensors files"}: it needs its config (TransformerLens or Hugging Face config.json)`);
    ({ cfg, plans } = await llama2cPlans(src!));
  } else {
    let layout: HfLayout | null = null;
    if ("nLayers" in config) cfg = makeConfig(config as ModelConfig);
    else if (isHfConfigJson(config as Record<string, unknown>)) ({ cfg, layout } = hfConfig(config as Record<string, unknown>));
    else cfg = configFromJson(config as Record<string, unknown>);
    const tensors = src ? await readCheckpoint(src) : await readShards(weights as ShardedWeights);
    plans = planFor(cfg, tensors, layout, src ? await detectFormat(src) : "shards");
  }
  const engine = o.engine ?? (await createEngine());
  let specs = paramTable(cfg);
  // A tied unembedding (W_U read from the embedding tensor) shares the embedding's memory.
  const tied = tiedUnembedding(plans);
  if (tied) { specs = withTiedUnembed(specs); plans = plans.filter((p) => p !== tied); }
  if (o.keep16 !== false) specs = withStorage(specs, sixteenBit(specs, plans));
  const params = new Params(engine, o.pack === false ? specs : withPacking(specs));
  await fillParams(engine, params, plans, src, { onProgress: o.onProgress });
  return new Transformer(cfg, engine, params);
}

/**
 * Plans for stored tensors: by the Hugging Face layout a config.json gave,
 * else by the naming scheme the names show (Hugging Face GPT-2, Llama,
 * GPT-NeoX), else canonical (TransformerLens) names.
 */
function planFor(cfg: ModelConfig, tensors: Map<string, StoredTensor>, layout: HfLayout | null, format: string): CopyPlan[] {
  const specs = paramTable(cfg);
  const src: SourceTensors = new Map();
  for (const [n, t] of tensors) src.set(n, { shape: t.shape, src: { stored: t } });
  for (const [n, t] of tensors) {
    if (!["F32", "F16", "BF16", "F64"].includes(t.dtype) && !isBuffer(n) && !/\.(mask|IGNORE|bias|masked_bias)$/.test(n)) {
      throw new FormatError(format, `tensor "${n}" has dtype ${t.dtype}, which cannot be a weight`);
    }
  }
  const names = new Set(tensors.keys());
  const family = layout?.family ?? (isHuggingFaceGPT2(names) ? "gpt2" : hfFamily(names));
  if (family === "gpt2") return gpt2Plans(specs, src, cfg).plans;
  if (family === "llama") return llamaPlans(specs, src, cfg, layout ?? layoutFromNames(family, names)).plans;
  if (family === "gpt_neox") return gptNeoXPlans(specs, src, cfg, layout ?? layoutFromNames(family, names)).plans;
  return canonicalPlans(specs, src, cfg).plans;
}

/** W_U's plan when it is the whole embedding tensor transposed, W_E being that tensor as it is; else null. */
function tiedUnembedding(plans: CopyPlan[]): CopyPlan | null {
  const e = plans.filter((p) => p.param === weight.embed()), u = plans.filter((p) => p.param === weight.unembed());
  if (e.length !== 1 || u.length !== 1) return null;
  const [pe, pu] = [e[0], u[0]];
  const same = (pe.src.stored && pe.src.stored === pu.src.stored) || (pe.src.array && pe.src.array === pu.src.array);
  if (!same || pe.dims.length !== 2 || pe.srcOffset !== 0 || pu.srcOffset !== 0) return null;
  const [V, D] = pe.dims;
  const eq = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  // W_E: (v, d) ← src[v·D + d] → storage v·D + d.  W_U [D, V]: (v, d) ← src[v·D + d] → storage d·V + v.
  const identity = eq(pe.srcStrides, [D, 1]) && eq(pe.dstStrides, [D, 1]);
  const transposed = eq(pu.dims, [V, D]) && eq(pu.srcStrides, [D, 1]) && eq(pu.dstStrides, [1, V]) && pu.dstOffset === 0;
  return identity && transposed ? pu : null;
}

/** The matrices every plan of which reads one 16-bit dtype, with that dtype (the rest are widened to f32). */
function sixteenBit(specs: ParamSpec[], plans: CopyPlan[]): Map<string, "bf16" | "f16"> {
  const seen = new Map<string, string | null>();
  for (const p of plans) {
    const d = p.src.stored?.dtype === "BF16" ? "bf16" : p.src.stored?.dtype === "F16" ? "f16" : null;
    seen.set(p.param, seen.has(p.param) && seen.get(p.param) !== d ? null : d);
  }
  const out = new Map<string, "bf16" | "f16">();
  for (const s of specs) {
    const d = seen.get(s.name);
    if (d && mayStore16(s)) out.set(s.name, d as "bf16" | "f16");
  }
  return out;
}

/** Load a llama2.c checkpoint into a ready Transformer. */
export async function loadLlama2c(file: Uint8Array | ByteSource, engine?: Engine): Promise<Transformer> {
  return loadModel(file, null, engine ? { engine } : {});
}
