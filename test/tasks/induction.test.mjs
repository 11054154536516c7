// The offline induction model (models/induction-2l.*, trained by
// scripts/train-induction.mjs) and its task (src/tasks/induction-offline.ts):
// the model does induction, its attention patterns show a previous-token
// head in layer 0 and induction heads in layer 1, ACDC and EAP-IG find the
// circuit they form, and the training recipe is bit-identical when rerun.
// The gradient check of the trainer is in train.test.mjs.
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { acdc, buildGraph, eapScores, loadModel, Patcher, configFromJson } from "../../dist/index.js";
import { parseSafetensors } from "../../dist/model/formats/index.js";
import { Trainer, INDUCTION_RECIPE, evalRows, halvesLoss, trainInduction } from "../../dist/train/index.js";
import { inductionOfflineTask, inductionGroundTruth, inductionHeadScores, INDUCTION_2L_CONFIG_JSON, induction2lConfig } from "../../dist/tasks/index.js";
import { root, readJson } from "../helpers/fixtures.mjs";

const bytes = new Uint8Array(readFileSync(join(root, "models", "induction-2l.safetensors")));
const configJson = readJson(join(root, "models", "induction-2l.config.json"));
const load = () => loadModel(bytes, configJson);
const edgeKey = (g, ed) => `${g.nodes[ed.parent].label} -> ${g.nodes[ed.child].label}`;

t.test("the shipped files: config, size", async (t) => {
  t.same(configJson, INDUCTION_2L_CONFIG_JSON, "config.json is the config the script writes");
  t.same(configFromJson(configJson), induction2lConfig(), "configFromJson reads it");
  t.ok(bytes.length < 2 * 2 ** 20, `weights ${bytes.length} bytes (≤ 2 MB)`);
  t.equal(buildGraph(induction2lConfig()).counts.addition + buildGraph(induction2lConfig()).counts.direct, 305, "305 counted edges, as the paper's 2L8H induction graph");
});

t.test("(a) loss on the repeated copy is far below the first copy's", async (t) => {
  const cfg = configFromJson(configJson);
  const tr = await Trainer.create(cfg, { weights: await parseSafetensors(bytes) });
  // The task's rows (seed 1), not the script's evaluation rows (seed 3): unseen in training-time checks.
  const rows = inductionOfflineTask().data.clean;
  const { first, repeat } = halvesLoss(tr, rows);
  t.ok(Math.abs(first - Math.log(63)) < 0.3, `first copy ${first.toFixed(3)} nats ≈ ln 63 = ${Math.log(63).toFixed(3)} (unpredictable)`);
  t.ok(repeat < 0.01 * first, `repeated copy ${repeat.toFixed(4)} nats < 1% of the first copy's`);
  const shipped = halvesLoss(tr, evalRows(INDUCTION_RECIPE, cfg.dVocab));
  t.ok(shipped.repeat < INDUCTION_RECIPE.targetRatio * shipped.first, `the script's stopping rule holds for the shipped weights (${shipped.repeat.toFixed(4)} vs ${shipped.first.toFixed(4)})`);
});

t.test("(b) attention patterns: a previous-token head in layer 0, induction heads in layer 1", async (t) => {
  const model = await load();
  const task = inductionOfflineTask();
  const gt = inductionGroundTruth(model, task.data.clean);
  const { previousToken: P, induction: I } = gt.scores;
  t.ok(gt.previousTokenHeads.length >= 1 && gt.previousTokenHeads.every(([l]) => l === 0), `previous-token heads ${JSON.stringify(gt.previousTokenHeads)} (scores layer 0: ${P[0].map((x) => x.toFixed(2)).join(" ")})`);
  t.ok(gt.inductionHeads.length >= 1 && gt.inductionHeads.every(([l]) => l === 1), `induction heads ${JSON.stringify(gt.inductionHeads)} (scores layer 1: ${I[1].map((x) => x.toFixed(2)).join(" ")})`);
  t.ok(Math.max(...P[0]) > 0.5 && Math.max(...I[1]) > 0.9, "best previous-token score > 0.5, best induction score > 0.9");
  t.ok(Math.max(...I[0]) < 0.2 && Math.max(...P[1]) < 0.2, "no induction in layer 0, no previous-token head in layer 1");
  t.throws(() => inductionHeadScores(model, [[0, 1, 2, 3]]), /no token repeats/);
});

/** Kept/ranked K-composition and output edges of every induction head. */
function circuitEdges(graph, gt) {
  const L = 1;
  return gt.inductionHeads.map(([, h]) => ({
    head: h,
    kcomp: gt.previousTokenHeads.map(([pl, ph]) => graph.byLabel.get(`blocks.${pl}.attn.hook_result[${ph}]`)).map((p) => graph.edges.find((e) => e.parent === p && e.child === graph.byLabel.get(`blocks.${L}.hook_k_input[${h}]`)).id),
    out: graph.edges.find((e) => e.parent === graph.byLabel.get(`blocks.${L}.attn.hook_result[${h}]`) && e.child === graph.output).id,
  }));
}

