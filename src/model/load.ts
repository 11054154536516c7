// From a weights file to a ready Transformer: find the format, read its
// tensor index (never the values), plan each parameter's copy, allocate
// every parameter once and fill it straight from the file. Runtime-agnostic:
// callers bring the bytes or a ByteSource (Node reads files in chunks
// through src/node/; browsers wrap a File).
import { configFromJson, makeConfig, type ModelConfig } from "./config.js";
import { Params, paramTable } from "./params.js";
import { Transformer } from "./transformer.js";
import { createEngine, type Engine } from "../wasm/engine.js";
import { FormatError, InputError } from "../errors.js";
import { bytesSource, type ByteSource, type StoredTensor } from "./formats/tensor.js";
import { looksLikeSafetensors, readSafetensors } from "./formats/safetensors.js";
import { canonicalPlans, gpt2Plans, isHuggingFaceGPT2, type SourceTensors } from "./formats/convert.js";
import { fillParams, type CopyPlan } from "./formats/plan.js";
import { llama2cPlans } from "./formats/llama2c.js";

export interface LoadOptions {
  engine?: Engine;
  /** Bytes of weights converted so far, and in all. */
  onProgress?: (done: number, total: number) => void;
}

/** The formats loadModel reads. */
export type WeightsFormat = "safetensors" | "llama2c";

/** Tell a weights file's format from its first bytes. */
export async function detectFormat(src: ByteSource): Promise<WeightsFormat> {
  const head = await src.read(0, Math.min(16, src.byteLength));
  if (looksLikeSafetensors(head)) return "safetensors";
  if (head[0] === 0x50 && head[1] === 0x4b) throw new FormatError("weights", `${src.name} is a zip archive (a PyTorch .pth checkpoint?); convert it to safetensors`);
  return "llama2c";
}

/**
 * Load a model: safetensors bytes (TransformerLens or Hugging Face GPT-2
 * names) with its config (parsed JSON or a ModelConfig), or a llama2.c
 * checkpoint (no config: its header is the config).
 */
export async function loadModel(weights: Uint8Array | ByteSource, config?: Record<string, unknown> | ModelConfig | null, opts?: Engine | LoadOptions): Promise<Transformer> {
  const o: LoadOptions = opts && "k" in opts ? { engine: opts as Engine } : (opts as LoadOptions) ?? {};
  const src = weights instanceof Uint8Array ? bytesSource(weights, "weights") : weights;
  // With a config the file must be safetensors (its reader names what is wrong with a bad one);
  // without one, a llama2.c checkpoint, whose header is its config.
  const format = config ? "safetensors" : await detectFormat(src);
  let cfg: ModelConfig, plans: CopyPlan[];
  if (format === "llama2c") {
    ({ cfg, plans } = await llama2cPlans(src));
  } else {
    if (!config) throw new InputError(`${src.name} is a safetensors file: it needs its config (TransformerLens or Hugging Face config.json)`);
    cfg = "nLayers" in config ? makeConfig(config as ModelConfig) : configFromJson(config as Record<string, unknown>);
    const tensors = await readSafetensors(src);
    plans = planFor(cfg, tensors);
  }
  const engine = o.engine ?? (await createEngine());
  const params = new Params(engine, paramTable(cfg));
  await fillParams(engine, params, plans, src, { onProgress: o.onProgress });
  return new Transformer(cfg, engine, params);
}

/** Plans for stored tensors under TransformerLens or Hugging Face GPT-2 names. */
function planFor(cfg: ModelConfig, tensors: Map<string, StoredTensor>): CopyPlan[] {
  const specs = paramTable(cfg);
  const src: SourceTensors = new Map();
  for (const [n, t] of tensors) src.set(n, { shape: t.shape, src: { stored: t } });
  for (const [n, t] of tensors) {
    if (!["F32", "F16", "BF16", "F64"].includes(t.dtype) && !/\.(mask|IGNORE|bias|masked_bias)$/.test(n)) {
      throw new FormatError("safetensors", `tensor "${n}" has dtype ${t.dtype}, which cannot be a weight`);
    }
  }
  return (isHuggingFaceGPT2(tensors.keys()) ? gpt2Plans(specs, src, cfg) : canonicalPlans(specs, src, cfg)).plans;
}

/** Load a llama2.c checkpoint into a ready Transformer. */
export async function loadLlama2c(file: Uint8Array | ByteSource, engine?: Engine): Promise<Transformer> {
  return loadModel(file, null, engine ? { engine } : {});
}
