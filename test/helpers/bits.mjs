// Bitwise equality of two Float32Arrays as a tap assertion, naming the first difference.
export function same(t, a, b, msg) {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let i = 0;
  while (i < ua.length && ua[i] === ub[i]) i++;
  return t.ok(a.length === b.length && i === ua.length, i < ua.length ? `${msg}: differs at [${i}] ${a[i]} vs ${b[i]}` : msg);
}
