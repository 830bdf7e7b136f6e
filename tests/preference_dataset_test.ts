import { bradleyTerry, noiseless, plackettLuce } from "../lib/data/annotators.ts";
import { buildPreferenceDataset, type CompletionSampler } from "../lib/data/preference_dataset.ts";
import { loadPreferences, savePreferences } from "../lib/data/preference_table.ts";
import type { PreferenceRow } from "../lib/data/preference_columns.ts";
import { vaderReward } from "../lib/rewards/vader.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "./assert.ts";

const VOCAB = "the film was good bad lovely awful dull fine and very not quite a long story".split(
  " ",
);
const PROMPTS = Array.from({ length: 12 }, (_, i) => `prompt number ${i}`);

/** A fake LM sampler: deterministic in (seed, prompt), ignores nothing else. */
const fakeSampler: CompletionSampler = (prompts, k, seed) =>
  Promise.resolve(prompts.map((p) => {
    let h = seed;
    for (const ch of p) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    const rng = new Rng(h);
    return Array.from(
      { length: k },
      () => Array.from({ length: 2 + rng.int(5) }, () => VOCAB[rng.int(VOCAB.length)]!).join(" "),
    );
  }));

const base = {
  prompts: PROMPTS,
  k: 4,
  sample: fakeSampler,
  gold: vaderReward(),
  annotator: plackettLuce(0.2),
  seed: 11,
};

Deno.test({
  name: "buildPreferenceDataset() is identical for the same seed and differs for another",
  async fn() {
    const a = await buildPreferenceDataset(base);
    const b = await buildPreferenceDataset(base);
    const c = await buildPreferenceDataset({ ...base, seed: 12 });
    assertEquals(a.objects(), b.objects());
    assertNotEquals(a.objects(), c.objects());
    assertEquals(a.columnNames(), [
      "prompt",
      "chosen",
      "rejected",
      "gold_chosen",
      "gold_rejected",
      "p_correct",
    ]);
  },
});

Deno.test({
  name: "buildPreferenceDataset() rows carry the gold rewards and the annotator's p_correct",
  async fn() {
    const t = await buildPreferenceDataset(base);
    const gold = vaderReward();
    const annotator = plackettLuce(0.2);
    for (const row of t.objects() as Required<PreferenceRow>[]) {
      assertEquals(row.gold_chosen, gold.score(row.prompt, row.chosen));
      assertEquals(row.gold_rejected, gold.score(row.prompt, row.rejected));
      assertEquals(row.p_correct, annotator.pCorrect(row.gold_chosen, row.gold_rejected));
      assertNotEquals(row.chosen, row.rejected);
    }
    // "all" pairs: k(k−1)/2 per prompt with k distinct completions
    const perPrompt = new Map<string, number>();
    for (const p of t.array("prompt") as unknown as string[]) {
      perPrompt.set(p, (perPrompt.get(p) ?? 0) + 1);
    }
    for (const n of perPrompt.values()) assert([1, 3, 6].includes(n), `pairs per prompt ${n}`);
  },
});

Deno.test({
  name: "buildPreferenceDataset() pair modes give 6, 3 and 1 pairs from 4 distinct completions",
  async fn() {
    const distinct: CompletionSampler = (prompts, k) =>
      Promise.resolve(
        prompts.map((p) => ["good", "bad", "fine", "awful"].slice(0, k).map((w) => `${p} ${w}`)),
      );
    for (const [pairs, n] of [["all", 6], ["adjacent", 3], ["best_worst", 1]] as const) {
      const t = await buildPreferenceDataset({
        ...base,
        sample: distinct,
        prompts: ["x", "y"],
        pairs,
      });
      assertEquals(t.numRows(), 2 * n, pairs);
    }
    const k2 = await buildPreferenceDataset({
      ...base,
      sample: distinct,
      k: 2,
      annotator: bradleyTerry(0.2),
    });
    assertEquals(k2.numRows(), PROMPTS.length);
  },
});

Deno.test({
  name: "buildPreferenceDataset() skips identical and empty completions before labelling",
  async fn() {
    const dupes: CompletionSampler = (prompts) =>
      Promise.resolve(
        prompts.map((_, i) =>
          i === 0 ? ["good", "good", "bad", " "] : ["same", "same", "same", ""]
        ),
      );
    const t = await buildPreferenceDataset({
      ...base,
      prompts: ["p0", "p1"],
      sample: dupes,
      annotator: noiseless(),
    });
    assertEquals(t.objects(), [{
      prompt: "p0",
      chosen: "good",
      rejected: "bad",
      gold_chosen: vaderReward().score("", "good"),
      gold_rejected: vaderReward().score("", "bad"),
      p_correct: 1,
    }]);
  },
});

