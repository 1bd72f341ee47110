/**
 * The listwise training step (train/list-step.ts): a hand-built batch of lists with different
 * numbers of losers (padding masked) gives the loss of losses/' `plackettLuceList` on the same
 * log-probs, and the Plackett–Luce loss computed here in Float64 from each sequence's log-prob
 * scored alone (top-1 and ordered); a loss without a list form is refused; `listwise: true` in a
 * run config trains one list per prompt (h = 2: two losers each) and is refused with other losses.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { referenceOps, refToArraySync } from "../backends/reference.ts";
import { plackettLuceList } from "../losses/plackett-luce.ts";
import { lossRegistry } from "../losses/registry.ts";
import { makeConfig } from "../models/config.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { decodeRunConfig } from "../selfplay/config.ts";
import { listsByPrompt } from "../selfplay/listwise.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { alphaSpinGradients, type TrainingPair } from "../train/step.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

await tf.setBackend("cpu");
const model = createTransformer(
  makeConfig({ family: "gpt2", vocabSize: 32, hiddenSize: 8, numLayers: 1, numHeads: 2, maxPositions: 16 }),
  { seed: 4, initStd: 0.3 },
);
const policy = new TransformerPolicy(model);

// Prompt 0: the data answer and three losers; prompt 1: the data answer and one loser (padded).
const lists = [
  { prompt: [1, 2], answers: [[4, 5, 6], [8], [9, 3], [11, 12, 13]], ref: [-9, -4, -7, -10] },
  { prompt: [3], answers: [[7], [10, 2]], ref: [-3.5, -6] },
];
const batch: TrainingPair[] = lists.map((l) => ({
  promptIds: l.prompt,
  chosenIds: l.answers[0],
  rejectedIds: l.answers[1],
  lpRefChosen: l.ref[0],
  lpRefRejected: l.ref[1],
  moreRejected: l.answers.slice(2).map((ids, j) => ({ ids, lpRef: l.ref[2 + j] })),
}));

/** Each sequence's log-prob scored alone, by list. */
const scoredAlone = async (): Promise<number[][]> =>
  await Promise.all(lists.map(async (l) => (await policy.sequenceLogProbs(l.answers.map(() => l.prompt), l.answers)).logProbs));

/** Plackett–Luce in Float64: top-1 logsumexp_j r_j − r_0, or the full ranking's sum over stages. */
const plackettLuce64 = (lp: number[][], beta: number, ranking: "top1" | "ordered"): number => {
  const perList = lists.map((l, b) => {
    const r = lp[b].map((x, j) => beta * (x - l.ref[j]));
    const stage = (i: number) => {
      const rest = r.slice(i), m = Math.max(...rest);
      return m + Math.log(rest.reduce((s, x) => s + Math.exp(x - m), 0)) - r[i];
    };
    let loss = stage(0);
    if (ranking === "ordered") for (let i = 1; i < r.length - 1; i++) loss += stage(i);
    return loss;
  });
  return perList.reduce((s, x) => s + x, 0) / perList.length;
};

for (const ranking of ["top1", "ordered"] as const) {
  test(`a batch of lists (K = 3 and K = 1, padded): the loss of losses/ and of Float64 Plackett–Luce (${ranking})`, async () => {
    const before = tf.memory().numTensors;
    const lossParams = { beta: 0.7, ranking };
    const out = alphaSpinGradients({ loss: lossRegistry.get("plackett_luce"), lossParams }, policy, policy.trainableVariables(), batch);
    const stepLoss = out.pack.dataSync()[0];
    assert.ok(out.grads.every((g) => g !== undefined) && out.grads.length === policy.trainableVariables().length);
    tf.dispose([...out.grads, out.pack]);
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    const lp = await scoredAlone();
    assertClose([stepLoss], [plackettLuce64(lp, 0.7, ranking)], { atol: 1e-5 });
    const width = 4, pad = (xs: number[], fill: number) => [...xs, ...Array(width - xs.length).fill(fill)];
    const grid = (f: (b: number) => number[], fill: number) => referenceOps.fromArray(lists.flatMap((_, b) => pad(f(b), fill)), [2, width]);
    const fromLosses = plackettLuceList(referenceOps)({
      policy: grid((b) => lp[b], 123), // padding holds anything: the mask removes it
      ref: grid((b) => lists[b].ref, -5),
      mask: grid((b) => lists[b].answers.map(() => 1), 0),
    }, lossParams).loss;
    const values = Array.from(refToArraySync(fromLosses));
    assertClose([stepLoss], [(values[0] + values[1]) / 2], { atol: 1e-5 });
  });
}

test("a loss without a list form is refused for lists", () => {
  assert.throws(
    () => alphaSpinGradients({ loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } }, policy, policy.trainableVariables(), batch),
    /loss "sigmoid" has no list form.*plackett_luce/,
  );
});

test("listsByPrompt folds each prompt's pairs into one list, in first-appearance order", () => {
  const pair = (r: number): TrainingPair => ({ promptIds: [1], chosenIds: [2], rejectedIds: [r], lpRefChosen: -1, lpRefRejected: -r });
  const folded = listsByPrompt([pair(3), pair(4), pair(5), pair(6)], [0, 1, 0, 0]);
  assert.deepEqual(folded.map((p) => [p.rejectedIds, p.moreRejected]), [
    [[3], [{ ids: [5], lpRef: -5 }, { ids: [6], lpRef: -6 }]],
    [[4], []],
  ]);
});

test("listwise in a run config: refused without plackett_luce or with method sppo; h = 2 trains one list per prompt", async () => {
  const bad = decodeRunConfig({ name: "x", data: { train: "t.jsonl" }, listwise: true });
  assert.ok(bad._tag === "Left" && /listwise: needs a loss with a list form \("plackett_luce"\), got loss.name "sigmoid"/.test(bad.left.message));
  const sppo = decodeRunConfig({ name: "x", data: { train: "t.jsonl" }, listwise: true, method: "sppo", loss: { name: "plackett_luce" } });
  assert.ok(sppo._tag === "Left" && /listwise: needs method "spin"/.test(sppo.left.message));
  const fixture = await setupFixture();
  try {
    // LoRA dropout off: its masks follow the row order, which lists and pairs lay out differently.
    const lora = { r: 2, alpha: 4, dropout: 0 };
    const config = smallConfig(fixture, { name: "listwise", h: 2, listwise: true, loss: { name: "plackett_luce" }, lora });
    const run = await runSelfPlay({ config });
    // 4 prompts, batch 2, 2 epochs: 4 steps per iteration, lists or not (iteration 2 has 8 pairs, 2 per prompt).
    assert.deepEqual([1, 2].map((t) => run.metrics.filter((m) => m.iteration === t).length), [4, 4]);
    assert.ok(run.metrics.every((m) => Number.isFinite(m.loss)));
    const pairs = smallConfig(fixture, { name: "pairs", h: 2, loss: { name: "plackett_luce" }, lora });
    const byPairs = await runSelfPlay({ config: pairs });
    assert.deepEqual([1, 2].map((t) => byPairs.metrics.filter((m) => m.iteration === t).length), [4, 8]);
    // Iteration 1 (one loser per prompt) is the same computation either way: PL with K = 1 is DPO.
    const first = (ms: typeof run.metrics) => ms.filter((m) => m.iteration === 1).map((m) => m.loss);
    assertClose(first(run.metrics), first(byPairs.metrics), { atol: 1e-5 });
  } finally {
    await fixture.cleanup();
  }
}, { timeout: 120_000 });
