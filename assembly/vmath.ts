// Deterministic f32 tanh and exp, four lanes at a time and one at a time.
// Built only from WebAssembly operations whose results are fully specified
// (f32 add, sub, mul, div, min, max, nearest, abs, comparisons, integer and
// bitwise ops): no host Math, no relaxed SIMD, no fused multiply-add, and no
// float operation whose result could be a NaN that reaches the output (NaN
// bits are the one thing wasm leaves open). So every runtime on every CPU
// gives the same bits, and the scalar routine, which runs the same operations
// in the same order, gives the bits of the vector one (the tails of the
// kernels use it). Twinned in TypeScript by src/reference/scalar.ts
// tanhF32/expF32 (Math.fround after each operation: for +, −, ×, ÷ of f32
// values the double result rounded once to f32 is the f32 result).
// Not here: where they are used (activation.ts gelu/swiglu/softmax and their
// backwards in backward.ts).

// exp(y) = 2ⁿ·e^r, n = nearest(y·log₂e), r = y − n·ln2 in two parts (Cody &
// Waite: LN2_HI has 9 significant bits, so n·LN2_HI is exact for |n| ≤ 2¹⁵),
// |r| ≤ ln2/2, e^r = 1 + r + r²·P(r) with Cephes expf's minimax P (Moshier,
// Cephes Math Library, expf.c).
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;
// exp's input range: below EXP_LO the result rounds to 0, above EXP_HI it is
// inf; clamping keeps n in [−150, 128], where 2ⁿ is two normal factors.
const EXP_LO: f32 = -104;
const EXP_HI: f32 = 89;

// tanh(a) for 0 ≤ a < TANH_SMALL: a + a³·Q(a²), Q a degree-5 minimax fit to
// (tanh(a) − a)/a³ for relative error (fitted for this file: 0.03 ulp before
// rounding). Above it 1 − 2/(e^{2a} + 1) loses nothing to cancellation
// (tanh ≥ 0.63). Above TANH_SAT tanh rounds to 1 (1 − tanh < 2⁻²⁵ past
// 9.01), so a is clamped there and e^{2a} never overflows.
const TANH_SMALL: f32 = 0.75;
const TANH_SAT: f32 = 9.125;
const Q0: f32 = -0.33333316445350647;
const Q1: f32 = 0.13332690298557281;
const Q2: f32 = -0.0538923479616642;
const Q3: f32 = 0.02145058661699295;
const Q4: f32 = -0.007654745597392321;
const Q5: f32 = 0.0017353328876197338;

// e^r (|r| ≤ ln2/2) and n for y: the polynomial part shared by exp and tanh.
@inline function expPoly4(r: v128): v128 {
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  return f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
}
@inline function expPoly(r: f32): f32 {
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  return (p * (r * r) + r) + 1;
}

// 2^k as f32 for integer lanes k in [−126, 127].
@inline function pow2i4(k: v128): v128 { return i32x4.shl(i32x4.add(k, i32x4.splat(127)), 23); }
@inline function pow2i(k: i32): f32 { return reinterpret<f32>((k + 127) << 23); }

/** e^x per lane; NaN lanes come back as they went in. */
@inline export function exp4(x: v128): v128 {
  const y = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(y, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(y, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const k = i32x4.trunc_sat_f32x4_s(n);
  const k1 = i32x4.shr_s(k, 1);
  // 2ⁿ = 2^k1·2^(n−k1), both normal: the product rounds once, into the
  // subnormals or to inf where the true value does.
  const e = f32x4.mul(f32x4.mul(expPoly4(r), pow2i4(k1)), pow2i4(i32x4.sub(k, k1)));
  return v128.bitselect(x, e, f32x4.ne(x, x));
}

/** e^x, the same bits as a lane of exp4. */
@inline export function expf(x: f32): f32 {
  if (x != x) return x;
  const y = min(max(x, EXP_LO), EXP_HI);
  const n = nearest(y * LOG2E);
  const r = (y - n * LN2_HI) - n * LN2_LO;
  const k = <i32>n;
  const k1 = k >> 1;
  return expPoly(r) * pow2i(k1) * pow2i(k - k1);
}

/** tanh(x) per lane; ±0 stays ±0, ±inf gives ±1, NaN lanes come back as they went in. Max error ≈ 1 ulp (vs float64). */
@inline export function tanh4(x: v128): v128 {
  const a = f32x4.abs(x);
  // Small |x|: a + a·s·Q(s), s = a².
  const s = f32x4.mul(a, a);
  let q = f32x4.add(f32x4.mul(f32x4.splat(Q5), s), f32x4.splat(Q4));
  q = f32x4.add(f32x4.mul(q, s), f32x4.splat(Q3));
  q = f32x4.add(f32x4.mul(q, s), f32x4.splat(Q2));
  q = f32x4.add(f32x4.mul(q, s), f32x4.splat(Q1));
  q = f32x4.add(f32x4.mul(q, s), f32x4.splat(Q0));
  const small = f32x4.add(a, f32x4.mul(f32x4.mul(a, s), q));
  // Large |x|: 1 − 2/(e^{2b} + 1), b = min(a, TANH_SAT): n ≤ 27, one 2ⁿ factor.
  const b = f32x4.min(a, f32x4.splat(TANH_SAT));
  const y = f32x4.add(b, b);
  const n = f32x4.nearest(f32x4.mul(y, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(y, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const e = f32x4.mul(expPoly4(r), pow2i4(i32x4.trunc_sat_f32x4_s(n)));
  const one = f32x4.splat(1);
  const big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
  const t = v128.bitselect(small, big, f32x4.lt(a, f32x4.splat(TANH_SMALL)));
  // tanh is odd: |tanh| with x's sign bit.
  const signed = v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(x, signed, f32x4.ne(x, x));
}

/** tanh(x), the same bits as a lane of tanh4. */
@inline export function tanhf(x: f32): f32 {
  if (x != x) return x;
  const a = abs(x);
  let t: f32;
  if (a < TANH_SMALL) {
    const s = a * a;
    let q = Q5 * s + Q4;
    q = q * s + Q3;
    q = q * s + Q2;
    q = q * s + Q1;
    q = q * s + Q0;
    t = a + (a * s) * q;
  } else {
    const b = min(a, TANH_SAT);
    const y = b + b;
    const n = nearest(y * LOG2E);
    const r = (y - n * LN2_HI) - n * LN2_LO;
    const e = expPoly(r) * pow2i(<i32>n);
    t = 1 - 2 / (e + 1);
  }
  return reinterpret<f32>(reinterpret<u32>(t) | (reinterpret<u32>(x) & 0x80000000));
}
