// Unit tier: SGEMM on a pre-packed B (packB, sgemmPacked), 16-bit weights
// (bf16/f16 B in sgemm and packB, a 16-bit token table in embed, widen16),
// and their thread splits. The packed path must give the bits of sgemm on
// the same operands; a 16-bit B those of the f32 B it widens to; every
// widening the bits of the formats' definitions (test/reference/scalar.mjs
// halfToF32, on all 65536 values). Shapes cross every block edge of
// assembly/matmul.ts: MR=4, NR=8, KC=256, KCP=1024, MC=64, NC=1024, and
// sgemmPacked's column blocks of NCP_FLOATS/K columns past 16 rows.
import t from "tap";
import { createEngine } from "../../dist/index.js";
import * as ref from "../reference/scalar.mjs";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
const uniform = (r, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
const read = (eng, p, n) => eng.f32(p, n).slice();
const u16 = (eng, p, n) => new Uint16Array(eng.memory.buffer, p, n);
function upload16(eng, a) { const p = eng.alloc(a.length * 2); u16(eng, p, a.length).set(a); return p; }
function scoped(eng, fn) { const m = eng.mark(); try { return fn(); } finally { eng.reset(m); } }

/** n random 16-bit patterns of a format: mostly ordinary weights, some subnormals, zeros, ±inf, NaNs. */
function weights16(r, n, format) {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const u = r(), sign = r() < 0.5 ? 0x8000 : 0;
    let h;
    if (format === 1) h = u < 0.97 ? 0x3a00 + Math.floor(r() * 0x600) : Math.floor(r() * 0x80); // |w| in [2^-11, 2), or subnormal
    else h = u < 0.9 ? 0x1c00 + Math.floor(r() * 0x2000) : Math.floor(r() * 0x400); // |w| in [2^-8, 2), or subnormal
    out[i] = h | sign;
  }
  return out;
}

t.test("widen16: every bf16 and f16 value, bit for bit", async (t) => {
  scoped(e, () => {
    const n = 65536, all = Uint16Array.from({ length: n }, (_, i) => i);
    const src = upload16(e, all), out = e.allocF32(n + 8);
    for (const format of [1, 2]) {
      e.k.fill(out, 12345.5, n + 8);
      // An odd length: the SIMD body and the scalar tail both run.
      e.k.widen16(out, src, n - 5, format);
      e.k.widen16(out + (n - 5) * 4, src + (n - 5) * 2, 5, format);
      const got = new Uint32Array(read(e, out, n + 8).buffer), want = new Uint32Array(ref.widen16(all, format).buffer);
      let bad = 0, first = -1;
      for (let h = 0; h < n; h++) if (got[h] !== want[h]) { bad++; if (first < 0) first = h; }
      t.equal(bad, 0, `${format === 1 ? "bf16" : "f16"}: ${n} values${bad ? `, first bad 0x${first.toString(16)}: 0x${got[first].toString(16)} vs 0x${want[first].toString(16)}` : ""}`);
      t.equal(read(e, out + n * 4, 8).every((x) => x === 12345.5), true, "nothing written past n");
    }
    // Spot values from the definitions: f16 0x0001 = 2^-24, 0x03ff (largest subnormal), 0x0400 = 2^-14, 0x7bff = 65504, 0x7c00 = inf, 0xfc00 = -inf, 0x8000 = -0.
    const f16 = ref.widen16(Uint16Array.from([0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x3c00]), 2);
    t.same([...f16], [2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity, -0, 1], "f16 reference spot values");
  });
});

t.test("packB writes the panel layout of the scalar twin", async (t) => {
  const r = rng(11);
  for (const [K, N] of [[1, 1], [3, 8], [5, 9], [257, 17], [6, 1031], [1025, 12], [4, 2050]]) for (const tB of [false, true]) for (const format of [0, 1, 2]) scoped(e, () => {
    const ldb = (tB ? K : N) + 3, len = (tB ? N : K) * ldb;
    const B16 = format ? weights16(r, len, format) : null;
    const B32 = format ? ref.widen16(B16, format) : uniform(r, len);
    const pB = format ? upload16(e, B16) : e.upload(B32);
    const floats = e.k.packedBFloats(K, N);
    t.equal(floats, Math.ceil(N / 8) * 8 * K, `packedBFloats(${K}, ${N})`);
    const Bp = e.allocF32(floats + 8);
    e.k.fill(Bp, 12345.5, floats + 8);
    e.k.packB(Bp, pB, ldb, tB ? 1 : 0, K, N, format);
    const want = ref.packB(B32, ldb, tB, K, N);
    same(t, read(e, Bp, floats), want, `K=${K} N=${N} transB=${+tB} format=${format}`);
    t.ok(read(e, Bp + floats * 4, 8).every((x) => x === 12345.5), "nothing written past the packed size");
  });
});

