/**
 * Uncertainty and provenance read from a summary table, and the caption that states them.
 *
 * The figure builders draw error bars only from interval columns the sweep wrote, and say
 * in the figure's caption what those intervals are. They never compute an interval
 * themselves (plot/ computes no metrics). The columns they read, one row per plotted
 * point (a (method, β) or (method, n) group, or one run):
 *
 * | column            | type                            | meaning                                              |
 * |-------------------|---------------------------------|------------------------------------------------------|
 * | `method`          | string                          | method key (`ppo`, `dpo`, `bon`, …), styles the mark |
 * | `<m>` / `<m>_mean`| number                          | the plotted value of metric `m` (`kl`, `reward_gold`, `reward_proxy`) |
 * | `<m>_ci_lo`, `<m>_ci_hi` | number or empty          | the interval for `m`; empty: no bar for that point   |
 * | `ci_kind`         | `t` \| `bootstrap` \| `none` or empty | which interval the `_ci_` columns hold (below)  |
 * | `ci_level`        | number in (0, 1)                | confidence level (default 0.95)                      |
 * | `n_seeds`         | integer                         | seeds behind the point (else `n_runs` is read)       |
 * | `n_prompts`       | integer                         | evaluation prompts per run                           |
 * | `kl_kind`         | `analytic` \| `sampled` \| `exact` or empty | how `kl` was obtained (empty: sampled); `exact`: every response enumerated (the exact tasks) |
 *
 * `ci_kind`: `t` is the Student-t interval of the mean over seeds (mean ± t_{(1+level)/2,
 * k−1} · s/√k over k seeds); `bootstrap` is a percentile bootstrap over evaluation prompts
 * (for a single seed); `none` means no interval. Without a `ci_kind` column, existing
 * `_ci_` columns are read as `summariseOverSeeds`' 95% t-intervals over `n_runs` seeds.
 *
 * A t-interval from two seeds is not drawn unless asked (`smallSampleIntervals`): its
 * half-width is t_{0.975,1} · s/√2 ≈ 9 s, which says little and runs past the range the
 * quantity can take (a negative KL). The caption then says why those points have no bars.
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import { KitError, show } from "../util/errors.ts";
import type { Datum } from "./figure.ts";
import { columnValues } from "./_columns.ts";
import { methodStyle, plainText } from "./style.ts";

/** The interval behind a point's error bars. */
export type IntervalKind = "t" | "bootstrap" | "none";

/**
 * How a point's KL was obtained: a closed form (best-of-n), samples, or an exact sum over
 * every response (the enumerable tasks).
 */
export type KlKind = "analytic" | "sampled" | "exact";

/** What is known about one row's uncertainty. */
export interface RowUncertainty {
  /** The interval its `_ci_` columns hold. */
  kind: IntervalKind;
  /** Confidence level of the interval. */
  level: number;
  /** Seeds behind the point, when the table says. */
  nSeeds?: number;
  /** Evaluation prompts per run, when the table says. */
  nPrompts?: number;
  /** Whether its bars are drawn (false for `none`, and for t-intervals from < 3 seeds). */
  drawn: boolean;
}

/** Options of {@link readUncertainty}. */
export interface UncertaintyOptions {
  /** Draw t-intervals computed from 2 seeds too (default false). */
  smallSampleIntervals?: boolean;
  /** Whether the table has interval columns for the plotted metrics at all. */
  hasIntervals: boolean;
}

const KINDS: readonly IntervalKind[] = ["t", "bootstrap", "none"];
const KL_KINDS: readonly KlKind[] = ["analytic", "sampled", "exact"];

function numbers(table: ColumnTable, name: string): (number | undefined)[] | undefined {
  if (!table.columnNames().includes(name)) return undefined;
  return columnValues(table, name).map((v) => (typeof v === "number" ? v : undefined));
}

function strings(table: ColumnTable, name: string): (string | undefined)[] | undefined {
  if (!table.columnNames().includes(name)) return undefined;
  return columnValues(table, name).map((v) => (v === null || v === "" ? undefined : String(v)));
}

/**
 * Each row's interval kind, level, seed and prompt counts, and whether its bars are drawn.
 * @throws KitError naming the column and value when `ci_kind` or `ci_level` is invalid.
 */
export function readUncertainty(table: ColumnTable, opts: UncertaintyOptions): RowUncertainty[] {
  const kinds = strings(table, "ci_kind");
  const levels = numbers(table, "ci_level");
  const seeds = numbers(table, "n_seeds") ?? numbers(table, "n_runs");
  const prompts = numbers(table, "n_prompts");
  return Array.from({ length: table.numRows() }, (_, i) => {
    const given = kinds?.[i];
    if (given !== undefined && !KINDS.includes(given as IntervalKind)) {
      throw new KitError(
        `column ci_kind row ${i} is ${show(given)}; allowed: ${KINDS.join(", ")} or empty`,
      );
    }
    const kind: IntervalKind = !opts.hasIntervals
      ? "none"
      : kinds
      ? (given as IntervalKind | undefined) ?? "none"
      : "t";
    const level = levels?.[i] ?? 0.95;
    if (!(level > 0 && level < 1)) {
      throw new KitError(`column ci_level row ${i} is ${show(level)}; allowed: 0 < level < 1`);
    }
    const nSeeds = seeds?.[i], nPrompts = prompts?.[i];
    const tooFew = kind === "t" && nSeeds !== undefined && nSeeds < 3 &&
      !opts.smallSampleIntervals;
    const row: RowUncertainty = { kind, level, drawn: kind !== "none" && !tooFew };
    if (nSeeds !== undefined) row.nSeeds = nSeeds;
    if (nPrompts !== undefined) row.nPrompts = nPrompts;
    return row;
  });
}

