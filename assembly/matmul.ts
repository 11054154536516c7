// SGEMM on raw offsets: C[M,N] (= or +=) op(A)[M,K] · op(B)[K,N] (+ bias[N]).
// GotoBLAS-style blocking: a KC×NC block of B is packed into 8-wide column
// panels, an MC×KC block of A into 4-high row panels, and a register
// micro-kernel (4, 3, 2 or 1 rows × 8 columns) walks the panels. B may be
// stored as f32, bf16 or f16 (half.ts: widened exactly while packing), or be
// packed once for the whole matrix (packB + sgemmPacked: weights packed at
// load time, so a call streams B once and packs nothing). A matrix packed
// that way also serves products with its transpose (sgemm's PACKED_T B: the
// backward passes' dx = dy·Wᵀ), its 8×8 blocks transposed while packing, so
// no second copy of a weight is kept. Not here: threading
// (the caller splits C's rows or columns, src/wasm/parallel.ts) and any
// reordering that depends on M or N, so each C element's sum runs over k in
// the same order whatever rows and columns a call covers (bit-identical
// splits), and sgemm and sgemmPacked give the same bits.
import { F32, BF16, elemBytes, loadElem, widen4, widenLo, widenHi } from "./half";

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
// sgemmPacked's k block: a pre-packed panel is contiguous over all K, so up
// to KCP rows of it are one sequential read (at M ≈ 10 the whole cost is
// streaming B from memory, and a hardware prefetcher restarts at every jump);
// a KCP×8 panel (32 KiB) still fits L1 beside a row tile of A.
const KCP: i32 = 1024;
// sgemmPacked's column block for more than 16 rows: 192 KiB of packed B.
const NCP_FLOATS: i32 = 49152;
/**
 * sgemm's bFormat for a B that is a matrix X packed by packB, read
 * transposed: op(B)[k, n] = X[n, k]. B points at X's panel holding column k
 * = 0 (a multiple of 8 into X), row n = 0; ldb is X's row count (its panels'
 * height). transB must be 1.
 */
export const PACKED_T: i32 = 3;

/** Bytes of scratch memory one sgemm call needs (packed A, packed B). */
export function sgemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC) << 2;
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

// One row of a full panel, transB=0: dst[0..8) (f32) = src[0..8) (format).
@inline function panelRow(dst: usize, src: usize, format: i32): void {
  if (format == F32) {
    v128.store(dst, v128.load(src));
    v128.store(dst, v128.load(src, 16), 16);
  } else {
    const v = v128.load(src);
    v128.store(dst, widenLo(v, format));
    v128.store(dst, widenHi(v, format), 16);
  }
}

// Rows [p0, p0+kc) of `full` whole panels, transB=0 (B [K,N] stride ldb
// elements, src at column j0): row by row, so B is read along its rows (one
// contiguous run of 8·full elements per k) rather than down its columns.
@inline function packRowsN(Bp: usize, B: usize, ldb: i32, p0: i32, kc: i32, j0: i32, full: i32, format: i32): void {
  const es = <usize>elemBytes(format);
  const pstride = <usize>kc * NR << 2;
  for (let k = 0; k < kc; k++) {
    let src = B + (<usize>(p0 + k) * ldb + j0) * es;
    let dst = Bp + (<usize>(k * NR) << 2);
    for (let p = 0; p < full; p++) {
      panelRow(dst, src, format);
      src += <usize>NR * es;
      dst += pstride;
    }
  }
}

