// Loading: the safetensors reader, configs and weight conversion on malformed
// input (each must throw its own error class with a message naming the
// problem: no crash, no silent wrong answer), exact F16/BF16 conversion, the
// writer round trip, and Hugging Face GPT-2 names with and without the
// `transformer.` prefix.
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, configFromJson, makeConfig, ConfigError, WeightError, InputError, FormatError } from "../../dist/index.js";
import { parseSafetensors, writeSafetensors, configFromHuggingFace, configFromTransformerLens } from "../../dist/model/formats/index.js";
import { checkTokens } from "../../dist/model/transformer.js";
import { fixtures, readJson } from "../helpers/fixtures.mjs";

const enc = new TextEncoder();
const fixtureBytes = (name) => new Uint8Array(readFileSync(join(fixtures, `${name}.safetensors`)));
const fixtureConfig = (name) => readJson(join(fixtures, `${name}.config.json`));

/** A safetensors file from a header (object or raw string), a data section and an optional forged length field. */
function file(header, data = new Uint8Array(0), headerLen = null) {
  const hb = enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

/** Tensors laid out back to back: [name, dtype, shape, bytes]. */
function packed(entries) {
  const header = {};
  let off = 0;
  for (const [name, dtype, shape, bytes] of entries) { header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] }; off += bytes.length; }
  const data = new Uint8Array(off);
  off = 0;
  for (const [, , , bytes] of entries) { data.set(bytes, off); off += bytes.length; }
  return file(header, data);
}
const u16 = (...v) => new Uint8Array(Uint16Array.from(v).buffer); // little-endian hosts (all that run wasm)
const f32 = (...v) => new Uint8Array(Float32Array.from(v).buffer);

/** One assertion: fn throws (or rejects with) an instance of Cls whose message matches every regex. */
async function fails(t, fn, Cls, res, msg) {
  let err = null;
  try { await fn(); } catch (e) { err = e; }
  const ok = err instanceof Cls && err.name === Cls.name && [].concat(res).every((re) => re.test(err.message));
  return t.ok(ok, `${msg} → ${err ? `${err.name}: ${err.message}` : "no error"}`);
}

