// The bad-input campaign: hundreds of broken, odd or contradictory inputs
// through the real CLI (node bin/acdc.js in temp folders): targeted cases
// for every class of issue 10 plus fixed-seed mutations of safetensors
// headers and data, TransformerLens and Hugging Face configs, data files and
// options, a misbehaving hub server, models past the memory limits and runs
// killed midway. Each case must end with exit 2 and one line on stderr (no
// stack trace), or exit 0 with a result this file proves right — the
// unmutated run's circuit when the mutation means nothing, else the circuit
// the library computes from inputs built independently of the parser under
// test — never a hang and never a silent wrong result.
import t from "tap";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { acdc as runAcdc, buildGraph, circuitJson, klMetric, loadModel, makeConfig, Patcher } from "../../dist/index.js";
import { fixtures, readJson, rng } from "../helpers/fixtures.mjs";
import { f32, f32Bytes, fromF16Bits, joinSafetensors, runCases, runCli, splitSafetensors, toF16Bits } from "../helpers/campaign.mjs";

t.setTimeout(600_000);
const tStart = performance.now();
const dir = mkdtempSync(join(tmpdir(), "acdc-campaign-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const shared = join(dir, "shared");
mkdirSync(shared);
const fx = (f) => join(fixtures, f);
const put = (path, body) => { writeFileSync(path, typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body)); return path; };

// --- the unmutated inputs and their known answers ------------------------------
const TAU = 0.020523;
const tlBytes = new Uint8Array(readFileSync(fx("tiny-ln-mlp.safetensors")));
const tlConfig = readJson(fx("tiny-ln-mlp.config.json"));
const data = readJson(fx("tiny-ln-mlp.data.json"));
const ref = readJson(fx("tiny-ln-mlp.acdc.json")).runs.find((r) => r.ablation === "corrupted" && r.threshold === TAU);
const hfBytes = new Uint8Array(readFileSync(fx("tiny-ln-mlp-hf.safetensors")));
const hfConfig = readJson(fx("tiny-ln-mlp-hf.config.json"));
const TL = put(join(shared, "tl.safetensors"), tlBytes);
put(join(shared, "tl.config.json"), tlConfig);
const DATA = put(join(shared, "data.json"), data);
const HF = join(shared, "hf");
mkdirSync(HF);
put(join(HF, "model.safetensors"), hfBytes);
put(join(HF, "config.json"), hfConfig);
const split = splitSafetensors(tlBytes);

/** The reference circuit (the fixture's independent float64 implementation). */
const base = { edges: ref.kept_edges.map((e) => e.join(" ")).sort(), tested: ref.num_tested };

/** The circuit the library finds for weights bytes under a ModelConfig built here (not parsed from JSON). */
async function libraryCircuit(bytes, cfg, d = data, threshold = TAU) {
  const model = await loadModel(bytes, makeConfig(cfg));
  const c = runAcdc(new Patcher(model, buildGraph(model.cfg), d, { ablation: "corrupted", metric: klMetric() }), { threshold });
  const j = circuitJson(c, { ablation: "corrupted", metric: "kl" });
  model.engine.dispose?.();
  return { edges: j.edges.map((e) => `${e.parent} ${e.child} ${e.type}`).sort(), tested: j.num_tested, metric: j.final_metric };
}
const tlModelConfig = { nLayers: 2, dModel: 32, nHeads: 4, dHead: 8, dMlp: 64, dVocab: 40, nCtx: 12, normalization: "LN", actFn: "gelu_new", eps: 1e-5 };
const hfBase = await libraryCircuit(hfBytes, tlModelConfig);

/** A check that the run wrote `out` holding exactly `want`'s circuit (and said so on stdout). */
const sameCircuit = (want, out = "c.json") => (r, cwd) => {
  const p = join(cwd, out);
  if (!existsSync(p)) return `${out} not written`;
  const j = JSON.parse(readFileSync(p, "utf8"));
  const edges = j.edges.map((e) => `${e.parent} ${e.child} ${e.type}`).sort();
  if (edges.length !== want.edges.length || edges.some((e, i) => e !== want.edges[i])) return `circuit differs: ${edges.length} edges, expected ${want.edges.length}`;
  if (j.num_tested !== want.tested) return `tested ${j.num_tested}, expected ${want.tested}`;
  if (want.metric !== undefined && j.final_metric !== want.metric) return `final metric ${j.final_metric}, expected ${want.metric}`;
  if (!new RegExp(`kept ${want.edges.length} of \\d+ edges \\(${want.tested} tested\\)`).test(r.stdout)) return "summary line missing";
  return null;
};
const baseCircuit = sameCircuit(base);

/** `acdc run` args on a model and data file (quiet, so stderr holds only an error). */
const runArgs = (model, d = DATA, extra = []) => ["run", "--model", model, "--data", d, "--threshold", String(TAU), "--quiet", "--out", "c.json", ...extra];

const cases = [];
const add = (cls, name, c) => cases.push({ cls, name, expect: "error", ...c });

// --- options -------------------------------------------------------------------
{
  const R = ["run", "--model", TL, "--data", DATA];
  const badRun = [
    [[...R], /--threshold is required/],
    [[...R, "--threshold", "0x10"], /decimal number, got "0x10"/],
    [[...R, "--threshold", "Infinity"], /decimal number/],
    [[...R, "--threshold", "NaN"], /decimal number/],
    [[...R, "--threshold", "1e999"], /decimal number/],
    [[...R, "--threshold", ""], /decimal number/],
    [[...R, "--threshold", " "], /decimal number/],
    [[...R, "--threshold", "1,5"], /decimal number/],
    [[...R, "--threshold", "0.1.2"], /decimal number/],
    [[...R, "--threshold", "1_000"], /decimal number/],
    [[...R, "--threshold", "0b1"], /decimal number/],
    [[...R, "--threshold", "--quiet"], /threshold/],
    [[...R, "--threshold=-0.5"], /non-negative/],
    [[...R, "--threshold", "0.1", "--threshold", "0.2"], /--threshold is given more than once/],
    [[...R, "--threshold", "0.1", "--quiet", "--quiet"], /--quiet is given more than once/],
    [[...R, "--threshold", "0.1", "--out", "a.json", "--out", "b.json"], /--out is given more than once/],
    [[...R, "--threshold", "0.1", "--top-k", "10"], /--top-k does not apply to --algorithm acdc/],
    [[...R, "--threshold", "0.1", "--ig-steps", "5"], /--ig-steps applies to eap-ig and hybrid/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "10", "--ig-steps", "0"], /--ig-steps must be from 1 to/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "10", "--ig-steps", "100000"], /--ig-steps must be from 1 to/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "10", "--ig-steps", "2.5"], /--ig-steps must be an integer/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "10", "--ig-steps", "1e3"], /--ig-steps must be an integer/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "-3"], /--top-k must be from/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "ten"], /--top-k must be an integer/],
    [[...R, "--algorithm", "eap-ig", "--top-k", "10", "--threshold", "0.1"], /not both/],
    [[...R, "--algorithm", "hybrid", "--threshold", "0.1"], /needs --top-k/],
    [[...R, "--algorithm", "ACDC", "--threshold", "0.1"], /--algorithm must be one of/],
    [[...R, "--algorithm", "", "--threshold", "0.1"], /--algorithm must be one of/],
    [[...R, "--threshold", "0.1", "--metric", "KL"], /--metric must be one of/],
    [[...R, "--threshold", "0.1", "--ablation", "resample"], /--ablation must be one of/],
    [[...R, "--threshold", "0.1", "--threads", "0"], /--threads must be from 1 to 64/],
    [[...R, "--threshold", "0.1", "--threads", "65"], /--threads must be from 1 to 64/],
    [[...R, "--threshold", "0.1", "--threads", "two"], /--threads must be an integer/],
    [[...R, "--threshold", "0.1", "--threads", "2.0"], /--threads must be an integer/],
    [[...R, "--threshold", "0.1", "--bogus"], /bogus/],
    [[...R, "--threshold", "0.1", "-x"], /-x/],
    [[...R, "--threshold", "0.1", "extra"], /extra/],
    [[...R, "--threshold", "0.1", "--quiet=yes"], /quiet/],
    [[...R, "--threshold"], /--threshold/],
    [["run", "--data", DATA, "--threshold", "0.1"], /--model is required/],
    [["run", "--model", TL, "--threshold", "0.1"], /--data is required/],
    [["run", "--model", "", "--data", DATA, "--threshold", "0.1"], /--model/],
    [["run", "--model", TL, "--data", "", "--threshold", "0.1"], /--data/],
    [["run", "--model", TL, "--data", DATA, "--threshold", "0.1", "--metric", "logit-diff"], /needs "correct" and "incorrect"/],
    [["run", "--model", shared, "--data", DATA, "--threshold", "0.1"], /has no model\.safetensors/],
    [["run", "--model", DATA, "--data", DATA, "--threshold", "0.1"], /neither a \.safetensors file nor a llama2\.c \.bin/],
    [["run", "--model", TL, "--data", TL, "--threshold", "0.1"], /not valid JSON/],
    [["run", "--model", TL, "--data", shared, "--threshold", "0.1"], /data/],
    [["run", "--model", "no/such/dir/", "--data", DATA, "--threshold", "0.1"], /model not found/],
    [["run", "--model", "./gpt2", "--data", DATA, "--threshold", "0.1"], /model not found/],
  ];
  for (const [args, match] of badRun) add("options", args.slice(5).join(" ") || args.join(" "), { args, match });
  const badSweep = [
    [["sweep"], /--task is required/],
    [["sweep", "--task", "ioi"], /unknown task "ioi"/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "0.001:0.1:5"], /LO and HI are exponents of 10 \(e\.g\. -3:-1:5/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "1:2"], /--thresholds must be LO:HI:N/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "-5:-1:0"], /from 1 to 1000/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "-5:-1:1001"], /from 1 to 1000/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "-1:-5:3"], /LO must not exceed HI/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "a:b:3"], /decimal number/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "0x1:2:3"], /decimal number/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "-5:9:3"], /exponents outside/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "-5:-1:3.5"], /integer/],
    [["sweep", "--task", "tracr-reverse", "--thresholds", "-5:-1:3:4"], /LO:HI:N/],
    [["sweep", "--task", "tracr-reverse", "--top-k", "5"], /--top-k applies to the hybrid sweep only/],
    [["sweep", "--task", "tracr-reverse", "--algorithm", "hybrid"], /needs --top-k/],
    [["sweep", "--task", "tracr-reverse", "--ablation", "none"], /--ablation must be one of/],
    [["sweep", "--task", "tracr-reverse", "--threads", "0"], /--threads/],
    [["sweep", "--task", "tracr-reverse", "--task", "tracr-proportion"], /given more than once/],
    [["sweep", "--task", "tracr-reverse", "--out-dir", TL], /--out-dir/],
    [["demo", "--threshold", "-1"], /non-negative/],
    [["demo", "--threshold", "1e-3x"], /decimal number/],
    [["demo", "--threads", "auto2"], /--threads/],
    [["demo", "--out-dir", TL], /--out-dir/],
    [["demo", "--model", TL], /model/],
    [["info"], /--model is required/],
    [["info", "--model", TL, "--model", TL], /given more than once/],
    [["info", "--model", TL, "--threshold", "1"], /threshold/],
    [["info", "--model", join(shared, "none.safetensors")], /model not found/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ];
  for (const [args, match] of badSweep) add("options", args.join(" "), { args, match });
  // --help everywhere: exit 0 with the command's usage on stdout and nothing on stderr.
  for (const cmd of ["run", "info", "demo", "sweep"]) {
    for (const h of cmd === "run" ? ["--help", "-h"] : ["--help"]) {
      add("options", `${cmd} ${h}`, { expect: "ok", args: [cmd, h], check: (r) => (r.stdout.startsWith(`acdc ${cmd}`) && r.stderr === "" ? null : "no usage text") });
    }
  }
  add("options", "--help", { expect: "ok", args: ["--help"], check: (r) => (/acdc run --model M/.test(r.stdout) ? null : "no usage") });
  add("options", "--version", { expect: "ok", args: ["--version"], check: (r) => (/^\d+\.\d+\.\d+\n$/.test(r.stdout) ? null : "no version") });
  add("options", "no command", { args: [], match: /command/ });
  // Accepted spellings that must mean exactly the defaults.
  for (const extra of [["--threshold", "+0.020523"], ["--threshold", "20.523E-3"], ["--threshold=0.020523"],
    ["--threshold", "0.020523", "--threads", "2"], ["--threshold", "0.020523", "--ablation", "corrupted", "--metric", "kl", "--algorithm", "acdc"]]) {
    add("options", `run ${extra.join(" ")}`, { expect: "ok", args: ["run", "--model", TL, "--data", DATA, "--quiet", "--out", "c.json", ...extra], check: baseCircuit });
  }
  // Progress: tested and skipped apart, 100% at the end, a rate in tested edges.
  add("options", "run with progress in a log", {
    expect: "ok", args: ["run", "--model", TL, "--data", DATA, "--threshold", String(TAU), "--out", "c.json"],
    check: (r, cwd) => baseCircuit(r, cwd) ?? (/134\/134 edges 100% · tested 128, skipped 6 · [\d.]+ tested edges\/s · ETA 0s/.test(r.stderr) ? null : `progress line: ${r.stderr}`),
  });
}

