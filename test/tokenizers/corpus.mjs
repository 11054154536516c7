// Strings the tokenizer equivalence tests encode: IOI-style sentences,
// numbers, unicode (accents, CJK, emoji sequences, combining marks, RTL),
// whitespace runs, code, contractions, and seeded random mixes of all of
// these characters. No special-token text ("<s>", "<|endoftext|>"): how each
// tokenizer treats those is tested on its own.
import { mulberry32 } from "../../dist/random.js";
import { IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATE } from "../../dist/tasks/ioi.js";

const FIXED = [
  // numbers
  "0", "7", "42", "1234567", "3.14159", "-273.15", "1e-9", "6.022e23", "1,000,000", "0x1F", "0b1011", "1725", "1799 to 1800",
  "The war lasted from the year 1732 to the year 17", "99.9% of 10/3", "+1 (555) 010-9999", "12:30pm", "2024-02-29T23:59:59Z", "½ ¾ ²³",
  // unicode
  "naïve café résumé", "Ångström Øresund Ærø", "Straße", "Ελληνικά", "Русский текст", "日本語のテキスト", "中文字符", "한국어 문장",
  "مرحبا بالعالم", "שלום עולם", "हिन्दी", "ไทย", "😀", "👍🏽 👨‍👩‍👧 🏳️‍🌈", "e\u0301 a\u0308 n\u0303", "ｆｕｌｌｗｉｄｔｈ", "∀x∈ℝ: x²≥0",
  "no\u00a0break", "zero\u200bwidth", "\ufeffbom first", "tab\u000bvertical", "€£¥₹", "“quotes” ‘single’ — dash … ellipsis", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u0000nul",
  // whitespace
  " ", "  ", "   ", "        ", "\t", "\n", "\n\n", "\r\n", " \n ", "a  b", "a   b    c", "trailing ", "trailing   ", " leading", "  two leading",
  "\tindented\n\tlines\n", "line one\nline two\n\nline four", "mixed \t \n whitespace", "end\n", "\n\nstart",
  // code
  "def f(x):\n    return x**2  # square", "for (let i = 0; i < n; i++) { sum += a[i]; }", "const s = `t=${t}`;", "if x != None and y >= 3:",
  '{"key": [1, 2, {"nested": null}]}', "<div class=\"a\">Hello</div>", "SELECT * FROM t WHERE id = 3;", "echo $HOME && ls -la | grep .mjs",
  "/^(?:[a-z]+)\\d{2,}$/gi", "fn main() -> Result<(), Box<dyn Error>> {}", "x => x.map((y) => y * 2)", "#include <stdio.h>", "a_b_c __init__ CamelCase",
  // contractions and punctuation
  "I'm he's they're we've you'll she'd it's", "THEY'RE WE'VE I'LL", "don't can't won't", "rock 'n' roll", "''quoted''", "Hello, world!",
  "Wait... what?!", "(parenthesised) [bracketed] {braced}", "a.b.c", "e.g. i.e. etc.", "--flag=value", "#hashtag @mention", "~!@#$%^&*()_+",
  // TinyStories-like prose
  "Once upon a time, there was a little girl named Lily.", "Lily's mom said, \"Lily, let's go to the park.\"", "The cat sat on the mat. It was happy!",
];

const CHARS = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..."      ", "\t", "\n", "\r\n", ..."'\".,;:!?-_()[]{}<>/\\|@#$%^&*+=~`",
  "é", "ü", "ß", "ñ", "ø", "α", "ж", "日", "本", "한", "ש", "ع", "😀", "👍🏽", "\u0301", "\u00a0", "ſ", "€",
];

/** IOI prompts, fixed strings and `random` seeded random mixes. */
export function corpus({ ioi = 60, random = 260, seed = 11 } = {}) {
  const rand = mulberry32(seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const out = [];
  for (let i = 0; i < ioi; i++) {
    const a = pick(IOI_NAMES), b = pick(IOI_NAMES);
    out.push(IOI_TEMPLATE.replaceAll("[A]", a).replaceAll("[B]", b).replace("[PLACE]", pick(IOI_PLACES)).replace("[OBJECT]", pick(IOI_OBJECTS)));
  }
  out.push(...FIXED);
  for (let i = 0; i < random; i++) {
    const n = 1 + Math.floor(rand() * 40);
    let s = "";
    for (let k = 0; k < n; k++) s += pick(CHARS);
    out.push(s);
  }
  return out;
}
