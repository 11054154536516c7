import t from "tap";
import { logspace, pow10 } from "../../dist/thresholds.js";

// 10^x for the exponents numpy's linspace(−5, −1, 21) makes (i·0.2 − 5 in
// doubles, the last exactly −1), each to 31 digits by Python's decimal module
// from the exponent's exact binary value: parsing them gives the correctly
// rounded doubles.
const EXACT = [
"1.000000000000000000000000000000e-5",
"1.584893192461114133457140168559e-5",
"2.511886431509582165915027997952e-5",
"3.981071705534969251016450836284e-5",
"6.309573444801929913593808448307e-5",
"1.000000000000000000000000000000e-4",
"1.584893192461114133457140168559e-4",
"2.511886431509582165915027997952e-4",
"3.981071705534973321874041104526e-4",
"6.309573444801929913593808448307e-4",
"1.000000000000000000000000000000e-3",
"1.584893192461114133457140168559e-3",
"2.511886431509582165915027997952e-3",
"3.981071705534973321874041104526e-3",
"6.309573444801936365468290743100e-3",
"1.000000000000000000000000000000e-2",
"1.584893192461114133457140168559e-2",
"2.511886431509582165915027997952e-2",
"3.981071705534973321874041104526e-2",
"6.309573444801936365468290743100e-2",
"1.000000000000000000000000000000e-1",
].map(Number);

t.test("logspace(−5, −1, 21) = the correctly rounded 10^x of numpy's exponents", async (t) => {
  t.same(logspace(-5, -1, 21), EXACT);
  t.equal(logspace(-5, -1, 21)[5], 0.0001, "10^−4 is 0.0001 (V8's 10 ** −4 is 0.00009999999999999999)");
});

t.test("pow10 at integers, halves and the ends of the double range", async (t) => {
  for (let k = -300; k <= 300; k += 7) t.equal(pow10(k), Number(`1e${k}`), `10^${k}`);
  t.equal(pow10(0.5), Number("3.16227766016837933199889354443"));
  t.equal(pow10(-0.5), Number("0.316227766016837933199889354443"));
  t.equal(pow10(2.5), Number("316.227766016837933199889354443"));
  t.equal(pow10(1e-300), 1, "a tiny exponent rounds to 1");
  t.throws(() => pow10(NaN), /not finite/);
  t.same(logspace(-2, 3, 1), [0.01], "n = 1: just 10^lo");
});