// --- output paths: checked before any work, nothing half-written ----------------
{
  const cases_ = [
    [["--out", shared], /--out .* is a folder/],
    [["--out", join(shared, "missing", "c.json")], /folder .* does not exist/],
    [["--out", join(TL, "c.json")], /is not a folder/],
    [["--dot", join(shared, "missing", "c.dot")], /--dot .*does not exist/],
    [["--dot", shared], /--dot .* is a folder/],
  ];
  for (const [extra, match] of cases_) {
    add("outputs", `run ${extra.join(" ")}`, {
      args: ["run", "--model", TL, "--data", DATA, "--threshold", "0.1", ...extra], match,
      // Without --quiet: refused before the model line, so before any work.
      afterError: (r, cwd) => (readdirSync(cwd).length ? `left files: ${readdirSync(cwd)}` : null),
    });
  }
  add("outputs", "sweep --out-dir under a file", { args: ["sweep", "--task", "tracr-reverse", "--out-dir", join(TL, "x")], match: /--out-dir/ });
  add("outputs", "demo --out-dir where circuit.json is a folder", {
    setup: (cwd) => mkdirSync(join(cwd, "circuit.json")), args: ["demo", "--out-dir", "."], match: /circuit\.json is a folder/,
  });
  add("outputs", "an existing circuit.json is replaced whole", {
    expect: "ok", setup: (cwd) => put(join(cwd, "c.json"), "OLD"), args: runArgs(TL),
    check: (r, cwd) => baseCircuit(r, cwd) ?? (readdirSync(cwd).some((f) => f.endsWith(".part")) ? "temp file left" : null),
  });
}

// --- data files: targeted --------------------------------------------------------
const V = 40, NCTX = 12;
/** Whether a data object is valid for the fixture model, judged here: the test's own reading of the data format. */
function validData(d) {
  const keys = ["clean", "corrupted", "positions", "correct", "incorrect"];
  if (d === null || typeof d !== "object" || Array.isArray(d) || Object.keys(d).some((k) => !keys.includes(k))) return false;
  const rows = (x) => Array.isArray(x) && x.length > 0 && x.every((r) => Array.isArray(r) && r.length > 0 && r.length <= NCTX && r.length === x[0].length && r.every((v) => Number.isInteger(v) && v >= 0 && v < V));
  if (!rows(d.clean) || !rows(d.corrupted)) return false;
  if (d.clean.length !== d.corrupted.length || d.clean[0].length !== d.corrupted[0].length) return false;
  const T = d.clean[0].length;
  if (!Array.isArray(d.positions) || d.positions.length !== d.clean.length) return false;
  const okPos = (p) => Number.isInteger(p) && p >= 0 && p < T;
  if (!d.positions.every((p) => okPos(p) || (Array.isArray(p) && p.length > 0 && p.every(okPos)))) return false;
  // correct/incorrect are only read by logit-diff; with KL they must still be token lists.
  for (const k of ["correct", "incorrect"]) if (k in d && !(Array.isArray(d[k]) && d[k].every((v) => typeof v === "number"))) return false;
  return true;
}
/** A data case: valid data must give the library's circuit for that data; invalid data a one-line error. */
async function dataCase(cls, name, d, text) {
  const valid = typeof text === "string" ? false : validData(d);
  const want = valid ? await libraryCircuit(tlBytes, tlModelConfig, d) : null;
  add(cls, name, {
    expect: valid ? "ok" : "error", setup: (cwd) => put(join(cwd, "d.json"), text ?? JSON.stringify(d)),
    args: (cwd) => runArgs(TL, join(cwd, "d.json")), check: valid ? sameCircuit(want) : undefined,
  });
}
{
  const rowsWith = (k, f) => ({ ...data, [k]: data[k].map((r, i) => f(r.slice(), i)) });
  const targeted = [
    ["positions: an empty list", { ...data, positions: [[], 7, 7, 7, 7, 7] }],
    ["positions: all lists", { ...data, positions: data.positions.map((p) => [p]) }],
    ["positions: one too few", { ...data, positions: data.positions.slice(1) }],
    ["positions: one too many", { ...data, positions: [...data.positions, 7] }],
    ["positions: 8 (past the end)", { ...data, positions: [8, 7, 7, 7, 7, 7] }],
    ["positions: -1", { ...data, positions: [-1, 7, 7, 7, 7, 7] }],
    ["positions: 6.5", { ...data, positions: [6.5, 7, 7, 7, 7, 7] }],
    ["positions: \"7\"", { ...data, positions: ["7", 7, 7, 7, 7, 7] }],
    ["positions: null", { ...data, positions: null }],
    ["positions: missing", { clean: data.clean, corrupted: data.corrupted }],
    ["positions: a number", { ...data, positions: 7 }],
    ["positions: earlier ones", { ...data, positions: [3, 4, 5, 6, 7, 2] }],
    ["positions: two per prompt", { ...data, positions: data.positions.map(() => [5, 7]) }],
    ["token 40 (vocab 40)", rowsWith("clean", (r, i) => (i === 2 ? (r[3] = 40, r) : r))],
    ["token -1", rowsWith("corrupted", (r, i) => (i === 5 ? (r[0] = -1, r) : r))],
    ["token 1.5", rowsWith("clean", (r, i) => (i === 0 ? (r[1] = 1.5, r) : r))],
    ["token \"3\"", rowsWith("clean", (r, i) => (i === 0 ? (r[1] = "3", r) : r))],
    ["token null", rowsWith("corrupted", (r, i) => (i === 0 ? (r[1] = null, r) : r))],
    ["token 1e300", rowsWith("clean", (r, i) => (i === 0 ? (r[1] = 1e300, r) : r))],
    ["a ragged clean row", rowsWith("clean", (r, i) => (i === 3 ? r.slice(1) : r))],
    ["an empty clean row", rowsWith("clean", (r, i) => (i === 3 ? [] : r))],
    ["corrupted one row short", { ...data, corrupted: data.corrupted.slice(1) }],
    ["corrupted rows shorter", rowsWith("corrupted", (r) => r.slice(1))],
    ["clean empty", { ...data, clean: [] }],
    ["clean and corrupted of 13 tokens (n_ctx 12)", { clean: data.clean.map((r) => [...r, ...r.slice(0, 5)]), corrupted: data.corrupted.map((r) => [...r, ...r.slice(0, 5)]), positions: data.positions }],
    ["prompts of 1 token", { clean: data.clean.map((r) => r.slice(0, 1)), corrupted: data.corrupted.map((r) => r.slice(0, 1)), positions: data.positions.map(() => 0) }],
    ["no corrupted (corrupted ablation)", { clean: data.clean, positions: data.positions }],
    ["an unknown field", { ...data, label: "x" }],
    ["correct of the wrong type (KL ignores it, but it must be a list)", { ...data, correct: "1" }],
    ["clean: a flat list", { ...data, clean: data.clean.flat() }],
    ["clean and corrupted swapped", { clean: data.corrupted, corrupted: data.clean, positions: data.positions }],
  ];
  for (const [name, d] of targeted) await dataCase("data", name, d);
  for (const [name, text] of [["not JSON", "{ clean: [[1]] }"], ["empty file", ""], ["a JSON array", "[[1,2]]"], ["JSON null", "null"], ["a UTF-8 BOM", `\uFEFF${JSON.stringify(data)}`],
    ["trailing garbage", `${JSON.stringify(data)} x`], ["truncated", JSON.stringify(data).slice(0, 100)], ["binary", "\u0000\u0001\u0002"]]) {
    await dataCase("data", name, null, text);
  }
  // logit-diff answers.
  const ld = (name, correct, incorrect, ok) => add("data", `logit-diff: ${name}`, {
    expect: ok ? "ok" : "error", setup: (cwd) => put(join(cwd, "d.json"), { ...data, correct, incorrect }),
    args: (cwd) => [...runArgs(TL, join(cwd, "d.json")), "--metric", "logit-diff"],
    check: (r, cwd) => (JSON.parse(readFileSync(join(cwd, "c.json"), "utf8")).metric === "logit-diff" ? null : "metric not logit-diff"),
  });
  ld("one answer too few", [1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2], false);
  ld("answer 40", [1, 1, 1, 1, 1, 40], [2, 2, 2, 2, 2, 2], false);
  ld("answer -1", [1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, -1], false);
  ld("answer 0.5", [1, 1, 1, 1, 1, 0.5], [2, 2, 2, 2, 2, 2], false);
  ld("valid answers", [1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2], true);
  // Past the memory limit at once: 50,000 prompts.
  const many = { clean: Array.from({ length: 50_000 }, (_, i) => data.clean[i % 6]), corrupted: Array.from({ length: 50_000 }, (_, i) => data.corrupted[i % 6]), positions: Array(50_000).fill(7) };
  add("limits", "50,000 prompts: refused at once with the numbers", {
    setup: (cwd) => put(join(cwd, "d.json"), many), args: (cwd) => runArgs(TL, join(cwd, "d.json")),
    match: /patching 50000 prompts × 8 positions .* needs [\d.]+ GiB of WebAssembly memory but only [\d.]+ GiB .* left: use fewer prompts/,
    afterError: (r) => (r.ms > 8000 ? `took ${r.ms.toFixed(0)} ms` : null),
  });
}

