// Section 10 (issue 12's report): wall time per discovery method — ACDC at
// one threshold, EAP-IG (5 steps), Subnetwork Probing, HISP, Edge Pruning —
// each through the registry (getAlgorithm(key).run(patcher, options)) on
// tracr-reverse (zero ablation, task metric), the trained induction model
// (corrupted ablation, KL) and GPT-2-small geometry (random weights, 4
// prompts × 16 tokens, corrupted ablation, KL). SP and Edge Pruning are
// timed per optimisation step (from their progress events) and projected to
// a default run; on GPT-2 geometry ACDC is costed per trial by receiver
// layer (bench/lib/layer-trials.js) instead of searched.
import { fileURLToPath } from "node:url";
import { buildGraph, Patcher, klMetric, getAlgorithm } from "../../dist/index.js";
import { tracrTask, createTracrModel } from "../../dist/tasks/index.js";
import { inductionOfflineTask } from "../../dist/tasks/induction-offline.js";
import { loadModelFromPath } from "../../dist/node/index.js";
import { line, section, f, table, errMsg, loadavgText } from "../lib/report.js";
import { timeOnce } from "../lib/timing.js";
import { rng, randomTokens } from "../lib/random.js";
import { layerTrials } from "../lib/layer-trials.js";

const INDUCTION = fileURLToPath(new URL("../../models/induction-2l.safetensors", import.meta.url));
const IG_STEPS = 5;
/** Default optimisation steps: SP's (the reference's epochs; its sweeps run 10000) and Edge Pruning's. */
const DEFAULT_STEPS = { sp: [3000, 10000], "edge-pruning": [6000] };
const LAMBDA = 0.1, SPARSITY = 0.9;

export async function run({ P, gpt }) {
  section("10. Time per method: ACDC, EAP-IG, SP, HISP, Edge Pruning (1 thread)");
  line("  each method runs through the registry on a fresh Patcher (its set-up not counted); ms per run is the Circuit's stats.ms,");
  line("  which includes measuring the final circuit with a real patched pass. SP/EP ms/step comes from their progress events;");
  line(`  a projected default run = (ms per run − steps × ms/step) + default steps × ms/step. Knobs: ACDC one threshold, EAP-IG top 10%,`);
  line(`  SP λ=${LAMBDA}, HISP half the components masked, Edge Pruning target sparsity ${SPARSITY} (the knob barely changes the time).`);
  line("  Warm-up first: every method once on tracr-reverse (SP and EP 20 steps), not timed.");
  line(`  load average now: ${loadavgText()}`);
  const out = {};
  try {
    warmUp(await tracrWorkload(P.methods));
  } catch (e) {
    line(`  warm-up failed: ${errMsg(e)}`);
  }
  for (const make of [tracrWorkload, inductionWorkload, (o) => gpt2Workload(gpt, o)]) {
    let w;
    try {
      w = await make(P.methods);
    } catch (e) {
      line(`  SKIPPED a workload: ${errMsg(e)}`);
      continue;
    }
    out[w.key] = runWorkload(w, P.methods);
  }
  return { methods: out };
}

// ---- workloads -------------------------------------------------------------------

async function tracrWorkload(o) {
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  return {
    key: "tracr-reverse", title: "tracr-reverse (compiled RASP model, zero ablation, task metric)",
    model, graph: buildGraph(task.cfg, task.graph), data: task.data, ablation: "zero", metric: task.metrics.task,
    threshold: task.thresholds.task[10], steps: o.tracrSteps, acdc: "search",
  };
}

async function inductionWorkload(o) {
  const { model } = await loadModelFromPath(INDUCTION, { quiet: true });
  const task = inductionOfflineTask();
  return {
    key: "induction", title: "trained induction model (models/induction-2l, 20 prompts x 21 tokens, corrupted ablation, KL)",
    model, graph: buildGraph(model.cfg), data: task.data, ablation: "corrupted", metric: task.metrics.kl,
    threshold: task.thresholds.kl[10], steps: o.inductionSteps, acdc: "search",
  };
}

