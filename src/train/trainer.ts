// Training for this project's Transformer family (llm.c train_gpt2.c's
// gpt2_forward / gpt2_backward / gpt2_update, on the project's own kernels):
// a forward pass that keeps what backward needs, next-token cross-entropy on
// chosen positions, the backward pass to every parameter, and an AdamW step.
// The parameters are the Transformer's own weight buffers, updated in place,
// so `trainer.model` is always the model being trained (forward(), Patcher,
// hooks work on it between steps). Runtime-agnostic: no I/O.
// Not here: rotary positions (no rope backward), threads, mixed precision,
// learning-rate schedules (the caller passes lr per step), data.
//
// Determinism: every kernel sums in a fixed order (backward.ts header), the
// host-side sums (loss, gradient norm) run in parameter order in float64,
// and initialisation and data come from mulberry32, so the same seed gives
// the same bits on every run. Box–Muller uses Math.log/cos/sin, which
// JavaScript does not pin to the bit across engines; the test checks runs
// in one runtime.
//
// Legend: B batch, T positions, N = B·T rows, D d_model, H heads, Hk kv heads,
// Dh d_head, M d_mlp, V vocab, L layers.
import type { ModelConfig } from "../model/config.js";
import { checkWeights, expectedWeights, type Tensor, type WeightMap } from "../model/weights.js";
import { InputError, Transformer, type LayerWeights } from "../model/transformer.js";
import type { Engine } from "../wasm/engine.js";

export { mulberry32 } from "../random.js";
import { mulberry32 } from "../random.js";