// --- data files: fixed-seed mutations --------------------------------------------
{
  const rand = rng(1010);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const pool = [-1, 0, 1, 7, 8, 39, 40, 1.5, "3", null, true, [], [7], [5, 7], [], 1e9, 2 ** 53, -0];
  for (let i = 0; i < 26; i++) {
    const d = JSON.parse(JSON.stringify(data));
    const op = Math.floor(rand() * 8);
    let what;
    if (op <= 1) { const k = pick(["clean", "corrupted"]), b = Math.floor(rand() * 6), p = Math.floor(rand() * 8); d[k][b][p] = pick(pool); what = `${k}[${b}][${p}] = ${JSON.stringify(d[k][b][p])}`; }
    else if (op === 2) { const b = Math.floor(rand() * 6); d.positions[b] = pick(pool); what = `positions[${b}] = ${JSON.stringify(d.positions[b])}`; }
    else if (op === 3) { const k = pick(["clean", "corrupted", "positions"]); delete d[k]; what = `no ${k}`; }
    else if (op === 4) { const k = pick(["clean", "corrupted"]), b = Math.floor(rand() * 6); d[k][b] = rand() < 0.5 ? d[k][b].slice(0, -1) : [...d[k][b], 1]; what = `${k}[${b}] resized`; }
    else if (op === 5) { const k = pick(["clean", "corrupted", "positions"]); d[k] = rand() < 0.5 ? d[k].slice(1) : [...d[k], d[k][0]]; what = `${k} resized`; }
    else if (op === 6) { const b = Math.floor(rand() * 6), p = Math.floor(rand() * 8); d.corrupted[b][p] = Math.floor(rand() * V); what = `corrupted[${b}][${p}] = ${d.corrupted[b][p]} (in vocab)`; }
    else { const k = pick(["clean", "corrupted"]); d[k] = d[k].map((r) => r.slice(0, 6)); if (rand() < 0.5) { const o = k === "clean" ? "corrupted" : "clean"; d[o] = d[o].map((r) => r.slice(0, 6)); d.positions = d.positions.map(() => 5); } what = `${k} cut to 6 positions`; }
    await dataCase("data-mutation", `#${i} ${what}`, d);
  }
}

