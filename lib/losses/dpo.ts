/**
 * The DPO family of preference losses: pure functions of sequence log-probabilities.
 *
 * With summed sequence log-probs of the chosen y_w and rejected y_l responses under the
 * policy π and the frozen reference π_ref, the implicit-reward margin is
 *
 *     h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))
 *
 * and each loss is a function ℓ of a signed margin u (per pair):
 *
 * | name  | u                                  | ℓ(u)                | paper                   |
 * |-------|------------------------------------|---------------------|-------------------------|
 * | dpo   | β·h                                | −log σ(u)           | Rafailov et al. 2023    |
 * | ipo   | h                                  | (u − 1/(2β))²       | Azar et al. 2023        |
 * | hinge | β·h                                | max(0, 1 − u)       | SLiC, Zhao et al. 2023  |
 * | simpo | β·(log π(y_w)/|y_w| − log π(y_l)/|y_l|) − γ | −log σ(u)  | Meng et al. 2024 (SimPO) |
 *
 * Label smoothing ε (conservative DPO, Mitchell 2023, "A note on DPO with noisy
 * preferences") treats each label as flipped with probability ε:
 * loss = (1 − ε)·ℓ(u) + ε·ℓ(−u). For "dpo" this is −(1−ε)·log σ(βh) − ε·log σ(−βh); for
 * "ipo" it moves the target margin to (1 − 2ε)/(2β); for "simpo" it matches TRL's CPO/SimPO.
 *
 * Length normalisation. The inputs are summed log-probs. With `lengthNormalise: true`
 * (requires `chosenLengths`/`rejectedLengths`) every log-prob is divided by its response
 * length first, so h is a difference of per-token averages. The default is **false**
 * (summed) for every loss: the DPO reference code sums, and the IPO paper's derivation (and
 * its closed-form optimum, see lib/eval/oracle.ts) is over whole-sequence probabilities.
 * TRL instead averages over tokens for IPO, following the IPO authors' advice for long
 * sequences, because IPO's squared loss pulls h to a fixed target 1/(2β) that does not grow
 * with length; pass `lengthNormalise: true` to reproduce TRL. SimPO is reference-free and
 * always averages (its definition); it needs the lengths and ignores `refChosen/refRejected`.
 *
 * Implicit rewards (DPO §5): chosenRewards = β·(log π(y_w) − log π_ref(y_w)), likewise
 * rejected; for SimPO, β·log π(y)/|y|. rewardAccuracy = mean[1{chosen > rejected} +
 * ½·1{chosen = rejected}]: a pair whose implicit rewards are equal (every pair while the
 * policy equals the reference) counts half, as in the reward model's accuracy and the
 * annotators' p_correct, so all three are comparable. rewardMargin = mean[chosen − rejected].
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D } from "../util/tensor_types.ts";
import { ConfigError, show } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";

/** Names of the DPO-family losses. */
export const DPO_LOSS_NAMES = ["dpo", "ipo", "hinge", "simpo"] as const;
/** A DPO-family loss name. */
export type DpoLossName = (typeof DPO_LOSS_NAMES)[number];

/** What every loss in the family may read, all [B]. */
export interface DpoMargins {
  /** h = chosen log-ratio − rejected log-ratio (length-normalised if asked), [B]. */
  h: Tensor1D;
  /** log π(y_w)/|y_w| − log π(y_l)/|y_l| (per-token averages), [B]; reference-free. */
  avgPolicyMargin: Tensor1D | undefined;
  /** β > 0. */
  beta: number;
  /** SimPO's target reward margin γ. */
  simpoGamma: number;
}

/** One loss of the family: its signed margin u and its per-pair loss ℓ(u). */
export interface DpoLossSpec {
  /** One-line description with the paper. */
  doc: string;
  /** True when the loss does not use π_ref (then refChosen/refRejected are not needed). */
  referenceFree: boolean;
  /** The signed margin u, [B]; the caller disposes it. */
  margin: (m: DpoMargins) => Tensor1D;
  /** ℓ(u), [B]; label smoothing evaluates it at u and −u. The caller disposes it. */
  pointLoss: (u: Tensor1D, beta: number) => Tensor1D;
}

