// Hugging Face checkpoints of the Llama family (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM) and of GPTNeoXForCausalLM (Pythia)
// → copy plans into the canonical parameters, one pure function per naming
// scheme (GPT-2's is gpt2Plans in convert.ts). Every nn.Linear weight is
// stored [out, in] and is transposed on the way in (parameters are [in,
// out]); a [H·Dh, D] projection transposed is exactly the "heads" storage
// [D, H·Dh]. What differs per scheme is listed at each function. A tensor no
// plan uses is refused by name, except the buffers convert.ts lists.
// Legend: L layers, D d_model, H heads, Hk kv heads, Dh d_head, M d_mlp, V vocab.
import { WeightError } from "../../errors.js";
import { LETTERS, weight, type Letter } from "../../names.js";
import type { ModelConfig } from "../config.js";
import type { HfLayout } from "../config-json.js";
import type { ParamSpec } from "../params.js";
import { transposePlan, wholePlan, type CopyPlan } from "./plan.js";
import { refuseUnused, type Conversion, type SourceTensor, type SourceTensors } from "./convert.js";

/** Which Hugging Face naming scheme a file's tensors follow (null: none of these). */
export function hfFamily(names: Iterable<string>): "llama" | "gpt_neox" | null {
  for (const n of names) {
    if (/^(model\.)?layers\.\d+\.self_attn\.q_proj\.weight$/.test(n)) return "llama";
    if (/^(gpt_neox\.)?layers\.\d+\.attention\.query_key_value\.weight$/.test(n)) return "gpt_neox";
  }
  return null;
}

/** The layout a file's names imply, for a config given without its config.json (biases present are read; no head means tied). */
export function layoutFromNames(family: "llama" | "gpt_neox", names: Set<string>): HfLayout {
  const has = (re: RegExp) => [...names].some((n) => re.test(n));
  if (family === "llama") {
    return {
      family, qkvBias: has(/self_attn\.q_proj\.bias$/), oBias: has(/self_attn\.o_proj\.bias$/), mlpBias: has(/mlp\.up_proj\.bias$/),
      tied: !names.has("lm_head.weight"),
    };
  }
  return { family, qkvBias: has(/attention\.query_key_value\.bias$/), oBias: has(/attention\.dense\.bias$/), mlpBias: true, tied: !names.has("embed_out.weight") };
}

