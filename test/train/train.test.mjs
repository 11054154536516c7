// The trainer (src/train/trainer.ts): its forward equals the model's, its
// gradients of the whole model equal central differences of a float64
// scalar reference loss, AdamW steps lower the loss, a run is bit-identical
// when repeated, and bad batches are refused.
import t from "tap";
import { makeConfig, InputError } from "../../dist/index.js";
import { paramTable } from "../../dist/model/params.js";
import { Trainer, initWeights, mulberry32, gaussian } from "../../dist/train/index.js";

/** Random weights for every tensor (norm weights around 1), so no gradient is trivially zero. */
function randomWeights(cfg, seed, std = 0.4) {
  const normal = gaussian(mulberry32(seed));
  return new Map(paramTable(cfg).map(({ name, shape }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormW = /ln(1|2|_final)\.w$/.test(name);
    for (let i = 0; i < data.length; i++) data[i] = (isNormW ? 1 : 0) + std * normal();
    return [name, { shape, data }];
  }));
}

/**
 * Float64 reference: mean next-token cross-entropy over positions with a
 * target, written from the formulas on canonical weights (Float64Arrays).
 */
function refLoss(cfg, W, tokens, targets, B, T) {
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V, eps } = cfg;
  const w = (n) => W.get(n).data;
  const norm = (x, p) => x.map((row) => {
    if (cfg.normalization === "none") return row.slice();
    const g = w(`${p}.w`);
    if (cfg.normalization === "RMS") {
      const rs = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / D + eps);
      return row.map((v, d) => v * rs * g[d]);
    }
    const b = w(`${p}.b`);
    const mean = row.reduce((s, v) => s + v, 0) / D;
    const rs = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / D + eps);
    return row.map((v, d) => (v - mean) * rs * g[d] + b[d]);
  });
  const gelu = (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  let total = 0, count = 0;
  for (let b = 0; b < B; b++) {
    const ids = Array.from({ length: T }, (_, t) => tokens[b * T + t]);
    let x = ids.map((tok, t) => Array.from({ length: D }, (_, d) => w("embed.W_E")[tok * D + d] + (cfg.positional === "learned" ? w("pos_embed.W_pos")[t * D + d] : 0)));
    for (let l = 0; l < L; l++) {
      const p = `blocks.${l}`;
      const ln = norm(x, `${p}.ln1`);
      const proj = (U, h) => ln.map((row) => Array.from({ length: Dh }, (_, j) => {
        let s = w(`${p}.attn.b_${U}`)[h * Dh + j];
        for (let d = 0; d < D; d++) s += row[d] * w(`${p}.attn.W_${U}`)[(h * D + d) * Dh + j];
        return s;
      }));
      const out = x.map(() => Array.from({ length: D }, (_, d) => w(`${p}.attn.b_O`)[d]));
      for (let h = 0; h < H; h++) {
        const kh = Math.floor((h * Hk) / H);
        const q = proj("Q", h), k = proj("K", kh), v = proj("V", kh);
        for (let tq = 0; tq < T; tq++) {
          const sc = Array.from({ length: tq + 1 }, (_, s) => q[tq].reduce((a, qv, j) => a + qv * k[s][j], 0) / Math.sqrt(Dh));
          const mx = Math.max(...sc), ex = sc.map((s) => Math.exp(s - mx)), z = ex.reduce((a, b) => a + b, 0);
          const zt = Array.from({ length: Dh }, (_, j) => ex.reduce((a, e, s) => a + (e / z) * v[s][j], 0));
          for (let d = 0; d < D; d++) for (let j = 0; j < Dh; j++) out[tq][d] += zt[j] * w(`${p}.attn.W_O`)[(h * Dh + j) * D + d];
        }
      }
      x = x.map((row, t) => row.map((val, d) => val + out[t][d]));
      if (!cfg.attnOnly) {
        const ln2 = norm(x, `${p}.ln2`);
        const mo = ln2.map((row) => {
          const post = Array.from({ length: M }, (_, i) => {
            let pre = w(`${p}.mlp.b_in`)[i];
            for (let d = 0; d < D; d++) pre += row[d] * w(`${p}.mlp.W_in`)[d * M + i];
            if (cfg.actFn === "swiglu") {
              let g = 0;
              for (let d = 0; d < D; d++) g += row[d] * w(`${p}.mlp.W_gate`)[d * M + i];
              return (g / (1 + Math.exp(-g))) * pre;
            }
            return cfg.actFn === "relu" ? Math.max(0, pre) : gelu(pre);
          });
          return Array.from({ length: D }, (_, d) => post.reduce((a, pv, i) => a + pv * w(`${p}.mlp.W_out`)[i * D + d], w(`${p}.mlp.b_out`)[d]));
        });
        x = x.map((row, t) => row.map((val, d) => val + mo[t][d]));
      }
    }
    const lnf = norm(x, "ln_final");
    for (let t = 0; t < T; t++) {
      const tg = targets[b * T + t];
      if (tg < 0) continue;
      const logits = Array.from({ length: V }, (_, c) => lnf[t].reduce((a, val, d) => a + val * w("unembed.W_U")[d * V + c], w("unembed.b_U")[c]));
      const mx = Math.max(...logits);
      total += mx + Math.log(logits.reduce((a, z) => a + Math.exp(z - mx), 0)) - logits[tg];
      count++;
    }
  }
  return total / count;
}

