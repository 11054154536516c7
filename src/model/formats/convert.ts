// Weight conversions: one pure function per naming scheme from a file's
// tensors to copy plans for the parameter table (cf. TransformerLens's
// weight_conversions/, nanoGPT's from_pretrained). Each names the tensors
// it transposes or slices and checks every shape; a tensor of the file that
// no plan uses is refused by name (a config that disagrees with its weights
// would otherwise load a different model silently), except buffers that are
// not weights (causal masks and the like), which are listed here.
import { WeightError } from "../../errors.js";
import { LETTERS, weight } from "../../names.js";
import type { ModelConfig } from "../config.js";
import type { ParamSpec } from "../params.js";
import { checkShape } from "../params.js";
import { transposePlan, wholePlan, type CopyPlan, type PlanSource } from "./plan.js";

/** A tensor to convert: its shape and where its values are. */
export interface SourceTensor { shape: number[]; src: PlanSource }
export type SourceTensors = Map<string, SourceTensor>;

export interface Conversion { plans: CopyPlan[] }

/**
 * Non-weight buffers some writers save beside the weights: TransformerLens
 * masks, HF GPT-2 attention biases, Pythia's causal mask, masked_bias and
 * rotary inv_freq, and old Llama checkpoints' rotary inv_freq. The model
 * recomputes each of them.
 */
const BUFFERS = [
  /^blocks\.\d+\.attn\.(mask|IGNORE)$/, /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/,
  /^(gpt_neox\.)?layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/, /^(model\.)?layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/,
];

/** True for a non-weight buffer (a mask, a constant) that conversions skip by name. */
export function isBuffer(name: string): boolean { return BUFFERS.some((re) => re.test(name)); }

/** Refuse, by name, a file's tensors that no plan used and that are not known buffers. */
export function refuseUnused(all: Iterable<string>, used: Set<string>, cfg: ModelConfig): void {
  const unused = [...all].filter((n) => !used.has(n) && !isBuffer(n));
  if (!unused.length) return;
  const shown = unused.slice(0, 5).map((n) => `"${n}"`).join(", ") + (unused.length > 5 ? `, … (${unused.length} in all)` : "");
  throw new WeightError(`the file has tensors a ${describe(cfg)} model does not use: ${shown} (does the config match the weights?)`);
}

/** "2-layer, LN, MLP" style summary of a config, for messages. */
export function describe(cfg: ModelConfig): string {
  return `${cfg.nLayers}-layer${cfg.attnOnly ? " attention-only" : ""} ${cfg.normalization === "none" ? "no-norm" : cfg.normalization}`;
}

/** Tensors already under the canonical names (TransformerLens state dicts, the fixtures, in-memory weights). */
export function canonicalPlans(specs: ParamSpec[], tensors: SourceTensors, cfg: ModelConfig): Conversion {
  const plans: CopyPlan[] = [], used = new Set<string>();
  // A bias may be absent from every layer (a model without it), not from some: that is a lost tensor.
  const family = (n: string) => n.replace(/\.\d+\./, ".L.");
  const families = new Set(specs.filter((s) => tensors.has(s.name)).map((s) => family(s.name)));
  let lost: string | null = null;
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t && s.optional && families.has(family(s.name))) lost ??= s.name;
    if (!t) continue; // fillParams refuses a missing one unless it is optional
    plans.push(wholePlan(s, s.name, t.src, t.shape));
    used.add(s.name);
  }
  // Unused tensors first: a renamed tensor is named where it went.
  refuseUnused(tensors.keys(), used, cfg);
  if (lost) throw new WeightError(`missing tensor "${lost}" (the file has ${family(lost)} for other layers)`);
  return { plans };
}

/** True when the tensor names are Hugging Face GPT-2's (h.0.attn.c_attn.weight, wte, …). */
export function isHuggingFaceGPT2(names: Iterable<string>): boolean {
  for (const n of names) if (/^(transformer\.)?(wte|h\.\d+\.attn\.c_attn)\b/.test(n)) return true;
  return false;
}

