#!/usr/bin/env node
// Writes tiny, seeded, RANDOM Hugging Face causal LMs into test/fixtures/hf/<name>/,
// one folder per case, each in its architecture's real on-disk layout:
// config.json with the fields save_pretrained writes (sorted keys, as HF does),
// model.safetensors (or two shards + model.safetensors.index.json), and the
// non-parameter buffers some real checkpoints carry. Beside each model,
// expected.json holds a few token sequences and their float64 logits from
// test/reference/hf-forward.mjs, computed from the tensors as read back from
// the written files (so 16-bit models are judged on their 16-bit values).
//
// What it is: test data for the HF loader being written in src/, with
// reference answers. What it is not: trained models (the logits are
// meaningless as language), nor output of the `transformers` library itself —
// the layouts are written from the library's source, not by it.
//
// Usage: node scripts/make-tiny-hf-models.mjs [out-dir]   (default test/fixtures/hf)
// Re-running rewrites byte-identical files (fixed seeds, fixed key order).
import { rmSync, writeFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { quantize, readHfFolder, writeHfFolder, TORCH_DTYPE } from "../test/reference/safetensors-io.mjs";
import { hfForward } from "../test/reference/hf-forward.mjs";

// mulberry32: small seeded PRNG so the fixtures can be regenerated exactly.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sortKeys = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));

/** A tensor builder bound to one seeded stream and one storage dtype. */
function builder(seed, dtype) {
  const r = mulberry32(seed), entries = [];
  const put = (name, shape, f) => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Values are quantized here so the generator's own view equals what is stored.
    entries.push({ name, dtype, shape, values: Float64Array.from({ length: n }, () => quantize(f(), dtype)) });
  };
  return {
    entries,
    /** uniform in (-a, a) */
    uni: (name, shape, a) => put(name, shape, () => (2 * r() - 1) * a),
    /** norm gains around 1 */
    gain: (name, shape) => put(name, shape, () => 1 + 0.4 * (r() - 0.5)),
    raw: (name, dtype2, shape, values) => entries.push({ name, dtype: dtype2, shape, values }),
    ids: (B, T, V) => Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(r() * V))),
  };
}

// ---- weights per architecture ------------------------------------------------------------

// Scales: q/k larger than 1/sqrt(fan_in) so attention patterns are far from
// uniform and masking/rotary mistakes move the logits visibly.
function llamaFamilyWeights(b, c, { qkvBias, oBias, mlpBias }) {
  const D = c.hidden_size, H = c.num_attention_heads, Hk = c.num_key_value_heads, Dh = c.head_dim ?? D / H, M = c.intermediate_size, V = c.vocab_size;
  b.uni("model.embed_tokens.weight", [V, D], 1);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    b.gain(p + "input_layernorm.weight", [D]);
    b.uni(p + "self_attn.q_proj.weight", [H * Dh, D], 2.5 / Math.sqrt(D));
    b.uni(p + "self_attn.k_proj.weight", [Hk * Dh, D], 2.5 / Math.sqrt(D));
    b.uni(p + "self_attn.v_proj.weight", [Hk * Dh, D], 1.5 / Math.sqrt(D));
    b.uni(p + "self_attn.o_proj.weight", [D, H * Dh], 1.5 / Math.sqrt(H * Dh));
    if (qkvBias) for (const [n, m] of [["q", H], ["k", Hk], ["v", Hk]]) b.uni(p + `self_attn.${n}_proj.bias`, [m * Dh], 0.3);
    if (oBias) b.uni(p + "self_attn.o_proj.bias", [D], 0.3);
    b.gain(p + "post_attention_layernorm.weight", [D]);
    b.uni(p + "mlp.gate_proj.weight", [M, D], 2 / Math.sqrt(D));
    b.uni(p + "mlp.up_proj.weight", [M, D], 2 / Math.sqrt(D));
    b.uni(p + "mlp.down_proj.weight", [D, M], 1.5 / Math.sqrt(M));
    if (mlpBias) { b.uni(p + "mlp.gate_proj.bias", [M], 0.3); b.uni(p + "mlp.up_proj.bias", [M], 0.3); b.uni(p + "mlp.down_proj.bias", [D], 0.3); }
  }
  b.gain("model.norm.weight", [D]);
  if (!c.tie_word_embeddings) b.uni("lm_head.weight", [V, D], 2 / Math.sqrt(D));
}

