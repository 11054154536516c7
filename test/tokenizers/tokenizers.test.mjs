// The tokenizers behind the common interface, each checked against an
// implementation it does not share code with:
// - Hugging Face tokenizer.json (through @huggingface/tokenizers) on GPT-2's
//   BPE, generated from gpt-tokenizer's r50k table, against gpt-tokenizer,
//   and likewise cl100k laid out as Llama-3's file is (Split regex first);
// - Hugging Face tokenizer.json on SentencePiece-style BPE, converted from
//   llama2.c's tok512.bin, against llama2.c's run.c encoder (Llama2cTokenizer),
//   in both the legacy (Prepend normalizer) and the Metaspace styles;
// plus loadTokenizer's resolution and errors, round trips and piece().
// Parts that need ../shared/models/stories260K/tok512.bin skip without it.
import t from "tap";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode as gptEncode, decode as gptDecode } from "gpt-tokenizer/encoding/r50k_base";
import { encode as cl100kEncode } from "gpt-tokenizer/encoding/cl100k_base";
import cl100kRanks from "gpt-tokenizer/bpeRanks/cl100k_base";
import { gpt2TokenizerJson, tiktokenTokenizerJson, sentencePieceTokenizerJson, formatTokenizerJson } from "../../scripts/make-tokenizer-fixtures.mjs";
import { HfTokenizer, Llama2cBinTokenizer, R50kTokenizer, loadTokenizer, normalizePath, resolvePath } from "../../dist/tokenizers/index.js";
import { Llama2cTokenizer } from "../../dist/model/llama2c-tokenizer.js";
import { FormatError, InputError } from "../../dist/errors.js";
import { mulberry32 } from "../../dist/random.js";
import { root } from "../helpers/fixtures.mjs";
import { corpus } from "./corpus.mjs";

const sharedModels = join(root, "..", "shared", "models");
const tokPath = join(sharedModels, "stories260K", "tok512.bin");
const haveTok = existsSync(tokPath);
const skipTok = haveTok ? false : `${tokPath} is absent (see ../shared/models/)`;
const fixtureDir = join(root, "test", "fixtures", "tokenizers");

/** readFile for loadTokenizer: bytes, or null for a missing file; records every path asked for. */
function fsReader(log = []) {
  const read = async (p) => {
    log.push(p);
    try { return new Uint8Array(readFileSync(p)); } catch (e) { if (e.code === "ENOENT") return null; throw e; }
  };
  read.log = log;
  return read;
}

const tmp = mkdtempSync(join(tmpdir(), "acdc-tok-"));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

// GPT-2's tokenizer.json is ~1.5 MB, so it is generated here rather than checked in.
const gpt2Dir = join(tmp, "gpt2");
{
  const { json, config } = await gpt2TokenizerJson();
  mkdirSync(gpt2Dir, { recursive: true });
  writeFileSync(join(gpt2Dir, "tokenizer.json"), JSON.stringify(json));
  writeFileSync(join(gpt2Dir, "tokenizer_config.json"), JSON.stringify(config));
}

const texts = corpus();
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

