// `acdc run` / `acdc sweep` write manifests; `acdc verify` re-runs them (exit 0
// only when every digest matches, 1 naming what differs, 2 for a bad
// manifest or a missing input) and `acdc replay` prints their decisions. A
// changed weight, data token or option is each caught with its own message;
// inputs are found by the recorded path, by sha256 after a move, or given.
import t from "tap";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
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

t.test("sp, hisp and edge-pruning runs write manifests that verify; an edited seed or count is named at its first differing entry", async (t) => {
  const cases = [
    ["sp", ["--lambda", "0.5", "--steps", "60", "--seed", "3"], { lambda: 0.5, steps: 60, lr: 0.001, seed: 3 }, "mask-logit", 39],
    ["hisp", ["--masked", "5"], { masked: 5, seed: null }, "importance", 26],
    ["edge-pruning", ["--sparsity", "0.9", "--steps", "60", "--lr", "0.05"], { sparsity: 0.9, steps: 60, lr: 0.05, seed: 0 }, "mask-logit", 110],
  ];
  for (const [alg, args, options, kind, n] of cases) {
    const r = await acdc(["run", "--model", "m/tiny.safetensors", "--data", "data.json", "--algorithm", alg, ...args, "--out", `${alg}.json`, "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`wrote ${alg}\\.json\\nwrote ${alg}\\.manifest\\.json`));
    const m = readJson(join(dir, `${alg}.manifest.json`));
    t.match(m.options, { algorithm: alg, threshold: null, ...options }, `${alg}: its options`);
    t.equal(m.results.decisions, kind);
    t.equal(m.trace.length, n, `${alg}: ${n} entries (graph order)`);
    t.equal(m.results.num_kept, readJson(join(dir, `${alg}.json`)).num_kept);
    const v = await acdc(["verify", `${alg}.manifest.json`, "--threads", "2", "--quiet"]);
    t.equal(v.code, 0, v.stdout + v.stderr);
    t.match(v.stdout, new RegExp(`^ok: ${n} decisions, ${m.results.num_kept} edges, every digest matches \\(re-run on node [^,]+, 2 threads`));
    const rp = await acdc(["replay", `${alg}.manifest.json`]);
    t.equal(rp.stdout.split("\n").filter((l) => /^\s*\d+\s+(kept|removed)\s/.test(l)).length, n, `${alg}: replay prints every entry`);
  }
  const sp = readJson(join(dir, "sp.manifest.json"));
  sp.options.seed = 4;
  put("sp-seed.manifest.json", sp);
  const r = await acdc(["verify", "sp-seed.manifest.json", "--quiet"]);
  t.equal(r.code, 1);
  t.match(r.stdout, /options: the manifest's options section was changed after the run/);
  const [p, c] = sp.trace[0];
  t.match(r.stdout, `decision: decision 1 of 39 differs: ${p} → ${c}: mask logit `, "the first entry, named as a mask logit");
  t.match(r.stdout, /mask logit [-\d.e]+ \(bits [0-9a-f]{16}\) (kept|removed) on the re-run, [-\d.e]+ \(bits [0-9a-f]{16}\) (kept|removed) in the manifest/);
  const hi = readJson(join(dir, "hisp.manifest.json"));
  hi.options.masked = 6;
  put("hisp-6.manifest.json", hi);
  const h = await acdc(["verify", "hisp-6.manifest.json", "--quiet"]);
  t.equal(h.code, 1);
  t.match(h.stdout, /decision: decision \d+ of 26 differs: \S+ → \S+: importance [-\d.e]+ \(bits [0-9a-f]{16}\) removed on the re-run, [-\d.e]+ \(bits [0-9a-f]{16}\) kept in the manifest/, "the sixth component, masked on the re-run");
});

t.test("a task file run: the manifest records the file and the tokens it made; verify tokenizes it again, or re-runs from the recorded tokens", async (t) => {
  const { canonicalJson, sha256Hex } = await import("../../dist/repro/index.js");
  const file = { clean: data.clean, corrupted: data.corrupted, positions: data.positions.map((p) => [p]), metric: "kl", model: "m/tiny.safetensors" };
  put("task.json", JSON.stringify(file, null, 2));
  const r = await acdc(["run", "--task", "task.json", "--threshold", "0.02", "--out", "tc.json", "--quiet"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /wrote tc\.json\nwrote tc\.manifest\.json/);
  const m = readJson(join(dir, "tc.manifest.json"));
  t.match(m.data, { source: "task-file", file: { path: "task.json" }, tokenizer: null, prompts: data.clean.length });
  t.equal(m.data.task_sha256, sha256Hex(canonicalJson(file)), "the task file's canonical digest");
  // The same tokens as data.json: the same data digest, the same circuit as the --data run at the same threshold.
  t.equal(m.data.sha256, manifest.data.sha256, "its token data digest is data.json's");
  t.equal(m.results.circuit_sha256, manifest.results.circuit_sha256, "and its circuit c.json's (the task label aside)");
  t.equal(readJson(join(dir, "tc.json")).task, "task.json");
  const v = await acdc(["verify", "tc.manifest.json", "--threads", "2", "--quiet"]);
  t.equal(v.code, 0, v.stdout + v.stderr);
  t.match(v.stdout, /task file at its recorded path, token data from the task file, tokenized again/);

  // Without the task file: the recorded tokens, said so.
  const alone = join(dir, "tc-alone");
  mkdirSync(alone);
  copyFileSync(join(dir, "tc.manifest.json"), join(alone, "tc.manifest.json"));
  copyFileSync(join(dir, "tc.json"), join(alone, "tc.json"));
  const a = await acdc(["verify", "tc.manifest.json", "--model", join(dir, "m", "tiny.safetensors"), "--quiet"], alone);
  t.equal(a.code, 0, a.stdout + a.stderr);
  t.match(a.stdout, /token data from the manifest's recorded tokens \(the task file task\.json was not found; give it with --task to tokenize it again\)/);

  // A changed prompt in the task file: caught as the file and as the tokens, then the decisions follow.
  put("task-changed.json", { ...file, corrupted: file.corrupted.map((row, i) => (i === 1 ? row.map((x, j) => (j === 2 ? (x + 1) % 40 : x)) : row)) });
  const c = await acdc(["verify", "tc.manifest.json", "--task", "task-changed.json", "--quiet"]);
  t.equal(c.code, 1);
  t.match(c.stdout, /task file given/);
  t.match(c.stdout, /data: task file differs: task-changed\.json as parsed has sha256 [0-9a-f]{12}…, the manifest's [0-9a-f]{12}… \(a prompt, answer or field changed\)/);
  t.match(c.stdout, /data: data differs: the task file tokenized again gives token data with sha256 [0-9a-f]{12}…, the manifest's/);
  for (const [args, re] of [
    [["verify", "c.manifest.json", "--task", "task.json"], /--task and --tokenizer apply to runs on a task file; this run's data is token data/],
    [["verify", "tc.manifest.json", "--data", "data.json"], /--data applies to runs on a --data file or inline data; this run's data is a task file/],
  ]) {
    const e = await acdc(args);
    t.equal(e.code, 2, args.join(" "));
    t.match(e.stderr, re);
  }

  // A sweep on the task file (no ground truth: the faithfulness curve) writes its manifest too.
  const s = await acdc(["sweep", "--task", "task.json", "--thresholds=-2:-1:2", "--out-dir", "tsw", "--quiet"]);
  t.equal(s.code, 0, s.stderr);
  t.match(s.stdout, /wrote tsw\/task-sweep\.manifest\.json/);
  const sm = readJson(join(dir, "tsw", "task-sweep.manifest.json"));
  const { sweepDigest } = await import("../../dist/repro/index.js");
  t.equal(sm.result_sha256, sweepDigest(readJson(join(dir, "tsw", "task-sweep.json"))), "result digest = the faithfulness JSON without timings");
  t.same(sm.runs.map((x) => x.manifest.data.source), ["task-file", "task-file"]);
  const one = await acdc(["verify", "tsw/task-sweep.manifest.json", "--run", "2", "--quiet"]);
  t.equal(one.code, 0, one.stdout + one.stderr);
  t.match(one.stdout, /^run 2 of 2 \(threshold 0\.1\): ok: .*token data from the task file, tokenized again/);
});

const stories = join(root, "..", "shared", "models", "stories260K");
const haveStories = existsSync(join(stories, "stories260K.bin")) && existsSync(join(stories, "tok512.bin"));
t.test("a text task file: its tokenizer recorded, found where the file names it or given; a different tokenizer is caught", { skip: haveStories ? false : `${stories} has no stories260K.bin and tok512.bin` }, async (t) => {
  const st = join(dir, "st");
  mkdirSync(join(st, "tok"), { recursive: true });
  copyFileSync(join(stories, "tok512.bin"), join(st, "tok", "tok512.bin"));
  writeFileSync(join(st, "task.json"), JSON.stringify({
    tokenizer: "tok/tok512.bin", clean: ["Once upon a time there was a cat. The cat was happy. The cat"],
    corrupted: ["Once upon a time there was a dog. The dog was happy. The dog"], metric: "kl", positions: "last",
  }));
  const model = join(stories, "stories260K.bin");
  const r = await acdc(["run", "--model", model, "--task", "task.json", "--threshold", "0.05", "--out", "sc.json", "--quiet"], st);
  t.equal(r.code, 0, r.stderr);
  const m = readJson(join(st, "sc.manifest.json"));
  const tokBytes = readFileSync(join(stories, "tok512.bin"));
  t.same(m.data.tokenizer, { spec: "tok/tok512.bin", path: join("tok", "tok512.bin"), bytes: tokBytes.length, sha256: (await import("node:crypto")).createHash("sha256").update(tokBytes).digest("hex") });
  t.equal(m.data.tokens.clean[0].length, 19, "19 tokens, as tok512.bin spells the prompt");
  const v = await acdc(["verify", "sc.manifest.json", "--quiet"], st);
  t.equal(v.code, 0, v.stdout + v.stderr);
  t.match(v.stdout, /tokenizer where the task file names it, token data from the task file, tokenized again/);
  // The tokenizer moved out of reach: the recorded tokens, and how to give it.
  mkdirSync(join(st, "a", "b"), { recursive: true });
  copyFileSync(join(st, "tok", "tok512.bin"), join(st, "a", "b", "tok512.bin"));
  rmSync(join(st, "tok", "tok512.bin"));
  const gone = await acdc(["verify", "sc.manifest.json", "--quiet"], st);
  t.equal(gone.code, 0, gone.stdout + gone.stderr);
  t.match(gone.stdout, /token data from the manifest's recorded tokens \(the tokenizer "tok\/tok512\.bin" was not found; give it with --tokenizer to tokenize the task file again\)/);
  const given = await acdc(["verify", "sc.manifest.json", "--tokenizer", "a/b/tok512.bin", "--quiet"], st);
  t.equal(given.code, 0, given.stdout + given.stderr);
  t.match(given.stdout, /tokenizer given, token data from the task file, tokenized again/);
  // A tokenizer with one score changed is another tokenizer.
  const other = Buffer.from(tokBytes);
  other.writeFloatLE(other.readFloatLE(4) + 1, 4); // the score of token 0 (<unk>)
  writeFileSync(join(st, "other.bin"), other);
  const diff = await acdc(["verify", "sc.manifest.json", "--tokenizer", "other.bin", "--quiet"], st);
  t.equal(diff.code, 1, diff.stdout);
  t.match(diff.stdout, /data: tokenizer differs: tok\/tok512\.bin has sha256 [0-9a-f]{12}… \(6227 bytes\), the manifest's [0-9a-f]{12}… \(6227 bytes\)/);
});

t.test("comparison manifests: one circuit and manifest per method, seed and value, each the API's; verify any run", async (t) => {
  const s = await acdc(["sweep", "--task", "tracr-reverse", "--algorithm", "acdc,hisp,sp,edge-pruning", "--steps", "4", "--seeds", "2", "--thresholds=-3:-1:2", "--out-dir", "cmp", "--quiet"]);
  t.equal(s.code, 0, s.stderr);
  t.match(s.stdout, /wrote cmp\/tracr-reverse-zero-compare\.manifest\.json/);
  const cm = readJson(join(dir, "cmp", "tracr-reverse-zero-compare.manifest.json"));
  t.equal(cm.kind, "acdc-compare-manifest");
  t.match(cm, { task: "tracr-reverse", ablation: "zero", metric: "task" });
  t.same(cm.methods.map((x) => [x.algorithm, x.knob, x.values.length, x.seeds]),
    [["acdc", "threshold", 2, [null]], ["hisp", "masked", 17, [null]], ["sp", "lambda", 11, [0, 1]], ["edge-pruning", "sparsity", 10, [0, 1]]]);
  t.equal(cm.runs.length, 2 + 17 + 22 + 20, "one run per method, seed and value");
  const knobs = Object.fromEntries(cm.methods.map((x) => [x.algorithm, x.knob]));
  t.ok(cm.runs.every((r) => r.manifest.options.algorithm === r.algorithm && r.manifest.options[knobs[r.algorithm]] === r.value && r.manifest.options.seed === r.seed), "each run's options: its method, knob value and seed");
  t.ok(cm.runs.filter((r) => r.seed !== null).every((r) => r.manifest.options.steps === 4), "--steps recorded");

  // The comparison API on the same plans gives the same circuits, run for run.
  const { createEngine, buildGraph, circuitJson } = await import("../../dist/index.js");
  const { compareMethods, defaultPlan, logspace } = await import("../../dist/eval/index.js");
  const { tracrTask, createTracrModel } = await import("../../dist/tasks/index.js");
  const { circuitDigest } = await import("../../dist/repro/index.js");
  const e = await createEngine();
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task, e);
  const g = buildGraph(task.cfg, task.graph);
  const plans = ["acdc", "hisp", "sp", "edge-pruning"].map((k) => defaultPlan(k, g, { thresholds: logspace(-3, -1, 2), tracr: true, seeds: k === "acdc" || k === "hisp" ? 1 : 2, steps: 4 }));
  const digests = [];
  compareMethods({
    model, graph: g, data: task.data, metric: task.metrics.task, ablation: "zero", groundTruth: task.groundTruth.map(([a, b]) => [a, b]), methods: plans,
    onRun: (_m, _s, _i, _n, _v, c) => digests.push(circuitDigest(circuitJson(c, { ablation: "zero", metric: task.metrics.task().name, model: { name: "tracr-reverse", ...model.cfg } }))),
  });
  e.dispose();
  t.same(cm.runs.map((r) => r.manifest.results.circuit_sha256), digests, "every circuit digest is the API's");
  t.same(cm.runs.map((r) => circuitDigest(r.circuit)), digests, "and so is every stored circuit");

  const first = (alg) => cm.runs.findIndex((r) => r.algorithm === alg) + 1;
  for (const alg of ["acdc", "hisp", "sp", "edge-pruning"]) {
    const i = cm.runs.findLastIndex((r) => r.algorithm === alg) + 1;
    const v = await acdc(["verify", "cmp/tracr-reverse-zero-compare.manifest.json", "--run", String(i), "--threads", "2", "--quiet"]);
    t.equal(v.code, 0, v.stdout + v.stderr);
    t.match(v.stdout, new RegExp(`^run ${i} of 61 \\(${alg}[ ,].*\\): ok: `), `${alg}: run ${i}`);
  }
  const all = await acdc(["verify", "cmp/tracr-reverse-zero-compare.manifest.json", "--quiet"]);
  t.equal(all.code, 0, all.stdout.split("\n").filter((l) => !/: ok: /.test(l)).join("\n"));
  t.match(all.stdout, /61 of 61 runs verified/);
  const rp = await acdc(["replay", "cmp/tracr-reverse-zero-compare.manifest.json", "--run", String(first("sp"))]);
  t.match(rp.stdout, /^sp λ=0\.001, 4 steps, lr 0\.001, seed 0, metric task, zero ablation$/m);
  const edited = structuredClone(cm);
  edited.runs[first("edge-pruning") - 1].manifest.options.steps = 5;
  put("cmp/edited.manifest.json", edited);
  const bad = await acdc(["verify", "cmp/edited.manifest.json", "--run", String(first("edge-pruning")), "--quiet"]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, new RegExp(`^run ${first("edge-pruning")} of 61 \\(edge-pruning seed 0, sparsity 0\\.5\\): DIFFERS`));
  t.match(bad.stdout, /options: the manifest's options section was changed after the run/);
});

t.test("a sharded checkpoint's run verifies: the index recorded, its shards read beside it; a changed shard is caught", async (t) => {
  const { decodeSafetensors, writeHfFolder } = await import("../reference/safetensors-io.mjs");
  const tensors = decodeSafetensors(readFileSync(join(fixtures, "tiny-ln-mlp.safetensors")));
  const entries = [...tensors].map(([name, x]) => ({ name, dtype: x.dtype, shape: x.shape, values: x.data }));
  const names = entries.map((e) => e.name);
  const folder = join(dir, "sharded");
  writeHfFolder(folder, readJson(join(fixtures, "tiny-ln-mlp.config.json")), entries,
    { shards: [names.filter((n) => !n.startsWith("blocks.1.")), names.filter((n) => n.startsWith("blocks.1."))] });
  const r = await acdc(["run", "--model", "sharded", "--data", "data.json", "--threshold", "0.02", "--out", "s.json", "--quiet"]);
  t.equal(r.code, 0, r.stderr);
  const m = readJson(join(dir, "s.manifest.json"));
  t.equal(m.model.weights.path, join("sharded", "model.safetensors.index.json"), "the index is the recorded weights file");
  t.same(readJson(join(dir, "s.json")).edges, readJson(join(dir, "c.json")).edges, "the same circuit as the single-file model");
  for (const args of [["verify", "s.manifest.json", "--quiet"], ["verify", "s.manifest.json", "--model", "sharded", "--quiet"]]) {
    const v = await acdc(args);
    t.equal(v.code, 0, `${args.join(" ")}: ${v.stdout}${v.stderr}`);
    t.match(v.stdout, new RegExp(`^ok: ${m.trace.length} decisions, ${m.results.num_kept} edges, every digest matches`));
  }
  // A shard gone from beside the index: one line, exit 2, naming it.
  const first = join(folder, "model-00001-of-00002.safetensors");
  renameSync(first, `${first}.away`);
  const gone = await acdc(["verify", "s.manifest.json", "--quiet"]);
  renameSync(`${first}.away`, first);
  t.equal(gone.code, 2, gone.stdout + gone.stderr);
  t.match(gone.stderr, /^acdc verify: shard index .*model\.safetensors\.index\.json names model-00001-of-00002\.safetensors, which is missing\n$/);
  // The index records names, not contents: a changed shard shows as the loaded parameters.
  const shard = join(folder, "model-00002-of-00002.safetensors");
  const bytes = readFileSync(shard);
  bytes[bytes.length - 2] ^= 0x40;
  writeFileSync(shard, bytes);
  const bad = await acdc(["verify", "s.manifest.json", "--quiet"]);
  t.equal(bad.code, 1, bad.stdout + bad.stderr);
  t.match(bad.stdout, /params: loaded parameters differ/);
});