// Shapes [M, N, K]: unit sizes, 1–3-row edge tiles, K across KC and KCP with
// 1-wide tails, N across NR and NC, M across MC; past 16 rows, N across
// sgemmPacked's column blocks (K=1300: 32 columns; K=300: 160).
const SHAPES = [[1, 1, 1], [1, 8, 4], [2, 9, 5], [3, 17, 257], [5, 1031, 300], [10, 2049, 770], [16, 40, 1025],
  [67, 131, 259], [130, 17, 33], [4, 8, 1300], [1, 1030, 2], [67, 131, 1300], [20, 700, 300]];
const FLAGS = [[false, false, 0], [true, false, 3], [false, true, 1], [true, true, 5]]; // bias, accumulate, padding

t.test("sgemmPacked gives sgemm's bits (and the scalar twin's values)", async (t) => {
  const r = rng(12);
  for (const [M, N, K] of SHAPES) for (const tA of [false, true]) for (const tB of [false, true]) for (const [bias, acc, pad] of FLAGS) scoped(e, () => {
    const lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
    const A = uniform(r, (tA ? K : M) * lda), B = uniform(r, (tB ? N : K) * ldb), b = bias ? uniform(r, N) : null;
    const C0 = uniform(r, M * ldc + 8);
    const pA = e.upload(A), pB = e.upload(B), pb = b ? e.upload(b) : 0;
    const C1 = e.upload(C0), C2 = e.upload(C0);
    e.k.sgemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, pA, lda, pB, ldb, C1, ldc, pb, acc ? 1 : 0, e.gemmWork);
    const Bp = e.allocF32(e.k.packedBFloats(K, N));
    e.k.packB(Bp, pB, ldb, tB ? 1 : 0, K, N, 0);
    e.k.sgemmPacked(tA ? 1 : 0, M, N, K, pA, lda, Bp, C2, ldc, pb, acc ? 1 : 0);
    const name = `M=${M} N=${N} K=${K} transA=${+tA} transB=${+tB} bias=${+bias} acc=${+acc} pad=${pad}`;
    const got = read(e, C2, C0.length);
    same(t, got, read(e, C1, C0.length), name);
    if (tB || pad !== 1) return; // the values once per shape and flag set
    const want = ref.sgemm(tA, tB, M, N, K, A, lda, B, ldb, C0, ldc, b, acc);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
    t.ok(worst < 1e-4 * Math.sqrt(K + 1), `${name}: vs the float64 twin, worst error ${worst.toExponential(1)}`);
  });
});

t.test("sgemmPacked: column chunks (whole panels from packedBOffset) and row chunks give the whole call's bits", async (t) => {
  const r = rng(13);
  for (const [M, N, K, cuts] of [[10, 2049, 300, [16, 1032, 2000]], [67, 131, 1300, [8, 64]], [3, 40, 5, [8, 24, 32]]]) for (const tA of [false, true]) scoped(e, () => {
    const lda = tA ? M : K;
    const pA = e.upload(uniform(r, M * K)), pB = e.upload(uniform(r, K * N)), pb = e.upload(uniform(r, N));
    const Bp = e.allocF32(e.k.packedBFloats(K, N));
    e.k.packB(Bp, pB, N, 0, K, N, 0);
    const whole = e.allocF32(M * N), cols = e.allocF32(M * N), rows = e.allocF32(M * N);
    e.k.sgemmPacked(tA ? 1 : 0, M, N, K, pA, lda, Bp, whole, N, pb, 0);
    const edges = [0, ...cuts, N];
    for (let i = 0; i + 1 < edges.length; i++) {
      const j0 = edges[i], j1 = edges[i + 1];
      t.equal(e.k.packedBOffset(j0, K), j0 * K, `packedBOffset(${j0}, ${K})`);
      e.k.sgemmPacked(tA ? 1 : 0, M, j1 - j0, K, pA, lda, Bp + e.k.packedBOffset(j0, K) * 4, cols + j0 * 4, N, pb + j0 * 4, 0);
    }
    const split = Math.min(M - 1, 4 * Math.ceil(M / 8));
    const rowA = (i) => pA + (tA ? i : i * lda) * 4;
    e.k.sgemmPacked(tA ? 1 : 0, split, N, K, rowA(0), lda, Bp, rows, N, pb, 0);
    e.k.sgemmPacked(tA ? 1 : 0, M - split, N, K, rowA(split), lda, Bp, rows + split * N * 4, N, pb, 0);
    same(t, read(e, cols, M * N), read(e, whole, M * N), `M=${M} N=${N} K=${K} transA=${+tA}: columns cut at ${cuts}`);
    same(t, read(e, rows, M * N), read(e, whole, M * N), `M=${M} N=${N} K=${K} transA=${+tA}: rows cut at ${split}`);
  });
});