t.test("GPT-2: the generated tokenizer.json encodes like gpt-tokenizer's r50k", async (t) => {
  const hf = await loadTokenizer("gpt2/tokenizer.json", fsReader(), tmp);
  const r50k = await loadTokenizer("gpt2", fsReader());
  t.ok(hf instanceof HfTokenizer, "a .json spec loads a Hugging Face tokenizer");
  t.ok(r50k instanceof R50kTokenizer, '"gpt2" is r50k');
  t.equal(hf.vocabSize, 50257);
  t.equal(r50k.vocabSize, 50257);
  t.equal(hf.bos, 50256, "BOS from tokenizer_config.json's bos_token");
  t.equal(r50k.bos, 50256);

  const all = [...texts, "<|im_start|> is not r50k's special token"];
  const bad = [];
  let tokens = 0;
  for (const s of all) {
    const want = gptEncode(s);
    const got = hf.encode(s);
    tokens += want.length;
    if (!eq(got, want)) bad.push({ s, want, got });
    if (!eq(r50k.encode(s), want)) bad.push({ s, want, got: r50k.encode(s), who: "r50k" });
  }
  t.same(bad, [], `${all.length} strings (${tokens} tokens): identical ids`);
  t.ok(all.length >= 400, `${all.length} strings`);

  // Round trips, and both decoders against gpt-tokenizer's decode on valid text.
  const trip = all.filter((s) => hf.decode(hf.encode(s)) !== s || r50k.decode(r50k.encode(s)) !== s || gptDecode(gptEncode(s)) !== s);
  t.same(trip, [], "decode(encode(s)) === s for every string, in both and in gpt-tokenizer");
  t.same(hf.encode("cat", { bos: true }), [50256, ...gptEncode("cat")], "{ bos: true } prepends <|endoftext|>");
  t.same(r50k.encode("cat", { bos: true }), [50256, ...gptEncode("cat")]);

  // <|endoftext|> in text is the special token wherever it stands, as in
  // Hugging Face (gpt-tokenizer 4.0.0 itself finds it only at the start).
  const specials = ["<|endoftext|>", "<|endoftext|>hi", "a<|endoftext|>b", "The end.<|endoftext|>Once upon", " <|endoftext|><|endoftext|> x "];
  t.same(specials.map((s) => r50k.encode(s)), specials.map((s) => hf.encode(s)), "special-token text: r50k and tokenizer.json agree");
  t.same(r50k.encode("a<|endoftext|>b"), [...gptEncode("a"), 50256, ...gptEncode("b")]);
  t.same(specials.filter((s) => r50k.decode(r50k.encode(s)) !== s), [], "and round-trip");

  // Random id sequences, including lone bytes that are not UTF-8: one decoding rule.
  const rand = mulberry32(5);
  const diffs = [];
  for (let k = 0; k < 2000; k++) {
    const ids = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => (rand() < 0.4 ? Math.floor(rand() * 256) : Math.floor(rand() * 50257)));
    if (r50k.decode(ids) !== hf.decode(ids)) diffs.push(ids);
  }
  t.same(diffs, [], "2000 random id sequences decode the same (invalid UTF-8 as U+FFFD)");

  // piece(): GPT-2's vocab.json spelling, for every id.
  const pieceDiffs = [];
  for (let id = 0; id < 50257; id++) if (r50k.piece(id) !== hf.piece(id)) pieceDiffs.push(id);
  t.same(pieceDiffs, [], "piece(id) agrees on all 50257 ids");
  const [cat] = r50k.encode(" cat");
  t.equal(r50k.piece(cat), "Ġcat");
  t.equal(r50k.piece(r50k.encode("\n")[0]), "Ċ");
  t.equal(r50k.piece(50256), "<|endoftext|>");
  t.equal(r50k.piece(r50k.encode("é")[0]), "Ã©", "UTF-8 bytes spelled through bytes_to_unicode");
});

t.test("Llama-3 layout (Split regex, then ByteLevel): cl100k as tokenizer.json encodes like gpt-tokenizer", async (t) => {
  const path = join(tmp, "cl100k.json");
  writeFileSync(path, JSON.stringify(await tiktokenTokenizerJson("cl100k_base")));
  const hf = await loadTokenizer(path, fsReader());
  t.equal(hf.vocabSize, 100277);
  t.equal(hf.bos, undefined, "no template, no config: no BOS");

  // gpt-tokenizer 4.0.0 never yields cl100k's token for the bytes of U+FEFF
  // (3305, kept in its table as raw bytes) and spells it as two tokens, so
  // strings holding one are checked below against a plain BPE over the rank
  // table instead.
  const withBom = texts.filter((s) => s.includes("\ufeff"));
  const plain = texts.filter((s) => !s.includes("\ufeff"));
  const bad = plain.filter((s) => !eq(hf.encode(s), cl100kEncode(s)));
  t.same(bad, [], `${plain.length} strings: identical ids`);
  t.same(plain.filter((s) => hf.decode(hf.encode(s)) !== s), [], "and round-trip");
  t.same(hf.piece(hf.encode(" cat")[0]), "Ġcat");

  // tiktoken's rule, written out: merge the adjacent pair whose bytes have the lowest rank.
  const utf8 = new TextEncoder();
  const rankOf = new Map(cl100kRanks.map((e, r) => [String.fromCharCode(...(typeof e === "string" ? utf8.encode(e) : e)), r]));
  const bpe = (text) => {
    const parts = Array.from(utf8.encode(text), (b) => String.fromCharCode(b));
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) return parts.map((p) => rankOf.get(p));
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
  };
  t.ok(withBom.length > 0);
  t.same(hf.encode("\ufeffbom"), bpe("\ufeffbom"), "U+FEFF + letters: one pre-token, merged as tiktoken merges");
  t.equal(hf.encode("\ufeff").length, 1, "U+FEFF alone is one token");
});

