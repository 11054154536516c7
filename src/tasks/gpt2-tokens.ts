// GPT-2's BPE (r50k_base, through gpt-tokenizer) as the paper's GPT-2 tasks use it.
import { decode, encode } from "gpt-tokenizer/encoding/r50k_base";
import { InputError } from "../errors.js";

/** Token ids of `text` (GPT-2 BPE, r50k_base). */
export function gpt2Encode(text: string): number[] { return encode(text); }

/** Text of GPT-2 token ids. */
export function gpt2Decode(ids: number[]): string { return decode(ids); }

/** The one token of a string that GPT-2 encodes as one token; throws otherwise. */
export function gpt2Token(text: string): number {
  const t = encode(text);
  if (t.length !== 1) throw new InputError(`${JSON.stringify(text)} is ${t.length} GPT-2 tokens, expected 1`);
  return t[0];
}
