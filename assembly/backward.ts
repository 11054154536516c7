// Backward kernels for the forward pass (llm.c train_gpt2.c's *_backward,
// one per forward kernel) on raw offsets into the one linear memory, with
// the same legend as the forward files: B batch, T positions, N rows, D width,
// C classes, V vocab, H query heads, Hkv key/value heads, Dh d_head.
// Not here: the optimizer step (optim.ts), threading (the caller splits work
// and owns per-thread parameter-gradient buffers), any allocation.
//
// Conventions. A gradient of an activation (dx, dq, dlogits) is written (=);
// a gradient of a parameter or of a tensor shared by several readers (dw, db,
// dBias, dWE, dWpos, and attention's dk/dv, shared by the query heads of one
// kv group) is added to (+=), so the caller zeroes it once per backward pass.
// Every sum runs in one fixed order (SIMD lanes, then lanes 0..3, then the
// tail, as in norm.ts; rows and heads in increasing order), so a gradient has
// the same bits in every runtime and on every run.
//
// Matmul needs no kernel of its own: sgemm's transpose flags and accumulate
// give both products. For C[M,N] = op(A)[M,K]·op(B)[K,N] + bias[N] and its
// gradient dC[M,N] (row stride ldc), with dA, dB shaped like A, B:
//   A [M,K], B [K,N] (transA=0, transB=0), the model's x·W:
//     dA[M,K] += dC·Bᵀ   sgemm(0, 1, M, K, N, dC, ldc, B, ldb, dA, lda, 0, 1, work)
//     dB[K,N] += Aᵀ·dC   sgemm(1, 0, K, N, M, A, lda, dC, ldc, dB, ldb, 0, 1, work)
//   A [M,K], B [N,K] (transB=1):
//     dA[M,K] += dC·B    sgemm(0, 0, M, K, N, dC, ldc, B, ldb, dA, lda, 0, 1, work)
//     dB[N,K] += dCᵀ·A   sgemm(1, 0, N, K, M, dC, ldc, A, lda, dB, ldb, 0, 1, work)
//   A [K,M], B [K,N] (transA=1):
//     dA[K,M] += B·dCᵀ   sgemm(0, 1, K, M, N, B, ldb, dC, ldc, dA, lda, 0, 1, work)
//     dB[K,N] += A·dC    sgemm(0, 0, K, N, M, A, lda, dC, ldc, dB, ldb, 0, 1, work)
//   A [K,M], B [N,K] (transA=1, transB=1):
//     dA[K,M] += Bᵀ·dCᵀ  sgemm(1, 1, K, M, N, B, ldb, dC, ldc, dA, lda, 0, 1, work)
//     dB[N,K] += dCᵀ·Aᵀ  sgemm(1, 1, N, K, M, dC, ldc, A, lda, dB, ldb, 0, 1, work)
//   dbias[N] += Σ_m dC[m,:]   biasGrad (below; dC rows contiguous, ldc = N)
// Pass accumulate = 0 instead to overwrite. test/backward.test.mjs checks all
// four cases against finite differences.

import { dot } from "./simd";
import { exp4, expf, tanh4, tanhf, kv, GELU_A, GELU_A3, GELU_C, V_GELU_A, V_GELU_A3, V_GELU_C, V_HALF } from "./vmath";

@inline function sum(a: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) acc = f32x4.add(acc, v128.load(a + (<usize>d << 2)));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < n; d++) s += load<f32>(a + (<usize>d << 2));
  return s;
}

// y[n] += alpha·x[n]
@inline function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(av, v128.load(x + o)))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o)); }
}

// y[n] += x[n]
@inline function addTo(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o)); }
}

/** Bias gradient: dBias[D] += Σ_n dC[n,:] over dC: [N,D], rows added n = 0..N−1 in order. */
export function biasGrad(dBias: usize, dC: usize, N: i32, D: i32): void {
  for (let n = 0; n < N; n++) addTo(dBias, dC + (<usize>n * D << 2), D);
}

/**
 * Layer norm backward (llm.c layernorm_backward). With x̂ = (x − mean)·rstd
 * and g = dout·w: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) (written; may alias
 * dout), dw += Σ_n dout·x̂, db += Σ_n dout.
 * dx, dout, x: [N,D]; dw, db, w: [D]; mean, rstd: [N] as saved by layernorm.
 */
export function layernormBackward(dx: usize, dw: usize, db: usize, dout: usize, x: usize, mean: usize, rstd: usize, w: usize, N: i32, D: i32): void {
  layernormBackwardRows(dx, dw, db, dout, x, mean, rstd, w, N, D, true);
}

