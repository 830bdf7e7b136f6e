/**
 * What a long computation tells the terminal as it goes: a {@link Progress} bar with rate
 * and ETA for one stage (training steps, prompts labelled or evaluated), and a
 * {@link RunTally} for a sweep (runs done of total, trained, cached and failed, ETA).
 *
 * On a terminal a bar redraws one line; elsewhere (CI logs, notebooks, a worker's piped
 * output) it prints a line each time it passes another tenth of the way (or `every`
 * units), so progress still shows without flooding the log.
 *
 * @module
 */

/** Options of a {@link Progress} bar. */
export interface ProgressOptions {
  /** Label shown before the bar: the stage, e.g. `base LM`, `preference labelling`. */
  label: string;
  /** Total number of units. */
  total: number;
  /** Print a line every this many units when not on a terminal (default total/10). */
  every?: number;
  /** Silence it (tests). */
  quiet?: boolean;
}

/** A progress bar over `total` units. */
export class Progress {
  readonly #o: ProgressOptions;
  readonly #start = performance.now();
  readonly #tty: boolean;
  #done = 0;
  #printed = 0;
  readonly #enc = new TextEncoder();

  /** A bar that starts now; nothing is printed until the first update. */
  constructor(o: ProgressOptions) {
    this.#o = o;
    let tty = false;
    try {
      tty = Deno.stderr.isTerminal();
    } catch {
      tty = false;
    }
    this.#tty = tty;
  }

  /** Advance to `done` units, showing `extra` (e.g. "loss 2.31"). */
  update(done: number, extra = ""): void {
    this.#done = done;
    if (this.#o.quiet) return;
    if (this.#tty) {
      this.#write(`\r${this.line(extra)}\x1b[K`);
      return;
    }
    // A line each time the count enters another bucket of `every` units (updates need not
    // land on multiples of it: evaluation advances by whole batches of prompts).
    const every = this.#o.every ?? Math.max(1, Math.round(this.#o.total / 10));
    const bucket = Math.floor(done / every);
    if (bucket > this.#printed || done === this.#o.total) {
      this.#printed = done === this.#o.total ? Infinity : bucket;
      console.log(this.line(extra));
    }
  }

  /** The current status line: `label [####......] done/total elapsed, ETA · extra`. */
  line(extra = ""): string {
    const { label, total } = this.#o;
    const frac = total > 0 ? Math.min(1, this.#done / total) : 1;
    const width = 20;
    const filled = Math.round(frac * width);
    const secs = (performance.now() - this.#start) / 1000;
    const rate = this.#done / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (total - this.#done) / rate : Infinity;
    return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.#done}/${total}` +
      ` ${formatSeconds(secs)} elapsed, ETA ${formatSeconds(eta)}${extra ? ` · ${extra}` : ""}`;
  }

  /** End the bar: redraw it with `extra` and a newline on a terminal; elsewhere print the
   * final line only if the last update did not already print it. */
  finish(extra = ""): void {
    if (this.#o.quiet) return;
    if (this.#tty) {
      this.#write(`\r${this.line(extra)}\x1b[K\n`);
    } else if (extra || this.#printed !== Infinity) {
      console.log(this.line(extra));
    }
  }

  #write(s: string): void {
    try {
      Deno.stderr.writeSync(this.#enc.encode(s));
    } catch {
      // stderr closed: progress is best effort
    }
  }
}

/** 75 → "1m15s", 3.2 → "3.2s", 7300 → "2h01m". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - m * 60).toString().padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${(m % 60).toString().padStart(2, "0")}m`;
}

/** How a sweep's run ended. */
export type RunOutcome = "trained" | "cached" | "failed";

/**
 * A sweep's progress over its runs: how many are done of the total, how many were trained,
 * taken from the cache or failed, and an ETA from the runs trained so far — the mean wall
 * time of a trained run times the runs left, divided by the runs in flight at once
 * (cached runs take no time and are not counted in the mean). Before any run has trained,
 * the ETA is unknown.
 */
export class RunTally {
  readonly #total: number;
  readonly #jobs: number;
  readonly #clock: () => number;
  readonly #start: number;
  readonly #counts: Record<RunOutcome, number> = { trained: 0, cached: 0, failed: 0 };
  #trainedSeconds = 0;

  /**
   * A tally that starts now, with no run ended.
   * @param total runs in the sweep (or shard).
   * @param jobs runs in flight at once.
   * @param clock seconds since some origin (default: `performance.now()` in seconds);
   *   tests pass their own.
   */
  constructor(total: number, jobs: number, clock: () => number = () => performance.now() / 1000) {
    this.#total = total;
    this.#jobs = Math.max(1, jobs);
    this.#clock = clock;
    this.#start = clock();
  }

  /** Record a run that ended, with its wall time in seconds. */
  add(outcome: RunOutcome, seconds: number): void {
    this.#counts[outcome]++;
    if (outcome === "trained") this.#trainedSeconds += seconds;
  }

  /** Runs ended so far. */
  get done(): number {
    return this.#counts.trained + this.#counts.cached + this.#counts.failed;
  }

  /** Counts by outcome. */
  get counts(): Readonly<Record<RunOutcome, number>> {
    return { ...this.#counts };
  }

  /** Seconds left, estimated (see the class doc); undefined before any run trained. */
  eta(): number | undefined {
    const left = this.#total - this.done;
    if (left <= 0) return 0;
    if (this.#counts.trained === 0) return undefined;
    const mean = this.#trainedSeconds / this.#counts.trained;
    return (mean * left) / Math.min(this.#jobs, left);
  }

  /**
   * `sweep 3/6 runs · 2 trained, 1 cached, 0 failed · 41.0s elapsed, ETA 1m22s`.
   * @example
   * ```ts
   * import { RunTally } from "./progress.ts";
   * let now = 0;
   * const t = new RunTally(4, 1, () => now);
   * now = 10;
   * t.add("trained", 10);
   * t.add("cached", 0);
   * if (t.line() !== "sweep 2/4 runs · 1 trained, 1 cached, 0 failed · 10.0s elapsed, ETA 20.0s") {
   *   throw new Error(t.line());
   * }
   * ```
   */
  line(): string {
    const c = this.#counts;
    const eta = this.eta();
    return `sweep ${this.done}/${this.#total} runs · ${c.trained} trained, ${c.cached} cached, ` +
      `${c.failed} failed · ${formatSeconds(this.#clock() - this.#start)} elapsed` +
      (eta === 0 ? "" : `, ETA ${eta === undefined ? "?" : formatSeconds(eta)}`);
  }
}
