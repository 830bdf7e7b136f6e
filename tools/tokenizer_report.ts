/**
 * Measures the tokenizers on Brown as the canonical experiment splits it (val 0.1, test
 * 0.1, seed 0): BPE at several vocabulary sizes (tokens per word on train and on `reviews`
 * val, single-token words, byte tokens, fit time over repeats) against the word tokenizer,
 * and prints tokenised `reviews` val sentences with their decoded text.
 *
 *     deno run --allow-read --allow-sys tools/tokenizer_report.ts [--vocab 2000,4000,8000] [--repeats 3]
 *
 * @module
 */
import { BpeTokenizer } from "../lib/data/bpe_tokenizer.ts";
import { WordTokenizer } from "../lib/data/tokenizer.ts";
import { loadBrown, sentencesOf, splitDocuments } from "../lib/data/brown.ts";
import { Rng } from "../lib/util/rng.ts";

const arg = (name: string, fallback: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1]! : fallback;
};
const sizes = arg("vocab", "2000,4000,8000").split(",").map(Number);
const repeats = Number(arg("repeats", "3"));
const samples = Number(arg("samples", "10"));

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const split = splitDocuments(await loadBrown(), { val: 0.1, test: 0.1, seed: 0 });
const train = sentencesOf(split.train);
const reviewsVal = sentencesOf(split.val.filter((d) => d.category === "reviews"));
const trainWords = train.reduce((n, s) => n + s.length, 0);
const reviewsWords = reviewsVal.reduce((n, s) => n + s.length, 0);
console.log(
  `train: ${train.length} sentences, ${trainWords} words; reviews val: ${reviewsVal.length} ` +
    `sentences, ${reviewsWords} words; load average ${load()}`,
);
console.log(
  "| tokenizer | vocab | tok/word train | tok/word reviews val | single-token words train | " +
    "single-token words reviews val | single-byte tokens reviews val | UNK reviews val | fit s (min–max) |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
const word = WordTokenizer.fit(train, 3000);
const w = word.coverageReport(reviewsVal);
console.log(
  `| word | 3000 | 1 | 1 | ${pct(word.coverage(train))} | ${pct(w.singleTokenWords)} | 0 | ` +
    `${pct(w.unkTokens)} | – |`,
);
let sampleTok: BpeTokenizer | undefined;
for (const v of sizes) {
  const times: number[] = [];
  let tok: BpeTokenizer | undefined;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    tok = BpeTokenizer.fit(train, v);
    times.push((performance.now() - t0) / 1000);
  }
  const tr = tok!.coverageReport(train);
  const rv = tok!.coverageReport(reviewsVal);
  console.log(
    `| bpe | ${tok!.vocabSize} | ${tr.tokensPerWord.toFixed(3)} | ${
      rv.tokensPerWord.toFixed(3)
    } | ` +
      `${pct(tr.singleTokenWords)} | ${pct(rv.singleTokenWords)} | ${pct(rv.singleByteTokens)} | ` +
      `${pct(rv.unkTokens)} | ${times.map((t) => t.toFixed(2)).join(", ")} ` +
      `(${Math.min(...times).toFixed(2)}–${Math.max(...times).toFixed(2)}) |`,
  );
  if (v === 4000 || sampleTok === undefined) sampleTok = tok;
}
console.log(
  `byte-fallback tokens (parts of a multi-byte character) on reviews val at vocab ` +
    `${sampleTok!.vocabSize}: ${pct(sampleTok!.coverageReport(reviewsVal).byteFallbackTokens)}`,
);
console.log(`load average after fitting: ${load()}`);

// Sample sentences: a seeded draw of reviews val sentences of 8–30 words.
const pool = reviewsVal.filter((s) => s.length >= 8 && s.length <= 30);
const picks = new Rng(0).shuffle(pool.map((_, i) => i)).slice(0, samples).sort((a, b) => a - b);
console.log(
  `\nsamples, BPE vocab ${sampleTok!.vocabSize} (pieces separated by spaces, Ġ = word start):`,
);
for (const i of picks) {
  const s = pool[i]!;
  const ids = sampleTok!.encode(s);
  console.log(`\nwords  : ${s.join(" ")}`);
  console.log(`pieces : ${ids.map((id) => sampleTok!.pieceOf(id)).join(" ")}`);
  console.log(`decode : ${sampleTok!.decode(ids)}`);
  console.log(`(${s.length} words, ${ids.length} tokens)`);
}
