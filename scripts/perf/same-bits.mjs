// Bit-identity of two builds (A: $A, default /tmp/perf-base/dist; B: this
// checkout's dist) on whole searches: for each model, forward logits, a full
// ACDC run's trace (every decision's metric, bit for bit, and the kept edges),
// EAP and EAP-IG (5 steps) scores, and setPresent on the ACDC circuit.
// Models: random GPT-2-like and Llama-like ones, and the tracr tasks.
//   node scripts/perf/same-bits.mjs
import { join } from "node:path";
import { openBuild, rng, randomTokens, f } from "./common.mjs";

const abs = (d) => (d.startsWith("/") ? d : join(process.cwd(), d));
const builds = [await openBuild(abs(process.env.A ?? "/tmp/perf-base/dist")), await openBuild(abs(process.env.B ?? "dist"))];
const tasksOf = await Promise.all(builds.map((b) => import(join(b.dist, "tasks/index.js"))));

function weights(paramTable, cfg, seed) {
  const r = rng(seed);
  return new Map(paramTable(cfg).map(({ name, shape, size }) => [name, {
    shape, data: Float32Array.from({ length: size }, () => (name.endsWith(".w") ? 1 + 0.1 * (r() - 0.5) : name.split(".").pop().startsWith("b") ? 0.02 * (r() - 0.5) : 0.12 * (r() - 0.5))),
  }]));
}
const sameArr = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

async function randomCase(name, c, threshold) {
  for (const t of [threshold, threshold * 100]) await randomCase1(`${name}, τ=${t}`, c, t);
}
async function randomCase1(name, c, threshold) {
  const out = [];
  for (const b of builds) {
    const cfg = b.api.makeConfig(c);
    const model = await b.api.Transformer.create(cfg, weights(b.paramTable, cfg, 9));
    const r = rng(31), V = cfg.dVocab;
    const data = { clean: randomTokens(6, 12, V, r), corrupted: randomTokens(6, 12, V, r), positions: Array.from({ length: 6 }, (_, i) => (i % 2 ? [11] : [7, 11])) };
    out.push(run(b, model, b.api.buildGraph(cfg), data, () => b.api.klMetric(), "corrupted", threshold));
  }
  report(name, out);
}

function run(b, model, graph, data, metric, ablation, threshold) {
  const logits = model.forward(data.clean).logits;
  const p = new b.api.Patcher(model, graph, data, { ablation, metric: metric() });
  const c = b.api.acdc(p, { threshold });
  const eap = b.api.eapScores(new b.api.Patcher(model, graph, data, { ablation, metric: metric() })).scores;
  const ig = b.api.eapScores(new b.api.Patcher(model, graph, data, { ablation, metric: metric() }), { steps: 5 }).scores;
  const q = new b.api.Patcher(model, graph, data, { ablation, metric: metric() });
  const set = q.setPresent(c.present);
  // Mask methods (a few optimisation steps) and HISP, and the hybrid (EAP-IG candidates, then ACDC).
  const alg = (key, o) => { if (key === "hisp" && model.cfg.positional === "rotary") return []; const r = b.api.getAlgorithm(key).run(new b.api.Patcher(model, graph, data, { ablation, metric: metric() }), o); return [...Array.from(r.scores ?? []), r.metric, ...r.edges.map((e) => e.id)]; };
  const masks = [...alg("sp", { lambda: 0.01, steps: 12, seed: 1 }), ...alg("edge-pruning", { sparsity: 0.5, steps: 12, seed: 2 }), ...alg("hisp", { masked: 3 }),
    ...alg("hybrid", { threshold, topK: Math.min(40, c.trace.length) })];
  return { logits, trace: c.trace.map((d) => d.metric), removed: c.trace.map((d) => d.removed), kept: c.edges.map((e) => e.id), eap, ig, set, masks };
}

function report(name, [a, b]) {
  let dl = 0;
  for (let i = 0; i < a.logits.length; i++) dl = Math.max(dl, Math.abs(a.logits[i] - b.logits[i]) / Math.max(1, Math.abs(a.logits[i])));
  const ok = {
    logits: sameArr(a.logits, b.logits), trace: sameArr(a.trace, b.trace) && sameArr(a.removed, b.removed), kept: sameArr(a.kept, b.kept),
    eap: sameArr(a.eap, b.eap), "eap-ig": sameArr(a.ig, b.ig), setPresent: Object.is(a.set, b.set), "sp/edge-pruning/hisp/hybrid": sameArr(a.masks, b.masks),
  };
  console.log(`${name}: ${a.trace.length} decisions, ${a.kept.length} edges kept; ` + Object.entries(ok).map(([k, v]) => `${k} ${v ? "same" : "DIFFERENT"}`).join(", ") + (ok.logits ? "" : `; largest logit change ${dl.toExponential(2)}`));
}

await randomCase("random GPT-2-like L=3 D=64 H=4 Dh=16", { nLayers: 3, dModel: 64, nHeads: 4, dHead: 16, dMlp: 256, dVocab: 97, nCtx: 32 }, 1e-5);
await randomCase("random GPT-2-like L=2 D=24 H=3 Dh=8", { nLayers: 2, dModel: 24, nHeads: 3, dHead: 8, dMlp: 40, dVocab: 53, nCtx: 32 }, 1e-5);
await randomCase("random Llama-like (RMS, rotary, SwiGLU, GQA 4/2) L=2 D=48 Dh=12", { nLayers: 2, dModel: 48, nHeads: 4, nKvHeads: 2, dHead: 12, dMlp: 96, dVocab: 61, nCtx: 32, normalization: "RMS", positional: "rotary", actFn: "swiglu", rotaryStyle: "half" }, 1e-5);
for (const t of ["tracr-reverse", "tracr-proportion"]) {
  const out = [];
  for (const [i, b] of builds.entries()) {
    const task = tasksOf[i].tracrTask(t), model = await tasksOf[i].createTracrModel(task);
    out.push(run(b, model, b.api.buildGraph(task.cfg, task.graphOptions ?? task.graph), task.data, () => task.metrics[task.defaultMetric](), task.defaultAblation ?? "zero", 0.01));
  }
  report(t, out);
}