t.test("safetensors: malformed files throw FormatError naming the problem", async (t) => {
  const S = FormatError;
  const one = (entry, dataLen) => file({ a: entry }, new Uint8Array(dataLen));
  for (const n of [0, 1, 7]) await fails(t, () => parseSafetensors(new Uint8Array(n)), S, [/^safetensors: /, /truncated header/, new RegExp(`${n} bytes`)], `${n}-byte file`);
  await fails(t, () => parseSafetensors(file("{}", new Uint8Array(4), 1000)), S, /header length 1000 goes beyond the file/, "header length past the end");
  await fails(t, () => parseSafetensors(file("{}", new Uint8Array(0), 2n ** 64n - 1n)), S, /header length \d+ goes beyond the file/, "header length 2^64−1");
  await fails(t, () => parseSafetensors(file('{"a": {"dtype": "F32",')), S, /header is not valid JSON/, "truncated JSON");
  await fails(t, () => parseSafetensors(file("\u00ff\u00fe garbage")), S, /header is not valid JSON/, "binary garbage header");
  for (const h of ["[1, 2]", "42", "null", '"F32"', "true"]) await fails(t, () => parseSafetensors(file(h)), S, /header is not a JSON object/, `header ${h}`);
  await fails(t, () => parseSafetensors(file({ a: 5 })), S, /tensor "a": entry is not an object/, "entry is a number");
  await fails(t, () => parseSafetensors(one({ dtype: "F31", shape: [1], data_offsets: [0, 4] }, 4)), S, [/tensor "a"/, /unknown dtype "F31"/, /weights may be F32, F16, BF16 or F64/], "unknown dtype");
  await fails(t, () => parseSafetensors(one({ shape: [1], data_offsets: [0, 4] }, 4)), S, /tensor "a": unknown dtype/, "missing dtype");
  await fails(t, () => parseSafetensors(one({ dtype: "F8_E4M3", shape: [4], data_offsets: [0, 4] }, 4)), S, /tensor "a": dtype F8_E4M3 \(8-bit floats\) is not supported/, "8-bit float dtype");
  for (const shape of [[-1], [1.5], "4", null, [2, "2"]]) {
    await fails(t, () => parseSafetensors(one({ dtype: "F32", shape, data_offsets: [0, 4] }, 4)), S, /tensor "a": shape .* is not a list of non-negative integers/, `shape ${JSON.stringify(shape)}`);
  }
  for (const offs of [[0], [0, 4, 8], [-4, 0], [0, 4.5], "0,4", undefined]) {
    await fails(t, () => parseSafetensors(one({ dtype: "F32", shape: [1], data_offsets: offs }, 8)), S, /tensor "a": data_offsets .* is not \[begin, end\]/, `data_offsets ${JSON.stringify(offs)}`);
  }
  await fails(t, () => parseSafetensors(one({ dtype: "F32", shape: [1], data_offsets: [8, 4] }, 8)), S, /data_offsets \[8, 4\] end before they begin/, "end < begin");
  await fails(t, () => parseSafetensors(one({ dtype: "F32", shape: [4], data_offsets: [0, 16] }, 12)), S, [/tensor "a"/, /data_offsets \[0, 16\] out of range/, /12 bytes/], "end past the data section");
  await fails(t, () => parseSafetensors(one({ dtype: "F32", shape: [3], data_offsets: [0, 8] }, 8)), S, [/tensor "a"/, /8 bytes for shape \[3\] of F32, expected 12/], "size ≠ shape × dtype (F32)");
  await fails(t, () => parseSafetensors(one({ dtype: "BF16", shape: [2, 2], data_offsets: [0, 16] }, 16)), S, /16 bytes for shape \[2,2\] of BF16, expected 8/, "size ≠ shape × dtype (BF16)");
  await fails(t, () => parseSafetensors(one({ dtype: "F16", shape: [1e308], data_offsets: [0, 4] }, 4)), S, /tensor "a": shape \[1e\+308\] is not a list of non-negative integers/, "absurd shape");
  const two = (a, b, n) => file({ a: { dtype: "F32", shape: [(a[1] - a[0]) / 4], data_offsets: a }, b: { dtype: "F32", shape: [(b[1] - b[0]) / 4], data_offsets: b } }, new Uint8Array(n));
  await fails(t, () => parseSafetensors(two([0, 8], [4, 12], 12)), S, /tensors "a" \[0, 8\) and "b" \[4, 12\) overlap/, "partly overlapping offsets");
  await fails(t, () => parseSafetensors(two([4, 8], [0, 12], 12)), S, /"b" \[0, 12\) and "a" \[4, 8\) overlap/, "one tensor inside another");
  await fails(t, () => parseSafetensors(two([0, 8], [0, 8], 8)), S, /overlap/, "identical offsets");
  await fails(t, () => loadModel(file("{}", new Uint8Array(4), 1000), fixtureConfig("tiny-ln-mlp")), S, /header length 1000 goes beyond the file/, "loadModel passes the reader's error through");
  // JSON.parse keeps the last of a repeated key: the first tensor would vanish silently.
  const dup = '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, "a" : {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}';
  await fails(t, () => parseSafetensors(file(dup, new Uint8Array(12))), S, /tensor "a" appears twice in the header/, "a repeated tensor name");
  const nested = '{"__metadata__": {"a": "x", "b": "{\\"a\\": 1}"}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}';
  t.equal((await parseSafetensors(file(nested, f32(2)))).get("a").data[0], 2, "the same name inside metadata (and in an escaped string) is no repeat");
});

t.test("safetensors: overlap hidden behind an empty tensor", async (t) => {
  // An empty tensor lying inside "a" must not hide that "c" overlaps "a" (c
  // would silently read a's bytes): each span is checked against the largest
  // end seen so far, not only against the previous span.
  const f = file({
    a: { dtype: "F32", shape: [25], data_offsets: [0, 100] },
    e: { dtype: "F32", shape: [0], data_offsets: [10, 10] },
    c: { dtype: "F32", shape: [2], data_offsets: [50, 58] },
  }, new Uint8Array(100));
  let err = null;
  try { await parseSafetensors(f); } catch (e) { err = e; }
  t.ok(err instanceof FormatError && /overlap/.test(err.message), `a [0,100) and c [50,58) overlap → ${err ? err.message : "no error"}`);
});

