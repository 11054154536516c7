#!/usr/bin/env node
// Convert a legacy llama2.c checkpoint (e.g. ../shared/models/stories260K/stories260K.bin)
// into a Hugging Face LlamaForCausalLM folder: config.json + model.safetensors (F32).
//
// What it is: a test-data tool for the loader that is being written — it makes
// a real trained model available in HF layout without any download. It parses
// the file itself (no code shared with test/reference/llama2c-forward.mjs, so
// the stories260K equivalence test can catch a parsing slip on either side).
// What it is not: a general exporter; versioned ("ak42") llama2.c files are refused.
//
// The one non-trivial step is the query/key row order. llama2.c (like Meta's
// original checkpoints) rotates neighbouring pairs (2i, 2i+1) of each head;
// HF's Llama rotates dim i with dim i + Dh/2 ("rotate_half"). HF's
// convert_llama_weights_to_hf.py therefore permutes the rows of wq and wk
// within each head, and llama2.c's export.py undoes that permutation when
// going the other way. Here, for head h, half c in {0, 1} and i < Dh/2:
//     HF row  h*Dh + c*Dh/2 + i   <-   llama2.c row  h*Dh + 2i + c
// so the pair that llama2.c rotates together lands at (i, i + Dh/2). wk uses
// the same map with n_kv_heads heads. wv, wo and everything else keep their order.
//
// Usage: node scripts/llama2c-to-hf.mjs [in.bin] [out-dir]
//   defaults: ../shared/models/stories260K/stories260K.bin -> out/stories260K-hf
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeHfFolder } from "../test/reference/safetensors-io.mjs";

/** Permute the rows of a [nHeads*Dh, cols] matrix from interleaved rotary pairs to rotate-half order. */
export function interleavedToRotateHalf(w, nHeads, Dh, cols) {
  const out = new Float32Array(w.length), half = Dh / 2;
  for (let h = 0; h < nHeads; h++)
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < half; i++) {
        const to = h * Dh + c * half + i, from = h * Dh + 2 * i + c;
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
  return out;
}

/**
 * Convert the bytes of a legacy llama2.c checkpoint.
 * Returns { config, entries } with entries [{ name, dtype: "F32", shape, values }]
 * named as LlamaForCausalLM.state_dict() names them.
 */
export function llama2cToHf(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  if (u8.length >= 4 && dv.getUint32(0, true) === 0x616b3432) throw new Error("versioned llama2.c export (magic ak42) is not handled; this reads the legacy format");
  const [D, M, L, H, Hk, vocab, S] = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
  const V = Math.abs(vocab), Dh = D / H, kv = Hk * Dh;
  if (!Number.isInteger(Dh) || Dh % 2) throw new Error(`dim ${D} / n_heads ${H} is not an even integer`);
  let p = 28;
  const f32 = (n) => {
    if (p + 4 * n > u8.length) throw new Error("truncated llama2.c file");
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = dv.getFloat32(p + 4 * i, true);
    p += 4 * n;
    return a;
  };
  // In file order.
  const emb = f32(V * D), rmsAtt = f32(L * D), wq = f32(L * D * D), wk = f32(L * kv * D), wv = f32(L * kv * D), wo = f32(L * D * D);
  const rmsFfn = f32(L * D), w1 = f32(L * M * D), w2 = f32(L * D * M), w3 = f32(L * M * D), rmsFinal = f32(D);
  p += 2 * 4 * S * (Dh / 2); // freq_cis_real and freq_cis_imag: HF recomputes the angles from rope_theta
  const wcls = vocab < 0 ? f32(V * D) : null;
  if (p !== u8.length) throw new Error(`llama2.c file size does not match its header (${u8.length - p} bytes left over)`);

  const entries = [];
  const add = (name, shape, values) => entries.push({ name, dtype: "F32", shape, values });
  add("model.embed_tokens.weight", [V, D], emb);
  for (let l = 0; l < L; l++) {
    const pre = `model.layers.${l}.`, sl = (a, n) => a.subarray(l * n, (l + 1) * n);
    add(pre + "input_layernorm.weight", [D], sl(rmsAtt, D));
    add(pre + "self_attn.q_proj.weight", [D, D], interleavedToRotateHalf(sl(wq, D * D), H, Dh, D));
    add(pre + "self_attn.k_proj.weight", [kv, D], interleavedToRotateHalf(sl(wk, kv * D), Hk, Dh, D));
    add(pre + "self_attn.v_proj.weight", [kv, D], sl(wv, kv * D));
    add(pre + "self_attn.o_proj.weight", [D, D], sl(wo, D * D));
    add(pre + "post_attention_layernorm.weight", [D], sl(rmsFfn, D));
    add(pre + "mlp.gate_proj.weight", [M, D], sl(w1, M * D)); // w1: the SiLU-gated branch
    add(pre + "mlp.down_proj.weight", [D, M], sl(w2, D * M));
    add(pre + "mlp.up_proj.weight", [M, D], sl(w3, M * D));
  }
  add("model.norm.weight", [D], rmsFinal);
  // A shared classifier is HF's tie_word_embeddings: save_pretrained leaves lm_head.weight out.
  if (wcls) add("lm_head.weight", [V, D], wcls);

  const config = {
    architectures: ["LlamaForCausalLM"],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1, // llama2.c's tokenizer: 1 is BOS, 2 is EOS
    eos_token_id: 2,
    head_dim: Dh,
    hidden_act: "silu",
    hidden_size: D,
    initializer_range: 0.02,
    intermediate_size: M,
    max_position_embeddings: S,
    mlp_bias: false,
    model_type: "llama",
    num_attention_heads: H,
    num_hidden_layers: L,
    num_key_value_heads: Hk,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5, // run.c's rmsnorm epsilon
    rope_scaling: null,
    rope_theta: 10000.0, // run.c's base; the freq_cis tables in the file agree (checked in the test)
    tie_word_embeddings: vocab > 0,
    torch_dtype: "float32",
    use_cache: true,
    vocab_size: V,
  };
  return { config, entries };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const src = process.argv[2] ?? join(root, "..", "shared", "models", "stories260K", "stories260K.bin");
  const dst = process.argv[3] ?? join(root, "out", "stories260K-hf");
  const { config, entries } = llama2cToHf(readFileSync(src));
  const files = writeHfFolder(dst, config, entries);
  console.log(`${src} -> ${dst}: ${files.join(", ")} (${entries.length} tensors)`);
}
