/**
 * Checks that an HTML page works offline: every `href` and `src` is a relative path to a
 * file that exists beside the page, or an anchor (`#id`) of an element of the page.
 *
 * @module
 */
import { dirname, join } from "node:path";

/**
 * The `href` and `src` values of a page's elements, in order (the text of inline scripts,
 * such as an embedded plotly.js with URLs in its strings, is not markup and is skipped).
 */
export function pageLinks(html: string): string[] {
  const markup = html.replace(/<script>[\s\S]*?<\/script>/g, "<script></script>");
  return [...markup.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) =>
    m[1]!.replaceAll("&amp;", "&")
  );
}

/** What does not resolve offline in the page at `path` (empty when every link does). */
export async function unresolvedLinks(path: string): Promise<string[]> {
  const html = await Deno.readTextFile(path);
  const ids = new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!));
  const problems: string[] = [];
  for (const link of pageLinks(html)) {
    if (link.startsWith("#")) {
      if (!ids.has(link.slice(1))) problems.push(`${link}: no element has this id`);
    } else if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(link) || link.startsWith("/")) {
      problems.push(`${link}: not a relative path`);
    } else if (!(await Deno.stat(join(dirname(path), link)).then((s) => s.isFile, () => false))) {
      problems.push(`${link}: no such file beside the page`);
    }
  }
  return problems;
}
