// Elementwise residual-stream arithmetic on flat f32 buffers of n elements.
// The patching formula (receiver input = Σ of each sender's current or
// ablated value) is built from these; all may alias their inputs.
import { F32, widen16 } from "./half";
import { PACKED_T } from "./matmul";

/** out[n] = a[n] + b[n] */
export function add(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o)); }
}

/** out[n] = a[n] − b[n] */
export function sub(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(out + o, f32x4.sub(v128.load(a + o), v128.load(b + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, load<f32>(a + o) - load<f32>(b + o)); }
}

/** y[n] += alpha · x[n] */
export function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(av, v128.load(x + o)))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o)); }
}

/** out[n] = a[n] + alpha·(b[n] − a[n]): interpolation, and mean ablation's average. */
export function lerp(out: usize, a: usize, b: usize, alpha: f32, n: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2; const x = v128.load(a + o);
    v128.store(out + o, f32x4.add(x, f32x4.mul(av, f32x4.sub(v128.load(b + o), x))));
  }
  for (; i < n; i++) { const o = <usize>i << 2; const x = load<f32>(a + o); store<f32>(out + o, x + alpha * (load<f32>(b + o) - x)); }
}

/** out[n] = value */
export function fill(out: usize, value: f32, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), value);
}

/** out[N,D] += bias[D] broadcast over rows. */
export function addBias(out: usize, bias: usize, N: i32, D: i32): void {
  for (let r = 0; r < N; r++) add(out + (<usize>r * D << 2), out + (<usize>r * D << 2), bias, D);
}

/**
 * A receiver's input from its senders: for rows [r0, r1) of [N,D] arrays,
 * out = (((0 + bias) + x_0) + x_1) + … + x_{k−1}, element by element, in
 * that order: the bits of fill(0), addBias and k adds, but reading each x_j
 * once and writing out once (a block of rows stays in L1 while every sender
 * is added to it). ptrs: i32 [k] offsets of the x_j; bias [D] or 0.
 */
export function sumInputs(out: usize, bias: usize, ptrs: usize, k: i32, D: i32, r0: i32, r1: i32): void {
  const rowsPerBlock = max(1, 4096 / D);
  for (let b0 = r0; b0 < r1; b0 += rowsPerBlock) {
    const b1 = min(r1, b0 + rowsPerBlock);
    const start = <usize>b0 * D << 2, n = (b1 - b0) * D;
    const o = out + start;
    for (let r = 0; r < b1 - b0; r++) {
      const row = o + (<usize>r * D << 2);
      if (bias != 0) addZero(row, bias, D);
      else fill(row, 0, D);
    }
    for (let j = 0; j < k; j++) add(o, o, <usize>load<i32>(ptrs + (<usize>j << 2)) + start, n);
  }
}

// row[d] = 0 + bias[d] (the fill-then-addBias bits: −0 becomes +0).
@inline function addZero(row: usize, bias: usize, D: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= D; i += 4) { const o = <usize>i << 2; v128.store(row + o, f32x4.add(z, v128.load(bias + o))); }
  for (; i < D; i++) { const o = <usize>i << 2; store<f32>(row + o, <f32>0 + load<f32>(bias + o)); }
}

/**
 * out[N,D] = Σ_s src_s where src_s is row block s of a strided stack:
 * src: [N, S, D] (per row, S slices of D), summed s = 0..S−1 in order; adds
 * to out when accumulate. Used for the attention output Σ_h result[h].
 */
export function sumSlices(out: usize, src: usize, N: i32, S: i32, D: i32, accumulate: i32): void {
  for (let r = 0; r < N; r++) {
    const o = out + (<usize>r * D << 2);
    const base = src + (<usize>r * S * D << 2);
    if (!accumulate) fill(o, 0, D);
    for (let s = 0; s < S; s++) add(o, o, base + (<usize>s * D << 2), D);
  }
}

/**
 * Embedding lookup: out[B·T,D] = W_E[tok] (+ W_pos[t] unless posW = 0).
 * tokens: i32 [B·T]; WE: [V,D] of weFormat (0 f32, 1 bf16, 2 f16: a 16-bit
 * table is widened row by row, exactly, so the result is that of the f32
 * table it widens to; 3: a tied unembedding W_U = W_Eᵀ [D,V] packed by
 * matmul.ts packB, so row v of W_E is W_U's column v: lane v&7 of panel v/8,
 * one float every 8); posW: f32 [T,D] or 0.
 */
export function embed(out: usize, tokens: usize, WE: usize, posW: usize, B: i32, T: i32, D: i32, weFormat: i32): void {
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const r = b * T + t;
    const tok = load<i32>(tokens + (<usize>r << 2));
    const o = out + (<usize>r * D << 2);
    if (weFormat == PACKED_T) {
      const col = WE + ((<usize>(tok >> 3) * D * 8 + (tok & 7)) << 2);
      for (let d = 0; d < D; d++) store<f32>(o + (<usize>d << 2), load<f32>(col + (<usize>d << 5)));
      if (posW != 0) add(o, o, posW + (<usize>t * D << 2), D);
    } else if (weFormat != F32) {
      widen16(o, WE + (<usize>tok * D << 1), D, weFormat);
      if (posW != 0) add(o, o, posW + (<usize>t * D << 2), D);
    } else if (posW != 0) add(o, WE + (<usize>tok * D << 2), posW + (<usize>t * D << 2), D);
    else memory.copy(o, WE + (<usize>tok * D << 2), <usize>D << 2);
  }
}

/** out[n] = base[n] + (a[n] − b[n]): moves a receiver's input by one sender's change. */
export function addDiff(out: usize, base: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(base + o), f32x4.sub(v128.load(a + o), v128.load(b + o))));
  }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, load<f32>(base + o) + (load<f32>(a + o) - load<f32>(b + o))); }
}

/** Gather rows: out[R,D] = x[rows[r], :]; rows: i32 [R]. */
export function gatherRows(out: usize, x: usize, rows: usize, R: i32, D: i32): void {
  for (let r = 0; r < R; r++) {
    const src = load<i32>(rows + (<usize>r << 2));
    memory.copy(out + (<usize>r * D << 2), x + (<usize>src * D << 2), <usize>D << 2);
  }
}

/** Batch mean per position: out[T,D] = mean over b of x[B,T,D], summed b = 0..B−1 in order. */
export function batchMean(out: usize, x: usize, B: i32, T: i32, D: i32): void {
  const n = T * D;
  fill(out, 0, n);
  for (let b = 0; b < B; b++) add(out, out, x + (<usize>b * n << 2), n);
  const inv: f32 = 1 / <f32>B;
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), load<f32>(out + (<usize>i << 2)) * inv);
}