t.test("16-bit B: sgemm and sgemmPacked give the bits of the widened f32 B", async (t) => {
  const r = rng(14);
  for (const [M, N, K] of [[1, 1, 1], [2, 9, 5], [5, 1031, 300], [10, 77, 1025], [67, 20, 259], [3, 2050, 7]]) for (const tB of [false, true]) for (const format of [1, 2]) scoped(e, () => {
    const lda = K + 1, ldb = (tB ? K : N) + 3, ldc = N + 2, len = (tB ? N : K) * ldb;
    const B16 = weights16(r, len, format), B32 = ref.widen16(B16, format);
    const pA = e.upload(uniform(r, M * lda)), pb = e.upload(uniform(r, N));
    const p16 = upload16(e, B16), p32 = e.upload(B32);
    const C0 = uniform(r, M * ldc);
    const want = e.upload(C0), got = e.upload(C0), gotP = e.upload(C0);
    e.k.sgemm(0, tB ? 1 : 0, M, N, K, pA, lda, p32, ldb, want, ldc, pb, 1, e.gemmWork, 0);
    e.k.sgemm(0, tB ? 1 : 0, M, N, K, pA, lda, p16, ldb, got, ldc, pb, 1, e.gemmWork, format);
    const Bp = e.allocF32(e.k.packedBFloats(K, N));
    e.k.packB(Bp, p16, ldb, tB ? 1 : 0, K, N, format);
    e.k.sgemmPacked(0, M, N, K, pA, lda, Bp, gotP, ldc, pb, 1);
    const name = `M=${M} N=${N} K=${K} transB=${+tB} ${format === 1 ? "bf16" : "f16"}`;
    same(t, read(e, got, C0.length), read(e, want, C0.length), `sgemm ${name}`);
    same(t, read(e, gotP, C0.length), read(e, want, C0.length), `sgemmPacked ${name}`);
  });
});

t.test("embed from a 16-bit table: the f32 table's bits, and the scalar twin", async (t) => {
  const r = rng(15);
  for (const [B, T, D, V] of [[1, 1, 1, 1], [2, 5, 7, 11], [3, 4, 33, 50]]) for (const pos of [false, true]) for (const format of [1, 2]) scoped(e, () => {
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * V));
    const pt = e.alloc(tokens.length * 4);
    e.i32(pt, tokens.length).set(tokens);
    const W16 = weights16(r, V * D, format), W32 = ref.widen16(W16, format);
    const posW = pos ? uniform(r, T * D) : null, pp = posW ? e.upload(posW) : 0;
    const out16 = e.allocF32(B * T * D), out32 = e.allocF32(B * T * D);
    e.k.embed(out16, pt, upload16(e, W16), pp, B, T, D, format);
    e.k.embed(out32, pt, e.upload(W32), pp, B, T, D);
    const name = `B=${B} T=${T} D=${D} pos=${+pos} ${format === 1 ? "bf16" : "f16"}`;
    same(t, read(e, out16, B * T * D), read(e, out32, B * T * D), name);
    same(t, read(e, out16, B * T * D), ref.embed(tokens, W32, posW, B, T, D), `${name}: scalar twin`);
  });
});

