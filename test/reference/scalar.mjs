// Slow scalar twins of the WebAssembly kernels in assembly/, for tests only
// (cf. llm.c's matmul_forward_naive beside matmul_forward). Each is written
// from the formula, not from the kernel: plain loops, sums in float64, one
// rounding to float32 per stored element. Arrays in, new arrays out; argument
// order follows the kernel with offsets replaced by arrays and outputs
// returned. Not exported from the package entry point; not fast.
// Legend: B batch, T positions, N rows, D width, C classes, H query heads,
// Hkv key/value heads, Dh d_head, S slices, R gathered rows.
import { erf } from "./hf-forward.mjs";
const f32 = Math.fround;
/** Copy of C[·, ldc] with rows < M, cols < N set to op(A)[M,K]·op(B)[K,N] + bias[N] (+ C if accumulate); A [M,K] lda (or [K,M] if transA), B [K,N] ldb (or [N,K] if transB). */
export function sgemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, bias, accumulate) {
    const out = C.slice();
    for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
            let s = (accumulate ? C[i * ldc + j] : 0) + (bias ? bias[j] : 0);
            for (let k = 0; k < K; k++)
                s += (transA ? A[k * lda + i] : A[i * lda + k]) * (transB ? B[j * ldb + k] : B[k * ldb + j]);
            out[i * ldc + j] = s;
        }
    return out;
}
/** Layer norm, biased variance: x[N,D], w[D], b[D] → out[N,D] = (x − mean)/√(var + eps)·w + b, mean[N], rstd[N]. */
export function layernorm(x, w, b, N, D, eps) {
    const out = new Float32Array(N * D), mean = new Float32Array(N), rstd = new Float32Array(N);
    for (let n = 0; n < N; n++) {
        let m = 0;
        for (let d = 0; d < D; d++)
            m += x[n * D + d];
        m /= D;
        let v = 0;
        for (let d = 0; d < D; d++)
            v += (x[n * D + d] - m) ** 2;
        const rs = 1 / Math.sqrt(v / D + eps);
        mean[n] = m;
        rstd[n] = rs;
        for (let d = 0; d < D; d++)
            out[n * D + d] = (x[n * D + d] - m) * rs * w[d] + b[d];
    }
    return { out, mean, rstd };
}
/** RMS norm (llama): x[N,D], w[D] → out[N,D] = x/√(mean(x²) + eps)·w, rstd[N]. */
export function rmsnorm(x, w, N, D, eps) {
    const out = new Float32Array(N * D), rstd = new Float32Array(N);
    for (let n = 0; n < N; n++) {
        let ss = 0;
        for (let d = 0; d < D; d++)
            ss += x[n * D + d] ** 2;
        const rs = 1 / Math.sqrt(ss / D + eps);
        rstd[n] = rs;
        for (let d = 0; d < D; d++)
            out[n * D + d] = x[n * D + d] * rs * w[d];
    }
    return { out, rstd };
}
/** gelu_new (GPT-2, Hendrycks & Gimpel tanh form): x[n] → 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function gelu(x) {
    const c = Math.sqrt(2 / Math.PI);
    return x.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3))));
}
/** SwiGLU gate (llama MLP): g[n], u[n] → silu(g)·u with silu(g) = g/(1 + e^−g). */
export function swiglu(g, u) {
    return g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
}
/** Row softmax: x[N,C] → exp(x − max)/Σ exp(x − max) along C. */
export function softmax(x, N, C) {
    const out = new Float32Array(N * C);
    for (let n = 0; n < N; n++) {
        const row = x.subarray(n * C, (n + 1) * C);
        const mx = row.reduce((a, x) => Math.max(a, x), -Infinity);
        let s = 0;
        for (let c = 0; c < C; c++)
            s += Math.exp(row[c] - mx);
        for (let c = 0; c < C; c++)
            out[n * C + c] = Math.exp(row[c] - mx) / s;
    }
    return out;
}
/** Row log-softmax: x[N,C] → x − logsumexp(x) along C. */
export function logSoftmax(x, N, C) {
    const out = new Float32Array(N * C);
    for (let n = 0; n < N; n++) {
        const row = x.subarray(n * C, (n + 1) * C);
        const mx = row.reduce((a, x) => Math.max(a, x), -Infinity);
        let s = 0;
        for (let c = 0; c < C; c++)
            s += Math.exp(row[c] - mx);
        const lse = mx + Math.log(s);
        for (let c = 0; c < C; c++)
            out[n * C + c] = row[c] - lse;
    }
    return out;
}
/** KL(p‖q) per row from log-probabilities lp[N,C], lq[N,C] → out[N] (f64) = Σ_c e^lp·(lp − lq). */
export function klRows(lp, lq, N, C) {
    const out = new Float64Array(N);
    for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++)
            s += Math.exp(lp[n * C + c]) * (lp[n * C + c] - lq[n * C + c]);
        out[n] = s;
    }
    return out;
}
/**
 * Attention (causal unless causal = false) for query heads [h0,h1): q[B,T,H,Dh], k,v[B,T,Hkv,Dh] (head h reads kv head
 * ⌊h/(H/Hkv)⌋) → z[B,T,H,Dh] = pattern·v, pattern[B,H,T,T] = softmax over s ≤ t of q·k·scale, 0 for s > t;
 * with window W > 0 also 0 for s ≤ t − W (the latest W keys, t included).
 * Heads outside the range are copied from z0/pattern0 (zero when absent).
 */