// --- TransformerLens configs ------------------------------------------------------
/** The ModelConfig a TransformerLens config means on the fixture's weights, or null when it cannot hold them (the test's own reading). */
function tlOracle(j) {
  if (j === null || typeof j !== "object" || Array.isArray(j)) return null;
  const is = (k, v) => j[k] === v;
  for (const [k, v] of [["n_layers", 2], ["d_model", 32], ["n_heads", 4], ["d_head", 8], ["d_vocab", 40], ["n_ctx", 12], ["d_mlp", 64]]) if (!is(k, v)) return null;
  const opt = (k, ok) => !(k in j) || ok(j[k]);
  const checks = [
    opt("attn_only", (v) => v === false),
    opt("normalization_type", (v) => v === "LN"),
    opt("eps", (v) => typeof v === "number" && v > 0),
    opt("act_fn", (v) => v === "gelu_new" || v === "relu"),
    opt("attention_dir", (v) => v === "causal" || v === "bidirectional"),
    opt("positional_embedding_type", (v) => v === "standard"),
    opt("parallel_attn_mlp", (v) => v === false || v === null),
    opt("use_attn_scale", (v) => v === true),
    opt("d_vocab_out", (v) => v === -1 || v === 40 || v === null),
    opt("final_rms", (v) => v === false || v === null),
    opt("gated_mlp", (v) => v === false || v === null),
    opt("n_key_value_heads", (v) => v === null || v === 4),
    opt("use_local_attn", (v) => v === false || v === null),
    opt("post_embedding_ln", (v) => v === false || v === null),
    opt("output_logits_soft_cap", (v) => v === -1 || v === null || v === 0),
    opt("attn_scores_soft_cap", (v) => v === -1 || v === null || v === 0),
    opt("num_experts", (v) => v === null),
    opt("use_normalization_before_and_after", (v) => v === false || v === null),
    opt("use_qk_norm", (v) => v === false || v === null),
    opt("scale_attn_by_inverse_layer_idx", (v) => v === false || v === null),
  ];
  if (!checks.every(Boolean)) return null;
  return { ...tlModelConfig, eps: j.eps ?? 1e-5, actFn: j.act_fn ?? "gelu_new", causal: (j.attention_dir ?? "causal") === "causal" };
}
const expectFor = new Map();
/** A config case on the fixture's weights: the oracle's ModelConfig must give the library's circuit, or the config must be refused. */
async function configCase(cls, name, j, text, oracle = tlOracle, bytes = tlBytes, layout = "tl") {
  const cfg = text === undefined ? oracle(j) : null;
  let want = null;
  if (cfg) {
    const key = JSON.stringify(cfg);
    if (!expectFor.has(key)) expectFor.set(key, await libraryCircuit(bytes, cfg));
    want = expectFor.get(key);
  }
  add(cls, name, {
    expect: cfg ? "ok" : "error",
    setup: (cwd) => {
      const body = text ?? JSON.stringify(j);
      if (layout === "tl") { copyFileSync(TL, join(cwd, "m.safetensors")); put(join(cwd, "m.config.json"), body); }
      else { mkdirSync(join(cwd, "m")); copyFileSync(join(HF, "model.safetensors"), join(cwd, "m", "model.safetensors")); put(join(cwd, "m", "config.json"), body); }
    },
    args: (cwd) => runArgs(join(cwd, layout === "tl" ? "m.safetensors" : "m")),
    check: want ? sameCircuit(want) : undefined,
  });
}
{
  const c = (patch, drop = []) => { const j = { ...tlConfig, ...patch }; for (const k of drop) delete j[k]; return j; };
  const targeted = [
    ["n_layers 1 (lower than the weights)", c({ n_layers: 1 })],
    ["n_layers 3", c({ n_layers: 3 })],
    ["n_layers 1e9", c({ n_layers: 1e9 })],
    ["n_layers 10,000,000", c({ n_layers: 1e7 })],
    ["n_layers 0", c({ n_layers: 0 })],
    ["n_layers 2.5", c({ n_layers: 2.5 })],
    ["n_layers \"2\"", c({ n_layers: "2" })],
    ["d_model 1e9", c({ d_model: 1e9 })],
    ["n_heads 4,000,000 × d_head 1", c({ n_heads: 4e6, d_head: 1 })],
    ["d_vocab 16,000,000", c({ d_vocab: 16e6 })],
    ["attn_only true on MLP weights", c({ attn_only: true })],
    ["attn_only \"false\"", c({ attn_only: "false" })],
    ["attn_only 0", c({ attn_only: 0 })],
    ["no normalization_type (TransformerLens default LN)", c({}, ["normalization_type"])],
    ["normalization_type RMS on LN weights", c({ normalization_type: "RMS" })],
    ["normalization_type LNPre on LN weights", c({ normalization_type: "LNPre" })],
    ["normalization_type null on LN weights", c({ normalization_type: null })],
    ["normalization_type \"ln\"", c({ normalization_type: "ln" })],
    ["eps \"1e-5\"", c({ eps: "1e-5" })],
    ["eps 0", c({ eps: 0 })],
    ["eps -1e-5", c({ eps: -1e-5 })],
    ["eps 1e-3 (a different, valid model)", c({ eps: 1e-3 })],
    ["no eps (default 1e-5)", c({}, ["eps"])],
    ["act_fn relu (a different, valid model)", c({ act_fn: "relu" })],
    ["act_fn gelu (exact erf: not gelu_new)", c({ act_fn: "gelu" })],
    ["act_fn solu_ln", c({ act_fn: "solu_ln" })],
    ["act_fn 1", c({ act_fn: 1 })],
    ["attention_dir bidirectional (a different, valid model)", c({ attention_dir: "bidirectional" })],
    ["attention_dir sideways", c({ attention_dir: "sideways" })],
    ["positional_embedding_type rotary", c({ positional_embedding_type: "rotary" })],
    ["d_vocab_out 50", c({ d_vocab_out: 50 })],
    ["d_vocab_out -1", c({ d_vocab_out: -1 })],
    ["n_key_value_heads 2", c({ n_key_value_heads: 2 })],
    ["use_local_attn true", c({ use_local_attn: true })],
    ["post_embedding_ln true", c({ post_embedding_ln: true })],
    ["output_logits_soft_cap 30", c({ output_logits_soft_cap: 30 })],
    ["attn_scores_soft_cap 50", c({ attn_scores_soft_cap: 50 })],
    ["num_experts 4", c({ num_experts: 4 })],
    ["use_qk_norm true", c({ use_qk_norm: true })],
    ["use_normalization_before_and_after true", c({ use_normalization_before_and_after: true })],
    ["parallel_attn_mlp true", c({ parallel_attn_mlp: true })],
    ["use_attn_scale false", c({ use_attn_scale: false })],
    ["model_name and seed (ignored)", c({ model_name: "tiny", seed: 42, tokenizer_name: null, original_architecture: "custom" })],
    ["every default spelled out", c({ attention_dir: "causal", positional_embedding_type: "standard", d_vocab_out: 40, use_attn_scale: true, parallel_attn_mlp: false, final_rms: false, gated_mlp: false, use_local_attn: false, output_logits_soft_cap: -1, attn_scores_soft_cap: -1, num_experts: null })],
    ["n_heads missing", c({}, ["n_heads"])],
    ["d_mlp missing", c({}, ["d_mlp"])],
  ];
  for (const [name, j] of targeted) await configCase("config", name, j);
  for (const [name, text] of [["not JSON", "{n_layers: 2}"], ["a JSON array", "[]"], ["empty object", "{}"], ["empty file", ""], ["neither TL nor HF", JSON.stringify({ layers: 2 })]]) {
    await configCase("config", name, null, text);
  }
  // Fixed-seed mutations: drop a key, change one, or add a known or unknown one.
  const rand = rng(2020);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const vals = [0, -1, 1, 2, 3, 4, 8, 12, 32, 40, 64, 1.5, 1e-6, 1e-3, 1e9, "2", "", null, true, false, [], {}, "LN", "RMS", "LNPre", "causal", "bidirectional", "relu", "gelu_new", "gelu", "standard"];
  const extraKeys = ["attention_dir", "positional_embedding_type", "d_vocab_out", "final_rms", "gated_mlp", "n_key_value_heads", "use_local_attn", "post_embedding_ln",
    "output_logits_soft_cap", "attn_scores_soft_cap", "num_experts", "use_qk_norm", "parallel_attn_mlp", "use_attn_scale", "model_name", "seed", "n_params", "normalization_type"];
  for (let i = 0; i < 28; i++) {
    const j = { ...tlConfig };
    const op = rand();
    let what;
    if (op < 0.2) { const k = pick(Object.keys(j)); delete j[k]; what = `no ${k}`; }
    else if (op < 0.6) { const k = pick(Object.keys(j)); j[k] = pick(vals); what = `${k} = ${JSON.stringify(j[k])}`; }
    else { const k = pick(extraKeys); j[k] = pick(vals); what = `+${k} = ${JSON.stringify(j[k])}`; }
    await configCase("config-mutation", `#${i} ${what}`, j);
  }
}

// --- Hugging Face GPT-2 configs ---------------------------------------------------
function hfOracle(j) {
  if (j === null || typeof j !== "object" || Array.isArray(j)) return null;
  for (const [k, v] of [["n_layer", 2], ["n_embd", 32], ["vocab_size", 40], ["n_positions", 12]]) if (j[k] !== v) return null;
  // GPT-2's fused c_attn [D, 3D] fits any head count that divides n_embd: another valid model.
  if (![1, 2, 4, 8, 16, 32].includes(j.n_head)) return null;
  const opt = (k, ok) => !(k in j) || ok(j[k]);
  if (j.n_inner !== 64) return null; // absent means 4·n_embd = 128, not the weights' 64
  const ok = [
    opt("model_type", (v) => v === "gpt2"),
    opt("activation_function", (v) => v === "gelu_new" || v === "gelu_pytorch_tanh" || v === "gelu"),
    opt("layer_norm_epsilon", (v) => typeof v === "number" && v > 0),
    opt("scale_attn_by_inverse_layer_idx", (v) => v === false || v === null),
    opt("scale_attn_weights", (v) => v === true),
    opt("add_cross_attention", (v) => v === false || v === null),
  ].every(Boolean);
  // "gelu" is the exact (erf) GELU, computed by its own kernel.
  return ok ? { ...tlModelConfig, nHeads: j.n_head, dHead: 32 / j.n_head, eps: j.layer_norm_epsilon ?? 1e-5, ...(j.activation_function === "gelu" ? { actFn: "gelu" } : {}) } : null;
}
{
  const c = (patch, drop = []) => { const j = { ...hfConfig, ...patch }; for (const k of drop) delete j[k]; return j; };
  const targeted = [
    ["n_layer 1", c({ n_layer: 1 })], ["n_layer 3", c({ n_layer: 3 })], ["n_embd 33", c({ n_embd: 33 })], ["n_head 3", c({ n_head: 3 })],
    ["n_head 8", c({ n_head: 8 })], ["n_inner missing (4·n_embd)", c({}, ["n_inner"])], ["vocab_size 41", c({ vocab_size: 41 })],
    ["n_positions 11", c({ n_positions: 11 })], ["model_type llama", c({ model_type: "llama" })], ["activation_function gelu", c({ activation_function: "gelu" })],
    ["activation_function gelu_pytorch_tanh", c({ activation_function: "gelu_pytorch_tanh" })], ["layer_norm_epsilon \"1e-5\"", c({ layer_norm_epsilon: "1e-5" })],
    ["layer_norm_epsilon 1e-3", c({ layer_norm_epsilon: 1e-3 })], ["scale_attn_by_inverse_layer_idx true", c({ scale_attn_by_inverse_layer_idx: true })],
    ["add_cross_attention true", c({ add_cross_attention: true })], ["dropout fields (ignored)", c({ resid_pdrop: 0.1, attn_pdrop: 0.1, embd_pdrop: 0.1, architectures: ["GPT2LMHeadModel"] })],
  ];
  for (const [name, j] of targeted) await configCase("hf-config", name, j, undefined, hfOracle, hfBytes, "hf");
  const rand = rng(3030);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const vals = [0, -1, 1, 2, 4, 12, 32, 40, 64, 128, 1.5, 1e-6, "2", null, true, false, "gpt2", "gelu_new", "relu"];
  const extra = ["model_type", "activation_function", "layer_norm_epsilon", "scale_attn_weights", "add_cross_attention", "n_ctx", "resid_pdrop"];
  for (let i = 0; i < 16; i++) {
    const j = { ...hfConfig };
    const op = rand();
    let what;
    if (op < 0.2) { const k = pick(Object.keys(j)); delete j[k]; what = `no ${k}`; }
    else if (op < 0.7) { const k = pick(Object.keys(j)); j[k] = pick(vals); what = `${k} = ${JSON.stringify(j[k])}`; }
    else { const k = pick(extra); j[k] = pick(vals); what = `+${k} = ${JSON.stringify(j[k])}`; }
    await configCase("hf-config-mutation", `#${i} ${what}`, j, undefined, hfOracle, hfBytes, "hf");
  }
}