/** Standard normal draws from a uniform generator (Box–Muller, both values used in turn). */
export function gaussian(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    const u1 = 1 - rand(), u2 = rand(); // u1 in (0, 1]: log(u1) is finite
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/**
 * GPT-2-style initial weights (Radford et al. 2019; nanoGPT _init_weights):
 * every matrix and embedding N(0, std²), biases 0, norm weights 1 and norm
 * biases 0. Tensors are drawn in expectedWeights order from one seeded generator.
 */
export function initWeights(cfg: ModelConfig, seed: number, std = 0.02): WeightMap {
  const normal = gaussian(mulberry32(seed));
  const w: WeightMap = new Map();
  for (const { name, shape } of expectedWeights(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    if (name.split(".").at(-2)!.startsWith("ln")) data.fill(leaf === "w" ? 1 : 0); // ln1, ln2, ln_final
    else if (leaf.startsWith("W_")) for (let i = 0; i < data.length; i++) data[i] = std * normal();
    w.set(name, { shape, data });
  }
  return w;
}

/** One trained tensor: where it lives in the model, its gradient and AdamW moments. */
export interface Param {
  /** Canonical TransformerLens name and shape. */
  name: string;
  shape: number[];
  n: number;
  /** Offset of the model's own buffer (updated in place). */
  ptr: number;
  grad: number;
  m: number;
  v: number;
  /** "heads": canonical [Hx, D, Dh] stored by the model as [D, Hx·Dh] (W_Q/K/V). */
  layout: "plain" | "heads";
  /** Weight decay applies (matrices and embeddings; not biases or norms, as nanoGPT). */
  decay: boolean;
}

/** A batch of token ids [B·T] and next-token targets [B·T] (−1 = no loss at that position). */
export interface Batch {
  tokens: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this (off when absent). */
  clip?: number;
}

export interface LossResult {
  /** Mean cross-entropy (nats) over positions with a target. */
  loss: number;
  count: number;
  /** Cross-entropy per row [B·T] (0 where the target is −1). */
  perRow: Float64Array;
}

const LETTERS = ["q", "k", "v"] as const;

/** Offsets of one forward pass's saved activations (everything backward reads). */
interface Acts {
  ids: number; targets: number;
  resid: number[]; // L + 1 streams [N,D]: resid[l] enters layer l, resid[L] is final
  mid: number[]; // per layer: stream after attention [N,D] (MLP models)
  ln1: number[]; mean1: number[]; rstd1: number[];
  q: number[]; k: number[]; v: number[]; pattern: number[]; z: number[];
  ln2: number[]; mean2: number[]; rstd2: number[]; pre: number[]; gate: number[]; post: number[];
  lnf: number; meanf: number; rstdf: number; logits: number; ce: number;
  attnOut: number;
}

export class Trainer {
  readonly model: Transformer;
  readonly cfg: ModelConfig;
  readonly e: Engine;
  /** Parameters in canonical (expectedWeights) order. */
  readonly params: Param[] = [];
  /** AdamW steps taken. */
  stepCount = 0;
  private readonly byName = new Map<string, Param>();

  private constructor(model: Transformer) {
    this.model = model;
    this.cfg = model.cfg;
    this.e = model.engine;
    const cfg = this.cfg, e = this.e;
    for (const { name, shape } of expectedWeights(cfg)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const ptr = this.modelPtr(name);
      if (!ptr) throw new Error(`trainer: the model has no buffer for "${name}"`);
      const leaf = name.slice(name.lastIndexOf(".") + 1);
      const p: Param = {
        name, shape, n, ptr, grad: e.allocF32(n), m: e.allocF32(n), v: e.allocF32(n),
        layout: /^W_[QKV]$/.test(leaf) ? "heads" : "plain", decay: leaf.startsWith("W_"),
      };
      e.k.fill(p.m, 0, n);
      e.k.fill(p.v, 0, n);
      e.k.fill(p.grad, 0, n);
      this.params.push(p);
      this.byName.set(name, p);
    }
  }

  /**
   * A trainer over a new model with `weights` (canonical names; checked) or,
   * without them, initWeights(cfg, seed, initStd).
   */
  static async create(cfg: ModelConfig, opts: { weights?: WeightMap; seed?: number; initStd?: number; engine?: Engine } = {}): Promise<Trainer> {
    if (cfg.positional === "rotary") throw new InputError("training: rotary position embeddings have no backward kernel yet");
    const w = checkWeights(opts.weights ?? initWeights(cfg, opts.seed ?? 0, opts.initStd ?? 0.02), cfg);
    return new Trainer(await Transformer.create(cfg, w, opts.engine));
  }

  /** The model's buffer behind a canonical name (0 if it has none). */
  private modelPtr(name: string): number {
    const m = this.model;
    const fixed: Record<string, number> = {
      "embed.W_E": m.WE, "pos_embed.W_pos": m.Wpos, "ln_final.w": m.lnfw, "ln_final.b": m.lnfb, "unembed.W_U": m.WU, "unembed.b_U": m.bU,
    };
    if (name in fixed) return fixed[name];
    const r = /^blocks\.(\d+)\.(.+)$/.exec(name);
    if (!r) return 0;
    const L = m.layers[Number(r[1])];
    const key: Record<string, keyof LayerWeights> = {
      "ln1.w": "ln1w", "ln1.b": "ln1b", "ln2.w": "ln2w", "ln2.b": "ln2b",
      "attn.W_Q": "Wq", "attn.b_Q": "bq", "attn.W_K": "Wk", "attn.b_K": "bk", "attn.W_V": "Wv", "attn.b_V": "bv",
      "attn.W_O": "WO", "attn.b_O": "bO",
      "mlp.W_in": "Win", "mlp.b_in": "bin", "mlp.W_gate": "Wgate", "mlp.W_out": "Wout", "mlp.b_out": "bout",
    };
    return key[r[2]] ? L[key[r[2]]] : 0;
  }

  /** Gradient buffer of a canonical name (model layout). */
  private g(name: string): number { return this.byName.get(name)!.grad; }

  /** Check a batch and copy it into wasm memory. */
  private checkBatch(batch: Batch): void {
    const { B, T, tokens, targets } = batch;
    const cfg = this.cfg;
    if (!(Number.isInteger(B) && B > 0 && Number.isInteger(T) && T > 0)) throw new InputError(`batch: B and T must be positive integers, got ${B} and ${T}`);
    if (T > cfg.nCtx) throw new InputError(`batch: T = ${T} is longer than the model's context n_ctx = ${cfg.nCtx}`);
    if (tokens.length !== B * T || targets.length !== B * T) throw new InputError(`batch: tokens and targets need B·T = ${B * T} entries, got ${tokens.length} and ${targets.length}`);
    for (let i = 0; i < B * T; i++) {
      if (!(tokens[i] >= 0 && tokens[i] < cfg.dVocab)) throw new InputError(`batch: token ${tokens[i]} at ${i} is outside the vocabulary [0, ${cfg.dVocab})`);
      if (!(targets[i] >= -1 && targets[i] < cfg.dVocab)) throw new InputError(`batch: target ${targets[i]} at ${i} is neither −1 nor in the vocabulary`);
    }
  }

  private normFwd(out: number, mean: number, rstd: number, x: number, w: number, b: number, N: number): void {
    this.model.normalize(out, x, N, w, b, mean, rstd);
  }

  /** dx (written) from dout through the norm of x; accumulates the norm's weight/bias gradients. */
  private normBwd(dx: number, dw: number, db: number, dout: number, x: number, mean: number, rstd: number, w: number, N: number): void {
    this.model.normalizeBackward(dx, dw, db, dout, x, N, w, mean, rstd);
  }

  /** Forward pass with every activation backward needs; per-row cross-entropy into acts.ce. */
  private forwardActs(batch: Batch): Acts {
    const cfg = this.cfg, e = this.e, m = this.model;
    const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
    const { B, T } = batch;
    const N = B * T, QD = H * Dh, KD = Hk * Dh;
    const f = (n: number) => e.allocF32(n);
    const a: Acts = {
      ids: e.alloc(N * 4), targets: e.alloc(N * 4),
      resid: [], mid: [], ln1: [], mean1: [], rstd1: [], q: [], k: [], v: [], pattern: [], z: [],
      ln2: [], mean2: [], rstd2: [], pre: [], gate: [], post: [],
      lnf: f(N * D), meanf: f(N), rstdf: f(N), logits: f(N * V), ce: e.alloc(N * 8), attnOut: f(N * D),
    };
    for (let l = 0; l <= L; l++) a.resid.push(f(N * D));
    for (let l = 0; l < L; l++) {
      a.ln1.push(f(N * D)); a.mean1.push(f(N)); a.rstd1.push(f(N));
      a.q.push(f(N * QD)); a.k.push(f(N * KD)); a.v.push(f(N * KD)); a.pattern.push(f(B * H * T * T)); a.z.push(f(N * QD));
      if (!cfg.attnOnly) {
        a.mid.push(f(N * D)); a.ln2.push(f(N * D)); a.mean2.push(f(N)); a.rstd2.push(f(N));
        a.pre.push(f(N * M)); a.post.push(f(N * M)); a.gate.push(cfg.actFn === "swiglu" ? f(N * M) : 0);
      }
    }
    e.i32(a.ids, N).set(batch.tokens);
    e.i32(a.targets, N).set(batch.targets);

    m.embedTokens(a.resid[0], a.ids, B, T);
    for (let l = 0; l < L; l++) {
      const W = m.layers[l];
      const x = a.resid[l];
      this.normFwd(a.ln1[l], a.mean1[l], a.rstd1[l], x, W.ln1w, W.ln1b, N);
      e.gemm(N, QD, D, a.ln1[l], D, W.Wq, QD, a.q[l], QD, { bias: W.bq });
      e.gemm(N, KD, D, a.ln1[l], D, W.Wk, KD, a.k[l], KD, { bias: W.bk });
      e.gemm(N, KD, D, a.ln1[l], D, W.Wv, KD, a.v[l], KD, { bias: W.bv });
      e.k.attention(a.z[l], a.pattern[l], a.q[l], a.k[l], a.v[l], B, T, H, Hk, Dh, 1 / Math.sqrt(Dh), 0, H, cfg.causal ? 1 : 0);
      e.gemm(N, D, QD, a.z[l], QD, W.WO, D, a.attnOut, D, { bias: W.bO });
      const after = cfg.attnOnly ? a.resid[l + 1] : a.mid[l];
      e.k.add(after, x, a.attnOut, N * D);
      if (!cfg.attnOnly) {
        this.normFwd(a.ln2[l], a.mean2[l], a.rstd2[l], after, W.ln2w, W.ln2b, N);
        e.gemm(N, M, D, a.ln2[l], D, W.Win, M, a.pre[l], M, { bias: W.bin });
        if (cfg.actFn === "swiglu") {
          e.gemm(N, M, D, a.ln2[l], D, W.Wgate, M, a.gate[l], M);
          e.k.swiglu(a.post[l], a.gate[l], a.pre[l], N * M);
        } else if (cfg.actFn === "relu") e.k.relu(a.post[l], a.pre[l], N * M);
        else e.k.gelu(a.post[l], a.pre[l], N * M);
        e.gemm(N, D, M, a.post[l], M, W.Wout, D, a.attnOut, D, { bias: W.bout });
        e.k.add(a.resid[l + 1], after, a.attnOut, N * D);
      }
    }
    this.normFwd(a.lnf, a.meanf, a.rstdf, a.resid[L], m.lnfw, m.lnfb, N);
    e.gemm(N, V, D, a.lnf, D, m.WU, V, a.logits, V, { bias: m.bU });
    e.k.crossEntropy(a.ce, a.logits, a.targets, N, V);
    return a;
  }

  private lossOf(a: Acts, batch: Batch): LossResult {
    const N = batch.B * batch.T;
    const perRow = this.e.f64(a.ce, N).slice();
    let s = 0, count = 0;
    for (let i = 0; i < N; i++) if (batch.targets[i] >= 0) { s += perRow[i]; count++; }
    return { loss: count ? s / count : 0, count, perRow };
  }

  /** Loss without gradients (the model is unchanged). */
  evaluate(batch: Batch): LossResult {
    this.checkBatch(batch);
    const mark = this.e.mark();
    try { return this.lossOf(this.forwardActs(batch), batch); } finally { this.e.reset(mark); }
  }

  /** Logits [B·T, V] of a batch through the trainer's forward (tests compare it with model.forward). */
  logits(batch: Batch): Float32Array {
    this.checkBatch(batch);
    const mark = this.e.mark();
    try { return this.e.f32(this.forwardActs(batch).logits, batch.B * batch.T * this.cfg.dVocab).slice(); } finally { this.e.reset(mark); }
  }

  /**
   * Forward and backward: every parameter's gradient buffer holds
   * ∂(mean cross-entropy over positions with a target)/∂parameter afterwards
   * (overwritten, not accumulated across calls).
   */
  lossAndGrad(batch: Batch): LossResult {
    this.checkBatch(batch);
    const cfg = this.cfg, e = this.e, m = this.model;
    const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
    const { B, T } = batch;
    const N = B * T, QD = H * Dh, KD = Hk * Dh;
    for (const p of this.params) e.k.fill(p.grad, 0, p.n);
    const mark = e.mark();
    try {
      const a = this.forwardActs(batch);
      const res = this.lossOf(a, batch);
      if (res.count === 0) return res;
      const f = (n: number) => e.allocF32(n);
      const dlogits = f(N * V), dres = f(N * D), dtmp = f(N * D), dln = f(N * D);
      const dz = f(N * QD), dq = f(N * QD), dk = f(N * KD), dv = f(N * KD), dpat = f(B * H * T * T);
      const dpre = cfg.attnOnly ? 0 : f(N * M), dpost = cfg.attnOnly ? 0 : f(N * M), dgate = cfg.attnOnly ? 0 : f(N * M);

      // Unembedding and final norm: logits = lnf·W_U + b_U.
      e.k.crossEntropyBackward(dlogits, a.logits, a.targets, N, V, 1 / res.count);
      e.gemm(D, V, N, a.lnf, D, dlogits, V, this.g("unembed.W_U"), V, { transA: true, accumulate: true });
      e.k.biasGrad(this.g("unembed.b_U"), dlogits, N, V);
      e.gemm(N, D, V, dlogits, V, m.WU, V, dln, D, { transB: true });
      const nb = (n: string) => (this.byName.get(n)?.grad ?? 0);
      this.normBwd(dres, nb("ln_final.w"), nb("ln_final.b"), dln, a.resid[L], a.meanf, a.rstdf, m.lnfw, N);

      // dres is ∂loss/∂(stream leaving layer l); each branch adds its input gradient to it.
      for (let l = L - 1; l >= 0; l--) {
        const W = m.layers[l], p = `blocks.${l}`;
        if (!cfg.attnOnly) {
          // out = act(ln2·W_in + b_in)·W_out + b_out
          e.gemm(M, D, N, a.post[l], M, dres, D, this.g(`${p}.mlp.W_out`), D, { transA: true, accumulate: true });
          e.k.biasGrad(this.g(`${p}.mlp.b_out`), dres, N, D);
          e.gemm(N, M, D, dres, D, W.Wout, D, dpost, M, { transB: true });
          if (cfg.actFn === "swiglu") {
            e.k.swigluBackward(dgate, dpre, a.gate[l], a.pre[l], dpost, N * M);
            e.gemm(D, M, N, a.ln2[l], D, dgate, M, this.g(`${p}.mlp.W_gate`), M, { transA: true, accumulate: true });
          } else if (cfg.actFn === "relu") e.k.reluBackward(dpre, a.pre[l], dpost, N * M);
          else e.k.geluBackward(dpre, a.pre[l], dpost, N * M);
          e.gemm(D, M, N, a.ln2[l], D, dpre, M, this.g(`${p}.mlp.W_in`), M, { transA: true, accumulate: true });
          e.k.biasGrad(this.g(`${p}.mlp.b_in`), dpre, N, M);
          e.gemm(N, D, M, dpre, M, W.Win, M, dln, D, { transB: true });
          if (cfg.actFn === "swiglu") e.gemm(N, D, M, dgate, M, W.Wgate, M, dln, D, { transB: true, accumulate: true });
          this.normBwd(dtmp, nb(`${p}.ln2.w`), nb(`${p}.ln2.b`), dln, a.mid[l], a.mean2[l], a.rstd2[l], W.ln2w, N);
          e.k.add(dres, dres, dtmp, N * D);
        }
        // attn_out = z·W_O + b_O
        e.gemm(QD, D, N, a.z[l], QD, dres, D, this.g(`${p}.attn.W_O`), D, { transA: true, accumulate: true });
        e.k.biasGrad(this.g(`${p}.attn.b_O`), dres, N, D);
        e.gemm(N, QD, D, dres, D, W.WO, D, dz, QD, { transB: true });
        e.k.fill(dk, 0, N * KD);
        e.k.fill(dv, 0, N * KD);
        e.k.attentionBackward(dq, dk, dv, dpat, dz, a.q[l], a.k[l], a.v[l], a.pattern[l], B, T, H, Hk, Dh, 1 / Math.sqrt(Dh), 0, H, cfg.causal ? 1 : 0);
        // q/k/v = ln1·W + b, all heads at once ([D, Hx·Dh] layout).
        LETTERS.forEach((letter, i) => {
          const dx = [dq, dk, dv][i], cols = letter === "q" ? QD : KD, U = letter.toUpperCase();
          const Wx = letter === "q" ? W.Wq : letter === "k" ? W.Wk : W.Wv;
          e.gemm(D, cols, N, a.ln1[l], D, dx, cols, this.g(`${p}.attn.W_${U}`), cols, { transA: true, accumulate: true });
          e.k.biasGrad(this.g(`${p}.attn.b_${U}`), dx, N, cols);
          e.gemm(N, D, cols, dx, cols, Wx, cols, dln, D, { transB: true, accumulate: i > 0 });
        });
        this.normBwd(dtmp, nb(`${p}.ln1.w`), nb(`${p}.ln1.b`), dln, a.resid[l], a.mean1[l], a.rstd1[l], W.ln1w, N);
        e.k.add(dres, dres, dtmp, N * D);
      }
      e.k.embedBackward(this.g("embed.W_E"), cfg.positional === "learned" ? this.g("pos_embed.W_pos") : 0, dres, a.ids, B, T, D);
      return res;
    } finally {
      e.reset(mark);
    }
  }

  /** Global L2 norm of the gradients, summed in float64 in parameter order. */
  gradNorm(): number {
    let s = 0;
    for (const p of this.params) {
      const g = this.e.f32(p.grad, p.n);
      for (let i = 0; i < p.n; i++) s += g[i] * g[i];
    }
    return Math.sqrt(s);
  }

  /** One AdamW step on every parameter (kernel adamw); returns the gradient norm before clipping. */
  step(opts: AdamWOptions): number {
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, clip } = opts;
    if (!(lr >= 0)) throw new InputError(`lr must be a non-negative number, got ${lr}`);
    const norm = this.gradNorm();
    if (clip !== undefined && norm > clip) {
      const c = clip / norm;
      for (const p of this.params) { const g = this.e.f32(p.grad, p.n); for (let i = 0; i < p.n; i++) g[i] *= c; }
    }
    this.stepCount++;
    for (const p of this.params) this.e.k.adamw(p.ptr, p.grad, p.m, p.v, p.n, lr, beta1, beta2, eps, p.decay ? weightDecay : 0, this.stepCount);
    return norm;
  }

  /** A model-layout buffer as a canonical tensor ([D, Hx·Dh] → [Hx, D, Dh] for W_Q/K/V). */
  private canonical(p: Param, ptr: number): Tensor {
    const src = this.e.f32(ptr, p.n);
    if (p.layout === "plain") return { shape: p.shape.slice(), data: src.slice() };
    const [Hx, D, Dh] = p.shape;
    const out = new Float32Array(p.n);
    for (let h = 0; h < Hx; h++) for (let d = 0; d < D; d++) for (let j = 0; j < Dh; j++) out[(h * D + d) * Dh + j] = src[d * Hx * Dh + h * Dh + j];
    return { shape: p.shape.slice(), data: out };
  }

  /** The current weights under canonical names (ready for writeSafetensors or Transformer.create). */
  weights(): WeightMap {
    return new Map(this.params.map((p) => [p.name, this.canonical(p, p.ptr)]));
  }

  /** The last lossAndGrad's gradients under canonical names and shapes. */
  gradients(): WeightMap {
    return new Map(this.params.map((p) => [p.name, this.canonical(p, p.grad)]));
  }
}