// 4×4 transpose of rows r0..r3 (lanes = k) into columns, stored as rows k..k+3
// of a panel at dst (row stride NR floats), 4 lanes at byte offset `half`.
@inline function transpose4(dst: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + (NR << 2), i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + (NR << 3), i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + (NR * 12), i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// Four consecutive elements of `format` at p, as f32x4.
@inline function load4(p: usize, format: i32): v128 {
  return format == F32 ? v128.load(p) : widen4(v128.load16x4_u(p), format);
}

// One whole panel, transB=1 (B [N,K]: column j of op(B) is row j of B,
// contiguous in k): 8 rows read side by side, 4 k at a time, transposed.
@inline function packPanelT(panel: usize, B: usize, ldb: i32, p0: i32, kc: i32, j: i32, format: i32): void {
  const es = <usize>elemBytes(format);
  const row = <usize>ldb * es;
  const s0 = B + (<usize>j * ldb + p0) * es;
  let k = 0;
  for (; k + 4 <= kc; k += 4) {
    const s = s0 + <usize>k * es, d = panel + (<usize>(k * NR) << 2);
    transpose4(d, load4(s, format), load4(s + row, format), load4(s + 2 * row, format), load4(s + 3 * row, format));
    transpose4(d + 16, load4(s + 4 * row, format), load4(s + 5 * row, format), load4(s + 6 * row, format), load4(s + 7 * row, format));
  }
  for (; k < kc; k++) {
    for (let jj = 0; jj < NR; jj++) {
      store<f32>(panel + (<usize>(k * NR + jj) << 2), loadElem(s0 + <usize>jj * row, <usize>k, format));
    }
  }
}

// packBlockB for a PACKED_T B: op(B)[k, n] = X[n, k] with X packed by packB
// (Xp[k/8][n][8], panel height h = ldb rows). Rows [p0, p0+kc) × cols
// [j0, j0+nc) of op(B) are, for each 8 k's and 8 n's, one contiguous 8×8
// block of Xp (8 rows n, 8 lanes k) transposed: the floats packPanelT would
// copy from X itself, so the same panels and the same bits. p0 is a multiple
// of 8 (sgemm's k blocks are); lanes past kc and rows past nc are not copied
// (a partial panel is zero past nc, as packBlockB makes it).
function packBlockPackedT(Bp: usize, Xp: usize, h: i32, p0: i32, kc: i32, j0: i32, nc: i32): void {
  const full = nc / NR, nr = nc - full * NR;
  const kfull = kc & ~7;
  const pstride = <usize>kc * NR << 2;
  for (let kk = 0; kk < kc; kk += 8) {
    // X's panel with lanes k = p0+kk … p0+kk+7, from row j0.
    const src = Xp + ((<usize>((p0 + kk) >> 3) * h + j0) << 5);
    const dst = Bp + (<usize>(kk * NR) << 2);
    if (kk < kfull) {
      for (let p = 0; p < full; p++) {
        const s = src + (<usize>p << 8), d = dst + <usize>p * pstride;
        // Rows n (8 floats of 8 lanes each): low halves are lanes 0–3, high 4–7.
        const r0 = v128.load(s), r1 = v128.load(s, 32), r2 = v128.load(s, 64), r3 = v128.load(s, 96);
        const r4 = v128.load(s, 128), r5 = v128.load(s, 160), r6 = v128.load(s, 192), r7 = v128.load(s, 224);
        transpose4(d, r0, r1, r2, r3);
        transpose4(d + 16, r4, r5, r6, r7);
        const q0 = v128.load(s, 16), q1 = v128.load(s, 48), q2 = v128.load(s, 80), q3 = v128.load(s, 112);
        const q4 = v128.load(s, 144), q5 = v128.load(s, 176), q6 = v128.load(s, 208), q7 = v128.load(s, 240);
        transpose4(d + (NR << 4), q0, q1, q2, q3);
        transpose4(d + (NR << 4) + 16, q4, q5, q6, q7);
      }
    } else {
      // The last k's (kc not a multiple of 8): kc − kk rows of each panel.
      for (let p = 0; p < full; p++) for (let k = kk; k < kc; k++) for (let j = 0; j < NR; j++) {
        store<f32>(Bp + <usize>p * pstride + (<usize>(k * NR + j) << 2), load<f32>(src + (<usize>(p * NR + j) << 5) + (<usize>(k - kk) << 2)));
      }
    }
    if (nr == 0) continue;
    const last = Bp + <usize>full * pstride;
    for (let k = kk; k < min(kc, kk + 8); k++) for (let j = 0; j < NR; j++) {
      const v: f32 = j < nr ? load<f32>(src + (<usize>(full * NR + j) << 5) + (<usize>(k - kk) << 2)) : 0;
      store<f32>(last + (<usize>(k * NR + j) << 2), v);
    }
  }
}

// Pack rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-wide panels:
// Bp[panel][k][NR] (panel stride kc·NR floats), zero-padded past nc. B's
// elements are `format` (F32, BF16, F16), ldb counts elements. Each branch
// below calls the inlined loop with a literal format, so the f32 path has no
// per-element test.
function packBlockB(Bp: usize, B: usize, ldb: i32, trans: i32, p0: i32, kc: i32, j0: i32, nc: i32, format: i32): void {
  if (format == PACKED_T) { packBlockPackedT(Bp, B, ldb, p0, kc, j0, nc); return; }
  const full = nc / NR, nr = nc - full * NR;
  if (trans == 0) {
    if (format == F32) packRowsN(Bp, B, ldb, p0, kc, j0, full, F32);
    else if (format == BF16) packRowsN(Bp, B, ldb, p0, kc, j0, full, BF16);
    else packRowsN(Bp, B, ldb, p0, kc, j0, full, 2);
  } else {
    for (let p = 0; p < full; p++) {
      const panel = Bp + (<usize>p * kc * NR << 2);
      if (format == F32) packPanelT(panel, B, ldb, p0, kc, j0 + p * NR, F32);
      else if (format == BF16) packPanelT(panel, B, ldb, p0, kc, j0 + p * NR, BF16);
      else packPanelT(panel, B, ldb, p0, kc, j0 + p * NR, 2);
    }
  }
  if (nr == 0) return;
  // The last, partial panel: element by element, zeros past nc.
  const panel = Bp + (<usize>full * kc * NR << 2);
  for (let k = 0; k < kc; k++) for (let j = 0; j < NR; j++) {
    const col = j0 + full * NR + j;
    const v: f32 = j >= nr ? 0 : trans == 0
      ? loadElem(B, <usize>(p0 + k) * ldb + col, format)
      : loadElem(B, <usize>col * ldb + p0 + k, format);
    store<f32>(panel + (<usize>(k * NR + j) << 2), v);
  }
}

// Floats j..j+3 of the row at p, lanes at or past nr zero (not read).
@inline function loadCols(p: usize, j: i32, nr: i32): v128 {
  if (j + 4 <= nr) return v128.load(p + (<usize>j << 2));
  let v = f32x4.splat(0);
  if (j < nr) v = f32x4.replace_lane(v, 0, load<f32>(p + (<usize>j << 2)));
  if (j + 1 < nr) v = f32x4.replace_lane(v, 1, load<f32>(p + (<usize>j << 2), 4));
  if (j + 2 < nr) v = f32x4.replace_lane(v, 2, load<f32>(p + (<usize>j << 2), 8));
  return v;
}

// Store lanes of v as floats j..j+3 of the row at p, those before nr only.
@inline function storeCols(p: usize, j: i32, nr: i32, v: v128): void {
  if (j + 4 <= nr) { v128.store(p + (<usize>j << 2), v); return; }
  if (j < nr) v128.store32_lane(p + (<usize>j << 2), v, 0);
  if (j + 1 < nr) v128.store32_lane(p + (<usize>j << 2), v, 1, 4);
  if (j + 2 < nr) v128.store32_lane(p + (<usize>j << 2), v, 2, 8);
}

// Where micro's touch loads go, so that no optimizer drops them as unused.
let touched: i32 = 0;

// mr×8 micro-kernel, mr = 1..4 (a literal wherever it is inlined, so the
// unused rows vanish): C[mr, nr] (row stride ldc floats) (= or +=)
// A[mr, kc]·Bp[kc][8]. A's element (i,k) is at a + i·ar + k·ak bytes: a
// packed panel (ar = 4, ak = 16) or op(A) itself. Bp is one packed panel.
// ld=0 starts from zero, ld=1 from C. Only C's columns j < nr (8 but in the
// last panel) are read or written, so edge tiles need no scratch copy, and
// short row tiles do not compute the padding rows. touch: also load one
// byte at tp, tp + ts, … per k (blockTouch: the next panel's lines).
@inline function micro(mr: i32, kc: i32, a: usize, ar: usize, ak: usize, b: usize, C: usize, ldc: i32, ld: i32, nr: i32,
  touch: bool = false, tp: usize = 0, ts: usize = 0): void {
  const r1 = C + (<usize>ldc << 2);
  const r2 = r1 + (<usize>ldc << 2);
  const r3 = r2 + (<usize>ldc << 2);
  const a1 = ar, a2 = ar << 1, a3 = ar * 3;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (ld) {
    c00 = loadCols(C, 0, nr); c01 = loadCols(C, 4, nr);
    if (mr > 1) { c10 = loadCols(r1, 0, nr); c11 = loadCols(r1, 4, nr); }
    if (mr > 2) { c20 = loadCols(r2, 0, nr); c21 = loadCols(r2, 4, nr); }
    if (mr > 3) { c30 = loadCols(r3, 0, nr); c31 = loadCols(r3, 4, nr); }
  }
  let seen: i32 = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    if (touch) { seen |= load<u8>(tp); tp += ts; }
    let s = v128.load32_splat(a);
    c00 = madd(s, b0, c00);
    c01 = madd(s, b1, c01);
    if (mr > 1) {
      s = v128.load32_splat(a + a1);
      c10 = madd(s, b0, c10);
      c11 = madd(s, b1, c11);
    }
    if (mr > 2) {
      s = v128.load32_splat(a + a2);
      c20 = madd(s, b0, c20);
      c21 = madd(s, b1, c21);
    }
    if (mr > 3) {
      s = v128.load32_splat(a + a3);
      c30 = madd(s, b0, c30);
      c31 = madd(s, b1, c31);
    }
    a += ak;
    b += NR << 2;
  }
  if (touch) touched |= seen;
  storeCols(C, 0, nr, c00); storeCols(C, 4, nr, c01);
  if (mr > 1) { storeCols(r1, 0, nr, c10); storeCols(r1, 4, nr, c11); }
  if (mr > 2) { storeCols(r2, 0, nr, c20); storeCols(r2, 4, nr, c21); }
  if (mr > 3) { storeCols(r3, 0, nr, c30); storeCols(r3, 4, nr, c31); }
}

