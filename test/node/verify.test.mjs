// `acdc run` / `acdc sweep` write manifests; `acdc verify` re-runs them (exit 0
// only when every digest matches, 1 naming what differs, 2 for a bad
// manifest or a missing input) and `acdc replay` prints their decisions. A
// changed weight, data token or option is each caught with its own message;
// inputs are found by the recorded path, by sha256 after a move, or given.
import t from "tap";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtures, readJson, root } from "../helpers/fixtures.mjs";

const bin = join(root, "bin", "acdc.js");
const dir = mkdtempSync(join(tmpdir(), "acdc-verify-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const acdc = (args, cwd = dir) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { cwd, timeout: 300_000 }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});
const put = (name, v) => { const p = join(dir, name); writeFileSync(p, typeof v === "string" || v instanceof Uint8Array ? v : JSON.stringify(v)); return p; };

// The fixture model and data, copied so the test may change them.
mkdirSync(join(dir, "m"));
copyFileSync(join(fixtures, "tiny-ln-mlp.safetensors"), join(dir, "m", "tiny.safetensors"));
copyFileSync(join(fixtures, "tiny-ln-mlp.config.json"), join(dir, "m", "tiny.config.json"));
const data = readJson(join(fixtures, "tiny-ln-mlp.data.json"));
put("data.json", data);

const run = await acdc(["run", "--model", "m/tiny.safetensors", "--data", "data.json", "--threshold", "0.02", "--out", "c.json", "--quiet"]);
const manifest = existsSync(join(dir, "c.manifest.json")) ? readJson(join(dir, "c.manifest.json")) : null;

t.test("acdc run writes c.manifest.json beside c.json", async (t) => {
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /wrote c\.json\nwrote c\.manifest\.json/);
  t.ok(manifest, "manifest written");
  const circuit = readJson(join(dir, "c.json"));
  t.equal(manifest.circuit, "c.json");
  t.equal(manifest.model.weights.path, join("m", "tiny.safetensors"), "paths relative to the manifest");
  t.equal(manifest.data.file.path, "data.json");
  t.same(manifest.options, { algorithm: "acdc", threshold: 0.02, top_k: null, ig_steps: null, metric: "kl", ablation: "corrupted", split_input: false, seed: null, threads: 1, deterministic: true });
  t.equal(manifest.trace.length, circuit.num_tested, "one decision per tested edge");
  t.equal(manifest.results.num_kept, circuit.num_kept);
});

t.test("verify passes, with any thread count, and names how it found each input", async (t) => {
  for (const threads of ["1", "2"]) {
    const r = await acdc(["verify", "c.manifest.json", "--threads", threads, "--quiet"]);
    t.equal(r.code, 0, `--threads ${threads}: exit 0 (${r.stdout}${r.stderr})`);
    t.match(r.stdout, new RegExp(`^ok: ${manifest.trace.length} decisions, ${manifest.results.num_kept} edges, every digest matches \\(re-run on node [^,]+, ${threads} threads?`));
    t.match(r.stdout, /model weights at its recorded path, model config at its recorded path, data at its recorded path/);
  }
  // Moved away from the recorded paths: found again by size and sha256 in the manifest's folder.
  const moved = join(dir, "moved");
  mkdirSync(moved);
  copyFileSync(join(dir, "c.manifest.json"), join(moved, "c.manifest.json"));
  copyFileSync(join(dir, "c.json"), join(moved, "c.json"));
  mkdirSync(join(moved, "elsewhere"));
  copyFileSync(join(dir, "m", "tiny.safetensors"), join(moved, "elsewhere", "renamed.safetensors"));
  copyFileSync(join(dir, "m", "tiny.config.json"), join(moved, "elsewhere", "cfg.json"));
  writeFileSync(join(moved, "elsewhere", "d.json"), readFileSync(join(dir, "data.json")));
  const r = await acdc(["verify", join(moved, "c.manifest.json"), "--quiet"], tmpdir());
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /model weights found by sha256 \([^)]*renamed\.safetensors\)/);
  t.match(r.stdout, /data found by sha256/);
  // Given on the command line.
  const g = await acdc(["verify", join(moved, "c.manifest.json"), "--model", join(moved, "elsewhere", "renamed.safetensors"), "--config", join(moved, "elsewhere", "cfg.json"), "--data", join(moved, "elsewhere", "d.json"), "--quiet"], tmpdir());
  t.equal(g.code, 0, g.stdout + g.stderr);
  t.match(g.stdout, /model weights given, model config given, data given/);
});

