// Hugging Face checkpoints (test/fixtures/hf/: tiny random models in each
// architecture's real layout): each loads through loadModel and matches the
// independent float64 forward of test/reference/hf-forward.mjs (expected.json)
// to 1e-4; configs the package does not implement are refused by the field's
// name; weights that disagree with the config, and shards that disagree with
// their index, are refused naming the tensor or the file; the CLI reads the
// folders (sharded included).
import t from "tap";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, readJson } from "../helpers/fixtures.mjs";
import { HF_MODELS, hfDir, hfFixture, hfWeights } from "../helpers/hf.mjs";
import { loadModel, configFromJson, ConfigError, WeightError, FormatError } from "../../dist/index.js";
import { bytesSource, parseSafetensors, writeSafetensors } from "../../dist/model/formats/index.js";

async function fails(t, fn, Cls, re, msg) {
  let err = null;
  try { await fn(); } catch (e) { err = e; }
  return t.ok(err instanceof Cls && re.test(err.message), `${msg} → ${err ? `${err.name}: ${err.message}` : "no error"}`);
}

t.test("every tiny model matches its float64 reference forward to 1e-4", async (t) => {
  for (const name of HF_MODELS) {
    const { model, expected } = await hfFixture(name);
    const got = model.forward(expected.ids).logits, want = expected.logits.flat(2);
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    t.ok(got.length === want.length && d < 1e-4, `${name} (${expected.architecture}, ${expected.dtype}): max |logit − float64| ${d.toExponential(2)}`);
  }
});

t.test("what each config turns into", async (t) => {
  const cfg = (n) => configFromJson(readJson(join(hfDir, n, "config.json")));
  t.match(cfg("llama"), { normalization: "RMS", actFn: "swiglu", positional: "rotary", rotaryStyle: "half", nKvHeads: 2, dHead: 8 }, "llama: RMS, SwiGLU, rotate-half, GQA");
  t.match(cfg("llama-bias-headdim"), { dHead: 12, nKvHeads: 1, gateBias: true, ropeScaling: { type: "llama3", factor: 8 } }, "llama: head_dim, mlp_bias, llama3 scaling");
  t.same(cfg("mistral").attnWindow, [3, 3], "mistral: the window on every layer");
  t.same(cfg("qwen2-sliding").attnWindow, [0, 3], "qwen2: the window from max_window_layers on");
  t.equal(cfg("qwen2").attnWindow, undefined, "qwen2: no window unless use_sliding_window");
  t.match(cfg("gpt-neox"), { normalization: "LN", actFn: "gelu", rotaryDims: 4, parallelAttnMlp: true }, "gpt_neox: LN, exact GELU, partial rotary, parallel");
  t.equal(cfg("gpt-neox-sequential").parallelAttnMlp, undefined, "gpt_neox with use_parallel_residual false: sequential");
  t.notOk("rotaryStyle" in cfg("gpt2") || "parallelAttnMlp" in cfg("gpt2"), "gpt2: no architecture fields beyond the core");
});

