// Weights under TransformerLens names, the one canonical form the model
// loads from. Each source format is one pure conversion into it, followed by
// one shape check against the config (cf. TransformerLens weight_conversions).
import type { ModelConfig } from "./config.js";
import type { RawTensor } from "./safetensors.js";

export interface Tensor { shape: number[]; data: Float32Array }
export type WeightMap = Map<string, Tensor>;

export class WeightError extends Error {
  constructor(message: string) { super(`weights: ${message}`); this.name = "WeightError"; }
}

/** Every canonical tensor the config needs, with its shape. Optional ones may be absent (then zero). */
export function expectedWeights(cfg: ModelConfig): { name: string; shape: number[]; optional?: boolean }[] {
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V, nCtx } = cfg;
  const out: { name: string; shape: number[]; optional?: boolean }[] = [{ name: "embed.W_E", shape: [V, D] }];
  if (cfg.positional === "learned") out.push({ name: "pos_embed.W_pos", shape: [nCtx, D] });
  const norm = (p: string) => {
    if (cfg.normalization === "none") return;
    out.push({ name: `${p}.w`, shape: [D] });
    if (cfg.normalization === "LN") out.push({ name: `${p}.b`, shape: [D] });
  };
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    norm(`${b}.ln1`);
    out.push({ name: `${b}.attn.W_Q`, shape: [H, D, Dh] }, { name: `${b}.attn.W_K`, shape: [Hk, D, Dh] }, { name: `${b}.attn.W_V`, shape: [Hk, D, Dh] });
    out.push({ name: `${b}.attn.b_Q`, shape: [H, Dh], optional: true }, { name: `${b}.attn.b_K`, shape: [Hk, Dh], optional: true }, { name: `${b}.attn.b_V`, shape: [Hk, Dh], optional: true });
    out.push({ name: `${b}.attn.W_O`, shape: [H, Dh, D] }, { name: `${b}.attn.b_O`, shape: [D], optional: true });
    if (!cfg.attnOnly) {
      norm(`${b}.ln2`);
      out.push({ name: `${b}.mlp.W_in`, shape: [D, M] }, { name: `${b}.mlp.b_in`, shape: [M], optional: true });
      if (cfg.actFn === "swiglu") out.push({ name: `${b}.mlp.W_gate`, shape: [D, M] });
      out.push({ name: `${b}.mlp.W_out`, shape: [M, D] }, { name: `${b}.mlp.b_out`, shape: [D], optional: true });
    }
  }
  norm("ln_final");
  out.push({ name: "unembed.W_U", shape: [D, V] }, { name: "unembed.b_U", shape: [V], optional: true });
  return out;
}