// --- safetensors: targeted -------------------------------------------------------
/** A weights case: the file written by `make()` beside the fixture's config. */
function weightsCase(cls, name, bytes, c = {}) {
  add(cls, name, {
    setup: (cwd) => { put(join(cwd, "m.safetensors"), bytes); put(join(cwd, "m.config.json"), c.config ?? tlConfig); },
    args: (cwd) => runArgs(join(cwd, "m.safetensors")), ...c,
  });
}
const T = (name) => split.tensors.find((x) => x.name === name);
const withTensors = (f) => split.tensors.map((x) => f({ ...x, bytes: x.bytes.slice() }) ?? x);
const setValue = (name, index, v) => withTensors((x) => { if (x.name === name) { const a = f32(x.bytes); a[index] = v; x.bytes = f32Bytes(a); } return x; });
{
  // Non-finite weights, named with their tensor.
  const emb = split.tensors.findIndex((x) => x.name === "embed.W_E");
  const onlyCorrupted = data.corrupted.flat().find((tok) => !data.clean.flat().includes(tok));
  weightsCase("weights", `NaN in the embedding row of token ${onlyCorrupted} (used only by corrupted prompts)`, joinSafetensors(setValue("embed.W_E", onlyCorrupted * 32 + 3, NaN)), { match: new RegExp(`tensor "embed\\.W_E" holds NaN .* at element ${onlyCorrupted * 32 + 3}`) });
  weightsCase("weights", "+Inf in W_Q", joinSafetensors(setValue("blocks.1.attn.W_Q", 100, Infinity)), { match: /tensor "blocks\.1\.attn\.W_Q" holds Infinity/ });
  weightsCase("weights", "-Inf in an unembedding bias", joinSafetensors(setValue("unembed.b_U", 39, -Infinity)), { match: /tensor "unembed\.b_U" holds -Infinity/ });
  // A float64 tensor past the float32 range overflows to Infinity on conversion.
  const f64 = withTensors((x) => { if (x.name === "blocks.0.ln1.b") { const a = Float64Array.from(f32(x.bytes)); a[5] = 1e300; x.bytes = new Uint8Array(a.buffer); x.dtype = "F64"; } return x; });
  weightsCase("weights", "an F64 value of 1e300 (overflows float32)", joinSafetensors(f64), { match: /tensor "blocks\.0\.ln1\.b" holds Infinity/ });
  // Finite weights whose forward pass overflows: the search stops and says where.
  weightsCase("weights", "W_U of 3e38 (logits overflow)", joinSafetensors(withTensors((x) => { if (x.name === "unembed.W_U") x.bytes = f32Bytes(f32(x.bytes).map((v) => v * 1e38)); return x; })), { match: /metric "kl" is NaN on the clean run|not finite/ });
  // No LayerNorm to tame it: a huge (finite) embedding row used only by corrupted prompts overflows the
  // corrupted run; the clean run is fine, so the search must stop at the first trial that reads it, naming the edge.
  const noLnHuge = withTensors((x) => {
    if (x.name === "embed.W_E") { const a = f32(x.bytes); for (let i = 0; i < 32; i++) a[onlyCorrupted * 32 + i] = i % 2 ? 3e38 : -3e38; x.bytes = f32Bytes(a); }
    return x;
  }).filter((x) => !/ln\d\.[wb]$|ln_final\.[wb]$/.test(x.name));
  weightsCase("weights", "no LN, an overflowing embedding row used only by corrupted prompts", joinSafetensors(noLnHuge), {
    config: { ...tlConfig, normalization_type: null }, match: /metric "kl" is (NaN|-?Infinity) on removing edge \S+ → \S+: the model's outputs overflow/,
  });
  // Tensors that do not belong, and missing ones.
  weightsCase("weights", "blocks.0.attn.b_O renamed blocks.6.attn.b_O", joinSafetensors(withTensors((x) => { if (x.name === "blocks.0.attn.b_O") x.name = "blocks.6.attn.b_O"; return x; })), { match: /"blocks\.6\.attn\.b_O"/ });
  weightsCase("weights", "an extra tensor", joinSafetensors([...split.tensors, { name: "extra.weight", dtype: "F32", shape: [2], bytes: f32Bytes([1, 2]) }]), { match: /"extra\.weight"/ });
  weightsCase("weights", "a missing W_K", joinSafetensors(split.tensors.filter((x) => x.name !== "blocks.1.attn.W_K")), { match: /missing tensor "blocks\.1\.attn\.W_K"/ });
  weightsCase("weights", "one layer's b_O missing (the other has it)", joinSafetensors(split.tensors.filter((x) => x.name !== "blocks.0.attn.b_O")), { match: /blocks\.0\.attn\.b_O/ });
  weightsCase("weights", "a causal mask buffer (not a weight: skipped)", joinSafetensors([...split.tensors, { name: "blocks.0.attn.mask", dtype: "BOOL", shape: [12, 12], bytes: new Uint8Array(144).fill(1) }]), { expect: "ok", check: baseCircuit });
  weightsCase("weights", "an I32 tensor under a weight's name", joinSafetensors(withTensors((x) => { if (x.name === "blocks.0.ln1.w") x.dtype = "I32"; return x; })), { match: /"blocks\.0\.ln1\.w" has dtype I32/ });
  weightsCase("weights", "a transposed W_in", joinSafetensors(withTensors((x) => { if (x.name === "blocks.0.mlp.W_in") x.shape = [64, 32]; return x; })), { match: /blocks\.0\.mlp\.W_in/ });
  // Header layout.
  const tl = (edit, o = {}) => joinSafetensors(split.tensors, { edit, ...o });
  const lenAt = (b, n) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(0, BigInt(n), true); return c; };
  const hlen = Number(new DataView(tlBytes.buffer, tlBytes.byteOffset).getBigUint64(0, true));
  for (const [name, bytes, match] of [
    ["header length + 1", lenAt(tlBytes, hlen + 1), /safetensors: /],
    ["header length - 1", lenAt(tlBytes, hlen - 1), /safetensors: header is not valid JSON/],
    ["header length 2^40", lenAt(tlBytes, 2 ** 40), /header length \d+ goes beyond the file/],
    ["header length 2^64 - 1", (() => { const c = tlBytes.slice(); new DataView(c.buffer).setBigUint64(0, 2n ** 64n - 1n, true); return c; })(), /goes beyond the file/],
    ["header length 0", lenAt(tlBytes, 0), /safetensors: header is not valid JSON/],
    ["7 bytes", tlBytes.slice(0, 7), /truncated header/],
    ["empty file", new Uint8Array(0), /truncated header/],
    ["cut in the header", tlBytes.slice(0, 1000), /goes beyond the file/],
    ["cut in the data", tlBytes.slice(0, tlBytes.length - 100), /out of range .*file truncated\?/],
    ["a zip file", new Uint8Array([0x50, 0x4b, 3, 4, ...new Uint8Array(60)]), /pth: no zip end-of-central-directory record/],
    ["header not an object", (() => joinSafetensors([], { headerText: () => "[1,2,3]" }))(), /header is not a JSON object/],
    ["header invalid UTF-8", (() => { const c = tlBytes.slice(); c[20] = 0xff; return c; })(), /not valid JSON/],
    ["overlapping tensors", tl((h) => { h["blocks.0.ln1.b"].data_offsets = h["blocks.0.ln1.w"].data_offsets.slice(); }), /overlap/],
    ["offsets end before begin", tl((h) => { h["blocks.0.ln1.b"].data_offsets.reverse(); }), /end before they begin/],
    ["offsets one element short", tl((h) => { h["blocks.0.ln1.b"].data_offsets[1] -= 4; }), /bytes for shape/],
    ["a negative shape", tl((h) => { h["blocks.0.ln1.b"].shape = [-32]; }), /not a list of non-negative integers/],
    ["shape as a string", tl((h) => { h["blocks.0.ln1.b"].shape = "32"; }), /not a list/],
    ["dtype F8_E4M3", tl((h) => { h["blocks.0.ln1.b"].dtype = "F8_E4M3"; }), /safetensors: /],
    ["dtype \"float32\"", tl((h) => { h["blocks.0.ln1.b"].dtype = "float32"; }), /unknown dtype "float32"/],
    ["an entry that is a number", tl((h) => { h["blocks.0.ln1.b"] = 7; }), /entry is not an object/],
    ["a duplicated tensor name", joinSafetensors(split.tensors, { headerText: (s) => s.replace('"blocks.0.attn.b_O"', '"blocks.1.attn.b_O"') }), /blocks\.1\.attn\.b_O/],
  ]) weightsCase("header", name, bytes, { match });
  // Accepted layouts: metadata, another tensor order, no padding, F16 and BF16 (compared with the same values in F32).
  weightsCase("header", "with __metadata__", joinSafetensors(split.tensors, { metadata: { format: "pt", note: "x" } }), { expect: "ok", check: baseCircuit });
  weightsCase("header", "tensors in reverse order", joinSafetensors(split.tensors.slice().reverse()), { expect: "ok", check: baseCircuit });
  weightsCase("header", "header keys in another order than the data", tl((h) => Object.fromEntries(Object.entries(h).reverse())), { expect: "ok", check: baseCircuit });
  weightsCase("header", "header padded with spaces and newlines", joinSafetensors(split.tensors, { headerText: (s) => `\n ${s.replaceAll(",", ", ")}\n\t`, pad: false }), { expect: "ok", check: baseCircuit });
  const f16 = split.tensors.map((x) => { const a = f32(x.bytes); const bits = Uint16Array.from(a, toF16Bits); return { ...x, dtype: "F16", bytes: new Uint8Array(bits.buffer) }; });
  const f16AsF32 = split.tensors.map((x) => ({ ...x, bytes: f32Bytes(Float32Array.from(f32(x.bytes), (v) => fromF16Bits(toF16Bits(v)))) }));
  const wantF16 = await libraryCircuit(joinSafetensors(f16AsF32), tlModelConfig);
  weightsCase("header", "all tensors F16 (= the same values rounded, in F32)", joinSafetensors(f16), { expect: "ok", check: sameCircuit(wantF16) });
  const bf = split.tensors.map((x) => { const u = new Uint32Array(f32(x.bytes).buffer); return { ...x, dtype: "BF16", bytes: new Uint8Array(Uint16Array.from(u, (w) => w >>> 16).buffer) }; });
  const bfAsF32 = split.tensors.map((x) => ({ ...x, bytes: new Uint8Array(Uint32Array.from(new Uint32Array(f32(x.bytes).buffer), (w) => (w >>> 16) << 16).buffer) }));
  weightsCase("header", "all tensors BF16 (= truncated values in F32)", joinSafetensors(bf), { expect: "ok", check: sameCircuit(await libraryCircuit(joinSafetensors(bfAsF32), tlModelConfig)) });
  // Swapping two same-sized tensors' bytes gives a different, valid model: the circuit of that model.
  const swapped = split.tensors.map((x) => (x.name === "blocks.0.ln1.w" ? { ...x, bytes: T("blocks.0.ln1.b").bytes } : x.name === "blocks.0.ln1.b" ? { ...x, bytes: T("blocks.0.ln1.w").bytes } : x));
  weightsCase("header", "ln1.w and ln1.b offsets swapped", tl((h) => { const a = h["blocks.0.ln1.w"].data_offsets; h["blocks.0.ln1.w"].data_offsets = h["blocks.0.ln1.b"].data_offsets; h["blocks.0.ln1.b"].data_offsets = a; }),
    { expect: "ok", check: sameCircuit(await libraryCircuit(joinSafetensors(swapped), tlModelConfig)) });
  // Every bias of a kind absent: a model without that bias, the same as explicit zeros.
  const noBO = split.tensors.filter((x) => !x.name.endsWith("attn.b_O"));
  const zeroBO = split.tensors.map((x) => (x.name.endsWith("attn.b_O") ? { ...x, bytes: new Uint8Array(x.bytes.length) } : x));
  weightsCase("weights", "no b_O in any layer (= zero b_O)", joinSafetensors(noBO), { expect: "ok", check: sameCircuit(await libraryCircuit(joinSafetensors(zeroBO), tlModelConfig)) });
  // LNPre: folded LayerNorm, no LN weights; the same as LN with w = 1, b = 0.
  const noLn = split.tensors.filter((x) => !/ln\d\.[wb]$|ln_final\.[wb]$/.test(x.name));
  const unitLn = split.tensors.map((x) => (/ln\d\.w$|ln_final\.w$/.test(x.name) ? { ...x, bytes: f32Bytes(new Float32Array(32).fill(1)) } : /ln\d\.b$|ln_final\.b$/.test(x.name) ? { ...x, bytes: f32Bytes(new Float32Array(32)) } : x));
  weightsCase("weights", "LNPre: no LN weights (= LN with w 1, b 0)", joinSafetensors(noLn), {
    expect: "ok", config: { ...tlConfig, normalization_type: "LNPre" }, check: sameCircuit(await libraryCircuit(joinSafetensors(unitLn), tlModelConfig)),
  });
  weightsCase("weights", "LN config on a file without LN weights", joinSafetensors(noLn), { match: /missing tensor "blocks\.0\.ln1\.w"/ });
}

