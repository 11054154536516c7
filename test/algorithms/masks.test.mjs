// Subnetwork Probing, HISP and Edge Pruning. Their gradients against central
// finite differences of the masked forward pass (per-edge weights, SP's and
// EP's losses in the mask logits, HISP's importances); a hand-built model
// whose circuit is known, recovered by each; every reported metric equal to
// a real patched pass of the circuit; the same bits for the same seed, on
// one thread or two.
import t from "tap";
import { buildGraph, createEngine, getAlgorithm, logitDiffMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { MaskedPass, maskedComponents } from "../../dist/algorithms/masks.js";
import { SpObjective } from "../../dist/algorithms/sp.js";
import { EdgePruningObjective } from "../../dist/algorithms/edge-pruning.js";
import { hispRanking } from "../../dist/algorithms/hisp.js";
import { paramTable } from "../../dist/model/params.js";
import { rng } from "../helpers/fixtures.mjs";
import { randomWeights } from "../helpers/random-model.mjs";

const data = { clean: [[1, 4, 2, 7, 3], [9, 0, 5, 5, 2]], corrupted: [[3, 3, 8, 1, 6], [2, 7, 7, 0, 4]], positions: [4, 3] };
const metric = () => logitDiffMetric([3, 8], [6, 1]);

async function randomSetup(over = {}, engine) {
  const cfg = makeConfig({ nLayers: 2, dModel: 16, nHeads: 2, dHead: 4, dMlp: 24, dVocab: 11, nCtx: 8, ...over });
  const model = await Transformer.create(cfg, randomWeights(cfg, 11), engine);
  return { model, graph: buildGraph(cfg) };
}

/** max |a − b| over max(|b|) (relative to the largest finite difference). */
const relErr = (a, b) => { let m = 0, s = 0; for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); } return { err: m / s, scale: s }; };

t.test("∂metric/∂(edge weight) = central differences of the masked forward pass", async (t) => {
  for (const [name, over, ablation] of [["GPT-2 style, corrupted", {}, "corrupted"], ["relu, no norm, zero", { actFn: "relu", normalization: "none" }, "zero"], ["attention-only, mean", { attnOnly: true, dMlp: 0 }, "mean"]]) {
    const { model, graph } = await randomSetup(over);
    const p = new Patcher(model, graph, data, { ablation, metric: metric() });
    const r = rng(3);
    const W = Float32Array.from(graph.edges, (ed) => (ed.type === "placeholder" ? 1 : 0.2 + 0.6 * r()));
    const mp = new MaskedPass(p);
    const { grad } = mp.step(W);
    const h = 1e-2, ids = graph.edges.filter((ed) => ed.type !== "placeholder").map((ed) => ed.id);
    const fd = ids.map((id) => {
      const wp = W.slice(); wp[id] += h;
      const wm = W.slice(); wm[id] -= h;
      return (mp.step(wp, false).metric - mp.step(wm, false).metric) / (2 * h);
    });
    const { err, scale } = relErr(ids.map((id) => grad[id]), fd);
    t.ok(scale > 1e-3, `${name}: gradients are not trivially zero (largest ${scale.toExponential(2)})`);
    t.ok(err < 2e-3, `${name}: all ${ids.length} edge gradients within 2e-3 of the largest finite difference (worst ${err.toExponential(2)})`);
  }
});

