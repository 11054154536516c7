// The tokenizer of llama2.c (`tokenizer.bin`, `tok512.bin`, …) with the
// encode and decode of its run.c: a SentencePiece BPE vocabulary flattened to
// pieces and merge scores. Not a SentencePiece .model reader and not a
// general BPE trainer. Pieces are byte strings; here each is held as a
// "binary" JS string (one char per byte) so lookups compare bytes exactly as
// run.c's strcmp does.
//
// File (run.c `build_tokenizer`): int32 max_token_length, then per token
// float32 score, int32 length, that many bytes (UTF-8, no terminator).
import { FormatError } from "../errors.js";

/** A malformed tokenizer file or text it cannot encode. */
export class TokenizerError extends FormatError {
  constructor(message: string) { super("llama2.c tokenizer", message); this.name = "TokenizerError"; }
}

export const BOS = 1;
export const EOS = 2;

const bytesToBinary = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
};

// run.c decode: sscanf(piece, "<0x%02hhX>", &byte) — "<0x" then one or two hex digits.
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{1,2})/;

export class Llama2cTokenizer {
  /** Pieces as binary strings (one char per byte). */
  readonly pieces: string[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
  private readonly lookup: Map<string, number>;

  private constructor(pieces: string[], scores: Float32Array, maxTokenLength: number) {
    this.pieces = pieces;
    this.scores = scores;
    this.maxTokenLength = maxTokenLength;
    // run.c binary-searches a sorted copy; with no duplicate pieces (checked) a map is the same.
    this.lookup = new Map(pieces.map((p, i) => [p, i]));
  }

  /** Parse tokenizer bytes; `vocabSize` (the model's) is checked when given. */
  static parse(file: Uint8Array, vocabSize?: number): Llama2cTokenizer {
    const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
    if (file.byteLength < 4) throw new TokenizerError(`file has ${file.byteLength} bytes; the 4-byte max_token_length is missing`);
    const maxLen = dv.getInt32(0, true);
    if (maxLen <= 0) throw new TokenizerError(`max_token_length is ${maxLen}; expected a positive integer`);
    const pieces: string[] = [], scores: number[] = [];
    let off = 4;
    while (off < file.byteLength && (vocabSize === undefined || pieces.length < vocabSize)) {
      const i = pieces.length;
      if (off + 8 > file.byteLength) throw new TokenizerError(`truncated at token ${i}: its score and length need 8 bytes at offset ${off}, the file has ${file.byteLength}`);
      const score = dv.getFloat32(off, true), len = dv.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || len > maxLen) throw new TokenizerError(`token ${i} has length ${len}, outside [0, max_token_length ${maxLen}] (corrupt file?)`);
      if (off + len > file.byteLength) throw new TokenizerError(`truncated at token ${i}: its ${len} bytes run past the end of the file`);
      pieces.push(bytesToBinary(file.subarray(off, off + len)));
      scores.push(score);
      off += len;
    }
    if (vocabSize !== undefined && pieces.length !== vocabSize) throw new TokenizerError(`file holds ${pieces.length} tokens but the model's vocabulary has ${vocabSize}`);
    if (off !== file.byteLength) throw new TokenizerError(`${file.byteLength - off} bytes left after ${pieces.length} tokens`);
    if (pieces.length <= EOS) throw new TokenizerError(`only ${pieces.length} tokens; <unk>, BOS and EOS alone need 3`);
    const seen = new Set<string>();
    for (const p of pieces) {
      if (seen.has(p)) throw new TokenizerError(`piece ${JSON.stringify(p)} occurs twice`);
      seen.add(p);
    }
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxLen);
  }

  get vocabSize(): number { return this.pieces.length; }

  /** Id of a piece (given as text), or −1. */
  id(piece: string): number { return this.lookup.get(bytesToBinary(new TextEncoder().encode(piece))) ?? -1; }

  /**
   * run.c `encode`: optional BOS, a dummy-prefix " " token (non-empty text),
   * one token per UTF-8 code point (byte fallback: byte + 3 when the code point
   * is no piece), then repeatedly merge the adjacent pair whose concatenation
   * is the piece with the highest score (first such pair on ties).
   */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const { bos = true, eos = false } = opts;
    const tokens: number[] = [];
    if (bos) tokens.push(BOS);
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > 0) {
      const space = this.lookup.get(" ");
      if (space === undefined) throw new TokenizerError('no " " piece for the dummy prefix');
      tokens.push(space);
    }
    // Group a lead byte with its continuation bytes (at most 4 bytes).
    let buf: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) !== 0x80) buf = [];
      buf.push(bytes[i]);
      if (i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = this.lookup.get(String.fromCharCode(...buf));
      if (id !== undefined) tokens.push(id);
      else for (const b of buf) tokens.push(b + 3); // <0x00> is token 3: after <unk>, <s>, </s>
      buf = [];
    }
    for (;;) {
      let bestScore = -1e10, bestId = -1, bestIdx = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const id = this.lookup.get(this.pieces[tokens[i]] + this.pieces[tokens[i + 1]]);
        if (id !== undefined && this.scores[id] > bestScore) { bestScore = this.scores[id]; bestId = id; bestIdx = i; }
      }
      if (bestIdx < 0) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    if (eos) tokens.push(EOS);
    return tokens;
  }

  /**
   * run.c `decode(prev, token)`: the bytes printed for `token` after `prev`.
   * After BOS a leading space is dropped (SentencePiece's dummy prefix);
   * `<0xXX>` pieces are the raw byte.
   */
  pieceBytes(prev: number, token: number): Uint8Array {
    if (!Number.isInteger(token) || token < 0 || token >= this.pieces.length) throw new TokenizerError(`token ${token} is outside the vocabulary [0, ${this.pieces.length})`);
    let p = this.pieces[token];
    if (prev === BOS && p[0] === " ") p = p.slice(1);
    const m = BYTE_PIECE.exec(p);
    if (m) return Uint8Array.of(parseInt(m[1], 16));
    return Uint8Array.from(p, (c) => c.charCodeAt(0));
  }

  /**
   * Text of a token sequence, as run.c prints it piece by piece (each piece
   * decoded against the token before it). BOS and EOS print nothing; bytes
   * are joined before UTF-8 decoding so byte-fallback code points come out whole.
   */
  decode(tokens: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] === BOS || tokens[i] === EOS) continue;
      const b = this.pieceBytes(i > 0 ? tokens[i - 1] : -1, tokens[i]);
      parts.push(b);
      n += b.length;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    return new TextDecoder().decode(all);
  }
}
