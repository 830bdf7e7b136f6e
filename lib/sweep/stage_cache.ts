/**
 * Cached, resumable stages: the unit of work of a sweep (SFT, reward model, PPO run, …).
 *
 * A stage's outputs live in `<root>/<name>/<key>/`, where `key = hashKey({stage, config,
 * inputs})` and `inputs` are the keys of the upstream stages it reads. So a stage is
 * reused exactly when its resolved config and its inputs are unchanged, and changing an
 * upstream stage's config changes every downstream key.
 *
 * Commit protocol (why an interrupted run never looks finished):
 * 1. `<root>/<name>/<key>/DONE` exists and every file it covers matches its SHA-256 →
 *    reuse, nothing runs. A stage whose files do not match (truncated, edited, garbage,
 *    missing) is reported in one line, discarded and computed again: nothing is read from
 *    the cache without passing this check.
 * 2. Take the lock `<root>/<name>/.<key>.lock` (see lock.ts: by default wait for a
 *    sibling that is running the same stage, then reuse its result).
 * 3. Remove leftovers of this key: partial dirs of dead runs (we hold the lock, so no
 *    live process owns one) and a final dir without a valid DONE.
 * 4. `run(dir)` writes into `<root>/<name>/.<key>.partial-<pid>/`.
 * 5. Write `DONE` (atomically) inside the partial dir, with the SHA-256 of every file in
 *    it, then rename it to `<key>`. The rename is the single commit point: the final name
 *    appears with all its files and its DONE at once, so Ctrl-C or `kill -9` at any moment
 *    leaves either nothing under the final name or a finished stage, and a rerun resumes
 *    from the first unfinished stage.
 *
 * `run` must not record its own absolute directory in its outputs: the directory is
 * renamed when the stage commits. Use paths relative to it.
 *
 * @module
 */
import { join } from "node:path";
import { ConfigError, FileFormatError, show } from "../util/errors.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { hashKey } from "./hash.ts";
import { acquireLock, type LockOptions } from "./lock.ts";
import { hostName } from "./lock_holder.ts";
import { checksumMismatch, type Checksums, directoryChecksums } from "./checksums.ts";

/** The marker file of a finished stage: {@link DoneMarker} as JSON. */
export const DONE_FILE = "DONE";

/** What a stage's DONE marker records. */
export interface DoneMarker {
  /** Stage name. */
  name: string;
  /** Stage key. */
  key: string;
  /** When it finished (ISO 8601). */
  finished: string;
  /** How long `run` took, s. */
  seconds: number;
  /** SHA-256 of every file of the stage but DONE itself, by relative path. */
  files: Checksums;
}
/** Written into every stage dir before `run`: name, key, config, inputs. */
export const STAGE_FILE = "stage.json";

/** Keys of upstream stages: a list, or named (`{ sft: key, rm: key }`) for readability. */
export type StageInputs = readonly string[] | Readonly<Record<string, string>>;

/** What `run` is told besides its directory. */
export interface StageContext {
  /** This stage's key. */
  key: string;
  /** True when `dir` is an adopted partial dir of an interrupted run (`resume: true`). */
  resumed: boolean;
}

/** Arguments of {@link runStage}. */
export interface StageSpec {
  /** Results root, e.g. `results/bandit`. */
  root: string;
  /** Stage name: letters, digits, `_`, `-`, `.`; becomes a directory. */
  name: string;
  /** The stage's fully resolved config (plain JSON). */
  config: unknown;
  /** Keys of the upstream stages this one reads. */
  inputs?: StageInputs;
  /** Produce the stage's outputs inside `dir` (which exists and holds `stage.json`). */
  run: (dir: string, ctx: StageContext) => Promise<void>;
  /**
   * Keep the partial dir of an interrupted or failed run and hand it to the next `run`
   * (with `resumed: true`), so it can continue from its own checkpoints. Default false:
   * leftovers are deleted and the stage starts clean.
   */
  resume?: boolean;
  /** How to wait for a concurrent run of the same stage (default: wait indefinitely). */
  lock?: Omit<LockOptions, "purpose">;
  /** Progress messages (waiting for a lock, cleaning leftovers). Default: stderr. */
  log?: (message: string) => void;
}

