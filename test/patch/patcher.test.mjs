// The patcher on every architecture family it supports — GPT-2 style (LN,
// gelu_new, learned positions), llama style (RMSNorm, rotary positions,
// SwiGLU, grouped-query attention), multi-query, and bidirectional
// attention — checked against the slow exact path: each incremental trial's
// metric, and the committed state after a random walk of removals, equal a
// float64 patched forward pass computed from scratch from the canonical
// weights (test/reference/slow-patch.mjs), under every ablation.
import t from "tap";
import { acdc, buildGraph, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { paramTable } from "../../dist/model/params.js";
import { rng } from "../helpers/fixtures.mjs";
import { slowPatchedKL } from "../reference/slow-patch.mjs";

function randomWeights(cfg, seed) {
  const r = rng(seed);
  const W = new Map();
  for (const { name, shape, size } of paramTable(cfg)) {
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = name.endsWith(".w") ? 1 + 0.2 * (r() - 0.5) : (r() - 0.5) * 0.8;
    W.set(name, { shape, data });
  }
  return W;
}

const data = { clean: [[1, 4, 2, 7, 3], [9, 0, 5, 5, 2]], corrupted: [[3, 3, 8, 1, 6], [2, 7, 7, 0, 4]], positions: [[4, 2], [3]] };
const base = { nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dMlp: 24, dVocab: 11, nCtx: 8 };
const llama = { normalization: "RMS", positional: "rotary", actFn: "swiglu" };

for (const [name, over] of [
  ["GPT-2 style", {}],
  ["llama style (RMS, rotary, SwiGLU, 4 query heads on 2 kv heads)", { ...llama, nKvHeads: 2 }],
  ["multi-query (1 kv head)", { ...llama, nKvHeads: 1 }],
  ["bidirectional attention, relu MLP, no norm", { causal: false, actFn: "relu", normalization: "none" }],
  ["folded LayerNorm (LNPre), attention-only", { normalization: "LNPre", attnOnly: true, dMlp: 0 }],
]) {
  t.test(`${name}: trials equal a from-scratch float64 patched pass`, async (t) => {
    const cfg = makeConfig({ ...base, ...over });
    const W = randomWeights(cfg, 5);
    const model = await Transformer.create(cfg, W);
    const graph = buildGraph(cfg);
    const full = model.forward(data.clean).logits;
    for (const ablation of ["corrupted", "zero", "mean"]) {
      const p = new Patcher(model, graph, data, { ablation, metric: klMetric() });
      const e = model.engine, { B, T, N } = p, V = cfg.dVocab;
      // The patcher's clean run is the model's forward pass at the metric rows.
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
      const random = rng(name.length * 13 + ablation.length);
      const testable = graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
      let worst = 0, n = 0, moved = 0;
      for (let step = 0; step < 30; step++) {
        const eid = testable[Math.floor(random() * testable.length)];
        if (!p.present[eid]) continue;
        const fast = p.trial(eid);
        const present = Uint8Array.from(p.present);
        present[eid] = 0;
        const want = slow(present, cleanLogProbs).kl;
        worst = Math.max(worst, Math.abs(fast - want) / Math.max(1e-3, Math.abs(want)));
        if (Math.abs(want - p.current) > 1e-6) moved++;
        n++;
        if (random() < 0.6) p.commit();
        else p.reject();
      }
      const want = slow(p.present, cleanLogProbs).kl;
      t.ok(n >= 15 && moved >= 5, `${ablation}: ${n} trials checked, ${moved} of them move the metric`);
      t.ok(worst < 2e-4, `${ablation}: every trial within 2e-4 (relative, floor 1e-3) of float64 (worst ${worst.toExponential(2)})`);
      t.ok(Math.abs(p.current - want) <= 2e-4 * Math.max(1e-3, want), `${ablation}: committed state ${p.current.toExponential(4)} vs ${want.toExponential(4)}`);
    }
    const r = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-4 });
    const r2 = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-4 });
    t.ok(r.stats.tested > 0 && r.edges.length > 0, `ACDC ran: ${r.stats.tested} tested, ${r.edges.length} kept`);
    t.same(r2.trace.map((x) => x.metric), r.trace.map((x) => x.metric), "a second run is bit-identical");
  });
}

t.test("bad patching inputs are one-line InputErrors", async (t) => {
  const cfg = makeConfig(base);
  const model = await Transformer.create(cfg, randomWeights(cfg, 1));
  const graph = buildGraph(cfg);
  const make = (d, o = {}) => () => new Patcher(model, graph, { ...data, ...d }, { metric: klMetric(), ...o });
  t.throws(make({ positions: [[], [3]] }), { name: "InputError", message: /prompt 0 has an empty list/ }, "an empty positions list is refused, not dropped");
  t.throws(make({ positions: [4] }), { name: "InputError", message: /1 entries for 2 prompts/ });
  t.throws(make({ positions: [5, 1] }), { name: "InputError", message: /5 for prompt 0 is outside \[0, 5\)/ });
  t.throws(make({ positions: "last" }), { name: "InputError", message: /one position/ });
  t.throws(make({ corrupted: undefined }), { name: "InputError", message: /corrupted ablation needs corrupted inputs/ });
  t.throws(make({}, { ablation: "resample" }), { name: "InputError", message: /ablation must be corrupted, zero or mean/ });
  const p = new Patcher(model, graph, data, { metric: klMetric() });
  const direct = graph.edges.find((x) => x.type === "direct").id;
  p.trial(direct); p.commit();
  t.throws(() => p.trial(direct), { name: "InputError", message: /already removed/ });
  t.throws(() => p.trial(graph.edges.find((x) => x.type === "placeholder").id), { name: "InputError", message: /placeholder/ });
  t.throws(() => p.commit(), { name: "InputError", message: /without a pending trial/ });
});

t.test("a metric that becomes non-finite stops the search and says where", async (t) => {
  const cfg = makeConfig(base);
  const model = await Transformer.create(cfg, randomWeights(cfg, 2));
  const graph = buildGraph(cfg);
  let calls = 0;
  const metric = { ...klMetric(), name: "flaky" };
  const kl = klMetric();
  Object.assign(metric, { init: (c) => kl.init(c), compute: (l, c) => (++calls > 3 ? NaN : kl.compute(l, c)) });
  const p = new Patcher(model, graph, data, { metric });
  t.throws(() => acdc(p, { threshold: 0.01 }), { name: "InputError", message: /metric "flaky" is NaN on removing edge .* → blocks\.1\.hook_resid_post/ });
});
