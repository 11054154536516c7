// The kernel API (KernelExports) over a worker pool: each large call is cut
// into chunks by OUTPUT only (SGEMM: blocks of C's rows, or of its columns
// when C has few rows; attention: (batch, head) pairs; row-wise kernels:
// rows; elementwise kernels: ranges), and every chunk is an ordinary kernel
// call on offsets into the shared memory. Each output element is thus
// computed by exactly one thread with the same instructions in the same order
// as by a one-thread call, so results are bit-identical for every thread
// count and every schedule. Calls below a size cutoff run on the calling
// thread alone (waking workers would cost more than it saves); the cutoff
// cannot change results for the same reason. Kernels whose outputs
// accumulate across rows (layer-norm, bias and embedding gradients,
// batchMean) always run on the calling thread.
import { SGEMM_BLOCKS, type KernelExports } from "./kernels.js";
import type { Pool } from "./pool.js";
import { CHUNK, MAX_ARGS, MAX_CHUNKS } from "./pool.js";

/** sgemm's bFormat for a packed matrix read transposed (engine.ts PACKED_T; not imported from there, which imports this module). */
const PACKED_T = 3;

// Row-wise and elementwise kernels as data: which argument counts the rows
// (or elements), which gives the row width, and how far each pointer argument
// moves per row: [argument index, argument giving its floats per row (-1: one
// element), bytes per element]. A zero pointer (an optional output) stays zero.
// `min` is the least rows·width worth a chunk (about 10–30 µs of work);
// `align` the unit chunks are cut in (64 floats: whole cache lines).
interface RowKernel { n: number; width: number; ptrs: [number, number, number][]; min: number; align: number }
const CHEAP = 1 << 14, NORM = 1 << 13, MATH = 1 << 11;
const EW = (ptrs: number[], n: number, min: number): RowKernel => ({ n, width: -1, ptrs: ptrs.map((i) => [i, -1, 4]), min, align: 64 });
const ROW = (n: number, width: number, ptrs: [number, number, number][], min: number): RowKernel => ({ n, width, ptrs, min, align: 1 });
type KernelName = Exclude<keyof KernelExports, "memory">;
const ROWS: Partial<Record<KernelName, RowKernel>> = {
  add: EW([0, 1, 2], 3, CHEAP),
  sub: EW([0, 1, 2], 3, CHEAP),
  axpy: EW([0, 2], 3, CHEAP),
  lerp: EW([0, 1, 2], 4, CHEAP),
  fill: EW([0], 2, CHEAP),
  addDiff: EW([0, 1, 2, 3], 4, CHEAP),
  relu: EW([0, 1], 2, CHEAP),
  gelu: EW([0, 1], 2, MATH),
  tanh: EW([0, 1], 2, MATH),
  exp: EW([0, 1], 2, MATH),
  // src is u16: 2 bytes per element.
  widen16: { n: 2, width: -1, ptrs: [[0, -1, 4], [1, -1, 2]], min: CHEAP, align: 64 },
  swiglu: EW([0, 1, 2], 3, MATH),
  reluBackward: EW([0, 1, 2], 3, CHEAP),
  geluBackward: EW([0, 1, 2], 3, MATH),
  swigluBackward: EW([0, 1, 2, 3, 4], 5, MATH),
  adamw: EW([0, 1, 2, 3], 4, NORM),
  layernorm: ROW(6, 7, [[0, 7, 4], [1, -1, 4], [2, -1, 4], [3, 7, 4]], NORM),
  layernormDx: ROW(6, 7, [[0, 7, 4], [1, 7, 4], [2, 7, 4], [3, -1, 4], [4, -1, 4]], NORM),
  rmsnormDx: ROW(5, 6, [[0, 6, 4], [1, 6, 4], [2, 6, 4], [3, -1, 4]], NORM),
  rmsnorm: ROW(4, 5, [[0, 5, 4], [1, -1, 4], [2, 5, 4]], NORM),
  addBias: ROW(2, 3, [[0, 3, 4]], CHEAP),
  softmax: ROW(2, 3, [[0, 3, 4], [1, 3, 4]], MATH),
  logSoftmax: ROW(2, 3, [[0, 3, 4], [1, 3, 4]], MATH),
  klRows: ROW(3, 4, [[0, -1, 8], [1, 4, 4], [2, 4, 4]], MATH),
  logSumExp: ROW(2, 3, [[0, -1, 4], [1, 3, 4]], MATH),
  klLogits: ROW(4, 5, [[0, -1, 8], [1, 5, 4], [2, -1, 4], [3, 5, 4]], MATH),
  softmaxBackward: ROW(3, 4, [[0, 4, 4], [1, 4, 4], [2, 4, 4]], NORM),
  logSoftmaxBackward: ROW(3, 4, [[0, 4, 4], [1, 4, 4], [2, 4, 4]], MATH),
  klBackward: ROW(2, 3, [[0, 3, 4], [1, 3, 4]], MATH),
  klLogitsBackward: ROW(4, 5, [[0, 5, 4], [1, 5, 4], [2, -1, 4], [3, 5, 4]], MATH),
  crossEntropy: ROW(3, 4, [[0, -1, 8], [1, 4, 4], [2, -1, 4]], MATH),
  crossEntropyBackward: ROW(3, 4, [[0, 4, 4], [1, 4, 4], [2, -1, 4]], MATH),
  gatherRows: ROW(3, 4, [[0, 4, 4], [2, -1, 4]], CHEAP),
  // src is [N, S, D]: it moves S·D floats per row, set apart in rows().
  sumSlices: ROW(2, 4, [[0, 4, 4]], CHEAP),
  geluErf: EW([0, 1], 2, MATH),
  geluErfBackward: EW([0, 1, 2], 3, MATH),
};

