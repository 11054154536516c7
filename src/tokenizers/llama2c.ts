// A llama2.c tokenizer file (tokenizer.bin, tok512.bin) behind the common
// Tokenizer interface. Encoding is the existing Llama2cTokenizer's port of
// run.c, unchanged. What differs from run.c is only what the interface fixes
// for every tokenizer (see tokenizer.ts), here in SentencePiece's and Hugging
// Face's Llama conventions so the same ids read the same under either:
// - BOS only on request (run.c's encode adds it by default);
// - pieces spell spaces "▁" and specials "<unk>", "<s>", "</s>" (the file
//   stores " " and "\n<s>\n", "\n</s>\n");
// - decode prints <s> and </s> as text, <0xNN> as the byte, and drops one
//   leading space of the whole text: the dummy prefix encode put there (run.c
//   instead prints nothing for BOS/EOS and drops the space after BOS only).
import { BOS, EOS, Llama2cTokenizer, TokenizerError } from "../model/llama2c-tokenizer.js";
import { FormatError } from "../errors.js";
import { checkIds, withBos, type Tokenizer } from "./tokenizer.js";

const SPECIAL = ["<unk>", "<s>", "</s>"];
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/** A llama2.c tokenizer (.bin) as a Tokenizer. */
export class Llama2cBinTokenizer implements Tokenizer {
  readonly name: string;
  readonly bos = BOS;
  readonly inner: Llama2cTokenizer;
  private readonly pieces: string[];
  private readonly bytes: Uint8Array[];

  /** Wrap a parsed Llama2cTokenizer. */
  constructor(inner: Llama2cTokenizer, name = "llama2.c") {
    this.inner = inner;
    this.name = name;
    // inner.pieces are "binary" strings (one char per byte); keep the bytes and the readable text.
    const text = new TextDecoder("utf-8", { ignoreBOM: true });
    this.bytes = inner.pieces.map((p) => Uint8Array.from(p, (c) => c.charCodeAt(0)));
    this.pieces = this.bytes.map((b, id) => (id <= EOS ? SPECIAL[id] : text.decode(b).replaceAll(" ", "\u2581")));
    // A byte token decodes to its byte; others to their bytes, specials to their names.
    for (let id = 0; id < this.bytes.length; id++) {
      const m = BYTE_PIECE.exec(this.pieces[id]);
      if (m) this.bytes[id] = Uint8Array.of(parseInt(m[1], 16));
      else if (id <= EOS) this.bytes[id] = new TextEncoder().encode(SPECIAL[id]);
    }
  }

  /** Parse llama2.c tokenizer bytes; a corrupt file is a FormatError naming `name`. */
  static parse(file: Uint8Array, name = "llama2.c", vocabSize?: number): Llama2cBinTokenizer {
    try {
      return new Llama2cBinTokenizer(Llama2cTokenizer.parse(file, vocabSize), name);
    } catch (e) {
      if (e instanceof TokenizerError) throw new FormatError("llama2.c tokenizer", `${name}: ${e.message.replace(/^llama2\.c tokenizer: /, "")}`);
      throw e;
    }
  }

  get vocabSize(): number { return this.pieces.length; }

  /** run.c's encode: dummy-prefix space, code points or their bytes, then merges by score. */
  encode(text: string, opts?: { bos?: boolean }): number[] {
    return withBos(this, this.inner.encode(text, { bos: false }), opts);
  }

  /** Text of token ids, without the dummy-prefix space. */
  decode(ids: number[]): string {
    checkIds(this, ids);
    let n = 0;
    for (const id of ids) n += this.bytes[id].length;
    const all = new Uint8Array(n);
    let o = 0;
    for (const id of ids) { all.set(this.bytes[id], o); o += this.bytes[id].length; }
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(all);
    return text.startsWith(" ") ? text.slice(1) : text;
  }

  /** The token as SentencePiece spells it ("▁cat", "<0x0A>", "<s>"). */
  piece(id: number): string {
    checkIds(this, [id]);
    return this.pieces[id];
  }
}
