// EAP and EAP-IG. Each edge's score must equal the linear estimate of the
// metric change measured with explicit patched passes: put clean + ε·Δ in
// the ablated slot of every node, remove the edge, and take the central
// difference in ε. Also: pruning, the real patched metric of the kept
// circuit, hybrid EAP → ACDC, and errors.
import t from "tap";
import { acdc, buildGraph, eapScores, getAlgorithm, klMetric, logitDiffMetric, Patcher, makeConfig, Transformer } from "../../dist/index.js";
import { tracrTask, createTracrModel } from "../../dist/tasks/index.js";
import { pruneToOutput } from "../../dist/circuit.js";
import { paramTable } from "../../dist/model/params.js";
import { fixture, rng } from "../helpers/fixtures.mjs";
import { linearEstimates } from "../helpers/patcher-check.mjs";

/** An attribution circuit by the registry: EAP (steps 0) or EAP-IG. */
const eap = (p, { steps = 0, ...o }) => getAlgorithm(steps ? "eap-ig" : "eap").run(p, { ...o, igSteps: steps || undefined });

t.test("EAP scores equal finite-difference linear estimates (logit difference)", async (t) => {
  for (const [name, ablation] of [["tiny-ln-mlp", "corrupted"], ["tiny-attn-only", "zero"]]) {
    const { model, data } = await fixture(name);
    const graph = buildGraph(model.cfg);
    const R = data.positions.length;
    const metric = () => logitDiffMetric(Array.from({ length: R }, (_, i) => (3 * i + 1) % model.cfg.dVocab), Array.from({ length: R }, (_, i) => (5 * i + 2) % model.cfg.dVocab));
    const p = new Patcher(model, graph, data, { ablation, metric: metric() });
    const { scores } = eapScores(p);
    const counted = graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
    const est = linearEstimates(new Patcher(model, graph, data, { ablation, metric: metric() }), counted, 1e-2);
    let worst = 0, scale = 0;
    for (const id of counted) scale = Math.max(scale, Math.abs(est.get(id)));
    for (const id of counted) worst = Math.max(worst, Math.abs(scores[id] - est.get(id)) / scale);
    t.ok(scale > 1e-3, `${name}: linear estimates are not trivially zero (largest ${scale.toFixed(4)})`);
    t.ok(worst < 2e-3, `${name}/${ablation}: all ${counted.length} EAP scores within 2e-3 of the largest estimate (worst ${worst.toExponential(2)})`);
  }
});

t.test("EAP-IG: the mean of the linear estimates at the interpolation points", async (t) => {
  const { model, data } = await fixture("tiny-ln-mlp");
  const graph = buildGraph(model.cfg);
  const p = new Patcher(model, graph, data, { ablation: "corrupted", metric: klMetric() });
  const plain = eapScores(p).scores;
  const counted = graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
  // Exactly: plain EAP's forward pass is the patcher's clean run itself, so the metric's logits equal the clean ones bit for bit.
  t.ok(counted.every((id) => plain[id] === 0), "plain EAP with KL is exactly zero: the clean run is KL's minimum");
  const ig = eapScores(p, { steps: 5 });
  t.ok(counted.some((id) => Math.abs(ig.scores[id]) > 1e-3), "EAP-IG with KL is not");
  const again = eapScores(p, { steps: 5 });
  t.same(Array.from(again.scores), Array.from(ig.scores), "bit-identical on a second run");
  t.equal(graph.edges.filter((x) => x.type === "placeholder").every((x) => Number.isNaN(ig.scores[x.id])), true, "placeholders are NaN");
});

