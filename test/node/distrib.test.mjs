// Sweeps spread over processes without Redis: `acdc sweep --workers N`
// (local worker processes) and `--endpoints URL,URL` (fetch handlers, here
// two `acdc serve`) write the single-machine sweep's files bit for bit
// (timings aside): the sweep JSON, the SVGs, the comparison JSON, and a sweep
// manifest with the same digests that `acdc verify` passes. Faults: a worker
// killed by its PID mid-job, and an endpoint killed mid-job, have the job
// retried elsewhere with the same result; a job refused by every endpoint
// fails twice and is reported with its error, and nothing is written.
import t from "tap";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJson } from "../helpers/fixtures.mjs";
import { runAcdc, startAcdc, withoutTimings } from "../helpers/processes.mjs";
import { diffSweeps, parseManifest } from "../../dist/repro/index.js";

const dir = mkdtempSync(join(tmpdir(), "acdc-distrib-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const out = (name) => join(dir, name);

/** The files of a sweep in `a` and `b` agree: JSON without timings, SVGs byte for byte, sweep manifests digest for digest. */
function sameFiles(t, a, b, what) {
  const files = readdirSync(a).filter((f) => /\.(json|svg)$/.test(f)).sort();
  t.same(readdirSync(b).filter((f) => /\.(json|svg)$/.test(f)).sort(), files, `${what}: the same files`);
  for (const f of files) {
    if (f.endsWith(".svg")) t.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${what}: ${f} byte for byte`);
    else if (f.endsWith(".manifest.json")) {
      const x = parseManifest(readFileSync(join(a, f), "utf8")), y = parseManifest(readFileSync(join(b, f), "utf8"));
      t.same(diffSweeps(x, y), [], `${what}: ${f}: every run's inputs, trace and circuit digests and the result digest agree`);
      const norm = (m) => JSON.stringify({ ...m, runs: m.runs.map((r) => ({ circuit: { ...r.circuit, search_ms: 0 }, manifest: { ...r.manifest, created: "", runtime: null } })) });
      t.equal(norm(y), norm(x), `${what}: ${f}: the same text apart from creation times`);
    } else t.equal(withoutTimings(join(b, f)), withoutTimings(join(a, f)), `${what}: ${f} apart from timings`);
  }
}

/** Stdout apart from the output folder and the comparison's time column. */
const table = (s, d) => s.replaceAll(d, "DIR").replace(/ +[\d.]+ s$/gm, "");

const refs = {};
/** The single-machine sweep of `args`, run once. */
async function reference(key, args) {
  if (!refs[key]) {
    refs[key] = runAcdc(["sweep", ...args, "--out-dir", out(`ref-${key}`), "--quiet"]).then((r) => ({ ...r, dir: out(`ref-${key}`) }));
  }
  return refs[key];
}

const REVERSE = ["--task", "tracr-reverse", "--thresholds=-3:-1:5"];
const INDUCTION = ["--task", "induction", "--thresholds=-3:-1:4"];
const COMPARE = ["--task", "tracr-proportion", "--algorithm", "acdc,hisp,eap-ig", "--thresholds=-3:-1:3"];

t.test("--workers 2: the local sweep's files, and a sweep manifest acdc verify passes", async (t) => {
  const ref = await reference("reverse", REVERSE);
  t.equal(ref.code, 0, ref.stderr);
  const r = await runAcdc(["sweep", ...REVERSE, "--workers", "2", "--out-dir", out("w-reverse"), "--quiet"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /5 jobs on 2 local worker processes \(pids \d+, \d+\)/);
  t.equal(table(r.stdout, out("w-reverse")), table(ref.stdout, ref.dir), "the same table");
  sameFiles(t, ref.dir, out("w-reverse"), "tracr-reverse");
  const v = await runAcdc(["verify", join(out("w-reverse"), "tracr-reverse-sweep.manifest.json"), "--quiet"]);
  t.equal(v.code, 0, v.stdout + v.stderr);
  t.match(v.stdout, /5 of 5 runs verified/);
});

t.test("--workers 2 --algorithm acdc,hisp,eap-ig: the comparison's files", async (t) => {
  const ref = await reference("compare", COMPARE);
  t.equal(ref.code, 0, ref.stderr);
  const r = await runAcdc(["sweep", ...COMPARE, "--workers", "2", "--out-dir", out("w-compare"), "--quiet"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /33 jobs on 2 local worker processes/);
  t.equal(table(r.stdout, out("w-compare")), table(ref.stdout, ref.dir), "the same AUC table (times aside)");
  sameFiles(t, ref.dir, out("w-compare"), "tracr-proportion comparison");
});

t.test("--workers 2: a worker killed by its PID mid-job has its job retried elsewhere; the same sweep", async (t) => {
  const ref = await reference("induction", INDUCTION);
  t.equal(ref.code, 0, ref.stderr);
  const p = startAcdc(["sweep", ...INDUCTION, "--workers", "2", "--out-dir", out("w-kill"), "--quiet"]);
  const [, first] = await p.waitFor(/jobs on 2 local worker processes \(pids (\d+), \d+\)/);
  // Each worker is given a job as it starts, and its first job (loading the model, then ACDC on 305 edges) takes about a second.
  await new Promise((r) => setTimeout(r, 300));
  process.kill(Number(first), "SIGKILL");
  const r = await p.done;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, new RegExp(`job \\d \\(induction acdc threshold=[^)]+\\) failed on local worker pid ${first}: the process exited \\(SIGKILL\\) during the job; retrying, on another worker if there is one \\(attempt 2 of 2\\)`));
  t.match(r.stderr, new RegExp(`started local worker pid \\d+ in place of pid ${first}`));
  t.equal(table(r.stdout, out("w-kill")), table(ref.stdout, ref.dir), "the same table");
  sameFiles(t, ref.dir, out("w-kill"), "induction after a kill");
});

/** Two `acdc serve` on free ports (extra arguments for both); their URLs. */
async function servers(t, extra = []) {
  const ps = [0, 1].map(() => startAcdc(["serve", "--port", "0", ...extra]));
  t.teardown(() => Promise.all(ps.map((p) => p.stop())));
  const urls = await Promise.all(ps.map((p) => p.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, "out").then((m) => m[1])));
  return { ps, urls };
}

t.test("--endpoints: two acdc serve give the local sweep's files; one killed mid-job, its job goes to the other", async (t) => {
  const ref = await reference("induction", INDUCTION);
  const { urls } = await servers(t);
  const r = await runAcdc(["sweep", ...INDUCTION, "--endpoints", urls.join(","), "--out-dir", out("e-induction"), "--quiet"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /4 jobs to 2 endpoints/);
  t.equal(table(r.stdout, out("e-induction")), table(ref.stdout, ref.dir), "the same table");
  sameFiles(t, ref.dir, out("e-induction"), "induction over endpoints");
  const m = readJson(join(out("e-induction"), "induction-sweep.manifest.json"));
  t.same(m.runs.map((x) => x.manifest.runtime.name), Array(4).fill("node"), "each run's manifest is the handler's");

  const { ps, urls: urls2 } = await servers(t);
  const p = startAcdc(["sweep", ...INDUCTION, "--endpoints", urls2.join(","), "--out-dir", out("e-kill"), "--quiet"]);
  await p.waitFor(/4 jobs to 2 endpoints/);
  // Each endpoint has a job in hand: decoding the model, then the search (about a second).
  await new Promise((r) => setTimeout(r, 300));
  process.kill(ps[0].pid, "SIGKILL");
  const k = await p.done;
  t.equal(k.code, 0, k.stderr);
  t.match(k.stderr, new RegExp(`endpoint ${urls2[0]}/v1/run is down; sending it no more jobs`));
  t.match(k.stderr, new RegExp(`failed on ${urls2[0]}/v1/run: [^\\n]*; retrying, on another worker if there is one \\(attempt 2 of 2\\)`));
  sameFiles(t, ref.dir, out("e-kill"), "induction with an endpoint killed");
});

t.test("--endpoints: a job every endpoint refuses fails twice, is reported with its error, and nothing is written", async (t) => {
  const { urls } = await servers(t, ["--max-prompts", "5"]);
  const r = await runAcdc(["sweep", ...INDUCTION, "--endpoints", urls.join(","), "--out-dir", out("e-refused"), "--quiet"]);
  t.equal(r.code, 2, "exit 2");
  for (let i = 1; i <= 4; i++) {
    t.match(r.stderr, new RegExp(`failed: job ${i} \\(induction acdc threshold=[^)]+\\): HTTP 413: data has 20 prompts, over the limit of 5 \\| HTTP 413: data has 20 prompts, over the limit of 5`), `job ${i} reported with both errors`);
  }
  t.match(r.stderr, /acdc sweep: 4 of 4 jobs failed twice \(listed above\); the sweep is incomplete, so nothing was written/);
  t.notOk(existsSync(join(out("e-refused"), "induction-sweep.json")), "no sweep file");
});

t.test("option errors are one line and exit 2", async (t) => {
  const cases = [
    [["--workers", "0"], /--workers must be from 1 to 256, got 0/],
    [["--workers", "2", "--endpoints", "http://127.0.0.1:9"], /--endpoints sends the jobs to fetch handlers; it does not combine with --queue or --workers/],
    [["--queue", "http://127.0.0.1:6379"], /--queue http:\/\/127\.0\.0\.1:6379: the URL must start with redis:\/\/ \(or rediss:\/\/ for TLS\)/],
    [["--endpoints", "ftp://x"], /--endpoints: ftp:\/\/x must be an http:\/\/ or https:\/\/ URL/],
    [["--algorithm", "acdc,sp", "--endpoints", "http://127.0.0.1:9"], /--endpoints: the fetch handler runs acdc, eap, eap-ig, hybrid; sp runs on --workers or --queue/],
  ];
  for (const [args, re] of cases) {
    const r = await runAcdc(["sweep", "--task", "tracr-reverse", ...args, "--out-dir", out("errors")]);
    t.equal(r.code, 2, `${args.join(" ")}: exit 2 (${r.stderr.trim()})`);
    t.match(r.stderr, re, args.join(" "));
    t.equal(r.stderr.split("\n").filter((l) => l.startsWith("acdc sweep:")).length, 1, "one error line");
  }
  const w = await runAcdc(["worker"]);
  t.equal(w.code, 2);
  t.match(w.stderr, /acdc worker: --queue needs a Redis URL \(redis:\/\/HOST:PORT\)/);
});
