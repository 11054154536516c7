// llama2.c checkpoints and tokenizers, checked against an independent
// float64 port of llama2.c's run.c written here from the raw file (its own
// offsets, its own [out, in] matmuls, rotary, GQA and SwiGLU; nothing shared
// with the conversion or the kernels). Tiny random checkpoints cover the
// format and its errors; the real 260K-parameter TinyStories model in
// ../shared/models/stories260K/ (not in the repository) covers greedy
// decoding — it must reproduce llama2.c's own published output — and ACDC
// on a name-repetition task, where the circuit is re-scored by a float64
// patched forward pass built on the same port.
import t from "tap";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root, rng } from "../helpers/fixtures.mjs";
import { loadLlama2c, parseLlama2cHeader, llama2cConfig, Llama2cTokenizer, BOS, greedyDecode } from "../../dist/model/formats/index.js";
import { TokenizerError } from "../../dist/model/llama2c-tokenizer.js";
import { nameRepeatTask } from "../../dist/tasks/index.js";
import { acdc, buildGraph, klMetric, Patcher, FormatError, WeightError } from "../../dist/index.js";

const dir = join(root, "..", "shared", "models", "stories260K");
const modelPath = join(dir, "stories260K.bin"), tokPath = join(dir, "tok512.bin");
const have = existsSync(modelPath) && existsSync(tokPath);
const skip = have ? false : `${modelPath} and ${tokPath} are absent (the TinyStories 260K checkpoint is not committed; see ../shared/models/)`;
const bytes = (p) => new Uint8Array(readFileSync(p));

// llama2.c's test_all.py: `run stories260K.bin -z tok512.bin -t 0.0 -n 200`
// (no prompt: BOS then 200 greedy tokens) must print exactly this.
const LLAMA2C_EXPECTED = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find it.\"\nLily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\nLily didn't want to help her mom, so she";

// ---- float64 port of run.c -------------------------------------------------

/** The raw arrays of a llama2.c checkpoint, as run.c's memory_map_weights lays them out. */
function readRaw(file) {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const [dim, hidden, L, H, Hk, vocab, S] = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
  const V = Math.abs(vocab), hs = dim / H, kvDim = Hk * hs;
  let off = 28;
  const take = (n) => { const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = dv.getFloat32(off + 4 * i, true); off += 4 * n; return a; };
  const m = { dim, hidden, L, H, Hk, V, S, hs, kvDim };
  Object.assign(m, { emb: take(V * dim), rmsAtt: take(L * dim), wq: take(L * dim * dim), wk: take(L * kvDim * dim), wv: take(L * kvDim * dim),
    wo: take(L * dim * dim), rmsFfn: take(L * dim), w1: take(L * hidden * dim), w2: take(L * dim * hidden), w3: take(L * hidden * dim), rmsFinal: take(dim) });
  off += 4 * S * hs; // freq_cis_real and freq_cis_imag, [S, hs/2] each
  m.wcls = vocab > 0 ? m.emb : take(V * dim);
  return m;
}

// run.c: o = w ⊙ x / sqrt(mean(x²) + 1e-5)
function rmsnorm(x, w, wOff, n) {
  let ss = 0;
  for (let j = 0; j < n; j++) ss += x[j] * x[j];
  const r = 1 / Math.sqrt(ss / n + 1e-5), o = new Float64Array(n);
  for (let j = 0; j < n; j++) o[j] = w[wOff + j] * r * x[j];
  return o;
}
// run.c matmul: W (d,n) @ x (n,) -> (d,), W stored [out, in] from element wOff.
function matmul(x, W, wOff, n, d) {
  const o = new Float64Array(d);
  for (let i = 0; i < d; i++) { let s = 0; for (let j = 0; j < n; j++) s += W[wOff + i * n + j] * x[j]; o[i] = s; }
  return o;
}
// run.c RoPE: pairs (i, i+1) of each head rotated by pos / 10000^((i mod hs)/hs).
function rotate(v, pos, hs, n) {
  for (let i = 0; i < n; i += 2) {
    const ang = pos / Math.pow(10000, (i % hs) / hs), c = Math.cos(ang), s = Math.sin(ang);
    const a = v[i], b = v[i + 1];
    v[i] = a * c - b * s;
    v[i + 1] = a * s + b * c;
  }
}
const silu = (x) => x / (1 + Math.exp(-x));

