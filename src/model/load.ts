// From bytes to a ready Transformer: parse safetensors, read the config,
// convert names, upload. Runtime-agnostic: callers bring the bytes.
import { configFromJson, makeConfig, type ModelConfig } from "./config.js";
import { parseSafetensors } from "./safetensors.js";
import { canonicalWeights } from "./weights.js";
import { Transformer } from "./transformer.js";
import type { Engine } from "../wasm/engine.js";

/** Load a model from safetensors bytes and a config (parsed JSON object or ModelConfig). */
export async function loadModel(safetensors: Uint8Array, config: Record<string, unknown> | ModelConfig, engine?: Engine): Promise<Transformer> {
  const cfg = "nLayers" in config ? makeConfig(config as ModelConfig) : configFromJson(config as Record<string, unknown>);
  const weights = canonicalWeights(parseSafetensors(safetensors), cfg);
  return Transformer.create(cfg, weights, engine);
}
