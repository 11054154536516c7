// SVG pictures with no dependencies: a circuit drawn as a layered graph
// (input at the bottom, output at the top) and ROC / faithfulness curves.
import type { Graph, GraphNode } from "../graph/graph.js";
import type { RocPoint } from "../eval/roc.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// Vertical level of a node in forward order: five levels per layer.
function level(n: GraphNode, nLayers: number): number {
  switch (n.kind) {
    case "input": case "embed": case "pos_embed": return 0;
    case "qkv_input": return 5 * n.layer + 1;
    case "qkv": return 5 * n.layer + 2;
    case "result": return 5 * n.layer + 3;
    case "mlp_in": return 5 * n.layer + 4;
    case "mlp_out": return 5 * n.layer + 5;
    default: return 5 * nLayers + 1;
  }
}

function shortLabel(n: GraphNode): string {
  const h = `${n.layer}.${n.head}`;
  switch (n.kind) {
    case "input": return "input";
    case "embed": return "embed";
    case "pos_embed": return "pos_embed";
    case "output": return "output";
    case "qkv_input": return `${h} ${n.letter}_in`;
    case "qkv": return `${h} ${n.letter}`;
    case "result": return `head ${h}`;
    case "mlp_in": return `mlp${n.layer} in`;
    default: return `mlp${n.layer}`;
  }
}

const FILL: Record<string, string> = {
  input: "#cfe8cf", embed: "#cfe8cf", pos_embed: "#cfe8cf", output: "#f4d4c8",
  mlp_in: "#f5e6b3", mlp_out: "#f5e6b3", result: "#c9d9f0", qkv: "#e3ebf7", qkv_input: "#e3ebf7",
};

