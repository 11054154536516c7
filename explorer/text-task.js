// Task files and typed prompts made into the worker's data, through the
// package's own task-file reader and builder: the same calls `acdc run
// --task F` makes (parseTaskJson, readTaskSpec, the tokenizer the file
// names, buildTextTask for the model's geometry), so a file the CLI accepts
// gives the same tokens here and a file it refuses gives the same message.
// What stays here is the browser's side: files come from the picker rather
// than a folder, the tokenizers bundle is imported only when a file names a
// tokenizer (it carries the r50k table), and the result is shaped for the
// page (preview, ground truth as label pairs) and for the run manifest (the
// parsed file and the tokenizer's bytes and digest). Runs inside the worker.
import { buildTextTask, parseTaskJson, readTaskSpec, sha256Hex } from "./acdc-wasm.mjs";

/**
 * A readFile that also remembers the first file it gave (the tokenizer
 * file itself; a tokenizer.json's tokenizer_config.json is read after it),
 * so the manifest can record the bytes the tokens came from.
 */
function recording(readFile) {
  const r = async (path) => {
    const bytes = await readFile(path);
    if (bytes && !r.first) r.first = { bytes, name: path.split(/[\\/]/).pop() };
    return bytes;
  };
  r.first = null;
  return r;
}

/**
 * Build a parsed task file (any JSON value) for a model of geometry `cfg`.
 * `readFile(path)` gives a tokenizer file's bytes (null: not there);
 * `tokenizers()` imports the tokenizers bundle. Errors are the package's,
 * one line, starting with `source`.
 */
export async function taskFromJson(json, source, { cfg, readFile, tokenizers }) {
  const spec = readTaskSpec(json, source);
  const reader = recording(readFile);
  // No baseDir: a picked file has no folder, so the reader matches the file the task names by its name alone.
  const tok = spec.tokenizer === undefined ? null : await (await tokenizers()).loadTaskTokenizer(spec, reader);
  const task = buildTextTask(spec, tok, cfg);
  const named = spec.tokenizer;
  const tokenizerRef = named === undefined ? null
    : reader.first ? { spec: named, path: reader.first.name, bytes: reader.first.bytes.byteLength, sha256: sha256Hex(reader.first.bytes) }
    : { spec: named };
  const preview = tok ? task.data.clean.slice(0, 2).map((ids) => ids.map((id) => tok.piece(id)).join(" ")) : null;
  return {
    task, json, tokenizerRef, preview,
    groundTruth: task.groundTruth ? task.groundTruth.map(([a, b]) => [a, b]) : null,
  };
}

/** A task file's text, named `name` in messages (the CLI names it by its path). */
export async function taskFromFile(text, name, opts) {
  return taskFromJson(parseTaskJson(text, name), name, opts);
}
