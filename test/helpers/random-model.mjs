// A random model written as files, for tests and benchmarks that need a
// model bigger than the fixtures: TransformerLens-named safetensors, its
// TransformerLens config JSON and a token-id data JSON (the CLI's --data
// format), all from one seed, so every run sees the same bytes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSafetensors } from "../../dist/model/formats/safetensors.js";
import { paramTable } from "../../dist/model/params.js";
import { configFromJson } from "../../dist/model/config-json.js";
import { mulberry32 } from "../../dist/random.js";
import { rng } from "./fixtures.mjs";

/**
 * Write NAME.safetensors, NAME.config.json and NAME.data.json into a new
 * temporary folder (or `dir`); returns their paths and the config. Weights
 * are uniform with a 1/√fan-in scale, norms 1 and biases 0, so activations
 * stay in range through the layers.
 */
export function writeRandomModel({ name = "random", nLayers = 4, dModel = 256, nHeads = 8, dMlp = 1024, dVocab = 512, nCtx = 32, prompts = 8, tokens = 16, seed = 1, dir } = {}) {
  const tl = {
    model_name: name, n_layers: nLayers, d_model: dModel, n_heads: nHeads, d_head: dModel / nHeads, d_mlp: dMlp, d_vocab: dVocab, n_ctx: nCtx,
    attn_only: false, normalization_type: "LN", positional_embedding_type: "standard", act_fn: "gelu_new", eps: 1e-5,
  };
  const cfg = configFromJson(tl);
  const rand = mulberry32(seed);
  const tensors = new Map();
  for (const p of paramTable(cfg)) {
    const data = new Float32Array(p.size);
    const leaf = p.name.slice(p.name.lastIndexOf(".") + 1);
    if (leaf === "w") data.fill(1);
    else if (!leaf.startsWith("b")) {
      const fanIn = p.layout === "heads" ? p.shape[1] : p.shape.length === 3 ? p.shape[1] : p.shape[0];
      const scale = p.name.startsWith("embed") || p.name.startsWith("pos_embed") ? 1 : 2 / Math.sqrt(fanIn);
      for (let i = 0; i < data.length; i++) data[i] = (rand() - 0.5) * scale;
    }
    tensors.set(p.name, { shape: p.shape, data });
  }
  const row = () => Array.from({ length: tokens }, () => Math.floor(rand() * dVocab));
  const clean = Array.from({ length: prompts }, row), corrupted = Array.from({ length: prompts }, row);
  const out = dir ?? mkdtempSync(join(tmpdir(), "acdc-random-"));
  const paths = { dir: out, weights: join(out, `${name}.safetensors`), config: join(out, `${name}.config.json`), data: join(out, `${name}.data.json`) };
  writeFileSync(paths.weights, writeSafetensors(tensors));
  writeFileSync(paths.config, JSON.stringify(tl, null, 1) + "\n");
  writeFileSync(paths.data, JSON.stringify({ clean, corrupted, positions: clean.map(() => tokens - 1) }) + "\n");
  return { ...paths, cfg };
}

/**
 * Weights for a tiny test model as a Map name → {shape, data}: norm weights
 * 1 ± 0.1, everything else uniform in ±0.4, drawn in paramTable's order from
 * `seed` (fixtures.mjs's rng), so a seed always gives the same model.
 */
export function randomWeights(cfg, seed) {
  const r = rng(seed);
  return new Map(paramTable(cfg).map(({ name, shape, size }) =>
    [name, { shape, data: Float32Array.from({ length: size }, () => (name.endsWith(".w") ? 1 + 0.2 * (r() - 0.5) : (r() - 0.5) * 0.8)) }]));
}
