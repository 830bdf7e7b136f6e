/**
 * The kit's one figure style: a fixed colour, marker and dash per method, so PPO is the
 * same blue in every figure whichever other methods are present, plus readable fonts and
 * axis titles that carry units.
 *
 * Colours come from the Okabe–Ito and Tol "muted" colour-blind-safe palettes; every
 * method also has its own marker, so figures survive greyscale printing. A name the table
 * does not list gets a colour and marker from a hash of the name (FNV-1a), never from its
 * position in a table, so it too is stable across figures.
 *
 * Math is written as Unicode and plotly's `<sub>` tag (plotly draws it in HTML, notebooks
 * and SVG/PNG alike), never as TeX, which needs MathJax that standalone files do not load.
 *
 * @module
 */
import type { Dash } from "./figure.ts";

/** How a method is drawn everywhere. */
export interface MethodStyle {
  /** Legend name (plotly rich text: `<sub>` allowed). */
  label: string;
  /** Line and marker colour. */
  color: string;
  /** Plotly marker symbol (filled form; `-open` is appended for analytic KL). */
  symbol: string;
  /** Line dash. */
  dash: Dash;
}

/** The exact optimum π*_β of the KL-regularised objective, in legends and captions. */
export const ORACLE_LABEL = "π*<sub>β</sub> (exact optimum)";

/**
 * The fixed style of every method the kit trains or evaluates. Online RL methods are
 * blues and greens, offline preference losses reds, oranges and purples, best-of-n brown,
 * the exact optimum black.
 */
export const METHOD_STYLES: Readonly<Record<string, MethodStyle>> = {
  ppo: { label: "PPO", color: "#0072B2", symbol: "circle", dash: "solid" },
  ppo_gt: { label: "PPO (gold reward)", color: "#56B4E9", symbol: "hexagon", dash: "dot" },
  grpo: { label: "GRPO", color: "#009E73", symbol: "triangle-up", dash: "solid" },
  dr_grpo: { label: "Dr. GRPO", color: "#117733", symbol: "triangle-down", dash: "dash" },
  grpo_kl_reward: {
    label: "GRPO (k1 in reward)",
    color: "#44AA99",
    symbol: "triangle-left",
    dash: "dot",
  },
  rloo: { label: "RLOO", color: "#332288", symbol: "pentagon", dash: "solid" },
  online_dpo: { label: "online DPO", color: "#CC79A7", symbol: "square", dash: "dot" },
  dpo: { label: "DPO", color: "#D55E00", symbol: "square", dash: "solid" },
  ipo: { label: "IPO", color: "#E69F00", symbol: "diamond", dash: "solid" },
  cdpo: { label: "cDPO", color: "#CC6677", symbol: "cross", dash: "dash" },
  hinge: { label: "hinge (SLiC)", color: "#882255", symbol: "x", dash: "dash" },
  simpo: { label: "SimPO", color: "#AA4499", symbol: "triangle-right", dash: "dot" },
  kto: { label: "KTO", color: "#999933", symbol: "hourglass", dash: "solid" },
  bon: { label: "best-of-n", color: "#8C564B", symbol: "star", dash: "solid" },
  oracle: { label: ORACLE_LABEL, color: "#000000", symbol: "circle", dash: "dash" },
};

/** Other spellings of the kit's method names. */
const ALIASES: Readonly<Record<string, string>> = {
  best_of_n: "bon",
  "best-of-n": "bon",
  bestofn: "bon",
  "ppo-gt": "ppo_gt",
  "dr-grpo": "dr_grpo",
  "online-dpo": "online_dpo",
  "π*": "oracle",
};

/** Colours for names outside {@link METHOD_STYLES} (none of them is a listed method's). */
export const FALLBACK_COLOURS = [
  "#1f77b4",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#bcbd22",
  "#17becf",
  "#e377c2",
  "#7f7f7f",
] as const;

/** Markers for names outside {@link METHOD_STYLES}. */
const FALLBACK_SYMBOLS = [
  "circle",
  "square",
  "diamond",
  "triangle-up",
  "triangle-down",
  "pentagon",
  "hexagon",
  "star",
  "cross",
] as const;

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The style of a method: its fixed entry in {@link METHOD_STYLES} (case-insensitive,
 * aliases such as `best_of_n` accepted), else a colour and marker picked by a hash of the
 * name, so an unknown method looks the same in every figure.
 * @example
 * ```ts
 * import { methodStyle } from "./style.ts";
 * if (methodStyle("PPO").color !== "#0072B2") throw new Error();
 * if (methodStyle("my_method").color !== methodStyle("my_method").color) throw new Error();
 * ```
 */
