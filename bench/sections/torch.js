// Section 9b: the native peer the paper's code runs on. PyTorch (CPU, float32)
// runs a plain forward pass of the same GPT-2-small geometry and torch.matmul
// at section 1's and a trial's shapes (bench/native/torch-forward.py, in a
// python3 child at 1 and N threads). The paper's ACDC code reruns the whole
// model for every edge it tries, with hooks on top, so one plain torch forward
// is a floor under its time per trial: section 9's trials are set against it.
// Skips with one line when python3 or torch is missing.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { line, section, f, table, errMsg, peerSection } from "../lib/report.js";
import { GPT2 } from "../lib/models.js";
import { SHAPES, shapeName } from "../lib/gemm.js";

const SCRIPT = fileURLToPath(new URL("../native/torch-forward.py", import.meta.url));
const B = 10, T = 16;
// Section 1's shapes, then a trial's own: an MLP over the 160 rows, one head's q, the unembedding at 10 metric rows.
const GEMMS = [...SHAPES, [160, 3072, 768], [160, 64, 768], [10, 50257, 768]];

export const run = peerSection("torch", "PyTorch", benchTorch);

function benchTorch({ threads, report, quick }) {
  section("9b. Native peer: PyTorch forward pass (the paper's code's floor per trial) and torch.matmul");
  const python = process.env.PYTHON ?? "python3";
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) {
    line(`  SKIPPED: ${python} with torch not found (${probe.error ? errMsg(probe.error) : "import torch failed"}); e.g. pip install torch`);
    return { skipped: "no python3 with torch" };
  }
  const counts = threads ? [1, threads] : [1];
  const runs = [];
  for (const n of counts) {
    const arg = JSON.stringify({ threads: n, B, T, reps: quick ? 3 : 7, cfg: GPT2, shapes: GEMMS });
    // MKL / OpenMP follow torch.set_num_threads; the OpenBLAS presets of this machine do not concern torch.
    const child = spawnSync(python, [SCRIPT, arg], { encoding: "utf8", timeout: 10 * 60e3, env: { ...process.env, OMP_NUM_THREADS: String(n) } });
    if (child.status !== 0) {
      const why = (child.stderr || child.error?.message || `status ${child.status}`).trim().split("\n").pop();
      line(`  ${n} thread(s) FAILED: ${why}`);
      continue;
    }
    runs.push(JSON.parse(child.stdout.trim().split("\n").pop()));
  }
  if (!runs.length) return { skipped: "every run failed" };
  line(`  torch ${runs[0].torch}, CPU kernels: ${runs[0].simd}; ${B} prompts x ${T} tokens, random weights, logits at every position; best of ${quick ? 3 : 7} after 2 warm-up calls`);

  // Forward and trials against section 9's runs at the same thread counts.
  const ours = new Map((report.trials?.runs ?? []).map((r) => [r.threads, r]));
  table(["threads", "torch forward ms (best)", "ours ms (best)", "ours / torch", "ours: output trial", "layer 11", "layer 0", "mean trial", "whole search min: torch floor", "ours"],
    runs.map((t) => {
      const o = ours.get(t.threads), fw = t.forward.bestMs;
      const tr = o?.trials, L = GPT2.nLayers;
      const vs = (ms) => (ms ? `${f(ms, 0)} ms (${f(fw / ms, 2)}x)` : "-");
      return [t.threads, f(fw, 0), o ? f(o.forward.bestMs, 0) : "-", o ? f(o.forward.bestMs / fw, 2) + "x" : "-",
        vs(tr?.layers[0].msPerEdge), vs(tr?.layers[1].msPerEdge), vs(tr?.layers[L].msPerEdge), vs(tr?.msPerEdge),
        tr ? f((tr.edges * fw) / 6e4, 0) : "-", tr ? f(tr.totalMs / 6e4, 0) : "-"];
    }));
  line("  (x) = torch's forward / our trial: above 1 our trial beats the floor of the paper's code's trial; whole search floor = edges x torch forward");
  if (!ours.size) line("  (run section 9 too, e.g. --only trials,torch, to set our trials beside it)");
  const one = ours.get(1), t1 = runs.find((t) => t.threads === 1);
  if (one?.forward.floorMs && t1) {
    const layer0 = one.trials.layers[GPT2.nLayers].floorMs;
    line(`  section 9's roofline floor of our forward at 1 thread, ${f(one.forward.floorMs, 0)} ms, is ${f(one.forward.floorMs / t1.forward.bestMs, 2)}x torch's forward; of a trial into layer 0, ` +
      `${f(layer0, 0)} ms (${f(t1.forward.bestMs / layer0, 2)}x): no WebAssembly kernel here can do better than that`);
  }

  // GEMM rates against ours (section 1) and the f32x4 peak (section 4).
  const oursGemm = new Map((report.sgemm ?? []).map((o) => [shapeName(o.shape), o.gflopsBest]));
  const peak = report.peak?.peakGflops ?? report.trials?.limits?.peakGflops ?? null;
  table(["M x N x K", ...runs.map((t) => `torch ${t.threads}t GFLOP/s`), "ours 1t (section 1)", "torch 1t / ours", "torch 1t / f32x4 peak"],
    runs[0].gemm.map((g, i) => {
      const us = oursGemm.get(shapeName(g.shape));
      return [shapeName(g.shape), ...runs.map((t) => f(t.gemm[i].gflops, 1)), us ? f(us, 1) : "-", us ? f(g.gflops / us, 2) + "x" : "-", peak ? f(g.gflops / peak, 2) + "x" : "-"];
    }));
  if (peak) line(`  f32x4 peak (section ${report.peak?.peakGflops ? 4 : 9}): ${f(peak, 1)} GFLOP/s; torch above it is the native vector width and FMA that WebAssembly SIMD (128-bit, no fused multiply-add in deterministic code) cannot use`);
  return { runs };
}
