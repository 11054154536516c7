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
import { Transformer, type WeightMap } from "../model/transformer.js";
import { Params, paramTable, readCanonical, type Layout, type ParamSpec } from "../model/params.js";
import { allocActs, runStream, type StreamActs } from "../model/forward.js";
import { backwardStream } from "../model/backward.js";
import { InputError } from "../errors.js";
import type { Engine } from "../wasm/engine.js";
import { gaussian, mulberry32 } from "../random.js";

/**
 * GPT-2-style initial weights (Radford et al. 2019; nanoGPT _init_weights):
 * every matrix and embedding N(0, std²), biases 0, norm weights 1 and norm
 * biases 0. Tensors are drawn in expectedWeights order from one seeded generator.
 */
export function initWeights(cfg: ModelConfig, seed: number, std = 0.02): WeightMap {
  const normal = gaussian(mulberry32(seed));
  const w: WeightMap = new Map();
  for (const { name, shape, size, decay } of paramTable(cfg)) {
    const data = new Float32Array(size);
    // Norm weights (ln1, ln2, ln_final ".w") start at 1; matrices and embeddings (the decayed ones) are drawn.
    if (/(^|\.)ln[^.]*\.w$/.test(name)) data.fill(1);
    else if (decay) for (let i = 0; i < data.length; i++) data[i] = std * normal();
    w.set(name, { shape, data });
  }
  return w;
}

/** One trained tensor: where it lives in the model, its gradient and AdamW moments (offsets in the same layout). */
export interface Param {
  /** Canonical TransformerLens name and shape. */
  name: string;
  shape: number[];
  n: number;
  /** Offset of the model's own storage (updated in place). */
  ptr: number;
  grad: number;
  m: number;
  v: number;
  layout: Layout;
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

export class Trainer {
  readonly model: Transformer;
  readonly cfg: ModelConfig;
  readonly e: Engine;
  /** Parameters in table order. */
  readonly params: Param[];
  /** AdamW steps taken. */
  stepCount = 0;
  /** Gradients and moments: blocks laid out like the model's parameters. */
  private readonly grads: Params;
  private readonly m1: Params;
  private readonly m2: Params;

  private constructor(model: Transformer) {
    this.model = model;
    this.cfg = model.cfg;
    this.e = model.engine;
    const e = this.e, specs = model.params.specs;
    this.grads = new Params(e, specs);
    this.m1 = new Params(e, specs);
    this.m2 = new Params(e, specs);
    for (const b of [this.grads, this.m1, this.m2]) e.k.fill(b.base, 0, b.floats);
    this.params = specs.map((s) => ({
      name: s.name, shape: s.shape, n: s.size, ptr: model.params.ptr(s.name), grad: this.grads.ptr(s.name),
      m: this.m1.ptr(s.name), v: this.m2.ptr(s.name), layout: s.layout, decay: s.decay,
    }));
  }

  /**
   * A trainer over a new model with `weights` (canonical names; checked) or,
   * without them, initWeights(cfg, seed, initStd).
   */
  static async create(cfg: ModelConfig, opts: { weights?: WeightMap; seed?: number; initStd?: number; engine?: Engine } = {}): Promise<Trainer> {
    if (cfg.positional === "rotary") throw new InputError("training: rotary position embeddings have no backward kernel yet");
    if (cfg.positional === "shortformer") throw new InputError("training: shortformer positions are not trained here");
    const w = opts.weights ?? initWeights(cfg, opts.seed ?? 0, opts.initStd ?? 0.02);
    // Row-major weights: AdamW updates them in place, and the trainer's gradients share their layout.
    return new Trainer(await Transformer.create(cfg, w, opts.engine, { pack: false }));
  }

  /** Check a batch. */
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