export function methodStyle(method: string): MethodStyle {
  const key = method.trim().toLowerCase();
  const known = METHOD_STYLES[ALIASES[key] ?? key];
  if (known) return known;
  const h = fnv1a(key);
  return {
    label: method,
    color: FALLBACK_COLOURS[h % FALLBACK_COLOURS.length]!,
    symbol: FALLBACK_SYMBOLS[(h >>> 8) % FALLBACK_SYMBOLS.length]!,
    dash: "solid",
  };
}

/**
 * Line dashes that tell series apart (sweeps in a comparison) when colour already tells
 * methods apart: the first series is solid, the next dashed, then dotted, and so on.
 */
export const SERIES_DASHES: readonly Dash[] = ["solid", "dash", "dot", "dashdot", "longdash"];

/**
 * The dash of the `index`-th series (0-based; cycles after {@link SERIES_DASHES}).
 * @example
 * ```ts
 * import { seriesDash } from "./style.ts";
 * if (seriesDash(0) !== "solid" || seriesDash(1) !== "dash") throw new Error();
 * ```
 */
export function seriesDash(index: number): Dash {
  const n = SERIES_DASHES.length;
  return SERIES_DASHES[((index % n) + n) % n]!;
}

/** Font stack: Arial where installed, DejaVu Sans (wide Unicode coverage) on Linux. */
export const FONT_FAMILY = 'Arial, "DejaVu Sans", "Helvetica Neue", Helvetica, sans-serif';

/** KL to the reference policy, the x axis of the headline plots. */
export const KL_TITLE = "KL(π ‖ π<sub>ref</sub>) [nats]";

/** Units of the reward axes; what the gold reward measures depends on the experiment. */
export interface RewardUnits {
  /** Unit of the gold reward, e.g. `VADER compound, −1…1` (default `a.u.`). */
  gold?: string;
  /** Unit of the proxy (reward-model) reward (default `RM logit`, a Bradley–Terry score). */
  proxy?: string;
}

/**
 * Titles with units for the kit's column and metric names. Losses that are negative
 * log-likelihoods are in nats; scores without a physical unit say `a.u.`.
 */
function titles(units: RewardUnits): Record<string, string> {
  const gold = `gold reward [${units.gold ?? "a.u."}]`;
  const proxy = `proxy reward [${units.proxy ?? "RM logit"}]`;
  return {
    kl: KL_TITLE,
    "kl/ref": KL_TITLE,
    reward_gold: gold,
    "reward/gold": gold,
    reward_proxy: proxy,
    "reward/proxy": proxy,
    beta: "β [reward / nat]",
    "kl/beta": "β [reward / nat]",
    n: "n [samples]",
    step: "training step",
    entropy: "entropy [nats / token]",
    "policy/entropy": "entropy [nats / token]",
    distinct_2: "distinct-2 [fraction]",
    length: "length [tokens]",
    "loss/policy": "policy loss [a.u.]",
    "loss/value": "value loss [reward²]",
    "loss/dpo": "DPO-family loss [nats]",
    "loss/sft": "SFT loss [nats / token]",
    "loss/rm": "reward-model loss [nats]",
    "rewards/chosen": "implicit reward, chosen [a.u.]",
    "rewards/rejected": "implicit reward, rejected [a.u.]",
    "rewards/margin": "implicit reward margin [a.u.]",
    "rewards/accuracy": "implicit reward accuracy [fraction]",
    "logps/chosen": "log π(chosen) [nats]",
    "logps/rejected": "log π(rejected) [nats]",
    "ppo/clipfrac": "clipped fraction [fraction]",
    "ppo/approx_kl": "approx. KL(π_old ‖ π) [nats]",
    "ppo/value_clipfrac": "value clipped fraction [fraction]",
    "ppo/explained_variance": "explained variance [fraction]",
    "train/lr": "learning rate",
    "train/grad_norm": "gradient norm [a.u.]",
  };
}

/**
 * Axis title, with its unit, for a column or metric (a `_mean` suffix is dropped);
 * unknown names are shown as they are.
 * @example
 * ```ts
 * import { axisTitle } from "./style.ts";
 * if (axisTitle("kl_mean") !== "KL(π ‖ π<sub>ref</sub>) [nats]") throw new Error();
 * ```
 */
export function axisTitle(column: string, units: RewardUnits = {}): string {
  const base = column.endsWith("_mean") ? column.slice(0, -"_mean".length) : column;
  return titles(units)[base] ?? base;
}

/**
 * Plotly rich text as plain text: `<sub>x</sub>` as `_x`, `<br>` as a space, other tags
 * removed (for page titles, terminals and width estimates).
 */
export function plainText(rich: string): string {
  return rich.replace(/<sub>(.*?)<\/sub>/gi, "_$1").replace(/<br\s*\/?>/gi, " ")
    .replace(/<[^>]*>/g, "");
}

/** Text for plotly rich text: its markup characters escaped. */
export function escapeRich(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
