// How the bench times code: benchmark.js in deferred mode (sync and async
// bodies, millisecond kernels and multi-second passes timed the same way),
// and a warm-up loop run before any timing.
import Benchmark from "benchmark";

/**
 * Time `fn` with benchmark.js (deferred, so sync and async bodies time alike).
 * Returns mean/best/rme in ms over benchmark.js's samples (each sample is one
 * cycle's time per call).
 */
export function bench(name, fn, { minSamples, maxTime }) {
  return new Promise((resolve, reject) => {
    let failure = null;
    const b = new Benchmark(name, {
      defer: true, minSamples, maxTime, initCount: 1,
      fn(deferred) {
        // Resolve on a microtask so fast bodies do not recurse through benchmark.js.
        Promise.resolve().then(fn).then(() => deferred.resolve(), (e) => { failure = e; deferred.benchmark.abort(); deferred.resolve(); });
      },
    });
    b.on("complete", () => {
      if (failure) return reject(failure);
      if (b.error) return reject(b.error);
      const s = b.stats.sample.map((x) => x * 1e3);
      resolve({ meanMs: b.stats.mean * 1e3, bestMs: Math.min(...s), rmePct: b.stats.rme, samples: s.length, cycles: b.cycles });
    });
    b.on("abort", () => reject(failure ?? new Error(`${name}: aborted`)));
    b.run({ async: true });
  });
}

/** Run fn until both `calls` calls and `ms` milliseconds have passed (wasm tier-up, memory growth). */
export async function warmup(fn, calls = 3, ms = 300) {
  const t = performance.now();
  for (let i = 0; i < calls || performance.now() - t < ms; i++) await fn();
}

/** Milliseconds one synchronous call of fn takes (wall clock), and its result. */
export function timeOnce(fn) {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}
