// Builds Hugging Face tokenizer.json files from data already on this machine,
// so the HF tokenizer path can be tested against independent implementations
// without downloading anything:
//
//   gpt2: GPT-2's byte-level BPE from gpt-tokenizer's r50k rank table. Token
//     ids are GPT-2's; merge i made token 256 + i, and the pair it merged is
//     recovered by running BPE on the token's bytes with only lower ranks
//     allowed (what is left is exactly two parts). Strings go through GPT-2's
//     bytes_to_unicode table, as in HF's vocab.json. ~1.5 MB, so it is written
//     at test time into a temporary folder rather than checked in.
//   cl100k: the same from the cl100k table, laid out as Llama-3's file is (a
//     Split regex pre-tokenizer before ByteLevel); ~4 MB, test time only.
//   tok512: llama2.c's tok512.bin (SentencePiece BPE flattened to pieces and
//     scores) converted the way transformers' LlamaConverter converts a
//     SentencePiece model: a BPE model whose merges are every split of a
//     piece into two pieces, ranked by the merged piece's score; byte
//     fallback to <0xNN>; "▁" for spaces; <s> prepended by the post-processor.
//     Two styles: "metaspace" (Metaspace pre-tokenizer, prepend_scheme
//     "first", as Mistral's and transformers' non-legacy conversions) and
//     "legacy" (Prepend + Replace normalizers, as Llama-2's and TinyLlama's
//     files). Small; checked in under test/fixtures/tokenizers/.
//
// Written without the package's own code (no dist/ import) so a fixture does
// not inherit a bug from the code it tests.
//
//   node scripts/make-tokenizer-fixtures.mjs [--gpt2 DIR] [--cl100k FILE] [--tok512 TOK.bin OUTDIR]
// With no arguments: tok512 from ../shared/models/stories260K/tok512.bin into
// test/fixtures/tokenizers/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards. */
export function bytesToUnicode() {
  const keep = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(keep(b) ? b : next++);
  return table;
}

const utf8 = new TextEncoder();

// How each tiktoken encoding is laid out as a Hugging Face tokenizer.json.
// r50k: GPT-2's own file (ByteLevel pre-tokenizer with its built-in regex).
// cl100k: the layout of Llama-3's and converted GPT-4 files: a Split
// pre-tokenizer with tiktoken's pattern in Oniguruma syntax (case-insensitive
// group, digits in threes), then ByteLevel without its regex; ignore_merges.
const LAYOUTS = {
  r50k_base: {
    specials: { "<|endoftext|>": 50256 },
    preTokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    ignoreMerges: false,
  },
  cl100k_base: {
    specials: { "<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259, "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276 },
    preTokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    ignoreMerges: true,
  },
};

/** A byte-level BPE tokenizer.json from gpt-tokenizer's rank table of `encoding` (r50k_base or cl100k_base). */
export async function tiktokenTokenizerJson(encoding) {
  const layout = LAYOUTS[encoding];
  if (!layout) throw new Error(`no layout for ${encoding}`);
  const { default: ranks } = await import(`gpt-tokenizer/bpeRanks/${encoding}`);
  const bytesOf = ranks.map((e) => (typeof e === "string" ? Array.from(utf8.encode(e)) : e));
  // Byte strings as "binary" JS strings (one char per byte) key the rank map.
  const bin = (bytes) => String.fromCharCode(...bytes);
  const rankOf = new Map(bytesOf.map((b, r) => [bin(b), r]));
  if (rankOf.size !== bytesOf.length) throw new Error(`${encoding} ranks hold a duplicate byte string`);
  const b2u = bytesToUnicode();
  const uni = (s) => Array.from(s, (c) => b2u[c.charCodeAt(0)]).join("");

  const vocab = {};
  bytesOf.forEach((b, id) => { vocab[uni(bin(b))] = id; });
  const merges = [];
  for (let r = 0; r < bytesOf.length; r++) {
    const bytes = bytesOf[r];
    if (bytes.length === 1) continue;
    // BPE restricted to ranks below r: the lowest-ranked adjacent pair merges first.
    const parts = bytes.map((x) => String.fromCharCode(x));
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const k = rankOf.get(parts[i] + parts[i + 1]);
        if (k !== undefined && k < bestRank) { bestRank = k; best = i; }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    if (parts.length !== 2) throw new Error(`${encoding} token ${r} does not reduce to one pair (${parts.length} parts)`);
    merges.push([uni(parts[0]), uni(parts[1])]);
  }
  const added = Object.entries(layout.specials).map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: layout.preTokenizer,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: layout.ignoreMerges, vocab, merges },
  };
}

