// Float64 reference forward passes for Hugging Face causal language models,
// written from the equations of the `transformers` modeling code
// (modeling_llama.py, modeling_qwen2.py, modeling_mistral.py,
// modeling_gpt_neox.py, modeling_gpt2.py, modeling_rope_utils.py,
// masking_utils.py and the configuration classes), in plain loops.
//
// What it is: a test oracle. Slow (O(T^2 D) per layer with no caching), exact
// up to float64 rounding, reading tensors by their HF names and shapes, and
// refusing loudly whatever it does not implement (unknown architectures, RoPE
// scaling types other than default/linear/llama3, cross-attention...).
// What it is not: the package's model code, a loader, or fast. It imports
// nothing from src/ or dist/ so it can judge the code that will live there.
//
// Interface of every forward function:
//   config   the parsed config.json object (v4 style with rope_theta/rope_scaling,
//            or v5 style with rope_parameters; both are read)
//   tensors  Map of HF tensor name -> { shape, data } with data a Float32Array or
//            Float64Array in row-major order (16-bit checkpoints widened)
//   ids      token ids [B][T] (every row the same length)
//   opts     { positionIds?: [B][T] } positions used for RoPE / learned position
//            embeddings; default 0..T-1 (HF's default position_ids)
// returns    logits [B][T][V] as one row-major Float64Array of length B*T*V.
//
// Shape legend: B batch, T positions, D hidden_size, H query heads, Hk key/value
// heads, Dh head dim, M MLP width, V vocab, L layers.

// ---- elementwise functions --------------------------------------------------------

/**
 * erf in float64. For |z| < 6 the series erf(z) = 2/sqrt(pi) * exp(-z^2) *
 * sum_n 2^n z^(2n+1) / (1*3*...*(2n+1)) has only positive terms, so it sums
 * without cancellation to a few ulps; beyond 6, 1 - |erf| < 3e-17 is below
 * float64 resolution at 1. (JavaScript has no Math.erf.)
 */
export function erf(z) {
  const a = Math.abs(z);
  if (a >= 6) return Math.sign(z);
  let term = a, sum = a;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(z) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
// tanh form of GELU shared by HF's "gelu_new" (GPT-2), "gelu_pytorch_tanh" and "gelu_fast":
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
const geluTanh = (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));

/** HF ACT2FN names this oracle implements. Note HF's plain "gelu" is the exact erf form. */
export const ACTIVATIONS = {
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  relu: (x) => Math.max(0, x),
};

function activation(name) {
  const f = ACTIVATIONS[name];
  if (!f) throw new Error(`activation "${name}" is not implemented by the reference (have: ${Object.keys(ACTIVATIONS).join(", ")})`);
  return f;
}

// ---- tensors by name ----------------------------------------------------------------

/**
 * Weight access by HF name with shape checks. `basePrefix` is the base model's
 * prefix ("model.", "gpt_neox.", "transformer."): like from_pretrained, a name
 * is also found without it, since some checkpoints (openai-community/gpt2) were
 * saved from the bare base model.
 */
function weightReader(tensors, basePrefix) {
  const cache = new Map();
  const resolve = (name) => {
    if (tensors.has(name)) return name;
    if (basePrefix && name.startsWith(basePrefix) && tensors.has(name.slice(basePrefix.length))) return name.slice(basePrefix.length);
    return null;
  };
  return {
    has: (name) => resolve(name) !== null,
    /** Float64Array of tensor `name`, which must have exactly `shape`. */
    get(name, shape) {
      const key = resolve(name);
      if (key === null) throw new Error(`missing tensor ${name}`);
      const t = tensors.get(key);
      if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) throw new Error(`${key} has shape [${t.shape}], expected [${shape}]`);
      if (!cache.has(key)) {
        if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) throw new Error(`${key}: data must be a Float32Array or Float64Array`);
        cache.set(key, t.data instanceof Float64Array ? t.data : Float64Array.from(t.data));
      }
      return cache.get(key);
    },
  };
}

// ---- building blocks (each on one position's vector) --------------------------------

/** nn.Linear: y = W x + b with W stored [out, in] (PyTorch layout). */
function linear(x, W, b, nOut, nIn) {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = b ? b[o] : 0;
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) s += W[row + i] * x[i];
    y[o] = s;
  }
  return y;
}

