import { assert, assertEquals } from "./assert.ts";
import * as aq from "arquero";
import { formatTable, formatValue, tableToCsv, tableToHtml } from "../lib/util/table_format.ts";

Deno.test("formatValue() shows 3 significant digits, exact integers and blanks for missing", () => {
  const f = (v: unknown) => formatValue(v, { digits: 3 });
  assertEquals(
    [0.123456, 12.3456, 1234.56, 0.000123456, 2.5e7 + 0.5, -0.5, 0.1, 1 / 3].map(f),
    ["0.123", "12.3", "1235", "1.23e-4", "2.5e+7", "-0.5", "0.1", "0.333"],
  );
  assertEquals([7, -3, 0, -0, 512].map(f), ["7", "-3", "0", "0", "512"]);
  assertEquals([null, undefined, NaN, ""].map(f), ["", "", "", ""]);
  assertEquals([Infinity, -Infinity, true, "ppo"].map(f), ["inf", "-inf", "true", "ppo"]);
  // full precision reads back to the same number
  for (const v of [0.1 + 0.2, 1 / 3, 1e-12, 123456.789, -Infinity]) {
    assertEquals(Number(formatValue(v)), v);
  }
});

const t = aq.table({
  method: ["ppo", "dpo|x", "bon"],
  beta: [0.1, 0.05, null],
  kl_mean: [1.23456, NaN, 0.000012345],
  n_runs: [3, 3, 1],
});

Deno.test("formatTable() aligns GitHub Markdown, right-aligning numbers, blanks for missing", () => {
  assertEquals(
    formatTable(t),
    [
      "| method | beta | kl_mean | n_runs |",
      "| ------ | ---: | ------: | -----: |",
      "| ppo    |  0.1 |    1.23 |      3 |",
      "| dpo\\|x | 0.05 |         |      3 |",
      "| bon    |      | 1.23e-5 |      1 |",
    ].join("\n"),
  );
  assertEquals(
    formatTable(t, { columns: ["method", "kl_mean"], digits: 2, limit: 1 }),
    "| method | kl_mean |\n| ------ | ------: |\n| ppo    |     1.2 |\n(1 of 3 rows)",
  );
});

Deno.test("tableToCsv() writes full precision and empty fields, readable back", () => {
  const csv = tableToCsv(t);
  assertEquals(
    csv,
    "method,beta,kl_mean,n_runs\nppo,0.1,1.23456,3\ndpo|x,0.05,,3\nbon,,0.000012345,1\n",
  );
  const back = aq.fromCSV(csv);
  assertEquals(back.get("kl_mean", 2), 0.000012345);
  assertEquals(back.get("beta", 2), null);
  // infinities stay numbers when read back
  assertEquals(aq.fromCSV(tableToCsv(aq.table({ x: [1, Infinity] }))).array("x"), [1, Infinity]);
  const quoted = tableToCsv(aq.table({ a: ['say "hi", then', " x"] }));
  assertEquals(quoted, 'a\n"say ""hi"", then"\n" x"\n');
});

Deno.test("tableToHtml() escapes text, right-aligns numbers and leaves missing cells blank", () => {
  const html = tableToHtml(aq.table({ m: ["<b>"], v: [null], w: [2.71828] }));
  assert(html.includes("<td>&lt;b&gt;</td>"), html);
  assert(html.includes("<td></td>"), html); // an all-empty column is not numeric
  assert(html.includes('<td style="text-align:right">2.72</td>'), html);
  assert(!/null|NaN/.test(html), html);
});
