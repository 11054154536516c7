// Small SIMD helpers shared by the kernels (inlined where used).

/** Σ_d a[d]·b[d] over n floats: four lanes, then lanes 0..3 in order, then the tail (the fixed order of norm.ts's sums). */
@inline export function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>d << 2)), v128.load(b + (<usize>d << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < n; d++) s += load<f32>(a + (<usize>d << 2)) * load<f32>(b + (<usize>d << 2));
  return s;
}
