// ACDC's per-trial cost by where the receiver sits, and the whole-search
// estimate built from it: every counted edge grouped by (receiver layer,
// receiver kind); a few representative edges per group tried and rejected
// on a Patcher; the estimate is Σ over groups of (edges in the group) ×
// (the group's mean trial time). A trial's cost depends on the receiver
// (it recomputes the receiver and what lies downstream), not on the sender,
// so a few edges stand for a group. An upper bound for a real search, which
// skips disconnected nodes and whose removed edges shrink later trials.
import { receiverKind, KINDS, timeTrial } from "./edges.js";

/** Counted edges grouped by receiver layer and kind, from the output down to layer 0. */
export function trialGroups(g) {
  const groups = new Map();
  for (const ed of g.edges) {
    if (ed.type === "placeholder") continue;
    const layer = g.nodes[ed.child].layer, kind = receiverKind(g, ed), key = `${layer} ${kind}`;
    if (!groups.has(key)) groups.set(key, { layer, kind, edges: [] });
    groups.get(key).edges.push(ed.id);
  }
  return [...groups.values()].sort((a, b) => b.layer - a.layer || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
}

/** Kinds not timed in a quick run take the time of this kind in the same layer (the same recomputation downstream). */
const STAND_IN = { mlp_in: "q_input", k_input: "q_input", v_input: "q_input", "q/k/v (direct)": "q_input" };

/**
 * Time `reps` trials per group (edges evenly spaced through the group), only
 * of `kinds` when given (the others take STAND_IN's time), after one
 * uncounted warm-up trial into the output. Returns the groups with their
 * times, a row per receiver layer and the whole-search estimate.
 */
export function layerTrials(p, { reps = 1, kinds = null } = {}) {
  const g = p.graph, L = p.model.cfg.nLayers;
  const groups = trialGroups(g);
  const out = groups.find((x) => x.kind === "output");
  timeTrial(p, out.edges[0]);
  for (const x of groups) {
    x.count = x.edges.length;
    if (kinds && !kinds.includes(x.kind)) continue;
    const n = Math.min(reps, x.count);
    x.trials = Array.from({ length: n }, (_, r) => {
      const id = x.edges[Math.floor(((r + 0.5) * x.count) / n)];
      return { edge: id, ...timeTrial(p, id) };
    });
    x.ms = x.trials.reduce((a, t) => a + t.ms, 0) / n;
  }
  for (const x of groups) {
    if (x.ms !== undefined) continue;
    const src = groups.find((y) => y.layer === x.layer && y.kind === STAND_IN[x.kind] && y.ms !== undefined);
    if (!src) throw new Error(`layerTrials: no time for ${x.kind} in layer ${x.layer} and no stand-in`);
    x.ms = src.ms;
    x.standIn = src.kind;
  }
  const layers = [];
  for (let l = L; l >= 0; l--) {
    const gs = groups.filter((x) => x.layer === l);
    const edges = gs.reduce((a, x) => a + x.count, 0), totalMs = gs.reduce((a, x) => a + x.count * x.ms, 0);
    layers.push({ layer: l, edges, msPerEdge: totalMs / edges, totalMs, kinds: Object.fromEntries(gs.map((x) => [x.kind, x.ms])) });
  }
  const totalMs = layers.reduce((a, x) => a + x.totalMs, 0), edges = layers.reduce((a, x) => a + x.edges, 0);
  return {
    groups: groups.map(({ edges: _ids, ...x }) => x), layers, edges, totalMs, msPerEdge: totalMs / edges,
    timed: groups.reduce((a, x) => a + (x.trials?.length ?? 0), 0),
  };
}
