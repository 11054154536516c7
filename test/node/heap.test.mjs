// The acdc command keeps V8's young generation at its starting size (a run's
// data lives in wasm memory; a grown young generation is 15–20 MiB resident
// holding nothing). Two child processes keep the same 2 million small objects
// alive: with V8's defaults the young generation grows to its maximum, after
// keepYoungGenerationSmall() it stays where it started, also once a worker
// thread has started (which resets V8's flags). And bin/acdc.js makes
// the call before it runs a command.
import t from "tap";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const HEAP = fileURLToPath(new URL("../../dist/node/heap.js", import.meta.url));
const INDEX = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
// mode: "default", "small", or "small-threads" (keepYoungGenerationSmall, then a 2-thread engine: its worker starts after the call).
const CHILD = `
import v8 from "node:v8";
import { keepYoungGenerationSmall } from ${JSON.stringify(HEAP)};
import { createEngine } from ${JSON.stringify(INDEX)};
const mode = process.argv[1];
if (mode.startsWith("small")) keepYoungGenerationSmall();
const engine = mode.endsWith("threads") ? await createEngine({ threads: 2 }) : null;
if (engine && engine.threads !== 2) throw new Error("no worker thread started");
const keep = [];
for (let i = 0; i < 400; i++) keep.push(Array.from({ length: 5000 }, (_, j) => ({ i, j })));
const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
console.log(JSON.stringify({ size: ns.space_size, kept: keep.length }));
engine?.dispose();
`;

function youngGeneration(mode) {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD, mode], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim());
}

t.test("keepYoungGenerationSmall holds the young generation at its starting size", async (t) => {
  const MiB = 2 ** 20, plain = youngGeneration("default"), small = youngGeneration("small");
  t.equal(small.kept, 400, "the objects are alive at the end");
  t.ok(plain.size >= 8 * MiB, `V8's default grows it (${(plain.size / MiB).toFixed(1)} MiB)`);
  // How far V8 grows it depends on timing: on an idle machine the default reaches 32 MiB and the kept one
  // 4 MiB; a loaded CI run has given 16 and 8. Without the setting it grows past 8 MiB as the default does.
  t.ok(small.size <= 8 * MiB && small.size * 2 <= plain.size, `kept small it stays at ${(small.size / MiB).toFixed(1)} MiB`);
  // Node 20 resets V8's flags when a worker thread starts; the setting is made again then.
  const threads = youngGeneration("small-threads");
  t.ok(threads.size <= 8 * MiB && threads.size * 2 <= plain.size, `and with a 2-thread engine's worker started after it, ${(threads.size / MiB).toFixed(1)} MiB`);
});

t.test("the acdc command calls it before running a command", async (t) => {
  const bin = readFileSync(new URL("../../bin/acdc.js", import.meta.url), "utf8");
  const call = bin.indexOf("keepYoungGenerationSmall();"), run = bin.indexOf("await main(");
  t.ok(call > 0 && call < run, "bin/acdc.js: keepYoungGenerationSmall() comes before main()");
});
