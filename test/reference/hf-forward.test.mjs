// Checks on the float64 reference oracles in test/reference/ (they judge the
// HF loader being written in src/, so they must be right by themselves):
//   1. stories260K, a real trained llama2.c model, converted to HF layout and
//      run through the HF Llama reference gives the llama2.c-convention
//      reference's logits on the original file, and greedily writes llama2.c's
//      published story opening;
//   2. every tiny model in test/fixtures/hf reproduces its expected.json and is
//      exactly what scripts/make-tiny-hf-models.mjs writes today;
//   3. structural identities that a wrong equation would break: GQA = MHA with
//      duplicated kv heads, Mistral with a wide window = Llama, a one-layer
//      window = Llama on the cropped sequence, Qwen2 = Llama with biases,
//      GPT-NeoX = Llama (full rotary, zero-mean stream, no MLP) and = GPT-2
//      (no rotary, zero wpe), partial rotary touching only the first dims,
//      RoPE depending only on relative position, v4 and v5 config spellings;
//   4. the pieces underneath: erf, 16-bit float codecs, safetensors files.
// Imports nothing from src/ or dist/.
import t from "tap";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyRotary, erf, hfForward, ACTIVATIONS, rotarySpec } from "./hf-forward.mjs";
import { llama2cForward, readLlama2c } from "./llama2c-forward.mjs";
import {
  bf16ToNumber, decodeSafetensors, encodeSafetensors, f16ToNumber, numberToBf16, numberToF16, readHfFolder, writeHfFolder,
} from "./safetensors-io.mjs";
import { interleavedToRotateHalf, llama2cToHf } from "../../scripts/llama2c-to-hf.mjs";
import { CASES, writeCase } from "../../scripts/make-tiny-hf-models.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = join(root, "test", "fixtures", "hf");
const storiesDir = join(root, "..", "shared", "models", "stories260K");

const maxDiff = (a, b) => {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};
const fmt = (d) => d.toExponential(2);
const load = (name) => readHfFolder(join(fixtures, name));
const expectedOf = (name) => JSON.parse(readFileSync(join(fixtures, name, "expected.json"), "utf8"));

/** Deep copy of a tensor map with float64 data, so tests can edit weights freely. */
const copy = (tensors) => new Map([...tensors].map(([k, v]) => [k, { shape: [...v.shape], data: v.data instanceof Uint8Array ? v.data : Float64Array.from(v.data) }]));
const tensor = (shape, data) => ({ shape, data: data instanceof Float64Array ? data : Float64Array.from(data) });
const zeros = (shape) => tensor(shape, new Float64Array(shape.reduce((a, b) => a * b, 1)));

// ---- 1. stories260K ---------------------------------------------------------------------