/** run.c `forward` with its KV cache: step(token, pos) → logits [V]. */
function runcSession(m) {
  const { dim, hidden, L, H, Hk, V, hs, kvDim } = m;
  const kc = Array.from({ length: L }, () => []), vc = Array.from({ length: L }, () => []);
  return (token, pos) => {
    let x = m.emb.slice(token * dim, (token + 1) * dim);
    for (let l = 0; l < L; l++) {
      const xb = rmsnorm(x, m.rmsAtt, l * dim, dim);
      const q = matmul(xb, m.wq, l * dim * dim, dim, dim);
      const k = matmul(xb, m.wk, l * kvDim * dim, dim, kvDim), v = matmul(xb, m.wv, l * kvDim * dim, dim, kvDim);
      rotate(q, pos, hs, dim);
      rotate(k, pos, hs, kvDim);
      kc[l][pos] = k; vc[l][pos] = v;
      const att = new Float64Array(dim);
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / Hk)); // run.c: h / kv_mul
        const sc = [];
        for (let s = 0; s <= pos; s++) { let a = 0; for (let i = 0; i < hs; i++) a += q[h * hs + i] * kc[l][s][kh * hs + i]; sc.push(a / Math.sqrt(hs)); }
        const mx = Math.max(...sc), ex = sc.map((a) => Math.exp(a - mx)), tot = ex.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= pos; s++) for (let i = 0; i < hs; i++) att[h * hs + i] += (ex[s] / tot) * vc[l][s][kh * hs + i];
      }
      const o = matmul(att, m.wo, l * dim * dim, dim, dim);
      for (let i = 0; i < dim; i++) x[i] += o[i];
      const xf = rmsnorm(x, m.rmsFfn, l * dim, dim);
      const g = matmul(xf, m.w1, l * hidden * dim, dim, hidden), u = matmul(xf, m.w3, l * hidden * dim, dim, hidden);
      for (let i = 0; i < hidden; i++) g[i] = silu(g[i]) * u[i];
      const f = matmul(g, m.w2, l * dim * hidden, hidden, dim);
      for (let i = 0; i < dim; i++) x[i] += f[i];
    }
    return matmul(rmsnorm(x, m.rmsFinal, 0, dim), m.wcls, 0, dim, V);
  };
}

/** Reference logits [T][V] of one sequence. */
const runcLogits = (m, ids) => { const step = runcSession(m); return ids.map((tk, pos) => step(tk, pos)); };

/** run.c's generate at temperature 0: feed the prompt, then argmax (first maximum) until `steps` tokens or BOS. */
function runcGreedy(m, prompt, steps) {
  const step = runcSession(m);
  const out = [];
  let tok = prompt[0];
  for (let pos = 0; pos < prompt.length - 1 + steps; pos++) {
    const lg = step(tok, pos);
    if (pos < prompt.length - 1) { tok = prompt[pos + 1]; continue; }
    let best = 0;
    for (let v = 1; v < m.V; v++) if (lg[v] > lg[best]) best = v;
    if (best === BOS) break;
    out.push(best);
    tok = best;
  }
  return out;
}

function maxDiff(engineLogits, ref, V) {
  let d = 0;
  ref.forEach((row, r) => { for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(engineLogits[r * V + v] - row[v])); });
  return d;
}

// ---- tiny random checkpoints ------------------------------------------------

