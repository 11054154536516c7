// Section 7: a whole ACDC search (threshold 1e-4, KL, corrupted ablation) on
// the small random model, against that model's full forward.
import { Patcher, klMetric, acdc } from "../../dist/index.js";
import { line, section, f } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { smallTask } from "../lib/models.js";

export async function run({ quick }) {
  section("7. A real ACDC search (acdc()) on a small random model");
  const { small, model, B, T, clean, corrupted, g } = await smallTask(quick);
  const threshold = 1e-4;
  const t = performance.now();
  const p = new Patcher(model, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
  const patcherMs = performance.now() - t;
  const run = () => { model.forward(clean); };
  await warmup(run, 3, 100);
  const fwd = await bench("small forward", run, quick ? { minSamples: 3, maxTime: 0.3 } : { minSamples: 5, maxTime: 1 });
  const res = acdc(p, { threshold });
  const out = {
    config: small, prompts: B, tokens: T, threshold, testableEdges: g.counts.addition + g.counts.direct, patcherMs,
    tested: res.stats.tested, kept: res.edges.length, searchMs: res.stats.ms, baseline: res.baseline, metric: res.metric,
    edgesPerSec: res.stats.tested / (res.stats.ms / 1e3), msPerEdge: res.stats.ms / res.stats.tested, forwardMs: fwd.meanMs,
  };
  out.savingFactor = out.forwardMs / out.msPerEdge;
  line(`  L=${small.nLayers} D=${small.dModel} H=${small.nHeads} Dh=${small.dHead} M=${small.dMlp} V=${small.dVocab}; ${B} prompts x ${T} random tokens; KL at the last position; threshold ${threshold}`);
  line(`  ${out.testableEdges} testable edges; ACDC tested ${out.tested} (the rest were skipped as disconnected) and kept ${out.kept}; KL ${out.baseline.toExponential(2)} → ${out.metric.toExponential(2)}`);
  line(`  search ${f(out.searchMs, 0)} ms (+ ${f(patcherMs, 0)} ms Patcher set-up): ${f(out.edgesPerSec, 1)} edges/s, ${f(out.msPerEdge, 2)} ms/edge`);
  line(`  full forward over the same batch: ${f(out.forwardMs, 2)} ms → saving factor ${f(out.savingFactor, 2)}x`);
  return { acdc: out };
}
