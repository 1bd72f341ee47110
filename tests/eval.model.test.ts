/**
 * Model-facing evaluation (eval/evaluate.ts) on a tiny random byte-level model: every metric agrees
 * with a hand computation from the model's raw logits (one unpadded full forward per sequence, a
 * plain-JS log-softmax), never with the scoring code itself.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { answerDistribution, enumerateSyntheticPrompts, isSyntheticCorrect } from "../data/synthetic.ts";
import {
  encodePair,
  exactMatchEval,
  greedyCompletions,
  heldOutNll,
  klToKnownDistribution,
  multipleChoiceEval,
  scoreCompletions,
} from "../eval/evaluate.ts";
import { evaluateSynthetic } from "../eval/evaluate-synthetic.ts";
import { makeConfig } from "../models/config.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { createTransformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const tokenizer = new ByteTokenizer();
const config = makeConfig({
  family: "gpt2",
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 8,
  numLayers: 1,
  numHeads: 2,
  maxPositions: 48,
  bosTokenId: 258,
  eosTokenIds: [256],
  padTokenId: 257,
});
// A larger init spread makes the distributions far from uniform, so argmaxes and sums are distinct.
const model = createTransformer(config, { seed: 3, initStd: 0.5, trainable: false });
const policy = new TransformerPolicy(model);
const evalModel = { policy, tokenizer };

/** Log-softmax rows of one unpadded sequence, in plain JS. */
const logSoftmaxRows = (ids: readonly number[]): number[][] => {
  const logits = tf.tidy(() => model.logits(tf.tensor2d([[...ids]], [1, ids.length], "int32"), tf.ones([1, ids.length])));
  const flat = Array.from(logits.dataSync());
  logits.dispose();
  const v = config.vocabSize;
  return ids.map((_, j) => {
    const row = flat.slice(j * v, (j + 1) * v);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    return row.map((x) => x - lse);
  });
};

/** log π(completion | prompt) by hand: BOS + prompt bytes, then completion bytes (+ EOS). */
const handLogProb = (prompt: string, completion: string, eos = true): { lp: number; tokens: number } => {
  const promptIds = [258, ...new TextEncoder().encode(prompt)];
  const completionIds = [...new TextEncoder().encode(completion), ...(eos ? [256] : [])];
  const ids = [...promptIds, ...completionIds];
  const rows = logSoftmaxRows(ids);
  let lp = 0;
  for (let j = promptIds.length; j < ids.length; j++) lp += rows[j - 1][ids[j]];
  return { lp, tokens: completionIds.length };
};