// --- safetensors: fixed-seed mutations --------------------------------------------
{
  const rand = rng(4040);
  const hl = Number(new DataView(tlBytes.buffer, tlBytes.byteOffset).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(tlBytes.subarray(8, 8 + hl));
  const body = tlBytes.subarray(8 + hl);
  const chars = '0123456789{}[]":,. -_abeFIU\t\n\\';
  for (let i = 0; i < 30; i++) {
    // Edit the header text at random; the length field follows the new text unless the edit is to the length itself.
    let s = headerText, what;
    const n = 1 + Math.floor(rand() * 2);
    for (let k = 0; k < n; k++) {
      const at = Math.floor(rand() * s.trimEnd().length), ch = chars[Math.floor(rand() * chars.length)];
      const op = rand();
      if (op < 0.5) { s = s.slice(0, at) + ch + s.slice(at + 1); what = `${what ? `${what}, ` : ""}[${at}] = ${JSON.stringify(ch)}`; }
      else if (op < 0.75) { s = s.slice(0, at) + s.slice(at + 1); what = `${what ? `${what}, ` : ""}delete [${at}]`; }
      else { s = s.slice(0, at) + ch + s.slice(at); what = `${what ? `${what}, ` : ""}insert ${JSON.stringify(ch)} at ${at}`; }
    }
    const hb = new TextEncoder().encode(s);
    const out = new Uint8Array(8 + hb.length + body.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8);
    out.set(body, 8 + hb.length);
    // An accepted edit cannot have changed what the header says (whitespace, an equal number): the reference circuit.
    weightsCase("header-mutation", `#${i} ${what}`, out, { expect: "either", check: baseCircuit });
  }
  // Structured: one entry's dtype, shape, offsets or name changed.
  const names = split.tensors.map((x) => x.name);
  for (let i = 0; i < 22; i++) {
    const name = names[Math.floor(rand() * names.length)];
    const op = Math.floor(rand() * 5);
    let what;
    const bytes = joinSafetensors(split.tensors, {
      edit: (h) => {
        const e = h[name];
        if (op === 0) { e.dtype = ["F16", "BF16", "F64", "I64", "U8", "BOOL"][Math.floor(rand() * 6)]; what = `${name} dtype ${e.dtype}`; }
        else if (op === 1) { e.shape = e.shape.slice().reverse().concat(rand() < 0.3 ? [1] : []); what = `${name} shape [${e.shape}]`; }
        else if (op === 2) { const d = [-8, -4, 4, 8][Math.floor(rand() * 4)]; e.data_offsets = e.data_offsets.map((x) => x + d); what = `${name} offsets ${d > 0 ? "+" : ""}${d}`; }
        else if (op === 3) { const other = names[Math.floor(rand() * names.length)]; const v = h[name]; delete h[name]; h[other] = v; what = `${name} renamed ${other}`; }
        else { const v = h[name]; delete h[name]; h[name.replace(/\d/, (m) => String((Number(m) + 1) % 3))] = v; what = `${name} → another layer's name`; }
      },
    });
    // Any change to one entry describes different weights: refused, unless it changed nothing (a reversed 1-D shape).
    weightsCase("header-mutation", `structured #${i} ${what}`, bytes, { expect: "either", check: baseCircuit });
  }
  // Non-finite values at random places: refused, naming the tensor and the element.
  for (let i = 0; i < 15; i++) {
    const x = split.tensors[Math.floor(rand() * split.tensors.length)];
    const n = x.bytes.length / 4, at = Math.floor(rand() * n), v = [NaN, Infinity, -Infinity][i % 3];
    weightsCase("weights-mutation", `${x.name}[${at}] = ${v}`, joinSafetensors(setValue(x.name, at, v)), {
      match: new RegExp(`tensor "${x.name.replaceAll(".", "\\.")}" holds ${String(v).replace("+", "")} .*at element ${at};`),
    });
  }
}

// --- memory and size limits -------------------------------------------------------
{
  // Sparse files whose headers promise 3.3 GB and 4.9 GB of weights: info reads the header only; run refuses the larger at once.
  const bigFile = (vocab) => (cwd) => {
    const big = { n_layers: 2, d_model: 4096, n_heads: 32, d_head: 128, d_mlp: 16384, d_vocab: vocab, n_ctx: 1024, act_fn: "gelu_new" };
    const tensors = [];
    const D = big.d_model, M = big.d_mlp;
    const add_ = (name, shape) => tensors.push({ name, dtype: "F32", shape, bytes: { length: shape.reduce((a, b) => a * b, 4) } });
    add_("embed.W_E", [big.d_vocab, D]); add_("pos_embed.W_pos", [big.n_ctx, D]);
    for (let l = 0; l < 2; l++) {
      for (const w of ["ln1.w", "ln1.b", "ln2.w", "ln2.b"]) add_(`blocks.${l}.${w}`, [D]);
      for (const x of ["Q", "K", "V"]) add_(`blocks.${l}.attn.W_${x}`, [32, D, 128]);
      add_(`blocks.${l}.attn.W_O`, [32, 128, D]);
      add_(`blocks.${l}.mlp.W_in`, [D, M]); add_(`blocks.${l}.mlp.W_out`, [M, D]);
    }
    add_("ln_final.w", [D]); add_("ln_final.b", [D]); add_("unembed.W_U", [D, big.d_vocab]);
    const header = {};
    let off = 0;
    for (const x of tensors) { header[x.name] = { dtype: "F32", shape: x.shape, data_offsets: [off, off + x.bytes.length] }; off += x.bytes.length; }
    const hb = Buffer.from(JSON.stringify(header));
    const fd = openSync(join(cwd, "big.safetensors"), "w");
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hb.length));
    writeSync(fd, len); writeSync(fd, hb);
    ftruncateSync(fd, 8 + hb.length + off);
    closeSync(fd);
    put(join(cwd, "big.config.json"), big);
  };
  add("limits", "info on a 3.3 GB model reads its header only", {
    expect: "ok", setup: bigFile(50000), args: ["info", "--model", "big.safetensors"],
    check: (r) => (r.ms > 5000 ? `took ${r.ms.toFixed(0)} ms` : /2 layers × 32 heads, d_model 4096/.test(r.stdout) && /with 25 tensors/.test(r.stdout) ? null : `output: ${r.stdout}`),
  });
  add("limits", "run on a 4.9 GB model: refused at once with the numbers", {
    setup: bigFile(100000), args: runArgs("big.safetensors"), match: /1,226,262,176 parameters \(as f32\) needs 4\.57 GiB of WebAssembly memory but only 4\.00 GiB of the 4 GiB limit is left/,
    afterError: (r) => (r.ms > 5000 ? `took ${r.ms.toFixed(0)} ms` : null),
  });
  // A 51 MB model (all zeros) shows progress while its weights load; zero weights make every edge removable.
  add("limits", "progress while a 51 MB model loads", {
    expect: "ok",
    setup: (cwd) => {
      const cfg = { n_layers: 1, d_model: 64, n_heads: 2, d_head: 32, d_mlp: 64, d_vocab: 100000, n_ctx: 12, act_fn: "gelu_new" };
      const shapes = [["embed.W_E", [100000, 64]], ["pos_embed.W_pos", [12, 64]], ["blocks.0.ln1.w", [64]], ["blocks.0.ln1.b", [64]],
        ...["Q", "K", "V"].map((x) => [`blocks.0.attn.W_${x}`, [2, 64, 32]]), ["blocks.0.attn.W_O", [2, 32, 64]], ["blocks.0.ln2.w", [64]], ["blocks.0.ln2.b", [64]],
        ["blocks.0.mlp.W_in", [64, 64]], ["blocks.0.mlp.W_out", [64, 64]], ["ln_final.w", [64]], ["ln_final.b", [64]], ["unembed.W_U", [64, 100000]]];
      const header = {};
      let off = 0;
      for (const [name, shape] of shapes) { const n = shape.reduce((a, b) => a * b, 4); header[name] = { dtype: "F32", shape, data_offsets: [off, off + n] }; off += n; }
      const hb = Buffer.from(JSON.stringify(header));
      const fd = openSync(join(cwd, "m.safetensors"), "w");
      const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hb.length));
      writeSync(fd, len); writeSync(fd, hb); ftruncateSync(fd, 8 + hb.length + off); closeSync(fd);
      put(join(cwd, "m.config.json"), cfg);
    },
    args: ["run", "--model", "m.safetensors", "--data", DATA, "--threshold", "0.01", "--out", "c.json"],
    check: (r, cwd) => {
      if (!/loading weights \[#+\] 51\/51 MB 100%/.test(r.stderr)) return `no load progress: ${r.stderr.slice(0, 300)}`;
      const j = JSON.parse(readFileSync(join(cwd, "c.json"), "utf8"));
      return j.num_kept === 0 && j.final_metric === 0 && j.baseline === 0 ? null : `kept ${j.num_kept}, metric ${j.final_metric}`;
    },
  });
  add("limits", "info with n_layers 1e7", {
    setup: (cwd) => { copyFileSync(TL, join(cwd, "m.safetensors")); put(join(cwd, "m.config.json"), { ...tlConfig, n_layers: 1e7 }); },
    args: ["info", "--model", "m.safetensors"], match: /config: /, afterError: (r) => (r.ms > 5000 ? `took ${r.ms.toFixed(0)} ms` : null),
  });
  add("limits", "info with 1000 layers × 1000 heads of width 1 (a graph of ~10^12 edges)", {
    setup: (cwd) => { copyFileSync(TL, join(cwd, "m.safetensors")); put(join(cwd, "m.config.json"), { ...tlConfig, n_layers: 1000, n_heads: 1000, d_head: 1, d_model: 1, d_mlp: 1 }); },
    args: ["info", "--model", "m.safetensors"], match: /edges/, afterError: (r) => (r.ms > 5000 ? `took ${r.ms.toFixed(0)} ms` : null),
  });
}

