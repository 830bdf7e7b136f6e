/**
 * PPO against a KL-penalised reward (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et
 * al. 2022): maximise E[r(x, y)] − β·KL(π‖π_ref) with completions sampled from the policy
 * itself. One iteration reads as:
 *
 *   rollout → score → shape rewards (−β·KL_t, + score at the last token) → GAE →
 *   several epochs of minibatch updates of policy (clipped surrogate) and value (clipped
 *   value loss), early stop on approx KL → KL controller update → one metric row.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D } from "../util/tensor_types.ts";
import { type CausalLM, gatherLogProbs } from "../models/causal_lm.ts";
import type { ScalarModel } from "../models/scalar_head.ts";
import { selectRows, selectRowsOf } from "../data/response_batch.ts";
import {
  entropyFromLogits,
  explainedVariance,
  ppoPolicyLoss,
  ppoValueLoss,
} from "../losses/ppo.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { temperedLogits } from "./response_log_probs.ts";
import { AdaptiveKlController, FixedKlController, type KlController } from "./kl_controller.ts";
import { checkFinite, type MetricRow, readScalars, type RowSink } from "./metrics.ts";
import { checkPpoRules, type PpoConfig } from "./ppo_config.ts";
import { rolloutAdvantages } from "./ppo_advantages.ts";
import { collectRollout, type RewardSource, type Rollout, sequenceKl } from "./rollout.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";

/** A few completions of an iteration, for logs and samples.jsonl. */
export interface PpoSample {
  /** The iteration (1-based) the completion was sampled at. */
  step: number;
  /** Prompt token ids (with BOS). */
  prompt: number[];
  /** Response token ids. */
  response: number[];
  /** The training reward of the completion. */
  score: number;
}

/** Inputs of {@link trainPpo}. */
export interface PpoRun {
  /** The policy to train, in place. */
  policy: CausalLM;
  /** The frozen reference (SFT) model. */
  ref: CausalLM;
  /** The value model (initialised from the reward model or the SFT model by the caller). */
  value: ScalarModel;
  /** Training reward: a reward model, or the gold reward ("PPO-GT"). */
  reward: RewardSource;
  /** Metric name of the training reward's mean (default `reward/score`). */
  rewardMetric?: string;
  /**
   * Rewards measured but not trained on, by metric name: e.g. `{ "reward/gold": gold }`
   * when training on the reward model, `{ "reward/proxy": rm }` for PPO-GT.
   */
  monitors?: Readonly<Record<string, RewardSource>>;
  /** Prompt pool (token ids with BOS). */
  prompts: readonly number[][];
  /** Hyper-parameters (see {@link ppoConfig}). */
  config: PpoConfig;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Receives a few completions of an iteration every `sampleEvery` iterations. */
  onSamples?: (samples: PpoSample[]) => void;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
  /**
   * Called after every iteration whose losses, rewards and KL were all finite, with the
   * number of iterations done (1-based), e.g. to save a checkpoint known to be good.
   */
  afterStep?: (iterationsDone: number) => Promise<void> | void;
  /**
   * Checkpoint evaluation, after iterations evalEvery, 2·evalEvery, … and the last (see
   * {@link PpoConfig.evalEvery}), with the number of iterations done; its numbers become a
   * row `{ step: iterationsDone, ...metrics }` among the metric rows (as the shared loop's
   * `evaluate` does), before `afterStep` of that iteration. It must draw its own
   * randomness: the training stream is not passed to it, so training is the same with it
   * or without it.
   */
  evaluate?: (iterationsDone: number) => Promise<Record<string, number>>;
}

