// A drawable circuit: boxes for display nodes and one curve per display edge,
// in world coordinates, with the curves of each style batched into Path2D
// objects of 64 edges so a frame costs few stroke calls however many edges
// there are. Painted onto a canvas (the interactive view, PNG export) or
// written as SVG; hit tests for hover and click. Knows nothing of events or
// panels.
//
// Speed: a software rasteriser (a browser without GPU acceleration, and the
// headless Chromium the tests drive) strokes 2,000 screen-high curves in
// about 100 ms at 1.3 px width but in under 10 ms as 1-device-pixel
// hairlines (Skia's hairline path), and a single path of all of them is
// slower than chunks of 64. So a scene with many edges draws them all as
// hairlines (colour still tells the categories apart); small scenes get
// widths.

/** Edge styles by category: colour, width in screen pixels, dash, what the legend calls it. */
export const STYLES = {
  kept: { color: "#39424e", width: 1.3, name: "kept edge" },
  trial: { color: "#1f6feb", width: 3, name: "being tested" },
  found: { color: "#1a9850", width: 2, name: "found (in both)" },
  extra: { color: "#f28e2b", width: 1.8, name: "extra (only in this circuit)" },
  missed: { color: "#d62728", width: 1.8, dash: [7, 4], name: "missed (only in the other)" },
};

const FILL = {
  input: "#cfe8cf", embed: "#cfe8cf", pos_embed: "#cfe8cf", output: "#f4d4c8",
  mlp_in: "#f5e6b3", mlp_out: "#f5e6b3", mlp: "#f5e6b3", result: "#c9d9f0", head: "#c9d9f0", attn: "#c9d9f0",
  qkv: "#e3ebf7", qkv_input: "#e3ebf7",
};
const PORT = { q: -1 / 3, k: 0, v: 1 / 3 };
/** A colour two thirds of the way to white: nodes not in the circuit, without the cost of alpha blending. */
const paler = (hex) => "#" + [1, 3, 5].map((i) => Math.round(255 - (255 - parseInt(hex.slice(i, i + 2), 16)) / 3).toString(16).padStart(2, "0")).join("");
/** Points per curve for hit tests and the WebGL strips. */
const SAMPLES = 20;

/**
 * A scene from display nodes with positions (`pos[id]`, null where not
 * drawn), display edges (layout.js displayEdges) and per-node marks
 * (a Set of display ids in use; the id of the node being worked on).
 */
export function buildScene(dg, pos, dedges, marks = {}) {
  const nodes = [];
  for (const d of dg.nodes) {
    const p = pos[d.id];
    if (!p) continue;
    const faded = marks.used ? !marks.used.has(d.id) : false;
    nodes.push({ d, x: p.x, y: p.y, w: p.w, h: p.h, fill: faded ? paler(FILL[d.kind] ?? "#ddd") : FILL[d.kind] ?? "#ddd", faded });
  }
  const xs = nodes.flatMap((n) => [n.x - n.w / 2, n.x + n.w / 2]), ys = nodes.flatMap((n) => [n.y - n.h / 2, n.y + n.h / 2]);
  const bounds = nodes.length ? { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) } : { x0: -50, y0: -50, x1: 50, y1: 50 };
  // An edge that skips rows would run through the boxes between: bow it out
  // sideways (away from the middle), more the more rows it skips.
  const rowYs = [...new Set(nodes.map((n) => n.y))].sort((a, b) => a - b);
  let pitch = Infinity;
  for (let i = 1; i < rowYs.length; i++) pitch = Math.min(pitch, rowYs[i] - rowYs[i - 1]);
  const mid = (bounds.x0 + bounds.x1) / 2;
  const edges = [];
  for (const e of dedges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const x1 = a.x, y1 = a.y - a.h / 2, x2 = b.x + (PORT[e.port] ?? 0) * b.w * 0.8, y2 = b.y + b.h / 2;
    const skipped = Number.isFinite(pitch) ? Math.round((a.y - b.y) / pitch) - 1 : 0;
    const side = Math.abs((x1 + x2) / 2 - mid) > 1 ? Math.sign((x1 + x2) / 2 - mid) : e.members[0] % 2 ? 1 : -1;
    const bend = skipped > 0 ? side * Math.min(a.w * 3, (a.w * 0.35) * (1 + Math.log2(skipped)) + 4 * (e.members[0] % 7)) : 0;
    const edge = { ...e, x1, y1, x2, y2, bend };
    edge.width = widthOf(edge);
    edges.push(edge);
  }
  return { nodes, edges, bounds, current: marks.current ?? -1, paths: null, fills: null, plainFills: null, samples: null };
}

