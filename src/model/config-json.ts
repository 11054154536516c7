// Reading a config JSON of any supported source: TransformerLens configs and
// Hugging Face GPT-2 config.json (config.ts), and Hugging Face config.json of
// the Llama family (model_type llama, mistral, qwen2) and GPT-NeoX
// (gpt_neox, Pythia). Besides the ModelConfig, a Hugging Face config says how
// its checkpoint lays the weights out (which biases exist, whether the
// unembedding is tied): the HfLayout the weight conversion (formats/hf.ts)
// follows. Field meanings and defaults follow each class's configuration
// file in `transformers` (configuration_llama.py, configuration_qwen2.py,
// configuration_mistral.py, configuration_gpt_neox.py, modeling_rope_utils.py);
// any value that would change the computation in a way not implemented here
// is refused by name.
import { ConfigError } from "../errors.js";
import {
  bool, configFromHuggingFace, configFromTransformerLens, makeConfig, posInt, positive,
  type ActFn, type ModelConfig, type RopeScaling,
} from "./config.js";

/** How a Hugging Face checkpoint stores what the config describes. */
export interface HfLayout {
  /** Naming scheme: model.layers.* (llama, mistral, qwen2), gpt_neox.layers.*, or GPT-2's h.*. */
  family: "llama" | "gpt_neox" | "gpt2";
  /** Which biases the checkpoint holds: q/k/v projections, the output projection, the MLP's linears. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** The unembedding is the token embedding (no lm_head / embed_out is read). */
  tied: boolean;
}

/** model_type → the causal-LM class whose checkpoints are read. */
const CLASSES: Record<string, string> = {
  gpt2: "GPT2LMHeadModel", llama: "LlamaForCausalLM", mistral: "MistralForCausalLM", qwen2: "Qwen2ForCausalLM", gpt_neox: "GPTNeoXForCausalLM",
};

/** Either kind of config JSON, told apart by its keys. */
export function configFromJson(j: Record<string, unknown>): ModelConfig {
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new ConfigError("a config must be a JSON object");
  if ("n_layers" in j) return configFromTransformerLens(j);
  if ("n_layer" in j || j.model_type !== undefined) return hfConfig(j).cfg;
  throw new ConfigError("neither a TransformerLens config (n_layers, d_model, …) nor a Hugging Face GPT-2 config.json (n_layer, n_embd, …) nor a Hugging Face config.json with a model_type");
}

/** True for a Hugging Face config.json (GPT-2 style or with a model_type), false for a TransformerLens one. */
export function isHfConfigJson(j: Record<string, unknown>): boolean {
  return !("n_layers" in j) && ("n_layer" in j || j.model_type !== undefined);
}

/** A Hugging Face config.json: the model's config and its checkpoint layout. */
export function hfConfig(j: Record<string, unknown>): { cfg: ModelConfig; layout: HfLayout } {
  const type = j.model_type ?? "gpt2";
  if (typeof type !== "string" || !(type in CLASSES)) {
    throw new ConfigError(`model_type ${JSON.stringify(type)} is not supported (${Object.keys(CLASSES).join(", ")})`);
  }
  const arch = j.architectures;
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || arch.length !== 1 || arch[0] !== CLASSES[type]) {
      throw new ConfigError(`architectures ${JSON.stringify(arch)} is not supported for model_type ${type} (${CLASSES[type]}: other heads compute something else)`);
    }
  }
  if (j.quantization_config !== undefined && j.quantization_config !== null) throw new ConfigError("quantization_config: quantized checkpoints are not supported (use a float16, bfloat16 or float32 one)");
  if (type === "gpt2") return { cfg: configFromHuggingFace(j), layout: { family: "gpt2", qkvBias: true, oBias: true, mlpBias: true, tied: j.tie_word_embeddings !== false } };
  if (type === "gpt_neox") return gptNeoX(j);
  return llamaFamily(j, type as "llama" | "mistral" | "qwen2");
}

function num(j: Record<string, unknown>, key: string, dflt: number): number {
  return j[key] === undefined || j[key] === null ? dflt : positive(j, key, dflt);
}

