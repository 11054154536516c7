// Section 2: the WebAssembly peer, onnxruntime-web (SIMD backend, MLAS,
// 1 thread), running a one-node ONNX MatMul written in memory, at section 1's
// shapes and data. Skips with a reason when ORT cannot load or run.
import { line, section, f, table, errMsg, peerSection } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { SHAPES, shapeName, gflop, gemmData, checkGemm } from "../lib/gemm.js";
import { onnxMatMul } from "../lib/onnx-matmul.js";

export const run = peerSection("ort", "onnxruntime-web", benchOrt);

async function benchOrt({ P, report }) {
  section("2. Peer: onnxruntime-web WebAssembly SIMD backend (MLAS), 1 thread, MatMul");
  let ort;
  try {
    ort = await import("onnxruntime-web");
  } catch (e) {
    line(`  SKIPPED: cannot import onnxruntime-web (${errMsg(e)}); run npm install`);
    return { skipped: `import failed: ${errMsg(e)}` };
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  const version = ort.env.versions?.web ?? "?";
  line(`  onnxruntime-web ${version}, numThreads=1, proxy=false; model = one MatMul node written as ONNX protobuf in memory`);
  line("  'inputs': A and B fed each run (same work as ours: both operands packed per call, plus ORT copying them into its heap)");
  line("  'const B': B is an initializer, so ORT pre-packs it once at session creation (how a model's weights run)");
  const data = gemmData();
  const res = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const Ah = data.A.subarray(0, M * K), Bh = data.B.subarray(0, K * N);
    const A = new ort.Tensor("float32", Ah, [M, K]), B = new ort.Tensor("float32", Bh, [K, N]);
    for (const variant of ["inputs", "const B"]) {
      const row = { shape: sh, variant };
      try {
        const session = await ort.InferenceSession.create(onnxMatMul(sh, variant === "const B" ? Bh : null),
          { executionProviders: ["wasm"], graphOptimizationLevel: "all", intraOpNumThreads: 1, interOpNumThreads: 1 });
        const feeds = variant === "const B" ? { A } : { A, B };
        let out = null;
        const run = async () => { out = await session.run(feeds); };
        await warmup(run, 3, 300);
        const r = await bench(`ort ${variant} ${shapeName(sh)}`, run, P.gemm);
        Object.assign(row, r, { gflops: gflop(sh) / (r.meanMs / 1e3), gflopsBest: gflop(sh) / (r.bestMs / 1e3), relErr: checkGemm(Ah, Bh, out.C.data, sh) });
        await session.release();
      } catch (e) {
        row.error = errMsg(e);
      }
      res.push(row);
    }
  }
  const oursBy = new Map((report.sgemm ?? []).map((o) => [shapeName(o.shape), o]));
  table(["M x N x K", "variant", "mean ms", "±rme%", "GFLOP/s mean", "GFLOP/s best", "check", "ours/ORT (best)"],
    res.map((o) => {
      if (o.error) return [shapeName(o.shape), o.variant, "FAILED", "", "", "", "", o.error];
      const us = oursBy.get(shapeName(o.shape));
      o.ratioOursOverPeer = us ? us.gflopsBest / o.gflopsBest : null;
      return [shapeName(o.shape), o.variant, f(o.meanMs, 2), f(o.rmePct, 1), f(o.gflops, 2), f(o.gflopsBest, 2), o.relErr.toExponential(1), us ? f(o.ratioOursOverPeer, 2) + "x" : "-"];
    }));
  if (res.every((o) => o.error)) line(`  onnxruntime-web could not run: ${res[0].error}`);
  return { version, results: res };
}