export function attention(q, k, v, B, T, H, Hkv, Dh, scale, h0, h1, z0, pattern0, causal = true, window = 0) {
    const z = z0 ? z0.slice() : new Float32Array(B * T * H * Dh);
    const pattern = pattern0 ? pattern0.slice() : new Float32Array(B * H * T * T);
    const group = H / Hkv;
    const qi = (b, t, h) => ((b * T + t) * H + h) * Dh;
    const ki = (b, t, h) => ((b * T + t) * Hkv + h) * Dh;
    for (let b = 0; b < B; b++)
        for (let h = h0; h < h1; h++) {
            const kh = Math.floor(h / group);
            for (let t = 0; t < T; t++) {
                const last = causal ? t : T - 1, first = window > 0 ? Math.max(0, t - window + 1) : 0;
                const sc = [];
                for (let s = first; s <= last; s++) {
                    let dot = 0;
                    for (let d = 0; d < Dh; d++)
                        dot += q[qi(b, t, h) + d] * k[ki(b, s, kh) + d];
                    sc.push(dot * scale);
                }
                const mx = Math.max(...sc);
                const e = sc.map((x) => Math.exp(x - mx));
                const sum = e.reduce((a, x) => a + x, 0);
                const p = e.map((x) => x / sum);
                const prow = ((b * H + h) * T + t) * T;
                for (let s = 0; s < T; s++)
                    pattern[prow + s] = s >= first && s <= last ? p[s - first] : 0;
                for (let d = 0; d < Dh; d++) {
                    let acc = 0;
                    for (let s = first; s <= last; s++)
                        acc += p[s - first] * v[ki(b, s, kh) + d];
                    z[qi(b, t, h) + d] = acc;
                }
            }
        }
    return { z, pattern };
}
/** Rotary embedding on heads [h0,h1) of x[B,T,Hx,Dh]: pair (2i, 2i+1) at position t rotated by cos/sin[T, Dh/2]; other heads copied. */
export function rope(x, cos, sin, B, T, Hx, Dh, h0, h1) {
    const out = x.slice();
    const half = Dh / 2;
    for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
            for (let h = h0; h < h1; h++)
                for (let i = 0; i < half; i++) {
                    const p = ((b * T + t) * Hx + h) * Dh + 2 * i;
                    const c = cos[t * half + i], s = sin[t * half + i];
                    out[p] = x[p] * c - x[p + 1] * s;
                    out[p + 1] = x[p] * s + x[p + 1] * c;
                }
    return out;
}
/**
 * Rotate-half rotary embedding (Hugging Face) on heads [h0,h1) of x[B,T,Hx,Dh]: for j < nRot/2, dims j and
 * j + nRot/2 at position t rotated by cos/sin[T, nRot/2]; dims ≥ nRot and other heads copied.
 */