t.test("safetensors: F16, BF16 and F64 convert to f32 exactly", async (t) => {
  // Hand-decoded: F16 is 1 sign, 5 exponent (bias 15), 10 mantissa bits; BF16 is the top half of an f32.
  const f16 = [
    [0x3c00, 1], [0xc000, -2], [0x3800, 0.5], [0x3555, 0.333251953125], [0x7bff, 65504], [0x0400, 2 ** -14],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)], [0x0000, 0], [0x8000, -0],
    [0x7c00, Infinity], [0xfc00, -Infinity], [0x4248, 3.140625],
  ];
  const bf16 = [
    [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x3eab, 0.333984375], [0x7f7f, 3.3895313892515355e38],
    [0x0080, 2 ** -126], [0x0001, 2 ** -133], [0x8000, -0], [0x7f80, Infinity], [0xff80, -Infinity], [0xbf00, -0.5],
  ];
  const nan16 = 0x7e00, nanB = 0x7fc0;
  const m = await parseSafetensors(packed([
    ["h", "F16", [2, f16.length / 2], u16(...f16.map((x) => x[0]))],
    ["b", "BF16", [bf16.length], u16(...bf16.map((x) => x[0]))],
    ["nan", "F16", [1], u16(nan16)],
    ["bnan", "BF16", [1], u16(nanB)],
    ["d", "F64", [3], new Uint8Array(Float64Array.from([0.1, -1e-300, 1e300]).buffer)],
  ]));
  const check = (name, pairs) => {
    const got = m.get(name).data;
    const bad = pairs.flatMap(([bits, v], i) => (Object.is(got[i], v) ? [] : [`0x${bits.toString(16)} → ${got[i]}, want ${v}`]));
    t.same(bad, [], `${name}: ${pairs.length} values including subnormals, ±0, ±∞`);
  };
  check("h", f16);
  check("b", bf16);
  t.same(m.get("h").shape, [2, 7], "F16 shape kept");
  t.equal(m.get("h").dtype, "F16", "dtype reported");
  t.ok(Number.isNaN(m.get("nan").data[0]) && Number.isNaN(m.get("bnan").data[0]), "F16 and BF16 NaN stay NaN");
  t.same(Array.from(m.get("d").data), [Math.fround(0.1), -0, Infinity], "F64 rounds to the nearest f32 (underflow to −0, overflow to ∞)");
});

t.test("safetensors: writeSafetensors → parseSafetensors round trip", async (t) => {
  const tensors = new Map([
    ["embed.W_E", { shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => (i - 7) / 3) }],
    ["scalar", { shape: [], data: Float32Array.of(-0) }],
    ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ["special", { shape: [6], data: Float32Array.of(Infinity, -Infinity, 1.4e-45, -3.4028234663852886e38, 2 ** -126, 1 / 3) }],
  ]);
  const bytes = writeSafetensors(tensors, { format: "pt", note: "round trip" });
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  t.equal((8 + hlen) % 8, 0, "data section starts 8-byte aligned");
  t.same(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen))).__metadata__, { format: "pt", note: "round trip" }, "metadata kept");
  const back = await parseSafetensors(bytes);
  t.same([...back.keys()], [...tensors.keys()], "names in order; __metadata__ is not a tensor");
  for (const [name, tt] of tensors) {
    const b = back.get(name);
    const bitsEqual = b.data.length === tt.data.length && new Uint32Array(b.data.buffer).every((x, i) => x === new Uint32Array(tt.data.buffer)[i]);
    t.ok(b.dtype === "F32" && b.shape.length === tt.shape.length && b.shape.every((d, i) => d === tt.shape[i]) && bitsEqual, `${name}: shape [${tt.shape}] and bits`);
  }
  // A file inside a bigger buffer at an odd byte offset (e.g. a slice of a download).
  const host = new Uint8Array(bytes.length + 3);
  host.set(bytes, 3);
  t.same(Array.from((await parseSafetensors(host.subarray(3))).get("embed.W_E").data), Array.from(tensors.get("embed.W_E").data), "parses at an odd byteOffset");

  const wide = writeSafetensors(new Map([["blöcks.ü", { shape: [1], data: Float32Array.of(2) }]]));
  const wlen = Number(new DataView(wide.buffer).getBigUint64(0, true));
  t.equal((await parseSafetensors(wide)).get("blöcks.ü").data[0], 2, "non-ASCII names round trip");
  // Padding counts UTF-8 bytes, not UTF-16 code units, so a non-ASCII name
  // still leaves the data section 8-byte aligned, as the format asks.
  t.equal((8 + wlen) % 8, 0, "non-ASCII names: data still 8-byte aligned");
});