// C[mc, nc] (= or +=) A[mc, kc]·B[kc, nc] for one block: row tile t's A at
// a + t·at bytes (elements as in micro), panel p of B at b + p·bs bytes.
// Panels outer, row tiles inner: a panel (kc·8 floats) stays in L1 while
// every row tile of the block uses it. One copy (not inlined) serves sgemm
// and sgemmPacked: inlining it measured no faster.
@noinline function block(mc: i32, nc: i32, kc: i32, a: usize, ar: usize, ak: usize, at: usize, b: usize, bs: usize,
  C: usize, ldc: i32, ld: i32): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const bp = b + <usize>(jr / NR) * bs;
    let ap = a;
    for (let ir = 0; ir < mc; ir += MR) {
      const c = C + ((<usize>ir * ldc + jr) << 2);
      const mr = mc - ir;
      if (mr >= 4) micro(4, kc, ap, ar, ak, bp, c, ldc, ld, nr);
      else if (mr == 3) micro(3, kc, ap, ar, ak, bp, c, ldc, ld, nr);
      else if (mr == 2) micro(2, kc, ap, ar, ak, bp, c, ldc, ld, nr);
      else micro(1, kc, ap, ar, ak, bp, c, ldc, ld, nr);
      ap += at;
    }
  }
}