t.test("GPT-2 tokenizer.json without its tokenizer_config.json has no BOS", async (t) => {
  const bare = join(tmp, "gpt2-bare.json");
  writeFileSync(bare, readFileSync(join(gpt2Dir, "tokenizer.json")));
  const log = [];
  const hf = await loadTokenizer(bare, fsReader(log));
  t.same(log, [bare], "tokenizer_config.json is looked for only beside a file named tokenizer.json");
  t.equal(hf.bos, undefined);
  t.throws(() => hf.encode("x", { bos: true }), InputError);
  t.same(hf.encode("x"), gptEncode("x"));
});

t.test("SentencePiece BPE: the converted tok512 tokenizer.json encodes like llama2.c", { skip: skipTok }, async (t) => {
  const read = fsReader();
  const bin = await loadTokenizer("stories260K/tok512.bin", read, sharedModels);
  const legacy = await loadTokenizer("tok512-legacy.json", read, fixtureDir);
  const meta = await loadTokenizer("tok512-metaspace.json", read, fixtureDir);
  const run = Llama2cTokenizer.parse(new Uint8Array(readFileSync(tokPath)));
  t.ok(bin instanceof Llama2cBinTokenizer, "a .bin spec loads a llama2.c tokenizer");
  for (const tk of [bin, legacy, meta]) {
    t.equal(tk.vocabSize, 512, `${tk.name}: 512 tokens`);
    t.equal(tk.bos, 1, `${tk.name}: BOS is <s> = 1`);
  }

  let tokens = 0, leading = 0;
  const bad = [];
  for (const s of texts) {
    const want = run.encode(s, { bos: false });
    tokens += want.length;
    if (!eq(bin.encode(s), want)) bad.push({ s, who: "bin", want, got: bin.encode(s) });
    if (!eq(legacy.encode(s), want)) bad.push({ s, who: "legacy", want, got: legacy.encode(s) });
    if (!eq(legacy.encode(s, { bos: true }), run.encode(s, { bos: true }))) bad.push({ s, who: "legacy+bos" });
    // Metaspace prepends "▁" only when the text does not start with one, while
    // SentencePiece's dummy prefix (and run.c's " " token) is always added: a
    // text with a leading space gets one "▁" in Metaspace, two in llama2.c,
    // so Metaspace(" " + x) is llama2.c(x). Everywhere else they agree.
    if (s.startsWith(" ")) {
      leading++;
      const rest = s.slice(1), lone = [run.id(" ")]; // " " alone is one "▁" in Metaspace
      if (!eq(meta.encode(s), rest === "" ? lone : run.encode(rest, { bos: false }))) bad.push({ s, who: "metaspace, leading space" });
      if (eq(meta.encode(s), want)) bad.push({ s, who: "metaspace, leading space, expected to differ" });
    } else if (!eq(meta.encode(s), want)) bad.push({ s, who: "metaspace", want, got: meta.encode(s) });
  }
  t.same(bad, [], `${texts.length} strings (${tokens} tokens) against run.c's encode; ${leading} start with a space, where Metaspace differs exactly as expected`);
  t.ok(leading >= 10, `${leading} strings with a leading space exercise the difference`);

  // Round trips: exact, except Metaspace drops the leading space it did not
  // double, and tokenizers.js's ByteFallback decoder drops a U+FEFF that
  // starts a run of byte tokens (its TextDecoder strips a byte-order mark).
  const noBom = (s) => s.replaceAll("\ufeff", "");
  const trip = [];
  for (const s of texts) {
    if (bin.decode(bin.encode(s)) !== s) trip.push({ s, who: "bin" });
    if (legacy.decode(legacy.encode(s)) !== noBom(s)) trip.push({ s, who: "legacy" });
    const m = meta.decode(meta.encode(s));
    if (m !== noBom(s.startsWith(" ") ? s.slice(1) : s)) trip.push({ s, who: "metaspace", m });
  }
  t.same(trip, [], "decode(encode(s)) === s (Metaspace: minus one leading space)");
  t.equal(bin.decode(bin.encode("\ufeffx")), "\ufeffx", "llama2.c keeps a leading U+FEFF");
  t.equal(legacy.decode(legacy.encode("\ufeffx")), "x", "tokenizers.js drops it (a library quirk, not a tokenization difference)");
  t.same(legacy.encode("\ufeffx"), bin.encode("\ufeffx"), "the ids agree");
  t.equal(bin.decode(bin.encode("Hi there", { bos: true })), "<s> Hi there", "BOS prints as <s>, its space kept, as HF's decode does");
  t.equal(legacy.decode(legacy.encode("Hi there", { bos: true })), "<s> Hi there");

  // Decoding random ids (bytes, specials, pieces) the same way as Hugging Face.
  const rand = mulberry32(7);
  const diffs = [];
  for (let k = 0; k < 2000; k++) {
    const ids = Array.from({ length: 1 + Math.floor(rand() * 10) }, () => (rand() < 0.3 ? 3 + Math.floor(rand() * 256) : Math.floor(rand() * 512)));
    if (bin.decode(ids) !== legacy.decode(ids)) diffs.push({ ids, bin: bin.decode(ids), hf: legacy.decode(ids) });
  }
  t.same(diffs, [], "2000 random id sequences decode the same");

  const pieceDiffs = [];
  for (let id = 0; id < 512; id++) if (bin.piece(id) !== legacy.piece(id) || bin.piece(id) !== meta.piece(id)) pieceDiffs.push(id);
  t.same(pieceDiffs, [], "piece(id) agrees on all 512 ids");
  t.equal(bin.piece(bin.encode("the")[0]), "\u2581the", "spaces spelled ▁");
  t.same([0, 1, 2, 3, 13].map((id) => bin.piece(id)), ["<unk>", "<s>", "</s>", "<0x00>", "<0x0A>"]);

  // Text that spells a special token: Hugging Face matches added tokens in the
  // text, run.c has no such notion and spells the characters.
  t.same(legacy.encode("a<s>b"), [...legacy.encode("a"), 1, ...legacy.encode("b")], "HF: <s> in text is the BOS token");
  t.ok(meta.encode("a<s>b").includes(1));
  t.notOk(bin.encode("a<s>b").includes(1), "llama2.c: <s> in text is three characters");
  t.equal(bin.decode(bin.encode("a<s>b")), "a<s>b");
});