// --- a misbehaving hub -------------------------------------------------------------
const hfCfgText = Buffer.from(JSON.stringify(hfConfig));
const hub = {
  // Plain http handlers by repo and file.
  "ok/model": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": hfBytes.length }); s.end(hfBytes); } },
  "bad/garbage": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": 5000 }); s.end(Buffer.alloc(5000, 0x41)); } },
  "bad/html": { "config.json": (q, s) => s.end("<html>rate limited</html>"), "model.safetensors": (q, s) => s.end(hfBytes) },
  "bad/config": { "config.json": (q, s) => s.end(JSON.stringify({ n_layer: 2 })), "model.safetensors": (q, s) => s.end(hfBytes) },
  "bad/short-no-length": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { connection: "close" }); s.end(hfBytes.subarray(0, hfBytes.length - 1000)); } },
  "bad/chunked-cut": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200); s.write(hfBytes.subarray(0, 20000), () => s.destroy()); } },
  "bad/long-length": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": hfBytes.length + 5000 }); s.write(hfBytes, () => s.destroy()); } },
  "bad/huge-length": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": 20 * 2 ** 30 }); s.write(hfBytes.subarray(0, 1000), () => s.destroy()); } },
  "bad/trickle": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": hfBytes.length }); let i = 0; const iv = setInterval(() => { if (s.destroyed) return clearInterval(iv); s.write(hfBytes.subarray(i, i + 1)); i++; }, 100); s.on("close", () => clearInterval(iv)); } },
  "bad/stall": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": hfBytes.length }); s.write(hfBytes.subarray(0, 100)); } },
  "bad/loop": { "config.json": (q, s) => { s.writeHead(302, { location: q.url }); s.end(); } },
  "bad/500": { "config.json": (q, s) => { s.writeHead(500); s.end("oops"); } },
  "bad/truncated-header": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": 4000 }); s.end(hfBytes.subarray(0, 4000)); } },
  "slow/model": { "config.json": (q, s) => s.end(hfCfgText), "model.safetensors": (q, s) => { s.writeHead(200, { "content-length": hfBytes.length }); let i = 0; const iv = setInterval(() => { if (s.destroyed) return clearInterval(iv); s.write(hfBytes.subarray(i, i + 8192)); i += 8192; if (i >= hfBytes.length) { clearInterval(iv); s.end(); } }, 40); s.on("close", () => clearInterval(iv)); } },
  "bad/mismatch": { "config.json": (q, s) => s.end(JSON.stringify({ ...hfConfig, n_layer: 3 })), "model.safetensors": (q, s) => s.end(hfBytes) },
};
const server = createServer((q, s) => {
  const m = /^\/(.+)\/resolve\/main\/([^/?]+)$/.exec(q.url);
  const h = m && hub[m[1]]?.[m[2]];
  if (!h) { s.writeHead(404, { "x-error-code": "RepoNotFound" }); return s.end(); }
  h(q, s);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
// A raw server for what Node's http server will not send: a Content-Length shorter than the body.
const raw = createNetServer((sock) => {
  sock.once("data", (req) => {
    const url = /^GET (\S+)/.exec(String(req))?.[1] ?? "";
    const body = url.endsWith("config.json") ? hfCfgText : Buffer.concat([hfBytes, Buffer.from("EXTRA BYTES")]);
    const len = url.endsWith("config.json") ? body.length : hfBytes.length - 3000;
    sock.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${len}\r\nconnection: close\r\n\r\n`), body]));
  });
  sock.on("error", () => {});
});
await new Promise((r) => raw.listen(0, "127.0.0.1", r));
t.teardown(() => { server.closeAllConnections(); server.close(); raw.close(); });
const hubUrl = `http://127.0.0.1:${server.address().port}`;
{
  const env = (cwd) => ({ ACDC_HUB_URL: hubUrl, ACDC_CACHE: join(cwd, "cache"), ACDC_HUB_TIMEOUT: "1" });
  /** Nothing but complete, valid files in the cache after a failed download. */
  const cacheClean = (repo) => (r, cwd) => {
    const d = join(cwd, "cache", ...repo.split("/"), "main");
    const files = existsSync(d) ? readdirSync(d) : [];
    return files.some((f) => f !== "config.json") ? `cache holds ${files}` : null;
  };
  const hubCase = (repo, match, extra = {}) => add("hub", repo, { args: ["info", "--quiet", "--model", repo], env, match, afterError: cacheClean(repo), timeoutMs: 15_000, ...extra });
  hubCase("bad/garbage", /model\.safetensors of bad\/garbage is not a valid safetensors file/);
  hubCase("bad/html", /config\.json of bad\/html is not valid JSON/);
  hubCase("bad/config", /config\.json of bad\/config: config: /);
  hubCase("bad/short-no-length", /model\.safetensors of bad\/short-no-length .*(truncated|out of range)/);
  hubCase("bad/chunked-cut", /cut off|truncated/);
  hubCase("bad/long-length", /cut off after [\d.]+ MB of [\d.]+ MB/);
  hubCase("bad/huge-length", /model\.safetensors of bad\/huge-length is 21474\.8 MB: no model that fits/);
  hubCase("bad/trickle", /is too slow: \d+ bytes in the last 1 s/);
  hubCase("bad/stall", /stalled: nothing received/);
  hubCase("bad/loop", /redirect/);
  hubCase("bad/500", /HTTP 500/);
  hubCase("bad/truncated-header", /model\.safetensors of bad\/truncated-header/);
  hubCase("bad/mismatch", /missing tensor "h\.2\.ln_1\.weight" .*\(in .*cache.*model\.safetensors and its config\.json, downloaded from the hub\)/, { args: runArgs("bad/mismatch"), afterError: null });
  hubCase("no/such-repo", /no repo no\/such-repo/);
  add("hub", "Content-Length shorter than the body", {
    args: ["info", "--quiet", "--model", "raw/short"], env: (cwd) => ({ ...env(cwd), ACDC_HUB_URL: `http://127.0.0.1:${raw.address().port}` }),
    match: /model\.safetensors of raw\/short/, afterError: cacheClean("raw/short"),
  });
  // A good download, then the same run offline from the cache; then a poisoned cache file is named.
  add("hub", "download, then run from the cache", {
    expect: "ok", env, args: runArgs("ok/model"),
    check: async (r, cwd) => {
      const first = sameCircuit(hfBase)(r, cwd);
      if (first) return first;
      const again = await runCli(runArgs("ok/model"), { cwd, env: { ...env(cwd), ACDC_HUB_URL: "http://127.0.0.1:1" } });
      return again.code === 0 ? sameCircuit(hfBase)(again, cwd) : `offline rerun: exit ${again.code}: ${again.stderr}`;
    },
  });
  add("hub", "a cached file corrupted afterwards is named in the error", {
    env, setup: (cwd) => {
      const d = join(cwd, "cache", "ok", "model", "main");
      mkdirSync(d, { recursive: true });
      put(join(d, "config.json"), hfCfgText);
      put(join(d, "model.safetensors"), hfBytes.subarray(0, 3000));
    },
    args: ["info", "--quiet", "--model", "ok/model"], match: /the cached file .*cache\/ok\/model\/main\/model\.safetensors is damaged: .*delete it to download it again/,
  });
}

// --- interruptions: a killed run leaves the old output or the whole new one ---------------
{
  const OLD = "OLD CIRCUIT\n";
  /** Send `sig` `delay` ms after `stream` first prints text matching `re` (moments of a run, whatever the machine's speed). */
  const killOn = (stream, re, sig, delay = 0) => (child) => {
    let text = "", sent = false;
    child[stream].on("data", (d) => {
      text += d;
      if (!sent && re.test(text)) { sent = true; setTimeout(() => child.kill(sig), delay); }
    });
  };
  for (const [stream, re, delay, when] of [["stderr", /^model /m, 0, "after loading"], ["stderr", /^acdc τ/m, 0, "during the search"],
    ["stdout", /kept \d+ of/, 0, "as it writes c.json"], ["stdout", /kept \d+ of/, 2, "2 ms after the summary"], ["stdout", /wrote c\.json/, 0, "between c.json and c.dot"], ["stdout", /metric: /, 1, "1 ms after the metric line"]]) {
    add("interrupt", `SIGKILL ${when}`, {
      expect: "either", setup: (cwd) => put(join(cwd, "c.json"), OLD),
      args: ["run", "--model", TL, "--data", DATA, "--threshold", String(TAU), "--out", "c.json", "--dot", "c.dot"],
      onSpawn: killOn(stream, re, "SIGKILL", delay),
      // Killed or finished, c.json is the old file or the whole new circuit; then an uninterrupted run gives the circuit.
      check: (r, cwd) => interruptCheck(r, cwd),
    });
  }
  // Killed while downloading: nothing (or only a hidden .part file) in the cache; the next run downloads it whole.
  for (const delay of [0, 150]) {
    add("interrupt", `SIGKILL during a hub download (${delay} ms in)`, {
      expect: "either", env: (cwd) => ({ ACDC_HUB_URL: hubUrl, ACDC_CACHE: join(cwd, "cache") }), args: runArgs("slow/model").filter((a) => a !== "--quiet"),
      onSpawn: killOn("stderr", /downloading slow\/model model\.safetensors/, "SIGKILL", delay),
      check: async (r, cwd) => {
        const d = join(cwd, "cache", "slow", "model", "main");
        if (r.code !== 0 && existsSync(join(d, "model.safetensors"))) return "a killed download left model.safetensors in the cache";
        const again = await runCli(runArgs("slow/model"), { cwd, env: { ACDC_HUB_URL: hubUrl, ACDC_CACHE: join(cwd, "cache") } });
        return again.code === 0 ? sameCircuit(hfBase)(again, cwd) : `rerun: exit ${again.code}: ${again.stderr}`;
      },
    });
  }
  // Ctrl-C in the middle of a download: the partial file is removed and the process dies of the signal.
  for (const sig of ["SIGINT", "SIGTERM"]) {
    add("interrupt", `${sig} during a hub download`, {
      expect: "either", env: (cwd) => ({ ACDC_HUB_URL: hubUrl, ACDC_CACHE: join(cwd, "cache") }), args: runArgs("slow/model").filter((a) => a !== "--quiet"),
      onSpawn: killOn("stderr", /downloading slow\/model model\.safetensors: .* [1-9]\d%/, sig),
      check: (r, cwd) => {
        const d = join(cwd, "cache", "slow", "model", "main");
        const files = existsSync(d) ? readdirSync(d) : [];
        if (r.code === 0) return files.includes("model.safetensors") ? null : "finished without caching";
        if (r.signal !== sig) return `ended with ${r.code ?? r.signal}, not by ${sig}`;
        return files.some((f) => f !== "config.json") ? `left in the cache: ${files}` : null;
      },
    });
  }
  // Ctrl-C during a long synchronous computation (EAP-IG, 1000 steps) stops it at once: no handler may wait for it.
  for (const sig of ["SIGINT", "SIGTERM"]) {
    add("interrupt", `${sig} during a long run`, {
      expect: "either", setup: (cwd) => put(join(cwd, "c.json"), OLD),
      args: ["run", "--model", TL, "--data", DATA, "--algorithm", "eap-ig", "--ig-steps", "1000", "--top-k", "50", "--out", "c.json"],
      onSpawn: killOn("stderr", /^eap-ig \[/m, sig),
      check: async (r, cwd) => (r.signal !== sig ? `ended with ${r.code ?? r.signal}, not by ${sig}` : readFileSync(join(cwd, "c.json"), "utf8") !== OLD ? "c.json changed" : interruptCheck(r, cwd)),
    });
  }
  async function interruptCheck(r, cwd) {
    // Ctrl-C stops even a synchronous search at once (the default action; no handler waits for the search).
    if (r.signal && r.signal !== "SIGKILL" && readdirSync(cwd).some((f) => f.endsWith(".part"))) return `temp file left after ${r.signal}`;
    const now = readFileSync(join(cwd, "c.json"), "utf8");
    if (now !== OLD) {
      let j;
      try { j = JSON.parse(now); } catch { return "c.json is half-written"; }
      if (j.num_kept !== base.edges.length) return "c.json holds another circuit";
    }
    if (readdirSync(cwd).some((f) => f.endsWith(".part") && r.code !== null)) return "temp file left by a run that exited";
    const again = await runCli(runArgs(TL), { cwd });
    return again.code === 0 ? baseCircuit(again, cwd) : `rerun: exit ${again.code}`;
  }
}

// --- run them all -------------------------------------------------------------------
// Interruption cases are timed: they run on their own after the rest.
// Twice as many processes as cores (at most 4): a core is never idle while a process starts, exits or waits on the hub.
const jobs = Math.max(2, Math.min(4, 2 * availableParallelism()));
// CAMPAIGN_ONLY=cls,cls runs some classes (while fixing what they find); the counts below then say so.
const only = process.env.CAMPAIGN_ONLY?.split(",");
const chosen = only ? cases.filter((c) => only.includes(c.cls)) : cases;
const main = chosen.filter((c) => c.cls !== "interrupt");
const timed = chosen.filter((c) => c.cls === "interrupt");
const tSetup = performance.now() - tStart;
const t0 = performance.now();
const results = [...await runCases(main, join(dir, "main"), jobs), ...await runCases(timed, join(dir, "timed"), 2)];
const secs = (performance.now() - t0) / 1000;

// A run killed on purpose is judged by its check (outputs whole, the rerun right), not as an error line.
for (const o of results) {
  if (o.c.cls === "interrupt" && o.kind === "fail" && o.r && o.r.code !== 0 && !o.r.hung) {
    o.why = await o.c.check(o.r, join(dir, "timed", String(timed.indexOf(o.c))));
    o.kind = o.why ? "fail" : "interrupted";
  }
}
const by = (k) => results.filter((o) => o.kind === k).length;
t.comment(`campaign: ${results.length} cases in ${secs.toFixed(1)} s (setup ${(tSetup / 1000).toFixed(1)} s, ${jobs} at a time): ` +
  `${by("error")} exit-2 one-liners, ${by("ok")} accepted and checked, ${by("interrupted")} killed midway and checked, ${by("fail")} failures`);
const classes = [...new Set(results.map((o) => o.c.cls))];
t.comment(classes.map((k) => `${k} ${results.filter((o) => o.c.cls === k).length}`).join(", "));
if (!only) t.ok(results.length >= 400, `at least 400 cases (${results.length})`);
for (const k of classes) {
  t.test(k, async (t) => {
    for (const o of results.filter((x) => x.c.cls === k)) {
      const detail = o.kind === "fail" ? `: ${o.why} | stderr: ${o.r?.stderr.trim().split("\n").slice(0, 3).join(" ⏎ ")}` : "";
      t.ok(o.kind !== "fail", `${o.c.name} → ${o.kind === "error" ? o.r.stderr.trim() : o.kind}${detail}`);
    }
  });
}
if (process.env.CAMPAIGN_DUMP) {
  writeFileSync(process.env.CAMPAIGN_DUMP, JSON.stringify(results.map((o) => ({ cls: o.c.cls, name: o.c.name, kind: o.kind, why: o.why, code: o.r?.code, ms: Math.round(o.r?.ms ?? 0), stderr: o.r?.stderr.slice(0, 600) })), null, 1));
}
