import { preferenceTable } from "../lib/data/preference_table.ts";
import { type PairEncoder, preferenceStats, tokenPairs } from "../lib/data/preference_pairs.ts";
import { EOS_ID } from "../lib/data/special_tokens.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertEquals, assertThrows } from "./assert.ts";

/** One id per word (its length + 10), so expected ids can be written by hand. */
const ids = (s: string) => s.split(" ").map((w) => w.length + 10);
let promptCalls = 0;
const encoder: PairEncoder = {
  prompt: (p) => {
    promptCalls++;
    return [1, ...ids(p)];
  },
  completion: ids,
};

const rows = [
  // finished chosen, truncated rejected
  {
    prompt: "a b",
    chosen: "ccc",
    rejected: "dddd ee",
    chosen_finished: true,
    rejected_finished: false,
  },
  // a tie
  {
    prompt: "a b",
    chosen: "f",
    rejected: "gg",
    tie: true,
    chosen_finished: false,
    rejected_finished: true,
  },
  // both truncated
  { prompt: "h", chosen: "iii", rejected: "j", chosen_finished: false, rejected_finished: false },
];

Deno.test({
  name: "tokenPairs() appends EOS only to completions the sampler finished and skips ties",
  fn() {
    promptCalls = 0;
    const pairs = tokenPairs(preferenceTable(rows), encoder);
    assertEquals(pairs, [
      { prompt: [1, 11, 11], chosen: [13, EOS_ID], rejected: [14, 12] },
      { prompt: [1, 11], chosen: [13], rejected: [11] },
    ]);
    assertEquals(promptCalls, 2, "each distinct prompt is encoded once");
    const kept = tokenPairs(preferenceTable(rows), encoder, { ties: "keep" });
    assertEquals(kept[1], { prompt: [1, 11, 11], chosen: [11], rejected: [12, EOS_ID], tie: true });
    assertThrows(
      () => tokenPairs(preferenceTable(rows), encoder, { ties: "drop" as "skip" }),
      ConfigError,
      `ties must be "skip" or "keep", got "drop"`,
    );
  },
});

Deno.test({
  name:
    "tokenPairs() reads a table without finished or tie columns as before: every completion finished",
  fn() {
    const old = preferenceTable([{ prompt: "a", chosen: "bb", rejected: "c" }]);
    assertEquals(tokenPairs(old, encoder), [
      { prompt: [1, 11], chosen: [12, EOS_ID], rejected: [11, EOS_ID] },
    ]);
  },
});

Deno.test({
  name:
    "preferenceStats() counts ties and finished completions and takes the ceiling over untied rows",
  fn() {
    const t = preferenceTable(rows.map((r, i) => ({ ...r, p_correct: [0.9, NaN, 0.6][i]! })));
    // ceiling (0.9 + 0.6)/2; finished completions 1 + 1 + 0 of 6
    assertEquals(preferenceStats(t), {
      pairs: 3,
      ties: 1,
      bayesCeiling: 0.75,
      finishedFraction: 2 / 6,
    });
    const old = preferenceTable([{ prompt: "a", chosen: "b", rejected: "c" }]);
    const s = preferenceStats(old);
    assertEquals([s.pairs, s.ties, s.finishedFraction], [1, 0, 1]);
    assertEquals(Number.isNaN(s.bayesCeiling), true, "no p_correct column → NaN");
    const badRow = preferenceTable([{ prompt: "a", chosen: "b", rejected: "c", p_correct: 1.5 }]);
    assertThrows(() => preferenceStats(badRow), ConfigError, "must be in [0, 1], got 1.5");
  },
});

Deno.test("tokenPairs() trains on the sampled ids when the table records them, not the re-encoded text", () => {
  const table = preferenceTable([
    // a subword model may sample a split that re-encoding would not give back (here longer)
    {
      prompt: "a b",
      chosen: "ccc",
      rejected: "dd",
      chosen_finished: true,
      rejected_finished: false,
      chosen_ids: "40 41 42",
      rejected_ids: "50",
    },
  ]);
  assertEquals(tokenPairs(table, encoder), [
    { prompt: [1, 11, 11], chosen: [40, 41, 42, EOS_ID], rejected: [50] },
  ]);
  // without the columns, the text is encoded
  const plain = preferenceTable([{ prompt: "a b", chosen: "ccc", rejected: "dd" }]);
  assertEquals(tokenPairs(plain, encoder)[0]!.chosen, [13, EOS_ID]);
  assertThrows(
    () => preferenceTable([{ prompt: "a", chosen: "b", rejected: "c", chosen_ids: "1,2" }]),
    ConfigError,
    '"chosen_ids" must be token ids separated by spaces, got "1,2"',
  );
});
