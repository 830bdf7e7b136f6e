import { assert, assertEquals, assertGreater, assertRejects, assertThrows } from "./assert.ts";
import {
  BOS_ID,
  EOS_ID,
  joinWords,
  PAD_ID,
  SPECIAL_TOKENS,
  splitText,
  TOKENIZER_FORMAT,
  UNK_ID,
  WordTokenizer,
} from "../lib/data/tokenizer.ts";
import { loadBrown, sentencesOf, splitDocuments } from "../lib/data/brown.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { withTempDir, writeFileIn } from "./_bad_input.ts";

const toy = [["b", "a", "c", "a"], ["c", "b", "a", "d"], ["e"]];

Deno.test({
  name: "WordTokenizer.fit() puts PAD, BOS, EOS, UNK first, then words by count, ties alphabetical",
  fn() {
    assertEquals([PAD_ID, BOS_ID, EOS_ID, UNK_ID], [0, 1, 2, 3]);
    const tok = WordTokenizer.fit(toy, 7);
    assertEquals(tok.vocab, ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"]);
    assertEquals(tok.vocabSize, 7);
    assertEquals(SPECIAL_TOKENS.map((w) => tok.idOf(w)), [0, 1, 2, 3]);
    assertEquals(tok.idOf("d"), UNK_ID);
    assertEquals(tok.wordOf(4), "a");
    // fewer distinct words than asked for: the vocabulary is just smaller
    assertEquals(WordTokenizer.fit(toy, 100).vocabSize, 9);
    // deterministic whatever the sentence order
    assertEquals(WordTokenizer.fit([...toy].reverse(), 7).vocab, tok.vocab);
    assertThrows(() => tok.wordOf(7), RangeError, "7");
  },
});

Deno.test({
  name: "WordTokenizer.fit() rejects a vocabSize below 5 with a ConfigError naming it",
  fn() {
    assertThrows(
      () => WordTokenizer.fit(toy, 3),
      ConfigError,
      "vocabSize must be an integer >= 5, got 3",
    );
    assertThrows(() => WordTokenizer.fit(toy, 10.5), ConfigError, "vocabSize");
    assertThrows(() => WordTokenizer.fit(toy, NaN), ConfigError, "vocabSize");
  },
});

Deno.test({
  name: "decode() skips PAD and BOS, stops at EOS and writes UNK as <unk>",
  fn() {
    const tok = WordTokenizer.fit(toy, 7);
    const ids = [BOS_ID, 4, UNK_ID, 5, EOS_ID, 6, PAD_ID];
    assertEquals(tok.decodeWords(ids), ["a", "<unk>", "b"]);
    assertEquals(tok.decode(ids), "a <unk> b");
    assertEquals(tok.decode([PAD_ID, PAD_ID, BOS_ID, 6]), "c");
    assertEquals(tok.decodeWords(ids, { stopAtEos: false, unk: "?" }), ["a", "?", "b", "c"]);
    assertEquals(tok.decode(Int32Array.from(ids)), "a <unk> b");
    assertEquals(tok.encodeText("a <unk> b zzz"), [4, UNK_ID, 5, UNK_ID]);
  },
});

Deno.test({
  name: "joinWords() writes readable text: no space before punctuation, quotes hug their words",
  fn() {
    const words = `the film , he said , was " wonderful " ; i didn't agree ( at all ) -- did you ?`
      .split(" ");
    const text = 'the film, he said, was "wonderful"; i didn\'t agree (at all) -- did you?';
    assertEquals(joinWords(words), text);
    assertEquals(splitText(text), words);
    assertEquals(joinWords(["it", "is", "n't", "john", "'s", "."]), "it isn't john's.");
    assertEquals(joinWords([]), "");
  },
});

Deno.test({
  name: "splitText() tokenises typed text the way the corpus is",
  fn() {
    const split = (text: string) => splitText(text).join(" ");
    assertEquals(split("Mr. Smith didn't pay $1,000."), "mr. smith didn't pay $1,000 .");
    assertEquals(
      split("\u201cGreat,\u201d she said \u2014 a 10-year-old wine at 2:30 p.m. in the U.S."),
      '" great , " she said -- a 10-year-old wine at 2:30 p.m. in the u.s.',
    );
    // initials keep their period, a sentence-final letter does not
    assertEquals(split("John A. Notte got a B."), "john a. notte got a b .");
    // "no." is an abbreviation only before a number
    assertEquals(split("No. 5 said no."), "no. 5 said no .");
    assertEquals(splitText("   "), []);
  },
});

const docs = await loadBrown();
const split = splitDocuments(docs, { val: 0.1, test: 0.1, seed: 0 });
const train = sentencesOf(split.train);
const val = sentencesOf(split.val);
const tok = WordTokenizer.fit(train, 2000);

Deno.test({
  name: "coverage() of a 2000-word vocabulary: train above val, reviews val reported",
  fn() {
    const reviewsVal = sentencesOf(split.val.filter((d) => d.category === "reviews"));
    const cov = {
      train: tok.coverage(train),
      val: tok.coverage(val),
      test: tok.coverage(sentencesOf(split.test)),
      reviewsVal: tok.coverage(reviewsVal),
    };
    console.log(
      `coverage (vocab 2000): ${
        Object.entries(cov).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(", ")
      }`,
    );
    assertEquals(tok.vocabSize, 2000);
    assertGreater(cov.train, cov.val);
    assertGreater(cov.val, 0.7);
    assertGreater(cov.reviewsVal, 0.7);
    assert(Number.isNaN(tok.coverage([])));
    assertEquals(WordTokenizer.fit(train, 5).coverage([["the", "zzz"]]), 0.5);
  },
});

Deno.test({
  name: "encode() → decodeWords() gives sentences back; decoded text re-encodes to the same ids",
  fn() {
    const inVocab = val.filter((s) => s.every((w) => tok.has(w)));
    assertGreater(inVocab.length, 300);
    for (const s of inVocab) assertEquals(tok.decodeWords(tok.encode(s)), s);
    // the pipeline decodes samples to text and re-encodes them: ids must survive (UNKs too)
    let same = 0;
    for (const s of val) {
      const ids = tok.encode(s);
      if (tok.encodeText(tok.decode([BOS_ID, ...ids, EOS_ID])).join() === ids.join()) same++;
    }
    console.log(`id round trip through text: ${same}/${val.length} val sentences`);
    assertGreater(same / val.length, 0.999);
  },
});

Deno.test({
  name: "save() and load() round-trip the tokenizer through an atomically written file",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/tok.json`;
      await tok.save(path);
      const back = await WordTokenizer.load(path);
      assertEquals(back.vocab, tok.vocab);
      assertEquals(back.toJSON(), tok.toJSON());
      assertEquals(back.encode(val[0]!), tok.encode(val[0]!));
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["tok.json"]); // no temp left
      assertEquals(WordTokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).vocab, tok.vocab);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "load() gives FileFormatError naming the path for a missing or corrupt file",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const missing = `${dir}/nope.json`;
      await assertRejects(() => WordTokenizer.load(missing), FileFormatError, missing);
      const corrupt = `${dir}/corrupt.json`;
      const text = JSON.stringify(tok.toJSON());
      await Deno.writeTextFile(corrupt, text.slice(0, text.length / 2)); // truncated write
      const e = await assertRejects(() => WordTokenizer.load(corrupt), FileFormatError, corrupt);
      assert(e.message.includes("not valid JSON"), e.message);
      const wrong = `${dir}/wrong.json`;
      await Deno.writeTextFile(wrong, JSON.stringify({ format: "other", words: [] }));
      await assertRejects(() => WordTokenizer.load(wrong), FileFormatError, wrong);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fromJSON() names what is wrong with a mismatched object",
  fn() {
    const good = WordTokenizer.fit(toy, 7).toJSON();
    const bad = (obj: unknown, msg: string) =>
      assertThrows(() => WordTokenizer.fromJSON(obj, "ckpt"), FileFormatError, msg);
    bad(null, "ckpt: expected an object");
    bad({ ...good, format: "rlhf-kit/word-tokenizer@0" }, "format must be");
    bad({ format: good.format }, "words must be an array");
    bad({ ...good, words: ["<pad>", "<bos>", "<eos>", "<unk>"] }, "at least 1 word");
    bad(
      { ...good, words: ["<bos>", "<pad>", "<eos>", "<unk>", "a"] },
      "words[0] must be the special token <pad>",
    );
    bad({ ...good, words: [...good.words, "a"] }, 'words[7] "a" repeats words[4]');
    bad({ ...good, words: [...good.words, 5] }, "words[7] must be a non-empty word");
    bad({ ...good, words: [...good.words, "two words"] }, "words[7]");
  },
});

Deno.test("WordTokenizer.load() refuses a bad file, naming it and the problem", async (t) => {
  await withTempDir(async (dir) => {
    const json = (obj: unknown) => writeFileIn(dir, "t.json", JSON.stringify(obj));
    const cases: [string, () => Promise<string>, string][] = [
      ["a missing file", () => Promise.resolve(`${dir}/absent.json`), "does not exist"],
      [
        "a truncated file",
        () => writeFileIn(dir, "t.json", `{"format": "${TOKENIZER_FORMAT}", "words": ["<pad>"`),
        "is not valid JSON",
      ],
      [
        "an array instead of an object",
        () => json([]),
        "expected an object with format and words, got []",
      ],
      ["another format tag", () => json({ format: "bpe", words: [] }), 'format must be "'],
      [
        "a repeated word",
        () => json({ format: TOKENIZER_FORMAT, words: [...SPECIAL_TOKENS, "a", "a"] }),
        'words[5] "a" repeats words[4]',
      ],
    ];
    for (const [name, make, message] of cases) {
      await t.step(name, async () => {
        const path = await make();
        const e = await assertRejects(() => WordTokenizer.load(path), FileFormatError, message);
        assert(e.message.includes(path), e.message);
      });
    }
  }, "tokenizer-test-");
});

Deno.test("WordTokenizer.load() reads data only: words named like object keys are words", async () => {
  await withTempDir(async (dir) => {
    const path = await writeFileIn(
      dir,
      "t.json",
      JSON.stringify({
        format: TOKENIZER_FORMAT,
        words: [...SPECIAL_TOKENS, "__proto__", "constructor", "toString"],
      }),
    );
    const tok = await WordTokenizer.load(path);
    assertEquals([tok.idOf("__proto__"), tok.idOf("constructor"), tok.idOf("toString")], [4, 5, 6]);
    assertEquals(tok.idOf("hasOwnProperty"), UNK_ID);
    assertEquals(tok.decode([4, 5, 6]), "__proto__ constructor toString");
  }, "tokenizer-test-");
});