t.test("thread splits: 2 threads, every call split, give one thread's bits", async (t) => {
  const two = await createEngine({ threads: 2, splitSmallCalls: true });
  t.teardown(() => two.dispose());
  const r = rng(16);
  // Each case lays out its inputs identically on both engines and returns the output.
  const cases = [];
  for (const [M, N, K] of [[10, 2049, 300], [67, 131, 259], [3, 40, 1025], [130, 9, 5]]) for (const tA of [0, 1]) for (const tB of [0, 1]) {
    const lda = tA ? M : K, ldb = tB ? K : N;
    const A = uniform(r, M * K), B = uniform(r, K * N), bias = uniform(r, N), C0 = uniform(r, M * N);
    const B16 = weights16(r, K * N, 2);
    cases.push([`sgemmPacked M=${M} N=${N} K=${K} transA=${tA} transB=${tB}`, (eng) => {
      const pB = eng.upload(B), Bp = eng.allocF32(eng.k.packedBFloats(K, N)), C = eng.upload(C0);
      eng.k.packB(Bp, pB, ldb, tB, K, N, 0);
      eng.k.sgemmPacked(tA, M, N, K, eng.upload(A), lda, Bp, C, N, eng.upload(bias), 1);
      return [read(eng, Bp, eng.k.packedBFloats(K, N)), read(eng, C, M * N)];
    }]);
    cases.push([`sgemm f16 B M=${M} N=${N} K=${K} transA=${tA} transB=${tB}`, (eng) => {
      const C = eng.upload(C0);
      eng.k.sgemm(tA, tB, M, N, K, eng.upload(A), lda, upload16(eng, B16), ldb, C, N, eng.upload(bias), 0, eng.gemmWork, 2);
      return [read(eng, C, M * N)];
    }]);
    cases.push([`packB bf16 K=${K} N=${N} transB=${tB}`, (eng) => {
      const Bp = eng.allocF32(eng.k.packedBFloats(K, N));
      eng.k.packB(Bp, upload16(eng, weights16(rng(M + N + K), K * N, 1)), ldb, tB, K, N, 1);
      return [read(eng, Bp, eng.k.packedBFloats(K, N))];
    }]);
  }
  {
    const [B, T, D, V] = [5, 7, 33, 20];
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * V)), W16 = weights16(r, V * D, 1), posW = uniform(r, T * D);
    cases.push(["embed bf16 table", (eng) => {
      const pt = eng.alloc(tokens.length * 4), out = eng.allocF32(B * T * D);
      eng.i32(pt, tokens.length).set(tokens);
      eng.k.embed(out, pt, upload16(eng, W16), eng.upload(posW), B, T, D, 1);
      return [read(eng, out, B * T * D)];
    }]);
  }
  {
    const n = 1001, x = uniform(r, n, -10, 10), h = weights16(r, n, 2);
    for (const name of ["tanh", "exp", "gelu"]) cases.push([name, (eng) => {
      const out = eng.allocF32(n);
      eng.k[name](out, eng.upload(x), n);
      return [read(eng, out, n)];
    }]);
    cases.push(["widen16 f16", (eng) => {
      const out = eng.allocF32(n);
      eng.k.widen16(out, upload16(eng, h), n, 2);
      return [read(eng, out, n)];
    }]);
  }
  for (const [name, run] of cases) {
    const want = scoped(e, () => run(e)), got = scoped(two, () => run(two));
    got.forEach((g, i) => same(t, g, want[i], `${name}${got.length > 1 ? ` (output ${i})` : ""}`));
  }
});

t.test("Engine.packB / gemmPacked: the bits of Engine.gemm", async (t) => {
  const r = rng(17);
  scoped(e, () => {
    const [M, N, K] = [10, 1001, 300];
    const A = e.upload(uniform(r, M * K)), B16 = upload16(e, weights16(r, N * K, 1)), bias = e.upload(uniform(r, N));
    const C1 = e.allocF32(M * N), C2 = e.allocF32(M * N);
    e.gemm(M, N, K, A, K, B16, K, C1, N, { transB: true, bias, format: "bf16" });
    const Bp = e.packB(K, N, B16, K, { transB: true, format: "bf16" });
    e.gemmPacked(M, N, K, A, K, Bp, C2, N, { bias });
    same(t, read(e, C2, M * N), read(e, C1, M * N), "W_Eᵀ-style bf16 B [N,K], packed once");
  });
});
