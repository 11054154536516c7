// acdc-wasm/serve: circuit discovery as a standard fetch handler
// (`export default { fetch }`), for Node (`acdc serve`), Deno (Deno.serve),
// Cloudflare's workerd and Vercel's edge runtime. The default export uses
// the default limits and the embedded kernels; createHandler sets limits,
// and on runtimes that forbid compiling wasm from bytes (workerd) takes the
// kernels as a module the host imported (see src/serve/handler.ts).
import { createHandler } from "./handler.js";

export { createHandler, DEFAULT_LIMITS, type ServeLimits, type HandlerOptions } from "./handler.js";
export { provideKernelModule } from "../wasm/engine.js";

const handler = createHandler();
export default handler;
