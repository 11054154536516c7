// Unit tier: the kernels a model stored with packed weights runs on. A
// matrix X packed once by packB serves (a) forward products reading a band
// of its rows (sgemmPacked's ldp: one head's rows of W_O), (b) products with
// its transpose (sgemm's PACKED_T B: dx = dy·Xᵀ, X's 8×8 blocks transposed
// while packing), and (c) embedding lookups when X is a tied W_U = W_Eᵀ
// (embed's PACKED_T table). Each must give the bits of the same call on the
// row-major matrix, alone and split over 2 threads. Shapes cross the
// blocks of assembly/matmul.ts: NR=8, KC=256, MC=64, NC=1024, and 8-lane
// tails of K.
import t from "tap";
import { createEngine } from "../../dist/index.js";
import { createTestEngine } from "../../dist/wasm/engine.js";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
const uniform = (r, n) => Float32Array.from({ length: n }, () => 2 * r() - 1);
const read = (eng, p, n) => eng.f32(p, n).slice();
function scoped(eng, fn) { const m = eng.mark(); try { return fn(); } finally { eng.reset(m); } }
const PACKED_T = 3;

// [rows, cols] of X, then the band the call reads: rows n0..n0+N, cols k0..k0+K (k0 a multiple of 8), and M.
const T_CASES = [
  [1, 1, 0, 1, 0, 1, 1], [9, 5, 0, 9, 0, 5, 3], [17, 20, 3, 13, 8, 12, 5], [40, 300, 0, 40, 0, 300, 10],
  [1100, 70, 5, 1090, 16, 50, 7], [33, 1030, 0, 33, 256, 774, 66], [64, 515, 8, 48, 0, 515, 130], [8, 8, 0, 8, 0, 8, 1],
];

t.test("sgemm with a PACKED_T B gives the bits of transB on the row-major matrix", async (t) => {
  const r = rng(41);
  for (const [rows, cols, n0, N, k0, K, M] of T_CASES) for (const acc of [0, 1]) scoped(e, () => {
    const X = uniform(r, rows * cols), A = uniform(r, M * K), C0 = uniform(r, M * N);
    const pX = e.upload(X), pA = e.upload(A);
    const Xp = e.packB(rows, cols, pX, cols); // panels over X's columns, each [rows][8], as a weight [K, N] is stored
    const C1 = e.upload(C0), C2 = e.upload(C0);
    e.gemm(M, N, K, pA, K, pX + (n0 * cols + k0) * 4, cols, C1, N, { transB: true, accumulate: !!acc });
    e.gemmPackedT(M, N, K, pA, K, Xp + (k0 * rows + 8 * n0) * 4, rows, C2, N, { accumulate: !!acc });
    same(t, read(e, C2, M * N), read(e, C1, M * N), `X [${rows}, ${cols}] rows ${n0}+${N} cols ${k0}+${K}, M=${M}, accumulate=${acc}`);
  });
});

t.test("sgemmPacked over a band of a packed matrix's rows (ldp) gives the row-major call's bits", async (t) => {
  const r = rng(42);
  for (const [Kfull, N, k0, K, M] of [[8, 8, 0, 8, 1], [192, 768, 64, 64, 10], [300, 33, 7, 250, 5], [1300, 20, 100, 1100, 67], [12, 1031, 4, 4, 3]]) scoped(e, () => {
    const W = uniform(r, Kfull * N), A = uniform(r, M * K), bias = uniform(r, N);
    const pW = e.upload(W), pA = e.upload(A), pb = e.upload(bias);
    const Wp = e.packB(Kfull, N, pW, N);
    const C1 = e.allocF32(M * N), C2 = e.allocF32(M * N);
    e.gemm(M, N, K, pA, K, pW + k0 * N * 4, N, C1, N, { bias: pb });
    e.gemmPacked(M, N, K, pA, K, Wp + k0 * 32, C2, N, { bias: pb, rows: Kfull });
    same(t, read(e, C2, M * N), read(e, C1, M * N), `W [${Kfull}, ${N}] rows ${k0}+${K}, M=${M}`);
  });
});

t.test("embed from a tied W_U packed (PACKED_T): the bits of the row-major W_E", async (t) => {
  const r = rng(43);
  for (const [B, T, D, V] of [[1, 1, 1, 1], [2, 5, 7, 11], [3, 4, 33, 50], [2, 3, 16, 8]]) for (const pos of [false, true]) scoped(e, () => {
    const WE = uniform(r, V * D), posW = pos ? e.upload(uniform(r, T * D)) : 0;
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * V));
    const pt = e.alloc(tokens.length * 4);
    e.i32(pt, tokens.length).set(tokens);
    const pE = e.upload(WE);
    const WUp = e.packB(D, V, pE, D, { transB: true }); // W_U = W_Eᵀ [D, V]
    const a = e.allocF32(B * T * D), b = e.allocF32(B * T * D);
    e.k.embed(a, pt, pE, posW, B, T, D, 0);
    e.k.embed(b, pt, WUp, posW, B, T, D, PACKED_T);
    same(t, read(e, b, B * T * D), read(e, a, B * T * D), `B=${B} T=${T} D=${D} V=${V} positions=${pos}`);
  });
});

t.test("2 threads, every call split: PACKED_T sgemm, banded sgemmPacked and the packed embed give one thread's bits", async (t) => {
  const two = await createTestEngine({ threads: 2 }, { splitSmallCalls: true });
  t.teardown(() => two.dispose());
  const r = rng(44);
  const cases = [];
  for (const [rows, cols, n0, N, k0, K, M] of T_CASES) {
    const X = uniform(r, rows * cols), A = uniform(r, M * K), C0 = uniform(r, M * N);
    cases.push([`PACKED_T X [${rows}, ${cols}] band ${n0}+${N} × ${k0}+${K}, M=${M}`, (eng) => {
      const Xp = eng.packB(rows, cols, eng.upload(X), cols), C = eng.upload(C0);
      eng.gemmPackedT(M, N, K, eng.upload(A), K, Xp + (k0 * rows + 8 * n0) * 4, rows, C, N, { accumulate: true });
      return read(eng, C, M * N);
    }]);
  }
  for (const [Kfull, N, k0, K, M] of [[192, 768, 64, 64, 10], [300, 2100, 7, 250, 5], [1300, 20, 100, 1100, 67]]) {
    const W = uniform(r, Kfull * N), A = uniform(r, M * K), bias = uniform(r, N);
    cases.push([`banded sgemmPacked W [${Kfull}, ${N}] rows ${k0}+${K}, M=${M}`, (eng) => {
      const Wp = eng.packB(Kfull, N, eng.upload(W), N), C = eng.allocF32(M * N);
      eng.gemmPacked(M, N, K, eng.upload(A), K, Wp + k0 * 32, C, N, { bias: eng.upload(bias), rows: Kfull });
      return read(eng, C, M * N);
    }]);
  }
  const [B, T, D, V] = [6, 5, 33, 50], WE = uniform(r, V * D), posW = uniform(r, T * D);
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * V));
  cases.push(["packed embed", (eng) => {
    const pt = eng.alloc(tokens.length * 4), out = eng.allocF32(B * T * D);
    eng.i32(pt, tokens.length).set(tokens);
    eng.k.embed(out, pt, eng.packB(D, V, eng.upload(WE), D, { transB: true }), eng.upload(posW), B, T, D, PACKED_T);
    return read(eng, out, B * T * D);
  }]);
  for (const [name, run] of cases) same(t, scoped(two, () => run(two)), scoped(e, () => run(e)), name);
});
