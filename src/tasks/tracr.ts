// The paper's two tracr tasks (Conmy et al. 2023, §4 and appendix; code in
// acdc/tracr_task/utils.py): a compiled model, its data, the task metric and
// the ground-truth circuit, for "tracr-reverse" and "tracr-proportion".
//
// Model: compiled here from the RASP program (../tracr/), never loaded.
// tracr models attend bidirectionally (their config has causal: false).
//
// Data ("paper", the default): exactly what the ACDC code feeds, quirks
// included — reverse: the 6 permutations of (1, 2, 3) after BOS (4
// positions); proportion: 50 of the 256 rows of 4 token ids 0–3 with no BOS.
// The code meant w, x, y, z, but tracr's encoder numbers the tokens BOS,
// compiler_pad, w, x, y, z, so these rows hold BOS, pad, w and x anywhere; a
// BOS inside a row is what makes the proportion head's BOS mechanism (its
// q ← embed and k ← embed edges) matter, and those two edges are in the
// paper's ground truth. The metric reads positions 1–3.
// Data ("all"): BOS followed by every sequence of `length` tokens, every
// position after BOS read. The default length is the paper's, 3 (reverse
// 3^3 = 27 prompts, proportion 4^3 = 64); at the maximum length 5 reverse's
// head 0.0 stops mattering, since a zero-ablated selector width decodes to
// width 5 — the right length for every full-length input. One length per
// batch, so no padding: the compiled program ignores pad tokens, but an
// ablated head (queries or keys removed) attends uniformly, pads included,
// which would add edges to the circuit.
// Corrupted inputs (both): a seeded permutation of the clean rows with no
// fixed point, as the code's get_perm draws (only resample ablation uses them;
// the paper's tracr results use zero ablation).
//
// Metric: the paper's "l2" (utils.py l2_metric), higher is worse: the mean,
// over metric positions and output-space columns, of (patched − clean)² of
// the unembedded output. The output columns are the first nOut logit columns
// (reverse: 3, the one-hot of the reversed token; proportion: 1, the
// fraction); the unembedding's remaining columns are zero and not read.
import { Transformer, type WeightMap } from "../model/transformer.js";
import type { Engine } from "../wasm/engine.js";
import type { Metric } from "../metrics.js";
import { InputError } from "../errors.js";
import { label, LETTERS } from "../names.js";
import { logspace } from "../thresholds.js";
import type { PaperAuc, Task, TaskData, TaskEdge } from "./task.js";
import { compileTracr, type TracrProgram } from "../tracr/programs.js";
import { encodeInput, type CompiledModel } from "../tracr/compiler.js";
import type { Value } from "../tracr/rasp.js";
import { mulberry32 } from "../random.js";

export type TracrTaskName = "tracr-reverse" | "tracr-proportion";
export type TracrData = "paper" | "all";

export interface TracrTask extends Task<TaskData & { positions: number[][] }> {
  key: TracrTaskName;
  /** Canonical weights compiled from the program. */
  weights: WeightMap;
  dataVariant: TracrData;
  /** Output-space columns the metric and decodeTracrOutput read. */
  nOut: number;
  groundTruth: TaskEdge[];
  compiled: CompiledModel;
  program: TracrProgram;
}

const embed = label.embed(), pos = label.posEmbed();
const direct = (l: number, letters: string): TaskEdge[] =>
  LETTERS.filter((x) => letters.includes(x)).map((x) => [label.qkvInput(l, x, 0), label.qkv(l, x, 0), "direct"]);

