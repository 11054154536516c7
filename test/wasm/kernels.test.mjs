// Unit tier: every WebAssembly kernel against its scalar twin
// (test/reference/scalar.mjs) on seeded random inputs, with sizes that are not
// multiples of the SIMD width (4) or of the sgemm blocks (MR=4, NR=8, KC=256,
// MC=64, NC=1024), padded leading dimensions, aliasing, and guard words after
// every output so a write past the end shows up.
import t from "tap";
import { createEngine } from "../../dist/index.js";
import * as ref from "../reference/scalar.mjs";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
const TOL = 1e-5;
const GUARD = 8; // floats of sentinel after each output buffer
const SENTINEL = 12345.5;

const uniform = (r, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
const ints = (r, n, hi) => Int32Array.from({ length: n }, () => Math.floor(r() * hi));
const withGuard = (a) => { const g = new Float32Array(a.length + GUARD).fill(SENTINEL); g.set(a); return g; };
const uploadI32 = (a) => { const p = e.alloc(a.length * 4); e.i32(p, a.length).set(a); return p; };
const read = (p, n) => e.f32(p, n).slice();

/**
 * One assertion: got ≈ want elementwise, |got − want| ≤ tol·max(1, scale_i)
 * with scale_i = |want_i| unless given; NaN matches NaN (untouched sentinels).
 */
function close(t, got, want, msg, scale = null, tol = TOL) {
  if (got.length !== want.length) return t.fail(`${msg}: length ${got.length} ≠ ${want.length}`);
  let bad = 0, first = -1, worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    if (g === w) continue; // also ±Infinity
    const err = Math.abs(g - w) / Math.max(1, scale ? scale[i] : Math.abs(w));
    worst = Math.max(worst, err);
    if (!(err <= tol)) { bad++; if (first < 0) first = i; }
  }
  return t.ok(bad === 0, bad ? `${msg}: ${bad} bad, first [${first}] got ${got[first]} want ${want[first]}` : `${msg} (worst rel err ${worst.toExponential(1)})`);
}


/** Run fn between mark() and reset() so each case starts from the same arena top. */
function scoped(fn) {
  const m = e.mark();
  try { return fn(); } finally { e.reset(m); }
}

t.test("sgemm against the scalar twin", async (t) => {
  const r = rng(1);
  // [M, N, K]: unit sizes, sub-tile, exactly one tile, ragged everywhere,
  // M > MC twice over, K crossing KC with a 1-wide tail, and K > KC with N > NC.
  const shapes = [[1, 1, 1], [1, 8, 4], [4, 8, 256], [1, 37, 1], [37, 1, 5], [5, 3, 1], [9, 16, 257],
    [67, 131, 259], [130, 17, 300], [6, 9, 513], [13, 1031, 263]];
  const flagSets = [
    { bias: false, acc: false, pad: 0 },
    { bias: true, acc: false, pad: 3 },
    { bias: false, acc: true, pad: 5 },
    { bias: true, acc: true, pad: 1 },
  ];
  for (const [M, N, K] of shapes) for (const tA of [false, true]) for (const tB of [false, true]) for (const f of flagSets) scoped(() => {
    // Logical widths: op(A) is [M,K] so A is [M,K] or [K,M]; op(B) is [K,N] so B is [K,N] or [N,K].
    const [aRows, aCols] = tA ? [K, M] : [M, K];
    const [bRows, bCols] = tB ? [N, K] : [K, N];
    const lda = aCols + f.pad, ldb = bCols + 2 * f.pad, ldc = N + f.pad;
    const A = uniform(r, aRows * lda), B = uniform(r, bRows * ldb);
    const bias = f.bias ? uniform(r, N) : null;
    // Without accumulate C starts as NaN: the kernel must not read it. Padding columns must survive either way.
    const C0 = withGuard(f.acc ? uniform(r, M * ldc) : new Float32Array(M * ldc).fill(NaN));
    const pC = e.upload(C0);
    e.k.sgemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, e.upload(A), lda, e.upload(B), ldb, pC, ldc,
      bias ? e.upload(bias) : 0, f.acc ? 1 : 0, e.gemmWork);
    const got = read(pC, C0.length);
    const want = ref.sgemm(tA, tB, M, N, K, A, lda, B, ldb, C0, ldc, bias, f.acc);
    // Tolerance: the float32 error of a K-term dot product is bounded by
    // γ_K·Σ_k|a_ik·b_kj| (Higham, Accuracy and Stability, §3.1), not by |c_ij|,
    // which can cancel to ~0. So the error is measured relative to
    // s_ij = |bias_j| + |C0_ij| + Σ_k|a_ik||b_kj| — the same product on absolute
    // values — at 1e-5, above the typical √K·2⁻²⁴ ≈ 2e-6 for K ≈ 1000 and below
    // anything a wrong index or a dropped block would produce (≥ 1e-2 here).
    const abs = (x) => x && x.map(Math.abs);
    const scale = ref.sgemm(tA, tB, M, N, K, abs(A), lda, abs(B), ldb, abs(C0.map((x) => (Number.isNaN(x) ? 0 : x))), ldc, abs(bias), f.acc);
    close(t, got, want, `M=${M} N=${N} K=${K} transA=${+tA} transB=${+tB} bias=${+f.bias} acc=${+f.acc} pad=${f.pad}`, scale);
  });
});

