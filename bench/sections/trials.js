// Section 9 (issue 11's report): on GPT-2-small geometry with 10 prompts ×
// 16 tokens, an ACDC trial's time by receiver layer (into the output, into
// layer 11's MLP and q/k/v inputs, …, into layer 0), the whole-search
// estimate (Σ over every counted edge of its receiver group's trial time),
// EAP and EAP-IG (5 steps) in forward-pass equivalents, and the peak RSS of
// a separate process that loads the weights from a file and runs trials and
// EAP, next to the f32 weight bytes. At 1 thread, and at N with --threads N.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, buildGraph, Patcher, klMetric, eapScores } from "../../dist/index.js";
import { line, section, f, table, errMsg, loadavgText } from "../lib/report.js";
import { bench, warmup, timeOnce } from "../lib/timing.js";
import { rng, randomTokens } from "../lib/random.js";
import { GPT2, buildModel, weightBytes, writeRandomSafetensors, forwardFlops } from "../lib/models.js";
import { layerTrials, withFlops, withFloor, rooflineMs } from "../lib/layer-trials.js";
import { compileLimits, measurePeak, measureBandwidth } from "../lib/limits.js";

const CHILD = fileURLToPath(new URL("../lib/rss-child.js", import.meta.url));
const B = 10, T = 16, IG_STEPS = 5;
const MiB = 2 ** 20;

export async function run({ P, gpt, threads, report }) {
  section("9. GPT-2-small geometry: ACDC trial time by receiver layer, EAP in forward passes, peak RSS");
  const { cfg } = gpt;
  line(`  ${B} prompts x ${T} random tokens, corrupted = other random tokens, KL at the last position (section 6's set-up)`);
  line(`  per receiver group (layer x kind) ${P.trialReps} trial(s) timed (trial + reject), edges evenly spaced through the group`);
  if (P.trialKinds) line(`  quick: only ${P.trialKinds.join(", ")} receivers timed; mlp_in, k_input, v_input and direct (q/k/v) edges take q_input's time in the same layer`);
  line(`  load average now: ${loadavgText()}`);
  const sec4 = report?.peak?.readGBps ? { peakGflops: report.peak.peakGflops, readGBps: report.peak.readGBps } : null;
  let limits = await machineLimits(P, sec4);
  const counts = threads ? [1, threads] : [1];
  const runs = [];
  for (const n of counts) {
    let model = gpt.model, engine = null;
    if (n > 1) {
      line();
      line(`  building the model on a ${n}-thread engine ...`);
      engine = await createEngine({ threads: n });
      model = (await buildModel(GPT2, 3, engine)).model;
    }
    const e = model.engine, mark = e.mark();
    try {
      const res = await measure(model, P);
      res.threads = e.threads;
      if (n === 1 && limits) {
        limits = await machineLimits(P, limits);
        withFloor(res.trials, cfg, limits.peakGflops, limits.readGBps);
        res.forward.floorMs = rooflineMs(forwardFlops(cfg, B, T).total, weightBytes(cfg), limits);
      }
      runs.push(res);
      printRun(res, cfg);
    } finally {
      e.reset(mark);
      model = null;
      engine?.dispose();
    }
  }
  const rss = peakRss(cfg, counts, P);
  runs.forEach((r, i) => { r.rss = rss.find((x) => x.requested === counts[i]) ?? null; });
  printSummary(runs, cfg, rss);
  line(`  load average at the end of this section: ${loadavgText()}`);
  return { trials: { prompts: B, tokens: T, igSteps: IG_STEPS, weightBytes: weightBytes(cfg), limits, runs, rss } };
}

/**
 * The f32x4 peak and one thread's read bandwidth for the roofline floors:
 * the best of section 4's (when this run measured them) and of a measurement
 * now (null if the microkernels cannot be compiled). The section takes it
 * before and after its 1-thread trials and keeps the larger of each, so a
 * VM that ran slower for a while does not lower the floor under trials
 * timed while it ran faster.
 */
