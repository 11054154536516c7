// The SVG writers: a circuit drawing has one box per node of the circuit and
// one arrow per kept edge (titled with its endpoints), all inside the view
// box; plots keep every point inside the axes and draw overlapping curves so
// both stay visible; the output is well-formed XML.
import t from "tap";
import { acdc, buildGraph, circuitSvg, klMetric, Patcher } from "../../dist/index.js";
import { plotSvg, rocSvg } from "../../dist/eval/index.js";
import { fixture } from "../helpers/fixtures.mjs";

/** Tags balance and nest (self-closing ones aside): a minimal well-formedness check. */
function wellFormed(svg) {
  const stack = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === "/") continue;
    if (m[1] === "/") { if (stack.pop() !== m[2]) return false; } else stack.push(m[2]);
  }
  return stack.length === 0;
}
const numbers = (s) => [...s.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)].map((m) => Number(m[0]));

t.test("circuitSvg: boxes, arrows, titles, geometry", async (t) => {
  const { model, data } = await fixture("tiny-attn-only");
  const graph = buildGraph(model.cfg);
  const c = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 0.01 });
  const svg = circuitSvg(graph, c.edges, "tiny <attn> & co");
  t.ok(wellFormed(svg), "well-formed XML");
  t.match(svg, /tiny &lt;attn&gt; &amp; co/, "title escaped");
  t.notMatch(svg, /NaN|undefined|Infinity/);
  const vb = svg.match(/viewBox="0 0 ([\d.]+) ([\d.]+)"/);
  const width = Number(vb[1]), height = Number(vb[2]);
  t.ok(width > 0 && height > 0, `view box ${width}×${height}`);
  const arrows = [...svg.matchAll(/<path d="([^"]+)"[^>]*marker-end="url\(#arrow\)"><title>([^<]+)<\/title>/g)];
  t.equal(arrows.length, c.edges.length, "one arrow per kept edge");
  const want = new Set(c.edges.map((e) => `${graph.nodes[e.parent].label} → ${graph.nodes[e.child].label}`));
  t.same(new Set(arrows.map((a) => a[2])), want, "each arrow titled with its edge");
  const dashed = [...svg.matchAll(/<path [^>]*stroke-dasharray[^>]*marker-end/g)].length;
  t.equal(dashed, c.edges.filter((e) => e.type === "direct").length, "direct edges dashed");
  const boxes = [...svg.matchAll(/<g><title>([^<]+)<\/title><rect x="([\d.-]+)" y="([\d.-]+)"/g)];
  const used = new Set(c.edges.flatMap((e) => [graph.nodes[e.parent].label, graph.nodes[e.child].label]));
  t.same(new Set(boxes.map((b) => b[1])), used, "one box per node of the circuit");
  for (const b of boxes) t.ok(Number(b[2]) >= 0 && Number(b[2]) < width && Number(b[3]) >= 0 && Number(b[3]) < height, `${b[1]} inside the view box`);
  for (const a of arrows) t.ok(numbers(a[1]).every((v, i) => v >= -1 && v <= (i % 2 ? height : width) + 1), `arrow ${a[2]} inside the view box`);
});

t.test("plots: points inside the axes, overlapping curves both visible", async (t) => {
  const f = [{ fpr: 0, tpr: 0 }, { fpr: 0, tpr: 1 }, { fpr: 1, tpr: 1 }];
  const svg = rocSvg("ROC", [{ name: "edges", frontier: f }, { name: "heads/MLPs", frontier: f }]);
  t.ok(wellFormed(svg));
  const paths = [...svg.matchAll(/<path d="([^"]+)" fill="none" stroke="([^"]+)" stroke-width="([\d.]+)"( stroke-dasharray="([^"]+)")?><title>([^<]+)/g)];
  t.equal(paths.length, 2);
  t.equal(paths[0][1], paths[1][1], "the two curves lie on the same points");
  t.not(paths[0][2], paths[1][2], "in different colours");
  t.ok(!paths[0][5] && paths[1][5], "the second is dashed over the first, so both show");
  t.ok(Number(paths[0][3]) > Number(paths[1][3]), "and thinner");
  const circles = [...svg.matchAll(/<circle cx="([\d.-]+)" cy="([\d.-]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
  const frame = svg.match(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/).slice(1).map(Number);
  for (const [x, y] of circles) t.ok(x >= frame[0] - 0.01 && x <= frame[0] + frame[2] + 0.01 && y >= frame[1] - 0.01 && y <= frame[1] + frame[3] + 0.01, `point (${x}, ${y}) inside the axes`);
  const flat = plotSvg([{ name: "one point", points: [[5, 0]] }], { title: "t", xLabel: "x", yLabel: "y" });
  t.notMatch(flat, /NaN|Infinity/, "a single point at y = 0 does not divide by zero");
});