Deno.test({
  name: "buildPreferenceDataset() labels do not depend on batchSize and survive a CSV round trip",
  async fn() {
    const fixedSeed: CompletionSampler = (prompts, k) => fakeSampler(prompts, k, 5);
    const whole = await buildPreferenceDataset({ ...base, sample: fixedSeed });
    const batched = await buildPreferenceDataset({ ...base, sample: fixedSeed, batchSize: 5 });
    assertEquals(batched.objects(), whole.objects());
    const dir = await Deno.makeTempDir();
    await savePreferences(whole, `${dir}/prefs.csv`);
    assertEquals((await loadPreferences(`${dir}/prefs.csv`)).objects(), whole.objects());
  },
});

Deno.test({
  name: "buildPreferenceDataset() rejects bad k, no prompts and a sampler of the wrong shape",
  async fn() {
    await assertRejects(() => buildPreferenceDataset({ ...base, k: 1 }), ConfigError, "k must be");
    await assertRejects(
      () => buildPreferenceDataset({ ...base, prompts: [] }),
      ConfigError,
      "prompts",
    );
    await assertRejects(
      () => buildPreferenceDataset({ ...base, sample: () => Promise.resolve([["a", "b"]]) }),
      ConfigError,
      "one list per prompt (12), got 1 lists",
    );
    await assertRejects(
      () =>
        buildPreferenceDataset({
          ...base,
          sample: (ps) => Promise.resolve(ps.map(() => ["a", "b"])),
        }),
      ConfigError,
      `must return 4 strings for prompt "prompt number 0"`,
    );
  },
});

Deno.test({
  name:
    "buildPreferenceDataset() records whether each completion finished, keeping the first repeat's flag",
  async fn() {
    const flagged: CompletionSampler = (prompts) =>
      Promise.resolve(prompts.map(() => [
        { text: "good", finished: true },
        { text: "bad", finished: false },
        { text: "good", finished: false }, // a repeat: dropped with its flag
        { text: "fine film", finished: false },
      ]));
    const t = await buildPreferenceDataset({ ...base, prompts: ["p"], sample: flagged });
    assertEquals(t.columnNames().slice(6), ["chosen_finished", "rejected_finished"]);
    const finished: Record<string, boolean> = { good: true, bad: false, "fine film": false };
    for (const row of t.objects() as Required<PreferenceRow>[]) {
      assertEquals(row.chosen_finished, finished[row.chosen]);
      assertEquals(row.rejected_finished, finished[row.rejected]);
    }
    assertEquals(t.numRows(), 3);
  },
});

Deno.test({
  name:
    "buildPreferenceDataset() with a tying annotator labels equal-gold pairs like any other and marks ties",
  async fn() {
    // "the film" and "a story" have no sentiment word: equal gold (0), kept and labelled.
    const neutral: CompletionSampler = (prompts) =>
      Promise.resolve(prompts.map(() => ["the film", "a story", "good", "awful"]));
    const t = await buildPreferenceDataset({
      ...base,
      prompts: Array.from({ length: 200 }, (_, i) => `p${i}`),
      sample: neutral,
      annotator: plackettLuce(0.2, { nu: 2 }),
    });
    assertEquals(t.columnNames().at(-1), "tie");
    assertEquals(t.numRows(), 200 * 6);
    let equalPairs = 0, equalTies = 0;
    for (const row of t.objects() as Required<PreferenceRow>[]) {
      assertEquals(Number.isNaN(row.p_correct), row.tie, "p_correct is NaN exactly on ties");
      if (row.gold_chosen === row.gold_rejected) {
        equalPairs++;
        if (row.tie) equalTies++;
      }
    }
    assertEquals(equalPairs, 200, "one equal-gold pair per prompt, none filtered");
    // P(tie) at equal rewards is ν/(2 + ν) = 1/2: 100 ± 4·√50 ≈ ±28.
    assert(Math.abs(equalTies - 100) < 4 * Math.sqrt(50), `ties of equal pairs ${equalTies}`);
  },
});

Deno.test("buildPreferenceDataset() records the sampled ids of each pair's completions", async () => {
  // the ids stand for what the model drew; each text's first draw stands for it
  const table = await buildPreferenceDataset({
    ...base,
    sample: (prompts, k) =>
      Promise.resolve(prompts.map((_, p) =>
        Array.from({ length: k }, (_, j) => ({
          text: ["good", "bad", "fine", "good"][j]!,
          finished: j % 2 === 0,
          ids: [100 + p, j],
        }))
      )),
  });
  const rows = table.objects() as Record<string, unknown>[];
  assert(rows.length > 0);
  const idOf: Record<string, string> = { good: "0", bad: "1", fine: "2" };
  for (const r of rows) {
    assertEquals(String(r.chosen_ids).split(" ")[1], idOf[String(r.chosen)]);
    assertEquals(String(r.rejected_ids).split(" ")[1], idOf[String(r.rejected)]);
  }
  // and they survive a CSV round trip as text
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  await savePreferences(table, path);
  const back = await loadPreferences(path);
  assertEquals(back.array("chosen_ids"), table.array("chosen_ids"));
  await Deno.remove(path);
});
