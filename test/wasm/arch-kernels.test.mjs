// Unit tier for the kernels the Hugging Face architectures brought, each
// against its scalar twin (test/reference/scalar.mjs) on seeded random
// inputs with odd sizes and guard words after every output: rotate-half
// rotary (all dims or the first nRot), the exact erf GELU and its backward,
// and sliding-window attention (window 0 must be the old kernel bit for bit;
// windows split over heads and threads must not change a bit).
import t from "tap";
import { createEngine, createTestEngine } from "../../dist/wasm/engine.js";
import * as ref from "../reference/scalar.mjs";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
const GUARD = 8, SENTINEL = 12345.5;
const uniform = (r, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
const withGuard = (a) => { const g = new Float32Array(a.length + GUARD).fill(SENTINEL); g.set(a); return g; };
const read = (p, n) => e.f32(p, n).slice();
function scoped(fn) { const m = e.mark(); try { return fn(); } finally { e.reset(m); } }

/** got ≈ want elementwise within tol·max(1, |want|); sentinels must be untouched. */
function close(t, got, want, msg, tol = 1e-5) {
  let bad = -1, worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    const err = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    worst = Math.max(worst, err);
    if (!(err <= tol) && bad < 0) bad = i;
  }
  return t.ok(got.length === want.length && bad < 0, bad >= 0 ? `${msg}: [${bad}] got ${got[bad]} want ${want[bad]}` : `${msg} (worst ${worst.toExponential(1)})`);
}

function tables(T, n, theta) {
  const half = n / 2, cos = new Float32Array(T * half), sin = new Float32Array(T * half);
  for (let p = 0; p < T; p++) for (let i = 0; i < half; i++) {
    const ang = p * theta ** (-(2 * i) / n);
    cos[p * half + i] = Math.cos(ang); sin[p * half + i] = Math.sin(ang);
  }
  return { cos, sin };
}

t.test("ropeHalf against the scalar twin, all dims and partial", async (t) => {
  const r = rng(21);
  for (const [B, T, Hx, Dh, nRot, h0, h1] of [[1, 1, 1, 2, 2, 0, 1], [2, 5, 3, 16, 4, 1, 3], [1, 7, 4, 10, 10, 0, 4], [2, 3, 2, 64, 16, 1, 2], [1, 4, 2, 12, 12, 0, 2], [1, 3, 1, 18, 10, 0, 1]]) scoped(() => {
    const { cos, sin } = tables(T, nRot, 10000);
    const x = withGuard(uniform(r, B * T * Hx * Dh, -2, 2));
    const px = e.upload(x), pc = e.upload(cos), ps = e.upload(sin);
    e.k.ropeHalf(px, pc, ps, B, T, Hx, Dh, nRot, h0, h1);
    const got = read(px, x.length);
    close(t, got, ref.ropeHalf(x, cos, sin, B, T, Hx, Dh, nRot, h0, h1), `ropeHalf B=${B} T=${T} Hx=${Hx} Dh=${Dh} nRot=${nRot} heads [${h0},${h1})`);
    // The backward (a rotation's transpose) is the same kernel with sin negated: it undoes the rotation.
    e.k.ropeHalf(px, pc, e.upload(sin.map((s) => -s)), B, T, Hx, Dh, nRot, h0, h1);
    close(t, read(px, x.length), x, "  rotated back by −angle", 1e-6);
  });
});

t.test("exact GELU and its backward against the scalar twins", async (t) => {
  const r = rng(22);
  for (const n of [0, 1, 5, 17, 1000]) scoped(() => {
    const x = uniform(r, n, -9, 9), dout = uniform(r, n, -2, 2);
    const px = e.upload(withGuard(x)), pd = e.upload(withGuard(dout)), out = e.upload(withGuard(new Float32Array(n)));
    e.k.geluErf(out, px, n);
    close(t, read(out, n + GUARD), withGuard(ref.geluErf(x)), `geluErf n=${n}`);
    e.k.geluErfBackward(out, px, pd, n);
    close(t, read(out, n + GUARD), withGuard(ref.geluErfBackward(x, dout)), `geluErfBackward n=${n}`);
    e.k.geluErf(px, px, n);
    close(t, read(px, n), ref.geluErf(x), `geluErf in place n=${n}`);
  });
  scoped(() => {
    // Where the tanh form departs from it most (|x| ≈ 2), the exact one matches erf.
    const x = Float32Array.of(-6, -3, -2.2, -1, -0.1, 0, 0.1, 1, 2.2, 3, 6, -40, 40);
    const p = e.upload(x), out = e.upload(new Float32Array(x.length));
    e.k.geluErf(out, p, x.length);
    close(t, read(out, x.length), ref.geluErf(x), "geluErf at chosen points, tails included", 2e-7);
  });
});

