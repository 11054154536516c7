// 16-bit checkpoints stay 16-bit in wasm memory: a BF16 (or F16) file's
// matrices are stored as their 16 bits and widened by the kernels on the
// fly, so a model takes about half the memory of its f32 twin, with
// bit-identical results (the widening is exact, and SGEMM and the embedding
// see the same f32 values either way). Measured on a random Llama-layout
// model of 7.4 M parameters written here in BF16 and, the same values, in
// F32: WebAssembly memory (memory.buffer.byteLength) after load, each in a
// fresh engine. Also: NaN/infinity in a 16-bit matrix is refused by name.
import t from "tap";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, loadModel, WeightError } from "../../dist/index.js";
import { hfWeights } from "../helpers/hf.mjs";
import { rng } from "../helpers/fixtures.mjs";
import { quantize, writeHfFolder } from "../reference/safetensors-io.mjs";

const tmp = mkdtempSync(join(tmpdir(), "acdc-16bit-"));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const D = 256, H = 8, Hk = 4, Dh = 32, L = 4, M = 768, V = 8192;
const config = {
  architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: D, num_attention_heads: H, num_key_value_heads: Hk, head_dim: Dh,
  num_hidden_layers: L, intermediate_size: M, vocab_size: V, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000,
  hidden_act: "silu", tie_word_embeddings: false,
};

/** The model's tensors with values already bf16-representable; `dtype` only says how the file stores them. */
function entries(dtype) {
  const r = rng(77), out = [];
  const put = (name, shape, f) => out.push({ name, dtype, shape, values: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => quantize(f(), "BF16")) });
  const mat = (name, rows, cols) => put(name, [rows, cols], () => (2 * r() - 1) / Math.sqrt(cols));
  const gain = (name) => put(name, [D], () => 1 + 0.2 * (r() - 0.5));
  mat("model.embed_tokens.weight", V, D);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    gain(p + "input_layernorm.weight"); gain(p + "post_attention_layernorm.weight");
    mat(p + "self_attn.q_proj.weight", H * Dh, D); mat(p + "self_attn.k_proj.weight", Hk * Dh, D); mat(p + "self_attn.v_proj.weight", Hk * Dh, D);
    mat(p + "self_attn.o_proj.weight", D, H * Dh);
    mat(p + "mlp.gate_proj.weight", M, D); mat(p + "mlp.up_proj.weight", M, D); mat(p + "mlp.down_proj.weight", D, M);
  }
  gain("model.norm.weight");
  mat("lm_head.weight", V, D);
  return out;
}

t.test("a BF16 model takes about half the memory of its f32 twin, with bit-identical logits", async (t) => {
  writeHfFolder(join(tmp, "bf16"), { ...config, torch_dtype: "bfloat16" }, entries("BF16"));
  writeHfFolder(join(tmp, "f32"), { ...config, torch_dtype: "float32" }, entries("F32"));
  const load = async (dir, opts = {}) => {
    const engine = await createEngine();
    const before = engine.memory.buffer.byteLength;
    const model = await loadModel(hfWeights(join(tmp, dir)), config, { engine, ...opts });
    return { model, before, after: engine.memory.buffer.byteLength, params: model.params.floats * 4 };
  };
  const b = await load("bf16"), f = await load("f32"), w = await load("bf16", { keep16: false });
  const n = b.model.params.specs.reduce((a, s) => a + s.size, 0);
  const mib = (x) => `${(x / 2 ** 20).toFixed(1)} MiB`;
  console.log(`# ${n.toLocaleString("en-US")} parameters: BF16 file ${mib(b.after)} of wasm memory after load (parameter block ${mib(b.params)}); ` +
    `F32 twin ${mib(f.after)} (${mib(f.params)}); BF16 widened at load (keep16: false) ${mib(w.after)}; ratio ${(b.after / f.after).toFixed(3)}`);
  t.equal(f.params, 4 * n, "the f32 twin's parameter block is 4 bytes a parameter");
  t.ok(b.params < 0.51 * f.params, `the BF16 parameter block is ${(b.params / f.params).toFixed(3)} of the f32 one (biases and norms stay f32)`);
  t.ok(b.after < 0.6 * f.after, `peak wasm memory: BF16 ${mib(b.after)} vs f32 ${mib(f.after)} (${(b.after / f.after).toFixed(3)})`);
  t.equal(w.after, f.after, "BF16 widened at load takes what the f32 twin takes");
  const ids = [[5, 900, 17, 4000, 8191, 3, 250, 77], [1, 2, 3, 4, 5, 6, 7, 8]];
  const lb = b.model.forward(ids).logits, lf = f.model.forward(ids).logits, lw = w.model.forward(ids).logits;
  t.ok(lb.every((x, i) => Object.is(x, lf[i])), "BF16 kept 16-bit: logits bit-identical to the f32 twin's");
  t.ok(lw.every((x, i) => Object.is(x, lf[i])), "BF16 widened at load: the same bits");
});

