// Deterministic f32 tanh and exp, four lanes at a time and one at a time.
// Built only from WebAssembly operations whose results are fully specified
// (f32 add, sub, mul, div, abs, min/max (pmin/pmax in the vector code:
// equal off NaN), nearest, comparisons, integer and bitwise ops): no host
// Math, no relaxed SIMD, no fused multiply-add, and no
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
// gelu_new's constants (activation.ts, backward.ts): √(2/π), 0.044715, 3·0.044715.
export const GELU_C: f32 = 0.7978845608028654;
export const GELU_A: f32 = 0.044715;
export const GELU_A3: f32 = 0.134145;
const TANH_SAT: f32 = 9.125;
const Q0: f32 = -0.33333316445350647;
const Q1: f32 = 0.13332690298557281;
const Q2: f32 = -0.0538923479616642;
const Q3: f32 = 0.02145058661699295;
const Q4: f32 = -0.007654745597392321;
const Q5: f32 = 0.0017353328876197338;

// nearest(z) for |z| < 2²²: z + 1.5·2²³ lands in [2²³, 2²⁴), where the
// spacing is 1, so the sum rounds z to an integer, ties to even, exactly as
// f32.nearest; subtracting gives it back as a float, and the sum's bits minus
// MAGIC's are the integer itself (no float-to-int conversion, which V8
// expands to a long saturating sequence).
const MAGIC: f32 = 12582912;
const MAGIC_BITS: i32 = 0x4b400000;

// The vector constants as 16-byte rows of static data: V8 rebuilt each
// v128.const in the loop body from immediates (measured 10–15% slower).
const KV = memory.data<f32>([
  P0, P0, P0, P0, P1, P1, P1, P1, P2, P2, P2, P2, P3, P3, P3, P3,
  P4, P4, P4, P4, P5, P5, P5, P5, 1, 1, 1, 1, 2, 2, 2, 2,
  LOG2E, LOG2E, LOG2E, LOG2E, LN2_HI, LN2_HI, LN2_HI, LN2_HI, LN2_LO, LN2_LO, LN2_LO, LN2_LO, MAGIC, MAGIC, MAGIC, MAGIC,
  EXP_LO, EXP_LO, EXP_LO, EXP_LO, EXP_HI, EXP_HI, EXP_HI, EXP_HI, TANH_SMALL, TANH_SMALL, TANH_SMALL, TANH_SMALL, TANH_SAT, TANH_SAT, TANH_SAT, TANH_SAT,
  Q0, Q0, Q0, Q0, Q1, Q1, Q1, Q1, Q2, Q2, Q2, Q2, Q3, Q3, Q3, Q3,
  Q4, Q4, Q4, Q4, Q5, Q5, Q5, Q5, 0.5, 0.5, 0.5, 0.5, GELU_C, GELU_C, GELU_C, GELU_C,
  GELU_A, GELU_A, GELU_A, GELU_A, GELU_A3, GELU_A3, GELU_A3, GELU_A3,
], 16);
// Integer rows: 127 (the f32 exponent bias), MAGIC's bits, the sign bit.
const KI = memory.data<i32>([127, 127, 127, 127, MAGIC_BITS, MAGIC_BITS, MAGIC_BITS, MAGIC_BITS,
  0x80000000, 0x80000000, 0x80000000, 0x80000000], 16);
const V_P0 = 0, V_P1 = 1, V_P2 = 2, V_P3 = 3, V_P4 = 4, V_P5 = 5, V_ONE = 6, V_TWO = 7, V_LOG2E = 8, V_LN2_HI = 9, V_LN2_LO = 10,
  V_MAGIC = 11, V_EXP_LO = 12, V_EXP_HI = 13, V_TANH_SMALL = 14, V_TANH_SAT = 15, V_Q0 = 16, V_Q1 = 17, V_Q2 = 18, V_Q3 = 19, V_Q4 = 20, V_Q5 = 21;
export const V_HALF = 22, V_GELU_C = 23, V_GELU_A = 24, V_GELU_A3 = 25;
const I_BIAS = 0, I_MAGIC = 1, I_SIGN = 2;
/** Row i of the constant table (V_HALF, V_GELU_C, V_GELU_A, V_GELU_A3 for gelu's kernels), four equal lanes. */
@inline export function kv(i: i32): v128 { return v128.load(KV + (<usize>i << 4)); }
@inline function ki(i: i32): v128 { return v128.load(KI + (<usize>i << 4)); }

// e^r for |r| ≤ ln2/2: 1 + r + r²·P(r), shared by exp and tanh.
@inline function expPoly4(r: v128): v128 {
  let p = f32x4.add(f32x4.mul(kv(V_P0), r), kv(V_P1));
  p = f32x4.add(f32x4.mul(p, r), kv(V_P2));
  p = f32x4.add(f32x4.mul(p, r), kv(V_P3));
  p = f32x4.add(f32x4.mul(p, r), kv(V_P4));
  p = f32x4.add(f32x4.mul(p, r), kv(V_P5));
  return f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), kv(V_ONE));
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
@inline function pow2i4(k: v128): v128 { return i32x4.shl(i32x4.add(k, ki(I_BIAS)), 23); }
@inline function pow2i(k: i32): f32 { return reinterpret<f32>((k + 127) << 23); }

/** e^x per lane; NaN lanes come back as they went in. */
@inline export function exp4(x: v128): v128 {
  // pmax/pmin: plain compare-and-select, the same as max/min off NaN (NaN
  // lanes are replaced at the end) and one instruction each.
  const y = f32x4.pmin(f32x4.pmax(x, kv(V_EXP_LO)), kv(V_EXP_HI));
  const t = f32x4.add(f32x4.mul(y, kv(V_LOG2E)), kv(V_MAGIC));
  const n = f32x4.sub(t, kv(V_MAGIC));
  const r = f32x4.sub(f32x4.sub(y, f32x4.mul(n, kv(V_LN2_HI))), f32x4.mul(n, kv(V_LN2_LO)));
  const k = i32x4.sub(t, ki(I_MAGIC));
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
  let q = f32x4.add(f32x4.mul(kv(V_Q5), s), kv(V_Q4));
  q = f32x4.add(f32x4.mul(q, s), kv(V_Q3));
  q = f32x4.add(f32x4.mul(q, s), kv(V_Q2));
  q = f32x4.add(f32x4.mul(q, s), kv(V_Q1));
  q = f32x4.add(f32x4.mul(q, s), kv(V_Q0));
  const small = f32x4.add(a, f32x4.mul(f32x4.mul(a, s), q));
  // Large |x|: 1 − 2/(e^{2b} + 1), b = min(a, TANH_SAT): n ≤ 27, one 2ⁿ factor.
  const b = f32x4.pmin(a, kv(V_TANH_SAT));
  const y = f32x4.add(b, b);
  const t = f32x4.add(f32x4.mul(y, kv(V_LOG2E)), kv(V_MAGIC));
  const n = f32x4.sub(t, kv(V_MAGIC));
  const r = f32x4.sub(f32x4.sub(y, f32x4.mul(n, kv(V_LN2_HI))), f32x4.mul(n, kv(V_LN2_LO)));
  const e = f32x4.mul(expPoly4(r), pow2i4(i32x4.sub(t, ki(I_MAGIC))));
  const one = kv(V_ONE);
  const big = f32x4.sub(one, f32x4.div(kv(V_TWO), f32x4.add(e, one)));
  const th = v128.bitselect(small, big, f32x4.lt(a, kv(V_TANH_SMALL)));
  // tanh is odd: |tanh| with x's sign bit.
  const signed = v128.or(th, v128.and(x, ki(I_SIGN)));
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
