// Section 6: ACDC edge trials on the GPT-2-small-shaped random model (10
// prompts × 16 tokens, KL at the last position, corrupted ablation), each
// sampled edge tried and rejected once, against a full forward over the
// same batch; broken down by receiver layer and kind.
import { buildGraph, Patcher, klMetric } from "../../dist/index.js";
import { line, section, f, table } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { rng, randomTokens } from "../lib/random.js";
import { edgeSample, receiverKind, KINDS } from "../lib/edges.js";

export async function run({ P, gpt }) {
  const e = gpt.model.engine, mark = e.mark();
  try {
    return { edges: await benchEdges(gpt, P) };
  } finally {
    e.reset(mark); // the patcher's node buffers
  }
}

async function benchEdges(gpt, P) {
  section("6. ACDC edge trials vs a full forward, GPT-2-small-shaped random model");
  const { model, cfg } = gpt;
  const r = rng(21);
  const B = 10, T = 16;
  const clean = randomTokens(B, T, cfg.dVocab, r), corrupted = randomTokens(B, T, cfg.dVocab, r);
  const g = buildGraph(cfg);
  let t = performance.now();
  const p = new Patcher(model, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
  const patcherMs = performance.now() - t;
  line(`  ${B} prompts x ${T} random tokens, corrupted = other random tokens, KL(clean||patched) at the last position`);
  line(`  graph: ${g.nodes.length} nodes, ${g.counts.addition} addition + ${g.counts.direct} direct edges (testable), ${g.counts.placeholder} placeholder`);
  line(`  Patcher set-up (clean + corrupted runs caching every node): ${f(patcherMs, 0)} ms; wasm memory now ${f(model.engine.memory.buffer.byteLength / 2 ** 20, 0)} MiB`);

  const run = () => { model.forward(clean); };
  await warmup(run, 1, 0);
  const fwd = await bench("forward 10x16", run, P.edgeForward);

  const { testable, layerOf, strata, sample } = edgeSample(g, r, P.edgeSample, P.edgeMinPerLayer);
  // Warm the trial path (memory is already grown) on one late edge, not counted.
  p.trial(strata.get(cfg.nLayers)[0].id); p.reject();
  const times = [];
  t = performance.now();
  for (const ed of sample) {
    const s = performance.now();
    p.trial(ed.id);
    p.reject();
    times.push({ edge: ed.id, layer: layerOf(ed), kind: receiverKind(g, ed), ms: performance.now() - s });
  }
  const loopMs = performance.now() - t;

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const byLayer = [...strata.keys()].sort((a, b) => a - b).map((l) => {
    const ts = times.filter((o) => o.layer === l).map((o) => o.ms);
    return { layer: l, edges: strata.get(l).length, sampled: ts.length, meanMs: ts.length ? mean(ts) : null, minMs: ts.length ? Math.min(...ts) : null, maxMs: ts.length ? Math.max(...ts) : null };
  });
  const covered = byLayer.filter((o) => o.sampled);
  const wSum = covered.reduce((a, o) => a + o.edges, 0);
  const weightedMs = covered.reduce((a, o) => a + o.meanMs * o.edges, 0) / wSum;
  const byKind = KINDS.map((k) => {
    const ts = times.filter((o) => o.kind === k).map((o) => o.ms);
    return { kind: k, sampled: ts.length, meanMs: ts.length ? mean(ts) : null };
  }).filter((o) => o.sampled);
  const sorted = times.map((o) => o.ms).sort((a, b) => a - b);
  const res = {
    prompts: B, tokens: T, nodes: g.nodes.length, testableEdges: testable.length, patcherMs,
    forward: fwd, sampled: times.length, loopMs, sampleMeanMs: mean(sorted), medianMs: sorted[sorted.length >> 1],
    minMs: sorted[0], maxMs: sorted[sorted.length - 1], weightedMeanMs: weightedMs, edgesPerSec: 1e3 / weightedMs,
    savingFactor: fwd.meanMs / weightedMs, byLayer, byKind, trials: times,
  };

  line();
  line(`  full forward over the same 10x16 batch: ${f(fwd.meanMs, 1)} ms (±${f(fwd.rmePct, 1)}%, ${fwd.samples} samples; includes logits at all 160 positions)`);
  line(`  edges timed: ${times.length} (trial + reject each, stratified by receiver layer), ${f(loopMs / 1e3, 1)} s in all`);
  line(`  per edge: mean ${f(res.weightedMeanMs, 1)} ms (layer-weighted = estimate over all ${testable.length} edges; raw sample mean ${f(res.sampleMeanMs, 1)}),`);
  line(`            median ${f(res.medianMs, 1)}, min ${f(res.minMs, 1)}, max ${f(res.maxMs, 1)} ms`);
  line(`  edges/s: ${f(res.edgesPerSec, 2)}   saving factor (full forward / mean edge): ${f(res.savingFactor, 2)}x`);
  line(`  all ${testable.length} edges with every edge present: ~${f((testable.length * weightedMs) / 6e4, 0)} min by trials vs ~${f((testable.length * fwd.meanMs) / 6e4, 0)} min by full forwards`);
  line();
  line("  by receiver layer (a trial recomputes the receiver and everything downstream of it):");
  table(["receiver layer", "edges in graph", "sampled", "mean ms", "min ms", "max ms", "edges/s", "saving"],
    byLayer.map((o) => [o.layer === cfg.nLayers ? `output (${o.layer})` : String(o.layer), o.edges, o.sampled, f(o.meanMs, 1), f(o.minMs, 1), f(o.maxMs, 1),
      o.meanMs ? f(1e3 / o.meanMs, 2) : "-", o.meanMs ? f(fwd.meanMs / o.meanMs, 2) + "x" : "-"]));
  line();
  line("  by receiver type (raw sample means; types sit in different layers, so compare within a layer above):");
  table(["receiver", "sampled", "mean ms", "edges/s"], byKind.map((o) => [o.kind, o.sampled, f(o.meanMs, 1), f(1e3 / o.meanMs, 2)]));
  return res;
}
