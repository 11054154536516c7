// Vercel edge-runtime host for the fetch handler: the classic-script build
// (dist/acdc-wasm-serve.iife.js, global acdcServe) evaluated in an
// EdgeRuntime context and served by the package's runServer. Prints one JSON
// line {port} and serves until SIGTERM. Run with node from the repo root.
import { EdgeRuntime, runServer } from "edge-runtime";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const code = readFileSync(join(process.cwd(), "dist/acdc-wasm-serve.iife.js"), "utf8") +
  "\naddEventListener('fetch', (event) => event.respondWith(acdcServe.default.fetch(event.request)));\n";
const server = await runServer({ runtime: new EdgeRuntime({ initialCode: code }), host: "127.0.0.1", port: 0 });
console.log(JSON.stringify({ port: Number(new URL(server.url).port) }));
process.once("SIGTERM", () => server.close().finally(() => process.exit(0)));
