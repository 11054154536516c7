// A sweep as jobs (src/eval/jobs.ts): jobs built from a sweep's plans, sent
// through JSON as a queue would, run in a shuffled order on another engine
// (another model instance, its own arena history), and merged back, give the
// SweepResult sweep() and the MethodResult list compareMethods() give, bit
// for bit apart from timings; a job from another package version, a result
// of another method and a missing result are refused.
import t from "tap";
import { createEngine, buildGraph } from "../../dist/index.js";
import { sweep, compareMethods, defaultPlan, sweepJobs, sweepKey, runJob, mergeSweep, mergeComparison, jobData, jobMetric, checkJob, describeJob } from "../../dist/eval/index.js";
import { tracrTask, createTracrModel } from "../../dist/tasks/index.js";
import { dataDigest, paramsDigest, f64Hex } from "../../dist/repro/index.js";
import { rng } from "../helpers/fixtures.mjs";

const viaJson = (x) => JSON.parse(JSON.stringify(x));

/** The same SweepResult, metric bits included; timings aside. */
function sameSweep(t, got, want, what) {
  const strip = (s) => ({ ...s, runs: s.runs.map(({ searchMs: _ms, metric, ...r }) => ({ ...r, metric: f64Hex(metric) })) });
  t.strictSame(strip(got), strip(want), what);
}

/** Run every job, in a shuffled order, on a fresh tracr model; results come back through JSON. */
async function runShuffled(jobs, task, seed) {
  const engine = await createEngine();
  const model = await createTracrModel(task, engine);
  const data = jobData(jobs[0]);
  const setup = { model, graph: buildGraph(model.cfg, { splitInput: jobs[0].splitInput }), data, metric: jobMetric(jobs[0], data) };
  const order = jobs.map((_, i) => i);
  const r = rng(seed);
  for (let i = order.length - 1; i > 0; i--) { const k = Math.floor(r() * (i + 1)); [order[i], order[k]] = [order[k], order[i]]; }
  const results = new Array(jobs.length);
  for (const i of order) results[i] = viaJson(runJob(setup, checkJob(viaJson(jobs[i])), "test"));
  engine.dispose();
  return { results, order };
}

async function setupOf(name) {
  const task = tracrTask(name);
  const engine = await createEngine();
  const model = await createTracrModel(task, engine);
  const graph = buildGraph(task.cfg, task.graph);
  const base = {
    sweep: name, model: { source: "builtin", format: "tracr", name, builtin: name, params_sha256: paramsDigest(model) },
    data: { task: name }, dataSha256: dataDigest(task.data), splitInput: true, metric: task.defaultMetric, ablation: "zero", manifest: false,
  };
  return { task, engine, model, graph, base, truth: task.groundTruth.map(([a, b]) => [a, b]) };
}

t.test("one method: jobs run out of order on another engine merge into sweep()'s result", async (t) => {
  const s = await setupOf("tracr-reverse");
  const values = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
  const local = sweep({ model: s.model, graph: s.graph, data: s.task.data, metric: s.task.metrics.task, ablation: "zero", values, groundTruth: s.truth });
  const jobs = sweepJobs({ ...s.base, manifest: true }, [{ algorithm: "acdc", knob: "threshold", values, seeds: [undefined], options: {} }]);
  t.same(jobs.map((j) => [j.method, j.seed, j.run, j.value]), values.map((v, i) => [0, 0, i, v]), "one job per value, in order");
  t.equal(describeJob(jobs[2]), "tracr-reverse acdc threshold=1.00e-2");
  const { results, order } = await runShuffled(jobs, s.task, 7);
  t.not(order.join(), order.slice().sort().join(), "the jobs ran out of order");
  sameSweep(t, mergeSweep(s.graph, jobs, results, s.truth), local, "merged = sweep(), metric bits included");
  for (const [i, r] of results.entries()) {
    t.equal(r.manifest.options.threshold, values[i], `job ${i + 1}: its manifest records its threshold`);
    t.equal(r.manifest.results.metric, r.metric, `job ${i + 1}: the manifest's metric bits are the result's`);
  }
  t.equal(sweepKey(jobs), sweepKey(viaJson(jobs)), "the sweep key survives JSON");
  t.not(sweepKey(jobs), sweepKey(sweepJobs(s.base, [{ algorithm: "acdc", knob: "threshold", values: [...values.slice(0, 4), 0.2], seeds: [undefined], options: {} }])), "another threshold, another key");
  s.engine.dispose();
});

t.test("a comparison (acdc, hisp, eap-ig, sp with two seeds) merges into compareMethods()'s result", async (t) => {
  const s = await setupOf("tracr-proportion");
  const plans = ["acdc", "hisp", "eap-ig", "sp"].map((m) => defaultPlan(m, s.graph, { thresholds: [1e-3, 1e-2, 1e-1], tracr: true, seeds: 2, steps: 25 }));
  const local = compareMethods({ model: s.model, graph: s.graph, data: s.task.data, metric: s.task.metrics.task, ablation: "zero", groundTruth: s.truth, methods: plans });
  const jobs = sweepJobs(s.base, plans);
  t.equal(jobs.length, plans.reduce((a, p) => a + p.values.length * p.seeds.length, 0), "one job per method, seed and value");
  t.same(jobs.filter((j) => j.algorithm === "sp").map((j) => j.options), [...Array(11).fill({ steps: 25, seed: 0 }), ...Array(11).fill({ steps: 25, seed: 1 })], "sp's jobs carry steps and their seed");
  const { results } = await runShuffled(jobs, s.task, 11);
  const merged = mergeComparison(s.graph, plans, jobs, results, s.truth);
  t.equal(merged.length, local.length);
  for (const [k, m] of merged.entries()) {
    const { sweeps, ms: _a, ...rest } = m, { sweeps: want, ms: _b, ...wantRest } = local[k];
    t.strictSame(rest, wantRest, `${m.algorithm}: AUC summaries, seeds, run count`);
    sweeps.forEach((sw, si) => sameSweep(t, sw, want[si], `${m.algorithm} seed ${si}: the sweep`));
  }
  s.engine.dispose();
});

t.test("refusals: another package version, a result of another run, a missing result", async (t) => {
  const s = await setupOf("tracr-reverse");
  const jobs = sweepJobs(s.base, [{ algorithm: "acdc", knob: "threshold", values: [1e-2, 1e-1], seeds: [undefined], options: {} }]);
  t.throws(() => checkJob({ ...jobs[0], package: "9.9.9" }), /made by acdc-wasm 9\.9\.9 and this worker is/);
  t.throws(() => checkJob({ ...jobs[0], kind: "x" }), /not a sweep job/);
  t.throws(() => checkJob({ ...jobs[0], algorithm: "nope" }), /unknown algorithm "nope"/);
  const { results } = await runShuffled(jobs, s.task, 1);
  t.throws(() => mergeSweep(s.graph, jobs, [results[0], undefined], s.truth), /no result for job 2 \(tracr-reverse acdc threshold=1\.00e-1\)/);
  const eap = viaJson(runJob({ model: s.model, graph: s.graph, data: s.task.data, metric: s.task.metrics.task }, { ...jobs[1], algorithm: "eap" }, "test"));
  t.throws(() => mergeSweep(s.graph, jobs, [results[0], eap], s.truth), /the result of tracr-reverse acdc threshold=1\.00e-1 is not a circuit of this sweep \(algorithm eap/);
  s.engine.dispose();
});