function neoxWeights(b, c, { buffers }) {
  const D = c.hidden_size, H = c.num_attention_heads, Dh = D / H, M = c.intermediate_size, V = c.vocab_size, P = c.max_position_embeddings;
  b.uni("gpt_neox.embed_in.weight", [V, D], 1);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `gpt_neox.layers.${l}.`;
    b.gain(p + "input_layernorm.weight", [D]); b.uni(p + "input_layernorm.bias", [D], 0.2);
    b.gain(p + "post_attention_layernorm.weight", [D]); b.uni(p + "post_attention_layernorm.bias", [D], 0.2);
    b.uni(p + "attention.query_key_value.weight", [3 * D, D], 2.5 / Math.sqrt(D));
    b.uni(p + "attention.query_key_value.bias", [3 * D], 0.3);
    b.uni(p + "attention.dense.weight", [D, D], 1.5 / Math.sqrt(D));
    b.uni(p + "attention.dense.bias", [D], 0.2);
    b.uni(p + "mlp.dense_h_to_4h.weight", [M, D], 2 / Math.sqrt(D));
    b.uni(p + "mlp.dense_h_to_4h.bias", [M], 0.3);
    b.uni(p + "mlp.dense_4h_to_h.weight", [D, M], 1.5 / Math.sqrt(M));
    b.uni(p + "mlp.dense_4h_to_h.bias", [D], 0.2);
    if (buffers) {
      // What Pythia's files carry besides parameters (HF ignores and rebuilds them):
      // a [1,1,P,P] BOOL lower-triangular mask, a scalar masked_bias (-1e9, which
      // is -inf once stored as float16) and the rotary inverse frequencies.
      const nRot = Math.trunc(Dh * c.rotary_pct);
      b.raw(p + "attention.bias", "BOOL", [1, 1, P, P], Uint8Array.from({ length: P * P }, (_, i) => (i % P <= Math.floor(i / P) ? 1 : 0)));
      b.raw(p + "attention.masked_bias", c.torch_dtype === "float16" ? "F16" : "F32", [], [-1e9]);
      b.raw(p + "attention.rotary_emb.inv_freq", "F32", [nRot / 2], Float64Array.from({ length: nRot / 2 }, (_, j) => Math.fround(1 / c.rotary_emb_base ** ((2 * j) / nRot))));
    }
  }
  b.gain("gpt_neox.final_layer_norm.weight", [D]); b.uni("gpt_neox.final_layer_norm.bias", [D], 0.2);
  if (!c.tie_word_embeddings) b.uni("embed_out.weight", [V, D], 2 / Math.sqrt(D));
}

