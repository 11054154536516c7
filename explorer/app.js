// The explorer page: wires the controls to the engine worker (engine-client.js),
// keeps the circuits of this session (runs, sweeps, imported JSON files),
// and draws the one shown, alone, against another circuit or the ground
// truth (overlay or side by side), growing while a search runs. Every
// algorithm comes from the registry (ALGORITHMS), every model through
// loadModel in the worker, every export through the package's writers.
import * as acdc from "./acdc-wasm.mjs";
import { EngineClient, CancelledError } from "./engine-client.js";
import { BUILTINS, availableBuiltins, entry as fileEntry, droppedFiles, sortFiles, modelSpecFromFiles, readJson } from "./inputs.js";
import { GROUPINGS, displayGraph, displayEdges, placeNodes } from "./layout.js";
import { STYLES, buildScene, sceneCanvas, sceneSvg } from "./scene.js";
import { Camera, GraphView } from "./view.js";
import { edgeTable, fmt, fmtTime, nodePanel, sweepPanel, tooltipText } from "./panels.js";

const $ = (id) => document.getElementById(id);

// ---- errors and status ----------------------------------------------------------

function showError(e) {
  const msg = typeof e === "string" ? e : e?.message ?? String(e);
  $("error").textContent = `error: ${msg}`;
  $("error").hidden = false;
}
function clearError() { $("error").hidden = true; $("error").textContent = ""; }
window.addEventListener("error", (ev) => showError(ev.message || String(ev.error)));
window.addEventListener("unhandledrejection", (ev) => showError(ev.reason?.message ?? String(ev.reason)));
const setStatus = (s) => { $("status").textContent = s; };

// ---- state ------------------------------------------------------------------------

const state = {
  /** { spec, builtin, token, info } of the model loaded (info once the worker answered). */
  model: null,
  /** The data spec sent to the worker, its token and the worker's summary. */
  dataSpec: null, dataToken: null, data: null,
  /** Circuits of this session (see entryFrom). */
  circuits: [],
  shown: "",
  /** A running search: decisions so far, drawn as they come. */
  live: null,
  /** The last sweep: values and one entry per finished run. */
  sweep: null,
  selected: -1,
  running: false,
  /** Data given before any model, applied when one loads (and kept across model changes). */
  pendingData: null,
  /** The entry whose patcher the worker still holds (attribution re-cuts use it). */
  liveRunId: null,
};
let client = new EngineClient(1);
let nextId = 1;

const graphs = new Map();
/** A config's graph (cached; graph keys decide which circuits can be compared). */
function graphFor(cfg, splitInput) {
  const key = JSON.stringify([Object.keys(cfg).sort().map((k) => [k, cfg[k]]), Boolean(splitInput)]);
  if (!graphs.has(key)) graphs.set(key, acdc.buildGraph(cfg, { splitInput }));
  return { graph: graphs.get(key), key };
}

/** Edge id of a [parent label, child label] pair in a graph, or undefined. */
function edgeIdOf(graph, p, c) {
  if (!graph.pairIndex) {
    graph.pairIndex = new Map();
    for (const e of graph.edges) if (e.type !== "placeholder") graph.pairIndex.set(`${e.parent} ${e.child}`, e.id);
  }
  const a = graph.byLabel.get(p), b = graph.byLabel.get(c);
  return a === undefined || b === undefined ? undefined : graph.pairIndex.get(`${a} ${b}`);
}

/** A session entry: the circuit (shaped as the package's Circuit), its JSON text, metadata and decisions. */
function makeEntry({ name, graph, key, circuit, meta, text, decisions = new Float64Array(0), source, truth = null }) {
  const order = new Map();
  for (let i = 0; 4 * i < decisions.length; i++) order.set(decisions[4 * i], i);
  const e = { id: String(nextId++), name, graph, key, circuit, meta, text, decisions, order, source, truth, kept: new Set(circuit.edges.map((x) => x.id)) };
  return e;
}

/** An entry from a worker's run/sweep/recut answer. */
function entryFromWorker(msg, name, source) {
  const { graph, key } = graphFor(state.model.info.cfg, state.model.info.splitInput);
  const w = msg.circuit;
  const circuit = {
    algorithm: w.algorithm, graph, present: w.present, edges: Array.from(w.edges, (id) => graph.edges[id]), scores: w.scores,
    scoreKind: w.scoreKind, baseline: w.baseline, metric: w.metric, trace: [], knob: w.knob, stats: w.stats,
  };
  const e = makeEntry({ name, graph, key, circuit, meta: msg.meta, text: msg.text, decisions: w.decisions, source, truth: state.data?.groundTruth ?? null });
  // Runs and re-cuts can give their manifest while this worker still holds the model and data they ran on.
  if (msg.run) e.run = { id: msg.run, client, worker: client.worker, model: client.loaded.model, data: client.loaded.data };
  return e;
}

function addEntry(e, show = true) {
  state.circuits.push(e);
  if (show) state.shown = e.id;
  refreshCircuitSelect();
  refreshCompare();
  return e;
}

const shownEntry = () => state.circuits.find((c) => c.id === state.shown) ?? null;

// ---- controls: lists from the registry and the package ---------------------------

for (const a of acdc.ALGORITHMS) $("algorithm").add(new Option(`${a.key}: ${a.name}`, a.key));
for (const a of acdc.ABLATIONS) $("ablation").add(new Option(a, a));
for (const g of GROUPINGS) $("grouping").add(new Option(g.name, g.key));
const isolated = Boolean(globalThis.crossOriginIsolated);
for (const t of ["1", "2", "4", "auto"]) {
  const o = new Option(t === "1" ? "1" : t, t);
  o.disabled = t !== "1" && !isolated;
  $("threads").add(o);
}

