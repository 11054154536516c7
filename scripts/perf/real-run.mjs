// A real ACDC search on GPT-2-small geometry (the random weights and the
// 10 × 16 set-up of the other scripts here), for --minutes at most: what the
// dense estimate of bench section 9 (every edge tried with every edge
// present) leaves out. As edges go, trials get cheaper (fewer dirty nodes,
// nodes cut off from the circuit skipped) and receivers' inputs split into
// more classes (more buffers touched). Prints, per receiver layer reached,
// edges tested and skipped, mean ms per tested edge, edges removed, and the
// peak RSS as the search goes. 1 thread unless --threads. The JavaScript heap
// is set up as the acdc command sets up its own, unless --default-heap.
//   node scripts/perf/real-run.mjs [--threshold 0.005] [--minutes 20] [--threads 1] [--default-heap]
import { getHeapSpaceStatistics } from "node:v8";
import { api, loadGpt2, patchData, weightBytes, GPT2, commandHeap, f } from "./common.mjs";

const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const threshold = Number(opt("--threshold", 0.005)), minutes = Number(opt("--minutes", 20)), threads = Number(opt("--threads", 1));
if (!args.includes("--default-heap")) await commandHeap();
const MiB = 2 ** 20, rss = () => process.resourceUsage().maxRSS * 1024;
// Where resident memory sits now: the JavaScript heap, and wasm memory (its reserved size).
const space = (name) => f(getHeapSpaceStatistics().find((x) => x.space_name === name).physical_space_size / MiB, 0);
const where = () => { const m = process.memoryUsage(); return `JS heap ${f(m.heapTotal / MiB, 0)} MiB (young ${space("new_space")}, old ${space("old_space")}), wasm ${f(engine.memory.buffer.byteLength / MiB, 0)} MiB, RSS now ${f(m.rss / MiB, 0)} MiB, reader inputs kept ${p.keptInputs}`; };
const { model, engine } = await loadGpt2(threads);
const g = api.buildGraph(model.cfg);
const p = new api.Patcher(model, g, patchData(model.cfg.dVocab), { ablation: "corrupted", metric: api.klMetric() });
const wb = weightBytes(GPT2);
console.log(`threshold ${threshold}, ${threads} thread(s), at most ${minutes} min; f32 weights ${f(wb / MiB, 0)} MiB; peak RSS after the Patcher ${f(rss() / MiB, 0)} MiB (${f(rss() / wb, 2)}x)`);

const byLabel = new Map(g.nodes.map((n) => [n.label, n])); // progress names the receiver by label
const rows = new Map(); // receiver layer → { tested, skipped, removed, ms }
let last = 0, lastDone = 0;
const stop = new Error("time is up");
const t0 = performance.now();
try {
  api.acdc(p, {
    threshold,
    onProgress: (pr) => {
      const n = byLabel.get(pr.node), key = n.kind === "output" ? "output" : `layer ${n.layer}`;
      const r = rows.get(key) ?? { tested: 0, skipped: 0, removed: 0, ms: 0 };
      if (pr.decision) { r.tested++; r.ms += pr.ms - last; if (pr.decision.removed) r.removed++; }
      else r.skipped += pr.done - lastDone;
      rows.set(key, r);
      last = pr.ms; lastDone = pr.done;
      if (pr.tested % 500 === 0 && pr.decision) console.log(`  ${pr.tested} tested, ${pr.skipped} skipped, at ${pr.node}; ${f(pr.ms / 6e4, 1)} min; peak RSS ${f(rss() / MiB, 0)} MiB (${f(rss() / wb, 2)}x); ${where()}`);
      if (performance.now() - t0 > minutes * 6e4) throw stop;
    },
  });
  console.log(`search finished in ${f((performance.now() - t0) / 6e4, 1)} min`);
} catch (e) {
  if (e !== stop) throw e;
  console.log(`stopped after ${minutes} min (the time limit)`);
}
console.log("receiver layer  tested  skipped  removed  ms/tested");
for (const [k, r] of rows) console.log(`${k.padEnd(14)}  ${String(r.tested).padStart(6)}  ${String(r.skipped).padStart(7)}  ${String(r.removed).padStart(7)}  ${f(r.ms / Math.max(1, r.tested), 1).padStart(9)}`);
console.log(`peak RSS ${f(rss() / MiB, 0)} MiB = ${f(rss() / wb, 2)}x the f32 weights; ${where()}`);
engine.dispose();
