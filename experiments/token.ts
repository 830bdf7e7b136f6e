/**
 * The token-level exact experiment (docs/architecture.md, "The exact tasks"): an
 * autoregressive tabular policy over a small vocabulary, every sequence enumerable
 * (lib/data/token_task.ts), so π*_β ∝ π_ref·exp(r/β) and the exact reward and KL of any
 * policy are finite sums. Every online method sweeps β; its exact reward and KL land next
 * to π*_β and, where the method does not optimise E[r] − β·KL, next to the point its
 * expected update predicts (lib/eval/token_fixed_points.ts).
 *
 * `deno task sweep token [--beta 0.1,0.5,2] [--seed 1,2,3] [--methods ppo,grpo]
 *  [--task my_task.json]` (a task file as lib/data/token_task_file.ts reads).
 *
 * Methods, each with its trainer's defaults (lib/train/token_*.ts):
 * - `ppo`: k1 per token in the reward, GAE, a tabular critic;
 * - `grpo`: the paper's GRPO, k3 per token in the loss, advantages over the group's std,
 *   per-sequence mean;
 * - `dr_grpo`: k3 in the loss, no std, Dr. GRPO's constant normaliser;
 * - `grpo_kl_reward`: GRPO with k1 in the sequence reward instead;
 * - `rloo`: k1 in the sequence reward, leave-one-out baseline;
 * - `online_dpo`: pairs from the current policy, Bradley–Terry labels on r, DPO loss;
 * - `kto`: pairs from `ktoSampling` (π_ref by default: offline feedback, as the canonical
 *   experiment's), unpaired into desirable winners and undesirable losers.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import { makeTokenTask, type TokenTask } from "../lib/data/token_task.ts";
import { loadTokenTask } from "../lib/data/token_task_file.ts";
import { tokenOracleFrontier, tokenOracleStats } from "../lib/eval/token_oracle.ts";
import { grpoFixedPoint, ktoFixedPoint } from "../lib/eval/token_fixed_points.ts";
import type { TokenTrainResult } from "../lib/train/_token_policy.ts";
import { DR_GRPO, TOKEN_GRPO_DEFAULTS, trainTokenGrpo } from "../lib/train/token_grpo.ts";
import { trainTokenKto } from "../lib/train/token_kto.ts";
import { trainTokenOnlineDpo } from "../lib/train/token_online_dpo.ts";
import { trainTokenPpo } from "../lib/train/token_ppo.ts";
import { trainTokenRloo } from "../lib/train/token_rloo.ts";
import { summariseOverSeeds, writeCsvTable } from "../lib/sweep/results_table.ts";
import { frontierFigure } from "../lib/plot/frontier.ts";
import { scatterFigure } from "../lib/plot/scatter.ts";
import { curvesFigure } from "../lib/plot/curves.ts";
import { writePlots, type WrittenPlots } from "../lib/plot/report.ts";
import type { Figure } from "../lib/plot/figure.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { resolveConfig, type Schema } from "../lib/util/schema.ts";

/** Methods on the token-level task. */
export const TOKEN_METHODS = [
  "ppo",
  "grpo",
  "dr_grpo",
  "grpo_kl_reward",
  "rloo",
  "online_dpo",
  "kto",
] as const;
/** A method of the token-level sweep. */
export type TokenMethod = (typeof TOKEN_METHODS)[number];

/** The token-level sweep's config. */
export interface TokenSweepConfig {
  /** β grid. */
  beta: number[];
  /** Seeds of the training draws. */
  seed: number[];
  /** Methods to run. */
  methods: TokenMethod[];
  /** A task file (JSON, lib/data/token_task_file.ts); empty: the seeded task below. */
  task: string;
  /** Contexts P of the seeded task. */
  contexts: number;
  /** Vocabulary V of the seeded task (EOS added). */
  vocab: number;
  /** Most tokens T of the seeded task. */
  maxLength: number;
  /** Seed of the seeded task (reference logits, rewards). */
  taskSeed: number;
  /** Where KTO's completions come from: π_ref (offline feedback) or the current policy. */
  ktoSampling: "ref" | "policy";
}

