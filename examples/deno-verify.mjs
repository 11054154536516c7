// Verify a run manifest in Deno through the single-file bundle: the same
// core code as `acdc verify`, no Node. Inputs by path (the manifest records
// their sha256, so a wrong file is reported, never silently used).
//   deno run --allow-read examples/deno-verify.mjs c.manifest.json \
//     --model=models/induction-2l.safetensors --config=models/induction-2l.config.json --data=data.json [--threads=2]
import { parseManifest, verifyRun } from "../dist/acdc-wasm.mjs";

const [path, ...rest] = Deno.args;
const opt = (k) => rest.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const read = (p) => (p ? Deno.readFile(p) : undefined);
const m = parseManifest(await Deno.readTextFile(path));
const r = await verifyRun(m, { weights: await read(opt("model")), config: await read(opt("config")), data: await read(opt("data")), threads: Number(opt("threads") ?? 1) });
console.log(r.ok
  ? `ok: ${r.decisions} decisions, ${r.circuit.num_kept} edges, every digest matches (re-run on ${r.runtime.name} ${r.runtime.version}, ${r.threads} thread(s); written on ${m.runtime.name} ${m.runtime.version})`
  : `DIFFERS:\n${r.differences.map((d) => `  ${d.kind}: ${d.message}`).join("\n")}`);
Deno.exit(r.ok ? 0 : 1);