t.test("sgemm degenerate sizes", async (t) => {
  const r = rng(2);
  scoped(() => {
    const C0 = withGuard(uniform(r, 12));
    const pC = e.upload(C0);
    e.k.sgemm(0, 0, 0, 4, 3, e.upload(uniform(r, 12)), 3, e.upload(uniform(r, 12)), 4, pC, 4, e.upload(uniform(r, 4)), 0, e.gemmWork);
    e.k.sgemm(0, 0, 3, 0, 3, e.upload(uniform(r, 12)), 3, e.upload(uniform(r, 12)), 4, pC, 4, e.upload(uniform(r, 4)), 0, e.gemmWork);
    same(t, read(pC, C0.length), C0, "M=0 or N=0 leaves C alone");
  });
  for (const [bias, acc] of [[false, false], [true, false], [false, true], [true, true]]) scoped(() => {
    const M = 3, N = 5, ldc = 7;
    const C0 = withGuard(uniform(r, M * ldc));
    const b = bias ? uniform(r, N) : null;
    const pC = e.upload(C0);
    e.k.sgemm(0, 0, M, N, 0, e.upload(new Float32Array(4)), 1, e.upload(new Float32Array(4)), N, pC, ldc, b ? e.upload(b) : 0, acc ? 1 : 0, e.gemmWork);
    close(t, read(pC, C0.length), ref.sgemm(false, false, M, N, 0, new Float32Array(0), 1, new Float32Array(0), N, C0, ldc, b, acc),
      `K=0 bias=${+bias} acc=${+acc}: C = bias (+ C)`);
  });
});

t.test("sgemm row splits are bit-identical", async (t) => {
  // matmul.ts promises each element sums over k in the same order whatever rows
  // a call covers, so threads splitting rows reproduce the single call exactly.
  const r = rng(3);
  for (const [M, N, K, split] of [[67, 131, 259, 13], [9, 1031, 300, 4], [70, 9, 5, 65]]) for (const tA of [false, true]) scoped(() => {
    const lda = tA ? M : K;
    const A = e.upload(uniform(r, M * K)), B = e.upload(uniform(r, K * N)), bias = e.upload(uniform(r, N));
    const whole = e.allocF32(M * N), parts = e.allocF32(M * N);
    e.k.sgemm(tA ? 1 : 0, 0, M, N, K, A, lda, B, N, whole, N, bias, 0, e.gemmWork);
    const rowOff = (i) => A + (tA ? i : i * lda) * 4;
    e.k.sgemm(tA ? 1 : 0, 0, split, N, K, rowOff(0), lda, B, N, parts, N, bias, 0, e.gemmWork);
    e.k.sgemm(tA ? 1 : 0, 0, M - split, N, K, rowOff(split), lda, B, N, parts + split * N * 4, N, bias, 0, e.gemmWork);
    same(t, read(parts, M * N), read(whole, M * N), `M=${M} N=${N} K=${K} transA=${+tA} split at row ${split}`);
  });
});

