// Pointwise activations and row-wise softmax family over row-major buffers.
// gelu, swiglu and softmax use vmath.ts's tanh/exp (four lanes at a time, the
// scalar twin for the tail); logSoftmax, klRows and klLogits keep Mathf.exp, which is
// AssemblyScript's own software routine. Either way results do not depend on
// the host's libm: the same bits in every runtime. Backwards: backward.ts.
import { exp4, expf, tanh4, tanhf, kv, GELU_A, GELU_C, V_GELU_A, V_GELU_C, V_HALF } from "./vmath";

/** out[n] = tanh(x[n]) (vmath.ts; ≈1 ulp, the same bits everywhere); may alias. */
export function tanh(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(out + o, tanh4(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, tanhf(load<f32>(x + o))); }
}

/** out[n] = e^x[n] (vmath.ts; the same bits everywhere); may alias. */
export function exp(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(out + o, exp4(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, expf(load<f32>(x + o))); }
}

// gelu_new's tanh argument √(2/π)(v + 0.044715v³), products left to right.
@inline function geluArg4(v: v128): v128 {
  const v3 = f32x4.mul(f32x4.mul(f32x4.mul(kv(V_GELU_A), v), v), v);
  return f32x4.mul(kv(V_GELU_C), f32x4.add(v, v3));
}
@inline function geluArg(v: f32): f32 { return GELU_C * (v + GELU_A * v * v * v); }

/**
 * gelu_new (GPT-2's tanh GELU): out[n] = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))); may alias.
 * Backward (backward.ts geluBackward) uses the same tanh.
 */
export function gelu(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(out + o, f32x4.mul(f32x4.mul(kv(V_HALF), v), f32x4.add(f32x4.splat(1), tanh4(geluArg4(v)))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, 0.5 * v * (1 + tanhf(geluArg(v))));
  }
}

/** ReLU (tracr's MLPs): out[n] = max(x, 0); may alias. */
export function relu(out: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(out + o, f32x4.max(v128.load(x + o), zero)); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, max(load<f32>(x + o), <f32>0)); }
}

/** SwiGLU gate (llama MLP): out[n] = silu(g)·u, silu(g) = g/(1+e^-g); may alias g. */
export function swiglu(out: usize, g: usize, u: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(g + o);
    v128.store(out + o, f32x4.mul(f32x4.div(v, f32x4.add(one, exp4(f32x4.neg(v)))), v128.load(u + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(g + o);
    store<f32>(out + o, v / (1 + expf(-v)) * load<f32>(u + o));
  }
}

/** Row softmax: out[N,C] = softmax(x[N,C]) along C; may alias. */
export function softmax(out: usize, x: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const xr = x + (<usize>n * C << 2), or = out + (<usize>n * C << 2);
    let mx = -Infinity as f32;
    for (let c = 0; c < C; c++) mx = max(mx, load<f32>(xr + (<usize>c << 2)));
    // e^(x − max) four at a time, summed in four lanes then lanes 0..3 in
    // order, then the tail (a fixed order, as in simd.ts dot).
    const m4 = f32x4.splat(mx);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const e = exp4(f32x4.sub(v128.load(xr + (<usize>c << 2)), m4));
      v128.store(or + (<usize>c << 2), e);
      acc = f32x4.add(acc, e);
    }
    let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (; c < C; c++) {
      const e = expf(load<f32>(xr + (<usize>c << 2)) - mx);
      store<f32>(or + (<usize>c << 2), e);
      s += e;
    }
    const inv: f32 = 1 / s;
    for (let c = 0; c < C; c++) store<f32>(or + (<usize>c << 2), load<f32>(or + (<usize>c << 2)) * inv);
  }
}

/** logsumexp of one row x[C] (the max, then Σ exp in f64), as logSoftmax and klLogits both take it. */
@inline function rowLogSumExp(xr: usize, C: i32): f32 {
  let mx = -Infinity as f32;
  for (let c = 0; c < C; c++) mx = max(mx, load<f32>(xr + (<usize>c << 2)));
  let s: f64 = 0;
  for (let c = 0; c < C; c++) s += <f64>Mathf.exp(load<f32>(xr + (<usize>c << 2)) - mx);
  return mx + <f32>Math.log(s);
}

/** Row log-softmax: out[N,C] = x - logsumexp(x) along C; may alias. */
export function logSoftmax(out: usize, x: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const xr = x + (<usize>n * C << 2), or = out + (<usize>n * C << 2);
    const lse = rowLogSumExp(xr, C);
    for (let c = 0; c < C; c++) store<f32>(or + (<usize>c << 2), load<f32>(xr + (<usize>c << 2)) - lse);
  }
}

/**
 * KL(p ‖ q) per row from log-probabilities, natural log, summed in f64:
 * out[N] (f64) = Σ_c exp(lp[n,c])·(lp[n,c] − lq[n,c]). lp, lq: [N,C] f32.
 */
export function klRows(out: usize, lp: usize, lq: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const pr = lp + (<usize>n * C << 2), qr = lq + (<usize>n * C << 2);
    let s: f64 = 0;
    for (let c = 0; c < C; c++) {
      const a = <f64>load<f32>(pr + (<usize>c << 2));
      s += Math.exp(a) * (a - <f64>load<f32>(qr + (<usize>c << 2)));
    }
    store<f64>(out + (<usize>n << 3), s);
  }
}

/** out[N] (f32) = logsumexp of each row of x[N,C], as logSoftmax takes it (x − out is logSoftmax(x) to the bit). */
export function logSumExp(out: usize, x: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) store<f32>(out + (<usize>n << 2), rowLogSumExp(x + (<usize>n * C << 2), C));
}

/**
 * klRows(out, lp, logSoftmax(logits)) without storing either [N,C] log
 * probability: lp[n,c] = p[n,c] − pShift[n] (pShift 0: p is lp itself), log q
 * likewise from the row's logsumexp, each rounded to f32 as logSoftmax
 * stores it and used at once, so the same bits. out[N] (f64); p, logits:
 * [N,C] f32; pShift: [N] f32 or 0.
 */
export function klLogits(out: usize, p: usize, pShift: usize, logits: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const pr = p + (<usize>n * C << 2), xr = logits + (<usize>n * C << 2);
    const ps: f32 = pShift ? load<f32>(pShift + (<usize>n << 2)) : 0;
    const lse = rowLogSumExp(xr, C);
    let s: f64 = 0;
    for (let c = 0; c < C; c++) {
      const a = <f64>(load<f32>(pr + (<usize>c << 2)) - ps), q: f32 = load<f32>(xr + (<usize>c << 2)) - lse;
      s += Math.exp(a) * (a - <f64>q);
    }
    store<f64>(out + (<usize>n << 3), s);
  }
}
