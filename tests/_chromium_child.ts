/**
 * Child process for tests/plot_image_test.ts: opens a Chromium session and runs the
 * browser on a page that never finishes loading (its script is a FIFO nobody writes), so
 * the parent can signal this process while a browser is running. Prints the session's
 * directory, then waits; "finished" would mean the browser returned.
 *
 * usage: deno run -A tests/_chromium_child.ts <browser> <page url>
 */
import { withChromium } from "../lib/plot/chromium.ts";

const [browser, page] = Deno.args as [string, string];
await withChromium(browser, async (session) => {
  console.log(`dir ${session.dir}`);
  await session.run(["--dump-dom", page], 120_000);
});
console.log("finished");