t.test("layernorm and rmsnorm", async (t) => {
  const r = rng(4);
  const eps = Math.fround(1e-5);
  for (const [N, D] of [[1, 1], [3, 5], [7, 64], [2, 131], [5, 1027]]) scoped(() => {
    const x = uniform(r, N * D, -2, 3), w = uniform(r, D, 0.5, 1.5), b = uniform(r, D);
    const px = e.upload(x), pw = e.upload(w), pb = e.upload(b);
    const out = e.upload(withGuard(new Float32Array(N * D))), mean = e.upload(withGuard(new Float32Array(N))), rstd = e.upload(withGuard(new Float32Array(N)));
    e.k.layernorm(out, mean, rstd, px, pw, pb, N, D, eps);
    const want = ref.layernorm(x, w, b, N, D, eps);
    close(t, read(out, N * D + GUARD), withGuard(want.out), `layernorm N=${N} D=${D}`);
    close(t, read(mean, N + GUARD), withGuard(want.mean), `layernorm mean N=${N} D=${D}`);
    // rstd can be ~1/√eps ≈ 316 (D=1: zero variance), so it is compared relatively.
    close(t, read(rstd, N + GUARD), withGuard(want.rstd), `layernorm rstd N=${N} D=${D}`);
    e.k.layernorm(px, 0, 0, px, pw, pb, N, D, eps);
    close(t, read(px, N * D), want.out, `layernorm in place, no mean/rstd N=${N} D=${D}`);

    const out2 = e.upload(withGuard(new Float32Array(N * D))), rstd2 = e.upload(withGuard(new Float32Array(N)));
    const x2 = uniform(r, N * D, -2, 3), px2 = e.upload(x2);
    e.k.rmsnorm(out2, rstd2, px2, pw, N, D, eps);
    const want2 = ref.rmsnorm(x2, w, N, D, eps);
    close(t, read(out2, N * D + GUARD), withGuard(want2.out), `rmsnorm N=${N} D=${D}`);
    close(t, read(rstd2, N + GUARD), withGuard(want2.rstd), `rmsnorm rstd N=${N} D=${D}`);
    e.k.rmsnorm(px2, 0, px2, pw, N, D, eps);
    close(t, read(px2, N * D), want2.out, `rmsnorm in place N=${N} D=${D}`);
  });
});

t.test("gelu and swiglu", async (t) => {
  const r = rng(5);
  for (const n of [1, 3, 4, 5, 17, 1001]) scoped(() => {
    const x = uniform(r, n, -6, 6);
    if (n > 4) x.set([0, -0, 20, -20, 1e-20]); // saturation and tiny values
    const px = e.upload(x), out = e.upload(withGuard(new Float32Array(n)));
    e.k.gelu(out, px, n);
    close(t, read(out, n + GUARD), withGuard(ref.gelu(x)), `gelu n=${n}`);
    e.k.gelu(px, px, n);
    close(t, read(px, n), ref.gelu(x), `gelu in place n=${n}`);

    const g = uniform(r, n, -12, 12), u = uniform(r, n, -3, 3);
    if (n > 4) g.set([-100, 100, 0]); // e^100 overflows f32: silu must still be ≈0 and ≈x
    const pg = e.upload(g), pu = e.upload(u), out2 = e.upload(withGuard(new Float32Array(n)));
    e.k.swiglu(out2, pg, pu, n);
    close(t, read(out2, n + GUARD), withGuard(ref.swiglu(g, u)), `swiglu n=${n}`);
    e.k.swiglu(pg, pg, pu, n);
    close(t, read(pg, n), ref.swiglu(g, u), `swiglu in place n=${n}`);
  });
});

