// ACDC (Conmy et al. 2023) as ../shared/ACDC_SPEC.md defines it: visit nodes
// from the output backward; for each node still connected to the live
// circuit, try removing each incoming addition/direct edge in attachment
// order and keep it removed when the metric rises by less than the threshold.
import type { Patcher } from "../graph/patcher.js";
import type { GraphEdge } from "../graph/graph.js";

export interface AcdcOptions {
  threshold: number;
  /** Called after each decision with edges decided so far (tested + skipped) of `total`. */
  onProgress?: (done: number, total: number) => void;
}

export interface Decision {
  edge: number;
  /** Metric with the edge removed (on top of earlier decisions). */
  metric: number;
  removed: boolean;
}

export interface AcdcResult {
  threshold: number;
  baseline: number;
  /** Metric of the final circuit. */
  metric: number;
  /** Kept addition and direct edges whose child is alive. */
  edges: GraphEdge[];
  alive: Uint8Array;
  trace: Decision[];
  tested: number;
  searchMs: number;
}

/** Run the ACDC search on a patcher; edges it has already removed stay removed. */
export function acdc(p: Patcher, opts: AcdcOptions): AcdcResult {
  const { threshold } = opts;
  if (typeof threshold !== "number" || !Number.isFinite(threshold)) throw new Error(`threshold must be a finite number, got ${threshold}`);
  const g = p.graph;
  const t0 = performance.now();
  const alive = new Uint8Array(g.nodes.length);
  alive[g.output] = 1;
  const trace: Decision[] = [];
  const total = g.counts.addition + g.counts.direct;
  let done = 0;
  for (const x of g.visitOrder) {
    const testable = g.parents[x].filter((eid) => g.edges[eid].type !== "placeholder");
    if (x !== g.output) {
      // A node with no present edge into the live circuit cannot matter: skip it.
      const connected = g.children[x].some((eid) => p.present[eid] && alive[g.edges[eid].child]);
      if (!connected) {
        done += testable.length;
        if (testable.length) opts.onProgress?.(done, total);
        continue;
      }
      alive[x] = 1;
    }
    for (const eid of testable) {
      // Already removed before the search (hybrid mode: EAP pruned it).
      if (!p.present[eid]) { opts.onProgress?.(++done, total); continue; }
      const m = p.trial(eid);
      const removed = m - p.current < threshold;
      if (removed) p.commit();
      else p.reject();
      trace.push({ edge: eid, metric: m, removed });
      opts.onProgress?.(++done, total);
    }
  }
  const edges = g.edges.filter((e) => e.type !== "placeholder" && p.present[e.id] && alive[e.child]);
  return { threshold, baseline: p.baseline, metric: p.current, edges, alive, trace, tested: trace.length, searchMs: performance.now() - t0 };
}
