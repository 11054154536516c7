// SGEMM on raw offsets: C[M,N] (= or +=) op(A)[M,K] · op(B)[K,N] (+ bias[N]).
// GotoBLAS-style blocking: a KC×NC block of B is packed into 8-wide column
// panels, an MC×KC block of A into 4-high row panels, and a 4×8 register
// micro-kernel walks the panels. Not here: threading (the caller splits C's
// rows or columns, src/wasm/parallel.ts) and any reordering that depends on
// M or N, so each C element's sum runs over k in the same order whatever
// rows and columns a call covers (bit-identical splits).

// c + a·b per lane. The default and threads builds multiply, round, add,
// round: the same bits on every CPU. The relaxed-SIMD builds (asconfig targets
// "relaxed", "relaxed-threads"; engine option deterministic: false) use
// relaxed_madd, which the engine may fuse into one rounding or not depending
// on the CPU, so their results differ across machines (never across thread
// counts on one machine: every element still runs the same instructions).
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// Register tile: 4 rows × 8 columns = 8 f32x4 accumulators. With 2 B vectors
// and 1 A splat that is 11 of x64's 16 xmm registers, so V8 never spills.
const MR: i32 = 4;
const NR: i32 = 8;
// KC×NR panel of B (8 KiB) stays in L1; MC×KC block of A (64 KiB) in L2.
const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 1024;

/** Bytes of scratch memory one sgemm call needs (packed A, packed B, edge tile). */
export function sgemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) << 2;
}

// Element (i,k) of op(A) with A row-major [M,K] (trans=0) or [K,M] (trans=1).
@inline function elemA(A: usize, lda: i32, trans: i32, i: i32, k: i32): f32 {
  return trans == 0
    ? load<f32>(A + ((<usize>i * lda + k) << 2))
    : load<f32>(A + ((<usize>k * lda + i) << 2));
}

// Pack rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-high panels:
// Ap[panel][k][MR], rows past mc are zero so the micro-kernel never branches.
function packA(Ap: usize, A: usize, lda: i32, trans: i32, i0: i32, mc: i32, p0: i32, kc: i32): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const mr = min(MR, mc - ip);
    const panel = Ap + (<usize>ip * kc << 2);
    for (let i = 0; i < MR; i++) {
      if (i < mr) {
        const row = i0 + ip + i;
        if (trans == 0) {
          const src = A + ((<usize>row * lda + p0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>(k * MR + i)) << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>(k * MR + i)) << 2), elemA(A, lda, 1, row, p0 + k));
        }
      } else {
        for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>(k * MR + i)) << 2), 0);
      }
    }
  }
}

// Pack rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-wide panels:
// Bp[panel][k][NR], zero-padded past nc.
function packB(Bp: usize, B: usize, ldb: i32, trans: i32, p0: i32, kc: i32, j0: i32, nc: i32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const nr = min(NR, nc - jp);
    const panel = Bp + (<usize>jp * kc << 2);
    if (trans == 0) {
      for (let k = 0; k < kc; k++) {
        const src = B + ((<usize>(p0 + k) * ldb + j0 + jp) << 2);
        const dst = panel + (<usize>(k * NR) << 2);
        if (nr == NR) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
        } else {
          for (let j = 0; j < NR; j++) store<f32>(dst + (<usize>j << 2), j < nr ? load<f32>(src + (<usize>j << 2)) : 0);
        }
      }
    } else {
      // B is [N,K]: column j of op(B) is row j of B, contiguous in k.
      for (let j = 0; j < NR; j++) {
        if (j < nr) {
          const src = B + ((<usize>(j0 + jp + j) * ldb + p0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>(k * NR + j)) << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>(k * NR + j)) << 2), 0);
        }
      }
    }
  }
}

// 4×8 micro-kernel: tile C[4,8] at C (row stride ldc floats) (= or +=)
// Ap[kc][4] · Bp[kc][8]. load=0 starts from zero, load=1 from C.
@inline function micro(kc: i32, Ap: usize, Bp: usize, C: usize, ldc: i32, ld: i32): void {
  const r1 = C + (<usize>ldc << 2);
  const r2 = r1 + (<usize>ldc << 2);
  const r3 = r2 + (<usize>ldc << 2);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (ld) {
    c00 = v128.load(C); c01 = v128.load(C, 16);
    c10 = v128.load(r1); c11 = v128.load(r1, 16);
    c20 = v128.load(r2); c21 = v128.load(r2, 16);
    c30 = v128.load(r3); c31 = v128.load(r3, 16);
  }
  let a = Ap, b = Bp;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c00 = madd(s, b0, c00);
    c01 = madd(s, b1, c01);
    s = v128.load32_splat(a, 4);
    c10 = madd(s, b0, c10);
    c11 = madd(s, b1, c11);
    s = v128.load32_splat(a, 8);
    c20 = madd(s, b0, c20);
    c21 = madd(s, b1, c21);
    s = v128.load32_splat(a, 12);
    c30 = madd(s, b0, c30);
    c31 = madd(s, b1, c31);
    a += MR << 2;
    b += NR << 2;
  }
  v128.store(C, c00); v128.store(C, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
}

/**
 * C[M,N] = op(A)[M,K]·op(B)[K,N] (+ bias[N]) (+ C if accumulate).
 * A: [M,K] row stride lda (transA=0) or [K,M] (transA=1); B: [K,N] stride ldb
 * (transB=0) or [N,K] (transB=1); C: [M,N] stride ldc; bias: [N] or 0;
 * work: sgemmWorkspaceBytes() of scratch.
 */
export function sgemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32,
  bias: usize, accumulate: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  // Bias goes in first so every element sums bias + Σ_k in one fixed order.
  if (bias != 0 || (K <= 0 && !accumulate)) {
    for (let i = 0; i < M; i++) {
      const row = C + (<usize>i * ldc << 2);
      for (let j = 0; j < N; j++) {
        const bj: f32 = bias != 0 ? load<f32>(bias + (<usize>j << 2)) : 0;
        const p = row + (<usize>j << 2);
        store<f32>(p, accumulate ? load<f32>(p) + bj : bj);
      }
    }
    accumulate = 1;
  }
  if (K <= 0) return;
  const Ap = work;
  const Bp = work + (<usize>(MC * KC) << 2);
  const tile = Bp + (<usize>(KC * NC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const ld = accumulate || pc > 0 ? 1 : 0;
      packB(Bp, B, ldb, transB, pc, kc, jc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(Ap, A, lda, transA, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bpanel = Bp + (<usize>jr * kc << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const apanel = Ap + (<usize>ir * kc << 2);
            const c = C + ((<usize>(ic + ir) * ldc + jc + jr) << 2);
            if (mr == MR && nr == NR) {
              micro(kc, apanel, bpanel, c, ldc, ld);
            } else {
              // Edge tile: run the full kernel on a scratch tile, copy the valid part.
              if (ld) {
                for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++)
                  store<f32>(tile + (<usize>(i * NR + j) << 2), load<f32>(c + ((<usize>i * ldc + j) << 2)));
              }
              micro(kc, apanel, bpanel, tile, NR, ld);
              for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++)
                store<f32>(c + ((<usize>i * ldc + j) << 2), load<f32>(tile + (<usize>(i * NR + j) << 2)));
            }
          }
        }
      }
    }
  }
}
