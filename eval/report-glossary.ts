/**
 * What each number in the report means, one sentence each, shown under the charts. The training
 * metrics keep TRL's names (`rewards/margins`, …) so they can be compared with a DPO run there.
 *
 * @module
 */

/** One metric: its name as shown in the report and what it measures. */
export interface MetricMeaning {
  readonly name: string;
  readonly meaning: string;
}

/**
 * The report's metrics and their meanings, per-iteration metrics first, then the training curves.
 *
 * @example
 * ```ts
 * metricGlossary.find((m) => m.name === "rewards/margins")?.meaning;
 * ```
 */
export const metricGlossary: readonly MetricMeaning[] = [
  {
    name: "KL(p_data ‖ π_t)",
    meaning: "How far the model's answers are from the data's, in nats: Σ p_data·(log p_data − log π_t) summed exactly " +
      "over every correct phrasing of every prompt (weighted by the prompt distribution); 0 means π_t reproduces the " +
      "data distribution, so lower is better.",
  },
  {
    name: "exact match",
    meaning: "The fraction of prompts (weighted) whose greedy answer has the right content; higher is better.",
  },
  {
    name: "held-out NLL",
    meaning: "The average negative log-likelihood per token, in nats, of data answers that training never saw; " +
      "lower is better.",
  },
  {
    name: "reward margin, reward accuracy (per iteration)",
    meaning: "The means of rewards/margins and rewards/accuracies over the last training epoch of iteration t " +
      "(none for the base model, which is not trained).",
  },
  {
    name: "loss",
    meaning: "The α-SPIN loss of each optimizer step, in nats: −log σ(rewards/margins) for the default sigmoid loss, " +
      "so ln 2 ≈ 0.693 when the model cannot yet tell the data's answer from its opponent's.",
  },
  {
    name: "rewards/chosen",
    meaning: "β·(log π_θ(y_data | x) − log π_ref(y_data | x)), averaged over the batch: how much more likely the data's " +
      "answer has become than under the reference π_ref ∝ π_{t−1}^α · π_base^(1−α).",
  },
  {
    name: "rewards/rejected",
    meaning: "The same for the opponent's answer y_opp sampled from π_{t−1}: self-play pushes it down, so it " +
      "usually falls below 0.",
  },
  {
    name: "rewards/margins",
    meaning: "rewards/chosen − rewards/rejected: how far the model has lifted the data's answers above its opponent's; " +
      "it grows while the model learns to tell them apart.",
  },
  {
    name: "rewards/accuracies",
    meaning: "The fraction of pairs whose margin is positive (a tie counts as a miss); 0.5 means the opponent's " +
      "answers can no longer be told from the data's, where SPIN's game ends.",
  },
];
