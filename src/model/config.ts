// Model geometry and the options that change the forward pass, read from a
// TransformerLens-style config (the fixtures') or a Hugging Face GPT-2
// config.json (other Hugging Face architectures and the dispatcher: config-json.ts). Every field
// is type-checked, every value that would change the computation in a way
// this package does not implement is refused by name (never ignored), and a
// missing field takes the source library's own default (TransformerLens:
// LayerNorm; Hugging Face GPT-2: gelu_new).
// The architecture options beyond the GPT-2/llama2.c core (rotary style and
// width, RoPE scaling, parallel attention and MLP, sliding windows, a gate
// bias) are optional fields present only when they change the computation,
// so a config's JSON (and every circuit file that records it) is what it
// was before they existed.
import { ConfigError } from "../errors.js";

/** "LN"/"RMS" with weights; "LNPre"/"RMSPre" folded (no weights: TransformerLens's fold_ln); "none". */
export type Normalization = "LN" | "LNPre" | "RMS" | "RMSPre" | "none";
/**
 * learned: W_pos added to the residual stream (GPT-2); shortformer: W_pos added
 * only to the queries' and keys' inputs after ln1, never to the stream
 * (TransformerLens; the ACDC paper's redwood_attn_2l); rotary; none.
 */
export type Positional = "learned" | "shortformer" | "rotary" | "none";
/** gelu_new: GPT-2's tanh GELU; gelu: the exact erf GELU (Hugging Face "gelu", Pythia); swiglu: silu-gated (llama); relu. */
export type ActFn = "gelu_new" | "gelu" | "swiglu" | "relu";
/** Which dims rotate together: (2i, 2i+1) as llama2.c and Meta's checkpoints, or (i, i + n/2) as Hugging Face's rotate_half. */
export type RotaryStyle = "interleaved" | "half";

/**
 * RoPE frequency scaling (Hugging Face modeling_rope_utils): "linear" divides
 * every frequency by factor (position interpolation); "llama3" keeps high
 * frequencies, divides low ones by factor and blends in between.
 */
export type RopeScaling =
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  nLayers: number;
  dModel: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); nHeads for GPT-2. */
  nKvHeads: number;
  dHead: number;
  /** MLP hidden width; 0 when attention-only. */
  dMlp: number;
  dVocab: number;
  nCtx: number;
  attnOnly: boolean;
  normalization: Normalization;
  actFn: ActFn;
  positional: Positional;
  eps: number;
  /** RoPE base (rotary only). */
  ropeTheta: number;
  /** Causal attention mask (every language model); false for tracr's compiled models. */
  causal: boolean;
  /** Rotary pairing; absent: "interleaved". */
  rotaryStyle?: RotaryStyle;
  /** Rotated dims of each head, the first ones (GPT-NeoX rotary_pct); absent: dHead. */
  rotaryDims?: number;
  /** RoPE frequency scaling; absent: none. */
  ropeScaling?: RopeScaling;
  /** Attention and MLP both read the layer's input and add to it (GPT-NeoX use_parallel_residual); absent: false. */
  parallelAttnMlp?: boolean;
  /** Per layer, the keys a query sees counting itself (sliding-window attention; 0: all); absent: no window. */
  attnWindow?: number[];
  /** The gated MLP's gate has a bias (Llama mlp_bias); absent: false. */
  gateBias?: boolean;
}

/** Largest value of any one dimension (beyond it no model fits WebAssembly's 4 GiB anyway). */
const MAX_DIM = 1 << 24;

export function posInt(obj: Record<string, unknown>, key: string, allowZero = false): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new ConfigError(`"${key}" must be a ${allowZero ? "non-negative" : "positive"} integer, got ${JSON.stringify(v)}`);
  if (v > MAX_DIM) throw new ConfigError(`"${key}" is ${v}, beyond any model that fits in WebAssembly's 4 GiB memory`);
  return v;
}