/** The registry of DPO-family losses (see the module doc for formulas). */
export const DPO_LOSSES: Record<DpoLossName, DpoLossSpec> = {
  dpo: {
    doc: "−log σ(β·h) (Rafailov et al. 2023)",
    referenceFree: false,
    margin: (m) => tf.mul(m.beta, m.h),
    pointLoss: (u) => negLogSigmoid(u),
  },
  ipo: {
    doc: "(h − 1/(2β))² (Azar et al. 2023)",
    referenceFree: false,
    margin: (m) => m.h.clone(),
    pointLoss: (u, beta) => tf.tidy(() => tf.square(tf.sub(u, 1 / (2 * beta)))),
  },
  hinge: {
    doc: "max(0, 1 − β·h) (SLiC-HF, Zhao et al. 2023)",
    referenceFree: false,
    margin: (m) => tf.mul(m.beta, m.h),
    pointLoss: (u) => tf.tidy(() => tf.relu(tf.sub(1, u))),
  },
  simpo: {
    doc: "−log σ(β·(log π(y_w)/|y_w| − log π(y_l)/|y_l|) − γ), reference-free (Meng et al. 2024)",
    referenceFree: true,
    margin: (m) => tf.tidy(() => tf.sub(tf.mul(m.beta, m.avgPolicyMargin!), m.simpoGamma)),
    pointLoss: (u) => negLogSigmoid(u),
  },
};

/**
 * −log σ(u) = softplus(−u), stable for large |u|. (tf.logSigmoid's gradient fails in tfjs
 * 4.22 with "Cannot read properties of undefined (reading 'backend')", so it is avoided.)
 */
function negLogSigmoid(u: Tensor1D): Tensor1D {
  return tf.tidy(() => tf.softplus(tf.neg(u)));
}

/** Inputs of {@link dpoLoss}; every tensor is [B] and is not disposed by dpoLoss. */
export interface DpoLossArgs {
  /** Summed log π(y_w | x), [B]. */
  policyChosen: Tensor1D;
  /** Summed log π(y_l | x), [B]. */
  policyRejected: Tensor1D;
  /** Summed log π_ref(y_w | x), [B]; optional only for reference-free losses. */
  refChosen?: Tensor1D;
  /** Summed log π_ref(y_l | x), [B]; optional only for reference-free losses. */
  refRejected?: Tensor1D;
  /** β > 0: inverse temperature of the implicit reward (KL coefficient). */
  beta: number;
  /** Which loss; default "dpo". */
  lossType?: DpoLossName;
  /** ε ∈ [0, 0.5): probability that a label is flipped (cDPO); default 0. */
  labelSmoothing?: number;
  /** Divide log-probs by response length before forming h; default false (see module doc). */
  lengthNormalise?: boolean;
  /** |y_w| in tokens, [B]; needed by `lengthNormalise` and "simpo". */
  chosenLengths?: Tensor1D;
  /** |y_l| in tokens, [B]. */
  rejectedLengths?: Tensor1D;
  /** SimPO's target margin γ ≥ 0; default 0.5 (TRL's `simpo_gamma`). */
  simpoGamma?: number;
  /** Optional non-negative per-pair weights [B] (e.g. counts of identical pairs); default 1. */
  weights?: Tensor1D;
}

/** Outputs of {@link dpoLoss}; the caller disposes every tensor. */
export interface DpoLossResult {
  /** Per-pair loss, [B]. */
  losses: Tensor1D;
  /** (Weighted) mean of `losses`, scalar; differentiable. */
  loss: Scalar;
  /** β·(log π(y_w) − log π_ref(y_w)) (SimPO: β·log π(y_w)/|y_w|), [B]. */
  chosenRewards: Tensor1D;
  /** β·(log π(y_l) − log π_ref(y_l)) (SimPO: β·log π(y_l)/|y_l|), [B]. */
  rejectedRewards: Tensor1D;
  /** Mean of 1{chosenRewards > rejectedRewards} + ½·1{equal}, scalar (ties count half). */
  rewardAccuracy: Scalar;
  /** Mean of chosenRewards − rejectedRewards, scalar. */
  rewardMargin: Scalar;
}

const BETA_SPEC = { type: "number", gt: 0, doc: "DPO β" } as const;
const EPS_SPEC = { type: "number", min: 0, lt: 0.5, doc: "label smoothing ε" } as const;
const GAMMA_SPEC = { type: "number", min: 0, doc: "SimPO γ" } as const;
const LOSS_SPEC = { type: "enum", values: DPO_LOSS_NAMES, doc: "DPO loss type" } as const;

/**
 * A DPO-family loss on a batch of preference pairs (formulas in the module doc).
 *
 * @returns losses [B], their (weighted) mean `loss`, and the implicit-reward metrics. The
 *   caller disposes every returned tensor; inputs are left alone.
 * @throws ConfigError naming the field for a bad β, ε, γ, loss type or a missing input.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dpoLoss } from "./dpo.ts";
 * const x = tf.tensor1d([-3, -5]);
 * const out = dpoLoss({ policyChosen: x, policyRejected: x, refChosen: x, refRejected: x, beta: 0.1 });
 * // out.loss = log 2 when the policy equals the reference
 * tf.dispose([x, ...Object.values(out)]);
 * ```
 */
