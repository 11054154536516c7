// A Hugging Face tokenizer.json behind the common Tokenizer interface.
//
// The work is done by @huggingface/tokenizers (tokenizers.js), Hugging Face's
// own JavaScript port of its Rust `tokenizers`, the same code Transformers.js
// tokenizes with. Chosen because it is made for exactly this: it builds a
// tokenizer from an already parsed tokenizer.json object (no network, no file
// access: we hand it the bytes), it is plain ES2020 JavaScript with no
// dependencies and no native or wasm parts, so the same import runs in Node,
// Deno and browsers, and it is small (~100 kB unminified, ~37 kB minified).
// It implements the pieces the models we target use: byte-level BPE
// (GPT-2, Pythia, Llama-3, Qwen2) and SentencePiece-style BPE with a
// Metaspace pre-tokenizer or Prepend/Replace normalizers and byte fallback
// (Llama-2, TinyLlama, Mistral). The tests check GPT-2's layout and Llama-3's
// (a Split regex in Oniguruma syntax before ByteLevel) against gpt-tokenizer,
// and both SentencePiece layouts against llama2.c's encoder. Alternatives
// looked at: @huggingface/
// transformers bundles the same tokenizers but pulls in onnxruntime-node and
// sharp (native, hundreds of MB) and fetches from the Hub by default;
// @lenml/tokenizers is a third-party fork of older Transformers.js code
// (2 MB); @mlc-ai/web-tokenizers and @anush008/tokenizers wrap the Rust crate
// as wasm or native binaries.
//
// Only model type "BPE" is accepted: it is what decoder language models use
// and what the tests check against independent implementations; WordPiece,
// Unigram and WordLevel files are refused with a clear message rather than
// run untested.
//
// Conventions (tokenizer.ts): encode adds no special tokens (the post-
// processor's template is not applied) except BOS on request; decode prints
// special tokens and does not "clean up" spaces before punctuation (the
// library's default would, and "a ." would come back as "a.").
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { FormatError, InputError } from "../errors.js";
import { checkIds, withBos, type Tokenizer } from "./tokenizer.js";

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ");

/** Parse JSON bytes, or throw a FormatError naming the file. */
function parseJsonFile(bytes: Uint8Array, format: string, name: string): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(format, `${name} is not UTF-8 text`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(format, `${name} is not valid JSON (${oneLine((e as Error).message)})`);
  }
}

/** A token named by a tokenizer_config.json entry: a string or an object with `content`. */
function tokenName(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (isObject(entry) && typeof entry.content === "string") return entry.content;
  return undefined;
}

/** The special token a post-processor template puts before the text (Llama's <s>), if any. */
function templateBos(pp: unknown): number | undefined {
  if (!isObject(pp)) return undefined;
  if (pp.type === "Sequence" && Array.isArray(pp.processors)) {
    for (const p of pp.processors) {
      const id = templateBos(p);
      if (id !== undefined) return id;
    }
    return undefined;
  }
  if (pp.type !== "TemplateProcessing" || !Array.isArray(pp.single) || !isObject(pp.special_tokens)) return undefined;
  const first = pp.single[0];
  if (!isObject(first) || !isObject(first.SpecialToken)) return undefined;
  const special = pp.special_tokens[String(first.SpecialToken.id)];
  if (!isObject(special) || !Array.isArray(special.ids) || special.ids.length !== 1) return undefined;
  return Number.isInteger(special.ids[0]) ? (special.ids[0] as number) : undefined;
}

