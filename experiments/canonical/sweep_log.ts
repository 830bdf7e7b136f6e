/**
 * What a sweep tells as it goes and records at its end: the line of upstream stages (cached
 * or their seconds), each run's end line (trained or cached, its wall time, gold, proxy,
 * KL) and the sweep's manifest of where the time went.
 *
 * @module
 */
import { join } from "node:path";
import type { PlannedRun } from "./plan.ts";
import type { Upstream } from "./stages/upstream.ts";
import { readRunSummary } from "../../lib/sweep/run_record.ts";
import {
  buildSweepManifest,
  readRunManifest,
  type RunTime,
  STAGE_NAMES,
  stageSeconds,
  type StageTime,
  type SweepManifest,
} from "./sweep_manifest.ts";
import { activeBackend } from "../../lib/backend/mod.ts";
import { formatValue } from "../../lib/util/table_format.ts";
import { formatSeconds } from "../../lib/util/progress.ts";
import type { ExecuteOptions } from "./execute.ts";

/**
 * The upstream stages of a chain not yet reported by an earlier chain, with one log line:
 * each stage taken from the cache or the seconds it took (`computed`: data stages this
 * sweep ran before its chains, which the chain then found in the cache).
 */
export async function reportStages(
  u: Upstream,
  seen: readonly StageTime[],
  computed: ReadonlySet<string>,
  log: (m: string) => void,
): Promise<StageTime[]> {
  const out: StageTime[] = [];
  for (const [stage, res] of Object.entries(u)) {
    if (!res || seen.some((s) => s.stage === stage && s.key === res.key)) continue;
    const cached = res.cached && !computed.has(res.key);
    out.push({ stage, key: res.key, cached, seconds: await stageSeconds(res.dir) });
  }
  if (out.length) {
    log(
      [
        "upstream stages ready",
        ...out.map((s) =>
          `${STAGE_NAMES[s.stage]?.split(" (")[0] ?? s.stage} ` +
          (s.cached ? "cached" : s.seconds === null ? "done" : formatSeconds(s.seconds))
        ),
      ].join(" · "),
    );
  }
  return out;
}

/**
 * A finished run's end line — trained or cached, its wall time, its headline numbers on
 * the held-out prompts — and its time for the manifest (a cached run's: the seconds its
 * manifest records from when it was trained).
 */
export async function runEnd(
  root: string,
  r: PlannedRun,
  cached: boolean,
  seconds: number,
): Promise<{ line: string; time: RunTime }> {
  const dir = join(root, r.id);
  const row = await readRunSummary(dir).catch(() => undefined);
  const f = (v: unknown) => formatValue(v, { digits: 3 }) || "–";
  const numbers = row
    ? ` · gold ${f(row.reward_gold)} · proxy ${f(row.reward_proxy)} · KL ${f(row.kl)}`
    : "";
  const recorded = cached ? (await readRunManifest(dir))?.seconds ?? null : seconds;
  return {
    line: `done ${r.id} · ${cached ? "cached" : `trained in ${formatSeconds(seconds)}`}${numbers}`,
    time: { run_id: r.id, status: cached ? "cached" : "trained", seconds: recorded },
  };
}

/** The manifest of this sweep, with the backend its runs used. */
export async function sweepManifest(
  o: ExecuteOptions,
  root: string,
  startedAt: Date,
  stages: StageTime[],
  runs: RunTime[],
  runsWall: number,
): Promise<SweepManifest> {
  let backend: { backend: string; device: string; tfjs: string } | undefined = activeBackend();
  for (const r of runs) {
    if (backend) break;
    backend = await readRunManifest(join(root, r.run_id));
  }
  return await buildSweepManifest({
    experiment: o.experiment.split("_")[0]!,
    preset: o.plan.preset,
    backend: backend ?? { backend: "unknown", device: "unknown", tfjs: "unknown" },
    jobs: o.jobs,
    startedAt,
    stages,
    runs,
    runsWall,
  });
}
