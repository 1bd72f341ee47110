/**
 * core/mixture.ts on referenceOps: the geometric reference (endpoints, affine in α), the
 * arithmetic reference against plain-JS log Σ w·p (stable far in the tails), weight validation,
 * the (β, λ) ↔ (β', α) round trip, and the Monte Carlo log-normalizer.
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import {
  arithmeticReference,
  betaAlphaToKlWeights,
  geometricLogPartition,
  geometricReference,
  klWeightsToBetaAlpha,
  mixtureWeights,
} from "../core/mixture.ts";
import { assert, assertClose, test } from "./harness.ts";

const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
const values = async (t: ReturnType<typeof v>) => Array.from(await ops.toArray(t));
const lp = fc.double({ min: -500, max: 0, noNaN: true });
const unit = fc.double({ min: 0, max: 1, noNaN: true });

test("geometricReference: α = 1 is lpPrev, α = 0 is lpBase, affine in α between", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(lp, lp), { minLength: 1, maxLength: 4 }), unit, async (rows, alpha) => {
      const prev = v(rows.map((r) => r[0])), base = v(rows.map((r) => r[1]));
      assertClose(await values(geometricReference(ops)(1, prev, base)), rows.map((r) => r[0]));
      assertClose(await values(geometricReference(ops)(0, prev, base)), rows.map((r) => r[1]));
      // Affine: ref(α) = lpBase + α·(lpPrev − lpBase).
      assertClose(
        await values(geometricReference(ops)(alpha, prev, base)),
        rows.map(([p, b]) => b + alpha * (p - b)),
        { atol: 1e-9, rtol: 1e-12 },
      );
    }),
    { numRuns: 60, seed: 21 },
  );
  assert.throws(() => geometricReference(ops)(1.5, v([0]), v([0])), /alpha must be a number in \[0, 1\]/);
  assert.throws(() => geometricReference(ops)(-0.1, v([0]), v([0])), /alpha/);
  assert.throws(() => geometricReference(ops)(Number.NaN, v([0]), v([0])), /alpha/);
});

test("arithmeticReference equals log Σ w·exp(lp), also for lp far in the tail", async () => {
  const weights = fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 })
    .map((w) => {
      const s = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / s);
    });
  await fc.assert(
    fc.asyncProperty(weights, fc.array(fc.double({ min: -2000, max: 0, noNaN: true }), { minLength: 8, maxLength: 8 }), async (w, xs) => {
      const k = w.length, b = 2;
      const comps = Array.from({ length: k }, (_, i) => [xs[(2 * i) % 8], xs[(2 * i + 1) % 8]]);
      // Plain JS, shifted by the row max so exp does not underflow at −2000.
      const expected = [0, 1].map((j) => {
        const m = Math.max(...comps.map((c) => c[j]));
        return m + Math.log(comps.reduce((s, c, i) => s + w[i] * Math.exp(c[j] - m), 0));
      });
      const fromList = await values(arithmeticReference(ops)(comps.map((c) => v(c)), w));
      const fromStack = await values(arithmeticReference(ops)(ops.fromArray(comps.flat(), [k, b]), w));
      assertClose(fromList, expected, { atol: 1e-9, rtol: 1e-12 });
      assertClose(fromStack, expected, { atol: 1e-9, rtol: 1e-12 });
    }),
    { numRuns: 60, seed: 22 },
  );
});

test("arithmeticReference: uniform by default, zero weights dropped, hand-derived value", async () => {
  const a = v([Math.log(0.2)]), b = v([Math.log(0.6)]);
  assertClose(await values(arithmeticReference(ops)([a, b])), [Math.log(0.4)], { atol: 1e-12 });
  assertClose(await values(arithmeticReference(ops)([a, b], [0, 1])), [Math.log(0.6)], { atol: 1e-12 });
  assertClose(await values(arithmeticReference(ops)([a, b], [0.25, 0.75])), [Math.log(0.05 + 0.45)], { atol: 1e-12 });
  // A single component is itself.
  assertClose(await values(arithmeticReference(ops)([v([-3, -4])])), [-3, -4], { atol: 1e-12 });
});

test("arithmeticReference rejects bad weights with clear errors", () => {
  const a = v([-1]), b = v([-2]);
  assert.throws(() => arithmeticReference(ops)([a, b], [0.5, 0.6]), /sum to 1/);
  assert.throws(() => arithmeticReference(ops)([a, b], [1.5, -0.5]), /weight 1 must be a finite number >= 0/);
  assert.throws(() => arithmeticReference(ops)([a, b], [1]), /2 components but 1 weights/);
  assert.throws(() => arithmeticReference(ops)([], []), /at least one component/);
  assert.throws(() => arithmeticReference(ops)([a, v([-1, -2])]), /component 1 has shape/);
  // Within 1e-9 of 1 is accepted.
  assert.deepEqual(mixtureWeights(2, [0.5, 0.5 + 5e-10]).length, 2);
});

test("(β, λ) ↔ (β', α) round-trips", () => {
  const weight = fc.double({ min: 1e-6, max: 1e3, noNaN: true });
  fc.assert(
    fc.property(weight, fc.double({ min: 0, max: 1e3, noNaN: true }), (beta, lambda) => {
      const ba = klWeightsToBetaAlpha(beta, lambda);
      assertClose([ba.beta, ba.alpha], [beta + lambda, beta / (beta + lambda)], { atol: 0, rtol: 1e-15 });
      const back = betaAlphaToKlWeights(ba.beta, ba.alpha);
      assertClose([back.beta, back.lambda], [beta, lambda], { atol: 1e-12, rtol: 1e-12 });
    }),
    { numRuns: 200, seed: 23 },
  );
  fc.assert(
    fc.property(weight, unit, (betaPrime, alpha) => {
      const kl = betaAlphaToKlWeights(betaPrime, alpha);
      const back = klWeightsToBetaAlpha(kl.beta, kl.lambda);
      assertClose([back.beta, back.alpha], [betaPrime, alpha], { atol: 1e-12, rtol: 1e-12 });
    }),
    { numRuns: 200, seed: 24 },
  );
  assert.deepEqual(klWeightsToBetaAlpha(0.3, 0), { beta: 0.3, alpha: 1 }); // SPIN
  assert.deepEqual(klWeightsToBetaAlpha(0, 0.2), { beta: 0.2, alpha: 0 }); // DPO against the base
});

test("KL-weight mapping errors", () => {
  assert.throws(() => klWeightsToBetaAlpha(-0.1, 0.1), /beta .* must be a finite number >= 0/);
  assert.throws(() => klWeightsToBetaAlpha(0.1, -0.1), /lambda .* must be a finite number >= 0/);
  assert.throws(() => klWeightsToBetaAlpha(0, 0), /beta \+ lambda must be > 0/);
  assert.throws(() => klWeightsToBetaAlpha(Number.POSITIVE_INFINITY, 0), /finite/);
  assert.throws(() => betaAlphaToKlWeights(0, 0.5), /beta' must be a finite number > 0/);
  assert.throws(() => betaAlphaToKlWeights(0.1, 1.2), /alpha must be a number in \[0, 1\]/);
});

test("geometricLogPartition: the Monte Carlo formula, zero when π_prev = π_base, ≤ 0 exactly", async () => {
  // K = 3 samples of B = 2 prompts.
  const prev = [-1, -2, -3, -4, -0.5, -6], base = [-2, -2, -1, -3, -3, -1];
  const alpha = 0.4;
  const logZ = await values(geometricLogPartition(ops)(alpha, ops.fromArray(prev, [3, 2]), ops.fromArray(base, [3, 2])));
  const expected = [0, 1].map((b) => {
    const terms = [0, 1, 2].map((k) => Math.exp(alpha * (prev[2 * k + b] - base[2 * k + b])));
    return Math.log(terms.reduce((s, x) => s + x, 0) / 3);
  });
  assertClose(logZ, expected, { atol: 1e-12 });
  const same = await values(geometricLogPartition(ops)(alpha, ops.fromArray(base, [3, 2]), ops.fromArray(base, [3, 2])));
  assertClose(same, [0, 0], { atol: 1e-12 });
  // Samples whose empirical distribution is exactly π_base = (¼, ¼, ½) give the exact
  // log Z = log Σ_y π_prev^α π_base^(1−α), which is < 0 by Hölder.
  const pPrev = [0.7, 0.2, 0.1], pBase = [0.25, 0.25, 0.5];
  const samples = [0, 1, 2, 2];
  const exact = Math.log(pPrev.reduce((s, pi, i) => s + pi ** alpha * pBase[i] ** (1 - alpha), 0));
  const estimate = await values(geometricLogPartition(ops)(
    alpha,
    ops.fromArray(samples.map((y) => Math.log(pPrev[y])), [4, 1]),
    ops.fromArray(samples.map((y) => Math.log(pBase[y])), [4, 1]),
  ));
  assertClose(estimate, [exact], { atol: 1e-12 });
  assert.ok(estimate[0] < 0);
  assert.throws(() => geometricLogPartition(ops)(alpha, ops.fromArray(prev, [3, 2]), ops.fromArray(prev, [2, 3])), /shape/);
});
