// acdc-wasm on Cloudflare Workers (workerd): the package's fetch handler,
// with the kernels imported as a compiled WebAssembly module, since workerd
// forbids compiling WebAssembly from bytes at run time. wrangler bundles both
// imports from the installed package (see wrangler.toml); the tests run this
// file in workerd through miniflare (test/acceptance/serve-runtimes.test.mjs).
import kernels from "acdc-wasm/kernels.wasm";
import { createHandler } from "acdc-wasm/serve";

export default createHandler({ kernels, limits: { maxModelBytes: 32 * 2 ** 20 } });
