// A minimal protobuf writer, enough for an ONNX ModelProto with one MatMul
// node (field numbers from onnx/onnx.proto3), so the ORT section needs no
// network or model files. Not a general ONNX writer.

const pb = {
  varint(n) { const o = []; let v = BigInt(n); while (v >= 0x80n) { o.push(Number(v & 0x7fn) | 0x80); v >>= 7n; } o.push(Number(v)); return Uint8Array.from(o); },
  cat(...parts) { const o = new Uint8Array(parts.reduce((a, p) => a + p.length, 0)); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; },
  int(field, v) { return pb.cat(pb.varint((field << 3) | 0), pb.varint(v)); },
  bytes(field, b) { return pb.cat(pb.varint((field << 3) | 2), pb.varint(b.length), b); },
  str(field, s) { return pb.bytes(field, new TextEncoder().encode(s)); },
};
const FLOAT = 1; // TensorProto.DataType.FLOAT

function valueInfo(name, dims) {
  // ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_value=1}}}}}
  const shape = pb.cat(...dims.map((d) => pb.bytes(1, pb.int(1, d))));
  return pb.cat(pb.str(1, name), pb.bytes(2, pb.bytes(1, pb.cat(pb.int(1, FLOAT), pb.bytes(2, shape)))));
}

function tensor(name, dims, data) {
  // TensorProto{dims=1, data_type=2, name=8, raw_data=9 (little-endian)}
  return pb.cat(...dims.map((d) => pb.int(1, d)), pb.int(2, FLOAT), pb.str(8, name),
    pb.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
}

/** ModelProto bytes for C[M,N] = MatMul(A[M,K], B[K,N]); B is a graph input, or a constant initializer when `constB` is given. */
export function onnxMatMul([M, N, K], constB = null) {
  const node = pb.cat(pb.str(1, "A"), pb.str(1, "B"), pb.str(2, "C"), pb.str(3, "matmul"), pb.str(4, "MatMul"));
  const graph = pb.cat(
    pb.bytes(1, node), pb.str(2, "bench"),
    constB ? pb.bytes(5, tensor("B", [K, N], constB)) : new Uint8Array(0),
    pb.bytes(11, valueInfo("A", [M, K])),
    constB ? new Uint8Array(0) : pb.bytes(11, valueInfo("B", [K, N])),
    pb.bytes(12, valueInfo("C", [M, N])));
  // ir_version=1 (8), opset_import=8 {domain "", version 13}, graph=7, producer_name=2
  return pb.cat(pb.int(1, 8), pb.str(2, "acdc-wasm bench"), pb.bytes(7, graph), pb.bytes(8, pb.cat(pb.str(1, ""), pb.int(2, 13))));
}
