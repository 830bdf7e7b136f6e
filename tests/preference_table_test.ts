import { loadPreferences, preferenceTable, savePreferences } from "../lib/data/preference_table.ts";
import type { PreferenceRow } from "../lib/data/preference_columns.ts";
import { splitPreferences } from "../lib/data/preference_split.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./assert.ts";
import { withTempDir, writeFileIn } from "./_bad_input.ts";

const ROWS: PreferenceRow[] = [
  {
    prompt: "the film, as a whole,",
    chosen: 'was "superb", said he',
    rejected: "was dull\nand long",
    gold_chosen: 0.5423,
    gold_rejected: -0.1027,
    p_correct: 0.9624516,
  },
  {
    prompt: "it",
    chosen: "42",
    rejected: "  leading spaces, then a comma",
    gold_chosen: 0,
    gold_rejected: -1e-9,
    p_correct: 0.5,
  },
  {
    prompt: "ünïcödé — ok",
    chosen: "a\r\nb",
    rejected: "c",
    gold_chosen: 1 / 3,
    gold_rejected: NaN,
    p_correct: 1,
  },
];

async function tempFile(name: string, text?: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "prefs_test_" });
  const path = `${dir}/${name}`;
  if (text !== undefined) await Deno.writeTextFile(path, text);
  return path;
}

function sameRows(actual: Record<string, unknown>[], expected: PreferenceRow[]): void {
  assertEquals(actual.length, expected.length);
  actual.forEach((row, i) => {
    for (const [k, v] of Object.entries(expected[i]!)) {
      if (typeof v === "number" && Number.isNaN(v)) {
        assert(Number.isNaN(row[k]), `${k} of row ${i}`);
      } else assertEquals(row[k], v, `${k} of row ${i}`);
    }
  });
}

Deno.test({
  name:
    "savePreferences()/loadPreferences() round-trip quoted commas, quotes and newlines in CSV, JSON and JSONL",
  async fn() {
    const table = preferenceTable(ROWS);
    for (const ext of ["csv", "json", "jsonl"]) {
      const path = await tempFile(`prefs.${ext}`);
      await savePreferences(table, path);
      const back = await loadPreferences(path);
      assertEquals(back.columnNames(), [
        "prompt",
        "chosen",
        "rejected",
        "gold_chosen",
        "gold_rejected",
        "p_correct",
      ]);
      sameRows(back.objects() as Record<string, unknown>[], ROWS);
      assertEquals(typeof back.get("chosen", 1), "string", `${ext}: "42" stays a string`);
      // atomic write leaves no temp file behind
      const dir = path.slice(0, path.lastIndexOf("/"));
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [`prefs.${ext}`]);
    }
  },
});

Deno.test({
  name: "loadPreferences() reads a minimal hand-written CSV and keeps extra columns",
  async fn() {
    const path = await tempFile(
      "min.csv",
      "\ufeffprompt,chosen,rejected,annotator\r\na,b,c,alice\r\n",
    );
    const t = await loadPreferences(path);
    assertEquals(t.columnNames(), ["prompt", "chosen", "rejected", "annotator"]);
    assertEquals(t.objects(), [{ prompt: "a", chosen: "b", rejected: "c", annotator: "alice" }]);
  },
});

Deno.test({
  name: "loadPreferences() reports every bad CSV row with its physical line number",
  async fn() {
    const csv = [
      "prompt,chosen,rejected", // line 1
      'a,"multi', // line 2: a quoted field spanning lines 2-3
      'line",x', // line 3
      "b,,y", // line 4: empty chosen
      "c,d,e", // line 5
      "", // line 6: blank, skipped
      "f,g", // line 7: a short row (a truncated file?)
      'h,"  ",i', // line 8: whitespace-only chosen
    ].join("\n");
    const path = await tempFile("prefs.csv", csv);
    const e = await assertRejects(() => loadPreferences(path), FileFormatError);
    assertEquals(
      e.message,
      `${path}: line 4: empty "chosen"; line 7: 2 field(s) but the header has 3 (truncated?); line 8: empty "chosen"`,
    );
  },
});

