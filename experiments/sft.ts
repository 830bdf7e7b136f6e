/**
 * `deno task sft [--preset quick|default|full] [overrides]`: the two language-model stages
 * of the canonical experiment — the base LM on Brown without the `reviews` category, then SFT on
 * `reviews` — with their checkpoints, metrics and a before/after perplexity report.
 *
 * @module
 */
import { join } from "node:path";
import { initBackend } from "../lib/backend/mod.ts";
import { parseOverrides } from "../lib/sweep/overrides.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { CANONICAL_SCHEMA } from "./canonical/config_schema.ts";
import { resolveCanonical } from "./canonical/config_rules.ts";
import { resolvePreset } from "./canonical/presets.ts";
import { dataStage } from "./canonical/stages/data.ts";
import { baseStage, sftStage } from "./canonical/stages/lm.ts";
import { readJson } from "../lib/sweep/json_file.ts";
import { checkUserPath } from "../lib/sweep/paths.ts";
import { runCli } from "./cli.ts";

if (import.meta.main) {
  await runCli(async () => {
    const parsed = parseOverrides(Deno.args, CANONICAL_SCHEMA);
    if (parsed.grid.length) {
      throw new ConfigError(`--${parsed.grid[0]!.path}: sft takes single values`);
    }
    const preset = resolvePreset(parsed.options.preset ?? "default");
    const c = resolveCanonical(preset.config, parsed.overrides);
    const backend = await initBackend();
    console.error(`backend: ${backend.backend} (${backend.device})`);
    const results = checkUserPath(parsed.options.results ?? "results", "--results");
    const cache = join(results, "canonical", ".cache");
    const log = (m: string) => console.error(m);
    const data = await dataStage(cache, c, log);
    const base = await baseStage(cache, c, data, log);
    const sft = await sftStage(cache, c, data, base, log);
    const s = await readJson<{
      baseValPpl: number;
      sftValPpl: number;
      samplesBefore: { prompt: string; completion: string }[];
      samplesAfter: { prompt: string; completion: string }[];
    }>(join(sft.dir, "summary.json"));
    console.log(
      `validation perplexity on ${c.data.sftCategory}: base ${s.baseValPpl.toFixed(1)} → SFT ${
        s.sftValPpl.toFixed(1)
      }`,
    );
    console.log("samples after SFT:");
    for (const x of s.samplesAfter) console.log(`  ${x.prompt} | ${x.completion}`);
    console.log(`base LM: ${join(base.dir, "model.ckpt")}`);
    console.log(`SFT model: ${join(sft.dir, "model.ckpt")}`);
  });
}
