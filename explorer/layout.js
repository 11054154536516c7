// Where a graph's nodes go on screen: nodes merged by a grouping (every
// node; each head's q/k/v inputs folded into the head; one node per layer's
// attention), placed in rows by layer from the input at the bottom to the
// output at the top, and across by head. Pure functions of the graph; no
// drawing here (scene.js), no DOM.

/** The groupings a view offers: key, what the menu says. */
export const GROUPINGS = [
  { key: "none", name: "every node" },
  { key: "heads", name: "heads (q/k/v collapsed)" },
  { key: "layers", name: "layers" },
];

const LETTER = { q: 0, k: 1, v: 2 };
/** Horizontal slots per head in the ungrouped view: q, k, v and a gap. */
const HEAD_SLOTS = 3.5;

/**
 * The display graph of `graph` under `grouping`: display nodes (each with the
 * graph nodes it stands for, its row from the bottom and its slot across)
 * and `of`, graph node id → display node id.
 */
export function displayGraph(graph, grouping = "none") {
  const L = graph.nodes[graph.output].layer;
  const H = Math.max(1, ...graph.nodes.map((n) => (n.head ?? -1) + 1));
  const nodes = [], byKey = new Map(), of = new Int32Array(graph.nodes.length);
  const centre = grouping === "none" ? (H * HEAD_SLOTS - 1.5) / 2 : grouping === "heads" ? (H - 1) / 2 : 0;
  const add = (key, fields, member) => {
    let d = byKey.get(key);
    if (!d) {
      d = { id: nodes.length, key, members: [], ...fields };
      byKey.set(key, d);
      nodes.push(d);
    }
    d.members.push(member.id);
    of[member.id] = d.id;
  };
  for (const n of graph.nodes) {
    const h = n.head, l = n.layer;
    switch (n.kind) {
      case "input": add("input", { kind: "input", layer: -1, row: 0, slot: centre, short: "input", label: n.label }, n); break;
      case "embed": add("embed", { kind: "embed", layer: -1, row: 0, slot: centre - 1, short: "embed", label: n.label }, n); break;
      case "pos_embed": add("pos_embed", { kind: "pos_embed", layer: -1, row: 0, slot: centre + 1, short: "pos_embed", label: n.label }, n); break;
      case "output": add("output", { kind: "output", layer: L, row: grouping === "none" ? 5 * L + 1 : 2 * L + 1, slot: centre, short: "output", label: n.label }, n); break;
      default:
        if (grouping === "none") add(n.label, ungrouped(n, centre), n);
        else if (n.kind === "mlp_in" || n.kind === "mlp_out") add(`mlp ${l}`, { kind: "mlp", layer: l, row: 2 * l + 2, slot: centre, short: `mlp ${l}`, label: `MLP ${l} (${hookPair(graph, l)})` }, n);
        else if (grouping === "heads") add(`head ${l}.${h}`, { kind: "head", layer: l, head: h, row: 2 * l + 1, slot: h, short: `${l}.${h}`, label: `head ${l}.${h}` }, n);
        else add(`attn ${l}`, { kind: "attn", layer: l, row: 2 * l + 1, slot: centre, short: `attn ${l}`, label: `attention layer ${l}` }, n);
    }
  }
  return { grouping, nodes, of, heads: H, layers: L };
}

function hookPair(graph, l) {
  const names = graph.nodes.filter((n) => n.layer === l && (n.kind === "mlp_in" || n.kind === "mlp_out")).map((n) => n.label);
  return names.join(", ");
}

function ungrouped(n, centre) {
  const l = n.layer, h = n.head;
  switch (n.kind) {
    case "qkv_input": return { kind: n.kind, layer: l, head: h, letter: n.letter, row: 5 * l + 1, slot: h * HEAD_SLOTS + LETTER[n.letter], short: `${l}.${h} ${n.letter}_in`, label: n.label };
    case "qkv": return { kind: n.kind, layer: l, head: h, letter: n.letter, row: 5 * l + 2, slot: h * HEAD_SLOTS + LETTER[n.letter], short: `${l}.${h} ${n.letter}`, label: n.label };
    case "result": return { kind: n.kind, layer: l, head: h, row: 5 * l + 3, slot: h * HEAD_SLOTS + 1, short: `head ${l}.${h}`, label: n.label };
    case "mlp_in": return { kind: n.kind, layer: l, row: 5 * l + 4, slot: centre, short: `mlp ${l} in`, label: n.label };
    default: return { kind: n.kind, layer: l, row: 5 * l + 5, slot: centre, short: `mlp ${l}`, label: n.label };
  }
}

/** Box sizes and spacing in world units per grouping. */
export const METRICS = {
  none: { w: 78, h: 22, pitch: 86, rowGap: 40 },
  heads: { w: 64, h: 24, pitch: 78, rowGap: 70 },
  layers: { w: 96, h: 26, pitch: 110, rowGap: 70 },
};

/**
 * Positions (box centres, world units; y grows downward, so the output is
 * at the top) of the display nodes. `shown` (a Set of display ids, or null
 * for all) picks the nodes drawn; `compact` packs each row's shown nodes
 * side by side instead of keeping every node's slot, and drops empty rows.
 */
export function placeNodes(dg, shown, compact) {
  const m = METRICS[dg.grouping];
  const pos = new Array(dg.nodes.length).fill(null);
  const list = dg.nodes.filter((d) => !shown || shown.has(d.id));
  const rows = [...new Set(list.map((d) => d.row))].sort((a, b) => a - b);
  const rowIndex = new Map(rows.map((r, i) => [r, compact ? i : r]));
  for (const r of rows) {
    const inRow = list.filter((d) => d.row === r).sort((a, b) => a.slot - b.slot || a.id - b.id);
    const y = -rowIndex.get(r) * (m.h + m.rowGap);
    inRow.forEach((d, i) => {
      const x = compact ? (i - (inRow.length - 1) / 2) * m.pitch : d.slot * m.pitch;
      pos[d.id] = { x, y, w: m.w, h: m.h };
    });
  }
  if (!compact) {
    // Centre the full grid on x = 0.
    const xs = pos.filter(Boolean).map((p) => p.x);
    const mid = (Math.min(...xs) + Math.max(...xs)) / 2;
    for (const p of pos) if (p) p.x -= mid;
  }
  return pos;
}

/**
 * The drawn edges: graph edges (ids) grouped by display endpoints, the
 * receiver's q/k/v port (collapsed heads take their three inputs at three
 * points along the bottom) and a category (kept, found, missed, …); edges
 * whose endpoints merge into one display node (a head's own q → q input)
 * are not drawn.
 */
export function displayEdges(graph, dg, items) {
  const groups = new Map();
  for (const { id, cat } of items) {
    const e = graph.edges[id];
    const a = dg.of[e.parent], b = dg.of[e.child];
    if (a === b) continue;
    const child = graph.nodes[e.child];
    const port = dg.grouping === "heads" && child.letter ? child.letter : "";
    const key = `${a} ${b} ${port} ${cat}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { from: a, to: b, port, cat, members: [], direct: e.type === "direct" }));
    g.members.push(id);
  }
  return [...groups.values()];
}
