// Synthetic data for training an induction model: BOS then a segment x of L
// distinct random tokens, repeated periodically to the sequence length
// (BOS x x x…). The first copy of x cannot be predicted (≈ ln(V − 1) nats
// per token); every later token can by induction: find the previous
// occurrence of the current token and copy the token after it.
// L varies from row to row, so "attend L − 1 positions back" (a purely
// positional copy one attention layer could learn) does not work; only
// matching content does, which needs a previous-token head feeding an
// induction head (Olsson et al. 2022, "In-context learning and induction heads").
// Tokens within one x are distinct so the token after a match is never ambiguous.
// Also here: the model's config and the training recipe scripts/train-induction.mjs
// runs (and test/induction.test.mjs repeats for a few steps). Seeded
// (mulberry32); no I/O. The model's config and its BOS x x data live with
// its task (tasks/induction-offline.ts).
import { Trainer, type Batch } from "./trainer.js";
import { mulberry32 } from "../random.js";
import { BOS, distinctTokens, induction2lConfig } from "../tasks/induction-offline.js";

export interface RepeatBatchOptions {
  B: number;
  /** Sequence length (≤ n_ctx). */
  T: number;
  /** Vocabulary, BOS (0) included. */
  V: number;
  /** Segment length range, inclusive. */
  minLen: number;
  maxLen: number;
}

/**
 * A training batch of BOS x x x… rows with next-token targets at every
 * position but the last; `lens` gives each row's L.
 */
export function repeatBatch(rand: () => number, o: RepeatBatchOptions): Batch & { lens: number[] } {
  const { B, T, V, minLen, maxLen } = o;
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T), lens: number[] = [];
  for (let b = 0; b < B; b++) {
    const L = minLen + Math.floor(rand() * (maxLen - minLen + 1));
    const x = distinctTokens(rand, L, V);
    lens.push(L);
    tokens[b * T] = BOS;
    for (let t = 1; t < T; t++) tokens[b * T + t] = x[(t - 1) % L];
    for (let t = 0; t < T; t++) targets[b * T + t] = t + 1 < T ? tokens[b * T + t + 1] : -1;
  }
  return { tokens, targets, B, T, lens };
}

/**
 * The two evaluation halves of BOS x x rows (T = 2L + 1): `first` targets
 * only positions 0..L−1 (predicting x₁…x_L, unpredictable), `repeat` only
 * positions L+1..2L−1 (predicting x₂…x_L of the second copy, by induction).
 */
export function halvesBatches(rows: number[][]): { first: Batch; repeat: Batch } {
  const B = rows.length, T = rows[0].length, L = (T - 1) / 2;
  const tokens = Int32Array.from(rows.flat());
  const first = new Int32Array(B * T).fill(-1), repeat = new Int32Array(B * T).fill(-1);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) {
    if (t < L) first[b * T + t] = rows[b][t + 1];
    else if (t > L) repeat[b * T + t] = rows[b][t + 1];
  }
  return { first: { tokens, targets: first, B, T }, repeat: { tokens, targets: repeat, B, T } };
}

export interface InductionRecipe {
  /** Seeds of the initial weights and of the training data. */
  initSeed: number;
  dataSeed: number;
  batch: number;
  /** Training rows are BOS x x x… of this length (≤ n_ctx), L uniform in [minLen, maxLen]. */
  seqLen: number;
  minLen: number;
  maxLen: number;
  /** AdamW: lr after a linear warm-up of `warmup` steps, then constant. */
  lr: number;
  warmup: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  clip: number;
  /** Evaluation every `evalEvery` steps on `evalRows` fixed BOS x x rows with |x| = evalHalf. */
  evalEvery: number;
  evalRows: number;
  evalHalf: number;
  evalSeed: number;
  /**
   * Stop at the first evaluation where repeated-half loss < targetRatio ·
   * first-half loss … (induction appears at ratio ≈ 0.1, a few hundred steps
   * in; training on to 5e-4 leaves one clean previous-token head in layer 0
   * instead of several partial ones) …
   */
  targetRatio: number;
  /** … or after maxSteps. */
  maxSteps: number;
}

export const INDUCTION_RECIPE: InductionRecipe = {
  initSeed: 1, dataSeed: 2, batch: 32, seqLen: 32, minLen: 5, maxLen: 15,
  lr: 1e-3, warmup: 100, beta1: 0.9, beta2: 0.99, weightDecay: 0.01, clip: 1,
  evalEvery: 100, evalRows: 64, evalHalf: 10, evalSeed: 3, targetRatio: 5e-4, maxSteps: 4000,
};

export interface InductionEval {
  step: number;
  /** Training loss of the step's batch. */
  trainLoss: number;
  /** Mean loss (nats) on the first copy and on the repeated copy of the evaluation rows. */
  first: number;
  repeat: number;
}

/** Fixed evaluation rows BOS + x + x. */
export function evalRows(r: InductionRecipe, V: number): number[][] {
  const rand = mulberry32(r.evalSeed);
  return Array.from({ length: r.evalRows }, () => { const x = distinctTokens(rand, r.evalHalf, V); return [BOS, ...x, ...x]; });
}

/** First-copy and repeated-copy losses of a trainer on BOS x x rows. */
export function halvesLoss(tr: Trainer, rows: number[][]): { first: number; repeat: number } {
  const h = halvesBatches(rows);
  return { first: tr.evaluate(h.first).loss, repeat: tr.evaluate(h.repeat).loss };
}

/**
 * Train the induction model by the recipe: returns the trainer (its model is
 * the trained model) and every evaluation. Deterministic in the recipe.
 */
export async function trainInduction(r: InductionRecipe = INDUCTION_RECIPE, cfg = induction2lConfig(),
  onEval?: (e: InductionEval) => void): Promise<{ trainer: Trainer; steps: number; evals: InductionEval[]; reached: boolean }> {
  const tr = await Trainer.create(cfg, { seed: r.initSeed });
  const data = mulberry32(r.dataSeed);
  const rows = evalRows(r, cfg.dVocab);
  const evals: InductionEval[] = [];
  let step = 0, reached = false;
  while (step < r.maxSteps && !reached) {
    const batch = repeatBatch(data, { B: r.batch, T: r.seqLen, V: cfg.dVocab, minLen: r.minLen, maxLen: r.maxLen });
    const { loss } = tr.lossAndGrad(batch);
    step++;
    tr.step({ lr: r.lr * Math.min(1, step / r.warmup), beta1: r.beta1, beta2: r.beta2, weightDecay: r.weightDecay, clip: r.clip });
    if (step % r.evalEvery === 0 || step === r.maxSteps) {
      const ev = { step, trainLoss: loss, ...halvesLoss(tr, rows) };
      evals.push(ev);
      onEval?.(ev);
      reached = ev.repeat < r.targetRatio * ev.first;
    }
  }
  return { trainer: tr, steps: step, evals, reached };
}
