// Unit tier: the backward kernels (assembly/backward.ts, assembly/optim.ts)
// checked two ways. (1) Against their scalar twins (test/reference/scalar.mjs)
// on seeded random inputs whose sizes are not multiples of the SIMD width,
// with guard words after every output, aliasing and accumulation. (2) Against
// central finite differences of the forward pass, re-implemented here in
// float64 so the difference quotient is not drowned by float32 rounding: for
// a random direction u, ⟨dout, f(x + h·u) − f(x − h·u)⟩/2h must match ⟨grad, u⟩.
// Matmul has no backward kernel: its gradients are sgemm calls with transpose
// flags (the recipe in backward.ts's header), checked here the same way.
import t from "tap";
import { createEngine } from "../../dist/index.js";
import * as ref from "../reference/scalar.mjs";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
const TOL = 1e-5; // kernel vs scalar twin
const FD_TOL = 1e-3; // analytic vs finite-difference directional derivative
const H_FD = 1e-3;
const GUARD = 8;
const SENTINEL = 12345.5;

const uniform = (r, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
const ints = (r, n, hi) => Int32Array.from({ length: n }, () => Math.floor(r() * hi));
const withGuard = (a) => { const g = new Float32Array(a.length + GUARD).fill(SENTINEL); g.set(a); return g; };
const uploadI32 = (a) => { const p = e.alloc(a.length * 4); e.i32(p, a.length).set(a); return p; };
const read = (p, n) => e.f32(p, n).slice();
const zeros = (n) => e.upload(new Float32Array(n));

/** got ≈ want elementwise: |got − want| ≤ tol·max(1, |want|); records the worst error for the summary. */
const worst = {};
function close(t, got, want, msg, key, tol = TOL) {
  if (got.length !== want.length) return t.fail(`${msg}: length ${got.length} ≠ ${want.length}`);
  let bad = 0, first = -1, w = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    const err = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    w = Math.max(w, err);
    if (!(err <= tol)) { bad++; if (first < 0) first = i; }
  }
  worst[key] = Math.max(worst[key] ?? 0, w);
  return t.ok(bad === 0, bad ? `${msg}: ${bad} bad, first [${first}] got ${got[first]} want ${want[first]}` : `${msg} (worst err ${w.toExponential(1)})`);
}


function scoped(fn) {
  const m = e.mark();
  try { return fn(); } finally { e.reset(m); }
}

// ---------------------------------------------------------------------------
// Float64 forward passes for the finite differences (written from the same
// formulas as the scalar twins; arrays of any kind in, Float64Array out).

const dot64 = (a, b) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

function matmul64(tA, tB, M, N, K, A, B, bias) {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = bias ? bias[j] : 0;
    for (let k = 0; k < K; k++) s += (tA ? A[k * M + i] : A[i * K + k]) * (tB ? B[j * K + k] : B[k * N + j]);
    C[i * N + j] = s;
  }
  return C;
}

function layernorm64(x, w, b, N, D, eps) {
  const out = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    let m = 0; for (let d = 0; d < D; d++) m += x[n * D + d]; m /= D;
    let v = 0; for (let d = 0; d < D; d++) v += (x[n * D + d] - m) ** 2; v /= D;
    const rs = 1 / Math.sqrt(v + eps);
    for (let d = 0; d < D; d++) out[n * D + d] = (x[n * D + d] - m) * rs * w[d] + b[d];
  }
  return out;
}

function rmsnorm64(x, w, N, D, eps) {
  const out = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    let ss = 0; for (let d = 0; d < D; d++) ss += x[n * D + d] ** 2;
    const rs = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) out[n * D + d] = x[n * D + d] * rs * w[d];
  }
  return out;
}

const GC = Math.sqrt(2 / Math.PI);
const gelu64 = (x) => Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(GC * (v + 0.044715 * v ** 3))));
const swiglu64 = (g, u) => Float64Array.from(g, (v, i) => (v / (1 + Math.exp(-v))) * u[i]);

function logSoftmax64(x, N, C) {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    let mx = -Infinity; for (let c = 0; c < C; c++) mx = Math.max(mx, x[n * C + c]);
    let s = 0; for (let c = 0; c < C; c++) s += Math.exp(x[n * C + c] - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c] - lse;
  }
  return out;
}
const softmax64 = (x, N, C) => logSoftmax64(x, N, C).map(Math.exp);