async function machineLimits(P, ...earlier) {
  let now = null;
  try {
    const x = await compileLimits();
    const peak = await measurePeak(x, P.peak, P.peakCallSec), bw = await measureBandwidth(x, P.peak);
    now = { peakGflops: peak.peakGflops, readGBps: bw.gbpsBest };
  } catch (e) {
    line(`  roofline floors: the machine-limit microkernels failed: ${errMsg(e)}`);
  }
  const all = [now, ...earlier].filter((x) => x?.peakGflops && x.readGBps);
  if (!all.length) return null;
  return { peakGflops: Math.max(...all.map((x) => x.peakGflops)), readGBps: Math.max(...all.map((x) => x.readGBps)) };
}

/** Forward time, per-layer trials and EAP/EAP-IG on one model (its engine's thread count). */
async function measure(model, P) {
  const cfg = model.cfg;
  const r = rng(21);
  const clean = randomTokens(B, T, cfg.dVocab, r), corrupted = randomTokens(B, T, cfg.dVocab, r);
  const g = buildGraph(cfg);
  const setup = timeOnce(() => new Patcher(model, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() }));
  const p = setup.value;
  const fwdRun = () => { model.forward(clean); };
  await warmup(fwdRun, 1, 0);
  const forward = await bench(`forward ${B}x${T}`, fwdRun, P.edgeForward);
  const t = performance.now();
  const trials = withFlops(layerTrials(p, { reps: P.trialReps, kinds: P.trialKinds }), cfg, B, T, B);
  const trialsSec = (performance.now() - t) / 1e3;
  const eap = timeOnce(() => eapScores(p, { steps: 0 })).ms;
  const eapIg = timeOnce(() => eapScores(p, { steps: IG_STEPS })).ms;
  return {
    patcherMs: setup.ms, forward, trials, trialsSec,
    eap: { ms: eap, forwards: eap / forward.meanMs }, eapIg: { steps: IG_STEPS, ms: eapIg, forwards: eapIg / forward.meanMs },
  };
}

function printRun(res, cfg) {
  const { trials: tr, forward } = res;
  // Columns for the receiver kinds timed somewhere (a quick run times q_input only).
  const kinds = ["mlp_in", "q_input", "k_input", "v_input", "q/k/v (direct)"].filter((k) => tr.groups.some((x) => x.kind === k && !x.standIn));
  const head = { mlp_in: "mlp_in", q_input: "q_input", k_input: "k_input", v_input: "v_input", "q/k/v (direct)": "direct" };
  const cell = (l, k) => { const gr = tr.groups.find((x) => x.layer === l && x.kind === k); return gr ? f(gr.ms, 0) : ""; };
  line();
  line(`  ${res.threads} thread${res.threads > 1 ? "s" : ""}: Patcher set-up ${f(res.patcherMs, 0)} ms; full forward ${B}x${T} ${f(forward.meanMs, 0)} ms (best ${f(forward.bestMs, 0)}, ±${f(forward.rmePct, 1)}%); ${tr.timed} trials timed in ${f(res.trialsSec, 1)} s`);
  const floor = tr.floorTotalMs !== undefined;
  table(["receiver layer", "edges", "ms/trial", ...kinds.map((k) => `${head[k]} ms`), "Σ s", "share", "vs forward", "GFLOP/trial", "GFLOP/s", ...(floor ? ["floor ms", "ms / floor"] : [])],
    tr.layers.map((o) => [o.layer === cfg.nLayers ? "output" : `layer ${o.layer}`, o.edges, f(o.msPerEdge, 1),
      ...kinds.map((k) => (o.layer === cfg.nLayers ? "" : cell(o.layer, k))),
      f(o.totalMs / 1e3, 0), f((100 * o.totalMs) / tr.totalMs, 0) + "%", f(o.msPerEdge / forward.meanMs, 2) + "x",
      f(o.flops / 1e9, 2), f(o.gflopsPerSec, 1), ...(floor ? [f(o.floorMs, 1), f(o.msPerEdge / o.floorMs, 2) + "x"] : [])]));
  line("  ms/trial = the layer's edge-weighted mean over receiver kinds; vs forward = ms/trial / the full forward's mean");
  line("  GFLOP/trial = the matmul and attention arithmetic such a trial cannot avoid (bench/lib/layer-trials.js trialFlops); GFLOP/s = that / ms/trial");
  line(`  whole search: ${f(tr.flops / 1e12, 1)} TFLOP in all, at ${f(tr.gflopsPerSec, 1)} GFLOP/s; at section 1's SGEMM rate or the f32x4 peak (section 4) it could not take less than TFLOP / that rate`);
  if (floor) {
    line(`  floor ms = the roofline under a trial: the longer of its GFLOP at the f32x4 peak (${f(tr.limits.peakGflops, 1)} GFLOP/s) and the f32 weights it multiplies by read once at one thread's bandwidth (${f(tr.limits.readGBps, 2)} GB/s),`);
    line(`    each the best of section 4's microkernels run before and after these trials (lib/layer-trials.js trialBytes; the metric, norms and activations left out): whole search ${f(tr.floorTotalMs / 6e4, 1)} min, mean ${f(tr.floorMsPerEdge, 1)} ms per trial`);
  }
  line(`  whole search (every counted edge tried once, all present): Σ ${f(tr.totalMs / 1e3, 0)} s = ${f(tr.totalMs / 6e4, 1)} min over ${tr.edges} edges; mean ${f(tr.msPerEdge, 1)} ms per trial, ${f(1e3 / tr.msPerEdge, 2)} edges/s`);
  line(`  EAP: ${f(res.eap.ms, 0)} ms = ${f(res.eap.forwards, 2)} forward passes; EAP-IG (${IG_STEPS} steps): ${f(res.eapIg.ms, 0)} ms = ${f(res.eapIg.forwards, 2)} forward passes (each over all ${tr.edges} edges)`);
}