/** GPT-2's tokenizer.json and a tokenizer_config.json naming its BOS, from gpt-tokenizer's r50k ranks. */
export async function gpt2TokenizerJson() {
  const json = await tiktokenTokenizerJson("r50k_base");
  const config = { tokenizer_class: "GPT2Tokenizer", bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>", add_prefix_space: false, model_max_length: 1024 };
  return { json, config };
}

/** Pieces and scores of a llama2.c tokenizer file (run.c build_tokenizer's layout). */
export function readLlama2cTokenizer(file) {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const pieces = [], scores = [];
  const text = new TextDecoder("utf-8", { fatal: true });
  for (let off = 4; off < file.byteLength;) {
    scores.push(dv.getFloat32(off, true));
    const len = dv.getInt32(off + 4, true);
    pieces.push(text.decode(file.subarray(off + 8, off + 8 + len)));
    off += 8 + len;
  }
  return { pieces, scores };
}

/** A SentencePiece-style BPE tokenizer.json from llama2.c tokenizer bytes; style "metaspace" or "legacy". */
export function sentencePieceTokenizerJson(file, style) {
  const { pieces, scores } = readLlama2cTokenizer(file);
  // llama2.c's export wrote <unk>, "\n<s>\n", "\n</s>\n" for ids 0-2, bytes as
  // <0xNN> for ids 3-258, and turned every "▁" into " ": undo that.
  const SPECIAL = ["<unk>", "<s>", "</s>"];
  const names = pieces.map((p, id) => (id < 3 ? SPECIAL[id] : p.replaceAll(" ", "\u2581")));
  for (let b = 0; b < 256; b++) {
    const want = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (names[3 + b] !== want) throw new Error(`piece ${3 + b} is ${JSON.stringify(names[3 + b])}, expected ${want}`);
  }
  const vocab = {};
  names.forEach((p, id) => { vocab[p] = id; });

  // transformers' SentencePieceExtractor: every way to cut a piece into two
  // pieces is a merge; merges of one piece are ordered by the two ids, and
  // all merges by the merged piece's score, highest first (a stable sort).
  const merges = [];
  names.forEach((piece, id) => {
    if (id < 3) return;
    const chars = Array.from(piece), local = [];
    for (let i = 1; i < chars.length; i++) {
      const l = chars.slice(0, i).join(""), r = chars.slice(i).join("");
      if (vocab[l] !== undefined && vocab[r] !== undefined) local.push({ l, r, score: scores[id] });
    }
    local.sort((a, b) => vocab[a.l] - vocab[b.l] || vocab[a.r] - vocab[b.r]);
    merges.push(...local);
  });
  merges.sort((a, b) => b.score - a.score);

  const added = SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const legacy = style === "legacy";
  if (!legacy && style !== "metaspace") throw new Error(`unknown style ${style}`);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: legacy
      ? { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] }
      : null,
    pre_tokenizer: legacy ? null : { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "\u2581" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map((m) => [m.l, m.r]) },
  };
}

/** Stable text for a tokenizer.json: one merge or vocab entry per line keeps diffs readable. */
export function formatTokenizerJson(json) {
  const { model, ...rest } = json;
  const { vocab, merges, ...modelRest } = model;
  const head = JSON.stringify({ ...rest, model: { ...modelRest, vocab: {}, merges: [] } }, null, 2);
  const vocabText = Object.entries(vocab).map(([k, v]) => `      ${JSON.stringify(k)}: ${v}`).join(",\n");
  const mergeText = merges.map((m) => `      ${JSON.stringify(m)}`).join(",\n");
  return head
    .replace(`"vocab": {}`, `"vocab": {\n${vocabText}\n    }`)
    .replace(`"merges": []`, `"merges": [\n${mergeText}\n    ]`) + "\n";
}

async function main(args) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  let gpt2Dir = null, cl100kFile = null, tokIn = join(root, "..", "shared", "models", "stories260K", "tok512.bin"), tokOut = join(root, "test", "fixtures", "tokenizers");
  let doTok = args.length === 0;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--gpt2") gpt2Dir = args[++i];
    else if (args[i] === "--cl100k") cl100kFile = args[++i];
    else if (args[i] === "--tok512") { tokIn = args[++i]; tokOut = args[++i]; doTok = true; }
    else throw new Error(`unknown argument ${args[i]}`);
  }
  if (gpt2Dir) {
    const { json, config } = await gpt2TokenizerJson();
    mkdirSync(gpt2Dir, { recursive: true });
    writeFileSync(join(gpt2Dir, "tokenizer.json"), JSON.stringify(json));
    writeFileSync(join(gpt2Dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
    console.log(`wrote ${join(gpt2Dir, "tokenizer.json")}`);
  }
  if (cl100kFile) {
    mkdirSync(dirname(cl100kFile), { recursive: true });
    writeFileSync(cl100kFile, JSON.stringify(await tiktokenTokenizerJson("cl100k_base")));
    console.log(`wrote ${cl100kFile}`);
  }
  if (doTok) {
    const file = new Uint8Array(readFileSync(tokIn));
    mkdirSync(tokOut, { recursive: true });
    for (const style of ["metaspace", "legacy"]) {
      const out = join(tokOut, `tok512-${style}.json`);
      writeFileSync(out, formatTokenizerJson(sentencePieceTokenizerJson(file, style)));
      console.log(`wrote ${out}`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
