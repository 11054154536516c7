// The path of one step-by-step search (ACDC) through metric-vs-edges space,
// from its trace: it starts at the full graph and the full model's metric;
// each accepted removal moves one edge left to the metric it left behind;
// each refused removal is a point above the path at the metric it would have
// caused (why that edge is in the circuit). A sweep whose runs all land on
// one circuit shows a single point; this shows how the search got there.
// Not a re-run: the trace's metrics are the ones the search measured.
import { countedEdges, type Circuit } from "../circuit.js";

export interface Trajectory {
  /** [edges present, current metric] after each accepted removal, ending at the pruned circuit. */
  path: [number, number][];
  /** [edges present, metric had the edge been removed] for each removal refused. */
  refused: [number, number][];
}

/** The metric-vs-edges path of a circuit's trace (empty for one-shot methods such as EAP). */
export function searchTrajectory(c: Circuit): Trajectory {
  return trajectoryOf(countedEdges(c.graph), c.baseline, c.trace, c.edges.length, c.metric);
}

/**
 * The same path from its parts, as a run manifest records them (a distributed
 * sweep's runs come back as manifests): the graph's counted edges, the full
 * model's metric, the decisions in order, and the circuit's size and metric.
 */
export function trajectoryOf(total: number, baseline: number, decisions: { removed: boolean; metric: number }[], kept: number, metric: number): Trajectory {
  let edges = total, current = baseline;
  const path: [number, number][] = [[edges, current]], refused: [number, number][] = [];
  if (!decisions.length) return { path: [], refused };
  for (const d of decisions) {
    if (d.removed) { edges--; current = d.metric; path.push([edges, current]); }
    else refused.push([edges, d.metric]);
  }
  // Edges into nodes cut off from the output were dropped untested: the circuit's own count and measured metric.
  path.push([kept, metric]);
  return { path, refused };
}
