// The token-id data format (`acdc run --data`, the explorer's data file),
// checked by parseDataJson: what it accepts is passed through unchanged;
// each malformed field is refused with a message naming the file and field,
// the same messages the CLI printed before the check moved out of Node code.
import t from "tap";
import { parseDataJson, parseDataText } from "../../dist/bundle.js";
import { fixtures, readJson } from "../helpers/fixtures.mjs";
import { join } from "node:path";

t.test("a fixture's data file passes through", async (t) => {
  const j = readJson(join(fixtures, "tiny-ln-mlp.data.json"));
  t.same(parseDataJson(j, "d.json"), { ...j, correct: undefined, incorrect: undefined });
  const ld = { ...j, correct: [1, 2, 3, 4, 5, 6], incorrect: [6, 5, 4, 3, 2, 1], positions: j.positions.map((p) => [p - 1, p]) };
  t.same(parseDataJson(ld, "d.json"), ld, "logit-diff tokens and lists of positions");
});

t.test("refusals name the file and the field", async (t) => {
  const ok = { clean: [[1, 2]], corrupted: [[2, 1]], positions: [1] };
  const no = (j, msg) => t.throws(() => parseDataJson(j, "x.json"), { name: "InputError", message: msg }, msg);
  no([], "data file x.json must hold a JSON object");
  no({ ...ok, clean: [] }, 'data file x.json: "clean" must be a non-empty list of token-id lists');
  no({ ...ok, clean: [["a"]] }, 'data file x.json: "clean" must be a non-empty list of token-id lists');
  no({ ...ok, corrupted: [1] }, 'data file x.json: "corrupted" must be a list of token-id lists');
  no({ ...ok, positions: "last" }, 'data file x.json: "positions" must list one position (or a list of positions) per prompt');
  no({ ...ok, correct: ["a"] }, 'data file x.json: "correct" must be a list of token ids');
  no({ ...ok, tokens: 1, more: 2 }, 'data file x.json: unknown fields "tokens", "more" (expected clean, corrupted, positions, correct, incorrect)');
  t.throws(() => parseDataText("{ nope", "y.json"), { name: "InputError", message: /^data file y\.json is not valid JSON: / }, "not JSON");
});
