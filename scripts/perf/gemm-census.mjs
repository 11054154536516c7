// Where a pass's GEMM time goes: every Engine.gemm / gemmPacked /
// gemmPackedT call during one run of --kind (eap, eap-ig, forward, or a trial
// into --layer/--kind as in profile.mjs) timed and grouped by kind and shape
// (CPU ms, calls, GFLOP/s). 1 thread.
//   node scripts/perf/gemm-census.mjs --kind eap
import { api, loadGpt2, patchData, groups, f } from "./common.mjs";
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const kind = opt("--kind", "eap"), layer = Number(opt("--layer", 0));
const { model, engine } = await loadGpt2(1);
const g = api.buildGraph(model.cfg), data = patchData(model.cfg.dVocab);
const p = new api.Patcher(model, g, data, { ablation: "corrupted", metric: api.klMetric() });
const runKind = (kind) => {
  if (kind === "eap") api.eapScores(p, { steps: 0 });
  else if (kind === "eap-ig") api.eapScores(p, { steps: 5 });
  else if (kind === "forward") model.forward(data.clean);
  else { const x = groups(g).find((y) => y.layer === layer && y.kind === kind); p.trial(x.edges[x.edges.length >> 1]); p.reject(); }
};
const stats = new Map();
let run = () => runKind(kind);
const proto = Object.getPrototypeOf(engine);
for (const name of ["gemm", "gemmPacked", "gemmPackedT"]) {
  const orig = proto[name];
  proto[name] = function (M, N, K, ...rest) {
    const c = process.cpuUsage();
    orig.call(this, M, N, K, ...rest);
    const d = process.cpuUsage(c), key = `${name} ${M}x${N}x${K}`;
    const s = stats.get(key) ?? { ms: 0, calls: 0, flop: 0 };
    s.ms += (d.user + d.system) / 1e3; s.calls++; s.flop += 2 * M * N * K;
    stats.set(key, s);
  };
}
// --with K2: also census kind K2 in the same process (say, the forward beside EAP), alternating twice.
const other = opt("--with", null);
const kinds = other ? [kind, other, kind, other] : [kind];
const seen = new Map();
for (const k of kinds) {
  runKind(k);
  stats.clear();
  const c0 = process.cpuUsage();
  runKind(k);
  const d0 = process.cpuUsage(c0), total = (d0.user + d0.system) / 1e3;
  if (seen.has(k) && seen.get(k).total <= total) continue;
  seen.set(k, { total, rows: [...stats].map(([key, s]) => [key, { ...s }]).sort((a, b) => b[1].ms - a[1].ms) });
}
for (const [k, { total, rows }] of seen) {
  const gemmMs = rows.reduce((a, [, s]) => a + s.ms, 0), gemmFlop = rows.reduce((a, [, s]) => a + s.flop, 0);
  console.log(`${k}: ${f(total, 0)} ms CPU, GEMM ${f(gemmMs, 0)} ms (${f(gemmFlop / 1e9, 1)} GFLOP, ${f(gemmFlop / gemmMs / 1e6, 1)} GFLOP/s); other ${f(total - gemmMs, 0)} ms`);
  for (const [key, s] of rows.slice(0, 14)) console.log(`  ${key.padEnd(34)} ${String(s.calls).padStart(5)} calls ${f(s.ms, 1).padStart(8)} ms ${f(s.flop / s.ms / 1e6, 1).padStart(6)} GFLOP/s`);
}
engine.dispose();