const haveStories = existsSync(join(storiesDir, "stories260K.bin"));
t.test("stories260K: HF-layout conversion through the HF Llama reference = llama2.c reference on the .bin", { skip: haveStories ? false : `${storiesDir} absent` }, async (t) => {
  const bin = readFileSync(join(storiesDir, "stories260K.bin"));
  const l2c = readLlama2c(bin);
  // Through real files: convert, write the HF folder, read it back.
  const dir = mkdtempSync(join(tmpdir(), "stories-hf-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { config, entries } = llama2cToHf(bin);
  writeHfFolder(dir, config, entries);
  const hf = readHfFolder(dir);
  t.equal(hf.config.tie_word_embeddings, true, "positive vocab_size: shared classifier = tied embeddings");
  t.notOk(hf.tensors.has("lm_head.weight"), "no lm_head.weight written for a tied model");

  const ids = [
    [1, 403, 407, 261, 378, 395, 341, 402, 280, 10, 47, 300, 259, 271, 263, 290, 293, 261, 500, 1, 2, 17, 88, 256],
    [1, 5, 9, 100, 200, 300, 400, 500, 44, 33, 22, 11, 0, 511, 256, 128, 64, 32, 16, 8, 4, 2, 1, 3],
  ];
  const a = hfForward(hf.config, hf.tensors, ids), b = llama2cForward(l2c, ids);
  const d = maxDiff(a, b);
  t.comment(`stories260K max |HF reference - llama2.c reference| = ${fmt(d)} over ${ids.length}x${ids[0].length}x${l2c.vocab} logits (max |logit| ${fmt(Math.max(...b.map(Math.abs)))})`);
  t.ok(d <= 1e-9, `logits agree to ${fmt(d)} (<= 1e-9)`);

  // Without the row permutation the HF layout would be wrong: prove the check can fail.
  const unpermuted = copy(hf.tensors);
  const D = l2c.dim, Dh = l2c.headDim, kv = l2c.nKvHeads * Dh;
  for (let l = 0; l < l2c.nLayers; l++) {
    unpermuted.set(`model.layers.${l}.self_attn.q_proj.weight`, tensor([D, D], l2c.wq.subarray(l * D * D, (l + 1) * D * D)));
    unpermuted.set(`model.layers.${l}.self_attn.k_proj.weight`, tensor([kv, D], l2c.wk.subarray(l * kv * D, (l + 1) * kv * D)));
  }
  const du = maxDiff(hfForward(hf.config, unpermuted, ids), b);
  t.ok(du > 1e-2, `leaving wq/wk in llama2.c's interleaved order breaks the match (max |diff| ${fmt(du)})`);

  // The file's own freq_cis tables are cos/sin(pos * theta^(-2j/Dh)) with theta = 10000:
  // the rope_theta written into config.json is the one the model was trained with.
  let df = 0;
  for (let pos = 0; pos < l2c.seqLen; pos++)
    for (let j = 0; j < Dh / 2; j++) {
      const ang = pos * 10000 ** (-(2 * j) / Dh);
      df = Math.max(df, Math.abs(l2c.freqCisReal[pos * (Dh / 2) + j] - Math.cos(ang)), Math.abs(l2c.freqCisImag[pos * (Dh / 2) + j] - Math.sin(ang)));
    }
  t.ok(df < 1e-5, `stored freq_cis tables match rope_theta 10000 (max |diff| ${fmt(df)}, float32 tables)`);
});

t.test("stories260K: greedy decoding with the HF reference writes llama2.c's published output", { skip: haveStories ? false : `${storiesDir} absent` }, async (t) => {
  const { config, entries } = llama2cToHf(readFileSync(join(storiesDir, "stories260K.bin")));
  const tensors = new Map(entries.map((e) => [e.name, { shape: e.shape, data: e.values }]));
  // tok512.bin (llama2.c tokenizer.bin): int32 max_token_length, then per token float32 score, int32 length, bytes.
  const tb = readFileSync(join(storiesDir, "tok512.bin")), pieces = [];
  for (let p = 4; p < tb.length;) { const n = tb.readInt32LE(p + 4); pieces.push(tb.subarray(p + 8, p + 8 + n)); p += 8 + n; }
  t.equal(pieces.length, config.vocab_size, "tokenizer has vocab_size pieces");
  // run.c decode: after BOS a leading space is dropped; <0xXX> pieces are raw bytes.
  const piece = (prev, tok) => {
    let s = pieces[tok];
    if (prev === 1 && s[0] === 0x20) s = s.subarray(1);
    const m = /^<0x([0-9A-F]{2})>$/.exec(s.toString("latin1"));
    return m ? Buffer.from([parseInt(m[1], 16)]) : s;
  };
  const seq = [1], out = [];
  for (let step = 0; step < 16; step++) {
    const lg = hfForward(config, tensors, [seq]), V = config.vocab_size, row = lg.subarray((seq.length - 1) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    if (best === 1) break;
    out.push(piece(seq[seq.length - 1], best));
    seq.push(best);
  }
  const text = Buffer.concat(out).toString("utf8");
  // llama2.c's test_all.py: `run stories260K.bin -z tok512.bin -t 0.0 -n 200` prints a story that opens so.
  const published = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
  t.ok(text.length > 20 && published.startsWith(text), `greedy text "${text}" is the start of llama2.c's output`);
});

// ---- 2. tiny fixtures -----------------------------------------------------------------------

t.test("tiny HF fixtures: the reference reproduces each expected.json", async (t) => {
  const names = readdirSync(fixtures).filter((n) => existsSync(join(fixtures, n, "config.json"))).sort();
  t.same(names, CASES.map((c) => c.name).sort(), "one folder per generator case");
  for (const name of names) {
    const { config, tensors } = load(name), exp = expectedOf(name);
    const got = hfForward(config, tensors, exp.ids);
    const d = maxDiff(got, exp.logits.flat(2));
    t.ok(d <= 1e-12, `${name} (${exp.architecture}, ${exp.dtype}): max |diff| ${fmt(d)} over shape [${exp.shape}]`);
  }
});

t.test("tiny HF fixtures: checked-in bytes are what the generator writes now", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-hf-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const cs of CASES) {
    const { files, bytes } = writeCase(dir, cs);
    const same = files.every((f) => readFileSync(join(dir, cs.name, f)).equals(readFileSync(join(fixtures, cs.name, f))));
    t.ok(same, `${cs.name}: ${files.length} files, ${(bytes / 1024).toFixed(1)} KiB, identical (else run node scripts/make-tiny-hf-models.mjs)`);
  }
});

t.test("tiny HF fixtures: on-disk layout is the HF one each case claims", async (t) => {
  const dtypeOf = { float32: "F32", float16: "F16", bfloat16: "BF16" };
  const buffer = /(attn\.bias|attention\.bias|masked_bias|inv_freq)$/;
  for (const cs of CASES) {
    const { config, tensors, files } = load(cs.name);
    const params = [...tensors].filter(([n]) => !buffer.test(n));
    t.ok(params.every(([, v]) => v.dtype === dtypeOf[config.torch_dtype]), `${cs.name}: every parameter stored as torch_dtype ${config.torch_dtype}`);
    t.ok(["model_type", "architectures", "torch_dtype", "vocab_size"].every((k) => k in config), `${cs.name}: config has model_type, architectures, torch_dtype, vocab_size`);
    if (cs.shards) t.same(files, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"], `${cs.name}: two shards via the index`);
  }
  t.notOk(load("qwen2").tensors.has("lm_head.weight"), "qwen2: tied, no lm_head.weight");
  t.ok([...load("gpt2").tensors.keys()].every((n) => !n.startsWith("transformer.")), "gpt2: names without transformer. prefix");
  const neox = load("gpt-neox").tensors;
  t.same([neox.get("gpt_neox.layers.0.attention.bias").dtype, neox.get("gpt_neox.layers.0.attention.masked_bias").shape], ["BOOL", []], "gpt-neox: BOOL mask buffer and a scalar masked_bias");
  t.equal(neox.get("gpt_neox.layers.0.attention.masked_bias").data[0], -Infinity, "gpt-neox: masked_bias -1e9 is -inf in float16");
});

// ---- 3. structural identities ------------------------------------------------------------------

t.test("GQA: duplicating each kv head H/Hk times (HF repeat_kv order) gives the same logits as MHA", async (t) => {
  for (const name of ["llama", "llama-bias-headdim"]) {
    const { config, tensors } = load(name), exp = expectedOf(name);
    const D = config.hidden_size, H = config.num_attention_heads, Hk = config.num_key_value_heads, Dh = config.head_dim, rep = H / Hk;
    const expand = (order) => {
      const m = copy(tensors);
      for (let l = 0; l < config.num_hidden_layers; l++)
        for (const p of ["k_proj", "v_proj"]) {
          const w = tensors.get(`model.layers.${l}.self_attn.${p}.weight`).data, nw = new Float64Array(H * Dh * D);
          const b = tensors.get(`model.layers.${l}.self_attn.${p}.bias`)?.data, nb = new Float64Array(H * Dh);
          for (let h = 0; h < H; h++) {
            const src = order(h);
            nw.set(w.subarray(src * Dh * D, (src + 1) * Dh * D), h * Dh * D);
            if (b) nb.set(b.subarray(src * Dh, (src + 1) * Dh), h * Dh);
          }
          m.set(`model.layers.${l}.self_attn.${p}.weight`, tensor([H * Dh, D], nw));
          if (b) m.set(`model.layers.${l}.self_attn.${p}.bias`, tensor([H * Dh], nb));
        }
      return m;
    };
    const mha = { ...config, num_key_value_heads: H };
    const d = maxDiff(hfForward(mha, expand((h) => Math.floor(h / rep)), exp.ids), exp.logits.flat(2));
    t.ok(d <= 1e-12, `${name}: ${H} heads on ${Hk} kv heads = MHA with kv head floor(h/${rep}) copied (max |diff| ${fmt(d)})`);
    const dw = maxDiff(hfForward(mha, expand((h) => h % Hk), exp.ids), exp.logits.flat(2));
    if (Hk > 1) t.ok(dw > 1e-3, `${name}: the other grouping (h mod ${Hk}) does not match (max |diff| ${fmt(dw)})`);
  }
});

const asLlama = (config, extra = {}) => ({ ...config, architectures: ["LlamaForCausalLM"], model_type: "llama", ...extra });

t.test("Mistral: a window >= T is Llama; a window W changes only positions >= W", async (t) => {
  const { config, tensors } = load("mistral"), exp = expectedOf("mistral"), T = exp.ids[0].length, V = config.vocab_size;
  const llama = hfForward(asLlama(config), tensors, exp.ids);
  for (const W of [T, T + 5, null]) {
    const d = maxDiff(hfForward({ ...config, sliding_window: W }, tensors, exp.ids), llama);
    t.ok(d <= 1e-12, `sliding_window ${W} on T=${T}: equals Llama on the same weights (max |diff| ${fmt(d)})`);
  }
  const W = config.sliding_window, win = exp.logits.flat(2);
  let early = 0, late = 0;
  for (let b = 0; b < exp.ids.length; b++)
    for (let t2 = 0; t2 < T; t2++) {
      const o = (b * T + t2) * V, d = maxDiff(win.slice(o, o + V), llama.subarray(o, o + V));
      if (t2 < W) early = Math.max(early, d); else late = Math.max(late, d);
    }
  t.ok(early <= 1e-12, `window ${W}: positions < ${W} unchanged (max |diff| ${fmt(early)})`);
  t.ok(late > 1e-3, `window ${W}: positions >= ${W} differ from full causal attention (max |diff| ${fmt(late)})`);
});

t.test("Mistral, one layer: logits at t with window W = Llama's on the crop ids[t-W+1..t] (W keys counting itself)", async (t) => {
  const { config, tensors } = load("mistral"), exp = expectedOf("mistral"), V = config.vocab_size, W = config.sliding_window;
  // One layer: what layer 0 sees is all the output depends on, and RoPE makes the crop's own positions 0..W-1 equivalent.
  const one = { ...config, num_hidden_layers: 1 };
  const win = hfForward(one, tensors, exp.ids);
  let d = 0, offByOne = 0;
  exp.ids.forEach((row, b) => {
    for (let t2 = 0; t2 < row.length; t2++) {
      const crop = row.slice(Math.max(0, t2 - W + 1), t2 + 1), c = hfForward(asLlama(one), tensors, [crop]);
      const o = (b * row.length + t2) * V;
      d = Math.max(d, maxDiff(win.subarray(o, o + V), c.subarray((crop.length - 1) * V)));
      if (t2 >= W) { // W+1 keys, the other reading of "window W"
        const crop2 = row.slice(t2 - W, t2 + 1), c2 = hfForward(asLlama(one), tensors, [crop2]);
        offByOne = Math.max(offByOne, maxDiff(win.subarray(o, o + V), c2.subarray((crop2.length - 1) * V)));
      }
    }
  });
  t.ok(d <= 1e-12, `every position matches its cropped full-causal run (max |diff| ${fmt(d)})`);
  t.ok(offByOne > 1e-3, `a window of W+1 keys would not match (max |diff| ${fmt(offByOne)})`);
});

t.test("Qwen2: = Llama with attention_bias and a zero o_proj bias; zero biases = plain Llama; use_sliding_window false means no window", async (t) => {
  const { config, tensors } = load("qwen2"), exp = expectedOf("qwen2");
  const D = config.hidden_size;
  const withO = copy(tensors);
  for (let l = 0; l < config.num_hidden_layers; l++) withO.set(`model.layers.${l}.self_attn.o_proj.bias`, zeros([D]));
  const d1 = maxDiff(hfForward(asLlama(config, { attention_bias: true }), withO, exp.ids), exp.logits.flat(2));
  t.ok(d1 <= 1e-12, `Qwen2 (sliding_window ${config.sliding_window} present, use_sliding_window false, T=${exp.ids[0].length}) = Llama with biases (max |diff| ${fmt(d1)})`);
  const noBias = copy(tensors);
  for (const k of [...noBias.keys()]) if (k.endsWith(".bias")) noBias.set(k, zeros(noBias.get(k).shape));
  const q0 = hfForward(config, noBias, exp.ids);
  const stripped = new Map([...noBias].filter(([k]) => !k.endsWith(".bias")));
  const d2 = maxDiff(q0, hfForward(asLlama(config, { attention_bias: false }), stripped, exp.ids));
  t.ok(d2 <= 1e-12, `Qwen2 with zero q/k/v biases = Llama without biases on the same weights (max |diff| ${fmt(d2)})`);
  t.ok(maxDiff(q0, exp.logits.flat(2)) > 1e-3, "and the biases do matter in the fixture");
  // Tied = untied with lm_head.weight a copy of the embedding.
  const untied = copy(tensors);
  untied.set("lm_head.weight", tensor(tensors.get("model.embed_tokens.weight").shape, tensors.get("model.embed_tokens.weight").data));
  const d3 = maxDiff(hfForward({ ...config, tie_word_embeddings: false }, untied, exp.ids), exp.logits.flat(2));
  t.ok(d3 === 0, "tie_word_embeddings true = an explicit lm_head.weight equal to embed_tokens");
});

t.test("Qwen2 sliding: layers l >= max_window_layers use the window", async (t) => {
  const { config, tensors } = load("qwen2-sliding"), exp = expectedOf("qwen2-sliding"), L = config.num_hidden_layers;
  const got = exp.logits.flat(2);
  const none = hfForward({ ...config, max_window_layers: L }, tensors, exp.ids); // no layer reaches the threshold
  const all = hfForward({ ...config, max_window_layers: 0 }, tensors, exp.ids);
  t.ok(maxDiff(none, hfForward({ ...config, use_sliding_window: false }, tensors, exp.ids)) <= 1e-12, "max_window_layers = L: no window anywhere");
  t.ok(maxDiff(all, hfForward({ ...config, layer_types: Array(L).fill("sliding_attention") }, tensors, exp.ids)) <= 1e-12, "max_window_layers 0 = every layer_types entry sliding");
  const explicit = hfForward({ ...config, layer_types: ["full_attention", "sliding_attention"] }, tensors, exp.ids);
  t.ok(maxDiff(explicit, got) <= 1e-12, "max_window_layers 1 on 2 layers = layer_types [full, sliding]");
  t.ok(maxDiff(got, none) > 1e-3 && maxDiff(got, all) > 1e-3, "and that differs from no window and from all-window");
  // All-window Qwen2 = Mistral (window on every layer) plus the q/k/v biases, i.e. Mistral when they are zero.
  const noBias = copy(tensors);
  for (const k of [...noBias.keys()]) if (k.endsWith("_proj.bias")) noBias.set(k, zeros(noBias.get(k).shape));
  const asMistral = { ...config, architectures: ["MistralForCausalLM"], model_type: "mistral" };
  const dm = maxDiff(hfForward({ ...config, max_window_layers: 0 }, noBias, exp.ids), hfForward(asMistral, new Map([...noBias].filter(([k]) => !k.endsWith(".bias"))), exp.ids));
  t.ok(dm <= 1e-12, `all-window Qwen2 with zero biases = Mistral with the same window (max |diff| ${fmt(dm)})`);
});

/**
 * GPT-NeoX weights arranged so that LayerNorm = RMSNorm and the MLP is silent:
 * zero-mean embedding rows, dense (o_proj) columns summing to zero over outputs
 * and a zero-mean dense bias keep every residual vector at mean 0; LayerNorm
 * biases 0; dense_4h_to_h zero.
 */
function neoxAsLlamaable(config, tensors) {
  const D = config.hidden_size, V = config.vocab_size, m = copy(tensors);
  const center = (a, rows, cols, alongRows) => {
    if (alongRows) for (let r = 0; r < rows; r++) { let s = 0; for (let c = 0; c < cols; c++) s += a[r * cols + c]; for (let c = 0; c < cols; c++) a[r * cols + c] -= s / cols; }
    else for (let c = 0; c < cols; c++) { let s = 0; for (let r = 0; r < rows; r++) s += a[r * cols + c]; for (let r = 0; r < rows; r++) a[r * cols + c] -= s / rows; }
  };
  center(m.get("gpt_neox.embed_in.weight").data, V, D, true);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `gpt_neox.layers.${l}.`;
    center(m.get(p + "attention.dense.weight").data, D, D, false);
    center(m.get(p + "attention.dense.bias").data, 1, D, true);
    for (const n of ["input_layernorm.bias", "post_attention_layernorm.bias"]) m.set(p + n, zeros([D]));
    m.set(p + "mlp.dense_4h_to_h.weight", zeros([D, config.intermediate_size]));
    m.set(p + "mlp.dense_4h_to_h.bias", zeros([D]));
  }
  m.set("gpt_neox.final_layer_norm.bias", zeros([D]));
  return m;
}

t.test("GPT-NeoX with rotary_pct 1.0 = Llama (attention_bias) on the de-fused q/k/v, when LayerNorm = RMSNorm and the MLP is silent", async (t) => {
  const { config, tensors } = load("gpt-neox-sequential"), exp = expectedOf("gpt-neox-sequential");
  const D = config.hidden_size, H = config.num_attention_heads, Dh = D / H, M = config.intermediate_size, V = config.vocab_size;
  const neox = neoxAsLlamaable(config, tensors);
  // De-fuse query_key_value: head n's rows are [q (Dh) | k (Dh) | v (Dh)] at n*3*Dh (modeling_gpt_neox.py views the output as [H, 3*Dh]).
  const llamaT = new Map();
  llamaT.set("model.embed_tokens.weight", neox.get("gpt_neox.embed_in.weight"));
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `gpt_neox.layers.${l}.`, q = `model.layers.${l}.`;
    const W = neox.get(p + "attention.query_key_value.weight").data, B = neox.get(p + "attention.query_key_value.bias").data;
    ["q", "k", "v"].forEach((name, c) => {
      const w = new Float64Array(D * D), b = new Float64Array(D);
      for (let n = 0; n < H; n++) for (let i = 0; i < Dh; i++) {
        const src = n * 3 * Dh + c * Dh + i;
        w.set(W.subarray(src * D, (src + 1) * D), (n * Dh + i) * D);
        b[n * Dh + i] = B[src];
      }
      llamaT.set(q + `self_attn.${name}_proj.weight`, tensor([D, D], w));
      llamaT.set(q + `self_attn.${name}_proj.bias`, tensor([D], b));
    });
    llamaT.set(q + "self_attn.o_proj.weight", neox.get(p + "attention.dense.weight"));
    llamaT.set(q + "self_attn.o_proj.bias", neox.get(p + "attention.dense.bias"));
    llamaT.set(q + "input_layernorm.weight", neox.get(p + "input_layernorm.weight"));
    llamaT.set(q + "post_attention_layernorm.weight", neox.get(p + "post_attention_layernorm.weight"));
    for (const n of ["gate_proj", "up_proj"]) llamaT.set(q + `mlp.${n}.weight`, zeros([M, D]));
    llamaT.set(q + "mlp.down_proj.weight", zeros([D, M]));
  }
  llamaT.set("model.norm.weight", neox.get("gpt_neox.final_layer_norm.weight"));
  llamaT.set("lm_head.weight", neox.get("embed_out.weight"));
  const llamaCfg = {
    architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: D, intermediate_size: M, num_attention_heads: H, num_key_value_heads: H,
    num_hidden_layers: config.num_hidden_layers, vocab_size: V, rms_norm_eps: config.layer_norm_eps, rope_theta: config.rotary_emb_base,
    attention_bias: true, tie_word_embeddings: false, hidden_act: "silu",
  };
  const ref = hfForward(llamaCfg, llamaT, exp.ids);
  for (const parallel of [false, true]) {
    const d = maxDiff(hfForward({ ...config, rotary_pct: 1.0, use_parallel_residual: parallel }, neox, exp.ids), ref);
    t.ok(d <= 1e-11, `use_parallel_residual ${parallel}: equal to the Llama path (max |diff| ${fmt(d)})`);
  }
  const dp = maxDiff(hfForward(config, neox, exp.ids), ref);
  t.ok(dp > 1e-3, `with the fixture's rotary_pct ${config.rotary_pct} it is not (max |diff| ${fmt(dp)})`);
});

