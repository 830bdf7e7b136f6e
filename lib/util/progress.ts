/**
 * A terminal progress bar with rate and ETA. On a terminal it redraws one line; elsewhere
 * (CI logs, notebooks) it prints a line every `every` updates so progress still shows.
 *
 * @module
 */

/** Options of a {@link Progress} bar. */
export interface ProgressOptions {
  /** Label shown before the bar. */
  label: string;
  /** Total number of units. */
  total: number;
  /** Print a line every this many updates when not on a terminal (default total/10). */
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
    const every = this.#o.every ?? Math.max(1, Math.round(this.#o.total / 10));
    if (this.#tty) this.#write(`\r${this.line(extra)}\x1b[K`);
    else if (done % every === 0 || done === this.#o.total) console.log(this.line(extra));
  }

  /** The current status line. */
  line(extra = ""): string {
    const { label, total } = this.#o;
    const frac = total > 0 ? Math.min(1, this.#done / total) : 1;
    const width = 20;
    const filled = Math.round(frac * width);
    const secs = (performance.now() - this.#start) / 1000;
    const rate = this.#done / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (total - this.#done) / rate : Infinity;
    return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.#done}/${total}` +
      ` ${formatSeconds(secs)} elapsed, ETA ${formatSeconds(eta)}${extra ? ` | ${extra}` : ""}`;
  }

  /** End the bar: redraw it with `extra` and a newline on a terminal; elsewhere print the
   * final line only if the last update did not already print it. */
  finish(extra = ""): void {
    if (this.#o.quiet) return;
    if (this.#tty) {
      this.#write(`\r${this.line(extra)}\x1b[K\n`);
    } else if (extra || this.#done !== this.#o.total) {
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

/** 75 → "1m15s", 3.2 → "3.2s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - m * 60).toString().padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${(m % 60).toString().padStart(2, "0")}m`;
}
