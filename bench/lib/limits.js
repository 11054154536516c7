// The machine's limits for WebAssembly kernels, measured with microkernels
// compiled at bench time by AssemblyScript: the f32x4 mul+add throughput
// (the ceiling of any deterministic wasm arithmetic) and one thread's memory
// read bandwidth (the ceiling of any kernel that streams a matrix too large
// for the caches, as the unembedding at a few rows streams W_U).
import { bench, warmup } from "./timing.js";

export const PEAK_CHAINS = [8, 10, 12, 14];
/** Bytes streamed by the bandwidth kernel: far past any L2 and past the L3 a VM's one core gets to use. */
export const STREAM_BYTES = 512 * 2 ** 20;

// c independent chains a_i = a_i·y + z (f32x4 mul then add; WebAssembly SIMD
// has no fused multiply-add outside relaxed-simd). Each chain is one mul and
// one add per iteration, so c chains hide the mul→add latency; too many spill
// x64's 16 xmm registers. 8 flops per chain per iteration.
function peakSource(chains) {
  const ids = Array.from({ length: chains }, (_, i) => i);
  return `export function peak${chains}(n: i32, s: f32): f32 {
  const y = f32x4.splat(s);
  const z = f32x4.splat(0.25);
  ${ids.map((i) => `let a${i} = f32x4.splat(${(1 + i / 100).toFixed(2)});`).join(" ")}
  for (let i = 0; i < n; i++) {
    ${ids.map((i) => `a${i} = f32x4.add(f32x4.mul(a${i}, y), z);`).join("\n    ")}
  }
  const t = ${ids.map((i) => `a${i}`).reduce((acc, x) => `f32x4.add(${acc}, ${x})`)};
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
}
`;
}

// One 64-byte line per iteration into four accumulators: the adds' latency
// is hidden, so the loads (the memory system) set the pace. The sum is
// returned so the loads cannot be dropped.
const STREAM_SOURCE = `export function streamSum(p: usize, bytes: usize): f32 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const end = p + bytes;
  for (; p < end; p += 64) {
    a0 = f32x4.add(a0, v128.load(p)); a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32)); a3 = f32x4.add(a3, v128.load(p, 48));
  }
  const t = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
}
export function grow(pages: i32): i32 { return memory.grow(pages); }
`;

/** The microkernels' exports (peak8 … peak14, streamSum, grow, memory), compiled now. Throws when asc cannot compile. */
export async function compileLimits() {
  const asc = (await import("assemblyscript/asc")).default;
  const r = await asc.compileString(PEAK_CHAINS.map(peakSource).join("\n") + STREAM_SOURCE, { optimizeLevel: 3, runtime: "stub", enable: ["simd"], noAssert: true });
  if (r.error) throw new Error(r.stderr.toString());
  return (await WebAssembly.instantiate(r.binary, { env: { abort() {} } })).instance.exports;
}

/** f32x4 mul+add GFLOP/s per chain count (each call ~callSec long) and the best of them. */
export async function measurePeak(x, opts, callSec) {
  const rows = [];
  for (const c of PEAK_CHAINS) {
    const fn = x[`peak${c}`];
    await warmup(() => fn(100000, 0.5), 3, 100);
    const t = performance.now(); fn(1e6, 0.5);
    const n = Math.max(1e5, Math.round((1e6 * callSec * 1e3) / Math.max(0.01, performance.now() - t)));
    const r = await bench(`peak ${c}`, () => fn(n, 0.5), opts);
    const flops = n * c * 8;
    rows.push({ chains: c, iterations: n, ...r, gflops: flops / (r.meanMs * 1e6), gflopsBest: flops / (r.bestMs * 1e6) });
  }
  const best = rows.reduce((a, b) => (b.gflopsBest > a.gflopsBest ? b : a));
  return { results: rows, peakGflops: best.gflopsBest, chains: best.chains };
}

/** One thread's read bandwidth in GB/s (1e9 bytes/s): STREAM_BYTES of touched memory summed by streamSum. */
export async function measureBandwidth(x, opts) {
  const base = x.grow(STREAM_BYTES / 65536 + 1) * 65536;
  if (base < 0) throw new Error(`could not grow the microkernel's memory by ${STREAM_BYTES >> 20} MiB`);
  new Uint8Array(x.memory.buffer, base, STREAM_BYTES).fill(1); // pages taken now, not in the timed reads
  await warmup(() => x.streamSum(base, STREAM_BYTES), 2, 0);
  const r = await bench("stream", () => x.streamSum(base, STREAM_BYTES), opts);
  return { bytes: STREAM_BYTES, ...r, gbps: STREAM_BYTES / (r.meanMs * 1e6), gbpsBest: STREAM_BYTES / (r.bestMs * 1e6) };
}
