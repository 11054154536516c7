# The PyTorch side of bench section 10: a plain float32 forward pass of a
# GPT-2-small-shaped model (random weights, no hooks) on B prompts x T tokens,
# logits at every position as the paper's ACDC code computes them, and
# torch.matmul at the GEMM shapes of a trial. Timed here, after warm-up calls,
# with torch.set_num_threads(threads); prints one JSON line.
#   python3 bench/native/torch-forward.py '{"threads":1,"B":10,"T":16,"reps":5,"cfg":{...},"shapes":[[M,N,K],...]}'
import json
import sys
import time

import torch
import torch.nn.functional as F


def layer_weights(D, M, gen):
    w = lambda *s: torch.randn(*s, generator=gen) * 0.02
    return {"qkv": w(D, 3 * D), "bqkv": torch.zeros(3 * D), "o": w(D, D), "bo": torch.zeros(D),
            "fc": w(D, M), "bfc": torch.zeros(M), "proj": w(M, D), "bproj": torch.zeros(D),
            "ln1": (torch.ones(D), torch.zeros(D)), "ln2": (torch.ones(D), torch.zeros(D))}


def forward(tokens, layers, WE, WP, lnf, cfg):
    B, T = tokens.shape
    D, H = cfg["dModel"], cfg["nHeads"]
    Dh = D // H
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = WE[tokens] + WP[:T]
    for w in layers:
        h = F.layer_norm(x, (D,), *w["ln1"])
        q, k, v = (h @ w["qkv"] + w["bqkv"]).split(D, -1)
        q, k, v = (t.view(B, T, H, Dh).transpose(1, 2) for t in (q, k, v))
        pattern = ((q @ k.transpose(-1, -2)) / Dh ** 0.5 + mask).softmax(-1)
        z = (pattern @ v).transpose(1, 2).reshape(B, T, D)
        x = x + z @ w["o"] + w["bo"]
        h = F.layer_norm(x, (D,), *w["ln2"])
        x = x + F.gelu(h @ w["fc"] + w["bfc"], approximate="tanh") @ w["proj"] + w["bproj"]
    return F.layer_norm(x, (D,), *lnf) @ WE.T


def timed(fn, reps):
    for _ in range(2):
        fn()
    ms = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    return {"bestMs": ms[0], "medianMs": ms[len(ms) // 2], "meanMs": sum(ms) / len(ms)}


def main():
    o = json.loads(sys.argv[1])
    torch.set_num_threads(o["threads"])
    cfg, B, T = o["cfg"], o["B"], o["T"]
    D, M, V, L = cfg["dModel"], cfg["dMlp"], cfg["dVocab"], cfg["nLayers"]
    gen = torch.Generator().manual_seed(1)
    layers = [layer_weights(D, M, gen) for _ in range(L)]
    WE, WP = torch.randn(V, D, generator=gen) * 0.02, torch.randn(cfg["nCtx"], D, generator=gen) * 0.01
    lnf = (torch.ones(D), torch.zeros(D))
    tokens = torch.randint(0, V, (B, T), generator=gen)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "simd": torch.backends.cpu.get_cpu_capability()}
    with torch.no_grad():
        logits = forward(tokens, layers, WE, WP, lnf, cfg)
        if not torch.isfinite(logits).all():
            raise SystemExit("non-finite logits")
        out["forward"] = timed(lambda: forward(tokens, layers, WE, WP, lnf, cfg), o["reps"])
        gemms = []
        for Mr, N, K in o["shapes"]:
            a, b = torch.randn(Mr, K, generator=gen), torch.randn(K, N, generator=gen)
            t = timed(lambda: a @ b, max(3, o["reps"] * 4))
            gemms.append({"shape": [Mr, N, K], **t, "gflops": 2 * Mr * N * K / t["bestMs"] / 1e6})
        out["gemm"] = gemms
    print(json.dumps(out))


main()
