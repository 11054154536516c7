// Section 8: EAP and EAP-IG beside ACDC: edge AUC on tracr-reverse (known
// ground truth), agreement of their top-k with ACDC's circuit on the small
// random model, and every GPT-2-small edge scored at once against the ACDC
// estimate of section 6.
import { buildGraph, Patcher, klMetric, acdc, eapScores, getAlgorithm } from "../../dist/index.js";
import { tracrTask, createTracrModel } from "../../dist/tasks/index.js";
import { sweep, confusion, rocAuc, logspace } from "../../dist/eval/index.js";
import { edgeKey } from "../../dist/eval/roc.js";
import { pruneToOutput } from "../../dist/circuit.js";
import { line, section, f, table } from "../lib/report.js";
import { rng, randomTokens } from "../lib/random.js";
import { GPT2, smallTask } from "../lib/models.js";

/** Run an attribution method from the registry; scoreMs is the scoring alone (its last progress event), as the circuit's patched pass is not scoring. */
function attribution(p, steps, topK) {
  let scoreMs = NaN;
  const c = getAlgorithm(steps ? "eap-ig" : "eap").run(p, { topK, igSteps: steps || undefined, onProgress: (ev) => { scoreMs = ev.ms; } });
  return { c, scoreMs };
}

export async function run({ quick, gpt, report }) {
  section("8. EAP and EAP-IG vs ACDC: time and agreement");
  const out = {};
  // (a) tracr-reverse, where the ground truth is known: ACDC's and EAP-IG's edge AUC.
  const task = tracrTask("tracr-reverse");
  const tm = await createTracrModel(task);
  const tg = buildGraph(task.cfg, task.graph);
  const truthPairs = task.groundTruth.map(([a, b]) => [a, b]);
  let t = performance.now();
  const sw = sweep({ model: tm, graph: tg, data: task.data, metric: task.metrics.task, ablation: "zero", values: logspace(-5, -1, 21), groundTruth: truthPairs });
  const acdcSweepMs = performance.now() - t;
  const counted = tg.edges.filter((e) => e.type !== "placeholder").map((e) => e.id);
  const truth = new Set(truthPairs.map(([a, b]) => edgeKey(a, b)));
  const aucOf = (scores) => {
    const order = [...counted].sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]) || a - b);
    const pts = [];
    for (let k = 0; k <= order.length; k++) {
      const chosen = new Uint8Array(tg.edges.length);
      for (const id of order.slice(0, k)) chosen[id] = 1;
      const present = pruneToOutput(tg, chosen);
      const kept = new Set(tg.edges.filter((e) => e.type !== "placeholder" && present[e.id]).map((e) => edgeKey(tg.nodes[e.parent].label, tg.nodes[e.child].label)));
      const c = confusion(kept, truth, counted.length);
      pts.push({ fpr: c.fpr, tpr: c.tpr });
    }
    return rocAuc(pts);
  };
  const tracrRows = [["ACDC (21 thresholds)", f(acdcSweepMs, 1), f(sw.edgeAuc, 3)]];
  for (const steps of [0, 5]) {
    const p = new Patcher(tm, tg, task.data, { ablation: "zero", metric: task.metrics.task() });
    t = performance.now();
    const { scores } = eapScores(p, { steps });
    tracrRows.push([steps ? `EAP-IG (m=${steps})` : "EAP", f(performance.now() - t, 1), f(aucOf(scores), 3)]);
  }
  line(`  tracr-reverse (${counted.length} edges, zero ablation, task metric): edge-level ROC AUC against the ground truth`);
  line("  (EAP curves sweep k over the top-k edges by |score|, pruned to the output)");
  table(["method", "ms", "AUC"], tracrRows);
  out.tracr = tracrRows;

  // (b) a small random model: agreement of EAP-IG's top-k with ACDC's circuit.
  const { small, model, B, T, clean, corrupted, g } = await smallTask(quick);
  const data = { clean, corrupted, positions: clean.map(() => T - 1) };
  const pa = new Patcher(model, g, data, { ablation: "corrupted", metric: klMetric() });
  const res = acdc(pa, { threshold: 1e-4 });
  const k = res.edges.length;
  const rows = [["ACDC τ=1e-4", f(res.stats.ms, 0), String(k), "-", res.metric.toExponential(2)]];
  const acdcSet = new Set(res.edges.map((e) => e.id));
  for (const steps of [0, 5]) {
    const p = new Patcher(model, g, data, { ablation: "corrupted", metric: klMetric() });
    const { c: x, scoreMs } = attribution(p, steps, k);
    const overlap = x.edges.filter((e) => acdcSet.has(e.id)).length;
    rows.push([steps ? `EAP-IG m=${steps}, top ${k}` : `EAP, top ${k}`, f(scoreMs, 0), String(x.edges.length), `${overlap} (${f((100 * overlap) / k, 0)}%)`, x.metric.toExponential(2)]);
  }
  line();
  line(`  random L=${small.nLayers} D=${small.dModel} H=${small.nHeads} model, ${B}x${T} tokens, KL at the last position, corrupted ablation`);
  line("  (plain EAP with KL scores exactly 0 everywhere: the clean run is KL's minimum, so its top k is a tie broken by edge order)");
  table(["method", "ms", "edges kept", "overlap with ACDC", "circuit KL"], rows);
  out.small = rows;

  // (c) GPT-2-small shape: all 32,923 edges scored at once vs the ACDC estimate.
  if (gpt) {
    const e = gpt.model.engine, mark = e.mark();
    try {
      const rg = rng(7);
      const cl = randomTokens(10, 16, GPT2.dVocab, rg), co = randomTokens(10, 16, GPT2.dVocab, rg);
      const gg = buildGraph(gpt.cfg);
      const p = new Patcher(gpt.model, gg, { clean: cl, corrupted: co, positions: cl.map(() => 15) }, { ablation: "corrupted", metric: klMetric() });
      const times = [];
      for (const steps of quick ? [5] : [0, 5]) {
        t = performance.now();
        eapScores(p, { steps });
        times.push([steps ? `EAP-IG (m=${steps})` : "EAP", performance.now() - t]);
      }
      const perEdge = report.edges?.weightedMeanMs;
      const total = gg.counts.addition + gg.counts.direct;
      line();
      line(`  GPT-2-small shape, 10x16 tokens: every one of ${total} edges scored`);
      table(["method", "s", "vs ACDC (every edge tried once)"], times.map(([name, ms]) => [name, f(ms / 1e3, 2), perEdge ? `${f((perEdge * total) / ms, 0)}x faster` : "-"]));
      if (perEdge) line(`  ACDC estimate: ${f(perEdge, 0)} ms per edge (section 6) x ${total} = ${f((perEdge * total) / 6e4, 0)} min`);
      out.gpt2 = times;
    } finally {
      e.reset(mark);
    }
  }
  return { eap: out };
}
