// The induction task on this package's own trained model (models/
// induction-2l.*, trained by scripts/train-induction.mjs): a 2-layer × 8-head
// attention-only transformer trained on BOS x x x… rows of random tokens, so
// it works with no download. The paper's induction task (tasks/induction.ts)
// runs Redwood's 2-layer model on text and has no ground truth; here the
// ground truth is measured on the model itself from its attention patterns.
//
// Data: each clean prompt is BOS + x + x with x `half` distinct random tokens
// from 1..V−1 (mulberry32(seed)), the distribution the model was trained on.
// The metric reads the second copy, positions half+1 … 2·half, where the
// next token follows from the first copy by induction (at 2·half the model
// predicts x₁, the token after the previous occurrence of x_half).
// Corruption (default "rows", the paper's): the batch's rows permuted by a
// seeded derangement (no row stays in place), so every token differs.
// "first": BOS + y + x, the first copy replaced by other tokens (disjoint
// from x): the tokens the metric reads stay the same but have no earlier
// occurrence to copy from, so the query side of the circuit carries no
// difference and only the key/value side is tested. Not offered: replacing
// the second copy (BOS + x + y) leaves the first copy, where an induction
// head's matching keys live, unchanged (causal attention), so patching the
// previous-token head → induction key edge changes nothing at the metric
// positions and the K-composition edge cannot be found (ACDC drops it).
// Metric: KL(clean ‖ patched) averaged over the metric positions; the task
// metric is the mean negative log-probability of the induced token.
//
// Ground truth (inductionHeadScores, inductionGroundTruth): from the clean
// run's attention patterns (blocks.L.attn.hook_pattern), a head's
// previous-token score is its mean attention from position t to t − 1 (t ≥ 2:
// position 1's only earlier position is BOS) and its induction score its mean
// attention from a second-copy position to the token after the previous
// occurrence of the current token (Olsson et al. 2022's prefix matching).
// Heads scoring above 0.5 are previous-token or induction heads; the circuit
// is input → previous-token heads (q, k, v); previous-token head → induction
// head's key (K-composition); input → induction head's query (the current
// token) and value (the token to copy); induction head → output; plus the
// direct edge of each listed q/k/v. Under the "first" corruption the
// induction heads' query edges are left out: their input is the same clean
// and corrupted at every position the metric reads.
import type { Transformer } from "../model/transformer.js";
import { configFromTransformerLens, type ModelConfig } from "../model/config.js";
import { InputError } from "../errors.js";
import { klMetric, nllMetric } from "../metrics.js";
import { logspace } from "../thresholds.js";
import { hook, label, LETTERS } from "../names.js";
import type { Task, TaskEdge, TaskData } from "./task.js";
import { mulberry32 } from "../random.js";

export const BOS = 0;

/** x: L distinct tokens from 1..V−1 (a partial Fisher–Yates shuffle driven by `rand`). */
export function distinctTokens(rand: () => number, L: number, V: number): number[] {
  const pool = Array.from({ length: V - 1 }, (_, i) => i + 1);
  for (let i = 0; i < L; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, L);
}

/**
 * The induction model's TransformerLens config (written beside the weights
 * as models/induction-2l.config.json): 2 layers × 8 heads of 16, d_model 64,
 * attention only, LN, learned positions, 64 tokens (0 = BOS), context 32.
 * Eight heads per layer give the paper's induction graph (2L8H, 305 counted edges).
 */
export const INDUCTION_2L_CONFIG_JSON = {
  model_name: "induction-2l",
  n_layers: 2, d_model: 64, n_heads: 8, d_head: 16, d_mlp: 0, d_vocab: 64, n_ctx: 32,
  attn_only: true, normalization_type: "LN", positional_embedding_type: "standard", attention_dir: "causal",
  act_fn: "gelu_new", eps: 1e-5,
};

export function induction2lConfig(): ModelConfig {
  return configFromTransformerLens({ ...INDUCTION_2L_CONFIG_JSON });
}


export type InductionCorruption = "rows" | "first";

export interface InductionOfflineOptions {
  /** Prompts (default 20). */
  numPrompts?: number;
  /** Tokens per copy (default 10: prompts are 21 tokens). */
  half?: number;
  /** Seed of the token draw (default 1). */
  seed?: number;
  corruption?: InductionCorruption;
  /** Vocabulary including BOS (default the model's 64). */
  vocab?: number;
}

export interface InductionOfflineTask extends Task<TaskData & { positions: number[][]; labels: number[][] }> {
  corruption: InductionCorruption;
}

