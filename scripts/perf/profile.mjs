// CPU profile of repeated trials of one receiver group on GPT-2-small
// geometry (node --cpu-prof): where a trial's time goes.
//   node scripts/perf/profile.mjs --layer 12 --kind output --reps 20 [--threads 2] [--out /tmp/trial.cpuprofile]
// With --threads N the profile is the calling thread's: kernels it runs
// itself, and the time it waits for the pool (Atomics.wait).
//   node scripts/perf/profile-summary.mjs /tmp/trial.cpuprofile
// --kind: output, mlp_in, q_input, k_input, v_input, direct, or eap, eap-ig, forward.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { api, loadGpt2, patchData, groups, best, f } from "./common.mjs";
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const layer = Number(opt("--layer", 12)), kind = opt("--kind", "output"), reps = Number(opt("--reps", 10));
const { model, engine } = await loadGpt2(Number(opt("--threads", 1)));
const g = api.buildGraph(model.cfg);
const p = new api.Patcher(model, g, patchData(model.cfg.dVocab), { ablation: "corrupted", metric: api.klMetric() });
// Profile only what follows (set-up excluded), into --out.
const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 200 });
await session.post("Profiler.start");
if (kind === "eap" || kind === "eap-ig") {
  const r = best(() => api.eapScores(p, { steps: kind === "eap" ? 0 : 5 }), reps, 0);
  console.log(`${kind}: best cpu ${f(r.cpu, 1)} ms`);
} else if (kind === "forward") {
  const d = patchData(model.cfg.dVocab);
  const r = best(() => model.forward(d.clean), reps, 1);
  console.log(`forward: best cpu ${f(r.cpu, 1)} ms`);
} else {
  const x = groups(g).find((y) => y.layer === layer && y.kind === kind);
  const id = x.edges[Math.floor(x.edges.length / 2)];
  const r = best(() => { p.trial(id); p.reject(); }, reps, 1);
  console.log(`layer ${layer} ${kind}: best cpu ${f(r.cpu, 1)} ms, wall ${f(r.best, 1)} ms`);
}
const { profile } = await session.post("Profiler.stop");
writeFileSync(opt("--out", "/tmp/trial.cpuprofile"), JSON.stringify(profile));
engine.dispose();