t.test("configs: bad fields throw ConfigError naming the field", async (t) => {
  const C = ConfigError;
  const tl = fixtureConfig("tiny-ln-mlp");
  const hf = fixtureConfig("tiny-ln-mlp-hf");
  const without = (o, k) => { const c = { ...o }; delete c[k]; return c; };
  for (const k of ["n_layers", "d_model", "n_heads", "d_head", "d_vocab", "n_ctx", "d_mlp"]) {
    await fails(t, () => configFromTransformerLens(without(tl, k)), C, [/^config: /, new RegExp(`"${k}" must be a positive integer, got undefined`)], `TransformerLens config without ${k}`);
  }
  await fails(t, () => configFromTransformerLens({ ...tl, d_model: "32" }), C, /"d_model" must be a positive integer, got "32"/, "d_model as a string");
  await fails(t, () => configFromTransformerLens({ ...tl, n_heads: 0 }), C, /"n_heads" must be a positive integer, got 0/, "zero heads");
  await fails(t, () => configFromTransformerLens({ ...tl, n_layers: 1.5 }), C, /"n_layers" must be a positive integer, got 1.5/, "fractional layers");
  await fails(t, () => configFromTransformerLens({ ...tl, act_fn: "silu" }), C, /act_fn "silu" is not supported/, "act_fn silu");
  await fails(t, () => configFromTransformerLens({ ...tl, normalization_type: "BN" }), C, /"normalization_type" must be "LN", "LNPre", "RMS", "RMSPre" or null, got "BN"/, "normalization BN");
  await fails(t, () => configFromTransformerLens({ ...tl, eps: 0 }), C, /"eps" must be a positive number, got 0/, "eps 0");
  for (const k of ["n_layer", "n_embd", "n_head", "n_positions", "vocab_size"]) {
    await fails(t, () => configFromHuggingFace(without(hf, k)), C, new RegExp(`"${k}" must be a positive integer`), `HF config without ${k}`);
  }
  // HF derives d_head = n_embd / n_head, so n_embd must divide: the only place d_model ≠ n_heads·d_head can arise from a config.
  await fails(t, () => configFromHuggingFace({ ...hf, n_embd: 30 }), C, /n_embd 30 is not divisible by n_head 4/, "HF n_embd not divisible by n_head");
  await fails(t, () => configFromHuggingFace({ ...hf, model_type: "llama" }), C, /model_type "llama" is not supported/, "HF model_type llama");
  await fails(t, () => configFromHuggingFace({ ...hf, activation_function: "relu" }), C, /activation_function "relu" is not supported/, "HF activation relu");
  await fails(t, () => configFromHuggingFace({ ...hf, n_inner: 0 }), C, /dMlp is 0 but the model is not attention-only/, "HF n_inner 0");
  await fails(t, () => configFromJson({ layers: 2 }), C, /neither a TransformerLens config .* nor a Hugging Face GPT-2 config.json/, "unrecognised config");
  const base = { nLayers: 1, dModel: 8, nHeads: 4, dHead: 2, dMlp: 16, dVocab: 5, nCtx: 4 };
  await fails(t, () => makeConfig({ ...base, nKvHeads: 3 }), C, /nHeads 4 is not a multiple of nKvHeads 3/, "nHeads not a multiple of nKvHeads");
  await fails(t, () => makeConfig({ ...base, dMlp: 0 }), C, /dMlp is 0 but the model is not attention-only/, "no MLP width");
  await fails(t, () => makeConfig({ ...base, positional: "rotary", dHead: 3 }), C, /rotary embeddings need an even dHead/, "odd dHead with rotary");
  await fails(t, () => makeConfig({ ...base, actFn: "silu" }), C, /activation "silu" is not supported/, "makeConfig activation");
  await fails(t, () => makeConfig({ ...base, normalization: "BN" }), C, /normalization "BN"/, "makeConfig normalization");
  // A TransformerLens d_head that disagrees with the weights is caught when the shapes are checked.
  await fails(t, () => loadModel(fixtureBytes("tiny-ln-mlp"), { ...tl, d_head: 7 }), WeightError,
    /tensor "blocks.0.attn.W_Q" has shape \[4,32,8\], expected \[4,32,7\]/, "TL d_head 7 against d_head-8 weights");
  await fails(t, () => loadModel(fixtureBytes("tiny-ln-mlp"), { ...tl, d_vocab: 41 }), WeightError, /"embed.W_E" has shape \[40,32\], expected \[41,32\]/, "d_vocab disagrees with W_E");
});

