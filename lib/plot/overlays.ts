/**
 * What the analysis computed, drawn over the per-method figures in each method's colour:
 * checkpoint evaluations and each method's checkpoint envelope on the frontier, and fitted
 * over-optimisation curves (Gao et al. 2023) on the gold panel of the over-optimisation
 * figure. The points come computed (the hull, the fit); these functions only draw them.
 *
 * @module
 */
import type { Trace } from "./figure.ts";
import { methodStyle, plainText } from "./style.ts";

/** One point drawn over a figure: a checkpoint, or a vertex of an envelope. */
export interface CurvePoint {
  /** Method key (styles the mark). */
  method: string;
  /** KL(π ‖ π_ref), nats. */
  kl: number;
  /** Gold reward. */
  reward: number;
  /** Hover text, e.g. `β=0.1, step 40`. */
  text?: string;
}

/** A fitted curve of one method, on a grid of KL. */
export interface FittedCurve {
  /** Method key (styles the line). */
  method: string;
  /** Which functional form (`rl` or `bon`), shown on hover. */
  form: string;
  /** KL values of the grid, ascending. */
  kl: readonly number[];
  /** The fitted gold reward at each KL. */
  reward: readonly number[];
  /** Hover text, e.g. `α=1.2 β=0.3 R²=0.91`. */
  text?: string;
}

/** Points grouped by method, in order of first appearance. */
function byMethod<T extends { method: string }>(points: readonly T[]): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const p of points) {
    const g = groups.get(p.method);
    if (g) g.push(p);
    else groups.set(p.method, [p]);
  }
  return [...groups];
}

/**
 * Traces for checkpoint evaluations (faint small markers) and each method's envelope (a
 * pale, wide line through its vertices, in the order given; a pale disc when it is one
 * point), in the method's colour, with
 * no legend entries of their own: they toggle with the method's legend group.
 */
export function envelopeTraces(
  checkpoints: readonly CurvePoint[],
  envelope: readonly CurvePoint[],
  axes: { x: string; y: string } = { x: "x", y: "y" },
): Trace[] {
  const out: Trace[] = [];
  for (const [m, pts] of byMethod(envelope)) {
    const style = methodStyle(m);
    // A single vertex (the best checkpoint has the lowest KL) is a pale disc instead.
    out.push({
      type: "scatter",
      mode: pts.length === 1 ? "markers" : "lines",
      ...(pts.length === 1 ? { marker: { color: style.color, size: 14, symbol: "circle" } } : {}),
      name: `${style.label} envelope`,
      x: pts.map((p) => p.kl),
      y: pts.map((p) => p.reward),
      xaxis: axes.x,
      yaxis: axes.y,
      line: { color: style.color, width: 6, dash: "solid" },
      opacity: 0.25,
      legendgroup: m,
      showlegend: false,
      hovertemplate: `KL=%{x:.3g} gold=%{y:.3g}<extra>${style.label} envelope</extra>`,
      meta: { method: m, role: "envelope" },
    });
  }
  for (const [m, pts] of byMethod(checkpoints)) {
    const style = methodStyle(m);
    out.push({
      type: "scatter",
      mode: "markers",
      name: `${style.label} checkpoints`,
      x: pts.map((p) => p.kl),
      y: pts.map((p) => p.reward),
      text: pts.map((p) => p.text ?? ""),
      xaxis: axes.x,
      yaxis: axes.y,
      marker: { color: style.color, size: 4, opacity: 0.45, symbol: style.symbol },
      legendgroup: m,
      showlegend: false,
      hovertemplate: `%{text}<br>KL=%{x:.3g} gold=%{y:.3g}<extra>${style.label} checkpoint</extra>`,
      meta: { method: m, role: "checkpoints" },
    });
  }
  return out;
}

/** The caption sentence for {@link envelopeTraces}, or "" when nothing is drawn. */
export function envelopeCaption(
  checkpoints: readonly CurvePoint[],
  envelope: readonly CurvePoint[],
): string {
  if (!checkpoints.length && !envelope.length) return "";
  const counts = byMethod(checkpoints).map(([m, pts]) =>
    `${plainText(methodStyle(m).label)} ${pts.length}`
  );
  const dots = counts.length ? `small dots: checkpoints (${counts.join(", ")})` : "";
  return envelope.length
    ? "Pale bands: each method's checkpoint envelope, the upper hull of gold vs KL over its " +
      `checkpoints at every β${dots ? `; ${dots}` : ""}.`
    : `${dots.charAt(0).toUpperCase()}${dots.slice(1)}.`;
}

/**
 * Fitted curves as thin dash-dot lines in their method's colour on the given axes, with no
 * legend entries of their own.
 */
export function fittedTraces(fits: readonly FittedCurve[], axes = { x: "x", y: "y" }): Trace[] {
  return fits.map((f) => {
    const style = methodStyle(f.method);
    return {
      type: "scatter",
      mode: "lines",
      name: `${style.label} fit`,
      x: [...f.kl],
      y: [...f.reward],
      xaxis: axes.x,
      yaxis: axes.y,
      line: { color: style.color, width: 1.5, dash: "dashdot" },
      legendgroup: f.method,
      showlegend: false,
      hovertemplate: `${f.text ? `${f.text}<br>` : ""}KL=%{x:.3g} gold=%{y:.3g}` +
        `<extra>${style.label} fit (${f.form})</extra>`,
      meta: { method: f.method, role: "fit" },
    };
  });
}

/** The caption sentence for {@link fittedTraces}, or "" without fits. */
export function fitCaption(fits: readonly FittedCurve[]): string {
  if (!fits.length) return "";
  const forms = new Set(fits.map((f) => f.form));
  const parts = [
    forms.has("rl") ? "d(α − β log d) over checkpoints" : "",
    forms.has("bon") ? "d(α − βd) over best-of-n's n" : "",
  ].filter(Boolean);
  return `Dash-dot: Gao et al. (2023) fits of the gold gained over SFT, ${parts.join("; ")}; ` +
    `d = √KL.`;
}
