// PyTorch checkpoints through loadModel and the CLI: TransformerLens state
// dicts (the paper's attention-only models are published this way) torch.save'd
// in f32, f16 and bf16 (test/fixtures/pth/, written by
// scripts/make-pth-fixtures.mjs; the JSON beside each holds its values and
// TransformerLens config). Each loads with its config, skipping TL's mask
// and IGNORE buffers by name, to the logits of the same weights built in
// memory (bit for bit) and of a float64 forward pass (1e-5); malicious
// pickles are refused through loadModel and `acdc run` as through the reader.
import t from "tap";
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, readJson } from "../helpers/fixtures.mjs";
import { buildGraph, loadModel, makeConfig, configFromJson, Transformer, FormatError, InputError } from "../../dist/index.js";
import { slowPatchedKL } from "../reference/slow-patch.mjs";

const DIR = join(root, "test", "fixtures", "pth");
const bytes = (name) => new Uint8Array(readFileSync(join(DIR, name)));
const tokens = [[1, 4, 2, 7, 3, 9], [0, 5, 5, 8, 2, 6]];

/** The fixture's weights as canonical in-memory tensors (its values exact; buffers left out). */
function weightsOf(json) {
  const W = new Map();
  for (const [name, x] of Object.entries(json.tensors)) {
    if (/\.(mask|IGNORE)$/.test(name)) continue;
    W.set(name, { shape: x.shape, data: Float32Array.from(x.values) });
  }
  return W;
}

for (const dtype of ["f32", "f16", "bf16"]) {
  t.test(`tiny-attn-only.${dtype}.pth: a TransformerLens state dict loads with its TL config`, async (t) => {
    const json = readJson(join(DIR, `tiny-attn-only.${dtype}.json`));
    t.ok(Object.keys(json.tensors).some((n) => n.endsWith(".attn.mask")) && Object.keys(json.tensors).some((n) => n.endsWith(".attn.IGNORE")), "the file carries TL's mask and IGNORE buffers");
    const model = await loadModel(bytes(`tiny-attn-only.${dtype}.pth`), json.config);
    const cfg = configFromJson(json.config);
    const W = weightsOf(json);
    const inMemory = await Transformer.create(cfg, W);
    const a = model.forward(tokens).logits, b = inMemory.forward(tokens).logits;
    t.ok(a.every((x, i) => Object.is(x, b[i])), "logits bit-identical to the same values built in memory");
    // Float64: the slow patched pass with every edge present, at every position.
    const graph = buildGraph(cfg), B = tokens.length, T = tokens[0].length;
    const W64 = new Map([...W].map(([n, x]) => [n, { shape: x.shape, data: Float64Array.from(x.data) }]));
    const rows = Array.from({ length: B * T }, (_, i) => i);
    const { logProbs } = slowPatchedKL({ W: W64, cfg, graph, present: new Uint8Array(graph.edges.length).fill(1), ablated: null, ids: tokens.flat(), B, T, rows });
    let d = 0;
    const V = cfg.dVocab;
    rows.forEach((r) => {
      const lg = Array.from(a.subarray(r * V, (r + 1) * V)), mx = Math.max(...lg), lse = mx + Math.log(lg.reduce((s, x) => s + Math.exp(x - mx), 0));
      for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(lg[v] - lse - logProbs[r][v]));
    });
    t.ok(d < 1e-5, `log-probabilities equal a float64 forward of the stored values (max |diff| ${d.toExponential(2)})`);
  });
}

t.test("a shortformer TransformerLens config (the paper's redwood_attn_2l): W_pos only in queries' and keys' input", async (t) => {
  const json = readJson(join(DIR, "tiny-attn-only.f32.json"));
  const config = { ...json.config, positional_embedding_type: "shortformer" };
  const model = await loadModel(bytes("tiny-attn-only.f32.pth"), config);
  const standard = await loadModel(bytes("tiny-attn-only.f32.pth"), json.config);
  const cfg = configFromJson(config);
  t.equal(cfg.positional, "shortformer", "positional_embedding_type shortformer is read");
  const first = model.forward(tokens, { hooks: ["blocks.0.hook_resid_pre", "hook_embed"] });
  t.same(Array.from(first.cache.get("blocks.0.hook_resid_pre").data), Array.from(first.cache.get("hook_embed").data), "the stream starts as the token embedding alone");
  const a = first.logits, s = standard.forward(tokens).logits;
  t.ok(a.some((x, i) => x !== s[i]), "and the logits differ from the standard model's");
  const W = new Map([...weightsOf(json)].map(([n, x]) => [n, { shape: x.shape, data: Float64Array.from(x.data) }]));
  const graph = buildGraph(cfg), B = tokens.length, T = tokens[0].length, V = cfg.dVocab;
  const rows = Array.from({ length: B * T }, (_, i) => i);
  const { logProbs } = slowPatchedKL({ W, cfg, graph, present: new Uint8Array(graph.edges.length).fill(1), ablated: null, ids: tokens.flat(), B, T, rows });
  let d = 0;
  rows.forEach((r) => {
    const lg = Array.from(a.subarray(r * V, (r + 1) * V)), mx = Math.max(...lg), lse = mx + Math.log(lg.reduce((x, y) => x + Math.exp(y - mx), 0));
    for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(lg[v] - lse - logProbs[r][v]));
  });
  t.ok(d < 1e-5, `log-probabilities equal a float64 shortformer forward (max |diff| ${d.toExponential(2)})`);
});