/** Tensor lookup by Hugging Face name with shape checks; the base model's prefix is optional (checkpoints saved from the bare base model lack it). */
function reader(tensors: SourceTensors, prefix: string, scheme: string) {
  const used = new Set<string>();
  const find = (n: string) => (tensors.has(n) ? n : n.startsWith(prefix) && tensors.has(n.slice(prefix.length)) ? n.slice(prefix.length) : null);
  return {
    used,
    has: (n: string) => find(n) !== null,
    get(n: string, shape: number[]): [string, SourceTensor] {
      const name = find(n);
      if (name === null) throw new WeightError(`missing tensor "${n}" (${scheme} name)`);
      const t = tensors.get(name)!;
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new WeightError(`tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
      used.add(name);
      return [name, t];
    },
  };
}

/** A [n] source (at element `offset`, stride `stride`) into a parameter's first n storage floats: a bias stored flat. */
function flat(param: string, from: string, t: SourceTensor, n: number, offset = 0, stride = 1): CopyPlan {
  return { param, from, src: t.src, dims: [n], srcOffset: offset, srcStrides: [stride], dstOffset: 0, dstStrides: [1] };
}

/**
 * LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM (prefix model.):
 *   embed_tokens [V, D] → W_E;  layers.l.input_layernorm, post_attention_layernorm → ln1.w, ln2.w;
 *   self_attn.{q,k,v}_proj [Hx·Dh, D] (+ bias [Hx·Dh]) → W_{Q,K,V} (transposed), b_{Q,K,V};
 *   self_attn.o_proj [D, H·Dh] (+ bias) → W_O, b_O;
 *   mlp.gate_proj, up_proj [M, D] → W_gate, W_in; down_proj [D, M] → W_out (biases: b_gate, b_in, b_out);
 *   norm → ln_final.w;  lm_head.weight [V, D] (or embed_tokens when tied) → W_U transposed.
 * The q/k rows are in rotate-half order, which the model's rotary style follows.
 */
export function llamaPlans(specs: ParamSpec[], tensors: SourceTensors, cfg: ModelConfig, layout: HfLayout): Conversion {
  const spec = new Map(specs.map((s) => [s.name, s]));
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const r = reader(tensors, "model.", "Hugging Face Llama");
  const plans: CopyPlan[] = [];
  const tr = (param: string, n: string, rows: number, cols: number) => {
    const [name, t] = r.get(n, [rows, cols]);
    plans.push(transposePlan(spec.get(param)!, name, t.src, rows, cols));
  };
  const vec = (param: string, n: string, len: number) => { const [name, t] = r.get(n, [len]); plans.push(flat(param, name, t, len)); };
  const [en, emb] = r.get("model.embed_tokens.weight", [V, D]);
  plans.push(wholePlan(spec.get(weight.embed())!, en, emb.src, [V, D]));
  const proj: Record<Letter, string> = { q: "q_proj", k: "k_proj", v: "v_proj" };
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    vec(weight.norm(l, "ln1", "w"), `${p}input_layernorm.weight`, D);
    for (const x of LETTERS) {
      const n = (x === "q" ? H : Hk) * Dh;
      tr(weight.attnW(l, x), `${p}self_attn.${proj[x]}.weight`, n, D);
      if (layout.qkvBias) vec(weight.attnB(l, x), `${p}self_attn.${proj[x]}.bias`, n);
    }
    tr(weight.WO(l), `${p}self_attn.o_proj.weight`, D, H * Dh);
    if (layout.oBias) vec(weight.bO(l), `${p}self_attn.o_proj.bias`, D);
    vec(weight.norm(l, "ln2", "w"), `${p}post_attention_layernorm.weight`, D);
    tr(weight.Wgate(l), `${p}mlp.gate_proj.weight`, M, D);
    tr(weight.Win(l), `${p}mlp.up_proj.weight`, M, D);
    tr(weight.Wout(l), `${p}mlp.down_proj.weight`, D, M);
    if (layout.mlpBias) {
      vec(weight.bgate(l), `${p}mlp.gate_proj.bias`, M);
      vec(weight.bin(l), `${p}mlp.up_proj.bias`, M);
      vec(weight.bout(l), `${p}mlp.down_proj.bias`, D);
    }
  }
  vec(weight.lnFinal("w"), "model.norm.weight", D);
  unembedding(plans, spec.get(weight.unembed())!, r, layout.tied, "model.embed_tokens.weight", "lm_head.weight", V, D);
  refuseUnused(tensors.keys(), r.used, cfg);
  return { plans };
}

/**
 * GPTNeoXForCausalLM (prefix gpt_neox.):
 *   embed_in [V, D] → W_E;  layers.l.input_layernorm, post_attention_layernorm {weight, bias} → ln1, ln2;
 *   attention.query_key_value [3D, D] (+ bias [3D]) grouped PER HEAD: head h owns rows
 *     h·3Dh … (h+1)·3Dh, q then k then v (Dh rows each) → W_{Q,K,V}, b_{Q,K,V};
 *   attention.dense [D, D] (+ bias) → W_O, b_O;
 *   mlp.dense_h_to_4h [M, D] + bias → W_in, b_in;  mlp.dense_4h_to_h [D, M] + bias → W_out, b_out;
 *   final_layer_norm → ln_final;  embed_out.weight [V, D] (or embed_in when tied) → W_U transposed.
 */
export function gptNeoXPlans(specs: ParamSpec[], tensors: SourceTensors, cfg: ModelConfig, layout: HfLayout): Conversion {
  const spec = new Map(specs.map((s) => [s.name, s]));
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const r = reader(tensors, "gpt_neox.", "Hugging Face GPT-NeoX");
  const plans: CopyPlan[] = [];
  const tr = (param: string, n: string, rows: number, cols: number) => {
    const [name, t] = r.get(n, [rows, cols]);
    plans.push(transposePlan(spec.get(param)!, name, t.src, rows, cols));
  };
  const vec = (param: string, n: string, len: number) => { const [name, t] = r.get(n, [len]); plans.push(flat(param, name, t, len)); };
  const norm = (l: number, which: "ln1" | "ln2", n: string) => { vec(weight.norm(l, which, "w"), `${n}.weight`, D); vec(weight.norm(l, which, "b"), `${n}.bias`, D); };
  const [en, emb] = r.get("gpt_neox.embed_in.weight", [V, D]);
  plans.push(wholePlan(spec.get(weight.embed())!, en, emb.src, [V, D]));
  for (let l = 0; l < L; l++) {
    const p = `gpt_neox.layers.${l}.`;
    norm(l, "ln1", `${p}input_layernorm`);
    const [wn, w] = r.get(`${p}attention.query_key_value.weight`, [3 * D, D]);
    const b = layout.qkvBias ? r.get(`${p}attention.query_key_value.bias`, [3 * D]) : null;
    LETTERS.forEach((x, part) => {
      // storage [D, H·Dh]: (d, h·Dh + j) ← row h·3Dh + part·Dh + j, column d
      plans.push({ param: weight.attnW(l, x), from: wn, src: w.src, dims: [H, Dh, D], srcOffset: part * Dh * D, srcStrides: [3 * Dh * D, D, 1], dstOffset: 0, dstStrides: [Dh, 1, H * Dh] });
      if (b) plans.push({ param: weight.attnB(l, x), from: b[0], src: b[1].src, dims: [H, Dh], srcOffset: part * Dh, srcStrides: [3 * Dh, 1], dstOffset: 0, dstStrides: [Dh, 1] });
    });
    tr(weight.WO(l), `${p}attention.dense.weight`, D, D);
    if (layout.oBias) vec(weight.bO(l), `${p}attention.dense.bias`, D);
    norm(l, "ln2", `${p}post_attention_layernorm`);
    tr(weight.Win(l), `${p}mlp.dense_h_to_4h.weight`, M, D);
    vec(weight.bin(l), `${p}mlp.dense_h_to_4h.bias`, M);
    tr(weight.Wout(l), `${p}mlp.dense_4h_to_h.weight`, D, M);
    vec(weight.bout(l), `${p}mlp.dense_4h_to_h.bias`, D);
  }
  vec(weight.lnFinal("w"), "gpt_neox.final_layer_norm.weight", D);
  vec(weight.lnFinal("b"), "gpt_neox.final_layer_norm.bias", D);
  unembedding(plans, spec.get(weight.unembed())!, r, layout.tied, "gpt_neox.embed_in.weight", "embed_out.weight", V, D);
  refuseUnused(tensors.keys(), r.used, cfg);
  return { plans };
}

/** W_U [D, V] from the head [V, D] transposed, or from the embedding when tied (a head saved beside a tied embedding is its copy: read as used). */
function unembedding(plans: CopyPlan[], spec: ParamSpec, r: ReturnType<typeof reader>, tied: boolean, embed: string, head: string, V: number, D: number): void {
  if (tied && r.has(head)) r.get(head, [V, D]);
  const [name, t] = r.get(tied ? embed : head, [V, D]);
  plans.push(transposePlan(spec, name, t.src, V, D));
}