/** Check names and shapes against the config; fill optional biases with zeros. */
export function checkWeights(w: WeightMap, cfg: ModelConfig): WeightMap {
  const out: WeightMap = new Map();
  for (const { name, shape, optional } of expectedWeights(cfg)) {
    const t = w.get(name);
    if (!t) {
      if (optional) { out.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }); continue; }
      throw new WeightError(`missing tensor "${name}" (shape [${shape}])`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new WeightError(`tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
    out.set(name, t);
  }
  return out;
}

/** True when the tensor names are Hugging Face GPT-2's (h.0.attn.c_attn.weight, wte, …). */
export function isHuggingFaceGPT2(names: Iterable<string>): boolean {
  for (const n of names) if (/^(transformer\.)?(wte|h\.\d+\.attn\.c_attn)\b/.test(n)) return true;
  return false;
}

/**
 * Hugging Face GPT-2 → TransformerLens names. Conv1D weights are stored
 * [in, out], so c_attn [D, 3·D] splits by column into per-head W_Q/K/V
 * [H, D, Dh]; c_proj [D, D] is already [H·Dh, D] = W_O [H, Dh, D]; the
 * unembedding is the transposed tied wte (no bias).
 */
export function convertHuggingFaceGPT2(raw: Map<string, RawTensor>, cfg: ModelConfig): WeightMap {
  const get = (n: string): RawTensor => {
    const t = raw.get(n) ?? raw.get(`transformer.${n}`);
    if (!t) throw new WeightError(`missing tensor "${n}" (Hugging Face GPT-2 name)`);
    return t;
  };
  const shaped = (n: string, shape: number[]): Float32Array => {
    const t = get(n);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new WeightError(`tensor "${n}" has shape [${t.shape}], expected [${shape}]`);
    return t.data;
  };
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V, nCtx } = cfg;
  const w: WeightMap = new Map();
  const put = (n: string, shape: number[], data: Float32Array) => w.set(n, { shape, data });
  const wte = shaped("wte.weight", [V, D]);
  put("embed.W_E", [V, D], wte);
  put("pos_embed.W_pos", [nCtx, D], shaped("wpe.weight", [nCtx, D]));
  for (let l = 0; l < L; l++) {
    const h = `h.${l}`, b = `blocks.${l}`;
    put(`${b}.ln1.w`, [D], shaped(`${h}.ln_1.weight`, [D]));
    put(`${b}.ln1.b`, [D], shaped(`${h}.ln_1.bias`, [D]));
    const ca = shaped(`${h}.attn.c_attn.weight`, [D, 3 * D]);
    const cb = shaped(`${h}.attn.c_attn.bias`, [3 * D]);
    ["Q", "K", "V"].forEach((letter, part) => {
      const W = new Float32Array(H * D * Dh), bias = new Float32Array(H * Dh);
      for (let hh = 0; hh < H; hh++) {
        for (let d = 0; d < D; d++) for (let e = 0; e < Dh; e++) W[(hh * D + d) * Dh + e] = ca[d * 3 * D + part * D + hh * Dh + e];
        for (let e = 0; e < Dh; e++) bias[hh * Dh + e] = cb[part * D + hh * Dh + e];
      }
      put(`${b}.attn.W_${letter}`, [H, D, Dh], W);
      put(`${b}.attn.b_${letter}`, [H, Dh], bias);
    });
    put(`${b}.attn.W_O`, [H, Dh, D], shaped(`${h}.attn.c_proj.weight`, [D, D]));
    put(`${b}.attn.b_O`, [D], shaped(`${h}.attn.c_proj.bias`, [D]));
    put(`${b}.ln2.w`, [D], shaped(`${h}.ln_2.weight`, [D]));
    put(`${b}.ln2.b`, [D], shaped(`${h}.ln_2.bias`, [D]));
    put(`${b}.mlp.W_in`, [D, M], shaped(`${h}.mlp.c_fc.weight`, [D, M]));
    put(`${b}.mlp.b_in`, [M], shaped(`${h}.mlp.c_fc.bias`, [M]));
    put(`${b}.mlp.W_out`, [M, D], shaped(`${h}.mlp.c_proj.weight`, [M, D]));
    put(`${b}.mlp.b_out`, [D], shaped(`${h}.mlp.c_proj.bias`, [D]));
  }
  put("ln_final.w", [D], shaped("ln_f.weight", [D]));
  put("ln_final.b", [D], shaped("ln_f.bias", [D]));
  // A separate lm_head (untied checkpoints) wins over the tied embedding.
  const head = raw.get("lm_head.weight");
  const U = head ? shaped("lm_head.weight", [V, D]) : wte;
  const WU = new Float32Array(D * V);
  for (let v = 0; v < V; v++) for (let d = 0; d < D; d++) WU[d * V + v] = U[v * D + d];
  put("unembed.W_U", [D, V], WU);
  return w;
}

/** Raw safetensors tensors in either naming → checked canonical weights. */
export function canonicalWeights(raw: Map<string, RawTensor>, cfg: ModelConfig): WeightMap {
  if (isHuggingFaceGPT2(raw.keys())) return checkWeights(convertHuggingFaceGPT2(raw, cfg), cfg);
  const w: WeightMap = new Map();
  for (const [n, t] of raw) w.set(n, { shape: t.shape, data: t.data });
  return checkWeights(w, cfg);
}