t.test("SP's and Edge Pruning's losses: gradients in the mask logits = finite differences", async (t) => {
  const { model, graph } = await randomSetup();
  const p = new Patcher(model, graph, data, { metric: metric() });
  const r = rng(5);
  const sp = new SpObjective(p);
  const n = sp.components.length;
  // Logits near 0 and draws near 0.5 keep every gate inside (0, 1), where it is differentiable.
  const la = Float64Array.from({ length: n }, () => r() - 0.5), u = Float64Array.from({ length: n }, () => 0.4 + 0.2 * r());
  const g = sp.evaluate(la, u, 0.3).grad;
  const h = 1e-3;
  const fd = Array.from({ length: n }, (_, i) => {
    const a = la.slice(); a[i] += h; const b = la.slice(); b[i] -= h;
    return (sp.evaluate(a, u, 0.3).loss - sp.evaluate(b, u, 0.3).loss) / (2 * h);
  });
  const e1 = relErr(g, fd);
  t.ok(e1.err < 3e-3, `SP: ${n} logit gradients within 3e-3 (worst ${e1.err.toExponential(2)}, scale ${e1.scale.toExponential(2)})`);

  const ep = new EdgePruningObjective(p);
  const m = ep.edges.length + ep.writers.length;
  const la2 = Float64Array.from({ length: m }, () => r() - 0.5), u2 = Float64Array.from({ length: m }, () => 0.4 + 0.2 * r());
  const lam = [0.7, 1.3, 0.2, 0.5];
  const g2 = ep.evaluate(la2, u2, lam, 0.6, 0.3);
  const fd2 = Array.from({ length: m }, (_, i) => {
    const a = la2.slice(); a[i] += h; const b = la2.slice(); b[i] -= h;
    return (ep.evaluate(a, u2, lam, 0.6, 0.3).loss - ep.evaluate(b, u2, lam, 0.6, 0.3).loss) / (2 * h);
  });
  const e2 = relErr(g2.grad, fd2);
  t.ok(e2.err < 3e-3, `Edge Pruning: ${m} logit gradients (edges and nodes) within 3e-3 (worst ${e2.err.toExponential(2)})`);
  const fdLam = [0, 1, 2, 3].map((k) => {
    const a = lam.slice(); a[k] += h; const b = lam.slice(); b[k] -= h;
    return (ep.evaluate(la2, u2, a, 0.6, 0.3).loss - ep.evaluate(la2, u2, b, 0.6, 0.3).loss) / (2 * h);
  });
  t.ok(relErr(g2.gradLambda, fdLam).err < 1e-6, "Edge Pruning: multiplier gradients are the constraint violations");
});

t.test("HISP importances = |∂metric/∂mask| by finite differences (one prompt)", async (t) => {
  const { model, graph } = await randomSetup();
  const one = { clean: [data.clean[0]], corrupted: [data.corrupted[0]], positions: [4] };
  const p = new Patcher(model, graph, one, { metric: logitDiffMetric([3], [6]) });
  const ranking = hispRanking(p, "importance");
  const comps = maskedComponents(graph);
  const raw = comps.map((c) => {
    // The component's output times m, zero blended in: its importance is |d metric/dm| at m = 1.
    const q = new Patcher(model, graph, one, { metric: logitDiffMetric([3], [6]) });
    const mp = new MaskedPass(q, new Set([c.node]));
    const edges = graph.nodes[c.node].kind === "qkv" ? [graph.parents[c.node][0]] : graph.children[c.node].filter((eid) => graph.edges[eid].type === "addition");
    const at = (m) => { const W = new Float32Array(graph.edges.length).fill(1); for (const eid of edges) W[eid] = m; return mp.step(W, false).metric; };
    return Math.abs((at(1 + 1e-2) - at(1 - 1e-2)) / 2e-2);
  });
  const want = new Map();
  for (let l = 0; l < 2; l++) {
    const idx = comps.map((c, i) => (c.layer === l ? i : -1)).filter((i) => i >= 0);
    const norm = Math.sqrt(idx.reduce((a, i) => a + raw[i] ** 2, 0));
    for (const i of idx) want.set(comps[i].name, raw[i] / norm);
  }
  let worst = 0;
  ranking.components.forEach((c, i) => (worst = Math.max(worst, Math.abs(ranking.scores[i] - want.get(c.name)))));
  t.ok(worst < 2e-3, `${comps.length} normalised importances within 2e-3 of finite differences (worst ${worst.toExponential(2)})`);
  t.ok(ranking.scores.every((s, i) => i === 0 || s >= ranking.scores[i - 1]), "\"importance\" order: least important first");
  const ref = hispRanking(new Patcher(model, graph, one, { metric: logitDiffMetric([3], [6]) }));
  t.same(ref.components.map((c) => c.name), [...ranking.components].reverse().map((c) => c.name).sort((a, b) => ref.components.findIndex((x) => x.name === a) - ref.components.findIndex((x) => x.name === b)), "reference order: a permutation, most important first");
  t.ok(ref.scores[0] >= ref.scores[ref.scores.length - 1], "reference order is descending");
});