// block for a few rows (≤ 4 row tiles) of a pre-packed B, whose panels
// stream from memory once each: there each panel costs more to fetch than to
// multiply, and the micro-kernel's own loads keep too few cache misses in
// flight to cover the memory's latency. So while it multiplies panel p, it
// also touches panel p + 1 (one byte per k, spread over the row tiles so the
// next panel's lines are all requested once): 15–20% faster at 10 rows of
// GPT-2's W_U here (wasm has no prefetch instruction). The arithmetic is
// block's. The last panel touches itself.
@noinline function blockTouch(mc: i32, nc: i32, kc: i32, a: usize, ar: usize, ak: usize, b: usize, bs: usize,
  C: usize, ldc: i32, ld: i32): void {
  const tiles = (mc + MR - 1) / MR;
  const ts = <usize>(NR * 4 / tiles); // bytes touched per k: a panel row of 32 bytes over the tiles
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const bp = b + <usize>(jr / NR) * bs;
    let tp = jr + NR < nc ? bp + bs : bp;
    let ap = a;
    for (let ir = 0; ir < mc; ir += MR) {
      const c = C + ((<usize>ir * ldc + jr) << 2);
      const mr = mc - ir;
      if (mr >= 4) micro(4, kc, ap, ar, ak, bp, c, ldc, ld, nr, true, tp, ts);
      else if (mr == 3) micro(3, kc, ap, ar, ak, bp, c, ldc, ld, nr, true, tp, ts);
      else if (mr == 2) micro(2, kc, ap, ar, ak, bp, c, ldc, ld, nr, true, tp, ts);
      else micro(1, kc, ap, ar, ak, bp, c, ldc, ld, nr, true, tp, ts);
      ap += ar * MR;
      tp += <usize>kc * ts;
    }
  }
}