function attention64(q, k, v, B, T, H, Hkv, Dh, scale, causal) {
  const z = new Float64Array(B * T * H * Dh), group = H / Hkv;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
    const kh = Math.floor(h / group), last = causal ? t : T - 1;
    const sc = [];
    for (let s = 0; s <= last; s++) {
      let acc = 0;
      for (let d = 0; d < Dh; d++) acc += q[((b * T + t) * H + h) * Dh + d] * k[((b * T + s) * Hkv + kh) * Dh + d];
      sc.push(acc * scale);
    }
    const mx = Math.max(...sc), ex = sc.map((x) => Math.exp(x - mx)), sum = ex.reduce((a, x) => a + x, 0);
    for (let d = 0; d < Dh; d++) {
      let acc = 0;
      for (let s = 0; s <= last; s++) acc += (ex[s] / sum) * v[((b * T + s) * Hkv + kh) * Dh + d];
      z[((b * T + t) * H + h) * Dh + d] = acc;
    }
  }
  return z;
}

function embed64(tokens, WE, Wpos, B, T, D) {
  const out = new Float64Array(B * T * D);
  for (let r = 0; r < B * T; r++) for (let d = 0; d < D; d++) out[r * D + d] = WE[tokens[r] * D + d] + (Wpos ? Wpos[(r % T) * D + d] : 0);
  return out;
}

/** scale·Σ_n KL(p‖q) from log-probabilities. */
function kl64(lp, lq, scale) { let s = 0; for (let i = 0; i < lp.length; i++) s += Math.exp(lp[i]) * (lp[i] - lq[i]); return [scale * s]; }

/** scale·Σ_n cross-entropy, rows with a negative target skipped. */
function ce64(logits, targets, N, V, scale) {
  const lp = logSoftmax64(logits, N, V);
  let s = 0;
  for (let n = 0; n < N; n++) if (targets[n] >= 0) s -= lp[n * V + targets[n]];
  return [scale * s];
}

/**
 * Finite-difference check of every named input: for `dirs` random directions
 * u, (⟨dout, f(x + hu)⟩ − ⟨dout, f(x − hu)⟩)/2h against ⟨grad, u⟩, with the
 * other inputs held fixed; relative error below FD_TOL.
 */
function fdCheck(t, r, msg, key, f, inputs, grads, dout, dirs = 3) {
  const base = Object.fromEntries(Object.entries(inputs).map(([n, a]) => [n, Float64Array.from(a)]));
  let w = 0;
  const fails = [];
  for (const name of Object.keys(grads)) for (let j = 0; j < dirs; j++) {
    const x = base[name], u = Float64Array.from(x, () => 2 * r() - 1);
    const at = (sign) => f({ ...base, [name]: x.map((v, i) => v + sign * H_FD * u[i]) });
    const fd = (dot64(dout, at(1)) - dot64(dout, at(-1))) / (2 * H_FD);
    const an = dot64(grads[name], u);
    const den = Math.max(Math.abs(fd), Math.abs(an));
    const err = den < 1e-12 ? 0 : Math.abs(fd - an) / den;
    w = Math.max(w, err);
    if (!(err < FD_TOL)) fails.push(`${name}: fd ${fd} vs grad ${an}`);
  }
  worst[key] = Math.max(worst[key] ?? 0, w);
  t.ok(fails.length === 0, fails.length ? `${msg}: ${fails.join("; ")}` : `${msg} (worst rel err ${w.toExponential(1)})`);
}

// ---------------------------------------------------------------------------

