// Section 4: the machine's limits for WebAssembly kernels (lib/limits.js):
// the f32x4 mul+add throughput and one thread's memory read bandwidth.
import { line, section, f, table, errMsg } from "../lib/report.js";
import { compileLimits, measurePeak, measureBandwidth, STREAM_BYTES } from "../lib/limits.js";

export async function run({ P }) {
  section("4. Machine limits: f32x4 mul+add throughput and memory read bandwidth (WebAssembly SIMD, 1 thread)");
  let x;
  try {
    x = await compileLimits();
  } catch (e) {
    line(`  SKIPPED: could not compile the microkernels with AssemblyScript: ${errMsg(e)}`);
    return { peak: { skipped: errMsg(e) } };
  }
  const peak = await measurePeak(x, P.peak, P.peakCallSec);
  table(["chains", "iterations/call", "mean ms", "GFLOP/s mean", "GFLOP/s best"],
    peak.results.map((o) => [o.chains, o.iterations, f(o.meanMs, 1), f(o.gflops, 2), f(o.gflopsBest, 2)]));
  line(`  wasm f32x4 peak (best): ${f(peak.peakGflops, 2)} GFLOP/s with ${peak.chains} chains`);
  try {
    const bw = await measureBandwidth(x, P.peak);
    line(`  memory read bandwidth, 1 thread (f32x4 loads summed over ${STREAM_BYTES / 2 ** 20} MiB): ${f(bw.gbps, 2)} GB/s mean, ${f(bw.gbpsBest, 2)} best (±${f(bw.rmePct, 1)}%)`);
    peak.readGBps = bw.gbpsBest;
    peak.stream = bw;
  } catch (e) {
    line(`  memory read bandwidth FAILED: ${errMsg(e)}`);
  }
  return { peak };
}