function refreshCircuitSelect() {
  const sel = $("circuit-select");
  sel.replaceChildren();
  if (!state.circuits.length) sel.add(new Option("— none yet —", ""));
  const groups = { run: null, import: null, sweep: null };
  const label = { run: "runs", import: "opened files", sweep: "sweep" };
  for (const c of state.circuits) {
    const src = c.source === "recut" ? "run" : c.source;
    if (!groups[src]) { groups[src] = document.createElement("optgroup"); groups[src].label = label[src]; sel.append(groups[src]); }
    groups[src].append(new Option(c.name, c.id));
  }
  sel.value = state.shown;
  for (const b of ["export-json", "export-dot", "export-svg", "export-png"]) $(b).disabled = !shownEntry();
  $("export-manifest").disabled = !shownEntry()?.run;
}

/** The compare menu: the ground truth of the data (or of the shown circuit's run) and every other circuit on the same graph. */
function refreshCompare() {
  const sel = $("compare"), keep = sel.value, A = shownEntry();
  sel.replaceChildren(new Option("nothing", ""));
  const truth = A?.truth ?? (A && state.model?.info && A.key === currentKey() ? state.data?.groundTruth : null);
  if (truth) sel.add(new Option(`ground truth (${truth.length} edges)`, "truth"));
  for (const c of state.circuits) if (A && c.id !== A.id && c.key === A.key) sel.add(new Option(c.name, c.id));
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
}

const currentKey = () => (state.model?.info ? graphFor(state.model.info.cfg, state.model.info.splitInput).key : null);

// ---- the view -------------------------------------------------------------------

const camera = new Camera();
const viewA = new GraphView($("canvas-a"), camera, { onHover: (e, x, y) => hover(e, x, y, "a"), onSelect: (n, e) => select(n, e) });
const viewB = new GraphView($("canvas-b"), camera, { onHover: (e, x, y) => hover(e, x, y, "b"), onSelect: (n, e) => select(n, e) });
let lastLayout = "", drawn = null;

const CAT_NAMES_TRUTH = { found: "found (in the ground truth)", extra: "extra (not in the ground truth)", missed: "missed (ground truth, not found)", kept: "kept", trial: "being tested" };
const catNames = (other) => (other?.kind === "truth" ? CAT_NAMES_TRUTH
  : { found: "in both", extra: `only in ${drawn?.A?.name ?? "this circuit"}`, missed: `only in ${other?.name ?? "the other"}`, kept: "kept", trial: "being tested" });

/** The comparison target of the shown entry: ground-truth or another circuit's edge ids. */
function compareTarget(A) {
  const v = $("compare").value;
  if (!A || !v) return null;
  if (v === "truth") {
    const truth = A.truth ?? state.data?.groundTruth ?? [];
    const ids = new Set();
    for (const [p, c] of truth) { const id = edgeIdOf(A.graph, p, c); if (id !== undefined) ids.add(id); }
    return { kind: "truth", name: "ground truth", ids, entry: null };
  }
  const B = state.circuits.find((c) => c.id === v);
  return B && B.key === A.key ? { kind: "circuit", name: B.name, ids: visibleIds(B), entry: B } : null;
}

/** An entry's kept edge ids that pass the score filter (edges without a score always pass). */
function visibleIds(E) {
  const min = Number($("score-filter").value) || 0;
  const out = new Set();
  for (const e of E.circuit.edges) {
    const s = E.circuit.scores[e.id];
    if (!(min > 0) || Number.isNaN(s) || Math.abs(s) >= min) out.add(e.id);
  }
  return out;
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => { renderQueued = false; render(); }, 100);
}

