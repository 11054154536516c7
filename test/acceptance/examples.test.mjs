// The examples in examples/ run and print a circuit (Node from dist/, Deno from the bundle).
import t from "tap";
import { chromiumOrSkip, CHROMIUM_ARGS } from "../helpers/components.mjs";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { createRequire } from "node:module";
import { root } from "../helpers/fixtures.mjs";

const run = (cmd, args) => new Promise((resolve) => execFile(cmd, args, { cwd: root, timeout: 120_000 },
  (err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr })));

t.test("node example", async (t) => {
  const r = await run(process.execPath, [join(root, "examples", "node-acdc.mjs")]);
  t.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/^kept (\d+) of 134 edges; KL ([\d.]+)/);
  t.ok(m, "summary line");
  t.equal(r.stdout.split("\n").filter((l) => l.startsWith("  blocks.")).length, Number(m?.[1]), "one line per kept edge");
});

t.test("deno example", async (t) => {
  const denoBin = join(createRequire(import.meta.url).resolve("deno/package.json"), "..", "bin.cjs");
  const r = await run(process.execPath, [denoBin, "run", "--allow-read", "--no-remote", "--no-npm", "--no-config", "--no-lock", join(root, "examples", "deno-acdc.ts")]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^kept \d+ edges; KL [\d.]+/);
});

t.test("browser example: the circuit viewer runs ACDC in Chromium", { timeout: 120_000 }, async (t) => {
  const { spawn } = await import("node:child_process");
  const chromiumPath = chromiumOrSkip(t, "the browser example");
  if (!chromiumPath) return;
  const server = spawn(process.execPath, [join(root, "examples", "browser", "serve.mjs")], { env: { ...process.env, PORT: "0" } });
  t.teardown(() => server.kill());
  const url = await new Promise((resolve, reject) => {
    server.stdout.on("data", (d) => { const m = String(d).match(/http:\/\/\S+/); if (m) resolve(m[0]); });
    server.on("exit", (c) => reject(new Error(`server exited ${c}`)));
  });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.done, null, { timeout: 60_000 });
  const done = JSON.parse(await page.evaluate(() => document.body.dataset.done));
  t.same(errors, [], "no page errors");
  t.same(done, { kept: 15, hits: 15, edgeAuc: 1, threshold: 0.001 }, "tracr-reverse: 15 of 15 ground-truth edges, AUC 1");
  t.equal(await page.locator("#svg svg path[marker-end]").count(), 15, "15 edges drawn");
  // A threshold that is not a number runs nothing (an empty box is not τ = 0) and takes the old circuit off the screen.
  for (const bad of ["", "   ", "abc", "0x10", "-1", "Infinity", "1e-3x"]) {
    await page.fill("#threshold", bad);
    await page.click("#run");
    await page.waitForFunction(() => document.body.dataset.error, null, { timeout: 10_000 });
    const shown = await page.evaluate(() => ({ error: document.body.dataset.error, done: document.body.dataset.done ?? null, svg: document.getElementById("svg").innerHTML, edges: document.getElementById("edges").textContent, status: document.getElementById("status").textContent }));
    t.ok(/threshold must be a non-negative decimal number/.test(shown.error) && shown.status === shown.error, `threshold ${JSON.stringify(bad)}: says why (${shown.status})`);
    t.same([shown.done, shown.svg, shown.edges], [null, "", ""], `threshold ${JSON.stringify(bad)}: no circuit left on screen`);
  }
  await page.fill("#threshold", "0.001");
  await page.selectOption("#task", "tracr-proportion");
  await page.click("#run");
  await page.waitForFunction(() => document.body.dataset.done, null, { timeout: 60_000 });
  t.same(JSON.parse(await page.evaluate(() => document.body.dataset.done)), { kept: 10, hits: 10, edgeAuc: 1, threshold: 0.001 }, "tracr-proportion: 10 of 10");
  t.equal(await page.evaluate(() => document.body.dataset.error ?? null), null, "the error is gone after a good run");
});