Deno.test({
  name:
    "loadPreferences() reports bad JSONL lines, missing fields and non-strings with line numbers",
  async fn() {
    const good = JSON.stringify({ prompt: "p", chosen: "c", rejected: "r" });
    const path = await tempFile(
      "prefs.jsonl",
      [
        good,
        "",
        JSON.stringify({ prompt: "p", chosen: "" }),
        JSON.stringify({ prompt: "p", chosen: 3, rejected: "r", p_correct: "high" }),
      ].join("\n"),
    );
    const e = await assertRejects(() => loadPreferences(path), FileFormatError);
    assertEquals(
      e.message,
      `${path}: line 3: empty "chosen"; line 3: missing "rejected"; ` +
        `line 4: "chosen" must be a string, got 3; line 4: "p_correct" must be a number, got "high"`,
    );
    const bad = await tempFile("bad.jsonl", `${good}\n${good}\n{"prompt": "p",\n`);
    await assertRejects(() => loadPreferences(bad), FileFormatError, `${bad}: line 3: bad JSON`);
    const arr = await tempFile(
      "arr.json",
      JSON.stringify([{ prompt: "p", chosen: "c", rejected: "r" }, { prompt: "p", rejected: "r" }]),
    );
    await assertRejects(
      () => loadPreferences(arr),
      FileFormatError,
      `${arr}: row 2: missing "chosen"`,
    );
  },
});

Deno.test({
  name: "loadPreferences() names the file and the problem for structural errors",
  fn: () =>
    withTempDir(async (dir) => {
      const cases: [string, string | undefined, string][] = [
        ["nope.csv", undefined, "nope.csv: file not found"],
        ["prefs.txt", "x", `prefs.txt: unknown extension ".txt"; allowed: .csv, .json, .jsonl`],
        ["empty.csv", "prompt,chosen,rejected\n", "empty.csv: no rows"],
        ["empty.jsonl", "\n\n", "empty.jsonl: no rows"],
        [
          "cols.csv",
          "prompt,chosen,answer\na,b,c\n",
          `cols.csv: missing required column "rejected"; found "prompt", "chosen", "answer"`,
        ],
        [
          "cell.csv",
          "prompt,chosen,rejected\nthe film,,was bad\n",
          `cell.csv: line 2: empty "chosen"`,
        ],
        [
          "line.jsonl",
          '{"prompt": "a", "chosen": "b", "rejected": "c"}\n{oops\n',
          "line.jsonl: line 2: bad JSON",
        ],
        [
          "quote.csv",
          'prompt,chosen,rejected\na,"open,c\nd,e,f\n',
          "quote.csv: line 2: quoted field is never closed",
        ],
        [
          "wide.csv",
          "prompt,chosen,rejected\na,b,c,d\n",
          "wide.csv: line 2: 4 fields but the header has 3",
        ],
        [
          "num.csv",
          "prompt,chosen,rejected,gold_chosen\na,b,c,high\n",
          `num.csv: line 2: "gold_chosen" must be a number, got "high"`,
        ],
        ["obj.json", "{}", "obj.json: expected a JSON array of row objects"],
      ];
      for (const [name, text, message] of cases) {
        const path = `${dir}/${name}`;
        if (text !== undefined) await Deno.writeTextFile(path, text);
        await assertRejects(() => loadPreferences(path), FileFormatError, message);
      }
      await assertRejects(
        () => savePreferences(preferenceTable(ROWS), `${dir}/out.tsv`),
        FileFormatError,
        "unknown extension",
      );
    }, "prefs_test_"),
});

Deno.test({
  name:
    "preferenceTable() rejects empty or missing required fields and fills optional ones with NaN",
  fn() {
    assertThrows(
      () => preferenceTable([{ prompt: "p", chosen: "", rejected: "r" }]),
      ConfigError,
      `row 0: empty "chosen"`,
    );
    const t = preferenceTable([
      { prompt: "p", chosen: "c", rejected: "r", p_correct: 0.7 },
      { prompt: "q", chosen: "c", rejected: "r" },
    ]);
    assertEquals(t.columnNames(), ["prompt", "chosen", "rejected", "p_correct"]);
    assert(Number.isNaN(t.get("p_correct", 1)));
  },
});

