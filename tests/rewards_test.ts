import {
  GOLD_REWARD_NAMES,
  GOLD_REWARDS,
  goldReward,
  goldRewardFromFn,
  lengthReward,
  POSITIVE_WORDS,
  targetWordsReward,
  vaderCompound,
  vaderReward,
} from "../lib/rewards/mod.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import { assert, assertEquals, assertGreater, assertLess, assertThrows } from "./assert.ts";

Deno.test({
  name: "vaderReward() is positive for praise, negative for abuse, and deterministic",
  fn() {
    const r = vaderReward();
    const pos = r.score("the critic wrote", "a wonderful, lovely film");
    const neg = r.score("the critic wrote", "a terrible, awful film");
    assertGreater(pos, 0);
    assertLess(neg, 0);
    assertEquals(r.score("the critic wrote", "a wonderful, lovely film"), pos);
    assertEquals(pos, vaderCompound("a wonderful, lovely film"));
    assert(pos <= 1 && neg >= -1);
    assertEquals(r.score("", ""), 0);
  },
});

Deno.test({
  name: "vaderReward() scores the completion only and scoreBatch() matches score()",
  fn() {
    const r = vaderReward();
    assertEquals(r.score("a horrible, hateful prompt", "the end"), r.score("", "the end"));
    const prompts = ["x", "y", "z"];
    const completions = ["good fun", "not good", "the house"];
    const batch = r.scoreBatch(prompts, completions);
    assert(batch instanceof Float64Array);
    assertEquals(Array.from(batch), completions.map((c, i) => r.score(prompts[i]!, c)));
    assertEquals(vaderReward({ scale: 2 }).score("", "good fun"), 2 * r.score("", "good fun"));
  },
});

Deno.test({
  name: "vaderReward() throughput is reported and above 1,000 completions/s",
  fn() {
    const vocab = "the a film was good bad terrible lovely not very house man and of said".split(
      " ",
    );
    const rng = new Rng(0);
    const n = 5000;
    const completions = Array.from(
      { length: n },
      () => Array.from({ length: 4 + rng.int(12) }, () => vocab[rng.int(vocab.length)]!).join(" "),
    );
    const r = vaderReward();
    r.scoreBatch(completions.slice(0, 200).map(() => ""), completions.slice(0, 200)); // warm up
    const t0 = performance.now();
    r.scoreBatch(completions.map(() => ""), completions);
    const perSecond = n / ((performance.now() - t0) / 1000);
    console.log(`vader throughput: ${Math.round(perSecond)} completions/s`);
    assertGreater(perSecond, 1000);
  },
});

Deno.test({
  name: "targetWordsReward() counts whole words case-insensitively, optionally normalised",
  fn() {
    const r = targetWordsReward({ words: ["good", "great"] });
    assertEquals(r.score("", "Good, GOOD and great; goodness"), 3);
    assertEquals(r.score("", ""), 0);
    const n = targetWordsReward({ words: ["good"], normalise: true });
    assertEquals(n.score("", "good bad good bad"), 0.5);
    assertEquals(n.score("", "  "), 0);
    assertEquals(targetWordsReward().score("", "a lovely and wonderful day"), 2);
    assert(POSITIVE_WORDS.includes("wonderful"));
  },
});

Deno.test({
  name: "lengthReward() is −|L − L*| or min(L/L*, 1) in words or characters",
  fn() {
    assertEquals(lengthReward({ target: 3 }).score("", "one two"), -1);
    assertEquals(lengthReward({ target: 3 }).score("", "one two three four five"), -2);
    assertEquals(lengthReward({ target: 4, mode: "ratio" }).score("", "one two"), 0.5);
    assertEquals(lengthReward({ target: 4, mode: "ratio" }).score("", "a b c d e f"), 1);
    assertEquals(lengthReward({ target: 5, unit: "chars" }).score("", "abc"), -2);
  },
});

Deno.test({
  name: "GOLD_REWARDS registry builds every named reward; bad names and options are ConfigErrors",
  fn() {
    assertEquals(Object.keys(GOLD_REWARDS).sort(), [...GOLD_REWARD_NAMES].sort());
    for (const name of GOLD_REWARD_NAMES) {
      const r = goldReward(name);
      assertEquals(r.name, name);
      assert(Number.isFinite(r.score("the film", "was a good one")));
    }
    assertThrows(() => goldReward("sentiment"), ConfigError, `got "sentiment"`);
    assertThrows(() => goldReward("length", { target: -1 }), ConfigError, "rewards.length.target");
    assertThrows(
      () => goldReward("vader", { scal: 1 }),
      ConfigError,
      "unknown key rewards.vader.scal",
    );
    assertThrows(
      () => vaderReward().scoreBatch(["a"], ["b", "c"]),
      ConfigError,
      "1 prompts and 2 completions",
    );
    const custom = goldRewardFromFn("chars", (_p, y) => y.length);
    assertEquals(Array.from(custom.scoreBatch(["", ""], ["ab", "c"])), [2, 1]);
  },
});
