// Slow scalar twins of the WebAssembly kernels in assembly/, for tests only
// (cf. llm.c's matmul_forward_naive beside matmul_forward). Each is written
// from the formula, not from the kernel: plain loops, sums in float64, one
// rounding to float32 per stored element. Arrays in, new arrays out; argument
// order follows the kernel with offsets replaced by arrays and outputs
// returned. Not exported from the package entry point; not fast.
// Legend: B batch, T positions, N rows, D width, C classes, H query heads,
// Hkv key/value heads, Dh d_head, S slices, R gathered rows.

const f32 = Math.fround;

/** Copy of C[·, ldc] with rows < M, cols < N set to op(A)[M,K]·op(B)[K,N] + bias[N] (+ C if accumulate); A [M,K] lda (or [K,M] if transA), B [K,N] ldb (or [N,K] if transB). */
export function sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number,
  bias: Float32Array | null, accumulate: boolean): Float32Array {
  const out = C.slice();
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = (accumulate ? C[i * ldc + j] : 0) + (bias ? bias[j] : 0);
    for (let k = 0; k < K; k++) s += (transA ? A[k * lda + i] : A[i * lda + k]) * (transB ? B[j * ldb + k] : B[k * ldb + j]);
    out[i * ldc + j] = s;
  }
  return out;
}

/** Layer norm, biased variance: x[N,D], w[D], b[D] → out[N,D] = (x − mean)/√(var + eps)·w + b, mean[N], rstd[N]. */
export function layernorm(x: Float32Array, w: Float32Array, b: Float32Array, N: number, D: number, eps: number):
  { out: Float32Array; mean: Float32Array; rstd: Float32Array } {
  const out = new Float32Array(N * D), mean = new Float32Array(N), rstd = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let d = 0; d < D; d++) m += x[n * D + d];
    m /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[n * D + d] - m) ** 2;
    const rs = 1 / Math.sqrt(v / D + eps);
    mean[n] = m;
    rstd[n] = rs;
    for (let d = 0; d < D; d++) out[n * D + d] = (x[n * D + d] - m) * rs * w[d] + b[d];
  }
  return { out, mean, rstd };
}

/** RMS norm (llama): x[N,D], w[D] → out[N,D] = x/√(mean(x²) + eps)·w, rstd[N]. */
export function rmsnorm(x: Float32Array, w: Float32Array, N: number, D: number, eps: number): { out: Float32Array; rstd: Float32Array } {
  const out = new Float32Array(N * D), rstd = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[n * D + d] ** 2;
    const rs = 1 / Math.sqrt(ss / D + eps);
    rstd[n] = rs;
    for (let d = 0; d < D; d++) out[n * D + d] = x[n * D + d] * rs * w[d];
  }
  return { out, rstd };
}

/** gelu_new (GPT-2, Hendrycks & Gimpel tanh form): x[n] → 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function gelu(x: Float32Array): Float32Array {
  const c = Math.sqrt(2 / Math.PI);
  return x.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3))));
}

/** SwiGLU gate (llama MLP): g[n], u[n] → silu(g)·u with silu(g) = g/(1 + e^−g). */
export function swiglu(g: Float32Array, u: Float32Array): Float32Array {
  return g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
}

/** Row softmax: x[N,C] → exp(x − max)/Σ exp(x − max) along C. */
export function softmax(x: Float32Array, N: number, C: number): Float32Array {
  const out = new Float32Array(N * C);
  for (let n = 0; n < N; n++) {
    const row = x.subarray(n * C, (n + 1) * C);
    const mx = row.reduce((a, x) => Math.max(a, x), -Infinity);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(row[c] - mx);
    for (let c = 0; c < C; c++) out[n * C + c] = Math.exp(row[c] - mx) / s;
  }
  return out;
}

/** Row log-softmax: x[N,C] → x − logsumexp(x) along C. */
export function logSoftmax(x: Float32Array, N: number, C: number): Float32Array {
  const out = new Float32Array(N * C);
  for (let n = 0; n < N; n++) {
    const row = x.subarray(n * C, (n + 1) * C);
    const mx = row.reduce((a, x) => Math.max(a, x), -Infinity);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(row[c] - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < C; c++) out[n * C + c] = row[c] - lse;
  }
  return out;
}

/** KL(p‖q) per row from log-probabilities lp[N,C], lq[N,C] → out[N] (f64) = Σ_c e^lp·(lp − lq). */
export function klRows(lp: Float32Array, lq: Float32Array, N: number, C: number): Float64Array {
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(lp[n * C + c]) * (lp[n * C + c] - lq[n * C + c]);
    out[n] = s;
  }
  return out;
}

/**
 * Attention (causal unless causal = false) for query heads [h0,h1): q[B,T,H,Dh], k,v[B,T,Hkv,Dh] (head h reads kv head
 * ⌊h/(H/Hkv)⌋) → z[B,T,H,Dh] = pattern·v, pattern[B,H,T,T] = softmax over s ≤ t of q·k·scale, 0 for s > t.
 * Heads outside the range are copied from z0/pattern0 (zero when absent).
 */
