// Cross-runtime check: the bundled dist/acdc-wasm.mjs must produce the fixture
// reference logits (to 1e-4) in Node, Deno and headless Chromium, and the three
// runtimes must agree bit for bit (same wasm kernels, same IEEE arithmetic).
// Each runtime also runs the probe on a 2-thread engine (shared memory, worker
// pool): the same bits again. Chromium gets threads only in a cross-origin
// isolated page (COOP/COEP headers); without them it falls back to one thread
// with a warning.
import t from "tap";
import { chromiumOrSkip } from "../helpers/components.mjs";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runProbe, hexToFloats } from "./runtimes/probe.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixturesDir = join(repoRoot, "..", "shared", "fixtures");
const bundlePath = join(repoRoot, "dist", "acdc-wasm.mjs");
const probePath = join(repoRoot, "test", "acceptance", "runtimes", "probe.mjs");
const denoScript = join(repoRoot, "test", "acceptance", "runtimes", "deno-run.mjs");
const CHROMIUM = process.env.ACDC_CHROMIUM || "/usr/bin/chromium";
const TOL = 1e-4;
const CANDIDATES = ["tiny-ln-mlp", "tiny-attn-only", "tiny-ln-mlp-hf"];
const REQUIRED = ["tiny-ln-mlp", "tiny-attn-only"];

const MIME = {
  ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json",
  ".wasm": "application/wasm", ".html": "text/html", ".map": "application/json",
};

const fx = (name, ext) => join(fixturesDir, `${name}.${ext}`);
const hasFixture = (name) => ["safetensors", "config.json", "logits.json"].every((e) => existsSync(fx(name, e)));