/**
 * layernormBackward's dx alone (no parameter gradients), the same bits:
 * rows are independent, so the pool splits it (graph passes want no dw, db).
 */
export function layernormDx(dx: usize, dout: usize, x: usize, mean: usize, rstd: usize, w: usize, N: i32, D: i32): void {
  layernormBackwardRows(dx, 0, 0, dout, x, mean, rstd, w, N, D, false);
}

// One body for both (params a constant at each call, so the unused stores compile away).
@inline function layernormBackwardRows(dx: usize, dw: usize, db: usize, dout: usize, x: usize, mean: usize, rstd: usize, w: usize, N: i32, D: i32, params: bool): void {
  const invD: f32 = 1 / <f32>D;
  for (let n = 0; n < N; n++) {
    const off = <usize>n * D << 2;
    const xr = x + off, gr = dout + off, dr = dx + off;
    const m = load<f32>(mean + (<usize>n << 2)), rs = load<f32>(rstd + (<usize>n << 2));
    const mv = f32x4.splat(m), rv = f32x4.splat(rs);
    // Pass 1: Σ g and Σ g·x̂.
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      const g = f32x4.mul(v128.load(gr + o), v128.load(w + o));
      a0 = f32x4.add(a0, g);
      a1 = f32x4.add(a1, f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(xr + o), mv), rv)));
    }
    let sg = f32x4.extract_lane(a0, 0) + f32x4.extract_lane(a0, 1) + f32x4.extract_lane(a0, 2) + f32x4.extract_lane(a0, 3);
    let sgx = f32x4.extract_lane(a1, 0) + f32x4.extract_lane(a1, 1) + f32x4.extract_lane(a1, 2) + f32x4.extract_lane(a1, 3);
    for (; d < D; d++) {
      const o = <usize>d << 2;
      const g = load<f32>(gr + o) * load<f32>(w + o);
      sg += g;
      sgx += g * ((load<f32>(xr + o) - m) * rs);
    }
    const mg = sg * invD, mgx = sgx * invD;
    const mgv = f32x4.splat(mg), mgxv = f32x4.splat(mgx);
    // Pass 2: parameter gradients, then dx (dout[d] is read before dx[d] is written).
    d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      const go = v128.load(gr + o);
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), rv);
      if (params) {
        v128.store(db + o, f32x4.add(v128.load(db + o), go));
        v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(go, xh)));
      }
      const g = f32x4.mul(go, v128.load(w + o));
      v128.store(dr + o, f32x4.mul(f32x4.sub(f32x4.sub(g, mgv), f32x4.mul(xh, mgxv)), rv));
    }
    for (; d < D; d++) {
      const o = <usize>d << 2;
      const go = load<f32>(gr + o);
      const xh = (load<f32>(xr + o) - m) * rs;
      if (params) {
        store<f32>(db + o, load<f32>(db + o) + go);
        store<f32>(dw + o, load<f32>(dw + o) + go * xh);
      }
      store<f32>(dr + o, (go * load<f32>(w + o) - mg - xh * mgx) * rs);
    }
  }
}

/**
 * RMS norm backward. With g = dout·w: dx = rstd·g − x·rstd³·mean(g·x)
 * (written; may alias dout), dw += Σ_n dout·x·rstd.
 * dx, dout, x: [N,D]; dw, w: [D]; rstd: [N] as saved by rmsnorm.
 */
export function rmsnormBackward(dx: usize, dw: usize, dout: usize, x: usize, rstd: usize, w: usize, N: i32, D: i32): void {
  rmsnormBackwardRows(dx, dw, dout, x, rstd, w, N, D, true);
}

/** rmsnormBackward's dx alone, the same bits (rows independent: the pool splits it). */
export function rmsnormDx(dx: usize, dout: usize, x: usize, rstd: usize, w: usize, N: i32, D: i32): void {
  rmsnormBackwardRows(dx, 0, dout, x, rstd, w, N, D, false);
}

