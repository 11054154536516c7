// Prompts written as text, and task files, turned into token-id data for a
// run. SEAM (issue 14, branch texttasks): the package's own task-file loader
// is not merged yet; until it is, this file reads the minimal task form the
// issue fixes ({tokenizer, clean, corrupted, metric: kl | logit-diff with
// correct/incorrect strings, positions: "last" or indices per prompt,
// optional ground_truth}) with the package's tokenizers. When the loader
// lands, taskFromFile should call it and keep only the adaptation to
// {data, metric, groundTruth, preview}; the page and the worker need no
// other change. Runs inside the worker.
import { InputError } from "./acdc-wasm.mjs";

const show = (toks) => `[${toks.join(", ")}]`;

/** Token ids of each prompt pair, refusing pairs of different lengths with their tokens in the message. */
function encodePairs(tok, clean, corrupted, bos) {
  if (!Array.isArray(clean) || clean.length === 0) throw new InputError(`"clean" must be a non-empty list of prompts`);
  if (!Array.isArray(corrupted) || corrupted.length !== clean.length) throw new InputError(`"corrupted" must list one prompt per clean prompt (${clean.length}), got ${Array.isArray(corrupted) ? corrupted.length : JSON.stringify(corrupted)}`);
  const enc = (s, i, which) => {
    if (Array.isArray(s)) return s;
    if (typeof s !== "string" || s === "") throw new InputError(`${which} prompt ${i + 1} must be a non-empty string`);
    return tok.encode(s, { bos: bos && tok.bos !== undefined });
  };
  const a = clean.map((s, i) => enc(s, i, "clean")), b = corrupted.map((s, i) => enc(s, i, "corrupted"));
  a.forEach((x, i) => {
    if (x.length !== b[i].length) {
      throw new InputError(`prompt ${i + 1}: clean ${JSON.stringify(clean[i])} has ${x.length} tokens ${show(x)} but corrupted ${JSON.stringify(corrupted[i])} has ${b[i].length} ${show(b[i])}`);
    }
  });
  return { clean: a, corrupted: b };
}

/** One token id per answer string (a single answer applies to every prompt). */
function answers(tok, list, n, what) {
  const xs = typeof list === "string" ? Array(n).fill(list) : list;
  if (!Array.isArray(xs) || xs.length !== n) throw new InputError(`"${what}" must be one string, or one per prompt (${n})`);
  return xs.map((s, i) => {
    if (typeof s === "number") return s;
    const ids = tok.encode(s);
    if (ids.length !== 1) throw new InputError(`${what} ${i + 1} ${JSON.stringify(s)} is ${ids.length} tokens ${show(ids)}, not one`);
    return ids[0];
  });
}

function positionsOf(spec, rows) {
  if (spec === undefined || spec === "last") return rows.map((r) => r.length - 1);
  if (Array.isArray(spec) && spec.length === rows.length) return spec;
  throw new InputError(`"positions" must be "last" or one position (or list) per prompt`);
}

/**
 * Build data from a task description: tokenizer spec, clean/corrupted
 * prompts (strings or token ids), metric, positions, answers.
 * `readFile(path)` gives a tokenizer file's bytes; `tokenizers()` imports the tokenizers bundle.
 */
export async function taskFromText(spec, readFile, tokenizers) {
  const needsText = [spec.clean, spec.corrupted].some((xs) => Array.isArray(xs) && xs.some((s) => typeof s === "string"));
  let tok = null;
  if (needsText || spec.metric === "logit-diff") {
    if (!spec.tokenizer) throw new InputError(`text prompts need a "tokenizer" ("gpt2", a tokenizer.json or a llama2.c .bin)`);
    const { loadTokenizer } = await tokenizers();
    tok = await loadTokenizer(spec.tokenizer, readFile, "");
  }
  const { clean, corrupted } = encodePairs(tok, spec.clean, spec.corrupted, spec.bos !== false);
  const metric = spec.metric ?? "kl";
  if (metric !== "kl" && metric !== "logit-diff") throw new InputError(`metric ${JSON.stringify(metric)}: this explorer reads kl and logit-diff task files (nll waits for the task-file loader)`);
  const data = { clean, corrupted, positions: positionsOf(spec.positions, clean) };
  if (metric === "logit-diff") {
    data.correct = answers(tok, spec.correct, clean.length, "correct");
    data.incorrect = answers(tok, spec.incorrect, clean.length, "incorrect");
  }
  const gt = spec.ground_truth ?? spec.groundTruth ?? null;
  if (gt !== null && !(Array.isArray(gt) && gt.every((e) => Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "string"))) {
    throw new InputError(`"ground_truth" must be a list of [parent label, child label] pairs`);
  }
  const preview = tok ? clean.slice(0, 2).map((ids) => ids.map((id) => tok.piece(id)).join(" ")) : null;
  return { data, metric, groundTruth: gt ? gt.map(([a, b]) => [a, b]) : null, preview };
}

/** A task file's text (see the file header) as data. */
export async function taskFromFile(text, name, readFile, tokenizers) {
  let j;
  try { j = JSON.parse(text); } catch (e) { throw new InputError(`task file ${name} is not valid JSON: ${e.message}`); }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new InputError(`task file ${name} must hold a JSON object`);
  try {
    return await taskFromText(j, readFile, tokenizers);
  } catch (e) {
    // Tokenizer errors come from the tokenizers bundle's own error classes: name the file whatever threw.
    const msg = e?.message ?? String(e);
    throw msg.startsWith(`task file ${name}`) ? e : new InputError(`task file ${name}: ${msg}`);
  }
}
