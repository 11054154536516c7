// Task metrics over the logits at the metric rows (one or more positions per
// prompt). Every metric is "higher is worse", as ACDC's threshold test
// (remove when new − current < τ) needs: KL divergence as is, logit
// difference negated. Metrics allocate their wasm scratch once in init().
import type { Engine } from "./wasm/engine.js";
import { InputError } from "./errors.js";

export interface MetricContext {
  engine: Engine;
  /** Metric rows R (prompt positions read) and vocabulary V. */
  rows: number;
  vocab: number;
  /** Prompt index of each row, [R]. */
  rowPrompt: Int32Array;
  /** Clean model logits at the metric rows, offset of [R,V]. */
  cleanLogits: number;
}

export interface Metric {
  name: string;
  /** Called once before the search with the clean logits. */
  init(ctx: MetricContext): void;
  /** The metric of logits [R,V] at offset `logits`. */
  compute(logits: number, ctx: MetricContext): number;
  /** ∂metric/∂logits into dlogits [R,V] (gradient methods need it; optional). */
  backward?(logits: number, dlogits: number, ctx: MetricContext): void;
}

/** KL(clean ‖ patched) of the next-token distribution, natural log, mean over rows. */
export function klMetric(): Metric {
  // The clean log-probabilities are the clean logits shifted by each row's logsumexp (lse): kernels take the
  // two and round each log-probability as logSoftmax would, so no [R,V] buffer of them is kept.
  let lse = 0, out = 0;
  return {
    name: "kl",
    init(ctx) {
      const { engine: e, rows: R, vocab: V } = ctx;
      lse = e.allocF32(R);
      out = e.alloc(R * 8);
      e.k.logSumExp(lse, ctx.cleanLogits, R, V);
    },
    compute(logits, ctx) {
      const { engine: e, rows: R, vocab: V } = ctx;
      e.k.klLogits(out, ctx.cleanLogits, lse, logits, R, V);
      const kl = e.f64(out, R);
      let s = 0;
      for (let r = 0; r < R; r++) s += kl[r];
      return s / R;
    },
    backward(logits, dlogits, ctx) {
      const { engine: e, rows: R, vocab: V } = ctx;
      // log q in dlogits' own buffer, then the gradient over it (the kernel may alias it).
      e.k.logSoftmax(dlogits, logits, R, V);
      e.k.klLogitsBackward(dlogits, ctx.cleanLogits, lse, dlogits, R, V, 1 / R);
    },
  };
}

/**
 * Negated mean logit difference logit[correct] − logit[incorrect] per row
 * (IOI's IO − S), so that losing the behaviour raises the metric.
 */
export function logitDiffMetric(correct: ArrayLike<number>, incorrect: ArrayLike<number>): Metric {
  return {
    name: "logit-diff",
    init(ctx) {
      if (correct.length !== ctx.rows || incorrect.length !== ctx.rows) throw new InputError(`logit-diff: need one correct and one incorrect token per metric row (${ctx.rows}), got ${correct.length} and ${incorrect.length}`);
      for (const t of [...Array.from(correct), ...Array.from(incorrect)]) if (!Number.isInteger(t) || t < 0 || t >= ctx.vocab) throw new InputError(`logit-diff: answer token ${t} is outside the vocabulary [0, ${ctx.vocab})`);
    },
    compute(logits, ctx) {
      const { rows: R, vocab: V } = ctx;
      const x = ctx.engine.f32(logits, R * V);
      let s = 0;
      for (let r = 0; r < R; r++) s += x[r * V + correct[r]] - x[r * V + incorrect[r]];
      return -s / R;
    },
    backward(_logits, dlogits, ctx) {
      const { rows: R, vocab: V } = ctx;
      const d = ctx.engine.f32(dlogits, R * V);
      d.fill(0);
      for (let r = 0; r < R; r++) { d[r * V + correct[r]] -= 1 / R; d[r * V + incorrect[r]] += 1 / R; }
    },
  };
}

/** Wrap a plain function of the logits [R,V] (a Float32Array view) as a metric; higher must mean worse. */
export function customMetric(name: string, fn: (logits: Float32Array, rows: number, vocab: number, rowPrompt: Int32Array) => number): Metric {
  return {
    name,
    init() {},
    compute(logits, ctx) { return fn(ctx.engine.f32(logits, ctx.rows * ctx.vocab), ctx.rows, ctx.vocab, ctx.rowPrompt); },
  };
}

/**
 * Mean negative log-probability of `labels[r]` over the metric rows
 * (negative_log_probs with a mask); higher is worse. The R×V work is the
 * cross-entropy kernels'.
 */
export function nllMetric(labels: ArrayLike<number>): Metric {
  let targets = 0, out = 0;
  return {
    name: "nll",
    init(ctx) {
      if (labels.length !== ctx.rows) throw new InputError(`nll: need one label per metric row (${ctx.rows}), got ${labels.length}`);
      for (const t of Array.from(labels)) if (!Number.isInteger(t) || t < 0 || t >= ctx.vocab) throw new InputError(`nll: label ${t} is outside the vocabulary [0, ${ctx.vocab})`);
      targets = ctx.engine.alloc(ctx.rows * 4);
      out = ctx.engine.alloc(ctx.rows * 8);
      ctx.engine.i32(targets, ctx.rows).set(Array.from(labels));
    },
    compute(logits, ctx) {
      const { rows: R, vocab: V, engine: e } = ctx;
      e.k.crossEntropy(out, logits, targets, R, V);
      const ce = e.f64(out, R);
      let s = 0;
      for (let r = 0; r < R; r++) s += ce[r];
      return s / R;
    },
    backward(logits, dlogits, ctx) {
      ctx.engine.k.crossEntropyBackward(dlogits, logits, targets, ctx.rows, ctx.vocab, 1 / ctx.rows);
    },
  };
}