/** Train `policy` and `value` in place; returns one row per iteration. */
export async function trainPpo(run: PpoRun): Promise<MetricRow[]> {
  const { policy, value, config: c } = run;
  checkPpoRules(c);
  const scoreName = run.rewardMetric ?? "reward/score";
  if (run.prompts.length === 0) throw new RangeError("PPO needs at least one prompt");
  const rng = new Rng(c.seed);
  const policyOpt = new AdamW(policy.params, { gradClip: c.gradClip });
  const valueOpt = new AdamW(value.params, { gradClip: c.gradClip });
  const controller: KlController = c.adaptiveKlTarget === null
    ? new FixedKlController(c.beta)
    : new AdaptiveKlController({
      initBeta: c.beta,
      target: c.adaptiveKlTarget,
      horizon: c.klHorizon,
    });
  const bar = new Progress({
    label: run.progress || `ppo β=${c.beta}`,
    total: c.iterations,
    quiet: run.progress === false,
    every: 5,
  });
  const rows: MetricRow[] = [];
  try {
    for (let it = 0; it < c.iterations; it++) {
      const t0 = performance.now();
      const prompts = Array.from(
        { length: c.rolloutBatch },
        () => run.prompts[rng.int(run.prompts.length)]!,
      );
      const ro = await collectRollout({
        policy,
        ref: run.ref,
        value,
        prompts,
        maxNewTokens: c.maxNewTokens,
        temperature: c.temperature,
        klEstimator: c.klEstimator,
        reward: run.reward,
        rng,
      });
      const beta = controller.value;
      const { batch } = ro;
      const adv = rolloutAdvantages(ro, c, beta);
      for (let i = 0; i < adv.scores.length; i++) checkFinite(scoreName, adv.scores[i]!, it);
      const stats = await ppoEpochs(run, ro, adv.advantages, adv.returns, rng, it);

      const seqKl = sequenceKl(ro.logProbs, ro.refLogProbs, batch);
      const kl = mean(seqKl);
      controller.update(kl, c.rolloutBatch);
      const secs = (performance.now() - t0) / 1000;
      const tokens = batch.responseLengths.reduce((a, n) => a + n, 0);
      const row: MetricRow = {
        step: it + 1,
        [scoreName]: mean(ro.scores),
        "kl/ref": checkFinite("kl/ref", kl, it),
        "kl/beta": beta,
        "objective/rlhf": mean(ro.scores) - beta * kl,
        ...stats,
        "ppo/explained_variance": explainedVariance(ro.values, adv.returns, batch.mask),
        "gen/length": tokens / batch.batch,
        "gen/eos_rate": ro.finished.filter((f) => f).length / batch.batch,
        "perf/tokens_per_s": tokens / secs,
        "perf/sample_fraction": ro.sampleSeconds / secs,
      };
      for (const [name, source] of Object.entries(run.monitors ?? {})) {
        row[name] = mean(await source(ro.prompts, ro.responses, batch));
      }
      rows.push(row);
      run.onRow?.(row);
      if (c.sampleEvery > 0 && (it % c.sampleEvery === 0 || it === c.iterations - 1)) {
        run.onSamples?.(
          ro.prompts.slice(0, 4).map((p, i) => ({
            step: it + 1,
            prompt: p,
            response: ro.responses[i]!,
            score: ro.scores[i]!,
          })),
        );
      }
      bar.update(it + 1, `score ${row[scoreName]!.toFixed(3)} kl ${kl.toFixed(2)}`);
      const done = it + 1;
      if (run.evaluate && c.evalEvery > 0 && (done % c.evalEvery === 0 || done === c.iterations)) {
        const evalRow: MetricRow = { step: done };
        for (const [k, v] of Object.entries(await run.evaluate(done))) {
          evalRow[k] = checkFinite(k, v, it);
        }
        rows.push(evalRow);
        run.onRow?.(evalRow);
      }
      await run.afterStep?.(done);
    }
    bar.finish();
    return rows;
  } finally {
    policyOpt.dispose();
    valueOpt.dispose();
  }

  /** Several epochs of shuffled minibatches over one rollout; returns mean diagnostics. */
  async function ppoEpochs(
    run: PpoRun,
    ro: Rollout,
    advantages: Float32Array,
    returns: Float32Array,
    rng: Rng,
    it: number,
  ): Promise<Record<string, number>> {
    const t = ro.batch.length;
    const sums: Record<string, number> = {};
    let count = 0, earlyStop = 0;
    const rows = ro.prompts.map((_, i) => i);
    epochs: for (let epoch = 0; epoch < c.epochs; epoch++) {
      rng.shuffle(rows);
      for (let i = 0; i < rows.length; i += c.minibatchSize) {
        const idx = rows.slice(i, i + c.minibatchSize);
        const mb = selectRows(ro.batch, idx);
        const rowsOf = (x: Float32Array) => tf.tensor2d(selectRowsOf(x, t, idx), [idx.length, t]);
        const tokens = tf.tensor2d(mb.tokens, [mb.batch, t + 1], "int32");
        const mask = tf.tensor2d(mb.mask, [mb.batch, t]);
        const oldLogProbs = rowsOf(ro.logProbs), adv = rowsOf(advantages), ret = rowsOf(returns);
        const oldValues = rowsOf(ro.values);
        let diag: Tensor[] = [];
        const policyStep = optimiserStep(policyOpt, () => {
          const inputs = tokens.slice([0, 0], [mb.batch, t]) as Tensor2D;
          const logits = temperedLogits(run.policy, inputs, c.temperature); // [b, T, V]
          const logProbs = gatherLogProbs(logits, tokens.slice([0, 1], [mb.batch, t])); // [b, T]
          const out = ppoPolicyLoss({
            logProbs,
            oldLogProbs,
            advantages: adv,
            mask,
            clipRange: c.clipRange,
          });
          const entropy = entropyFromLogits(logits, mask);
          diag = [out.clipFrac, out.approxKl, entropy].map((x) => tf.keep(x));
          return c.entCoef > 0 ? out.pgLoss.sub(entropy.mul(c.entCoef)) as Scalar : out.pgLoss;
        }, c.lr);
        let vClipFrac: Tensor | undefined;
        const valueStep = optimiserStep(valueOpt, () => {
          const values = run.value.scores(tokens.slice([0, 0], [mb.batch, t]) as Tensor2D);
          const out = ppoValueLoss({
            values,
            oldValues,
            returns: ret,
            mask,
            clipRangeValue: c.clipRangeValue,
          });
          vClipFrac = tf.keep(out.vClipFrac);
          return out.vLoss;
        }, c.valueLr);
        tf.dispose([
          tokens,
          mask,
          oldLogProbs,
          adv,
          ret,
          oldValues,
          policyStep.gradNorm,
          valueStep.gradNorm,
        ]);
        const m = await readScalars({
          "loss/policy": policyStep.loss,
          "loss/value": valueStep.loss,
          "ppo/clipfrac": diag[0]!,
          "ppo/approx_kl": diag[1]!,
          "policy/entropy": diag[2]!,
          "ppo/value_clipfrac": vClipFrac!,
        });
        for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + checkFinite(k, v, it);
        count++;
        if (c.earlyStopKl !== null && m["ppo/approx_kl"]! > c.earlyStopKl) {
          earlyStop = 1;
          break epochs;
        }
      }
    }
    const out: Record<string, number> = { "ppo/early_stop": earlyStop, "ppo/updates": count };
    for (const [k, v] of Object.entries(sums)) out[k] = v / count;
    return out;
  }
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return x.length ? s / x.length : NaN;
}
