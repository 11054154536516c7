// Instantiates the kernels in any runtime and owns one linear memory with a
// bump arena. The wasm bytes are embedded (base64) so Node, Deno and browsers
// load them the same way, with no file system or fetch. Nothing happens at
// import time: a module is compiled on the first createEngine() that needs it
// and cached.
//
// Four builds of the same kernels are embedded (asconfig.json targets):
//   simd                  the default: one thread, deterministic
//   simd-threads          shared, imported memory for a worker pool (pool.ts,
//                         parallel.ts); the same instructions, so the same bits
//   relaxed-simd(-threads) the SGEMM micro-kernel uses f32x4.relaxed_madd
// createEngine() picks one from its options and WebAssembly.validate.
//
// Threads (createEngine({threads: n})): the engine's memory is a shared
// WebAssembly.Memory, n − 1 workers instantiate the same module over it, and
// each large kernel call is cut by output into chunks (SGEMM: blocks of C's
// rows or columns; attention: (batch, head) pairs; row-wise and elementwise
// kernels: rows and ranges) that the calling thread and the workers take
// (parallel.ts, pool.ts). Every output element is computed by one thread
// with the same instructions in the same order as in the default engine, so
// results are bit-identical for any n, any schedule, and to the default
// engine. Calls stay synchronous (forward(), Patcher.trial() are unchanged):
// the calling thread works through chunks with the workers, then waits for
// the last one, in Atomics.wait in Node, Deno and any Worker. A browser
// page's main thread may not block in Atomics.wait, so there it spins on
// Atomics.load instead: the page is busy for the call either way, as with one
// thread; to keep a page responsive, run the whole engine in a Worker.
// Threads need SharedArrayBuffer, which browsers give only to cross-origin
// isolated pages (served with Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp); where it is missing the engine
// falls back to one thread with one console warning, never an error. Small
// calls (below about 10–30 µs of work) run on the calling thread alone.
//
// Relaxed SIMD (createEngine({deterministic: false})): relaxed_madd may be
// fused (one rounding) or not (two), as the CPU and engine choose, so results
// can differ between machines and from the default build. Hence opt-in only;
// the default stays deterministic. Runtimes without relaxed SIMD (Node 20
// without --experimental-wasm-relaxed-simd) fall back to the deterministic
// build with a warning.
import {
  KERNELS_WASM_BASE64, KERNELS_THREADS_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64, KERNELS_RELAXED_THREADS_WASM_BASE64,
} from "./kernels.generated.js";
import type { KernelExports } from "./kernels.js";
import { AcdcError } from "../errors.js";
import { MAX_THREADS, Pool } from "./pool.js";
import { GEMM_WORKSPACE, ParallelKernels, POOL_KERNELS } from "./parallel.js";

export type KernelBuild = "simd" | "simd-threads" | "relaxed-simd" | "relaxed-simd-threads";
/** Element formats the kernels read weights in (bf16, f16: little-endian u16, widened exactly). */
export type WeightFormat = "f32" | "bf16" | "f16";
/** The kernels' code for each format (assembly/half.ts: F32, BF16, F16). */
export const FORMAT_CODE: Record<WeightFormat, number> = { f32: 0, bf16: 1, f16: 2 };
/** sgemm's bFormat (and embed's weFormat) for a matrix packed by packB read transposed (assembly/matmul.ts PACKED_T). */
export const PACKED_T = 3;

const SOURCES: Record<KernelBuild, string> = {
  "simd": KERNELS_WASM_BASE64,
  "simd-threads": KERNELS_THREADS_WASM_BASE64,
  "relaxed-simd": KERNELS_RELAXED_WASM_BASE64,
  "relaxed-simd-threads": KERNELS_RELAXED_THREADS_WASM_BASE64,
};
const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();
const valid = new Map<KernelBuild, boolean>();