t.test("configs the package does not implement are refused by the field's name", async (t) => {
  const llama = readJson(join(hfDir, "llama", "config.json")), neox = readJson(join(hfDir, "gpt-neox", "config.json")), qwen = readJson(join(hfDir, "qwen2", "config.json"));
  const C = ConfigError;
  await fails(t, () => configFromJson({ ...llama, model_type: "falcon", architectures: undefined }), C, /model_type "falcon" is not supported \(gpt2, llama, mistral, qwen2, gpt_neox\)/, "unknown model_type");
  await fails(t, () => configFromJson({ ...llama, architectures: ["LlamaForSequenceClassification"] }), C, /architectures \["LlamaForSequenceClassification"\] is not supported/, "a classification head");
  for (const type of ["yarn", "dynamic", "longrope"]) {
    await fails(t, () => configFromJson({ ...llama, rope_scaling: { rope_type: type, factor: 2 } }), C, new RegExp(`rope_scaling type "${type}" is not supported \\(default, linear, llama3\\)`), `rope_scaling ${type}`);
  }
  await fails(t, () => configFromJson({ ...llama, rope_scaling: { type: "linear" } }), C, /rope_scaling linear needs a positive number "factor"/, "linear scaling without a factor");
  await fails(t, () => configFromJson({ ...llama, hidden_act: "gelu" }), C, /hidden_act "gelu" is not supported for llama/, "llama with a gelu MLP");
  await fails(t, () => configFromJson({ ...llama, partial_rotary_factor: 0.5 }), C, /partial_rotary_factor 0.5 is not supported/, "partial rotary on llama");
  await fails(t, () => configFromJson({ ...llama, quantization_config: { quant_method: "gptq" } }), C, /quantization_config: quantized checkpoints are not supported/, "quantized");
  await fails(t, () => configFromJson({ ...qwen, use_mrope: true }), C, /use_mrope/, "qwen2 multimodal RoPE");
  await fails(t, () => configFromJson({ ...qwen, use_sliding_window: true, layer_types: ["full_attention", "chunked_attention"] }), C, /layer_types must list/, "unknown layer type");
  await fails(t, () => configFromJson({ ...neox, rotary_pct: 0.1875 }), C, /rotary dims int\(16 × 0.1875\) = 3 must be even/, "odd rotary dims");
  await fails(t, () => configFromJson({ ...neox, hidden_act: "silu" }), C, /hidden_act "silu" is not supported for gpt_neox/, "neox silu");
  await fails(t, () => configFromJson({ ...llama, head_dim: undefined, num_attention_heads: 5 }), C, /hidden_size 32 is not divisible by num_attention_heads 5/, "no head_dim and D % H ≠ 0");
  await fails(t, () => configFromJson({ ...llama, num_key_value_heads: 3 }), C, /nHeads 4 is not a multiple of nKvHeads 3/, "GQA mismatch");
});

t.test("weights that disagree with the config, and shards with their index, are refused by name", async (t) => {
  const W = WeightError;
  const dir = join(hfDir, "qwen2"), config = readJson(join(dir, "config.json"));
  const raw = await parseSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
  const edit = (fn) => { const m = new Map([...raw].map(([n, x]) => [n, { shape: x.shape, data: x.data }])); fn(m); return writeSafetensors(m); };
  await fails(t, () => loadModel(edit((m) => m.delete("model.layers.1.self_attn.k_proj.bias")), config), W, /missing tensor "model\.layers\.1\.self_attn\.k_proj\.bias" \(Hugging Face Llama name\)/, "Qwen2 without a k bias");
  await fails(t, () => loadModel(edit((m) => m.set("model.layers.0.self_attn.o_proj.bias", { shape: [32], data: new Float32Array(32) })), config), W, /does not use: "model\.layers\.0\.self_attn\.o_proj\.bias"/, "an o bias Qwen2 does not have");
  await fails(t, () => loadModel(edit((m) => m.set("model.layers.0.mlp.up_proj.weight", { shape: [32, 64], data: new Float32Array(2048) })), config), W, /"model\.layers\.0\.mlp\.up_proj\.weight" has shape \[32,64\], expected \[64,32\]/, "a transposed up_proj");
  await fails(t, () => loadModel(edit(() => {}), { ...config, tie_word_embeddings: false }), W, /missing tensor "lm_head\.weight"/, "untied config without lm_head");
  // Bare names (saved from the base model, without "model.") load the same.
  const bare = edit((m) => { for (const [n, x] of [...m]) if (n.startsWith("model.")) { m.delete(n); m.set(n.slice(6), x); } });
  const a = (await loadModel(bare, config)).forward([[1, 2, 3]]).logits, b = (await hfFixture("qwen2")).model.forward([[1, 2, 3]]).logits;
  t.ok(a.every((x, i) => Math.abs(x - b[i]) < 1e-6), "names without the model. prefix load to the same logits");

  const ldir = join(hfDir, "llama"), lcfg = readJson(join(ldir, "config.json"));
  const good = hfWeights(ldir);
  const F = FormatError;
  const [f1, f2] = [...good.shards.keys()].sort(); // lm_head.weight is in the second
  await fails(t, () => loadModel({ index: good.index, shards: new Map([[f1, good.shards.get(f1)]]) }, lcfg), F, new RegExp(`^shards: weight_map puts ".*" in ${f2}, which is missing`), "a shard missing");
  const moved = { ...good.index, weight_map: { ...good.index.weight_map, "lm_head.weight": f1 } };
  await fails(t, () => loadModel({ index: moved, shards: good.shards }, lcfg), F, new RegExp(`${f2} holds "lm_head.weight", which the index puts in ${f1}`), "a tensor in another shard than the index says");
  const extra = { ...good.index, weight_map: { ...good.index.weight_map, "model.layers.9.mlp.up_proj.weight": f1 } };
  await fails(t, () => loadModel({ index: extra, shards: good.shards }, lcfg), F, /the index puts "model\.layers\.9\.mlp\.up_proj\.weight" in .*, which does not hold it/, "a tensor the index lists and no shard holds");
  await fails(t, () => loadModel({ index: {}, shards: good.shards }, lcfg), F, /no weight_map/, "an index without weight_map");
  await fails(t, () => loadModel(good, { ...lcfg, num_hidden_layers: 3 }), W, /missing tensor "model\.layers\.2\.input_layernorm\.weight"/, "a config with more layers than the shards");
  const one = await loadModel(bytesSource(new Uint8Array(readFileSync(join(hfDir, "mistral", "model.safetensors")))), readJson(join(hfDir, "mistral", "config.json")));
  t.equal(one.cfg.nLayers, 2, "a ByteSource loads as well as bytes");
});