/** Field specs of {@link TokenSweepConfig}. */
export const TOKEN_SWEEP_SCHEMA: Schema<TokenSweepConfig> = {
  beta: { type: "numberList", gt: 0, nonEmpty: true, doc: "β grid" },
  seed: { type: "numberList", int: true, nonEmpty: true, doc: "seeds" },
  methods: { type: "stringList", values: TOKEN_METHODS, nonEmpty: true, doc: "methods" },
  task: { type: "string", doc: "task file (JSON); empty = the seeded task" },
  contexts: { type: "number", int: true, min: 1, doc: "contexts P of the seeded task" },
  vocab: { type: "number", int: true, min: 1, doc: "vocabulary V of the seeded task" },
  maxLength: { type: "number", int: true, min: 1, doc: "most tokens T of the seeded task" },
  taskSeed: { type: "number", int: true, doc: "seed of the seeded task" },
  ktoSampling: { type: "enum", values: ["ref", "policy"], doc: "KTO's sampling distribution" },
};

/** Defaults: the tests' task (3 contexts, V = 4, T = 3), five β, three seeds. */
export const TOKEN_SWEEP_DEFAULTS: TokenSweepConfig = {
  beta: [0.1, 0.2, 0.5, 1, 2],
  seed: [1, 2, 3],
  methods: [...TOKEN_METHODS],
  task: "",
  contexts: 3,
  vocab: 4,
  maxLength: 3,
  taskSeed: 0,
  ktoSampling: "ref",
};

/** Resolve overrides over the defaults. */
export function tokenSweepConfig(overrides: unknown = {}): TokenSweepConfig {
  return resolveConfig("token", TOKEN_SWEEP_SCHEMA, TOKEN_SWEEP_DEFAULTS, overrides);
}

/** The task of a config: the file when one is named, else the seeded task. */
export async function tokenSweepTask(c: TokenSweepConfig): Promise<TokenTask> {
  if (c.task !== "") return await loadTokenTask(c.task);
  return makeTokenTask({
    contexts: c.contexts,
    vocab: c.vocab,
    maxLength: c.maxLength,
    seed: c.taskSeed,
  });
}

/** Train one method at one β and seed (each trainer at its defaults). */
export function trainTokenMethod(
  task: TokenTask,
  method: TokenMethod,
  beta: number,
  seed: number,
  c: Pick<TokenSweepConfig, "ktoSampling">,
): TokenTrainResult {
  const args = { task, beta, seed };
  switch (method) {
    case "ppo":
      return trainTokenPpo(args);
    case "grpo":
      return trainTokenGrpo(args);
    case "dr_grpo":
      return trainTokenGrpo({ ...args, ...DR_GRPO });
    case "grpo_kl_reward":
      return trainTokenGrpo({ ...args, klPlacement: "reward" });
    case "rloo":
      return trainTokenRloo(args);
    case "online_dpo":
      return trainTokenOnlineDpo(args);
    case "kto":
      return trainTokenKto({ ...args, sampling: c.ktoSampling });
  }
}

/** Where a method is predicted to land, and how the prediction was made. */
export interface TokenPrediction {
  /** Exact E[r] at the predicted policy (NaN when no fixed point was found). */
  reward: number;
  /** Exact KL(π‖π_ref) there. */
  kl: number;
  /**
   * `pi_star` (the method optimises E[r] − β·KL), `fixed_point` (the zero of its expected
   * update), `fixed_point_g_inf` (the same with the group std modelled at G → ∞), or
   * `none` (the solver found no fixed point).
   */
  kind: "pi_star" | "fixed_point" | "fixed_point_g_inf" | "none";
}

/**
 * The predicted landing point of a method at β: π*_β for the methods whose expected
 * update vanishes there, else the fixed point of lib/eval/token_fixed_points.ts.
 */