t.test("malicious and broken .pth files are refused through loadModel, naming what", async (t) => {
  const config = readJson(join(DIR, "tiny-attn-only.f32.json")).config;
  for (const [name, re] of [
    ["malicious-os-system.pth", /^pth: refusing global os\.system in data\.pkl/],
    ["malicious-builtins-eval.pth", /^pth: refusing global builtins\.eval/],
    ["malicious-subprocess-popen.pth", /^pth: refusing global subprocess\.Popen/],
    ["unknown-global-numpy.pth", /^pth: refusing global numpy\./],
    ["opcode-inst.pth", /^pth: data\.pkl byte \d+: unsupported pickle opcode INST/],
    ["truncated.pth", /^pth: /],
  ]) {
    let err = null;
    try { await loadModel(bytes(name), config); } catch (e) { err = e; }
    t.ok(err instanceof FormatError && re.test(err.message), `${name} → ${err ? `${err.name}: ${err.message}` : "loaded"}`);
  }
  let err = null;
  try { await loadModel(bytes("tiny-attn-only.f32.pth")); } catch (e) { err = e; }
  t.ok(err instanceof InputError && /is a PyTorch checkpoint: it needs its config/.test(err.message), `no config → ${err?.message}`);
  err = null;
  try { await loadModel(bytes("tiny-attn-only.f32.pth"), makeConfig({ ...configFromJson(config), nLayers: 1 })); } catch (e) { err = e; }
  t.ok(err && /does not use: "blocks\.1\./.test(err.message), `a config with fewer layers → ${err?.message}`);
});

t.test("acdc run --model x.pth with x.config.json beside it", async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "acdc-pth-"));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const acdc = (args) => new Promise((resolve) => execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd: tmp, timeout: 120_000 },
    (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr })));
  const json = readJson(join(DIR, "tiny-attn-only.bf16.json"));
  copyFileSync(join(DIR, "tiny-attn-only.bf16.pth"), join(tmp, "tiny.pth"));
  writeFileSync(join(tmp, "tiny.config.json"), JSON.stringify(json.config));
  writeFileSync(join(tmp, "data.json"), JSON.stringify({ clean: tokens, corrupted: [[2, 4, 2, 7, 3, 1], [3, 5, 5, 8, 2, 0]], positions: [5, 5] }));
  const info = await acdc(["info", "--model", "tiny.pth"]);
  t.equal(info.code, 0, "info: exit 0", { stderr: info.stderr });
  t.match(info.stdout, /pth with 30 tensors/, info.stdout.split("\n")[1]);
  const r = await acdc(["run", "--model", "tiny.pth", "--data", "data.json", "--threshold", "0.001", "--quiet", "--out", "c.json"]);
  t.equal(r.code, 0, "run: exit 0", { stderr: r.stderr });
  t.ok(readJson(join(tmp, "c.json")).num_kept > 0, "a circuit is written");
  copyFileSync(join(DIR, "malicious-os-system.pth"), join(tmp, "evil.pth"));
  copyFileSync(join(tmp, "tiny.config.json"), join(tmp, "evil.config.json"));
  const bad = await acdc(["run", "--model", "evil.pth", "--data", "data.json", "--threshold", "0.001"]);
  t.equal(bad.code, 2, "a malicious pickle: exit 2, one line");
  t.match(bad.stderr, /pth: refusing global os\.system/);
  const lonely = await acdc(["run", "--model", join(DIR, "malicious-os-system.pth"), "--data", "data.json", "--threshold", "0.001"]);
  t.match(lonely.stderr, /no config for .*malicious-os-system\.pth/, "a .pth without a config beside it is refused before it is read");
});
