// What a user hands the page, sorted into what it is: picked or dropped
// files (folders walked) become a model (weights + config, as `acdc run
// --model` resolves them), token-id data, a task file, a circuit JSON to
// view, or tokenizer files; the built-in models and whether this server
// has their files. Main thread; nothing here reads weights (a .bin's first
// four bytes aside, to tell a zipped PyTorch checkpoint from a llama2.c
// one, as the CLI does): the worker does, through loadModel, so every
// format loadModel learns is picked up.

/** Built-in models: compiled in code (tracr) or files beside the page (models/…), each with its own task. */
export const BUILTINS = [
  { key: "tracr-reverse", name: "tracr-reverse (compiled from RASP)", spec: { kind: "tracr", task: "tracr-reverse" }, threshold: 0.001 },
  { key: "tracr-proportion", name: "tracr-proportion (compiled from RASP)", spec: { kind: "tracr", task: "tracr-proportion" }, threshold: 0.001 },
  {
    key: "induction-2l", name: "induction (trained 2-layer attention-only)", threshold: 0.01,
    spec: { kind: "url", name: "induction-2l", weights: "models/induction-2l.safetensors", config: "models/induction-2l.config.json", task: "induction" },
  },
  {
    key: "stories260K", name: "stories260K (llama2.c TinyStories, name repetition)", threshold: 0.01,
    spec: { kind: "url", name: "stories260K", weights: "models/stories260K/stories260K.bin", tokenizer: "models/stories260K/tok512.bin", task: "name-repeat" },
  },
];

/** The built-ins whose files this server has (HEAD requests; tracr needs none). */
export async function availableBuiltins() {
  const ok = await Promise.all(BUILTINS.map(async (b) => {
    if (b.spec.kind !== "url") return true;
    try { return (await fetch(b.spec.weights, { method: "HEAD" })).ok; } catch { return false; }
  }));
  return BUILTINS.filter((_, i) => ok[i]);
}

/** A picked or dropped file with its path inside a picked folder ("" when picked alone). */
export const entry = (file, path = file.webkitRelativePath || "") => ({ file, path, name: file.name });

/** Every file of a drop, folders walked (Chromium and Firefox expose dropped folders as entries). */
export async function droppedFiles(dt) {
  const items = [...(dt.items ?? [])].map((it) => it.webkitGetAsEntry?.()).filter(Boolean);
  if (!items.length) return [...dt.files].map((f) => entry(f));
  const out = [];
  const walk = async (e, prefix) => {
    if (e.isFile) {
      const file = await new Promise((ok, fail) => e.file(ok, fail));
      out.push(entry(file, prefix ? `${prefix}/${file.name}` : ""));
    } else if (e.isDirectory) {
      const reader = e.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const c of batch) await walk(c, prefix ? `${prefix}/${e.name}` : e.name);
      }
    }
  };
  for (const e of items) await walk(e, "");
  return out;
}

const ext = (name) => (/\.([^.]+)$/.exec(name)?.[1] ?? "").toLowerCase();
const TOKENIZER_NAMES = /^(tokenizer\.json|tokenizer_config\.json|tokenizer\.bin|tok\d*\.bin|tokenizer\.model)$/i;
/** Weights files loadModel may read: safetensors, llama2.c .bin, PyTorch checkpoints (whatever the loader takes decides). */
const isWeights = (e) => !TOKENIZER_NAMES.test(e.name) && ["safetensors", "bin", "pth", "pt"].includes(ext(e.name));
/** The index JSON of a sharded checkpoint (model.safetensors.index.json, pytorch_model.bin.index.json). */
const isIndex = (e) => /\.index\.json$/i.test(e.name);

/** What a parsed JSON file is: circuit, data, task, config, or null. */
export function jsonRole(j, name = "") {
  if (TOKENIZER_NAMES.test(name)) return "tokenizer";
  if (j === null || typeof j !== "object" || Array.isArray(j)) return null;
  if ("version" in j && Array.isArray(j.edges) && Array.isArray(j.nodes)) return "circuit";
  if ("tokenizer" in j || (Array.isArray(j.clean) && j.clean.some((x) => typeof x === "string"))) return "task";
  if (Array.isArray(j.clean)) return "data";
  if (["n_layers", "d_model", "model_type", "nLayers", "architectures", "num_hidden_layers", "n_layer"].some((k) => k in j)) return "config";
  return null;
}

/** A JSON file's text parsed, naming the file when it is not JSON. */
export async function readJson(file, what) {
  const text = await file.text();
  try { return JSON.parse(text); } catch (e) { throw new Error(`${what} file ${file.name} is not valid JSON: ${e.message}`); }
}

/**
 * Sort files into roles: model files (weights, configs, tokenizer files,
 * all kept together so a folder's tokenizer goes with its model), data,
 * task and circuit files.
 */
