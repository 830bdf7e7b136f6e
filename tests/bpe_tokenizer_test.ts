import { assert, assertEquals, assertGreater, assertRejects, assertThrows } from "./assert.ts";
import { BPE_TOKENIZER_FORMAT, BpeTokenizer } from "../lib/data/bpe_tokenizer.ts";
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID } from "../lib/data/special_tokens.ts";
import { joinWords, splitText } from "../lib/data/detokenize.ts";
import { WordTokenizer } from "../lib/data/tokenizer.ts";
import { fitTokenizer, loadTokenizer, tokenizerFromJSON } from "../lib/data/load_tokenizer.ts";
import type { Tokenizer } from "../lib/data/tokenizer_api.ts";
import { loadBrown, sentencesOf, splitDocuments } from "../lib/data/brown.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";

/** Id of byte `b`. */
const byte = (b: number) => 4 + b;

// Word counts: ab 2, abc 1, b 1. As bytes of " " + word: " ab" ×2, " abc", " b".
const toy = [["ab", "ab", "abc"], ["b"]];

Deno.test({
  name: "BpeTokenizer.fit() learns hand-checked merges on a toy corpus, ties to the smaller ids",
  fn() {
    // pairs: (" ",a) 3, (a,b) 3, (b,c) 1, (" ",b) 1. The tie at 3 goes to the smaller left
    // id (space, 36): " a" = 260; then " a"+b (3) = 261; then (" ",b) and (" ab",c) tie
    // at 1: space is the smaller left id, so " b" = 262, then " ab"+c = 263; no pair is left.
    const tok = BpeTokenizer.fit(toy, 1000);
    assertEquals(tok.toJSON(), {
      format: BPE_TOKENIZER_FORMAT,
      merges: ["Ġ a", "Ġa b", "Ġ b", "Ġab c"],
    });
    assertEquals(tok.vocabSize, 264); // the corpus ran out of pairs before 1000
    assertEquals(tok.vocab.slice(0, 4), ["<pad>", "<bos>", "<eos>", "<unk>"]);
    assertEquals([tok.pieceOf(byte(32)), tok.pieceOf(byte(97)), tok.pieceOf(263)], [
      "Ġ",
      "a",
      "Ġabc",
    ]);
    // "ba" was never seen: " b" then the bare byte a
    assertEquals(tok.encode(["ab", "abc", "b", "ba"]), [261, 263, 262, 262, byte(97)]);
    // a smaller vocabulary keeps the first merges
    const two = BpeTokenizer.fit(toy, 262);
    assertEquals(two.toJSON().merges, ["Ġ a", "Ġa b"]);
    assertEquals(two.encode(["abc", "b"]), [261, byte(99), byte(32), byte(98)]);
    assertThrows(() => tok.pieceOf(264), RangeError, "264");
  },
});

Deno.test({
  name: "BpeTokenizer.fit() rejects a vocabSize outside [260, 2^20] with a ConfigError naming it",
  fn() {
    assertThrows(
      () => BpeTokenizer.fit(toy, 259),
      ConfigError,
      "vocabSize must be an integer >= 260",
    );
    assertThrows(() => BpeTokenizer.fit(toy, 300.5), ConfigError, "vocabSize");
    assertThrows(() => BpeTokenizer.fit(toy, 2 ** 20 + 1), ConfigError, "vocabSize");
    assertThrows(() => fitTokenizer("sentencepiece" as "bpe", toy, 300), ConfigError, "tokenizer");
    assertEquals(BpeTokenizer.fit([], 300).vocabSize, 260); // bytes only
  },
});