if (!existsSync(bundlePath)) {
  t.fail(`bundle missing: ${bundlePath} (run \`node scripts/build.mjs\` first)`);
  t.end();
} else if (!REQUIRED.every(hasFixture)) {
  t.fail(`fixtures missing under ${fixturesDir} (expected ${REQUIRED.join(", ")})`);
  t.end();
} else {
  await main();
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  const names = CANDIDATES.filter(hasFixture);
  const refs = new Map(names.map((n) => [n, JSON.parse(readFileSync(fx(n, "logits.json"), "utf8"))]));
  /** @type {Map<string, Map<string, {shape:number[], hash:string, logitsHex:string}>>} */
  const byRuntime = new Map();

  function checkAgainstReference(tt, runtime, results) {
    const got = new Map(results.map((r) => [r.name, r]));
    for (const name of names) {
      const r = got.get(name);
      if (!r) {
        tt.fail(`${runtime}: no result for ${name}`);
        continue;
      }
      const ref = refs.get(name);
      const B = ref.logits.length, T = ref.logits[0].length, V = ref.logits[0][0].length;
      tt.same(r.shape, [B, T, V], `${runtime} ${name}: shape [${B},${T},${V}]`);
      const flat = ref.logits.flat(2);
      const logits = hexToFloats(r.logitsHex);
      if (logits.length !== flat.length) {
        tt.fail(`${runtime} ${name}: ${logits.length} logits, expected ${flat.length}`);
        continue;
      }
      let maxDiff = 0, at = -1;
      for (let i = 0; i < flat.length; i++) {
        const d = Math.abs(logits[i] - flat[i]);
        if (!(d <= maxDiff)) { maxDiff = d; at = i; } // NaN-safe: NaN always replaces
      }
      tt.ok(maxDiff <= TOL, `${runtime} ${name}: logits match reference to ${TOL} (max |diff| ${maxDiff.toExponential(2)})`,
        maxDiff <= TOL ? {} : { index: at, got: logits[at], want: flat[at] });
    }
    byRuntime.set(runtime, got);
  }

  await t.test("node", { timeout: 120_000 }, async (tt) => {
    const api = await import(pathToFileURL(bundlePath).href);
    const inputs = await Promise.all(names.map(async (name) => ({
      name,
      safetensors: new Uint8Array(await readFile(fx(name, "safetensors"))),
      config: JSON.parse(await readFile(fx(name, "config.json"), "utf8")),
      tokens: refs.get(name).tokens,
      data: existsSync(fx(name, "data.json")) ? JSON.parse(await readFile(fx(name, "data.json"), "utf8")) : undefined,
    })));
    checkAgainstReference(tt, "node", await runProbe(api, inputs));
    const threaded = await runProbe(api, inputs, { threads: 2 });
    tt.same(threaded.map((r) => r.threads), threaded.map(() => 2), "node: the threaded engine got 2 threads");
    checkAgainstReference(tt, "node threads", threaded);
  });

  async function runDeno(extra) {
    const { cmd, pre } = denoCommand();
    const denoDir = mkdtempSync(join(tmpdir(), "acdc-deno-"));
    try {
      const args = [...pre, "run", "--allow-read", "--no-remote", "--no-npm", "--no-config", "--no-lock",
        denoScript, `--bundle=${bundlePath}`, `--fixtures=${fixturesDir}`, ...extra, ...names];
      const stdout = await new Promise((res, rej) => {
        execFile(cmd, args, {
          cwd: repoRoot,
          timeout: 150_000,
          maxBuffer: 64 << 20,
          env: { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", NO_COLOR: "1" },
        }, (err, out, errOut) => {
          if (err) rej(new Error(`deno failed (${err.code ?? err.signal}): ${err.message}\n${errOut}`));
          else res(out);
        });
      });
      const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
      return { stdout, parsed: JSON.parse(line ?? "null") };
    } finally {
      rmSync(denoDir, { recursive: true, force: true });
    }
  }

  await t.test("deno", { timeout: 180_000 }, async (tt) => {
    const { stdout, parsed } = await runDeno([]);
    tt.ok(parsed && Array.isArray(parsed.results), "deno printed probe JSON", { stdout: stdout.slice(0, 500) });
    if (parsed) tt.comment(`deno ${parsed.version?.deno} (v8 ${parsed.version?.v8})`);
    checkAgainstReference(tt, "deno", parsed?.results ?? []);
  });

  await t.test("deno threads", { timeout: 180_000 }, async (tt) => {
    // Ends by itself: the workers are node:worker_threads, unref'd (see src/wasm/pool.ts).
    const { stdout, parsed } = await runDeno(["--threads=2"]);
    tt.ok(parsed && Array.isArray(parsed.results), "deno printed probe JSON", { stdout: stdout.slice(0, 500) });
    tt.same((parsed?.results ?? []).map((r) => r.threads), names.map(() => 2), "deno: the threaded engine got 2 threads");
    checkAgainstReference(tt, "deno threads", parsed?.results ?? []);
  });

  await t.test("chromium", { timeout: 240_000 }, async (tt) => {
    if (!chromiumOrSkip(tt, "the Chromium runtime check")) return;
    const { chromium } = await import("playwright-core");
    const server = await startServer();
    let browser;
    try {
      const { port } = server.address();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        timeout: 60_000,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
      });
      tt.comment(`chromium ${browser.version()}`);
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      const pageErrors = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
      await page.goto(`http://127.0.0.1:${port}/__probe.html`, { timeout: 60_000 });
      const out = await withTimeout(page.evaluate(async (names) => {
        const api = await import("/dist/acdc-wasm.mjs");
        const { runProbe } = await import("/test/acceptance/runtimes/probe.mjs");
        const get = async (path) => {
          const r = await fetch(path);
          if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
          return r;
        };
        const inputs = [];
        for (const name of names) {
          inputs.push({
            name,
            safetensors: new Uint8Array(await (await get(`/__fixtures/${name}.safetensors`)).arrayBuffer()),
            config: await (await get(`/__fixtures/${name}.config.json`)).json(),
            tokens: (await (await get(`/__fixtures/${name}.logits.json`)).json()).tokens,
            data: await fetch(`/__fixtures/${name}.data.json`).then((r) => (r.ok ? r.json() : undefined)),
          });
        }
        return { runtime: "chromium", version: navigator.userAgent, results: await runProbe(api, inputs) };
      }, names), 120_000, "page.evaluate(runProbe)").catch((e) => {
        throw new Error(`${e.message}${pageErrors.length ? `\npage errors:\n${pageErrors.join("\n")}` : ""}`);
      });
      checkAgainstReference(tt, "chromium", out.results);

      // Not cross-origin isolated: threads fall back to one, with one warning.
      const warnings = [];
      page.on("console", (m) => { if (m.type() === "warning") warnings.push(m.text()); });
      const fallback = await withTimeout(page.evaluate(async () => {
        const api = await import("/dist/acdc-wasm.mjs");
        const e = await api.createEngine({ threads: 2 });
        return { threads: e.threads, build: e.build, isolated: globalThis.crossOriginIsolated };
      }), 60_000, "page.evaluate(fallback)");
      tt.same(fallback, { threads: 1, build: "simd", isolated: false }, "page without COOP/COEP: one thread, the default build");
      tt.ok(warnings.some((w) => /threads unavailable.*cross-origin isolated/.test(w)), "and a warning saying why", { warnings });

      // Cross-origin isolated (COOP: same-origin, COEP: require-corp): threads.
      const isolated = await browser.newPage();
      isolated.setDefaultTimeout(60_000);
      isolated.on("pageerror", (e) => pageErrors.push(String(e)));
      isolated.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
      await isolated.goto(`http://127.0.0.1:${port}/__probe.html?isolated=1`, { timeout: 60_000 });
      const threaded = await withTimeout(isolated.evaluate(async (names) => {
        const api = await import("/dist/acdc-wasm.mjs");
        const { runProbe } = await import("/test/acceptance/runtimes/probe.mjs");
        const inputs = [];
        for (const name of names) {
          const get = (path) => fetch(path).then((r) => { if (!r.ok) throw new Error(`GET ${path}: ${r.status}`); return r; });
          inputs.push({
            name,
            safetensors: new Uint8Array(await (await get(`/__fixtures/${name}.safetensors`)).arrayBuffer()),
            config: await (await get(`/__fixtures/${name}.config.json`)).json(),
            tokens: (await (await get(`/__fixtures/${name}.logits.json`)).json()).tokens,
            data: await fetch(`/__fixtures/${name}.data.json`).then((r) => (r.ok ? r.json() : undefined)),
          });
        }
        return { isolated: globalThis.crossOriginIsolated, results: await runProbe(api, inputs, { threads: 2 }) };
      }, names), 120_000, "page.evaluate(runProbe, threads)").catch((e) => {
        throw new Error(`${e.message}${pageErrors.length ? `\npage errors:\n${pageErrors.join("\n")}` : ""}`);
      });
      tt.ok(threaded.isolated, "page with COOP/COEP is cross-origin isolated");
      tt.same(threaded.results.map((r) => r.threads), names.map(() => 2), "chromium (isolated page): the threaded engine got 2 threads");
      checkAgainstReference(tt, "chromium threads", threaded.results);
    } finally {
      if (browser) await withTimeout(browser.close(), 30_000, "browser.close()").catch(() => {});
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
    }
  });

  await t.test("bit-identical across runtimes", async (tt) => {
    const node = byRuntime.get("node");
    const others = ["deno", "chromium", "node threads", "deno threads", "chromium threads"].filter((r) => byRuntime.has(r));
    if (!node) {
      tt.fail("no Node results to compare against");
      return;
    }
    if (others.length === 0) {
      tt.fail("no other runtime produced results to compare with Node");
      return;
    }
    for (const rt of others) {
      const got = byRuntime.get(rt);
      for (const name of names) {
        const a = node.get(name), b = got.get(name);
        if (!a || !b) {
          tt.fail(`node vs ${rt} ${name}: missing result`);
          continue;
        }
        if (a.acdc || b.acdc) {
          tt.ok(a.acdc && b.acdc && a.acdc.tested > 0, `node vs ${rt} ${name}: both ran ACDC`);
          tt.same(b.acdc?.edges, a.acdc?.edges, `node vs ${rt} ${name}: same circuit (${a.acdc?.kept} edges)`);
          tt.equal(b.acdc?.traceHex, a.acdc?.traceHex, `node vs ${rt} ${name}: all ${a.acdc?.tested} tested metrics bit-identical (fnv ${a.acdc?.hash})`);
          for (const key of Object.keys(a.methods ?? {})) {
            tt.same(b.methods?.[key], a.methods[key], `node vs ${rt} ${name}: ${key} circuit (${a.methods[key].kept} edges), scores and metric bit-identical (fnv ${a.methods[key].hash})`);
          }
        }
        if (a.logitsHex === b.logitsHex) {
          tt.pass(`node vs ${rt} ${name}: bit-identical (fnv ${a.hash})`);
          continue;
        }
        const fa = hexToFloats(a.logitsHex), fb = hexToFloats(b.logitsHex);
        let i = 0;
        while (i < Math.min(fa.length, fb.length) && a.logitsHex.substr(i * 8, 8) === b.logitsHex.substr(i * 8, 8)) i++;
        let count = 0;
        for (let j = 0; j < Math.min(fa.length, fb.length); j++) if (a.logitsHex.substr(j * 8, 8) !== b.logitsHex.substr(j * 8, 8)) count++;
        tt.fail(`node vs ${rt} ${name}: logits differ (first at flat index ${i}: node ${fa[i]} [${a.logitsHex.substr(i * 8, 8)}] vs ${rt} ${fb[i]} [${b.logitsHex.substr(i * 8, 8)}]; ${count} of ${fa.length} differ)`,
          { lengths: [fa.length, fb.length], hashes: [a.hash, b.hash] });
      }
    }
  });
}

