// ACDC (Conmy et al. 2023) as ../shared/ACDC_SPEC.md defines it: visit nodes
// from the output backward; for each node still connected to the live
// circuit, try removing each incoming addition/direct edge in attachment
// order and keep it removed when the metric rises by less than the threshold.
import type { Patcher } from "../patch/patcher.js";
import type { Circuit, Decision } from "../circuit.js";
import { InputError } from "../errors.js";
import type { Progress } from "./progress.js";

export interface AcdcOptions {
  threshold: number;
  /** Called after each decision. */
  onProgress?: (p: Progress) => void;
}

/** Run the ACDC search on a patcher; edges it has already removed stay removed (hybrid). */
export function acdc(p: Patcher, opts: AcdcOptions): Circuit {
  const { threshold } = opts;
  if (typeof threshold !== "number" || !Number.isFinite(threshold) || threshold < 0) throw new InputError(`threshold must be a finite non-negative number, got ${threshold}`);
  const g = p.graph;
  const t0 = performance.now();
  const alive = new Uint8Array(g.nodes.length);
  alive[g.output] = 1;
  const trace: Decision[] = [];
  const scores = new Float64Array(g.edges.length).fill(NaN);
  const total = g.counts.addition + g.counts.direct;
  let skipped = 0;
  const report = (node: number, decision?: Decision) => opts.onProgress?.({ phase: "acdc", done: trace.length + skipped, total, tested: trace.length, skipped, node: g.nodes[node].label, ms: performance.now() - t0, decision });
  for (const x of g.visitOrder) {
    const testable = g.parents[x].filter((eid) => g.edges[eid].type !== "placeholder");
    if (x !== g.output) {
      // A node with no present edge into the live circuit cannot matter: skip it.
      const connected = g.children[x].some((eid) => p.present[eid] && alive[g.edges[eid].child]);
      if (!connected) {
        skipped += testable.length;
        if (testable.length) report(x);
        continue;
      }
      alive[x] = 1;
    }
    for (const eid of testable) {
      // Already removed before the search (hybrid mode: EAP pruned it).
      if (!p.present[eid]) { skipped++; report(x); continue; }
      const m = p.trial(eid);
      const removed = m - p.current < threshold;
      if (removed) p.commit();
      else p.reject();
      const d = { edge: eid, metric: m, removed };
      trace.push(d);
      scores[eid] = m;
      report(x, d);
    }
  }
  const present = p.present.slice();
  for (const ed of g.edges) if (ed.type !== "placeholder" && !alive[ed.child]) present[ed.id] = 0;
  const edges = g.edges.filter((e) => e.type !== "placeholder" && p.present[e.id] && alive[e.child]);
  return {
    algorithm: "acdc", graph: g, present, edges, scores, scoreKind: "metric-when-removed",
    baseline: p.baseline, metric: p.current, trace, knob: { name: "threshold", value: threshold },
    stats: { tested: trace.length, ms: performance.now() - t0 },
  };
}