export function ropeHalf(x, cos, sin, B, T, Hx, Dh, nRot, h0, h1) {
    const out = x.slice();
    const half = nRot / 2;
    for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
            for (let h = h0; h < h1; h++)
                for (let j = 0; j < half; j++) {
                    const p = ((b * T + t) * Hx + h) * Dh + j;
                    const c = cos[t * half + j], s = sin[t * half + j];
                    out[p] = x[p] * c - x[p + half] * s;
                    out[p + half] = x[p + half] * c + x[p] * s;
                }
    return out;
}
/** Exact GELU x·Φ(x) = 0.5x(1 + erf(x/√2)), erf in float64 (hf-forward.mjs). */
export function geluErf(x) { return x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))); }
/** Exact GELU backward: dout·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π). */
export function geluErfBackward(x, dout) {
    return x.map((v, i) => dout[i] * (0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)));
}
/** a[n] + b[n] */
export function add(a, b) { return a.map((x, i) => x + b[i]); }
/** a[n] − b[n] */
export function sub(a, b) { return a.map((x, i) => x - b[i]); }
/** y[n] + alpha·x[n] (alpha rounded to f32, as the kernel receives it) */
export function axpy(y, alpha, x) {
    const a = f32(alpha);
    return y.map((v, i) => v + a * x[i]);
}
/** a[n] + alpha·(b[n] − a[n]) (alpha rounded to f32) */
export function lerp(a, b, alpha) {
    const al = f32(alpha);
    return a.map((x, i) => x + al * (b[i] - x));
}
/** [n] filled with value */
export function fill(n, value) { return new Float32Array(n).fill(value); }
/** x[N,D] + bias[D] broadcast over rows */
export function addBias(x, bias, N, D) {
    return x.map((v, i) => (i < N * D ? v + bias[i % D] : v));
}
/** out[N,D] = Σ_s src[N,S,D][·,s,·] (+ out when accumulate) */
export function sumSlices(out, src, N, S, D, accumulate) {
    const r = out.slice();
    for (let n = 0; n < N; n++)
        for (let d = 0; d < D; d++) {
            let s = accumulate ? out[n * D + d] : 0;
            for (let j = 0; j < S; j++)
                s += src[(n * S + j) * D + d];
            r[n * D + d] = s;
        }
    return r;
}
/** tokens[B·T] (i32), WE[V,D], posW[T,D] or null → out[B·T,D] = WE[tok] (+ posW[t]) */
export function embed(tokens, WE, posW, B, T, D) {
    const out = new Float32Array(B * T * D);
    for (let r = 0; r < B * T; r++)
        for (let d = 0; d < D; d++)
            out[r * D + d] = WE[tokens[r] * D + d] + (posW ? posW[(r % T) * D + d] : 0);
    return out;
}
/** base[n] + (a[n] − b[n]) */
export function addDiff(base, a, b) {
    return base.map((x, i) => x + (a[i] - b[i]));
}
/** x[·,D], rows[R] (i32) → out[R,D] = x[rows[r], :] */
export function gatherRows(x, rows, R, D) {
    const out = new Float32Array(R * D);
    for (let r = 0; r < R; r++)
        out.set(x.subarray(rows[r] * D, (rows[r] + 1) * D), r * D);
    return out;
}
/** x[B,T,D] → out[T,D] = mean over b */
export function batchMean(x, B, T, D) {
    const out = new Float32Array(T * D);
    for (let i = 0; i < T * D; i++) {
        let s = 0;
        for (let b = 0; b < B; b++)
            s += x[b * T * D + i];
        out[i] = s / B;
    }
    return out;
}
// Backward twins (assembly/backward.ts, assembly/optim.ts). Accumulated
// outputs (parameter gradients, attention's dk/dv, AdamW's state) take their
// starting values as arguments and come back as new arrays.
/** Bias gradient: dBias[D] + column sums of dC[N,D]. */
export function biasGrad(dBias, dC, N, D) {
    const out = dBias.slice();
    for (let d = 0; d < D; d++) {
        let s = dBias[d];
        for (let n = 0; n < N; n++)
            s += dC[n * D + d];
        out[d] = s;
    }
    return out;
}
/** Layer norm backward: dout, x[N,D], mean, rstd[N], w[D] → dx[N,D] = rstd(g − mean g − x̂·mean(g x̂)) with g = dout·w, x̂ = (x − mean)·rstd; dw[D] + Σ dout·x̂, db[D] + Σ dout. */
export function layernormBackward(dw, db, dout, x, mean, rstd, w, N, D) {
    const dx = new Float32Array(N * D), dwAcc = Float64Array.from(dw), dbAcc = Float64Array.from(db);
    for (let n = 0; n < N; n++) {
        const xh = (d) => (x[n * D + d] - mean[n]) * rstd[n];
        let mg = 0, mgx = 0;
        for (let d = 0; d < D; d++) {
            const g = dout[n * D + d] * w[d];
            mg += g;
            mgx += g * xh(d);
        }
        mg /= D;
        mgx /= D;
        for (let d = 0; d < D; d++) {
            const go = dout[n * D + d];
            dbAcc[d] += go;
            dwAcc[d] += go * xh(d);
            dx[n * D + d] = (go * w[d] - mg - xh(d) * mgx) * rstd[n];
        }
    }
    return { dx, dw: Float32Array.from(dwAcc), db: Float32Array.from(dbAcc) };
}
/** RMS norm backward: dout, x[N,D], rstd[N], w[D] → dx[N,D] = rstd·g − x·rstd³·mean(g·x) with g = dout·w; dw[D] + Σ dout·x·rstd. */
export function rmsnormBackward(dw, dout, x, rstd, w, N, D) {
    const dx = new Float32Array(N * D), dwAcc = Float64Array.from(dw);
    for (let n = 0; n < N; n++) {
        const rs = rstd[n];
        let mgx = 0;
        for (let d = 0; d < D; d++)
            mgx += dout[n * D + d] * w[d] * x[n * D + d];
        mgx /= D;
        for (let d = 0; d < D; d++) {
            dwAcc[d] += dout[n * D + d] * x[n * D + d] * rs;
            dx[n * D + d] = dout[n * D + d] * w[d] * rs - x[n * D + d] * rs ** 3 * mgx;
        }
    }
    return { dx, dw: Float32Array.from(dwAcc) };
}
/** gelu_new backward: x[n], dout[n] → dout·d/dx[0.5x(1 + tanh(c(x + 0.044715x³)))], c = √(2/π). */
export function geluBackward(x, dout) {
    const c = Math.sqrt(2 / Math.PI);
    return x.map((v, i) => {
        const th = Math.tanh(c * (v + 0.044715 * v ** 3));
        return dout[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * c * (1 + 3 * 0.044715 * v * v));
    });
}
/** ReLU backward: x[n], dout[n] → dout where x > 0, else 0. */
export function reluBackward(x, dout) {
    return x.map((v, i) => (v > 0 ? dout[i] : 0));
}
/** SwiGLU backward: g, u, dout[n] → dg = dout·u·σ(g)(1 + g(1 − σ(g))), du = dout·silu(g). */
export function swigluBackward(g, u, dout) {
    const sig = (v) => 1 / (1 + Math.exp(-v));
    return {
        dg: g.map((v, i) => dout[i] * u[i] * sig(v) * (1 + v * (1 - sig(v)))),
        du: g.map((v, i) => dout[i] * v * sig(v)),
    };
}
/** Softmax backward: y = softmax output, dy[N,C] → dx[N,C] = y·(dy − Σ_c y·dy). */
export function softmaxBackward(y, dy, N, C) {
    const dx = new Float32Array(N * C);
    for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++)
            s += y[n * C + c] * dy[n * C + c];
        for (let c = 0; c < C; c++)
            dx[n * C + c] = y[n * C + c] * (dy[n * C + c] - s);
    }
    return dx;
}
/** Log-softmax backward: y = log-softmax output, dy[N,C] → dx[N,C] = dy − e^y·Σ_c dy. */
export function logSoftmaxBackward(y, dy, N, C) {
    const dx = new Float32Array(N * C);
    for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++)
            s += dy[n * C + c];
        for (let c = 0; c < C; c++)
            dx[n * C + c] = dy[n * C + c] - Math.exp(y[n * C + c]) * s;
    }
    return dx;
}
/**
 * Attention backward for heads [h0,h1): dz, q[B,T,H,Dh], k, v[B,T,Hkv,Dh], pattern[B,H,T,T] → dpattern[B,H,T,T] = dz·vᵀ (0 for
 * s > last), dq[B,T,H,Dh] = scale·dscore·k, dk/dv[B,T,Hkv,Dh] + scale·dscoreᵀ·q / patternᵀ·dz, dscore = p(dp − Σ p·dp).
 * dq and dpattern outside the heads are copied from dq0/dpattern0 (zero when null).
 */
