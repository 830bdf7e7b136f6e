import {
  assert,
  assertEquals,
  assertGreater,
  assertLess,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "./assert.ts";
import {
  BROWN_CATEGORIES,
  brownDir,
  type BrownDocument,
  corpusStats,
  loadBrown,
  sentencesOf,
  splitDocuments,
  stripTag,
} from "../lib/data/brown.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";

const t0 = performance.now();
const docs = await loadBrown();
const loadMs = performance.now() - t0;

/** Every POS tag of the raw corpus, read independently of the loader. */
async function rawTags(): Promise<Set<string>> {
  const tags = new Set<string>();
  for (const d of docs) {
    const text = await Deno.readTextFile(new URL(d.id, brownDir()));
    for (const tok of text.split(/\s+/)) {
      if (tok) tags.add(tok.slice(tok.lastIndexOf("/") + 1));
    }
  }
  return tags;
}

Deno.test({
  name: "loadBrown() reads 500 documents sorted by id, quickly",
  fn() {
    console.log(`loadBrown(): ${loadMs.toFixed(0)} ms`);
    assertEquals(docs.length, 500);
    assertEquals(docs.map((d) => d.id), docs.map((d) => d.id).sort());
    assertEquals(new Set(docs.map((d) => d.id)).size, 500);
    // generous bound: the machine is shared; measured ~0.7 s alone
    assertLess(loadMs, 4000);
  },
});

Deno.test({
  name: "loadBrown() strips POS tags, lower-cases and maps `` and '' to a double quote",
  async fn() {
    const first = docs.find((d) => d.id === "ca01")!.sentences[0]!;
    assertEquals(
      first.join(" "),
      "the fulton county grand jury said friday an investigation of atlanta's recent " +
        'primary election produced " no evidence " that any irregularities took place .',
    );
    const tags = await rawTags();
    assert(tags.has("nn-tl") && tags.has("np$") && tags.has("vbd"));
    const words = new Set(sentencesOf(docs).flat());
    for (const w of words) {
      assertEquals(w, w.toLowerCase());
      assert(w !== "``" && w !== "''", `quote token ${w} left`);
      const slash = w.lastIndexOf("/");
      if (slash >= 0) assert(!tags.has(w.slice(slash + 1)), `tag left on ${w}`);
    }
    // a slash inside a word survives: the tag is split off at the last '/'
    assert(words.has("and/or"));
    assert(words.has('"'));
    assertEquals(stripTag("U.S./np"), "u.s.");
    assertEquals(stripTag("1/2/cd"), "1/2");
  },
});

Deno.test({
  name: "loadBrown() keeps categories: 15 of them, reviews has 17 documents",
  async fn() {
    // document ids cc.. are reviews etc.: letters a–r without i, o, q, in BROWN_CATEGORIES order
    const letters = "abcdefghjklmnpr";
    for (const d of docs) {
      assertEquals(d.category, BROWN_CATEGORIES[letters.indexOf(d.id[1]!)], d.id);
    }
    const counts = Object.fromEntries(corpusStats(docs).map((r) => [r.category, r.documents]));
    assertEquals(counts, {
      news: 44,
      editorial: 27,
      reviews: 17,
      religion: 17,
      hobbies: 36,
      lore: 48,
      belles_lettres: 75,
      government: 30,
      learned: 80,
      fiction: 29,
      mystery: 24,
      science_fiction: 6,
      adventure: 29,
      romance: 29,
      humor: 9,
    });
    const reviews = await loadBrown({ categories: ["reviews"] });
    assertEquals(reviews.length, 17);
    assert(reviews.every((d) => d.category === "reviews" && d.id.startsWith("cc")));
  },
});

Deno.test({
  name: "corpusStats() counts sentences and tokens per category",
  fn() {
    const stats = corpusStats(docs);
    assertEquals(stats.map((r) => r.category), [...BROWN_CATEGORIES]);
    const total = (k: "documents" | "sentences" | "tokens") => stats.reduce((n, r) => n + r[k], 0);
    console.log(`Brown: ${total("sentences")} sentences, ${total("tokens")} tokens`);
    assertEquals(total("documents"), 500);
    assertEquals(total("sentences"), sentencesOf(docs).length);
    assertEquals(total("tokens"), sentencesOf(docs).reduce((n, s) => n + s.length, 0));
    assertEquals(total("sentences"), 57340);
    assertEquals(total("tokens"), 1161192);
  },
});

Deno.test({
  name: "loadBrown() rejects unknown categories and returns frozen shared documents",
  async fn() {
    await assertRejects(
      () => loadBrown({ categories: ["reviewz"] }),
      ConfigError,
      '"reviewz"',
    );
    const d = docs[0]!;
    assertThrows(() => d.sentences[0]!.push("x"), TypeError);
    assertThrows(() => (d.id = "zz"), TypeError);
  },
});

Deno.test({
  name: "loadBrown() gives FileFormatError saying to run `deno install` when the corpus is missing",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const url = new URL(`file://${dir}/`);
      const e = await assertRejects(() => loadBrown({ dir: url }), FileFormatError, "deno install");
      assert(e.message.includes(dir), e.message);
      await Deno.writeTextFile(`${dir}/cats.txt`, "ca01 news\nca02\n");
      await assertRejects(() => loadBrown({ dir: url }), FileFormatError, "line 2");
      await Deno.writeTextFile(`${dir}/cats.txt`, "ca01 news\n");
      await assertRejects(() => loadBrown({ dir: url }), FileFormatError, "ca01");
      await Deno.writeTextFile(`${dir}/ca01`, "\n\n\tThe/at cat/nn sat/vbd ./.\n\n");
      const one = await loadBrown({ dir: url });
      assertEquals(one, [{
        id: "ca01",
        category: "news",
        sentences: [["the", "cat", "sat", "."]],
      }]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const split = splitDocuments(docs, { val: 0.1, test: 0.1, seed: 0 });
const ids = (ds: readonly BrownDocument[]) => ds.map((d) => d.id);

Deno.test({
  name: "splitDocuments() splits by document: disjoint, complete, about 80/10/10",
  fn() {
    const all = [...ids(split.train), ...ids(split.val), ...ids(split.test)];
    assertEquals(all.length, 500);
    assertEquals(new Set(all).size, 500);
    console.log(
      `split: train ${split.train.length}, val ${split.val.length}, test ${split.test.length}`,
    );
    for (const part of [split.val, split.test]) {
      assertGreater(part.length, 40);
      assertLess(part.length, 60);
    }
    // sentences are never shared either: they belong to documents
    const valSentences = new Set(sentencesOf(split.val));
    assert(sentencesOf(split.train).every((s) => !valSentences.has(s)));
  },
});

Deno.test({
  name: "splitDocuments() puts every category in every split, reviews included",
  fn() {
    for (const part of ["train", "val", "test"] as const) {
      const cats = new Set(split[part].map((d) => d.category));
      assertEquals(cats.size, 15, `${part} lacks a category`);
    }
    const reviews = (ds: BrownDocument[]) => ds.filter((d) => d.category === "reviews").length;
    assertEquals([reviews(split.train), reviews(split.val), reviews(split.test)], [13, 2, 2]);
  },
});

Deno.test({
  name: "splitDocuments() is deterministic in the seed and independent of input order",
  fn() {
    const again = splitDocuments(docs, { val: 0.1, test: 0.1, seed: 0 });
    assertEquals(ids(again.val), ids(split.val));
    assertEquals(ids(again.test), ids(split.test));
    const shuffled = new Rng(5).shuffle([...docs]);
    const fromShuffled = splitDocuments(shuffled, { val: 0.1, test: 0.1, seed: 0 });
    assertEquals(ids(fromShuffled.val), ids(split.val));
    assertEquals(ids(fromShuffled.train), ids(split.train));
    const other = splitDocuments(docs, { val: 0.1, test: 0.1, seed: 1 });
    assertNotEquals(ids(other.val), ids(split.val));
    assertNotEquals(ids(other.test), ids(split.test));
  },
});

Deno.test({
  name: "splitDocuments() validates fractions and seed, naming the field",
  fn() {
    assertThrows(() => splitDocuments(docs, { val: 1.2, test: 0.1, seed: 0 }), ConfigError, "val");
    assertThrows(() => splitDocuments(docs, { val: 0.1, test: -1, seed: 0 }), ConfigError, "test");
    assertThrows(
      () => splitDocuments(docs, { val: 0.6, test: 0.5, seed: 0 }),
      ConfigError,
      "val + test",
    );
    assertThrows(
      () => splitDocuments(docs, { val: 0.1, test: 0.1, seed: 0.5 }),
      ConfigError,
      "seed",
    );
    const tiny = docs.filter((d) => d.category === "humor").slice(0, 2);
    assertThrows(
      () => splitDocuments(tiny, { val: 0.1, test: 0.1, seed: 0 }),
      ConfigError,
      '"humor" has 2 documents',
    );
    const noVal = splitDocuments(docs, { val: 0, test: 0.1, seed: 0 });
    assertEquals(noVal.val.length, 0);
  },
});