t.test("matmul backward through sgemm's transpose flags, and biasGrad", async (t) => {
  const r = rng(101);
  for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [9, 13, 6], [37, 11, 261]]) for (const tA of [false, true]) for (const tB of [false, true]) scoped(() => {
    const A = uniform(r, M * K), B = uniform(r, K * N), bias = uniform(r, N), dC = uniform(r, M * N);
    const lda = tA ? M : K, ldb = tB ? K : N;
    const pA = e.upload(A), pB = e.upload(B), pdC = e.upload(dC);
    // Start from nonzero gradients: the recipe accumulates.
    const dA0 = uniform(r, M * K), dB0 = uniform(r, K * N), db0 = uniform(r, N);
    const pdA = e.upload(withGuard(dA0)), pdB = e.upload(withGuard(dB0)), pdb = e.upload(withGuard(db0));
    const g = (ta, tb, m, n, k, a, la, b, lb, c, lc) => e.k.sgemm(ta, tb, m, n, k, a, la, b, lb, c, lc, 0, 1, e.gemmWork);
    if (!tA && !tB) { g(0, 1, M, K, N, pdC, N, pB, ldb, pdA, lda); g(1, 0, K, N, M, pA, lda, pdC, N, pdB, ldb); }
    if (!tA && tB) { g(0, 0, M, K, N, pdC, N, pB, ldb, pdA, lda); g(1, 0, N, K, M, pdC, N, pA, lda, pdB, ldb); }
    if (tA && !tB) { g(0, 1, K, M, N, pB, ldb, pdC, N, pdA, lda); g(0, 0, K, N, M, pA, lda, pdC, N, pdB, ldb); }
    if (tA && tB) { g(1, 1, K, M, N, pB, ldb, pdC, N, pdA, lda); g(1, 1, N, K, M, pdC, N, pA, lda, pdB, ldb); }
    e.k.biasGrad(pdb, pdC, M, N);
    const tag = `M=${M} N=${N} K=${K} transA=${+tA} transB=${+tB}`;
    const gotA = read(pdA, M * K + GUARD), gotB = read(pdB, K * N + GUARD), gotb = read(pdb, N + GUARD);
    close(t, gotb, withGuard(ref.biasGrad(db0, dC, M, N)), `biasGrad twin ${tag}`, "biasGrad twin");
    // Twin check of the gradients themselves: dA[M,K] of op(A) = dC·op(B)ᵀ, then laid out like A.
    const opAt = (i, k) => (tA ? k * M + i : i * K + k), opBt = (k, j) => (tB ? j * K + k : k * N + j);
    const wantA = dA0.slice(), wantB = dB0.slice();
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) {
      let s = dA0[opAt(i, k)];
      for (let j = 0; j < N; j++) s += dC[i * N + j] * B[opBt(k, j)];
      wantA[opAt(i, k)] = s;
    }
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) {
      let s = dB0[opBt(k, j)];
      for (let i = 0; i < M; i++) s += A[opAt(i, k)] * dC[i * N + j];
      wantB[opBt(k, j)] = s;
    }
    close(t, gotA, withGuard(wantA), `dA ${tag}`, "matmul twin");
    close(t, gotB, withGuard(wantB), `dB ${tag}`, "matmul twin");
    const sub = (x, x0) => Float64Array.from(x0, (v, i) => x[i] - v);
    fdCheck(t, r, `matmul finite differences ${tag}`, "matmul fd",
      (p) => matmul64(tA, tB, M, N, K, p.A, p.B, p.bias), { A, B, bias },
      { A: sub(gotA, dA0), B: sub(gotB, dB0), bias: sub(gotb, db0) }, dC);
  });
});