/** GPT-2's Conv1D: y = x W + b with W stored [in, out] — the transpose of nn.Linear. */
function conv1d(x, W, b, nIn, nOut) {
  const y = b ? Float64Array.from(b) : new Float64Array(nOut);
  for (let i = 0; i < nIn; i++) {
    const xi = x[i], row = i * nOut;
    for (let o = 0; o < nOut; o++) y[o] += xi * W[row + o];
  }
  return y;
}

/** RMSNorm (LlamaRMSNorm): w * x / sqrt(mean(x^2) + eps). No mean subtraction, no bias. */
function rmsNorm(x, w, eps) {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => w[i] * v * r);
}

/** nn.LayerNorm: w * (x - mean) / sqrt(var + eps) + b, biased variance (divide by D). */
function layerNorm(x, w, b, eps) {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  const r = 1 / Math.sqrt(v / n + eps);
  return x.map((xi, i) => w[i] * (xi - mean) * r + b[i]);
}

/**
 * Rotary embedding in HF's rotate-half convention, in place on one head's
 * vector x[off .. off+Dh). Only the first nRot dims rotate; with half = nRot/2
 * dim j pairs with dim j+half (not j+1 as in Meta's and llama2.c's interleaved
 * layout), both turned by the angle pos * invFreq[j]:
 *   x'[j]      = x[j] cos - x[j+half] sin
 *   x'[j+half] = x[j+half] cos + x[j] sin
 * (HF: q*cos + rotate_half(q)*sin, rotate_half(x) = cat(-x2, x1), cos/sin of
 * cat(freqs, freqs)). Dims nRot..Dh pass through: GPT-NeoX's partial rotary.
 */
export function applyRotary(x, off, nRot, invFreq, pos) {
  const half = nRot / 2;
  for (let j = 0; j < half; j++) {
    const ang = pos * invFreq[j], c = Math.cos(ang), s = Math.sin(ang);
    const a = x[off + j], b = x[off + j + half];
    x[off + j] = a * c - b * s;
    x[off + j + half] = b * c + a * s;
  }
}

/**
 * Causal softmax attention for one sequence.
 * q [T][H*Dh] and k, v [T][Hk*Dh] (already rotated); query head h reads
 * key/value head floor(h / (H/Hk)) — HF's repeat_kv repeats each kv head H/Hk
 * times in a row. Query t sees key n when n <= t and, with a sliding window W,
 * n > t - W (masking_utils: kv_idx > q_idx - sliding_window), i.e. W keys
 * counting itself. Returns [T][H*Dh], heads concatenated in head order.
 */
function attention(q, k, v, { T, H, Hk, Dh, scale, window }) {
  const group = H / Hk, out = [];
  for (let t = 0; t < T; t++) {
    const o = new Float64Array(H * Dh);
    const first = window ? Math.max(0, t - window + 1) : 0;
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group), qo = h * Dh, ko = kh * Dh;
      const sc = [];
      let mx = -Infinity;
      for (let n = first; n <= t; n++) {
        let s = 0;
        for (let i = 0; i < Dh; i++) s += q[t][qo + i] * k[n][ko + i];
        s *= scale;
        sc.push(s);
        if (s > mx) mx = s;
      }
      let z = 0;
      const p = sc.map((s) => { const e = Math.exp(s - mx); z += e; return e; });
      for (let n = first; n <= t; n++) {
        const w = p[n - first] / z;
        for (let i = 0; i < Dh; i++) o[qo + i] += w * v[n][ko + i];
      }
    }
    out.push(o);
  }
  return out;
}

// ---- configuration ----------------------------------------------------------------------

function req(config, key) {
  const v = config[key];
  if (v === undefined || v === null) throw new Error(`config.json lacks ${key}`);
  return v;
}