// C's start before the k sum: bias (+ C if accumulate), or zero when K ≤ 0
// without accumulate. Bias goes in first so every element sums bias + Σ_k in
// one fixed order. Returns whether the k sum must start from C.
function startC(M: i32, N: i32, K: i32, C: usize, ldc: i32, bias: usize, accumulate: i32): i32 {
  if (bias != 0 || (K <= 0 && !accumulate)) {
    // Four columns at a time: each element is still C + b (or b, or 0) on its own.
    const zero = f32x4.splat(0);
    for (let i = 0; i < M; i++) {
      const row = C + (<usize>i * ldc << 2);
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        const p = row + (<usize>j << 2);
        const b = bias != 0 ? v128.load(bias + (<usize>j << 2)) : zero;
        v128.store(p, accumulate ? f32x4.add(v128.load(p), b) : b);
      }
      for (; j < N; j++) {
        const bj: f32 = bias != 0 ? load<f32>(bias + (<usize>j << 2)) : 0;
        const p = row + (<usize>j << 2);
        store<f32>(p, accumulate ? load<f32>(p) + bj : bj);
      }
    }
    return 1;
  }
  return accumulate;
}

/**
 * C[M,N] = op(A)[M,K]·op(B)[K,N] (+ bias[N]) (+ C if accumulate).
 * A: f32 [M,K] row stride lda (transA=0) or [K,M] (transA=1); B: [K,N]
 * stride ldb (transB=0) or [N,K] (transB=1), elements of bFormat (0 f32,
 * 1 bf16, 2 f16: little-endian u16, widened exactly while packing; ldb
 * counts elements, B is a byte offset as always), or 3 (PACKED_T: B is a
 * matrix X [N, ≥K] packed by packB, transB = 1, ldb = X's rows); C: f32 [M,N] stride ldc;
 * bias: f32 [N] or 0;
 * work: sgemmWorkspaceBytes() of scratch.
 */
export function sgemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32,
  bias: usize, accumulate: i32, work: usize, bFormat: i32,
): void {
  if (M <= 0 || N <= 0) return;
  accumulate = startC(M, N, K, C, ldc, bias, accumulate);
  if (K <= 0) return;
  const Ap = work;
  const Bp = work + (<usize>(MC * KC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const ld = accumulate || pc > 0 ? 1 : 0;
      packBlockB(Bp, B, ldb, transB, pc, kc, jc, nc, bFormat);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(Ap, A, lda, transA, ic, mc, pc, kc);
        block(mc, nc, kc, Ap, 4, MR << 2, <usize>kc * MR << 2, Bp, <usize>kc * NR << 2,
          C + ((<usize>ic * ldc + jc) << 2), ldc, ld);
      }
    }
  }
}

/** Floats of op(B)[K,N] packed by packB: ⌈N/8⌉ panels of K×8. */
export function packedBFloats(K: i32, N: i32): i32 {
  return (N + NR - 1) / NR * K * NR;
}

/**
 * Float offset of column j0 (a multiple of 8) in a packed B of K rows: the
 * packed columns [j0, j1) are the contiguous panels from here, so a column
 * chunk of sgemmPacked (a thread's share) is B_p + 4·packedBOffset(j0, K).
 */
export function packedBOffset(j0: i32, K: i32): i32 {
  return j0 / NR * K * NR;
}

