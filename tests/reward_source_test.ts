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

Deno.test("rewardModelSource() reads r_φ where each completion ends: at EOS if it finished, else at its last token", async () => {
  const rm = ScalarModel.fromLM(CausalLM.create(config, 1), 2);
  const prompts = [[1, 4], [1, 5, 6], [1, 7]];
  const responses = [[8, 9, 10], [11], [12, EOS_ID]]; // truncated, truncated, finished
  const batch = responseBatch(prompts, responses, config.context);
  const source = await rewardModelSource(rm)(prompts, responses, batch);
  // Preference pairs now carry EOS only on finished completions, so the reward model was
  // trained to read a truncated one at its last token: the rollout's own last real token.
  assertEquals(Array.from(source), Array.from(await rewardScoresOf(rm, batch)));
  // The old reading, at an EOS appended to every row, for reward models trained on
  // tables without finished columns (every completion was given an EOS).
  const legacy = await rewardModelSource(rm, { truncated: "append_eos" })(
    prompts,
    responses,
    batch,
  );
  const withEos = [[8, 9, 10, EOS_ID], [11, EOS_ID], [12, EOS_ID]];
  const atEos = await rewardScoresOf(rm, responseBatch(prompts, withEos, config.context - 1));
  assertEquals(Array.from(legacy), Array.from(atEos));
  assertEquals(legacy[2], source[2]);
  assertNotEquals(legacy[0], source[0]);
  rm.dispose();
});

Deno.test("rewardModelSource() with append_eos names a row with no room for the EOS it reads at", async () => {
  const rm = ScalarModel.fromLM(CausalLM.create(config, 1), 2);
  const prompts = [[1, 4, 5]];
  const full = [[8, 9, 10, 11, 12]]; // 8 tokens: fits the context, not with an EOS after it
  const batch = responseBatch(prompts, full, config.context);
  await assertRejects(
    () => rewardModelSource(rm, { truncated: "append_eos" })(prompts, full, batch),
    ConfigError,
    "row 0 has 9 tokens (prompt 3 + response 6) but the model's context allows 8",
  );
  // Read where it ends, the same row fits.
  assertEquals((await rewardModelSource(rm)(prompts, full, batch)).length, 1);
  rm.dispose();
});