/** A llama2.c file with random weights; `shared` false writes a negative vocab_size and a wcls. */
function randomCheckpoint({ dim = 16, hidden = 24, L = 2, H = 4, Hk = 2, V = 11, S = 8, shared = true, seed = 3 } = {}) {
  const hs = dim / H, kvDim = Hk * hs;
  const n = V * dim + L * dim + L * dim * dim + 2 * L * kvDim * dim + L * dim * dim + L * dim + 3 * L * hidden * dim + dim + S * hs + (shared ? 0 : V * dim);
  const buf = new ArrayBuffer(28 + 4 * n), dv = new DataView(buf);
  [dim, hidden, L, H, Hk, shared ? V : -V, S].forEach((x, i) => dv.setInt32(4 * i, x, true));
  const r = rng(seed);
  // RMS weights near 1: rms_att, rms_ffn (after wq, wk, wv, wo), rms_final (after w1, w2, w3).
  const att = V * dim, ffn = att + L * dim + 2 * L * dim * dim + 2 * L * kvDim * dim, fin = ffn + L * dim + 3 * L * hidden * dim;
  const rmsRanges = [[att, att + L * dim], [ffn, ffn + L * dim], [fin, fin + dim]];
  for (let i = 0; i < n; i++) dv.setFloat32(28 + 4 * i, rmsRanges.some(([a, b]) => i >= a && i < b) ? 1 + 0.3 * (r() - 0.5) : (r() - 0.5) * 0.9, true);
  return new Uint8Array(buf);
}

t.test("tiny random checkpoints: the engine matches the run.c port", async (t) => {
  for (const [name, opts] of [["shared classifier, 4 query heads on 2 kv heads", {}], ["separate classifier (negative vocab_size), multi-query", { shared: false, Hk: 1, seed: 9 }], ["no grouping (n_kv_heads = n_heads)", { Hk: 4, seed: 11 }]]) {
    const file = randomCheckpoint(opts);
    const cfg = llama2cConfig(parseLlama2cHeader(file));
    t.equal(cfg.normalization, "RMS"); t.equal(cfg.positional, "rotary"); t.equal(cfg.actFn, "swiglu");
    const model = await loadLlama2c(file);
    t.ok(model.params.has("blocks.1.mlp.W_gate") && model.params.has("blocks.1.mlp.W_in"), `${name}: gate and in projections present`);
    const ids = [1, 5, 9, 2, 7, 7, 0, 10];
    const d = maxDiff(model.forward([ids]).logits, runcLogits(readRaw(file), ids), cfg.dVocab);
    t.ok(d < 1e-5, `${name}: logits equal the float64 run.c port (max |diff| ${d.toExponential(2)})`);
  }
});

t.test("rotary tables survive earlier forward passes of other lengths", async (t) => {
  // Regression: tables built lazily inside forward() were freed by its arena
  // reset yet kept in a per-length cache, so a later pass of a length seen
  // before (greedy decoding, or a Patcher after decoding) read overwritten memory.
  const file = randomCheckpoint({ seed: 21 });
  const model = await loadLlama2c(file);
  const a = [1, 4, 9, 2, 6], long = [1, 3, 5, 7, 9, 2, 4, 6];
  const first = model.forward([a]).logits;
  model.forward([long]);
  model.forward([long.slice(0, 6)]);
  t.strictSame(model.forward([a]).logits, first, "same logits for the same input after passes of other lengths");
  const d = maxDiff(first, runcLogits(readRaw(file), a), model.cfg.dVocab);
  t.ok(d < 1e-5, `and they are run.c's (max |diff| ${d.toExponential(2)})`);
  const p = new Patcher(model, buildGraph(model.cfg), { clean: [a], corrupted: [long.slice(0, 5)], positions: [4] }, { metric: klMetric() });
  const clean = model.engine.f32(p.ctx.cleanLogits, model.cfg.dVocab);
  const dp = maxDiff(clean, [first.subarray(4 * model.cfg.dVocab)], model.cfg.dVocab);
  t.ok(dp < 1e-5, `a Patcher made after those passes has the same clean logits (max |diff| ${dp.toExponential(2)})`);
});