// Named as openai-community/gpt2 stores them: no "transformer." prefix (saved
// from the bare GPT2Model), no lm_head (tied to wte), and the float32
// [1,1,n_positions,n_positions] causal-mask buffer attn.bias in every block.
function gpt2Weights(b, c) {
  const D = c.n_embd, M = c.n_inner ?? 4 * D, V = c.vocab_size, P = c.n_positions;
  b.uni("wte.weight", [V, D], 1);
  b.uni("wpe.weight", [P, D], 0.5);
  for (let l = 0; l < c.n_layer; l++) {
    const p = `h.${l}.`;
    b.gain(p + "ln_1.weight", [D]); b.uni(p + "ln_1.bias", [D], 0.2);
    b.uni(p + "attn.c_attn.weight", [D, 3 * D], 2.5 / Math.sqrt(D));
    b.uni(p + "attn.c_attn.bias", [3 * D], 0.3);
    b.uni(p + "attn.c_proj.weight", [D, D], 1.5 / Math.sqrt(D));
    b.uni(p + "attn.c_proj.bias", [D], 0.2);
    b.gain(p + "ln_2.weight", [D]); b.uni(p + "ln_2.bias", [D], 0.2);
    b.uni(p + "mlp.c_fc.weight", [D, M], 2 / Math.sqrt(D));
    b.uni(p + "mlp.c_fc.bias", [M], 0.3);
    b.uni(p + "mlp.c_proj.weight", [M, D], 1.5 / Math.sqrt(M));
    b.uni(p + "mlp.c_proj.bias", [D], 0.2);
    b.raw(p + "attn.bias", "F32", [1, 1, P, P], Float64Array.from({ length: P * P }, (_, i) => (i % P <= Math.floor(i / P) ? 1 : 0)));
  }
  b.gain("ln_f.weight", [D]); b.uni("ln_f.bias", [D], 0.2);
}

// ---- configs -------------------------------------------------------------------------------

const TV = "4.46.3"; // the transformers release whose config fields these mirror