t.test("a changed weight is caught: the weights' digest, then the first differing decision with both metrics", async (t) => {
  const w = readFileSync(join(dir, "m", "tiny.safetensors"));
  const header = Number(w.readBigUInt64LE(0));
  const at = 8 + header + 4 * 100;
  w.writeFloatLE(w.readFloatLE(at) + 0.25, at);
  put("changed.safetensors", w);
  copyFileSync(join(dir, "m", "tiny.config.json"), join(dir, "changed.config.json"));
  const r = await acdc(["verify", "c.manifest.json", "--model", "changed.safetensors", "--quiet"]);
  t.equal(r.code, 1, "exit 1");
  const lines = r.stdout.split("\n");
  t.match(lines[0], /^DIFFERS/);
  t.match(lines[1], /^  model: model weights differ: changed\.safetensors has sha256 [0-9a-f]{12}… \(\d+ bytes\), the manifest [0-9a-f]{12}…/, "first: the weights");
  t.match(r.stdout, /decision: decision \d+ of \d+ differs: \S+ → \S+: metric [-\d.e]+ \(bits [0-9a-f]{16}\) (kept|removed) on the re-run, [-\d.e]+ \(bits [0-9a-f]{16}\) (kept|removed) in the manifest/, "then the first decision, both metric values");
  t.notMatch(r.stdout, /data differs|options/, "nothing else blamed");
});

