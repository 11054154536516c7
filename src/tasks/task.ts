// One shape for every task: the data (clean and corrupted token ids and the
// positions the metric reads), the metrics it offers, the ground-truth
// circuit where there is one, and the threshold sweeps. A task is input: it
// imports nothing above the model (no graph, patcher, algorithm or sweep).
import type { ModelConfig } from "../model/config.js";
import type { Metric } from "../metrics.js";
import { InputError } from "../errors.js";

/** [parent label, child label, type] in this project's node labels (names.ts). */
export type TaskEdge = [string, string, "addition" | "direct"];

export type Split = "validation" | "test";
export type TaskAblation = "corrupted" | "zero" | "mean";

/** Token ids and what the metric reads. */
export interface TaskData {
  clean: number[][];
  corrupted: number[][];
  /** Positions whose next-token distribution the metric reads: one per prompt, or a list per prompt. */
  positions: number[] | number[][];
  /** Answer token per metric row (logit difference). */
  correct?: number[];
  /** Wrong token per metric row (logit difference). */
  incorrect?: number[];
}

/** Edge-level ROC AUCs the paper reports (corrupted ablation). */
export interface PaperAuc { acdc: number; hisp: number; sp: number }

export interface Task<D = TaskData> {
  key: string;
  name: string;
  /** The geometry of the task's model (weights are not part of a task; built-in models say how to make theirs). */
  cfg: ModelConfig;
  /** Graph shape: tracr models send token and position embeddings as two input nodes. */
  graph?: { splitInput?: boolean };
  data: D;
  /** Fresh metric instances by name (metrics hold wasm scratch; one per Patcher). */
  metrics: Record<string, () => Metric>;
  /** The metric and ablation a run uses unless told otherwise. */
  defaultMetric: string;
  defaultAblation: TaskAblation;
  /** null where there is none. */
  groundTruth: TaskEdge[] | null;
  /** Threshold sweeps per metric name. */
  thresholds: Record<string, number[]>;
}

/** A task the paper runs, with its split and the AUCs it reports. */
export interface PaperTask<D = TaskData> extends Task<D> {
  split: Split;
  paper: { numExamples: number; auc: { kl: PaperAuc; task: PaperAuc } | null };
}

export function checkSplit(split: Split | undefined): Split {
  const s = split ?? "validation";
  if (s !== "validation" && s !== "test") throw new InputError(`split must be "validation" or "test", got ${JSON.stringify(split)}`);
  return s;
}

export function checkCount(n: number | undefined, dflt: number, what: string): number {
  const v = n ?? dflt;
  if (!Number.isInteger(v) || v < 1) throw new InputError(`${what} must be a positive integer, got ${n}`);
  return v;
}

/** Deduplicate edges by (parent, child), keeping the first. */
export function uniqueEdges(edges: TaskEdge[]): TaskEdge[] {
  const seen = new Set<string>();
  return edges.filter(([p, c]) => { const k = `${p} -> ${c}`; if (seen.has(k)) return false; seen.add(k); return true; });
}