/** Rebuild the scenes from the state and hand them to the views (fitting when the layout changed). */
function render() {
  const live = state.live;
  const A = live ? null : shownEntry();
  const graph = live ? live.graph : A?.graph;
  const other = live ? null : compareTarget(A);
  const side = Boolean(other) && document.querySelector("input[name=compare-mode]:checked").value === "side";
  $("canvas-b").closest(".pane").hidden = !side;
  if (!graph) { drawn = null; viewA.setScene(null); viewB.setScene(null); legend([]); $("title-a").textContent = ""; return; }
  const key = live ? live.key : A.key;
  const grouping = $("grouping").value;
  const dg = dgFor(key, graph, grouping);
  let itemsA, itemsB = null;
  if (live) {
    itemsA = [...live.kept].map((id) => ({ id, cat: "kept" }));
    if (live.trial >= 0 && !live.kept.has(live.trial)) itemsA.push({ id: live.trial, cat: "trial" });
  } else {
    const a = visibleIds(A);
    if (other && !side) {
      itemsA = [];
      for (const id of a) itemsA.push({ id, cat: other.ids.has(id) ? "found" : "extra" });
      for (const id of other.ids) if (!a.has(id)) itemsA.push({ id, cat: "missed" });
      itemsA.sort((x, y) => x.id - y.id);
    } else {
      itemsA = [...a].map((id) => ({ id, cat: "kept" }));
      if (other) itemsB = [...other.ids].map((id) => ({ id, cat: "kept" }));
    }
  }
  const dA = displayEdges(graph, dg, itemsA), dB = itemsB ? displayEdges(graph, dg, itemsB) : null;
  const used = new Set([dg.of[graph.output]]);
  for (const e of [...dA, ...(dB ?? [])]) { used.add(e.from); used.add(e.to); }
  const mode = live ? "all" : $("nodes-mode").value;
  const pos = placeNodes(dg, mode === "all" ? null : used, mode === "compact");
  const current = live?.node !== undefined ? graph.byLabel.get(live.node) : undefined;
  const marks = { used: mode === "all" ? used : null, current: current === undefined ? -1 : dg.of[current] };
  const sA = buildScene(dg, pos, dA, marks), sB = dB ? buildScene(dg, pos, dB, marks) : null;
  drawn = { A, other, dg, graph, sA, sB, itemsA, itemsB, live };
  const layout = [key, grouping, mode, side, live ? "live" : A.id, other?.kind === "circuit" ? other.entry.id : other?.kind ?? ""].join("|");
  const fit = layout !== lastLayout;
  lastLayout = layout;
  viewA.setScene(sA, { fit });
  if (sB) viewB.setScene(sB, { fit: false });
  viewA.highlight({ node: state.selected });
  viewB.highlight({ node: state.selected });
  const nEdges = itemsA.length;
  $("title-a").textContent = live ? `${live.label} (running)` : side ? A.name : other ? `${A.name}  vs.  ${other.name}` : A.name;
  $("title-b").textContent = side ? other.name : "";
  $("canvas-a").setAttribute("aria-label", `Circuit graph: ${nEdges} edges drawn among ${sA.nodes.length} nodes. Arrows pan, + and − zoom, 0 fits, n and p step through nodes; the edge table below lists the same edges.`);
  $("views").dataset.edges = String(nEdges);
  $("views").dataset.counts = JSON.stringify(countCats(itemsA));
  legend([...new Set(itemsA.map((x) => x.cat))], other);
  compareInfo(A, other, itemsA);
  if ($("edge-list").open) edgeTable($("edge-table"), graph, itemsA, A, catNames(other));
  if (state.selected >= 0 && state.selected < dg.nodes.length && !live) nodePanel($("node-panel"), graph, dg, dg.nodes[state.selected], A, other);
}

const countCats = (items) => items.reduce((o, x) => ((o[x.cat] = (o[x.cat] ?? 0) + 1), o), {});

const dgCache = new Map();
function dgFor(key, graph, grouping) {
  const k = `${key}|${grouping}`;
  if (!dgCache.has(k)) dgCache.set(k, displayGraph(graph, grouping));
  return dgCache.get(k);
}

function legend(cats, other) {
  const names = catNames(other);
  $("legend").replaceChildren(...cats.map((c) => {
    const span = document.createElement("span"), mark = document.createElement("i");
    mark.style.borderTopColor = STYLES[c].color;
    if (STYLES[c].dash) mark.style.borderTopStyle = "dashed";
    span.append(mark, names[c] ?? c);
    return span;
  }));
}

function compareInfo(A, other, items) {
  if (!A || !other) { $("compare-info").textContent = ""; return; }
  const c = countCats(items);
  const both = c.found ?? 0, extra = c.extra ?? 0, missed = c.missed ?? 0;
  $("compare-info").textContent = other.kind === "truth"
    ? `found ${both} of ${other.ids.size} ground-truth edges, ${extra} extra, ${missed} missed`
    : `in both ${both} · only in ${A.name}: ${extra} · only in ${other.name}: ${missed}`;
  if (document.querySelector("input[name=compare-mode]:checked").value === "side") {
    const a = visibleIds(A);
    const inBoth = [...a].filter((id) => other.ids.has(id)).length;
    $("compare-info").textContent = `${A.name}: ${a.size} edges · ${other.name}: ${other.ids.size} edges · ${inBoth} in both`;
  }
}

function hover(de, x, y, side) {
  const tip = $("tooltip");
  if (!de || !drawn) { tip.hidden = true; viewA.highlight({ node: state.selected }); return; }
  const { A, other, graph, live } = drawn;
  const names = catNames(other);
  const E = live ? liveEntry(live) : side === "b" ? other?.entry : A;
  const o = !live && other?.kind === "circuit" && side === "a" && $("compare").value ? { name: other.name, entry: other.entry } : null;
  tip.textContent = tooltipText(graph, de, E, names[de.cat] ?? de.cat, o);
  const box = $("views").getBoundingClientRect(), cv = (side === "b" ? $("canvas-b") : $("canvas-a")).getBoundingClientRect();
  tip.hidden = false;
  const left = cv.left - box.left + x + 14, top = cv.top - box.top + y + 14;
  tip.style.left = `${Math.min(left, box.width - tip.offsetWidth - 4)}px`;
  tip.style.top = `${Math.min(top, box.height - tip.offsetHeight - 4)}px`;
  (side === "b" ? viewB : viewA).highlight({ node: state.selected, edge: de });
}

/** The running search as an entry-like object the tooltip reads. */
function liveEntry(live) {
  return { circuit: { scores: live.scores, scoreKind: "metric-when-removed" }, order: live.order, decisions: Float64Array.from(live.decisions), kept: live.kept, source: "run" };
}

function select(node) {
  state.selected = node ? node.d.id : -1;
  if (!node) $("node-panel").innerHTML = `<p class="info">Click a node (or press n) to list its edges.</p>`;
  render();
}

// n / p step through the drawn nodes (bottom row first), for keyboards.
for (const cv of [$("canvas-a"), $("canvas-b")]) {
  cv.addEventListener("keydown", (ev) => {
    if ((ev.key !== "n" && ev.key !== "p") || !drawn) return;
    const nodes = [...drawn.sA.nodes].sort((a, b) => b.y - a.y || a.x - b.x);
    if (!nodes.length) return;
    const i = nodes.findIndex((n) => n.d.id === state.selected);
    const j = i < 0 ? 0 : (i + (ev.key === "n" ? 1 : nodes.length - 1)) % nodes.length;
    select(nodes[j]);
  });
}

