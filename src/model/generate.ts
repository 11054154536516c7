// Greedy (temperature 0) decoding with any Transformer: what llama2.c's
// `run model.bin -t 0` does, without a KV cache — each step is a full forward
// pass over the sequence so far, so it is O(steps · T²) and meant for short
// checks of a converted model, not for serving.
import type { Transformer } from "./transformer.js";

export interface GreedyOptions {
  /** Tokens to generate at most. */
  steps: number;
  /** Stop (without appending) when the argmax is one of these; run.c stops at BOS (1). */
  stop?: number[];
}

/** argmax of row `r` of logits [R, V]; the first maximum wins, as run.c's `argmax`. */
export function argmaxRow(logits: Float32Array, r: number, V: number): number {
  let best = 0, bv = logits[r * V];
  for (let v = 1; v < V; v++) if (logits[r * V + v] > bv) { bv = logits[r * V + v]; best = v; }
  return best;
}

/** Continue `prompt` (ids, including any BOS) greedily; returns only the new tokens. */
export function greedyDecode(model: Transformer, prompt: number[], opts: GreedyOptions): number[] {
  const seq = prompt.slice();
  const out: number[] = [];
  const V = model.cfg.dVocab;
  const stop = new Set(opts.stop ?? []);
  for (let s = 0; s < opts.steps && seq.length < model.cfg.nCtx; s++) {
    const { logits } = model.forward([seq]);
    const next = argmaxRow(logits, seq.length - 1, V);
    if (stop.has(next)) break;
    seq.push(next);
    out.push(next);
  }
  return out;
}
