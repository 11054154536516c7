// 16-bit float storage (bf16, IEEE binary16 "f16"; little-endian u16) widened
// to f32. Both conversions are exact: every bf16 and every f16 value,
// subnormals, ±0, ±inf and NaN payloads included, is an f32, so the widened
// bits are fully determined (no rounding, no host Math, no float op on a NaN).
// Used by SGEMM's B packing (matmul.ts) and the embedding lookup (patch.ts).
// Not here: narrowing f32 to 16 bits (weights arrive already stored that way).

/** Element formats of a B operand or token table: f32, bf16, f16. */
export const F32: i32 = 0;
export const BF16: i32 = 1;
export const F16: i32 = 2;

/** Bytes per element of `format`. */
@inline export function elemBytes(format: i32): i32 {
  return format == F32 ? 4 : 2;
}

/** bf16 bits (low 16 of h) → f32: the bf16 is the f32's high half. */
@inline export function bf16ToF32(h: u32): f32 {
  return reinterpret<f32>(h << 16);
}

/**
 * f16 bits (low 16 of h) → f32, exact. With em = h & 0x7fff:
 * normal (0x400 ≤ em < 0x7c00): rebias the exponent by 127 − 15 (+0x38000000
 * after the 13-bit shift); subnormal/zero (em < 0x400): em·2⁻²⁴, exact in
 * f32 and done in floats so no denormal ever appears (x86 slows on those);
 * inf/NaN (em ≥ 0x7c00): exponent all ones, payload shifted up 13 (a quiet
 * NaN stays quiet). The sign is or-ed in last.
 */
@inline export function f16ToF32(h: u32): f32 {
  const em = h & 0x7fff, sign = (h & 0x8000) << 16;
  let bits: u32;
  if (em < 0x400) bits = reinterpret<u32>(<f32>em * 5.9604644775390625e-8); // 2^-24
  else if (em < 0x7c00) bits = (em << 13) + 0x38000000;
  else bits = (em << 13) | 0x7f800000;
  return reinterpret<f32>(bits | sign);
}

/** One 16-bit element of `format` (BF16 or F16) at p, widened. */
@inline export function load16(p: usize, format: i32): f32 {
  const h = <u32>load<u16>(p);
  return format == BF16 ? bf16ToF32(h) : f16ToF32(h);
}

/** Element i of a buffer of `format` (any), as f32. */
@inline export function loadElem(p: usize, i: usize, format: i32): f32 {
  return format == F32 ? load<f32>(p + (i << 2)) : load16(p + (i << 1), format);
}

/** Four u32 lanes each holding 16 bits of `format` (BF16 or F16) → four f32: f16ToF32/bf16ToF32 lane by lane. */
@inline export function widen4(h: v128, format: i32): v128 {
  if (format == BF16) return i32x4.shl(h, 16);
  const em = v128.and(h, i32x4.splat(0x7fff));
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const normal = i32x4.add(i32x4.shl(em, 13), i32x4.splat(0x38000000));
  const special = v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000));
  const sub = f32x4.mul(f32x4.convert_i32x4_s(em), f32x4.splat(5.9604644775390625e-8));
  let r = v128.bitselect(sub, normal, i32x4.lt_s(em, i32x4.splat(0x400)));
  r = v128.bitselect(special, r, i32x4.gt_s(em, i32x4.splat(0x7bff)));
  return v128.or(r, sign);
}

/** Low / high four of eight 16-bit elements in v, widened. */
@inline export function widenLo(v: v128, format: i32): v128 { return widen4(i32x4.extend_low_i16x8_u(v), format); }
@inline export function widenHi(v: v128, format: i32): v128 { return widen4(i32x4.extend_high_i16x8_u(v), format); }

/**
 * out[n] (f32) = src[n] (u16 of `format`: BF16 or F16) widened exactly.
 * For the host: widening a 16-bit weight once (e.g. a layer-norm gain), and
 * tests of the conversion against an exact scalar one on all 65536 values.
 */
export function widen16(out: usize, src: usize, n: i32, format: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v = v128.load(src + (<usize>i << 1));
    v128.store(out + (<usize>i << 2), widenLo(v, format));
    v128.store(out + (<usize>i << 2), widenHi(v, format), 16);
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), load16(src + (<usize>i << 1), format));
}