function decodeBase64(b64: string): Uint8Array {
  // atob exists in Node >= 16, Deno and browsers.
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether this runtime accepts a build (WebAssembly.validate on its own bytes). */
function validates(build: KernelBuild): boolean {
  let v = valid.get(build);
  if (v === undefined) {
    try { v = WebAssembly.validate(decodeBase64(SOURCES[build]) as BufferSource); } catch { v = false; }
    valid.set(build, v);
  }
  return v;
}

/** The compiled kernel module of a build (compiled once per process); the default one without an argument. */
export function kernelModule(build: KernelBuild = "simd"): Promise<WebAssembly.Module> {
  let m = compiled.get(build);
  if (!m) {
    if (!WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]))) {
      throw new Error("acdc-wasm: this runtime lacks WebAssembly SIMD (v128), which the kernels need");
    }
    m = WebAssembly.compile(decodeBase64(SOURCES[build]) as BufferSource);
    compiled.set(build, m);
  }
  return m;
}

/**
 * Use a module the host compiled for a build, instead of compiling the
 * embedded bytes: for runtimes that forbid compiling WebAssembly at run time
 * (Cloudflare's workerd, Vercel's edge in production), which import the
 * package's build/kernels*.wasm as a module and hand it here before the first
 * createEngine. It must be this package version's file for that build (the
 * bytes the embedded base64 was made from), or results may differ.
 */
export function provideKernelModule(build: KernelBuild, module: WebAssembly.Module): void {
  if (!(module instanceof WebAssembly.Module)) throw new TypeError(`acdc-wasm: provideKernelModule(${build}) needs a WebAssembly.Module`);
  compiled.set(build, Promise.resolve(module));
}

const PAGE = 65536;
/** The 32-bit address space: no wasm32 memory grows past it. */
const MAX_BYTES = 2 ** 32;

/** An allocation that cannot fit in WebAssembly's 4 GiB. */
export class MemoryLimitError extends AcdcError {
  constructor(message: string) { super(message, "MemoryLimitError"); }
}
const ALIGN = 64;
/** Pages of the threads builds' memory: initial (as in asconfig.json) and maximum (the whole 32-bit space). */
const SHARED_INITIAL = 17, SHARED_MAXIMUM = 65536;

interface EngineParts { build: KernelBuild; pool?: Pool; splitSmallCalls?: boolean }

/** One instance of the kernels with its own memory and arena. */
export class Engine {
  /** The kernels: the instance's exports, or (threads > 1) the same API split over the worker pool. */
  readonly k: KernelExports;
  private top: number;
  /** Scratch for sgemm packing, allocated once. */
  readonly gemmWork: number;
  /** Threads kernel calls run on (1: the calling thread only). */
  readonly threads: number;
  /** Which kernel build runs. */
  readonly build: KernelBuild;
  /** False only for the relaxed-SIMD builds, whose results may differ across machines. */
  readonly deterministic: boolean;
  private readonly pool: Pool | null;

  constructor(instance: WebAssembly.Instance, parts?: EngineParts) {
    const raw = instance.exports as unknown as KernelExports;
    this.build = parts?.build ?? "simd";
    this.deterministic = !this.build.startsWith("relaxed");
    this.pool = parts?.pool ?? null;
    this.threads = this.pool?.size ?? 1;
    this.k = raw;
    this.top = (raw.heapBase() + ALIGN - 1) & ~(ALIGN - 1);
    this.gemmWork = this.alloc(raw.sgemmWorkspaceBytes());
    if (this.pool) {
      // One sgemm workspace per thread; worker i packs into its own.
      const work = [this.gemmWork];
      for (let i = 1; i < this.threads; i++) work.push(this.alloc(raw.sgemmWorkspaceBytes()));
      this.k = new ParallelKernels(raw, this.pool, work, parts?.splitSmallCalls).kernels();
    }
  }

  get memory(): WebAssembly.Memory { return this.k.memory; }

  /** Bytes the arena can still hand out before the 4 GiB limit. */
  headroom(): number { return MAX_BYTES - this.top; }

  /** Refuse at once (with `what` and the numbers) an allocation of `bytes` that cannot fit, before any work. */
  ensure(bytes: number, what: string, hint = ""): void {
    if (bytes > this.headroom()) {
      const gib = (b: number) => (b / 2 ** 30).toFixed(2);
      throw new MemoryLimitError(`${what} needs ${gib(bytes)} GiB of WebAssembly memory but only ${gib(Math.max(0, this.headroom()))} GiB of the 4 GiB limit is left${hint ? `: ${hint}` : ""}`);
    }
  }

