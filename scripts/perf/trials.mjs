// Issue 11, targets 1–5 on GPT-2-small geometry (10 prompts × 16 random
// tokens, KL at the last position, corrupted ablation, 1 thread unless
// --threads): the full forward pass; ACDC trial time per receiver group
// (layer × kind: output, mlp_in, q/k/v_input, direct), best of --reps runs of
// one edge per group; the average over every counted edge (Σ group size ×
// group time / edges); EAP and EAP-IG (5 steps) in forward-pass equivalents.
// Prints the metrics' bits too (a hash), so two builds can be checked equal.
//   node scripts/perf/trials.mjs [--layers 12,11,6,0] [--reps 3] [--threads 1] [--no-eap] [--json out.json]
// Layers not timed take the time linearly interpolated between timed ones.
import { writeFileSync } from "node:fs";
import { api, loadGpt2, patchData, best, loadavg, f, groups, B, T } from "./common.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const reps = Number(opt("--reps", 3));
const threads = Number(opt("--threads", 1));
const layersArg = opt("--layers", null);
const noEap = args.includes("--no-eap");

console.log(`build: ${process.env.DIST ?? "dist"}; load average ${loadavg()}`);
const { model, engine, loadMs } = await loadGpt2(threads);
const cfg = model.cfg, L = cfg.nLayers;
const g = api.buildGraph(cfg);
const data = patchData(cfg.dVocab);
let t = performance.now();
const p = new api.Patcher(model, g, data, { ablation: "corrupted", metric: api.klMetric() });
const patcherMs = performance.now() - t;
console.log(`load ${f(loadMs, 0)} ms, Patcher ${f(patcherMs, 0)} ms, wasm memory ${f(engine.memory.buffer.byteLength / 2 ** 20, 0)} MiB, threads ${engine.threads}`);

const fwd = best(() => model.forward(data.clean), 5, 1);
console.log(`forward ${B}x${T}: best ${f(fwd.best, 0)} ms wall, ${f(fwd.cpu, 0)} ms CPU; mean ${f(fwd.mean, 0)} ms wall`);
// Times below are best CPU ms (one thread: the work's own time, which a busy machine disturbs far less than wall time).

const gs = groups(g);
const want = layersArg ? new Set(layersArg.split(",").map(Number)) : null;
const bits = new Float64Array(gs.length);
const rows = [];
for (const [i, x] of gs.entries()) {
  if (want && !want.has(x.layer)) continue;
  const id = x.edges[Math.floor(x.edges.length / 2)];
  let metric = NaN;
  const r = best(() => { metric = p.trial(id); p.reject(); }, reps, 1);
  bits[i] = metric;
  x.ms = threads > 1 ? r.best : r.cpu;
  rows.push(x);
  console.log(`  layer ${x.layer === L ? "out" : String(x.layer).padStart(3)} ${x.kind.padEnd(8)} edges ${String(x.edges.length).padStart(5)}  best ${f(r.cpu, 1).padStart(7)} ms CPU ${f(r.best, 1).padStart(7)} ms wall  metric ${metric}`);
}
// Per-layer edge-weighted means; untimed layers interpolated.
const perLayer = new Map();
for (let l = 0; l <= L; l++) {
  const lg = gs.filter((x) => x.layer === l && x.ms !== undefined);
  if (lg.length) perLayer.set(l, lg.reduce((a, x) => a + x.ms * x.edges.length, 0) / lg.reduce((a, x) => a + x.edges.length, 0));
}
const timed = [...perLayer.keys()].sort((a, b) => a - b);
const layerMs = (l) => {
  if (perLayer.has(l)) return perLayer.get(l);
  const lo = timed.filter((x) => x < l).pop(), hi = timed.find((x) => x > l);
  if (lo === undefined) return perLayer.get(hi);
  if (hi === undefined) return perLayer.get(lo);
  return perLayer.get(lo) + ((perLayer.get(hi) - perLayer.get(lo)) * (l - lo)) / (hi - lo);
};
let total = 0, edges = 0;
for (const x of gs) { const ms = x.ms ?? layerMs(x.layer); total += ms * x.edges.length; edges += x.edges.length; }
console.log(`per layer (ms/trial, edge-weighted): ${[...Array(L + 1).keys()].reverse().map((l) => `${l === L ? "out" : l}:${f(layerMs(l), 0)}${perLayer.has(l) ? "" : "~"}`).join(" ")}`);
const fwdMs = threads > 1 ? fwd.best : fwd.cpu;
console.log(`average trial over all ${edges} edges: ${f(total / edges, 1)} ms; whole search ${f(total / 6e4, 1)} min; layer-0 trial / forward ${f(layerMs(0) / fwdMs, 2)}x`);

let eap = null, ig = null;
if (!noEap) {
  let s0 = null, s5 = null;
  eap = best(() => { s0 = api.eapScores(p, { steps: 0 }).scores; }, 3, 0);
  ig = best(() => { s5 = api.eapScores(p, { steps: 5 }).scores; }, Number(opt("--ig-reps", 2)), 0);
  const h = (a) => { let x = 0; for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i])) x = (x * 31 + Math.round(a[i] * 1e12)) % 1e15; return x; };
  const t = (r) => (threads > 1 ? r.best : r.cpu);
  console.log(`EAP ${f(t(eap), 0)} ms = ${f(t(eap) / fwdMs, 2)} forwards; EAP-IG(5) ${f(t(ig), 0)} ms = ${f(t(ig) / fwdMs, 2)} forwards (forward ${f(fwdMs, 0)} ms; ${threads > 1 ? "wall" : "CPU"}, best of runs); score hashes ${h(s0)} ${h(s5)}`);
}
console.log(`trial metrics hash (bits of every timed trial's metric): ${require_hash(bits)}`);
console.log(`load average now ${loadavg()}`);
const out = opt("--json", null);
if (out) writeFileSync(out, JSON.stringify({ fwd, rows: rows.map(({ edges: e, ...x }) => ({ ...x, count: e.length })), avgMs: total / edges, eap, ig, metrics: [...bits] }, null, 1));
engine.dispose();

function require_hash(a) {
  let h = 2166136261;
  const u = new Uint8Array(a.buffer);
  for (const b of u) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16);
}
