// The f32x4 mul+add peak of this machine (the bench's section-4
// microkernel: independent chains a = a·y + z), best CPU time over a few
// calls, beside SGEMM on a packed B at a trial's shapes: the ceiling the
// GEMM-bound trials run against. 1 thread.
//   node scripts/perf/peak.mjs
import { api, best, f, loadavg } from "./common.mjs";
const chains = [8, 10, 12, 14];
const src = chains.map((c) => {
  const ids = Array.from({ length: c }, (_, i) => i);
  return `export function peak${c}(n: i32, s: f32): f32 {
  const y = f32x4.splat(s); const z = f32x4.splat(0.25);
  ${ids.map((i) => `let a${i} = f32x4.splat(${(1 + i / 100).toFixed(2)});`).join(" ")}
  for (let i = 0; i < n; i++) { ${ids.map((i) => `a${i} = f32x4.add(f32x4.mul(a${i}, y), z);`).join(" ")} }
  const t = ${ids.map((i) => `a${i}`).reduce((acc, x) => `f32x4.add(${acc}, ${x})`)};
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
}`;
}).join("\n");
const asc = (await import("assemblyscript/asc")).default;
const r = await asc.compileString(src, { optimizeLevel: 3, runtime: "stub", enable: ["simd"], noAssert: true });
if (r.error) throw new Error(r.stderr.toString());
const { instance } = await WebAssembly.instantiate(r.binary, { env: { abort() {} } });
console.log(`load average ${loadavg()}`);
let peak = 0;
for (const c of chains) {
  const n = 2e6, fn = instance.exports[`peak${c}`];
  const b = best(() => fn(n, 0.5), 7, 3);
  const g = (n * c * 8) / (b.cpu * 1e6);
  peak = Math.max(peak, g);
  console.log(`  ${c} chains: ${f(g, 2)} GFLOP/s (best CPU)`);
}
const e = await api.createEngine();
for (const [M, N, K] of [[160, 3072, 768], [160, 768, 3072], [1024, 3072, 768], [1024, 768, 768]]) {
  const A = e.allocF32(M * K), B = e.allocF32(K * N), C = e.allocF32(M * N);
  e.k.fill(A, 0.01, M * K); e.k.fill(B, 0.02, K * N);
  const Bp = e.packB(K, N, B, N);
  const p = best(() => e.gemmPacked(M, N, K, A, K, Bp, C, N), 6, 1), q = best(() => e.gemm(M, N, K, A, K, B, N, C, N), 6, 1);
  const fl = (2 * M * N * K) / 1e6;
  console.log(`  ${M}x${N}x${K}: gemmPacked ${f(fl / p.cpu, 1)} GFLOP/s (${f(fl / p.cpu / peak, 2)} of peak), gemm ${f(fl / q.cpu, 1)} (${f(fl / q.cpu / peak, 2)})`);
}
console.log(`peak ${f(peak, 2)} GFLOP/s; load average ${loadavg()}`);