/**
 * RoPE from either config style (modeling_rope_utils): v4 rope_theta (GPT-NeoX:
 * rotary_emb_base), rope_scaling, partial_rotary_factor (GPT-NeoX: rotary_pct);
 * v5 rope_parameters {rope_type, rope_theta, partial_rotary_factor, …}.
 * Scaling types default, linear and llama3; every other one is refused.
 */
function rope(j: Record<string, unknown>, dHead: number, neox: boolean): { ropeTheta: number; rotaryDims: number; ropeScaling?: RopeScaling } {
  const p = j.rope_parameters as Record<string, unknown> | null | undefined;
  if (p !== undefined && p !== null && (typeof p !== "object" || (p.rope_type === undefined && p.rope_theta === undefined && Object.values(p).some((x) => x && typeof x === "object")))) {
    throw new ConfigError("rope_parameters per layer type are not supported");
  }
  const pick = (...vals: unknown[]) => vals.find((v) => v !== undefined && v !== null);
  const theta = pick(p?.rope_theta, j.rope_theta, neox ? j.rotary_emb_base : undefined) ?? 10000;
  if (typeof theta !== "number" || !(theta > 0) || !Number.isFinite(theta)) throw new ConfigError(`rope_theta must be a positive number, got ${JSON.stringify(theta)}`);
  const partial = pick(p?.partial_rotary_factor, neox ? j.rotary_pct : j.partial_rotary_factor) ?? (neox ? 0.25 : 1);
  if (typeof partial !== "number" || !(partial > 0 && partial <= 1)) throw new ConfigError(`${neox ? "rotary_pct" : "partial_rotary_factor"} must be in (0, 1], got ${JSON.stringify(partial)}`);
  const rotaryDims = Math.trunc(dHead * partial);
  if (rotaryDims < 2 || rotaryDims % 2) throw new ConfigError(`rotary dims int(${dHead} × ${partial}) = ${rotaryDims} must be even and at least 2`);
  if (!neox && rotaryDims !== dHead) throw new ConfigError(`partial_rotary_factor ${partial} is not supported for this architecture (every head dim rotates)`);
  const s = (j.rope_scaling ?? p ?? null) as Record<string, unknown> | null;
  if (s !== null && typeof s !== "object") throw new ConfigError(`rope_scaling must be an object or null, got ${JSON.stringify(s)}`);
  const kind = s?.rope_type ?? s?.type ?? "default";
  if (kind === "default") return { ropeTheta: theta, rotaryDims };
  const f = (k: string) => {
    const v = s![k];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new ConfigError(`rope_scaling ${kind} needs a positive number "${k}", got ${JSON.stringify(v)}`);
    return v;
  };
  if (kind === "linear") return { ropeTheta: theta, rotaryDims, ropeScaling: { type: "linear", factor: f("factor") } };
  if (kind === "llama3") {
    return {
      ropeTheta: theta, rotaryDims,
      ropeScaling: { type: "llama3", factor: f("factor"), lowFreqFactor: f("low_freq_factor"), highFreqFactor: f("high_freq_factor"), originalMaxPositions: f("original_max_position_embeddings") },
    };
  }
  throw new ConfigError(`rope_scaling type ${JSON.stringify(kind)} is not supported (default, linear, llama3)`);
}

/**
 * LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM: RMSNorm, SwiGLU,
 * rotate-half RoPE, grouped-query attention. Biases: Llama's attention_bias
 * on q, k, v and o, mlp_bias on gate, up and down; Qwen2 always on q, k, v;
 * Mistral none. Sliding windows: Mistral's sliding_window on every layer;
 * Qwen2's only with use_sliding_window, on the layers layer_types marks
 * (default: those from max_window_layers on).
 */