@inline function rmsnormBackwardRows(dx: usize, dw: usize, dout: usize, x: usize, rstd: usize, w: usize, N: i32, D: i32, params: bool): void {
  const invD: f32 = 1 / <f32>D;
  for (let n = 0; n < N; n++) {
    const off = <usize>n * D << 2;
    const xr = x + off, gr = dout + off, dr = dx + off;
    const rs = load<f32>(rstd + (<usize>n << 2));
    let acc = f32x4.splat(0);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      acc = f32x4.add(acc, f32x4.mul(f32x4.mul(v128.load(gr + o), v128.load(w + o)), v128.load(xr + o)));
    }
    let sgx = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (; d < D; d++) { const o = <usize>d << 2; sgx += load<f32>(gr + o) * load<f32>(w + o) * load<f32>(xr + o); }
    const c: f32 = rs * rs * rs * sgx * invD;
    const rv = f32x4.splat(rs), cv = f32x4.splat(c);
    d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      const go = v128.load(gr + o), xv = v128.load(xr + o);
      if (params) v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(go, f32x4.mul(xv, rv))));
      v128.store(dr + o, f32x4.sub(f32x4.mul(f32x4.mul(go, v128.load(w + o)), rv), f32x4.mul(xv, cv)));
    }
    for (; d < D; d++) {
      const o = <usize>d << 2;
      const go = load<f32>(gr + o), xv = load<f32>(xr + o);
      if (params) store<f32>(dw + o, load<f32>(dw + o) + go * (xv * rs));
      store<f32>(dr + o, go * load<f32>(w + o) * rs - xv * c);
    }
  }
}


/**
 * gelu_new backward: with u = c(x + 0.044715x³), c = √(2/π),
 * dx = dout·(0.5(1 + tanh u) + 0.5x(1 − tanh²u)·c(1 + 3·0.044715x²)).
 * dx, x, dout: [n]; dx may alias dout or x.
 */
export function geluBackward(dx: usize, x: usize, dout: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const c = kv(V_GELU_C), a = kv(V_GELU_A), a3 = kv(V_GELU_A3), half = kv(V_HALF), one = f32x4.splat(1);
    const v = v128.load(x + o);
    const th = tanh4(f32x4.mul(c, f32x4.add(v, f32x4.mul(f32x4.mul(f32x4.mul(a, v), v), v))));
    const dudx = f32x4.mul(c, f32x4.add(one, f32x4.mul(f32x4.mul(a3, v), v)));
    const d = f32x4.add(f32x4.mul(half, f32x4.add(one, th)),
      f32x4.mul(f32x4.mul(f32x4.mul(half, v), f32x4.sub(one, f32x4.mul(th, th))), dudx));
    v128.store(dx + o, f32x4.mul(v128.load(dout + o), d));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const th = tanhf(GELU_C * (v + GELU_A * v * v * v));
    const dudx: f32 = GELU_C * (1 + GELU_A3 * v * v);
    store<f32>(dx + o, load<f32>(dout + o) * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * dudx));
  }
}

/** ReLU backward: dx[n] = dout where x > 0, else 0. x, dout: [n]; dx may alias either. */
export function reluBackward(dx: usize, x: usize, dout: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dout + o), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dout + o) : 0); }
}

/**
 * SwiGLU backward for out = silu(g)·u, σ = 1/(1 + e^−g): du = dout·silu(g),
 * dg = dout·u·σ(1 + g(1 − σ)). dg, du, g, u, dout: [n]; dg may alias g or
 * dout, du may alias u or dout (each element is read before it is written).
 */
export function swigluBackward(dg: usize, du: usize, g: usize, u: usize, dout: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o), uv = v128.load(u + o), go = v128.load(dout + o);
    const sg = f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(gv))));
    v128.store(dg + o, f32x4.mul(f32x4.mul(f32x4.mul(go, uv), sg), f32x4.add(one, f32x4.mul(gv, f32x4.sub(one, sg)))));
    v128.store(du + o, f32x4.mul(f32x4.mul(go, gv), sg));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o), uv = load<f32>(u + o), go = load<f32>(dout + o);
    const sg: f32 = 1 / (1 + expf(-gv));
    store<f32>(dg + o, go * uv * sg * (1 + gv * (1 - sg)));
    store<f32>(du + o, go * gv * sg);
  }
}

/** Softmax backward: dx[N,C] = y·(dy − Σ_c y·dy) per row. y = softmax output, dy: [N,C]; dx may alias dy. */
export function softmaxBackward(dx: usize, y: usize, dy: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const off = <usize>n * C << 2;
    const yr = y + off, gr = dy + off, dr = dx + off;
    const s = dot(yr, gr, C);
    const sv = f32x4.splat(s);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(dr + o, f32x4.mul(v128.load(yr + o), f32x4.sub(v128.load(gr + o), sv)));
    }
    for (; c < C; c++) { const o = <usize>c << 2; store<f32>(dr + o, load<f32>(yr + o) * (load<f32>(gr + o) - s)); }
  }
}

