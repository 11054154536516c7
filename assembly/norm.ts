// Normalisations over the last axis of a row-major [N,D] buffer.
// Sums run in a fixed order (four SIMD lanes, then lanes 0..3, then the tail)
// so results are identical in every runtime.

@inline function sumRow(x: usize, D: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= D; d += 4) acc = f32x4.add(acc, v128.load(x + (<usize>d << 2)));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < D; d++) s += load<f32>(x + (<usize>d << 2));
  return s;
}

@inline function sumSqDevRow(x: usize, D: i32, m: f32): f32 {
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= D; d += 4) {
    const c = f32x4.sub(v128.load(x + (<usize>d << 2)), mv);
    acc = f32x4.add(acc, f32x4.mul(c, c));
  }
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < D; d++) { const c = load<f32>(x + (<usize>d << 2)) - m; s += c * c; }
  return s;
}

/**
 * Layer norm with biased variance: out[N,D] = (x - mean)/sqrt(var + eps)·w + b.
 * x, out: [N,D] (may alias); w, b: [D]; mean, rstd: [N] or 0 (kept for backward).
 */
export function layernorm(out: usize, mean: usize, rstd: usize, x: usize, w: usize, b: usize, N: i32, D: i32, eps: f32): void {
  for (let n = 0; n < N; n++) {
    const xr = x + (<usize>n * D << 2);
    const or = out + (<usize>n * D << 2);
    const m = sumRow(xr, D) / <f32>D;
    const v = sumSqDevRow(xr, D, m) / <f32>D;
    const rs: f32 = 1 / Mathf.sqrt(v + eps);
    if (mean != 0) store<f32>(mean + (<usize>n << 2), m);
    if (rstd != 0) store<f32>(rstd + (<usize>n << 2), rs);
    const mv = f32x4.splat(m), rv = f32x4.splat(rs);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      const y = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), rv);
      v128.store(or + o, f32x4.add(f32x4.mul(y, v128.load(w + o)), v128.load(b + o)));
    }
    for (; d < D; d++) {
      const o = <usize>d << 2;
      store<f32>(or + o, (load<f32>(xr + o) - m) * rs * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}

/** RMS norm (llama): out[N,D] = x / sqrt(mean(x²) + eps) · w. w: [D]; rstd: [N] or 0. */
export function rmsnorm(out: usize, rstd: usize, x: usize, w: usize, N: i32, D: i32, eps: f32): void {
  for (let n = 0; n < N; n++) {
    const xr = x + (<usize>n * D << 2);
    const or = out + (<usize>n * D << 2);
    const rs: f32 = 1 / Mathf.sqrt(sumSqDevRow(xr, D, 0) / <f32>D + eps);
    if (rstd != 0) store<f32>(rstd + (<usize>n << 2), rs);
    const rv = f32x4.splat(rs);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      v128.store(or + o, f32x4.mul(f32x4.mul(v128.load(xr + o), rv), v128.load(w + o)));
    }
    for (; d < D; d++) {
      const o = <usize>d << 2;
      store<f32>(or + o, load<f32>(xr + o) * rs * load<f32>(w + o));
    }
  }
}