t.test("layernorm and rmsnorm backward", async (t) => {
  const r = rng(102);
  const eps = Math.fround(1e-5);
  for (const [N, D] of [[1, 1], [3, 5], [4, 37], [2, 131], [3, 1027]]) scoped(() => {
    const x = uniform(r, N * D, -2, 3), w = uniform(r, D, 0.5, 1.5), b = uniform(r, D), dout = uniform(r, N * D);
    const px = e.upload(x), pw = e.upload(w), pb = e.upload(b), pdout = e.upload(dout);
    const out = e.allocF32(N * D), mean = e.allocF32(N), rstd = e.allocF32(N);
    e.k.layernorm(out, mean, rstd, px, pw, pb, N, D, eps);
    const m = read(mean, N), rs = read(rstd, N);
    const dw0 = uniform(r, D), db0 = uniform(r, D);
    const pdx = e.upload(withGuard(new Float32Array(N * D).fill(NaN))), pdw = e.upload(withGuard(dw0)), pdb = e.upload(withGuard(db0));
    e.k.layernormBackward(pdx, pdw, pdb, pdout, px, mean, rstd, pw, N, D);
    const want = ref.layernormBackward(dw0, db0, dout, x, m, rs, w, N, D);
    const tag = `N=${N} D=${D}`;
    const dx = read(pdx, N * D + GUARD), dw = read(pdw, D + GUARD), db = read(pdb, D + GUARD);
    close(t, dx, withGuard(want.dx), `layernormBackward dx ${tag}`, "layernorm twin");
    close(t, dw, withGuard(want.dw), `layernormBackward dw (accumulated) ${tag}`, "layernorm twin");
    close(t, db, withGuard(want.db), `layernormBackward db (accumulated) ${tag}`, "layernorm twin");
    // dx written over dout (aliased), parameter gradients from zero.
    const pdw2 = zeros(D), pdb2 = zeros(D), palias = e.upload(dout);
    e.k.layernormBackward(palias, pdw2, pdb2, palias, px, mean, rstd, pw, N, D);
    same(t, read(palias, N * D), dx.subarray(0, N * D), `layernormBackward dx may alias dout ${tag}`);
    fdCheck(t, r, `layernorm finite differences ${tag}`, "layernorm fd", (p) => layernorm64(p.x, p.w, p.b, N, D, eps),
      { x, w, b }, { x: read(palias, N * D), w: read(pdw2, D), b: read(pdb2, D) }, dout);
    // The dx-only kernel: the full kernel's dx bits, written alone (guards intact), also over dout.
    const pdx4 = e.upload(withGuard(new Float32Array(N * D).fill(NaN)));
    e.k.layernormDx(pdx4, pdout, px, mean, rstd, pw, N, D);
    same(t, read(pdx4, N * D + GUARD), dx, `layernormDx is layernormBackward's dx ${tag}`);
    const palias4 = e.upload(dout);
    e.k.layernormDx(palias4, palias4, px, mean, rstd, pw, N, D);
    same(t, read(palias4, N * D), dx.subarray(0, N * D), `layernormDx may alias dout ${tag}`);

    const prs = e.allocF32(N);
    e.k.rmsnorm(out, prs, px, pw, N, D, eps);
    const pdx3 = e.upload(withGuard(new Float32Array(N * D))), pdw3 = e.upload(withGuard(dw0));
    e.k.rmsnormBackward(pdx3, pdw3, pdout, px, prs, pw, N, D);
    const want3 = ref.rmsnormBackward(dw0, dout, x, read(prs, N), w, N, D);
    const dx3 = read(pdx3, N * D + GUARD), dw3 = read(pdw3, D + GUARD);
    close(t, dx3, withGuard(want3.dx), `rmsnormBackward dx ${tag}`, "rmsnorm twin");
    close(t, dw3, withGuard(want3.dw), `rmsnormBackward dw (accumulated) ${tag}`, "rmsnorm twin");
    const pdx5 = e.upload(withGuard(new Float32Array(N * D).fill(NaN)));
    e.k.rmsnormDx(pdx5, pdout, px, prs, pw, N, D);
    same(t, read(pdx5, N * D + GUARD), dx3, `rmsnormDx is rmsnormBackward's dx ${tag}`);
    // Not at D = 1: there dx = g·rstd·(1 − x²·rstd²) = g·rstd·eps/(x² + eps), an O(eps) difference of O(1)
    // float32 terms, so its relative error is set by rstd's rounding (≈1e-2 here), not by the kernel.
    if (D > 1) fdCheck(t, r, `rmsnorm finite differences ${tag}`, "rmsnorm fd", (p) => rmsnorm64(p.x, p.w, N, D, eps),
      { x, w }, { x: dx3.subarray(0, N * D), w: Float64Array.from(dw0, (v, i) => dw3[i] - v) }, dout);
  });
});

t.test("gelu, relu and swiglu backward", async (t) => {
  const r = rng(103);
  for (const n of [1, 3, 5, 17, 1001]) scoped(() => {
    const x = uniform(r, n, -6, 6), dout = uniform(r, n);
    if (n > 4) x.set([0, -0, 20, -20, 1e-20]);
    const px = e.upload(x), pdout = e.upload(dout), pdx = e.upload(withGuard(new Float32Array(n)));
    e.k.geluBackward(pdx, px, pdout, n);
    const dx = read(pdx, n + GUARD);
    close(t, dx, withGuard(ref.geluBackward(x, dout)), `geluBackward n=${n}`, "gelu twin");
    e.k.geluBackward(pdout, px, pdout, n);
    same(t, read(pdout, n), dx.subarray(0, n), `geluBackward dx may alias dout n=${n}`);
    fdCheck(t, r, `gelu finite differences n=${n}`, "gelu fd", (p) => gelu64(p.x), { x }, { x: dx.subarray(0, n) }, dout);

    e.k.reluBackward(pdx, px, e.upload(dout), n);
    close(t, read(pdx, n + GUARD), withGuard(ref.reluBackward(x, dout)), `reluBackward n=${n}`, "relu twin");

    const g = uniform(r, n, -8, 8), u = uniform(r, n, -3, 3);
    if (n > 4) g.set([-100, 100, 0]);
    const pdg = e.upload(withGuard(new Float32Array(n))), pdu = e.upload(withGuard(new Float32Array(n)));
    e.k.swigluBackward(pdg, pdu, e.upload(g), e.upload(u), e.upload(dout), n);
    const want = ref.swigluBackward(g, u, dout);
    const dg = read(pdg, n + GUARD), du = read(pdu, n + GUARD);
    close(t, dg, withGuard(want.dg), `swigluBackward dg n=${n}`, "swiglu twin");
    close(t, du, withGuard(want.du), `swigluBackward du n=${n}`, "swiglu twin");
    fdCheck(t, r, `swiglu finite differences n=${n}`, "swiglu fd", (p) => swiglu64(p.g, p.u), { g, u },
      { g: dg.subarray(0, n), u: du.subarray(0, n) }, dout);
  });
});