/** Log-softmax backward: dx[N,C] = dy − exp(y)·Σ_c dy per row. y = log-softmax output, dy: [N,C]; dx may alias dy. */
export function logSoftmaxBackward(dx: usize, y: usize, dy: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const off = <usize>n * C << 2;
    const yr = y + off, gr = dy + off, dr = dx + off;
    const s = sum(gr, C);
    for (let c = 0; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(dr + o, load<f32>(gr + o) - Mathf.exp(load<f32>(yr + o)) * s);
    }
  }
}

/**
 * Attention backward for heads [h0,h1), from the forward's pattern:
 *   dpattern[t,s] = dz[t]·v[s]                          (s ≤ last, else 0)
 *   dscore[t,s]  = pattern[t,s]·(dpattern[t,s] − Σ_s' pattern[t,s']·dpattern[t,s'])
 *   dq[t]  = scale·Σ_s dscore[t,s]·k[s]                  (written)
 *   dk[s] += scale·Σ_t dscore[t,s]·q[t]                  (accumulated)
 *   dv[s] += Σ_t pattern[t,s]·dz[t]                      (accumulated)
 * last = t when causal, else T−1. dk/dv sum over the query heads of each kv
 * group in the fixed order b, h, t, s, so calling head ranges one after the
 * other in increasing order gives the bits of one call over all of them.
 * q, dq, dz: [B,T,H,Dh]; k, v, dk, dv: [B,T,Hkv,Dh]; pattern, dpattern: [B,H,T,T]
 * (dpattern is output scratch: ∂L/∂pattern for heads [h0,h1)).
 */
export function attentionBackward(dq: usize, dk: usize, dv: usize, dpattern: usize, dz: usize,
  q: usize, k: usize, v: usize, pattern: usize,
  B: i32, T: i32, H: i32, Hkv: i32, Dh: i32, scale: f32, h0: i32, h1: i32, causal: i32): void {
  const group = H / Hkv;
  const qs = H * Dh, ks = Hkv * Dh; // row strides of q/dq/dz and k/v/dk/dv
  for (let b = 0; b < B; b++) {
    for (let h = h0; h < h1; h++) {
      const kh = h / group;
      const qOff = (<usize>b * T * qs + h * Dh) << 2;
      const kOff = (<usize>b * T * ks + kh * Dh) << 2;
      const qb = q + qOff, dqb = dq + qOff, dzb = dz + qOff;
      const kb = k + kOff, vb = v + kOff, dkb = dk + kOff, dvb = dv + kOff;
      const pOff = (<usize>(b * H + h) * T * T) << 2;
      const pb = pattern + pOff, dpb = dpattern + pOff;
      for (let t = 0; t < T; t++) {
        const last = causal ? t : T - 1;
        const prow = pb + (<usize>t * T << 2), dprow = dpb + (<usize>t * T << 2);
        const qt = qb + (<usize>t * qs << 2), dqt = dqb + (<usize>t * qs << 2), dzt = dzb + (<usize>t * qs << 2);
        // dpattern row and Σ_s p·dp, in s order.
        let pd: f32 = 0;
        for (let s = 0; s <= last; s++) {
          const dp = dot(dzt, vb + (<usize>s * ks << 2), Dh);
          store<f32>(dprow + (<usize>s << 2), dp);
          pd += load<f32>(prow + (<usize>s << 2)) * dp;
        }
        for (let s = last + 1; s < T; s++) store<f32>(dprow + (<usize>s << 2), 0);
        for (let d = 0; d < Dh; d++) store<f32>(dqt + (<usize>d << 2), 0);
        for (let s = 0; s <= last; s++) {
          const p = load<f32>(prow + (<usize>s << 2));
          const ds: f32 = p * (load<f32>(dprow + (<usize>s << 2)) - pd) * scale;
          const ko = <usize>s * ks << 2;
          axpy(dqt, ds, kb + ko, Dh);
          axpy(dkb + ko, ds, qt, Dh);
          axpy(dvb + ko, p, dzt, Dh);
        }
      }
    }
  }
}

/**
 * Embedding backward: dWE[tokens[r]] += dout[r] and, unless dWpos = 0,
 * dWpos[t] += dout[r], for rows r = b·T + t in increasing order (repeated
 * tokens add in that order). dout: [B·T,D]; tokens: i32 [B·T]; dWE: [V,D]; dWpos: [T,D] or 0.
 */
export function embedBackward(dWE: usize, dWpos: usize, dout: usize, tokens: usize, B: i32, T: i32, D: i32): void {
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const r = b * T + t;
    const tok = load<i32>(tokens + (<usize>r << 2));
    const g = dout + (<usize>r * D << 2);
    addTo(dWE + (<usize>tok * D << 2), g, D);
    if (dWpos != 0) addTo(dWpos + (<usize>t * D << 2), g, D);
  }
}

