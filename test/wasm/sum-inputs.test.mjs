// Unit tier: sumInputs, a receiver's input from its senders in one pass
// (assembly/patch.ts), must give the bits of the kernel sequence it
// replaces, fill(0), addBias and one add per sender in order, whatever the
// row width (SIMD tails, several rows per block or one), the bias (−0
// included: 0 + −0 is +0) and the thread split (rows cut across 2 threads).
import t from "tap";
import { createEngine } from "../../dist/index.js";
import { createTestEngine } from "../../dist/wasm/engine.js";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
const two = await createTestEngine({ threads: 2 }, { splitSmallCalls: true });
t.teardown(() => two.dispose());
const read = (eng, p, n) => eng.f32(p, n).slice();
function scoped(eng, fn) { const m = eng.mark(); try { return fn(); } finally { eng.reset(m); } }

t.test("sumInputs = fill, addBias, adds in order", async (t) => {
  const r = rng(51);
  for (const [N, D, k] of [[1, 1, 1], [3, 7, 4], [10, 768, 13], [5, 5000, 3], [17, 33, 0], [2, 4096, 2]]) for (const withBias of [true, false]) {
    const xs = Array.from({ length: k }, () => Float32Array.from({ length: N * D }, () => (r() < 0.05 ? -0 : (r() - 0.5) * 2 ** Math.floor(20 * r() - 10))));
    const bias = Float32Array.from({ length: D }, (_, i) => (i % 5 === 0 ? -0 : r() - 0.5));
    const run = (eng, fused) => scoped(eng, () => {
      const out = eng.allocF32(N * D), pb = withBias ? eng.upload(bias) : 0, ptrs = eng.alloc(4 * Math.max(1, k));
      const px = xs.map((x) => eng.upload(x));
      eng.k.fill(out, 123, N * D);
      if (fused) { eng.i32(ptrs, k).set(px); eng.k.sumInputs(out, pb, ptrs, k, D, 0, N); }
      else {
        eng.k.fill(out, 0, N * D);
        if (pb) eng.k.addBias(out, pb, N, D);
        for (const p of px) eng.k.add(out, out, p, N * D);
      }
      return read(eng, out, N * D);
    });
    const want = run(e, false), name = `N=${N} D=${D} k=${k} bias=${withBias}`;
    same(t, run(e, true), want, name);
    same(t, run(two, true), want, `${name}, 2 threads`);
  }
});
