// Runtime-agnostic probe: runs the bundle's forward pass on each input and
// returns the logits' exact bytes, so results from Node, Deno and browsers can
// be compared bit for bit. Uses no Node/Deno/DOM APIs (only ECMAScript).

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Little-endian bytes of a Float32Array as lowercase hex (8 chars per float). */
export function floatsToHex(f32) {
  const out = new Array(f32.length);
  const view = new DataView(f32.buffer, f32.byteOffset, f32.byteLength);
  for (let i = 0; i < f32.length; i++) {
    const o = i * 4;
    out[i] = HEX[view.getUint8(o)] + HEX[view.getUint8(o + 1)] + HEX[view.getUint8(o + 2)] + HEX[view.getUint8(o + 3)];
  }
  return out.join("");
}

/** Inverse of floatsToHex. */
export function hexToFloats(hex) {
  const n = hex.length / 8;
  const buf = new ArrayBuffer(n * 4);
  const view = new DataView(buf);
  for (let i = 0; i < n * 4; i++) view.setUint8(i, parseInt(hex.substr(i * 2, 2), 16));
  return new Float32Array(buf);
}

/** FNV-1a (32-bit) of the hex string's bytes; a short fingerprint for reports. */
export function fnv1a(hex) {
  let h = 0x811c9dc5;
  for (let i = 0; i < hex.length; i++) {
    h ^= hex.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** ACDC on the fixture data: kept edges and every tested metric's float64 bytes. */
function probeAcdc(api, model, data) {
  const graph = api.buildGraph(model.cfg);
  const p = new api.Patcher(model, graph, data, { ablation: "corrupted", metric: api.klMetric() });
  const r = api.acdc(p, { threshold: 0.02 });
  const view = new DataView(new ArrayBuffer(8));
  let traceHex = "";
  for (const d of r.trace) {
    view.setFloat64(0, d.metric, true);
    for (let i = 0; i < 8; i++) traceHex += HEX[view.getUint8(i)];
  }
  const edges = r.edges.map((e) => `${graph.nodes[e.parent].label}>${graph.nodes[e.child].label}`).sort();
  return { kept: edges.length, tested: r.stats.tested, hash: fnv1a(traceHex + edges.join(",")), traceHex, edges };
}

/** SP, HISP and Edge Pruning on the fixture data: each circuit and the bytes of its scores and metric. */
function probeMethods(api, model, data) {
  const graph = api.buildGraph(model.cfg);
  const out = {};
  for (const [key, opts] of [["sp", { lambda: 0.5, steps: 40, seed: 1 }], ["hisp", { masked: 5 }], ["edge-pruning", { sparsity: 0.8, steps: 40, lr: 0.1, seed: 1 }]]) {
    const p = new api.Patcher(model, graph, data, { ablation: "corrupted", metric: api.klMetric() });
    const c = api.getAlgorithm(key).run(p, opts);
    const bytes = new Uint8Array(Float64Array.from([...c.scores, c.metric]).buffer);
    let hex = "";
    for (const b of bytes) hex += HEX[b];
    out[key] = { kept: c.edges.length, hash: fnv1a(hex + c.edges.map((e) => `${e.parent}>${e.child}`).join(",")) };
  }
  return out;
}

/**
 * @param {{loadModel: (st: Uint8Array, cfg: object, engine?: any) => Promise<any>, createEngine: (o?: object) => Promise<any>}} api the imported bundle
 * @param {{name: string, safetensors: Uint8Array, config: object, tokens: number[][]}[]} inputs
 * @param {{threads?: number}} [opts] threads > 1: every model on one threaded engine
 *   (createTestEngine({threads}, {splitSmallCalls: true}), so even the tiny fixtures'
 *   kernel calls are split across the workers); each result then says how
 *   many threads the engine got (1 where threads were unavailable)
 * @returns {Promise<{name: string, shape: number[], hash: string, logitsHex: string, threads?: number}[]>}
 */
export async function runProbe(api, inputs, opts = {}) {
  const results = [];
  const engine = opts.threads > 1 ? await api.createTestEngine({ threads: opts.threads }, { splitSmallCalls: true }) : undefined;
  try {
    for (const input of inputs) results.push(await probeOne(api, input, engine));
  } finally {
    if (engine) engine.dispose();
  }
  return results;
}

async function probeOne(api, input, engine) {
  const model = await api.loadModel(input.safetensors, input.config, engine);
  try {
    const out = model.forward(input.tokens);
    // Copy at once: the logits may be a view into wasm memory.
    const logits = new Float32Array(out.logits);
    const logitsHex = floatsToHex(logits);
    const result = { name: input.name, shape: Array.from(out.shape), hash: fnv1a(logitsHex), logitsHex };
    if (engine) result.threads = engine.threads;
    if (input.data) result.acdc = probeAcdc(api, model, input.data);
    if (input.data) result.methods = probeMethods(api, model, input.data);
    return result;
  } finally {
    if (model && typeof model.dispose === "function") model.dispose();
  }
}