/** Points along an edge's curve, [x0, y0, x1, y1, …] (world units). */
export function curvePoints(e) {
  const [ax, ay, b1x, b1y, b2x, b2y, cx, cy] = curve(e);
  const out = new Float32Array(SAMPLES * 2);
  for (let k = 0; k < SAMPLES; k++) {
    const t = k / (SAMPLES - 1), u = 1 - t;
    const a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t;
    out[2 * k] = a * ax + b * b1x + c * b2x + d * cx;
    out[2 * k + 1] = a * ay + b * b1y + c * b2y + d * cy;
  }
  return out;
}

/** Control points of an edge's curve: leave the sender upward, arrive at the receiver from below. */
function curve(e) {
  const dy = Math.max(20, (e.y1 - e.y2) * 0.45), b = e.bend ?? 0;
  return [e.x1, e.y1, e.x1 + b, e.y1 - dy, e.x2 + b, e.y2 + dy, e.x2, e.y2];
}

const widthOf = (e) => e.width ?? STYLES[e.cat].width * (1 + 0.5 * Math.log2(e.members.length));
const styleKey = (e) => `${e.cat}|${e.direct && e.cat === "kept" ? "d" : ""}|${widthOf(e).toFixed(2)}`;

/** Edges above which every edge is a hairline. */
export const HAIRLINE_EDGES = 300;
const CHUNK = 64;

/** Path2D chunks per edge style, built on first use. */
function paths(scene) {
  if (scene.paths) return scene.paths;
  const by = new Map();
  for (const e of scene.edges) {
    const k = styleKey(e);
    let s = by.get(k);
    if (!s) by.set(k, (s = { cat: e.cat, direct: e.direct && e.cat === "kept", width: widthOf(e), chunks: [], n: 0 }));
    if (s.n++ % CHUNK === 0) s.chunks.push(new Path2D());
    const path = s.chunks[s.chunks.length - 1];
    const [ax, ay, b1x, b1y, b2x, b2y, cx, cy] = curve(e);
    path.moveTo(ax, ay);
    path.bezierCurveTo(b1x, b1y, b2x, b2y, cx, cy);
  }
  // Draw order: plain edges first, then overlays, the edge under test last.
  const order = ["kept", "missed", "extra", "found", "trial"];
  return (scene.paths = [...by.values()].sort((a, b) => order.indexOf(a.cat) - order.indexOf(b.cat)));
}

/**
 * One Path2D of node boxes per fill colour, built on first use: rounded,
 * or (`plain`, when boxes are a few pixels on screen and the rounding would
 * not show) plain rectangles, which rasterise much faster.
 */
function fills(scene, plain) {
  const key = plain ? "plainFills" : "fills";
  if (scene[key]) return scene[key];
  const by = new Map();
  for (const n of scene.nodes) {
    const k = `${n.fill}|${n.faded ? 1 : 0}`;
    let f = by.get(k);
    if (!f) by.set(k, (f = { fill: n.fill, faded: n.faded, path: new Path2D() }));
    if (plain) f.path.rect(n.x - n.w / 2, n.y - n.h / 2, n.w, n.h);
    else f.path.roundRect(n.x - n.w / 2, n.y - n.h / 2, n.w, n.h, 5);
  }
  return (scene[key] = [...by.values()]);
}

/**
 * Paint `scene` with world→screen transform (scale s, offset tx, ty) on a
 * canvas of w × h CSS pixels at device ratio dpr; `hi` highlights: an edge
 * (scene edge), a node (display id) with its edges.
 */
