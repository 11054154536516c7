// Section 4: the machine's WebAssembly SIMD ceiling, an f32x4 mul+add
// throughput microkernel compiled now with AssemblyScript.
import { line, section, f, table, errMsg } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";

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

export async function run({ P }) {
  section("4. Machine limit: f32x4 mul+add throughput microkernel (WebAssembly SIMD, 1 thread)");
  const CHAINS = [8, 10, 12, 14];
  let instance;
  try {
    const asc = (await import("assemblyscript/asc")).default;
    const r = await asc.compileString(CHAINS.map(peakSource).join("\n"), { optimizeLevel: 3, runtime: "stub", enable: ["simd"], noAssert: true });
    if (r.error) throw new Error(r.stderr.toString());
    instance = (await WebAssembly.instantiate(r.binary, { env: { abort() {} } })).instance;
  } catch (e) {
    line(`  SKIPPED: could not compile the microkernel with AssemblyScript: ${errMsg(e)}`);
    return { peak: { skipped: errMsg(e) } };
  }
  const rows = [];
  for (const c of CHAINS) {
    const fn = instance.exports[`peak${c}`];
    await warmup(() => fn(100000, 0.5), 3, 100);
    const t = performance.now(); fn(1e6, 0.5);
    const n = Math.max(1e5, Math.round((1e6 * P.peakCallSec * 1e3) / Math.max(0.01, performance.now() - t)));
    const r = await bench(`peak ${c}`, () => fn(n, 0.5), P.peak);
    const flops = n * c * 8;
    rows.push({ chains: c, iterations: n, ...r, gflops: flops / (r.meanMs * 1e6), gflopsBest: flops / (r.bestMs * 1e6) });
  }
  table(["chains", "iterations/call", "mean ms", "GFLOP/s mean", "GFLOP/s best"],
    rows.map((o) => [o.chains, o.iterations, f(o.meanMs, 1), f(o.gflops, 2), f(o.gflopsBest, 2)]));
  const best = rows.reduce((a, b) => (b.gflopsBest > a.gflopsBest ? b : a));
  line(`  wasm f32x4 peak (best): ${f(best.gflopsBest, 2)} GFLOP/s with ${best.chains} chains`);
  return { peak: { results: rows, peakGflops: best.gflopsBest, chains: best.chains } };
}