// ---- model and data ---------------------------------------------------------------

function modelSummary(info) {
  const c = info.cfg;
  return `${info.name}: ${c.nLayers} layers × ${c.nHeads} heads${c.nKvHeads !== c.nHeads ? ` (${c.nKvHeads} kv)` : ""}, d_model ${c.dModel}, vocab ${c.dVocab}` +
    `${c.attnOnly ? ", attention only" : `, MLP ${c.dMlp}`} · graph of ${info.nodes} nodes, ${info.edges} edges`;
}

/** Load a model into the worker (and, if it has one, its built-in task). */
async function loadModel(spec, builtin = null) {
  if (state.running) cancel(false);
  clearError();
  const token = {};
  state.model = { spec, builtin, token, info: null };
  state.liveRunId = null;
  state.data = state.dataSpec = null;
  $("data-info").textContent = "No data yet.";
  $("model-info").textContent = `loading ${spec.name ?? spec.task ?? spec.repo ?? "model"}…`;
  setStatus("Loading the model…");
  try {
    const r = await client.request("load", { spec }, { progress: (m) => { if (m.p.total) $("progress").value = m.p.done / m.p.total; } });
    if (state.model?.token !== token) return;
    client.loaded = { model: token, data: null };
    state.model.info = r.info;
    $("model-info").textContent = modelSummary(r.info);
    if (builtin?.threshold !== undefined) setThreshold(builtin.threshold);
    $("data-source").querySelector("option[value=builtin]").disabled = !r.info.builtinTask;
    if (r.info.builtinTask) {
      setSource("builtin");
      await setData({ kind: "builtin" });
    } else {
      setSource(state.pendingData ? state.pendingData.kind : "ids");
      if (state.pendingData) await setData(state.pendingData);
    }
    setStatus(`Loaded ${r.info.name}.`);
  } catch (e) {
    if (e instanceof CancelledError) return;
    if (state.model?.token === token) state.model = null;
    $("model-info").textContent = "No model loaded.";
    setStatus("The model did not load.");
    showError(e);
  } finally {
    $("progress").value = 0;
  }
}

/** Make sure the worker holds the model and data (after a cancel it is a new worker). */
async function ensureLoaded() {
  if (client.loaded.model !== state.model.token) {
    await client.request("load", { spec: state.model.spec });
    client.loaded = { model: state.model.token, data: null };
  }
  if (state.dataSpec && client.loaded.data !== state.dataToken) {
    await client.request("data", { spec: state.dataSpec });
    client.loaded.data = state.dataToken;
  }
}

/** Prepare data in the worker; its summary fills the metric and ablation menus. */
async function setData(spec) {
  if (!state.model?.info) {
    // Data given before a model: kept and applied once a model loads.
    state.pendingData = spec;
    $("data-info").textContent = `${describeSpec(spec)}: waiting for a model`;
    return;
  }
  clearError();
  const token = {};
  state.dataSpec = spec; state.dataToken = token; state.data = null;
  state.pendingData = spec.kind === "builtin" ? null : spec;
  $("data-info").textContent = `reading ${describeSpec(spec)}…`;
  try {
    await ensureLoaded();
    const r = await client.request("data", { spec });
    if (state.dataToken !== token) return;
    client.loaded.data = token;
    const s = r.summary;
    state.data = s;
    const metric = $("metric");
    metric.replaceChildren(...s.metrics.map((m) => new Option(m, m)));
    metric.value = s.defaultMetric;
    $("ablation").value = s.defaultAblation;
    if (s.thresholds?.length > 1) {
      const lo = Math.log10(s.thresholds[0]), hi = Math.log10(s.thresholds[s.thresholds.length - 1]);
      $("sweep-range").value = `${+lo.toFixed(3)}:${+hi.toFixed(3)}:${s.thresholds.length}`;
    }
    $("data-info").textContent = `${describeSpec(spec)}: ${s.prompts} prompts × ${s.tokens} tokens · metrics ${s.metrics.join(", ")}` +
      `${s.groundTruth ? ` · ground truth of ${s.groundTruth.length} edges` : ""}${s.preview ? `\ne.g. ${s.preview[0]}` : ""}`;
    refreshCompare();
  } catch (e) {
    if (e instanceof CancelledError) return;
    if (state.dataToken === token) { state.dataSpec = null; state.dataToken = null; }
    $("data-info").textContent = `${describeSpec(spec)}: not usable`;
    showError(e);
  }
}

function describeSpec(spec) {
  switch (spec.kind) {
    case "builtin": return state.model?.info?.builtinTask ?? "built-in task";
    case "ids": return spec.file.name;
    case "task": return spec.file.name;
    default: return "typed prompts";
  }
}

function setSource(v) {
  $("data-source").value = v;
  document.querySelector("aside").dataset.sourceShown = v;
}

// ---- runs -----------------------------------------------------------------------

/** The run options from the controls; throws with a message naming the field. */
function readOptions() {
  const alg = acdc.getAlgorithm($("algorithm").value);
  const num = (id, what, int) => {
    const s = $(id).value.trim();
    if (s === "") return undefined;
    const v = Number(s);
    if (!Number.isFinite(v) || v < 0 || (int && !Number.isInteger(v))) throw new Error(`${what} must be a non-negative ${int ? "integer" : "number"}, got "${s}"`);
    return v;
  };
  const threshold = num("threshold", "threshold", false);
  const topK = num("top-k", "top-k", true), igSteps = num("ig-steps", "IG steps", true);
  // Top-k, when given, is the cut of an algorithm that does not need both.
  const needsBoth = (alg.requires ?? []).includes("topK");
  const o = { algorithm: alg.key, metric: $("metric").value, ablation: $("ablation").value, igSteps, topK, threshold: topK !== undefined && !needsBoth ? undefined : threshold };
  if (o.threshold === undefined && o.topK === undefined) throw new Error("give a threshold (or a top-k)");
  return o;
}