t.test("sliding-window attention against the scalar twin; window 0 is the full causal kernel bit for bit", async (t) => {
  const r = rng(23);
  for (const [B, T, H, Hkv, Dh, W, h0, h1] of [[1, 6, 2, 1, 4, 1, 0, 2], [2, 9, 4, 2, 8, 3, 1, 4], [1, 7, 3, 3, 5, 4, 0, 3], [2, 5, 2, 2, 6, 9, 0, 2]]) scoped(() => {
    const q = uniform(r, B * T * H * Dh, -2, 2), k = uniform(r, B * T * Hkv * Dh, -2, 2), v = uniform(r, B * T * Hkv * Dh);
    const scale = Math.fround(1 / Math.sqrt(Dh));
    const z0 = uniform(r, B * T * H * Dh), p0 = uniform(r, B * H * T * T);
    const pz = e.upload(withGuard(z0)), pp = e.upload(withGuard(p0)), pq = e.upload(q), pk = e.upload(k), pv = e.upload(v);
    e.k.attention(pz, pp, pq, pk, pv, B, T, H, Hkv, Dh, scale, h0, h1, 1, W);
    const want = ref.attention(q, k, v, B, T, H, Hkv, Dh, scale, h0, h1, z0, p0, true, W);
    close(t, read(pz, z0.length + GUARD), withGuard(want.z), `z B=${B} T=${T} H=${H}/${Hkv} Dh=${Dh} window ${W} heads [${h0},${h1})`);
    close(t, read(pp, p0.length + GUARD), withGuard(want.pattern), `  pattern`);
    const full1 = e.upload(new Float32Array(z0.length)), full2 = e.upload(new Float32Array(z0.length)), pat = e.upload(new Float32Array(p0.length));
    e.k.attention(full1, pat, pq, pk, pv, B, T, H, Hkv, Dh, scale, 0, H, 1);
    e.k.attention(full2, pat, pq, pk, pv, B, T, H, Hkv, Dh, scale, 0, H, 1, 0);
    same(t, read(full2, z0.length), read(full1, z0.length), "  window 0 = no window argument, bit for bit");
  });
});

t.test("sliding windows over threads and head ranges: the same bits", async (t) => {
  const r = rng(24);
  const B = 3, T = 24, H = 6, Hkv = 3, Dh = 16, W = 5, scale = Math.fround(0.25);
  const q = uniform(r, B * T * H * Dh, -2, 2), k = uniform(r, B * T * Hkv * Dh, -2, 2), v = uniform(r, B * T * Hkv * Dh);
  const run = (eng, ranges) => {
    const m = eng.mark();
    try {
      const z = eng.upload(new Float32Array(q.length)), p = eng.upload(new Float32Array(B * H * T * T));
      const pq = eng.upload(q), pk = eng.upload(k), pv = eng.upload(v);
      for (const [h0, h1] of ranges) eng.k.attention(z, p, pq, pk, pv, B, T, H, Hkv, Dh, scale, h0, h1, 1, W);
      return [eng.f32(z, q.length).slice(), eng.f32(p, B * H * T * T).slice()];
    } finally { eng.reset(m); }
  };
  const [z1, p1] = run(e, [[0, H]]);
  const [z2, p2] = run(e, [[0, 1], [1, 4], [4, 6]]);
  same(t, z2, z1, "head ranges: z"); same(t, p2, p1, "head ranges: pattern");
  const th = await createTestEngine({ threads: 3 }, { splitSmallCalls: true });
  const [z3, p3] = run(th, [[0, H]]);
  same(t, z3, z1, "3 threads: z"); same(t, p3, p1, "3 threads: pattern");
  th.dispose();
});
