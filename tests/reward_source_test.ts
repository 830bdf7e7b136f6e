import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import { responseBatch } from "../lib/data/response_batch.ts";
import { EOS_ID } from "../lib/data/special_tokens.ts";
import { finishedText, rewardModelSource } from "../lib/train/rollout.ts";
import { rewardScoresOf } from "../lib/train/response_log_probs.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertEquals, assertNotEquals, assertRejects } from "./assert.ts";

await initBackend("wasm");

const config = { vocabSize: 20, dModel: 16, nLayers: 1, nHeads: 2, context: 8, dropout: 0 };

Deno.test("finishedText() appends EOS only where it is missing", () => {
  assertEquals(finishedText([5, 6]), [5, 6, EOS_ID]);
  const done = [5, EOS_ID];
  assertEquals(finishedText(done), done);
});

Deno.test("rewardModelSource() reads r_φ at EOS, where preference completions taught it to", async () => {
  const rm = ScalarModel.fromLM(CausalLM.create(config, 1), 2);
  const prompts = [[1, 4], [1, 5, 6], [1, 7]];
  const truncated = [[8, 9, 10], [11], [12, EOS_ID]];
  const withEos = [[8, 9, 10, EOS_ID], [11, EOS_ID], [12, EOS_ID]];
  const source = await rewardModelSource(rm)(
    prompts,
    truncated,
    responseBatch(prompts, truncated, config.context),
  );
  const atEos = await rewardScoresOf(rm, responseBatch(prompts, withEos, config.context - 1));
  const atLastWord = await rewardScoresOf(rm, responseBatch(prompts, truncated, config.context));
  assertEquals(Array.from(source), Array.from(atEos));
  // A finished row is read where it was; a truncated one moves to the appended EOS.
  assertEquals(source[2], atLastWord[2]);
  assertNotEquals(source[0], atLastWord[0]);
  rm.dispose();
});

Deno.test("rewardModelSource() names a row with no room for the EOS it reads at", async () => {
  const rm = ScalarModel.fromLM(CausalLM.create(config, 1), 2);
  const prompts = [[1, 4, 5]];
  const full = [[8, 9, 10, 11, 12]]; // 8 tokens: fits the context, not with an EOS after it
  await assertRejects(
    () => rewardModelSource(rm)(prompts, full, responseBatch(prompts, full, config.context)),
    ConfigError,
    "row 0 has 9 tokens (prompt 3 + response 6) but the model's context allows 8",
  );
  rm.dispose();
});