function describeRun(o) {
  return `${o.algorithm}${o.threshold !== undefined ? ` τ=${o.threshold}` : ""}${o.topK !== undefined ? ` top-${o.topK}` : ""}`;
}

function busy(on) {
  state.running = on;
  $("run").disabled = on; $("sweep").disabled = on;
  $("cancel").disabled = !on;
}

async function run() {
  if (state.running) return;
  clearError();
  if (!state.model?.info) { showError("load a model first"); return; }
  if (!state.dataSpec) { showError("choose the data first (a data file, a task file, prompts, or the model's built-in task)"); return; }
  let options;
  try { options = readOptions(); } catch (e) { showError(e); return; }
  const { graph, key } = graphFor(state.model.info.cfg, state.model.info.splitInput);
  const label = `${state.model.info.name} · ${describeRun(options)}`;
  const live = { graph, key, label, kept: new Set(), trial: -1, node: undefined, decisions: [], order: new Map(), scores: new Float64Array(graph.edges.length).fill(NaN), p: null };
  state.live = live;
  state.selected = -1;
  busy(true);
  setStatus(`Running ${describeRun(options)}…`);
  render();
  try {
    await ensureLoaded();
    const r = await client.request("run", { options }, { progress: (m) => onProgress(m, live) });
    state.live = null;
    const e = addEntry(entryFromWorker(r, label, "run"));
    state.liveRunId = e.id;
    const c = e.circuit, counted = graph.counts.addition + graph.counts.direct, s = c.stats.ms / 1000;
    setStatus(`kept ${c.edges.length} of ${counted} edges (${c.stats.tested} tested) in ${fmtTime(s)}` +
      `${e.decisions.length ? ` · ${fmt(c.stats.tested / Math.max(s, 1e-9), 3)} edges/s` : ""} · metric ${fmt(c.baseline)} → ${fmt(c.metric)}`);
    $("progress").value = 1;
    $("rate").textContent = "";
  } catch (e) {
    if (e instanceof CancelledError) return;
    state.live = null;
    setStatus("The run failed.");
    showError(e);
  } finally {
    busy(false);
    render();
  }
}

/** A progress message: counts, rate and ETA in the status line; decisions into the live circuit. */
function onProgress(m, live) {
  const p = m.p;
  live.p = p;
  // A new phase (hybrid: EAP-IG steps, then ACDC edges) counts in new units: a new meter.
  if (p.phase !== live.phase) { live.phase = p.phase; live.meter = acdc.rateMeter(); }
  const meter = live.meter;
  if (p.node) live.node = p.node;
  const d = m.decisions;
  if (d) {
    for (let i = 0; i < d.length; i += 4) {
      const id = d[i];
      live.order.set(id, live.decisions.length / 4);
      live.decisions.push(d[i], d[i + 1], d[i + 2], d[i + 3]);
      live.scores[id] = d[i + 1];
      if (!d[i + 2]) live.kept.add(id);
      live.trial = id;
    }
  }
  $("progress").value = p.total ? p.done / p.total : 0;
  const r = meter.update(p, p.ms / 1000);
  const edges = p.tested !== undefined;
  setStatus(`${p.phase}: ${p.done} of ${p.total}${edges ? ` edges · tested ${p.tested}, skipped ${p.skipped ?? 0}` : " steps"}` +
    `${p.node ? ` · at ${p.node}` : ""}`);
  $("rate").textContent = `${fmt(r.rate, 3)} ${edges ? "tested edges" : "steps"}/s · ` +
    (p.done >= p.total ? "finishing" : edges ? `ETA ~${fmtTime(r.eta)} (at most ${fmtTime(r.etaMax)} if no more edges are skipped)` : `ETA ${fmtTime(r.etaMax)}`) +
    ` · ${fmtTime(p.ms / 1000)} so far`;
  scheduleRender();
}

/** Stop the worker now; with `restart`, start a fresh one and reload the model and data in the background. */
function cancel(restart = true) {
  const live = state.live, p = live?.p;
  client.stop();
  state.liveRunId = null;
  state.live = null;
  busy(false);
  setStatus(`Cancelled${p ? ` after ${p.tested ?? p.done} of ${p.total} ${p.tested !== undefined ? "edges tested" : "steps"}` : ""}: the engine worker was stopped.`);
  $("progress").value = 0;
  render();
  if (restart && state.model?.info) {
    ensureLoaded().then(() => { $("rate").textContent = "A new engine worker has the model loaded again."; }, (e) => { if (!(e instanceof CancelledError)) showError(e); });
  }
}

// ---- sweeps and the threshold slider -----------------------------------------------

function parseRange(s) {
  const m = /^\s*(-?[\d.]+)\s*:\s*(-?[\d.]+)\s*:\s*(\d+)\s*$/.exec(s);
  if (!m) throw new Error(`sweep range must be LO:HI:N (exponents of 10 and a count, e.g. -4:0:17), got "${s}"`);
  const lo = Number(m[1]), hi = Number(m[2]), n = Number(m[3]);
  if (!(lo <= hi) || n < 1 || n > 200) throw new Error(`sweep range ${s}: need LO ≤ HI and 1 ≤ N ≤ 200`);
  return acdc.logspace(lo, hi, n);
}

