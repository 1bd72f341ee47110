/**
 * core/logprob.ts on referenceOps: token log-probs equal a direct log-softmax (plain JS), the
 * shift-by-one convention, completion masks for right and left padding, masked sums that ignore
 * prompt and padding positions, and finiteness at logits of ±1e3.
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import {
  completionMask,
  maskedCount,
  maskedMean,
  maskedSum,
  nextTokenLogProbs,
  sequenceLogProbs,
  tokenLogProbs,
} from "../core/logprob.ts";
import { assert, assertClose, test } from "./harness.ts";

/** log softmax(row)[k] by the textbook formula, in plain JS (max-shifted). */
const logSoftmaxAt = (row: number[], k: number): number => {
  const m = Math.max(...row);
  return row[k] - m - Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
};

const values = async (t: ReturnType<typeof ops.scalar>) => Array.from(await ops.toArray(t));

const logitCase = fc.record({ b: fc.integer({ min: 1, max: 3 }), l: fc.integer({ min: 1, max: 4 }), v: fc.integer({ min: 2, max: 6 }) })
  .chain(({ b, l, v }) =>
    fc.record({
      b: fc.constant(b),
      l: fc.constant(l),
      v: fc.constant(v),
      logits: fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: b * l * v, maxLength: b * l * v }),
      targets: fc.array(fc.integer({ min: 0, max: v - 1 }), { minLength: b * l, maxLength: b * l }),
    })
  );

test("tokenLogProbs equals a direct log-softmax on small inputs", async () => {
  await fc.assert(
    fc.asyncProperty(logitCase, async ({ b, l, v, logits, targets }) => {
      const lp = tokenLogProbs(ops)(ops.fromArray(logits, [b, l, v]), ops.fromInts(targets, [b, l]));
      assert.deepEqual(ops.shape(lp), [b, l]);
      const expected = targets.map((k, i) => logSoftmaxAt(logits.slice(i * v, (i + 1) * v), k));
      assertClose(await values(lp), expected, { atol: 1e-12, rtol: 1e-12 });
    }),
    { numRuns: 60, seed: 11 },
  );
});

test("tokenLogProbs is finite at logits of ±1e3", async () => {
  const logits = ops.fromArray([1000, -1000, 0, -1000, 1000, 1000], [1, 2, 3]);
  const lp = await values(tokenLogProbs(ops)(logits, ops.fromInts([1, 0], [1, 2])));
  assertClose(lp, [-2000, -2000 - Math.LN2], { atol: 1e-9 });
  assert.ok(lp.every(Number.isFinite));
});

test("nextTokenLogProbs: logits[:, t] scores ids[:, t + 1]", async () => {
  // B = 1, T = 3, V = 2: logits row t favours token (t % 2) strongly.
  const logits = [5, 0, 0, 5, 5, 0];
  const ids = [1, 1, 0];
  const lp = await values(nextTokenLogProbs(ops)(ops.fromArray(logits, [1, 3, 2]), ops.fromInts(ids, [1, 3])));
  // position 0: logits [5, 0] predict ids[1] = 1; position 1: logits [0, 5] predict ids[2] = 0.
  assertClose(lp, [logSoftmaxAt([5, 0], 1), logSoftmaxAt([0, 5], 0)], { atol: 1e-12 });
  assert.throws(() => nextTokenLogProbs(ops)(ops.fromArray(logits, [1, 3, 2]), ops.fromInts([1, 1], [1, 2])), /must be/);
});