/** Ground truths of acdc/tracr_task/utils.py get_tracr_{reverse,proportion}_edges (head 0 of each layer). */
export const TRACR_GROUND_TRUTH: Record<TracrTaskName, TaskEdge[]> = {
  "tracr-reverse": [
    [label.result(3, 0), label.output(4), "addition"],
    [label.mlpOut(2), label.qkvInput(3, "q", 0), "addition"],
    [pos, label.qkvInput(3, "k", 0), "addition"],
    [embed, label.qkvInput(3, "v", 0), "addition"],
    [label.mlpOut(1), label.mlpIn(2), "addition"],
    [label.mlpOut(0), label.mlpIn(1), "addition"],
    [embed, label.mlpIn(1), "addition"],
    [pos, label.mlpIn(1), "addition"],
    [label.result(0, 0), label.mlpIn(0), "addition"],
    [embed, label.mlpIn(0), "addition"],
    [embed, label.qkvInput(0, "v", 0), "addition"],
    ...direct(3, "qkv"),
    ...direct(0, "v"),
  ],
  "tracr-proportion": [
    [label.result(1, 0), label.output(2), "addition"],
    [embed, label.qkvInput(1, "q", 0), "addition"],
    [pos, label.qkvInput(1, "q", 0), "addition"],
    [embed, label.qkvInput(1, "k", 0), "addition"],
    [pos, label.qkvInput(1, "k", 0), "addition"],
    [label.mlpOut(0), label.qkvInput(1, "v", 0), "addition"],
    [embed, label.mlpIn(0), "addition"],
    ...direct(1, "qkv"),
  ],
};

/** The paper's tracr sweep: 10^linspace(−5, −1, 21), zero ablation, the task metric. */
export const TRACR_THRESHOLDS = logspace(-5, -1, 21);

/**
 * ROC AUCs the reference reports for the tracr tasks (its auc_tables.tex,
 * trained weights, the task metric), per ablation, at edge and at node
 * (head/MLP) level, for ACDC, HISP and SP.
 */
export const TRACR_REFERENCE_AUC: Record<TracrTaskName, Record<"zero" | "corrupted", { edges: PaperAuc; nodes: PaperAuc }>> = {
  "tracr-reverse": {
    zero: { edges: { acdc: 1.0, hisp: 0.656, sp: 0.692 }, nodes: { acdc: 1.0, hisp: 0.75, sp: 0.947 } },
    corrupted: { edges: { acdc: 0.2, hisp: 0.656, sp: 0.416 }, nodes: { acdc: 0.312, hisp: 0.75, sp: 0.533 } },
  },
  "tracr-proportion": {
    zero: { edges: { acdc: 1.0, hisp: 0.679, sp: 0.561 }, nodes: { acdc: 1.0, hisp: 0.909, sp: 0.875 } },
    corrupted: { edges: { acdc: 0.6, hisp: 0.679, sp: 0.4 }, nodes: { acdc: 0.727, hisp: 0.909, sp: 0.716 } },
  },
};


function shuffle(n: number, random: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [p[i], p[j]] = [p[j], p[i]]; }
  return p;
}

/** A random permutation of n ≥ 2 items with no fixed point (utils.py get_perm: redraw until none). */
export function derangement(n: number, seed: number): number[] {
  if (n < 2) throw new InputError("derangement: need at least 2 items");
  const random = mulberry32(seed);
  for (;;) { const p = shuffle(n, random); if (p.every((x, i) => x !== i)) return p; }
}