/** Kernels the workers resolve; an op code is an index here. */
export const POOL_KERNELS: KernelName[] = ["sgemm", "attention", "attentionBackward", "rope", "embed", "sgemmPacked", "packB", "sumInputs", ...(Object.keys(ROWS) as KernelName[])];

/**
 * Kernels that always run on the calling thread: their outputs accumulate
 * across rows (gradients of shared weights, batch means), or they are
 * queries and single-row helpers not worth a worker. Every export is either
 * pooled or listed here; the build's generated surface and a test keep the
 * two lists complete.
 */
export const MAIN_THREAD_KERNELS: KernelName[] = [
  "heapBase", "sgemmWorkspaceBytes", "packedBFloats", "packedBOffset",
  "batchMean", "biasGrad", "layernormBackward", "rmsnormBackward", "embedBackward",
  // Rotate-half RoPE runs once per layer on q and k; not split yet.
  "ropeHalf",
  // A hash is one sequential chain of blocks.
  "sha256Blocks", "sha256State",
  // Loading weights: bound by memory, once per chunk read.
  "scatterRows", "scatterRows16",
];
const OP = Object.fromEntries(POOL_KERNELS.map((n, i) => [n, i])) as Record<string, number>;

/** SGEMM's op code and the index of its workspace argument, for the workers. */
export const GEMM_WORKSPACE: [number, number] = [OP.sgemm, 13];

/** Least multiply-adds per SGEMM chunk (about 10–20 µs). */
const GEMM_MIN = 1 << 18;
/** Least B·heads·T·T·Dh per attention chunk. */
const ATTN_MIN = 1 << 15;
/** Chunks per thread at most: enough for a busy machine's stragglers, few enough to stay cheap. */
const PER_THREAD = 4;
// SGEMM's micro-kernel rows, and its row block: row chunks of SGEMM keep at least MC rows.
const { MR, MC } = SGEMM_BLOCKS;
const COLS = 16; // column chunks of C in whole 64-byte lines (a multiple of the kernel's 8)
const CALL = 1 + MAX_ARGS;

export class ParallelKernels {
  private readonly raw: KernelExports;
  private readonly pool: Pool;
  /** SGEMM workspace per thread; a chunk uses that of the thread running it. */
  private readonly gemmWork: number[];
  private readonly fns: ((...a: number[]) => void)[];
  private readonly table: Float64Array;
  private readonly t = new Float64Array(MAX_ARGS); // the current call's arguments
  /** 0 splits every call however small (tests: results must not change); 1 applies the cutoffs. */
  private readonly cutoff: number;
  private readonly maxChunks: number;
  private readonly runMain = (i: number): void => this.runChunk(i);