t.test("the checked-in tok512 fixtures are what the script makes", { skip: skipTok }, async (t) => {
  const file = new Uint8Array(readFileSync(tokPath));
  for (const style of ["legacy", "metaspace"]) {
    const path = join(fixtureDir, `tok512-${style}.json`);
    t.equal(readFileSync(path, "utf8"), formatTokenizerJson(sentencePieceTokenizerJson(file, style)), `${path} is current`);
  }
});

t.test("encode/decode edges shared by every kind", { skip: skipTok }, async (t) => {
  const read = fsReader();
  const all = [await loadTokenizer("r50k", read), await loadTokenizer("stories260K/tok512.bin", read, sharedModels), await loadTokenizer(join(fixtureDir, "tok512-legacy.json"), read)];
  for (const tk of all) {
    t.same(tk.encode(""), [], `${tk.name}: "" has no tokens`);
    t.same(tk.encode("", { bos: true }), [tk.bos], `${tk.name}: "" with BOS is BOS`);
    t.equal(tk.decode([]), "");
    t.equal(tk.encode("hello world", { bos: true })[0], tk.bos);
    t.same(tk.encode("hello world", { bos: true }).slice(1), tk.encode("hello world"), "BOS is only prepended");
    t.throws(() => tk.decode([0, tk.vocabSize]), InputError, `${tk.name}: an id past the vocabulary`);
    t.throws(() => tk.decode([1.5]), InputError);
    t.throws(() => tk.piece(-1), InputError);
    const e = t.throws(() => tk.piece(tk.vocabSize));
    t.match(e?.message, /outside its vocabulary \[0, \d+\)/);
  }
});

