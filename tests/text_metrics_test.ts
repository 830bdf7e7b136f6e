import { distinctN, meanLength } from "../lib/eval/text_metrics.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

Deno.test({
  name: "distinctN() counts unique n-grams over all n-grams, pooled over sequences",
  fn() {
    const seqs = [["the", "cat", "sat"], ["the", "cat", "ran"], ["the"]];
    // unigrams: the cat sat the cat ran the → {the, cat, sat, ran} = 4 of 7
    assertAlmostEquals(distinctN(seqs, 1), 4 / 7, 1e-15);
    // bigrams: (the cat) (cat sat) (the cat) (cat ran) → 3 of 4; "the" alone has none
    assertAlmostEquals(distinctN(seqs, 2), 3 / 4, 1e-15);
    // trigrams: both distinct
    assertEquals(distinctN(seqs, 3), 1);
    // A collapsed generator repeating one sentence.
    assertAlmostEquals(distinctN([[1, 2, 3], [1, 2, 3], [1, 2, 3]], 2), 2 / 6, 1e-15);
  },
});

Deno.test({
  name: "distinctN() keeps ids and strings apart and handles empty input",
  fn() {
    assertEquals(distinctN([[1, "1"]], 1), 1);
    assertEquals(distinctN([["a,b", "c"], ["a", "b,c"]], 2), 1);
    assertEquals(distinctN([], 1), 0);
    assertEquals(distinctN([[1, 2]], 3), 0);
    assertThrows(
      () => distinctN([[1]], 0),
      ConfigError,
      "distinctN.n must be an integer >= 1, got 0",
    );
  },
});

Deno.test({
  name: "meanLength() is the mean token count",
  fn() {
    assertEquals(meanLength([[1, 2, 3], [], ["a"]]), 4 / 3);
    assertEquals(meanLength([]), 0);
  },
});
