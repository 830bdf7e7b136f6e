/**
 * The headline plots: gold reward against KL per method (the reward–KL frontier), with the
 * exact oracle frontier where it is known, and gold vs proxy reward against KL (reward
 * over-optimisation, Gao et al. 2023).
 *
 * Both take a table with one row per run or per (method, β) summary: columns may be raw
 * (`kl`) or seed means (`kl_mean`, with `kl_ci_lo`/`kl_ci_hi` drawn as error bars).
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import { KitError } from "../util/errors.ts";
import type { Datum, Figure, Trace } from "./figure.ts";
import {
  axisTitle,
  ciColumns,
  colour,
  columnValues,
  distinct,
  errorBars,
  pointLabel,
  resolveColumn,
  rowsWhere,
  sortedBy,
} from "./_columns.ts";

/** One point of the exact frontier π*_β (from the enumerable bandit). */
export interface OraclePoint {
  /** KL(π*_β ‖ π_ref). */
  kl: number;
  /** Expected gold reward under π*_β. */
  reward: number;
  /** The β that produced it, shown on hover. */
  beta?: number;
}

/** Options of {@link frontierFigure}. */
export interface FrontierOptions {
  /** x column (default `kl`; `kl_mean` is found automatically). */
  x?: string;
  /** y column (default `reward_gold`). */
  y?: string;
  /** Column naming the method; one trace per value (default `method`). */
  method?: string;
  /**
   * Column(s) for point labels, e.g. `"beta"` (`β=0.1`) or `"n"` (`n=4`). With a list, each
   * point uses the first one that has a value, so `["beta", "n"]` labels PPO/DPO points by
   * β and best-of-n points by n in one table.
   */
  label?: string | readonly string[];
  /** The exact frontier, drawn as a dashed line. */
  oracle?: readonly OraclePoint[];
  /** Figure title. */
  title?: string;
  /** x-axis title (default: a readable name of the x column). */
  xTitle?: string;
  /** y-axis title (default: a readable name of the y column). */
  yTitle?: string;
}

/**
 * Gold reward vs KL: per method, markers joined in order of x, labelled by β or n, with
 * error bars when CI columns exist; the oracle frontier as a dashed black line.
 * @param table one row per run or per summary group.
 * @throws KitError when a named column is missing.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { frontierFigure } from "./frontier.ts";
 * const t = aq.table({ method: ["ppo", "ppo"], beta: [0.1, 0.5], kl: [2, 0.5], reward_gold: [0.6, 0.3] });
 * const fig = frontierFigure(t, { label: "beta", oracle: [{ kl: 0, reward: 0 }, { kl: 3, reward: 0.8 }] });
 * if (fig.data[0]?.text?.[0] !== "β=0.5" || fig.data[1]?.line?.dash !== "dash") throw new Error();
 * ```
 */