t.test("loadTokenizer: resolution", { skip: skipTok }, async (t) => {
  const log = [];
  const read = fsReader(log);
  t.ok((await loadTokenizer("gpt2", read)) instanceof R50kTokenizer);
  t.ok((await loadTokenizer("r50k", read, "/nowhere")) instanceof R50kTokenizer);
  t.same(log, [], "named tokenizers read no file");
  const viaDots = await loadTokenizer("./x/../stories260K//tok512.bin", read, sharedModels + "/");
  t.equal(log.at(-1), join(sharedModels, "stories260K", "tok512.bin"), "relative to baseDir, . and .. folded");
  t.equal(viaDots.name, join(sharedModels, "stories260K", "tok512.bin"), "the name is the resolved path");
  await loadTokenizer(tokPath, read, "/elsewhere");
  t.equal(log.at(-1), tokPath, "an absolute path ignores baseDir");

  // tokenizer_config.json is read beside tokenizer.json, not beside other .json files.
  log.length = 0;
  await loadTokenizer("gpt2/tokenizer.json", read, tmp);
  t.same(log, [join(gpt2Dir, "tokenizer.json"), join(gpt2Dir, "tokenizer_config.json")]);

  t.equal(normalizePath("a/./b/../c"), "a/c");
  t.equal(normalizePath("../../a"), "../../a", "a relative path may climb");
  t.equal(normalizePath("/a/../../b"), "/b", "nothing above the root");
  t.equal(normalizePath("C:\\models\\..\\tok\\x.bin"), "C:\\tok/x.bin", "a Windows drive root is kept");
  t.equal(normalizePath("https://host/m/../tok/tokenizer.json"), "https://host/tok/tokenizer.json", "a URL's host is kept");
  t.equal(resolvePath("tok.bin", "models"), "models/tok.bin");
  t.equal(resolvePath("tok.bin"), "tok.bin");
  t.equal(resolvePath("/abs/tok.bin", "models"), "/abs/tok.bin");
});

t.test("loadTokenizer: errors are one line and name the file", async (t) => {
  const read = fsReader();
  const oneLine = (e) => t.notMatch(e.message, /\n/, "one line");

  await t.rejects(loadTokenizer("missing/tok.bin", read, "/base/dir"), InputError);
  let e = await loadTokenizer("missing/tok.bin", read, "/base/dir").catch((x) => x);
  t.equal(e.message, 'tokenizer "missing/tok.bin" not found (looked for /base/dir/missing/tok.bin)');
  e = await loadTokenizer("nope.json", read, tmp).catch((x) => x);
  t.equal(e.message, `tokenizer "nope.json" not found (looked for ${join(tmp, "nope.json")})`);
  t.ok(e instanceof InputError);

  const write = (name, text) => { const p = join(tmp, name); writeFileSync(p, text); return p; };
  const cases = [
    ["corrupt JSON", write("corrupt.json", '{"model": {"type": "BPE", '), FormatError, /^tokenizer\.json: .*corrupt\.json is not valid JSON/],
    ["not UTF-8", write("latin1.json", Buffer.from([0x7b, 0xff, 0x7d])), FormatError, /latin1\.json is not UTF-8 text/],
    ["a JSON array", write("array.json", "[1, 2]"), FormatError, /array\.json: the top level is not a JSON object/],
    ["no model", write("nomodel.json", '{"added_tokens": []}'), FormatError, /nomodel\.json: no "model" object/],
    ["Unigram model", write("unigram.json", JSON.stringify({ model: { type: "Unigram", unk_id: 0, vocab: [["<unk>", 0], ["a", -1]] } })), FormatError, /unigram\.json: model type "Unigram" is not supported; only BPE/],
    ["WordLevel model", write("wordlevel.json", JSON.stringify({ model: { type: "WordLevel", vocab: { a: 0 }, unk_token: "a" } })), FormatError, /model type "WordLevel" is not supported/],
    ["BPE without merges", write("nomerges.json", JSON.stringify({ model: { type: "BPE", vocab: { a: 0 } } })), FormatError, /nomerges\.json: model\.merges is not an array/],
    ["unknown pre-tokenizer", write("pretok.json", JSON.stringify({ pre_tokenizer: { type: "Frobnicate" }, model: { type: "BPE", vocab: { a: 0 }, merges: [] } })), FormatError, /pretok\.json: .*Frobnicate/],
    ["truncated llama2.c file", write("short.bin", Buffer.from([7, 0, 0, 0, 0, 0, 0, 0, 9, 0])), FormatError, /^llama2\.c tokenizer: .*short\.bin: truncated at token 0/],
    ["empty llama2.c file", write("empty.bin", ""), FormatError, /empty\.bin: file has 0 bytes/],
  ];
  for (const [what, path, cls, re] of cases) {
    const err = await loadTokenizer(path, read).catch((x) => x);
    t.ok(err instanceof cls, `${what}: ${cls.name}`);
    t.match(err.message, re, `${what}: ${err.message}`);
    oneLine(err);
  }

  const cfgDir = join(tmp, "badcfg");
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(join(cfgDir, "tokenizer.json"), readFileSync(join(gpt2Dir, "tokenizer.json")));
  writeFileSync(join(cfgDir, "tokenizer_config.json"), '{"bos_token": "<nope>"}');
  e = await loadTokenizer("badcfg/tokenizer.json", read, tmp).catch((x) => x);
  t.ok(e instanceof FormatError);
  t.match(e.message, /^tokenizer_config\.json: beside .*badcfg\/tokenizer\.json: bos_token "<nope>" is not in the vocabulary$/);

  e = await loadTokenizer("x.bin", async () => { throw new Error("permission denied\nmore"); }, "/d").catch((x) => x);
  t.ok(e instanceof InputError);
  t.equal(e.message, 'tokenizer "x.bin" could not be read (/d/x.bin: permission denied)');
  e = await loadTokenizer("", read).catch((x) => x);
  t.ok(e instanceof InputError, "an empty spec");
});

