// The explorer's engine: a module Worker that owns the wasm engine, the
// loaded model, the prepared data and the last run's patcher, so the page
// never blocks and Cancel can end a search by terminating this worker.
// Requests come as {id, type, ...}; answers are {id, type: "done", ...} or
// {id, type: "error", message}; long requests also send {id, type:
// "progress" | "sweep-run", ...} on the way. Requests are handled one at a
// time, in order. Everything here calls the package's public bundle; the
// only explorer-specific logic is turning picked files into inputs.
//
//   init   {threads}                 create the engine
//   load   {spec}                    a model: tracr | url | files | hub
//   data   {spec}                    data: builtin | ids | text | task
//   run    {options}                 one run of a registered algorithm
//   sweep  {options, values}         one run per knob value
//   recut  {threshold}               attribution: the last scores cut anew
//   manifest {run, circuitPath}      the run manifest of a run or re-cut (its id)
import * as acdc from "./acdc-wasm.mjs";
import { taskFromFile, taskFromJson } from "./text-task.js";

let engine = null, start = 0, base = 0;
let model = null; // { t: Transformer, name, cfg, splitInput, builtin, tokenizerSource, source }
let data = null; // { data, metrics, defaultMetric, defaultAblation, groundTruth, thresholds, source }
let live = null; // the last run: { patcher, circuit, graph, meta, options }
// Circuits whose manifest can still be written: those found on the model and data loaded now.
let runs = new Map(), nextRun = 1;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

let queue = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data;
  queue = queue.then(async () => {
    try {
      const { reply, transfer } = await HANDLERS[msg.type](msg);
      post({ id: msg.id, type: "done", ...reply }, transfer ?? []);
    } catch (e) {
      post({ id: msg.id, type: "error", message: e?.message ?? String(e), input: e instanceof acdc.AcdcError });
    }
  });
};

