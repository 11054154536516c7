// Which ACDC edge trials the bench times, and how their times become an
// estimate over every edge: edges grouped by receiver layer (the output
// counts as layer L) and receiver kind, since a trial recomputes the
// receiver and what lies downstream of it, so its cost depends on where the
// receiver sits, not on the sender.

/** The kind of an edge's receiver as the report names it: output, mlp_in, q/k/v_input, or "q/k/v (direct)". */
export function receiverKind(g, ed) {
  const n = g.nodes[ed.child];
  if (ed.type === "direct") return "q/k/v (direct)";
  if (n.kind === "qkv_input") return `${n.letter}_input`;
  return n.kind;
}

/** Receiver kinds in report order. */
export const KINDS = ["output", "mlp_in", "q_input", "k_input", "v_input", "q/k/v (direct)"];

/**
 * Stratified sample by receiver layer: each layer gets its share of `size`
 * edges (at least `minPerLayer`), shuffled with r. The overall mean (see
 * weightedEdgeMs) weights each layer by its share of all testable edges, so
 * it estimates a uniform sample's mean with the early (costly) layers covered.
 */
export function edgeSample(g, r, size, minPerLayer) {
  const testable = g.edges.filter((ed) => ed.type !== "placeholder");
  const layerOf = (ed) => g.nodes[ed.child].layer;
  const strata = new Map();
  for (const ed of testable) { const l = layerOf(ed); if (!strata.has(l)) strata.set(l, []); strata.get(l).push(ed); }
  const sample = [];
  for (const [, eds] of [...strata].sort((a, b) => a[0] - b[0])) {
    const n = Math.min(eds.length, Math.max(minPerLayer, Math.round((size * eds.length) / testable.length)));
    const pool = eds.slice();
    for (let i = 0; i < n; i++) { const j = i + Math.floor(r() * (pool.length - i)); [pool[i], pool[j]] = [pool[j], pool[i]]; sample.push(pool[i]); }
  }
  for (let i = sample.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [sample[i], sample[j]] = [sample[j], sample[i]]; }
  return { testable, layerOf, strata, sample };
}

/** Layer-weighted mean ms per edge (an estimate over all testable edges) from timed trials {layer, ms}. */
export function weightedEdgeMs(times, strata) {
  let sum = 0, weight = 0;
  for (const [l, eds] of strata) {
    const ts = times.filter((o) => o.layer === l).map((o) => o.ms);
    if (!ts.length) continue;
    sum += (ts.reduce((a, b) => a + b, 0) / ts.length) * eds.length;
    weight += eds.length;
  }
  return sum / weight;
}

/** Milliseconds of one trial of edge `id` on patcher p (trial, then reject), and its metric. */
export function timeTrial(p, id) {
  const t = performance.now();
  const metric = p.trial(id);
  p.reject();
  return { ms: performance.now() - t, metric };
}
