// Portable reproducible runs across runtimes, end to end:
//  1. the CLI's circuits and manifests on tracr-reverse (sweep), the trained
//     induction model and stories260K (run) — the references;
//  2. the fetch handler served by Node (`acdc serve`), Deno (Deno.serve),
//     workerd (miniflare) and Vercel's edge-runtime, each on the three
//     models: circuits byte-identical to the CLI's (search_ms aside), the same
//     digests, and each server's memory (peak RSS, wasm memory) measured;
//  3. the verification matrix: every manifest (written by the CLI or by the
//     handler in each runtime) verified by the Node CLI, by Deno and by
//     Chromium through the bundle, on one thread and on two — and four more
//     CLI manifests: SP, HISP and Edge Pruning on the induction model (a few
//     optimisation steps) and a text task file on stories260K, which the
//     bundle verifies from its recorded tokens (no tokenizer in the page).
// Chromium skips with one line when missing (required under CI).
import t from "tap";
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import { root } from "../helpers/fixtures.mjs";
import { chromiumOrSkip, CHROMIUM_ARGS } from "../helpers/components.mjs";
import { inductionOfflineTask, nameRepeatTask } from "../../dist/tasks/index.js";
import { loadModel } from "../../dist/index.js";
import { Llama2cTokenizer } from "../../dist/model/formats/index.js";

// About 6 minutes on two busy cores (some 35 stories260K searches in all): more than tap's 600 s default allows under load.
t.setTimeout(1_500_000);