const HANDLERS = {
  async init({ threads }) {
    engine = await acdc.createEngine({ threads });
    start = engine.mark();
    return { reply: { threads: engine.threads, isolated: Boolean(self.crossOriginIsolated) } };
  },

  async load({ id, spec }) {
    model = data = live = null;
    runs = new Map();
    engine.reset(start);
    const onProgress = (done, total) => post({ id, type: "progress", p: { phase: "load", done, total, ms: 0 } });
    model = await loadSpec(spec, onProgress);
    base = engine.mark();
    const g = acdc.buildGraph(model.cfg, { splitInput: model.splitInput });
    return {
      reply: {
        info: {
          name: model.name, cfg: model.cfg, splitInput: model.splitInput,
          edges: g.counts.addition + g.counts.direct, nodes: g.nodes.length,
          builtinTask: model.builtin ? model.builtin.name : null, tokenizer: Boolean(model.tokenizerSource),
        },
      },
    };
  },

  async data({ spec }) {
    if (!model) throw new acdc.InputError("load a model first");
    data = null;
    runs = new Map();
    data = await prepareData(spec);
    const d = data.data;
    const T = d.clean[0]?.length ?? 0;
    return {
      reply: {
        summary: {
          prompts: d.clean.length, tokens: T, metrics: Object.keys(data.metrics), defaultMetric: data.defaultMetric,
          defaultAblation: data.defaultAblation, groundTruth: data.groundTruth, thresholds: data.thresholds ?? null,
          hasCorrupted: Boolean(d.corrupted), preview: data.preview ?? null,
        },
      },
    };
  },

  async run({ id, options }) {
    const { patcher, graph, meta, alg } = setup(options);
    const decisions = [];
    const flush = throttled(id);
    const c = alg.run(patcher, { ...runOptions(options), onProgress: (p) => {
      if (p.decision) decisions.push(p.decision.edge, p.decision.metric, p.decision.removed ? 1 : 0, p.ms);
      flush(p, p.decision ? [p.decision.edge, p.decision.metric, p.decision.removed ? 1 : 0, p.ms] : null);
    } });
    flush.end();
    live = { patcher, circuit: c, graph, meta, options };
    return packCircuit(c, meta, Float64Array.from(decisions), remember(c, meta, options));
  },

  async sweep({ id, options, values }) {
    const alg = acdc.getAlgorithm(options.algorithm);
    const truth = data.groundTruth;
    const runs = [];
    const t0 = performance.now();
    for (let i = 0; i < values.length; i++) {
      const { patcher, graph, meta } = setup(options);
      const c = alg.run(patcher, { ...runOptions(options), [alg.knob.option]: values[i], onProgress: (p) => {
        if (p.done === p.total || p.done % 64 === 0) post({ id, type: "progress", p: { ...p, decision: undefined, phase: `sweep ${i + 1}/${values.length}`, sweep: [i, values.length], ms: performance.now() - t0 } });
      } });
      const score = truth ? acdc.scoreCircuit(graph, c, truth) : null;
      const packed = packCircuit(c, meta, new Float64Array(0));
      runs.push({ value: values[i], score });
      post({ id, type: "sweep-run", i, n: values.length, value: values[i], score, ...packed.reply }, packed.transfer);
    }
    let auc = null;
    if (truth) {
      const roc = (k) => runs.map((r) => ({ fpr: r.score[k].fpr, tpr: r.score[k].tpr, threshold: r.value }));
      auc = { edges: acdc.rocAuc(roc("edges")), nodes: acdc.rocAuc(roc("nodes")) };
    }
    return { reply: { auc } };
  },

  async recut({ threshold }) {
    if (!live || !live.circuit.algorithm.startsWith("eap")) throw new acdc.InputError("re-cutting needs an attribution run (eap, eap-ig) to cut");
    const t0 = performance.now();
    const { patcher, circuit, graph, meta } = live;
    const chosen = new Uint8Array(graph.edges.length);
    for (const e of graph.edges) if (e.type !== "placeholder" && Math.abs(circuit.scores[e.id]) >= threshold) chosen[e.id] = 1;
    const present = acdc.pruneToOutput(graph, chosen);
    const metric = patcher.measure(present);
    const c = { ...circuit, present, edges: acdc.keptEdges(graph, present), metric, knob: { name: "threshold", value: threshold },
      stats: { tested: circuit.stats.tested, ms: circuit.stats.ms + performance.now() - t0 } };
    // Cut by this threshold alone: the circuit a run of the same method at τ = threshold finds (the scores are the same).
    const options = { ...live.options, threshold, topK: undefined };
    return packCircuit(c, meta, new Float64Array(0), remember(c, meta, options));
  },

  async manifest({ run, circuitPath }) {
    const r = runs.get(run);
    if (!r) throw new acdc.InputError("this circuit's model or data is no longer the one loaded in the engine; run it again to get its manifest");
    const spec = { algorithm: r.options.algorithm, ...runOptions(r.options), metric: r.options.metric, ablation: r.options.ablation, splitInput: model.splitInput };
    const m = acdc.buildManifest({
      model: await modelSection(), data: await dataSection(),
      options: acdc.optionsSection(spec, engine.threads, engine.deterministic),
      kernels: { build: engine.build }, ...(circuitPath ? { circuitPath } : {}),
    }, r.circuit, acdc.circuitJson(r.circuit, r.meta));
    return { reply: { text: acdc.manifestText(m) } };
  },
};

/** Keep a finished circuit for its manifest; its id goes to the page with it. */
function remember(circuit, meta, options) {
  const id = nextRun++;
  runs.set(id, { circuit, meta, options });
  return id;
}

/** A fresh patcher for a run (the arena reset to just after the weights), its graph, the JSON metadata and the algorithm. */
function setup(options) {
  if (!model) throw new acdc.InputError("load a model first");
  if (!data) throw new acdc.InputError("choose the data (a data file, a task file, prompts, or the model's built-in task)");
  live = null;
  engine.reset(base);
  const alg = acdc.getAlgorithm(options.algorithm);
  const factory = data.metrics[options.metric];
  if (!factory) throw new acdc.InputError(`metric ${JSON.stringify(options.metric)} is not offered by this data (${Object.keys(data.metrics).join(", ")})`);
  const graph = acdc.buildGraph(model.cfg, { splitInput: model.splitInput });
  const metric = factory();
  const patcher = new acdc.Patcher(model.t, graph, data.data, { ablation: options.ablation, metric });
  const meta = { ablation: options.ablation, metric: metric.name, model: { name: model.name, ...model.cfg } };
  return { patcher, graph, meta, alg };
}