export function attentionBackward(dq0, dk, dv, dpattern0, dz, q, k, v, pattern, B, T, H, Hkv, Dh, scale, h0, h1, causal) {
    const dq = dq0 ? dq0.slice() : new Float32Array(B * T * H * Dh);
    const dpattern = dpattern0 ? dpattern0.slice() : new Float32Array(B * H * T * T);
    const dkAcc = Float64Array.from(dk), dvAcc = Float64Array.from(dv);
    const group = H / Hkv;
    const qi = (b, t, h) => ((b * T + t) * H + h) * Dh;
    const ki = (b, t, h) => ((b * T + t) * Hkv + h) * Dh;
    for (let b = 0; b < B; b++)
        for (let h = h0; h < h1; h++) {
            const kh = Math.floor(h / group);
            for (let t = 0; t < T; t++) {
                const last = causal ? t : T - 1;
                const prow = ((b * H + h) * T + t) * T;
                const dp = [];
                for (let s = 0; s <= last; s++) {
                    let acc = 0;
                    for (let d = 0; d < Dh; d++)
                        acc += dz[qi(b, t, h) + d] * v[ki(b, s, kh) + d];
                    dp.push(acc);
                }
                for (let s = 0; s < T; s++)
                    dpattern[prow + s] = s <= last ? dp[s] : 0;
                let pd = 0;
                for (let s = 0; s <= last; s++)
                    pd += pattern[prow + s] * dp[s];
                const dsc = dp.map((x, s) => pattern[prow + s] * (x - pd) * scale);
                for (let d = 0; d < Dh; d++) {
                    let acc = 0;
                    for (let s = 0; s <= last; s++)
                        acc += dsc[s] * k[ki(b, s, kh) + d];
                    dq[qi(b, t, h) + d] = acc;
                }
                for (let s = 0; s <= last; s++)
                    for (let d = 0; d < Dh; d++) {
                        dkAcc[ki(b, s, kh) + d] += dsc[s] * q[qi(b, t, h) + d];
                        dvAcc[ki(b, s, kh) + d] += pattern[prow + s] * dz[qi(b, t, h) + d];
                    }
            }
        }
    return { dq, dk: Float32Array.from(dkAcc), dv: Float32Array.from(dvAcc), dpattern };
}
/** Embedding backward: dout[B·T,D], tokens[B·T] (i32) → dWE[V,D] + Σ rows by token, dWpos[T,D] + Σ over b (null stays null). */
export function embedBackward(dWE, dWpos, dout, tokens, B, T, D) {
    const we = Float64Array.from(dWE), pos = dWpos ? Float64Array.from(dWpos) : null;
    for (let r = 0; r < B * T; r++)
        for (let d = 0; d < D; d++) {
            we[tokens[r] * D + d] += dout[r * D + d];
            if (pos)
                pos[(r % T) * D + d] += dout[r * D + d];
        }
    return { dWE: Float32Array.from(we), dWpos: pos ? Float32Array.from(pos) : null };
}
/** Gradient of scale·Σ_n KL(p‖q) wrt free log-probs lq: lp[N,C] → dlq[N,C] = −scale·e^lp. */
export function klBackward(lp, N, C, scale) {
    return lp.subarray(0, N * C).map((a) => -f32(scale) * Math.exp(a));
}
/** Gradient of scale·Σ_n KL(p‖softmax(logits)) wrt the logits: lp, lq = logSoftmax(logits) [N,C] → scale·(e^lq − e^lp). */
export function klLogitsBackward(lp, lq, N, C, scale) {
    return lq.subarray(0, N * C).map((b, i) => f32(scale) * (Math.exp(b) - Math.exp(lp[i])));
}
/** Cross-entropy per row: logits[N,V], targets[N] (i32) → out[N] (f64) = logsumexp(logits[n]) − logits[n, target]; 0 if target < 0. */
export function crossEntropy(logits, targets, N, V) {
    const out = new Float64Array(N);
    for (let n = 0; n < N; n++) {
        if (targets[n] < 0)
            continue;
        const row = logits.subarray(n * V, (n + 1) * V);
        const mx = row.reduce((a, x) => Math.max(a, x), -Infinity);
        let s = 0;
        for (let c = 0; c < V; c++)
            s += Math.exp(row[c] - mx);
        out[n] = mx + Math.log(s) - row[targets[n]];
    }
    return out;
}
/** Cross-entropy backward: logits[N,V], targets[N] (i32) → dlogits[N,V] = scale·(softmax(logits) − onehot(target)); 0 rows if target < 0. */
export function crossEntropyBackward(logits, targets, N, V, scale) {
    const p = softmax(logits, N, V), out = new Float32Array(N * V), sc = f32(scale);
    for (let n = 0; n < N; n++) {
        if (targets[n] < 0)
            continue;
        for (let c = 0; c < V; c++)
            out[n * V + c] = sc * (p[n * V + c] - (c === targets[n] ? 1 : 0));
    }
    return out;
}
/** One AdamW step (decoupled weight decay, bias-corrected; hyperparameters rounded to f32 as the kernel receives them): param, grad, m, v[n] → new param, m, v. */
export function adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step) {
    const [a, b1, b2, ep, wd] = [lr, beta1, beta2, eps, weightDecay].map(f32);
    const m2 = m.map((x, i) => b1 * x + (1 - b1) * grad[i]);
    const v2 = v.map((x, i) => b2 * x + (1 - b2) * grad[i] ** 2);
    const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
    const p2 = param.map((p, i) => p - a * (m2[i] / c1 / (Math.sqrt(v2[i] / c2) + ep) + wd * p));
    return { param: p2, m: m2, v: v2 };
}