test("completionMask: right padding, left padding and the next-token layout", async () => {
  // row 0 = [p p c c], row 1 = [p c pad pad]
  assertClose(await values(completionMask(ops)([2, 1], [4, 2], 4)), [0, 0, 1, 1, 0, 1, 0, 0]);
  // row 1 left-padded: [pad pad p c]
  assertClose(await values(completionMask(ops)([2, 1], [4, 2], 4, { offsets: [0, 2] })), [0, 0, 1, 1, 0, 0, 0, 1]);
  // next-token layout (T − 1 = 3 columns): column j scores token j + 1
  assertClose(await values(completionMask(ops)([2, 1], [4, 2], 3, { forNextToken: true })), [0, 1, 1, 1, 0, 0]);
  assert.throws(() => completionMask(ops)([3], [2], 4), /prompt/);
  assert.throws(() => completionMask(ops)([1], [5], 4), /does not fit/);
  assert.throws(() => completionMask(ops)([1, 1], [2], 4), /total lengths/);
});

test("maskedSum and maskedMean ignore prompt and padding positions", async () => {
  const rows = fc.record({
    prompt: fc.integer({ min: 0, max: 3 }),
    completion: fc.integer({ min: 0, max: 3 }),
    pad: fc.integer({ min: 0, max: 2 }),
    left: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(rows, { minLength: 1, maxLength: 3 }),
      fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 30, maxLength: 30 }),
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 30, maxLength: 30 }),
      async (spec, vals, junk) => {
        const length = Math.max(...spec.map((r) => r.prompt + r.completion + r.pad));
        const prompts = spec.map((r) => r.prompt), totals = spec.map((r) => r.prompt + r.completion);
        const offsets = spec.map((r) => (r.left ? length - r.prompt - r.completion : 0));
        const mask = completionMask(ops)(prompts, totals, length, { offsets });
        const m = await values(mask);
        const x = vals.slice(0, spec.length * length);
        // Junk written at every position outside the completion must not change the result.
        const withJunk = x.map((xi, i) => (m[i] === 1 ? xi : junk[i]));
        const t = (xs: number[]) => ops.fromArray(xs, [spec.length, length]);
        const sums = await values(maskedSum(ops)(t(x), mask));
        assertClose(await values(maskedSum(ops)(t(withJunk), mask)), sums, { atol: 1e-12 });
        const expectedSums = spec.map((r, i) => {
          let s = 0;
          for (let j = offsets[i] + r.prompt; j < offsets[i] + r.prompt + r.completion; j++) s += x[i * length + j];
          return s;
        });
        assertClose(sums, expectedSums, { atol: 1e-12 });
        assertClose(await values(maskedCount(ops)(mask)), spec.map((r) => r.completion));
        assertClose(
          await values(maskedMean(ops)(t(withJunk), mask)),
          expectedSums.map((s, i) => (spec[i].completion === 0 ? 0 : s / spec[i].completion)),
          { atol: 1e-12 },
        );
      },
    ),
    { numRuns: 60, seed: 12 },
  );
});

test("sequenceLogProbs sums next-token log-probs over completion tokens only", async () => {
  // B = 2, T = 4, V = 3, random logits; row 0: prompt 2 + completion 2; row 1: prompt 1 + completion 1, right-padded.
  const logits = Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i * 1.7) * 3);
  const ids = [0, 2, 1, 2, 1, 0, 0, 0];
  const mask = completionMask(ops)([2, 1], [4, 2], 3, { forNextToken: true });
  const { sum, mean, tokens } = sequenceLogProbs(ops)(ops.fromArray(logits, [2, 4, 3]), ops.fromInts(ids, [2, 4]), mask);
  const lp = (b: number, t: number) => logSoftmaxAt(logits.slice((b * 4 + t) * 3, (b * 4 + t + 1) * 3), ids[b * 4 + t + 1]);
  const row0 = lp(0, 1) + lp(0, 2); // tokens 2 and 3 are the completion
  const row1 = lp(1, 0); // token 1 is the completion
  assertClose(await values(sum), [row0, row1], { atol: 1e-12 });
  assertClose(await values(mean), [row0 / 2, row1], { atol: 1e-12 });
  assertClose(await values(tokens), [2, 1]);
  assert.throws(() => sequenceLogProbs(ops)(ops.fromArray(logits, [2, 4, 3]), ops.fromInts(ids, [2, 4]), ops.fill([2, 4], 1)), /mask/);
});
