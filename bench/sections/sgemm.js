// Section 1: our SGEMM (engine.k.sgemm, what engine.gemm calls) at GPT-2
// small's projection shapes, 1 thread, checked against float64 dot products.
import { createEngine } from "../../dist/index.js";
import { line, section, f, table } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { SHAPES, shapeName, gflop, gemmData, checkGemm } from "../lib/gemm.js";

export async function run({ P }) {
  section("1. SGEMM, ours (AssemblyScript f32x4, packed 4x8 micro-kernel), 1 thread");
  line("  C[M,N] = A[M,K]·B[K,N], row-major, no transposes, flops = 2MNK, workspace = engine.gemmWork");
  const e = await createEngine();
  const data = gemmData();
  const maxC = Math.max(...SHAPES.map(([M, N]) => M * N));
  const A = e.upload(data.A), B = e.upload(data.B), C = e.allocF32(maxC);
  const out = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const run = () => e.k.sgemm(0, 0, M, N, K, A, K, B, N, C, N, 0, 0, e.gemmWork);
    await warmup(run, 3, 300);
    const r = await bench(`sgemm ${shapeName(sh)}`, run, P.gemm);
    const err = checkGemm(data.A, data.B, e.f32(C, M * N), sh);
    out.push({ shape: sh, ...r, gflops: gflop(sh) / (r.meanMs / 1e3), gflopsBest: gflop(sh) / (r.bestMs / 1e3), relErr: err });
  }
  table(["M x N x K", "mean ms", "±rme%", "best ms", "GFLOP/s mean", "GFLOP/s best", "samples", "check"],
    out.map((o) => [shapeName(o.shape), f(o.meanMs, 2), f(o.rmePct, 1), f(o.bestMs, 2), f(o.gflops, 2), f(o.gflopsBest, 2), o.samples, o.relErr.toExponential(1)]));
  line("  check = max relative error of 16 sampled entries vs a float64 dot product");
  return { sgemm: out };
}
