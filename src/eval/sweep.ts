// A sweep: one run of an algorithm per value of its knob (ACDC's threshold,
// attribution's threshold or top-k, …) on the same model and data, each
// circuit scored against a ground truth at the edge and the component level,
// giving the ROC curves, their AUCs and the faithfulness curve (metric vs.
// edges kept).
import type { Graph } from "../graph/graph.js";
import type { Transformer } from "../model/transformer.js";
import { Patcher, type Ablation, type PatchData } from "../patch/patcher.js";
import type { Metric } from "../metrics.js";
import type { Circuit } from "../circuit.js";
import { getAlgorithm, type RunOptions } from "../algorithms/registry.js";
import { InputError } from "../errors.js";
import { allComponents, allGraphNodes, componentsOf, confusion, edgeKey, graphNodesOf, rocAuc, type Confusion, type RocPoint } from "./roc.js";

export interface SweepOptions {
  model: Transformer;
  graph: Graph;
  data: PatchData;
  /** A fresh metric per run (metrics hold wasm scratch). */
  metric: () => Metric;
  ablation: Ablation;
  /** Registry key (default "acdc"). */
  algorithm?: string;
  /** Values of the algorithm's knob, one run each. */
  values: number[];
  /** The option the values set (default the algorithm's own knob; e.g. "topK" for attribution). */
  knob?: keyof RunOptions;
  /** Other options for every run (igSteps, topK for hybrid, …). */
  options?: RunOptions;
  /** Ground-truth edges as [parent label, child label]. */
  groundTruth: [string, string][];
  onRun?: (i: number, n: number, value: number, c: Circuit) => void;
}

export interface SweepRun {
  /** The knob's value for this run (ACDC: its threshold). */
  value: number;
  numKept: number;
  numTested: number;
  metric: number;
  edges: Confusion;
  /** Heads and MLPs. */
  nodes: Confusion;
  /** Graph nodes as the reference's node ROC counts them (MLP inputs left out). */
  graphNodes: Confusion;
  searchMs: number;
}

export interface SweepResult {
  algorithm: string;
  knob: string;
  runs: SweepRun[];
  edgeAuc: number;
  nodeAuc: number;
  graphNodeAuc: number;
  edgeRoc: RocPoint[];
  nodeRoc: RocPoint[];
  graphNodeRoc: RocPoint[];
  /** [edges kept, metric] per run, sorted by edges kept. */
  faithfulness: [number, number][];
}

/** Refuse ground-truth edges that are not counted edges of the graph. */
export function checkGroundTruth(g: Graph, truth: [string, string][]): void {
  for (const [p, c] of truth) {
    const a = g.byLabel.get(p), b = g.byLabel.get(c);
    if (a === undefined || b === undefined || !g.edges.some((e) => e.parent === a && e.child === b && e.type !== "placeholder")) {
      throw new InputError(`ground-truth edge ${p} → ${c} is not a counted edge of the graph`);
    }
  }
}

/** Score one circuit against a ground truth: edges, heads/MLPs, and graph nodes as the reference counts them. */
export function scoreCircuit(g: Graph, c: Circuit, truth: [string, string][]): CircuitScores {
  return scoreEdges(g, c.edges.map((x) => [g.nodes[x.parent].label, g.nodes[x.child].label]), truth);
}

/** Score kept edges given as [parent label, child label] (a circuit JSON's edges) against a ground truth. */
export function scoreEdges(g: Graph, pairs: [string, string][], truth: [string, string][]): CircuitScores {
  return {
    edges: confusion(new Set(pairs.map(([a, b]) => edgeKey(a, b))), new Set(truth.map(([p, q]) => edgeKey(p, q))), g.counts.addition + g.counts.direct),
    nodes: confusion(componentsOf(g, pairs), componentsOf(g, truth), allComponents(g).size),
    graphNodes: confusion(graphNodesOf(g, pairs), graphNodesOf(g, truth), allGraphNodes(g).size),
  };
}

/** A circuit's confusion counts: edges, heads/MLPs, graph nodes as the reference counts them. */
export interface CircuitScores { edges: Confusion; nodes: Confusion; graphNodes: Confusion }

/** One run's row: the knob value, what the circuit kept and tested, its metric and time, and its scores. */
export function sweepRow(value: number, c: { numKept: number; numTested: number; metric: number; searchMs: number }, scores: CircuitScores): SweepRun {
  return { value, numKept: c.numKept, numTested: c.numTested, metric: c.metric, searchMs: c.searchMs, ...scores };
}

/** The ROC curves, AUCs and faithfulness curve of a sweep's rows (in knob order). */
export function sweepResult(algorithm: string, knob: string, runs: SweepRun[]): SweepResult {
  const edgeRoc = runs.map((r) => ({ fpr: r.edges.fpr, tpr: r.edges.tpr, threshold: r.value }));
  const nodeRoc = runs.map((r) => ({ fpr: r.nodes.fpr, tpr: r.nodes.tpr, threshold: r.value }));
  const graphNodeRoc = runs.map((r) => ({ fpr: r.graphNodes.fpr, tpr: r.graphNodes.tpr, threshold: r.value }));
  return {
    algorithm, knob, runs, edgeRoc, nodeRoc, graphNodeRoc, edgeAuc: rocAuc(edgeRoc), nodeAuc: rocAuc(nodeRoc), graphNodeAuc: rocAuc(graphNodeRoc),
    faithfulness: runs.map((r) => [r.numKept, r.metric] as [number, number]).sort((a, b) => a[0] - b[0]),
  };
}

/** Run the algorithm at each knob value and score the circuits against the ground truth. */
export function sweep(o: SweepOptions): SweepResult {
  const g = o.graph;
  const alg = getAlgorithm(o.algorithm ?? "acdc");
  const knob = o.knob ?? alg.knob.option;
  checkGroundTruth(g, o.groundTruth);
  const e = o.model.engine;
  const runs: SweepRun[] = [];
  o.values.forEach((value, i) => {
    const mark = e.mark();
    try {
      const p = new Patcher(o.model, g, o.data, { ablation: o.ablation, metric: o.metric() });
      const c = alg.run(p, { ...o.options, [knob]: value });
      runs.push(sweepRow(value, { numKept: c.edges.length, numTested: c.stats.tested, metric: c.metric, searchMs: c.stats.ms }, scoreCircuit(g, c, o.groundTruth)));
      o.onRun?.(i, o.values.length, value, c);
    } finally {
      e.reset(mark);
    }
  });
  return sweepResult(alg.key, knob, runs);
}
