// The `acdc` command: a fixture run from the command line reproduces the
// reference circuit, and bad options or inputs fail with exit code 2 and a
// message that names the problem.
import t from "tap";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtures, readJson, root } from "../helpers/fixtures.mjs";

const bin = join(root, "bin", "acdc.js");
const dir = mkdtempSync(join(tmpdir(), "acdc-cli-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const acdc = (args) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 120_000 }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});
const fx = (f) => join(fixtures, f);
const model = fx("tiny-ln-mlp.safetensors");
const dataPath = fx("tiny-ln-mlp.data.json");
const data = readJson(dataPath);
const ref = readJson(fx("tiny-ln-mlp.acdc.json"));
const write = (name, obj) => { const p = join(dir, name); writeFileSync(p, typeof obj === "string" ? obj : JSON.stringify(obj)); return p; };

t.test("run on a fixture writes the reference circuit", async (t) => {
  for (const run of ref.runs.filter((r, i) => i % 3 === 0)) {
    const out = join(dir, `c-${run.ablation}-${run.threshold}.json`);
    const r = await acdc(["run", "--model", model, "--data", dataPath, "--threshold", String(run.threshold), "--ablation", run.ablation, "--out", out, "--dot", out.replace(/json$/, "dot")]);
    t.equal(r.code, 0, `exit 0 (${r.stderr.split("\n").slice(-3).join(" | ")})`);
    const c = JSON.parse(readFileSync(out, "utf8"));
    t.equal(c.version, 1);
    t.same(c.edges.map((e) => [e.parent, e.child, e.type]).sort(), [...run.kept_edges].sort(), `${run.ablation} τ=${run.threshold}: ${run.num_kept} edges as the reference`);
    t.equal(c.num_tested, run.num_tested);
    t.match(readFileSync(out.replace(/json$/, "dot"), "utf8"), /^digraph circuit/);
    t.match(r.stdout, new RegExp(`kept ${run.num_kept} of 134 edges \\(${run.num_tested} tested\\)`), "summary line");
    t.match(r.stderr, /134\/134 edges 100%/, "progress reaches 100%");
  }
});

t.test("Hugging Face folder layout and info", async (t) => {
  const hf = join(dir, "hf-model");
  mkdirSync(hf);
  copyFileSync(fx("tiny-ln-mlp-hf.safetensors"), join(hf, "model.safetensors"));
  copyFileSync(fx("tiny-ln-mlp-hf.config.json"), join(hf, "config.json"));
  const r = await acdc(["info", "--model", hf]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /2 layers × 4 heads, d_model 32, vocab 40/);
  t.match(r.stdout, /110 addition \+ 24 direct = 134 counted edges/);
  const run = await acdc(["run", "--model", hf, "--data", dataPath, "--threshold", "0.05", "--quiet", "--out", "hf.json"]);
  t.equal(run.code, 0, run.stderr);
  t.ok(existsSync(join(dir, "hf.json")), "circuit written relative to the working directory");
  t.equal(run.stderr.includes("edges/s · ETA"), false, "--quiet hides the progress bar");
});

t.test("logit-diff metric", async (t) => {
  const rows = data.positions.length;
  const p = write("ld.json", { ...data, correct: Array(rows).fill(1), incorrect: Array(rows).fill(2) });
  const r = await acdc(["run", "--model", model, "--data", p, "--threshold", "0.05", "--metric", "logit-diff", "--quiet", "--out", "ld-circuit.json"]);
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(readFileSync(join(dir, "ld-circuit.json"), "utf8")).metric, "logit-diff");
  const bad = await acdc(["run", "--model", model, "--data", dataPath, "--threshold", "0.05", "--metric", "logit-diff"]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /needs "correct" and "incorrect"/);
});

t.test("bad options and inputs: exit 2 with a clear message", async (t) => {
  const V = readJson(fx("tiny-ln-mlp.config.json")).d_vocab, nCtx = readJson(fx("tiny-ln-mlp.config.json")).n_ctx;
  const cases = [
    [["run", "--data", dataPath, "--threshold", "1"], /--model is required/],
    [["run", "--model", model, "--threshold", "1"], /--data is required/],
    [["run", "--model", model, "--data", dataPath], /--threshold is required/],
    [["run", "--model", model, "--data", dataPath, "--threshold=-1"], /non-negative number/],
    [["run", "--model", model, "--data", dataPath, "--threshold", "x"], /decimal number, got "x"/],
    [["run", "--model", model, "--data", dataPath, "--threshold", "1", "--ablation", "foo"], /--ablation must be one of corrupted, zero, mean/],
    [["run", "--model", model, "--data", dataPath, "--threshold", "1", "--metric", "l2"], /--metric must be one of kl, logit-diff/],
    [["run", "--model", model, "--data", dataPath, "--threshold", "1", "--bogus"], /bogus/],
    [["run", "--model", join(dir, "none.safetensors"), "--data", dataPath, "--threshold", "1"], /model not found/],
    [["run", "--model", dataPath, "--data", dataPath, "--threshold", "1"], /neither a \.safetensors file nor a llama2\.c \.bin/],
    [["run", "--model", write("lonely.safetensors", "x"), "--data", dataPath, "--threshold", "1"], /no config for/],
    [["run", "--model", model, "--data", write("broken.json", "{ not json"), "--threshold", "1"], /not valid JSON/],
    [["run", "--model", model, "--data", write("noclean.json", { positions: [0] }), "--threshold", "1"], /"clean" must be/],
    [["run", "--model", model, "--data", write("mismatch.json", { ...data, corrupted: data.corrupted.map((r) => r.slice(1)) }), "--threshold", "1"], /shapes must match/],
    [["run", "--model", model, "--data", write("oov.json", { ...data, clean: data.clean.map((r) => [V, ...r.slice(1)]) }), "--threshold", "1"], new RegExp(`token ${V} at \\[0\\]\\[0\\] is outside the vocabulary`)],
    [["run", "--model", model, "--data", write("long.json", { clean: [Array(nCtx + 1).fill(1)], corrupted: [Array(nCtx + 1).fill(2)], positions: [0] }), "--threshold", "1"], /longer than the model's context n_ctx = 12/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ];
  for (const [args, want] of cases) {
    const r = await acdc(args);
    t.equal(r.code, 2, `${args.join(" ")}: exit 2`);
    t.match(r.stderr, want, `message ${want}`);
    t.notMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
  const corrupt = write("corrupt.safetensors", Buffer.concat([Buffer.from([255, 255, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]));
  copyFileSync(fx("tiny-ln-mlp.config.json"), join(dir, "corrupt.config.json"));
  const r = await acdc(["run", "--model", corrupt, "--data", dataPath, "--threshold", "1"]);
  t.equal(r.code, 2, "corrupt safetensors: exit 2");
  t.match(r.stderr, /header/i, `names the header (${r.stderr.trim()})`);
});

t.test("demo: tracr-reverse end to end, offline", async (t) => {
  const out = join(dir, "demo");
  const r = await acdc(["demo", "--out-dir", out]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /15 of 15 ground-truth edges found, 0 extra/);
  t.match(r.stdout, /AUC \(edges\) 1\.000, AUC \(heads and MLPs\) 1\.000/);
  const c = JSON.parse(readFileSync(join(out, "circuit.json"), "utf8"));
  t.equal(c.version, 1);
  t.equal(c.num_kept, 15);
  t.equal(c.ablation, "zero");
  t.match(readFileSync(join(out, "circuit.dot"), "utf8"), /"hook_embed" -> "blocks\.0\.hook_v_input\[0\]";/);
  const svg = readFileSync(join(out, "circuit.svg"), "utf8");
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.equal((svg.match(/<path d="M[\d.]+,[\d.]+ C/g) || []).length, 15, "one SVG curve per edge");
  t.match(readFileSync(join(out, "tracr-reverse-roc.svg"), "utf8"), /AUC 1\.000/);
  // Every threshold gives the same 15 edges: the plot also draws the τ = 0.001 search edge by edge and its 15 refused removals.
  const faith = readFileSync(join(out, "tracr-reverse-faithfulness.svg"), "utf8");
  t.match(faith, /ACDC at τ=0\.001, edge by edge/);
  const tested = Number(/15 of 106 edges \((\d+) tested/.exec(r.stdout)?.[1]);
  t.equal((faith.match(/<circle/g) || []).length, 21 + (tested - 15 + 2) + 15, "21 sweep points; the path: start, one step per accepted removal, the pruned circuit; 15 refused removals");
});

t.test("sweep: tracr-proportion prints the ROC table and AUC", async (t) => {
  const r = await acdc(["sweep", "--task", "tracr-proportion", "--out-dir", join(dir, "sweep"), "--quiet"]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.split("\n").filter((l) => /^\s+\d\.\d\de-\d+\s+\d+/.test(l)).length, 21, "21 threshold rows");
  t.match(r.stdout, /AUC \(edges\) 1\.000 {3}AUC \(heads and MLPs\) 1\.000 {3}paper \(ACDC, edges\): 1\.000/);
  const s = JSON.parse(readFileSync(join(dir, "sweep", "tracr-proportion-sweep.json"), "utf8"));
  t.equal(s.runs.length, 21);
  t.equal(s.edgeAuc, 1);
  for (const [args, want] of [[["sweep", "--task", "ioi-gpt2"], /unknown task "ioi-gpt2"/], [["sweep"], /--task is required/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "1:2"], /--thresholds must be LO:HI:N/]]) {
    const bad = await acdc(args);
    t.equal(bad.code, 2);
    t.match(bad.stderr, want);
  }
});

t.test("run --algorithm eap | eap-ig | hybrid", async (t) => {
  for (const [alg, extra, want] of [["eap-ig", ["--top-k", "50"], /eap-ig: scored 134 edges with 5 integrated-gradient steps/], ["eap", ["--threshold", "0"], /warning: every EAP score is 0/], ["hybrid", ["--top-k", "90", "--threshold", "0.020523"], /hybrid: EAP-IG kept \d+ candidate edges/]]) {
    const out = join(dir, `alg-${alg}.json`);
    const r = await acdc(["run", "--model", model, "--data", dataPath, "--algorithm", alg, ...extra, "--out", out]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, want);
    const c = JSON.parse(readFileSync(out, "utf8"));
    t.equal(c.algorithm, alg);
    t.ok(c.num_kept > 0 && c.num_kept <= 134, `${alg}: ${c.num_kept} edges`);
  }
  const bad = await acdc(["run", "--model", model, "--data", dataPath, "--algorithm", "hybrid", "--threshold", "0.1"]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /needs --top-k/);
});