export function predictLanding(
  task: TokenTask,
  method: TokenMethod,
  beta: number,
  c: Pick<TokenSweepConfig, "ktoSampling">,
): TokenPrediction {
  const solve = (kind: TokenPrediction["kind"], f: () => { reward: number; kl: number }) => {
    try {
      const p = f();
      return { reward: p.reward, kl: p.kl, kind };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return { reward: NaN, kl: NaN, kind: "none" as const };
    }
  };
  const grpo = (scaleRewards: boolean, aggregation: "sequence_mean" | "dr_grpo") =>
    grpoFixedPoint(task, {
      beta,
      groupSize: TOKEN_GRPO_DEFAULTS.groupSize,
      klPlacement: "loss",
      klEstimator: "k3",
      aggregation,
      scaleRewards,
    });
  switch (method) {
    case "grpo":
      return solve("fixed_point_g_inf", () => grpo(true, "sequence_mean"));
    case "dr_grpo":
      return solve("fixed_point", () => grpo(false, "dr_grpo"));
    case "kto":
      return solve("fixed_point", () => ktoFixedPoint(task, { beta, sampling: c.ktoSampling }));
    default: {
      const star = tokenOracleStats(task, beta);
      return { reward: star.reward, kl: star.kl, kind: "pi_star" };
    }
  }
}

/** What the token-level sweep produces. */
export interface TokenSweepResult {
  /** The task swept. */
  task: TokenTask;
  /**
   * One row per run: method, beta, seed, reward_gold and kl (exact), the optimum's
   * (`oracle_*`), the predicted landing point (`predicted_*`, `prediction`), and the
   * relative gaps to each (`*_gap`: to π*_β; `*_off`: to the prediction).
   */
  summary: aq.ColumnTable;
  /** Means and 95% intervals over seeds, per method and β. */
  grouped: aq.ColumnTable;
  /** The exact frontier on a fine β grid. */
  oracle: { beta: number; reward: number; kl: number }[];
  /** Training curves of every run (exact reward and KL through training). */
  metrics: aq.ColumnTable;
  /** The plots written, when a results directory was given. */
  plots?: WrittenPlots;
}

/** Relative difference a/b − 1 (NaN when b is 0 or not finite). */
function rel(a: number, b: number): number {
  return Number.isFinite(b) && b !== 0 ? a / b - 1 : NaN;
}

/** Options of {@link tokenSweep}. */
export interface TokenSweepOptions {
  /** One line per finished run (default: silent). */
  log?: (m: string) => void;
  /** The task, already read (default: {@link tokenSweepTask} of the config). */
  task?: TokenTask;
}

