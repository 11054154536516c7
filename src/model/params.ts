// The parameter table: every tensor a config's model has, by canonical
// (TransformerLens) name, with its shape, how it is laid out in wasm memory
// and whether training decays it. It drives loading (which tensors a file
// must provide), the one upload of all weights (one allocation, sub-views by
// offset, as llm.c's ParameterTensors) and the trainer's parameter list.
// Storage is f32, except that a loader may keep a matrix read from a bf16 or
// f16 file in its 16 bits (withStorage): the kernels widen it on the fly, so
// a 16-bit checkpoint takes about half the memory of its f32 twin. An f32
// matrix that the SGEMM reads as its B operand is stored packed instead
// (withPacking): in the panels assembly/matmul.ts packB makes, filled once
// at load, so no call packs a weight again and no row-major copy is kept.
// Legend: L layers, D d_model, H heads, Hk kv heads, Dh d_head, M d_mlp, V vocab, C n_ctx.
import type { ModelConfig } from "./config.js";
import type { Engine } from "../wasm/engine.js";
import { LETTERS, weight, type Letter } from "../names.js";
import { WeightError } from "../errors.js";

/**
 * "plain": stored in canonical row-major order. "heads": canonical
 * [Hx, D, Dh] (W_Q/K/V) stored as [D, Hx·Dh], so one GEMM projects every
 * head and head h is the column block h·Dh…(h+1)·Dh.
 */
export type Layout = "plain" | "heads";

export interface ParamSpec {
  name: string;
  /** Canonical TransformerLens shape. */
  shape: number[];
  layout: Layout;
  /** Floats. */
  size: number;
  /** May be missing from a file (biases): then zero. */
  optional: boolean;
  /** Weight decay applies (matrices and embeddings, not biases or norms, as nanoGPT). */
  decay: boolean;
  /** Element format in memory; absent: f32. */
  dtype?: StorageDType;
  /** Stored as no memory of its own: it is this other [D, V]-transposed parameter (a tied unembedding read from W_E). */
  tiedTo?: string;
  /** Stored packed for the SGEMM (f32 only); absent: row-major in its layout. */
  pack?: Packing;
}

/**
 * A matrix stored as packB's panels rather than row-major: its storage
 * matrix [K, N] (the plain layout, or "heads" [D, Hx·Dh]) packed in column
 * groups of G (one head's Dh columns for W_Q/K/V, so each head is a packed
 * matrix of its own, whole panels even when Dh is not a multiple of 8; else
 * G = N), each group [⌈G/8⌉][K][8] with zeros past its columns. transposed:
 * the parameter is the [N, K] transpose (a tied W_E [V, D] stored as the
 * packed W_U [D, V] both read).
 */
export interface Packing { K: number; N: number; G: number; transposed?: boolean }

/** Floats a packed matrix occupies. */
export function packedFloats(p: Packing): number {
  return (p.N / p.G) * Math.ceil(p.G / 8) * 8 * p.K;
}

/** Float offset in the packed storage of the element at row-major storage index s (of [K, N], or [N, K] when transposed). */
export function packedIndex(p: Packing): (s: number) => number {
  const { K, N, G } = p, group = Math.ceil(G / 8) * 8 * K;
  return (s) => {
    let k, n;
    if (p.transposed) { n = Math.floor(s / K); k = s - n * K; } else { k = Math.floor(s / N); n = s - k * N; }
    const g = Math.floor(n / G), j = n - g * G;
    return g * group + (j >> 3) * 8 * K + k * 8 + (j & 7);
  };
}

/**
 * The table with every f32 SGEMM weight packed (Packing): W_Q/K/V per head,
 * W_O, W_in, W_gate, W_out and W_U; a tied W_U through W_E (then W_E itself
 * is stored as the packed W_U and the embedding lookup reads it there).
 * 16-bit matrices stay as they are (the SGEMM widens them while packing).
 */
export function withPacking(specs: ParamSpec[]): ParamSpec[] {
  const f32 = (s: ParamSpec) => !s.dtype || s.dtype === "f32";
  const tied = specs.find((s) => s.name === weight.unembed())?.tiedTo;
  return specs.map((s) => {
    if (!f32(s)) return s;
    const [a, b, c] = s.shape;
    if (s.name === tied) return { ...s, pack: { K: b, N: a, G: a, transposed: true } }; // W_E [V, D] = W_Uᵀ
    if (!s.decay || s.tiedTo || s.name === weight.embed() || s.name === weight.posEmbed()) return s;
    if (s.layout === "heads") return { ...s, pack: { K: b, N: a * c, G: c } }; // [Hx, D, Dh] stored [D, Hx·Dh]
    if (s.shape.length === 3) return { ...s, pack: { K: a * b, N: c, G: c } }; // W_O [H, Dh, D] = [H·Dh, D]
    return { ...s, pack: { K: a, N: b, G: b } };
  });
}