t.test("GPT-NeoX partial rotary: only the first int(Dh*rotary_pct) dims of each head turn, paired j with j+nRot/2", async (t) => {
  // The rotation itself, against complex multiplication: (x_j + i x_{j+h}) * e^{i pos theta_j}.
  const Dh = 16, x = Float64Array.from({ length: Dh }, (_, i) => Math.sin(3.7 * i + 1));
  for (const nRot of [16, 8, 4]) {
    const { invFreq } = rotarySpec({ rotary_pct: nRot / Dh, rotary_emb_base: 10000 }, Dh, { neox: true });
    const y = Float64Array.from(x), pos = 7;
    applyRotary(y, 0, nRot, invFreq, pos);
    let d = 0;
    for (let j = 0; j < nRot / 2; j++) {
      const th = pos * 10000 ** (-(2 * j) / nRot), re = x[j], im = x[j + nRot / 2];
      d = Math.max(d, Math.abs(y[j] - (re * Math.cos(th) - im * Math.sin(th))), Math.abs(y[j + nRot / 2] - (re * Math.sin(th) + im * Math.cos(th))));
    }
    for (let j = nRot; j < Dh; j++) d = Math.max(d, Math.abs(y[j] - x[j]));
    t.ok(d <= 1e-15, `nRot ${nRot} of ${Dh}: equals complex rotation on pairs (j, j+${nRot / 2}), tail untouched (max |diff| ${fmt(d)})`);
  }
  // In the model: zero the q/k rows of the rotated dims and position stops mattering (= rotary_pct 0);
  // zero the pass-through dims instead and it still matters.
  for (const name of ["gpt-neox", "gpt-neox-sequential"]) {
    const { config, tensors } = load(name), exp = expectedOf(name);
    const D = config.hidden_size, H = config.num_attention_heads, Dh2 = D / H, nRot = Math.trunc(Dh2 * config.rotary_pct);
    const zeroDims = (keep) => {
      const m = copy(tensors);
      for (let l = 0; l < config.num_hidden_layers; l++) {
        const W = m.get(`gpt_neox.layers.${l}.attention.query_key_value.weight`).data, B = m.get(`gpt_neox.layers.${l}.attention.query_key_value.bias`).data;
        for (let n = 0; n < H; n++) for (const c of [0, 1]) for (let i = 0; i < Dh2; i++) if (!keep(i)) {
          const r = n * 3 * Dh2 + c * Dh2 + i;
          W.fill(0, r * D, (r + 1) * D);
          B[r] = 0;
        }
      }
      return m;
    };
    const passOnly = zeroDims((i) => i >= nRot);
    const d0 = maxDiff(hfForward(config, passOnly, exp.ids), hfForward({ ...config, rotary_pct: 0 }, passOnly, exp.ids));
    t.ok(d0 <= 1e-12, `${name}: q/k zero on dims < ${nRot} -> same as no rotary at all (max |diff| ${fmt(d0)})`);
    const d1 = maxDiff(hfForward({ ...config, rotary_pct: 1 }, passOnly, exp.ids), hfForward({ ...config, rotary_pct: 0 }, passOnly, exp.ids));
    t.ok(d1 > 1e-3, `${name}: but rotating all ${Dh2} dims would move them (max |diff| ${fmt(d1)})`);
    const rotOnly = zeroDims((i) => i < nRot);
    const d2 = maxDiff(hfForward(config, rotOnly, exp.ids), hfForward({ ...config, rotary_pct: 0 }, rotOnly, exp.ids));
    t.ok(d2 > 1e-3, `${name}: q/k kept only on dims < ${nRot} -> position matters (max |diff| ${fmt(d2)})`);
  }
});

