// A/B of two builds in one process on GPT-2-small geometry (10 × 16 random
// tokens, KL, corrupted ablation, 1 thread): each measurement alternates
// between the builds, so a busy machine's load falls on both alike. Reports
// best wall and best CPU ms per item, B/A ratios, and whether the two builds'
// trial metrics and EAP scores are the same bits.
//   A=/tmp/perf-base/dist B=dist node scripts/perf/ab.mjs [--layers 12,11,0] [--reps 3] [--no-eap] [--no-forward]
import { join } from "node:path";
import { openBuild, loadGpt2, patchData, loadavg, f, groups } from "./common.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const reps = Number(opt("--reps", 3));
const layers = opt("--layers", null)?.split(",").map(Number) ?? null;
const kinds = opt("--kinds", null)?.split(",") ?? null;
const abs = (d) => (d.startsWith("/") ? d : join(process.cwd(), d));
const builds = [await openBuild(abs(process.env.A ?? "/tmp/perf-base/dist")), await openBuild(abs(process.env.B ?? "dist"))];
console.log(`A = ${builds[0].dist}\nB = ${builds[1].dist}\nload average ${loadavg()}`);

const sides = [];
for (const b of builds) {
  const { model, engine, loadMs } = await loadGpt2(1, b);
  const g = b.api.buildGraph(model.cfg), data = patchData(model.cfg.dVocab);
  const t = performance.now();
  const p = new b.api.Patcher(model, g, data, { ablation: "corrupted", metric: b.api.klMetric() });
  sides.push({ b, model, engine, g, data, p, loadMs, patcherMs: performance.now() - t });
  console.log(`${sides.length === 1 ? "A" : "B"}: load ${f(loadMs, 0)} ms, Patcher ${f(performance.now() - t, 0)} ms, wasm memory ${f(engine.memory.buffer.byteLength / 2 ** 20, 0)} MiB`);
}

/** Alternate fn(side) between A and B, reps times each after one warm-up each; best wall and CPU ms per side and the results. */
function ab(fn, n = reps) {
  const res = sides.map(() => ({ wall: Infinity, cpu: Infinity, out: undefined }));
  for (let r = -1; r < n; r++) for (let i = 0; i < 2; i++) {
    const c = process.cpuUsage(), t = performance.now();
    const out = fn(sides[i]);
    const wall = performance.now() - t, d = process.cpuUsage(c), cpu = (d.user + d.system) / 1e3;
    res[i].out = out;
    if (r >= 0) { res[i].wall = Math.min(res[i].wall, wall); res[i].cpu = Math.min(res[i].cpu, cpu); }
  }
  return res;
}
const row = (name, r, same) => console.log(`${name.padEnd(28)} A ${f(r[0].cpu, 1).padStart(8)} cpu ${f(r[0].wall, 1).padStart(8)} wall | B ${f(r[1].cpu, 1).padStart(8)} cpu ${f(r[1].wall, 1).padStart(8)} wall | B/A cpu ${f(r[1].cpu / r[0].cpu, 3)}${same === undefined ? "" : same ? "  same bits" : "  DIFFERENT"}`);
const sameArr = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

if (!args.includes("--no-forward")) {
  const r = ab((s) => s.model.forward(s.data.clean).logits, Math.min(reps, 3));
  row("forward 10x16", r, sameArr(r[0].out, r[1].out));
}
const gs = groups(sides[0].g);
let allSame = true;
for (const x of gs) {
  if (layers && !layers.includes(x.layer)) continue;
  if (kinds && !kinds.includes(x.kind)) continue;
  const id = x.edges[Math.floor(x.edges.length / 2)];
  const r = ab((s) => { const m = s.p.trial(id); s.p.reject(); return m; });
  const same = Object.is(r[0].out, r[1].out);
  allSame &&= same;
  row(`trial L${x.layer} ${x.kind}`, r, same);
}
console.log(`trial metrics: ${allSame ? "all the same bits" : "SOME DIFFER"}`);
if (!args.includes("--no-eap")) {
  for (const steps of [0, 5]) {
    const r = ab((s) => Array.from(s.b.api.eapScores(s.p, { steps }).scores), steps ? 1 : 2);
    row(steps ? "EAP-IG (5 steps)" : "EAP", r, sameArr(r[0].out, r[1].out));
  }
}
console.log(`load average now ${loadavg()}`);
for (const s of sides) s.engine.dispose();