const bin = join(root, "bin", "acdc.js");
const denoExe = join(root, "node_modules", "deno", "deno");
const storiesDir = join(root, "..", "shared", "models", "stories260K");
const dir = mkdtempSync(join(tmpdir(), "acdc-repro-rt-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd, args, opts = {}) => new Promise((res) => {
  execFile(cmd, args, { cwd: dir, timeout: 300_000, maxBuffer: 256 << 20, ...opts }, (err, stdout, stderr) => {
    res({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});
const acdc = (args) => run(process.execPath, [bin, ...args]);
const readJson = (p) => JSON.parse(readFileSync(join(dir, p), "utf8"));
const put = (p, v) => writeFileSync(join(dir, p), typeof v === "string" ? v : JSON.stringify(v));

// ---- inputs, copied into one folder (the static server and Chromium read from there) ----
for (const f of ["induction-2l.safetensors", "induction-2l.config.json"]) copyFileSync(join(root, "models", f), join(dir, f));
copyFileSync(join(storiesDir, "stories260K.bin"), join(dir, "stories260K.bin"));
copyFileSync(join(storiesDir, "tok512.bin"), join(dir, "tok512.bin"));
const ind = inductionOfflineTask().data;
const indData = { clean: ind.clean, corrupted: ind.corrupted, positions: ind.positions };
put("induction.data.json", indData);
const storiesModel = await loadModel(new Uint8Array(readFileSync(join(dir, "stories260K.bin"))));
const storiesData = nameRepeatTask(Llama2cTokenizer.parse(new Uint8Array(readFileSync(join(storiesDir, "tok512.bin"))), 512), storiesModel.cfg).data;
storiesModel.engine.dispose?.();
put("stories.data.json", storiesData);

const MODELS = {
  "tracr-reverse": { request: () => ({ model: { builtin: "tracr-reverse" }, data: { task: "tracr-reverse" }, options: { threshold: 0.001 } }), inputs: {} },
  "induction": {
    request: (base) => ({ model: { safetensors: `${base}/induction-2l.safetensors`, config: `${base}/induction-2l.config.json` }, data: indData, options: { threshold: 0.01 } }),
    inputs: { weights: "induction-2l.safetensors", config: "induction-2l.config.json", data: "induction.data.json" },
  },
  "stories260K": {
    request: () => ({ model: { llama2c: readFileSync(join(dir, "stories260K.bin")).toString("base64"), name: "stories260K" }, data: storiesData, options: { threshold: 0.05, metric: "logit-diff" } }),
    inputs: { weights: "stories260K.bin", data: "stories.data.json" },
  },
};

// CLI manifests beyond the three models' ACDC runs (verified everywhere, written by the CLI only).
const induction = ["run", "--model", "induction-2l.safetensors", "--data", "induction.data.json"];
const MORE = {
  "sp": [...induction, "--algorithm", "sp", "--lambda", "0.3", "--steps", "30", "--seed", "1"],
  "hisp": [...induction, "--algorithm", "hisp", "--masked", "20"],
  "edge-pruning": [...induction, "--algorithm", "edge-pruning", "--sparsity", "0.9", "--steps", "30"],
  "task-file": ["run", "--model", "stories260K.bin", "--task", "stories-task.json", "--threshold", "0.05"],
};
const MORE_INPUTS = {
  "sp": MODELS.induction.inputs, "hisp": MODELS.induction.inputs, "edge-pruning": MODELS.induction.inputs,
  // The task file and its tokenizer sit at their recorded paths for the CLI; the bundle re-runs from the recorded tokens.
  "task-file": { weights: "stories260K.bin" },
};
const moreWritten = {};

// A static file server for the model URLs and for Chromium (optionally cross-origin isolated).
const MIME = { ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json", ".html": "text/html" };
const files = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const isolation = url.searchParams.get("isolated") === "1" || req.headers.referer?.includes("isolated=1")
    ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
  if (url.pathname === "/page.html") { res.writeHead(200, { "content-type": "text/html", ...isolation }); res.end("<!doctype html><title>verify</title>"); return; }
  const [base, rel] = url.pathname.startsWith("/dist/") ? [join(root, "dist"), url.pathname.slice(6)] : [dir, url.pathname.slice(1)];
  const file = resolve(base, decodeURIComponent(rel));
  const s = file.startsWith(resolve(base) + sep) ? await stat(file).catch(() => null) : null;
  if (!s?.isFile()) { res.writeHead(404).end(); return; }
  res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "content-length": s.size, ...isolation });
  res.end(await readFile(file));
});
await new Promise((r) => files.listen(0, "127.0.0.1", r));
t.teardown(() => new Promise((r) => { files.closeAllConnections?.(); files.close(r); }));
const base = `http://127.0.0.1:${files.address().port}`;

// ---- 1. the CLI's references ----
const stripTiming = (c) => { const { search_ms, ...rest } = c; return rest; };
const circuitText = (c) => JSON.stringify(c, null, 1) + "\n";
const cli = {};
await t.test("the CLI's circuits and manifests", async (t) => {
  const a = await acdc(["run", "--model", "induction-2l.safetensors", "--data", "induction.data.json", "--threshold", "0.01", "--out", "node-cli-induction.json", "--quiet"]);
  t.equal(a.code, 0, a.stderr);
  const b = await acdc(["run", "--model", "stories260K.bin", "--data", "stories.data.json", "--metric", "logit-diff", "--threshold", "0.05", "--out", "node-cli-stories260K.json", "--quiet"]);
  t.equal(b.code, 0, b.stderr);
  const s = await acdc(["sweep", "--task", "tracr-reverse", "--thresholds=-3:-3:1", "--out-dir", ".", "--quiet"]);
  t.equal(s.code, 0, s.stderr);
  const sm = readJson("tracr-reverse-sweep.manifest.json");
  t.equal(sm.values[0], 0.001);
  put("node-cli-tracr-reverse.json", circuitText(sm.runs[0].circuit));
  put("node-cli-tracr-reverse.manifest.json", JSON.stringify(sm.runs[0].manifest, null, 1));
  for (const m of Object.keys(MODELS)) cli[m] = { text: readFileSync(join(dir, `node-cli-${m}.json`), "utf8"), manifest: readJson(`node-cli-${m}.manifest.json`) };
  t.ok(cli.stories260K.manifest.trace.length > 100, `stories260K: ${cli.stories260K.manifest.trace.length} decisions`);
  put("stories-task.json", { tokenizer: "tok512.bin", clean: ["Once upon a time there was a cat. The cat was happy. The cat"], corrupted: ["Once upon a time there was a dog. The dog was happy. The dog"] });
  for (const [name, args] of Object.entries(MORE)) {
    const r = await acdc([...args, "--out", `node-cli-${name}.json`, "--quiet"]);
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    if (r.code === 0) moreWritten[name] = readJson(`node-cli-${name}.manifest.json`);
  }
  t.same(Object.values(moreWritten).map((m) => m.results.decisions), ["mask-logit", "importance", "mask-logit", "metric-when-removed"]);
  t.equal(moreWritten["task-file"]?.data.source, "task-file");
});

// ---- 2. the handler in four runtimes ----
const kb = (pid, key) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? NaN);
/** A child of `pid` whose command name starts with `name` (miniflare starts workerd as its child). */
function childNamed(pid, name) {
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const st = readFileSync(`/proc/${p}/stat`, "utf8");
      const comm = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid && comm.startsWith(name)) return Number(p);
    } catch {}
  }
  return null;
}