  constructor(raw: KernelExports, pool: Pool, gemmWork: number[], splitSmallCalls = false) {
    this.raw = raw;
    this.pool = pool;
    this.gemmWork = gemmWork;
    this.cutoff = splitSmallCalls ? 0 : 1;
    this.maxChunks = Math.min(MAX_CHUNKS, pool.size * PER_THREAD);
    const ex = raw as unknown as Record<string, (...a: number[]) => void>;
    this.fns = POOL_KERNELS.map((n) => ex[n]);
    this.table = pool.table;
    gemmWork.forEach((w, i) => pool.setWorkspace(i, w));
  }

  /** A KernelExports whose splittable kernels go through the pool. */
  kernels(): KernelExports {
    const raw = this.raw as unknown as Record<string, (...a: number[]) => void>;
    const k = { ...raw } as Record<string, unknown>;
    k.memory = this.raw.memory;
    k.sgemm = (tA: number, tB: number, M: number, N: number, K: number, A: number, lda: number, B: number, ldb: number,
      C: number, ldc: number, bias: number, acc: number, work: number, bFormat?: number) =>
      this.sgemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, bias, acc, work, bFormat ?? 0);
    k.sgemmPacked = (tA: number, M: number, N: number, K: number, A: number, lda: number, Bp: number, C: number, ldc: number,
      bias: number, acc: number, ldp?: number) => this.sgemmPacked(tA, M, N, K, A, lda, Bp, C, ldc, bias, acc, ldp ?? 0);
    k.packB = (Bp: number, B: number, ldb: number, tB: number, K: number, N: number, bFormat: number) => this.packB(Bp, B, ldb, tB, K, N, bFormat);
    k.attention = (z: number, pattern: number, q: number, kk: number, v: number, B: number, T: number, H: number, Hkv: number,
      Dh: number, scale: number, h0: number, h1: number, causal: number, window?: number) =>
      this.attention(z, pattern, q, kk, v, B, T, H, Hkv, Dh, scale, h0, h1, causal, window ?? 0);
    k.attentionBackward = (dq: number, dk: number, dv: number, dpattern: number, dz: number, q: number, kk: number, v: number, pattern: number,
      B: number, T: number, H: number, Hkv: number, Dh: number, scale: number, h0: number, h1: number, causal: number) =>
      this.attentionBackward(dq, dk, dv, dpattern, dz, q, kk, v, pattern, B, T, H, Hkv, Dh, scale, h0, h1, causal);
    k.rope = (x: number, cos: number, sin: number, B: number, T: number, Hx: number, Dh: number, h0: number, h1: number) =>
      this.rope(x, cos, sin, B, T, Hx, Dh, h0, h1);
    k.embed = (out: number, tokens: number, WE: number, posW: number, B: number, T: number, D: number, weFormat?: number) =>
      this.embed(out, tokens, WE, posW, B, T, D, weFormat ?? 0);
    k.sumInputs = (out: number, bias: number, ptrs: number, kk: number, D: number, r0: number, r1: number) =>
      this.sumInputs(out, bias, ptrs, kk, D, r0, r1);
    for (const name of Object.keys(ROWS) as KernelName[]) {
      const spec = ROWS[name]!, op = OP[name], f = raw[name];
      k[name] = (a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, a6: number, a7: number, a8: number,
        a9: number, a10: number, a11: number, a12: number, a13: number, a14: number, a15: number, a16: number, a17: number) => {
        const t = this.t;
        t[0] = a0; t[1] = a1; t[2] = a2; t[3] = a3; t[4] = a4; t[5] = a5; t[6] = a6; t[7] = a7; t[8] = a8;
        t[9] = a9; t[10] = a10; t[11] = a11; t[12] = a12; t[13] = a13; t[14] = a14; t[15] = a15; t[16] = a16; t[17] = a17;
        if (!this.rows(op, spec)) f(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17);
      };
    }
    return k as unknown as KernelExports;
  }

  /** How many chunks `work` units make with at least `min` each (≤ `most`, ≤ the chunk limit). */
  private chunks(work: number, min: number, most: number): number {
    return Math.max(1, Math.min(this.maxChunks, most, Math.floor(work / Math.max(1, min * this.cutoff))));
  }

  /** Start of chunk i of `units` cut into `n` chunks, in whole `align`s (the last one takes the rest). */
  private static cut(units: number, n: number, i: number, align: number): number {
    if (i >= n) return units;
    return Math.min(units, Math.floor((Math.ceil(units / align) * i) / n) * align);
  }

  /** Chunk i's base in the table, its call count reset. */
  private chunk(i: number): number {
    const b = i * CHUNK;
    this.table[b] = 0;
    return b;
  }

  /** Append a call of `op` with the current arguments to the chunk at `b`; returns where its arguments start. */
  private push(b: number, op: number): number {
    const s = this.table;
    const o = b + 1 + s[b] * CALL;
    s[b]++;
    s[o] = op;
    s.set(this.t, o + 1);
    return o + 1;
  }

  /** Run chunk i on the calling thread (SGEMM packs into the caller's workspace). */
  private runChunk(i: number): void {
    const s = this.table, b = i * CHUNK, n = s[b];
    for (let j = 0; j < n; j++) {
      const o = b + 1 + j * CALL;
      const op = s[o];
      if (op === OP.sgemm) s[o + 14] = this.gemmWork[0];
      this.fns[op](s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6], s[o + 7], s[o + 8], s[o + 9],
        s[o + 10], s[o + 11], s[o + 12], s[o + 13], s[o + 14], s[o + 15], s[o + 16], s[o + 17], s[o + 18]);
    }
  }

  private run(n: number, what: string): void {
    this.pool.run(n, this.runMain, what);
  }

  private rows(op: number, spec: RowKernel): boolean {
    const t = this.t;
    const n = t[spec.n];
    const width = spec.width < 0 ? 1 : t[spec.width];
    const chunks = this.chunks(n * width, spec.min, Math.ceil(n / spec.align));
    if (chunks <= 1) return false;
    const srcStride = op === OP.sumSlices ? t[3] * t[4] * 4 : 0;
    const s = this.table;
    for (let i = 0; i < chunks; i++) {
      const r0 = ParallelKernels.cut(n, chunks, i, spec.align), r1 = ParallelKernels.cut(n, chunks, i + 1, spec.align);
      const a = this.push(this.chunk(i), op);
      s[a + spec.n] = r1 - r0;
      for (const p of spec.ptrs) {
        const at = p[0];
        if (t[at] !== 0) s[a + at] = t[at] + r0 * (p[1] < 0 ? 1 : t[p[1]]) * p[2];
      }
      if (srcStride) s[a + 1] = t[1] + r0 * srcStride;
    }
    this.run(chunks, POOL_KERNELS[op]);
    return true;
  }

  private sgemm(tA: number, tB: number, M: number, N: number, K: number, A: number, lda: number, B: number, ldb: number,
    C: number, ldc: number, bias: number, acc: number, work: number, bFormat: number): void {
    const work0 = M * N * Math.max(K, 1);
    const rowTiles = Math.ceil(M / MR), colTiles = Math.ceil(N / COLS);
    const threads = this.pool.size;
    // Each row chunk packs all of op(B) [K,N] again, each column chunk all of
    // op(A) [M,K]: cut the dimension whose repacking costs less. Packing A
    // (scalar stores) costs about 3× packing B (vector copies) per float, so
    // columns when 3M < N: an MLP over a few prompts' tokens, the unembedding
    // of a few metric positions. Either way, unless it is too narrow to give
    // every thread a share.
    let byRows = 3 * M >= N;
    if (byRows && rowTiles < threads && colTiles >= threads) byRows = false;
    else if (!byRows && colTiles < threads && rowTiles >= threads) byRows = true;
    // More chunks than threads only while each still amortizes its repacking
    // (to about 3% of its multiply-adds): at least 2·MC rows, or 512 columns.
    const most = byRows ? Math.max(Math.min(rowTiles, threads), Math.floor(M / (2 * MC))) : Math.max(Math.min(colTiles, threads), Math.floor(N / 512));
    const chunks = this.chunks(work0, GEMM_MIN, most);
    if (chunks <= 1) return this.raw.sgemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, bias, acc, work, bFormat);
    const t = this.t, s = this.table;
    const es = bFormat ? 2 : 4; // bytes per element of B
    // Column n of a PACKED_T B is row n of the packed matrix: 8 floats on, whatever ldb.
    const colBytes = bFormat === PACKED_T ? 32 : tB ? ldb * es : es;
    t[0] = tA; t[1] = tB; t[2] = M; t[3] = N; t[4] = K; t[5] = A; t[6] = lda; t[7] = B; t[8] = ldb;
    t[9] = C; t[10] = ldc; t[11] = bias; t[12] = acc; t[13] = work; t[14] = bFormat;
    for (let i = 0; i < chunks; i++) {
      const a = this.push(this.chunk(i), OP.sgemm);
      if (byRows) {
        const i0 = ParallelKernels.cut(M, chunks, i, MR), i1 = ParallelKernels.cut(M, chunks, i + 1, MR);
        s[a + 2] = i1 - i0;
        s[a + 5] = A + (tA ? i0 : i0 * lda) * 4;
        s[a + 9] = C + i0 * ldc * 4;
      } else {
        const j0 = ParallelKernels.cut(N, chunks, i, COLS), j1 = ParallelKernels.cut(N, chunks, i + 1, COLS);
        s[a + 3] = j1 - j0;
        s[a + 7] = B + j0 * colBytes;
        s[a + 9] = C + j0 * 4;
        if (bias !== 0) s[a + 11] = bias + j0 * 4;
      }
      // s[a + 13], the workspace, is set by whichever thread runs the chunk.
    }
    this.run(chunks, "sgemm");
  }

  // SGEMM on a packed B (packB): nothing is packed per chunk, so the cut
  // follows memory traffic alone. Column chunks (whole 16-column groups, so
  // whole panels: packedBOffset(j0, K) = j0·K floats) each stream their own
  // part of B once; row chunks would each stream all of it. Rows only when
  // C is too narrow to give every thread columns.
  private sgemmPacked(tA: number, M: number, N: number, K: number, A: number, lda: number, Bp: number, C: number, ldc: number,
    bias: number, acc: number, ldp: number): void {
    const rowTiles = Math.ceil(M / MR), colTiles = Math.ceil(N / COLS);
    const threads = this.pool.size;
    const byRows = colTiles < threads && rowTiles > colTiles;
    const chunks = this.chunks(M * N * Math.max(K, 1), GEMM_MIN, byRows ? rowTiles : colTiles);
    if (chunks <= 1) return this.raw.sgemmPacked(tA, M, N, K, A, lda, Bp, C, ldc, bias, acc, ldp);
    const t = this.t, s = this.table;
    t[0] = tA; t[1] = M; t[2] = N; t[3] = K; t[4] = A; t[5] = lda; t[6] = Bp; t[7] = C; t[8] = ldc; t[9] = bias; t[10] = acc; t[11] = ldp;
    for (let i = 0; i < chunks; i++) {
      const a = this.push(this.chunk(i), OP.sgemmPacked);
      if (byRows) {
        const i0 = ParallelKernels.cut(M, chunks, i, MR), i1 = ParallelKernels.cut(M, chunks, i + 1, MR);
        s[a + 1] = i1 - i0;
        s[a + 4] = A + (tA ? i0 : i0 * lda) * 4;
        s[a + 7] = C + i0 * ldc * 4;
      } else {
        const j0 = ParallelKernels.cut(N, chunks, i, COLS), j1 = ParallelKernels.cut(N, chunks, i + 1, COLS);
        s[a + 2] = j1 - j0;
        s[a + 6] = Bp + this.raw.packedBOffset(j0, ldp > 0 ? ldp : K) * 4;
        s[a + 7] = C + j0 * 4;
        if (bias !== 0) s[a + 9] = bias + j0 * 4;
      }
    }
    this.run(chunks, "sgemmPacked");
  }

  /** packB by column chunks: each packs its own panels (packedBOffset). Once per weight, but 154 MB for GPT-2's W_U. */
  private packB(Bp: number, B: number, ldb: number, tB: number, K: number, N: number, bFormat: number): void {
    const chunks = this.chunks(N * Math.max(K, 1), CHEAP, Math.ceil(N / COLS));
    if (chunks <= 1) return this.raw.packB(Bp, B, ldb, tB, K, N, bFormat);
    const t = this.t, s = this.table;
    const es = bFormat ? 2 : 4;
    t[0] = Bp; t[1] = B; t[2] = ldb; t[3] = tB; t[4] = K; t[5] = N; t[6] = bFormat;
    for (let i = 0; i < chunks; i++) {
      const j0 = ParallelKernels.cut(N, chunks, i, COLS), j1 = ParallelKernels.cut(N, chunks, i + 1, COLS);
      const a = this.push(this.chunk(i), OP.packB);
      s[a] = Bp + this.raw.packedBOffset(j0, K) * 4;
      s[a + 1] = B + (tB ? j0 * ldb : j0) * es;
      s[a + 5] = j1 - j0;
    }
    this.run(chunks, "packB");
  }

  // Chunks of (batch, head group) pairs for the attention kernels: a group is
  // `unit` heads (1 forward; a kv group backward, whose heads add into the
  // same dk/dv and so must stay in one call, in order). A chunk is at most 3
  // calls: the end of one batch's heads, whole batches, the start of another's.
  // `at` gives the argument positions of B, h0 and h1; q, k and p list the
  // pointer arguments laid out [B,T,H,Dh], [B,T,Hkv,Dh] and [B,H,T,T].
  private heads(op: number, B: number, T: number, H: number, Hkv: number, Dh: number, h0: number, h1: number, unit: number,
    at: [number, number, number], q: number[], k: number[], pa: number[]): boolean {
    if (h1 <= h0 || B <= 0) return false;
    const g0 = Math.floor(h0 / unit), groups = Math.floor((h1 - 1) / unit) - g0 + 1;
    const pairs = B * groups;
    const chunks = this.chunks(B * (h1 - h0) * T * T * Dh, ATTN_MIN, pairs);
    if (chunks <= 1) return false;
    const t = this.t, s = this.table;
    const qStride = T * H * Dh * 4, kStride = T * Hkv * Dh * 4, pStride = H * T * T * 4;
    const headOf = (g: number) => Math.min(h1, Math.max(h0, (g0 + g) * unit));
    const emit = (b: number, b0: number, nb: number, ha: number, hb: number) => {
      if (nb <= 0 || hb <= ha) return;
      const a = this.push(b, op);
      for (const i of q) s[a + i] = t[i] + b0 * qStride;
      for (const i of k) s[a + i] = t[i] + b0 * kStride;
      for (const i of pa) s[a + i] = t[i] + b0 * pStride;
      s[a + at[0]] = nb; s[a + at[1]] = ha; s[a + at[2]] = hb;
    };
    for (let i = 0; i < chunks; i++) {
      const base = this.chunk(i);
      const p0 = ParallelKernels.cut(pairs, chunks, i, 1), p1 = ParallelKernels.cut(pairs, chunks, i + 1, 1);
      let b = Math.floor(p0 / groups);
      const g = p0 % groups, bEnd = Math.floor(p1 / groups), gEnd = p1 % groups;
      if (g > 0) {
        if (b === bEnd) { emit(base, b, 1, headOf(g), headOf(gEnd)); continue; }
        emit(base, b, 1, headOf(g), h1);
        b++;
      }
      emit(base, b, bEnd - b, h0, h1);
      if (gEnd > 0) emit(base, bEnd, 1, h0, headOf(gEnd));
    }
    this.run(chunks, POOL_KERNELS[op]);
    return true;
  }

  private attention(z: number, pattern: number, q: number, kk: number, v: number, B: number, T: number, H: number, Hkv: number,
    Dh: number, scale: number, h0: number, h1: number, causal: number, window: number): void {
    const t = this.t;
    t[0] = z; t[1] = pattern; t[2] = q; t[3] = kk; t[4] = v; t[5] = B; t[6] = T; t[7] = H; t[8] = Hkv; t[9] = Dh;
    t[10] = scale; t[11] = h0; t[12] = h1; t[13] = causal; t[14] = window;
    if (!this.heads(OP.attention, B, T, H, Hkv, Dh, h0, h1, 1, [5, 11, 12], [0, 2], [3, 4], [1])) {
      this.raw.attention(z, pattern, q, kk, v, B, T, H, Hkv, Dh, scale, h0, h1, causal, window);
    }
  }

  private attentionBackward(dq: number, dk: number, dv: number, dpattern: number, dz: number, q: number, kk: number, v: number, pattern: number,
    B: number, T: number, H: number, Hkv: number, Dh: number, scale: number, h0: number, h1: number, causal: number): void {
    const t = this.t;
    t[0] = dq; t[1] = dk; t[2] = dv; t[3] = dpattern; t[4] = dz; t[5] = q; t[6] = kk; t[7] = v; t[8] = pattern;
    t[9] = B; t[10] = T; t[11] = H; t[12] = Hkv; t[13] = Dh; t[14] = scale; t[15] = h0; t[16] = h1; t[17] = causal;
    if (!this.heads(OP.attentionBackward, B, T, H, Hkv, Dh, h0, h1, H / Hkv, [9, 15, 16], [0, 4, 5], [1, 2, 6, 7], [3, 8])) {
      this.raw.attentionBackward(dq, dk, dv, dpattern, dz, q, kk, v, pattern, B, T, H, Hkv, Dh, scale, h0, h1, causal);
    }
  }

  /** Batches of x: [B,T,Hx,Dh] (rows of the rotation tables are positions, shared by every batch). */
  private rope(x: number, cos: number, sin: number, B: number, T: number, Hx: number, Dh: number, h0: number, h1: number): void {
    const chunks = this.chunks(B * T * (h1 - h0) * Dh, NORM, B);
    if (chunks <= 1) return this.raw.rope(x, cos, sin, B, T, Hx, Dh, h0, h1);
    const t = this.t, s = this.table;
    t[0] = x; t[1] = cos; t[2] = sin; t[3] = B; t[4] = T; t[5] = Hx; t[6] = Dh; t[7] = h0; t[8] = h1;
    for (let i = 0; i < chunks; i++) {
      const b0 = ParallelKernels.cut(B, chunks, i, 1), b1 = ParallelKernels.cut(B, chunks, i + 1, 1);
      const a = this.push(this.chunk(i), OP.rope);
      s[a] = x + b0 * T * Hx * Dh * 4;
      s[a + 3] = b1 - b0;
    }
    this.run(chunks, "rope");
  }

  /** Rows [r0, r1) cut into ranges (the kernel indexes rows itself: no pointer moves). */
  private sumInputs(out: number, bias: number, ptrs: number, k: number, D: number, r0: number, r1: number): void {
    const rows = r1 - r0;
    const chunks = this.chunks(rows * D * Math.max(k, 1), CHEAP, rows);
    if (chunks <= 1) return this.raw.sumInputs(out, bias, ptrs, k, D, r0, r1);
    const t = this.t, s = this.table;
    t[0] = out; t[1] = bias; t[2] = ptrs; t[3] = k; t[4] = D; t[5] = r0; t[6] = r1;
    for (let i = 0; i < chunks; i++) {
      const a = this.push(this.chunk(i), OP.sumInputs);
      s[a + 5] = r0 + ParallelKernels.cut(rows, chunks, i, 1);
      s[a + 6] = r0 + ParallelKernels.cut(rows, chunks, i + 1, 1);
    }
    this.run(chunks, "sumInputs");
  }

  /** Batches of out: [B·T,D] (positions index W_pos by t, the same in every batch). */
  private embed(out: number, tokens: number, WE: number, posW: number, B: number, T: number, D: number, weFormat: number): void {
    const chunks = this.chunks(B * T * D, CHEAP, B);
    if (chunks <= 1) return this.raw.embed(out, tokens, WE, posW, B, T, D, weFormat);
    const t = this.t, s = this.table;
    t[0] = out; t[1] = tokens; t[2] = WE; t[3] = posW; t[4] = B; t[5] = T; t[6] = D; t[7] = weFormat;
    for (let i = 0; i < chunks; i++) {
      const b0 = ParallelKernels.cut(B, chunks, i, 1), b1 = ParallelKernels.cut(B, chunks, i + 1, 1);
      const a = this.push(this.chunk(i), OP.embed);
      s[a] = out + b0 * T * D * 4;
      s[a + 1] = tokens + b0 * T * 4;
      s[a + 4] = b1 - b0;
    }
    this.run(chunks, "embed");
  }
}