t.test("acdc info and acdc run read Hugging Face folders, sharded ones included", async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "acdc-hf-"));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const acdc = (args) => new Promise((resolve) => execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd: tmp, timeout: 120_000 },
    (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr })));
  // The corruption reaches position 5 within Mistral's window of 3 (a change at position 0 alone could not: its KL would be 0).
  const dataPath = join(tmp, "data.json");
  writeFileSync(dataPath, JSON.stringify({ clean: [[1, 5, 9, 2, 7, 3]], corrupted: [[4, 5, 9, 6, 4, 3]], positions: [5] }));
  for (const name of HF_MODELS) {
    const info = await acdc(["info", "--model", join(hfDir, name)]);
    t.equal(info.code, 0, `info ${name}: exit 0`, { stderr: info.stderr });
    t.match(info.stdout, name === "llama" ? /2 shards with \d+ tensors/ : /safetensors with \d+ tensors/, `info ${name} names its files`);
    const r = await acdc(["run", "--model", join(hfDir, name), "--data", dataPath, "--threshold", "0.001", "--quiet", "--out", join(tmp, `${name}.json`)]);
    t.equal(r.code, 0, `run ${name}: exit 0`, { stderr: r.stderr });
    const j = readJson(join(tmp, `${name}.json`));
    t.ok(j.num_kept > 0, `run ${name}: kept ${j.num_kept} of ${j.total_edges} edges`);
    const ig = await acdc(["run", "--model", join(hfDir, name), "--data", dataPath, "--algorithm", "eap-ig", "--top-k", "60", "--quiet", "--out", join(tmp, `${name}-ig.json`)]);
    t.equal(ig.code, 0, `run ${name} --algorithm eap-ig: exit 0`, { stderr: ig.stderr });
    t.ok(readJson(join(tmp, `${name}-ig.json`)).num_kept > 0, `eap-ig ${name}: kept ${readJson(join(tmp, `${name}-ig.json`)).num_kept} of the top 60 after pruning`);
  }
  const broken = join(tmp, "broken");
  cpSync(join(hfDir, "llama"), broken, { recursive: true });
  rmSync(join(broken, "model-00002-of-00002.safetensors"));
  const r = await acdc(["run", "--model", broken, "--data", dataPath, "--threshold", "0.01"]);
  t.equal(r.code, 2, "a missing shard: exit 2");
  t.match(r.stderr, /names model-00002-of-00002\.safetensors, which is missing/);
});