t.test("softmax and logSoftmax backward", async (t) => {
  const r = rng(104);
  for (const [N, C] of [[1, 1], [2, 3], [4, 50], [3, 1001], [1, 50257]]) scoped(() => {
    const x = uniform(r, N * C, -5, 5), dy = uniform(r, N * C);
    const px = e.upload(x), py = e.allocF32(N * C), plp = e.allocF32(N * C), pdy = e.upload(dy);
    e.k.softmax(py, px, N, C);
    e.k.logSoftmax(plp, px, N, C);
    const y = read(py, N * C), lp = read(plp, N * C);
    const tag = `N=${N} C=${C}`;
    const pdx = e.upload(withGuard(new Float32Array(N * C)));
    e.k.softmaxBackward(pdx, py, pdy, N, C);
    const dx = read(pdx, N * C + GUARD);
    close(t, dx, withGuard(ref.softmaxBackward(y, dy, N, C)), `softmaxBackward ${tag}`, "softmax twin");
    e.k.logSoftmaxBackward(pdx, plp, pdy, N, C);
    const dxl = read(pdx, N * C + GUARD);
    close(t, dxl, withGuard(ref.logSoftmaxBackward(lp, dy, N, C)), `logSoftmaxBackward ${tag}`, "logSoftmax twin");
    e.k.softmaxBackward(pdy, py, pdy, N, C);
    same(t, read(pdy, N * C), dx.subarray(0, N * C), `softmaxBackward dx may alias dy ${tag}`);
    if (N * C <= 5000) {
      fdCheck(t, r, `softmax finite differences ${tag}`, "softmax fd", (p) => softmax64(p.x, N, C), { x }, { x: dx.subarray(0, N * C) }, dy);
      fdCheck(t, r, `logSoftmax finite differences ${tag}`, "logSoftmax fd", (p) => logSoftmax64(p.x, N, C), { x }, { x: dxl.subarray(0, N * C) }, dy);
    }
  });
});