  /** Reserve `bytes` (64-byte aligned), growing memory as needed; returns the offset. */
  alloc(bytes: number): number {
    const p = this.top;
    // Not `& ~(ALIGN - 1)`: JavaScript's bitwise operators are 32-bit signed, and sizes reach 4 GiB.
    const end = p + Math.ceil(bytes / ALIGN) * ALIGN;
    if (end > MAX_BYTES) throw new MemoryLimitError(`out of WebAssembly memory: ${(bytes / 2 ** 20).toFixed(0)} MiB more would reach ${(end / 2 ** 20).toFixed(0)} MiB, past the 4096 MiB limit`);
    const have = this.k.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // Grow by at least a quarter of the current size: a grow may copy the
      // whole memory, so many small grows cost more than a few big ones.
      const extra = Math.max(pages, Math.min(Math.ceil(have / PAGE / 4), 65536 - have / PAGE - pages));
      try {
        try { this.k.memory.grow(extra); } catch { this.k.memory.grow(pages); }
      } catch {
        throw new MemoryLimitError(`out of WebAssembly memory: growing to ${(end / 2 ** 20).toFixed(0)} MiB (the 32-bit limit is 4096 MiB, and the runtime may allow less)`);
      }
    }
    this.top = end;
    return p;
  }

  /** Allocate n f32 and return its offset. */
  allocF32(n: number): number { return this.alloc(n * 4); }

  /** Current arena top, for reset(). */
  mark(): number { return this.top; }
  /** Free everything allocated after `mark`. */
  reset(mark: number): void { this.top = mark; }

  /** A fresh Float32Array view of n floats at `ptr` (views die when memory grows). */
  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.k.memory.buffer, ptr, n); }
  i32(ptr: number, n: number): Int32Array { return new Int32Array(this.k.memory.buffer, ptr, n); }
  f64(ptr: number, n: number): Float64Array { return new Float64Array(this.k.memory.buffer, ptr, n); }

  /** Copy a host array into a new allocation; returns its offset. */
  upload(data: Float32Array): number {
    const p = this.allocF32(data.length);
    this.f32(p, data.length).set(data);
    return p;
  }

  /** C[M,N] = op(A)·op(B) (+bias[N]) (+C): offsets, row strides in elements; B may be bf16/f16 (`format`). */
  gemm(M: number, N: number, K: number, A: number, lda: number, B: number, ldb: number, C: number, ldc: number,
    opts: { transA?: boolean; transB?: boolean; bias?: number; accumulate?: boolean; format?: WeightFormat } = {}): void {
    this.k.sgemm(opts.transA ? 1 : 0, opts.transB ? 1 : 0, M, N, K, A, lda, B, ldb, C, ldc,
      opts.bias ?? 0, opts.accumulate ? 1 : 0, this.gemmWork, FORMAT_CODE[opts.format ?? "f32"]);
  }

  /**
   * Pack op(B)[K,N] once for gemmPacked (weights at load time): allocates
   * 4·⌈N/8⌉·8·K bytes (f32 whatever B's format: 16-bit weights take twice
   * their size here) and returns the offset.
   */
  packB(K: number, N: number, B: number, ldb: number, opts: { transB?: boolean; format?: WeightFormat } = {}): number {
    const Bp = this.alloc(this.k.packedBFloats(K, N) * 4);
    this.k.packB(Bp, B, ldb, opts.transB ? 1 : 0, K, N, FORMAT_CODE[opts.format ?? "f32"]);
    return Bp;
  }

  /**
   * gemm with B from packB(K, N, …): the same bits as gemm on the unpacked B,
   * without repacking it. `rows`: the packed matrix's row count when the
   * call reads K of them from Bp (Bp moved by 8·k0 floats for rows from k0).
   */
  gemmPacked(M: number, N: number, K: number, A: number, lda: number, Bp: number, C: number, ldc: number,
    opts: { transA?: boolean; bias?: number; accumulate?: boolean; rows?: number } = {}): void {
    this.k.sgemmPacked(opts.transA ? 1 : 0, M, N, K, A, lda, Bp, C, ldc, opts.bias ?? 0, opts.accumulate ? 1 : 0, opts.rows ?? 0);
  }

  /**
   * C[M,N] (= or +=) op(A)[M,K]·Xᵀ with X a matrix packed by packB, of
   * `rows` rows: Xp points at X's element (n0, k0), k0 a multiple of 8
   * (Xp moved by 4·(k0·rows + 8·n0) bytes), and the call reads X[n0 …
   * n0+N, k0 … k0+K). The same bits as gemm with transB on the unpacked X
   * (its panels are X's 8×8 blocks transposed), so a packed weight serves
   * the backward products dx = dy·Wᵀ without a transposed copy.
   */
  gemmPackedT(M: number, N: number, K: number, A: number, lda: number, Xp: number, rows: number, C: number, ldc: number,
    opts: { transA?: boolean; accumulate?: boolean } = {}): void {
    this.k.sgemm(opts.transA ? 1 : 0, 1, M, N, K, A, lda, Xp, rows, C, ldc, 0, opts.accumulate ? 1 : 0, this.gemmWork, PACKED_T);
  }

  /** End the worker threads (a threaded engine cannot run kernels afterwards); a no-op with one thread. */
  dispose(): void { this.pool?.close(); }

  /**
   * Run every pooled kernel a few times on every thread, so the first real
   * calls do not run on V8's baseline tier (about half speed). Allocates
   * scratch and frees it. createEngine() does this for threaded engines.
   */
  warmUp(): void {
    const mark = this.mark();
    try {
      const M = 96, N = 256, K = 256, D = 1024, rows = 128;
      const A = this.allocF32(M * K), B = this.allocF32(K * N), C = this.allocF32(M * N);
      const x = this.allocF32(rows * D), y = this.allocF32(rows * D), st = this.allocF32(2 * rows);
      const T = 32, H = 8, Dh = 32;
      const q = this.allocF32(T * H * Dh), pat = this.allocF32(H * T * T), z = this.allocF32(T * H * Dh);
      const k = this.k;
      k.fill(A, 0.01, M * K); k.fill(B, 0.02, K * N); k.fill(x, 0.5, rows * D); k.fill(q, 0.1, T * H * Dh);
      for (let r = 0; r < 8; r++) {
        k.sgemm(0, 0, M, N, K, A, K, B, N, C, N, 0, 0, this.gemmWork, 0);
        k.sgemm(0, 1, M, N, K, A, K, B, K, C, N, 0, 1, this.gemmWork, 0);
        k.sgemmPacked(0, M, N, K, A, K, B, C, N, 0, 1, 0); // B as a packed B: any floats will do
        k.layernorm(y, st, st + rows * 4, x, x, x, rows, D, 1e-5);
        k.gelu(y, x, rows * D);
        k.add(y, y, x, rows * D);
        k.addDiff(y, y, x, y, rows * D);
        k.attention(z, pat, q, q, q, 1, T, H, H, Dh, 0.1, 0, H, 1, 0);
      }
    } finally {
      this.reset(mark);
    }
  }
}