/** What {@link runStage} returns. */
export interface StageResult {
  /** The stage key (pass it as an input of downstream stages). */
  key: string;
  /** The finished stage directory, `<root>/<name>/<key>`. */
  dir: string;
  /** True when nothing ran because the stage was already done. */
  cached: boolean;
}

/**
 * The cache key of a stage: `hashKey({stage: name, config, inputs})`.
 * @param name stage name.
 * @param config resolved config (plain JSON).
 * @param inputs upstream keys.
 */
export function stageKey(name: string, config: unknown, inputs: StageInputs = []): Promise<string> {
  return hashKey({ stage: name, config, inputs });
}

/** Whether `<root>/<name>/<key>` is a finished stage whose files pass their checksums. */
export async function isStageDone(root: string, name: string, key: string): Promise<boolean> {
  return (await verifyStage(join(root, name, key))) === undefined;
}

/**
 * Stage dirs this process verified (or wrote): their DONE text and the size and mtime of
 * each covered file. A stage is hashed again only when one of these changed, so reading a
 * stage many times costs one hash of its files.
 */
const verified = new Map<string, string>();

async function fingerprint(dir: string, doneText: string, files: Checksums): Promise<string> {
  const parts = [doneText];
  for (const rel of Object.keys(files)) {
    const st = await Deno.stat(join(dir, rel)).catch(() => undefined);
    parts.push(`${rel}:${st?.size}:${st?.mtime?.getTime()}`);
  }
  return parts.join("\n");
}

/**
 * Check a finished stage directory against its DONE marker.
 * @param dir `<root>/<name>/<key>`.
 * @returns undefined when DONE is there, readable, and every file it covers matches its
 *   SHA-256; else what is wrong (`"missing"` when the stage has no DONE at all).
 */
export async function verifyStage(dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, DONE_FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    return `its ${DONE_FILE} marker cannot be read (${(e as Error).message})`;
  }
  const files = doneFiles(text);
  if (!files) {
    return `its ${DONE_FILE} marker is not valid or has no checksums (an older kit wrote it?)`;
  }
  const print = await fingerprint(dir, text, files);
  if (verified.get(dir) === print) return undefined;
  const problem = await checksumMismatch(dir, files);
  if (problem) return problem;
  verified.set(dir, print);
  return undefined;
}

/**
 * The checksums a finished stage's DONE records.
 * @throws FileFormatError naming the marker when it is missing or not valid.
 */
export async function readStageChecksums(dir: string): Promise<Checksums> {
  const path = join(dir, DONE_FILE);
  const files = doneFiles(await Deno.readTextFile(path).catch(() => ""));
  if (!files) throw new FileFormatError(`${path} is missing or is not a valid stage marker`);
  return files;
}

function doneFiles(text: string): Checksums | undefined {
  try {
    const d = JSON.parse(text) as Partial<DoneMarker>;
    const f = d?.files;
    if (!f || typeof f !== "object" || Array.isArray(f)) return undefined;
    if (!Object.values(f).every((v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v))) {
      return undefined;
    }
    return f;
  } catch {
    return undefined;
  }
}

/**
 * Run a stage unless a finished copy exists; see the module doc for the protocol.
 * @throws whatever `run` throws (after removing its partial dir unless `resume`), or a
 *   `LockHeldError` when `lock.wait` is false or `lock.timeoutMs` passes.
 * @example
 * ```ts
 * import { runStage } from "./stage_cache.ts";
 * const root = await Deno.makeTempDir();
 * const sft = await runStage({
 *   root, name: "sft", config: { steps: 100 },
 *   run: (dir) => Deno.writeTextFile(`${dir}/model.json`, "{}"),
 * });
 * const again = await runStage({ root, name: "sft", config: { steps: 100 }, run: () => Promise.reject() });
 * if (!again.cached || again.key !== sft.key) throw new Error("not reused");
 * ```
 */