/**
 * Rotary frequencies from either config style:
 *   v4: rope_theta (GPT-NeoX: rotary_emb_base), rope_scaling {type|rope_type, factor, ...},
 *       partial rotary as rotary_pct (GPT-NeoX) or partial_rotary_factor;
 *   v5: rope_parameters {rope_type, rope_theta, partial_rotary_factor, factor, ...}.
 * nRot = int(Dh * partial) rotated dims; invFreq[j] = theta^(-2j/nRot), then the
 * scaling type adjusts it (modeling_rope_utils):
 *   default  unchanged;
 *   linear   invFreq / factor (position interpolation);
 *   llama3   wavelengths 2pi/invFreq shorter than original_max_position_embeddings /
 *            high_freq_factor are kept, longer than .../low_freq_factor divided by
 *            factor, and in between blended with s = (orig/wavelen - low)/(high - low):
 *            (1-s) invFreq/factor + s invFreq.
 * Every other type (dynamic, yarn, longrope, ntk, ...) is refused, as is a
 * per-layer-type rope_parameters dict.
 */
export function rotarySpec(config, Dh, { neox = false } = {}) {
  const p = config.rope_parameters ?? null;
  if (p && typeof p === "object" && p.rope_type === undefined && p.rope_theta === undefined && Object.values(p).some((x) => x && typeof x === "object"))
    throw new Error("rope_parameters per layer type are not implemented by the reference");
  const theta = p?.rope_theta ?? config.rope_theta ?? (neox ? config.rotary_emb_base : undefined) ?? 10000;
  const partial = p?.partial_rotary_factor ?? (neox ? config.rotary_pct : config.partial_rotary_factor) ?? (neox ? 0.25 : 1);
  const scaling = config.rope_scaling ?? p;
  const type = scaling?.rope_type ?? scaling?.type ?? "default";
  const nRot = Math.trunc(Dh * partial);
  if (nRot % 2) throw new Error(`rotary dims int(${Dh} * ${partial}) = ${nRot} is odd`);
  if (!neox && nRot !== Dh) throw new Error(`partial rotary (${partial}) is only implemented for GPT-NeoX`);
  let inv = Float64Array.from({ length: nRot / 2 }, (_, j) => 1 / theta ** ((2 * j) / nRot));
  if (type === "linear") {
    inv = inv.map((f) => f / scaling.factor);
  } else if (type === "llama3") {
    const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: orig } = scaling;
    if ([factor, lo, hi, orig].some((x) => typeof x !== "number")) throw new Error("llama3 rope scaling needs factor, low_freq_factor, high_freq_factor, original_max_position_embeddings");
    const lowWl = orig / lo, highWl = orig / hi;
    inv = inv.map((f) => {
      const wl = (2 * Math.PI) / f;
      if (wl < highWl) return f;
      if (wl > lowWl) return f / factor;
      const s = (orig / wl - lo) / (hi - lo);
      return ((1 - s) * f) / factor + s * f;
    });
  } else if (type !== "default") {
    throw new Error(`RoPE scaling type "${type}" is not implemented by the reference (have: default, linear, llama3)`);
  }
  return { nRot, invFreq: inv, theta, type };
}

function positionsOf(ids, opts) {
  const pos = opts?.positionIds ?? ids.map((row) => row.map((_, t) => t));
  if (pos.length !== ids.length || pos.some((r, b) => r.length !== ids[b].length)) throw new Error("positionIds must have the shape of ids");
  return pos;
}

function checkIds(ids, V) {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every(Array.isArray)) throw new Error("ids must be [B][T]");
  const T = ids[0].length;
  if (T === 0 || ids.some((r) => r.length !== T)) throw new Error("every row of ids must have the same, non-zero length");
  for (const r of ids) for (const id of r) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`token id ${id} outside [0, ${V})`);
  return T;
}

// ---- Llama family (Llama, Qwen2, Mistral) -------------------------------------------------