export interface EngineOptions {
  /**
   * Threads for kernel calls: 1 (the default: exactly the single-thread
   * engine), n > 1 (the calling thread and n − 1 workers over shared memory;
   * the same bits as one thread), or "auto" (every logical core). Falls back
   * to 1 with one console warning where threads are impossible: no
   * SharedArrayBuffer (a browser page that is not cross-origin isolated), no
   * Worker API, or a runtime that rejects shared WebAssembly memory. In a
   * browser page the calling thread spins rather than blocks while workers
   * finish a call; run the engine in a Worker to keep the page responsive.
   * A threaded engine's workers end with the process (Node, Deno) or page;
   * dispose() ends them sooner. More threads than free cores make calls
   * slower, not faster: on a busy machine ask for fewer.
   */
  threads?: number | "auto";
  /**
   * true (the default): results are the same bits on every machine, in every
   * runtime and for every thread count. false: use the relaxed-SIMD build
   * where the runtime has it, whose SGEMM micro-kernel uses
   * f32x4.relaxed_madd. The engine may compute that as a fused multiply-add
   * (one rounding) or as a multiply then an add (two), depending on the CPU,
   * so results differ across machines (and from the default build) in the
   * last bits; on one machine they are still the same for every thread count.
   * About 1.4× faster SGEMM on an x86 CPU with FMA. Runtimes without relaxed
   * SIMD (Node 20 unless started with --experimental-wasm-relaxed-simd) fall
   * back to the deterministic build with one warning.
   */
  deterministic?: boolean;
}