/**
 * Hugging Face GPT-2 → canonical. Conv1D weights are stored [in, out]:
 * c_attn [D, 3·D] holds W_Q, W_K, W_V side by side, whose column blocks are
 * exactly the "heads" storage [D, H·Dh]; c_proj [D, D] is [H·Dh, D] = W_O;
 * the unembedding is the tied wte transposed (or lm_head, when present).
 */
export function gpt2Plans(specs: ParamSpec[], tensors: SourceTensors, cfg: ModelConfig): Conversion {
  const spec = new Map(specs.map((s) => [s.name, s]));
  const plans: CopyPlan[] = [], used = new Set<string>();
  const { nLayers: L, dModel: D, dVocab: V } = cfg;
  const get = (n: string, shape: number[]): [string, SourceTensor] => {
    const name = tensors.has(n) ? n : `transformer.${n}`;
    const t = tensors.get(name);
    if (!t) throw new WeightError(`missing tensor "${n}" (Hugging Face GPT-2 name)`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new WeightError(`tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
    used.add(name);
    return [name, t];
  };
  const same = (param: string, n: string) => {
    const s = spec.get(param)!;
    const [name, t] = get(n, s.shape.length === 3 ? [s.shape[0] * s.shape[1], s.shape[2]] : s.shape);
    // A 2-D [H·Dh, D] file tensor is the canonical [H, Dh, D] (same bytes).
    plans.push({ ...wholePlan(s, name, t.src, s.shape), from: name });
  };
  same(weight.embed(), "wte.weight");
  same(weight.posEmbed(), "wpe.weight");
  for (let l = 0; l < L; l++) {
    const h = `h.${l}`;
    same(weight.norm(l, "ln1", "w"), `${h}.ln_1.weight`);
    same(weight.norm(l, "ln1", "b"), `${h}.ln_1.bias`);
    const [wn, w] = get(`${h}.attn.c_attn.weight`, [D, 3 * D]);
    const [bn, b] = get(`${h}.attn.c_attn.bias`, [3 * D]);
    LETTERS.forEach((x, part) => {
      const sw = spec.get(weight.attnW(l, x))!, sb = spec.get(weight.attnB(l, x))!;
      // storage [D, H·Dh] (d, c) ← c_attn[d, part·D + c]
      plans.push({ param: sw.name, from: wn, src: w.src, dims: [D, D], srcOffset: part * D, srcStrides: [3 * D, 1], dstOffset: 0, dstStrides: [D, 1] });
      plans.push({ param: sb.name, from: bn, src: b.src, dims: [D], srcOffset: part * D, srcStrides: [1], dstOffset: 0, dstStrides: [1] });
    });
    same(weight.WO(l), `${h}.attn.c_proj.weight`);
    same(weight.bO(l), `${h}.attn.c_proj.bias`);
    same(weight.norm(l, "ln2", "w"), `${h}.ln_2.weight`);
    same(weight.norm(l, "ln2", "b"), `${h}.ln_2.bias`);
    same(weight.Win(l), `${h}.mlp.c_fc.weight`);
    same(weight.bin(l), `${h}.mlp.c_fc.bias`);
    same(weight.Wout(l), `${h}.mlp.c_proj.weight`);
    same(weight.bout(l), `${h}.mlp.c_proj.bias`);
  }
  same(weight.lnFinal("w"), "ln_f.weight");
  same(weight.lnFinal("b"), "ln_f.bias");
  // A separate lm_head (untied checkpoints) wins over the tied embedding.
  const [un, u] = tensors.has("lm_head.weight") ? get("lm_head.weight", [V, D]) : get("wte.weight", [V, D]);
  plans.push(transposePlan(spec.get(weight.unembed())!, un, u.src, V, D));
  refuseUnused(tensors.keys(), used, cfg);
  return { plans };
}

/** Check an in-memory canonical tensor's shape (for weights built in code). */
export function checkCanonical(specs: ParamSpec[], name: string, shape: number[]): void {
  const s = specs.find((x) => x.name === name);
  if (!s) throw new WeightError(`unknown tensor "${name}"`);
  checkShape(s, shape, name);
}
