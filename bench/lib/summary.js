// The SGEMM summary table printed after sections 1–4: ours beside ORT,
// TensorFlow.js, OpenBLAS and the wasm peak, from each one's best sample.
import { line, section, f, table } from "./report.js";
import { SHAPES, shapeName } from "./gemm.js";

export function printSgemmSummary(report) {
  section("Summary: SGEMM, ours vs peer and limits (best samples, GFLOP/s)");
  const get = (rows, sh, pred = () => true) => rows?.find?.((o) => shapeName(o.shape) === shapeName(sh) && pred(o) && !o.error)?.gflopsBest ?? null;
  const peak = report.peak?.peakGflops ?? null;
  table(["M x N x K", "ours", "ORT inputs", "ORT const B", "TF.js new B", "OpenBLAS", "wasm peak", "ours/ORT", "ours/TF.js", "ours/OpenBLAS", "ours/peak"],
    SHAPES.map((sh) => {
      const us = get(report.sgemm, sh), oi = get(report.ort?.results, sh, (o) => o.variant === "inputs"),
        oc = get(report.ort?.results, sh, (o) => o.variant === "const B"), nb = get(report.openblas?.results, sh),
        tj = get(report.tfjs?.results, sh, (o) => o.variant === "new B");
      const ratio = (a, b) => (a && b ? f(a / b, 2) + "x" : "-");
      return [shapeName(sh), f(us, 2), f(oi, 2), f(oc, 2), f(tj, 2), f(nb, 2), f(peak, 2), ratio(us, oi), ratio(us, tj), ratio(us, nb), ratio(us, peak)];
    }));
  line("  ours/ORT and ours/TF.js are against 'inputs' and 'new B' (same work per call). OpenBLAS uses the CPU's widest vectors and FMA");
  line(`  (host SIMD: ${report.machine?.simd ?? "?"}); WebAssembly SIMD has 4 lanes and no FMA, so 'wasm peak' is the ceiling for any wasm kernel here.`);
}