t.test("attention backward", async (t) => {
  const r = rng(105);
  // [B, T, H, Hkv, Dh, h0, h1]: T=1, MHA, GQA, MQA, Dh not a multiple of 4, head sub-ranges.
  const cases = [[1, 1, 1, 1, 1, 0, 1], [2, 5, 4, 4, 8, 0, 4], [1, 7, 6, 2, 5, 0, 6], [3, 9, 4, 1, 12, 2, 3],
    [2, 11, 6, 3, 7, 1, 5], [1, 33, 2, 2, 64, 0, 2]];
  for (const causal of [true, false]) for (const [B, T, H, Hkv, Dh, h0, h1] of cases) scoped(() => {
    const nq = B * T * H * Dh, nk = B * T * Hkv * Dh, np = B * H * T * T;
    const q = uniform(r, nq, -2, 2), k = uniform(r, nk, -2, 2), v = uniform(r, nk), dz = uniform(r, nq);
    const scale = Math.fround(1 / Math.sqrt(Dh));
    const pq = e.upload(q), pk = e.upload(k), pv = e.upload(v), pdz = e.upload(dz);
    const pz = e.allocF32(nq), pp = e.allocF32(np);
    e.k.attention(pz, pp, pq, pk, pv, B, T, H, Hkv, Dh, scale, 0, H, causal ? 1 : 0);
    const pattern = read(pp, np);
    // dq/dpattern outside [h0,h1) must stay NaN; dk/dv start nonzero (accumulated).
    const dq0 = withGuard(new Float32Array(nq).fill(NaN)), dpat0 = withGuard(new Float32Array(np).fill(NaN));
    const dk0 = uniform(r, nk), dv0 = uniform(r, nk);
    const pdq = e.upload(dq0), pdp = e.upload(dpat0), pdk = e.upload(withGuard(dk0)), pdv = e.upload(withGuard(dv0));
    e.k.attentionBackward(pdq, pdk, pdv, pdp, pdz, pq, pk, pv, pp, B, T, H, Hkv, Dh, scale, h0, h1, causal ? 1 : 0);
    const want = ref.attentionBackward(dq0, dk0, dv0, dpat0, dz, q, k, v, pattern, B, T, H, Hkv, Dh, scale, h0, h1, causal);
    const tag = `B=${B} T=${T} H=${H} Hkv=${Hkv} Dh=${Dh} heads [${h0},${h1}) causal=${+causal}`;
    const isNaNSame = (got, w) => got.map((g, i) => (Number.isNaN(g) && Number.isNaN(w[i]) ? 0 : g));
    const dq = read(pdq, dq0.length), dp = read(pdp, dpat0.length);
    close(t, isNaNSame(dq, want.dq), want.dq.map((x) => (Number.isNaN(x) ? 0 : x)), `dq ${tag}`, "attention twin");
    close(t, isNaNSame(dp, want.dpattern), want.dpattern.map((x) => (Number.isNaN(x) ? 0 : x)), `dpattern ${tag}`, "attention twin");
    close(t, read(pdk, nk + GUARD), withGuard(want.dk), `dk (accumulated) ${tag}`, "attention twin");
    close(t, read(pdv, nk + GUARD), withGuard(want.dv), `dv (accumulated) ${tag}`, "attention twin");
    if (h0 === 0 && h1 === H) {
      // Finite differences of the whole layer (all heads), from zero dk/dv.
      const gq = e.allocF32(nq), gk = zeros(nk), gv = zeros(nk);
      e.k.attentionBackward(gq, gk, gv, pdp, pdz, pq, pk, pv, pp, B, T, H, Hkv, Dh, scale, 0, H, causal ? 1 : 0);
      fdCheck(t, r, `attention finite differences ${tag}`, "attention fd",
        (p) => attention64(p.q, p.k, p.v, B, T, H, Hkv, Dh, scale, causal), { q, k, v },
        { q: read(gq, nq), k: read(gk, nk), v: read(gv, nk) }, dz);
    }
  });
});

t.test("attention backward: head ranges in order are bit-identical to one call; masked dpattern is 0", async (t) => {
  const r = rng(106);
  scoped(() => {
    const B = 2, T = 7, H = 6, Hkv = 2, Dh = 9, scale = Math.fround(1 / 3);
    const nq = B * T * H * Dh, nk = B * T * Hkv * Dh, np = B * H * T * T;
    const pq = e.upload(uniform(r, nq)), pk = e.upload(uniform(r, nk)), pv = e.upload(uniform(r, nk)), pdz = e.upload(uniform(r, nq));
    const pz = e.allocF32(nq), pp = e.allocF32(np);
    e.k.attention(pz, pp, pq, pk, pv, B, T, H, Hkv, Dh, scale, 0, H, 1);
    const run = (ranges) => {
      const dq = e.allocF32(nq), dk = zeros(nk), dv = zeros(nk), dp = e.allocF32(np);
      for (const [h0, h1] of ranges) e.k.attentionBackward(dq, dk, dv, dp, pdz, pq, pk, pv, pp, B, T, H, Hkv, Dh, scale, h0, h1, 1);
      return [read(dq, nq), read(dk, nk), read(dv, nk), read(dp, np)];
    };
    const whole = run([[0, H]]), again = run([[0, H]]), parts = run([[0, 1], [1, 4], [4, 6]]);
    ["dq", "dk", "dv", "dpattern"].forEach((name, i) => {
      same(t, again[i], whole[i], `${name}: two runs give the same bits`);
      same(t, parts[i], whole[i], `${name}: heads [0,1) [1,4) [4,6) in order give the bits of [0,6)`);
    });
    // Under the causal mask dpattern above the diagonal is written as exactly 0.
    let future = true;
    for (let bh = 0; bh < B * H; bh++) for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) if (whole[3][(bh * T + i) * T + j] !== 0) future = false;
    t.ok(future, "dpattern is exactly 0 above the diagonal");
  });
});

