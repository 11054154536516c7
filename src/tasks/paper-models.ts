// Geometries of the models the paper's tasks run on (their weights are not
// part of the package; a user brings them).
import { makeConfig, type ModelConfig } from "../model/config.js";

/** GPT-2 small: 12 layers, 12 heads of 64, d_model 768, MLP 3072, 50,257 tokens, context 1,024. */
export function gpt2SmallConfig(): ModelConfig {
  return makeConfig({ nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nCtx: 1024 });
}

/** attn-only-4l (docstring): 4 layers × 8 heads of 64, d_model 512, attention only, 48,262 tokens, context 1,024. */
export function attnOnly4lConfig(): ModelConfig {
  return makeConfig({ nLayers: 4, dModel: 512, nHeads: 8, dHead: 64, dVocab: 48262, nCtx: 1024, attnOnly: true });
}

/** redwood_attn_2l: 2 layers × 8 heads of 32, d_model 256, attention only, 50,259 tokens, context 2,048. */
export function redwoodAttn2lConfig(): ModelConfig {
  return makeConfig({ nLayers: 2, dModel: 256, nHeads: 8, dHead: 32, dVocab: 50259, nCtx: 2048, attnOnly: true });
}
