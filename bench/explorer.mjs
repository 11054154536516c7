// Edge trials per second in the explorer (Chromium, the engine in a Web
// Worker, with and without threads) next to the CLI in Node, on the two
// fixtures and a random 4-layer, 256-wide model. Not a test: it prints a
// markdown table for the README. Each cell is the median of --reps runs of
// ACDC, each the first in a fresh process (Node) or a fresh page and worker
// (Chromium), so both sides pay the same start-up (wasm compiled from
// scratch, tiered up during the run); edges/s = tested edges / search time as each side prints it when a
// run ends (the CLI's summary line, the page's status line: both divide
// Circuit.stats.tested by Circuit.stats.ms), and every run's circuit JSON
// is checked to have tested the same edges. Needs the build (npm run
// build) and Chromium.
//
//   node bench/explorer.mjs [--reps 5] [--threads 2]
import { execFile } from "node:child_process";
import { readFileSync, mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startExploreServer } from "../dist/node/commands/explore.js";
import { writeRandomModel } from "../test/helpers/random-model.mjs";
import { CHROMIUM_ARGS } from "../test/helpers/components.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const REPS = Number(arg("--reps", 5)), THREADS = Number(arg("--threads", 2));
const chromiumPath = process.env.ACDC_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(chromiumPath)) { console.error(`no Chromium at ${chromiumPath}`); process.exit(2); }

const F = (f) => join(root, "..", "shared", "fixtures", f);
const random = writeRandomModel({ name: "random-4l-256", seed: 3 });
const MODELS = [
  { name: "tiny-attn-only (2L, d 32)", weights: F("tiny-attn-only.safetensors"), config: F("tiny-attn-only.config.json"), data: F("tiny-attn-only.data.json"), threshold: "0.02" },
  { name: "tiny-ln-mlp (2L, d 32, MLP)", weights: F("tiny-ln-mlp.safetensors"), config: F("tiny-ln-mlp.config.json"), data: F("tiny-ln-mlp.data.json"), threshold: "0.020523" },
  { name: "random 4L × 8 heads, d 256, MLP 1024", weights: random.weights, config: random.config, data: random.data, threshold: "0.001" },
];

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
/** The "N edges/s" a run's summary (CLI) or status line (page) ends with. */
const printedRate = (s) => Number(/([\d.]+) edges\/s/.exec(s)?.[1]);

function nodeRun(m, threads, out) {
  return new Promise((resolve, reject) => execFile(process.execPath, [join(root, "bin", "acdc.js"), "run", "--model", m.weights, "--data", m.data,
    "--threshold", m.threshold, "--threads", String(threads), "--out", out, "--quiet"], { timeout: 600_000 },
  (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve({ json: JSON.parse(readFileSync(out, "utf8")), rate: printedRate(stdout) }))));
}

const tmp = mkdtempSync(join(tmpdir(), "acdc-bench-explorer-"));
const server = await startExploreServer({ port: 0 });
const { chromium } = await import("playwright-core");
const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
const version = browser.version();

async function browserRun(m, threads) {
  const context = await browser.newContext({ acceptDownloads: true, serviceWorkers: "block" });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready]");
  if (threads > 1) {
    await page.selectOption("[data-testid=threads]", String(threads));
    await page.waitForFunction((n) => document.querySelector("[data-testid=engine-info]").textContent.startsWith(`engine: ${n} threads`), threads);
  }
  await page.setInputFiles("[data-testid=model-file]", [m.weights, m.config]);
  await page.waitForFunction(() => /graph of/.test(document.querySelector("[data-testid=model-info]").textContent));
  await page.setInputFiles("[data-testid=data-file]", m.data);
  await page.waitForFunction(() => /prompts/.test(document.querySelector("[data-testid=data-info]").textContent));
  await page.fill("[data-testid=threshold]", m.threshold);
  await page.click("[data-testid=run]");
  await page.waitForFunction(() => /^kept \d+ of/.test(document.querySelector("[data-testid=status]").textContent) || !document.querySelector("[data-testid=error]").hidden, null, { timeout: 600_000 });
  const status = await page.textContent("[data-testid=status]");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-json]")]);
  const out = { json: JSON.parse(readFileSync(await dl.path(), "utf8")), rate: printedRate(status) };
  await context.close();
  return out;
}

const rows = [];
for (const m of MODELS) {
  const cells = [];
  let tested = null;
  for (const threads of [1, THREADS]) {
    const js = [];
    for (let i = 0; i < REPS; i++) js.push(await nodeRun(m, threads, join(tmp, `n${threads}-${i}.json`)));
    cells.push(median(js.map((r) => r.rate)));
    tested ??= js[0].json.num_tested;
  }
  for (const threads of [1, THREADS]) {
    const js = [];
    for (let i = 0; i < REPS; i++) js.push(await browserRun(m, threads));
    if (js.some((r) => r.json.num_tested !== tested)) throw new Error(`${m.name}: the browser tested ${js.map((r) => r.json.num_tested)} edges, Node ${tested}`);
    cells.push(median(js.map((r) => r.rate)));
  }
  rows.push([m.name, tested, ...cells]);
  process.stderr.write(`${m.name}: done\n`);
}
await browser.close();
await server.close();

const f = (x) => x.toFixed(0);
const os = await import("node:os");
console.log(`Edges tested per second (median of ${REPS} ACDC runs; Node ${process.version}, Chromium ${version}; ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end):\n`);
console.log(`| model | edges tested | Node, 1 thread | Node, ${THREADS} threads | Chromium, 1 thread | Chromium, ${THREADS} threads |`);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const [name, tested, ...c] of rows) console.log(`| ${name} | ${tested} | ${c.map(f).join(" | ")} |`);