t.test("relu/tracr works; a rotary llama-style model is scored (its checks against finite differences: eap-arch.test.mjs)", async (t) => {
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const graph = buildGraph(task.cfg, task.graph);
  const p = new Patcher(model, graph, task.data, { ablation: "zero", metric: task.metrics.task() });
  const r = eap(p, { topK: 15, steps: 5 });
  const truth = new Set(task.groundTruth.map(([a, b]) => `${a}->${b}`));
  const hits = r.edges.filter((x) => truth.has(`${graph.nodes[x.parent].label}->${graph.nodes[x.child].label}`)).length;
  t.ok(hits >= 10, `tracr-reverse, EAP-IG top 15: ${hits} of 15 ground-truth edges`);
  t.ok(r.metric >= 0, `kept circuit's real metric ${r.metric.toExponential(2)}`);

  const cfg = makeConfig({ nLayers: 1, dModel: 8, nHeads: 2, dHead: 4, dMlp: 8, dVocab: 7, nCtx: 4, positional: "rotary", normalization: "RMS", actFn: "swiglu" });
  const W = new Map(paramTable(cfg).map(({ name, shape, size }) => [name, { shape, data: new Float32Array(size).fill(0.1) }]));
  const rot = await Transformer.create(cfg, W);
  const q = new Patcher(rot, buildGraph(cfg), { clean: [[1, 2, 3]], corrupted: [[3, 2, 1]], positions: [2] }, { metric: klMetric() });
  const { scores } = eapScores(q, { steps: 2 });
  t.ok(buildGraph(cfg).edges.every((x) => (x.type === "placeholder") === Number.isNaN(scores[x.id])), "rotary: every counted edge gets a finite score");
});

t.test("pruning, the real metric of the circuit, hybrid EAP → ACDC", async (t) => {
  const { model, data } = await fixture("tiny-ln-mlp");
  const graph = buildGraph(model.cfg);
  const p = new Patcher(model, graph, data, { metric: klMetric() });
  const r = eap(p, { topK: 40, steps: 5 });
  t.ok(r.edges.length <= 40, `${r.edges.length} edges kept of the top 40 after pruning`);
  // Every kept edge's child reaches the output through kept edges.
  const present = pruneToOutput(graph, r.present);
  t.same(Array.from(present), Array.from(r.present), "pruning is idempotent");
  // The reported metric is a real patched pass: rebuilding the same mask from scratch gives it again.
  const q = new Patcher(model, graph, data, { metric: klMetric() });
  t.equal(q.setPresent(r.present), r.metric, `circuit metric ${r.metric.toFixed(4)} reproduced by a fresh patcher`);
  // setPresent agrees with incremental trials: remove two edges one by one and compare.
  const fresh = new Patcher(model, graph, data, { metric: klMetric() });
  const ids = graph.edges.filter((x) => x.type !== "placeholder").slice(3, 5).map((x) => x.id);
  fresh.trial(ids[0]); fresh.commit();
  const m2 = fresh.trial(ids[1]); fresh.commit();
  const mask = new Uint8Array(graph.edges.length).fill(1); mask[ids[0]] = 0; mask[ids[1]] = 0;
  const viaMask = new Patcher(model, graph, data, { metric: klMetric() }).setPresent(mask);
  t.ok(Math.abs(viaMask - m2) < 1e-5, `setPresent ${viaMask.toFixed(6)} = incremental ${m2.toFixed(6)}`);
  // Hybrid: ACDC over the EAP candidates only.
  const h = new Patcher(model, graph, data, { metric: klMetric() });
  h.setPresent(r.present);
  const a = acdc(h, { threshold: 0.02 });
  t.ok(a.edges.every((x) => r.present[x.id]), "hybrid: ACDC keeps only EAP candidates");
  t.ok(a.stats.tested <= r.edges.length, `hybrid: ${a.stats.tested} edges tested (≤ ${r.edges.length} candidates)`);
  const hy = getAlgorithm("hybrid").run(new Patcher(model, graph, data, { metric: klMetric() }), { topK: 40, igSteps: 5, threshold: 0.02 });
  t.same(hy.edges.map((x) => x.id), a.edges.map((x) => x.id), "the registry's hybrid = EAP-IG top-k, then ACDC on them");
  t.equal(hy.metric, a.metric, "and the same circuit metric");
  t.throws(() => getAlgorithm("eap").run(new Patcher(model, graph, data, { metric: klMetric() }), {}), /exactly one of topK and threshold/);
  t.throws(() => getAlgorithm("eap").run(new Patcher(model, graph, data, { metric: klMetric() }), { topK: 3, threshold: 1 }), /exactly one of topK and threshold/);
  t.throws(() => eapScores(h), /every edge present/);
});