/**
 * The decoder shared by LlamaForCausalLM, Qwen2ForCausalLM and MistralForCausalLM
 * (Qwen2 and Mistral reuse Llama's layer in modeling_qwen2.py / modular files):
 *   x_0 = E[id]                                        model.embed_tokens.weight [V, D]
 *   per layer l (prefix model.layers.l.):
 *     a  = RMSNorm(x; input_layernorm.weight [D], rms_norm_eps)
 *     q  = Wq a (+bq), k = Wk a (+bk), v = Wv a (+bv)   self_attn.{q,k,v}_proj.weight
 *          [H*Dh, D], [Hk*Dh, D], [Hk*Dh, D] (biases [H*Dh] / [Hk*Dh])
 *     q, k rotated per head (rotate-half RoPE, all Dh dims)
 *     o  = causal attention, scale 1/sqrt(Dh), GQA, optional sliding window
 *     x  = x + Wo o (+bo)                                self_attn.o_proj.weight [D, H*Dh]
 *     m  = RMSNorm(x; post_attention_layernorm.weight [D])
 *     x  = x + Wdown (act(Wgate m + bg) * (Wup m + bu)) (+bd)
 *          mlp.gate_proj / up_proj [M, D], mlp.down_proj [D, M]
 *   logits = Wlm RMSNorm(x; model.norm.weight)         lm_head.weight [V, D], or
 *            model.embed_tokens.weight when tie_word_embeddings.
 * Dh = head_dim when the config gives it (it may differ from D/H), else D/H.
 * `spec` carries what differs between the three: which biases exist and which
 * layers use a sliding window.
 */