t.test("softmax, logSoftmax, logSumExp, klRows, klLogits", async (t) => {
  const r = rng(6);
  for (const [N, C] of [[1, 1], [2, 3], [4, 50], [3, 1001], [2, 50257]]) scoped(() => {
    const x = uniform(r, N * C, -10, 10);
    const px = e.upload(x), out = e.upload(withGuard(new Float32Array(N * C)));
    e.k.softmax(out, px, N, C);
    close(t, read(out, N * C + GUARD), withGuard(ref.softmax(x, N, C)), `softmax N=${N} C=${C}`);
    e.k.logSoftmax(out, px, N, C);
    const lp = ref.logSoftmax(x, N, C);
    close(t, read(out, N * C + GUARD), withGuard(lp), `logSoftmax N=${N} C=${C}`);
    e.k.softmax(px, px, N, C);
    close(t, read(px, N * C), ref.softmax(x, N, C), `softmax in place N=${N} C=${C}`);

    const lq = ref.logSoftmax(uniform(r, N * C, -10, 10), N, C);
    const kl = e.alloc((N + 1) * 8);
    e.f64(kl, N + 1).fill(SENTINEL);
    e.k.klRows(kl, e.upload(lp), e.upload(lq), N, C);
    close(t, e.f64(kl, N + 1).slice(), Float64Array.from([...ref.klRows(lp, lq, N, C), SENTINEL]), `klRows N=${N} C=${C}`);
    e.k.klRows(kl, e.upload(lp), e.upload(lp), N, C);
    close(t, e.f64(kl, N).slice(), new Float64Array(N), `klRows(p, p) = 0 N=${N} C=${C}`);
    // logSumExp: x − lse is logSoftmax(x) to the bit.
    const clean = uniform(r, N * C, -30, 30), pc = e.upload(clean), lse = e.upload(withGuard(new Float32Array(N)));
    e.k.logSumExp(lse, pc, N, C);
    const lseV = read(lse, N + GUARD), lpc = e.upload(new Float32Array(N * C));
    e.k.logSoftmax(lpc, pc, N, C);
    const lpcV = read(lpc, N * C);
    t.ok(lpcV.every((v, i) => Object.is(v, Math.fround(clean[i] - lseV[Math.floor(i / C)]))) && lseV[N] === SENTINEL, `logSumExp: x − lse = logSoftmax(x) bit for bit N=${N} C=${C}`);
    // klLogits: klRows against logSoftmax(logits) without storing it, to the bit; logits far from log-probabilities too;
    // p given as log-probabilities, or as logits with their rows' logsumexp.
    const logits = uniform(r, N * C, -30, 30), pl = e.upload(logits), lqk = e.upload(new Float32Array(N * C));
    e.k.logSoftmax(lqk, pl, N, C);
    for (const [what, p, shift, lpRef] of [["log-probabilities", e.upload(lp), 0, lp], ["logits and logsumexp", pc, lse, lpcV]]) {
      e.k.klRows(kl, e.upload(lpRef), lqk, N, C);
      const two = e.f64(kl, N).slice();
      e.f64(kl, N + 1).fill(SENTINEL);
      e.k.klLogits(kl, p, shift, pl, N, C);
      const fused = e.f64(kl, N + 1).slice();
      t.ok(two.every((v, i) => Object.is(v, fused[i])) && fused[N] === SENTINEL, `klLogits (p as ${what}) = klRows(logSoftmax) bit for bit N=${N} C=${C}`);
      close(t, fused.subarray(0, N), ref.klRows(lpRef, ref.logSoftmax(logits, N, C), N, C), `klLogits (p as ${what}) against the scalar reference N=${N} C=${C}`);
    }
  });
});

