// Unit tier: assembly/vmath.ts's deterministic tanh and exp, and the kernels
// built on them (gelu, geluBackward, swiglu), bit for bit against their
// TypeScript twins (src/reference/scalar.ts tanhF32, expF32, geluF32, …,
// which redo the same f32 operations with Math.fround), on millions of
// inputs: random bit patterns (every exponent, subnormals, ±inf, NaNs),
// dense runs around the branch points, and the edge values. NaN inputs must
// come back with their own bits. Then accuracy against float64 Math.tanh and
// Math.exp, in ulps of the f32 result.
import t from "tap";
import { createEngine } from "../../dist/index.js";
import * as ref from "../reference/scalar.mjs";
import { rng } from "../helpers/fixtures.mjs";

const e = await createEngine();
const CH = 1 << 18;

/** Inputs: edge values, runs of consecutive floats around each point, random bit patterns, uniform values in ±range. */
function inputs(r, points, range, nRandom) {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  const bits = [0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
    0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0xffffffff, 0x7fc12345];
  for (const p of points) for (const s of [1, -1]) {
    f[0] = s * p;
    for (let d = -2000; d <= 2000; d++) bits.push((u[0] + d) >>> 0);
  }
  for (let i = 0; i < nRandom; i++) bits.push(Math.floor(r() * 2 ** 32) >>> 0);
  for (let i = 0; i < nRandom; i++) { f[0] = (2 * r() - 1) * range; bits.push(u[0]); }
  return Uint32Array.from(bits);
}

/** Run kernel `name` (out, x, n) over `bits` in chunks (odd lengths: SIMD body and scalar tail); returns the output bits. */
function runUnary(name, bits) {
  const out = new Uint32Array(bits.length);
  const m = e.mark();
  const px = e.alloc(CH * 4), po = e.alloc(CH * 4);
  for (let i = 0; i < bits.length; i += CH - 3) {
    const n = Math.min(CH - 3, bits.length - i);
    new Uint32Array(e.memory.buffer, px, n).set(bits.subarray(i, i + n));
    e.k[name](po, px, n);
    out.set(new Uint32Array(e.memory.buffer, po, n), i);
  }
  e.reset(m);
  return out;
}

/** Bitwise comparison with a twin; NaN inputs must come back unchanged. */
function twinCheck(t, name, bits, got, twin) {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer), x = new Float32Array(bits.buffer);
  let bad = 0, first = -1, nans = 0;
  for (let i = 0; i < bits.length; i++) {
    let want;
    if (x[i] !== x[i]) { want = bits[i]; nans++; } else { f[0] = twin(x[i]); want = u[0]; }
    if (got[i] !== want) { bad++; if (first < 0) first = i; }
  }
  t.equal(bad, 0, `${name}: ${bits.length} inputs (${nans} NaNs) bitwise equal to the twin` +
    (bad ? `; first x=${x[first]} (0x${bits[first].toString(16)}) got 0x${got[first].toString(16)}` : ""));
}

/** Max error in ulps of the float64 value's f32 spacing, over finite results. */
function maxUlp(bits, got, f64) {
  const x = new Float32Array(bits.buffer), y = new Float32Array(got.buffer);
  let worst = 0, at = 0;
  for (let i = 0; i < bits.length; i++) {
    if (!(Math.abs(x[i]) < Infinity)) continue;
    const w = f64(x[i]);
    if (!(Math.abs(w) < 3.4e38)) continue;
    const a = Math.abs(w), ulp = a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
    const err = Math.abs(y[i] - w) / ulp;
    if (err > worst) { worst = err; at = x[i]; }
  }
  return [worst, at];
}

t.test("tanh: the twin's bits, and ≤ 1.5 ulp", async (t) => {
  const bits = inputs(rng(21), [2 ** -20, 0.75, 1, 2, 9.01, 9.125, 20], 12, 1 << 20);
  const got = runUnary("tanh", bits);
  twinCheck(t, "tanh", bits, got, ref.tanhF32);
  const [worst, at] = maxUlp(bits, got, Math.tanh);
  t.ok(worst <= 1.5, `tanh max error ${worst.toFixed(3)} ulp (at x = ${at}) vs float64`);
  const y = new Float32Array(got.buffer), x = new Float32Array(bits.buffer);
  t.ok(Object.is(y[0], 0) && Object.is(y[1], -0), "tanh(±0) = ±0");
  t.same([y[8], y[9]], [1, -1], "tanh(±inf) = ±1");
  let odd = true;
  for (let i = 0; i < bits.length; i++) if (x[i] === x[i] && ref.tanhF32(-x[i]) !== -y[i]) odd = false;
  t.ok(odd, "tanh(−x) = −tanh(x) on every input");
});

t.test("exp: the twin's bits, and ≤ 1.5 ulp", async (t) => {
  const bits = inputs(rng(22), [2 ** -20, 0.3466, 1, 10, 87.3, 88.72, 103.9, 104, 150], 100, 1 << 20);
  const got = runUnary("exp", bits);
  twinCheck(t, "exp", bits, got, ref.expF32);
  const [worst, at] = maxUlp(bits, got, Math.exp);
  t.ok(worst <= 1.5, `exp max error ${worst.toFixed(3)} ulp (at x = ${at}) vs float64, subnormal results included`);
  const y = new Float32Array(got.buffer);
  t.same([y[0], y[1], y[8], y[9]], [1, 1, Infinity, 0], "exp(±0) = 1, exp(inf) = inf, exp(−inf) = 0");
});

t.test("gelu, geluBackward, swiglu: the bit-exact twins' bits", async (t) => {
  const r = rng(23);
  const n = 300001; // not a multiple of 4
  const x = Float32Array.from({ length: n }, (_, i) => (i % 3 ? (2 * r() - 1) * 8 : (2 * r() - 1) * 1e3));
  x.set([0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 3e38, -3e38, 0.75 / 0.79788456]);
  const dout = Float32Array.from({ length: n }, () => 2 * r() - 1);
  const m = e.mark();
  const px = e.upload(x), pd = e.upload(dout), out = e.allocF32(n), out2 = e.allocF32(n);
  const check = (name, got, want) => {
    let bad = 0, first = -1;
    for (let i = 0; i < n; i++) {
      const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Object.is(got[i], want[i]);
      if (!ok) { bad++; if (first < 0) first = i; }
    }
    t.equal(bad, 0, `${name}: ${n} values bitwise equal to the twin (NaN results: NaN)` + (bad ? `; first [${first}] x=${x[first]} got ${got[first]} want ${want[first]}` : ""));
  };
  e.k.gelu(out, px, n);
  check("gelu", e.f32(out, n).slice(), ref.geluF32(x));
  e.k.geluBackward(out, px, pd, n);
  check("geluBackward", e.f32(out, n).slice(), ref.geluBackwardF32(x, dout));
  e.k.swiglu(out2, px, pd, n);
  check("swiglu", e.f32(out2, n).slice(), ref.swigluF32(x, dout));
  e.reset(m);
});