export function attention(q: Float32Array, k: Float32Array, v: Float32Array, B: number, T: number, H: number, Hkv: number,
  Dh: number, scale: number, h0: number, h1: number, z0?: Float32Array, pattern0?: Float32Array, causal = true): { z: Float32Array; pattern: Float32Array } {
  const z = z0 ? z0.slice() : new Float32Array(B * T * H * Dh);
  const pattern = pattern0 ? pattern0.slice() : new Float32Array(B * H * T * T);
  const group = H / Hkv;
  const qi = (b: number, t: number, h: number) => ((b * T + t) * H + h) * Dh;
  const ki = (b: number, t: number, h: number) => ((b * T + t) * Hkv + h) * Dh;
  for (let b = 0; b < B; b++) for (let h = h0; h < h1; h++) {
    const kh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const last = causal ? t : T - 1;
      const sc: number[] = [];
      for (let s = 0; s <= last; s++) {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[qi(b, t, h) + d] * k[ki(b, s, kh) + d];
        sc.push(dot * scale);
      }
      const mx = Math.max(...sc);
      const e = sc.map((x) => Math.exp(x - mx));
      const sum = e.reduce((a, x) => a + x, 0);
      const p = e.map((x) => x / sum);
      const prow = ((b * H + h) * T + t) * T;
      for (let s = 0; s < T; s++) pattern[prow + s] = s <= last ? p[s] : 0;
      for (let d = 0; d < Dh; d++) {
        let acc = 0;
        for (let s = 0; s <= last; s++) acc += p[s] * v[ki(b, s, kh) + d];
        z[qi(b, t, h) + d] = acc;
      }
    }
  }
  return { z, pattern };
}

/** Rotary embedding on heads [h0,h1) of x[B,T,Hx,Dh]: pair (2i, 2i+1) at position t rotated by cos/sin[T, Dh/2]; other heads copied. */
export function rope(x: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, Hx: number, Dh: number, h0: number, h1: number): Float32Array {
  const out = x.slice();
  const half = Dh / 2;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = h0; h < h1; h++) for (let i = 0; i < half; i++) {
    const p = ((b * T + t) * Hx + h) * Dh + 2 * i;
    const c = cos[t * half + i], s = sin[t * half + i];
    out[p] = x[p] * c - x[p + 1] * s;
    out[p + 1] = x[p] * s + x[p + 1] * c;
  }
  return out;
}

/** a[n] + b[n] */
export function add(a: Float32Array, b: Float32Array): Float32Array { return a.map((x, i) => x + b[i]); }

/** a[n] − b[n] */
export function sub(a: Float32Array, b: Float32Array): Float32Array { return a.map((x, i) => x - b[i]); }

/** y[n] + alpha·x[n] (alpha rounded to f32, as the kernel receives it) */
export function axpy(y: Float32Array, alpha: number, x: Float32Array): Float32Array {
  const a = f32(alpha);
  return y.map((v, i) => v + a * x[i]);
}

/** a[n] + alpha·(b[n] − a[n]) (alpha rounded to f32) */
export function lerp(a: Float32Array, b: Float32Array, alpha: number): Float32Array {
  const al = f32(alpha);
  return a.map((x, i) => x + al * (b[i] - x));
}

/** [n] filled with value */
export function fill(n: number, value: number): Float32Array { return new Float32Array(n).fill(value); }

/** x[N,D] + bias[D] broadcast over rows */
export function addBias(x: Float32Array, bias: Float32Array, N: number, D: number): Float32Array {
  return x.map((v, i) => (i < N * D ? v + bias[i % D] : v));
}

/** out[N,D] = Σ_s src[N,S,D][·,s,·] (+ out when accumulate) */
export function sumSlices(out: Float32Array, src: Float32Array, N: number, S: number, D: number, accumulate: boolean): Float32Array {
  const r = out.slice();
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) {
    let s = accumulate ? out[n * D + d] : 0;
    for (let j = 0; j < S; j++) s += src[(n * S + j) * D + d];
    r[n * D + d] = s;
  }
  return r;
}

/** tokens[B·T] (i32), WE[V,D], posW[T,D] or null → out[B·T,D] = WE[tok] (+ posW[t]) */
export function embed(tokens: Int32Array, WE: Float32Array, posW: Float32Array | null, B: number, T: number, D: number): Float32Array {
  const out = new Float32Array(B * T * D);
  for (let r = 0; r < B * T; r++) for (let d = 0; d < D; d++) out[r * D + d] = WE[tokens[r] * D + d] + (posW ? posW[(r % T) * D + d] : 0);
  return out;
}

/** base[n] + (a[n] − b[n]) */
export function addDiff(base: Float32Array, a: Float32Array, b: Float32Array): Float32Array {
  return base.map((x, i) => x + (a[i] - b[i]));
}

/** x[·,D], rows[R] (i32) → out[R,D] = x[rows[r], :] */
export function gatherRows(x: Float32Array, rows: Int32Array, R: number, D: number): Float32Array {
  const out = new Float32Array(R * D);
  for (let r = 0; r < R; r++) out.set(x.subarray(rows[r] * D, (rows[r] + 1) * D), r * D);
  return out;
}

/** x[B,T,D] → out[T,D] = mean over b */
export function batchMean(x: Float32Array, B: number, T: number, D: number): Float32Array {
  const out = new Float32Array(T * D);
  for (let i = 0; i < T * D; i++) {
    let s = 0;
    for (let b = 0; b < B; b++) s += x[b * T * D + i];
    out[i] = s / B;
  }
  return out;
}
