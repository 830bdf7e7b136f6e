/**
 * The checkpoint a run keeps while it trains, so that a run that fails leaves the last
 * weights known to be good in its failure record ({@link CheckpointKeeper}).
 *
 * @module
 */
import { join } from "node:path";

/** The kept policy checkpoint of a run (in its stage dir, then in its failure record). */
export const POLICY_CHECKPOINT = "policy.ckpt";
/** A checkpoint saved but not yet confirmed good by the next step (never published). */
const PENDING_CHECKPOINT = "policy.pending.ckpt";

/**
 * Keeps the last checkpoint known to be good. A step's loss is computed before its update,
 * so the weights saved after step d are known good only once step d+1's metrics are
 * finite too: {@link CheckpointKeeper.afterStep} saves them as pending and promotes them to
 * {@link POLICY_CHECKPOINT} at the next finite step. A NaN at step k thus keeps weights
 * whose loss was finite, never the ones that produced the NaN.
 */
export class CheckpointKeeper {
  /** Steps done when {@link POLICY_CHECKPOINT} was last promoted. */
  keptStep: number | undefined;
  #pendingStep: number | undefined;

  /**
   * Writes the weights being trained to a path; set by the run's body once it has built
   * its policy. Until then nothing is saved.
   */
  save: ((path: string, step: number) => Promise<void>) | undefined;

  /**
   * Keep checkpoints in `dir`, one every `every` steps.
   * @param dir the run's stage directory.
   * @param every save every this many steps (0: never).
   */
  constructor(private readonly dir: string, private readonly every: number) {}

  /** Call after every step whose metrics were finite, with the number of steps done. */
  async afterStep(done: number): Promise<void> {
    if (this.#pendingStep !== undefined) {
      await Deno.rename(join(this.dir, PENDING_CHECKPOINT), join(this.dir, POLICY_CHECKPOINT));
      this.keptStep = this.#pendingStep;
      this.#pendingStep = undefined;
    }
    if (!this.save || this.every <= 0 || done % this.every !== 0) return;
    await this.save(join(this.dir, PENDING_CHECKPOINT), done);
    this.#pendingStep = done;
  }

  /** Remove both checkpoints (a finished run keeps no weights: they guard against failure). */
  async discard(): Promise<void> {
    for (const f of [POLICY_CHECKPOINT, PENDING_CHECKPOINT]) {
      await Deno.remove(join(this.dir, f)).catch(() => {});
    }
  }
}