t.test("configs: known silent gaps", async (t) => {
  // KNOWN GAPS (silent wrong answers rather than errors):
  // - src/model/config.ts maps TransformerLens act_fn "gelu" (exact erf GELU)
  //   to gelu_new (tanh form); the two differ by up to 4.7e-4 per activation, without warning.
  // - src/model/load.ts treats any object with an nLayers key as a finished
  //   ModelConfig without makeConfig(), so a partial one (no normalization)
  //   runs with no layer norm at all.
  let err = null;
  try { configFromTransformerLens({ ...fixtureConfig("tiny-ln-mlp"), act_fn: "gelu" }); } catch (e) { err = e; }
  t.ok(err instanceof ConfigError, `act_fn "gelu" (exact erf, which this package lacks) is rejected → ${err ? err.message : "accepted as gelu_new"}`);
  err = null;
  const bytes = fixtureBytes("tiny-ln-mlp");
  const ref = readJson(join(fixtures, "tiny-ln-mlp.logits.json"));
  try {
    const m = await loadModel(bytes, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 4, dHead: 8, dMlp: 64, dVocab: 40, nCtx: 12 });
    const got = m.forward(ref.tokens).logits, want = ref.logits.flat(2);
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    t.ok(d < 1e-4, `loadModel with a partial ModelConfig: max |logit error| ${d.toFixed(3)}`);
  } catch (e) {
    t.ok(e instanceof ConfigError, `loadModel with a partial ModelConfig → ${e.name}: ${e.message}`);
  }
});