const HOSTS = {
  node: () => [process.execPath, [bin, "serve", "--port", "0"], (l) => Number(l.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1])],
  deno: () => [denoExe, ["run", "--allow-read", "--allow-net", "--no-remote", "--no-npm", "--no-config", "--no-lock", "test/acceptance/runtimes/deno-serve.mjs", "--bundle=dist/acdc-wasm-serve.mjs"], (l) => JSON.parse(l).port],
  workerd: () => [process.execPath, ["test/acceptance/runtimes/workerd-serve.mjs"], (l) => JSON.parse(l).port],
  edge: () => [process.execPath, ["test/acceptance/runtimes/edge-serve.mjs"], (l) => JSON.parse(l).port],
};

async function startHost(kind) {
  const [cmd, args, parse] = HOSTS[kind]();
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const port = await new Promise((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`${kind} did not start in 60 s: ${err}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.trim() && (l.startsWith("{") || l.includes("listening")));
      if (line) { clearTimeout(timer); res(parse(line)); }
    });
    child.once("exit", (code) => { clearTimeout(timer); rej(new Error(`${kind} exited (${code}): ${err}`)); });
  });
  // workerd is miniflare's child; memory is the process that runs the handler.
  let pid = child.pid;
  if (kind === "workerd") for (let i = 0; i < 50 && !(pid = childNamed(child.pid, "workerd")); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    port, pid, stderr: () => err,
    stop: () => new Promise((res) => { child.once("exit", res); child.kill("SIGTERM"); setTimeout(() => child.kill("SIGKILL"), 10_000).unref(); }),
  };
}

async function post(port, body) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
  return { status: res.status, type: res.headers.get("content-type"), lines };
}

const written = {}; // writer → model → manifest
const memory = {}; // runtime → model → {idleMiB, peakMiB, wasmMiB}
for (const kind of Object.keys(HOSTS)) {
  await t.test(`the handler in ${kind}`, { timeout: 300_000 }, async (t) => {
    written[kind] = {};
    memory[kind] = {};
    for (const [name, spec] of Object.entries(MODELS)) {
      // A fresh server per model, so each peak is that model's alone.
      const host = await startHost(kind);
      try {
        const idle = kb(host.pid, "VmRSS");
        const r = await post(host.port, spec.request(base));
        const peak = kb(host.pid, "VmHWM");
        t.equal(r.status, 200, `${name}: 200 ${r.lines.at(-1)?.message ?? ""}`);
        t.match(r.type, /^application\/x-ndjson/);
        const result = r.lines.at(-1);
        t.equal(result.type, "result", `${name}: ends with a result line`);
        t.ok(r.lines.slice(0, -1).every((l) => l.type === "progress"), `${name}: ${r.lines.length - 1} progress lines before it`);
        if (result.type !== "result") continue;
        const wasm = r.lines.find((l) => l.phase === "done")?.wasm_bytes;
        // Byte-identical to the CLI's file, its search_ms aside.
        const cliJson = JSON.parse(cli[name].text);
        t.equal(circuitText({ ...result.circuit, search_ms: cliJson.search_ms }), cli[name].text, `${name}: circuit byte-identical to the CLI's (${result.circuit.num_kept} edges)`);
        const hm = result.manifest, cm = cli[name].manifest;
        t.same([hm.results, hm.model.params_sha256, hm.data.sha256, hm.model.weights?.sha256, hm.model.config?.sha256, hm.kernels],
          [cm.results, cm.model.params_sha256, cm.data.sha256, cm.model.weights?.sha256, cm.model.config?.sha256, cm.kernels], `${name}: the same digests as the CLI's manifest`);
        t.same(stripTiming(result.circuit), stripTiming(cliJson));
        t.equal(hm.runtime.name, kind === "edge" ? "edge-runtime" : kind, `${name}: the manifest names the runtime (${hm.runtime.name} ${hm.runtime.version})`);
        written[kind][name] = hm;
        put(`${kind}-${name}.manifest.json`, JSON.stringify(hm));
        memory[kind][name] = { idleMiB: idle / 1024, peakMiB: peak / 1024, wasmMiB: wasm / 2 ** 20 };
      } finally {
        await host.stop();
      }
    }
    t.comment(`${kind} memory (MiB): ` + Object.entries(memory[kind]).map(([m, v]) => `${m}: RSS idle ${v.idleMiB.toFixed(0)}, peak ${v.peakMiB.toFixed(0)} (+${(v.peakMiB - v.idleMiB).toFixed(0)}), wasm ${v.wasmMiB.toFixed(1)}`).join("; "));
  });
}