// ---- Bit-exact twins: the same f32 operations in the same order as the
// kernel, each rounded with Math.fround (for +, −, ×, ÷ of f32 values the
// float64 result rounded once is the f32 result), so they give the kernel's
// bits, not an approximation of them. Tests compare bitwise.

const TWIN = {
  LOG2E: f32(1.44269504088896341), LN2_HI: f32(0.693359375), LN2_LO: f32(-2.12194440e-4),
  P: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f32),
  EXP_LO: -104, EXP_HI: 89,
  TANH_SMALL: f32(0.75), TANH_SAT: 9.125,
  Q: [-0.33333316445350647, 0.13332690298557281, -0.0538923479616642, 0.02145058661699295, -0.007654745597392321, 0.0017353328876197338].map(f32),
};

/** f32 nearest-even rounding of an integral-or-not f32 (wasm f32.nearest). */
function nearestF32(x) {
  const r = Math.round(x); // halves up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** 2^k (integer k in [−126, 127]) as f32. */
const pow2 = (k) => 2 ** k;

/** e^r ≈ 1 + r + r²·P(r) for |r| ≤ ln2/2, as assembly/vmath.ts expPoly. */
function expPolyF32(r) {
  const P = TWIN.P;
  let p = f32(f32(P[0] * r) + P[1]);
  for (let i = 2; i < 6; i++) p = f32(f32(p * r) + P[i]);
  return f32(f32(f32(p * f32(r * r)) + r) + 1);
}

/** assembly/vmath.ts expf: e^x in f32, the kernel's bits (NaN returned as given). */
export function expF32(x) {
  x = f32(x);
  if (x !== x) return x;
  const y = Math.min(Math.max(x, TWIN.EXP_LO), TWIN.EXP_HI);
  const n = nearestF32(f32(y * TWIN.LOG2E));
  const r = f32(f32(y - f32(n * TWIN.LN2_HI)) - f32(n * TWIN.LN2_LO));
  const k1 = n >> 1;
  return f32(f32(expPolyF32(r) * pow2(k1)) * pow2(n - k1));
}

/** assembly/vmath.ts tanhf: tanh(x) in f32, the kernel's bits (NaN returned as given). */
export function tanhF32(x) {
  x = f32(x);
  if (x !== x) return x;
  const a = Math.abs(x);
  let t;
  if (a < TWIN.TANH_SMALL) {
    const s = f32(a * a), Q = TWIN.Q;
    let q = f32(f32(Q[5] * s) + Q[4]);
    for (let i = 3; i >= 0; i--) q = f32(f32(q * s) + Q[i]);
    t = f32(a + f32(f32(a * s) * q));
  } else {
    const b = Math.min(a, TWIN.TANH_SAT);
    const y = f32(b + b);
    const n = nearestF32(f32(y * TWIN.LOG2E));
    const r = f32(f32(y - f32(n * TWIN.LN2_HI)) - f32(n * TWIN.LN2_LO));
    const e = f32(expPolyF32(r) * pow2(n));
    t = f32(1 - f32(2 / f32(e + 1)));
  }
  return x < 0 || Object.is(x, -0) ? -t : t;
}

const GELU_C32 = f32(0.7978845608028654), GELU_A32 = f32(0.044715);

/** assembly/activation.ts gelu, bit-exact: (0.5x)·(1 + tanh(c·(x + ((a·x)·x)·x))). */
export function geluF32(x) {
  return x.map((v) => {
    const u = f32(GELU_C32 * f32(v + f32(f32(f32(GELU_A32 * v) * v) * v)));
    return f32(f32(0.5 * v) * f32(1 + tanhF32(u)));
  });
}

/** assembly/backward.ts geluBackward, bit-exact. */
export function geluBackwardF32(x, dout) {
  const a3 = f32(0.134145);
  return x.map((v, i) => {
    const th = tanhF32(f32(GELU_C32 * f32(v + f32(f32(f32(GELU_A32 * v) * v) * v))));
    const dudx = f32(GELU_C32 * f32(1 + f32(f32(a3 * v) * v)));
    const d = f32(f32(0.5 * f32(1 + th)) + f32(f32(f32(0.5 * v) * f32(1 - f32(th * th))) * dudx));
    return f32(dout[i] * d);
  });
}

/** assembly/activation.ts swiglu, bit-exact: (g/(1 + e^−g))·u. */
export function swigluF32(g, u) {
  return g.map((v, i) => f32(f32(v / f32(1 + expF32(-v))) * u[i]));
}

/** One bf16 (format 1) or f16 (format 2) value from its 16 bits, from the formats' definitions: (−1)^s·2^(e−bias)·(1.m), subnormals 2^(1−bias)·0.m. */
export function halfToF32(h, format) {
  const [eBits, mBits] = format === 1 ? [8, 7] : [5, 10];
  const bias = (1 << (eBits - 1)) - 1;
  const s = h >> 15 ? -1 : 1, e = (h >> mBits) & ((1 << eBits) - 1), m = h & ((1 << mBits) - 1);
  if (e === (1 << eBits) - 1) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** (1 - bias - mBits) : s * (1 + m / 2 ** mBits) * 2 ** (e - bias);
}

/** src[n] (u16 of format 1 bf16 or 2 f16) → f32[n]; NaNs as (quiet) NaN with the input's sign and payload (bits set directly). */
export function widen16(src, format) {
  const out = new Float32Array(src.length), bits = new Uint32Array(out.buffer);
  src.forEach((h, i) => {
    const v = halfToF32(h, format);
    if (v === v) out[i] = v;
    else bits[i] = format === 1 ? h << 16 : ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
  });
  return out;
}

/**
 * The packed layout of op(B)[K,N] (B [K,N] stride ldb, or [N,K] if transB):
 * Bp[⌈N/8⌉][K][8], zeros past N; assembly/matmul.ts packB's exact output.
 */
export function packB(B, ldb, transB, K, N) {
  const panels = Math.ceil(N / 8), out = new Float32Array(panels * K * 8);
  for (let p = 0; p < panels; p++) for (let k = 0; k < K; k++) for (let j = 0; j < 8; j++) {
    const col = p * 8 + j;
    if (col < N) out[(p * K + k) * 8 + j] = transB ? B[col * ldb + k] : B[k * ldb + col];
  }
  return out;
}
