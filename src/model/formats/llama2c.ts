// llama2.c checkpoints (Karpathy's `run.c` legacy format, "version 0") as
// copy plans into a llama-family model. Not a reader of the versioned
// `ak42` exports (export.py --version 1/2) nor of quantized files.
//
// Layout (run.c `read_checkpoint` / `memory_map_weights`): a header of 7
// little-endian int32 — dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size (negative: a separate classifier follows), seq_len — then
// float32 arrays, PyTorch nn.Linear weights stored [out, in]:
//   token_embedding [V, D], rms_att [L, D], wq [L, D, D], wk [L, Hk·Dh, D],
//   wv [L, Hk·Dh, D], wo [L, D, D], rms_ffn [L, D], w1 [L, M, D],
//   w2 [L, D, M], w3 [L, M, D], rms_final [D],
//   freq_cis_real, freq_cis_imag [seq_len, Dh/2] (legacy RoPE tables; skipped),
//   wcls [V, D] only when vocab_size < 0.
// Every matrix is transposed on the way in (parameters are [in, out]): wq,
// wk, wv [heads·Dh, D] transposed are exactly the "heads" storage [D,
// heads·Dh]; wo → W_O; w1 → W_gate, w3 → W_in, w2 → W_out; wcls (or the
// embedding) → W_U.
// SwiGLU: run.c computes w2(silu(w1·x) ⊙ (w3·x)); Transformer.mlp computes
// silu(x·W_gate) ⊙ (x·W_in) · W_out, so w1 is the gate and w3 the "in"
// (TransformerLens's llama conversion maps gate_proj = w1, up_proj = w3 the same way).
// Rotary: run.c rotates pairs (2i, 2i+1) of each head by pos·10000^(−2i/Dh),
// the convention Transformer's rope kernel uses; q/k need no permutation.
import { FormatError } from "../../errors.js";
import { makeConfig, type ModelConfig } from "../config.js";
import { weight } from "../../names.js";
import { paramTable, type ParamSpec } from "../params.js";
import { transposePlan, type CopyPlan } from "./plan.js";
import type { ByteSource, StoredTensor } from "./tensor.js";

const fail = (msg: string) => new FormatError("llama2.c", msg);

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** |vocab_size| */
  vocabSize: number;
  seqLen: number;
  /** vocab_size > 0 in the file: the classifier is the token embedding. */
  sharedClassifier: boolean;
}

export const LLAMA2C_HEADER_BYTES = 28;
// export.py --version ≥ 1 writes this magic ("ak42" little-endian) first.
const AK42_MAGIC = 0x616b3432;

