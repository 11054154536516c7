// Self time by function from a .cpuprofile (node --cpu-prof), top 25.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { wasmNames } from "./wasm-names.mjs";
const wn = wasmNames(fileURLToPath(new URL("../../build/kernels.wasm", import.meta.url)));
const prof = JSON.parse(readFileSync(process.argv[2], "utf8"));
const self = new Map();
const dt = prof.timeDeltas, samples = prof.samples;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
let total = 0;
for (let i = 0; i < samples.length; i++) {
  const n = byId.get(samples[i]), m = /^wasm-function\[(\d+)\]/.exec(n.callFrame.functionName), name = m ? `wasm ${wn.get(Number(m[1])) ?? m[0]}` : `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber}`;
  self.set(name, (self.get(name) ?? 0) + dt[i]);
  total += dt[i];
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25));
for (const [name, us] of top) console.log(`${(us / 1e3).toFixed(0).padStart(8)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`);
