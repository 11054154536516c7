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

/**
 * The arithmetic a trial cannot avoid, in FLOPs (2 per multiply-add of the
 * matmuls and of attention's QKᵀ and pattern·V; norms and activations left
 * out), for a receiver of `kind` in `layer` of a sequential-residual model
 * with B prompts × T positions and R metric rows (one per prompt, at the
 * last position): the receiver's own node over every row (a head's q/k/v
 * projection, its attention and result, then its layer's MLP; or the MLP),
 * every later layer in full, the last layer's keys and values at every row
 * and the rest at the metric rows, and the unembedding at the metric rows.
 */
export function trialFlops(cfg, B, T, R, layer, kind) {
  const { dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V, nLayers: L } = cfg;
  const N = B * T;
  const attnHead = (queries) => 2 * 2 * queries * T * Dh; // scores and pattern·V, every key (an upper bound under the causal mask)
  const head = (rows) => 2 * rows * D * Dh + attnHead(rows) + 2 * rows * Dh * D;
  const mlp = (rows) => 2 * 2 * rows * D * M;
  const full = 2 * N * D * 3 * H * Dh + H * attnHead(N) + 2 * N * H * Dh * D + mlp(N);
  const last = 2 * N * D * 2 * H * Dh + 2 * R * D * H * Dh + H * attnHead(R) + 2 * R * H * Dh * D + mlp(R);
  const unembed = 2 * R * D * V;
  if (kind === "output") return unembed;
  const attention = kind !== "mlp_in";
  if (layer === L - 1) {
    // Only a head's keys or values need every row; its query and result, and the MLP, the metric rows.
    const own = attention ? (kind === "q_input" ? head(R) : 2 * N * D * Dh + attnHead(R) + 2 * R * Dh * D) : 0;
    return own + mlp(R) + unembed;
  }
  const own = (attention ? head(N) : 0) + mlp(N);
  return own + (L - 2 - layer) * full + last + unembed;
}

/** The receiver kind whose trial a group's costs like: a direct q/k/v edge's trial recomputes what its q input's does. */
const costKind = (x) => (x.kind === "q/k/v (direct)" ? "q_input" : x.kind);

/** Each layer's edge-weighted mean of its groups' `key` into o[key]; returns the sum over every edge. */
function edgeWeighted(tr, key) {
  for (const o of tr.layers) o[key] = tr.groups.filter((x) => x.layer === o.layer).reduce((a, x) => a + x.count * x[key], 0) / o.edges;
  return tr.groups.reduce((a, x) => a + x.count * x[key], 0);
}

/** layerTrials' result with FLOPs: per group, per layer (edge-weighted) and for the whole search, and the rates they imply. */
export function withFlops(tr, cfg, B, T, R) {
  for (const x of tr.groups) x.flops = trialFlops(cfg, B, T, R, x.layer, costKind(x));
  tr.flops = edgeWeighted(tr, "flops");
  for (const o of tr.layers) o.gflopsPerSec = o.flops / (o.msPerEdge * 1e6);
  tr.gflopsPerSec = tr.flops / (tr.totalMs * 1e6);
  return tr;
}

/**
 * The f32 weight bytes a trial must read (every weight matrix it multiplies
 * by, once; biases and norms left out), for the receivers trialFlops counts:
 * the receiver's own head projection and W_O rows (or nothing, for an MLP
 * input) and its layer's MLP, every later layer's attention and MLP
 * weights, and the unembedding.
 */
export function trialBytes(cfg, layer, kind) {
  const { dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V, nLayers: L } = cfg;
  const unembed = D * V, mlp = 2 * D * M, head = 2 * D * Dh, fullLayer = 4 * D * H * Dh + mlp;
  if (kind === "output") return 4 * unembed;
  const own = (kind === "mlp_in" ? 0 : head) + mlp;
  return 4 * (own + (L - 1 - layer) * fullLayer + unembed);
}

/** Milliseconds no kernel can beat for `flops` of arithmetic over `bytes` of weights: the longer of the two at the f32x4 peak and one thread's read bandwidth (they can overlap at best). */
export function rooflineMs(flops, bytes, { peakGflops, readGBps }) {
  return Math.max(flops / (peakGflops * 1e6), bytes / (readGBps * 1e6));
}

/**
 * A roofline floor under each trial (rooflineMs of its FLOPs and trialBytes),
 * per group, per layer (edge-weighted) and summed over the whole search;
 * layerTrials' result (with withFlops) gets `floorMs` fields.
 */
export function withFloor(tr, cfg, peakGflops, readGBps) {
  const limits = { peakGflops, readGBps };
  for (const x of tr.groups) x.floorMs = rooflineMs(x.flops, trialBytes(cfg, x.layer, costKind(x)), limits);
  tr.floorTotalMs = edgeWeighted(tr, "floorMs");
  tr.floorMsPerEdge = tr.floorTotalMs / tr.edges;
  tr.limits = limits;
  return tr;
}