t.test("embedding backward", async (t) => {
  const r = rng(107);
  for (const [B, T, D, V] of [[1, 1, 1, 1], [2, 5, 7, 3], [3, 4, 33, 50], [1, 9, 130, 4]]) for (const pos of [false, true]) scoped(() => {
    const tok = ints(r, B * T, V), dout = uniform(r, B * T * D);
    const dWE0 = uniform(r, V * D), dWpos0 = pos ? uniform(r, T * D) : null;
    const pWE = e.upload(withGuard(dWE0)), pPos = pos ? e.upload(withGuard(dWpos0)) : 0;
    e.k.embedBackward(pWE, pPos, e.upload(dout), uploadI32(tok), B, T, D);
    const want = ref.embedBackward(dWE0, dWpos0, dout, tok, B, T, D);
    const tag = `B=${B} T=${T} D=${D} V=${V} pos=${+pos}`;
    const gWE = read(pWE, V * D + GUARD);
    close(t, gWE, withGuard(want.dWE), `dWE (repeated tokens, accumulated) ${tag}`, "embed twin");
    const grads = { WE: Float64Array.from(dWE0, (v, i) => gWE[i] - v) };
    const inputs = { WE: uniform(r, V * D) };
    if (pos) {
      const gPos = read(pPos, T * D + GUARD);
      close(t, gPos, withGuard(want.dWpos), `dWpos (accumulated) ${tag}`, "embed twin");
      grads.Wpos = Float64Array.from(dWpos0, (v, i) => gPos[i] - v);
      inputs.Wpos = uniform(r, T * D);
    }
    fdCheck(t, r, `embedding finite differences ${tag}`, "embed fd", (p) => embed64(tok, p.WE, p.Wpos ?? null, B, T, D), inputs, grads, dout);
  });
});

t.test("KL and cross-entropy: losses and gradients", async (t) => {
  const r = rng(108);
  for (const [N, C] of [[1, 1], [2, 3], [5, 37], [3, 1001], [2, 50257]]) scoped(() => {
    const scale = Math.fround(1 / N);
    const tag = `N=${N} C=${C}`;
    const lp = ref.logSoftmax(uniform(r, N * C, -4, 4), N, C);
    const logits = uniform(r, N * C, -4, 4);
    const plp = e.upload(lp), plogits = e.upload(logits), plq = e.allocF32(N * C);
    e.k.logSoftmax(plq, plogits, N, C);
    const lq = read(plq, N * C);

    // KL wrt the log-probabilities lq as free inputs.
    const pdlq = e.upload(withGuard(new Float32Array(N * C)));
    e.k.klBackward(pdlq, plp, N, C, scale);
    const dlq = read(pdlq, N * C + GUARD);
    close(t, dlq, withGuard(ref.klBackward(lp, N, C, scale)), `klBackward ${tag}`, "kl twin");
    // KL wrt the logits, and the same thing chained through logSoftmaxBackward.
    const pdl = e.upload(withGuard(new Float32Array(N * C)));
    e.k.klLogitsBackward(pdl, plp, 0, plq, N, C, scale);
    const dl = read(pdl, N * C + GUARD);
    close(t, dl, withGuard(ref.klLogitsBackward(lp, lq, N, C, scale)), `klLogitsBackward ${tag}`, "kl twin");
    // p as logits with their rows' logsumexp: the bits of p as their logSoftmax; and over lq itself.
    const praw = e.upload(uniform(r, N * C, -4, 4)), plse = e.allocF32(N), plp2 = e.allocF32(N * C);
    e.k.logSumExp(plse, praw, N, C);
    e.k.logSoftmax(plp2, praw, N, C);
    const pa = e.allocF32(N * C), pb = e.allocF32(N * C);
    e.k.klLogitsBackward(pa, plp2, 0, plq, N, C, scale);
    e.f32(pb, N * C).set(lq);
    e.k.klLogitsBackward(pb, praw, plse, pb, N, C, scale);
    t.ok(read(pa, N * C).every((v, i) => Object.is(v, read(pb, N * C)[i])), `klLogitsBackward from logits and logsumexp, written over lq = from log-probabilities, bit for bit ${tag}`);
    const pchain = e.allocF32(N * C);
    e.k.logSoftmaxBackward(pchain, plq, pdlq, N, C);
    close(t, read(pchain, N * C), dl.subarray(0, N * C), `klLogitsBackward = logSoftmaxBackward ∘ klBackward ${tag}`, "kl chain");

    // Cross-entropy with one ignored row (target −1) when N > 1.
    const targets = ints(r, N, C);
    if (N > 1) targets[1] = -1;
    const ptg = uploadI32(targets);
    const loss = e.alloc((N + 1) * 8);
    e.f64(loss, N + 1).fill(SENTINEL);
    e.k.crossEntropy(loss, plogits, ptg, N, C);
    close(t, e.f64(loss, N + 1).slice(), Float64Array.from([...ref.crossEntropy(logits, targets, N, C), SENTINEL]), `crossEntropy ${tag}`, "crossEntropy twin");
    const pdce = e.upload(withGuard(new Float32Array(N * C)));
    e.k.crossEntropyBackward(pdce, plogits, ptg, N, C, scale);
    const dce = read(pdce, N * C + GUARD);
    close(t, dce, withGuard(ref.crossEntropyBackward(logits, targets, N, C, scale)), `crossEntropyBackward ${tag}`, "crossEntropy twin");
    const palias = e.upload(logits);
    e.k.crossEntropyBackward(palias, palias, ptg, N, C, scale);
    same(t, read(palias, N * C), dce.subarray(0, N * C), `crossEntropyBackward may alias logits ${tag}`);

    if (N * C <= 5000) {
      fdCheck(t, r, `KL wrt lq finite differences ${tag}`, "kl fd", (p) => kl64(lp, p.lq, scale), { lq }, { lq: dlq.subarray(0, N * C) }, [1]);
      fdCheck(t, r, `KL wrt logits finite differences ${tag}`, "kl fd", (p) => kl64(lp, logSoftmax64(p.logits, N, C), scale),
        { logits }, { logits: dl.subarray(0, N * C) }, [1]);
      fdCheck(t, r, `cross-entropy finite differences ${tag}`, "crossEntropy fd", (p) => ce64(p.logits, targets, N, C, scale),
        { logits }, { logits: dce.subarray(0, N * C) }, [1]);
    }
  });
});

