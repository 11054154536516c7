// Deno driver for the tokenizer test: imports the self-contained tokenizers
// bundle as a browser would (no npm resolution), loads each spec through
// Deno.readFile and prints the ids of every text as JSON.
//   deno run --allow-read test/tokenizers/deno-check.mjs BUNDLE INPUT.json
// INPUT.json: { "texts": [...], "specs": ["gpt2", "/abs/tokenizer.json", ...] }
/* global Deno */
const [bundle, inputPath] = Deno.args;
const { loadTokenizer } = await import(new URL(`file://${bundle}`).href);
const { texts, specs } = JSON.parse(await Deno.readTextFile(inputPath));
const readFile = async (p) => {
  try { return await Deno.readFile(p); } catch (e) { if (e instanceof Deno.errors.NotFound) return null; throw e; }
};
const out = [];
for (const spec of specs) {
  const tok = await loadTokenizer(spec, readFile);
  out.push(texts.map((s) => tok.encode(s)));
}
console.log(JSON.stringify(out));