t.test("(c) ACDC and EAP-IG find the previous-token → induction head circuit", async (t) => {
  const model = await load();
  const graph = buildGraph(model.cfg);
  for (const corruption of ["rows", "first"]) {
    const task = inductionOfflineTask({ corruption });
    const gt = inductionGroundTruth(model, task.data.clean, { corruption });
    const truth = new Set(gt.edges.map(([a, b]) => `${a} -> ${b}`));
    const heads = circuitEdges(graph, gt);
    const mark = model.engine.mark();

    // ACDC, corrupted ablation, KL, τ = 0.05 (inside the paper's 10^linspace(−4, 0, 21)).
    const p = new Patcher(model, graph, task.data, { ablation: "corrupted", metric: task.metrics.kl() });
    const none = new Uint8Array(graph.edges.length);
    graph.edges.forEach((e) => (none[e.id] = e.type === "placeholder" ? 1 : 0));
    const corruptedKl = p.setPresent(none);
    p.setPresent(new Uint8Array(graph.edges.length).fill(1));
    const r = acdc(p, { threshold: 0.05 });
    const kept = new Set(r.edges.map((e) => e.id));
    const found = heads.filter((x) => kept.has(x.out) && x.kcomp.some((id) => kept.has(id)));
    const inTruth = r.edges.filter((e) => truth.has(edgeKey(graph, e))).length;
    t.ok(found.length >= 2, `${corruption}: ACDC keeps previous-token head → k and → output for induction heads ${found.map((x) => `1.${x.head}`).join(", ")}`);
    t.ok(inTruth >= 0.9 * r.edges.length, `${corruption}: ${inTruth} of ${r.edges.length} kept edges are in the ground truth (${gt.edges.length} edges)`);
    t.ok(r.metric < 0.1 * corruptedKl, `${corruption}: circuit KL ${r.metric.toFixed(4)} vs ${corruptedKl.toFixed(3)} with every edge corrupted`);

    // EAP-IG (5 steps) on a fresh patcher: rank every counted edge by |score|.
    const q = new Patcher(model, graph, task.data, { ablation: "corrupted", metric: task.metrics.kl() });
    const { scores } = eapScores(q, { steps: 5 });
    const order = graph.edges.filter((e) => e.type !== "placeholder").sort((a, b) => Math.abs(scores[b.id]) - Math.abs(scores[a.id]) || a.id - b.id);
    const rank = new Map(order.map((e, i) => [e.id, i + 1]));
    // Non-ground-truth edges that outrank an edge: 0 is a perfect ranking.
    const outranked = (id) => order.slice(0, rank.get(id) - 1).filter((e) => !truth.has(edgeKey(graph, e))).length;
    const outRanks = found.map((x) => rank.get(x.out));
    const kBest = Math.min(...found.flatMap((x) => x.kcomp.map(outranked)));
    t.ok(Math.max(...outRanks) <= 30, `${corruption}: EAP-IG ranks the found heads' → output edges ${outRanks.join(", ")} of ${order.length} (top 10%)`);
    t.ok(kBest <= 5, `${corruption}: EAP-IG: only ${kBest} non-ground-truth edges outrank the best K-composition edge (overall ranks ${found.flatMap((x) => x.kcomp.map((id) => rank.get(id))).join(", ")})`);
    let good = 0, nonSeen = 0;
    const nT = order.filter((e) => truth.has(edgeKey(graph, e))).length;
    for (const e of order) if (truth.has(edgeKey(graph, e))) good += order.length - nT - nonSeen; else nonSeen++;
    const auc = good / (nT * (order.length - nT));
    t.ok(auc > 0.9, `${corruption}: EAP-IG ranking AUC against the ground truth ${auc.toFixed(3)}`);
    model.engine.reset(mark);
  }
});

t.test("(d) training is bit-identical when rerun", async (t) => {
  const recipe = { ...INDUCTION_RECIPE, maxSteps: 20, evalEvery: 10 };
  const run = async () => {
    const { trainer, evals } = await trainInduction(recipe);
    return { w: [...trainer.weights().values()].map((x) => Buffer.from(x.data.buffer).toString("hex")).join(""), evals };
  };
  const a = await run(), b = await run();
  t.equal(a.w, b.w, "weights after 20 steps identical byte for byte");
  t.same(a.evals, b.evals, "evaluation losses identical");
  t.same(a.evals.map((e) => e.step), [10, 20], `evaluated at steps 10 and 20 (training losses ${a.evals.map((e) => e.trainLoss.toFixed(3)).join(", ")})`);
});