t.test("adamw: three steps against the scalar twin", async (t) => {
  const r = rng(109);
  for (const n of [1, 3, 4, 7, 1001]) for (const wd of [0, 0.1]) scoped(() => {
    const lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    let param = uniform(r, n, -2, 2), m = new Float32Array(n), v = new Float32Array(n);
    const pp = e.upload(withGuard(param)), pm = e.upload(withGuard(m)), pv = e.upload(withGuard(v)), pg = e.allocF32(n);
    let total = 0;
    for (let step = 1; step <= 3; step++) {
      const g = uniform(r, n, -1, 1);
      if (n > 3) g[2] = 0; // v = 0 at the first step: the update must stay finite
      e.f32(pg, n).set(g);
      e.k.adamw(pp, pg, pm, pv, n, lr, b1, b2, eps, wd, step);
      ({ param, m, v } = ref.adamw(param, g, m, v, lr, b1, b2, eps, wd, step));
      close(t, read(pp, n + GUARD), withGuard(param), `param n=${n} wd=${wd} step ${step}`, "adamw", 1e-6);
      close(t, read(pm, n + GUARD), withGuard(m), `m n=${n} wd=${wd} step ${step}`, "adamw", 1e-6);
      close(t, read(pv, n + GUARD), withGuard(v), `v n=${n} wd=${wd} step ${step}`, "adamw", 1e-6);
      total += read(pp, n).reduce((a, x) => a + x, 0);
    }
    t.ok(Number.isFinite(total), `adamw n=${n} wd=${wd}: parameters stay finite`);
  });
});

t.test("summary of worst errors: every kernel checked both ways, each within its tolerance", async (t) => {
  t.comment(Object.entries(worst).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join("\n"));
  const fd = Object.keys(worst).filter((k) => k.endsWith(" fd")), twin = Object.keys(worst).filter((k) => !k.endsWith(" fd"));
  for (const k of ["matmul fd", "layernorm fd", "rmsnorm fd", "gelu fd"]) t.ok(k in worst, `${k} was run`);
  t.ok(twin.length >= 10, `${twin.length} kernels compared with their scalar twins`);
  for (const k of fd) t.ok(worst[k] < FD_TOL, `${k}: worst relative error ${worst[k].toExponential(2)} < ${FD_TOL}`);
  for (const k of twin) t.ok(worst[k] <= TOL, `${k}: worst error ${worst[k].toExponential(2)} ≤ ${TOL}`);
});