/** The registry's options from the page's: only those given. */
function runOptions(o) {
  const r = {};
  for (const k of ["threshold", "topK", "igSteps"]) if (o[k] !== undefined && o[k] !== null) r[k] = o[k];
  return r;
}

/** Progress to the page at most every 80 ms, with the decisions made since the last message. */
function throttled(id) {
  let last = 0, pending = [], latest = null;
  const send = () => {
    const d = Float64Array.from(pending);
    post({ id, type: "progress", p: { ...latest, decision: undefined }, decisions: d }, [d.buffer]);
    pending = [];
    last = performance.now();
  };
  const f = (p, decision) => {
    latest = p;
    if (decision) pending.push(...decision);
    if (performance.now() - last > 80) send();
  };
  f.end = () => { if (latest) send(); };
  return f;
}

/** The circuit file's text as `acdc run` writes it: a task file's run is labelled with the file, as `--task F` labels it. */
function circuitText(c, meta) {
  const file = data?.source?.kind === "task-file" ? data.source.file : null;
  return file ? JSON.stringify({ ...acdc.circuitJson(c, meta), task: file.name }, null, 1) + "\n" : acdc.circuitFileText(c, meta);
}

/** A circuit for the page: masks, scores and the decision log as transferable arrays, and the CLI's JSON text. */
function packCircuit(c, meta, decisions, run = null) {
  const edges = Int32Array.from(c.edges.map((e) => e.id));
  const present = c.present.slice(), scores = c.scores.slice();
  return {
    reply: {
      circuit: {
        algorithm: c.algorithm, present, scores, edges, scoreKind: c.scoreKind, baseline: c.baseline, metric: c.metric,
        knob: c.knob, stats: c.stats, decisions,
      },
      meta, text: circuitText(c, meta), run,
    },
    transfer: [present.buffer, scores.buffer, edges.buffer, decisions.buffer],
  };
}

// ---- models --------------------------------------------------------------------

/** A File (or Blob) as the ByteSource loadModel reads: slices on demand, never the whole file at once. */
function fileSource(file, name = file.name) {
  return {
    byteLength: file.size,
    name,
    async read(offset, length) {
      if (offset < 0 || offset + length > file.size) throw new RangeError(`${name}: read [${offset}, ${offset + length}) beyond ${file.size} bytes`);
      return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
    },
  };
}

