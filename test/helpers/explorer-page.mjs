// The explorer's test harness, shared by test/explorer/*: the CLI as a child
// process, the explorer served by `acdc explore` and driven in Chromium,
// and the page helpers (wait for a control's text, download an export,
// drop files on the page).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHROMIUM_ARGS } from "./components.mjs";
import { root } from "./fixtures.mjs";
import { startExploreServer } from "../../dist/node/commands/explore.js";

/** Run bin/acdc.js with `args` (in `cwd`, default the package root); never rejects. */
export function cli(args, { cwd = root } = {}) {
  return new Promise((resolve) => execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd, timeout: 300_000 },
    (err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr })));
}

/** A circuit file's text without its timing field. */
export const noTiming = (s) => s.replace(/\n "search_ms": \d+,\n/, "\n");

/** The explorer served on a free port and a Chromium to drive it; both closed at `t`'s teardown. */
export async function startExplorer(t, chromiumPath) {
  const server = await startExploreServer({ port: 0 });
  t.teardown(() => server.close());
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());

  /** A fresh page on the explorer; page errors are collected in page.errors. */
  async function open(hash = "") {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true, serviceWorkers: "block" });
    const page = await context.newPage();
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    await page.goto(server.url + hash);
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    return page;
  }
  const text = (page, id) => page.textContent(`[data-testid=${id}]`);
  /** Wait until `id`'s text matches `re`; a shown error ends the wait with that error. */
  async function until(page, id, re, timeout = 120_000) {
    await page.waitForFunction(([id, src]) => new RegExp(src).test(document.querySelector(`[data-testid=${id}]`).textContent) || !document.querySelector("[data-testid=error]").hidden,
      [id, re.source], { timeout });
    const err = await page.$eval("[data-testid=error]", (e) => (e.hidden ? "" : e.textContent));
    if (err) throw new Error(`the page shows ${err}`);
    return text(page, id);
  }
  /** Click the export button `id`; the file it downloads (suggested name, bytes). */
  async function download(page, id) {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(`[data-testid=${id}]`)]);
    return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
  }
  /** Drop the files at `paths` on the page, as a user drags them onto it. */
  async function drop(page, paths) {
    const files = paths.map((p) => ({ name: p.split("/").pop(), b64: readFileSync(p).toString("base64") }));
    const dt = await page.evaluateHandle((files) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
      return dt;
    }, files);
    await page.dispatchEvent("main", "drop", { dataTransfer: dt });
  }
  return { server, browser, open, text, until, download, drop };
}
