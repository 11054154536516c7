// The one interface every text tokenizer of the package implements, so a task
// file can name "gpt2", a Hugging Face tokenizer.json or a llama2.c .bin and
// the code that builds prompts does not care which. Conventions shared by all
// implementations (and tested for each):
// - encode returns the text's own tokens; BOS is prepended only when asked
//   ({ bos: true }), and no other special token is ever added.
// - decode prints every id, special tokens as their text ("<s>",
//   "<|endoftext|>"), as Hugging Face's decode(ids, skip_special_tokens=False,
//   clean_up_tokenization_spaces=False) does; so decode(encode(t)) === t
//   unless the tokenizer itself loses text (a Metaspace tokenizer.json drops
//   a leading space: " a" encodes as "▁a", like "a").
// - piece(id) is the token as its vocabulary spells it, the form people know
//   from Hugging Face tooling: "Ġcat" for GPT-2, "▁cat" for SentencePiece.
import { InputError } from "../errors.js";

/** A text tokenizer: text to token ids and back. */
export interface Tokenizer {
  /** What the tokenizer was loaded as ("gpt2", a file path), for messages. */
  readonly name: string;
  /** Number of token ids, special tokens included. */
  readonly vocabSize: number;
  /** BOS token id, when the tokenizer has one. */
  readonly bos?: number;
  /** Token ids of `text`; BOS first only with `{ bos: true }` (an InputError if there is none). */
  encode(text: string, opts?: { bos?: boolean }): number[];
  /** Text of token ids, special tokens printed as their text. */
  decode(ids: number[]): string;
  /** A token's vocabulary spelling ("Ġcat", "▁cat", "<0x0A>"). */
  piece(id: number): string;
}

/** Throw an InputError unless every id is an integer in [0, vocabSize). */
export function checkIds(tok: Pick<Tokenizer, "name" | "vocabSize">, ids: ArrayLike<number>): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) {
      throw new InputError(`tokenizer "${tok.name}": token id ${id} at position ${i} is outside its vocabulary [0, ${tok.vocabSize})`);
    }
  }
}

/** `ids` with the tokenizer's BOS in front when `opts.bos` asks for it. */
export function withBos(tok: Pick<Tokenizer, "name" | "bos">, ids: number[], opts?: { bos?: boolean }): number[] {
  if (!opts?.bos) return ids;
  if (tok.bos === undefined) throw new InputError(`tokenizer "${tok.name}" has no BOS token; encode without { bos: true }`);
  return [tok.bos, ...ids];
}
