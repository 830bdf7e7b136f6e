/**
 * What a sweep checks before any work, so it fails at once rather than after its upstream
 * stages (or hours of runs): the results path and that it can be written, the preset its
 * directory records (`sweep.json`), each model config's training memory against the
 * machine's, `RLHF_FAULT`; and, right after a data stage (before any model trains), what
 * only the corpus can tell.
 *
 * @module
 */
import { join } from "node:path";
import { type CanonicalConfig, modelOf } from "./config.ts";
import type { SweepPlan } from "./plan.ts";
import { faultFromEnv } from "./run.ts";
import { readData } from "./stages/data.ts";
import { readJson } from "../../lib/sweep/json_file.ts";
import { checkUserPath } from "../../lib/sweep/paths.ts";
import { checkMemory, checkWritable, trainingMemory } from "../../lib/sweep/resources.ts";
import { goldReward } from "../../lib/rewards/mod.ts";
import { SPECIAL_TOKENS } from "../../lib/data/special_tokens.ts";
import { ConfigError } from "../../lib/util/errors.ts";
import type { ExecuteOptions } from "./execute.ts";

/** The record of an experiment's results directory: which experiment and preset. */
export interface SweepRecord {
  /** The experiment, e.g. `canonical`. */
  experiment: string;
  /** The preset its sweeps start from. */
  preset: string;
}

/** File name of the {@link SweepRecord} in a results directory. */
export const SWEEP_RECORD = "sweep.json";

/**
 * Checks that need no work, so a sweep fails at once rather than after its upstream stages
 * (or hours of runs): the results path (no `..`), that this process may and can write it
 * (it is created), that its directory records this sweep's preset, that every model config
 * of the plan fits the machine's memory, and that `RLHF_FAULT`, when set, names a method
 * or run of this sweep.
 * @throws ConfigError naming the problem; ResourceError naming a directory that cannot be
 *   written; KitError with a model's memory estimate and the machine's memory.
 */
export async function checkSweep(
  o: Pick<ExecuteOptions, "experiment" | "plan" | "results">,
): Promise<void> {
  checkUserPath(o.results, "--results");
  const root = join(o.results, o.experiment);
  const write = Deno.permissions.querySync({ name: "write", path: root }).state;
  if (write !== "granted") {
    throw new ConfigError(
      `--results ${o.results}: this process may not write to ${root} ` +
        `(deno task sweep and reproduce write only under results/ and /tmp)`,
    );
  }
  const fault = faultFromEnv();
  if (fault && !o.plan.runs.some((r) => r.method === fault.target || r.id === fault.target)) {
    throw new ConfigError(
      `RLHF_FAULT targets ${JSON.stringify(fault.target)}, which is not a method or run of ` +
        `this sweep (methods: ${o.plan.base.methods.join(", ")})`,
    );
  }
  checkModelMemory(o.plan);
  const recorded = await readJson<SweepRecord>(join(root, SWEEP_RECORD)).catch(() => undefined);
  const experiment = o.experiment.split("_")[0]!;
  if (recorded && (recorded.preset !== o.plan.preset || recorded.experiment !== experiment)) {
    throw new ConfigError(
      `${root} holds results of the ${recorded.experiment} experiment at preset ` +
        `${JSON.stringify(recorded.preset)} (its ${SWEEP_RECORD}), not of preset ` +
        `${JSON.stringify(o.plan.preset)}: give another --results directory`,
    );
  }
  await checkWritable(root);
}

/**
 * Refuse a plan whose model cannot train on this machine: for every distinct config, the
 * training memory lower bound (lib/sweep/resources.ts) of each stage's batch — LM
 * pretraining and SFT, the reward model (chosen and rejected), the DPO family (chosen and
 * rejected, beside a frozen reference) and PPO (a value model and the reference beside
 * the policy) — must fit in the machine's memory.
 */
function checkModelMemory(plan: SweepPlan): void {
  const seen = new Set<string>();
  for (const r of plan.runs) {
    const c = r.config;
    const id = JSON.stringify([modelOf(c), c.base, c.sft, c.rm, c.dpo, c.ppo, c.methods]);
    if (seen.has(id)) continue;
    seen.add(id);
    const m = modelOf(c);
    const stages: [string, number, number][] = [
      ["base LM", c.base.batchSize, 0],
      ["SFT", c.sft.batchSize, 0],
      ["reward model", 2 * c.rm.batchSize, 0],
    ];
    if (c.methods.some((x) => x !== "bon" && !x.startsWith("ppo"))) {
      stages.push(["DPO", 2 * c.dpo.batchSize, 1]);
    }
    if (c.methods.some((x) => x.startsWith("ppo"))) stages.push(["PPO", c.ppo.minibatchSize, 5]);
    for (const [stage, batch, frozen] of stages) {
      checkMemory(
        `the model --model.dModel ${m.dModel} --model.nLayers ${m.nLayers} --model.nHeads ` +
          `${m.nHeads} --model.context ${m.context} (vocabulary ${m.vocabSize}) in its ${stage} ` +
          `stage at batch ${batch}`,
        trainingMemory(m, batch, frozen),
      );
    }
  }
}

/**
 * Checks of a data stage's output that the config alone cannot decide (they depend on the
 * corpus), made before any model trains: a word-level vocabulary must hold a word that the
 * gold reward scores (else every completion ties and there is no preference to learn).
 * Byte-level BPE can spell any text, so it always can.
 * @throws ConfigError naming `data.vocabSize`.
 */
export async function checkData(c: CanonicalConfig, dataDir: string): Promise<void> {
  // completions differ in length whatever the words; BPE spells every word byte by byte
  if (c.gold === "length" || c.data.tokenizer !== "word") return;
  const { tokenizer } = await readData(dataDir);
  const words: string[] = [];
  for (let id = SPECIAL_TOKENS.length; id < tokenizer.vocabSize; id++) {
    words.push(tokenizer.decode([id]));
  }
  const gold = goldReward(c.gold);
  const base = gold.score("", "");
  const scores = gold.scoreBatch(words.map(() => ""), words);
  if (!scores.some((s) => s !== base)) {
    throw new ConfigError(
      `--data.vocabSize ${c.data.vocabSize}: none of the ${words.length} words of its ` +
        `vocabulary changes the ${c.gold} gold reward, so every pair of completions would ` +
        `tie and there is no preference to learn; use a larger --data.vocabSize`,
    );
  }
}