// ---- 3. the verification matrix ----
written["node-cli"] = Object.fromEntries(Object.keys(MODELS).map((m) => [m, cli[m]?.manifest]));
const WRITERS = ["node-cli", "node-cli-more", ...Object.keys(HOSTS)];
const jobs = [];
for (const w of WRITERS) for (const m of Object.keys(MODELS)) {
  if (!written[w]?.[m]) continue;
  const inputs = MODELS[m].inputs;
  jobs.push({ id: `${w}/${m}`, writer: w, model: m, manifest: w === "node-cli" ? `node-cli-${m}.manifest.json` : `${w}-${m}.manifest.json`, ...inputs });
}
for (const m of Object.keys(moreWritten)) jobs.push({ id: `node-cli-more/${m}`, writer: "node-cli-more", model: m, manifest: `node-cli-${m}.manifest.json`, ...MORE_INPUTS[m] });
const matrix = {}; // verifier → writer → [ok count, total]
const record = (verifier, job, ok) => {
  matrix[verifier] ??= {};
  const cell = (matrix[verifier][job.writer] ??= [0, 0]);
  cell[1]++;
  if (ok) cell[0]++;
};

for (const threads of [1, 2]) {
  await t.test(`node (CLI) verifies every manifest, ${threads} thread${threads > 1 ? "s" : ""}`, { timeout: 600_000 }, async (t) => {
    for (const j of jobs) {
      const given = [["--model", j.weights], ["--config", j.config], ["--data", j.data]].filter(([, v]) => v).flat();
      const r = await acdc(["verify", j.manifest, ...given, "--threads", String(threads), "--quiet"]);
      t.equal(r.code, 0, `${j.id}: ${r.stdout.trim()}${r.stderr.trim()}`);
      record(`node t${threads}`, j, r.code === 0);
    }
  });
}

