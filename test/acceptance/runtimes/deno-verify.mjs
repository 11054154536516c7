// Deno verifier: verify run manifests with the bundle's core verifyRun (no
// CLI, no Node). Jobs come as a JSON file [{manifest, weights?, config?,
// data?}] of paths; prints one JSON line with a report per job.
// Run: deno run --allow-read deno-verify.mjs --bundle=… --jobs=… [--threads=N]
const arg = (k) => Deno.args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const api = await import(new URL(arg("bundle"), `file://${Deno.cwd()}/`).href);
const jobs = JSON.parse(await Deno.readTextFile(arg("jobs")));
const threads = Number(arg("threads") ?? 1);
const reports = [];
for (const j of jobs) {
  const m = api.parseManifest(await Deno.readTextFile(j.manifest));
  const read = (p) => (p ? Deno.readFile(p) : undefined);
  const r = await api.verifyRun(m, { weights: await read(j.weights), config: await read(j.config), data: await read(j.data), threads });
  reports.push({ id: j.id, ok: r.ok, differences: r.differences, runtime: r.runtime, threads: r.threads, decisions: r.decisions });
}
console.log(JSON.stringify({ deno: Deno.version.deno, reports }));