t.test("attention against the scalar twin", async (t) => {
  const r = rng(7);
  // [B, T, H, Hkv, Dh, h0, h1]: T=1, GQA and MQA grouping, Dh not a multiple of 4, head sub-ranges.
  const cases = [[1, 1, 1, 1, 1, 0, 1], [2, 1, 3, 3, 7, 0, 3], [2, 5, 4, 4, 8, 0, 4], [1, 7, 6, 2, 5, 1, 5],
    [3, 9, 4, 1, 12, 2, 3], [1, 33, 2, 2, 64, 0, 2], [2, 12, 4, 2, 6, 3, 4]];
  for (const [B, T, H, Hkv, Dh, h0, h1] of cases) scoped(() => {
    const q = uniform(r, B * T * H * Dh, -2, 2), k = uniform(r, B * T * Hkv * Dh, -2, 2), v = uniform(r, B * T * Hkv * Dh);
    const scale = Math.fround(1 / Math.sqrt(Dh));
    // NaN everywhere first: heads outside [h0,h1) must stay NaN, masked entries must be written as 0.
    const z0 = withGuard(new Float32Array(B * T * H * Dh).fill(NaN)), p0 = withGuard(new Float32Array(B * H * T * T).fill(NaN));
    const pz = e.upload(z0), pp = e.upload(p0);
    e.k.attention(pz, pp, e.upload(q), e.upload(k), e.upload(v), B, T, H, Hkv, Dh, scale, h0, h1, 1);
    const want = ref.attention(q, k, v, B, T, H, Hkv, Dh, scale, h0, h1, z0, p0);
    const tag = `B=${B} T=${T} H=${H} Hkv=${Hkv} Dh=${Dh} heads [${h0},${h1})`;
    const pat = read(pp, p0.length);
    close(t, read(pz, z0.length), want.z, `z ${tag}`);
    close(t, pat, want.pattern, `pattern ${tag}`);
    let masked = true, rowSum = 0;
    for (let b = 0; b < B; b++) for (let h = h0; h < h1; h++) for (let i = 0; i < T; i++) {
      let s = 0;
      for (let j = 0; j < T; j++) { const p = pat[((b * H + h) * T + i) * T + j]; if (j > i && p !== 0) masked = false; s += p; }
      rowSum = Math.max(rowSum, Math.abs(s - 1));
    }
    t.ok(masked && rowSum < 1e-5, `pattern ${tag}: future entries exactly 0, rows sum to 1 (max |Σ−1| ${rowSum.toExponential(1)})`);
  });
});

t.test("attention is causal: changing a later position leaves earlier rows bit-identical", async (t) => {
  const r = rng(8);
  for (const [B, T, H, Hkv, Dh, changed] of [[1, 6, 2, 2, 8, 5], [2, 9, 4, 2, 5, 3], [1, 4, 3, 1, 16, 1]]) scoped(() => {
    const nq = B * T * H * Dh, nk = B * T * Hkv * Dh;
    const run = (q, k, v) => {
      const z = e.allocF32(nq), p = e.allocF32(B * H * T * T);
      e.k.attention(z, p, e.upload(q), e.upload(k), e.upload(v), B, T, H, Hkv, Dh, Math.fround(1 / Math.sqrt(Dh)), 0, H, 1);
      return { z: read(z, nq), p: read(p, B * H * T * T) };
    };
    const q = uniform(r, nq), k = uniform(r, nk), v = uniform(r, nk);
    const base = run(q, k, v);
    // Perturb q, k, v at positions ≥ `changed` in every batch row.
    const q2 = q.slice(), k2 = k.slice(), v2 = v.slice();
    for (let b = 0; b < B; b++) for (let s = changed; s < T; s++) {
      for (let i = 0; i < H * Dh; i++) q2[(b * T + s) * H * Dh + i] += 1 + r();
      for (let i = 0; i < Hkv * Dh; i++) { k2[(b * T + s) * Hkv * Dh + i] -= 1 + r(); v2[(b * T + s) * Hkv * Dh + i] += 3; }
    }
    const moved = run(q2, k2, v2);
    const zRows = (z) => Float32Array.from({ length: B * changed * H * Dh }, (_, i) => z[(Math.floor(i / (changed * H * Dh)) * T) * H * Dh + (i % (changed * H * Dh))]);
    const pRows = (p) => Float32Array.from({ length: B * H * changed * T }, (_, i) => {
      const bh = Math.floor(i / (changed * T)), rest = i % (changed * T);
      return p[bh * T * T + rest];
    });
    same(t, zRows(moved.z), zRows(base.z), `z at t < ${changed} unchanged (B=${B} T=${T} H=${H} Hkv=${Hkv})`);
    same(t, pRows(moved.p), pRows(base.p), `pattern rows t < ${changed} unchanged`);
    t.not(moved.z[(T - 1) * H * Dh], base.z[(T - 1) * H * Dh], "the changed position's output did change");
  });
});

