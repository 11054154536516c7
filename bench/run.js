// Benchmarks for acdc-wasm: the runner. It parses the flags, prints the
// machine, runs the sections in bench/sections/ in order (each one module:
// run(ctx) → the numbers it adds to the JSON report), prints the SGEMM
// summary after sections 1–4 (with 2b) and writes --json. Not a test: nothing here
// asserts; it prints a report. See bench/README.md for what each section
// measures and how.
//
//   npm run bench                 full run (build first)
//   node bench/run.js --quick     smoke run (fewer reps, smaller shapes, fewer steps)
//   node bench/run.js --json out.json [--only sgemm,ort,tfjs,...] [--edges N]
//   node bench/run.js --threads N [--only threads,trials]   also 1 vs N threads
import { writeFileSync } from "node:fs";
import os from "node:os";
import { line, f, loadavgText } from "./lib/report.js";
import { machine } from "./lib/machine.js";
import { printSgemmSummary } from "./lib/summary.js";
import { GPT2, buildModel } from "./lib/models.js";
import * as sgemm from "./sections/sgemm.js";
import * as ort from "./sections/ort.js";
import * as tfjs from "./sections/tfjs.js";
import * as blas from "./sections/blas.js";
import * as peak from "./sections/peak.js";
import * as forward from "./sections/forward.js";
import * as edges from "./sections/edges.js";
import * as acdcSection from "./sections/acdc.js";
import * as eap from "./sections/eap.js";
import * as trials from "./sections/trials.js";
import * as torch from "./sections/torch.js";
import * as methods from "./sections/methods.js";
import * as threads from "./sections/threads.js";

// In run order. gpt: the section runs on the shared GPT-2-small-shaped model (built once, before the first such section).
const SECTIONS = [
  { key: "sgemm", mod: sgemm }, { key: "ort", mod: ort }, { key: "tfjs", mod: tfjs }, { key: "blas", mod: blas }, { key: "peak", mod: peak },
  { key: "forward", mod: forward, gpt: true }, { key: "edges", mod: edges, gpt: true }, { key: "acdc", mod: acdcSection },
  { key: "eap", mod: eap, gpt: true }, { key: "trials", mod: trials, gpt: true }, { key: "torch", mod: torch }, { key: "methods", mod: methods, gpt: true },
  { key: "threads", mod: threads },
];
const KEYS = SECTIONS.map((s) => s.key);

// ---- options -------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => { const i = argv.indexOf(name); return i >= 0 && i + 1 < argv.length ? argv[i + 1] : null; };
const QUICK = flag("--quick");
const JSON_OUT = option("--json");
// auto: every logical core, or no multi-threaded runs on a machine with one.
const AUTO = option("--threads") === "auto";
const THREADS = AUTO ? (os.availableParallelism() >= 2 ? os.availableParallelism() : null) : option("--threads") ? parseInt(option("--threads"), 10) : null;
if (!AUTO && THREADS !== null && !(THREADS >= 2)) { console.error(`--threads: a thread count of 2 or more (or "auto"), got ${option("--threads")}`); process.exit(2); }
if (option("--only")?.split(",").includes("threads") && THREADS === null) { console.error("--only threads needs --threads N"); process.exit(2); }
const ONLY = option("--only") ? option("--only").split(",") : KEYS.filter((x) => x !== "threads" || THREADS !== null);
for (const s of ONLY) if (!KEYS.includes(s)) { console.error(`--only: unknown section "${s}" (one of ${KEYS.join(", ")})`); process.exit(2); }
const want = (s) => ONLY.includes(s);