t.test("GPT-NeoX without rotary, sequential, exact gelu = GPT-2 with zero wpe and Conv1D-transposed, un-fused weights", async (t) => {
  const { config, tensors } = load("gpt-neox"), exp = expectedOf("gpt-neox");
  const D = config.hidden_size, H = config.num_attention_heads, Dh = D / H, M = config.intermediate_size, V = config.vocab_size, P = config.max_position_embeddings;
  const tr = (a, rows, cols) => { const o = new Float64Array(rows * cols); for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = a[r * cols + c]; return o; };
  const g = new Map([["transformer.wte.weight", tensors.get("gpt_neox.embed_in.weight")], ["transformer.wpe.weight", zeros([P, D])]]);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `gpt_neox.layers.${l}.`, q = `transformer.h.${l}.`, get = (n) => tensors.get(p + n).data;
    // GPT-2's c_attn output j: block c = floor(j/D) (q, k, v), head floor((j mod D)/Dh) — from NeoX's per-head fused rows.
    const W = get("attention.query_key_value.weight"), B = get("attention.query_key_value.bias");
    const wa = new Float64Array(D * 3 * D), ba = new Float64Array(3 * D);
    for (let c = 0; c < 3; c++) for (let n = 0; n < H; n++) for (let i = 0; i < Dh; i++) {
      const j = c * D + n * Dh + i, src = n * 3 * Dh + c * Dh + i;
      for (let k = 0; k < D; k++) wa[k * 3 * D + j] = W[src * D + k];
      ba[j] = B[src];
    }
    g.set(q + "attn.c_attn.weight", tensor([D, 3 * D], wa)); g.set(q + "attn.c_attn.bias", tensor([3 * D], ba));
    g.set(q + "attn.c_proj.weight", tensor([D, D], tr(get("attention.dense.weight"), D, D))); g.set(q + "attn.c_proj.bias", tensor([D], get("attention.dense.bias")));
    g.set(q + "mlp.c_fc.weight", tensor([D, M], tr(get("mlp.dense_h_to_4h.weight"), M, D))); g.set(q + "mlp.c_fc.bias", tensor([M], get("mlp.dense_h_to_4h.bias")));
    g.set(q + "mlp.c_proj.weight", tensor([M, D], tr(get("mlp.dense_4h_to_h.weight"), D, M))); g.set(q + "mlp.c_proj.bias", tensor([D], get("mlp.dense_4h_to_h.bias")));
    for (const [a, b] of [["ln_1", "input_layernorm"], ["ln_2", "post_attention_layernorm"]]) { g.set(q + a + ".weight", tensor([D], get(b + ".weight"))); g.set(q + a + ".bias", tensor([D], get(b + ".bias"))); }
  }
  g.set("transformer.ln_f.weight", tensors.get("gpt_neox.final_layer_norm.weight")); g.set("transformer.ln_f.bias", tensors.get("gpt_neox.final_layer_norm.bias"));
  const gcfg = { architectures: ["GPT2LMHeadModel"], model_type: "gpt2", n_embd: D, n_head: H, n_layer: config.num_hidden_layers, n_positions: P, n_inner: M, vocab_size: V, activation_function: "gelu", layer_norm_epsilon: config.layer_norm_eps };
  const ref = hfForward(gcfg, g, exp.ids);
  const neoxCfg = { ...config, rotary_pct: 0, use_parallel_residual: false, tie_word_embeddings: true };
  const d = maxDiff(hfForward(neoxCfg, tensors, exp.ids), ref);
  t.ok(d <= 1e-12, `equal (max |diff| ${fmt(d)}): NeoX's per-head [q|k|v] rows = GPT-2's [q|k|v] blocks, Linear = Conv1D transposed`);
  const dpar = maxDiff(hfForward({ ...neoxCfg, use_parallel_residual: true }, tensors, exp.ids), ref);
  t.ok(dpar > 1e-3, `use_parallel_residual true is a different model (max |diff| ${fmt(dpar)})`);
  const dnew = maxDiff(hfForward(neoxCfg, tensors, exp.ids), hfForward({ ...gcfg, activation_function: "gelu_new" }, g, exp.ids));
  t.ok(dnew > 1e-6 && dnew < 1, `exact gelu vs tanh gelu_new: small but visible (max |diff| ${fmt(dnew)})`);
});

