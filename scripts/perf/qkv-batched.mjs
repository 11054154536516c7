// Issue 11's target 3 measured: a GPT-2-small layer's q, k and v for all 12
// heads at 160 rows, as the graph pass computes them (one 64-column
// projection per head: 36 products) against one product per letter over
// all heads (3 products, 768 columns each) and a copy of each head's
// columns into its node's [N, d_head] buffer. The same bits either way (every
// element sums k in the same order); the time is what decides.
//   node scripts/perf/qkv-batched.mjs [--threads 2]
import { loadGpt2, f, loadavg } from "./common.mjs";
const args = process.argv.slice(2);
const threads = Number(args[args.indexOf("--threads") + 1] || 1) || 1;
const { model, engine: e } = await loadGpt2(threads);
const N = 160, { dModel: D, nHeads: H, dHead: Dh } = model.cfg;
const ln = e.allocF32(N * D);
e.k.fill(ln, 0.01, N * D);
const outs = Array.from({ length: 3 * H }, () => e.allocF32(N * Dh));
const wide = e.allocF32(N * H * Dh);
const letters = ["q", "k", "v"];
const perHead = () => letters.forEach((L, i) => { for (let h = 0; h < H; h++) model.project(5, L, ln, N, h, h + 1, outs[i * H + h], Dh); });
const batched = () => letters.forEach((L, i) => {
  model.project(5, L, ln, N, 0, H, wide, H * Dh);
  const m = new Float32Array(e.memory.buffer), w = wide >> 2;
  for (let h = 0; h < H; h++) {
    const o = outs[i * H + h] >> 2;
    for (let n = 0; n < N; n++) m.copyWithin(o + n * Dh, w + n * H * Dh + h * Dh, w + n * H * Dh + (h + 1) * Dh);
  }
});
const best = (fn) => { let b = Infinity; for (let r = 0; r < 30; r++) { const t = performance.now(); fn(); b = Math.min(b, performance.now() - t); } return b; };
for (let i = 0; i < 3; i++) { perHead(); batched(); } // warm-up
perHead();
const ref = outs.map((o) => e.f32(o, N * Dh).slice());
batched();
const same = outs.every((o, i) => e.f32(o, N * Dh).every((v, j) => Object.is(v, ref[i][j])));
console.log(`${threads} thread(s), load average ${loadavg()}`);
for (let r = 0; r < 3; r++) console.log(`per head ${f(best(perHead), 2)} ms, batched + copy ${f(best(batched), 2)} ms (best of 30); same bits: ${same}`);
e.dispose();