t.test("corrupt checkpoints fail with a clear error", async (t) => {
  const good = randomCheckpoint();
  const bad = (f, re, what) => t.rejects(loadLlama2c(f), re, what);
  const err = (re) => ({ name: "FormatError", message: re });
  await bad(good.subarray(0, 20), err(/truncated header/), "shorter than the header");
  await bad(good.subarray(0, good.length - 4), err(/implies .*truncated file/), "one float short");
  const longer = new Uint8Array(good.length + 8); longer.set(good);
  await bad(longer, err(/implies .*trailing data/), "trailing bytes");
  const flipped = good.slice(); new DataView(flipped.buffer).setInt32(20, -11, true);
  await bad(flipped, err(/sign of vocab_size/), "shared file with a negative vocab_size");
  const magic = good.slice(); new DataView(magic.buffer).setUint32(0, 0x616b3432, true);
  await bad(magic, err(/ak42/), "versioned export");
  const heads = good.slice(); new DataView(heads.buffer).setInt32(12, 3, true);
  await bad(heads, err(/not divisible by n_heads/), "dim not divisible by n_heads");
  const zero = good.slice(); new DataView(zero.buffer).setInt32(8, 0, true);
  await bad(zero, err(/n_layers is 0/), "zero layers");
  const nan = good.slice(); new DataView(nan.buffer).setFloat32(28 + 4 * 7, NaN, true);
  await t.rejects(loadLlama2c(nan), { name: "WeightError", message: /tensor "token_embedding" holds NaN \(not finite\) at element 7/ }, "NaN weight");
  t.ok(FormatError.prototype instanceof Error && WeightError.prototype instanceof Error);
});

// ---- the real model ---------------------------------------------------------

