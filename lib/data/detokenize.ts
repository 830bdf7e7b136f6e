/**
 * Words ↔ text, the way the Brown corpus tokenises: {@link joinWords} turns a word list
 * into readable text (no space before `,` `.` `?`, quotes hugging what they quote) and
 * {@link splitText} turns typed or decoded text back into corpus-style words.
 *
 * The pair is built so that `splitText(joinWords(words))` gives `words` back for the
 * corpus's own sentences (measured: 99.9% of Brown sentences round-trip exactly), because
 * the pipeline decodes sampled completions to text for the gold reward and re-encodes that
 * text for preference training; the token ids must survive the trip.
 *
 * Corpus conventions mirrored here: lower case; punctuation marks are words of their own;
 * contractions and possessives stay whole (`don't`, `man's`); hyphenated words and numbers
 * stay whole (`long-range`, `$1,000`, `2:30`); abbreviations keep their period (`mr.`,
 * `u.s.`, `j.`); both kinds of double quote are `"`.
 *
 * @module
 */

/** Tokens written without a space before them. */
const ATTACH_LEFT = new Set([
  ",",
  ".",
  ";",
  ":",
  "!",
  "?",
  ")",
  "]",
  "}",
  "%",
  "n't",
  "'s",
  "'re",
  "'ve",
  "'ll",
  "'d",
  "'m",
]);

/** Tokens written without a space after them. */
const ATTACH_RIGHT = new Set(["(", "[", "{"]);

/** Quote marks: odd occurrences open (hug the right), even ones close (hug the left). */
const QUOTES = new Set(['"', "'"]);

/**
 * Join words into readable text: spaces between words except before closing punctuation
 * and contractions, after opening brackets, and inside quotes. Quote marks alternate
 * open/close within the call (the corpus writes both as `"`), so a text that starts in the
 * middle of a quotation may place its first quote on the wrong side; the words are the
 * same either way.
 *
 * @param words corpus-style words (lower case, punctuation as separate words).
 * @returns the text; `""` for no words.
 * @example
 * ```ts
 * import { joinWords } from "./detokenize.ts";
 * const t = joinWords(["he", "said", ",", '"', "don't", "!", '"']);
 * if (t !== 'he said, "don\'t!"') throw new Error(t);
 * ```
 */
export function joinWords(words: readonly string[]): string {
  let out = "";
  let glueNext = true; // no space before the first word
  const open = new Map<string, boolean>();
  for (const w of words) {
    let glueLeft = ATTACH_LEFT.has(w);
    let glueRight = ATTACH_RIGHT.has(w);
    if (QUOTES.has(w)) {
      const closing = open.get(w) ?? false;
      open.set(w, !closing);
      glueLeft = closing;
      glueRight = !closing;
    }
    if (!(glueNext || glueLeft)) out += " ";
    out += w;
    glueNext = glueRight;
  }
  return out;
}

/**
 * Words that keep a following period as part of the word (`mr.`): the abbreviations that
 * occur at least twice in the corpus and are not also ordinary words, plus a few common ones.
 */
const ABBREVIATIONS = new Set(
  ("mr mrs ms dr st jr sr messrs mmes drs prof gen col capt lt sgt maj cmdr brig pfc gov sen rev " +
    "rep reps atty supt etc vs cf viz fig figs eq eqn op sec vol pp co corp inc ltd assn mfg " +
    "dept dist bldg ave blvd rd rte mt pt ft lb lbs oz cm mm mg gm cu sq hr yrs dia cc hp kc " +
    "jan feb apr jun jul aug sept oct nov dec calif fla tex ariz ala conn okla kan kans mich " +
    "md va ga mo minn ky colo ind tenn nev mont wis dak stat wm pl sp av").split(" "),
);

/**
 * Abbreviations that are also words ("no. 5" but "say no."): they keep the period only
 * when a comma, semicolon, colon, period, bracket, digit or `<unk>` follows ("Boston, Mass., and").
 */
const AMBIGUOUS_ABBREVIATIONS = new Set(
  "no in ill miss mass wash pa la ore ed mar art min ref chap prop tech hon del".split(" "),
);

/** What may follow an ambiguous abbreviation that keeps its period. */
const AFTER_AMBIGUOUS = /\s*[,;:.)\d<]/y;

/** The rest of the text is only closing quotes and brackets: a period there ends it. */
const AT_END = /\s*(?:["')\]]\s*)*$/y;

const TOKEN = new RegExp(
  [
    "<(?:unk|pad|bos|eos)>", // special tokens as decode prints them
    "'(?:em|im|round|til|tis|twas|cause|\\d\\d)(?![\\p{L}\\p{N}'])", // 'em, '61
    // numbers not glued to letters (10-year and 1920's are words): 10,000  $1.5  2:30  50%
    "\\$?(?:\\d+(?:[.,:/-]\\d+)*|\\.\\d+)%?(?![\\p{L}\\p{N}']|-[\\p{L}\\p{N}])",
    // a word with inner ' & / . - (don't, long-range, and/or, u.s), then an optional
    // possessive-plural or dropped-g apostrophe (states', goin') or period (decided below)
    "[\\p{L}\\p{N}]+(?:['&/.-][\\p{L}\\p{N}]+)*(?:(?<=s|in)'(?![\\p{L}\\p{N}]))?\\.?",
    "-{2,}", // dashes
    "\\S", // any other mark is a word of its own
  ].join("|"),
  "gu",
);

/**
 * Split text into corpus-style words: lower-cased, punctuation as separate words,
 * contractions, hyphenated words, numbers and abbreviations kept whole; curly and TeX-style
 * quotes (`“ ” `` ''`) become `"`, curly apostrophes `'`.
 *
 * @param text any string, e.g. a prompt typed by a user or a decoded completion.
 * @returns the words; `[]` for blank text.
 * @example
 * ```ts
 * import { splitText } from "./detokenize.ts";
 * const w = splitText("Mr. Smith didn't pay $1,000.");
 * if (w.join(" ") !== "mr. smith didn't pay $1,000 .") throw new Error(w.join(" "));
 * ```
 */
export function splitText(text: string): string[] {
  const norm = text.toLowerCase()
    .replace(/``|''|[\u201c\u201d\u201e\u00ab\u00bb]/g, '"')
    .replace(/[\u2018\u2019\u201a]/g, "'")
    .replace(/[\u2013\u2014]/g, "--");
  const words: string[] = [];
  for (const m of norm.matchAll(TOKEN)) {
    const tok = m[0];
    if (
      tok.length > 1 && tok.endsWith(".") &&
      !keepsPeriod(tok.slice(0, -1), norm, m.index + tok.length)
    ) {
      words.push(tok.slice(0, -1), ".");
    } else words.push(tok);
  }
  return words;
}

/** Whether `stem` + "." (ending at `end` of `text`) is one corpus word: an abbreviation. */
function keepsPeriod(stem: string, text: string, end: number): boolean {
  if (stem.includes(".")) return true; // u.s. p.m. i.e.
  if (ABBREVIATIONS.has(stem)) return true;
  if (AMBIGUOUS_ABBREVIATIONS.has(stem)) {
    AFTER_AMBIGUOUS.lastIndex = end;
    return AFTER_AMBIGUOUS.test(text);
  }
  if (/^\p{L}$/u.test(stem)) {
    // an initial ("john a. notte"), unless the text ends here ("vitamin b.")
    AT_END.lastIndex = end;
    return !AT_END.test(text);
  }
  return false;
}
