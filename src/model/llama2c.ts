// llama2.c checkpoints (Karpathy's `run.c` legacy format, "version 0") into
// the canonical TransformerLens weights and a llama-family ModelConfig. One
// pure conversion, as for GPT-2 in weights.ts; it is not a reader of the
// versioned `ak42` exports (export.py --version 1/2) nor of quantized files.
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
// Every matrix is transposed on the way in (canonical weights are [in, out]):
//   wq → W_Q [H, D, Dh], wk/wv → W_K/W_V [Hk, D, Dh], wo → W_O [H, Dh, D],
//   w1 → W_gate [D, M], w3 → W_in [D, M], w2 → W_out [M, D], wcls/embedding → W_U [D, V].
// SwiGLU: run.c computes w2(silu(w1·x) ⊙ (w3·x)); Transformer.mlp computes
// silu(x·W_gate) ⊙ (x·W_in) · W_out, so w1 is the gate and w3 the "in"
// (TransformerLens's llama conversion maps gate_proj = w1, up_proj = w3 the same way).
// Rotary: run.c rotates pairs (2i, 2i+1) of each head by pos·10000^(−2i/Dh),
// the convention Transformer's rope kernel uses; q/k need no permutation.
import { makeConfig, type ModelConfig } from "./config.js";
import { checkWeights, type WeightMap } from "./weights.js";
import { Transformer } from "./transformer.js";
import type { Engine } from "../wasm/engine.js";

export class Llama2cError extends Error {
  constructor(message: string) { super(`llama2.c: ${message}`); this.name = "Llama2cError"; }
}

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

const HEADER_BYTES = 28;
// export.py --version ≥ 1 writes this magic ("ak42" little-endian) first.
const AK42_MAGIC = 0x616b3432;