Deno.test({
  name: "splitPreferences() splits by prompt, deterministically from the seed",
  fn() {
    const rows: PreferenceRow[] = [];
    for (let p = 0; p < 20; p++) {
      for (let j = 0; j < 3; j++) {
        rows.push({ prompt: `prompt ${p}`, chosen: `c${j}`, rejected: `r${j}` });
      }
    }
    const table = preferenceTable(rows);
    const a = splitPreferences(table, 0.25, 7);
    const b = splitPreferences(table, 0.25, 7);
    assertEquals(a.val.objects(), b.val.objects());
    assertEquals(a.val.numRows(), 15); // 5 of 20 prompts × 3 pairs
    assertEquals(a.train.numRows(), 45);
    const valPrompts = new Set(a.val.array("prompt") as unknown as string[]);
    for (const p of a.train.array("prompt") as unknown as string[]) assert(!valPrompts.has(p));
    assertNotEquals(splitPreferences(table, 0.25, 8).val.objects(), a.val.objects());
    assertEquals(splitPreferences(table, 0, 7).val.numRows(), 0);
    assertEquals(splitPreferences(table, 0.01, 7).val.numRows(), 3); // at least one prompt
    assertThrows(() => splitPreferences(table, 1, 7), ConfigError, "valFraction must be");
  },
});

Deno.test({
  name: "loadPreferences() refuses each of ten malformed files with its line and the reason",
  async fn() {
    const head = "prompt,chosen,rejected,gold_chosen,gold_rejected,p_correct\n";
    const ok = "the film,was good,was bad,0.5,-0.2,0.9\n"; // line 2
    const cases: [string, string | Uint8Array, string][] = [
      [
        "chosen == rejected",
        `${head}${ok}it,was fine,was fine,0.1,0.1,0.5\n`,
        'line 3: "chosen" and "rejected" are the same text, so the pair states no preference',
      ],
      [
        "p_correct 5",
        `${head}${ok}it,a,b,0.1,0,5\n`,
        'line 3: "p_correct" must be a probability in [0, 1], got 5',
      ],
      [
        "+Infinity",
        `${head}${ok}it,a,b,Infinity,0,0.5\n`,
        'line 3: "gold_chosen" must be finite, got "Infinity"',
      ],
      [
        "-Infinity",
        `${head}${ok}it,a,b,0,-Infinity,0.5\n`,
        'line 3: "gold_rejected" must be finite, got "-Infinity"',
      ],
      [
        "1e400 (overflows to Infinity)",
        `${head}${ok}it,a,b,1e400,0,0.5\n`,
        'line 3: "gold_chosen" must be finite, got Infinity',
      ],
      [
        "hex 0x10",
        `${head}${ok}it,a,b,0x10,0,0.5\n`,
        'line 3: "gold_chosen" must be a number, got "0x10"',
      ],
      [
        "whitespace read as NaN",
        `${head}${ok}it,a,b,0.1,   ,0.5\n`,
        'line 3: "gold_rejected" is blank ("   "); leave the cell empty for an unknown value',
      ],
      [
        "a row cut short",
        `${head}${ok}it,a,b,0.1\n${ok}`,
        "line 3: 4 field(s) but the header has 6 (truncated?)",
      ],
      [
        "a file truncated mid-row",
        `${head}${ok}it,a,b,0.`,
        "line 3: 4 field(s) but the header has 6 (truncated?)",
      ],
      [
        "NUL bytes",
        new TextEncoder().encode(`${head}${ok}it,a\0\0,b,0.1,0,0.5\n`),
        "line 3: contains a NUL byte (a binary or corrupt file, not text)",
      ],
    ];
    for (const [what, text, message] of cases) {
      const path = await tempFile("prefs.csv");
      if (typeof text === "string") await Deno.writeTextFile(path, text);
      else await Deno.writeFile(path, text);
      const e = await assertRejects(() => loadPreferences(path), FileFormatError);
      assertEquals(e.message, `${path}: ${message}`, what);
    }
    // JSON can say 1e400 too, and p_correct below 0
    const json = await tempFile(
      "prefs.jsonl",
      '{"prompt":"a","chosen":"b","rejected":"c","gold_chosen":1e400,"p_correct":-0.1}\n',
    );
    await assertRejects(
      () => loadPreferences(json),
      FileFormatError,
      'line 1: "gold_chosen" must be finite, got Infinity; line 1: "p_correct" must be a ' +
        "probability in [0, 1], got -0.1",
    );
    // what stays allowed: empty and NaN cells are unknown values, padded decimals are numbers
    const fine = await tempFile("prefs.csv", `${head}${ok}it,a,b,,NaN, 1e-3 \n`);
    const t = await loadPreferences(fine);
    assert(Number.isNaN(t.get("gold_chosen", 1)) && Number.isNaN(t.get("gold_rejected", 1)));
    assertEquals(t.get("p_correct", 1), 0.001);
  },
});