t.test("attention head ranges are bit-identical to all heads at once", async (t) => {
  const r = rng(9);
  scoped(() => {
    const B = 2, T = 7, H = 6, Hkv = 3, Dh = 9, scale = Math.fround(1 / 3);
    const q = e.upload(uniform(r, B * T * H * Dh)), k = e.upload(uniform(r, B * T * Hkv * Dh)), v = e.upload(uniform(r, B * T * Hkv * Dh));
    const z1 = e.allocF32(B * T * H * Dh), p1 = e.allocF32(B * H * T * T), z2 = e.allocF32(B * T * H * Dh), p2 = e.allocF32(B * H * T * T);
    e.k.attention(z1, p1, q, k, v, B, T, H, Hkv, Dh, scale, 0, H, 1);
    for (const [h0, h1] of [[0, 1], [1, 4], [4, 6]]) e.k.attention(z2, p2, q, k, v, B, T, H, Hkv, Dh, scale, h0, h1, 1);
    same(t, read(z2, B * T * H * Dh), read(z1, B * T * H * Dh), "z from head ranges [0,1) [1,4) [4,6)");
    same(t, read(p2, B * H * T * T), read(p1, B * H * T * T), "pattern from head ranges");
  });
});

t.test("bidirectional attention (causal = 0) against the scalar twin", async (t) => {
  const r = rng(11);
  for (const [B, T, H, Hkv, Dh] of [[1, 1, 1, 1, 3], [2, 6, 4, 2, 5], [1, 9, 3, 3, 12]]) scoped(() => {
    const q = uniform(r, B * T * H * Dh, -2, 2), k = uniform(r, B * T * Hkv * Dh, -2, 2), v = uniform(r, B * T * Hkv * Dh);
    const scale = Math.fround(1 / Math.sqrt(Dh));
    const pz = e.allocF32(B * T * H * Dh), pp = e.allocF32(B * H * T * T);
    e.k.attention(pz, pp, e.upload(q), e.upload(k), e.upload(v), B, T, H, Hkv, Dh, scale, 0, H, 0);
    const want = ref.attention(q, k, v, B, T, H, Hkv, Dh, scale, 0, H, undefined, undefined, false);
    const tag = `B=${B} T=${T} H=${H} Hkv=${Hkv} Dh=${Dh}`;
    close(t, read(pz, B * T * H * Dh), want.z, `z ${tag}`);
    const pat = read(pp, B * H * T * T);
    close(t, pat, want.pattern, `pattern ${tag}`);
    if (T > 1) t.ok(pat[1] > 0, "query 0 attends to key 1 (no mask)");
  });
});

t.test("rope", async (t) => {
  const r = rng(10);
  for (const [B, T, Hx, Dh, h0, h1] of [[1, 1, 1, 2, 0, 1], [2, 5, 3, 6, 1, 3], [1, 7, 4, 10, 0, 4], [2, 3, 2, 64, 1, 2]]) scoped(() => {
    const half = Dh / 2;
    const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
    for (let p = 0; p < T; p++) for (let i = 0; i < half; i++) {
      const ang = p * 10000 ** (-(2 * i) / Dh);
      cos[p * half + i] = Math.cos(ang); sin[p * half + i] = Math.sin(ang);
    }
    const x = withGuard(uniform(r, B * T * Hx * Dh, -2, 2));
    const px = e.upload(x);
    e.k.rope(px, e.upload(cos), e.upload(sin), B, T, Hx, Dh, h0, h1);
    close(t, read(px, x.length), ref.rope(x, cos, sin, B, T, Hx, Dh, h0, h1), `rope B=${B} T=${T} Hx=${Hx} Dh=${Dh} heads [${h0},${h1})`);
  });
});

