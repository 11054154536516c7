// Instantiates the kernels in any runtime and owns one linear memory with a
// bump arena. The wasm bytes are embedded (base64) so Node, Deno and browsers
// load them the same way, with no file system or fetch. Nothing happens at
// import time: the module is compiled on the first createEngine() and cached.
import { KERNELS_WASM_BASE64 } from "./kernels.generated.js";
import type { KernelExports } from "./kernels.js";

let compiled: Promise<WebAssembly.Module> | null = null;

function decodeBase64(b64: string): Uint8Array {
  // atob exists in Node >= 16, Deno and browsers.
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The compiled kernel module (compiled once per process). */
export function kernelModule(): Promise<WebAssembly.Module> {
  if (!compiled) {
    if (!WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]))) {
      throw new Error("acdc-wasm: this runtime lacks WebAssembly SIMD (v128), which the kernels need");
    }
    compiled = WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64) as BufferSource);
  }
  return compiled;
}

const PAGE = 65536;
const ALIGN = 64;

/** One instance of the kernels with its own memory and arena. */
export class Engine {
  readonly k: KernelExports;
  private top: number;
  /** Scratch for sgemm packing, allocated once. */
  readonly gemmWork: number;

  constructor(instance: WebAssembly.Instance) {
    this.k = instance.exports as unknown as KernelExports;
    this.top = (this.k.heapBase() + ALIGN - 1) & ~(ALIGN - 1);
    this.gemmWork = this.alloc(this.k.sgemmWorkspaceBytes());
  }

  get memory(): WebAssembly.Memory { return this.k.memory; }

  /** Reserve `bytes` (64-byte aligned), growing memory as needed; returns the offset. */
  alloc(bytes: number): number {
    const p = this.top;
    const end = p + ((bytes + ALIGN - 1) & ~(ALIGN - 1));
    const have = this.k.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // Grow by at least a quarter of the current size: a grow may copy the
      // whole memory, so many small grows cost more than a few big ones.
      const extra = Math.max(pages, Math.min(Math.ceil(have / PAGE / 4), 65536 - have / PAGE - pages));
      try {
        try { this.k.memory.grow(extra); } catch { this.k.memory.grow(pages); }
      } catch {
        throw new Error(`acdc-wasm: out of WebAssembly memory growing to ${(end / 2 ** 20).toFixed(0)} MiB (the 32-bit limit is 4096 MiB)`);
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

  /** C[M,N] = op(A)·op(B) (+bias[N]) (+C): offsets, row strides in floats. */
  gemm(M: number, N: number, K: number, A: number, lda: number, B: number, ldb: number, C: number, ldc: number,
    opts: { transA?: boolean; transB?: boolean; bias?: number; accumulate?: boolean } = {}): void {
    this.k.sgemm(opts.transA ? 1 : 0, opts.transB ? 1 : 0, M, N, K, A, lda, B, ldb, C, ldc,
      opts.bias ?? 0, opts.accumulate ? 1 : 0, this.gemmWork);
  }
}

/** A new engine: its own instance and memory over the shared compiled module. */
export async function createEngine(): Promise<Engine> {
  const mod = await kernelModule();
  const instance = await WebAssembly.instantiate(mod, {
    env: { abort: () => { throw new Error("acdc-wasm: kernel abort"); } },
  });
  return new Engine(instance);
}