t.test("parallel vs sequential residual agree exactly when either branch is silent", async (t) => {
  const { config, tensors } = load("gpt-neox"), exp = expectedOf("gpt-neox"), D = config.hidden_size, M = config.intermediate_size;
  const silence = (names) => { const m = copy(tensors); for (let l = 0; l < config.num_hidden_layers; l++) for (const [n, s] of names) m.set(`gpt_neox.layers.${l}.${n}`, zeros(s)); return m; };
  for (const [what, m] of [["MLP", silence([["mlp.dense_4h_to_h.weight", [D, M]], ["mlp.dense_4h_to_h.bias", [D]]])], ["attention", silence([["attention.dense.weight", [D, D]], ["attention.dense.bias", [D]]])]]) {
    const d = maxDiff(hfForward({ ...config, use_parallel_residual: true }, m, exp.ids), hfForward({ ...config, use_parallel_residual: false }, m, exp.ids));
    t.ok(d <= 1e-12, `${what} silenced: parallel = sequential (max |diff| ${fmt(d)})`);
  }
  const d = maxDiff(hfForward({ ...config, use_parallel_residual: false }, tensors, exp.ids), exp.logits.flat(2));
  t.ok(d > 1e-3, `with both branches live they differ (max |diff| ${fmt(d)})`);
});

