// The result every discovery algorithm returns: which edges of the graph
// are kept, the metric of the full model and of the circuit (always from a
// real patched pass, never an estimate), per-edge scores in the method's own
// sense, the decisions in order (for step-by-step methods), and run stats.
// Writers (io/) and evaluation (eval/) read only this.
import type { Graph, GraphEdge } from "./graph/graph.js";

/** One ACDC-style decision: the edge tried, the metric with it removed, and whether it stayed removed. */
export interface Decision {
  edge: number;
  metric: number;
  removed: boolean;
}

/** What a score means: the metric with the edge removed when it was tried (ACDC), or an attribution estimate (EAP). */
export type ScoreKind = "metric-when-removed" | "attribution" | "mask";

export interface Circuit {
  /** Registry key of the algorithm that found it. */
  algorithm: string;
  graph: Graph;
  /** 1 where the edge is kept (placeholders always 1), per edge id. */
  present: Uint8Array;
  /** Kept addition and direct edges that reach the output. */
  edges: GraphEdge[];
  /** Score per edge id (NaN where the method gave none). */
  scores: Float64Array;
  scoreKind: ScoreKind;
  /** Metric of the full model and of the circuit (a real patched pass). */
  baseline: number;
  metric: number;
  /** Decisions in order (empty for one-shot methods). */
  trace: Decision[];
  /** The knob the circuit was cut at (threshold, top-k, …) and its value. */
  knob: { name: string; value: number };
  stats: { tested: number; ms: number; candidates?: number };
}

/** Kept edges that lead to the output through kept edges (placeholders stay); everything else removed. */
export function pruneToOutput(g: Graph, chosen: Uint8Array): Uint8Array {
  const present = new Uint8Array(g.edges.length);
  for (const ed of g.edges) present[ed.id] = ed.type === "placeholder" || chosen[ed.id] ? 1 : 0;
  const alive = new Uint8Array(g.nodes.length);
  alive[g.output] = 1;
  // Visit order runs from the output backward, so children are decided first.
  for (const x of g.visitOrder) {
    if (x !== g.output) alive[x] = g.children[x].some((eid) => present[eid] && alive[g.edges[eid].child]) ? 1 : 0;
  }
  for (const ed of g.edges) if (ed.type !== "placeholder" && !alive[ed.child]) present[ed.id] = 0;
  return present;
}

/** Counted (addition and direct) edges present in a mask. */
export function keptEdges(g: Graph, present: Uint8Array): GraphEdge[] {
  return g.edges.filter((ed) => ed.type !== "placeholder" && present[ed.id]);
}

/** Counted edges of a graph (addition + direct). */
export function countedEdges(g: Graph): number {
  return g.counts.addition + g.counts.direct;
}
