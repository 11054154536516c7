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

t.test("deno verify example: a manifest written by acdc run verifies in Deno; a changed token does not", async (t) => {
  const { mkdtempSync, rmSync, writeFileSync, readFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "acdc-deno-verify-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fx = (f) => join(root, "..", "shared", "fixtures", f);
  const out = join(dir, "c.json");
  const made = await run(process.execPath, [join(root, "bin", "acdc.js"), "run", "--model", fx("tiny-attn-only.safetensors"), "--data", fx("tiny-attn-only.data.json"), "--threshold", "0.01", "--out", out, "--quiet"]);
  t.equal(made.code, 0, made.stderr);
  const denoBin = join(createRequire(import.meta.url).resolve("deno/package.json"), "..", "bin.cjs");
  const verify = (data) => run(process.execPath, [denoBin, "run", "--allow-read", "--no-remote", "--no-npm", "--no-config", "--no-lock", join(root, "examples", "deno-verify.mjs"),
    join(dir, "c.manifest.json"), `--model=${fx("tiny-attn-only.safetensors")}`, `--config=${fx("tiny-attn-only.config.json")}`, `--data=${data}`]);
  const ok = await verify(fx("tiny-attn-only.data.json"));
  t.equal(ok.code, 0, ok.stdout + ok.stderr);
  t.match(ok.stdout, /^ok: \d+ decisions, \d+ edges, every digest matches \(re-run on deno [\d.]+, 1 thread\(s\); written on node /);
  const d = JSON.parse(readFileSync(fx("tiny-attn-only.data.json"), "utf8"));
  d.clean[0][1] = (d.clean[0][1] + 1) % 20;
  writeFileSync(join(dir, "d.json"), JSON.stringify(d));
  const bad = await verify(join(dir, "d.json"));
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^DIFFERS:\n  data: data differs/);
});
