// A transformer whose parameters live in one block of the engine's linear
// memory, and its arithmetic: each component (norm, q/k/v projection,
// attention, output projection, MLP, unembedding, embedding) as a forward
// and a backward method side by side, on offsets. The passes that string
// them together are forward.ts / backward.ts (the residual stream: logits
// and training) and patch/pass.ts (each receiver's input mixed from its
// senders: patching, attribution, mask learning); nothing else computes.
// Weights the SGEMM reads (params.ts withPacking) are usually stored packed:
// forward products read them with gemmPacked, the backward ones (dx = dy·Wᵀ)
// with gemmPackedT, which packs their 8×8 blocks transposed per call, as
// gemm(transB) packs a row-major W: no transposed copy is kept, and both
// give the bits of gemm on the row-major matrix. 16-bit weights, and the
// models a Trainer updates, stay row-major and take gemm.
// Legend: B batch, T positions, N rows (B·T or fewer), D d_model, H heads,
// Hk kv heads, Hx heads of one letter (H for q, Hk for k/v), Dh d_head,
// M d_mlp, V vocab, L layers.
import type { ModelConfig } from "./config.js";
import type { Engine, WeightFormat } from "../wasm/engine.js";
import { createEngine, FORMAT_CODE, PACKED_T } from "../wasm/engine.js";
import { InputError } from "../errors.js";
import { hook as hookOf, LETTERS, weight, type Letter } from "../names.js";
import { Params, paramTable, withPacking, type LayerParams, type Packing, type ParamSpec } from "./params.js";
import { canonicalPlans, type SourceTensors } from "./formats/convert.js";
import { fillParams } from "./formats/plan.js";
import { forward, type ForwardOptions, type ForwardResult } from "./forward.js";

/** Canonical weights in memory: name → shape and values (canonical order). */
export interface Tensor { shape: number[]; data: Float32Array }
export type WeightMap = Map<string, Tensor>;

/** Offsets of an MLP's intermediates: normalized input [N,D] with its mean/rstd [N] (0: not kept), pre [N,M], post [N,M], SwiGLU gate [N,M]. */
export interface MlpBuffers { ln: number; mean: number; rstd: number; pre: number; post: number; gate: number }

/** Offsets of one layer's parameter gradients (the same layout as LayerParams); 0 where none. */
export type LayerGrads = LayerParams;

/** Token ids [B][T] checked against the model; returns the flat Int32Array. */
export function checkTokens(cfg: ModelConfig, tokens: ArrayLike<ArrayLike<number>>, what = "tokens"): { ids: Int32Array; B: number; T: number } {
  if (!tokens || typeof tokens.length !== "number") throw new InputError(`${what}: expected a list of token-id lists`);
  const B = tokens.length;
  if (B === 0) throw new InputError(`${what}: empty batch`);
  const T = tokens[0]?.length;
  if (typeof T !== "number") throw new InputError(`${what}: row 0 is not a list of token ids`);
  if (T === 0) throw new InputError(`${what}: empty sequence`);
  if (T > cfg.nCtx) throw new InputError(`${what}: sequence of ${T} tokens is longer than the model's context n_ctx = ${cfg.nCtx}`);
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const row = tokens[b];
    if (!row || row.length !== T) throw new InputError(`${what}: row ${b} has ${row?.length ?? 0} tokens, row 0 has ${T} (rows must be equal length)`);
    for (let t = 0; t < T; t++) {
      const x = row[t];
      if (!Number.isInteger(x) || x < 0 || x >= cfg.dVocab) throw new InputError(`${what}: token ${JSON.stringify(x)} at [${b}][${t}] is outside the vocabulary [0, ${cfg.dVocab})`);
      ids[b * T + t] = x;
    }
  }
  return { ids, B, T };
}

export class Transformer {
  readonly cfg: ModelConfig;
  readonly engine: Engine;
  readonly params: Params;
  /** Per-layer parameter offsets (views into `params`). */
  readonly layers: LayerParams[];
  readonly WE: number;
  readonly Wpos: number;
  readonly lnfw: number;
  readonly lnfb: number;
  readonly WU: number;
  readonly bU: number;
  /** Rotary tables [nCtx, rotaryDims/2] (0 without rotary). */
  private readonly rope = { cos: 0, sin: 0 };
  /** [2·D] sink for norm weight gradients nobody reads (attribution passes). */
  private readonly junk: number;
  /** Unit weight and zero bias [D] standing in for a folded norm's (LNPre, RMSPre). */
  private readonly unitW: number;
  private readonly zeroB: number;

