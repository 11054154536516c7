// The circuit JSON (schema version 1) and DOT writers, checked directly: every
// field's type and meaning against the run that produced it, the score of each
// kept edge against the ACDC trace, round trips through JSON, and a DOT file
// whose edges are exactly the circuit's.
import t from "tap";
import { acdc, buildGraph, circuitDot, circuitJson, getAlgorithm, klMetric, Patcher } from "../../dist/index.js";
import { fixture } from "../helpers/fixtures.mjs";

const { model, data } = await fixture("tiny-ln-mlp");
const graph = buildGraph(model.cfg);
const threshold = 0.020523;
const c = acdc(new Patcher(model, graph, data, { ablation: "corrupted", metric: klMetric() }), { threshold });
const meta = { ablation: "corrupted", metric: "kl", model: { name: "tiny-ln-mlp", ...model.cfg } };
const j = circuitJson(c, meta);

t.test("schema: every field with its type", async (t) => {
  const fields = {
    version: "number", threshold: "number", ablation: "string", metric: "string", model: "object", baseline: "number",
    final_metric: "number", num_tested: "number", num_kept: "number", total_edges: "number", search_ms: "number",
    nodes: "object", edges: "object", algorithm: "string",
  };
  t.same(Object.keys(j).sort(), Object.keys(fields).sort(), "exactly the documented fields (top_k only for top-k cuts)");
  for (const [k, type] of Object.entries(fields)) t.equal(typeof j[k], type, `${k} is a ${type}`);
  t.equal(j.version, 1);
  t.equal(j.threshold, threshold);
  t.equal(j.algorithm, "acdc");
  t.same(j.model, meta.model);
  t.equal(j.total_edges, 134, "addition + direct edges of the graph");
  t.equal(j.num_kept, 78, "the reference circuit's 78 edges");
  t.equal(j.num_kept, j.edges.length);
  t.equal(j.num_tested, c.trace.length);
  t.equal(j.baseline, 0, "KL of the full model to itself");
  t.equal(j.final_metric, c.metric);
  t.ok(Number.isInteger(j.search_ms) && j.search_ms >= 0);
});

t.test("edges: labels, types, endpoints and scores", async (t) => {
  const before = new Map();
  let cur = c.baseline;
  for (const d of c.trace) { before.set(d.edge, { tried: d.metric, current: cur }); if (d.removed) cur = d.metric; }
  let checked = 0;
  for (const e of j.edges) {
    const id = graph.edges.find((x) => graph.nodes[x.parent].label === e.parent && graph.nodes[x.child].label === e.child)?.id;
    t.ok(id !== undefined, `${e.parent} → ${e.child} is an edge of the graph`);
    t.equal(e.type, graph.edges[id].type);
    t.ok(["addition", "direct"].includes(e.type));
    const p = graph.nodes[graph.edges[id].parent], ch = graph.nodes[graph.edges[id].child];
    t.same(e.sender, { hook: p.name, head: p.head, layer: p.layer });
    t.same(e.receiver, { hook: ch.name, head: ch.head, layer: ch.layer });
    const b = before.get(id);
    t.ok(b, "every kept edge was tried");
    t.equal(e.score, b.tried, "score is the metric with the edge removed when it was tried");
    t.ok(b.tried - b.current >= threshold, `kept because removing it raised the metric by ${(b.tried - b.current).toExponential(2)} ≥ τ`);
    checked++;
  }
  t.equal(checked, 78);
  const used = new Set(j.edges.flatMap((e) => [e.parent, e.child]));
  t.same(new Set(j.nodes), used, "nodes: exactly the endpoints of kept edges");
  const order = graph.visitOrder.map((id) => graph.nodes[id].label).filter((l) => used.has(l));
  t.same(j.nodes, order, "nodes in ACDC's visiting order");
  t.same(JSON.parse(JSON.stringify(j)), j, "JSON round trip is lossless");
});

t.test("attribution circuits: scores are attributions, top_k recorded, never NaN in JSON", async (t) => {
  const e = getAlgorithm("eap-ig").run(new Patcher(model, graph, data, { metric: klMetric() }), { topK: 30, igSteps: 3 });
  const je = circuitJson(e, meta);
  t.equal(je.algorithm, "eap-ig");
  t.equal(je.top_k, 30);
  t.equal(je.threshold, 0);
  t.ok(je.num_kept <= 30 && je.num_kept > 0);
  for (const x of je.edges) t.ok(typeof x.score === "number" && Number.isFinite(x.score), `${x.parent} → ${x.child}: attribution ${x.score?.toExponential?.(2)}`);
  t.notMatch(JSON.stringify(je), /NaN|Infinity/);
});