async function runSweep() {
  if (state.running) return;
  clearError();
  if (!state.model?.info || !state.dataSpec) { showError("load a model and its data first"); return; }
  let options, values;
  try { options = readOptions(); values = parseRange($("sweep-range").value); } catch (e) { showError(e); return; }
  const alg = acdc.getAlgorithm(options.algorithm);
  const label = `${state.model.info.name} · ${alg.key} over ${values.length} values of ${alg.knob.option}`;
  // Old sweep circuits leave the session.
  state.circuits = state.circuits.filter((c) => c.source !== "sweep");
  const sweep = { label, values, entries: new Array(values.length).fill(null), auc: null, key: currentKey() };
  state.sweep = sweep;
  state.liveRunId = null;
  $("sweep-panel").hidden = false;
  sweepPanel($("sweep-panel"), sweep, state.shown);
  busy(true);
  setStatus(`Sweeping ${label}…`);
  const meter = acdc.rateMeter();
  try {
    await ensureLoaded();
    const r = await client.request("sweep", { options, values }, {
      progress: (m) => {
        const [i, n] = m.p.sweep ?? [0, 1];
        $("progress").value = (i + (m.p.total ? m.p.done / m.p.total : 0)) / n;
        const rr = meter.update({ ...m.p, done: i, total: n, tested: undefined }, m.p.ms / 1000);
        setStatus(`Sweep: run ${i + 1} of ${n} (${alg.knob.option} ${fmt(values[i], 3)}) · ${m.p.done} of ${m.p.total}`);
        $("rate").textContent = `ETA ${fmtTime(rr.etaMax)}`;
      },
      "sweep-run": (m) => {
        const e = entryFromWorker(m, `sweep ${alg.knob.option}=${fmt(m.value, 3)}`, "sweep");
        e.score = m.score;
        sweep.entries[m.i] = e;
        addEntry(e, false);
        sweepPanel($("sweep-panel"), sweep, state.shown);
        ticks();
      },
    });
    sweep.auc = r.auc;
    const shown = showSwept(Number($("threshold-slider").value));
    setStatus(`Sweep done: ${values.length} circuits${r.auc ? ` · ROC AUC edges ${fmt(r.auc.edges, 3)}, heads/MLPs ${fmt(r.auc.nodes, 3)}` : ""}; the slider shows each` +
      (shown ? ` (now ${shown.circuit.knob.name} ${fmt(shown.circuit.knob.value, 3)}: kept ${shown.circuit.edges.length} edges)` : "") + ".");
    $("rate").textContent = "";
  } catch (e) {
    if (!(e instanceof CancelledError)) { setStatus("The sweep failed."); showError(e); }
  } finally {
    busy(false);
  }
}

function ticks() {
  const dl = $("sweep-ticks");
  dl.replaceChildren(...(state.sweep?.entries ?? []).filter(Boolean).map((e) => new Option("", String(Math.log10(e.circuit.knob.value)))));
}

/** Show the swept circuit whose knob value is nearest 10^x (and return its entry); null when there is no usable sweep. */
function showSwept(x) {
  const sw = state.sweep;
  if (!sw || sw.key !== currentKey()) return null;
  let best = null;
  for (const e of sw.entries) if (e && (!best || Math.abs(Math.log10(e.circuit.knob.value) - x) < Math.abs(Math.log10(best.circuit.knob.value) - x))) best = e;
  if (!best) return null;
  const v = best.circuit.knob.value;
  $("threshold").value = String(v);
  $("threshold-slider").value = String(Math.log10(v));
  state.shown = best.id;
  refreshCircuitSelect();
  refreshCompare();
  const counted = best.graph.counts.addition + best.graph.counts.direct;
  setStatus(`Sweep at ${best.circuit.knob.name} ${fmt(v, 4)}: kept ${best.circuit.edges.length} of ${counted} edges · metric ${fmt(best.circuit.metric)}`);
  sweepPanel($("sweep-panel"), sw, state.shown);
  render();
  return best;
}

function setThreshold(v) {
  $("threshold").value = String(v);
  if (v > 0) $("threshold-slider").value = String(Math.max(-6, Math.min(0, Math.log10(v))));
}

let recutTimer = 0, recutToken = 0;
/** Attribution circuits are cut again at the slider's threshold (the scores do not change): measured by the worker. */
function recut(threshold) {
  const A = shownEntry();
  // Only the last run's scores are in the worker, next to its patcher.
  if (!A || !A.circuit.algorithm.startsWith("eap") || state.running || (A.parent ?? A).id !== state.liveRunId || !client.worker) return;
  clearTimeout(recutTimer);
  recutTimer = setTimeout(async () => {
    const token = ++recutToken;
    try {
      const r = await client.request("recut", { threshold });
      if (token !== recutToken) return;
      const parent = A.parent ?? A;
      state.circuits = state.circuits.filter((c) => !(c.source === "recut" && c.parent === parent));
      const e = entryFromWorker(r, `${parent.name} cut at τ=${fmt(threshold, 3)}`, "recut");
      e.parent = parent;
      addEntry(e);
      const counted = e.graph.counts.addition + e.graph.counts.direct;
      setStatus(`kept ${e.circuit.edges.length} of ${counted} edges at τ=${fmt(threshold, 4)} (scores reused, circuit measured: metric ${fmt(e.circuit.metric)})`);
      render();
    } catch (e) { if (!(e instanceof CancelledError)) showError(e); }
  }, 120);
}