export async function sortFiles(entries) {
  const out = { model: [], data: [], task: [], circuit: [], tokenizer: [], unknown: [] };
  for (const e of entries) {
    if (isWeights(e) || isIndex(e)) { out.model.push(e); continue; }
    if (TOKENIZER_NAMES.test(e.name)) { out.tokenizer.push(e); continue; }
    if (ext(e.name) !== "json") { out.unknown.push(e); continue; }
    let j = null;
    try { j = JSON.parse(await e.file.text()); } catch { /* reported by whoever reads it as what it claims to be */ }
    const role = jsonRole(j, e.name);
    if (role === "config") out.model.push(e);
    else if (role && out[role]) out[role].push(e);
    else if (/config/i.test(e.name)) out.model.push(e);
    else out.unknown.push(e);
  }
  return out;
}

/** The weights a Hugging Face folder may hold, in the order `acdc run --model DIR` prefers them (an index: its shards). */
const FOLDER_WEIGHTS = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

/** Whether a file's first bytes are a zip's (a torch.save checkpoint, whatever its extension). */
async function isZip(file) {
  const b = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  return b.length === 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

/**
 * The model spec (for the worker) of model files, resolved as the CLI
 * resolves --model: NAME.safetensors or a PyTorch NAME.pth / NAME.pt with
 * NAME.config.json or config.json, a Hugging Face folder (model.safetensors,
 * the shards of model.safetensors.index.json, or pytorch_model.bin, in that
 * order, with its config.json), or a llama2.c .bin (its header is its
 * config; a zipped .bin is a PyTorch checkpoint). Tokenizer files among
 * them go along.
 */
export async function modelSpecFromFiles(entries) {
  const names = entries.map((e) => e.name).join(", ") || "nothing";
  const candidates = [...entries.filter(isWeights), ...entries.filter(isIndex)];
  if (!candidates.length) throw new Error(`no model weights among ${names}: give a .safetensors or .pth file with its config.json, a llama2.c .bin, or a model folder`);
  let w = candidates[0];
  if (candidates.length > 1) {
    const indexes = candidates.filter(isIndex);
    w = FOLDER_WEIGHTS.map((n) => candidates.find((e) => e.name === n)).find(Boolean) ?? (indexes.length === 1 ? indexes[0] : null);
    if (!w) throw new Error(`several weights files (${candidates.map((e) => e.name).join(", ")}): give one model at a time${candidates.some((e) => /-of-\d+\./.test(e.name)) ? " (a sharded checkpoint goes with its index, model.safetensors.index.json)" : ""}`);
  }
  const sharded = isIndex(w);
  const stem = sharded ? w.name.replace(/(\.[^.]+)?\.index\.json$/i, "") : w.name.replace(/\.[^.]+$/, "");
  const folder = w.path.includes("/") ? w.path.split("/")[0] : "";
  // Only a llama2.c checkpoint carries its own config; the CLI ignores any config beside one.
  const needsConfig = sharded || ext(w.name) !== "bin" || (await isZip(w.file));
  const configs = entries.filter((e) => e !== w && ext(e.name) === "json" && !isIndex(e) && !TOKENIZER_NAMES.test(e.name));
  const config = !needsConfig ? null
    : configs.find((e) => e.name === `${stem}.config.json`) ?? configs.find((e) => e.name === "config.json") ?? (configs.length === 1 ? configs[0] : null);
  if (!config && needsConfig) throw new Error(`no config for ${w.name}: expected ${stem}.config.json or config.json beside it (pick both files, or the folder)`);
  const tokenizer = entries.filter((e) => TOKENIZER_NAMES.test(e.name)).map((e) => e.file);
  let index = null, shards = null;
  if (sharded) {
    index = await readJson(w.file, "shard index");
    if (index === null || typeof index !== "object" || Array.isArray(index)) throw new Error(`shard index file ${w.name} must hold a JSON object`);
    // The shards the index names that are here; one left out is the loader's to report, naming it.
    const wanted = new Set(index.weight_map !== null && typeof index.weight_map === "object" ? Object.values(index.weight_map) : []);
    const inFolder = (e) => e.path.split("/").slice(0, -1).join("/") === w.path.split("/").slice(0, -1).join("/");
    // In the index's order, as the CLI lists them.
    shards = [...wanted].map((n) => entries.find((e) => e.name === n && isWeights(e) && inFolder(e))).filter(Boolean).map((e) => ({ name: e.name, file: e.file }));
  }
  return {
    kind: "files", name: folder && FOLDER_WEIGHTS.includes(w.name) ? folder : stem,
    // A sharded checkpoint is recorded, as the CLI records it, by its index: the weights file it was named by.
    weights: w.file, weightsName: w.name, index, shards,
    config: config ? await readJson(config.file, "model config") : null,
    // The file too: a run manifest records the digest of its bytes as read.
    configFile: config ? config.file : null,
    tokenizer: tokenizer.length ? tokenizer : null,
  };
}
