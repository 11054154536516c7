// SGEMM on a packed B, two builds alternating in one process (A: $A, default
// /tmp/perf-base/dist; B: this checkout's dist): best CPU ms per shape.
//   node scripts/perf/gemm-ab.mjs [--reps 6]
import { join } from "node:path";
import { openBuild, f, loadavg } from "./common.mjs";
const ri = process.argv.indexOf("--reps"), reps = ri > 0 ? Number(process.argv[ri + 1]) : 6;
const abs = (d) => (d.startsWith("/") ? d : join(process.cwd(), d));
const builds = [await openBuild(abs(process.env.A ?? "/tmp/perf-base/dist")), await openBuild(abs(process.env.B ?? "dist"))];
const es = await Promise.all(builds.map((b) => b.api.createEngine()));
console.log(`load average ${loadavg()}`);
for (const [M, N, K] of [[10, 50257, 768], [16, 50257, 768], [10, 3072, 768], [10, 768, 3072], [160, 3072, 768], [160, 768, 3072], [160, 64, 768], [160, 768, 64], [160, 50257, 768]]) {
  const fl = 2 * M * N * K / 1e6, n = fl > 3000 ? 3 : fl > 300 ? reps : reps * 8;
  const set = es.map((e) => {
    const A = e.allocF32(M * K), B = e.allocF32(K * N), C = e.allocF32(M * N);
    e.k.fill(A, 0.01, M * K); e.k.fill(B, 0.02, K * N);
    return { e, A, C, Bp: e.packB(K, N, B, N), mark: A };
  });
  const cpu = [Infinity, Infinity];
  for (let r = -1; r < n; r++) for (let i = 0; i < 2; i++) {
    const { e, A, C, Bp } = set[i];
    const c = process.cpuUsage();
    e.k.sgemmPacked(0, M, N, K, A, K, Bp, C, N, 0, 0, 0);
    const d = process.cpuUsage(c);
    if (r >= 0) cpu[i] = Math.min(cpu[i], (d.user + d.system) / 1e3);
  }
  const same = set[0].e.f32(set[0].C, M * N).every((x, i) => Object.is(x, set[1].e.f32(set[1].C, M * N)[i]));
  console.log(`${`${M}x${N}x${K}`.padEnd(16)} A ${f(cpu[0], 2).padStart(7)} ms ${f(fl / cpu[0], 1)} GFLOP/s | B ${f(cpu[1], 2).padStart(7)} ms ${f(fl / cpu[1], 1)} GFLOP/s | B/A ${f(cpu[1] / cpu[0], 3)} ${same ? "same bits" : "DIFFERENT"}`);
  set.forEach((s) => s.e.reset(s.mark));
}
console.log(`load average ${loadavg()}`);