/**
 * Gradient of scale·Σ_n KL(p_n ‖ q_n) (klRows; scale = 1/N for the mean)
 * with respect to the log-probabilities lq taken as free inputs:
 * dlq[N,C] = −scale·exp(lp) (written). lp: [N,C]. KL is linear in lq, so lq
 * itself is not needed; chain through logSoftmaxBackward to reach logits, or
 * use klLogitsBackward, which does both at once.
 */
export function klBackward(dlq: usize, lp: usize, N: i32, C: i32, scale: f32): void {
  const m: f32 = -scale;
  const nc = N * C;
  for (let i = 0; i < nc; i++) {
    const o = <usize>i << 2;
    store<f32>(dlq + o, m * Mathf.exp(load<f32>(lp + o)));
  }
}

/**
 * Gradient of scale·Σ_n KL(p_n ‖ softmax(logits_n)) with respect to the logits,
 * given lq = logSoftmax(logits): dlogits[N,C] = scale·(exp(lq) − exp(lp))
 * (written; may alias lq), lp[n,c] = p[n,c] − pShift[n] rounded to f32
 * (pShift 0: p is lp itself; as klLogits). p, lq: [N,C]; pShift: [N] or 0.
 */
export function klLogitsBackward(dlogits: usize, p: usize, pShift: usize, lq: usize, N: i32, C: i32, scale: f32): void {
  for (let n = 0; n < N; n++) {
    const ps: f32 = pShift ? load<f32>(pShift + (<usize>n << 2)) : 0;
    const row = <usize>n * C << 2;
    for (let c = 0; c < C; c++) {
      const o = row + (<usize>c << 2);
      store<f32>(dlogits + o, scale * (Mathf.exp(load<f32>(lq + o)) - Mathf.exp(load<f32>(p + o) - ps)));
    }
  }
}

/**
 * Cross-entropy per row, natural log, summed in f64 like logSoftmax:
 * out[N] (f64) = logsumexp(logits[n]) − logits[n, targets[n]]; 0 where the
 * target is negative (ignored row). logits: [N,V]; targets: i32 [N].
 */
export function crossEntropy(out: usize, logits: usize, targets: usize, N: i32, V: i32): void {
  for (let n = 0; n < N; n++) {
    const xr = logits + (<usize>n * V << 2);
    const tg = load<i32>(targets + (<usize>n << 2));
    if (tg < 0) { store<f64>(out + (<usize>n << 3), 0); continue; }
    let mx = -Infinity as f32;
    for (let c = 0; c < V; c++) mx = max(mx, load<f32>(xr + (<usize>c << 2)));
    let s: f64 = 0;
    for (let c = 0; c < V; c++) s += <f64>Mathf.exp(load<f32>(xr + (<usize>c << 2)) - mx);
    store<f64>(out + (<usize>n << 3), <f64>mx + Math.log(s) - <f64>load<f32>(xr + (<usize>tg << 2)));
  }
}

/**
 * Gradient of scale·Σ_n crossEntropy[n] (scale = 1/N for the mean) with
 * respect to the logits: dlogits[N,V] = scale·(softmax(logits) − onehot(target))
 * (written; may alias logits); rows with a negative target get 0.
 * logits: [N,V]; targets: i32 [N].
 */
export function crossEntropyBackward(dlogits: usize, logits: usize, targets: usize, N: i32, V: i32, scale: f32): void {
  for (let n = 0; n < N; n++) {
    const xr = logits + (<usize>n * V << 2), dr = dlogits + (<usize>n * V << 2);
    const tg = load<i32>(targets + (<usize>n << 2));
    if (tg < 0) {
      for (let c = 0; c < V; c++) store<f32>(dr + (<usize>c << 2), 0);
      continue;
    }
    let mx = -Infinity as f32;
    for (let c = 0; c < V; c++) mx = max(mx, load<f32>(xr + (<usize>c << 2)));
    let s: f64 = 0;
    for (let c = 0; c < V; c++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>c << 2)) - mx);
      store<f32>(dr + (<usize>c << 2), e);
      s += <f64>e;
    }
    const fs: f32 = scale / <f32>s;
    const f = f32x4.splat(fs);
    let c = 0;
    for (; c + 4 <= V; c += 4) { const o = <usize>c << 2; v128.store(dr + o, f32x4.mul(v128.load(dr + o), f)); }
    for (; c < V; c++) { const o = <usize>c << 2; store<f32>(dr + o, load<f32>(dr + o) * fs); }
    const to = dr + (<usize>tg << 2);
    store<f32>(to, load<f32>(to) - scale);
  }
}