  /** A model over parameters already filled (see loadModel, Transformer.create). */
  constructor(cfg: ModelConfig, engine: Engine, params: Params) {
    this.cfg = cfg;
    this.engine = engine;
    this.params = params;
    const p = (n: string) => params.ptr(n);
    this.layers = Array.from({ length: cfg.nLayers }, (_, l) => params.layer(l));
    this.WE = p(weight.embed());
    this.Wpos = p(weight.posEmbed());
    this.lnfw = p(weight.lnFinal("w"));
    this.lnfb = p(weight.lnFinal("b"));
    this.WU = p(weight.unembed());
    this.bU = p(weight.unembedBias());
    // Uploaded once, here: built lazily inside a pass, a table was freed by
    // that pass's arena reset() yet stayed cached, and later allocations overwrote it.
    if (cfg.positional === "rotary") this.rope = this.ropeTables(cfg.nCtx);
    this.junk = engine.allocF32(2 * cfg.dModel);
    this.unitW = cfg.normalization.endsWith("Pre") ? engine.upload(new Float32Array(cfg.dModel).fill(1)) : 0;
    this.zeroB = cfg.normalization.endsWith("Pre") ? engine.upload(new Float32Array(cfg.dModel)) : 0;
  }

  /**
   * A model from canonical weights in memory (checked against the parameter
   * table; missing optional biases are zero). pack (default true): store the
   * SGEMM weights packed (false: row-major, for a Trainer, which updates them in place).
   */
  static async create(cfg: ModelConfig, weights: WeightMap, engine?: Engine, opts: { pack?: boolean } = {}): Promise<Transformer> {
    const e = engine ?? (await createEngine());
    const specs = opts.pack === false ? paramTable(cfg) : withPacking(paramTable(cfg));
    const params = new Params(e, specs);
    const src: SourceTensors = new Map([...weights].map(([n, t]) => [n, { shape: t.shape, src: { array: t.data } }]));
    await fillParams(e, params, canonicalPlans(specs, src, cfg).plans, null);
    return new Transformer(cfg, e, params);
  }

  /** The parameter table entry of a canonical name. */
  spec(name: string): ParamSpec | undefined { return this.params.specs.find((s) => s.name === name); }

  // ---- normalization -----------------------------------------------------------

  /** out[N,D] = norm(x[N,D]) with the given weights (a copy when the model has no norm); saves mean/rstd [N] when given (for backward). */
  normalize(out: number, x: number, N: number, w: number, b: number, mean = 0, rstd = 0): void {
    const { k } = this.engine;
    const { dModel: D, eps, normalization: norm } = this.cfg;
    if (norm === "LN" || norm === "LNPre") k.layernorm(out, mean, rstd, x, w || this.unitW, b || this.zeroB, N, D, eps);
    else if (norm === "RMS" || norm === "RMSPre") k.rmsnorm(out, rstd, x, w || this.unitW, N, D, eps);
    else if (out !== x) this.engine.f32(out, N * D).set(this.engine.f32(x, N * D));
  }

  /** dx[N,D] (written) from dout through normalize(x) with its saved mean/rstd; adds the weight/bias gradients into dw, db [D] (0: not wanted). */
  normalizeBackward(dx: number, dw: number, db: number, dout: number, x: number, N: number, w: number, mean: number, rstd: number): void {
    const { k } = this.engine;
    const D = this.cfg.dModel;
    const norm = this.cfg.normalization, ln = norm === "LN" || norm === "LNPre", rms = norm === "RMS" || norm === "RMSPre";
    // No parameter gradient wanted (graph passes): the dx-only kernels, which the pool splits by rows (same dx bits).
    if (dw === 0 && db === 0 && (ln || rms)) {
      if (ln) k.layernormDx(dx, dout, x, mean, rstd, w || this.unitW, N, D);
      else k.rmsnormDx(dx, dout, x, rstd, w || this.unitW, N, D);
      return;
    }
    if (dw === 0) dw = this.junk;
    if (db === 0) db = this.junk + D * 4;
    if (ln) k.layernormBackward(dx, dw, db, dout, x, mean, rstd, w || this.unitW, N, D);
    else if (rms) k.rmsnormBackward(dx, dw, dout, x, rstd, w || this.unitW, N, D);
    else if (dx !== dout) this.engine.f32(dx, N * D).set(this.engine.f32(dout, N * D));
  }

