import { assert, assertEquals, assertGreater, assertNotEquals, assertThrows } from "./assert.ts";
import { makePrompts, promptText } from "../lib/data/prompts.ts";
import { loadBrown, sentencesOf, splitDocuments } from "../lib/data/brown.ts";
import { ConfigError } from "../lib/util/errors.ts";

const docs = await loadBrown();
const split = splitDocuments(docs, { val: 0.1, test: 0.1, seed: 0 });
const isReview = (d: { category: string }) => d.category === "reviews";
const heldOut = sentencesOf(split.test.filter(isReview));
const trainReviews = sentencesOf(split.train.filter(isReview));

/** Whether `prompt` is a prefix of some sentence leaving at least `cont` words after it. */
function isPrefix(prompt: readonly string[], sentences: readonly string[][], cont = 3) {
  return sentences.some((s) =>
    s.length >= prompt.length + cont && prompt.every((w, i) => s[i] === w)
  );
}

Deno.test({
  name: "makePrompts() draws prefixes of real held-out sentences within the length bounds",
  fn() {
    const prompts = makePrompts(heldOut, { count: 128, minWords: 2, maxWords: 8, seed: 3 });
    assertEquals(prompts.length, 128);
    for (const p of prompts) {
      assert(p.length >= 2 && p.length <= 8, `length ${p.length}`);
      assert(isPrefix(p, heldOut), `not a prefix: ${promptText(p)}`);
    }
    const lengths = new Set(prompts.map((p) => p.length));
    assertEquals(lengths.size, 7); // every length 2..8 occurs
    assertEquals(new Set(prompts.map((p) => p.join(" "))).size, 128); // distinct
    console.log(`e.g. ${prompts.slice(0, 4).map((p) => JSON.stringify(promptText(p))).join(", ")}`);
  },
});

Deno.test({
  name: "makePrompts() is deterministic in the seed",
  fn() {
    const opts = { count: 50, minWords: 2, maxWords: 8, seed: 11 };
    assertEquals(makePrompts(heldOut, opts), makePrompts(heldOut, opts));
    assertNotEquals(makePrompts(heldOut, { ...opts, seed: 12 }), makePrompts(heldOut, opts));
    // defaults are 2..8 words
    assertEquals(makePrompts(heldOut, { count: 50, seed: 11 }), makePrompts(heldOut, opts));
  },
});

Deno.test({
  name: "makePrompts() skips sentences too short to leave room for a continuation",
  fn() {
    const sentences = [["too", "short"], ["a", "b", "c", "d"], ["x", "y", "z", "w", "v", "u"]];
    const prompts = makePrompts(sentences, { count: 4, minWords: 1, maxWords: 8, seed: 0 });
    for (const p of prompts) assert(isPrefix(p, sentences), p.join(" "));
    assert(prompts.every((p) => p[0] !== "too"));
    const long = makePrompts(sentences, {
      count: 2,
      minWords: 1,
      maxWords: 2,
      seed: 0,
      minSentenceWords: 6,
    });
    assert(long.every((p) => p[0] === "x"));
    assertEquals(long.map((p) => p.join(" ")).sort(), ["x", "x y"]);
  },
});

Deno.test({
  name: "makePrompts() reuses sentences with new lengths when count exceeds them",
  fn() {
    const usable = trainReviews.filter((s) => s.length >= 5).length;
    const prompts = makePrompts(trainReviews, { count: usable + 500, seed: 1 });
    assertEquals(prompts.length, usable + 500);
    assertEquals(new Set(prompts.map((p) => p.join(" "))).size, prompts.length);
    // the first pass uses each sentence once
    const firsts = prompts.slice(0, usable).map((p) => p.join(" "));
    assertGreater(new Set(firsts).size, usable * 0.95);
    console.log(`reviews train: ${usable} usable sentences`);
  },
});

Deno.test({
  name: "makePrompts() validates its options, naming the field",
  fn() {
    const m = (o: Record<string, number>) => () =>
      makePrompts(heldOut, { count: 10, seed: 0, ...o } as Parameters<typeof makePrompts>[1]);
    assertThrows(m({ count: -1 }), ConfigError, "makePrompts.count");
    assertThrows(m({ minWords: 0 }), ConfigError, "makePrompts.minWords");
    assertThrows(
      m({ minWords: 5, maxWords: 3 }),
      ConfigError,
      "makePrompts.maxWords must be an integer >= 5, got 3",
    );
    assertThrows(m({ seed: 0.5 }), ConfigError, "makePrompts.seed");
    assertThrows(
      () => makePrompts([["a", "b"]], { count: 1, seed: 0 }),
      ConfigError,
      "none of the 1 sentences",
    );
    assertThrows(
      () => makePrompts([["a", "b", "c", "d", "e"]], { count: 2, seed: 0 }),
      ConfigError,
      "makePrompts.count must be <= 1",
    );
    assertEquals(makePrompts([], { count: 0, seed: 0 }), []);
  },
});

Deno.test({
  name: "promptText() joins a prompt's words into readable text",
  fn() {
    assertEquals(promptText(["the", "play", ",", '"', "hamlet", '"', ","]), 'the play, "hamlet",');
  },
});

Deno.test("makePrompts() keeps every prompt within maxTokens as counted by `tokens`", () => {
  const sentences = Array.from(
    { length: 40 },
    (_, i) => Array.from({ length: 12 }, (_, j) => (j % 3 === 0 ? `longword${i}` : `w${j}`)),
  );
  // a "longword" costs 3 tokens, other words 1
  const tokens = (w: readonly string[]) =>
    w.reduce((n, x) => n + (x.startsWith("long") ? 3 : 1), 0);
  const prompts = makePrompts(sentences, {
    count: 30,
    minWords: 2,
    maxWords: 8,
    seed: 3,
    maxTokens: 6,
    tokens,
  });
  assertEquals(prompts.length, 30);
  for (const p of prompts) assert(tokens(p) <= 6, p.join(" "));
  // 3 words (5 tokens) is the longest prefix that fits: some prompts reach it, none pass it
  assert(prompts.some((p) => p.length === 3) && prompts.every((p) => p.length <= 3));
  // without the limit the same draw is longer somewhere
  const free = makePrompts(sentences, { count: 30, minWords: 2, maxWords: 8, seed: 3 });
  assert(free.some((p) => tokens(p) > 6));
  assertThrows(
    () => makePrompts(sentences, { count: 5, minWords: 2, seed: 1, maxTokens: 3, tokens }),
    ConfigError,
    "with the prompt in at most 3 tokens",
  );
});
