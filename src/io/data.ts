// The token-id data format `acdc run --data` reads (clean and corrupted token
// ids [batch][pos], the positions the metric reads, and for logit-diff the
// correct/incorrect tokens), checked field by field. Runtime-agnostic: the
// CLI reads the file, the explorer a dropped File; both call this with the
// parsed JSON and the name to put in messages. Not here: whether the ids fit
// a model's vocabulary (the Patcher checks that against the model).
import { InputError } from "../errors.js";
import type { PatchData } from "../patch/patcher.js";

/** A data file's content: PatchData plus the logit-diff tokens when given. */
export type DataJson = PatchData & { correct?: number[]; incorrect?: number[] };

const isTokenRows = (x: unknown): x is number[][] => Array.isArray(x) && x.every((r) => Array.isArray(r) && r.every((v) => typeof v === "number"));

const KNOWN = new Set(["clean", "corrupted", "positions", "correct", "incorrect"]);

/** Check parsed JSON `j` as a data file named `name` (messages say "data file NAME: …"); throws InputError. */
export function parseDataJson(j: unknown, name: string): DataJson {
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new InputError(`data file ${name} must hold a JSON object`);
  const o = j as Record<string, unknown>;
  if (!isTokenRows(o.clean) || o.clean.length === 0) throw new InputError(`data file ${name}: "clean" must be a non-empty list of token-id lists`);
  if (o.corrupted !== undefined && !isTokenRows(o.corrupted)) throw new InputError(`data file ${name}: "corrupted" must be a list of token-id lists`);
  const positions = o.positions;
  if (!Array.isArray(positions) || !positions.every((p) => typeof p === "number" || (Array.isArray(p) && p.every((q) => typeof q === "number")))) {
    throw new InputError(`data file ${name}: "positions" must list one position (or a list of positions) per prompt`);
  }
  const nums = (k: string) => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new InputError(`data file ${name}: "${k}" must be a list of token ids`);
    return v as number[];
  };
  const extra = Object.keys(o).filter((k) => !KNOWN.has(k));
  if (extra.length) throw new InputError(`data file ${name}: unknown field${extra.length > 1 ? "s" : ""} ${extra.map((k) => `"${k}"`).join(", ")} (expected clean, corrupted, positions, correct, incorrect)`);
  return { clean: o.clean, corrupted: o.corrupted as number[][] | undefined, positions: positions as number[] | number[][], correct: nums("correct"), incorrect: nums("incorrect") };
}

/** Parse a data file's text (a JSON syntax error names the file) and check it. */
export function parseDataText(text: string, name: string): DataJson {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new InputError(`data file ${name} is not valid JSON: ${(e as Error).message}`); }
  return parseDataJson(j, name);
}