t.test("the tokenizers bundle runs in Deno", { skip: skipTok }, async (t) => {
  const deno = join(root, "node_modules", ".bin", "deno");
  if (!existsSync(deno)) return t.skip("no deno in node_modules/.bin");
  const sample = texts.slice(0, 80);
  const input = join(tmp, "deno-input.json");
  const specs = ["gpt2", join(fixtureDir, "tok512-metaspace.json"), tokPath];
  writeFileSync(input, JSON.stringify({ texts: sample, specs }));
  const out = execFileSync(deno, ["run", "--allow-read", join(root, "test", "tokenizers", "deno-check.mjs"), join(root, "dist", "acdc-wasm-tokenizers.mjs"), input], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
  const got = JSON.parse(out);
  const read = fsReader();
  for (const [i, spec] of specs.entries()) {
    const tk = await loadTokenizer(spec, read);
    t.same(got[i], sample.map((s) => tk.encode(s)), `${spec}: Deno's ids equal Node's on ${sample.length} strings`);
  }
});

t.test("the tokenizers bundle runs in Chromium, files fetched over HTTP", async (t) => {
  const chromiumPath = process.env.ACDC_CHROMIUM || "/usr/bin/chromium";
  if (process.env.ACDC_SKIP_BROWSER === "1" || !existsSync(chromiumPath)) return t.skip(`no Chromium at ${chromiumPath}`);
  // Only the bundle and the checked-in fixtures are served; anything else is a 404.
  const served = new Map([["/dist/acdc-wasm-tokenizers.mjs", "text/javascript"], ["/test/fixtures/tokenizers/tok512-legacy.json", "application/json"]]);
  const server = createServer((req, res) => {
    const type = req.url === "/" ? "text/html" : served.get(req.url);
    if (!type) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": type }).end(req.url === "/" ? "<!doctype html><title>tokenizers</title>" : readFileSync(join(root, req.url)));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, timeout: 60_000, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const sample = texts.slice(0, 60);
    const got = await page.evaluate(async (sample) => {
      const { loadTokenizer } = await import("/dist/acdc-wasm-tokenizers.mjs");
      const readFile = async (p) => { const r = await fetch(p); return r.ok ? new Uint8Array(await r.arrayBuffer()) : null; };
      const out = {};
      for (const spec of ["gpt2", "tok512-legacy.json"]) {
        const tok = await loadTokenizer(spec, readFile, "/test/fixtures/tokenizers");
        out[spec] = sample.map((s) => tok.encode(s));
      }
      out.missing = await loadTokenizer("nope.json", readFile, "/test/fixtures/tokenizers").then(() => "loaded", (e) => e.message);
      return out;
    }, sample);
    const read = fsReader();
    t.same(got.gpt2, sample.map((s) => gptEncode(s)), `gpt2 in Chromium: gpt-tokenizer's ids on ${sample.length} strings`);
    const legacy = await loadTokenizer(join(fixtureDir, "tok512-legacy.json"), read);
    t.same(got["tok512-legacy.json"], sample.map((s) => legacy.encode(s)), "tok512 tokenizer.json in Chromium: Node's ids");
    t.equal(got.missing, 'tokenizer "nope.json" not found (looked for /test/fixtures/tokenizers/nope.json)');
  } finally {
    await browser.close();
    server.close();
  }
});