Deno.test({
  name: "coverageReport() counts tokens per word, single-token words and byte fallback by hand",
  fn() {
    const tok = BpeTokenizer.fit(toy, 1000);
    // ab → [" ab"], abc → [" abc"], b → [" b"], ba → [" b", a], é → [" ", 0xc3, 0xa9]:
    // 5 words, 8 tokens; single-byte tokens a, " ", 0xc3, 0xa9; fallback 0xc3, 0xa9
    const s = [["ab", "abc", "b", "ba", "é"]];
    assertEquals(tok.encode(["é"]), [byte(32), byte(0xc3), byte(0xa9)]);
    assertEquals(tok.coverageReport(s), {
      words: 5,
      tokens: 8,
      tokensPerWord: 8 / 5,
      singleTokenWords: 3 / 5,
      singleByteTokens: 4 / 8,
      byteFallbackTokens: 2 / 8,
      unkTokens: 0,
    });
    assertEquals(tok.tokensPerWord(s), 8 / 5);
    assertEquals(tok.coverage(s), 1);
    assert(Number.isNaN(tok.tokensPerWord([])) && Number.isNaN(tok.coverage([[]])));
    // the word tokenizer reports the same fields: one token per word, UNK for the rest
    const word = WordTokenizer.fit(toy, 6); // ab, abc
    assertEquals(word.coverageReport([["ab", "b", "abc", "zz"]]), {
      words: 4,
      tokens: 4,
      tokensPerWord: 1,
      singleTokenWords: 0.5,
      singleByteTokens: 0,
      byteFallbackTokens: 0,
      unkTokens: 0.5,
    });
    assertEquals([word.pieceOf(4), word.tokensPerWord([["ab", "zz"]])], ["ab", 1]);
  },
});

Deno.test({
  name: "decode() skips PAD and BOS, stops at EOS, writes a sampled UNK as <unk>, reads like text",
  fn() {
    const words = ["the", "film", ",", "however", "."];
    const tok = BpeTokenizer.fit([words, ["the", "end"]], 280);
    const ids = tok.encode(words);
    const text = tok.decode([BOS_ID, ...ids, EOS_ID, ...tok.encode(["the"]), PAD_ID]);
    assertEquals(text, "the film, however.");
    assertEquals(tok.decodeWords([PAD_ID, BOS_ID, ...ids]), words);
    const end = tok.encode(["end"]);
    assertEquals(
      tok.decode([...ids, EOS_ID, ...end], { stopAtEos: false }),
      "the film, however. end",
    );
    assertEquals(tok.decodeWords([...end, UNK_ID, ...end]), ["end", "<unk>", "end"]);
    assertEquals(tok.decode([...end, UNK_ID], { unk: "_" }), "end _");
    // a character split over byte tokens joins back; a lone fragment reads as U+FFFD
    const cafe = tok.encode(["café"]);
    assertGreater(cafe.length, 2);
    assertEquals(tok.decodeWords(cafe), ["café"]);
    assertEquals(tok.decodeWords([byte(0xc3)]), ["\ufffd"]);
    assertEquals(tok.decode([]), "");
    assertThrows(() => tok.decode([tok.vocabSize]), RangeError, `${tok.vocabSize}`);
  },
});

/** Random text over letters, digits, punctuation, non-ASCII and the specials' surface forms. */
function randomText(rng: Rng): string {
  const pool = [
    ..."abcdefghijklmnopqrstuvwxyzABCXYZ0123456789",
    ...".,;:!?'\"()[]{}-$%&/*+=<>@#^_`~|\\",
    ..."éèüßñçøåÆŒ", // Latin-1 and beyond
    ..."жщ中文한국어αβγ", // Cyrillic, CJK, Hangul, Greek
    "😀",
    "🇫🇷",
    "e\u0301", // combining accent
    "\u00a0", // no-break space
    "\u2014",
    "\u201c",
    "\u201d",
    "\u2019",
    "<unk>",
    "<eos>",
    "<pad>",
    " ",
    " ",
    " ",
    "\n",
    "\t",
  ];
  let t = "";
  const n = 1 + rng.int(40);
  for (let i = 0; i < n; i++) t += pool[rng.int(pool.length)]!;
  return t;
}

const docs = await loadBrown();
const split = splitDocuments(docs, { val: 0.1, test: 0.1, seed: 0 });
const train = sentencesOf(split.train);
const val = sentencesOf(split.val);
const tok = BpeTokenizer.fit(train, 2000);