/** Every sequence of `len` values over `vocab`, in lexicographic (itertools.product) order. */
function allSequences(vocab: Value[], len: number): Value[][] {
  let out: Value[][] = [[]];
  for (let i = 0; i < len; i++) out = out.flatMap((s) => vocab.map((v) => [...s, v]));
  return out;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/** The l2 metric over the first nOut logit columns; see the file header. */
export function tracrMetric(nOut: number): Metric {
  return {
    name: "tracr-l2",
    init(ctx) { if (nOut > ctx.vocab) throw new InputError(`tracr-l2: ${nOut} output columns but the logits have ${ctx.vocab}`); },
    compute(logits, ctx) {
      const { rows: R, vocab: V, engine: e } = ctx;
      const x = e.f32(logits, R * V), c = e.f32(ctx.cleanLogits, R * V);
      let s = 0;
      for (let r = 0; r < R; r++) for (let j = 0; j < nOut; j++) { const d = x[r * V + j] - c[r * V + j]; s += d * d; }
      return s / (R * nOut);
    },
    backward(logits, dlogits, ctx) {
      const { rows: R, vocab: V, engine: e } = ctx;
      const x = e.f32(logits, R * V), c = e.f32(ctx.cleanLogits, R * V), d = e.f32(dlogits, R * V);
      d.fill(0);
      for (let r = 0; r < R; r++) for (let j = 0; j < nOut; j++) d[r * V + j] = (2 * (x[r * V + j] - c[r * V + j])) / (R * nOut);
    },
  };
}

export interface TracrTaskOptions {
  /** "paper" (default) or "all"; see the file header. */
  data?: TracrData;
  /** Tokens after BOS for "all" (1 to the maximum, 5; default the paper's 3). */
  length?: number;
  /** Seed of the corrupted permutation (and of the "paper" proportion rows). */
  seed?: number;
}

/** One of the paper's tracr tasks, compiled and ready for a Patcher. */
export function tracrTask(name: TracrTaskName, opts: TracrTaskOptions = {}): TracrTask {
  const variant = opts.data ?? "paper", seed = opts.seed ?? 0;
  if (name !== "tracr-reverse" && name !== "tracr-proportion") throw new InputError(`unknown tracr task ${JSON.stringify(name)} (tracr-reverse, tracr-proportion)`);
  if (variant !== "paper" && variant !== "all") throw new InputError(`tracr data must be "paper" or "all", got ${JSON.stringify(variant)}`);
  const { program, model } = compileTracr(name === "tracr-reverse" ? "reverse" : "proportion");
  let clean: number[][];
  if (variant === "all") {
    const n = opts.length ?? 3;
    if (!Number.isInteger(n) || n < 1 || n > program.maxSeqLen) throw new InputError(`length must be an integer in [1, ${program.maxSeqLen}], got ${n}`);
    clean = allSequences(program.vocab, n).map((xs) => encodeInput(model, xs));
  } else if (name === "tracr-reverse") {
    clean = permutations(program.vocab).map((xs) => encodeInput(model, xs));
  } else {
    // utils.py: data_tens[i] = to_tens(all_things[randperm[i]]), ord(c) − ord("w") ∈ 0..3; the first 50 rows validate.
    const rows = allSequences([0, 1, 2, 3], 4) as number[][];
    clean = shuffle(rows.length, mulberry32(seed + 1)).slice(0, 50).map((i) => rows[i]);
  }
  const T = clean[0].length;
  const positions = clean.map(() => Array.from({ length: T - 1 }, (_, i) => i + 1));
  const corrupted = derangement(clean.length, seed).map((i) => clean[i]);
  const nOut = model.output.values.length;
  // The metric is stateless (no wasm scratch): one instance serves any number of patchers.
  const metric = tracrMetric(nOut);
  return {
    key: name, name: `${name} (compiled from RASP)`, cfg: model.cfg, weights: model.weights, graph: { splitInput: true },
    data: { clean, corrupted, positions }, dataVariant: variant, nOut,
    metrics: { task: () => metric }, defaultMetric: "task", defaultAblation: "zero",
    groundTruth: TRACR_GROUND_TRUTH[name], thresholds: { task: TRACR_THRESHOLDS },
    compiled: model, program,
  };
}

/** The task's model (bidirectional attention, as its config says). */
export async function createTracrModel(task: TracrTask, engine?: Engine): Promise<Transformer> {
  return Transformer.create(task.cfg, task.weights, engine);
}

/**
 * Decode logits [B,T,V] as tracr does: position 0 is "BOS"; elsewhere the
 * argmax over the output directions (categorical) or the output value
 * (numerical).
 */
export function decodeTracrOutput(compiled: CompiledModel, logits: Float32Array, B: number, T: number): (Value | null)[][] {
  const V = compiled.cfg.dVocab, out = compiled.output;
  const rows: (Value | null)[][] = [];
  for (let b = 0; b < B; b++) {
    const row: (Value | null)[] = ["BOS"];
    for (let t = 1; t < T; t++) {
      const o = (b * T + t) * V;
      if (!out.categorical) { row.push(logits[o]); continue; }
      let best = 0;
      for (let j = 1; j < out.values.length; j++) if (logits[o + j] > logits[o + best]) best = j;
      row.push(out.values[best]);
    }
    rows.push(row);
  }
  return rows;
}
