// The paper's comparison: several methods swept over their own knobs (ACDC's
// threshold, SP's λ, HISP's number of masked components, Edge Pruning's
// target sparsity, EAP-IG's edge count) on one task, each sweep scored
// against the ground truth. Stochastic methods are swept once per seed and
// their AUCs summarised as mean and spread.
import type { Graph } from "../graph/graph.js";
import { getAlgorithm, type RunOptions } from "../algorithms/registry.js";
import { maskedComponents } from "../algorithms/masks.js";
import { countedEdges, type Circuit } from "../circuit.js";
import { logspace } from "../thresholds.js";
import { InputError } from "../errors.js";
import { sweep, type SweepOptions, type SweepResult } from "./sweep.js";

/** One method's sweep: the option it varies, its values, and the seeds to repeat it under. */
export interface MethodPlan {
  algorithm: string;
  knob: keyof RunOptions;
  values: number[];
  /** One sweep per seed (stochastic methods); [undefined] for deterministic ones. */
  seeds: (number | undefined)[];
  options?: RunOptions;
}

export interface AucSummary { mean: number; min: number; max: number; std: number }

export interface MethodResult {
  algorithm: string;
  knob: string;
  seeds: (number | undefined)[];
  /** One sweep per seed, in the order of `seeds`. */
  sweeps: SweepResult[];
  edgeAuc: AucSummary;
  /** Heads and MLPs. */
  nodeAuc: AucSummary;
  /** Graph nodes as the reference's node ROC counts them. */
  graphNodeAuc: AucSummary;
  /** Wall time of every run of every seed. */
  ms: number;
  runs: number;
}

export interface CompareOptions extends Omit<SweepOptions, "algorithm" | "values" | "options" | "knob" | "onRun"> {
  methods: MethodPlan[];
  /** After each run: the method, its seed's index, the run's index and count, the knob's value and the circuit (valid during the call only: its patcher's memory is reused). */
  onRun?: (method: string, seedIndex: number, i: number, n: number, value: number, c: Circuit) => void;
}

/** The deterministic methods (one sweep each) and the stochastic ones (a sweep per seed). */
export const STOCHASTIC = new Set(["sp", "edge-pruning"]);

/** Summary of per-seed AUCs: mean, min, max and the population standard deviation. */
export function summarise(xs: number[]): AucSummary {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, min: Math.min(...xs), max: Math.max(...xs), std };
}

/**
 * Default knob values per method. acdc: the task's thresholds; sp: the
 * reference launcher's λ grid for tracr (10^linspace(−3, 0, 11)) or for the
 * language tasks (10^linspace(−2, 0, 11) then 2…10); hisp: every count of
 * masked components 0…n (the reference scores each prefix of its ranking);
 * edge-pruning: target sparsities 0.5…0.99; eap-ig: 21 edge counts 0…|E|.
 */
export function defaultPlan(algorithm: string, g: Graph, o: { thresholds: number[]; tracr: boolean; seeds: number; steps?: number }): MethodPlan {
  const seeds = STOCHASTIC.has(algorithm) ? Array.from({ length: o.seeds }, (_, i) => i) : [undefined];
  const options: RunOptions = o.steps !== undefined && STOCHASTIC.has(algorithm) ? { steps: o.steps } : {};
  const E = countedEdges(g);
  switch (algorithm) {
    case "acdc": return { algorithm, knob: "threshold", values: o.thresholds, seeds, options };
    case "sp": return {
      algorithm, knob: "lambda", seeds, options,
      values: o.tracr ? logspace(-3, 0, 11) : [...logspace(-2, 0, 11), 2, 3, 4, 5, 6, 7, 8, 9, 10],
    };
    case "hisp": return { algorithm, knob: "masked", values: Array.from({ length: maskedComponents(g).length + 1 }, (_, k) => k), seeds, options };
    case "edge-pruning": return { algorithm, knob: "sparsity", values: [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99], seeds, options };
    case "eap-ig": case "eap": return {
      algorithm, knob: "topK", seeds, options,
      values: [...new Set(Array.from({ length: 21 }, (_, i) => Math.round((i * E) / 20)))],
    };
    default: throw new InputError(`no default sweep for "${algorithm}" (compare runs acdc, sp, hisp, edge-pruning, eap-ig, eap)`);
  }
}

/** Sweep every method of `o.methods` (each seed in turn) and summarise its edge and node AUCs. */
export function compareMethods(o: CompareOptions): MethodResult[] {
  return o.methods.map((m) => {
    getAlgorithm(m.algorithm);
    const t0 = performance.now();
    const sweeps = m.seeds.map((seed, si) => sweep({
      ...o, algorithm: m.algorithm, values: m.values, knob: m.knob,
      options: { ...m.options, ...(seed === undefined ? {} : { seed }) },
      onRun: (i, n, value, c) => o.onRun?.(m.algorithm, si, i, n, value, c),
    }));
    return methodResult(m, sweeps, performance.now() - t0);
  });
}

/** A method's result from its sweeps (one per seed, in seed order) and the time they took. */
export function methodResult(m: MethodPlan, sweeps: SweepResult[], ms: number): MethodResult {
  return {
    algorithm: m.algorithm, knob: m.knob, seeds: m.seeds, sweeps,
    edgeAuc: summarise(sweeps.map((s) => s.edgeAuc)), nodeAuc: summarise(sweeps.map((s) => s.nodeAuc)),
    graphNodeAuc: summarise(sweeps.map((s) => s.graphNodeAuc)),
    ms, runs: sweeps.reduce((a, s) => a + s.runs.length, 0),
  };
}