/** How a parameter's elements are stored: f32, or the 16 bits of a bf16/f16 file (little-endian u16). */
export type StorageDType = "f32" | "bf16" | "f16";

/** Bytes per element of a storage dtype. */
export const STORAGE_BYTES: Record<StorageDType, number> = { f32: 4, bf16: 2, f16: 2 };

/**
 * Whether a parameter may stay 16-bit: the matrices only the SGEMM's B
 * operand and the embedding lookup read (they widen on the fly). Biases,
 * norms and W_pos (added as f32) are widened at load.
 */
export function mayStore16(spec: ParamSpec): boolean {
  return spec.decay && spec.name !== weight.posEmbed();
}

/**
 * The table with W_U tied to W_E: no storage of its own, the unembedding
 * reads the embedding [V, D] transposed (the same values the transposed copy
 * would hold, packed into the same SGEMM panels: the same bits, V·D fewer
 * elements in memory).
 */
export function withTiedUnembed(specs: ParamSpec[]): ParamSpec[] {
  return specs.map((s) => (s.name === weight.unembed() ? { ...s, tiedTo: weight.embed() } : s));
}

/** The table with the given parameters stored in 16 bits (names → "bf16" | "f16"); others f32. */
export function withStorage(specs: ParamSpec[], sixteen: Map<string, "bf16" | "f16">): ParamSpec[] {
  return specs.map((s) => {
    const d = sixteen.get(s.name);
    if (d && !mayStore16(s)) throw new Error(`withStorage: ${s.name} must be f32`);
    return d ? { ...s, dtype: d } : s;
  });
}

/** Every parameter of a config's model, in the canonical order files, initialisation and training use. */
export function paramTable(cfg: ModelConfig): ParamSpec[] {
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V, nCtx: C } = cfg;
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[], o: { layout?: Layout; optional?: boolean } = {}) => {
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    out.push({ name, shape, layout: o.layout ?? "plain", size: shape.reduce((a, b) => a * b, 1), optional: o.optional ?? false, decay: leaf.startsWith("W_") });
  };
  // Folded norms (LNPre, RMSPre) have no weights: the scale and shift were folded into the next matrices.
  const norm = (w: string, b: string) => {
    if (cfg.normalization !== "LN" && cfg.normalization !== "RMS") return;
    add(w, [D]);
    if (cfg.normalization === "LN") add(b, [D]);
  };
  add(weight.embed(), [V, D]);
  if (cfg.positional === "learned" || cfg.positional === "shortformer") add(weight.posEmbed(), [C, D]);
  for (let l = 0; l < L; l++) {
    norm(weight.norm(l, "ln1", "w"), weight.norm(l, "ln1", "b"));
    for (const x of LETTERS) add(weight.attnW(l, x), [x === "q" ? H : Hk, D, Dh], { layout: "heads" });
    for (const x of LETTERS) add(weight.attnB(l, x), [x === "q" ? H : Hk, Dh], { optional: true });
    add(weight.WO(l), [H, Dh, D]);
    add(weight.bO(l), [D], { optional: true });
    if (!cfg.attnOnly) {
      norm(weight.norm(l, "ln2", "w"), weight.norm(l, "ln2", "b"));
      add(weight.Win(l), [D, M]);
      add(weight.bin(l), [M], { optional: true });
      if (cfg.actFn === "swiglu") add(weight.Wgate(l), [D, M]);
      if (cfg.gateBias) add(weight.bgate(l), [M], { optional: true });
      add(weight.Wout(l), [M, D]);
      add(weight.bout(l), [D], { optional: true });
    }
  }
  norm(weight.lnFinal("w"), weight.lnFinal("b"));
  add(weight.unembed(), [D, V]);
  add(weight.unembedBias(), [V], { optional: true });
  return out;
}

/** Offsets of one layer's parameters (0 where the model has none). */
export interface LayerParams {
  ln1w: number; ln1b: number;
  W: Record<Letter, number>; b: Record<Letter, number>;
  WO: number; bO: number;
  ln2w: number; ln2b: number;
  Win: number; bin: number; Wgate: number; bgate: number; Wout: number; bout: number;
}

/** Floats of a parameter's f32 storage: its elements, or its packed panels. */
export const storageFloats = (s: ParamSpec): number => (s.pack ? packedFloats(s.pack) : s.size);

/** Bytes a parameter occupies in the block: its elements (or packed panels), a 16-bit one rounded up to 16 bytes (so what follows stays aligned); none when tied. */
const storageBytes = (s: ParamSpec) => (s.tiedTo ? 0 : s.dtype && s.dtype !== "f32" ? Math.ceil((s.size * 2) / 16) * 16 : storageFloats(s) * 4);