// One layer, no norm, two heads; only head 0's values carry the token (to
// dims 4–7, which alone reach the logits); q/k are zero (uniform attention)
// and head 1 writes nothing. The circuit: input → v_input[0] → v[0],
// result[0] → output.
async function obviousModel(engine) {
  const cfg = makeConfig({ nLayers: 1, dModel: 8, nHeads: 2, dHead: 4, dVocab: 4, nCtx: 8, attnOnly: true, normalization: "none" });
  const W = new Map(paramTable(cfg).map(({ name, shape, size }) => [name, { shape, data: new Float32Array(size) }]));
  const r = rng(99);
  for (let v = 0; v < 4; v++) W.get("embed.W_E").data[v * 8 + v] = 1;
  const wv = W.get("blocks.0.attn.W_V").data;
  for (let i = 0; i < 4; i++) wv[i * 4 + i] = 1;
  for (let i = 32; i < 64; i++) wv[i] = r() - 0.5;
  for (let i = 0; i < 4; i++) W.get("blocks.0.attn.W_O").data[i * 8 + 4 + i] = 1;
  for (let v = 0; v < 4; v++) W.get("unembed.W_U").data[(4 + v) * 4 + v] = 6;
  return { cfg, model: await Transformer.create(cfg, W, engine) };
}
const obviousData = { clean: [[0, 1, 2, 3], [3, 2, 1, 0], [1, 1, 2, 2]], corrupted: [[2, 3, 0, 1], [1, 0, 3, 2], [3, 3, 0, 0]], positions: [3, 3, 3] };
// Logit of the last clean token over the last corrupted one: head 0 averages the tokens it sees.
const obviousMetric = () => logitDiffMetric([3, 0, 2], [1, 2, 0]);
const TRUTH = ["blocks.0.hook_resid_pre->blocks.0.hook_v_input[0]", "blocks.0.hook_v_input[0]->blocks.0.attn.hook_v[0]", "blocks.0.attn.hook_result[0]->blocks.0.hook_resid_post"];

t.test("a hand-built model's circuit is recovered by each method", async (t) => {
  const { cfg, model } = await obviousModel();
  const graph = buildGraph(cfg);
  const run = (key, opts) => getAlgorithm(key).run(new Patcher(model, graph, obviousData, { metric: obviousMetric() }), opts);
  const labels = (c) => new Set(c.edges.map((e) => `${graph.nodes[e.parent].label}->${graph.nodes[e.child].label}`));
  const junk = (s) => [...s].filter((k) => /\[1\]|hook_[qk]_input\[0\]|hook_[qk]\[0\]/.test(k));
  for (const [key, opts] of [["sp", { lambda: 1, steps: 400, lr: 0.05 }], ["hisp", { masked: 0 }], ["edge-pruning", { sparsity: 0.8, steps: 1500, lr: 0.1, regLr: 0.01 }]]) {
    const c = run(key, opts);
    const kept = labels(c);
    if (key === "hisp") {
      // The reference's order masks the most important component first: head 0's values.
      const ranking = hispRanking(new Patcher(model, graph, obviousData, { metric: obviousMetric() }));
      t.equal(ranking.components[0].name, "0.0.v", "hisp ranks head 0's values first");
      const all = ranking.components.length;
      const kept5 = labels(getAlgorithm("hisp").run(new Patcher(model, graph, obviousData, { metric: obviousMetric() }), { masked: 1 }));
      t.notOk(kept5.has(TRUTH[0]), "masking the top component removes the circuit (the reference's order)");
      const { hisp } = await import("../../dist/algorithms/hisp.js");
      const least = hisp(new Patcher(model, graph, obviousData, { metric: obviousMetric() }), { masked: all - 1, order: "importance" });
      const s = labels(least);
      t.ok(TRUTH.every((k) => s.has(k)), `hisp (importance order, ${all - 1} of ${all} masked) keeps the circuit`);
      t.same(junk(s), [], "and nothing of head 1 or head 0's q/k");
      continue;
    }
    t.ok(TRUTH.every((k) => kept.has(k)), `${key}: the three circuit edges kept (${kept.size} edges in all)`);
    t.same(junk(kept), [], `${key}: no edge of head 1, nor of head 0's queries and keys`);
    t.ok(Math.abs(c.metric - c.baseline) < 0.05 * Math.abs(c.baseline), `${key}: the circuit keeps the behaviour (metric ${c.metric.toFixed(3)} vs ${c.baseline.toFixed(3)})`);
  }
});

