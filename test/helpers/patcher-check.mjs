// The patcher against the slow exact path, for any architecture a test
// names: each incremental trial's metric, and the committed state after a
// random walk of removals and commits, equal a float64 patched forward pass
// computed from scratch from the canonical weights (test/reference/
// slow-patch.mjs), under every ablation; the float64 oracle itself equals
// the model at the metric rows; setPresent agrees with the incremental
// state; and ACDC on the model runs twice to the same bits.
import { acdc, buildGraph, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { rng } from "./fixtures.mjs";
import { randomWeights } from "./random-model.mjs";
import { slowPatchedKL } from "../reference/slow-patch.mjs";

/** Two prompts of five tokens, three metric rows. */
export const PATCH_DATA = { clean: [[1, 4, 2, 7, 3], [9, 0, 5, 5, 2]], corrupted: [[3, 3, 8, 1, 6], [2, 7, 7, 0, 4]], positions: [[4, 2], [3]] };
/** A 2-layer, 4-head, 16-wide model; each case overrides what its architecture changes. */
export const PATCH_BASE = { nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dMlp: 24, dVocab: 11, nCtx: 8 };

/**
 * `steps` random draws over the testable edges (`random`: a seeded rng); each
 * still present is tried and its metric set against `slowKl(present)` (the
 * float64 pass with that edge removed), then committed (60%) or rejected.
 * Returns the worst relative error (denominator floored at `floor`), the
 * trials made, and how many moved the metric by more than 1e-6.
 */
export function walkAgainstSlow(p, slowKl, random, steps, floor) {
  const testable = p.graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
  let worst = 0, n = 0, moved = 0;
  for (let step = 0; step < steps; step++) {
    const eid = testable[Math.floor(random() * testable.length)];
    if (!p.present[eid]) continue;
    const fast = p.trial(eid);
    const present = Uint8Array.from(p.present);
    present[eid] = 0;
    const want = slowKl(present);
    worst = Math.max(worst, Math.abs(fast - want) / Math.max(floor, Math.abs(want)));
    if (Math.abs(want - p.current) > 1e-6) moved++;
    n++;
    if (random() < 0.6) p.commit();
    else p.reject();
  }
  return { worst, n, moved };
}

/** Register the check for each [name, config overrides] case: weights from `weightSeed`, the walk's edges from `walkSalt`. */
export function checkPatcherCases(t, cases, { weightSeed, walkSalt }) {
  const data = PATCH_DATA, base = PATCH_BASE;
  for (const [name, over] of cases) {
    t.test(`${name}: trials equal a from-scratch float64 patched pass`, async (t) => {
      const cfg = makeConfig({ ...base, ...over });
      const W = randomWeights(cfg, weightSeed);
      const model = await Transformer.create(cfg, W);
      const graph = buildGraph(cfg);
      const full = model.forward(data.clean).logits;
      for (const ablation of ["corrupted", "zero", "mean"]) {
        const p = new Patcher(model, graph, data, { ablation, metric: klMetric() });
        const e = model.engine, { B, T, N } = p, V = cfg.dVocab;
        const clean = e.f32(p.ctx.cleanLogits, p.R * V);
        let d = 0;
        p.rowIndex.forEach((row, r) => {
          const b = Math.floor(row / T), pos = row % T;
          for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(clean[r * V + v] - full[(b * data.clean[0].length + pos) * V + v]));
        });
        t.ok(d < 1e-5, `${ablation}: the clean run equals the forward pass at the metric rows (max |diff| ${d.toExponential(2)})`);
        const ids = [];
        for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) ids.push(data.clean[b][i]);
        const ablated = (id) => Float64Array.from(e.f32(p.ablated(id), graph.nodes[id].kind === "qkv" ? N * cfg.dHead : N * cfg.dModel));
        const slow = (present, cleanLogProbs) => slowPatchedKL({ W, cfg, graph, present, ablated, ids, B, T, rows: Array.from(p.rowIndex), cleanLogProbs });
        const { logProbs: cleanLogProbs } = slow(p.present);
        // The slow pass with every edge present is the model: check the float64 forward itself first.
        let dl = 0;
        p.rowIndex.forEach((row, r) => {
          const lc = Array.from(clean.subarray(r * V, (r + 1) * V)), mx = Math.max(...lc), lse = mx + Math.log(lc.reduce((a, x) => a + Math.exp(x - mx), 0));
          for (let v = 0; v < V; v++) dl = Math.max(dl, Math.abs(lc[v] - lse - cleanLogProbs[r][v]));
        });
        t.ok(dl < 1e-5, `${ablation}: float64 oracle's clean log-probabilities match the model's (max |diff| ${dl.toExponential(2)})`);
        const { worst, n, moved } = walkAgainstSlow(p, (present) => slow(present, cleanLogProbs).kl, rng(name.length * walkSalt + ablation.length), 30, 1e-3);
        const want = slow(p.present, cleanLogProbs).kl;
        t.ok(n >= 15 && moved >= 5, `${ablation}: ${n} trials checked, ${moved} of them move the metric`);
        t.ok(worst < 2e-4, `${ablation}: every trial within 2e-4 (relative, floor 1e-3) of float64 (worst ${worst.toExponential(2)})`);
        t.ok(Math.abs(p.current - want) <= 2e-4 * Math.max(1e-3, want), `${ablation}: committed state ${p.current.toExponential(4)} vs ${want.toExponential(4)}`);
        // setPresent (a whole pass under the mask) agrees with the incremental state.
        const q = new Patcher(model, graph, data, { ablation, metric: klMetric() });
        const viaMask = q.setPresent(Uint8Array.from(p.present));
        t.ok(Math.abs(viaMask - p.current) <= 1e-5 * Math.max(1, p.current), `${ablation}: setPresent ${viaMask.toExponential(4)} = incremental ${p.current.toExponential(4)}`);
      }
      const r = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-4 });
      const r2 = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-4 });
      t.ok(r.stats.tested > 0 && r.edges.length > 0, `ACDC ran: ${r.stats.tested} tested, ${r.edges.length} kept`);
      t.same(r2.trace.map((x) => x.metric), r.trace.map((x) => x.metric), "a second run is bit-identical");
    });
  }
}

