// One ESM file with the wasm embedded, for browsers and Deno (no I/O needed).
export default {
  input: "dist/index.js",
  output: { file: "dist/acdc-wasm.mjs", format: "es" },
};
