// acdc-wasm/tokenizers: text tokenizers behind one interface, kept out of the
// main entry so that only code that tokenizes text loads gpt-tokenizer's
// r50k table or @huggingface/tokenizers.
export { type Tokenizer } from "./tokenizer.js";
export { loadTokenizer, resolvePath, normalizePath, type ReadFile } from "./load.js";
export { R50kTokenizer } from "./r50k.js";
export { HfTokenizer } from "./hf.js";
export { Llama2cBinTokenizer } from "./llama2c.js";