function llamaFamily(j: Record<string, unknown>, type: "llama" | "mistral" | "qwen2"): { cfg: ModelConfig; layout: HfLayout } {
  const D = posInt(j, "hidden_size"), H = posInt(j, "num_attention_heads"), L = posInt(j, "num_hidden_layers");
  const Hk = j.num_key_value_heads === undefined || j.num_key_value_heads === null ? H : posInt(j, "num_key_value_heads");
  let Dh: number;
  if (j.head_dim !== undefined && j.head_dim !== null) Dh = posInt(j, "head_dim");
  else if (D % H) throw new ConfigError(`hidden_size ${D} is not divisible by num_attention_heads ${H} and head_dim is not given`);
  else Dh = D / H;
  const act = j.hidden_act ?? "silu";
  if (act !== "silu" && act !== "swish") throw new ConfigError(`hidden_act ${JSON.stringify(act)} is not supported for ${type} (silu: the SwiGLU MLP)`);
  if (type === "qwen2" && j.use_mrope === true) throw new ConfigError("use_mrope: multimodal RoPE (Qwen2-VL) is not supported");
  const attnBias = type === "llama" && bool(j, "attention_bias", false);
  const mlpBias = type === "llama" && bool(j, "mlp_bias", false);
  let window: number[] | undefined;
  const W = j.sliding_window;
  if (type === "mistral" && W !== undefined && W !== null) window = Array(L).fill(posInt(j, "sliding_window"));
  if (type === "qwen2" && j.use_sliding_window === true && W !== undefined && W !== null) {
    const w = posInt(j, "sliding_window");
    const types = j.layer_types ?? Array.from({ length: L }, (_, l) => (l >= (j.max_window_layers as number ?? 28) ? "sliding_attention" : "full_attention"));
    if (!Array.isArray(types) || types.length !== L || !types.every((x) => x === "sliding_attention" || x === "full_attention")) {
      throw new ConfigError(`layer_types must list "full_attention" or "sliding_attention" for each of the ${L} layers`);
    }
    window = types.map((x) => (x === "sliding_attention" ? w : 0));
  }
  const cfg = makeConfig({
    nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: posInt(j, "intermediate_size"), dVocab: posInt(j, "vocab_size"),
    nCtx: posInt(j, "max_position_embeddings"), normalization: "RMS", actFn: "swiglu", positional: "rotary",
    eps: num(j, "rms_norm_eps", 1e-6), rotaryStyle: "half", ...rope(j, Dh, false), attnWindow: window, gateBias: mlpBias,
  });
  return { cfg, layout: { family: "llama", qkvBias: attnBias || type === "qwen2", oBias: attnBias, mlpBias, tied: bool(j, "tie_word_embeddings", false) } };
}

/** Hugging Face activation names → ActFn (ACT2FN: "gelu" is exact erf; gelu_new, gelu_fast and gelu_pytorch_tanh the tanh form). */
const HF_ACT: Record<string, ActFn> = { gelu: "gelu", gelu_new: "gelu_new", gelu_fast: "gelu_new", gelu_pytorch_tanh: "gelu_new", relu: "relu" };

/**
 * GPTNeoXForCausalLM (Pythia): LayerNorm with biases, rotate-half RoPE on
 * the first rotary_pct of each head, exact-erf gelu by default, attention
 * and MLP in parallel unless use_parallel_residual is false.
 */
function gptNeoX(j: Record<string, unknown>): { cfg: ModelConfig; layout: HfLayout } {
  const D = posInt(j, "hidden_size"), H = posInt(j, "num_attention_heads");
  if (D % H) throw new ConfigError(`hidden_size ${D} is not divisible by num_attention_heads ${H}`);
  const act = j.hidden_act ?? "gelu";
  if (typeof act !== "string" || !(act in HF_ACT)) throw new ConfigError(`hidden_act ${JSON.stringify(act)} is not supported for gpt_neox (${Object.keys(HF_ACT).join(", ")})`);
  const bias = bool(j, "attention_bias", true);
  const cfg = makeConfig({
    nLayers: posInt(j, "num_hidden_layers"), dModel: D, nHeads: H, dHead: D / H, dMlp: posInt(j, "intermediate_size"),
    dVocab: posInt(j, "vocab_size"), nCtx: posInt(j, "max_position_embeddings"), normalization: "LN", actFn: HF_ACT[act],
    positional: "rotary", eps: num(j, "layer_norm_eps", 1e-5), rotaryStyle: "half", ...rope(j, D / H, true),
    parallelAttnMlp: bool(j, "use_parallel_residual", true),
  });
  return { cfg, layout: { family: "gpt_neox", qkvBias: bias, oBias: bias, mlpBias: true, tied: bool(j, "tie_word_embeddings", false) } };
}
