// The bench's per-trial cost model (bench/lib/layer-trials.js): the weight
// bytes a trial reads and the roofline floor built from them, against
// counts worked out by hand on a tiny geometry, and GPT-2-small's W_U.
import t from "tap";
import { trialBytes, trialFlops, withFloor } from "../../bench/lib/layer-trials.js";

// 3 layers, d_model 4, 2 heads × 2, d_mlp 8, vocab 10. W_U 4·10 = 40 floats;
// an MLP 2·4·8 = 64; one head's q (or k, v) and W_O rows 2·4·2 = 16; a whole
// layer 4·4·2·2 + 64 = 128.
const tiny = { dModel: 4, nHeads: 2, dHead: 2, dMlp: 8, dVocab: 10, nLayers: 3 };

t.test("trialBytes: the f32 weights each receiver's trial multiplies by", async (t) => {
  t.equal(trialBytes(tiny, 3, "output"), 4 * 40);
  t.equal(trialBytes(tiny, 2, "q_input"), 4 * (16 + 64 + 40), "last layer: its head, its MLP, W_U");
  t.equal(trialBytes(tiny, 2, "mlp_in"), 4 * (64 + 40));
  t.equal(trialBytes(tiny, 1, "v_input"), 4 * (16 + 64 + 128 + 40), "one later layer in full");
  t.equal(trialBytes(tiny, 0, "q_input"), 4 * (16 + 64 + 2 * 128 + 40));
  t.equal(trialBytes(tiny, 0, "mlp_in"), 4 * (64 + 2 * 128 + 40));
  const gpt2 = { dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nLayers: 12 };
  t.equal(trialBytes(gpt2, 12, "output"), 154389504, "GPT-2-small's W_U, 147 MiB");
  // A trial into layer 0 reads every weight but the other heads' of layer 0 (and the embeddings).
  const all = 12 * (4 * 768 * 768 + 2 * 768 * 3072) + 768 * 50257;
  t.equal(trialBytes(gpt2, 0, "mlp_in"), 4 * (all - 4 * 768 * 768));
});

t.test("withFloor: the longer of arithmetic at the peak and bytes at the bandwidth, edge-weighted", async (t) => {
  const tr = {
    groups: [
      { layer: 3, kind: "output", count: 2, flops: 2e6 },
      { layer: 0, kind: "q/k/v (direct)", count: 1, flops: 1e6 },
      { layer: 0, kind: "mlp_in", count: 1, flops: 3e7 },
    ],
    layers: [{ layer: 3, edges: 2 }, { layer: 0, edges: 2 }],
    edges: 4,
  };
  // 1 GFLOP/s: 1e6 FLOP take 1 ms. 1e-4 GB/s = 1e5 bytes/s: 160 bytes take 1.6 ms.
  withFloor(tr, tiny, 1, 1e-4);
  t.equal(tr.groups[0].floorMs, 2, "output: arithmetic-bound (2 ms against 1.6 ms of W_U)");
  t.equal(tr.groups[1].floorMs, 15.04, "a direct edge counts as its q input: 1504 bytes, memory-bound");
  t.equal(tr.groups[2].floorMs, 30, "layer 0 MLP: 30 ms of arithmetic against 14.4 ms of bytes");
  t.equal(tr.layers[0].floorMs, 2);
  t.equal(tr.layers[1].floorMs, (15.04 + 30) / 2);
  t.equal(tr.floorTotalMs, 2 * 2 + 15.04 + 30);
  t.equal(tr.floorMsPerEdge, (4 + 15.04 + 30) / 4);
  t.same(tr.limits, { peakGflops: 1, readGBps: 1e-4 });
  // trialFlops is what the groups carry in a real run: the last layer's MLP input at R rows, then W_U.
  t.equal(trialFlops(tiny, 2, 3, 2, 2, "mlp_in"), 2 * 2 * 2 * 4 * 8 + 2 * 2 * 4 * 10);
});