const llamaConfig = (o) => ({
  architectures: ["LlamaForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2,
  hidden_act: "silu", initializer_range: 0.02, mlp_bias: false, model_type: "llama", pretraining_tp: 1, rms_norm_eps: 1e-5,
  rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: false, transformers_version: TV, use_cache: true, ...o,
});
const qwen2Config = (o) => ({
  architectures: ["Qwen2ForCausalLM"], attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 1, hidden_act: "silu",
  initializer_range: 0.02, model_type: "qwen2", rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 1000000.0,
  transformers_version: TV, use_cache: true, use_mrope: false, ...o,
});
const mistralConfig = (o) => ({
  architectures: ["MistralForCausalLM"], attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, hidden_act: "silu",
  initializer_range: 0.02, model_type: "mistral", rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: false,
  transformers_version: TV, use_cache: true, ...o,
});
const neoxConfig = (o) => ({
  architectures: ["GPTNeoXForCausalLM"], attention_bias: true, attention_dropout: 0.0, bos_token_id: 0, classifier_dropout: 0.1,
  eos_token_id: 0, hidden_act: "gelu", hidden_dropout: 0.0, initializer_range: 0.02, layer_norm_eps: 1e-5, model_type: "gpt_neox",
  rope_scaling: null, rotary_emb_base: 10000, tie_word_embeddings: false, transformers_version: TV, use_cache: true, ...o,
});
const gpt2Config = (o) => ({
  activation_function: "gelu_new", architectures: ["GPT2LMHeadModel"], attn_pdrop: 0.1, bos_token_id: 0, embd_pdrop: 0.1,
  eos_token_id: 0, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: "gpt2", reorder_and_upcast_attn: false,
  resid_pdrop: 0.1, scale_attn_by_inverse_layer_idx: false, scale_attn_weights: true, summary_activation: null,
  summary_first_dropout: 0.1, summary_proj_to_labels: true, summary_type: "cls_index", summary_use_proj: true,
  transformers_version: TV, use_cache: true, ...o,
});

// ---- the cases --------------------------------------------------------------------------------

/** Each case: folder name, seed, storage dtype, config, weight writer, sequence length, what it exercises. */
export const CASES = [
  {
    name: "llama", seed: 101, dtype: "F32", T: 8,
    config: llamaConfig({ head_dim: 8, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 64, num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, vocab_size: 48 }),
    weights: (b, c) => llamaFamilyWeights(b, c, {}),
    // save_pretrained's split: by size, layers in order; here layer 0 + embeddings, then the rest.
    shards: (names) => [names.filter((n) => n.startsWith("model.embed") || n.startsWith("model.layers.0.")), names.filter((n) => !(n.startsWith("model.embed") || n.startsWith("model.layers.0.")))],
    exercises: ["LlamaForCausalLM", "sharded: model-00001-of-00002 + model-00002-of-00002 + model.safetensors.index.json", "GQA 4 query heads on 2 kv heads", "untied lm_head.weight", "rope_theta 10000, no scaling"],
  },
  {
    name: "llama-bias-headdim", seed: 202, dtype: "F32", T: 8,
    config: llamaConfig({
      attention_bias: true, mlp_bias: true, head_dim: 12, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 256,
      num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 1, vocab_size: 48, tie_word_embeddings: true,
      rope_scaling: { factor: 8.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 64, rope_type: "llama3" },
    }),
    weights: (b, c) => llamaFamilyWeights(b, c, { qkvBias: true, oBias: true, mlpBias: true }),
    exercises: ["LlamaForCausalLM", "attention_bias (q, k, v and o_proj biases) and mlp_bias (gate, up, down biases)", "head_dim 12 != hidden_size/heads 8: q_proj [48, 32], o_proj [32, 48]", "multi-query: 1 kv head", "tie_word_embeddings true, no lm_head.weight", "rope_scaling llama3 (all three frequency bands at this size)"],
  },
  {
    name: "qwen2", seed: 303, dtype: "BF16", T: 8,
    config: qwen2Config({
      hidden_size: 32, intermediate_size: 64, max_position_embeddings: 128, max_window_layers: 1, num_attention_heads: 4, num_hidden_layers: 2,
      num_key_value_heads: 2, sliding_window: 4, tie_word_embeddings: true, use_sliding_window: false, vocab_size: 64,
    }),
    weights: (b, c) => llamaFamilyWeights(b, c, { qkvBias: true }),
    exercises: ["Qwen2ForCausalLM", "BF16 storage (torch_dtype bfloat16)", "q/k/v biases, no o_proj bias", "tie_word_embeddings true, no lm_head.weight", "GQA 4 on 2", "rope_theta 1e6", "sliding_window 4 present but use_sliding_window false: NO window (T 8 > 4 would show it)"],
  },
  {
    name: "qwen2-sliding", seed: 404, dtype: "F32", T: 9,
    config: qwen2Config({
      hidden_size: 32, intermediate_size: 48, max_position_embeddings: 128, max_window_layers: 1, num_attention_heads: 4, num_hidden_layers: 2,
      num_key_value_heads: 2, sliding_window: 3, tie_word_embeddings: false, use_sliding_window: true, vocab_size: 48,
    }),
    weights: (b, c) => llamaFamilyWeights(b, c, { qkvBias: true }),
    exercises: ["Qwen2ForCausalLM", "use_sliding_window true with max_window_layers 1: layer 0 full causal, layer 1 window 3", "untied lm_head.weight"],
  },
  {
    name: "mistral", seed: 505, dtype: "F32", T: 9,
    config: mistralConfig({ head_dim: 8, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 128, num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, sliding_window: 3, vocab_size: 48 }),
    weights: (b, c) => llamaFamilyWeights(b, c, {}),
    exercises: ["MistralForCausalLM", "sliding_window 3 on every layer, sequences of 9 (query t sees keys t-2..t)", "GQA 4 on 2", "no biases"],
  },
  {
    name: "gpt-neox", seed: 606, dtype: "F16", T: 8,
    config: neoxConfig({ hidden_size: 48, intermediate_size: 64, max_position_embeddings: 32, num_attention_heads: 3, num_hidden_layers: 2, rotary_pct: 0.25, torch_dtype: "float16", use_parallel_residual: true, vocab_size: 48 }),
    weights: (b, c) => neoxWeights(b, c, { buffers: true }),
    exercises: ["GPTNeoXForCausalLM (Pythia-style)", "F16 storage (torch_dtype float16)", "use_parallel_residual true", "fused query_key_value laid out per head [q|k|v]", "rotary_pct 0.25: 4 of 16 head dims rotate, pairs (0,2) and (1,3)", "exact-erf gelu", "LayerNorm with biases", "untied embed_out", "Pythia's buffers: attention.bias BOOL [1,1,32,32], attention.masked_bias F16 scalar shape [] holding -inf, attention.rotary_emb.inv_freq F32 in an F16 file"],
  },
  {
    name: "gpt-neox-sequential", seed: 707, dtype: "F32", T: 8,
    config: neoxConfig({ hidden_size: 32, intermediate_size: 64, max_position_embeddings: 64, num_attention_heads: 2, num_hidden_layers: 2, rotary_pct: 0.5, torch_dtype: "float32", use_parallel_residual: false, vocab_size: 40 }),
    weights: (b, c) => neoxWeights(b, c, { buffers: false }),
    exercises: ["GPTNeoXForCausalLM", "use_parallel_residual false (sequential attention then MLP)", "rotary_pct 0.5: 8 of 16 head dims rotate, pairs (j, j+4)", "no buffers"],
  },
  {
    name: "gpt2", seed: 808, dtype: "F32", T: 8,
    config: gpt2Config({ n_ctx: 16, n_embd: 32, n_head: 4, n_inner: 64, n_layer: 2, n_positions: 16, torch_dtype: "float32", vocab_size: 48 }),
    weights: gpt2Weights,
    exercises: ["GPT2LMHeadModel", "Conv1D weights stored [in, out]", "c_attn split as [all q | all k | all v]", "gelu_new (tanh form)", "learned position embeddings wpe", "tied lm_head (wte), none stored", "keys without the transformer. prefix, as openai-community/gpt2 stores them", "attn.bias F32 [1,1,16,16] mask buffers in the file", "n_inner 64 (not 4*n_embd)"],
  },
];

/** Write one case into dir/<name>; returns { dir, files, bytes }. */
export function writeCase(outDir, cs) {
  const dir = join(outDir, cs.name);
  rmSync(dir, { recursive: true, force: true });
  const config = sortKeys({ ...cs.config, torch_dtype: cs.config.torch_dtype ?? TORCH_DTYPE[cs.dtype] });
  const b = builder(cs.seed, cs.dtype);
  cs.weights(b, config);
  const names = b.entries.map((e) => e.name).sort();
  const files = writeHfFolder(dir, config, b.entries, cs.shards ? { shards: cs.shards(names) } : {});
  // The answers are computed from what was written, read back through the safetensors reader.
  const { config: cfg, tensors } = readHfFolder(dir);
  const ids = b.ids(2, cs.T, cfg.vocab_size);
  if (cs.name.startsWith("llama") || cs.name.startsWith("mistral")) ids[0][0] = cfg.bos_token_id; // a BOS-led row, as tokenizers produce
  const logits = hfForward(cfg, tensors, ids);
  const V = cfg.vocab_size, T = cs.T;
  const nested = ids.map((_, bi) => Array.from({ length: T }, (_, t) => Array.from(logits.subarray((bi * T + t) * V, (bi * T + t + 1) * V))));
  const expected = {
    about: "Float64 reference logits from test/reference/hf-forward.mjs on the weights as stored in this folder (16-bit values widened exactly). Random weights: the numbers mean nothing as language. Regenerate with node scripts/make-tiny-hf-models.mjs.",
    model: cs.name, architecture: cfg.architectures[0], dtype: cs.dtype, seed: cs.seed, exercises: cs.exercises,
    files, ids, shape: [ids.length, T, V], logits: nested,
  };
  writeFileSync(join(dir, "expected.json"), JSON.stringify(expected) + "\n");
  const all = [...files, "expected.json"];
  return { dir, files: all, bytes: all.reduce((s, f) => s + statSync(join(dir, f)).size, 0) };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const outDir = process.argv[2] ?? join(root, "test", "fixtures", "hf");
  for (const cs of CASES) {
    const { dir, files, bytes } = writeCase(outDir, cs);
    console.log(`${dir}: ${files.join(", ")} (${(bytes / 1024).toFixed(1)} KiB)`);
  }
}
