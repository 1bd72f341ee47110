/**
 * The functional core and the loss family cross-checked on tfjs (cpu and wasm): golden values to
 * float32 tolerance, the property kit, gradient signs and values through tf.grad, zero gradient of
 * the hinge past its margin, finite gradients at margins of ±1e3, gradient-free references in
 * alphaSpin, token log-probs (and their gradient) against a direct log-softmax, and the listwise
 * Plackett–Luce loss (values and gradient against PyTorch, the list property kit).
 */
import * as tf from "@tensorflow/tfjs";
import { loadBackend } from "../backends/load.ts";
import { tfjsOps as ops } from "../backends/tfjs.ts";
import { tokenLogProbs } from "../core/logprob.ts";
import {
  alphaSpin,
  lossRegistry,
  plackettLuceList,
  plackettLuceListLoss,
  sigmoidLoss,
} from "../losses/mod.ts";
import { checkListLossProperties, checkLossProperties } from "../testing.ts";
import { assert, assertClose, test } from "./harness.ts";
import {
  goldenCases,
  goldenLossName,
  LIST_BETA,
  LIST_MASK,
  LIST_POLICY,
  LIST_REF,
  PC,
  PL_ORDERED_GOLDEN,
  PL_TOP1_GOLDEN,
  PL_TOP1_GRAD_GOLDEN,
  PR,
  RC,
  RR,
} from "./losses.golden-cases.ts";

const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
const values = async (t: tf.Tensor) => Array.from(await ops.toArray(t));
const F32 = { atol: 1e-4, rtol: 2e-5 };

/** Extra inputs a loss needs, with plausible values, for a batch of `b`. */
const extrasFor = (name: string, b: number): Record<string, tf.Tensor> => {
  const fill = (x: number) => ops.fill([b], x);
  const needs = lossRegistry.get(name).requires ?? [];
  const table: Record<string, () => tf.Tensor> = {
    chosenTokens: () => fill(7),
    rejectedTokens: () => fill(3),
    sftNll: () => fill(2),
    winRateChosen: () => fill(0.8),
    winRateRejected: () => fill(0.3),
  };
  return Object.fromEntries(needs.map((n) => [n, table[n]()]));
};