export function dpoLoss(args: DpoLossArgs): DpoLossResult {
  const beta = checkField("dpo.beta", args.beta, BETA_SPEC) as number;
  const eps = checkField("dpo.labelSmoothing", args.labelSmoothing ?? 0, EPS_SPEC) as number;
  const simpoGamma = checkField("dpo.simpoGamma", args.simpoGamma ?? 0.5, GAMMA_SPEC) as number;
  const lossType = checkField("dpo.lossType", args.lossType ?? "dpo", LOSS_SPEC) as DpoLossName;
  const spec = DPO_LOSSES[lossType];
  const normalise = args.lengthNormalise ?? false;
  const needLengths = normalise || lossType === "simpo";
  const { policyChosen, policyRejected, refChosen, refRejected } = args;
  const { chosenLengths, rejectedLengths, weights } = args;

  const b = policyChosen.shape[0];
  const inputs: [string, Tensor | undefined, boolean][] = [
    ["policyChosen", policyChosen, true],
    ["policyRejected", policyRejected, true],
    ["refChosen", refChosen, !spec.referenceFree],
    ["refRejected", refRejected, !spec.referenceFree],
    ["chosenLengths", chosenLengths, needLengths],
    ["rejectedLengths", rejectedLengths, needLengths],
    ["weights", weights, false],
  ];
  for (const [name, t, required] of inputs) {
    if (t === undefined) {
      if (required) {
        throw new ConfigError(
          `dpo.${name} is required for lossType ${show(lossType)}` +
            (needLengths && name.endsWith("Lengths") ? " (length-normalised log-probs)" : ""),
        );
      }
      continue;
    }
    if (t.rank !== 1 || t.shape[0] !== b) {
      throw new ConfigError(`dpo.${name} must have shape [${b}], got [${t.shape.join(", ")}]`);
    }
  }

  return tf.tidy(() => {
    // Per-token averages when asked (or for SimPO), else the summed log-probs.
    const norm = (x: Tensor1D, len: Tensor1D | undefined): Tensor1D =>
      normalise ? tf.div(x, len!) : x;
    let h: Tensor1D; // [B]
    let chosenRewards: Tensor1D; // [B]
    let rejectedRewards: Tensor1D; // [B]
    let avgPolicyMargin: Tensor1D | undefined; // [B]
    if (lossType === "simpo") {
      const avgChosen = tf.div(policyChosen, chosenLengths!); // [B]
      const avgRejected = tf.div(policyRejected, rejectedLengths!); // [B]
      avgPolicyMargin = tf.sub(avgChosen, avgRejected);
      h = avgPolicyMargin;
      chosenRewards = tf.mul(beta, avgChosen);
      rejectedRewards = tf.mul(beta, avgRejected);
    } else {
      const chosenLogRatio = tf.sub(
        norm(policyChosen, chosenLengths),
        norm(refChosen!, chosenLengths),
      );
      const rejectedLogRatio = tf.sub(
        norm(policyRejected, rejectedLengths),
        norm(refRejected!, rejectedLengths),
      );
      h = tf.sub(chosenLogRatio, rejectedLogRatio);
      chosenRewards = tf.mul(beta, chosenLogRatio);
      rejectedRewards = tf.mul(beta, rejectedLogRatio);
    }

    const u = spec.margin({ h, avgPolicyMargin, beta, simpoGamma }); // [B]
    let losses = spec.pointLoss(u, beta); // [B]
    if (eps > 0) {
      // Expected loss when the label is flipped with probability ε.
      losses = tf.add(tf.mul(1 - eps, losses), tf.mul(eps, spec.pointLoss(tf.neg(u), beta)));
    }

    const mean = (x: Tensor): Scalar =>
      weights === undefined ? tf.mean(x) : tf.div(tf.sum(tf.mul(weights, x)), tf.sum(weights));
    const rewardDiff: Tensor1D = tf.sub(chosenRewards, rejectedRewards); // [B]
    return {
      losses,
      loss: mean(losses),
      chosenRewards,
      rejectedRewards,
      rewardAccuracy: mean(tf.mul(tf.add(tf.sign(rewardDiff), 1), 0.5)), // 1, ½, 0 per pair
      rewardMargin: mean(rewardDiff),
    };
  });
}