t.test("reported metrics are real patched passes; seeds fix every bit, on one thread or two", async (t) => {
  const { model, graph } = await randomSetup();
  const opts = { sp: { lambda: 0.2, steps: 60, seed: 4 }, hisp: { masked: 3 }, "edge-pruning": { sparsity: 0.6, steps: 120, lr: 0.1, seed: 4 } };
  const e2 = await createEngine({ threads: 2 });
  const { model: model2 } = await randomSetup({}, e2);
  for (const key of Object.keys(opts)) {
    const c = getAlgorithm(key).run(new Patcher(model, graph, data, { metric: metric() }), opts[key]);
    const real = new Patcher(model, graph, data, { metric: metric() }).setPresent(c.present);
    t.equal(c.metric, real, `${key}: metric ${c.metric.toFixed(4)} = a fresh patcher's setPresent of its circuit`);
    const again = getAlgorithm(key).run(new Patcher(model, graph, data, { metric: metric() }), opts[key]);
    t.same(Array.from(again.present), Array.from(c.present), `${key}: the same seed gives the same circuit`);
    t.same(Array.from(again.scores), Array.from(c.scores), `${key}: and the same scores`);
    const threaded = getAlgorithm(key).run(new Patcher(model2, graph, data, { metric: metric() }), opts[key]);
    t.same(Array.from(threaded.scores), Array.from(c.scores), `${key}: bit-identical on ${e2.threads} threads`);
    t.equal(threaded.metric, c.metric);
  }
  e2.dispose();
  t.throws(() => getAlgorithm("sp").run(new Patcher(model, graph, data, { metric: metric() }), { lambda: -1 }), /lambda must be/);
  t.throws(() => getAlgorithm("edge-pruning").run(new Patcher(model, graph, data, { metric: metric() }), { sparsity: 1.5 }), /sparsity must be a number in \[0, 1\]/);
  t.throws(() => getAlgorithm("hisp").run(new Patcher(model, graph, data, { metric: metric() }), { masked: 99 }), /masked must be an integer from 0 to 14/);
});

// The reference's own HISP ("16H") ROC points for tracr-reverse, zero ablation,
// l2 metric (experiments/results/plots_data/16h-tracr-reverse-l2-True-0.json):
// edges kept, edge TPR/FPR and node TPR/FPR for each number of masked components.
const REF_16H_REVERSE = {
  n_edges: [106, 103, 100, 83, 70, 67, 64, 51, 42, 39, 36, 27, 22, 19, 16, 11, 10],
  edge_tpr: [15, 15, 15, 12, 11, 11, 11, 11, 10, 10, 10, 10, 9, 8, 6, 3, 3].map((x) => x / 15),
  edge_fp: [91, 88, 85, 71, 59, 56, 53, 40, 32, 29, 26, 17, 13, 11, 10, 8, 7],
  node_tp: [16, 16, 16, 13, 12, 12, 12, 12, 11, 11, 11, 11, 10, 8, 6, 3, 3],
  node_fp: [19, 17, 15, 15, 15, 13, 11, 8, 8, 6, 4, 1, 1, 1, 1, 1, 0],
};

t.test("HISP on tracr-reverse reproduces the reference's 16H ROC points one by one", async (t) => {
  const { tracrTask, createTracrModel } = await import("../../dist/tasks/index.js");
  const { scoreCircuit } = await import("../../dist/eval/sweep.js");
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const graph = buildGraph(task.cfg, task.graph);
  for (let k = 0; k <= 16; k++) {
    const c = getAlgorithm("hisp").run(new Patcher(model, graph, task.data, { ablation: "zero", metric: task.metrics.task() }), { masked: k });
    const s = scoreCircuit(graph, c, task.groundTruth);
    t.same([c.edges.length, s.edges.tp, s.edges.fp, s.graphNodes.tp, s.graphNodes.fp],
      [REF_16H_REVERSE.n_edges[k], Math.round(REF_16H_REVERSE.edge_tpr[k] * 15), REF_16H_REVERSE.edge_fp[k], REF_16H_REVERSE.node_tp[k], REF_16H_REVERSE.node_fp[k]],
      `${k} masked: ${c.edges.length} edges, edge TP/FP and node TP/FP as the reference's`);
  }
});
