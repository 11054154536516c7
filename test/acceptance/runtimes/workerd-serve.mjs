// workerd host for the fetch handler, through miniflare: the example worker
// (examples/workerd/worker.mjs) with the package's serve bundle and the
// kernels as a compiled module, exactly what wrangler would bundle. Prints
// one JSON line {port} and serves until SIGTERM. Run with node from the repo root.
import { Miniflare } from "miniflare";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = process.cwd();
const mf = new Miniflare({
  compatibilityDate: "2025-07-18", host: "127.0.0.1", port: 0, modulesRoot: "/",
  modules: [
    { type: "ESModule", path: "/worker.mjs", contents: readFileSync(join(root, "examples/workerd/worker.mjs"), "utf8") },
    { type: "ESModule", path: "/acdc-wasm/serve", contents: readFileSync(join(root, "dist/acdc-wasm-serve.mjs"), "utf8") },
    { type: "CompiledWasm", path: "/acdc-wasm/kernels.wasm", contents: readFileSync(join(root, "build/kernels.wasm")) },
  ],
});
const url = await mf.ready;
console.log(JSON.stringify({ port: Number(url.port) }));
process.once("SIGTERM", () => mf.dispose().finally(() => process.exit(0)));