/** Switches for tests only (createTestEngine): fake a missing feature, or split even tiny calls over the threads. */
export interface TestHooks {
  /** Behave as if a feature were missing, to exercise the fallbacks. */
  unavailable?: { sharedMemory?: boolean; relaxedSimd?: boolean; workers?: boolean };
  /** Split every kernel call over the threads however small (the size cutoff never changes results). */
  splitSmallCalls?: boolean;
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(message);
}

async function logicalCores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  try {
    const name = "node:os"; // a variable keeps browser bundlers away from it
    const os = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as typeof import("node:os");
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
}

/** Why threads cannot run here, or null if they can. */
function threadsBlocked(opts: TestHooks, build: KernelBuild): string | null {
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (opts.unavailable?.sharedMemory || typeof SharedArrayBuffer === "undefined") {
    return g.crossOriginIsolated === false
      ? "SharedArrayBuffer is unavailable (the page is not cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)"
      : "SharedArrayBuffer is unavailable";
  }
  if (g.crossOriginIsolated === false) return "the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  if (!validates(build)) return "this runtime rejects the shared-memory kernels (no WebAssembly threads)";
  return null;
}

/**
 * A new engine: its own instance and memory over a shared compiled module.
 * With no options, exactly the single-thread deterministic engine.
 */
export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  return createTestEngine(opts, {});
}

/** createEngine with test switches (see TestHooks); not for production use. */
export async function createTestEngine(opts: EngineOptions, hooks: TestHooks): Promise<Engine> {
  let threads = opts.threads === "auto" ? Math.min(MAX_THREADS, await logicalCores()) : Math.floor(opts.threads ?? 1);
  if (!(threads >= 1 && threads <= MAX_THREADS)) throw new RangeError(`acdc-wasm: threads must be an integer from 1 to ${MAX_THREADS} or "auto", got ${JSON.stringify(opts.threads)}`);
  let relaxed = opts.deterministic === false;
  if (relaxed && (hooks.unavailable?.relaxedSimd || !validates("relaxed-simd"))) {
    warnOnce("acdc-wasm: this runtime has no WebAssembly relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd); using the deterministic kernels");
    relaxed = false;
  }
  if (threads > 1) {
    const build: KernelBuild = relaxed ? "relaxed-simd-threads" : "simd-threads";
    const why = threadsBlocked(hooks, build);
    if (why) {
      warnOnce(`acdc-wasm: threads unavailable, running on one thread: ${why}`);
    } else {
      try {
        if (hooks.unavailable?.workers) throw new Error("workers disabled (unavailable.workers)");
        return await threadedEngine(build, threads, hooks.splitSmallCalls === true);
      } catch (e) {
        warnOnce(`acdc-wasm: threads unavailable, running on one thread: ${(e as Error)?.message ?? e}`);
      }
    }
    threads = 1;
  }
  const build: KernelBuild = relaxed ? "relaxed-simd" : "simd";
  const instance = await WebAssembly.instantiate(await kernelModule(build), {
    env: { abort: () => { throw new Error("acdc-wasm: kernel abort"); } },
  });
  return new Engine(instance, build === "simd" ? undefined : { build });
}

async function threadedEngine(build: KernelBuild, threads: number, splitSmallCalls: boolean): Promise<Engine> {
  const mod = await kernelModule(build);
  const memory = new WebAssembly.Memory({ initial: SHARED_INITIAL, maximum: SHARED_MAXIMUM, shared: true });
  const instance = await WebAssembly.instantiate(mod, {
    env: { memory, abort: () => { throw new Error("acdc-wasm: kernel abort"); } },
  });
  // Workers instantiate after the calling thread: each rewrites the module's
  // (constant) data segments, which lie below the arena, so nothing is lost.
  const pool = await Pool.create(threads, mod, memory, POOL_KERNELS, GEMM_WORKSPACE);
  const engine = new Engine(instance, { build, pool, splitSmallCalls });
  engine.warmUp();
  return engine;
}