// Repetitions and sizes: quick runs keep every section under a minute or two on 2 busy cores.
const P = QUICK
  ? { gemm: { minSamples: 2, maxTime: 0.3 }, blasReps: 3, peak: { minSamples: 2, maxTime: 0.2 }, peakCallSec: 0.05,
    forwardShapes: [[1, 32], [2, 64]], forwardBench: [{ minSamples: 2, maxTime: 0.5 }, { minSamples: 2, maxTime: 0.5 }],
    edgeSample: 12, edgeMinPerLayer: 0, edgeForward: { minSamples: 2, maxTime: 0.5 },
    trialKinds: ["output", "q_input"], trialReps: 1, rssTrials: 2,
    methods: { tracrSteps: 50, inductionSteps: 30, gpt2Steps: 5, gpt2Kinds: ["output", "q_input"] } }
  : { gemm: { minSamples: 6, maxTime: 2 }, blasReps: 7, peak: { minSamples: 5, maxTime: 0.6 }, peakCallSec: 0.1,
    forwardShapes: [[1, 128], [4, 256]], forwardBench: [{ minSamples: 4, maxTime: 4 }, { minSamples: 2, maxTime: 1 }],
    edgeSample: 72, edgeMinPerLayer: 2, edgeForward: { minSamples: 3, maxTime: 3 },
    trialKinds: null, trialReps: 2, rssTrials: 3,
    methods: { tracrSteps: null, inductionSteps: 300, gpt2Steps: 20, gpt2Kinds: null } };
if (option("--edges")) P.edgeSample = Math.max(1, parseInt(option("--edges"), 10));

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  const report = { mode: QUICK ? "quick" : "full", sections: ONLY };
  const m = (report.machine = machine());
  line(`acdc-wasm benchmarks (${report.mode} run${ONLY.length < KEYS.length ? `, sections: ${ONLY.join(",")}` : ""})`);
  line(`  CPU:  ${m.cpuModel}${m.cpuFamily ? ` (family ${m.cpuFamily} model ${m.cpuModelNo}, ${m.mhz} MHz)` : ""}; ${m.cpus} logical CPUs; host SIMD: ${m.simd ?? "?"}`);
  line(`  Node: ${m.node} (V8 ${m.v8}); ${m.platform}; ${m.memGiB} GiB RAM`);
  line(`  load average at start: ${loadavgText()} (other processes on this machine skew timings)`);
  if (AUTO && THREADS === null) line("  --threads auto: this machine has one logical CPU, so no section runs on more than one thread");
  line(`  Everything runs on one thread${THREADS ? ` except section 11 and the ${THREADS}-thread halves of sections 9 and 9b (${THREADS} threads)` : ""}; ratios use each engine's best (fastest) sample.`);
  report.loadavgStart = os.loadavg();

  const ctx = { quick: QUICK, P, threads: THREADS, report, gpt: null };
  const lastGpt = SECTIONS.filter((s) => s.gpt && want(s.key)).map((s) => s.key).pop();
  const lastGemm = ["sgemm", "ort", "tfjs", "blas", "peak"].filter(want).pop();
  for (const s of SECTIONS) {
    if (!want(s.key)) continue;
    if (s.gpt && !ctx.gpt) {
      line();
      line("Building the GPT-2-small-shaped random model ...");
      const gpt = (ctx.gpt = await buildModel(GPT2));
      line(`  random weights ${f(gpt.weightsMs, 0)} ms, upload into wasm ${f(gpt.createMs, 0)} ms, wasm memory ${f(gpt.model.engine.memory.buffer.byteLength / 2 ** 20, 0)} MiB`);
      report.gpt2 = { config: GPT2, weightsMs: gpt.weightsMs, createMs: gpt.createMs };
    }
    Object.assign(report, await s.mod.run(ctx));
    if (s.key === lastGpt) ctx.gpt = null; // let the model go before sections that build their own
    if (s.key === lastGemm && report.sgemm) printSgemmSummary(report);
  }

  report.totalSec = (performance.now() - t0) / 1e3;
  report.loadavgEnd = os.loadavg();
  line();
  line(`done in ${f(report.totalSec, 0)} s; load average at end: ${loadavgText()}`);
  if (JSON_OUT) {
    writeFileSync(JSON_OUT, JSON.stringify(report, null, 2) + "\n");
    line(`wrote ${JSON_OUT}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
