// The paper's two tracr programs, written as the ACDC code writes them
// (acdc/tracr_task/utils.py get_tracr_model_input_and_tl_model), with the
// vocabularies and lengths it compiles them with.
import { compileRasp, type CompiledModel } from "./compiler.js";
import { indices, raspBuilder, tokens, type SOp, type Value } from "./rasp.js";

export interface TracrProgram {
  name: "reverse" | "proportion";
  program: SOp;
  vocab: Value[];
  maxSeqLen: number;
  /** The program's intended output at each position (what the model should compute). */
  expected(xs: Value[]): Value[];
}

/**
 * reverse: length = SelectorWidth(Select(tokens, tokens, TRUE));
 * opp_index = length − indices − 1 (a SequenceMap, then a Map);
 * reverse = Aggregate(Select(indices, opp_index, EQ), tokens).
 * Vocabulary {1, 2, 3}, max length 5.
 */
export function reverseProgram(): TracrProgram {
  const r = raspBuilder();
  const length = r.selectorWidth(r.select(tokens, tokens, "TRUE"));
  const oppIndex = r.map((x) => (x as number) - 1, r.sequenceMap((x, y) => (x as number) - (y as number), length, indices));
  const flip = r.select(indices, oppIndex, "EQ");
  return { name: "reverse", program: r.aggregate(flip, tokens), vocab: [1, 2, 3], maxSeqLen: 5, expected: (xs) => [...xs].reverse() };
}

/**
 * proportion: tracr's lib.make_frac_prevs(tokens == "x"): the fraction of
 * positions so far holding "x", a numerical Aggregate over
 * Select(indices, indices, LEQ) of the numerical Map tokens == "x".
 * Vocabulary {w, x, y, z}, max length 5.
 */
export function proportionProgram(): TracrProgram {
  const r = raspBuilder();
  const isX = r.map((x) => x === "x", tokens, { encoding: "numerical" });
  const prevs = r.select(indices, indices, "LEQ");
  const program = r.aggregate(prevs, isX, { name: "frac_prevs", encoding: "numerical", default: 0 });
  return {
    name: "proportion", program, vocab: ["w", "x", "y", "z"], maxSeqLen: 5,
    expected: (xs) => xs.map((_, i) => xs.slice(0, i + 1).filter((x) => x === "x").length / (i + 1)),
  };
}

/** Compile one of the two programs as the paper does (BOS "BOS", pad "compiler_pad", mlp_exactness 100). */
export function compileTracr(name: "reverse" | "proportion"): { program: TracrProgram; model: CompiledModel } {
  const program = name === "reverse" ? reverseProgram() : proportionProgram();
  return { program, model: compileRasp(program.program, { vocab: program.vocab, maxSeqLen: program.maxSeqLen }) };
}