/** The 7-int header, checked for sense (not yet against the file size). */
export function parseLlama2cHeader(file: Uint8Array): Llama2cHeader {
  if (file.byteLength < HEADER_BYTES) throw new Llama2cError(`truncated header: file has ${file.byteLength} bytes, the header is ${HEADER_BYTES}`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0, true) === AK42_MAGIC) {
    throw new Llama2cError(`file starts with the "ak42" magic of a versioned export (version ${dv.getInt32(4, true)}); only the legacy format run.c reads is supported (export.py --version 0)`);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
  const fields: [string, number][] = [["dim", dim], ["hidden_dim", hiddenDim], ["n_layers", nLayers], ["n_heads", nHeads], ["n_kv_heads", nKvHeads], ["seq_len", seqLen]];
  for (const [k, v] of fields) if (v <= 0) throw new Llama2cError(`header field ${k} is ${v}; expected a positive integer (not a llama2.c checkpoint?)`);
  if (vocab === 0) throw new Llama2cError("header field vocab_size is 0");
  if (dim % nHeads) throw new Llama2cError(`dim ${dim} is not divisible by n_heads ${nHeads}`);
  if (nHeads % nKvHeads) throw new Llama2cError(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  if ((dim / nHeads) % 2) throw new Llama2cError(`head size ${dim / nHeads} is odd; rotary embeddings need it even`);
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

/** Float count of each array in file order; the size check and the reader share it. */
function sections(h: Llama2cHeader): [string, number][] {
  const { dim: D, hiddenDim: M, nLayers: L, nKvHeads: Hk, vocabSize: V, seqLen: S } = h;
  const Dh = D / h.nHeads;
  const s: [string, number][] = [
    ["token_embedding", V * D], ["rms_att", L * D], ["wq", L * D * D], ["wk", L * Hk * Dh * D], ["wv", L * Hk * Dh * D],
    ["wo", L * D * D], ["rms_ffn", L * D], ["w1", L * M * D], ["w2", L * D * M], ["w3", L * M * D], ["rms_final", D],
    ["freq_cis_real", (S * Dh) / 2], ["freq_cis_imag", (S * Dh) / 2],
  ];
  if (!h.sharedClassifier) s.push(["wcls", V * D]);
  return s;
}

/** Parse a llama2.c checkpoint into its config and checked canonical weights. */
export function convertLlama2c(file: Uint8Array): { cfg: ModelConfig; weights: WeightMap; header: Llama2cHeader } {
  const h = parseLlama2cHeader(file);
  const cfg = llama2cConfig(h);
  const secs = sections(h);
  const floats = secs.reduce((a, [, n]) => a + n, 0);
  const want = HEADER_BYTES + 4 * floats;
  if (file.byteLength !== want) {
    const other = HEADER_BYTES + 4 * (floats + (h.sharedClassifier ? 1 : -1) * h.vocabSize * h.dim);
    const hint = file.byteLength === other
      ? `; that is the size with${h.sharedClassifier ? "" : "out"} a separate classifier, so the sign of vocab_size in the header is wrong`
      : file.byteLength < want ? " (truncated file?)" : " (trailing data, or not the legacy format?)";
    throw new Llama2cError(`file has ${file.byteLength} bytes but the header (dim ${h.dim}, hidden_dim ${h.hiddenDim}, n_layers ${h.nLayers}, n_heads ${h.nHeads}, n_kv_heads ${h.nKvHeads}, vocab_size ${h.sharedClassifier ? "" : "-"}${h.vocabSize}, seq_len ${h.seqLen}) implies ${want}${hint}`);
  }
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const raw = new Map<string, Float32Array>();
  let off = HEADER_BYTES;
  for (const [name, n] of secs) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = dv.getFloat32(off + 4 * i, true);
    raw.set(name, a);
    off += 4 * n;
  }
  for (const [name, a] of raw) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Llama2cError(`array ${name} holds a non-finite value at index ${i} (corrupt file?)`);
  }

  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const w: WeightMap = new Map();
  const put = (n: string, shape: number[], data: Float32Array) => w.set(n, { shape, data });
  const at = (name: string, l: number, size: number) => raw.get(name)!.subarray(l * size, (l + 1) * size);
  // [heads·Dh (out), D (in)] → [heads, D, Dh]
  const headsIn = (src: Float32Array, Hx: number) => {
    const out = new Float32Array(Hx * D * Dh);
    for (let hh = 0; hh < Hx; hh++) for (let e = 0; e < Dh; e++) for (let d = 0; d < D; d++) out[(hh * D + d) * Dh + e] = src[(hh * Dh + e) * D + d];
    return out;
  };
  // [rows (out), cols (in)] → [cols, rows]
  const transpose = (src: Float32Array, rows: number, cols: number) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
    return out;
  };
  put("embed.W_E", [V, D], raw.get("token_embedding")!);
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    put(`${b}.ln1.w`, [D], at("rms_att", l, D));
    put(`${b}.attn.W_Q`, [H, D, Dh], headsIn(at("wq", l, D * D), H));
    put(`${b}.attn.W_K`, [Hk, D, Dh], headsIn(at("wk", l, Hk * Dh * D), Hk));
    put(`${b}.attn.W_V`, [Hk, D, Dh], headsIn(at("wv", l, Hk * Dh * D), Hk));
    // wo [D (out), H·Dh (in)] → [H·Dh, D] = W_O [H, Dh, D]
    put(`${b}.attn.W_O`, [H, Dh, D], transpose(at("wo", l, D * D), D, H * Dh));
    put(`${b}.ln2.w`, [D], at("rms_ffn", l, D));
    put(`${b}.mlp.W_gate`, [D, M], transpose(at("w1", l, M * D), M, D));
    put(`${b}.mlp.W_in`, [D, M], transpose(at("w3", l, M * D), M, D));
    put(`${b}.mlp.W_out`, [M, D], transpose(at("w2", l, D * M), D, M));
  }
  put("ln_final.w", [D], raw.get("rms_final")!);
  put("unembed.W_U", [D, V], transpose(raw.get(h.sharedClassifier ? "token_embedding" : "wcls")!, V, D));
  return { cfg, weights: checkWeights(w, cfg), header: h };
}

/** Load a llama2.c checkpoint into a ready Transformer. */
export async function loadLlama2c(file: Uint8Array, engine?: Engine): Promise<Transformer> {
  const { cfg, weights } = convertLlama2c(file);
  return Transformer.create(cfg, weights, engine);
}