  /** The forward pass with everything backward needs; per-row cross-entropy [N] (f64) at the returned offset. */
  private forwardActs(batch: Batch): { a: StreamActs; ce: number; targets: number } {
    const e = this.e, N = batch.B * batch.T;
    const a = allocActs(this.model, batch.tokens, batch.B, batch.T, true);
    const targets = e.alloc(N * 4), ce = e.alloc(N * 8);
    e.i32(targets, N).set(batch.targets);
    runStream(this.model, a);
    e.k.crossEntropy(ce, a.logits, targets, N, this.cfg.dVocab);
    return { a, ce, targets };
  }

  private lossOf(ce: number, batch: Batch): LossResult {
    const N = batch.B * batch.T;
    const perRow = this.e.f64(ce, N).slice();
    let s = 0, count = 0;
    for (let i = 0; i < N; i++) if (batch.targets[i] >= 0) { s += perRow[i]; count++; }
    return { loss: count ? s / count : 0, count, perRow };
  }

  /** Loss without gradients (the model is unchanged). */
  evaluate(batch: Batch): LossResult {
    this.checkBatch(batch);
    const mark = this.e.mark();
    try { return this.lossOf(this.forwardActs(batch).ce, batch); } finally { this.e.reset(mark); }
  }

  /** Logits [B·T, V] of a batch through the trainer's forward (tests compare it with model.forward). */
  logits(batch: Batch): Float32Array {
    this.checkBatch(batch);
    const mark = this.e.mark();
    try { return this.e.f32(this.forwardActs(batch).a.logits, batch.B * batch.T * this.cfg.dVocab).slice(); } finally { this.e.reset(mark); }
  }

  /**
   * Forward and backward: every parameter's gradient buffer holds
   * ∂(mean cross-entropy over positions with a target)/∂parameter afterwards
   * (overwritten, not accumulated across calls).
   */
  lossAndGrad(batch: Batch): LossResult {
    this.checkBatch(batch);
    const e = this.e, N = batch.B * batch.T, V = this.cfg.dVocab;
    e.k.fill(this.grads.base, 0, this.grads.floats);
    const mark = e.mark();
    try {
      const { a, ce, targets } = this.forwardActs(batch);
      const res = this.lossOf(ce, batch);
      if (res.count === 0) return res;
      const dlogits = e.allocF32(N * V);
      e.k.crossEntropyBackward(dlogits, a.logits, targets, N, V, 1 / res.count);
      backwardStream(this.model, a, dlogits, this.grads);
      return res;
    } finally {
      e.reset(mark);
    }
  }

  /** Global L2 norm of the gradients, summed in float64 in parameter order. */
  gradNorm(): number {
    const g = this.e.f32(this.grads.base, this.grads.floats);
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    return Math.sqrt(s);
  }

  /** One AdamW step on every parameter (kernel adamw); returns the gradient norm before clipping. */
  step(opts: AdamWOptions): number {
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, clip } = opts;
    if (!(lr >= 0)) throw new InputError(`lr must be a non-negative number, got ${lr}`);
    const norm = this.gradNorm();
    if (clip !== undefined && norm > clip) {
      const c = clip / norm;
      const g = this.e.f32(this.grads.base, this.grads.floats);
      for (let i = 0; i < g.length; i++) g[i] *= c;
    }
    this.stepCount++;
    for (const p of this.params) this.e.k.adamw(p.ptr, p.grad, p.m, p.v, p.n, lr, beta1, beta2, eps, p.decay ? weightDecay : 0, this.stepCount);
    return norm;
  }

  /** A parameter's storage (of the model or a gradient block) in canonical order. */
  private canonical(spec: ParamSpec, ptr: number): { shape: number[]; data: Float32Array } {
    return { shape: spec.shape.slice(), data: readCanonical(spec, this.e.f32(ptr, spec.size)) };
  }

  /** The current weights under canonical names (ready for writeSafetensors or Transformer.create). */
  weights(): WeightMap {
    return new Map(this.model.params.specs.map((s) => [s.name, this.canonical(s, this.model.params.ptr(s.name))]));
  }

  /** The last lossAndGrad's gradients under canonical names and shapes. */
  gradients(): WeightMap {
    return new Map(this.model.params.specs.map((s) => [s.name, this.canonical(s, this.grads.ptr(s.name))]));
  }
}