async function fetchBytes(url) {
  let res;
  try { res = await fetch(url); } catch (e) { throw new acdc.InputError(`could not fetch ${url} (${e.message})`); }
  if (!res.ok) throw new acdc.InputError(`could not fetch ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function loadSpec(spec, onProgress) {
  switch (spec.kind) {
    case "tracr": {
      const task = acdc.tracrTask(spec.task);
      const t = await acdc.createTracrModel(task, engine);
      return {
        t, name: spec.task, cfg: task.cfg, splitInput: true, builtin: builtinOf(task, { groundTruth: task.groundTruth.map(([a, b]) => [a, b]) }, spec.task),
        source: { format: "tracr", builtin: spec.task },
      };
    }
    case "url": {
      const bytes = await fetchBytes(spec.weights);
      const configBytes = spec.config ? await fetchBytes(spec.config) : null;
      const config = configBytes ? JSON.parse(new TextDecoder().decode(configBytes)) : null;
      const t = await acdc.loadModel(bytes, config, { engine, onProgress });
      const m = {
        t, name: spec.name, cfg: t.cfg, splitInput: false, builtin: null, tokenizerSource: spec.tokenizer ? { url: spec.tokenizer } : null,
        source: { format: config ? "safetensors" : "llama2c", weights: fileRef(bytes, spec.weights), config: configBytes ? fileRef(configBytes, spec.config) : null },
      };
      if (spec.task === "induction") {
        const task = acdc.inductionOfflineTask();
        m.builtin = builtinOf(task, { groundTruth: acdc.inductionGroundTruth(t, task.data.clean).edges.map(([a, b]) => [a, b]) }, "induction");
      } else if (spec.task === "name-repeat") {
        const tok = acdc.Llama2cTokenizer.parse(await fetchBytes(spec.tokenizer), t.cfg.dVocab);
        const task = acdc.nameRepeatTask(tok, t.cfg);
        m.builtin = builtinOf(task, { preview: task.texts.slice(0, 2).map((s, i) => `${s} [${task.names[i]} vs. ${task.corruptedNames[i]}]`) });
      }
      return m;
    }
    case "files": {
      // Shards as `acdc run --model DIR` hands them over: the parsed index and a source per shard, by the index's names.
      const weights = spec.index ? { index: spec.index, shards: new Map(spec.shards.map((s) => [s.name, fileSource(s.file, s.name)])) } : fileSource(spec.weights, spec.weightsName);
      const t = await acdc.loadModel(weights, spec.config, { engine, onProgress });
      return {
        t, name: spec.name, cfg: t.cfg, splitInput: false, builtin: null, tokenizerSource: spec.tokenizer ? { files: spec.tokenizer } : null,
        source: {
          format: spec.config ? "safetensors" : "llama2c", weights: fileRef(spec.weights, spec.weightsName),
          config: spec.configFile ? fileRef(spec.configFile, spec.configFile.name) : null,
        },
      };
    }
    case "hub": {
      const hub = await acdc.fetchHubModel(spec.repo, { onProgress: (done, total) => onProgress(done, total ?? 0) });
      const t = await acdc.loadModel(hub.safetensors, hub.config, { engine });
      return {
        t, name: hub.repo, cfg: t.cfg, splitInput: false, builtin: null, tokenizerSource: null,
        source: { format: "safetensors", weights: fileRef(hub.safetensors, acdc.hubFileUrl(hub.repo, "model.safetensors")), config: fileRef(hub.configBytes, acdc.hubFileUrl(hub.repo, "config.json")) },
      };
    }
    default: throw new acdc.InputError(`unknown model kind ${JSON.stringify(spec.kind)}`);
  }
}

/**
 * A built-in task's inputs in the shape `data` keeps. `key` is the task's
 * name among the package's built-in tasks (what a manifest names and
 * `acdc verify` rebuilds); a task it does not know (name repetition) is
 * recorded by its tokens.
 */
function builtinOf(task, extra, key = null) {
  return {
    name: task.name, data: task.data, metrics: task.metrics, defaultMetric: task.defaultMetric, defaultAblation: task.defaultAblation,
    thresholds: task.thresholds[task.defaultMetric] ?? null, groundTruth: null, ...extra,
    source: key && acdc.BUILTIN_TASKS.includes(key) ? { kind: "task", task: key } : { kind: "inline" },
  };
}

// ---- data ----------------------------------------------------------------------

function idsData(d, extra = {}) {
  const metrics = { kl: () => acdc.klMetric() };
  if (d.correct && d.incorrect) metrics["logit-diff"] = () => acdc.logitDiffMetric(d.correct, d.incorrect);
  return { data: d, metrics, defaultMetric: "kl", defaultAblation: "corrupted", groundTruth: null, ...extra };
}

/** Reads a tokenizer file a task or the prompts name: a picked file with that name, or the model's own tokenizer. */
function tokenizerReader(files) {
  const base = (p) => p.split(/[\\/]/).pop();
  return async (path) => {
    const want = base(path);
    for (const f of files ?? []) if (f.name === want) return new Uint8Array(await f.arrayBuffer());
    const own = model.tokenizerSource;
    if (own?.url && base(own.url) === want) return fetchBytes(own.url);
    for (const f of own?.files ?? []) if (f.name === want) return new Uint8Array(await f.arrayBuffer());
    return null;
  };
}

/** The model's own tokenizer as a spec loadTokenizer reads (its file name), or null. */
function ownTokenizerSpec() {
  const own = model.tokenizerSource;
  if (own?.url) return own.url.split("/").pop();
  const json = own?.files?.find((f) => f.name === "tokenizer.json") ?? own?.files?.[0];
  return json ? json.name : null;
}

/** What the task-file builder needs from here: the model's geometry, the picked files, the tokenizers bundle. */
const taskInputs = (files) => ({ cfg: model.cfg, readFile: tokenizerReader(files), tokenizers: () => import("./acdc-wasm-tokenizers.mjs") });

/** A built text task as `data` keeps it: its own metrics, defaults and thresholds, as `acdc run --task` uses them. */
function textTaskData({ task, json, tokenizerRef, preview, groundTruth }, file) {
  return {
    // The file's metric first, then kl: the order acdc run --task lists them in.
    data: task.data, metrics: { [task.defaultMetric]: task.metrics[task.defaultMetric], ...task.metrics }, defaultMetric: task.defaultMetric, defaultAblation: task.defaultAblation,
    thresholds: task.thresholds[task.defaultMetric] ?? null, groundTruth, preview,
    source: { kind: "task-file", file, json, tokenizerRef },
  };
}

async function prepareData(spec) {
  switch (spec.kind) {
    case "builtin":
      if (!model.builtin) throw new acdc.InputError(`${model.name} has no built-in task; give a data file, a task file or prompts`);
      return model.builtin;
    case "ids": return idsData(acdc.parseDataText(await spec.file.text(), spec.file.name), { source: { kind: "file", file: spec.file } });
    case "text": {
      const tokenizer = spec.tokenizer === "model" ? ownTokenizerSpec() : spec.tokenizer;
      if (!tokenizer) throw new acdc.InputError("this model has no tokenizer of its own: choose gpt2 or pick a tokenizer file");
      // Typed prompts are a task file written by the page: the same reader, builder and messages.
      const json = { tokenizer, bos: spec.bos, clean: spec.clean, corrupted: spec.corrupted, metric: spec.metric, positions: spec.positions };
      return textTaskData(await taskFromJson(json, "typed prompts", taskInputs(spec.files)), null);
    }
    case "task": return textTaskData(await taskFromFile(await spec.file.text(), spec.file.name, taskInputs(spec.files)), spec.file);
    default: throw new acdc.InputError(`unknown data kind ${JSON.stringify(spec.kind)}`);
  }
}

// ---- run manifests ---------------------------------------------------------------

/**
 * A file as a manifest records it: where it came from (a name or URL: hints
 * for finding it again), size, and its digest once asked for. The digest is
 * taken on the first manifest, not at load, so a model that is never
 * recorded costs nothing; fetched bytes stay referenced until then.
 */
function fileRef(src, where) {
  const ref = { bytes: src instanceof Uint8Array ? src.byteLength : src.size, src };
  if (/^[a-z][a-z0-9+.-]*:/i.test(where) || where.includes("/")) ref.url = new URL(where, self.location.href).href;
  else ref.path = where;
  return ref;
}

/** The digest of a recorded file, computed once (a picked File is read in slices, never whole). */
async function digested(ref) {
  if (!ref) return null;
  if (!ref.sha256) ref.sha256 = ref.src instanceof Uint8Array ? acdc.sha256Hex(ref.src) : await acdc.digestOf(fileSource(ref.src));
  const { src: _src, ...out } = ref;
  return out;
}

/** The manifest's model section, as `acdc run` writes it for the same files (`builtin` for tracr). */
async function modelSection() {
  const s = model.source;
  model.paramsSha256 ??= acdc.paramsDigest(model.t);
  if (s.format === "tracr") return { source: "builtin", format: "tracr", name: model.name, builtin: s.builtin, params_sha256: model.paramsSha256 };
  return { source: "file", format: s.format, name: model.name, weights: await digested(s.weights), config: await digested(s.config), params_sha256: model.paramsSha256 };
}

/** The manifest's data section: a built-in task by name, a data file, a task file with its tokens, or the tokens alone. */
async function dataSection() {
  const s = data.source, d = data.data, sha256 = acdc.dataDigest(d), prompts = d.clean.length;
  switch (s.kind) {
    case "task": return { source: "task", task: s.task, sha256, prompts };
    case "file": return { source: "file", sha256, file: await digested(fileRef(s.file, s.file.name)), prompts };
    case "task-file": return {
      source: "task-file", sha256, ...(s.file ? { file: await digested(fileRef(s.file, s.file.name)) } : {}), prompts,
      task_sha256: acdc.sha256Hex(acdc.canonicalJson(s.json)), tokenizer: s.tokenizerRef, tokens: d,
    };
    default: return { source: "inline", sha256, prompts };
  }
}
