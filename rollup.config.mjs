// One ESM file with the wasm embedded, for browsers and Deno (no I/O needed).
// Node built-ins (node:worker_threads, node:os) are imported lazily by
// specifier variables and only where the runtime has them, so stay external.
export default {
  input: "dist/bundle.js",
  external: [/^node:/],
  output: { file: "dist/acdc-wasm.mjs", format: "es" },
};