t.test("RoPE depends only on relative position: shifting every position id leaves the logits unchanged", async (t) => {
  for (const name of ["llama", "llama-bias-headdim", "qwen2", "qwen2-sliding", "mistral", "gpt-neox", "gpt-neox-sequential"]) {
    const { config, tensors } = load(name), exp = expectedOf(name);
    const shifted = exp.ids.map((r) => r.map((_, t2) => t2 + 11));
    const d = maxDiff(hfForward(config, tensors, exp.ids, { positionIds: shifted }), exp.logits.flat(2));
    t.ok(d <= 1e-10, `${name}: positions +11 (max |diff| ${fmt(d)})`);
  }
  const { config, tensors } = load("gpt2"), exp = expectedOf("gpt2");
  const d = maxDiff(hfForward(config, tensors, exp.ids, { positionIds: exp.ids.map((r) => r.map((_, t2) => t2 + 3)) }), exp.logits.flat(2));
  t.ok(d > 1e-3, `gpt2's learned absolute positions do move (max |diff| ${fmt(d)})`);
});

t.test("RoPE scaling: llama3 and linear reduce to the default when they should, and v5 rope_parameters read like v4 fields", async (t) => {
  const { config, tensors } = load("llama-bias-headdim"), exp = expectedOf("llama-bias-headdim"), got = exp.logits.flat(2);
  const plain = hfForward({ ...config, rope_scaling: null }, tensors, exp.ids);
  t.ok(maxDiff(plain, got) > 1e-3, "the fixture's llama3 scaling changes the logits");
  const f1 = hfForward({ ...config, rope_scaling: { ...config.rope_scaling, factor: 1.0 } }, tensors, exp.ids);
  t.ok(maxDiff(f1, plain) <= 1e-12, "llama3 with factor 1 = no scaling");
  // Every wavelength below original_max_position_embeddings / high_freq_factor: nothing is scaled.
  const far = hfForward({ ...config, rope_scaling: { ...config.rope_scaling, original_max_position_embeddings: 1e9 } }, tensors, exp.ids);
  t.ok(maxDiff(far, plain) <= 1e-12, "llama3 with a huge original context = no scaling");
  // Linear scaling by f is position interpolation: the same as positions / f.
  const lin = hfForward({ ...config, rope_scaling: { type: "linear", factor: 2.0 } }, tensors, exp.ids);
  const half = hfForward({ ...config, rope_scaling: null }, tensors, exp.ids, { positionIds: exp.ids.map((r) => r.map((_, t2) => t2 / 2)) });
  t.ok(maxDiff(lin, half) <= 1e-12, "linear factor 2 = positions halved");
  // v5 spelling (transformers >= 5 writes rope_parameters and dtype).
  const { rope_theta, rope_scaling, torch_dtype, ...rest } = config;
  const v5 = { ...rest, dtype: torch_dtype, rope_parameters: { ...rope_scaling, rope_theta } };
  t.ok(maxDiff(hfForward(v5, tensors, exp.ids), got) === 0, "Llama: rope_parameters {rope_type llama3, rope_theta, ...} = rope_theta + rope_scaling");
  const nx = load("gpt-neox-sequential"), nexp = expectedOf("gpt-neox-sequential");
  const { rotary_pct, rotary_emb_base, rope_scaling: _rs, ...nrest } = nx.config;
  const nv5 = { ...nrest, rope_parameters: { rope_type: "default", rope_theta: rotary_emb_base, partial_rotary_factor: rotary_pct } };
  t.ok(maxDiff(hfForward(nv5, nx.tensors, nexp.ids), nexp.logits.flat(2)) === 0, "GPT-NeoX: rope_parameters {rope_theta, partial_rotary_factor} = rotary_emb_base + rotary_pct");
});

