// The text beside the graph: what one edge is and how it was decided (the
// hover tooltip), a node's incoming and outgoing edges, the sweep table and
// the edge table that carries the whole circuit for keyboard and screen
// reader users. Builds DOM from entries (app.js's circuits); no state.

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A number in a few significant digits ("—" when missing). */
export function fmt(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(+x.toPrecision(digits)) : x.toExponential(digits - 1);
}

/** Seconds as "0.4 s", "12 s", "3 min 05 s", "1.2 h". */
export function fmtTime(s) {
  if (!Number.isFinite(s)) return "?";
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** What a score means for an entry's algorithm. */
export function scoreMeaning(entry) {
  return entry.circuit.scoreKind === "attribution" ? "attribution score" : entry.circuit.scoreKind === "metric-when-removed" ? "metric with the edge removed" : "score";
}

/** One edge's facts in an entry: its score, and when it was tried and what was decided. */
export function edgeFacts(entry, id) {
  const parts = [];
  const s = entry.circuit.scores[id];
  if (!Number.isNaN(s)) parts.push(`${scoreMeaning(entry)} ${fmt(s)}`);
  const k = entry.order?.get(id);
  if (k !== undefined) {
    const d = entry.decisions;
    parts.push(`tried #${k + 1} of ${d.length / 4} at ${fmtTime(d[4 * k + 3] / 1000)}, ${d[4 * k + 2] ? "removed" : "kept"}`);
  } else if (entry.source === "import") parts.push("decision order not recorded in a circuit JSON");
  else if (entry.circuit.scoreKind === "metric-when-removed") parts.push("never tried (its receiver was cut off first)");
  return parts.join(" · ");
}

/** Whether an edge is kept, removed (tried and dropped), pruned (kept but cut off) or not tried, in an entry. */
export function edgeStatus(entry, id) {
  if (entry.kept.has(id)) return "kept";
  const k = entry.order?.get(id);
  if (k !== undefined) return entry.decisions[4 * k + 2] ? "removed" : "pruned";
  if (entry.circuit.scoreKind === "attribution") return "below the cut";
  return entry.source === "import" ? "not in circuit" : "not tried";
}

/** The tooltip of a drawn edge: its category and, per member edge (a grouped view merges several), label and facts. */
export function tooltipText(graph, de, entry, catName, other) {
  const lines = [catName];
  const L = (id) => graph.nodes[id].label;
  for (const id of de.members.slice(0, 8)) {
    const e = graph.edges[id];
    lines.push(`${L(e.parent)} → ${L(e.child)}${e.type === "direct" ? " (direct)" : ""}`);
    const facts = entry ? edgeFacts(entry, id) : "";
    if (facts) lines.push(`   ${facts}`);
    if (other && other.entry) { const f = edgeFacts(other.entry, id); if (f) lines.push(`   ${other.name}: ${f}`); }
  }
  if (de.members.length > 8) lines.push(`… and ${de.members.length - 8} more`);
  return lines.join("\n");
}

/** The node panel: a display node's incoming and outgoing edges with their status in the shown circuit (and the compared one). */
export function nodePanel(el, graph, dg, d, entry, other) {
  const members = new Set(d.members);
  // A grouped node (a head with its q/k/v, a layer) says which of its members each edge meets.
  const grouped = d.members.length > 1;
  const rows = (ids, dir) => ids.map((id) => {
    const e = graph.edges[id], peer = dir === "in" ? e.parent : e.child, own = graph.nodes[dir === "in" ? e.child : e.parent];
    const st = entry ? edgeStatus(entry, id) : "";
    const cls = other ? (entry?.kept.has(id) ? (other.ids.has(id) ? "found" : "extra") : other.ids.has(id) ? "missed" : "") : "";
    return { id, cls, st, html: `<tr class="${cls}"><td>${esc(graph.nodes[peer].label)}${e.type === "direct" ? " (direct)" : ""}</td>${grouped ? `<td>${esc(own.label)}</td>` : ""}<td>${esc(st)}</td>` +
      `<td class="num">${entry ? esc(fmt(entry.circuit.scores[id])) : ""}</td><td class="num">${entry?.order?.has(id) ? `#${entry.order.get(id) + 1}` : ""}</td>` +
      (other ? `<td>${other.ids.has(id) ? "yes" : ""}</td>` : "") + "</tr>" };
  });
  const collect = (dir) => {
    const ids = [];
    for (const m of members) for (const id of (dir === "in" ? graph.parents[m] : graph.children[m])) {
      const e = graph.edges[id];
      if (e.type === "placeholder" || members.has(dir === "in" ? e.parent : e.child)) continue;
      ids.push(id);
    }
    // Kept edges first, then by score.
    const rank = (id) => (entry?.kept.has(id) ? 0 : 1);
    return ids.sort((a, b) => rank(a) - rank(b) || Math.abs(entry?.circuit.scores[b] || 0) - Math.abs(entry?.circuit.scores[a] || 0));
  };
  const table = (title, dir) => {
    const ids = collect(dir), r = rows(ids.slice(0, 300), dir);
    const kept = ids.filter((id) => entry?.kept.has(id)).length;
    return `<h3>${title}: ${ids.length}${entry ? `, ${kept} kept` : ""}</h3>` + (ids.length ? `<table><thead><tr><th>${dir === "in" ? "from" : "to"}</th>${grouped ? `<th>${dir === "in" ? "into" : "out of"}</th>` : ""}<th>status</th><th class="num">score</th><th class="num">tried</th>${other ? `<th>in ${esc(other.name)}</th>` : ""}</tr></thead><tbody>${r.map((x) => x.html).join("")}</tbody></table>` : "") +
      (ids.length > 300 ? `<p class="info">first 300 of ${ids.length}</p>` : "");
  };
  el.innerHTML = `<h3>${esc(d.label)}</h3>${d.members.length > 1 ? `<p class="info">${d.members.length} graph nodes: ${esc(d.members.slice(0, 6).map((m) => graph.nodes[m].label).join(", "))}${d.members.length > 6 ? ", …" : ""}</p>` : ""}` +
    table("Incoming", "in") + table("Outgoing", "out");
}

/** The edge table: every drawn graph edge with its category, score and decision, sorted as drawn. */
export function edgeTable(el, graph, items, entry, catNames) {
  const max = 5000;
  const rows = items.slice(0, max).map(({ id, cat }) => {
    const e = graph.edges[id];
    return `<tr class="${cat}"><td>${esc(graph.nodes[e.parent].label)}</td><td>${esc(graph.nodes[e.child].label)}</td><td>${e.type}</td>` +
      `<td class="num">${entry ? esc(fmt(entry.circuit.scores[id])) : ""}</td><td class="num">${entry?.order?.has(id) ? `#${entry.order.get(id) + 1}` : ""}</td><td>${esc(catNames[cat] ?? cat)}</td></tr>`;
  });
  el.innerHTML = `<table data-testid="edge-table"><caption class="sr-only">Edges drawn</caption><thead><tr><th>from</th><th>to</th><th>type</th><th class="num">score</th><th class="num">tried</th><th>category</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
    (items.length > max ? `<p class="info">first ${max} of ${items.length} edges</p>` : "");
}

/** The sweep table: one row per knob value with kept/tested edges, metric and (with a ground truth) TP/FP/FN. */
export function sweepPanel(el, sweep, shownId) {
  const head = `<h3>Sweep: ${esc(sweep.label)}${sweep.auc ? ` · ROC AUC edges ${fmt(sweep.auc.edges, 3)}, heads/MLPs ${fmt(sweep.auc.nodes, 3)}` : ""}</h3>`;
  const rows = sweep.values.map((v, i) => {
    const e = sweep.entries[i];
    if (!e) return `<tr><td class="num">${fmt(v, 3)}</td><td colspan="5" class="info">pending</td></tr>`;
    const s = e.score;
    return `<tr class="${e.id === shownId ? "current" : ""}"><td class="num">${fmt(v, 3)}</td><td class="num">${e.circuit.edges.length}</td><td class="num">${e.circuit.stats.tested}</td><td class="num">${fmt(e.circuit.metric)}</td>` +
      (s ? `<td class="num">${s.edges.tp}/${s.edges.fp}/${s.edges.fn}</td><td class="num">${fmt(s.edges.tpr, 3)} / ${fmt(s.edges.fpr, 3)}</td>` : "<td></td><td></td>") + "</tr>";
  });
  el.innerHTML = head + `<table><thead><tr><th class="num">τ</th><th class="num">kept</th><th class="num">tested</th><th class="num">metric</th><th class="num">TP/FP/FN</th><th class="num">TPR / FPR</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
    `<p class="info">Move the threshold slider to show each swept circuit.</p>`;
}
