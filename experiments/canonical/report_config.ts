/**
 * The config part of a sweep's report: the preset (and the presets it extends) with every
 * field it changes from the experiment's defaults, the grid the sweep ran, what the
 * command line changed from the preset, and the whole config of a run.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { ReportSection } from "../../lib/plot/report_page.ts";
import { readJson } from "../../lib/sweep/json_file.ts";
import { flattenConfig } from "../../lib/sweep/run_tables.ts";
import { escapeHtml } from "../../lib/util/html_escape.ts";
import { tableToHtml } from "../../lib/util/table_format.ts";
import { type Method, METHODS } from "./config.ts";
import { CANONICAL_DEFAULTS } from "./config_defaults.ts";
import { METHOD_SPECS } from "./methods/mod.ts";
import { CANONICAL_PRESETS, resolvePreset } from "./presets.ts";
import type { SweepManifest } from "./sweep_manifest.ts";

const show = (v: unknown) => (v === undefined ? "" : JSON.stringify(v));

/** The preset's chain, root first: `[quick, tiny]` for `tiny`. */
export function presetChain(name: string): string[] {
  const chain: string[] = [];
  for (
    let n: string | undefined = name;
    n && CANONICAL_PRESETS[n];
    n = CANONICAL_PRESETS[n]!.extends
  ) {
    chain.unshift(n);
  }
  return chain;
}

/**
 * Every field a preset changes from the experiment's defaults: `field, default, value,
 * set by` (the last preset of its chain that sets it), in the order the presets set them.
 */
export function presetChanges(name: string): ColumnTable {
  const resolved = flattenConfig(resolvePreset(name).config);
  const defaults = flattenConfig(CANONICAL_DEFAULTS);
  const setBy = new Map<string, string>();
  for (const p of presetChain(name)) {
    for (const k of Object.keys(flattenConfig(CANONICAL_PRESETS[p]!.set))) setBy.set(k, p);
  }
  const rows = [...setBy].map(([k, p]) => ({
    field: k,
    default: show(defaults[k]),
    value: show(resolved[k]),
    "set by": p,
  }));
  return aq.from(rows, ["field", "default", "value", "set by"]);
}

/** Each method's grid values (its β or n) and seeds, from the per-run summary. */
export function gridTable(summary: ColumnTable): ColumnTable {
  const runs = summary.objects() as Record<string, unknown>[];
  const methods = [...new Set(runs.map((r) => String(r.method)))];
  const distinct = (xs: unknown[]) =>
    [...new Set(xs.filter((x) => x !== null && x !== undefined))]
      .sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : 0))
      .join(", ");
  return aq.from(
    methods.map((m) => {
      const mine = runs.filter((r) => r.method === m);
      const knob = (METHODS as readonly string[]).includes(m) ? METHOD_SPECS[m as Method].knob : "";
      return {
        method: m,
        field: knob,
        values: distinct(mine.map((r) => r.n ?? r.beta)),
        seeds: distinct(mine.map((r) => r.seed)),
        runs: mine.length,
      };
    }),
    ["method", "field", "values", "seeds", "runs"],
  );
}

/** What a published run's config.json holds that the report reads. */
interface SavedRun {
  experimentConfig?: unknown;
}

/**
 * Fields whose value in a run's config differs from the preset's, leaving out what a grid
 * varies (every method's knob, the seed, the summary's axis columns): what the command
 * line pinned. Rows `field, preset, this sweep`.
 */
export function commandLineChanges(
  config: Record<string, unknown>,
  preset: string,
  axes: readonly string[],
): ColumnTable {
  const mine = flattenConfig(config);
  const base = flattenConfig(resolvePreset(preset).config);
  const skip = new Set<string>([
    "seed",
    ...axes,
    ...METHODS.map((m) => METHOD_SPECS[m].knob),
  ]);
  const rows = Object.keys({ ...base, ...mine })
    .filter((k) => !skip.has(k) && JSON.stringify(mine[k]) !== JSON.stringify(base[k]))
    .sort()
    .map((k) => ({ field: k, preset: show(base[k]), "this sweep": show(mine[k]) }));
  return aq.from(rows, ["field", "preset", "this sweep"]);
}

/** The config section of the report (one section; empty list when nothing is readable). */
export async function configSections(
  root: string,
  summary: ColumnTable,
  manifest: SweepManifest,
): Promise<ReportSection[]> {
  const preset = manifest.preset;
  const known = CANONICAL_PRESETS[preset] !== undefined;
  const blocks: ReportSection["blocks"][number][] = [];
  if (known) {
    const chain = presetChain(preset);
    blocks.push({
      text: `Preset ${preset} (${CANONICAL_PRESETS[preset]!.doc})` +
        (chain.length > 1
          ? `, which extends ${chain.slice(0, -1).reverse().join(", then ")}.`
          : "."),
    });
    const changes = presetChanges(preset);
    blocks.push({
      html: `<details><summary>What the preset changes from the experiment's defaults ` +
        `(${changes.numRows()} fields)</summary>\n${tableToHtml(changes)}</details>`,
    });
  } else {
    blocks.push({ text: `Preset ${preset} is not one this kit knows.` });
  }
  blocks.push({ html: `<h3>Grid</h3>\n${tableToHtml(gridTable(summary))}` });
  const ids = summary.array("run_id") as ArrayLike<unknown>;
  const first = ids.length ? String(ids[0]) : undefined;
  const saved = first
    ? await readJson<SavedRun>(join(root, first, "config.json")).catch(() => undefined)
    : undefined;
  const config = saved?.experimentConfig as Record<string, unknown> | undefined;
  if (config && known) {
    const head = new Set(["run_id", "method", "beta", "n", "seed"]);
    const axes = summary.columnNames().filter((c) => c.includes(".") && !head.has(c));
    const changes = commandLineChanges(config, preset, axes);
    blocks.push({
      html: `<h3>What the command line changed from the preset</h3>\n${
        changes.numRows()
          ? tableToHtml(changes)
          : "<p>Nothing besides the grid: the sweep ran the preset as it is.</p>"
      }`,
    });
  }
  if (config) {
    blocks.push({
      html: `<details><summary>The whole config of ${escapeHtml(first!)}</summary>\n<pre>${
        escapeHtml(JSON.stringify(config, null, 2))
      }</pre></details>`,
    });
  }
  return [{ title: "Config", id: "config", blocks }];
}
