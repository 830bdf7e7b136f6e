/**
 * A notebook session on the canonical experiment: one call gives the resolved config, the
 * cached upstream stages (data, tokenizer, base and SFT models, preferences, reward model),
 * the gold and proxy reward sources, and ways to run one method or a small grid and read
 * back its tables — with exactly the code `deno task sweep` runs, so a notebook computes
 * nothing the experiment would not.
 *
 * ```ts ignore
 * import { openSession } from "@rlhf/kit/notebook";
 * const s = await openSession("quick");
 * const run = await s.run("dpo", { dpo: { beta: 0.1 } });
 * run.summary.reward_gold;
 * ```
 *
 * This module is the top layer of the kit: it reads the canonical experiment's definition
 * (experiments/canonical/); nothing below it imports it.
 *
 * @module
 */
import { join } from "node:path";
import type { ColumnTable } from "arquero";
import type { CanonicalConfig, Method } from "../../experiments/canonical/config.ts";
import { resolveCanonical } from "../../experiments/canonical/config_rules.ts";
import { type ConfigPatch, resolvePreset } from "../../experiments/canonical/presets.ts";
import {
  type PlannedRun,
  planRun,
  planSweep,
  resultsName,
} from "../../experiments/canonical/plan.ts";
import { executeRun } from "../../experiments/canonical/run.ts";
import { executeSweep, type SweepResult } from "../../experiments/canonical/execute.ts";
import { summariseAndPlot } from "../../experiments/canonical/summarise.ts";
import { METHOD_SPECS, type MethodRunConfig } from "../../experiments/canonical/methods/mod.ts";
import type { PpoRunConfig } from "../../experiments/canonical/methods/ppo.ts";
import type { DpoRunConfig } from "../../experiments/canonical/methods/dpo.ts";
import type { BonRunConfig } from "../../experiments/canonical/methods/bon.ts";
import type { GrpoRunConfig } from "../../experiments/canonical/methods/grpo.ts";
import type { RlooRunConfig } from "../../experiments/canonical/methods/rloo.ts";
import type { OnlineDpoRunConfig } from "../../experiments/canonical/methods/online_dpo.ts";
import type { KtoRunConfig } from "../../experiments/canonical/methods/kto.ts";
import {
  type CanonicalData,
  goldSource,
  readData,
} from "../../experiments/canonical/stages/data.ts";
import { runUpstream, type Upstream } from "../../experiments/canonical/stages/upstream.ts";
import { type BackendInfo, initBackend } from "../backend/mod.ts";
import type { CausalLM } from "../models/causal_lm.ts";
import type { ScalarModel } from "../models/scalar_head.ts";
import { loadCheckpoint } from "../models/checkpoint.ts";
import { rewardModelSource, type RewardSource } from "../train/rollout.ts";
import { readJson } from "../sweep/json_file.ts";
import { readCsvTable } from "../sweep/results_table.ts";
import type { Figure } from "../plot/figure.ts";
import { readRunSamples } from "../sweep/run_tables.ts";

/** Where the kit's repository is: results go to its `results/` unless told otherwise. */
const REPO = new URL("../../", import.meta.url).pathname;

export type {
  BonRunConfig,
  DpoRunConfig,
  GrpoRunConfig,
  KtoRunConfig,
  MethodRunConfig,
  OnlineDpoRunConfig,
  PpoRunConfig,
  RlooRunConfig,
};

/**
 * The run config each method's trainer takes: PPO's carries its `trainer` (a `PpoConfig`),
 * GRPO's, RLOO's, online DPO's, the DPO family's and KTO's theirs, best-of-n its `n`;
 * every one its `eval`.
 */
export interface MethodRunConfigs {
  /** PPO against the reward model. */
  ppo: PpoRunConfig;
  /** PPO against the gold reward. */
  ppo_gt: PpoRunConfig;
  /** GRPO. */
  grpo: GrpoRunConfig;
  /** Dr. GRPO. */
  dr_grpo: GrpoRunConfig;
  /** RLOO. */
  rloo: RlooRunConfig;
  /** Online DPO. */
  online_dpo: OnlineDpoRunConfig;
  /** DPO. */
  dpo: DpoRunConfig;
  /** DPO with label smoothing ε. */
  cdpo: DpoRunConfig;
  /** IPO. */
  ipo: DpoRunConfig;
  /** Hinge (SLiC). */
  hinge: DpoRunConfig;
  /** SimPO. */
  simpo: DpoRunConfig;
  /** KTO. */
  kto: KtoRunConfig;
  /** Best-of-n. */
  bon: BonRunConfig;
}