/** Peak RSS of a child process per thread count; the weights go through a temporary safetensors file, as a real run loads them. */
function peakRss(cfg, counts, P) {
  const dir = mkdtempSync(join(os.tmpdir(), "acdc-bench-rss-"));
  const out = [];
  try {
    const path = join(dir, "gpt2-small-random.safetensors");
    const w = timeOnce(() => writeRandomSafetensors(path, cfg, 3));
    line();
    line(`  peak RSS: a child process loads ${f(w.value / MiB, 0)} MiB of random GPT-2-small weights from a temporary safetensors file (written in ${f(w.ms / 1e3, 1)} s),`);
    line(`  builds the ${B}x${T} Patcher, runs ${P.rssTrials} trial(s) (output, layer 0 q input${P.rssTrials > 2 ? ", last MLP" : ""}) and one EAP pass; maxRSS from process.resourceUsage();`);
    line("  its JavaScript heap set up as the acdc command sets up its own (young generation kept at its starting size), and once more with V8's defaults");
    for (const n of counts) {
      const args = JSON.stringify({ weights: path, config: cfg, threads: n, trials: P.rssTrials });
      const child = spawnChild(args);
      if (child.status !== 0) {
        const why = (child.stderr || child.error?.message || `status ${child.status} ${child.signal ?? ""}`).trim().split("\n").slice(-3).join(" | ");
        line(`  peak RSS at ${n} thread(s) FAILED: ${why}`);
        out.push({ requested: n, error: why });
        continue;
      }
      const res = JSON.parse(child.stdout.trim().split("\n").pop());
      out.push({ requested: n, fileBytes: w.value, ...res, peakBytes: res.stages[res.stages.length - 1].peakBytes });
    }
    // The same probe with V8's own young-generation growth, as a program that embeds the library may run it.
    const plain = spawnChild(JSON.stringify({ weights: path, config: cfg, threads: counts[0], trials: P.rssTrials, cliHeap: false }));
    if (plain.status === 0 && out[0] && !out[0].error) out[0].defaultHeap = JSON.parse(plain.stdout.trim().split("\n").pop()).stages;
    else if (plain.status !== 0) line(`  peak RSS with V8's default heap FAILED: ${(plain.stderr || `status ${plain.status}`).trim().split("\n").pop()}`);
  } catch (e) {
    line(`  peak RSS FAILED: ${errMsg(e)}`);
    out.push({ error: errMsg(e) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/**
 * Run the probe. Through a shell that forks it (not exec's it): on Linux a
 * forked process's ru_maxrss starts at the resident pages it shared with its
 * parent at fork time (the high-water mark survives exec), so a child forked
 * straight from this process would report this process's JavaScript heap as
 * its own peak. The shell forks from a small process instead.
 */
function spawnChild(args) {
  const o = { encoding: "utf8", timeout: 15 * 60e3, maxBuffer: 1 << 20 };
  if (existsSync("/bin/sh")) return spawnSync("/bin/sh", ["-c", '"$0" "$@"; exit $?', process.execPath, CHILD, args], o);
  return spawnSync(process.execPath, [CHILD, args], o);
}

function printSummary(runs, cfg, rss) {
  const wb = weightBytes(cfg);
  const ok = rss.filter((x) => !x.error && x.stages);
  if (ok.length) {
    line();
    line(`  peak RSS by stage (MiB; f32 weights ${f(wb / MiB, 0)} MiB):`);
    const names = ok[0].stages.map((s) => s.name);
    table(["after", ...ok.map((x) => `${x.threads}t peak`), ...ok.map((x) => `${x.threads}t / weights`)],
      names.map((nm, i) => [nm, ...ok.map((x) => f(x.stages[i].peakBytes / MiB, 0)), ...ok.map((x) => f(x.stages[i].peakBytes / wb, 2) + "x")]));
    line(`  wasm memory at the end: ${ok.map((x) => `${x.threads}t ${f(x.wasmBytes / MiB, 0)} MiB`).join(", ")}`);
    const secs = (x, name) => x.stages.find((s) => s.name === name)?.sec;
    line(`  loading the weights file (engine created → model loaded): ${ok.map((x) => `${x.threads}t ${f(secs(x, "load") - secs(x, "engine"), 2)} s`).join(", ")}`);
    const d = ok[0].defaultHeap;
    if (d) line(`  with V8's default young generation (${ok[0].threads}t): ` + d.map((s) => `${s.name} ${f(s.peakBytes / MiB, 0)} (${f(s.peakBytes / wb, 2)}x)`).join(", "));
  }
  line();
  line("  summary (GPT-2-small geometry, 10x16 tokens):");
  const col = (fn) => runs.map((r) => fn(r));
  const rows = [
    ["full forward, mean ms", col((r) => f(r.forward.meanMs, 0))],
    ["full forward: roofline floor, ms", col((r) => (r.forward.floorMs !== undefined ? f(r.forward.floorMs, 0) : "-"))],
    ["trial into the output, ms", col((r) => f(r.trials.layers[0].msPerEdge, 1))],
    ["trial into the output: roofline floor, ms", col((r) => (r.trials.floorTotalMs !== undefined ? f(r.trials.layers[0].floorMs, 1) : "-"))],
    [`trial into layer ${cfg.nLayers - 1} (mean), ms`, col((r) => f(r.trials.layers[1].msPerEdge, 1))],
    ["trial into layer 0 (mean), ms", col((r) => f(r.trials.layers[cfg.nLayers].msPerEdge, 1))],
    ["layer-0 trial / forward", col((r) => f(r.trials.layers[cfg.nLayers].msPerEdge / r.forward.meanMs, 2) + "x")],
    ["mean trial over all edges, ms", col((r) => f(r.trials.msPerEdge, 1))],
    ["mean trial: roofline floor, ms", col((r) => (r.trials.floorTotalMs !== undefined ? f(r.trials.floorMsPerEdge, 1) : "-"))],
    ["whole-search estimate, min", col((r) => f(r.trials.totalMs / 6e4, 1))],
    ["trials' arithmetic rate, GFLOP/s", col((r) => f(r.trials.gflopsPerSec, 1))],
    ["EAP, forward passes", col((r) => f(r.eap.forwards, 2))],
    [`EAP-IG (${IG_STEPS}), forward passes`, col((r) => f(r.eapIg.forwards, 2))],
    ["peak RSS, MiB", col((r) => (r.rss?.peakBytes ? f(r.rss.peakBytes / MiB, 0) : "-"))],
    ["peak RSS / f32 weights", col((r) => (r.rss?.peakBytes ? f(r.rss.peakBytes / wb, 2) + "x" : "-"))],
  ];
  table(["", ...runs.map((r) => `${r.threads} thread${r.threads > 1 ? "s" : ""}`)], rows.map(([name, cells]) => [name, ...cells]));
}