/** An SVG drawing of a circuit given as kept edges [parent id, child id, type]. */
export function circuitSvg(g: Graph, edges: { parent: number; child: number; type: string }[], title = ""): string {
  const used = [...new Set(edges.flatMap((e) => [e.parent, e.child]))].map((id) => g.nodes[id]);
  const L = Math.max(0, ...g.nodes.map((n) => (n.kind === "output" ? n.layer : 0)));
  const levels = [...new Set(used.map((n) => level(n, L)))].sort((a, b) => a - b);
  const rows = levels.map((lv) => used.filter((n) => level(n, L) === lv)
    .sort((a, b) => (a.head ?? -1) - (b.head ?? -1) || String(a.letter).localeCompare(String(b.letter)) || a.id - b.id));
  const W = 96, H = 26, gapX = 14, gapY = 46, pad = 44, top = title ? 34 : pad;
  const width = Math.max(240, pad * 2 + Math.max(1, ...rows.map((r) => r.length)) * (W + gapX) - gapX);
  const height = top + pad + rows.length * (H + gapY) - gapY;
  const pos = new Map<number, { x: number; y: number }>();
  rows.forEach((row, i) => {
    const rowW = row.length * (W + gapX) - gapX;
    row.forEach((n, j) => pos.set(n.id, { x: (width - rowW) / 2 + j * (W + gapX), y: height - pad - (i + 1) * H - i * gapY }));
  });
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>`];
  if (title) out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`);
  // Edges that skip rows would cross the nodes between: route them through
  // lanes beside the widest row, left or right of centre by the sender's side.
  const rowOf = new Map<number, number>();
  rows.forEach((row, i) => row.forEach((n) => rowOf.set(n.id, i)));
  let lanesL = 0, lanesR = 0;
  for (const e of edges) {
    const a = pos.get(e.parent)!, b = pos.get(e.child)!;
    const x1 = a.x + W / 2, y1 = a.y, x2 = b.x + W / 2, y2 = b.y + H;
    const dash = e.type === "direct" ? ` stroke-dasharray="4 3"` : "";
    let d: string;
    const span = rowOf.get(e.child)! - rowOf.get(e.parent)!;
    const blocked = span > 1 && rows.slice(rowOf.get(e.parent)! + 1, rowOf.get(e.child)!).some((row) =>
      row.some((n) => { const p = pos.get(n.id)!; return Math.min(x1, x2) - 8 < p.x + W && Math.max(x1, x2) + 8 > p.x; }));
    if (blocked) {
      const left = x1 + x2 <= width;
      const lane = left ? pad / 2 + 6 * (lanesL++ % 3) : width - pad / 2 - 6 * (lanesR++ % 3);
      const ya = y1 - gapY / 2, yb = y2 + gapY / 2;
      d = `M${x1},${y1} C${x1},${ya} ${lane},${ya} ${lane},${ya - 12} L${lane},${yb + 12} C${lane},${yb} ${x2},${yb} ${x2},${y2}`;
    } else {
      const my = (y1 + y2) / 2;
      d = `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`;
    }
    out.push(`<path d="${d}" fill="none" stroke="#555" stroke-width="1.2"${dash} marker-end="url(#arrow)"><title>${esc(`${g.nodes[e.parent].label} → ${g.nodes[e.child].label}`)}</title></path>`);
  }
  for (const n of used) {
    const p = pos.get(n.id)!;
    out.push(`<g><title>${esc(n.label)}</title><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6" fill="${FILL[n.kind]}" stroke="#666"/>` +
      `<text x="${p.x + W / 2}" y="${p.y + H / 2 + 4}" text-anchor="middle">${esc(shortLabel(n))}</text></g>`);
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

export interface CurveSeries {
  name: string; points: [number, number][]; colour?: string; step?: boolean; dash?: string;
  /** false: markers only (points that are not a path, e.g. refused removals). */
  line?: boolean;
}

/** A line plot of one or more series on [xmin,xmax]×[ymin,ymax] (ROC curves use the unit square). */
export function plotSvg(series: CurveSeries[], opts: { title: string; xLabel: string; yLabel: string; xRange?: [number, number]; yRange?: [number, number] }): string {
  const w = 420, h = 340, ml = 56, mr = 16, mt = 34, mb = 46;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])), ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = opts.xRange ?? [Math.min(0, ...xs), Math.max(1e-12, ...xs)];
  const [y0, y1] = opts.yRange ?? [Math.min(0, ...ys), Math.max(1e-12, ...ys)];
  const X = (x: number) => ml + ((x - x0) / (x1 - x0 || 1)) * (w - ml - mr);
  const Y = (y: number) => h - mb - ((y - y0) / (y1 - y0 || 1)) * (h - mt - mb);
  const palette = ["#1f5fa8", "#c8553d", "#3a8f5c", "#8c5fb0", "#b8860b", "#2a9d9d"];
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${esc(opts.title)}</text>`,
    `<rect x="${ml}" y="${mt}" width="${w - ml - mr}" height="${h - mt - mb}" fill="none" stroke="#999"/>`];
  for (let i = 0; i <= 4; i++) {
    const tx = x0 + ((x1 - x0) * i) / 4, ty = y0 + ((y1 - y0) * i) / 4;
    out.push(`<text x="${X(tx)}" y="${h - mb + 14}" text-anchor="middle">${+tx.toPrecision(3)}</text>`);
    out.push(`<text x="${ml - 6}" y="${Y(ty) + 4}" text-anchor="end">${+ty.toPrecision(3)}</text>`);
  }
  out.push(`<text x="${(ml + w - mr) / 2}" y="${h - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text x="14" y="${(mt + h - mb) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(mt + h - mb) / 2})">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = s.colour ?? palette[i % palette.length];
    let d = "";
    s.points.forEach(([x, y], j) => {
      if (j === 0) d += `M${X(x)},${Y(y)}`;
      else if (s.step) d += ` H${X(x)} V${Y(y)}`;
      else d += ` L${X(x)},${Y(y)}`;
    });
    // Later series are drawn thinner and dashed, so one lying exactly on an earlier one still shows.
    const dash = s.dash ?? (i > 0 ? ["6 4", "2 3", "8 3 2 3"][(i - 1) % 3] : "");
    if (s.line !== false) out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="${i === 0 ? 3 : 1.6}"${dash ? ` stroke-dasharray="${dash}"` : ""}><title>${esc(s.name)}</title></path>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="${i === 0 || s.line === false ? 3 : 2}" fill="${c}"/>`);
    out.push(`<text x="${w - mr - 6}" y="${h - mb - 10 - 14 * i}" text-anchor="end" fill="${c}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** ROC staircases (from paretoFrontier points) for edge and node level. */
export function rocSvg(title: string, curves: { name: string; frontier: RocPoint[] }[]): string {
  // Start every staircase at (0,0) so a perfect point (0,1) shows as a rise.
  const pts = (f: RocPoint[]) => [[0, 0] as [number, number], ...f.filter((p) => p.fpr > 0 || p.tpr > 0).map((p) => [p.fpr, p.tpr] as [number, number])];
  return plotSvg(curves.map((c) => ({ name: c.name, points: pts(c.frontier), step: true })),
    { title, xLabel: "false positive rate", yLabel: "true positive rate", xRange: [0, 1], yRange: [0, 1] });
}