Deno.test({
  name:
    "encodeText() never gives UNK or another special; decode(encodeText(t)) is the normalised t",
  fn() {
    const rng = new Rng(7);
    const texts = [
      "Ünïcödé 1,234.5 ½ naïve café — 東京 😀!",
      "<unk> <pad> <bos> <eos>",
      "Mr. Smith didn't pay $1,000.",
      "\u0000\u0007 control \u007f",
      ...Array.from({ length: 2000 }, () => randomText(rng)),
    ];
    for (const t of texts) {
      const ids = tok.encodeText(t);
      for (const id of ids) assert(id >= 4 && id < tok.vocabSize, `${t}: id ${id}`);
      assertEquals(tok.decode(ids), joinWords(splitText(t)), t);
    }
    // Brown is ASCII: CJK, emoji and accents were never seen and fell back to bytes
    assertGreater(tok.coverageReport(texts.map(splitText)).byteFallbackTokens, 0);
    // the specials' surface forms are text like any other
    assertEquals(tok.decode(tok.encodeText("<unk> <eos>")), "<unk> <eos>");
  },
});

Deno.test({
  name: "Brown val sentences round-trip through encode() and decodeWords(), and through text",
  fn() {
    let viaText = 0;
    for (const s of val) {
      const ids = tok.encode(s);
      assertEquals(tok.decodeWords(ids), s);
      // decode → text → encodeText loses nothing beyond what joinWords/splitText do to the
      // words, whatever the subword split: the ids come back exactly when the words do
      const words = splitText(joinWords(s));
      const again = tok.encodeText(tok.decode([BOS_ID, ...ids, EOS_ID]));
      assertEquals(again, tok.encode(words));
      const same = again.join() === ids.join();
      assertEquals(same, words.join("\u0000") === s.join("\u0000"), s.join(" "));
      if (same) viaText++;
    }
    console.log(`id round trip through text: ${viaText}/${val.length} val sentences`);
    const report = tok.coverageReport(val);
    assertEquals([report.unkTokens, tok.coverage(val)], [0, 1]);
    assertGreater(report.tokensPerWord, 1);
  },
});

/** The merges of `t` as id pairs, read back from its JSON. */
function mergePairs(t: BpeTokenizer): number[][] {
  const ids = new Map(t.vocab.map((p, i) => [p, i]));
  return t.toJSON().merges.map((m) => m.split(" ").map((p) => ids.get(p)!));
}

