/**
 * `Deno.bench` of core/logprob.ts on the reference backend and on tfjs-wasm: token log-probs by
 * gather − logsumexp and per-sequence sums, at the tiny benchmark configuration's shape
 * (2·8 sequences of 64 tokens, vocabulary 256). Run: `deno bench -A bench/logprob.bench.ts`.
 *
 * @module
 */
import { completionMask, nextTokenLogProbs, sequenceLogProbs } from "../core/logprob.ts";
import { benchOps, floats, ints, settle } from "./ops.ts";

const rows = 16, time = 64, vocab = 256;
const logitValues = floats(rows * time * vocab, 1, -4, 4);
const idValues = ints(rows * time, vocab, 2);

for (const { name, ops } of benchOps) {
  const logits = ops.fromArray(logitValues, [rows, time, vocab]);
  const ids = ops.fromInts(idValues, [rows, time]);
  const mask = completionMask(ops)(new Array(rows).fill(16), new Array(rows).fill(time), time - 1, {
    forNextToken: true,
  });
  Deno.bench({
    name: `nextTokenLogProbs [${rows},${time},${vocab}] ${name}`,
    group: "token log-probs",
    baseline: name === "reference",
    fn: () => settle(ops, () => nextTokenLogProbs(ops)(logits, ids)),
  });
  Deno.bench({
    name: `sequenceLogProbs (masked sum) ${name}`,
    group: "sequence log-probs",
    baseline: name === "reference",
    fn: () => settle(ops, () => sequenceLogProbs(ops)(logits, ids, mask).sum),
  });
}