t.test("name and tying conventions", async (t) => {
  const { config, tensors } = load("gpt2"), exp = expectedOf("gpt2");
  const prefixed = new Map([...tensors].map(([k, v]) => [`transformer.${k}`, v]));
  t.ok(maxDiff(hfForward(config, prefixed, exp.ids), exp.logits.flat(2)) === 0, "gpt2: transformer.-prefixed names (save_pretrained of GPT2LMHeadModel) read the same");
  const untied = new Map(tensors);
  untied.set("lm_head.weight", tensors.get("wte.weight"));
  t.ok(maxDiff(hfForward({ ...config, tie_word_embeddings: false }, untied, exp.ids), exp.logits.flat(2)) === 0, "gpt2: untied with lm_head = wte reads the same");
  const L = load("llama");
  const bare = new Map([...L.tensors].map(([k, v]) => [k.replace(/^model\./, ""), v]));
  t.ok(maxDiff(hfForward(L.config, bare, expectedOf("llama").ids), expectedOf("llama").logits.flat(2)) === 0, "llama: names without model. read the same (lm_head stays lm_head)");
});

t.test("refusals: what the reference does not implement, or cannot read, throws", async (t) => {
  const { config, tensors } = load("llama"), ids = expectedOf("llama").ids;
  for (const type of ["dynamic", "yarn", "longrope", "ntk"]) t.throws(() => hfForward({ ...config, rope_scaling: { rope_type: type, factor: 2.0 } }, tensors, ids), /not implemented/, `rope_scaling ${type}`);
  t.throws(() => hfForward({ ...config, architectures: ["PhiForCausalLM"], model_type: "phi" }, tensors, ids), /not implemented/, "unknown architecture");
  const noHead = new Map(tensors); noHead.delete("lm_head.weight");
  t.throws(() => hfForward(config, noHead, ids), /missing tensor lm_head.weight/, "untied model without lm_head.weight");
  t.throws(() => hfForward({ ...config, num_key_value_heads: 4 }, tensors, ids), /shape/, "k_proj of the wrong shape for the config");
  t.throws(() => hfForward(config, tensors, [[0, config.vocab_size]]), /outside/, "token id past the vocabulary");
  t.throws(() => hfForward(config, tensors, [[1, 2], [3]]), /same/, "ragged batch");
  t.throws(() => hfForward({ ...config, partial_rotary_factor: 0.5 }, tensors, ids), /partial rotary/, "partial rotary on Llama");
  t.throws(() => hfForward({ ...config, hidden_act: "mish" }, tensors, ids), /activation/, "unknown activation");
  const g = load("gpt2");
  t.throws(() => hfForward(g.config, g.tensors, [Array(17).fill(1)]), /n_positions/, "GPT-2 sequence longer than n_positions");
});

// ---- 4. the pieces underneath ---------------------------------------------------------------

