// GPT-2's tokenizer (OpenAI's r50k_base byte-level BPE: 50,256 merges and
// bytes, plus <|endoftext|> = 50256), encoding through the gpt-tokenizer
// package. <|endoftext|> doubles as BOS, as GPT-2 was trained with it between
// documents and TransformerLens prepends it; in text it is the special token
// (as in Hugging Face's GPT-2 tokenizer), not the 13 characters, wherever it
// stands.
//
// decode is done here from gpt-tokenizer's rank table rather than with its
// decode, which mangles byte sequences that are not valid UTF-8 (a lone
// continuation byte can come out as an unrelated character); here bytes are
// joined and decoded once, invalid sequences becoming U+FFFD, as Hugging
// Face's ByteLevel decoder does.
import { encode as r50kEncode } from "gpt-tokenizer/encoding/r50k_base";
import r50kRanks from "gpt-tokenizer/bpeRanks/r50k_base";
import { checkIds, withBos, type Tokenizer } from "./tokenizer.js";

const END_OF_TEXT = "<|endoftext|>";
const EOT_ID = 50256;
const NONE = new Set<string>();

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others for U+0100 onwards. */
function byteToChar(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) table.push(String.fromCodePoint(printable(b) ? b : next++));
  return table;
}

/** GPT-2's r50k_base tokenizer. */
export class R50kTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize = EOT_ID + 1;
  readonly bos = EOT_ID;
  private readonly bytes: Uint8Array[];
  private byteChars?: string[];

  constructor(name = "r50k") {
    this.name = name;
    if (r50kRanks.length !== EOT_ID) throw new Error(`gpt-tokenizer's r50k table has ${r50kRanks.length} entries, expected ${EOT_ID}`);
    // The table holds a token as text when its bytes are valid UTF-8, else as the byte values.
    const utf8 = new TextEncoder();
    this.bytes = r50kRanks.map((e) => (typeof e === "string" ? utf8.encode(e) : Uint8Array.from(e)));
  }

  /** Token ids of `text`; `<|endoftext|>` in the text is the special token. */
  encode(text: string, opts?: { bos?: boolean }): number[] {
    // The text is split at <|endoftext|> here because gpt-tokenizer 4.0.0,
    // even with allowedSpecial, finds a special token only where the text
    // (or the previous special token) ends, and spells the rest as
    // characters. The parts hold no special token, so none is allowed.
    const ids: number[] = [];
    text.split(END_OF_TEXT).forEach((part, i) => {
      if (i > 0) ids.push(EOT_ID);
      if (part !== "") for (const id of r50kEncode(part, { disallowedSpecial: NONE })) ids.push(id);
    });
    return withBos(this, ids, opts);
  }

  /** Text of token ids; bytes that do not form UTF-8 become U+FFFD. */
  decode(ids: number[]): string {
    checkIds(this, ids);
    const dec = new TextDecoder("utf-8", { ignoreBOM: true });
    let text = "", run: number[] = [];
    const flush = () => { if (run.length > 0) { text += dec.decode(Uint8Array.from(run)); run = []; } };
    for (const id of ids) {
      if (id === EOT_ID) { flush(); text += END_OF_TEXT; } else for (const b of this.bytes[id]) run.push(b);
    }
    flush();
    return text;
  }

  /** The token as GPT-2's vocab.json spells it ("Ġcat"). */
  piece(id: number): string {
    checkIds(this, [id]);
    if (id === EOT_ID) return END_OF_TEXT;
    const table = (this.byteChars ??= byteToChar());
    let s = "";
    for (const b of this.bytes[id]) s += table[b];
    return s;
  }
}