export async function runStage(spec: StageSpec): Promise<StageResult> {
  checkName(spec.name);
  const inputs = spec.inputs ?? [];
  const log = spec.log ?? ((m: string) => console.error(m));
  const key = await stageKey(spec.name, spec.config, inputs);
  const stageDir = join(spec.root, spec.name);
  const finalDir = join(stageDir, key);
  const label = `${spec.name}/${key}`;
  let warned = false;
  const check = async (): Promise<boolean> => {
    const problem = await verifyStage(finalDir);
    if (problem === undefined) return true;
    if (problem !== "missing" && !warned) {
      warned = true;
      log(
        `cache: stage ${label} fails its check: ${problem}; discarding it and computing it again`,
      );
    }
    return false;
  };
  if (await check()) return { key, dir: finalDir, cached: true };

  const lock = await acquireLock(join(stageDir, `.${key}.lock`), {
    log,
    ...spec.lock,
    purpose: `stage ${spec.name}/${key}`,
    onWait: (holder) => {
      log(
        `waiting for stage ${spec.name}/${key}: it is being run by ` +
          (holder
            ? `pid ${holder.pid} on ${holder.hostname} since ${holder.time}`
            : "another process"),
      );
      spec.lock?.onWait?.(holder);
    },
  });
  try {
    // a sibling may have finished (or rebuilt) it while we waited for the lock
    if (await check()) return { key, dir: finalDir, cached: true };
    const partial = join(stageDir, `.${key}.partial-${Deno.pid}`);
    const resumed = await clearLeftovers(
      stageDir,
      key,
      partial,
      finalDir,
      spec.resume ?? false,
      warned ? () => {} : log,
    );
    await Deno.mkdir(partial, { recursive: true });
    const started = new Date();
    await writeTextAtomic(
      join(partial, STAGE_FILE),
      JSON.stringify(
        {
          name: spec.name,
          key,
          config: spec.config,
          inputs,
          started: started.toISOString(),
          pid: Deno.pid,
          hostname: hostName(),
        },
        null,
        2,
      ) + "\n",
    );
    try {
      await spec.run(partial, { key, resumed });
    } catch (e) {
      if (!spec.resume) await Deno.remove(partial, { recursive: true }).catch(() => {});
      throw e;
    }
    const finished = new Date();
    const marker: DoneMarker = {
      name: spec.name,
      key,
      finished: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      files: await directoryChecksums(partial, [DONE_FILE]),
    };
    const markerText = JSON.stringify(marker) + "\n";
    await writeTextAtomic(join(partial, DONE_FILE), markerText);
    await Deno.rename(partial, finalDir);
    verified.set(finalDir, await fingerprint(finalDir, markerText, marker.files));
    return { key, dir: finalDir, cached: false };
  } finally {
    await lock.release();
  }
}

/**
 * With the stage lock held, nothing else owns this key's partial dirs, so all are stale.
 * Returns whether one was adopted as `partial` (resume).
 */
async function clearLeftovers(
  stageDir: string,
  key: string,
  partial: string,
  finalDir: string,
  resume: boolean,
  log: (m: string) => void,
): Promise<boolean> {
  if (await exists(finalDir)) {
    log(`removing ${finalDir}: it has no valid ${DONE_FILE}, so it is not a finished stage`);
    // Move it aside first (one atomic step), so no reader sees it half deleted.
    const aside = join(stageDir, `.${key}.discarded-${Deno.pid}`);
    await Deno.rename(finalDir, aside);
    await Deno.remove(aside, { recursive: true });
  }
  const prefix = `.${key}.partial-`;
  const stale: { path: string; mtime: number }[] = [];
  for await (const entry of Deno.readDir(stageDir)) {
    if (!entry.isDirectory || !entry.name.startsWith(prefix)) continue;
    const path = join(stageDir, entry.name);
    stale.push({ path, mtime: (await Deno.stat(path)).mtime?.getTime() ?? 0 });
  }
  stale.sort((a, b) => b.mtime - a.mtime);
  const adopted = resume ? stale[0]?.path : undefined;
  for (const s of stale) {
    if (s.path !== adopted) await Deno.remove(s.path, { recursive: true });
  }
  if (adopted === undefined) return false;
  if (adopted !== partial) await Deno.rename(adopted, partial);
  log(`resuming stage ${key} from ${adopted}`);
  return true;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(
      `stage name must be letters, digits, "_", "-" or "." (not starting with "." or "-"), got ${
        show(name)
      }`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
