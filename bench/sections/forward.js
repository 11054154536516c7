// Section 5: full forward passes of the GPT-2-small-shaped random model
// (model.forward, no hooks, logits at every position copied out), and where
// one goes: one layer's components timed alone, times the layer count.
import { line, section, f, table } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { rng, randomArray, randomTokens } from "../lib/random.js";
import { forwardFlops } from "../lib/models.js";

export async function run({ P, gpt }) {
  const forward = await benchForward(gpt, P);
  const bd = await forwardBreakdown(gpt, P);
  line();
  line(`  where a ${bd.B}x${bd.T} forward goes (each component timed once on its own, x layers):`);
  table(["component", "ms", "share"], [...bd.rows.map((o) => [o.name + (o.times > 1 ? ` x${o.times}` : ""), f(o.ms, 0), f((100 * o.ms) / bd.sumMs, 0) + "%"]), ["sum", f(bd.sumMs, 0), "100%"]]);
  return { forward, forwardBreakdown: bd };
}

async function benchForward(gpt, P) {
  section("5. Full forward pass, GPT-2-small-shaped random model, 1 thread");
  const { model, cfg } = gpt;
  line(`  L=${cfg.nLayers} D=${cfg.dModel} H=${cfg.nHeads} Dh=${cfg.dHead} M=${cfg.dMlp} V=${cfg.dVocab} n_ctx=${cfg.nCtx}, LayerNorm, gelu_new`);
  line("  model.forward(tokens) with no hooks: embed → 12 blocks → unembed at every position → logits [B,T,V] copied out");
  const r = rng(11);
  const rows = [];
  for (let i = 0; i < P.forwardShapes.length; i++) {
    const [B, T] = P.forwardShapes[i];
    const tokens = randomTokens(B, T, cfg.dVocab, r);
    const run = () => { model.forward(tokens); };
    await warmup(run, i === 0 ? 2 : 1, 0); // wasm tier-up, then memory growth for the larger shape
    const res = await bench(`forward ${B}x${T}`, run, P.forwardBench[i]);
    const fl = forwardFlops(cfg, B, T);
    rows.push({ B, T, ...res, tokensPerSec: (B * T) / (res.meanMs / 1e3), gflops: fl.total / (res.meanMs * 1e6), flops: fl });
  }
  table(["batch x tokens", "mean ms", "±rme%", "best ms", "tokens/s", "GFLOP (matmul)", "of which unembed", "GFLOP/s", "samples"],
    rows.map((o) => [`${o.B} x ${o.T}`, f(o.meanMs, 0), f(o.rmePct, 1), f(o.bestMs, 0), f(o.tokensPerSec, 1), f(o.flops.total / 1e9, 1),
      f((100 * o.flops.unembed) / o.flops.total, 0) + "%", f(o.gflops, 2), o.samples]));
  line("  GFLOP counts 2·(in·out) per token for Q,K,V,O, MLP in/out and the unembedding, plus causal QKᵀ and pattern·V");
  return rows;
}

// One layer's components at the largest forward shape, each timed on its own
// (public Transformer methods on engine offsets), to show where a forward goes.
async function forwardBreakdown(gpt, P) {
  const { model, cfg } = gpt;
  const [B, T] = P.forwardShapes[P.forwardShapes.length - 1];
  const e = model.engine;
  const { dModel: D, nHeads: H, dHead: Dh, dVocab: V, nLayers: L } = cfg;
  const N = B * T;
  const mark = e.mark();
  try {
    const r = rng(5);
    const x = e.upload(randomArray(N * D, 2, r));
    const ln = e.allocF32(N * D), q = e.allocF32(N * D), k = e.allocF32(N * D), v = e.allocF32(N * D), z = e.allocF32(N * D);
    const pattern = e.allocF32(B * H * T * T), out = e.allocF32(N * D), logits = e.allocF32(N * V);
    const mlpS = model.mlpScratch(e.allocF32(model.mlpScratchFloats(N)), N);
    const time = (fn) => { fn(); const t = performance.now(); fn(); return performance.now() - t; };
    const lw = model.layers[0];
    const parts = [
      ["layer norm (ln1)", L, () => model.normalize(ln, x, N, lw.ln1w, lw.ln1b)],
      ["Q,K,V projections", L, () => { model.project(0, "q", ln, N, 0, H, q, H * Dh); model.project(0, "k", ln, N, 0, H, k, H * Dh); model.project(0, "v", ln, N, 0, H, v, H * Dh); }],
      ["attention (scores, softmax, ·V)", L, () => model.attend(0, z, pattern, q, k, v, B, T, H, H, 0, H)],
      ["W_O projection", L, () => model.attnOutput(0, z, N, out)],
      ["MLP (ln2, W_in, gelu, W_out)", L, () => model.mlp(0, x, N, out, mlpS)],
      ["unembed (ln_final, W_U)", 1, () => model.unembed(x, N, logits, ln)],
    ];
    const rows = parts.map(([name, times, fn]) => ({ name, times, ms: time(fn) * times }));
    return { B, T, rows, sumMs: rows.reduce((a, o) => a + o.ms, 0) };
  } finally {
    e.reset(mark);
  }
}