/** Reference BPE: every step recounts all pairs, takes the most frequent, ties to smaller ids. */
function naiveMerges(sentences: readonly (readonly string[])[], n: number): number[][] {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts].map(([w, c]) => ({
    syms: [...new TextEncoder().encode(" " + w)].map(byte),
    c,
  }));
  const merges: number[][] = [];
  while (merges.length < n) {
    const pairs = new Map<string, number>();
    for (const { syms, c } of words) {
      for (let j = 0; j + 1 < syms.length; j++) {
        const k = `${syms[j]},${syms[j + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + c);
      }
    }
    let best: number[] | undefined;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(",").map(Number) as [number, number];
      if (
        c > bestCount || (c === bestCount && (a < best![0]! || (a === best![0] && b < best![1]!)))
      ) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best) break;
    const id = 260 + merges.length;
    merges.push(best);
    for (const w of words) w.syms = applyOne(w.syms, best[0]!, best[1]!, id);
  }
  return merges;
}

/** `syms` with each non-overlapping `a, b` from the left replaced by `id`. */
function applyOne(syms: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < syms.length; j++) {
    if (syms[j] === a && syms[j + 1] === b) {
      out.push(id);
      j++;
    } else out.push(syms[j]!);
  }
  return out;
}

Deno.test({
  name: "fit() learns the same merges as a reference BPE that recounts every pair each step",
  fn() {
    const sample = train.slice(0, 400);
    const fast = BpeTokenizer.fit(sample, 260 + 300);
    assertEquals(mergePairs(fast), naiveMerges(sample, 300));
  },
});

Deno.test({
  name: "encode() gives the pieces of applying the merges one by one in the order learned",
  fn() {
    const merges = mergePairs(tok);
    const words = [...new Set(val.flat())].slice(0, 1500);
    for (const w of [...words, "antidisestablishmentarianism", "naïveté", "aaaaaaa"]) {
      let syms = [...new TextEncoder().encode(" " + w)].map(byte);
      merges.forEach(([a, b], i) => (syms = applyOne(syms, a!, b!, 260 + i)));
      assertEquals(tok.encode([w]), syms, w);
    }
  },
});

Deno.test({
  name: "fit() is deterministic: the same sentences in any order give identical JSON",
  fn() {
    const sample = train.slice(0, 3000);
    const a = JSON.stringify(BpeTokenizer.fit(sample, 1200));
    const shuffled = new Rng(3).shuffle(sample.map((s) => [...s].reverse()));
    assertEquals(JSON.stringify(BpeTokenizer.fit(sample, 1200)), a);
    assertEquals(JSON.stringify(BpeTokenizer.fit(shuffled, 1200)), a);
  },
});

Deno.test({
  name: "encodeWord() returns fresh arrays: changing one leaves the cached encoding alone",
  fn() {
    const first = tok.encodeWord("however");
    first.push(999);
    assertEquals(tok.encodeWord("however"), first.slice(0, -1));
    assertEquals(tok.encode(["however"]), first.slice(0, -1));
  },
});

Deno.test({
  name: "save() and load() round-trip; loadTokenizer() reads either format by its tag",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const bpePath = `${dir}/bpe.json`;
      const wordPath = `${dir}/word.json`;
      await tok.save(bpePath);
      const word = WordTokenizer.fit(train, 500);
      await word.save(wordPath);
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "bpe.json",
        "word.json",
      ]); // no temp files left
      const back = await BpeTokenizer.load(bpePath);
      assertEquals(back.toJSON(), tok.toJSON());
      assertEquals(back.vocab, tok.vocab);
      assertEquals(back.encode(val[0]!), tok.encode(val[0]!));
      const anyBpe: Tokenizer = await loadTokenizer(bpePath);
      const anyWord: Tokenizer = await loadTokenizer(wordPath);
      assert(anyBpe instanceof BpeTokenizer && anyWord instanceof WordTokenizer);
      assertEquals(anyWord.encode(val[0]!), word.encode(val[0]!));
      // as embedded in a checkpoint: the toJSON() object through JSON
      const embedded = JSON.parse(JSON.stringify({ tokenizer: tok.toJSON() })).tokenizer;
      assertEquals(tokenizerFromJSON(embedded).encode(val[1]!), tok.encode(val[1]!));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a corrupt tokenizer file gives a one-line FileFormatError naming the file and the problem",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const good = BpeTokenizer.fit(toy, 1000).toJSON();
      const text = JSON.stringify(good);
      const cases: [string, string | undefined, string][] = [
        ["missing.json", undefined, "does not exist"],
        ["truncated.json", text.slice(0, text.length / 2), "is not valid JSON"],
        ["array.json", "[1, 2]", "expected"],
        ["format.json", JSON.stringify({ ...good, format: "rlhf-kit/bpe-tokenizer@0" }), "format"],
        ["nomerges.json", JSON.stringify({ format: good.format }), "merges must be an array"],
        [
          "shape.json",
          JSON.stringify({ ...good, merges: ["Ġ a", "Ġab"] }),
          'merges[1] must be two pieces separated by one space, got "Ġab"',
        ],
        [
          "order.json",
          JSON.stringify({ ...good, merges: ["Ġa b", "Ġ a"] }),
          'merges[0] uses "Ġa", which no earlier merge or byte makes',
        ],
        [
          "repeat.json",
          JSON.stringify({ ...good, merges: [...good.merges, "Ġ a"] }),
          'merges[4] makes "Ġa", which id 260 already is',
        ],
        ["number.json", JSON.stringify({ ...good, merges: [7] }), "merges[0]"],
      ];
      for (const [name, content, problem] of cases) {
        const path = `${dir}/${name}`;
        if (content !== undefined) await Deno.writeTextFile(path, content);
        for (const load of [BpeTokenizer.load, loadTokenizer]) {
          const e = await assertRejects(() => load(path), FileFormatError, problem);
          assert(e.message.includes(path), e.message);
          assert(!e.message.includes("\n"), e.message);
        }
      }
      // the loader names both formats when the tag is unknown
      assertThrows(
        () => tokenizerFromJSON({ format: "other" }, "ckpt"),
        FileFormatError,
        'ckpt: expected a tokenizer object with format "rlhf-kit/word-tokenizer@1" or ' +
          '"rlhf-kit/bpe-tokenizer@1", got format "other"',
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