/** The 7-int header (first 28 bytes), checked for sense (not yet against the file size). */
export function parseLlama2cHeader(head: Uint8Array): Llama2cHeader {
  if (head.byteLength < LLAMA2C_HEADER_BYTES) throw fail(`truncated header: file has ${head.byteLength} bytes, the header is ${LLAMA2C_HEADER_BYTES}`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (dv.getUint32(0, true) === AK42_MAGIC) {
    throw fail(`file starts with the "ak42" magic of a versioned export (version ${dv.getInt32(4, true)}); only the legacy format run.c reads is supported (export.py --version 0)`);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
  const fields: [string, number][] = [["dim", dim], ["hidden_dim", hiddenDim], ["n_layers", nLayers], ["n_heads", nHeads], ["n_kv_heads", nKvHeads], ["seq_len", seqLen]];
  for (const [k, v] of fields) if (v <= 0) throw fail(`header field ${k} is ${v}; expected a positive integer (not a llama2.c checkpoint?)`);
  if (vocab === 0) throw fail("header field vocab_size is 0");
  if (dim % nHeads) throw fail(`dim ${dim} is not divisible by n_heads ${nHeads}`);
  if (nHeads % nKvHeads) throw fail(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  if ((dim / nHeads) % 2) throw fail(`head size ${dim / nHeads} is odd; rotary embeddings need it even`);
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: vocab > 0 };
}

/** The ModelConfig of a llama2.c header: RMSNorm (eps 1e-5), rotary (θ 10000), SwiGLU, GQA. */
export function llama2cConfig(h: Llama2cHeader): ModelConfig {
  return makeConfig({
    nLayers: h.nLayers, dModel: h.dim, nHeads: h.nHeads, nKvHeads: h.nKvHeads, dHead: h.dim / h.nHeads,
    dMlp: h.hiddenDim, dVocab: h.vocabSize, nCtx: h.seqLen,
    normalization: "RMS", positional: "rotary", actFn: "swiglu", eps: 1e-5, ropeTheta: 10000,
  });
}

/** The file's arrays in order, as stored tensors (float32, offsets after the header). */
export function llama2cTensors(h: Llama2cHeader): StoredTensor[] {
  const { dim: D, hiddenDim: M, nLayers: L, nKvHeads: Hk, vocabSize: V, seqLen: S } = h;
  const Dh = D / h.nHeads;
  const arrays: [string, number[]][] = [
    ["token_embedding", [V, D]], ["rms_att", [L, D]], ["wq", [L, D, D]], ["wk", [L, Hk * Dh, D]], ["wv", [L, Hk * Dh, D]],
    ["wo", [L, D, D]], ["rms_ffn", [L, D]], ["w1", [L, M, D]], ["w2", [L, D, M]], ["w3", [L, M, D]], ["rms_final", [D]],
    ["freq_cis_real", [S, Dh / 2]], ["freq_cis_imag", [S, Dh / 2]],
  ];
  if (!h.sharedClassifier) arrays.push(["wcls", [V, D]]);
  let off = LLAMA2C_HEADER_BYTES;
  return arrays.map(([name, shape]) => {
    const byteLength = 4 * shape.reduce((a, b) => a * b, 1);
    const t: StoredTensor = { name, dtype: "F32", shape, offset: off, byteLength };
    off += byteLength;
    return t;
  });
}

/** Read and check the header of a llama2.c source against its size; returns header, config and plans. */
export async function llama2cPlans(src: ByteSource, specs?: ParamSpec[]): Promise<{ header: Llama2cHeader; cfg: ModelConfig; plans: CopyPlan[]; specs: ParamSpec[] }> {
  const h = parseLlama2cHeader(await src.read(0, Math.min(src.byteLength, LLAMA2C_HEADER_BYTES)));
  const cfg = llama2cConfig(h);
  const tensors = llama2cTensors(h);
  const end = tensors[tensors.length - 1].offset + tensors[tensors.length - 1].byteLength;
  if (src.byteLength !== end) {
    const other = end + (h.sharedClassifier ? 1 : -1) * 4 * h.vocabSize * h.dim;
    const hint = src.byteLength === other
      ? `; that is the size with${h.sharedClassifier ? "" : "out"} a separate classifier, so the sign of vocab_size in the header is wrong`
      : src.byteLength < end ? " (truncated file?)" : " (trailing data, or not the legacy format?)";
    throw fail(`file has ${src.byteLength} bytes but the header (dim ${h.dim}, hidden_dim ${h.hiddenDim}, n_layers ${h.nLayers}, n_heads ${h.nHeads}, n_kv_heads ${h.nKvHeads}, vocab_size ${h.sharedClassifier ? "" : "-"}${h.vocabSize}, seq_len ${h.seqLen}) implies ${end}${hint}`);
  }
  const table = specs ?? paramTable(cfg);
  const spec = new Map(table.map((s) => [s.name, s]));
  const t = new Map(tensors.map((x) => [x.name, x]));
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const plans: CopyPlan[] = [];
  const src0 = (n: string) => ({ stored: t.get(n)! });
  // A [n] slice of a [L, n] array at layer l.
  const row = (param: string, from: string, l: number, n: number): CopyPlan => ({ param, from, src: src0(from), dims: [n], srcOffset: l * n, srcStrides: [1], dstOffset: 0, dstStrides: [1] });
  // [rows (out), cols (in)] at layer l → parameter storage [cols, rows].
  const tr = (param: string, from: string, l: number, rows: number, cols: number) => transposePlan(spec.get(param)!, from, src0(from), rows, cols, l * rows * cols);
  plans.push({ param: weight.embed(), from: "token_embedding", src: src0("token_embedding"), dims: [V, D], srcOffset: 0, srcStrides: [D, 1], dstOffset: 0, dstStrides: [D, 1] });
  for (let l = 0; l < L; l++) {
    plans.push(row(weight.norm(l, "ln1", "w"), "rms_att", l, D));
    plans.push(tr(weight.attnW(l, "q"), "wq", l, H * Dh, D));
    plans.push(tr(weight.attnW(l, "k"), "wk", l, Hk * Dh, D));
    plans.push(tr(weight.attnW(l, "v"), "wv", l, Hk * Dh, D));
    // wo [D (out), H·Dh (in)] → W_O [H·Dh, D]
    plans.push(tr(weight.WO(l), "wo", l, D, H * Dh));
    plans.push(row(weight.norm(l, "ln2", "w"), "rms_ffn", l, D));
    plans.push(tr(weight.Wgate(l), "w1", l, M, D));
    plans.push(tr(weight.Win(l), "w3", l, M, D));
    plans.push(tr(weight.Wout(l), "w2", l, D, M));
  }
  plans.push(row(weight.lnFinal("w"), "rms_final", 0, D));
  const cls = h.sharedClassifier ? "token_embedding" : "wcls";
  plans.push(tr(weight.unembed(), cls, 0, V, D));
  return { header: h, cfg, plans, specs: table };
}