function denoCommand() {
  const require = createRequire(import.meta.url);
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve("deno/package.json"));
  } catch {
    pkgDir = join(repoRoot, "node_modules", "deno");
  }
  const exe = join(pkgDir, process.platform === "win32" ? "deno.exe" : "deno");
  if (existsSync(exe)) return { cmd: exe, pre: [] };
  // bin.cjs installs/locates the platform binary and forwards argv to it.
  return { cmd: process.execPath, pre: [join(pkgDir, "bin.cjs")] };
}

function startServer() {
  const roots = { repo: resolve(repoRoot), fixtures: resolve(fixturesDir) };
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const p = decodeURIComponent(url.pathname);
      if (process.env.ACDC_DEBUG_SERVER) res.on("finish", () => console.error("GET", p, res.statusCode));
      if (p === "/" || p === "/__probe.html") {
        // ?isolated=1: cross-origin isolated, so SharedArrayBuffer (and threads) exist.
        const isolation = url.searchParams.get("isolated") === "1"
          ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...isolation });
        res.end("<!doctype html><meta charset=utf-8><title>acdc-wasm runtime probe</title>");
        return;
      }
      const [base, rel] = p.startsWith("/__fixtures/") ? [roots.fixtures, p.slice(12)] : [roots.repo, p.slice(1)];
      const file = resolve(base, rel);
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(403).end();
        return;
      }
      const s = await stat(file).catch(() => null);
      if (!s || !s.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        "content-type": MIME[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(await readFile(file));
    } catch (e) {
      if (process.env.ACDC_DEBUG_SERVER) console.error(e);
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  });
  return new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => res(server));
  });
}