t.test("a non-finite value in a 16-bit matrix is refused by name", async (t) => {
  const e = entries("BF16");
  const bad = e.find((x) => x.name === "model.layers.2.mlp.up_proj.weight");
  bad.values[123] = NaN;
  writeHfFolder(join(tmp, "nan"), config, e);
  let err = null;
  try { await loadModel(hfWeights(join(tmp, "nan")), config); } catch (x) { err = x; }
  t.ok(err instanceof WeightError && /tensor "model\.layers\.2\.mlp\.up_proj\.weight" holds a NaN \(not finite\) at element 123/.test(err.message), `→ ${err?.message}`);
  bad.values[123] = -Infinity;
  writeHfFolder(join(tmp, "inf"), config, e);
  err = null;
  try { await loadModel(hfWeights(join(tmp, "inf")), config); } catch (x) { err = x; }
  t.ok(err instanceof WeightError && /holds an infinity \(not finite\) at element 123/.test(err.message), `→ ${err?.message}`);
});

t.test("a tied unembedding shares the embedding's memory, with the bits of a copy", async (t) => {
  // qwen2 (BF16, tie_word_embeddings true) against the same file with lm_head.weight = the embedding, untied.
  const { hfDir } = await import("../helpers/hf.mjs");
  const { parseSafetensors } = await import("../../dist/model/formats/index.js");
  const { writeSafetensors } = await import("../../dist/model/formats/index.js");
  const dir = join(hfDir, "qwen2"), cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const file = new Uint8Array(readFileSync(join(dir, "model.safetensors")));
  const tied = await loadModel(file, cfg);
  const raw = await parseSafetensors(file);
  const m = new Map([...raw].map(([n, x]) => [n, { shape: x.shape, data: x.data }]));
  m.set("lm_head.weight", m.get("model.embed_tokens.weight"));
  const untied = await loadModel(writeSafetensors(m), { ...cfg, tie_word_embeddings: false }); // an f32 file: every matrix f32
  const tied32 = await loadModel(file, cfg, { keep16: false });
  const V = cfg.vocab_size, D = cfg.hidden_size;
  t.equal(tied.WU, tied.WE, "W_U is W_E's storage");
  t.equal(tied32.params.floats * 4 - untied.params.floats * 4, -V * D * 4, "the untied f32 model holds a [D, V] copy more");
  const ids = [[1, 9, 33, 2, 63, 0, 17]];
  const a = tied.forward(ids).logits, b = untied.forward(ids).logits, c = tied32.forward(ids).logits;
  t.ok(a.every((x, i) => Object.is(x, b[i])) && a.every((x, i) => Object.is(x, c[i])), "tied (16-bit, shared) = untied copy (f32) = tied widened: bit-identical logits");
});

t.test("16-bit and tied weights on threads: the same bits as one thread", async (t) => {
  const { createTestEngine } = await import("../../dist/wasm/engine.js");
  const { hfFixture } = await import("../helpers/hf.mjs");
  const { buildGraph, Patcher, klMetric } = await import("../../dist/index.js");
  for (const name of ["qwen2", "gpt-neox"]) {
    const one = (await hfFixture(name)).model;
    const engine = await createTestEngine({ threads: 3 }, { splitSmallCalls: true });
    const many = (await hfFixture(name, { engine })).model;
    const ids = [[1, 9, 33, 2, 40, 0, 17], [5, 5, 6, 7, 8, 1, 2]];
    const a = one.forward(ids).logits, b = many.forward(ids).logits;
    t.ok(a.every((x, i) => Object.is(x, b[i])), `${name}: forward on 3 threads = 1 thread, bit for bit`);
    const data = { clean: ids, corrupted: ids.map((r) => r.map((x) => (x + 3) % one.cfg.dVocab)), positions: [6, 5] };
    const p1 = new Patcher(one, buildGraph(one.cfg), data, { metric: klMetric() }), p3 = new Patcher(many, buildGraph(many.cfg), data, { metric: klMetric() });
    const e = p1.graph.edges.find((x) => x.type === "addition").id;
    t.equal(p3.trial(e), p1.trial(e), `${name}: a patching trial on 3 threads = 1 thread`);
    engine.dispose();
  }
});
