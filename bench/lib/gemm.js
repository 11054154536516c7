// The GEMM shapes and operands shared by the SGEMM sections (ours, ORT,
// OpenBLAS, threads), so every engine multiplies the same numbers, and the
// float64 spot check of a product.
import { rng, randomArray } from "./random.js";

/** M, N, K of GPT-2 small's projections over 1024 rows: Q/K/V/O, MLP out, MLP in. */
export const SHAPES = [[1024, 768, 768], [1024, 768, 3072], [1024, 3072, 768]];

export const shapeName = ([M, N, K]) => `${M}x${N}x${K}`;
export const gflop = ([M, N, K]) => (2 * M * N * K) / 1e9;

let data = null;
/** A and B large enough for every shape (A[M,K], B[K,N] are prefixes), made once per process. */
export function gemmData() {
  if (!data) {
    const maxA = Math.max(...SHAPES.map(([M, , K]) => M * K));
    const maxB = Math.max(...SHAPES.map(([, N, K]) => K * N));
    const r = rng(1);
    data = { A: randomArray(maxA, 2, r), B: randomArray(maxB, 2, r) };
  }
  return data;
}

/** Max |C_ij − Σ_k A_ik B_kj| / Σ_k |A_ik B_kj| over 16 sampled entries (float64 reference). */
export function checkGemm(A, B, C, [M, N, K], ldc = N) {
  const r = rng(7);
  let worst = 0;
  for (let s = 0; s < 16; s++) {
    const i = Math.floor(r() * M), j = Math.floor(r() * N);
    let ref = 0, mag = 0;
    for (let k = 0; k < K; k++) { const p = A[i * K + k] * B[k * N + j]; ref += p; mag += Math.abs(p); }
    worst = Math.max(worst, Math.abs(C[i * ldc + j] - ref) / (mag || 1));
  }
  return worst;
}