/** Clean BOS + x + x prompts, their corruption, the second-copy positions and induced labels. */
export function inductionOfflineTask(opts: InductionOfflineOptions = {}): InductionOfflineTask {
  const n = opts.numPrompts ?? 20, half = opts.half ?? 10, seed = opts.seed ?? 1;
  const corruption = opts.corruption ?? "rows";
  const cfg = induction2lConfig();
  const V = opts.vocab ?? cfg.dVocab;
  if (!Number.isInteger(n) || n < 2) throw new InputError(`numPrompts must be an integer ≥ 2, got ${n}`);
  if (!Number.isInteger(half) || half < 2 || 2 * half + 1 > cfg.nCtx || 2 * half > V - 1) throw new InputError(`half must be an integer in [2, ${Math.min((cfg.nCtx - 1) >> 1, (V - 1) >> 1)}], got ${half}`);
  if (!["rows", "first"].includes(corruption)) throw new InputError(`corruption must be rows or first, got ${JSON.stringify(corruption)}`);
  const rand = mulberry32(seed);
  const clean: number[][] = [], corrupted: number[][] = [], positions: number[][] = [], labels: number[][] = [];
  for (let b = 0; b < n; b++) {
    // 2·half distinct tokens: x, then y (the "first" corruption's replacement).
    const xy = distinctTokens(rand, 2 * half, V), x = xy.slice(0, half), y = xy.slice(half);
    const row = [BOS, ...x, ...x];
    clean.push(row);
    if (corruption === "first") corrupted.push([BOS, ...y, ...x]);
    const ps = Array.from({ length: half }, (_, i) => half + 1 + i);
    positions.push(ps);
    labels.push(ps.map((p) => row[p - half + 1]));
  }
  if (corruption === "rows") {
    // Sattolo's algorithm: a uniformly random cyclic permutation, so no row keeps its place.
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * i); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    for (let b = 0; b < n; b++) corrupted.push(clean[perm[b]].slice());
  }
  const flat = labels.flat();
  return {
    key: "induction-offline", name: "Induction (trained 2-layer attention-only, offline)", cfg,
    data: { clean, corrupted, positions, labels },
    metrics: { kl: () => klMetric(), task: () => nllMetric(flat) },
    defaultMetric: "kl", defaultAblation: "corrupted",
    // Computed from a model's attention patterns: inductionGroundTruth(model, rows).
    groundTruth: null,
    // The paper's induction sweep, 10^linspace(−4, 0, 21).
    thresholds: { kl: logspace(-4, 0, 21), task: logspace(-4, 0, 21) },
    corruption,
  };
}

export interface HeadScores {
  /** [layer][head]: mean attention from t to t − 1, t ≥ 2. */
  previousToken: number[][];
  /** [layer][head]: mean attention from a repeated token to the token after its previous occurrence. */
  induction: number[][];
}

/** Previous-token and induction scores of every head, from the attention patterns of `rows`. */
export function inductionHeadScores(model: Transformer, rows: number[][]): HeadScores {
  const { nLayers: L, nHeads: H } = model.cfg;
  const hooks = Array.from({ length: L }, (_, l) => hook.pattern(l));
  const { cache } = model.forward(rows, { hooks });
  const B = rows.length, T = rows[0].length;
  // (t, target) pairs per row: previous token, and the token after the latest earlier occurrence.
  const prev: [number, number, number][] = [], ind: [number, number, number][] = [];
  for (let b = 0; b < B; b++) {
    const last = new Map<number, number>();
    for (let t = 0; t < T; t++) {
      if (t >= 2) prev.push([b, t, t - 1]);
      const s = last.get(rows[b][t]);
      if (s !== undefined && rows[b][t] !== BOS) ind.push([b, t, s + 1]);
      last.set(rows[b][t], t);
    }
  }
  if (ind.length === 0) throw new InputError("inductionHeadScores: no token repeats in the rows, so there is nothing to score induction on");
  const score = (p: Float32Array, h: number, pairs: [number, number, number][]) => {
    let s = 0;
    for (const [b, t, k] of pairs) s += p[((b * H + h) * T + t) * T + k];
    return s / pairs.length;
  };
  const previousToken: number[][] = [], induction: number[][] = [];
  for (let l = 0; l < L; l++) {
    const p = cache.get(hooks[l])!.data;
    previousToken.push(Array.from({ length: H }, (_, h) => score(p, h, prev)));
    induction.push(Array.from({ length: H }, (_, h) => score(p, h, ind)));
  }
  return { previousToken, induction };
}

export interface InductionGroundTruth {
  scores: HeadScores;
  /** [layer, head] of heads above the threshold. */
  previousTokenHeads: [number, number][];
  inductionHeads: [number, number][];
  /** The circuit as this project's edge labels (see the file header). */
  edges: TaskEdge[];
}

/**
 * Heads scoring above `threshold` (default 0.5) on `rows` and the circuit
 * they form under `corruption` (default "rows"; see the file header).
 */
export function inductionGroundTruth(model: Transformer, rows: number[][], opts: { threshold?: number; corruption?: InductionCorruption } = {}): InductionGroundTruth {
  const threshold = opts.threshold ?? 0.5, corruption = opts.corruption ?? "rows";
  const scores = inductionHeadScores(model, rows);
  const L = model.cfg.nLayers;
  const pick = (m: number[][]) => m.flatMap((hs, l) => hs.flatMap((s, h) => (s > threshold ? [[l, h] as [number, number]] : [])));
  const previousTokenHeads = pick(scores.previousToken), inductionHeads = pick(scores.induction);
  const input = label.input(), output = label.output(L);
  const edges: TaskEdge[] = [];
  const qkv = (l: number, h: number, letter: "q" | "k" | "v", parents: string[]) => {
    const into = label.qkvInput(l, letter, h);
    for (const p of parents) edges.push([p, into, "addition"]);
    edges.push([into, label.qkv(l, letter, h), "direct"]);
  };
  for (const [l, h] of previousTokenHeads) for (const letter of LETTERS) qkv(l, h, letter, [input]);
  for (const [l, h] of inductionHeads) {
    const prevs = previousTokenHeads.filter(([pl]) => pl < l).map(([pl, ph]) => label.result(pl, ph));
    if (corruption !== "first") qkv(l, h, "q", [input]);
    qkv(l, h, "k", prevs);
    qkv(l, h, "v", [input]);
    edges.push([label.result(l, h), output, "addition"]);
  }
  return { scores, previousTokenHeads, inductionHeads, edges };
}