function gpt2Workload(gpt, o) {
  const { model, cfg } = gpt;
  const r = rng(41);
  const B = 4, T = 16;
  const clean = randomTokens(B, T, cfg.dVocab, r), corrupted = randomTokens(B, T, cfg.dVocab, r);
  return {
    key: "gpt2", title: `GPT-2-small geometry (random weights, ${B} prompts x ${T} random tokens, corrupted ablation, KL at the last position)`,
    model, graph: buildGraph(cfg), data: { clean, corrupted, positions: clean.map(() => T - 1) }, ablation: "corrupted", metric: () => klMetric(),
    steps: o.gpt2Steps, acdc: "trials", kinds: o.gpt2Kinds,
  };
}

// ---- running and reporting ---------------------------------------------------------

/** Components SP and HISP mask: each head's q, k, v and each MLP. */
const components = (cfg) => cfg.nLayers * (3 * cfg.nHeads + (cfg.attnOnly ? 0 : 1));

/** A fresh Patcher for w inside an arena mark (freed after fn), and fn's result. */
function withPatcher(w, fn) {
  const e = w.model.engine, mark = e.mark();
  try {
    const setup = timeOnce(() => new Patcher(w.model, w.graph, w.data, { ablation: w.ablation, metric: w.metric() }));
    return fn(setup.value, setup.ms);
  } finally {
    e.reset(mark);
  }
}

/** Run registry algorithm `key` with options, recording the time of each progress event. */
function runAlgorithm(w, key, opts, track = true) {
  return withPatcher(w, (p, setupMs) => {
    const at = [];
    const c = getAlgorithm(key).run(p, { ...opts, onProgress: track ? (ev) => at.push(ev.ms) : undefined });
    return { c, at, setupMs };
  });
}

/** Every method once on the smallest workload, untimed: V8 tiers up the wasm kernels and the methods' JavaScript before the first timed run. */
function warmUp(w) {
  const n = components(w.model.cfg);
  runAlgorithm(w, "acdc", { threshold: w.threshold }, false);
  runAlgorithm(w, "eap-ig", { topK: 1, igSteps: IG_STEPS }, false);
  runAlgorithm(w, "sp", { lambda: LAMBDA, steps: 20 }, false);
  runAlgorithm(w, "hisp", { masked: Math.floor(n / 2) }, false);
  runAlgorithm(w, "edge-pruning", { sparsity: SPARSITY, steps: 20 }, false);
}

/** ms per step from progress times (the first step's start is unknown, so intervals between events), and the fixed rest. */
function perStep(ms, at, steps) {
  const step = at.length >= 2 ? (at[at.length - 1] - at[0]) / (at.length - 1) : ms / steps;
  return { step, fixed: Math.max(0, ms - steps * step) };
}