export function frontierFigure(table: ColumnTable, opts: FrontierOptions = {}): Figure {
  const x = resolveColumn(table, opts.x ?? "kl", "x column");
  const y = resolveColumn(table, opts.y ?? "reward_gold", "y column");
  const methodCol = resolveColumn(table, opts.method ?? "method", "method column");
  const labelCols = opts.label === undefined
    ? []
    : (typeof opts.label === "string" ? [opts.label] : [...opts.label]).map((c) =>
      resolveColumn(table, c, "label column")
    );
  const xs = columnValues(table, x), ys = columnValues(table, y);
  const methods = columnValues(table, methodCol);
  const labels = labelCols.map((c) => ({ c, v: columnValues(table, c) }));
  const xci = ciColumns(table, x), yci = ciColumns(table, y);
  const data: Trace[] = distinct(methods).map((m, k) => {
    const rows = sortedBy(rowsWhere(methods, m), xs);
    const pick = (col: readonly Datum[]) => rows.map((i) => col[i] ?? null);
    const trace: Trace = {
      type: "scatter",
      mode: labels.length ? "lines+markers+text" : "lines+markers",
      name: String(m),
      x: pick(xs),
      y: pick(ys),
      line: { color: colour(k) },
      marker: { color: colour(k), size: 8 },
    };
    if (labels.length) {
      trace.text = rows.map((i) => {
        const hit = labels.find(({ v }) => v[i] !== null && v[i] !== undefined);
        return hit ? pointLabel(hit.c, hit.v[i]!) : "";
      });
      trace.textposition = "top center";
    }
    if (yci) {
      trace.error_y = errorBars(
        trace.y,
        pick(columnValues(table, yci[0])),
        pick(columnValues(table, yci[1])),
      );
    }
    if (xci) {
      trace.error_x = errorBars(
        trace.x,
        pick(columnValues(table, xci[0])),
        pick(columnValues(table, xci[1])),
      );
    }
    return trace;
  });
  if (opts.oracle?.length) {
    const pts = [...opts.oracle].sort((a, b) => a.kl - b.kl);
    data.push({
      type: "scatter",
      mode: "lines",
      name: "oracle π*_β",
      x: pts.map((p) => p.kl),
      y: pts.map((p) => p.reward),
      text: pts.map((p) => (p.beta === undefined ? "" : pointLabel("beta", p.beta))),
      hovertemplate: "%{text} KL=%{x:.3f} reward=%{y:.3f}<extra>oracle</extra>",
      line: { color: "black", dash: "dash", width: 2 },
    });
  }
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Gold reward vs KL to the reference policy" },
      xaxis: { title: { text: opts.xTitle ?? axisTitle(x) }, zeroline: false },
      yaxis: { title: { text: opts.yTitle ?? axisTitle(y) }, zeroline: false },
      hovermode: "closest",
      height: 550,
    },
  };
}

/** Options of {@link overoptimisationFigure}. */
export interface OveroptimisationOptions {
  /** x column (default `kl`). */
  x?: string;
  /** Gold reward column (default `reward_gold`). */
  gold?: string;
  /** Proxy (reward-model) reward column (default `reward_proxy`). */
  proxy?: string;
  /** Method column (default `method`). */
  method?: string;
  /** Figure title. */
  title?: string;
}

/**
 * Gold and proxy reward vs KL, two traces per method in the method's colour: gold solid,
 * proxy dashed. A method with no proxy values at all (e.g. one trained without a reward
 * model) gets only its gold trace.
 * @throws KitError when a named column is missing.
 */
export function overoptimisationFigure(
  table: ColumnTable,
  opts: OveroptimisationOptions = {},
): Figure {
  const x = resolveColumn(table, opts.x ?? "kl", "x column");
  const gold = resolveColumn(table, opts.gold ?? "reward_gold", "gold reward column");
  const proxy = resolveColumn(table, opts.proxy ?? "reward_proxy", "proxy reward column");
  const methodCol = resolveColumn(table, opts.method ?? "method", "method column");
  const xs = columnValues(table, x);
  const golds = columnValues(table, gold), proxies = columnValues(table, proxy);
  const methods = columnValues(table, methodCol);
  const data: Trace[] = [];
  distinct(methods).forEach((m, k) => {
    const rows = sortedBy(rowsWhere(methods, m), xs);
    const pick = (col: readonly Datum[]) => rows.map((i) => col[i] ?? null);
    const common = {
      type: "scatter",
      mode: "lines+markers",
      x: pick(xs),
      legendgroup: String(m),
    } as const;
    data.push({
      ...common,
      name: `${m} gold`,
      y: pick(golds),
      line: { color: colour(k), dash: "solid" },
      marker: { color: colour(k), size: 7 },
    });
    const py = pick(proxies);
    if (py.some((v) => v !== null)) {
      data.push({
        ...common,
        name: `${m} proxy`,
        y: py,
        line: { color: colour(k), dash: "dash" },
        marker: { color: colour(k), size: 7, opacity: 0.6 },
      });
    }
  });
  if (!data.length) {
    throw new KitError(`overoptimisationFigure: the table has no rows with a ${methodCol}`);
  }
  return {
    data,
    layout: {
      title: {
        text: opts.title ?? "Reward over-optimisation: gold (solid) and proxy (dashed) reward",
      },
      xaxis: { title: { text: axisTitle(x) }, zeroline: false },
      yaxis: { title: { text: "reward" }, zeroline: false },
      hovermode: "closest",
      height: 550,
    },
  };
}