export function paintScene(ctx, scene, view, hi = {}) {
  const { s, tx, ty, w, h, dpr } = view;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * tx, dpr * ty);
  const dim = hi.node !== undefined && hi.node >= 0;
  const hair = scene.edges.length > HAIRLINE_EDGES;
  ctx.lineCap = "butt";
  for (const st of paths(scene)) {
    const base = STYLES[st.cat];
    ctx.globalAlpha = dim ? 0.25 : 1;
    ctx.strokeStyle = base.color;
    ctx.lineWidth = hair ? 1 / (s * dpr) : st.width / s;
    ctx.setLineDash((base.dash ?? (st.direct ? [3, 3] : [])).map((x) => x / s));
    for (const p of st.chunks) ctx.stroke(p);
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
  if (dim) {
    for (const e of scene.edges) {
      if (e.from !== hi.node && e.to !== hi.node) continue;
      strokeEdge(ctx, e, e.to === hi.node ? "#1f6feb" : "#8e44ad", (widthOf(e) + 0.8) / s);
    }
  }
  if (hi.edge) strokeEdge(ctx, hi.edge, "#000", (widthOf(hi.edge) + 2) / s);
  // Nodes, culled to the visible part of the world.
  const vx0 = -tx / s, vy0 = -ty / s, vx1 = (w - tx) / s, vy1 = (h - ty) / s;
  // Tiny boxes: plain rectangles, no outline.
  const tiny = 5 * s * dpr < 1.5;
  for (const f of fills(scene, tiny)) {
    ctx.fillStyle = f.fill;
    ctx.fill(f.path);
    if (tiny) continue;
    ctx.strokeStyle = f.faded ? "#c9ced4" : "#6b7280";
    ctx.lineWidth = 1 / (s * dpr);
    ctx.stroke(f.path);
  }
  ctx.globalAlpha = 1;
  for (const n of scene.nodes) {
    if (n.d.id !== scene.current && n.d.id !== hi.node) continue;
    ctx.strokeStyle = n.d.id === hi.node ? "#8e44ad" : "#1f6feb";
    ctx.lineWidth = 3 / s;
    ctx.beginPath();
    ctx.roundRect(n.x - n.w / 2, n.y - n.h / 2, n.w, n.h, 5);
    ctx.stroke();
  }
  // Labels only where they are big enough to read.
  if (11 * s >= 6.5) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const n of scene.nodes) {
      if (n.x + n.w / 2 < vx0 || n.x - n.w / 2 > vx1 || n.y + n.h / 2 < vy0 || n.y - n.h / 2 > vy1) continue;
      ctx.fillStyle = n.faded ? "#9aa1ab" : "#1f2328";
      ctx.fillText(n.d.short, n.x, n.y, n.w - 4);
    }
  }
}

function strokeEdge(ctx, e, color, width) {
  const [ax, ay, b1x, b1y, b2x, b2y, cx, cy] = curve(e);
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  ctx.moveTo(ax, ay);
  ctx.bezierCurveTo(b1x, b1y, b2x, b2y, cx, cy);
  ctx.stroke();
}

function samples(scene) {
  if (scene.samples) return scene.samples;
  const out = new Float32Array(scene.edges.length * SAMPLES * 2);
  scene.edges.forEach((e, i) => out.set(curvePoints(e), i * SAMPLES * 2));
  return (scene.samples = out);
}

/** The edge whose curve passes within `tol` world units of (x, y), nearest first; null if none. */
export function hitEdge(scene, x, y, tol) {
  const pts = samples(scene);
  let best = null, bestD = tol * tol;
  for (let i = 0; i < scene.edges.length; i++) {
    for (let k = 0; k < SAMPLES - 1; k++) {
      const o = (i * SAMPLES + k) * 2;
      const d = segDist2(x, y, pts[o], pts[o + 1], pts[o + 2], pts[o + 3]);
      if (d < bestD) { bestD = d; best = scene.edges[i]; }
    }
  }
  return best;
}

function segDist2(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay, l = dx * dx + dy * dy;
  const t = l ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l)) : 0;
  const ex = ax + t * dx - px, ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

