// Section 11 (--threads N): a 1-thread and an N-thread engine run the same
// work, alternating so both see the same machine: SGEMM, forward passes,
// ACDC edge trials on GPT-2 small, a whole acdc() search on the small model.
// Every row checks the two engines' results bit for bit.
import os from "node:os";
import { createEngine, buildGraph, Patcher, klMetric, acdc } from "../../dist/index.js";
import { line, section, f, table, loadavgText } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { rng, randomTokens } from "../lib/random.js";
import { SHAPES, shapeName, gflop, gemmData } from "../lib/gemm.js";
import { GPT2, buildModel, smallTask } from "../lib/models.js";
import { edgeSample, weightedEdgeMs } from "../lib/edges.js";

/** Whether two arrays hold the same numbers bit for bit (same length, Object.is per element). */
export function compareBits(a, b) {
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = Object.is(a[i], b[i]);
  return { same };
}

export async function run({ P, quick, threads: n, report }) {
  section(`11. Threads: 1 vs ${n} (createEngine({ threads: ${n} }), shared memory + worker pool)`);
  line(`  load average now: ${loadavgText()}; ${report.machine.cpus} logical CPUs (other processes take cores from the pool)`);
  line("  1- and N-thread runs alternate (A B A B ...) so both see the same machine; ratios use the best samples");
  let t = performance.now();
  const one = await createEngine();
  const oneMs = performance.now() - t;
  t = performance.now();
  const many = await createEngine({ threads: n });
  const manyMs = performance.now() - t;
  line(`  createEngine(): 1 thread ${f(oneMs, 0)} ms; ${n} threads ${f(manyMs, 0)} ms (start ${n - 1} workers, instantiate, warm-up), build ${many.build}, threads ${many.threads}`);
  const out = { threads: n, engineThreads: many.threads, createMs: { one: oneMs, many: manyMs }, loadavgStart: os.loadavg() };
  if (many.threads !== n) line(`  WARNING: got ${many.threads} threads (fell back)`);

  // (a) SGEMM at the GPT-2 shapes.
  const engines = [one, many];
  const data = gemmData();
  const mem = engines.map((e) => ({ A: e.upload(data.A), B: e.upload(data.B), C: e.allocF32(Math.max(...SHAPES.map(([M, N]) => M * N))) }));
  const gemmRows = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const runs = engines.map((e, i) => () => e.k.sgemm(0, 0, M, N, K, mem[i].A, K, mem[i].B, N, mem[i].C, N, 0, 0, e.gemmWork));
    for (const r of runs) await warmup(r, 3, 200);
    const res = [[], []];
    for (let rep = 0; rep < 2; rep++) for (let i = 0; i < 2; i++) res[i].push(await bench(`sgemm ${shapeName(sh)} x${i ? n : 1}`, runs[i], P.gemm));
    const best = res.map((rs) => Math.min(...rs.map((x) => x.bestMs)));
    const meanMs = res.map((rs) => Math.min(...rs.map((x) => x.meanMs)));
    const bits = compareBits(one.f32(mem[0].C, M * N), many.f32(mem[1].C, M * N));
    gemmRows.push({ shape: sh, bestMs: best, meanMs, gflopsBest: best.map((b) => gflop(sh) / (b / 1e3)), gflopsMean: meanMs.map((b) => gflop(sh) / (b / 1e3)), speedup: best[0] / best[1], sameBits: bits.same });
  }
  const s1 = new Map((report.sgemm ?? []).map((o) => [shapeName(o.shape), o.gflopsBest]));
  line();
  line("  (a) SGEMM, C[M,N] = A[M,K]·B[K,N] (section 1's shapes and data)");
  table(["M x N x K", "1t GFLOP/s best", `${n}t GFLOP/s best`, "speedup", "1t mean", `${n}t mean`, "section 1 (1t)", "bits"],
    gemmRows.map((o) => [shapeName(o.shape), f(o.gflopsBest[0], 2), f(o.gflopsBest[1], 2), f(o.speedup, 2) + "x", f(o.gflopsMean[0], 2), f(o.gflopsMean[1], 2),
      f(s1.get(shapeName(o.shape)), 2), o.sameBits ? "identical" : "DIFFER"]));
  out.sgemm = gemmRows;

  // (b) + (c): the GPT-2-small-shaped model on each engine (same weights).
  {
    line();
    line("  building the GPT-2-small-shaped random model on both engines ...");
    const models = [];
    for (const e of engines) models.push((await buildModel(GPT2, 3, e)).model);
    const cfg = models[0].cfg;
    const r = rng(11);
    const fwdRows = [];
    for (let si = 0; si < P.forwardShapes.length; si++) {
      const [B, T] = P.forwardShapes[si];
      const tokens = randomTokens(B, T, cfg.dVocab, r);
      const runs = models.map((m) => () => { m.forward(tokens); });
      for (const run of runs) await warmup(run, si === 0 ? 2 : 1, 0);
      const res = [[], []];
      for (let rep = 0; rep < 2; rep++) for (let i = 0; i < 2; i++) res[i].push(await bench(`forward ${B}x${T} x${i ? n : 1}`, runs[i], P.forwardBench[si]));
      const best = res.map((rs) => Math.min(...rs.map((x) => x.bestMs)));
      const bits = compareBits(models[0].forward(tokens).logits, models[1].forward(tokens).logits);
      fwdRows.push({ B, T, bestMs: best, tokensPerSec: best.map((b) => (B * T) / (b / 1e3)), speedup: best[0] / best[1], sameBits: bits.same });
    }
    const s5 = new Map((report.forward ?? []).map((o) => [`${o.B}x${o.T}`, o.tokensPerSec]));
    line();
    line("  (b) forward pass, GPT-2-small shape (section 5's), tokens/s from the best sample");
    table(["batch x tokens", "1t ms", `${n}t ms`, "1t tokens/s", `${n}t tokens/s`, "speedup", "section 5 (1t, mean)", "logits"],
      fwdRows.map((o) => [`${o.B} x ${o.T}`, f(o.bestMs[0], 0), f(o.bestMs[1], 0), f(o.tokensPerSec[0], 1), f(o.tokensPerSec[1], 1), f(o.speedup, 2) + "x",
        f(s5.get(`${o.B}x${o.T}`), 1), o.sameBits ? "identical" : "DIFFER"]));
    out.forward = fwdRows;

    // (c) ACDC edge trials on GPT-2 small (section 6's set-up), each edge on both engines in turn.
    const re = rng(21);
    const B = 10, T = 16;
    const clean = randomTokens(B, T, cfg.dVocab, re), corrupted = randomTokens(B, T, cfg.dVocab, re);
    const g = buildGraph(cfg);
    const ps = models.map((m) => new Patcher(m, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() }));
    const { strata, sample, layerOf } = edgeSample(g, re, P.edgeSample, P.edgeMinPerLayer);
    for (const p of ps) { p.trial(strata.get(cfg.nLayers)[0].id); p.reject(); }
    const times = [[], []];
    let sameMetric = true;
    for (const ed of sample) {
      const m = [0, 0];
      for (let i = 0; i < 2; i++) {
        const s0 = performance.now();
        m[i] = ps[i].trial(ed.id);
        ps[i].reject();
        times[i].push({ layer: layerOf(ed), ms: performance.now() - s0 });
      }
      if (!Object.is(m[0], m[1])) sameMetric = false;
    }
    const perEdge = times.map((ts) => weightedEdgeMs(ts, strata));
    const edgeRow = { sampled: sample.length, msPerEdge: perEdge, edgesPerSec: perEdge.map((x) => 1e3 / x), speedup: perEdge[0] / perEdge[1], sameMetrics: sameMetric };
    line();
    line(`  (c) ACDC edge trials, GPT-2 small, 10x16 tokens (section 6's set-up): ${sample.length} sampled edges, each tried on both engines in turn`);
    table(["", "1 thread", `${n} threads`, "speedup", "section 6 (1t)", "metrics"],
      [["ms per edge (layer-weighted)", f(perEdge[0], 1), f(perEdge[1], 1), "", f(report.edges?.weightedMeanMs, 1), ""],
        ["edges/s", f(edgeRow.edgesPerSec[0], 2), f(edgeRow.edgesPerSec[1], 2), f(edgeRow.speedup, 2) + "x", f(report.edges?.edgesPerSec, 2), sameMetric ? "identical" : "DIFFER"]]);
    out.edges = edgeRow;
    models.length = 0;
  }

  // (d) a whole acdc() search on section 7's small model, on each engine twice, alternating.
  {
    const tasks = [];
    for (const e of engines) tasks.push(await smallTask(quick, e));
    const { small, T, clean, corrupted, g } = tasks[0];
    const models = tasks.map((x) => x.model);
    const runs = [[], []];
    for (let rep = 0; rep < 2; rep++) for (let i = 0; i < 2; i++) {
      const e = engines[i], mark = e.mark();
      const p = new Patcher(models[i], g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
      const res = acdc(p, { threshold: 1e-4 });
      runs[i].push({ searchMs: res.stats.ms, tested: res.stats.tested, kept: res.edges.length, trace: Float64Array.from(res.trace.map((d) => d.metric)) });
      e.reset(mark);
    }
    const best = runs.map((rs) => rs.reduce((a, b) => (b.searchMs < a.searchMs ? b : a)));
    const bits = compareBits(best[0].trace, best[1].trace);
    const acdcRow = { tested: best[0].tested, kept: best.map((b) => b.kept), searchMs: best.map((b) => b.searchMs), edgesPerSec: best.map((b) => b.tested / (b.searchMs / 1e3)), sameTrace: bits.same && best[0].kept === best[1].kept };
    acdcRow.speedup = acdcRow.edgesPerSec[1] / acdcRow.edgesPerSec[0];
    line();
    line(`  (d) a whole acdc() search, section 7's small model (L=${small.nLayers} D=${small.dModel}), ${acdcRow.tested} edges tested, best of 2 runs each`);
    table(["", "1 thread", `${n} threads`, "speedup", "section 7 (1t)", "trace"],
      [["search ms", f(acdcRow.searchMs[0], 0), f(acdcRow.searchMs[1], 0), "", f(report.acdc?.searchMs, 0), ""],
        ["edges/s", f(acdcRow.edgesPerSec[0], 1), f(acdcRow.edgesPerSec[1], 1), f(acdcRow.speedup, 2) + "x", f(report.acdc?.edgesPerSec, 1), acdcRow.sameTrace ? "identical" : "DIFFER"]]);
    out.acdc = acdcRow;
  }
  many.dispose();
  out.loadavgEnd = os.loadavg();
  line();
  line(`  load average at the end of this section: ${loadavgText()}`);
  return { threads: out };
}
