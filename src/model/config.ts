// Model geometry and the options that change the forward pass. Read from a
// TransformerLens-style config (the fixtures') or a Hugging Face GPT-2 config.json.

export type Normalization = "LN" | "RMS" | "none";
export type Positional = "learned" | "rotary" | "none";
export type ActFn = "gelu_new" | "swiglu" | "relu";

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
}

export class ConfigError extends Error {
  constructor(message: string) { super(`config: ${message}`); this.name = "ConfigError"; }
}

function posInt(obj: Record<string, unknown>, key: string, allowZero = false): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new ConfigError(`"${key}" must be a ${allowZero ? "non-negative" : "positive"} integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Fill defaults and check a partial config; throws ConfigError on nonsense. */
export function makeConfig(c: Partial<ModelConfig> & Pick<ModelConfig, "nLayers" | "dModel" | "nHeads" | "dHead" | "dVocab" | "nCtx">): ModelConfig {
  const cfg: ModelConfig = {
    nKvHeads: c.nHeads, dMlp: 0, attnOnly: false, normalization: "LN", actFn: "gelu_new",
    positional: "learned", eps: 1e-5, ropeTheta: 10000, causal: true, ...c,
  } as ModelConfig;
  const rec = cfg as unknown as Record<string, unknown>;
  for (const k of ["nLayers", "dModel", "nHeads", "nKvHeads", "dHead", "dVocab", "nCtx"]) posInt(rec, k);
  posInt(rec, "dMlp", true);
  if (!cfg.attnOnly && cfg.dMlp === 0) throw new ConfigError("dMlp is 0 but the model is not attention-only");
  if (cfg.nHeads % cfg.nKvHeads !== 0) throw new ConfigError(`nHeads ${cfg.nHeads} is not a multiple of nKvHeads ${cfg.nKvHeads}`);
  if (!["LN", "RMS", "none"].includes(cfg.normalization)) throw new ConfigError(`normalization ${JSON.stringify(cfg.normalization)} is not LN, RMS or none`);
  if (!["gelu_new", "swiglu", "relu"].includes(cfg.actFn)) throw new ConfigError(`activation ${JSON.stringify(cfg.actFn)} is not supported (gelu_new, swiglu, relu)`);
  if (cfg.positional === "rotary" && cfg.dHead % 2) throw new ConfigError("rotary embeddings need an even dHead");
  if (!(cfg.eps > 0)) throw new ConfigError(`eps must be positive, got ${cfg.eps}`);
  return cfg;
}

/** Config from a TransformerLens-style JSON (n_layers, d_model, …; the fixtures' format). */
export function configFromTransformerLens(j: Record<string, unknown>): ModelConfig {
  // Attention-only models have no MLP, so their act_fn (e.g. "solu_ln") does not matter.
  const act = (j.attn_only ? "gelu_new" : j.act_fn ?? "gelu_new") as string;
  const posType = j.positional_embedding_type ?? "standard";
  if (posType !== "standard") throw new ConfigError(`positional_embedding_type ${JSON.stringify(posType)} is not supported (standard, i.e. learned)`);
  // TransformerLens "gelu" is the exact erf form, not GPT-2's tanh gelu_new; refuse rather than approximate.
  if (act !== "gelu_new" && act !== "relu") throw new ConfigError(`act_fn ${JSON.stringify(act)} is not supported (gelu_new, relu${act === "gelu" ? "; \"gelu\" is the exact erf GELU, which differs from gelu_new" : ""})`);
  const dir = j.attention_dir ?? "causal";
  if (dir !== "causal" && dir !== "bidirectional") throw new ConfigError(`attention_dir ${JSON.stringify(dir)} is not causal or bidirectional`);
  // Some TransformerLens configs (NeelNanda's) say "normalization" and "ln_eps".
  const norm = j.normalization_type ?? j.normalization;
  return makeConfig({
    nLayers: posInt(j, "n_layers"), dModel: posInt(j, "d_model"), nHeads: posInt(j, "n_heads"),
    dHead: posInt(j, "d_head"), dMlp: j.attn_only ? 0 : posInt(j, "d_mlp"), dVocab: posInt(j, "d_vocab"),
    nCtx: posInt(j, "n_ctx"), attnOnly: Boolean(j.attn_only),
    normalization: norm === null || norm === undefined || norm === "none" ? "none" : norm === "LN" || norm === "LNPre" ? "LN" : (norm as "LN"),
    eps: typeof j.eps === "number" ? j.eps : typeof j.ln_eps === "number" ? j.ln_eps : 1e-5, actFn: act, causal: dir === "causal",
  });
}

/** Config from a Hugging Face GPT-2 config.json. */
export function configFromHuggingFace(j: Record<string, unknown>): ModelConfig {
  if (j.model_type !== undefined && j.model_type !== "gpt2") throw new ConfigError(`model_type ${JSON.stringify(j.model_type)} is not supported (gpt2)`);
  const d = posInt(j, "n_embd"), h = posInt(j, "n_head");
  if (d % h) throw new ConfigError(`n_embd ${d} is not divisible by n_head ${h}`);
  const act = (j.activation_function ?? "gelu_new") as string;
  if (act !== "gelu_new") throw new ConfigError(`activation_function ${JSON.stringify(act)} is not supported (gelu_new)`);
  return makeConfig({
    nLayers: posInt(j, "n_layer"), dModel: d, nHeads: h, dHead: d / h,
    dMlp: typeof j.n_inner === "number" ? j.n_inner : 4 * d, dVocab: posInt(j, "vocab_size"),
    nCtx: posInt(j, "n_positions"), eps: typeof j.layer_norm_epsilon === "number" ? j.layer_norm_epsilon : 1e-5,
  });
}

/** Either kind of config JSON, told apart by its keys. */
export function configFromJson(j: Record<string, unknown>): ModelConfig {
  if ("n_layers" in j) return configFromTransformerLens(j);
  if ("n_layer" in j) return configFromHuggingFace(j);
  throw new ConfigError("neither a TransformerLens config (n_layers, d_model, …) nor a Hugging Face GPT-2 config.json (n_layer, n_embd, …)");
}