t.test("elementwise: add, sub, axpy, lerp, fill, addDiff", async (t) => {
  const r = rng(11);
  for (const n of [0, 1, 3, 4, 5, 8, 13, 1001]) scoped(() => {
    const a = uniform(r, n, -3, 3), b = uniform(r, n, -3, 3), c = uniform(r, n, -3, 3);
    const pa = e.upload(withGuard(a)), pb = e.upload(withGuard(b)), pc = e.upload(withGuard(c));
    const out = () => e.upload(withGuard(new Float32Array(n)));
    const check = (p, want, msg) => close(t, read(p, n + GUARD), withGuard(want), `${msg} n=${n}`);
    let o = out(); e.k.add(o, pa, pb, n); check(o, ref.add(a, b), "add");
    o = out(); e.k.sub(o, pa, pb, n); check(o, ref.sub(a, b), "sub");
    o = out(); e.k.lerp(o, pa, pb, 0.3, n); check(o, ref.lerp(a, b, 0.3), "lerp");
    o = out(); e.k.fill(o, -1.5, n); check(o, ref.fill(n, -1.5), "fill");
    o = out(); e.k.addDiff(o, pa, pb, pc, n); check(o, ref.addDiff(a, b, c), "addDiff");
    o = e.upload(withGuard(c)); e.k.axpy(o, -0.7, pa, n); check(o, ref.axpy(c, -0.7, a), "axpy");
    // Aliased output: out = a.
    e.k.add(pa, pa, pb, n); check(pa, ref.add(a, b), "add in place");
    e.k.addDiff(pb, pb, pc, pb, n); check(pb, ref.addDiff(b, c, b), "addDiff aliasing base and b");
  });
});

t.test("addBias, sumSlices, batchMean", async (t) => {
  const r = rng(12);
  for (const [N, D] of [[1, 1], [3, 5], [4, 16], [7, 131]]) scoped(() => {
    const x = withGuard(uniform(r, N * D)), bias = uniform(r, D);
    const px = e.upload(x);
    e.k.addBias(px, e.upload(bias), N, D);
    close(t, read(px, x.length), ref.addBias(x, bias, N, D), `addBias N=${N} D=${D}`);
  });
  for (const [N, S, D] of [[1, 1, 1], [3, 4, 5], [2, 12, 33], [5, 3, 8]]) for (const acc of [false, true]) scoped(() => {
    const src = uniform(r, N * S * D), o0 = withGuard(acc ? uniform(r, N * D) : new Float32Array(N * D).fill(NaN));
    const po = e.upload(o0);
    e.k.sumSlices(po, e.upload(src), N, S, D, acc ? 1 : 0);
    close(t, read(po, o0.length), ref.sumSlices(o0, src, N, S, D, acc), `sumSlices N=${N} S=${S} D=${D} acc=${+acc}`);
  });
  for (const [B, T, D] of [[1, 1, 1], [3, 5, 7], [8, 12, 33], [2, 1, 1031]]) scoped(() => {
    const x = uniform(r, B * T * D), po = e.upload(withGuard(new Float32Array(T * D)));
    e.k.batchMean(po, e.upload(x), B, T, D);
    close(t, read(po, T * D + GUARD), withGuard(ref.batchMean(x, B, T, D)), `batchMean B=${B} T=${T} D=${D}`);
  });
});

t.test("embed and gatherRows", async (t) => {
  const r = rng(13);
  for (const [B, T, D, V] of [[1, 1, 1, 1], [2, 5, 7, 11], [3, 4, 32, 50], [1, 9, 130, 3]]) for (const pos of [false, true]) scoped(() => {
    const tok = ints(r, B * T, V), WE = uniform(r, V * D), W = pos ? uniform(r, T * D) : null;
    const po = e.upload(withGuard(new Float32Array(B * T * D)));
    e.k.embed(po, uploadI32(tok), e.upload(WE), W ? e.upload(W) : 0, B, T, D);
    close(t, read(po, B * T * D + GUARD), withGuard(ref.embed(tok, WE, W, B, T, D)), `embed B=${B} T=${T} D=${D} V=${V} pos=${+pos}`);
  });
  for (const [rowsIn, R, D] of [[1, 1, 1], [5, 9, 3], [40, 6, 33]]) scoped(() => {
    const x = uniform(r, rowsIn * D), rows = ints(r, R, rowsIn);
    const po = e.upload(withGuard(new Float32Array(R * D)));
    e.k.gatherRows(po, e.upload(x), uploadI32(rows), R, D);
    close(t, read(po, R * D + GUARD), withGuard(ref.gatherRows(x, rows, R, D)), `gatherRows R=${R} D=${D} from ${rowsIn} rows`);
  });
});

t.test("arena is back where it started", async (t) => {
  const m = e.mark();
  scoped(() => e.allocF32(1000));
  t.equal(e.mark(), m, "mark/reset restore the arena top");
});