/**
 * Each row's KL kind from the `kl_kind` column (empty or absent: `sampled`).
 * @throws KitError naming the row and value when it is not `analytic`, `sampled` or `exact`.
 */
export function readKlKinds(table: ColumnTable): KlKind[] {
  const given = strings(table, "kl_kind");
  return Array.from({ length: table.numRows() }, (_, i) => {
    const v = given?.[i];
    if (v === undefined) return "sampled";
    if (!KL_KINDS.includes(v as KlKind)) {
      throw new KitError(
        `column kl_kind row ${i} is ${show(v)}; allowed: ${KL_KINDS.join(", ")} or empty`,
      );
    }
    return v as KlKind;
  });
}

/** One plotted point for {@link uncertaintyCaption}: its method and what is known of it. */
export interface CaptionRow {
  /** Method key. */
  method: Datum;
  /** Its uncertainty. */
  u: RowUncertainty;
  /** How its KL was obtained (omit for figures without a KL axis). */
  kl?: KlKind;
}

const percent = (level: number) => `${+(level * 100).toFixed(1)}%`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Method labels as plain text, in first-seen order. */
function labels(rows: readonly CaptionRow[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const l = plainText(methodStyle(String(r.method ?? "")).label);
    if (!out.includes(l)) out.push(l);
  }
  return out.join(", ");
}

/** Rows grouped by a key, in first-seen order. */
function groupBy<T>(rows: readonly T[], key: (r: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.entries()];
}

/** "3 seeds" or "2–3 seeds" over rows; undefined when no row knows its seeds. */
function seedRange(rows: readonly CaptionRow[]): string | undefined {
  const ns = rows.map((r) => r.u.nSeeds).filter((n): n is number => n !== undefined);
  if (!ns.length) return undefined;
  const lo = Math.min(...ns), hi = Math.max(...ns);
  return lo === hi ? plural(lo, "seed") : `${lo}–${hi} seeds`;
}

/**
 * The caption sentences on points, error bars and KL for a figure's plotted rows, e.g.
 * "Points: means over 3 seeds. Error bars: 95% t-intervals over 3 seeds (PPO, DPO).
 * KL estimated from samples on 512 prompts."
 */
export function uncertaintyCaption(rows: readonly CaptionRow[]): string {
  const parts: string[] = [];
  const seeds = seedRange(rows);
  if (seeds) parts.push(`Points: ${seeds === "1 seed" ? "one seed each" : `means over ${seeds}`}.`);
  const drawn = rows.filter((r) => r.u.drawn);
  if (drawn.length) {
    const groups = groupBy(drawn, (r) => `${r.u.kind}|${r.u.level}`).map(([, g]) => {
      const u = g[0]!.u;
      const runs = seedRange(g);
      const over = u.kind === "t"
        ? `t-intervals over ${runs ?? "seeds"}`
        : `bootstrap intervals over ${promptRange(g) ?? "evaluation prompts"}` +
          (runs ? ` of ${runs === "1 seed" ? "one seed" : runs}` : "");
      return `${percent(u.level)} ${over} (${labels(g)})`;
    });
    parts.push(`Error bars: ${groups.join("; ")}.`);
  }
  const tooFew = rows.filter((r) => r.u.kind === "t" && !r.u.drawn);
  const two = tooFew.filter((r) => r.u.nSeeds === 2), one = tooFew.filter((r) => r.u.nSeeds !== 2);
  if (two.length) {
    parts.push(`No bars for ${labels(two)} (2 seeds: a 95% t-interval from 2 seeds is ±9 s).`);
  }
  if (one.length) parts.push(`No bars for ${labels(one)} (1 seed).`);
  const bare = rows.filter((r) => r.u.kind === "none");
  if (bare.length && drawn.length) parts.push(`No interval for ${labels(bare)}.`);
  if (!drawn.length && !tooFew.length) parts.push("No error bars: the table has no intervals.");
  const kl = rows.filter((r) => r.kl !== undefined);
  const analytic = kl.filter((r) => r.kl === "analytic");
  const prompts = promptRange(kl.filter((r) => r.kl === "sampled"));
  const sampled = `KL estimated from samples${prompts ? ` on ${prompts}` : ""}`;
  if (kl.length && kl.every((r) => r.kl === "exact")) {
    parts.push("KL exact: every response enumerated.");
  } else if (analytic.length) {
    const bon = analytic.every((r) => methodStyle(String(r.method ?? "")).label === "best-of-n");
    parts.push(
      `Open markers: analytic KL (${bon ? "best-of-n: log n − (n−1)/n" : labels(analytic)})` +
        (analytic.length < kl.length ? `; filled: ${sampled}.` : "."),
    );
  } else if (kl.length) {
    parts.push(`${sampled}.`);
  }
  return parts.join(" ");
}

/** "512 prompts" or "256–512 prompts"; undefined when unknown. */
function promptRange(rows: readonly CaptionRow[]): string | undefined {
  const ns = rows.map((r) => r.u.nPrompts).filter((n): n is number => n !== undefined);
  if (!ns.length) return undefined;
  const lo = Math.min(...ns), hi = Math.max(...ns);
  return lo === hi ? plural(lo, "prompt") : `${lo}–${hi} prompts`;
}