/** Greedy decoding by hand: full forward each step, argmax, stop at EOS. */
const handGreedy = (prompt: string, maxNewTokens: number): string => {
  const ids = [258, ...new TextEncoder().encode(prompt)];
  const out: number[] = [];
  for (let k = 0; k < maxNewTokens; k++) {
    const rows = logSoftmaxRows(ids);
    const last = rows[rows.length - 1];
    let best = 0;
    for (let i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
    if (best === 256) break;
    out.push(best);
    ids.push(best);
  }
  return tokenizer.decode(out, { skipSpecialTokens: true });
};

const pairs = [
  { prompt: "add 3 4\n", completion: "= 7" },
  { prompt: "rev abc\n", completion: "cba" },
  { prompt: "cap peru\n", completion: "it is lima" },
];

test("encodePair puts BOS before the prompt and EOS after the completion", () => {
  assert.deepEqual(encodePair(tokenizer, { prompt: "ab", completion: "c" }), { promptIds: [258, 97, 98], completionIds: [99, 256] });
  assert.deepEqual(encodePair(tokenizer, { prompt: "", completion: "c" }, { addEos: false }), { promptIds: [258], completionIds: [99] });
});

test("scoreCompletions equals the hand log-softmax sum, in one or several batches", async () => {
  const hand = pairs.map((p) => handLogProb(p.prompt, p.completion));
  for (const batchSize of [1, 2, 64]) {
    const got = await scoreCompletions(evalModel, pairs, { batchSize });
    assertClose(got.logProbs, hand.map((h) => h.lp), { atol: 1e-4, message: `batch ${batchSize}` });
    assert.deepEqual(got.tokenCounts, hand.map((h) => h.tokens));
  }
});

test("heldOutNll is the token-weighted NLL of the hand log-probs", async () => {
  const hand = pairs.map((p) => handLogProb(p.prompt, p.completion));
  const tokens = hand.reduce((a, h) => a + h.tokens, 0);
  const nll = -hand.reduce((a, h) => a + h.lp, 0);
  const bytes = pairs.reduce((a, p) => a + p.completion.length, 0);
  const s = await heldOutNll(evalModel, pairs);
  assertClose([s.nllPerToken, s.perplexity, s.bitsPerByte ?? NaN], [nll / tokens, Math.exp(nll / tokens), nll / (Math.LN2 * bytes)], {
    rtol: 1e-5,
  });
  assert.equal(s.tokens, tokens);
});

test("klToKnownDistribution is the weighted mean of Σ p (log p − log π) over each support", async () => {
  const items = [
    { prompt: "add 3 4\n", weight: 3, support: answerDistribution("add 3 4\n") },
    { prompt: "rev abc\n", weight: 1, support: answerDistribution("rev abc\n") },
  ];
  const perPrompt = items.map((it) =>
    it.support.reduce((a, y) => a + y.prob * (Math.log(y.prob) - handLogProb(it.prompt, y.completion).lp), 0)
  );
  const mass = items.map((it) => it.support.reduce((a, y) => a + Math.exp(handLogProb(it.prompt, y.completion).lp), 0));
  const r = await klToKnownDistribution(evalModel, items);
  assertClose(r.perPrompt, perPrompt, { rtol: 1e-5 });
  assertClose([r.kl, r.massOnSupport], [(3 * perPrompt[0] + perPrompt[1]) / 4, (3 * mass[0] + mass[1]) / 4], { rtol: 1e-5 });
  assert.ok(r.kl > 0, "a random model is far from p_data");
});

test("greedyCompletions and exactMatchEval follow the hand argmax decoding", async () => {
  const prompts = ["add 3 4\n", "up abc\n", "cap peru\n"];
  const hand = prompts.map((p) => handGreedy(p, 6));
  assert.ok(hand.some((h) => h.length > 0), "the random model generates something before EOS");
  assert.deepEqual(await greedyCompletions(evalModel, prompts, { maxNewTokens: 6 }), hand);
  // Reference = the model's own greedy answer for the first two prompts: exactly those two match.
  const items = prompts.map((prompt, i) => ({ prompt, answer: i < 2 ? hand[i] : hand[i] + "x", weight: i === 0 ? 2 : 1 }));
  const r = await exactMatchEval(evalModel, items, { maxNewTokens: 6, isCorrect: (_p, g, ref) => g === ref });
  assert.deepEqual(r.predictions.map((p) => p.correct), [true, true, false]);
  assertClose([r.accuracy], [3 / 4], { atol: 1e-12 });
});

test("multipleChoiceEval picks the argmax of the hand log-likelihoods (acc) and of their per-character means (acc_norm)", async () => {
  const rows = [
    { context: "cap peru", choices: ["lima", "x", "oslo"], label: 0 },
    { context: "add 1 1", choices: ["2", "22222"], label: 1 },
  ];
  const argmax = (xs: number[]): number => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);
  const expected = rows.map((row) => {
    const ll = row.choices.map((c) => handLogProb(row.context, " " + c, false).lp);
    return {
      acc: argmax(ll) === row.label ? 1 : 0,
      accNorm: argmax(ll.map((x, i) => x / row.choices[i].length)) === row.label ? 1 : 0,
    };
  });
  const s = await multipleChoiceEval(evalModel, rows);
  assert.deepEqual(s.predictions.map((p) => ({ acc: p.acc, accNorm: p.accNorm })), expected);
  assertClose([s.acc, s.accNorm], [
    (expected[0].acc + expected[1].acc) / 2,
    (expected[0].accNorm + expected[1].accNorm) / 2,
  ], { atol: 1e-12 });
});

test("evaluateSynthetic combines exact match, KL and NLL over weighted prompts, per family", async () => {
  const prompts = enumerateSyntheticPrompts().filter((_, i) => i % 91 === 0); // 5 prompts, 4 families
  const heldOut = [{ prompt: "add 3 4\n", completion: "7" }];
  const r = await evaluateSynthetic(evalModel, { prompts, heldOut, maxNewTokens: 6 });
  const total = prompts.reduce((a, p) => a + p.weight, 0);
  const kl = prompts.reduce((a, p) =>
    a + p.weight * answerDistribution(p.prompt).reduce((s, y) => s + y.prob * (Math.log(y.prob) - handLogProb(p.prompt, y.completion).lp), 0), 0) / total;
  const em = prompts.reduce((a, p) => a + p.weight * (isSyntheticCorrect(p.prompt, handGreedy(p.prompt, 6)) ? 1 : 0), 0) / total;
  const h = handLogProb("add 3 4\n", "7");
  assertClose([r.kl, r.exactMatch, r.heldOutNll], [kl, em, -h.lp / h.tokens], { rtol: 1e-5, atol: 1e-9 });
  assert.deepEqual(Object.keys(r.klByFamily).sort(), ["add", "cap", "rev", "up"]);
  assert.equal(r.prompts, prompts.length);
});
