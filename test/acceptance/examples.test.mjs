// The examples in examples/ run and print a circuit (Node from dist/, Deno from
// the bundle). The browser page is the explorer (test/explorer/).
import t from "tap";
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
