// A threshold sweep: one ACDC run per threshold on the same model and data,
// each circuit scored against a ground truth at the edge and the component
// level, giving the ROC curves, their AUCs and the faithfulness curve
// (metric vs. edges kept).
import type { Graph } from "../graph/graph.js";
import type { Transformer } from "../model/transformer.js";
import { Patcher, type Ablation, type PatchData } from "../graph/patcher.js";
import type { Metric } from "../metrics.js";
import { acdc, type AcdcResult } from "../algorithms/acdc.js";
import { allComponents, componentsOf, confusion, edgeKey, rocAuc, type Confusion, type RocPoint } from "./roc.js";

export interface SweepOptions {
  model: Transformer;
  graph: Graph;
  data: PatchData;
  /** A fresh metric per run (metrics hold wasm scratch). */
  metric: () => Metric;
  ablation: Ablation;
  thresholds: number[];
  /** Ground-truth edges as [parent label, child label]. */
  groundTruth: [string, string][];
  onRun?: (i: number, n: number, threshold: number, r: AcdcResult) => void;
}

export interface SweepRun {
  threshold: number;
  numKept: number;
  numTested: number;
  metric: number;
  edges: Confusion;
  nodes: Confusion;
  searchMs: number;
}

export interface SweepResult {
  runs: SweepRun[];
  edgeAuc: number;
  nodeAuc: number;
  edgeRoc: RocPoint[];
  nodeRoc: RocPoint[];
  /** [edges kept, metric] per run, sorted by edges kept. */
  faithfulness: [number, number][];
}

/** `n` thresholds 10^linspace(lo, hi, n), as the paper sweeps them. */
export function logspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => 10 ** (n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1)));
}

/** Run ACDC at each threshold and score the circuits against the ground truth. */
export function sweep(o: SweepOptions): SweepResult {
  const g = o.graph;
  for (const [p, c] of o.groundTruth) {
    const a = g.byLabel.get(p), b = g.byLabel.get(c);
    if (a === undefined || b === undefined || !g.edges.some((e) => e.parent === a && e.child === b && e.type !== "placeholder")) {
      throw new Error(`ground-truth edge ${p} → ${c} is not a counted edge of the graph`);
    }
  }
  const truthEdges = new Set(o.groundTruth.map(([p, c]) => edgeKey(p, c)));
  const truthNodes = componentsOf(g, o.groundTruth);
  const totalEdges = g.counts.addition + g.counts.direct;
  const totalNodes = allComponents(g).size;
  const e = o.model.engine;
  const runs: SweepRun[] = [];
  o.thresholds.forEach((threshold, i) => {
    const mark = e.mark();
    try {
      const p = new Patcher(o.model, g, o.data, { ablation: o.ablation, metric: o.metric() });
      const r = acdc(p, { threshold });
      const pairs: [string, string][] = r.edges.map((x) => [g.nodes[x.parent].label, g.nodes[x.child].label]);
      runs.push({
        threshold, numKept: r.edges.length, numTested: r.tested, metric: r.metric, searchMs: r.searchMs,
        edges: confusion(new Set(pairs.map(([a, b]) => edgeKey(a, b))), truthEdges, totalEdges),
        nodes: confusion(componentsOf(g, pairs), truthNodes, totalNodes),
      });
      o.onRun?.(i, o.thresholds.length, threshold, r);
    } finally {
      e.reset(mark);
    }
  });
  const edgeRoc = runs.map((r) => ({ fpr: r.edges.fpr, tpr: r.edges.tpr, threshold: r.threshold }));
  const nodeRoc = runs.map((r) => ({ fpr: r.nodes.fpr, tpr: r.nodes.tpr, threshold: r.threshold }));
  return {
    runs, edgeRoc, nodeRoc, edgeAuc: rocAuc(edgeRoc), nodeAuc: rocAuc(nodeRoc),
    faithfulness: runs.map((r) => [r.numKept, r.metric] as [number, number]).sort((a, b) => a[0] - b[0]),
  };
}
