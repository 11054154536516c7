// SGEMM throughput on the shapes of a GPT-2-small trial (10 × 16 tokens):
// sgemm (packs B every call) vs sgemmPacked (B packed once), best CPU ms of
// --reps calls, GFLOP/s. 1 thread.
//   node scripts/perf/gemm.mjs [--reps 5]
import { api, best, f, loadavg } from "./common.mjs";
const ri = process.argv.indexOf("--reps"), reps = ri > 0 ? Number(process.argv[ri + 1]) : 5;
const e = await api.createEngine();
const SHAPES = [[160, 3072, 768, "MLP in"], [160, 768, 3072, "MLP out"], [160, 2304, 768, "QKV all heads"], [160, 64, 768, "one head q"],
  [160, 768, 64, "one head W_O"], [160, 768, 768, "W_O all heads"], [10, 50257, 768, "unembed 10 rows"], [160, 50257, 768, "unembed 160 rows"]];
console.log(`load average ${loadavg()}`);
for (const [M, N, K, name] of SHAPES) {
  const mark = e.mark();
  const A = e.allocF32(M * K), B = e.allocF32(K * N), C = e.allocF32(M * N);
  e.k.fill(A, 0.01, M * K); e.k.fill(B, 0.02, K * N);
  const Bp = e.packB(K, N, B, N);
  const n = M * N * K > 1e9 ? Math.max(2, reps >> 1) : reps * (M * N * K < 2e7 ? 20 : 1);
  const a = best(() => e.gemm(M, N, K, A, K, B, N, C, N), n, 1);
  const b = best(() => e.gemmPacked(M, N, K, A, K, Bp, C, N), n, 1);
  const fl = 2 * M * N * K / 1e6;
  console.log(`${name.padEnd(18)} ${M}x${N}x${K}: gemm ${f(a.cpu, 2)} ms ${f(fl / a.cpu, 1)} GFLOP/s | packed ${f(b.cpu, 2)} ms ${f(fl / b.cpu, 1)} GFLOP/s | x${f(a.cpu / b.cpu, 2)}`);
  e.reset(mark);
}
console.log(`load average ${loadavg()}`);
