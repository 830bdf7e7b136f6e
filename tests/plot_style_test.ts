import { assert, assertEquals } from "./assert.ts";
import {
  axisTitle,
  FALLBACK_COLOURS,
  fnv1a,
  METHOD_STYLES,
  methodStyle,
  plainText,
} from "../lib/plot/style.ts";
import { CURVE_METRICS } from "../lib/plot/report.ts";

Deno.test("METHOD_STYLES gives every method its own colour, and fallbacks never reuse one", () => {
  const methods = [
    "ppo",
    "ppo_gt",
    "dpo",
    "ipo",
    "cdpo",
    "hinge",
    "simpo",
    "bon",
    "oracle",
    "grpo",
    "dr_grpo",
    "grpo_kl_reward",
    "rloo",
    "online_dpo",
    "kto",
  ];
  assertEquals(Object.keys(METHOD_STYLES).sort(), [...methods].sort());
  const colours = methods.map((m) => METHOD_STYLES[m]!.color.toLowerCase());
  assertEquals(new Set(colours).size, methods.length);
  for (const c of FALLBACK_COLOURS) assert(!colours.includes(c.toLowerCase()), c);
  // every (colour, marker, dash) triple is distinct, so greyscale prints still separate them
  const looks = methods.map((m) => `${METHOD_STYLES[m]!.symbol}/${METHOD_STYLES[m]!.dash}`);
  assertEquals(new Set(looks).size, methods.length);
});

Deno.test("methodStyle() accepts case and aliases, and hashes unknown names", () => {
  assertEquals(methodStyle("PPO"), METHOD_STYLES.ppo);
  assertEquals(methodStyle("best_of_n"), METHOD_STYLES.bon);
  assertEquals(methodStyle(" dr-grpo "), METHOD_STYLES.dr_grpo);
  const a = methodStyle("my_loss");
  assertEquals(a.label, "my_loss");
  assertEquals(a.color, FALLBACK_COLOURS[fnv1a("my_loss") % FALLBACK_COLOURS.length]);
  assertEquals(methodStyle("my_loss"), a);
  // FNV-1a test vectors
  assertEquals([fnv1a(""), fnv1a("a"), fnv1a("foobar")], [0x811c9dc5, 0xe40c292c, 0xbf9cf968]);
});

Deno.test("axisTitle() puts units on the kit's columns and curve metrics", () => {
  assertEquals(axisTitle("kl_mean"), "KL(π ‖ π<sub>ref</sub>) [nats]");
  assertEquals(
    axisTitle("reward_gold", { gold: "VADER compound" }),
    "gold reward [VADER compound]",
  );
  assertEquals(axisTitle("reward_proxy"), "proxy reward [RM logit]");
  assertEquals(axisTitle("unknown/metric"), "unknown/metric");
  for (const m of CURVE_METRICS) assert(/\[.+\]$/.test(axisTitle(m)), `${m}: ${axisTitle(m)}`);
  assertEquals(plainText("π*<sub>β</sub> (exact)<br><b>x</b>"), "π*_β (exact) x");
});