/** A Hugging Face tokenizer.json (BPE model) as a Tokenizer. */
export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly bos?: number;
  private readonly tok: HfLibTokenizer;

  private constructor(tok: HfLibTokenizer, name: string, vocabSize: number, bos: number | undefined) {
    this.tok = tok;
    this.name = name;
    this.vocabSize = vocabSize;
    if (bos !== undefined) this.bos = bos;
  }

  /**
   * Build from a parsed tokenizer.json and, optionally, the parsed
   * tokenizer_config.json beside it (its bos_token names BOS; without it BOS
   * is the special token the post-processor template puts first, if any).
   */
  static fromJson(json: unknown, opts: { name?: string; config?: unknown } = {}): HfTokenizer {
    const name = opts.name ?? "tokenizer.json";
    const bad = (msg: string) => new FormatError("tokenizer.json", `${name}: ${msg}`);
    if (!isObject(json)) throw bad("the top level is not a JSON object");
    const model = json.model;
    if (!isObject(model)) throw bad('no "model" object');
    if (model.type !== "BPE") {
      throw bad(`model type ${JSON.stringify(model.type ?? null)} is not supported; only BPE tokenizers are (GPT-2, Llama, Mistral, Qwen style)`);
    }
    if (!isObject(model.vocab)) throw bad('model.vocab is not an object');
    if (!Array.isArray(model.merges)) throw bad('model.merges is not an array');
    const added = json.added_tokens ?? [];
    if (!Array.isArray(added)) throw bad('"added_tokens" is not an array');
    if (opts.config !== undefined && !isObject(opts.config)) throw new FormatError("tokenizer_config.json", `beside ${name}: the top level is not a JSON object`);
    const config = opts.config ?? {};

    // The ids in use decide the vocabulary size (added tokens may lie past the model's vocab).
    let maxId = -1;
    for (const [piece, id] of Object.entries(model.vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw bad(`model.vocab gives ${JSON.stringify(piece)} the id ${JSON.stringify(id)}, not a non-negative integer`);
      maxId = Math.max(maxId, id as number);
    }
    for (const t of added) {
      if (!isObject(t) || typeof t.content !== "string" || !Number.isInteger(t.id) || (t.id as number) < 0) throw bad(`added token ${JSON.stringify(t)} lacks a string content or an integer id`);
      maxId = Math.max(maxId, t.id as number);
    }

    // The library wants every component key present (null when unused).
    const full = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json, added_tokens: added };
    let tok: HfLibTokenizer;
    try {
      tok = new HfLibTokenizer(full, config);
    } catch (e) {
      throw bad(oneLine((e as Error).message));
    }

    let bos = templateBos(json.post_processor);
    const bosName = tokenName(config.bos_token);
    if (bosName !== undefined) {
      bos = tok.token_to_id(bosName);
      if (bos === undefined) throw new FormatError("tokenizer_config.json", `beside ${name}: bos_token ${JSON.stringify(bosName)} is not in the vocabulary`);
    }
    return new HfTokenizer(tok, name, maxId + 1, bos);
  }

  /** Build from tokenizer.json bytes (and tokenizer_config.json bytes); corrupt files are FormatErrors naming them. */
  static parse(file: Uint8Array, name = "tokenizer.json", configFile?: { bytes: Uint8Array; name: string }): HfTokenizer {
    const json = parseJsonFile(file, "tokenizer.json", name);
    const config = configFile ? parseJsonFile(configFile.bytes, "tokenizer_config.json", configFile.name) : undefined;
    return HfTokenizer.fromJson(json, { name, config });
  }

  /** Token ids of `text` (added tokens in the text, like "<s>", are matched as tokens). */
  encode(text: string, opts?: { bos?: boolean }): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    if (ids.some((id) => id === undefined)) {
      throw new InputError(`tokenizer "${this.name}": ${JSON.stringify(text)} has a piece outside the vocabulary and the tokenizer has no unknown token`);
    }
    return withBos(this, ids, opts);
  }

  /** Text of token ids, special tokens printed, spaces left as they are. */
  decode(ids: number[]): string {
    checkIds(this, ids);
    if (ids.length === 0) return "";
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The token as tokenizer.json spells it ("Ġcat", "▁cat", "<0x0A>"). */
  piece(id: number): string {
    checkIds(this, [id]);
    const p = this.tok.id_to_token(id);
    if (p === undefined) throw new InputError(`tokenizer "${this.name}": no token has id ${id}`);
    return p;
  }
}