Deno.test({
  name:
    "tie and finished columns round-trip as booleans in CSV, JSON and JSONL, with tie rows' p_correct NaN",
  async fn() {
    const rows: PreferenceRow[] = [
      { ...ROWS[0]!, tie: false, chosen_finished: true, rejected_finished: false },
      { ...ROWS[1]!, p_correct: NaN, tie: true, chosen_finished: false, rejected_finished: true },
    ];
    const table = preferenceTable(rows);
    for (const ext of ["csv", "json", "jsonl"]) {
      const path = await tempFile(`prefs.${ext}`);
      await savePreferences(table, path);
      const back = await loadPreferences(path);
      assertEquals(back.columnNames().slice(6), ["tie", "chosen_finished", "rejected_finished"]);
      sameRows(back.objects() as Record<string, unknown>[], rows);
    }
  },
});

Deno.test({
  name:
    "preferenceTable() fills missing booleans with their defaults; the CSV reader takes 1/0/empty and names a bad one",
  async fn() {
    const t = preferenceTable([
      { prompt: "a", chosen: "b", rejected: "c", tie: true },
      { prompt: "a", chosen: "d", rejected: "e", rejected_finished: false },
    ]);
    assertEquals(t.array("tie") as unknown as boolean[], [true, false]);
    assertEquals(t.array("rejected_finished") as unknown as boolean[], [true, false]);
    assert(!t.columnNames().includes("chosen_finished"), "absent everywhere → no column");
    const csv = await tempFile(
      "b.csv",
      "prompt,chosen,rejected,tie,chosen_finished\na,b,c,1,0\na,d,e,,TRUE\n",
    );
    assertEquals((await loadPreferences(csv)).objects(), [
      { prompt: "a", chosen: "b", rejected: "c", tie: true, chosen_finished: false },
      { prompt: "a", chosen: "d", rejected: "e", tie: false, chosen_finished: true },
    ]);
    const bad = await tempFile("bad.csv", "prompt,chosen,rejected,tie\na,b,c,yes\n");
    await assertRejects(
      () => loadPreferences(bad),
      FileFormatError,
      `line 2: "tie" must be true or false, got "yes"`,
    );
    assertThrows(
      () =>
        preferenceTable([{
          prompt: "a",
          chosen: "b",
          rejected: "c",
          tie: 1 as unknown as boolean,
        }]),
      ConfigError,
      `row 0: "tie" must be true or false, got 1`,
    );
  },
});

Deno.test({
  name: "loadPreferences() reads data only: text that looks like code stays text",
  fn: () =>
    withTempDir(async (dir) => {
      const g = globalThis as Record<string, unknown>;
      const prefs = await loadPreferences(
        await writeFileIn(
          dir,
          "p.csv",
          'prompt,chosen,rejected\n"${globalThis.pwned=3}",__proto__,constructor\n',
        ),
      );
      assertEquals(prefs.objects()[0], {
        prompt: "${globalThis.pwned=3}",
        chosen: "__proto__",
        rejected: "constructor",
      });
      assertEquals(g.pwned, undefined);
    }),
});
