// The README's pictures of the explorer, taken in headless Chromium from the
// built page (npm run build first): tracr-reverse with its ground truth
// overlaid, and stories260K (../shared/models/stories260K) after a run on
// its name-repetition task, a node selected and an edge hovered.
//
//   node scripts/explorer-screenshots.mjs [out-dir]     (default docs/)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startExploreServer } from "../dist/node/commands/explore.js";
import { CHROMIUM_ARGS } from "../test/helpers/components.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = process.argv[2] ?? join(root, "docs");
mkdirSync(out, { recursive: true });
const server = await startExploreServer({ port: 0 });
const { chromium } = await import("playwright-core");
const browser = await chromium.launch({ executablePath: process.env.ACDC_CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });

async function shoot(hash, file, after = async () => {}) {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, serviceWorkers: "block" })).newPage();
  page.on("pageerror", (e) => { throw e; });
  await page.goto(server.url + hash);
  await page.waitForFunction(() => /^kept \d+ of/.test(document.querySelector("[data-testid=status]").textContent) || !document.querySelector("[data-testid=error]").hidden, null, { timeout: 300_000 });
  const err = await page.$eval("[data-testid=error]", (e) => (e.hidden ? "" : e.textContent));
  if (err) throw new Error(err);
  await after(page);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, file) });
  console.log(`${file}: ${await page.textContent("[data-testid=status]")} · ${await page.textContent("[data-testid=compare-info]")}`);
  await page.context().close();
}

/** Screen position of the drawn node whose label is `label`. */
const nodeAt = (page, label) => page.evaluate((label) => {
  const v = window.explorer.views[0], c = window.explorer.camera, r = v.canvas.getBoundingClientRect();
  const n = v.scene.nodes.find((x) => x.d.label === label || x.d.members.length === 1 && x.d.key === label);
  return n && { x: r.left + n.x * c.s + c.tx, y: r.top + n.y * c.s + c.ty };
}, label);

/** Move the pointer onto the middle of the drawn edge whose first member is graph edge `pick(graph)`, or the middle one. */
const hoverEdge = async (page, parent) => {
  const q = await page.evaluate((parent) => {
    const v = window.explorer.views[0], c = window.explorer.camera, r = v.canvas.getBoundingClientRect();
    const g = window.explorer.state.circuits.at(-1).graph;
    const e = v.scene.edges.find((x) => g.nodes[g.edges[x.members[0]].parent].label === parent) ?? v.scene.edges[Math.floor(v.scene.edges.length / 2)];
    const x = (e.x1 + e.x2) / 2 + 0.75 * e.bend, y = (e.y1 + e.y2) / 2;
    return { x: r.left + x * c.s + c.tx, y: r.top + y * c.s + c.ty };
  }, parent);
  await page.mouse.move(q.x, q.y);
};

await shoot("#model=tracr-reverse&threshold=0.001&run&compare=truth", "explorer-tracr-reverse.png", (page) => hoverEdge(page, "hook_pos_embed"));
await shoot("#model=stories260K&threshold=0.01&metric=kl&group=heads&run", "explorer-stories260K.png", async (page) => {
  const p = await nodeAt(page, "head 4.4") ?? await nodeAt(page, "blocks.4.hook_resid_post");
  if (p) await page.mouse.click(p.x, p.y);
  await hoverEdge(page, "blocks.3.hook_mlp_out");
});
await browser.close();
await server.close();