/** All parameters in one wasm allocation, laid out in table order. */
export class Params {
  readonly specs: ParamSpec[];
  /** Byte offset of the whole block and its size in floats (bytes / 4: with 16-bit parameters, fewer than the parameters). */
  readonly base: number;
  readonly floats: number;
  private readonly at = new Map<string, number>();
  /** Formats of the 16-bit parameters by offset (absent: f32). */
  private readonly formats = new Map<number, "bf16" | "f16">();
  /** Packings of the packed parameters by offset (absent: row-major). */
  private readonly packs = new Map<number, Packing>();

  constructor(engine: Engine, specs: ParamSpec[]) {
    this.specs = specs;
    const bytes = specs.reduce((a, s) => a + storageBytes(s), 0);
    const n = specs.reduce((a, s) => a + (s.tiedTo ? 0 : s.size), 0), half = specs.some((s) => s.dtype && s.dtype !== "f32");
    engine.ensure(bytes, `the model's ${n.toLocaleString("en-US")} parameters (${half ? "matrices in 16 bits" : "as f32"})`, "the model is too large for WebAssembly (check n_layers, d_model, d_vocab in its config)");
    this.floats = bytes / 4;
    this.base = engine.alloc(bytes);
    let off = this.base;
    for (const s of specs) {
      if (s.tiedTo) {
        if (!this.at.has(s.tiedTo)) throw new Error(`Params: ${s.name} is tied to ${s.tiedTo}, which must come first`);
        this.at.set(s.name, this.at.get(s.tiedTo)!);
        continue;
      }
      this.at.set(s.name, off);
      if (s.dtype === "bf16" || s.dtype === "f16") this.formats.set(off, s.dtype);
      if (s.pack) this.packs.set(off, s.pack);
      off += storageBytes(s);
    }
  }

  /** Byte offset of a parameter's storage, or 0 when the model has no such parameter. */
  ptr(name: string): number { return this.at.get(name) ?? 0; }

  /** Element format of the parameter stored at `ptr` (an offset ptr() gave): f32 unless it was kept 16-bit. */
  format(ptr: number): StorageDType { return this.formats.get(ptr) ?? "f32"; }

  /** How the parameter stored at `ptr` is packed, or undefined when it is row-major. */
  packing(ptr: number): Packing | undefined { return this.packs.get(ptr); }

  has(name: string): boolean { return this.at.has(name); }

  /** Offsets of layer l's parameters. */
  layer(l: number): LayerParams {
    const p = (n: string) => this.ptr(n);
    return {
      ln1w: p(weight.norm(l, "ln1", "w")), ln1b: p(weight.norm(l, "ln1", "b")),
      W: { q: p(weight.attnW(l, "q")), k: p(weight.attnW(l, "k")), v: p(weight.attnW(l, "v")) },
      b: { q: p(weight.attnB(l, "q")), k: p(weight.attnB(l, "k")), v: p(weight.attnB(l, "v")) },
      WO: p(weight.WO(l)), bO: p(weight.bO(l)),
      ln2w: p(weight.norm(l, "ln2", "w")), ln2b: p(weight.norm(l, "ln2", "b")),
      Win: p(weight.Win(l)), bin: p(weight.bin(l)), Wgate: p(weight.Wgate(l)), bgate: p(weight.bgate(l)), Wout: p(weight.Wout(l)), bout: p(weight.bout(l)),
    };
  }
}

/** Strides (in floats) with which canonical index (i0, i1, …) lands in a parameter's storage. */
export function storageStrides(spec: ParamSpec): number[] {
  const s = spec.shape;
  if (spec.layout === "heads") {
    // canonical [Hx, D, Dh] → storage [D, Hx·Dh]: (h, d, j) at d·Hx·Dh + h·Dh + j
    const [Hx, , Dh] = s;
    return [Dh, Hx * Dh, 1];
  }
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) { st[i] = acc; acc *= s[i]; }
  return st;
}

/** Canonical-order copy of a parameter's storage (undoing the "heads" layout and any packing). */
export function readCanonical(spec: ParamSpec, storage: Float32Array): Float32Array {
  if (spec.pack) {
    const pk = packedIndex(spec.pack), st = new Float32Array(spec.size);
    for (let i = 0; i < st.length; i++) st[i] = storage[pk(i)];
    return readCanonical({ ...spec, pack: undefined }, st);
  }
  if (spec.layout === "plain") return storage.slice();
  const [Hx, D, Dh] = spec.shape;
  const out = new Float32Array(spec.size);
  for (let h = 0; h < Hx; h++) for (let d = 0; d < D; d++) for (let j = 0; j < Dh; j++) out[(h * D + d) * Dh + j] = storage[d * Hx * Dh + h * Dh + j];
  return out;
}

/** Refuse a tensor whose shape is not the table's. */
export function checkShape(spec: ParamSpec, shape: number[], from: string): void {
  if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
    throw new WeightError(`tensor "${from}" has shape [${shape}], expected [${spec.shape}] for ${spec.name}`);
  }
}
