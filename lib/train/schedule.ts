/**
 * Learning-rate schedule: linear warmup then cosine decay to a floor (Loshchilov & Hutter
 * 2017, SGDR; the schedule nanoGPT uses).
 *
 *   lr(t) = lrMax · (t+1)/W                                   for t < W
 *   lr(t) = lrMin + ½(1 + cos(π·(t−W)/(N−W))) · (lrMax − lrMin)  for W ≤ t < N
 *
 * @module
 */

/** Schedule parameters. */
export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Floor the cosine decays to. */
  minLr: number;
  /** Warmup steps W. */
  warmupSteps: number;
  /** Total steps N; from N on the rate stays at `minLr`. */
  totalSteps: number;
}

/** Learning rate at step `t` (0-based). */
export function warmupCosine(t: number, o: ScheduleOptions): number {
  if (t < o.warmupSteps) return (o.lr * (t + 1)) / o.warmupSteps;
  if (t >= o.totalSteps) return o.minLr;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = (t - o.warmupSteps) / span;
  return o.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (o.lr - o.minLr);
}