export function bool(obj: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = obj[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new ConfigError(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function positive(obj: Record<string, unknown>, key: string, dflt: number): number {
  const v = obj[key];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new ConfigError(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

/** Fields whose non-default values change the computation in ways not implemented here: refused, never ignored. */
export function refuseUnsupported(j: Record<string, unknown>, fields: [string, (v: unknown) => boolean, string][]): void {
  for (const [k, ok, why] of fields) if (k in j && !ok(j[k])) throw new ConfigError(`"${k}": ${JSON.stringify(j[k])} is not supported (${why})`);
}
export const isFalse = (v: unknown) => v === false || v === null;
/** TransformerLens soft caps are off at any value ≤ 0 (default -1). */
const softCapOff = (v: unknown) => v === null || (typeof v === "number" && v <= 0);

/** Fill defaults and check a partial config; throws ConfigError on nonsense. */
export function makeConfig(c: Partial<ModelConfig> & Pick<ModelConfig, "nLayers" | "dModel" | "nHeads" | "dHead" | "dVocab" | "nCtx">): ModelConfig {
  const given = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  const cfg: ModelConfig = {
    nKvHeads: c.nHeads, dMlp: 0, attnOnly: false, normalization: "LN", actFn: "gelu_new",
    positional: "learned", eps: 1e-5, ropeTheta: 10000, causal: true, ...given,
  } as ModelConfig;
  const rec = cfg as unknown as Record<string, unknown>;
  for (const k of ["nLayers", "dModel", "nHeads", "nKvHeads", "dHead", "dVocab", "nCtx"]) posInt(rec, k);
  posInt(rec, "dMlp", true);
  for (const k of ["attnOnly", "causal"]) if (typeof rec[k] !== "boolean") throw new ConfigError(`${k} must be true or false, got ${JSON.stringify(rec[k])}`);
  if (!cfg.attnOnly && cfg.dMlp === 0) throw new ConfigError("dMlp is 0 but the model is not attention-only");
  if (cfg.nHeads % cfg.nKvHeads !== 0) throw new ConfigError(`nHeads ${cfg.nHeads} is not a multiple of nKvHeads ${cfg.nKvHeads}`);
  if (!["LN", "LNPre", "RMS", "RMSPre", "none"].includes(cfg.normalization)) throw new ConfigError(`normalization ${JSON.stringify(cfg.normalization)} is not LN, LNPre, RMS, RMSPre or none`);
  if (!["gelu_new", "gelu", "swiglu", "relu"].includes(cfg.actFn)) throw new ConfigError(`activation ${JSON.stringify(cfg.actFn)} is not supported (gelu_new, gelu, swiglu, relu)`);
  if (!["learned", "shortformer", "rotary", "none"].includes(cfg.positional)) throw new ConfigError(`positional ${JSON.stringify(cfg.positional)} is not learned, shortformer, rotary or none`);
  if (cfg.positional === "rotary" && cfg.dHead % 2) throw new ConfigError("rotary embeddings need an even dHead");
  if (typeof cfg.eps !== "number" || !(cfg.eps > 0) || !Number.isFinite(cfg.eps)) throw new ConfigError(`eps must be a positive number, got ${JSON.stringify(cfg.eps)}`);
  if (typeof cfg.ropeTheta !== "number" || !(cfg.ropeTheta > 0) || !Number.isFinite(cfg.ropeTheta)) throw new ConfigError(`ropeTheta must be a positive number, got ${JSON.stringify(cfg.ropeTheta)}`);
  checkArchitecture(cfg);
  // Before anything is built from it: an absurd geometry (n_layers 1e7) would otherwise grow memory for minutes.
  const floats = paramFloats(cfg);
  // 16-bit weights stay 16-bit: refuse only what even 2 bytes a parameter cannot hold.
  if (floats * 2 > MAX_PARAM_BYTES) {
    throw new ConfigError(`${cfg.nLayers} layers, d_model ${cfg.dModel}, d_vocab ${cfg.dVocab}${cfg.attnOnly ? "" : `, d_mlp ${cfg.dMlp}`} make ${floats.toExponential(2)} parameters ` +
      `(${(floats * 2 / 2 ** 30).toFixed(1)} GiB even as 16-bit), more than WebAssembly's 4 GiB memory holds (check n_layers, d_model, d_mlp, d_vocab)`);
  }
  return cfg;
}

const isPosNum = (v: unknown): v is number => typeof v === "number" && v > 0 && Number.isFinite(v);

/** Check the optional architecture fields and drop those at their default, so equal models have equal configs. */
function checkArchitecture(cfg: ModelConfig): void {
  const rec = cfg as unknown as Record<string, unknown>;
  for (const k of ["parallelAttnMlp", "gateBias"]) {
    if (rec[k] !== undefined && typeof rec[k] !== "boolean") throw new ConfigError(`${k} must be true or false, got ${JSON.stringify(rec[k])}`);
    if (rec[k] === false) delete rec[k];
  }
  if (cfg.rotaryStyle !== undefined && cfg.rotaryStyle !== "interleaved" && cfg.rotaryStyle !== "half") throw new ConfigError(`rotaryStyle ${JSON.stringify(cfg.rotaryStyle)} is not interleaved or half`);
  if (cfg.rotaryStyle === "interleaved") delete cfg.rotaryStyle;
  if (cfg.rotaryDims !== undefined) {
    const n = cfg.rotaryDims;
    if (!Number.isInteger(n) || n < 2 || n > cfg.dHead || n % 2) throw new ConfigError(`rotaryDims must be an even integer from 2 to dHead ${cfg.dHead}, got ${JSON.stringify(n)}`);
    if (n === cfg.dHead) delete cfg.rotaryDims;
    else if (cfg.rotaryStyle !== "half") throw new ConfigError("partial rotary (rotaryDims < dHead) is implemented for the half (rotate_half) style only");
  }
  const sc = cfg.ropeScaling as Record<string, unknown> | undefined;
  if (sc !== undefined) {
    if (sc === null || typeof sc !== "object") throw new ConfigError(`ropeScaling must be an object, got ${JSON.stringify(sc)}`);
    const need = sc.type === "linear" ? ["factor"] : sc.type === "llama3" ? ["factor", "lowFreqFactor", "highFreqFactor", "originalMaxPositions"] : null;
    if (!need) throw new ConfigError(`ropeScaling type ${JSON.stringify(sc.type)} is not supported (linear, llama3)`);
    for (const k of need) if (!isPosNum(sc[k])) throw new ConfigError(`ropeScaling.${k} must be a positive number, got ${JSON.stringify(sc[k])}`);
    if (sc.type === "llama3" && !((sc.highFreqFactor as number) > (sc.lowFreqFactor as number))) throw new ConfigError("ropeScaling llama3 needs highFreqFactor > lowFreqFactor");
  }
  if (cfg.positional !== "rotary" && (cfg.rotaryStyle || cfg.rotaryDims || sc)) throw new ConfigError("rotaryStyle, rotaryDims and ropeScaling apply to rotary positions only");
  if (cfg.attnWindow !== undefined) {
    const w = cfg.attnWindow;
    if (!Array.isArray(w) || w.length !== cfg.nLayers || !w.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new ConfigError(`attnWindow must list one non-negative integer per layer (${cfg.nLayers}), got ${JSON.stringify(w)}`);
    }
    if (w.some((x) => x > 0) && !cfg.causal) throw new ConfigError("a sliding attention window needs causal attention");
    if (w.every((x) => x === 0)) delete cfg.attnWindow;
  }
  if (cfg.gateBias && cfg.actFn !== "swiglu") throw new ConfigError("gateBias applies to gated (swiglu) MLPs only");
  if (cfg.parallelAttnMlp && cfg.attnOnly) throw new ConfigError("parallelAttnMlp needs an MLP");
}

/** WebAssembly's 32-bit memory. */
const MAX_PARAM_BYTES = 2 ** 32;

/** Floats of every parameter, in closed form (the sizes paramTable lists, without building it). */
function paramFloats(c: ModelConfig): number {
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V, nCtx: C } = c;
  const norm = c.normalization === "LN" ? 2 * D : c.normalization === "RMS" ? D : 0;
  const attn = (H + 2 * Hk) * (D * Dh + Dh) + H * Dh * D + D + norm;
  const mlp = c.attnOnly ? 0 : D * M * (c.actFn === "swiglu" ? 3 : 2) + M + D + norm;
  return 2 * V * D + V + (c.positional === "learned" || c.positional === "shortformer" ? C * D : 0) + L * (attn + mlp) + norm;
}

/** Config from a TransformerLens-style JSON (n_layers, d_model, …; the fixtures' format). */
export function configFromTransformerLens(j: Record<string, unknown>): ModelConfig {
  const attnOnly = bool(j, "attn_only", false);
  refuseUnsupported(j, [
    ["parallel_attn_mlp", isFalse, "attention and MLP in parallel"],
    ["gated_mlp", isFalse, "gated MLPs are read from llama-family files, not TransformerLens configs"],
    ["scale_attn_by_inverse_layer_idx", isFalse, "layer-dependent attention scaling"],
    ["use_attn_scale", (v) => v === true, "attention without the 1/√d_head scale"],
    ["attn_scale", (v) => v === undefined || v === null || (typeof v === "number" && Math.abs(v - Math.sqrt(j.d_head as number)) < 1e-9), "an attention scale other than √d_head"],
    ["d_vocab_out", (v) => v === undefined || v === null || v === -1 || v === j.d_vocab, "an output vocabulary different from the input one"],
    ["final_rms", isFalse, "a final RMSNorm on a LayerNorm model"],
    ["attention_dir", (v) => v === "causal" || v === "bidirectional", "attention_dir must be causal or bidirectional"],
    ["positional_embedding_type", (v) => v === "standard" || v === "shortformer", "only learned (\"standard\") and \"shortformer\" positions are read from TransformerLens configs"],
    ["use_local_attn", isFalse, "local (windowed) attention"],
    ["post_embedding_ln", isFalse, "a LayerNorm after the embedding"],
    ["use_normalization_before_and_after", isFalse, "normalization after each block as well as before"],
    ["use_qk_norm", isFalse, "normalized queries and keys"],
    ["num_experts", (v) => v === null, "mixture-of-experts MLPs"],
    ["output_logits_soft_cap", softCapOff, "soft-capped logits"],
    ["attn_scores_soft_cap", softCapOff, "soft-capped attention scores"],
    ["relative_attention_max_distance", (v) => v === null, "relative attention (T5)"],
  ]);
  // Attention-only models have no MLP, so their act_fn (e.g. "solu_ln") does not matter.
  const act = attnOnly ? "gelu_new" : j.act_fn ?? "gelu_new";
  if (typeof act !== "string") throw new ConfigError(`"act_fn" must be a string, got ${JSON.stringify(act)}`);
  // TransformerLens "gelu" is the exact erf form, not GPT-2's tanh gelu_new; refuse rather than approximate.
  if (act !== "gelu_new" && act !== "relu") throw new ConfigError(`act_fn ${JSON.stringify(act)} is not supported (gelu_new, relu${act === "gelu" ? "; \"gelu\" is the exact erf GELU, which differs from gelu_new" : ""})`);
  // Some TransformerLens configs (NeelNanda's) say "normalization" and "ln_eps".
  // A missing normalization_type is TransformerLens's default, "LN"; null means none.
  const normKey = "normalization_type" in j ? "normalization_type" : "normalization" in j ? "normalization" : null;
  const norm = normKey ? j[normKey] : "LN";
  if (norm !== null && !["LN", "LNPre", "RMS", "RMSPre"].includes(norm as string)) {
    throw new ConfigError(`"${normKey}" must be "LN", "LNPre", "RMS", "RMSPre" or null, got ${JSON.stringify(norm)}`);
  }
  const epsKey = "eps" in j ? "eps" : "ln_eps";
  return makeConfig({
    nLayers: posInt(j, "n_layers"), dModel: posInt(j, "d_model"), nHeads: posInt(j, "n_heads"),
    nKvHeads: j.n_key_value_heads === undefined || j.n_key_value_heads === null ? undefined : posInt(j, "n_key_value_heads"),
    dHead: posInt(j, "d_head"), dMlp: attnOnly ? 0 : posInt(j, "d_mlp"), dVocab: posInt(j, "d_vocab"),
    nCtx: posInt(j, "n_ctx"), attnOnly,
    normalization: norm === null ? "none" : (norm as "LN"),
    eps: positive(j, epsKey, 1e-5), actFn: act as "gelu_new", causal: (j.attention_dir ?? "causal") === "causal",
    positional: j.positional_embedding_type === "shortformer" ? "shortformer" : "learned",
  });
}

/** Config from a Hugging Face GPT-2 config.json (llama, mistral, qwen2, gpt_neox: config-json.ts). */
export function configFromHuggingFace(j: Record<string, unknown>): ModelConfig {
  if (j.model_type !== undefined && j.model_type !== "gpt2") throw new ConfigError(`model_type ${JSON.stringify(j.model_type)} is not supported by the GPT-2 reader (configFromJson reads llama, mistral, qwen2 and gpt_neox)`);
  refuseUnsupported(j, [
    ["scale_attn_by_inverse_layer_idx", isFalse, "layer-dependent attention scaling"],
    ["scale_attn_weights", (v) => v === true, "attention without the 1/√d_head scale"],
    ["add_cross_attention", isFalse, "cross-attention"],
  ]);
  const d = posInt(j, "n_embd"), h = posInt(j, "n_head");
  if (d % h) throw new ConfigError(`n_embd ${d} is not divisible by n_head ${h}`);
  const act = j.activation_function ?? "gelu_new";
  // gelu_pytorch_tanh is the same tanh approximation under another name; "gelu" is the exact erf form.
  if (act !== "gelu_new" && act !== "gelu_pytorch_tanh" && act !== "gelu") throw new ConfigError(`activation_function ${JSON.stringify(act)} is not supported (gelu_new, gelu_pytorch_tanh, gelu)`);
  return makeConfig({
    actFn: act === "gelu" ? "gelu" : "gelu_new",
    nLayers: posInt(j, "n_layer"), dModel: d, nHeads: h, dHead: d / h,
    dMlp: j.n_inner === undefined || j.n_inner === null ? 4 * d : posInt(j, "n_inner", true), dVocab: posInt(j, "vocab_size"),
    nCtx: posInt(j, "n_positions"), eps: positive(j, "layer_norm_epsilon", 1e-5),
  });
}