$("threshold-slider").addEventListener("input", () => {
  const x = Number($("threshold-slider").value);
  if (showSwept(x)) return;
  const v = +(10 ** x).toPrecision(3);
  $("threshold").value = String(v);
  recut(v);
});
$("threshold").addEventListener("change", () => {
  const v = Number($("threshold").value);
  if (Number.isFinite(v) && v > 0) $("threshold-slider").value = String(Math.max(-6, Math.min(0, Math.log10(v))));
});

// ---- circuits from files ------------------------------------------------------------

/** Open circuit JSON files (from acdc run or this page) for viewing. */
async function openCircuits(files) {
  clearError();
  for (const f of files) {
    try {
      const j = await readJson(f, "circuit");
      let r;
      try { r = acdc.readCircuitJson(j); } catch (e) { throw new Error(`${f.name}: ${e.message}`); }
      const fields = { ...r.meta.model };
      delete fields.name;
      const { graph, key } = graphFor(acdc.makeConfig(fields), r.graph.nodes.some((n) => n.kind === "embed"));
      // Re-point the circuit at the cached graph (same construction, same ids) so it compares with runs.
      const circuit = { ...r.circuit, graph, edges: r.circuit.edges.map((e) => graph.edges[e.id]) };
      const text = acdc.circuitFileText(circuit, r.meta);
      const e = makeEntry({ name: f.name, graph, key, circuit, meta: r.meta, text, source: "import" });
      addEntry(e);
      const counted = graph.counts.addition + graph.counts.direct;
      setStatus(`Opened ${f.name}: ${circuit.algorithm}, kept ${circuit.edges.length} of ${counted} edges · metric ${fmt(circuit.baseline)} → ${fmt(circuit.metric)}`);
    } catch (e) { showError(e); }
  }
  render();
}

// ---- exports ----------------------------------------------------------------------

function download(data, name, type) {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url; a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function baseName(E) {
  const model = E.meta?.model?.name ?? "circuit";
  return `${model}-${E.circuit.algorithm}${E.circuit.knob.name === "threshold" ? `-${E.circuit.knob.value}` : `-top${E.circuit.knob.value}`}`.replace(/[^\w.-]+/g, "_");
}

const title = () => $("title-a").textContent;
$("export-json").addEventListener("click", () => { const E = shownEntry(); if (E) download(E.text, `${baseName(E)}.json`, "application/json"); });
$("export-dot").addEventListener("click", () => { const E = shownEntry(); if (E) download(acdc.circuitDot(E.circuit), `${baseName(E)}.dot`, "text/vnd.graphviz"); });
$("export-svg").addEventListener("click", () => {
  const E = shownEntry();
  if (!E || !drawn) return;
  const names = catNames(drawn.other);
  download(sceneSvg(drawn.sA, title(), (de) => tooltipText(drawn.graph, de, E, names[de.cat] ?? de.cat, null)), `${baseName(E)}.svg`, "image/svg+xml");
});
$("export-png").addEventListener("click", () => {
  const E = shownEntry();
  if (!E || !drawn) return;
  sceneCanvas(drawn.sA, title()).toBlob((b) => download(b, `${baseName(E)}.png`, "image/png"), "image/png");
});
// The worker builds the manifest: it holds the model's and data's files (their digests are taken there, a picked
// file read in slices) and the loaded parameters. It names the JSON export beside it, so `acdc verify` checks that too.
$("export-manifest").addEventListener("click", async () => {
  const E = shownEntry();
  if (!E?.run) return;
  clearError();
  const r = E.run;
  if (r.client !== client || r.worker !== client.worker || client.loaded.model !== r.model || client.loaded.data !== r.data) {
    showError("the engine no longer holds the model and data this circuit ran on (they changed, or the engine was restarted): run it again to get its manifest");
    return;
  }
  try {
    const m = await client.request("manifest", { run: r.id, circuitPath: `${baseName(E)}.json` });
    download(m.text, `${baseName(E)}.manifest.json`, "application/json");
  } catch (e) { if (!(e instanceof CancelledError)) showError(e); }
});

// ---- wiring ---------------------------------------------------------------------

$("builtin").addEventListener("change", () => {
  const b = BUILTINS.find((x) => x.key === $("builtin").value);
  if (b) void loadModel(b.spec, b);
});
$("model-file").addEventListener("change", (ev) => void modelFromFiles([...ev.target.files].map((f) => fileEntry(f))));
$("model-folder").addEventListener("change", (ev) => void modelFromFiles([...ev.target.files].map((f) => fileEntry(f))));
$("hub-load").addEventListener("click", () => {
  const repo = $("hub-name").value.trim();
  if (!repo) { showError("type a Hugging Face repo id (gpt2, owner/name)"); return; }
  $("builtin").value = "";
  void loadModel({ kind: "hub", repo });
});
$("hub-name").addEventListener("keydown", (ev) => { if (ev.key === "Enter") $("hub-load").click(); });

async function modelFromFiles(entries) {
  clearError();
  if (!entries.length) return;
  try {
    const spec = await modelSpecFromFiles(entries);
    $("builtin").value = "";
    await loadModel(spec);
  } catch (e) { showError(e); }
}

$("data-source").addEventListener("change", () => {
  const v = $("data-source").value;
  setSource(v);
  if (v === "builtin") void setData({ kind: "builtin" });
});
$("data-file").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) { setSource("ids"); void setData({ kind: "ids", file: f }); } });
$("task-file").addEventListener("change", (ev) => {
  const fs = [...ev.target.files];
  const task = fs.find((f) => /\.json$/i.test(f.name) && !/^tokenizer(_config)?\.json$/i.test(f.name));
  if (!task) { showError("pick the task file (JSON), with the tokenizer file it names if any"); return; }
  setSource("task");
  void setData({ kind: "task", file: task, files: fs.filter((f) => f !== task) });
});
$("use-text").addEventListener("click", () => {
  const lines = (id) => $(id).value.split("\n").map((s) => s.trimEnd()).filter((s) => s.trim() !== "");
  const tok = $("tokenizer").value;
  const files = [...$("tokenizer-file").files];
  if (tok === "file" && !files.length) { showError("pick the tokenizer file (tokenizer.json, or a llama2.c .bin)"); return; }
  const tokenizer = tok === "file" ? (files.find((f) => f.name === "tokenizer.json") ?? files[0]).name : tok;
  void setData({ kind: "text", clean: lines("clean-text"), corrupted: lines("corrupted-text"), tokenizer, files, bos: $("bos").checked, metric: "kl", positions: "last" });
});
$("tokenizer").addEventListener("change", () => { $("tokenizer-file").hidden = $("tokenizer").value !== "file"; });
$("tokenizer-file").hidden = true;