  // ---- weights in memory -----------------------------------------------------------

  /** Format of the matrix stored at `w` (f32, or bf16/f16 kept from a 16-bit file: the kernels widen it). */
  private fmt(w: number): WeightFormat { return this.params.format(w); }

  /** Byte offset of element `i` of the matrix stored at `w`, whatever its format. */
  private at(w: number, i: number): number { return w + i * (this.params.format(w) === "f32" ? 4 : 2); }

  /** How the matrix at `w` is packed, or undefined when row-major. */
  private pk(w: number): Packing | undefined { return this.params.packing(w); }

  /** Bytes of one head's packed block of W_Q/K/V (whole 8-column panels over D rows). */
  private get headBlock(): number { return Math.ceil(this.cfg.dHead / 8) * 8 * this.cfg.dModel * 4; }

  // ---- q/k/v projections --------------------------------------------------------

  /** Heads (of one letter) [h0,h1): out[N, (h1−h0)·Dh] (row stride ldo) = x[N,D]·W[h] + b[h]. */
  project(l: number, letter: Letter, x: number, N: number, h0: number, h1: number, out: number, ldo: number): void {
    const Lp = this.layers[l];
    const { dModel: D, dHead: Dh } = this.cfg;
    const Hx = letter === "q" ? this.cfg.nHeads : this.cfg.nKvHeads;
    const W = Lp.W[letter], e = this.engine;
    if (!this.pk(W)) {
      e.gemm(N, (h1 - h0) * Dh, D, x, D, this.at(W, h0 * Dh), Hx * Dh, out, ldo, { bias: Lp.b[letter] + h0 * Dh * 4, format: this.fmt(W) });
    } else if (Dh % 8 === 0) {
      // Whole panels per head: heads h0..h1 are one packed [D, (h1−h0)·Dh] matrix.
      e.gemmPacked(N, (h1 - h0) * Dh, D, x, D, W + h0 * this.headBlock, out, ldo, { bias: Lp.b[letter] + h0 * Dh * 4 });
    } else {
      for (let h = h0; h < h1; h++) e.gemmPacked(N, Dh, D, x, D, W + h * this.headBlock, out + (h - h0) * Dh * 4, ldo, { bias: Lp.b[letter] + h * Dh * 4 });
    }
  }

  /** dx[N,D] (= or +=) dout[N, (h1−h0)·Dh] (row stride ldd) · W[h0..h1)ᵀ: the input gradient of project(). */
  projectBackward(l: number, letter: Letter, dout: number, ldd: number, N: number, h0: number, h1: number, dx: number, accumulate: boolean): void {
    const { dModel: D, dHead: Dh } = this.cfg;
    const Hx = letter === "q" ? this.cfg.nHeads : this.cfg.nKvHeads;
    const W = this.layers[l].W[letter], e = this.engine;
    if (!this.pk(W)) {
      e.gemm(N, D, (h1 - h0) * Dh, dout, ldd, this.at(W, h0 * Dh), Hx * Dh, dx, D, { transB: true, accumulate, format: this.fmt(W) });
    } else if (Dh % 8 === 0) {
      e.gemmPackedT(N, D, (h1 - h0) * Dh, dout, ldd, W + h0 * this.headBlock, D, dx, D, { accumulate });
    } else {
      // Head by head, each continuing the sum the last one left in dx: one call's order of k.
      for (let h = h0; h < h1; h++) e.gemmPackedT(N, D, Dh, dout + (h - h0) * Dh * 4, ldd, W + h * this.headBlock, D, dx, D, { accumulate: accumulate || h > h0 });
    }
  }