t.test("DOT: the circuit's edges, direct ones dashed, nodes declared once", async (t) => {
  const dot = circuitDot(c);
  t.match(dot, /^digraph circuit \{\n/);
  t.match(dot, /\}\n$/);
  const edgeLines = dot.split("\n").filter((l) => l.includes(" -> "));
  t.equal(edgeLines.length, j.edges.length);
  for (const e of j.edges) {
    const line = edgeLines.find((l) => l.startsWith(`  "${e.parent}" -> "${e.child}"`));
    t.ok(line, `${e.parent} -> ${e.child}`);
    t.equal(line.includes("style=dashed"), e.type === "direct", `${e.type} edge ${e.type === "direct" ? "dashed" : "solid"}`);
  }
  const decls = dot.split("\n").filter((l) => /^ {2}"[^"]+" \[fillcolor/.test(l)).map((l) => l.match(/"([^"]+)"/)[1]);
  t.same(new Set(decls), new Set(j.nodes));
  t.equal(decls.length, j.nodes.length, "each node declared once");
});

t.test("circuitFileText is the CLI's --out text; readCircuitJson reads it back into the same circuit", async (t) => {
  const { circuitFileText, readCircuitJson, tracrTask, createTracrModel } = await import("../../dist/bundle.js");
  const text = circuitFileText(c, meta);
  t.equal(text, JSON.stringify(j, null, 1) + "\n", "one-space JSON and a final newline");
  const r = readCircuitJson(JSON.parse(text));
  t.same(r.circuit.edges.map((e) => e.id), c.edges.map((e) => e.id), "the same edges, by graph edge id");
  t.same(Array.from(r.circuit.present), Array.from(c.present), "the same (pruned) present mask");
  for (const e of c.edges) t.equal(r.circuit.scores[e.id], c.scores[e.id], `score of edge ${e.id}`);
  t.equal(circuitFileText(r.circuit, r.meta), text, "written again: byte-identical");
  t.same(r.graph.counts, graph.counts, "the graph rebuilt from the recorded config");

  // Top-k cuts keep top_k; split-input (tracr) graphs are recognised by their hook_embed node.
  const k = getAlgorithm("eap-ig").run(new Patcher(model, graph, data, { ablation: "corrupted", metric: klMetric() }), { topK: 20 });
  const kt = circuitFileText(k, meta);
  t.equal(circuitFileText(readCircuitJson(JSON.parse(kt)).circuit, meta), kt, "an EAP-IG top-k circuit round-trips");
  const task = tracrTask("tracr-reverse"), tm = await createTracrModel(task);
  const tg = buildGraph(task.cfg, task.graph);
  const tc = acdc(new Patcher(tm, tg, task.data, { ablation: "zero", metric: task.metrics.task() }), { threshold: 0.001 });
  const tt = circuitFileText(tc, { ablation: "zero", metric: "tracr-l2", model: { name: "tracr-reverse", ...task.cfg } });
  const tr = readCircuitJson(JSON.parse(tt));
  t.ok(tr.graph.byLabel.has("hook_embed"), "tracr: split inputs");
  t.equal(circuitFileText(tr.circuit, tr.meta), tt, "tracr circuit round-trips");
});

t.test("readCircuitJson refuses what is not a circuit of its recorded model, naming the field", async (t) => {
  const { readCircuitJson } = await import("../../dist/bundle.js");
  const bad = (patch, re, what) => t.throws(() => readCircuitJson({ ...structuredClone(j), ...patch }), { name: "FormatError", message: re }, what);
  t.throws(() => readCircuitJson([]), { message: /^circuit JSON: must hold a JSON object/ }, "not an object");
  bad({ version: 2 }, /version 2 is not 1/, "another schema version");
  bad({ final_metric: "x" }, /"final_metric" must be a number/, "a field of the wrong type");
  bad({ model: { name: "m" } }, /does not record the model's geometry/, "no config");
  bad({ model: { ...j.model, nHeads: 3 } }, /"model": config: nHeads 3 is not a multiple of nKvHeads 4/, "a config makeConfig refuses");
  bad({ total_edges: 7 }, /"total_edges" is 7 but the recorded model's graph has 134 edges/, "a different graph");
  bad({ edges: [{ ...j.edges[0], child: "blocks.9.hook_mlp_in" }, ...j.edges.slice(1)] }, /edge 0 .* is not an edge of the recorded model's graph/, "an unknown node");
  bad({ edges: [{ ...j.edges[0], type: "direct" }, ...j.edges.slice(1)] }, /is an addition edge, not "direct"/, "a wrong edge type");
  bad({ edges: [j.edges[0], ...j.edges] }, /is listed twice/, "a repeated edge");
  bad({ num_kept: 3 }, /"num_kept" is 3 but 78 edges are listed/, "a count that disagrees");
});
