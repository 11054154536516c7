// The paper's baselines and Edge Pruning from the command line: `acdc run`
// with each method's knob writes the circuit the API gives for the same
// options, wrong combinations of options are one line and exit 2, and
// `acdc sweep --algorithm LIST` prints and writes the same AUCs as the
// comparison API on the same task.
import t from "tap";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtures, readJson, root } from "../helpers/fixtures.mjs";
import { createEngine, loadModel, buildGraph, Patcher, klMetric, getAlgorithm } from "../../dist/index.js";
import { compareMethods, defaultPlan, rocAuc } from "../../dist/eval/index.js";
import { tracrTask, createTracrModel, TRACR_THRESHOLDS, TRACR_REFERENCE_AUC } from "../../dist/tasks/index.js";

const bin = join(root, "bin", "acdc.js");
const dir = mkdtempSync(join(tmpdir(), "acdc-methods-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const acdc = (args) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 300_000 }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});
const model = join(fixtures, "tiny-ln-mlp.safetensors");
const dataPath = join(fixtures, "tiny-ln-mlp.data.json");

t.test("acdc run --algorithm sp|hisp|edge-pruning writes the API's circuit", async (t) => {
  const e = await createEngine();
  const m = await loadModel(new Uint8Array(readFileSync(model)), readJson(join(fixtures, "tiny-ln-mlp.config.json")), { engine: e });
  const g = buildGraph(m.cfg);
  const data = readJson(dataPath);
  const cases = [
    ["sp", ["--lambda", "0.5", "--steps", "120", "--seed", "3"], { lambda: 0.5, steps: 120, seed: 3 }],
    ["hisp", ["--masked", "5"], { masked: 5 }],
    ["edge-pruning", ["--sparsity", "0.9", "--steps", "150", "--lr", "0.05"], { sparsity: 0.9, steps: 150, lr: 0.05 }],
  ];
  for (const [key, args, opts] of cases) {
    const out = join(dir, `${key}.json`);
    const r = await acdc(["run", "--model", model, "--data", dataPath, "--algorithm", key, ...args, "--out", out]);
    t.equal(r.code, 0, `${key}: exit 0 (${r.stderr.trim().split("\n").pop()})`);
    const c = getAlgorithm(key).run(new Patcher(m, g, data, { ablation: "corrupted", metric: klMetric() }), opts);
    const json = JSON.parse(readFileSync(out, "utf8"));
    const label = (x) => `${g.nodes[x.parent].label}->${g.nodes[x.child].label}`;
    t.same(json.edges.map((x) => `${x.parent}->${x.child}`).sort(), c.edges.map(label).sort(), `${key}: the same ${c.edges.length} edges as the API`);
    t.match(r.stdout, new RegExp(`kept ${c.edges.length} of 134 edges`), `${key}: summary line`);
    t.match(r.stdout, new RegExp(`→ ${c.metric.toPrecision(6)} \\(circuit\\)`), `${key}: the circuit's metric`);
  }
  e.dispose();
});

t.test("acdc run: each method's options, refused elsewhere with one line", async (t) => {
  const cases = [
    [["--algorithm", "sp"], /--algorithm sp needs --lambda/],
    [["--algorithm", "hisp"], /--algorithm hisp needs --masked/],
    [["--algorithm", "edge-pruning"], /--algorithm edge-pruning needs --sparsity/],
    [["--algorithm", "sp", "--lambda", "1", "--threshold", "0.1"], /--threshold does not apply to sp/],
    [["--algorithm", "acdc", "--threshold", "0.1", "--lambda", "1"], /--lambda applies to --algorithm sp, not acdc/],
    [["--algorithm", "hisp", "--masked", "1", "--seed", "2"], /--seed applies to sp and edge-pruning, not hisp/],
    [["--algorithm", "edge-pruning", "--sparsity", "1.5"], /--sparsity must be a fraction in \[0, 1\], got 1.5/],
    [["--algorithm", "edge-pruning", "--sparsity", "0.5", "--lr", "0"], /--lr must be a positive number/],
    [["--algorithm", "hisp", "--masked", "99"], /masked must be an integer from 0 to 26/],
    [["--algorithm", "sp", "--lambda", "x"], /lambda/],
    [["--algorithm", "sp", "--lambda", "1", "--steps", "0"], /steps/],
  ];
  for (const [args, re] of cases) {
    const r = await acdc(["run", "--model", model, "--data", dataPath, ...args, "--out", join(dir, "x.json")]);
    t.equal(r.code, 2, `${args.join(" ")}: exit 2`);
    t.match(r.stderr, re, args.join(" "));
    t.equal(r.stderr.trim().split("\n").filter((l) => l.startsWith("acdc run:")).length, 1, "one error line");
  }
});

t.test("acdc sweep --algorithm acdc,hisp,eap-ig: the comparison API's AUCs, the reference's beside them", async (t) => {
  const r = await acdc(["sweep", "--task", "tracr-proportion", "--algorithm", "acdc,hisp,eap-ig", "--out-dir", dir, "--quiet"]);
  t.equal(r.code, 0, `exit 0 (${r.stderr.trim().split("\n").pop()})`);
  const e = await createEngine();
  const task = tracrTask("tracr-proportion");
  const m = await createTracrModel(task, e);
  const g = buildGraph(task.cfg, task.graph);
  const plans = ["acdc", "hisp", "eap-ig"].map((k) => defaultPlan(k, g, { thresholds: TRACR_THRESHOLDS, tracr: true, seeds: 1 }));
  const results = compareMethods({ model: m, graph: g, data: task.data, metric: task.metrics.task, ablation: "zero", groundTruth: task.groundTruth.map(([a, b]) => [a, b]), methods: plans });
  const json = JSON.parse(readFileSync(join(dir, "tracr-proportion-zero-compare.json"), "utf8"));
  t.same(json.methods.map((x) => x.algorithm), ["acdc", "hisp", "eap-ig"]);
  const ref = TRACR_REFERENCE_AUC["tracr-proportion"].zero;
  for (const [i, res] of results.entries()) {
    t.equal(json.methods[i].edgeAuc.mean, res.edgeAuc.mean, `${res.algorithm}: edge AUC ${res.edgeAuc.mean.toFixed(3)}`);
    t.equal(json.methods[i].nodeAuc.mean, res.nodeAuc.mean, `${res.algorithm}: head/MLP AUC ${res.nodeAuc.mean.toFixed(3)}`);
    t.equal(json.methods[i].graphNodeAuc.mean, res.graphNodeAuc.mean, `${res.algorithm}: node AUC ${res.graphNodeAuc.mean.toFixed(3)}`);
    t.equal(res.edgeAuc.mean, rocAuc(res.sweeps[0].edgeRoc), "the mean of one sweep is its AUC");
    const row = r.stdout.split("\n").find((l) => l.trim().startsWith(res.algorithm + " "));
    t.ok(row && row.includes(res.edgeAuc.mean.toFixed(3)), `${res.algorithm}: printed ${row?.trim()}`);
    if (ref.edges[res.algorithm] !== undefined) t.ok(row.includes(ref.edges[res.algorithm].toFixed(3)), "the reference's edge AUC beside it");
  }
  // ACDC and HISP are deterministic and HISP ranks like the reference: both AUCs on this task are the reference's.
  t.equal(results[1].edgeAuc.mean.toFixed(3), ref.edges.hisp.toFixed(3), `hisp edge AUC = the reference's ${ref.edges.hisp}`);
  t.equal(results[1].graphNodeAuc.mean.toFixed(3), ref.nodes.hisp.toFixed(3), `hisp node AUC = the reference's ${ref.nodes.hisp}`);
  t.equal(results[0].edgeAuc.mean, 1, "acdc: 1.000 as in the paper");
  t.equal(results[0].graphNodeAuc.mean, 1, "acdc nodes: 1.000 as in the paper");
  for (const f of ["roc.svg", "node-roc.svg", "faithfulness.svg"]) t.match(readFileSync(join(dir, `tracr-proportion-zero-${f}`), "utf8"), /^<svg/, f);
  t.match(readFileSync(join(dir, "tracr-proportion-zero-roc.svg"), "utf8"), /hisp \(AUC 0\.679\)/, "the ROC names each curve with its AUC");
  e.dispose();
});

t.test("acdc sweep: option errors of the comparison", async (t) => {
  const cases = [
    [["--algorithm", "acdc,nope"], /unknown method "nope"/],
    [["--algorithm", "acdc,acdc"], /listed twice/],
    [["--algorithm", "acdc,hybrid"], /hybrid needs --top-k and sweeps alone/],
    [["--algorithm", "acdc,hisp", "--seeds", "3"], /--seeds applies to sp and edge-pruning/],
    [["--algorithm", "hisp", "--thresholds=-3:-1:5"], /acdc is not among the methods/],
    [["--algorithm", "sp", "--seeds", "0"], /seeds/],
  ];
  for (const [args, re] of cases) {
    const r = await acdc(["sweep", "--task", "tracr-reverse", ...args, "--out-dir", dir]);
    t.equal(r.code, 2, `${args.join(" ")}: exit 2`);
    t.match(r.stderr, re, args.join(" "));
  }
});