function tinyBatch(cfg, B, T, seed) {
  const r = mulberry32(seed);
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * cfg.dVocab));
  // Next-token targets, some positions masked out (−1) and the last one too.
  const targets = Int32Array.from({ length: B * T }, (_, i) => ((i + 1) % T === 0 || r() < 0.25 ? -1 : tokens[i + 1]));
  return { tokens, targets, B, T };
}

const CONFIGS = {
  "attn-only LN": makeConfig({ nLayers: 2, dModel: 8, nHeads: 2, dHead: 4, dVocab: 11, nCtx: 6, attnOnly: true }),
  "LN + gelu MLP": makeConfig({ nLayers: 2, dModel: 8, nHeads: 2, dHead: 3, dMlp: 12, dVocab: 9, nCtx: 6 }),
  "RMS + SwiGLU + GQA": makeConfig({ nLayers: 1, dModel: 8, nHeads: 2, nKvHeads: 1, dHead: 4, dMlp: 6, dVocab: 7, nCtx: 5, normalization: "RMS", actFn: "swiglu" }),
  "no norm, relu": makeConfig({ nLayers: 2, dModel: 6, nHeads: 2, dHead: 3, dMlp: 5, dVocab: 7, nCtx: 5, normalization: "none", actFn: "relu" }),
};

t.test("trainer forward = model.forward, bit for bit", async (t) => {
  for (const [name, cfg] of Object.entries(CONFIGS)) {
    const tr = await Trainer.create(cfg, { weights: randomWeights(cfg, 1) });
    const batch = tinyBatch(cfg, 3, cfg.nCtx, 2);
    const rows = Array.from({ length: 3 }, (_, b) => Array.from(batch.tokens.subarray(b * cfg.nCtx, (b + 1) * cfg.nCtx)));
    t.same(Array.from(tr.logits(batch)), Array.from(tr.model.forward(rows).logits), `${name}: logits identical`);
  }
});