function runWorkload(w, o) {
  const cfg = w.model.cfg, g = w.graph;
  const counted = g.counts.addition + g.counts.direct;
  const rows = [];
  let setupMs = NaN, standIn = false;
  line();
  line(`  ${w.title}`);
  line(`  L=${cfg.nLayers} D=${cfg.dModel} H=${cfg.nHeads}${cfg.attnOnly ? " attention-only" : ""}; ${counted} counted edges, ${components(cfg)} head q/k/v + MLP components`);
  const fail = (method, e) => { rows.push({ method, error: errMsg(e) }); };

  // ACDC: a whole search at one threshold, or (GPT-2 geometry) the per-trial estimate.
  try {
    if (w.acdc === "search") {
      const { c, setupMs: s } = runAlgorithm(w, "acdc", { threshold: w.threshold }, false);
      setupMs = s;
      rows.push({ method: "acdc", run: `τ=${w.threshold.toExponential(0)}, ${c.stats.tested} edges tested, ${c.edges.length} kept`, ms: c.stats.ms, full: true,
        perStepMs: c.stats.ms / c.stats.tested, stepName: "trial", rate: c.stats.tested / (c.stats.ms / 1e3), rateName: "edges tested/s" });
    } else {
      const tr = withPatcher(w, (p, s) => { setupMs = s; return layerTrials(p, { reps: 1, kinds: w.kinds }); });
      standIn = Boolean(w.kinds);
      rows.push({ method: "acdc", run: `${tr.timed} trials by receiver layer, no search`, ms: null,
        perStepMs: tr.msPerEdge, stepName: "trial", rate: 1e3 / tr.msPerEdge, rateName: "edges tested/s",
        projected: [{ steps: counted, ms: tr.totalMs, what: "whole search" }], layers: tr.layers.map((x) => ({ layer: x.layer, msPerEdge: x.msPerEdge })) });
    }
  } catch (e) { fail("acdc", e); }

  // EAP-IG: a whole run (every edge scored, top 10% kept, circuit measured).
  try {
    const topK = Math.max(1, Math.round(counted / 10));
    const { c, at } = runAlgorithm(w, "eap-ig", { topK, igSteps: IG_STEPS });
    const { step } = perStep(c.stats.ms, at, IG_STEPS);
    rows.push({ method: "eap-ig", run: `${IG_STEPS} IG steps, top ${topK}`, ms: c.stats.ms, full: true, perStepMs: step, stepName: "IG step", rate: counted / (c.stats.ms / 1e3), rateName: "edges scored/s" });
  } catch (e) { fail("eap-ig", e); }

  // SP and Edge Pruning: `steps` steps (or the default run), per-step time and the projection.
  for (const [key, knob] of [["sp", { lambda: LAMBDA }], ["hisp", null], ["edge-pruning", { sparsity: SPARSITY }]]) {
    try {
      if (key === "hisp") {
        const masked = Math.floor(components(cfg) / 2);
        const { c } = runAlgorithm(w, "hisp", { masked });
        rows.push({ method: "hisp", run: `masked ${masked} of ${components(cfg)}`, ms: c.stats.ms, full: true, rate: 1e3 / c.stats.ms, rateName: "runs/s" });
        continue;
      }
      const [dflt, ...more] = DEFAULT_STEPS[key];
      const steps = w.steps ?? dflt;
      const { c, at } = runAlgorithm(w, key, { ...knob, steps });
      const { step, fixed } = perStep(c.stats.ms, at, steps);
      rows.push({ method: key, run: `${steps} steps${steps === dflt ? " (default)" : ` of the default ${dflt}`}`, ms: c.stats.ms, full: steps === dflt, perStepMs: step, stepName: "step",
        rate: 1e3 / step, rateName: "steps/s", fixedMs: fixed,
        projected: [dflt, ...more].filter((n) => n !== steps).map((n) => ({ steps: n, ms: fixed + n * step, what: n === dflt ? "default run" : "sweep run" })) });
    } catch (e) { fail(key, e); }
  }

  line(`  Patcher set-up (clean + ablated runs): ${f(setupMs, 1)} ms`);
  table(["method", "what ran", "ms per run", "ms per step", "rate", "projected"],
    rows.map((r) => r.error ? [r.method, "FAILED: " + r.error, "", "", "", ""] : [
      r.method, r.run, r.ms === null ? "-" : f(r.ms, r.ms < 100 ? 1 : 0),
      r.perStepMs === undefined ? "-" : `${f(r.perStepMs, r.perStepMs < 10 ? 2 : 1)} /${r.stepName}`,
      `${f(r.rate, r.rate < 10 ? 2 : 0)} ${r.rateName}`,
      [...(r.full ? ["(full run)"] : []), ...(r.projected ?? []).map((x) => `${x.what} (${x.steps}): ${fmtTime(x.ms)}`)].join("; ") || "-"]));
  const acdcRow = rows.find((r) => r.method === "acdc" && r.projected);
  if (acdcRow) line(`  acdc: a whole search = Σ over all ${counted} edges of their receiver group's trial time (every edge tried once, all present: an upper bound)`);
  if (standIn) line("  quick: only q_input receivers timed per layer; mlp_in, k/v inputs and direct edges take q_input's time in the same layer");
  return { counted, components: components(cfg), setupMs, rows };
}

const fmtTime = (ms) => (ms < 1e3 ? `${f(ms, 0)} ms` : ms < 120e3 ? `${f(ms / 1e3, 1)} s` : ms < 7200e3 ? `${f(ms / 6e4, 1)} min` : `${f(ms / 3.6e6, 1)} h`);
