/**
 * Byte-pair encoding (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
 * Subword Units"), byte-level as in GPT-2 (Radford et al. 2019): learning merges from word
 * counts, applying them to one word, and reading saved merges back.
 *
 * Also the byte-level helpers: GPT-2's printable byte alphabet and UTF-8 checks.
 *
 * Ids: the 4 specials, then the 256 bytes (byte `b` is id `4 + b`), then one id per merge
 * in the order learned. A word is the UTF-8 bytes of `" " + word`: the leading space marks
 * the word start, so pieces know whether they begin a word, and no merge crosses words.
 *
 * @module
 */
import { SPECIAL_TOKENS } from "./special_tokens.ts";
import { preview } from "./_tokenizer_file.ts";

/** Id of byte 0; byte `b` has id `BYTE_OFFSET + b`. */
export const BYTE_OFFSET: number = SPECIAL_TOKENS.length;
/** Id of the first merge: the specials and the 256 bytes come before. */
export const FIRST_MERGE_ID: number = BYTE_OFFSET + 256;
/** Pair keys are `left · PAIR_BASE + right`, so ids must stay below it. */
export const PAIR_BASE: number = 2 ** 20;

const utf8 = new TextEncoder();

/** The initial symbols of a word: the byte ids of `" " + word`. */
export function wordSymbols(word: string): number[] {
  return Array.from(utf8.encode(" " + word), (b) => b + BYTE_OFFSET);
}

/**
 * Learn up to `maxMerges` merges from word counts. Each step merges the most frequent
 * adjacent pair (counted over word occurrences, within words), ties going to the smaller
 * left id, then the smaller right id, so the result depends only on the counts. It stops
 * early when no pair is left.
 *
 * Pair counts are kept incrementally: a merge re-counts only the words that contain the
 * pair (found through a pair → words index), and a max-heap with lazy deletion finds the
 * next best pair, so a step costs the words it touches, not the whole table.
 *
 * @param counts word → number of occurrences (each word encodes as `" " + word`).
 * @returns the merges as `[left, right]` id pairs; merge `i` creates id `FIRST_MERGE_ID + i`.
 */
export function learnMerges(counts: ReadonlyMap<string, number>, maxMerges: number): number[][] {
  const types = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const freq = types.map((w) => counts.get(w)!);
  const syms = types.map(wordSymbols);
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>(); // pair → words that contained it when it formed
  for (let i = 0; i < syms.length; i++) {
    const s = syms[i]!;
    for (let j = 0; j + 1 < s.length; j++) {
      const key = s[j]! * PAIR_BASE + s[j + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + freq[i]!);
      addWhere(where, key, i);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: number[][] = [];
  while (merges.length < maxMerges) {
    // lazy deletion: an entry is current only if its count is the pair's count now
    let best = -1;
    while (heap.size > 0) {
      const { count, key } = heap.pop();
      if (count > 0 && pairCount.get(key) === count) {
        best = key;
        break;
      }
    }
    if (best < 0) break;
    const a = Math.floor(best / PAIR_BASE);
    const b = best % PAIR_BASE;
    const c = FIRST_MERGE_ID + merges.length;
    merges.push([a, b]);
    const delta = new Map<number, number>();
    const add = (key: number, d: number) => delta.set(key, (delta.get(key) ?? 0) + d);
    for (const i of where.get(best) ?? []) {
      const s = syms[i]!;
      const merged = mergePair(s, a, b, c);
      if (merged === s) continue; // an earlier merge took a or b out of this word
      const f = freq[i]!;
      for (let j = 0; j + 1 < s.length; j++) add(s[j]! * PAIR_BASE + s[j + 1]!, -f);
      for (let j = 0; j + 1 < merged.length; j++) {
        const key = merged[j]! * PAIR_BASE + merged[j + 1]!;
        add(key, f);
        if (merged[j] === c || merged[j + 1] === c) addWhere(where, key, i);
      }
      syms[i] = merged;
    }
    where.delete(best);
    for (const [key, d] of delta) {
      if (d === 0) continue;
      const count = (pairCount.get(key) ?? 0) + d;
      if (count > 0) {
        pairCount.set(key, count);
        heap.push(count, key);
      } else pairCount.delete(key);
    }
  }
  return merges;
}

/**
 * BPE-encode one word's symbols with learned merges: repeatedly merge every occurrence
 * (left to right) of the adjacent pair with the lowest rank. This gives the same pieces as
 * applying the merges in the order learned, as training did.
 *
 * @param symbols the word's byte ids ({@link wordSymbols}); not changed.
 * @param rank pair key → merge index.
 */
export function applyMerges(
  symbols: readonly number[],
  rank: ReadonlyMap<number, number>,
): number[] {
  let s = [...symbols];
  while (s.length > 1) {
    let bestRank = Infinity;
    let bestKey = -1;
    for (let j = 0; j + 1 < s.length; j++) {
      const key = s[j]! * PAIR_BASE + s[j + 1]!;
      const r = rank.get(key);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        bestKey = key;
      }
    }
    if (bestKey < 0) break;
    s = mergePair(
      s,
      Math.floor(bestKey / PAIR_BASE),
      bestKey % PAIR_BASE,
      FIRST_MERGE_ID + bestRank,
    );
  }
  return s;
}

/** `s` with each non-overlapping `a, b` (left to right) replaced by `c`; `s` itself if none. */
function mergePair(s: number[], a: number, b: number, c: number): number[] {
  let out: number[] | undefined;
  for (let j = 0; j < s.length; j++) {
    if (s[j] === a && s[j + 1] === b) {
      out ??= s.slice(0, j);
      out.push(c);
      j++;
    } else out?.push(s[j]!);
  }
  return out ?? s;
}

/** The bytes of `parts`, one after another, in a fresh array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Whether `bytes` are whole UTF-8 characters (a fragment of one makes the decoder throw). */
export function wholeChars(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * GPT-2's printable byte alphabet: printable Latin-1 bytes stand for themselves, the other
 * 68 (controls, space, soft hyphen…) for the letters from U+0100 on, so space is `Ġ`.
 */
export const BYTE_CHARS: readonly string[] = (() => {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable(b) ? b : next++));
})();

