/**
 * The benchmark's sections by name, in run order: the language-model sections (`train`,
 * `train-stock`, `sample`; lm_sections.ts) and the RLHF loops (`ppo`, `dpo`;
 * rlhf_sections.ts). `main.ts` runs them once per backend and writes
 * `results/bench/bench.json`.
 *
 * To add one, write a {@link BenchSection} whose `run` returns {@link BenchFigure}s (use
 * `phases` for a timing breakdown) and append it to {@link BENCH_SECTIONS}; the CLI, the
 * printout and the JSON pick it up by name.
 *
 * @module
 */
import type { BenchEnv, BenchFigure, BenchSection } from "./section.ts";
import { LM_SECTIONS } from "./lm_sections.ts";
import { dpoSection, ppoSection } from "./rlhf_sections.ts";

/** Every section, in run order. */
export const BENCH_SECTIONS: readonly BenchSection[] = [...LM_SECTIONS, ppoSection, dpoSection];

/** Section names accepted by `--sections`. */
export function sectionNames(): string[] {
  return BENCH_SECTIONS.map((s) => s.name);
}

/**
 * Run `sections` (default all that apply to the active backend) on the active backend.
 * @returns their figures in order.
 */
export async function runSections(
  env: BenchEnv,
  sections: readonly BenchSection[] = BENCH_SECTIONS,
): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  for (const s of sections) {
    if (s.backends && !s.backends.includes(env.info.backend)) continue;
    env.log(`${env.info.backend}: ${s.name} …`);
    figures.push(...await s.run(env));
  }
  return figures;
}