t.test("erf against Simpson integration of 2/sqrt(pi) exp(-t^2), and the activations", async (t) => {
  const simpson = (z, n = 20000) => {
    const h = z / n, f = (x) => Math.exp(-x * x);
    let s = f(0) + f(z), c = 0;
    for (let i = 1; i < n; i++) { const y = (i % 2 ? 4 : 2) * f(i * h) - c, tt = s + y; c = tt - s - y; s = tt; } // Kahan
    return ((2 / Math.sqrt(Math.PI)) * h * s) / 3;
  };
  let d = 0;
  for (const z of [0.05, 0.3, 0.7, 1, 1.5, 2, 2.7, 3.5, 4.5, 5.5, 5.99]) d = Math.max(d, Math.abs(erf(z) - simpson(z)), Math.abs(erf(-z) + simpson(z)));
  t.ok(d <= 1e-13, `|erf - quadrature| <= ${fmt(d)} on [-6, 6]`);
  t.equal(erf(0), 0); t.equal(erf(7), 1); t.equal(erf(-30), -1);
  const gap = Math.max(...[-3, -1, -0.5, 0.5, 1, 3].map((x) => Math.abs(ACTIVATIONS.gelu(x) - ACTIVATIONS.gelu_new(x))));
  t.ok(gap > 1e-5 && gap < 1e-3, `exact gelu and the tanh form differ by ${fmt(gap)}`);
});

t.test("16-bit floats: every F16 and BF16 bit pattern round-trips; ties round to even", async (t) => {
  let bad16 = 0, badB = 0;
  for (let h = 0; h < 65536; h++) {
    const x = f16ToNumber(h);
    if (!Number.isNaN(x) && numberToF16(x) !== h) bad16++;
    const y = bf16ToNumber(h);
    if (!Number.isNaN(y) && numberToBf16(y) !== h) badB++;
  }
  t.equal(bad16, 0, "F16: decode then encode returns every non-NaN pattern");
  t.equal(badB, 0, "BF16: decode then encode returns every non-NaN pattern");
  t.equal(f16ToNumber(numberToF16(1 + 2 ** -11)), 1, "F16 tie below an even mantissa rounds down");
  t.equal(f16ToNumber(numberToF16(1 + 3 * 2 ** -11)), 1 + 2 ** -9, "F16 tie below an odd mantissa rounds up");
  t.equal(f16ToNumber(numberToF16(65519)), 65504, "just under the F16 overflow threshold rounds to the max");
  t.equal(f16ToNumber(numberToF16(65520)), Infinity, "the overflow threshold rounds to infinity");
  t.equal(bf16ToNumber(numberToBf16(1 + 2 ** -8)), 1, "BF16 tie rounds to even");
});

t.test("safetensors: encode/decode round trip, alignment, and corrupt files refused", async (t) => {
  const entries = [
    { name: "b", dtype: "F16", shape: [3], values: [1.5, -2, 65504] },
    { name: "a", dtype: "F32", shape: [2, 2], values: [0.1, 0.2, 0.3, 0.4] },
    { name: "c", dtype: "BF16", shape: [2], values: [3, -0.5] },
    { name: "d", dtype: "BOOL", shape: [1, 2], values: Uint8Array.from([1, 0]) },
    { name: "e", dtype: "F64", shape: [], values: [Math.PI] },
  ];
  const file = encodeSafetensors(entries), back = decodeSafetensors(file);
  const hlen = Number(new DataView(file.buffer).getBigUint64(0, true));
  t.equal((8 + hlen) % 8, 0, "data starts 8-byte aligned");
  t.same([...back.keys()].sort(), ["a", "b", "c", "d", "e"]);
  t.same(Array.from(back.get("a").data), [0.1, 0.2, 0.3, 0.4].map(Math.fround), "F32 values");
  t.same(Array.from(back.get("b").data), [1.5, -2, 65504], "F16 values");
  t.same(Array.from(back.get("c").data), [3, -0.5], "BF16 values");
  t.same([...back.get("d").data], [1, 0], "BOOL bytes");
  t.same([back.get("e").shape, back.get("e").data[0]], [[], Math.PI], "scalar F64");
  t.throws(() => decodeSafetensors(file.subarray(0, file.length - 1)), /outside|trailing|gap/, "truncated file");
  const extra = new Uint8Array(file.length + 4); extra.set(file);
  t.throws(() => decodeSafetensors(extra), /trailing/, "trailing bytes");
  // The sharded fixture reads to the same tensors as one file would.
  const sh = load("llama");
  const dir = mkdtempSync(join(tmpdir(), "one-file-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeHfFolder(dir, sh.config, [...sh.tensors].map(([name, v]) => ({ name, dtype: v.dtype, shape: v.shape, values: v.data })));
  const one = readHfFolder(dir);
  t.ok([...sh.tensors].every(([k, v]) => maxDiff(v.data, one.tensors.get(k).data) === 0) && one.tensors.size === sh.tensors.size, "sharded llama = the same tensors in one file");
});

t.test("llama2c-to-hf: the q/k row permutation is HF's permute for the interleaved -> rotate-half change", async (t) => {
  // Rotating a head in llama2.c's interleaved layout then permuting equals permuting then rotating in
  // HF's layout: the permutation carries each rotated pair (2i, 2i+1) onto (i, i+Dh/2).
  const Dh = 8, cols = 1, x = Float32Array.from({ length: 2 * Dh }, (_, i) => Math.fround(Math.cos(i * 1.3)));
  const pos = 5, inv = Float64Array.from({ length: Dh / 2 }, (_, j) => 10000 ** (-(2 * j) / Dh));
  const inter = Float64Array.from(x);
  for (let h = 0; h < 2; h++) for (let j = 0; j < Dh / 2; j++) {
    const a = inter[h * Dh + 2 * j], b = inter[h * Dh + 2 * j + 1], c = Math.cos(pos * inv[j]), s = Math.sin(pos * inv[j]);
    inter[h * Dh + 2 * j] = a * c - b * s; inter[h * Dh + 2 * j + 1] = a * s + b * c;
  }
  const viaHf = Float64Array.from(interleavedToRotateHalf(x, 2, Dh, cols));
  for (let h = 0; h < 2; h++) applyRotary(viaHf, h * Dh, Dh, inv, pos);
  const permutedAfter = interleavedToRotateHalf(Float32Array.from(inter), 2, Dh, cols);
  t.ok(maxDiff(viaHf, permutedAfter) <= 1e-6, "rotate-then-permute = permute-then-rotate (float32 storage of the rotated copy)");
});