t.test("whole-model gradients = central differences of a float64 reference loss", async (t) => {
  for (const [name, cfg] of Object.entries(CONFIGS)) {
    const W = randomWeights(cfg, 7);
    const tr = await Trainer.create(cfg, { weights: W });
    const batch = tinyBatch(cfg, 2, cfg.nCtx, 3);
    const { loss } = tr.lossAndGrad(batch);
    const grads = tr.gradients();
    const W64 = new Map([...W].map(([n, x]) => [n, { shape: x.shape, data: Float64Array.from(x.data) }]));
    const ref = refLoss(cfg, W64, batch.tokens, batch.targets, batch.B, batch.T);
    t.ok(Math.abs(loss - ref) < 1e-5 * Math.max(1, ref), `${name}: loss ${loss.toFixed(6)} = float64 reference ${ref.toFixed(6)}`);
    const r = mulberry32(11);
    const h = 1e-5;
    let worst = 0, checked = 0, where = "";
    for (const [pname, tensor] of W64) {
      const g = grads.get(pname).data;
      let scale = 0;
      for (const v of g) scale = Math.max(scale, Math.abs(v));
      for (let s = 0; s < 3; s++) {
        const i = Math.floor(r() * tensor.data.length);
        const x0 = tensor.data[i];
        tensor.data[i] = x0 + h;
        const up = refLoss(cfg, W64, batch.tokens, batch.targets, batch.B, batch.T);
        tensor.data[i] = x0 - h;
        const down = refLoss(cfg, W64, batch.tokens, batch.targets, batch.B, batch.T);
        tensor.data[i] = x0;
        const fd = (up - down) / (2 * h);
        // Relative to the entry, floored at 1% of the tensor's largest gradient
        // and at 1e-5 (b_K's gradient is 0 exactly: a key bias shifts a whole
        // score row, which softmax ignores; float32 leaves ~1e-8 of rounding).
        const err = Math.abs(g[i] - fd) / Math.max(Math.abs(fd), 0.01 * scale, 1e-5);
        if (err > worst) { worst = err; where = `${pname}[${i}]: ${g[i].toExponential(4)} vs ${fd.toExponential(4)}`; }
        checked++;
      }
    }
    t.ok(worst < 1e-2, `${name}: ${checked} entries across all ${W64.size} tensors, worst relative error ${worst.toExponential(2)} (${where})`);
  }
});

t.test("AdamW lowers the loss; two runs are bit-identical", async (t) => {
  const cfg = CONFIGS["LN + gelu MLP"];
  const run = async () => {
    const tr = await Trainer.create(cfg, { seed: 5, initStd: 0.2 });
    const batch = tinyBatch(cfg, 4, cfg.nCtx, 9);
    const losses = [];
    for (let i = 0; i < 30; i++) { losses.push(tr.lossAndGrad(batch).loss); tr.step({ lr: 1e-2, weightDecay: 0.01, clip: 1 }); }
    const bytes = [...tr.weights().values()].map((x) => Buffer.from(x.data.buffer).toString("base64")).join();
    return { losses, bytes, steps: tr.stepCount };
  };
  const a = await run(), b = await run();
  t.ok(a.losses.at(-1) < 0.5 * a.losses[0], `memorising one batch: loss ${a.losses[0].toFixed(3)} → ${a.losses.at(-1).toFixed(3)} in ${a.steps} steps`);
  t.equal(a.bytes, b.bytes, "weights after 30 steps identical byte for byte");
  t.same(a.losses, b.losses, "losses identical");
});

t.test("init and errors", async (t) => {
  const cfg = CONFIGS["attn-only LN"];
  const w = initWeights(cfg, 3);
  t.same([...w.get("blocks.0.ln1.w").data].every((x) => x === 1), true, "norm weights start at 1");
  t.same([...w.get("blocks.1.attn.b_Q").data].every((x) => x === 0), true, "biases start at 0");
  const we = w.get("embed.W_E").data;
  const sd = Math.sqrt(we.reduce((s, x) => s + x * x, 0) / we.length);
  t.ok(sd > 0.015 && sd < 0.025, `W_E std ${sd.toFixed(4)} ≈ 0.02`);
  t.same(Array.from(initWeights(cfg, 3).get("unembed.W_U").data), Array.from(w.get("unembed.W_U").data), "same seed, same weights");
  const tr = await Trainer.create(cfg, { weights: w });
  t.throws(() => tr.lossAndGrad({ tokens: new Int32Array(4), targets: new Int32Array(4), B: 1, T: 7 }), InputError, "too long for n_ctx");
  t.throws(() => tr.lossAndGrad({ tokens: Int32Array.of(1, 99), targets: Int32Array.of(1, -1), B: 1, T: 2 }), /vocabulary/, "token outside the vocabulary");
  t.throws(() => tr.lossAndGrad({ tokens: Int32Array.of(1, 2), targets: Int32Array.of(-2, -1), B: 1, T: 2 }), /target/, "bad target");
  await t.rejects(Trainer.create(makeConfig({ nLayers: 1, dModel: 4, nHeads: 1, dHead: 4, dVocab: 5, nCtx: 4, attnOnly: true, positional: "rotary" })), /rotary/);
});