function llamaFamilyForward(config, tensors, ids, opts, spec) {
  const D = req(config, "hidden_size"), H = req(config, "num_attention_heads"), L = req(config, "num_hidden_layers");
  const V = req(config, "vocab_size"), M = req(config, "intermediate_size");
  const Hk = config.num_key_value_heads ?? H, Dh = config.head_dim ?? D / H;
  if (!Number.isInteger(Dh)) throw new Error(`hidden_size ${D} is not divisible by num_attention_heads ${H} and head_dim is not given`);
  if (H % Hk) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hk}`);
  const eps = config.rms_norm_eps ?? 1e-6, act = activation(config.hidden_act ?? "silu");
  const rope = rotarySpec(config, Dh);
  const T = checkIds(ids, V), pos = positionsOf(ids, opts);
  const w = weightReader(tensors, "model.");
  const E = w.get("model.embed_tokens.weight", [V, D]);
  const head = config.tie_word_embeddings ? E : w.get("lm_head.weight", [V, D]);
  const lay = Array.from({ length: L }, (_, l) => {
    const p = `model.layers.${l}.`, b = spec.bias;
    const opt = (on, name, shape) => (on ? w.get(p + name, shape) : null);
    return {
      ln1: w.get(p + "input_layernorm.weight", [D]), ln2: w.get(p + "post_attention_layernorm.weight", [D]),
      wq: w.get(p + "self_attn.q_proj.weight", [H * Dh, D]), bq: opt(b.q, "self_attn.q_proj.bias", [H * Dh]),
      wk: w.get(p + "self_attn.k_proj.weight", [Hk * Dh, D]), bk: opt(b.k, "self_attn.k_proj.bias", [Hk * Dh]),
      wv: w.get(p + "self_attn.v_proj.weight", [Hk * Dh, D]), bv: opt(b.v, "self_attn.v_proj.bias", [Hk * Dh]),
      wo: w.get(p + "self_attn.o_proj.weight", [D, H * Dh]), bo: opt(b.o, "self_attn.o_proj.bias", [D]),
      wg: w.get(p + "mlp.gate_proj.weight", [M, D]), bg: opt(b.mlp, "mlp.gate_proj.bias", [M]),
      wu: w.get(p + "mlp.up_proj.weight", [M, D]), bu: opt(b.mlp, "mlp.up_proj.bias", [M]),
      wd: w.get(p + "mlp.down_proj.weight", [D, M]), bd: opt(b.mlp, "mlp.down_proj.bias", [D]),
      window: spec.windows[l] ?? null,
    };
  });
  const normF = w.get("model.norm.weight", [D]);
  const out = new Float64Array(ids.length * T * V);
  ids.forEach((row, bi) => {
    let x = row.map((id) => E.slice(id * D, (id + 1) * D));
    for (const ly of lay) {
      const a = x.map((xt) => rmsNorm(xt, ly.ln1, eps));
      const q = a.map((at, t) => { const v = linear(at, ly.wq, ly.bq, H * Dh, D); for (let h = 0; h < H; h++) applyRotary(v, h * Dh, rope.nRot, rope.invFreq, pos[bi][t]); return v; });
      const k = a.map((at, t) => { const v = linear(at, ly.wk, ly.bk, Hk * Dh, D); for (let h = 0; h < Hk; h++) applyRotary(v, h * Dh, rope.nRot, rope.invFreq, pos[bi][t]); return v; });
      const v = a.map((at) => linear(at, ly.wv, ly.bv, Hk * Dh, D));
      const o = attention(q, k, v, { T, H, Hk, Dh, scale: 1 / Math.sqrt(Dh), window: ly.window });
      x = x.map((xt, t) => { const y = linear(o[t], ly.wo, ly.bo, D, H * Dh); return xt.map((xi, i) => xi + y[i]); });
      x = x.map((xt) => {
        const m = rmsNorm(xt, ly.ln2, eps);
        const g = linear(m, ly.wg, ly.bg, M, D), u = linear(m, ly.wu, ly.bu, M, D);
        for (let i = 0; i < M; i++) g[i] = act(g[i]) * u[i];
        const y = linear(g, ly.wd, ly.bd, D, M);
        return xt.map((xi, i) => xi + y[i]);
      });
    }
    x.forEach((xt, t) => out.set(linear(rmsNorm(xt, normF, eps), head, null, V, D), (bi * T + t) * V));
  });
  return out;
}

/**
 * LlamaForCausalLM. Biases per config: attention_bias puts biases on q, k, v
 * and o_proj; mlp_bias on gate, up and down. No sliding window.
 * rope_scaling: default, linear, llama3 (others refused). pretraining_tp > 1
 * only slices the same matmuls, so it does not change the equations.
 */
export function llamaForward(config, tensors, ids, opts = {}) {
  const ab = !!config.attention_bias, mb = !!config.mlp_bias;
  return llamaFamilyForward(config, tensors, ids, opts, { bias: { q: ab, k: ab, v: ab, o: ab, mlp: mb }, windows: [] });
}

/**
 * Qwen2ForCausalLM: Llama's layer with biases always on q_proj, k_proj, v_proj
 * (never on o_proj or the MLP), tie_word_embeddings as configured. Sliding
 * window only when use_sliding_window is true, and then on the layers whose
 * layer_types entry is "sliding_attention" — by default layers l >=
 * max_window_layers (configuration_qwen2.py). Real Qwen2 configs carry a
 * sliding_window number with use_sliding_window false: no window then.
 */
export function qwen2Forward(config, tensors, ids, opts = {}) {
  const L = req(config, "num_hidden_layers");
  let windows = [];
  if (config.use_sliding_window && config.sliding_window != null) {
    const types = config.layer_types ?? Array.from({ length: L }, (_, l) => (l >= (config.max_window_layers ?? 28) ? "sliding_attention" : "full_attention"));
    windows = types.map((t) => (t === "sliding_attention" ? config.sliding_window : null));
  }
  return llamaFamilyForward(config, tensors, ids, opts, { bias: { q: true, k: true, v: true, o: false, mlp: false }, windows });
}

/**
 * MistralForCausalLM: Llama's layer without any bias; when sliding_window is a
 * number every layer masks keys older than sliding_window positions (query t
 * sees keys t-W+1..t). sliding_window null means plain causal attention.
 */
export function mistralForward(config, tensors, ids, opts = {}) {
  const L = req(config, "num_hidden_layers"), W = config.sliding_window ?? null;
  return llamaFamilyForward(config, tensors, ids, opts, { bias: { q: false, k: false, v: false, o: false, mlp: false }, windows: Array(L).fill(W) });
}

// ---- GPT-NeoX (Pythia) --------------------------------------------------------------------

/**
 * GPTNeoXForCausalLM:
 *   x_0 = E[id]                                   gpt_neox.embed_in.weight [V, D]
 *   per layer l (prefix gpt_neox.layers.l.):
 *     a   = LayerNorm(x; input_layernorm.{weight,bias} [D], layer_norm_eps)
 *     qkv = Wqkv a + bqkv                          attention.query_key_value.weight [3D, D], .bias [3D]
 *           The 3D outputs are grouped PER HEAD: head n owns rows
 *           n*3Dh .. (n+1)*3Dh, in the order q (Dh rows), k (Dh), v (Dh).
 *           (Not [all q | all k | all v] as in GPT-2's c_attn.)
 *     q, k: the first nRot = int(Dh * rotary_pct) dims of each head rotated
 *           (rotate-half within those nRot dims, invFreq = base^(-2j/nRot),
 *           base = rotary_emb_base); dims nRot..Dh pass through.
 *     o   = causal attention, scale 1/sqrt(Dh), no GQA
 *     A   = Wdense o + bdense                       attention.dense.weight [D, D], .bias [D]
 *     MLP(y) = W2 act(W1 y + b1) + b2               mlp.dense_h_to_4h [M, D], mlp.dense_4h_to_h [D, M]
 *     use_parallel_residual true:  x = x + A + MLP(LayerNorm(x; post_attention_layernorm))
 *     use_parallel_residual false: x = x + A;  x = x + MLP(LayerNorm(x; post_attention_layernorm))
 *   logits = Wout LayerNorm(x; gpt_neox.final_layer_norm)  embed_out.weight [V, D] (or
 *            embed_in when tie_word_embeddings)
 * hidden_act defaults to "gelu" = exact erf GELU. attention_bias false (newer
 * configs) drops the qkv and dense biases. Buffers stored by old checkpoints
 * (attention.bias, attention.masked_bias, attention.rotary_emb.inv_freq) are
 * not read: HF recomputes them.
 */
export function gptNeoXForward(config, tensors, ids, opts = {}) {
  const D = req(config, "hidden_size"), H = req(config, "num_attention_heads"), L = req(config, "num_hidden_layers");
  const V = req(config, "vocab_size"), M = req(config, "intermediate_size"), Dh = D / H;
  if (!Number.isInteger(Dh)) throw new Error(`hidden_size ${D} is not divisible by num_attention_heads ${H}`);
  const eps = config.layer_norm_eps ?? 1e-5, act = activation(config.hidden_act ?? "gelu");
  const parallel = config.use_parallel_residual ?? true, bias = config.attention_bias ?? true;
  const rope = rotarySpec(config, Dh, { neox: true });
  const T = checkIds(ids, V), pos = positionsOf(ids, opts);
  const w = weightReader(tensors, "gpt_neox.");
  const E = w.get("gpt_neox.embed_in.weight", [V, D]);
  const head = config.tie_word_embeddings ? E : w.get("embed_out.weight", [V, D]);
  const lay = Array.from({ length: L }, (_, l) => {
    const p = `gpt_neox.layers.${l}.`;
    return {
      ln1w: w.get(p + "input_layernorm.weight", [D]), ln1b: w.get(p + "input_layernorm.bias", [D]),
      ln2w: w.get(p + "post_attention_layernorm.weight", [D]), ln2b: w.get(p + "post_attention_layernorm.bias", [D]),
      wqkv: w.get(p + "attention.query_key_value.weight", [3 * D, D]), bqkv: bias ? w.get(p + "attention.query_key_value.bias", [3 * D]) : null,
      wo: w.get(p + "attention.dense.weight", [D, D]), bo: bias ? w.get(p + "attention.dense.bias", [D]) : null,
      w1: w.get(p + "mlp.dense_h_to_4h.weight", [M, D]), b1: w.get(p + "mlp.dense_h_to_4h.bias", [M]),
      w2: w.get(p + "mlp.dense_4h_to_h.weight", [D, M]), b2: w.get(p + "mlp.dense_4h_to_h.bias", [D]),
    };
  });
  const lnfW = w.get("gpt_neox.final_layer_norm.weight", [D]), lnfB = w.get("gpt_neox.final_layer_norm.bias", [D]);
  const mlp = (ly, y) => { const h = linear(y, ly.w1, ly.b1, M, D).map(act); return linear(h, ly.w2, ly.b2, D, M); };
  const out = new Float64Array(ids.length * T * V);
  ids.forEach((row, bi) => {
    let x = row.map((id) => E.slice(id * D, (id + 1) * D));
    for (const ly of lay) {
      const q = [], k = [], v = [];
      x.forEach((xt, t) => {
        const qkv = linear(layerNorm(xt, ly.ln1w, ly.ln1b, eps), ly.wqkv, ly.bqkv, 3 * D, D);
        const qt = new Float64Array(D), kt = new Float64Array(D), vt = new Float64Array(D);
        for (let n = 0; n < H; n++) {
          const src = n * 3 * Dh, dst = n * Dh;
          qt.set(qkv.subarray(src, src + Dh), dst);
          kt.set(qkv.subarray(src + Dh, src + 2 * Dh), dst);
          vt.set(qkv.subarray(src + 2 * Dh, src + 3 * Dh), dst);
          applyRotary(qt, dst, rope.nRot, rope.invFreq, pos[bi][t]);
          applyRotary(kt, dst, rope.nRot, rope.invFreq, pos[bi][t]);
        }
        q.push(qt); k.push(kt); v.push(vt);
      });
      const o = attention(q, k, v, { T, H, Hk: H, Dh, scale: 1 / Math.sqrt(Dh), window: null });
      x = x.map((xt, t) => {
        const A = linear(o[t], ly.wo, ly.bo, D, D);
        if (parallel) {
          const F = mlp(ly, layerNorm(xt, ly.ln2w, ly.ln2b, eps));
          return xt.map((xi, i) => xi + A[i] + F[i]);
        }
        const x1 = xt.map((xi, i) => xi + A[i]);
        const F = mlp(ly, layerNorm(x1, ly.ln2w, ly.ln2b, eps));
        return x1.map((xi, i) => xi + F[i]);
      });
    }
    x.forEach((xt, t) => out.set(linear(layerNorm(xt, lnfW, lnfB, eps), head, null, V, D), (bi * T + t) * V));
  });
  return out;
}

// ---- GPT-2 ------------------------------------------------------------------------------------

/**
 * GPT2LMHeadModel:
 *   x_0 = wte[id] + wpe[pos]                      transformer.wte.weight [V, D], transformer.wpe.weight [n_positions, D]
 *   per layer l (prefix transformer.h.l.):
 *     a   = LayerNorm(x; ln_1.{weight,bias}, layer_norm_epsilon)
 *     qkv = a Wattn + battn                        attn.c_attn.weight [D, 3D] (Conv1D: [in, out]), .bias [3D]
 *           outputs 0..D are q, D..2D k, 2D..3D v; head n is the n-th Dh slice of each
 *     o   = causal attention, scale 1/sqrt(Dh) when scale_attn_weights (default
 *           true), further / (l+1) when scale_attn_by_inverse_layer_idx
 *     x   = x + o Wproj + bproj                    attn.c_proj.weight [D, D] (Conv1D)
 *     x   = x + act(LayerNorm(x; ln_2) Wfc + bfc) Wp2 + bp2
 *           mlp.c_fc.weight [D, M], mlp.c_proj.weight [M, D] (Conv1D); M = n_inner or 4D;
 *           act = activation_function, default "gelu_new" (tanh form)
 *   logits = LayerNorm(x; transformer.ln_f) wte^T  (lm_head is tied to wte; a separate
 *            lm_head.weight [V, D] is read only when tie_word_embeddings is false)
 * The transformer. prefix is optional (openai-community/gpt2 stores h.0..., wte...).
 * attn.bias / attn.masked_bias causal-mask buffers are not read.
 * reorder_and_upcast_attn only changes float16 numerics, not the equations.
 */
export function gpt2Forward(config, tensors, ids, opts = {}) {
  const D = config.n_embd ?? req(config, "hidden_size"), H = config.n_head ?? req(config, "num_attention_heads");
  const L = config.n_layer ?? req(config, "num_hidden_layers"), V = req(config, "vocab_size");
  const P = config.n_positions ?? req(config, "max_position_embeddings"), M = config.n_inner ?? 4 * D, Dh = D / H;
  if (!Number.isInteger(Dh)) throw new Error(`n_embd ${D} is not divisible by n_head ${H}`);
  if (config.add_cross_attention) throw new Error("GPT-2 cross-attention is not implemented by the reference");
  const eps = config.layer_norm_epsilon ?? 1e-5, act = activation(config.activation_function ?? "gelu_new");
  const T = checkIds(ids, V), pos = positionsOf(ids, opts);
  for (const r of pos) for (const p of r) if (!Number.isInteger(p) || p < 0 || p >= P) throw new Error(`position ${p} outside [0, n_positions=${P})`);
  const w = weightReader(tensors, "transformer.");
  const wte = w.get("transformer.wte.weight", [V, D]), wpe = w.get("transformer.wpe.weight", [P, D]);
  const head = config.tie_word_embeddings === false ? w.get("lm_head.weight", [V, D]) : wte;
  const lay = Array.from({ length: L }, (_, l) => {
    const p = `transformer.h.${l}.`;
    return {
      ln1w: w.get(p + "ln_1.weight", [D]), ln1b: w.get(p + "ln_1.bias", [D]),
      ln2w: w.get(p + "ln_2.weight", [D]), ln2b: w.get(p + "ln_2.bias", [D]),
      wa: w.get(p + "attn.c_attn.weight", [D, 3 * D]), ba: w.get(p + "attn.c_attn.bias", [3 * D]),
      wp: w.get(p + "attn.c_proj.weight", [D, D]), bp: w.get(p + "attn.c_proj.bias", [D]),
      wfc: w.get(p + "mlp.c_fc.weight", [D, M]), bfc: w.get(p + "mlp.c_fc.bias", [M]),
      wp2: w.get(p + "mlp.c_proj.weight", [M, D]), bp2: w.get(p + "mlp.c_proj.bias", [D]),
      scale: (config.scale_attn_weights ?? true ? 1 / Math.sqrt(Dh) : 1) / (config.scale_attn_by_inverse_layer_idx ? l + 1 : 1),
    };
  });
  const lnfW = w.get("transformer.ln_f.weight", [D]), lnfB = w.get("transformer.ln_f.bias", [D]);
  const out = new Float64Array(ids.length * T * V);
  ids.forEach((row, bi) => {
    let x = row.map((id, t) => { const p = pos[bi][t]; return Float64Array.from({ length: D }, (_, i) => wte[id * D + i] + wpe[p * D + i]); });
    for (const ly of lay) {
      const qkv = x.map((xt) => conv1d(layerNorm(xt, ly.ln1w, ly.ln1b, eps), ly.wa, ly.ba, D, 3 * D));
      const o = attention(qkv.map((r) => r.subarray(0, D)), qkv.map((r) => r.subarray(D, 2 * D)), qkv.map((r) => r.subarray(2 * D)),
        { T, H, Hk: H, Dh, scale: ly.scale, window: null });
      x = x.map((xt, t) => { const y = conv1d(o[t], ly.wp, ly.bp, D, D); return xt.map((xi, i) => xi + y[i]); });
      x = x.map((xt) => {
        const h = conv1d(layerNorm(xt, ly.ln2w, ly.ln2b, eps), ly.wfc, ly.bfc, D, M).map(act);
        const y = conv1d(h, ly.wp2, ly.bp2, M, D);
        return xt.map((xi, i) => xi + y[i]);
      });
    }
    x.forEach((xt, t) => out.set(linear(layerNorm(xt, lnfW, lnfB, eps), head, null, V, D), (bi * T + t) * V));
  });
  return out;
}

// ---- dispatch -------------------------------------------------------------------------------------

const BY_ARCH = {
  LlamaForCausalLM: llamaForward,
  Qwen2ForCausalLM: qwen2Forward,
  MistralForCausalLM: mistralForward,
  GPTNeoXForCausalLM: gptNeoXForward,
  GPT2LMHeadModel: gpt2Forward,
};
const BY_TYPE = { llama: llamaForward, qwen2: qwen2Forward, mistral: mistralForward, gpt_neox: gptNeoXForward, gpt2: gpt2Forward };

/** Pick the forward pass from config.architectures[0], else model_type; refuse anything else. */
export function hfForward(config, tensors, ids, opts = {}) {
  const arch = config.architectures?.[0];
  const f = arch ? BY_ARCH[arch] : BY_TYPE[config.model_type];
  if (!f) throw new Error(`architecture ${arch ?? config.model_type} is not implemented by the reference (have: ${Object.keys(BY_ARCH).join(", ")})`);
  return f(config, tensors, ids, opts);
}