t.test("a changed data token is caught as data", async (t) => {
  const d = structuredClone(data);
  d.clean[1][2] = (d.clean[1][2] + 1) % 40;
  put("changed-data.json", d);
  const r = await acdc(["verify", "c.manifest.json", "--data", "changed-data.json", "--quiet"]);
  t.equal(r.code, 1);
  t.match(r.stdout.split("\n")[1], /^  data: data differs: its sha256 is [0-9a-f]{12}…, the manifest's [0-9a-f]{12}… \(a token, position or answer changed\)/);
  t.notMatch(r.stdout, /model weights differ|options/);
  // The same data written differently (spaces, key order) is the same data.
  put("respaced.json", JSON.stringify({ positions: data.positions, corrupted: data.corrupted, clean: data.clean }, null, 3));
  const same = await acdc(["verify", "c.manifest.json", "--data", "respaced.json", "--quiet"]);
  t.equal(same.code, 0, "key order and spacing do not matter: " + same.stdout);
});

t.test("a changed option is caught as the option, by the seal and by the circuit it describes", async (t) => {
  const m = structuredClone(manifest);
  m.options.threshold = 0.2;
  put("edited.manifest.json", m);
  const r = await acdc(["verify", "edited.manifest.json", "--quiet"]);
  t.equal(r.code, 1);
  t.match(r.stdout, /options: the manifest's options section was changed after the run/);
  t.match(r.stdout, /options: option threshold is 0\.2 in the manifest but 0\.02 in c\.json/);
  const abl = structuredClone(manifest);
  abl.options.ablation = "zero";
  put("edited2.manifest.json", abl);
  const r2 = await acdc(["verify", "edited2.manifest.json", "--quiet"]);
  t.equal(r2.code, 1);
  t.match(r2.stdout, /option ablation is "zero" in the manifest but "corrupted" in c\.json/);
  t.match(r2.stdout, /decision: decision \d+ of/);
  // Threads are not sealed: another count must give the same bits.
  const th = structuredClone(manifest);
  th.options.threads = 2;
  put("threads.manifest.json", th);
  const r3 = await acdc(["verify", "threads.manifest.json", "--quiet"]);
  t.equal(r3.code, 0, r3.stdout);
});

t.test("bad manifests and missing inputs: exit 2, one line", async (t) => {
  put("bad.manifest.json", "{");
  const cases = [
    [["verify", "bad.manifest.json"], /^acdc verify: manifest is not valid JSON/],
    [["verify", "nope.json"], /^acdc verify: manifest not found: nope\.json/],
    [["verify"], /give the manifest to verify/],
    [["verify", "c.manifest.json", "--run", "1"], /--run applies to sweep manifests only/],
    [["verify", "c.manifest.json", "--model", "missing.safetensors"], /--model missing\.safetensors: file not found/],
  ];
  for (const [args, re] of cases) {
    const r = await acdc(args);
    t.equal(r.code, 2, `${args.join(" ")}: exit 2`);
    t.match(r.stderr, re);
    t.equal(r.stderr.trim().split("\n").length, 1, "one line");
  }
  // The data neither at its path nor anywhere by its digest.
  const m = structuredClone(manifest);
  m.data.file.path = "gone.json";
  m.data.file.sha256 = "0".repeat(64);
  m.seal.data = (await import("../../dist/repro/index.js")).sealOf(m).data;
  put("lost.manifest.json", m);
  const r = await acdc(["verify", "lost.manifest.json"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /the run's data \(gone\.json, \d+ bytes, sha256 000000000000…\) is neither at its recorded path nor anywhere in .* by its digest; give it with --data/);
});

t.test("replay prints the recorded decisions without the model", async (t) => {
  const alone = join(dir, "alone");
  mkdirSync(alone);
  copyFileSync(join(dir, "c.manifest.json"), join(alone, "x.manifest.json"));
  const r = await acdc(["replay", "x.manifest.json"], alone);
  t.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split("\n").filter((l) => /^\s*\d+\s+(kept|removed)\s/.test(l));
  t.equal(rows.length, manifest.trace.length, "one line per decision");
  const [p, c, d, , bits] = manifest.trace[0];
  const v = Buffer.from(bits, "hex").readDoubleBE(0);
  t.match(rows[0], new RegExp(`^\\s*1\\s+${d}\\s+${String(v).replace(/[.+-]/g, "\\$&")}\\s+${p.replace(/[[\].]/g, "\\$&")} → ${c.replace(/[[\].]/g, "\\$&")}$`), "decision 1: outcome, metric, edge");
  t.match(r.stdout, /trace sha256 [0-9a-f]{64} \(matches its \d+ entries\)/);
});

t.test("sweep manifests: one circuit + manifest per run; verify one run or all", async (t) => {
  const s = await acdc(["sweep", "--task", "tracr-reverse", "--thresholds=-3:-1:3", "--out-dir", "sw", "--quiet"]);
  t.equal(s.code, 0, s.stderr);
  t.match(s.stdout, /wrote sw\/tracr-reverse-sweep\.manifest\.json/);
  const sm = readJson(join(dir, "sw", "tracr-reverse-sweep.manifest.json"));
  const sweepJson = readJson(join(dir, "sw", "tracr-reverse-sweep.json"));
  t.equal(sm.kind, "acdc-sweep-manifest");
  t.same(sm.values, sweepJson.runs.map((r) => r.value));
  t.same(sm.runs.map((r) => r.circuit.num_kept), sweepJson.runs.map((r) => r.numKept), "each run's circuit is the sweep's");
  t.same(sm.runs.map((r) => r.manifest.model.source), ["builtin", "builtin", "builtin"]);
  t.same(sm.runs.map((r) => r.manifest.options.threshold), sm.values);
  const { sweepDigest } = await import("../../dist/repro/index.js");
  const { edgeFrontier, nodeFrontier, ...result } = sweepJson;
  t.equal(sm.result_sha256, sweepDigest(result), "result digest = the sweep JSON (without frontiers and timings)");
  const all = await acdc(["verify", "sw/tracr-reverse-sweep.manifest.json", "--quiet"]);
  t.equal(all.code, 0, all.stdout + all.stderr);
  t.match(all.stdout, /3 of 3 runs verified/);
  const one = await acdc(["verify", "sw/tracr-reverse-sweep.manifest.json", "--run", "2", "--threads", "2", "--quiet"]);
  t.equal(one.code, 0, one.stdout);
  t.match(one.stdout, /^run 2 of 3 \(threshold 0\.01\): ok/);
});

t.test("eap and hybrid manifests verify too", async (t) => {
  for (const [alg, extra] of [["eap", ["--top-k", "12"]], ["hybrid", ["--top-k", "30", "--threshold", "0.02"]], ["eap-ig", ["--threshold", "0.001", "--ig-steps", "3"]]]) {
    const r = await acdc(["run", "--model", "m/tiny.safetensors", "--data", "data.json", "--algorithm", alg, ...extra, "--out", `${alg}.json`, "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    const v = await acdc(["verify", `${alg}.manifest.json`, "--quiet"]);
    t.equal(v.code, 0, `${alg}: ${v.stdout}${v.stderr}`);
  }
  t.equal(readJson(join(dir, "eap.manifest.json")).results.decisions, "attribution");
});