for (const threads of [1, 2]) {
  await t.test(`deno verifies every manifest through the bundle, ${threads} thread${threads > 1 ? "s" : ""}`, { timeout: 600_000 }, async (t) => {
    put("jobs.json", jobs.map((j) => ({ ...j, manifest: join(dir, j.manifest), weights: j.weights && join(dir, j.weights), config: j.config && join(dir, j.config), data: j.data && join(dir, j.data) })));
    const r = await run(denoExe, ["run", "--allow-read", "--no-remote", "--no-npm", "--no-config", "--no-lock", join(root, "test/acceptance/runtimes/deno-verify.mjs"),
      `--bundle=${join(root, "dist/acdc-wasm.mjs")}`, `--jobs=${join(dir, "jobs.json")}`, `--threads=${threads}`], { env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } });
    t.equal(r.code, 0, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop() ?? "null");
    t.equal(out?.reports.length, jobs.length, `deno ${out?.deno}: one report per manifest`);
    for (const rep of out?.reports ?? []) {
      t.ok(rep.ok, `${rep.id}: ${rep.ok ? "ok" : rep.differences.map((d) => d.message).join("; ")}`);
      t.equal(rep.threads, threads, `${rep.id}: re-ran on ${threads} thread(s) in ${rep.runtime.name}`);
      record(`deno t${threads}`, jobs.find((j) => j.id === rep.id), rep.ok);
    }
  });
}

await t.test("chromium verifies every manifest through the bundle, 1 thread and 2 (isolated page)", { timeout: 600_000 }, async (t) => {
  if (!chromiumOrSkip(t, "the Chromium verification")) return;
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: process.env.ACDC_CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS, timeout: 60_000 });
  try {
    t.comment(`chromium ${browser.version()}`);
    for (const [threads, query] of [[1, ""], [2, "?isolated=1"]]) {
      const page = await browser.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${base}/page.html${query}`);
      const reports = await page.evaluate(async ({ jobs, threads }) => {
        const api = await import("/dist/acdc-wasm.mjs");
        const get = async (p) => (p ? new Uint8Array(await (await fetch(`/${p}`)).arrayBuffer()) : undefined);
        const out = [];
        for (const j of jobs) {
          const m = api.parseManifest(await (await fetch(`/${j.manifest}`)).text());
          const r = await api.verifyRun(m, { weights: await get(j.weights), config: await get(j.config), data: await get(j.data), threads });
          out.push({ id: j.id, ok: r.ok, differences: r.differences, threads: r.threads, runtime: r.runtime });
        }
        return out;
      }, { jobs, threads }).catch((e) => { throw new Error(`${e.message}\n${errors.join("\n")}`); });
      for (const rep of reports) {
        t.ok(rep.ok, `chromium t${threads} ${rep.id}: ${rep.ok ? "ok" : rep.differences.map((d) => d.message).join("; ")}`);
        t.equal(rep.threads, threads, `chromium ${rep.id}: ${threads} thread(s)`);
        record(`chromium t${threads}`, jobs.find((j) => j.id === rep.id), rep.ok);
      }
      await page.close();
    }
  } finally {
    await browser.close().catch(() => {});
  }
});

await t.test("the matrix, and the memory figures", async (t) => {
  const verifiers = Object.keys(matrix);
  const rows = WRITERS.map((w) => `| ${w} | ${verifiers.map((v) => (matrix[v][w] ? `${matrix[v][w][0]}/${matrix[v][w][1]}` : "—")).join(" | ")} |`);
  t.comment(["verification matrix (writer ↓ × verifier →, manifests verified of tracr-reverse, induction, stories260K; node-cli-more: sp, hisp, edge-pruning on induction and a stories260K task file):",
    `| writer | ${verifiers.join(" | ")} |`, `|---|${verifiers.map(() => "---").join("|")}|`, ...rows].join("\n"));
  const mem = [];
  for (const [rt, ms] of Object.entries(memory)) for (const [m, v] of Object.entries(ms)) mem.push(`| ${rt} | ${m} | ${v.idleMiB.toFixed(0)} | ${v.peakMiB.toFixed(0)} | ${(v.peakMiB - v.idleMiB).toFixed(0)} | ${v.wasmMiB.toFixed(1)} |`);
  t.comment(["memory (MiB): runtime | model | RSS idle | RSS peak | peak − idle | wasm memory", ...mem].join("\n"));
  for (const v of verifiers) for (const w of WRITERS) if (matrix[v][w]) t.equal(matrix[v][w][0], matrix[v][w][1], `${w} → ${v}: all verified`);
  t.ok(verifiers.length >= 4, `${verifiers.length} verifiers ran`);
});
