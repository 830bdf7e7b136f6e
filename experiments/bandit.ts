/**
 * The exact experiment (docs/architecture.md, "The exact tasks"): a bandit small enough to
 * enumerate, where π*_β ∝ π_ref·exp(r/β) is known in closed form. PPO and the DPO family
 * sweep β; their exact reward and KL land next to the oracle frontier, which no method can
 * beat. `deno task sweep bandit [--bandit.beta 0.1,1] [--seed 1,2]`.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import { makeBanditTask } from "../lib/data/bandit.ts";
import { trainBanditDpo } from "../lib/train/bandit_dpo.ts";
import { trainBanditPpo } from "../lib/train/bandit_ppo.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { ipoOptimalLogPolicy, oracleFrontier, oracleStats } from "../lib/eval/oracle.ts";
import { tabularStats } from "../lib/data/bandit.ts";
import { summariseOverSeeds, writeCsvTable } from "../lib/sweep/results_table.ts";
import { frontierFigure } from "../lib/plot/frontier.ts";
import { curvesFigure } from "../lib/plot/curves.ts";
import { writePlots, type WrittenPlots } from "../lib/plot/report.ts";
import { resolveConfig, type Schema } from "../lib/util/schema.ts";

/** Methods on the bandit. */
export const BANDIT_METHODS = ["ppo", "dpo", "ipo"] as const;

/** The bandit sweep's config. */
export interface BanditSweepConfig {
  /** β grid. */
  beta: number[];
  /** Seeds of the training draws. */
  seed: number[];
  /** Methods to run. */
  methods: (typeof BANDIT_METHODS)[number][];
  /** Prompts of the task. */
  prompts: number;
  /** Responses per prompt. */
  responses: number;
  /** Seed of the task itself (reference logits and rewards). */
  taskSeed: number;
  /** PPO iterations. */
  ppoSteps: number;
  /** Labelled pairs drawn for the DPO family. */
  pairs: number;
  /** Full-batch steps of the DPO family. */
  dpoSteps: number;
}

/** Field specs of {@link BanditSweepConfig}. */
export const BANDIT_SWEEP_SCHEMA: Schema<BanditSweepConfig> = {
  beta: { type: "numberList", gt: 0, nonEmpty: true, doc: "β grid" },
  seed: { type: "numberList", int: true, nonEmpty: true, doc: "seeds" },
  methods: { type: "stringList", values: BANDIT_METHODS, nonEmpty: true, doc: "methods" },
  prompts: { type: "number", int: true, min: 1, doc: "prompts P" },
  responses: { type: "number", int: true, min: 2, doc: "responses per prompt R" },
  taskSeed: { type: "number", int: true, doc: "seed of the task" },
  ppoSteps: { type: "number", int: true, min: 1, doc: "PPO iterations" },
  pairs: { type: "number", int: true, min: 1, doc: "preference pairs" },
  dpoSteps: { type: "number", int: true, min: 1, doc: "DPO-family steps" },
};

/** Defaults: a 4 × 8 bandit, five β values, a few seconds per run on the CPU. */
export const BANDIT_SWEEP_DEFAULTS: BanditSweepConfig = {
  beta: [0.1, 0.2, 0.5, 1, 2],
  seed: [1],
  methods: ["ppo", "dpo", "ipo"],
  prompts: 4,
  responses: 8,
  taskSeed: 0,
  ppoSteps: 200,
  pairs: 200_000,
  dpoSteps: 600,
};

/** Resolve overrides over the defaults. */
export function banditSweepConfig(overrides: unknown = {}): BanditSweepConfig {
  return resolveConfig("bandit", BANDIT_SWEEP_SCHEMA, BANDIT_SWEEP_DEFAULTS, overrides);
}

/** What the bandit sweep produces. */
export interface BanditSweepResult {
  /** One row per run: method, beta, seed, reward_gold (exact E[r]), kl (exact), and the optimum's. */
  summary: aq.ColumnTable;
  /** The exact frontier on a fine β grid. */
  oracle: { beta: number; reward: number; kl: number }[];
  /** Training curves of every run. */
  metrics: aq.ColumnTable;
  /** The plots written, when a results directory was given. */
  plots?: WrittenPlots;
}

/** Run every method × β × seed and compare with the closed-form optimum. */
export async function banditSweep(
  c: BanditSweepConfig,
  out?: { root: string; png?: boolean },
): Promise<BanditSweepResult> {
  const task = makeBanditTask({ prompts: c.prompts, responses: c.responses, seed: c.taskSeed });
  const rows: Record<string, unknown>[] = [];
  const curves: MetricRow[] = [];
  for (const method of c.methods) {
    for (const beta of c.beta) {
      for (const seed of c.seed) {
        const runId = `bandit__${method}__${beta}__${seed}`;
        const res = method === "ppo"
          ? trainBanditPpo({ task, beta, seed, steps: c.ppoSteps })
          : trainBanditDpo({
            task,
            beta,
            seed,
            lossType: method,
            pairs: c.pairs,
            steps: c.dpoSteps,
          });
        // DPO's population optimum is π*_β; IPO's is its own (Azar et al. 2023).
        const target = method === "ipo"
          ? tabularStats(task, ipoOptimalLogPolicy(task, beta))
          : oracleStats(task, beta);
        rows.push({
          run_id: runId,
          method,
          beta,
          seed,
          reward_gold: res.reward,
          kl: res.kl,
          target_reward: target.reward,
          target_kl: target.kl,
          reward_rel_error: (res.reward - target.reward) / target.reward,
          kl_rel_error: target.kl > 0 ? (res.kl - target.kl) / target.kl : NaN,
        });
        for (const r of res.history) curves.push({ ...r, run_id: runId } as unknown as MetricRow);
      }
    }
  }
  const summary = aq.from(rows);
  const fine = Array.from({ length: 40 }, (_, i) => 10 ** (-1.5 + (2.5 * i) / 39));
  const oracle = oracleFrontier(task, fine).map((r) => ({
    beta: r.beta,
    reward: r.reward,
    kl: r.kl,
  }));
  const metricCols = [...new Set(curves.flatMap((r) => Object.keys(r)))];
  const metrics = aq.table(
    Object.fromEntries(
      metricCols.map((k) => [k, curves.map((r) => (r as Record<string, unknown>)[k] ?? null)]),
    ),
  );
  const result: BanditSweepResult = { summary, oracle, metrics };
  if (out) {
    await writeCsvTable(summary, join(out.root, "summary.csv"));
    const grouped = summariseOverSeeds(summary, {
      groupBy: ["method", "beta"],
      metrics: ["reward_gold", "kl"],
    });
    await writeCsvTable(grouped, join(out.root, "summary_by_method.csv"));
    await writeCsvTable(aq.from(oracle), join(out.root, "oracle.csv"));
    result.plots = await writePlots(join(out.root, "plots"), {
      frontier: frontierFigure(grouped, {
        label: "beta",
        oracle,
        title: "Bandit: exact reward vs KL against the optimum π*_β",
      }),
      curves: curvesFigure(metrics, {
        ys: ["reward/gold", "kl/ref"].filter((m) => metricCols.includes(m)),
        run: "run_id",
        title: "Bandit: training curves",
      }),
    }, { png: out.png });
  }
  return result;
}