t.test("weights: missing and mis-shaped tensors throw WeightError naming the tensor", async (t) => {
  const W = WeightError;
  const tlCfg = fixtureConfig("tiny-ln-mlp"), hfCfg = fixtureConfig("tiny-ln-mlp-hf");
  const tl = await parseSafetensors(fixtureBytes("tiny-ln-mlp")), hf = await parseSafetensors(fixtureBytes("tiny-ln-mlp-hf"));
  const edit = (raw, fn) => { const m = new Map([...raw].map(([n, x]) => [n, { shape: x.shape, data: x.data }])); fn(m); return writeSafetensors(m); };
  for (const name of ["embed.W_E", "pos_embed.W_pos", "blocks.1.mlp.W_out", "blocks.0.ln1.w", "ln_final.b", "unembed.W_U"]) {
    await fails(t, () => loadModel(edit(tl, (m) => m.delete(name)), tlCfg), W, [/^weights: /, new RegExp(`missing tensor "${name.replaceAll(".", "\\.")}"`)], `TL without ${name}`);
  }
  await fails(t, () => loadModel(edit(tl, (m) => m.set("blocks.0.attn.W_Q", { shape: [4, 32, 7], data: new Float32Array(4 * 32 * 7) })), tlCfg), W,
    /tensor "blocks.0.attn.W_Q" has shape \[4,32,7\], expected \[4,32,8\]/, "TL W_Q with a short d_head");
  // Same element count, wrong layout: must not be reinterpreted silently.
  await fails(t, () => loadModel(edit(tl, (m) => m.set("embed.W_E", { shape: [32, 40], data: m.get("embed.W_E").data })), tlCfg), W,
    /tensor "embed.W_E" has shape \[32,40\], expected \[40,32\]/, "TL W_E transposed");
  await fails(t, () => loadModel(edit(tl, (m) => m.set("unembed.b_U", { shape: [40, 1], data: new Float32Array(40) })), tlCfg), W,
    /tensor "unembed.b_U" has shape \[40,1\], expected \[40\]/, "optional bias with the wrong rank");
  for (const name of ["transformer.wpe.weight", "transformer.h.1.ln_2.bias", "transformer.h.0.attn.c_attn.weight", "transformer.ln_f.weight"]) {
    const short = name.replace("transformer.", "");
    await fails(t, () => loadModel(edit(hf, (m) => m.delete(name)), hfCfg), W, new RegExp(`missing tensor "${short.replaceAll(".", "\\.")}" \\(Hugging Face GPT-2 name\\)`), `HF without ${name}`);
  }
  await fails(t, () => loadModel(edit(hf, (m) => m.set("transformer.h.0.attn.c_attn.weight", { shape: [96, 32], data: m.get("transformer.h.0.attn.c_attn.weight").data })), hfCfg), W,
    /tensor "(transformer\.)?h\.0\.attn\.c_attn\.weight" has shape \[96,32\], expected \[32,96\]/, "HF c_attn stored [3D, D] (nn.Linear layout, not Conv1D)");
  await fails(t, () => loadModel(edit(hf, (m) => m.set("lm_head.weight", { shape: [40, 31], data: new Float32Array(40 * 31) })), hfCfg), W,
    /tensor "lm_head\.weight" has shape \[40,31\], expected \[40,32\]/, "HF lm_head mis-shaped");
  await fails(t, () => loadModel(fixtureBytes("tiny-ln-mlp-hf"), { ...hfCfg, n_layer: 3 }), W, /missing tensor "h\.2\.ln_1\.weight"/, "HF config with more layers than the file");

  const noBU = await loadModel(edit(tl, (m) => m.delete("unembed.b_U")), tlCfg);
  const full = await loadModel(fixtureBytes("tiny-ln-mlp"), tlCfg);
  const bU = tl.get("unembed.b_U").data;
  const a = noBU.forward([[1, 2, 3]]).logits, b = full.forward([[1, 2, 3]]).logits;
  t.ok(a.every((x, i) => Math.abs(x + bU[i % 40] - b[i]) < 1e-5), "a missing optional bias loads as zeros");
  // Absent from one layer but present in another: a lost tensor, not a model without that bias.
  await fails(t, () => loadModel(edit(tl, (m) => m.delete("blocks.0.attn.b_O")), tlCfg), W, /missing tensor "blocks\.0\.attn\.b_O" \(the file has blocks\.L\.attn\.b_O for other layers\)/, "b_O in layer 1 only");
  await fails(t, () => loadModel(edit(tl, (m) => m.delete("blocks.1.mlp.b_in")), tlCfg), W, /missing tensor "blocks\.1\.mlp\.b_in"/, "b_in in layer 0 only");
  const noBO = await loadModel(edit(tl, (m) => { m.delete("blocks.0.attn.b_O"); m.delete("blocks.1.attn.b_O"); }), tlCfg);
  t.ok(noBO.cfg.nLayers === 2, "b_O absent from every layer: a model without b_O");
});