/**
 * Linear estimate (d metric / dε at 0) of removing each edge, by central
 * differences on the patcher: clean + ε·Δ in the ablated slot of every node
 * a trial reads (writers and q/k/v nodes), the edge removed, ±ε.
 */
export function linearEstimates(p, edgeIds, eps) {
  const g = p.graph, e = p.e;
  const nodes = g.nodes.filter((n) => !["qkv_input", "mlp_in", "output"].includes(n.kind));
  const size = (id) => (g.nodes[id].kind === "qkv" ? p.N * p.model.cfg.dHead : p.N * p.model.cfg.dModel);
  const saved = new Map(nodes.map((n) => [n.id, Float32Array.from(e.f32(p.ablated(n.id), size(n.id)))]));
  const setEps = (s) => nodes.forEach((n) => {
    const a = e.f32(p.ablated(n.id), size(n.id)), c = e.f32(p.value(n.id), size(n.id)), d = saved.get(n.id);
    for (let i = 0; i < a.length; i++) a[i] = c[i] + s * (d[i] - c[i]);
  });
  const plus = new Map(), minus = new Map(), out = new Map();
  setEps(eps); for (const id of edgeIds) { plus.set(id, p.trial(id)); p.reject(); }
  setEps(-eps); for (const id of edgeIds) { minus.set(id, p.trial(id)); p.reject(); }
  nodes.forEach((n) => e.f32(p.ablated(n.id), size(n.id)).set(saved.get(n.id)));
  for (const id of edgeIds) out.set(id, (plus.get(id) - minus.get(id)) / (2 * eps));
  return out;
}