for (const backend of ["cpu", "wasm"] as const) {
  const use = async () => {
    await loadBackend(backend);
    assert.equal(ops.name, `tfjs-${backend}`);
  };

  test(`tfjs ${backend}: golden values of every loss to float32 tolerance`, async () => {
    await use();
    for (const [key, { params, extra, value }] of Object.entries(goldenCases)) {
      const got = tf.tidy(() => {
        const extras = Object.fromEntries(Object.entries(extra ?? {}).map(([k, xs]) => [k, v(xs)]));
        const pair = { policyChosen: v(PC), policyRejected: v(PR), refChosen: v(RC), refRejected: v(RR), ...extras };
        return lossRegistry.get(goldenLossName(key)).compute(ops)(pair, params).loss;
      });
      assertClose(await values(got), value, { ...F32, message: `${key} on ${backend}` });
      got.dispose();
    }
  });

  test(`tfjs ${backend}: the property kit passes for every loss`, async () => {
    await use();
    const before = tf.memory().numTensors;
    for (const loss of lossRegistry.all()) await checkLossProperties(ops, loss, { numRuns: 8 });
    assert.ok(tf.memory().numTensors - before < 10, `the kit leaked ${tf.memory().numTensors - before} tensors`);
  });

  test(`tfjs ${backend}: DPO gradients are −βσ(−βh) for the winner and its negative for the loser`, async () => {
    await use();
    const hs = [-30, -2, -0.5, 0, 0.5, 3, 40];
    for (const beta of [0.1, 0.5]) {
      const grads = tf.grads((pc: tf.Tensor, pr: tf.Tensor) =>
        ops.mean(lossRegistry.get("sigmoid").compute(ops)({
          policyChosen: pc,
          policyRejected: pr,
          refChosen: ops.fill([hs.length], -10),
          refRejected: ops.fill([hs.length], -10),
        }, { beta }).loss)
      );
      const [gw, gl] = grads([v(hs.map((x) => x - 10)), ops.fill([hs.length], -10)]);
      // mean over B divides each example's gradient by B.
      const expected = hs.map((x) => -beta / (1 + Math.exp(beta * x)) / hs.length);
      assertClose(await values(gw), expected, { atol: 1e-7, rtol: 1e-5 });
      assertClose(await values(gl), expected.map((x) => -x), { atol: 1e-7, rtol: 1e-5 });
      assert.ok((await values(gw)).every((g) => g < 0));
    }
  });

  test(`tfjs ${backend}: hinge has zero loss and zero gradient once βh ≥ 1`, async () => {
    await use();
    const beta = 0.5, hs = [2, 2.5, 10, 1000];
    const f = (pc: tf.Tensor) =>
      ops.sum(lossRegistry.get("hinge").compute(ops)({
        policyChosen: pc,
        policyRejected: ops.fill([hs.length], -5),
        refChosen: ops.fill([hs.length], -5),
        refRejected: ops.fill([hs.length], -5),
      }, { beta }).loss);
    const pc = v(hs.map((x) => x - 5));
    assertClose(await values(f(pc)), [0]);
    assertClose(await values(tf.grad(f)(pc)), [0, 0, 0, 0]);
    const below = v([1.5 - 5]);
    const fb = (x: tf.Tensor) =>
      ops.sum(lossRegistry.get("hinge").compute(ops)({ policyChosen: x, policyRejected: v([-5]), refChosen: v([-5]), refRejected: v([-5]) }, { beta }).loss);
    assertClose(await values(tf.grad(fb)(below)), [-beta], { atol: 1e-7 });
  });

  test(`tfjs ${backend}: every loss has finite gradients at margins of ±1e3`, async () => {
    await use();
    const a = [-1000, -500, 0, 500, 1000];
    const aw = a.flatMap((x) => a.map(() => x)), al = a.flatMap(() => a);
    const b = aw.length;
    for (const loss of lossRegistry.all()) {
      const [gw, gl] = tf.tidy(() =>
        tf.grads((pc: tf.Tensor, pr: tf.Tensor) =>
          ops.sum(loss.compute(ops)({
            policyChosen: pc,
            policyRejected: pr,
            refChosen: ops.fill([b], -50),
            refRejected: ops.fill([b], -50),
            ...extrasFor(loss.name, b),
          }).loss)
        )([v(aw.map((x) => x - 50)), v(al.map((x) => x - 50))])
      );
      for (const g of [gw, gl]) {
        const xs = await values(g);
        assert.ok(xs.every(Number.isFinite), `${loss.name} on ${backend}: gradient ${xs}`);
        g.dispose();
      }
    }
  });

  test(`tfjs ${backend}: alphaSpin passes no gradient to the references`, async () => {
    await use();
    const [gPrev, gBase, gPolicy] = tf.grads((prev: tf.Tensor, base: tf.Tensor, pc: tf.Tensor) =>
      ops.sum(alphaSpin(ops)("sigmoid", {
        alpha: 0.4,
        policyChosen: pc,
        policyRejected: v([-12, -3]),
        lpPrevChosen: prev,
        lpPrevRejected: v([-11, -4]),
        lpBaseChosen: base,
        lpBaseRejected: v([-13, -2]),
      }).loss)
    )([v([-10, -5]), v([-9, -6]), v([-10, -4])]);
    assertClose(await values(gPrev), [0, 0]);
    assertClose(await values(gBase), [0, 0]);
    assert.ok((await values(gPolicy)).every((g) => g < 0));
  });

  test(`tfjs ${backend}: Plackett–Luce on a padded list: values and gradient match PyTorch`, async () => {
    await use();
    const matrix = (rows: number[][]) => ops.fromArray(rows.flat(), [rows.length, rows[0].length]);
    const [ref, mask] = [matrix(LIST_REF), matrix(LIST_MASK)];
    for (const [ranking, golden] of [["top1", PL_TOP1_GOLDEN], ["ordered", PL_ORDERED_GOLDEN]] as const) {
      const out = plackettLuceList(ops)({ policy: matrix(LIST_POLICY), ref, mask }, { beta: LIST_BETA, ranking });
      assertClose(await values(out.loss), golden, { ...F32, message: `${ranking} on ${backend}` });
      tf.dispose([out.loss, ...Object.values(out.metrics)]);
    }
    // d Σ loss / d lp_θ: softmax(r) − onehot(0), times β; zero for the padded column.
    const grad = tf.grad((policy: tf.Tensor) => ops.sum(plackettLuceList(ops)({ policy, ref, mask }, { beta: LIST_BETA }).loss));
    assertClose(await values(grad(matrix(LIST_POLICY))), PL_TOP1_GRAD_GOLDEN.flat(), { atol: 1e-6 });
  });

  test(`tfjs ${backend}: the list property kit passes for Plackett–Luce`, async () => {
    await use();
    const before = tf.memory().numTensors;
    await checkListLossProperties(ops, plackettLuceListLoss, { pairwise: sigmoidLoss, numRuns: 10 });
    await checkListLossProperties(ops, plackettLuceListLoss, { params: { ranking: "ordered" }, numRuns: 10 });
    assert.ok(tf.memory().numTensors - before < 10, `the kit leaked ${tf.memory().numTensors - before} tensors`);
  });

  test(`tfjs ${backend}: token log-probs and their gradient match a direct log-softmax`, async () => {
    await use();
    const [b, l, vocab] = [2, 3, 5];
    const logits = Array.from({ length: b * l * vocab }, (_, i) => Math.cos(i * 2.3) * 4);
    const ids = [4, 0, 2, 1, 3, 3];
    const x = ops.fromArray(logits, [b, l, vocab]);
    const lp = await values(tokenLogProbs(ops)(x, ops.fromInts(ids, [b, l])));
    const rows = ids.map((_, r) => logits.slice(r * vocab, (r + 1) * vocab));
    const lse = rows.map((row) => Math.log(row.reduce((s, z) => s + Math.exp(z), 0)));
    assertClose(lp, ids.map((k, r) => rows[r][k] - lse[r]), F32);
    // d/dlogits Σ log p(target) = onehot − softmax.
    const g = await values(tf.grad((t: tf.Tensor) => ops.sum(tokenLogProbs(ops)(t, ops.fromInts(ids, [b, l]))))(x));
    const expected = rows.flatMap((row, r) => row.map((z, k) => (k === ids[r] ? 1 : 0) - Math.exp(z - lse[r])));
    assertClose(g, expected, { atol: 1e-5 });
  });
}
