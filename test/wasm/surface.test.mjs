// The kernel surface has one source, assembly/'s exports: the generated list
// of names matches what the module really exports, and every kernel is either
// split across the worker pool or deliberately kept on the calling thread.
import t from "tap";
import { readFileSync } from "node:fs";
import { createEngine } from "../../dist/wasm/engine.js";
import { KERNEL_NAMES, SGEMM_BLOCKS } from "../../dist/wasm/kernels.js";
import { MAIN_THREAD_KERNELS, POOL_KERNELS } from "../../dist/wasm/parallel.js";

t.test("the generated names are the module's exports", async (t) => {
  const e = await createEngine();
  const exported = Object.keys(e.k).filter((k) => typeof e.k[k] === "function").sort();
  t.same([...KERNEL_NAMES].sort(), exported, `${exported.length} kernels`);
  const index = readFileSync(new URL("../../assembly/index.ts", import.meta.url), "utf8");
  for (const name of KERNEL_NAMES) t.match(index, new RegExp(`\\b${name}\\b`), `${name} is exported by assembly/index.ts`);
  e.dispose();
});

t.test("every kernel is pooled or kept on the calling thread, not both", async (t) => {
  for (const name of KERNEL_NAMES) {
    const n = Number(POOL_KERNELS.includes(name)) + Number(MAIN_THREAD_KERNELS.includes(name));
    t.equal(n, 1, `${name}: ${POOL_KERNELS.includes(name) ? "pooled" : MAIN_THREAD_KERNELS.includes(name) ? "calling thread" : "unclassified"}`);
  }
  t.same([...POOL_KERNELS, ...MAIN_THREAD_KERNELS].filter((n) => !KERNEL_NAMES.includes(n)), [], "no stale names");
});

t.test("SGEMM's block sizes come from assembly/matmul.ts", async (t) => {
  const src = readFileSync(new URL("../../assembly/matmul.ts", import.meta.url), "utf8");
  for (const [k, v] of Object.entries(SGEMM_BLOCKS)) t.match(src, new RegExp(`const ${k}: i32 = ${v};`), `${k} = ${v}`);
  t.ok(SGEMM_BLOCKS.MR === 4 && SGEMM_BLOCKS.NR === 8, "the 4×8 register tile");
});