t.test("Hugging Face GPT-2 names with and without the transformer. prefix load to the same logits", async (t) => {
  const hfCfg = fixtureConfig("tiny-ln-mlp-hf");
  const ref = readJson(join(fixtures, "tiny-ln-mlp-hf.logits.json"));
  const raw = await parseSafetensors(fixtureBytes("tiny-ln-mlp-hf"));
  const rename = (fn) => writeSafetensors(new Map([...raw].map(([n, x]) => [fn(n), { shape: x.shape, data: x.data }])));
  const prefixed = await loadModel(fixtureBytes("tiny-ln-mlp-hf"), hfCfg);
  const bare = await loadModel(rename((n) => n.replace(/^transformer\./, "")), hfCfg);
  t.notOk([...raw.keys()].some((n) => !n.startsWith("transformer.")), "fixture names all carry the prefix");
  const lp = prefixed.forward(ref.tokens).logits, lb = bare.forward(ref.tokens).logits;
  t.ok(lp.every((x, i) => Object.is(x, lb[i])), "bare names: bit-identical logits");
  const want = ref.logits.flat(2);
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(lp[i] - want[i]));
  t.ok(d <= 1e-4, `matches the fixture's reference logits to 1e-4 (max |Δ| ${d.toExponential(1)})`);
  // An explicit lm_head equal to wte (an untied checkpoint) must give the same answer.
  const withHead = new Map([...raw].map(([n, x]) => [n, { shape: x.shape, data: x.data }]));
  withHead.set("lm_head.weight", { shape: [40, 32], data: raw.get("transformer.wte.weight").data });
  const lh = (await loadModel(writeSafetensors(withHead), hfCfg)).forward(ref.tokens).logits;
  t.ok(lh.every((x, i) => Object.is(x, lp[i])), "explicit lm_head.weight = wte: bit-identical logits");
  // Mixed naming (some prefixed, some not) still resolves every tensor.
  const mixed = await loadModel(rename((n) => (/\.h\.1\./.test(n) ? n.replace(/^transformer\./, "") : n)), hfCfg);
  t.ok(mixed.forward(ref.tokens).logits.every((x, i) => Object.is(x, lp[i])), "mixed prefixes: bit-identical logits");
});

t.test("tokens outside the vocabulary or longer than n_ctx throw InputError", async (t) => {
  const model = await loadModel(fixtureBytes("tiny-ln-mlp"), fixtureConfig("tiny-ln-mlp")); // d_vocab 40, n_ctx 12
  const I = InputError;
  await fails(t, () => model.forward([[1, 40]]), I, /token 40 at \[0\]\[1\] is outside the vocabulary \[0, 40\)/, "token = d_vocab");
  await fails(t, () => model.forward([[1, 2], [3, -1]]), I, /token -1 at \[1\]\[1\] is outside the vocabulary/, "negative token");
  await fails(t, () => model.forward([[1.5]]), I, /token 1\.5 at \[0\]\[0\]/, "fractional token");
  await fails(t, () => model.forward([[NaN]]), I, /token null at \[0\]\[0\]/, "NaN token");
  await fails(t, () => model.forward([Array.from({ length: 13 }, () => 1)]), I, /sequence of 13 tokens is longer than the model's context n_ctx = 12/, "13 tokens > n_ctx 12");
  await fails(t, () => model.forward([[1, 2, 3], [1, 2]]), I, /row 1 has 2 tokens, row 0 has 3/, "ragged batch");
  await fails(t, () => model.forward([]), I, /empty batch/, "empty batch");
  await fails(t, () => model.forward([[]]), I, /empty sequence/, "empty sequence");
  await fails(t, () => model.forward([[1]], { hooks: ["blocks.9.hook_resid_pre"] }), I, /unknown hook "blocks\.9\.hook_resid_pre"/, "unknown hook");
  await fails(t, () => checkTokens(model.cfg, [[0, 39, 40]], "corrupted"), I, /^corrupted: token 40/, "checkTokens names the input");
  t.equal(model.forward([Array.from({ length: 12 }, (_, i) => i)]).logits.length, 12 * 40, "exactly n_ctx tokens is fine");
  t.equal(model.forward([[39, 0]]).logits.length, 2 * 40, "tokens 0 and d_vocab−1 are fine");
});
