import { nodeResolve } from "@rollup/plugin-node-resolve";

export default [
  // One ESM file with the wasm embedded, for browsers and Deno (no I/O needed).
  // Node built-ins (node:worker_threads, node:os) are imported lazily by
  // specifier variables and only where the runtime has them, so stay external.
  {
    input: "dist/bundle.js",
    external: [/^node:/],
    output: { file: "dist/acdc-wasm.mjs", format: "es", inlineDynamicImports: true },
  },
  // The tokenizers (acdc-wasm/tokenizers) as one self-contained ESM file:
  // gpt-tokenizer's r50k table and @huggingface/tokenizers are inlined, so a
  // browser or Deno imports it with no import map and no npm resolution.
  {
    input: "dist/tokenizers/index.js",
    plugins: [nodeResolve({ browser: true })],
    output: { file: "dist/acdc-wasm-tokenizers.mjs", format: "es", inlineDynamicImports: true },
  },
  // The fetch handler (acdc-wasm/serve) as one ESM file for Deno, workerd and
  // any bundler, and as a classic script (a global `acdcServe`) for runtimes
  // that evaluate scripts, as the edge-runtime package does.
  {
    input: "dist/serve/index.js",
    external: [/^node:/],
    output: [
      { file: "dist/acdc-wasm-serve.mjs", format: "es", inlineDynamicImports: true },
      { file: "dist/acdc-wasm-serve.iife.js", format: "iife", name: "acdcServe", exports: "named", inlineDynamicImports: true },
    ],
  },
];