/** Options of {@link openSession}. */
export interface SessionOptions {
  /** Fields changed from the preset (nested, single values), e.g. `{ ppo: { lr: 1e-4 } }`. */
  overrides?: ConfigPatch<CanonicalConfig>;
  /** Results root (default: the repository's `results/`). */
  results?: string;
  /** Progress messages (default: the notebook's output). */
  log?: (m: string) => void;
}

/** One method run, finished (trained now or read from the cache). */
export interface SessionRun {
  /** The run id, `ppo__beta0.1__seed1__<key8>`. */
  id: string;
  /** Its published directory. */
  dir: string;
  /** Whether it was read from the cache rather than trained now. */
  cached: boolean;
  /** The run config the trainer took. */
  runConfig: MethodRunConfig;
  /** Its summary row: gold, proxy, KL, entropy, distinct-2, length. */
  summary: Record<string, unknown>;
  /** Its step metrics (one row per logged step; empty for best-of-n). */
  metrics: ColumnTable;
  /** Its held-out evaluation samples: prompt, completion, gold, proxy. */
  samples: ColumnTable;
}

/** Options of {@link Session.sweep}. */
export interface SessionSweepOptions {
  /** Grid axes: dotted field → values (`{ "ppo.beta": [0.05, 0.5] }`); default: the preset's. */
  grid?: Record<string, readonly unknown[]>;
  /** Methods to run (default: the session's). */
  methods?: readonly Method[];
  /** Worker processes (default 1: in the notebook's process). */
  jobs?: number;
}

/** A results directory read back by {@link Session.summary}. */
export interface SessionSummary {
  /** `summary.csv`: one row per run. */
  runs: ColumnTable;
  /** `summary_by_method.csv`: grouped over seeds, with intervals and gate pass rates. */
  grouped: ColumnTable;
  /** The HTML plots written under `plots/`. */
  plots: string[];
  /** Their figures (frontier with checkpoint envelopes, over-optimisation with fits, curves). */
  figs: Record<string, Figure>;
  /** `gao_fits.csv`: Gao et al.'s over-optimisation fits per method. */
  fits: ColumnTable;
  /** `report.html`. */
  report: string;
}

/** The frozen upstream models, loaded once per session. */
export interface SessionModels {
  /** The SFT model: the reference policy π_ref and every policy's starting point. */
  sft: CausalLM;
  /** The reward model r_φ. */
  rm: ScalarModel;
}

/** A notebook's handle on the canonical experiment at one preset. */
export class Session {
  #upstream?: Promise<Upstream>;
  #data?: Promise<CanonicalData>;
  #models?: Promise<SessionModels>;

  /**
   * Use {@link openSession}.
   * @param preset the preset's name.
   * @param config the resolved config (preset + overrides).
   * @param grid the preset's grid axes.
   * @param root the results directory, `<results>/canonical[_<preset>]`.
   * @param backend the tfjs backend in use.
   * @param log progress messages.
   */
  constructor(
    readonly preset: string,
    readonly config: CanonicalConfig,
    readonly grid: Readonly<Record<string, readonly unknown[]>>,
    readonly root: string,
    readonly backend: BackendInfo,
    private readonly log: (m: string) => void,
  ) {}

  /** The cache of stages, `<root>/.cache`. */
  get cache(): string {
    return join(this.root, ".cache");
  }

  /** The upstream stages, run now or read from the cache (once per session). */
  upstream(): Promise<Upstream> {
    return this.#upstream ??= runUpstream(this.cache, this.config, this.log);
  }

  /** Tokenizer and prompts of the data stage. */
  data(): Promise<CanonicalData> {
    return this.#data ??= this.upstream().then((u) => readData(u.data.dir));
  }