/**
 * Bp[⌈N/8⌉][K][8] (f32) = op(B)[K,N] in the panels sgemm's micro-kernel
 * reads, packed once (weights at load time): panel p holds columns
 * 8p..8p+7 for every k, zero past N; any KC block of a panel is a contiguous
 * [kc][8] run, just as sgemm packs it. B: [K,N] stride ldb (transB=0) or
 * [N,K] (transB=1), elements of bFormat (as in sgemm; 16-bit ones are
 * widened here, so Bp is f32 whatever B is). Columns are independent: a
 * column chunk [j0, j1) packs with B moved to column j0 and Bp to
 * packedBOffset(j0, K).
 */
export function packB(Bp: usize, B: usize, ldb: i32, transB: i32, K: i32, N: i32, bFormat: i32): void {
  if (K <= 0 || N <= 0) return;
  // NC columns at a time: transB=0 writes one row into every panel of the
  // group per k, and 128 panels keep those writes within the caches.
  const es = <usize>elemBytes(bFormat);
  for (let j0 = 0; j0 < N; j0 += NC) {
    const src = B + (transB ? <usize>j0 * ldb : <usize>j0) * es;
    packBlockB(Bp + (<usize>packedBOffset(j0, K) << 2), src, ldb, transB, 0, K, 0, min(NC, N - j0), bFormat);
  }
}

/**
 * sgemm with B packed once by packB: C[M,N] = op(A)[M,K]·B[K,N] (+ bias[N])
 * (+ C if accumulate), the same bits as sgemm on the unpacked B. A: f32
 * [M,K] stride lda (transA=0) or [K,M] (transA=1); Bp: packB's output for
 * K rows, from packedBOffset(j0, K) for columns from j0 (a multiple of 8);
 * C: [M,N] stride ldc; bias: [N] or 0; ldp: the packed matrix's row count
 * (its panels' height) when the call reads rows k0 … k0+K of it (Bp moved
 * by 8·k0 floats: one head's rows of W_O), 0 when it reads all K. No workspace: op(A) is read in
 * place by the micro-kernel (measured as fast as packing it for transA=0,
 * about 3/4 of that for transA=1) and B is not copied at all, so a thread's
 * share of rows or column panels needs no scratch of its own.
 */
export function sgemmPacked(
  transA: i32, M: i32, N: i32, K: i32, A: usize, lda: i32, Bp: usize,
  C: usize, ldc: i32, bias: usize, accumulate: i32, ldp: i32,
): void {
  if (M <= 0 || N <= 0) return;
  accumulate = startC(M, N, K, C, ldc, bias, accumulate);
  if (K <= 0) return;
  // Element (i,k) of op(A) at A + i·ar + k·ak bytes.
  const ar: usize = transA ? 4 : <usize>lda << 2;
  const ak: usize = transA ? <usize>lda << 2 : 4;
  const bs = <usize>(ldp > 0 ? ldp : K) * NR << 2; // bytes per packed panel
  // Transposed A gives each k of a row tile its own cache line (16 of its 64
  // bytes used, the rest by the next 3 row tiles): KC such lines fit L1.
  const kb = transA ? KC : KCP;
  // Past a few rows, B is read once per MC rows of A: a column block of
  // NCP_FLOATS / K columns keeps it in L2 for the next row block (5–8% at
  // 160 rows of the MLP and unembedding here). A few rows read B once anyway.
  const ncb = M <= 4 * MR ? NC : max(NR, min(NC, (NCP_FLOATS / K) & ~(NR - 1)));
  for (let jc = 0; jc < N; jc += ncb) {
    const nc = min(ncb, N - jc);
    for (let pc = 0; pc < K; pc += kb) {
      const kc = min(kb, K - pc);
      const ld = accumulate || pc > 0 ? 1 : 0;
      if (M <= 4 * MR) {
        blockTouch(M, nc, kc, A + <usize>pc * ak, ar, ak, Bp + <usize>(jc / NR) * bs + (<usize>pc * NR << 2), bs, C + (<usize>jc << 2), ldc, ld);
        continue;
      }
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        block(mc, nc, kc, A + <usize>ic * ar + <usize>pc * ak, ar, ak, ar * MR,
          Bp + <usize>(jc / NR) * bs + (<usize>pc * NR << 2), bs, C + ((<usize>ic * ldc + jc) << 2), ldc, ld);
      }
    }
  }
}