/** Run every method × β × seed and compare with π*_β and the predicted landing points. */
export async function tokenSweep(
  c: TokenSweepConfig,
  out?: { root: string; png?: boolean },
  opts: TokenSweepOptions = {},
): Promise<TokenSweepResult> {
  const task = opts.task ?? await tokenSweepTask(c);
  const log = opts.log ?? (() => {});
  const rows: Record<string, unknown>[] = [];
  const curves: Record<string, unknown>[] = [];
  for (const method of c.methods) {
    for (const beta of c.beta) {
      const star = tokenOracleStats(task, beta);
      const predicted = predictLanding(task, method, beta, c);
      for (const seed of c.seed) {
        const runId = `token__${method}__${beta}__${seed}`;
        const t0 = performance.now();
        const res = trainTokenMethod(task, method, beta, seed, c);
        log(
          `${runId}: reward ${res.reward.toFixed(4)} (π* ${star.reward.toFixed(4)}), ` +
            `KL ${res.kl.toFixed(4)} (π* ${star.kl.toFixed(4)}), ` +
            `${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
        rows.push({
          run_id: runId,
          method,
          beta,
          seed,
          reward_gold: res.reward,
          kl: res.kl,
          length: res.length,
          oracle_reward: star.reward,
          oracle_kl: star.kl,
          prediction: predicted.kind,
          predicted_reward: predicted.reward,
          predicted_kl: predicted.kl,
          reward_gap: rel(res.reward, star.reward),
          kl_gap: rel(res.kl, star.kl),
          reward_off: rel(res.reward, predicted.reward),
          kl_off: rel(res.kl, predicted.kl),
          kl_kind: "exact",
        });
        for (const r of res.history) curves.push({ ...r, run_id: runId, method });
      }
    }
  }
  const summary = aq.from(rows);
  // Per (method, β): the seed means and intervals, then the optimum and the prediction.
  const targets = new Map(rows.map((r) => [`${r.method} ${r.beta}`, r]));
  const target = (col: string) =>
    aq.escape((d: { method: string; beta: number }) => targets.get(`${d.method} ${d.beta}`)![col]);
  const grouped = summariseOverSeeds(summary, {
    groupBy: ["method", "beta"],
    metrics: ["reward_gold", "kl", "reward_gap", "kl_gap", "reward_off", "kl_off"],
  }).derive({
    oracle_reward: target("oracle_reward"),
    oracle_kl: target("oracle_kl"),
    prediction: target("prediction"),
    predicted_reward: target("predicted_reward"),
    predicted_kl: target("predicted_kl"),
    kl_kind: () => "exact",
  });
  const lo = Math.min(...c.beta) / 3, hi = Math.max(...c.beta) * 3;
  const fine = Array.from({ length: 40 }, (_, i) => lo * (hi / lo) ** (i / 39));
  const oracle = tokenOracleFrontier(task, fine).map((r) => ({
    beta: r.beta,
    reward: r.reward,
    kl: r.kl,
  }));
  const names = [...new Set(curves.flatMap((r) => Object.keys(r)))];
  const metrics = aq.table(
    Object.fromEntries(names.map((k) => [k, curves.map((r) => r[k] ?? null)])),
  );
  const result: TokenSweepResult = { task, summary, grouped, oracle, metrics };
  if (out) {
    await writeCsvTable(summary, join(out.root, "summary.csv"));
    await writeCsvTable(grouped, join(out.root, "summary_by_method.csv"));
    await writeCsvTable(aq.from(oracle), join(out.root, "oracle.csv"));
    result.plots = await writePlots(join(out.root, "plots"), tokenFigures(result), {
      images: out.png,
    });
  }
  return result;
}

/** The sweep's figures: the exact frontier, measured against predicted KL, training curves. */
export function tokenFigures(
  res: Omit<TokenSweepResult, "plots">,
): Record<"frontier" | "landing" | "curves", Figure> {
  const s = res.summary;
  const predicted = s.filter(aq.escape((d: { prediction: string }) => d.prediction !== "none"));
  return {
    frontier: frontierFigure(res.grouped, {
      label: "beta",
      oracle: res.oracle,
      title: "Token-level task: exact reward vs KL against the optimum π*<sub>β</sub>",
      xTitle: "KL(π ‖ π<sub>ref</sub>) over sequences [nats] (exact)",
      yTitle: "expected reward (exact)",
    }),
    landing: scatterFigure(
      predicted.array("predicted_kl") as number[],
      predicted.array("kl") as number[],
      {
        title: "Where each method lands: measured KL against its predicted landing point",
        xTitle: "predicted KL(π ‖ π<sub>ref</sub>) [nats] (π*<sub>β</sub> or fixed point)",
        yTitle: "measured KL [nats]",
        text: (predicted.objects() as { method: string; beta: number; seed: number }[]).map(
          (d) => `${d.method} β=${d.beta} seed ${d.seed}`,
        ),
        diagonal: true,
      },
    ),
    curves: curvesFigure(res.metrics, {
      ys: ["reward/gold", "kl/ref"],
      run: "run_id",
      title: "Token-level task: exact reward and KL through training",
    }),
  };
}