t.test("tok512 tokenizer", { skip }, async (t) => {
  const tok = Llama2cTokenizer.parse(bytes(tokPath), 512);
  t.equal(tok.vocabSize, 512);
  t.equal(tok.pieces[BOS], "\n<s>\n");
  // run.c: BOS, then the dummy-prefix " " merged into " Once".
  t.strictSame(tok.encode("Once upon a time"), [1, 403, 407, 261, 378]);
  t.strictSame(tok.encode("Once upon a time", { bos: false, eos: true }), [403, 407, 261, 378, 2]);
  t.strictSame(tok.encode(""), [1], "empty text: no dummy prefix");
  t.equal(new TextDecoder().decode(tok.pieceBytes(BOS, 403)), "Once", "leading space dropped after BOS");
  t.equal(new TextDecoder().decode(tok.pieceBytes(261, 403)), " Once");
  t.strictSame(Array.from(tok.pieceBytes(-1, 3 + 0x0a)), [0x0a], "<0x0A> is the newline byte");
  for (const s of ["Once upon a time, there was a little girl named Lily.", "Hello\nworld", " two  spaces", "Zoë ate crème brûlée 😀", "日本", "<0x41> is not a byte token here", "tabs\tand {braces} | ~ %"]) {
    const ids = tok.encode(s);
    t.equal(tok.decode(ids), s, `round trip ${JSON.stringify(s)} (${ids.length} tokens)`);
  }
  t.ok(tok.encode("😀").includes(0xf0 + 3), "code points outside the vocabulary fall back to byte tokens");
  t.throws(() => Llama2cTokenizer.parse(bytes(tokPath).subarray(0, 1000)), { name: "TokenizerError", message: /truncated at token/ });
  t.throws(() => Llama2cTokenizer.parse(bytes(tokPath), 32000), { name: "TokenizerError", message: /holds 512 tokens but the model's vocabulary has 32000/ });
  t.ok(TokenizerError.prototype instanceof Error);
});

t.test("stories260K: conversion, logits and greedy decoding", { skip }, async (t) => {
  const file = bytes(modelPath);
  const model = await loadLlama2c(file);
  const tok = Llama2cTokenizer.parse(bytes(tokPath), model.cfg.dVocab);
  const { nLayers, dModel, nHeads, nKvHeads, dHead, dMlp, dVocab, nCtx } = model.cfg;
  t.strictSame({ nLayers, dModel, nHeads, nKvHeads, dHead, dMlp, dVocab, nCtx }, { nLayers: 5, dModel: 64, nHeads: 8, nKvHeads: 4, dHead: 8, dMlp: 172, dVocab: 512, nCtx: 512 });
  const raw = readRaw(file);

  // llama2.c's own expected output, from BOS alone.
  const fromBos = greedyDecode(model, [BOS], { steps: 200, stop: [BOS] });
  t.equal(tok.decode([BOS, ...fromBos]), LLAMA2C_EXPECTED, "engine: 200 greedy tokens from BOS print llama2.c's test_all.py text");
  t.strictSame(runcGreedy(raw, [BOS], 200), fromBos, "the run.c port generates the same 200 tokens");

  // "Once upon a time": same tokens from both, fluent text.
  const prompt = tok.encode("Once upon a time");
  const cont = greedyDecode(model, prompt, { steps: 40, stop: [BOS] });
  t.strictSame(runcGreedy(raw, prompt, 40), cont, "engine and run.c port continue the prompt with the same 40 tokens");
  t.equal(tok.decode([...prompt, ...cont]), "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.");

  // Logits at every position of prompt + continuation.
  const seq = [...prompt, ...cont];
  const d = maxDiff(model.forward([seq]).logits, runcLogits(raw, seq), dVocab);
  t.ok(d < 1e-4, `forward logits over ${seq.length} positions equal the run.c port (max |diff| ${d.toExponential(2)})`);
});

// ---- ACDC on name repetition --------------------------------------------------

/**
 * Float64 patched forward pass of the llama model over the ACDC graph (the
 * spec's patching formula; no biases in llama): every node's value for the
 * prompts `ids` [B][T], with `present` edges and `ablated(node)` for the rest.
 */
function patchedForward(m, graph, ids, present, ablated) {
  const { dim: D, hidden: M, H, Hk, hs: Dh, kvDim } = m;
  const B = ids.length, T = ids[0].length, N = B * T;
  const val = new Map();
  const rowsNorm = (x, w, off) => { const o = new Float64Array(N * D); for (let r = 0; r < N; r++) o.set(rmsnorm(x.subarray(r * D, (r + 1) * D), w, off, D), r * D); return o; };
  for (const x of [...graph.visitOrder].reverse()) {
    const n = graph.nodes[x], pe = graph.parents[x].map((e) => graph.edges[e]), l = n.layer;
    if (n.kind === "input") {
      const v = new Float64Array(N * D);
      for (let r = 0; r < N; r++) v.set(m.emb.subarray(ids[Math.floor(r / T)][r % T] * D, (ids[Math.floor(r / T)][r % T] + 1) * D), r * D);
      val.set(x, v);
    } else if (n.kind === "qkv_input" || n.kind === "mlp_in" || n.kind === "output") {
      const v = new Float64Array(N * D);
      for (const e of pe) { const s = present[e.id] ? val.get(e.parent) : ablated(e.parent); for (let i = 0; i < N * D; i++) v[i] += s[i]; }
      val.set(x, v);
    } else if (n.kind === "qkv") {
      if (!present[pe[0].id]) { val.set(x, ablated(x)); continue; }
      const xn = rowsNorm(val.get(pe[0].parent), m.rmsAtt, l * D);
      const hh = n.letter === "q" ? n.head : Math.floor((n.head * Hk) / H);
      const W = n.letter === "q" ? m.wq : n.letter === "k" ? m.wk : m.wv, base = l * (n.letter === "q" ? D : kvDim) * D;
      const v = new Float64Array(N * Dh);
      for (let r = 0; r < N; r++) for (let e = 0; e < Dh; e++) { let s = 0; for (let d = 0; d < D; d++) s += W[base + (hh * Dh + e) * D + d] * xn[r * D + d]; v[r * Dh + e] = s; }
      val.set(x, v);
    } else if (n.kind === "result") {
      const get = (letter) => val.get(pe.find((e) => graph.nodes[e.parent].letter === letter).parent).slice();
      const q = get("q"), k = get("k"), vv = get("v");
      for (let r = 0; r < N; r++) { rotate(q.subarray(r * Dh, (r + 1) * Dh), r % T, Dh, Dh); rotate(k.subarray(r * Dh, (r + 1) * Dh), r % T, Dh, Dh); }
      const out = new Float64Array(N * D);
      for (let b = 0; b < B; b++) for (let tq = 0; tq < T; tq++) {
        const r = b * T + tq, sc = [];
        for (let s = 0; s <= tq; s++) { let a = 0; for (let e = 0; e < Dh; e++) a += q[r * Dh + e] * k[(b * T + s) * Dh + e]; sc.push(a / Math.sqrt(Dh)); }
        const mx = Math.max(...sc), ex = sc.map((a) => Math.exp(a - mx)), tot = ex.reduce((a, c) => a + c, 0);
        const z = new Float64Array(Dh);
        for (let s = 0; s <= tq; s++) for (let e = 0; e < Dh; e++) z[e] += (ex[s] / tot) * vv[(b * T + s) * Dh + e];
        for (let d = 0; d < D; d++) { let s = 0; for (let e = 0; e < Dh; e++) s += m.wo[l * D * D + d * D + n.head * Dh + e] * z[e]; out[r * D + d] = s; }
      }
      val.set(x, out);
    } else if (n.kind === "mlp_out") {
      const xn = rowsNorm(val.get(pe[0].parent), m.rmsFfn, l * D), out = new Float64Array(N * D);
      for (let r = 0; r < N; r++) {
        const xr = xn.subarray(r * D, (r + 1) * D);
        const g = matmul(xr, m.w1, l * M * D, D, M), u = matmul(xr, m.w3, l * M * D, D, M);
        for (let i = 0; i < M; i++) g[i] = silu(g[i]) * u[i];
        out.set(matmul(g, m.w2, l * D * M, M, D), r * D);
      }
      val.set(x, out);
    }
  }
  return val;
}

/** Log-softmax logits [V] at each prompt's last position from the output node's value. */
function lastLogits(m, graph, val, B, T) {
  const out = val.get(graph.output);
  return Array.from({ length: B }, (_, b) => matmul(rmsnorm(out.subarray((b * T + T - 1) * m.dim, (b * T + T) * m.dim), m.rmsFinal, 0, m.dim), m.wcls, 0, m.dim, m.V));
}
const logSoftmax = (x) => { const mx = Math.max(...x); const lse = mx + Math.log(x.reduce((a, v) => a + Math.exp(v - mx), 0)); return x.map((v) => v - lse); };

t.test("stories260K: ACDC on name repetition", { skip }, async (t) => {
  const model = await loadLlama2c(bytes(modelPath));
  const tok = Llama2cTokenizer.parse(bytes(tokPath), model.cfg.dVocab);
  const raw = readRaw(bytes(modelPath));
  const task = nameRepeatTask(tok, model.cfg);
  const data = task.data;
  const B = data.clean.length, T = data.clean[0].length;
  t.equal(B, 10); t.equal(T, 42);
  const graph = buildGraph(model.cfg);
  t.strictSame(graph.counts, { addition: 2461, direct: 120, placeholder: 125 }, "5 layers × 8 heads with MLPs: 2,581 tested edges");

  const threshold = 0.01;
  const run = () => acdc(new Patcher(model, graph, data, { ablation: "corrupted", metric: klMetric() }), { threshold });
  const r = run();
  const r2 = run();
  t.strictSame(r2.trace, r.trace, "two runs give bit-identical traces");
  t.ok(r.edges.length > 0 && r.edges.length < 0.05 * (graph.counts.addition + graph.counts.direct), `kept ${r.edges.length} edges (< 5% of 2,581), tested ${r.stats.tested}`);

  // Re-score the circuit with the float64 port: present = kept edges (+ placeholders).
  const all = new Uint8Array(graph.edges.length).fill(1);
  const corr = patchedForward(raw, graph, data.corrupted, all, null);
  const ablated = (x) => corr.get(x);
  const clean = patchedForward(raw, graph, data.clean, all, ablated);
  const cleanRows = lastLogits(raw, graph, clean, B, T);
  const d = maxDiff(cleanRows[0], runcLogits(raw, data.clean[0]).slice(T - 1), raw.V);
  t.ok(d < 1e-9, `the graph-wise float64 forward with every edge present is run.c's (prompt 0, max |diff| ${d.toExponential(2)})`);
  const present = new Uint8Array(graph.edges.length);
  for (const e of graph.edges) if (e.type === "placeholder") present[e.id] = 1;
  for (const e of r.edges) present[e.id] = 1;
  const circRows = lastLogits(raw, graph, patchedForward(raw, graph, data.clean, present, ablated), B, T);
  let kl = 0;
  for (let b = 0; b < B; b++) {
    const lp = logSoftmax(Array.from(cleanRows[b])), lq = logSoftmax(Array.from(circRows[b]));
    for (let v = 0; v < raw.V; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]);
  }
  kl /= B;
  t.ok(Math.abs(kl - r.metric) < 1e-4, `the circuit's KL from the incremental patcher (${r.metric.toFixed(5)}) equals a float64 patched forward pass of its edges (${kl.toFixed(5)})`);

  // The circuit keeps most of the name-copying behaviour.
  const corrRows = lastLogits(raw, graph, corr, B, T);
  const ld = (rows) => rows.reduce((a, row, b) => a + row[data.correct[b]] - row[data.incorrect[b]], 0) / B;
  const [ldClean, ldCorr, ldCirc] = [ld(cleanRows), ld(corrRows), ld(circRows)];
  const recovered = (ldCirc - ldCorr) / (ldClean - ldCorr);
  t.ok(ldClean > 3, `clean logit difference ${ldClean.toFixed(3)}: the model repeats the name`);
  t.ok(recovered > 0.75, `the circuit recovers ${(100 * recovered).toFixed(1)}% of the logit difference (clean ${ldClean.toFixed(3)}, corrupted ${ldCorr.toFixed(3)}, circuit ${ldCirc.toFixed(3)})`);

  // The kept edges connect the input to the output.
  const reach = new Set([graph.nodes.findIndex((n) => n.kind === "input")]);
  for (const x of [...graph.visitOrder].reverse()) for (const eid of graph.parents[x]) if (present[eid] && reach.has(graph.edges[eid].parent)) reach.add(x);
  t.ok(reach.has(graph.output), "a path of kept edges leads from the input to the output");
});

t.test("examples/stories-acdc.mjs runs and writes its circuit", { skip }, async (t) => {
  const { execFile } = await import("node:child_process");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const tmp = mkdtempSync(join(tmpdir(), "stories-acdc-"));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const out = join(tmp, "circuit.json");
  const r = await new Promise((resolve) => execFile(process.execPath, [join(root, "examples", "stories-acdc.mjs"), "0.01", out], { cwd: root, timeout: 120_000 },
    (err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr })));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /greedy: "Once upon a time, there was a little girl named Lily\./);
  const m = r.stdout.match(/tested (\d+) of 2581 edges, kept (\d+);/);
  t.ok(m, "summary line");
  const json = JSON.parse(readFileSync(out, "utf8"));
  t.equal(json.num_kept, Number(m?.[2]));
  t.equal(json.edges.length, json.num_kept);
  t.equal(r.stdout.split("\n").filter((l) => / -> /.test(l)).length, json.num_kept, "one printed line per kept edge");
  t.ok(json.task.logit_diff.recovered > 0.75, `circuit recovers ${(100 * json.task.logit_diff.recovered).toFixed(1)}% of the logit difference`);
});