/**
 * The merges of a saved BPE tokenizer as `[left, right]` id pairs: each entry is two pieces
 * in GPT-2's byte alphabet ({@link BYTE_CHARS}) separated by one space, each piece a byte or
 * made by an earlier merge, and no merge makes a piece that already has an id.
 * @param merges the `merges` field of the parsed JSON.
 * @param bad throws the FileFormatError that names the source and what is wrong.
 */
export function mergesFromJson(merges: unknown, bad: (what: string) => never): number[][] {
  if (!Array.isArray(merges)) {
    return bad(`merges must be an array of "left right" strings, got ${preview(merges)}`);
  }
  if (merges.length > PAIR_BASE - FIRST_MERGE_ID) {
    bad(
      `merges has ${merges.length} entries, more than the ${PAIR_BASE - FIRST_MERGE_ID} allowed`,
    );
  }
  const ids = new Map<string, number>(BYTE_CHARS.map((c, b) => [c, b + BYTE_OFFSET]));
  const pairs = merges.map((m, i): number[] => {
    const parts = typeof m === "string" ? m.split(" ") : [];
    if (parts.length !== 2) {
      return bad(`merges[${i}] must be two pieces separated by one space, got ${preview(m)}`);
    }
    const [left, right] = parts as [string, string];
    const a = ids.get(left);
    const b = ids.get(right);
    if (a === undefined || b === undefined) {
      const missing = a === undefined ? left : right;
      return bad(`merges[${i}] uses ${preview(missing)}, which no earlier merge or byte makes`);
    }
    const first = ids.get(left + right);
    if (first !== undefined) {
      bad(`merges[${i}] makes ${preview(left + right)}, which id ${first} already is`);
    }
    ids.set(left + right, FIRST_MERGE_ID + i);
    return [a, b];
  });
  return pairs;
}

/** Record that word `i` contains `key` (a word is processed whole, so checking the last suffices). */
function addWhere(where: Map<number, number[]>, key: number, i: number): void {
  const list = where.get(key);
  if (!list) where.set(key, [i]);
  else if (list[list.length - 1] !== i) list.push(i);
}

/** Max-heap of (count, pair key): the highest count first, then the smallest key. */
class PairHeap {
  #counts: number[] = [];
  #keys: number[] = [];

  get size(): number {
    return this.#counts.length;
  }

  push(count: number, key: number): void {
    this.#counts.push(count);
    this.#keys.push(key);
    let i = this.#counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.#counts[0]!, key: this.#keys[0]! };
    const lastCount = this.#counts.pop()!;
    const lastKey = this.#keys.pop()!;
    const n = this.#counts.length;
    if (n > 0) {
      this.#counts[0] = lastCount;
      this.#keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.#before(l, m)) m = l;
        if (r < n && this.#before(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top;
  }

  /** Whether entry `i` comes out before entry `j`. */
  #before(i: number, j: number): boolean {
    const ci = this.#counts[i]!;
    const cj = this.#counts[j]!;
    return ci > cj || (ci === cj && this.#keys[i]! < this.#keys[j]!);
  }

  #swap(i: number, j: number): void {
    const c = this.#counts[i]!;
    this.#counts[i] = this.#counts[j]!;
    this.#counts[j] = c;
    const k = this.#keys[i]!;
    this.#keys[i] = this.#keys[j]!;
    this.#keys[j] = k;
  }
}