  /** The frozen SFT and reward models; disposed by {@link Session.close}. */
  models(): Promise<SessionModels> {
    return this.#models ??= (async () => {
      const u = await this.upstream();
      const { model: sft } = await loadCheckpoint(join(u.sft.dir, "model.ckpt"), { kind: "lm" });
      const { model: rm } = await loadCheckpoint(join(u.rm.dir, "model.ckpt"), {
        kind: "scalar",
      });
      return { sft, rm };
    })();
  }

  /** The hidden gold reward and the reward model, as reward sources on token ids. */
  async rewards(): Promise<{ gold: RewardSource; proxy: RewardSource }> {
    const [data, { rm }] = await Promise.all([this.data(), this.models()]);
    return { gold: goldSource(data.tokenizer, this.config), proxy: rewardModelSource(rm) };
  }

  /** A stage's JSON summary (`summary.json` or `stats.json` of the data stage). */
  async stageSummary<T = Record<string, unknown>>(
    stage: Exclude<keyof Upstream, "refs">,
  ): Promise<T> {
    const u = await this.upstream();
    return await readJson<T>(join(u[stage].dir, stage === "data" ? "stats.json" : "summary.json"));
  }

  /** A stage's step metrics (`metrics.csv` of base, sft or rm). */
  async stageMetrics(stage: "base" | "sft" | "rm"): Promise<ColumnTable> {
    const u = await this.upstream();
    return await readCsvTable(join(u[stage].dir, "metrics.csv"));
  }

  /**
   * The run config a method would train with at this session's config plus `overrides`
   * (e.g. `runConfig("cdpo")` shows DPO with label smoothing ε = `dpo.cdpoEpsilon`).
   */
  runConfig<M extends Method>(
    method: M,
    overrides: ConfigPatch<CanonicalConfig> = {},
  ): MethodRunConfigs[M] {
    const c = resolveCanonical(this.config, overrides);
    return METHOD_SPECS[method].runConfig(c, method) as MethodRunConfigs[M];
  }

  /**
   * Run one method at this session's config plus `overrides` (cached like any sweep's run,
   * published under {@link Session.root}) and read back its tables.
   */
  async run(method: Method, overrides: ConfigPatch<CanonicalConfig> = {}): Promise<SessionRun> {
    const planned = await planRun(method, resolveCanonical(this.config, overrides));
    const upstream = await runUpstream(this.cache, planned.config, this.log);
    const stage = await executeRun(this.cache, this.root, planned, upstream, this.log);
    return await this.#read(planned, stage.cached);
  }

  /** Run a small grid (default: the preset's) and return the sweep's tables and plots. */
  async sweep(opts: SessionSweepOptions = {}): Promise<SweepResult> {
    const grid = Object.entries(opts.grid ?? this.grid).map(([path, values]) => ({
      path,
      values: [...values],
    }));
    const methods = opts.methods ? { methods: [...opts.methods] } : {};
    const plan = await planSweep(
      { name: this.preset, config: resolveCanonical(this.config, methods), grid },
      {},
      [],
    );
    return await executeSweep({
      experiment: this.root.split("/").filter(Boolean).at(-1)!,
      plan,
      results: join(this.root, ".."),
      jobs: opts.jobs ?? 1,
      png: false,
      log: this.log,
    });
  }

  /**
   * This results directory's `summary.csv` (one row per finished run), grouped over seeds
   * into `summary_by_method.csv`, with its plots, Gao et al.'s fits and report redrawn (what
   * `deno task plots` does); `figs` are the figures of those plots, for display.
   */
  async summary(): Promise<SessionSummary> {
    const runs = await readCsvTable(join(this.root, "summary.csv"));
    const { grouped, plots, figs, fits, report } = await summariseAndPlot(this.root, runs, false);
    return { runs, grouped, plots: plots.html, figs, fits: fits.table, report };
  }

  /** Read a finished run of this session's results directory back by id. */
  async readRun(id: string): Promise<Omit<SessionRun, "runConfig" | "cached">> {
    const dir = join(this.root, id);
    const rows = (await readCsvTable(join(dir, "summary.csv"))).objects();
    const summary = (rows[0] ?? {}) as Record<string, unknown>;
    const metrics = await readCsvTable(join(dir, "metrics.csv"));
    return { id, dir, summary, metrics, samples: await readRunSamples(dir, "eval") };
  }

  async #read(r: PlannedRun, cached: boolean): Promise<SessionRun> {
    return { ...(await this.readRun(r.id)), runConfig: r.runConfig, cached };
  }

  /** Dispose the models this session loaded. */
  async close(): Promise<void> {
    if (!this.#models) return;
    const { sft, rm } = await this.#models;
    sft.dispose();
    rm.dispose();
    this.#models = undefined;
  }
}

/**
 * Open a session on the canonical experiment at a preset (default `quick`, what notebooks
 * use): initialise the backend (`RLHF_BACKEND`), resolve the config, and point at
 * `results/canonical_<preset>/` (the same directory `deno task sweep canonical --preset
 * <preset>` uses, so notebooks and the command line share cached stages).
 * @throws ConfigError when the preset or an override is invalid.
 */
export async function openSession(preset = "quick", opts: SessionOptions = {}): Promise<Session> {
  const p = resolvePreset(preset);
  const config = resolveCanonical(p.config, opts.overrides ?? {});
  const backend = await initBackend();
  const root = join(opts.results ?? join(REPO, "results"), resultsName("canonical", preset));
  const log = opts.log ?? ((m: string) => console.log(m));
  log(`backend: ${backend.backend} (${backend.device}); results: ${root}`);
  const grid = Object.fromEntries(p.grid.map((a) => [a.path, a.values]));
  return new Session(preset, config, grid, root, backend, log);
}