/** The node whose box holds (x, y), or null. */
export function hitNode(scene, x, y) {
  for (const n of scene.nodes) if (Math.abs(x - n.x) <= n.w / 2 && Math.abs(y - n.y) <= n.h / 2) return n;
  return null;
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The scene as a standalone SVG document, `title` and a legend of the categories drawn above it. */
export function sceneSvg(scene, title, describe = (e) => "") {
  const pad = 24, top = 56;
  const { x0, y0, x1, y1 } = scene.bounds;
  const W = Math.ceil(x1 - x0 + 2 * pad), H = Math.ceil(y1 - y0 + pad + top);
  const ox = pad - x0, oy = top - y0;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`];
  const cats = [...new Set(scene.edges.map((e) => e.cat))];
  cats.forEach((c, i) => {
    const st = STYLES[c], x = pad + i * 200;
    out.push(`<line x1="${x}" y1="40" x2="${x + 24}" y2="40" stroke="${st.color}" stroke-width="${st.width}"${st.dash ? ` stroke-dasharray="${st.dash.join(" ")}"` : ""}/><text x="${x + 30}" y="44">${esc(st.name)}</text>`);
  });
  out.push(`<g transform="translate(${ox.toFixed(2)} ${oy.toFixed(2)})">`);
  for (const e of scene.edges) {
    const [ax, ay, b1x, b1y, b2x, b2y, cx, cy] = curve(e).map((v) => +v.toFixed(2));
    const st = STYLES[e.cat];
    const dash = st.dash ?? (e.direct && e.cat === "kept" ? [3, 3] : null);
    out.push(`<path d="M${ax},${ay} C${b1x},${b1y} ${b2x},${b2y} ${cx},${cy}" fill="none" stroke="${st.color}" stroke-width="${widthOf(e).toFixed(2)}"${dash ? ` stroke-dasharray="${dash.join(" ")}"` : ""}><title>${esc(describe(e))}</title></path>`);
  }
  for (const n of scene.nodes) {
    out.push(`<g><title>${esc(n.d.label)}</title><rect x="${(n.x - n.w / 2).toFixed(2)}" y="${(n.y - n.h / 2).toFixed(2)}" width="${n.w}" height="${n.h}" rx="5" fill="${n.fill}" stroke="${n.faded ? "#c9ced4" : "#6b7280"}"/>` +
      `<text x="${n.x.toFixed(2)}" y="${(n.y + 4).toFixed(2)}" text-anchor="middle"${n.faded ? ' fill="#9aa1ab"' : ""}>${esc(n.d.short)}</text></g>`);
  }
  out.push("</g>", "</svg>");
  return out.join("\n") + "\n";
}

/** The scene drawn whole onto a new canvas at `ratio` pixels per world unit (at most 8192 px a side) under the same title and legend as the SVG. */
export function sceneCanvas(scene, title, ratio = 2) {
  const pad = 24, top = 56;
  const { x0, y0, x1, y1 } = scene.bounds;
  const W = x1 - x0 + 2 * pad, H = y1 - y0 + pad + top;
  const r = Math.min(ratio, 8192 / W, 8192 / H);
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(W * r);
  canvas.height = Math.ceil(H * r);
  const ctx = canvas.getContext("2d");
  paintScene(ctx, scene, { s: 1, tx: pad - x0, ty: top - y0, w: W, h: H, dpr: r });
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.fillStyle = "#1f2328";
  ctx.font = "bold 14px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  ctx.fillText(title, pad, 22);
  ctx.font = "11px system-ui, sans-serif";
  [...new Set(scene.edges.map((e) => e.cat))].forEach((c, i) => {
    const st = STYLES[c], x = pad + i * 200;
    ctx.strokeStyle = st.color;
    ctx.lineWidth = st.width;
    ctx.setLineDash(st.dash ?? []);
    ctx.beginPath(); ctx.moveTo(x, 40); ctx.lineTo(x + 24, 40); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillText(st.name, x + 30, 44);
  });
  return canvas;
}