  /** Every head's weight and bias gradients of one letter: dW[D, Hx·Dh] += xᵀ·dout, db += Σ rows (training). */
  projectGrads(letter: Letter, x: number, dout: number, N: number, dW: number, db: number): void {
    const { dModel: D, dHead: Dh } = this.cfg;
    const cols = (letter === "q" ? this.cfg.nHeads : this.cfg.nKvHeads) * Dh;
    this.engine.gemm(D, cols, N, x, D, dout, cols, dW, cols, { transA: true, accumulate: true });
    this.engine.k.biasGrad(db, dout, N, cols);
  }

  /** The kv head a query head reads (grouped-query attention). */
  kvHead(h: number): number { return Math.floor((h * this.cfg.nKvHeads) / this.cfg.nHeads); }

  // ---- attention ----------------------------------------------------------------

  /** Rotated dims per head (rotary models). */
  private get nRot(): number { return this.cfg.rotaryDims ?? this.cfg.dHead; }

  /**
   * cos/sin tables [T, nRot/2] for rotary embeddings; row t is position t, so
   * the nCtx table serves every T ≤ nCtx. Frequency i is θ^(−2i/nRot), then
   * scaled (Hugging Face modeling_rope_utils): "linear" divides it by factor;
   * "llama3" keeps wavelengths below originalMaxPositions/highFreqFactor,
   * divides those above originalMaxPositions/lowFreqFactor by factor, and
   * blends in between with s = (orig/wavelength − low)/(high − low).
   */
  private ropeTables(T: number): { cos: number; sin: number } {
    const n = this.nRot, half = n / 2, sc = this.cfg.ropeScaling;
    const inv = Float64Array.from({ length: half }, (_, i) => {
      const f = Math.pow(this.cfg.ropeTheta, -(2 * i) / n);
      if (!sc) return f;
      if (sc.type === "linear") return f / sc.factor;
      const wl = (2 * Math.PI) / f, orig = sc.originalMaxPositions;
      if (wl < orig / sc.highFreqFactor) return f;
      if (wl > orig / sc.lowFreqFactor) return f / sc.factor;
      const s = (orig / wl - sc.lowFreqFactor) / (sc.highFreqFactor - sc.lowFreqFactor);
      return ((1 - s) * f) / sc.factor + s * f;
    });
    const c = new Float32Array(T * half), s = new Float32Array(T * half);
    for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
      const ang = t * inv[i];
      c[t * half + i] = Math.cos(ang);
      s[t * half + i] = Math.sin(ang);
    }
    return { cos: this.engine.upload(c), sin: this.engine.upload(s) };
  }

  /** Rotate heads [h0,h1) of x [B,T,Hx,Dh] in place by position, in the model's rotary style; `sin` negated undoes it. */
  private rotate(x: number, sin: number, B: number, T: number, Hx: number, h0: number, h1: number): void {
    const { k } = this.engine, Dh = this.cfg.dHead;
    if (this.cfg.rotaryStyle === "half") k.ropeHalf(x, this.rope.cos, sin, B, T, Hx, Dh, this.nRot, h0, h1);
    else k.rope(x, this.rope.cos, sin, B, T, Hx, Dh, h0, h1);
  }

  /** Keys a query of layer l sees, itself included (0: every earlier one). */
  window(l: number): number { return this.cfg.attnWindow?.[l] ?? 0; }

  /**
   * Layer l, heads [h0,h1): z[N,H·Dh], pattern[B,H,T,T] from q[N,H·Dh], k,v[N,Hk·Dh]
   * (pass Hk = H when each query head has its own k/v, as in the graph).
   * Rotary models rotate q and k into `scratch` (N·(H+Hk)·Dh floats) first
   * so cached q/k stay unrotated, as TransformerLens's hook_q/hook_k are.
   */
  attend(l: number, z: number, pattern: number, q: number, k: number, v: number, B: number, T: number, H: number, Hk: number, h0: number, h1: number, scratch = 0): void {
    const Dh = this.cfg.dHead;
    const e = this.engine;
    if (this.cfg.positional === "rotary") {
      const N = B * T;
      const qr = scratch, kr = scratch + N * H * Dh * 4;
      e.f32(qr, N * H * Dh).set(e.f32(q, N * H * Dh));
      e.f32(kr, N * Hk * Dh).set(e.f32(k, N * Hk * Dh));
      this.rotate(qr, this.rope.sin, B, T, H, h0, h1);
      this.rotate(kr, this.rope.sin, B, T, Hk, 0, Hk);
      q = qr; k = kr;
    }
    e.k.attention(z, pattern, q, k, v, B, T, H, Hk, Dh, 1 / Math.sqrt(Dh), h0, h1, this.cfg.causal ? 1 : 0, this.window(l));
  }

  /** Floats of the scratch attendBackward needs (0 without rotary). */
  attendBackwardScratchFloats(B: number, T: number, H: number, Hk: number): number {
    return this.cfg.positional === "rotary" ? B * T * (H + 2 * Hk) * this.cfg.dHead + (T * this.nRot) / 2 : 0;
  }

  /**
   * dq[N,H·Dh] (written), dk, dv[N,Hk·Dh] (+=; zero them first) from dz through
   * attend() of layer l with its saved pattern. Rotary models: the kernel runs
   * on q, k rotated again into `scratch` (attendBackwardScratchFloats), and
   * the gradients it gives with respect to the rotated q, k are rotated back
   * (a rotation's transpose is the rotation by minus the angle: the tables
   * with sin negated).
   */
  attendBackward(l: number, dq: number, dk: number, dv: number, dpattern: number, dz: number, q: number, k: number, v: number, pattern: number,
    B: number, T: number, H: number, Hk: number, h0: number, h1: number, scratch = 0): void {
    const Dh = this.cfg.dHead, e = this.engine, scale = 1 / Math.sqrt(Dh), causal = this.cfg.causal ? 1 : 0;
    if (this.cfg.positional !== "rotary") {
      e.k.attentionBackward(dq, dk, dv, dpattern, dz, q, k, v, pattern, B, T, H, Hk, Dh, scale, h0, h1, causal);
      return;
    }
    if (!scratch) throw new Error("attendBackward: rotary models need scratch (attendBackwardScratchFloats)");
    const N = B * T, QD = N * H * Dh, KD = N * Hk * Dh;
    const qr = scratch, kr = qr + QD * 4, dkr = kr + KD * 4, nsin = dkr + KD * 4, tab = (T * this.nRot) / 2;
    e.f32(qr, QD).set(e.f32(q, QD));
    e.f32(kr, KD).set(e.f32(k, KD));
    this.rotate(qr, this.rope.sin, B, T, H, h0, h1);
    this.rotate(kr, this.rope.sin, B, T, Hk, 0, Hk);
    e.k.fill(dkr, 0, KD);
    e.k.attentionBackward(dq, dkr, dv, dpattern, dz, qr, kr, v, pattern, B, T, H, Hk, Dh, scale, h0, h1, causal);
    e.k.fill(nsin, 0, tab);
    e.k.sub(nsin, nsin, this.rope.sin, tab);
    this.rotate(dq, nsin, B, T, H, h0, h1);
    this.rotate(dkr, nsin, B, T, Hk, 0, Hk);
    e.k.add(dk, dk, dkr, KD);
  }

  // ---- output projection ---------------------------------------------------------

  /** out[N,D] = z[N,H·Dh]·W_O + b_O: every head's result summed, in one GEMM. */
  attnOutput(l: number, z: number, N: number, out: number): void {
    const { nHeads: H, dHead: Dh, dModel: D } = this.cfg;
    const WO = this.layers[l].WO;
    if (this.pk(WO)) this.engine.gemmPacked(N, D, H * Dh, z, H * Dh, WO, out, D, { bias: this.layers[l].bO });
    else this.engine.gemm(N, D, H * Dh, z, H * Dh, WO, D, out, D, { bias: this.layers[l].bO, format: this.fmt(WO) });
  }

  /** Head h's result out[N,D] (row stride ldo) = z_h[N,Dh] (row stride ldz)·W_O[h] (no b_O). */
  headResult(l: number, h: number, z: number, ldz: number, N: number, out: number, ldo: number): void {
    const { dHead: Dh, dModel: D } = this.cfg;
    const WO = this.layers[l].WO;
    // Packed W_O [H·Dh, D]: head h's rows start 8·h·Dh floats into every panel.
    if (this.pk(WO)) this.engine.gemmPacked(N, D, Dh, z, ldz, WO + h * Dh * 32, out, ldo, { rows: this.cfg.nHeads * Dh });
    else this.engine.gemm(N, D, Dh, z, ldz, this.at(WO, h * Dh * D), D, out, ldo, { format: this.fmt(WO) });
  }

  /** dz[N, (h1−h0)·Dh] (row stride ldz) = dout[N,D]·W_O[h0..h1)ᵀ: the z gradient of headResult/attnOutput. */
  headResultBackward(l: number, dout: number, N: number, h0: number, h1: number, dz: number, ldz: number): void {
    const { dHead: Dh, dModel: D } = this.cfg;
    const WO = this.layers[l].WO;
    if (this.pk(WO)) this.engine.gemmPackedT(N, (h1 - h0) * Dh, D, dout, D, WO + h0 * Dh * 32, this.cfg.nHeads * Dh, dz, ldz);
    else this.engine.gemm(N, (h1 - h0) * Dh, D, dout, D, this.at(WO, h0 * Dh * D), D, dz, ldz, { transB: true, format: this.fmt(WO) });
  }

  // ---- MLP ------------------------------------------------------------------------

  /** Floats of the intermediates one mlp() call over N rows writes (MlpBuffers laid out contiguously, stats excluded). */
  mlpScratchFloats(N: number): number { return N * this.cfg.dModel + 3 * N * this.cfg.dMlp; }

  /** MlpBuffers in one scratch block of mlpScratchFloats(N) (no saved stats). */
  mlpScratch(scratch: number, N: number, inPlace = false): MlpBuffers {
    const { dModel: D, dMlp: M } = this.cfg;
    const pre = scratch + N * D * 4, post = pre + N * M * 4;
    // inPlace (no backward reads pre): the activation overwrites pre (each kernel is elementwise), N·M floats fewer touched.
    return { ln: scratch, mean: 0, rstd: 0, pre, post: inPlace ? pre : post, gate: post + N * M * 4 };
  }

  /** out[N,D] = act(norm2(x[N,D])·W_in + b_in)·W_out + b_out, keeping the intermediates in `s`. */
  mlp(l: number, x: number, N: number, out: number, s: MlpBuffers): void {
    this.mlpIn(l, x, N, s);
    this.mlpOut(l, N, out, s);
  }

  /** The MLP's first half: s.pre [N,M] = norm2(x[N,D])·W_in + b_in (and s.gate for SwiGLU), the stats in s.mean/s.rstd. What backward reads. */
  mlpIn(l: number, x: number, N: number, s: MlpBuffers): void {
    const Lp = this.layers[l];
    const { dModel: D, dMlp: M } = this.cfg;
    this.normalize(s.ln, x, N, Lp.ln2w, Lp.ln2b, s.mean, s.rstd);
    this.matmul(N, M, D, s.ln, Lp.Win, s.pre, Lp.bin);
    // llama: silu(x·W_gate + b_gate) · (x·W_in + b_in)
    if (this.cfg.actFn === "swiglu") this.matmul(N, M, D, s.ln, Lp.Wgate, s.gate, Lp.bgate);
  }

  /** The MLP's second half after mlpIn: out[N,D] = act(s.pre)·W_out + b_out. */
  mlpOut(l: number, N: number, out: number, s: MlpBuffers): void {
    const Lp = this.layers[l];
    const { dModel: D, dMlp: M } = this.cfg;
    const e = this.engine;
    if (this.cfg.actFn === "swiglu") {
      e.k.swiglu(s.post, s.gate, s.pre, N * M);
    } else if (this.cfg.actFn === "relu") {
      e.k.relu(s.post, s.pre, N * M); // tracr's compiled MLPs
    } else if (this.cfg.actFn === "gelu") {
      e.k.geluErf(s.post, s.pre, N * M);
    } else {
      e.k.gelu(s.post, s.pre, N * M);
    }
    this.matmul(N, D, M, s.post, Lp.Wout, out, Lp.bout);
  }

  /** out[N,cols] = x[N,K]·W[K,cols] (+ bias[cols]) for a whole weight matrix W (packed or row-major). */
  private matmul(N: number, cols: number, K: number, x: number, W: number, out: number, bias: number): void {
    if (this.pk(W)) this.engine.gemmPacked(N, cols, K, x, K, W, out, cols, { bias });
    else this.engine.gemm(N, cols, K, x, K, W, cols, out, cols, { bias, format: this.fmt(W) });
  }

  /** dx[N,K] (= or +=) dy[N,cols]·Wᵀ for a whole weight matrix W [K, cols] (packed or row-major). */
  private matmulT(N: number, cols: number, K: number, dy: number, W: number, dx: number, accumulate = false): void {
    if (this.pk(W)) this.engine.gemmPackedT(N, K, cols, dy, cols, W, K, dx, K, { accumulate });
    else this.engine.gemm(N, K, cols, dy, cols, W, cols, dx, K, { transB: true, accumulate, format: this.fmt(W) });
  }

  /**
   * dx[N,D] (written) from dout[N,D] through mlp(x) with its buffers `s`
   * (stats included); weight gradients into `g` when given (training).
   * tmp: dpost, dpre, dgate [N,M] and dln [N,D].
   */
  mlpBackward(l: number, dout: number, x: number, N: number, s: MlpBuffers, dx: number, g: LayerGrads | null,
    tmp: { dpost: number; dpre: number; dgate: number; dln: number }): void {
    const Lp = this.layers[l];
    const { dModel: D, dMlp: M } = this.cfg;
    const e = this.engine;
    const { dpost, dpre, dgate, dln } = tmp;
    if (g) {
      e.gemm(M, D, N, s.post, M, dout, D, g.Wout, D, { transA: true, accumulate: true });
      e.k.biasGrad(g.bout, dout, N, D);
    }
    this.matmulT(N, D, M, dout, Lp.Wout, dpost);
    if (this.cfg.actFn === "swiglu") {
      e.k.swigluBackward(dgate, dpre, s.gate, s.pre, dpost, N * M);
      if (g) e.gemm(D, M, N, s.ln, D, dgate, M, g.Wgate, M, { transA: true, accumulate: true });
      if (g && g.bgate) e.k.biasGrad(g.bgate, dgate, N, M);
    } else if (this.cfg.actFn === "relu") e.k.reluBackward(dpre, s.pre, dpost, N * M);
    else if (this.cfg.actFn === "gelu") e.k.geluErfBackward(dpre, s.pre, dpost, N * M);
    else e.k.geluBackward(dpre, s.pre, dpost, N * M);
    if (g) {
      e.gemm(D, M, N, s.ln, D, dpre, M, g.Win, M, { transA: true, accumulate: true });
      e.k.biasGrad(g.bin, dpre, N, M);
    }
    this.matmulT(N, M, D, dpre, Lp.Win, dln);
    if (this.cfg.actFn === "swiglu") this.matmulT(N, M, D, dgate, Lp.Wgate, dln, true);
    this.normalizeBackward(dx, g?.ln2w ?? 0, g?.ln2b ?? 0, dln, x, N, Lp.ln2w, s.mean, s.rstd);
  }

  // ---- embedding and unembedding ---------------------------------------------------

  /** Embedding (+ learned positions) of ids[N] (an Int32 offset) into out[N,D]. */
  embedTokens(out: number, ids: number, B: number, T: number): void {
    this.engine.k.embed(out, ids, this.WE, this.cfg.positional === "learned" ? this.Wpos : 0, B, T, this.cfg.dModel, this.embedFormat());
  }

  /** The embed kernel's code for W_E: its format, or PACKED_T when it is stored as the packed (tied) W_U. */
  private embedFormat(): number { return this.pk(this.WE) ? PACKED_T : FORMAT_CODE[this.fmt(this.WE)]; }

  /** Token embedding alone (no positions) of ids[N] into out[N,D]. */
  embedTokensOnly(out: number, ids: number, B: number, T: number): void {
    this.engine.k.embed(out, ids, this.WE, 0, B, T, this.cfg.dModel, this.embedFormat());
  }

  /**
   * Shortformer positions: x[B·T, D] += W_pos[t] (the queries' and keys'
   * normalized input; TransformerLens adds W_pos after ln1, to q and k only).
   */
  addPositions(x: number, B: number, T: number): void {
    const D = this.cfg.dModel, e = this.engine;
    for (let b = 0; b < B; b++) e.k.add(x + b * T * D * 4, x + b * T * D * 4, this.Wpos, T * D);
  }

  /** Learned position embeddings [T,D] repeated for each prompt into out[B·T, D]. */
  embedPositions(out: number, B: number, T: number): void {
    const D = this.cfg.dModel, e = this.engine;
    for (let b = 0; b < B; b++) e.f32(out + b * T * D * 4, T * D).set(e.f32(this.Wpos, T * D));
  }

  /** logits[N,V] = norm_final(x[N,D])·W_U + b_U; `ln` receives the normalized stream (and mean/rstd [N] when given). */
  unembed(x: number, N: number, out: number, ln: number, mean = 0, rstd = 0): void {
    const { dModel: D, dVocab: V } = this.cfg;
    this.normalize(ln, x, N, this.lnfw, this.lnfb, mean, rstd);
    // Packed, W_U is [D, V] panels whether tied (W_E is stored as them) or not;
    // a row-major tied unembedding is the embedding [V, D] itself, read transposed.
    if (this.pk(this.WU)) this.engine.gemmPacked(N, V, D, ln, D, this.WU, out, V, { bias: this.bU });
    else if (this.WU === this.WE) this.engine.gemm(N, V, D, ln, D, this.WE, D, out, V, { transB: true, bias: this.bU, format: this.fmt(this.WE) });
    else this.engine.gemm(N, V, D, ln, D, this.WU, V, out, V, { bias: this.bU, format: this.fmt(this.WU) });
  }

  /** dln[N,D] (written) = dlogits[N,V]·W_Uᵀ: the gradient at the final norm's output. */
  unembedBackward(dlogits: number, N: number, dln: number): void {
    const { dModel: D, dVocab: V } = this.cfg;
    if (this.pk(this.WU)) this.engine.gemmPackedT(N, D, V, dlogits, V, this.WU, D, dln, D);
    else if (this.WU === this.WE) this.engine.gemm(N, D, V, dlogits, V, this.WE, D, dln, D, { format: this.fmt(this.WE) });
    else this.engine.gemm(N, D, V, dlogits, V, this.WU, V, dln, D, { transB: true, format: this.fmt(this.WU) });
  }

  // ---- whole passes ------------------------------------------------------------------

  /** Every hook name forward() can return, in the order they fire. */
  hookNames(): string[] {
    return hookNamesOf(this.cfg);
  }

  /**
   * Forward pass. tokens: [B][T] ids. Returns logits [B,T,V] and the activations
   * named in `hooks` ("all" for every one). Logits do not depend on which hooks are asked for.
   */
  forward(tokens: ArrayLike<ArrayLike<number>>, opts: ForwardOptions = {}): ForwardResult {
    return forward(this, tokens, opts);
  }
}

/** Hook names a forward pass of this geometry fires, in order. */
export function hookNamesOf(cfg: ModelConfig): string[] {
  const n: string[] = [hookOf.embed()];
  if (cfg.positional === "learned" || cfg.positional === "shortformer") n.push(hookOf.posEmbed());
  for (let l = 0; l < cfg.nLayers; l++) {
    n.push(hookOf.residPre(l), hookOf.ln1(l), ...LETTERS.map((x) => hookOf.qkv(l, x)), hookOf.pattern(l), hookOf.z(l), hookOf.result(l), hookOf.attnOut(l));
    // Parallel attention and MLP: no stream between them, so no hook_resid_mid (as in TransformerLens).
    if (!cfg.attnOnly) n.push(...(cfg.parallelAttnMlp ? [] : [hookOf.residMid(l)]), hookOf.ln2(l), hookOf.mlpPre(l), hookOf.mlpPost(l), hookOf.mlpOut(l));
    n.push(hookOf.residPost(l));
  }
  n.push(hookOf.lnFinal());
  return n;
}