$("run").addEventListener("click", () => void run());
$("cancel").addEventListener("click", () => cancel());
$("sweep").addEventListener("click", () => void runSweep());
$("circuit-select").addEventListener("change", () => { state.shown = $("circuit-select").value; state.selected = -1; refreshCompare(); render(); });
$("circuit-file").addEventListener("change", (ev) => void openCircuits([...ev.target.files]));
$("compare").addEventListener("change", () => render());
for (const r of document.querySelectorAll("input[name=compare-mode]")) r.addEventListener("change", () => render());
for (const id of ["grouping", "nodes-mode"]) $(id).addEventListener("change", () => { state.selected = -1; render(); });
$("score-filter").addEventListener("input", () => render());
$("fit").addEventListener("click", () => viewA.fit());
$("zoom-in").addEventListener("click", () => camera.zoomAt(1.25, viewA.size.w / 2, viewA.size.h / 2));
$("zoom-out").addEventListener("click", () => camera.zoomAt(0.8, viewA.size.w / 2, viewA.size.h / 2));
$("edge-list").addEventListener("toggle", () => render());
$("threads").addEventListener("change", async () => {
  const t = $("threads").value;
  if (state.running) cancel(false);
  client.stop();
  state.liveRunId = null;
  client = new EngineClient(t === "auto" ? "auto" : Number(t));
  await startEngine();
  if (state.model?.info) ensureLoaded().catch(showError);
});

// Files dropped anywhere: sorted by what they are.
document.addEventListener("dragover", (ev) => { ev.preventDefault(); ev.dataTransfer.dropEffect = "copy"; });
document.addEventListener("drop", async (ev) => {
  ev.preventDefault();
  try {
    const sorted = await sortFiles(await droppedFiles(ev.dataTransfer));
    if (sorted.unknown.length) showError(`not a model, data, task or circuit file: ${sorted.unknown.map((e) => e.name).join(", ")}`);
    if (sorted.model.length) await modelFromFiles([...sorted.model, ...sorted.tokenizer]);
    if (sorted.data.length) { setSource("ids"); await setData({ kind: "ids", file: sorted.data[0].file }); }
    if (sorted.task.length) { setSource("task"); await setData({ kind: "task", file: sorted.task[0].file, files: sorted.tokenizer.map((e) => e.file) }); }
    if (sorted.circuit.length) await openCircuits(sorted.circuit.map((e) => e.file));
  } catch (e) { showError(e); }
});

async function startEngine() {
  try {
    const info = await client.start();
    $("engine-info").textContent = `engine: ${info.threads} thread${info.threads > 1 ? "s" : ""} in a worker · ` +
      (isolated ? "cross-origin isolated (threads available)" : "not cross-origin isolated: one thread (serve with `acdc explore` for threads)");
  } catch (e) {
    if (!(e instanceof CancelledError)) { $("engine-info").textContent = "engine failed to start"; showError(e); }
  }
}

// The page for tests and the curious: frame times of the views, and the state.
window.explorer = { state, views: [viewA, viewB], camera, frames: () => [...viewA.frames], client: () => client };

async function init() {
  setSource("ids");
  const avail = await availableBuiltins();
  for (const b of BUILTINS) {
    const o = new Option(b.name, b.key);
    o.disabled = !avail.includes(b);
    if (o.disabled) o.text += " (files not on this server)";
    $("builtin").add(o);
  }
  await startEngine();
  // #model=KEY loads a built-in; &threshold=T, &metric=M, &algorithm=A set the run; &run runs it;
  // &compare=truth overlays the ground truth; &group=heads groups the view.
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("group")) $("grouping").value = h.get("group");
  const b = BUILTINS.find((x) => x.key === h.get("model"));
  if (b && avail.includes(b)) {
    $("builtin").value = b.key;
    await loadModel(b.spec, b);
    if (h.get("threshold")) setThreshold(Number(h.get("threshold")));
    for (const k of ["metric", "algorithm"]) if (h.get(k) && [...$(k).options].some((o) => o.value === h.get(k))) $(k).value = h.get(k);
    if (h.has("run")) await run();
    if (h.get("compare")) { $("compare").value = h.get("compare"); render(); }
  }
  if ("serviceWorker" in navigator && /^https?:$/.test(location.protocol)) {
    navigator.serviceWorker.register("sw.js").catch(() => { /* offline use is a bonus; the page works without it */ });
  }
  document.body.dataset.ready = "1";
}
void init();
