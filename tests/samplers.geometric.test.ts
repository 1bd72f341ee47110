/**
 * samplers/geometric.ts on referenceOps: the token-level geometric mixture against plain-JS
 * Σ_v p^α q^(1−α) (α ∈ {0, 1} is one model, π_prev = π_base is that model, invariance to a
 * per-position constant, log Z_t ≤ 0), and importance resampling (hand values, systematic counts
 * within floor/ceil of k·w, multinomial frequencies by χ², ESS, errors).
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import { rngFromSeed } from "../core/rng.ts";
import { geometricMixtureLogits, importanceResample, resampleGeometric } from "../samplers/geometric.ts";
import { assert, assertClose, test } from "./harness.ts";
import { CHI2_CRITICAL_001, chiSquare, countValues, logSoftmaxRow } from "./samplers.support.ts";

const mix = geometricMixtureLogits(ops);
const B = 3, V = 5;
const logitsArb = fc.array(fc.double({ min: -40, max: 40, noNaN: true }), {
  minLength: B * V,
  maxLength: B * V,
});
const unit = fc.double({ min: 0, max: 1, noNaN: true });
const rows = (flat: number[]) => Array.from({ length: B }, (_, b) => flat.slice(b * V, (b + 1) * V));
const tensor = (flat: number[]) => ops.fromArray(flat, [B, V]);
const read = async (t: ReturnType<typeof tensor>) => Array.from(await ops.toArray(t));

/** Plain JS: log Z = log Σ_v p^α q^(1−α) and the mixed log-probs of one row pair. */
const expectedRow = (alpha: number, prev: number[], base: number[]) => {
  const lp = logSoftmaxRow(prev), lb = logSoftmaxRow(base);
  const mixed = lp.map((x, v) => alpha * x + (1 - alpha) * lb[v]);
  const m = Math.max(...mixed);
  const logZ = m + Math.log(mixed.reduce((s, x) => s + Math.exp(x - m), 0));
  return { logProbs: mixed.map((x) => x - logZ), logZ };
};

test("geometricMixtureLogits matches Σ_v p_prev^α p_base^(1−α) computed in plain JS, and log Z_t ≤ 0", async () => {
  await fc.assert(
    fc.asyncProperty(unit, logitsArb, logitsArb, async (alpha, prev, base) => {
      const out = mix(alpha, tensor(prev), tensor(base));
      assert.deepEqual(ops.shape(out.logZ), [B]);
      const expected = rows(prev).map((p, b) => expectedRow(alpha, p, rows(base)[b]));
      assertClose(await read(out.logProbs), expected.flatMap((e) => e.logProbs), { atol: 1e-9 });
      const logZ = await read(out.logZ);
      assertClose(logZ, expected.map((e) => Math.min(e.logZ, 0)), { atol: 1e-9 });
      for (const z of logZ) assert.ok(z <= 0, `log Z_t = ${z} > 0`);
    }),
    { numRuns: 80, seed: 61 },
  );
  // Hand value: p = (½, ½), q = (1/5, 4/5), α = ½: Z = √(1/10) + √(4/10) = 3/√10.
  const out = mix(0.5, ops.fromArray([0, 0], [1, 2]), ops.fromArray([0, Math.log(4)], [1, 2]));
  assertClose(await read(out.logZ), [Math.log(3 / Math.sqrt(10))], { atol: 1e-14 });
  assertClose(await read(out.logProbs), [Math.log(1 / 3), Math.log(2 / 3)], { atol: 1e-14 });
});

test("α = 1 returns π_prev, α = 0 returns π_base (log Z = 0), π_prev = π_base returns that model for any α", async () => {
  await fc.assert(
    fc.asyncProperty(
      unit,
      logitsArb,
      logitsArb,
      fc.double({ min: -50, max: 50, noNaN: true }),
      async (alpha, prev, base, c) => {
        const one = mix(1, tensor(prev), tensor(base)), zero = mix(0, tensor(prev), tensor(base));
        assertClose(await read(one.logProbs), rows(prev).flatMap(logSoftmaxRow), { atol: 1e-12 });
        assertClose(await read(zero.logProbs), rows(base).flatMap(logSoftmaxRow), { atol: 1e-12 });
        assert.deepEqual(await read(one.logZ), [0, 0, 0]);
        assert.deepEqual(await read(zero.logZ), [0, 0, 0]);
        // The same model, given with logits shifted by a constant: the mixture is that model, Z = 1.
        const same = mix(alpha, tensor(prev), tensor(prev.map((x) => x + c)));
        assertClose(await read(same.logProbs), rows(prev).flatMap(logSoftmaxRow), { atol: 1e-9 });
        assertClose(await read(same.logZ), [0, 0, 0], { atol: 1e-12 });
      },
    ),
    { numRuns: 60, seed: 62 },
  );
});

test("invariant to adding a per-position constant to either model's logits", async () => {
  await fc.assert(
    fc.asyncProperty(
      unit,
      logitsArb,
      logitsArb,
      fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: B, maxLength: B }),
      async (alpha, prev, base, shifts) => {
        const shifted = (flat: number[]) => flat.map((x, i) => x + shifts[Math.floor(i / V)]);
        const ref = mix(alpha, tensor(prev), tensor(base));
        for (
          const out of [
            mix(alpha, tensor(shifted(prev)), tensor(base)),
            mix(alpha, tensor(prev), tensor(shifted(base))),
          ]
        ) {
          assertClose(await read(out.logProbs), await read(ref.logProbs), { atol: 1e-9 });
          assertClose(await read(out.logZ), await read(ref.logZ), { atol: 1e-9 });
        }
      },
    ),
    { numRuns: 60, seed: 63 },
  );
});

test("geometricMixtureLogits: masked (−∞) tokens, [B, T, V] shapes, and errors", async () => {
  const out = mix(0.5, ops.fromArray([0, -Infinity, 0], [1, 3]), ops.fromArray([0, 0, -Infinity], [1, 3]));
  const lp = await read(out.logProbs);
  assert.deepEqual(lp.slice(1), [-Infinity, -Infinity]);
  assertClose([lp[0]], [0], { atol: 1e-12 });
  // p = (½, 0, ½), q = (½, ½, 0), α = ½: only token 0 is shared, Z = √(½·½) = ½.
  assertClose(await read(out.logZ), [Math.log(0.5)], { atol: 1e-12 });
  const wide = mix(0.3, ops.fill([2, 4, 6], 0), ops.fill([2, 4, 6], 1));
  assert.deepEqual(ops.shape(wide.logZ), [2, 4]);
  assert.throws(
    () => mix(1.2, tensor(new Array(B * V).fill(0)), tensor(new Array(B * V).fill(0))),
    /alpha must be a number in \[0, 1\]/,
  );
  assert.throws(
    () => mix(Number.NaN, tensor(new Array(B * V).fill(0)), tensor(new Array(B * V).fill(0))),
    /alpha/,
  );
  assert.throws(() => mix(0.5, ops.fill([2, 3], 0), ops.fill([3, 2], 0)), /must share a \[\.\.\., V\] shape/);
});

test("resampling: hand-derived weights, ESS, mean weight and systematic indices", () => {
  const r = importanceResample(rngFromSeed(1), [0, Math.log(3)], 4, "systematic");
  assertClose(r.weights, [0.25, 0.75], { atol: 1e-15 });
  assertClose([r.ess], [1 / (0.25 ** 2 + 0.75 ** 2)], { atol: 1e-12 });
  assertClose([r.logMeanWeight], [Math.log(2)], { atol: 1e-12 });
  // The comb (u + j)/4 lands on index 0 once and on index 1 three times, whatever u is.
  for (const seed of [1, 2, 3, 4]) {
    assert.deepEqual(Array.from(importanceResample(rngFromSeed(seed), [0, Math.log(3)], 4).indices), [
      0,
      1,
      1,
      1,
    ]);
  }
  // Equal weights: ESS = K; one dominant weight: ESS → 1. Shifted by −1e3: the same answer.
  assertClose([resampleGeometric(rngFromSeed(1), [-2, -2, -2, -2], 4).ess], [4], { atol: 1e-12 });
  assertClose([resampleGeometric(rngFromSeed(1), [0, -800, -900], 2).ess], [1], { atol: 1e-12 });
  const far = resampleGeometric(rngFromSeed(1), [-1000, -1000 + Math.log(3)], 4);
  assertClose(far.weights, [0.25, 0.75], { atol: 1e-12 }); // −1000 + log 3 keeps only ~13 digits of log 3
  assertClose([far.logMeanWeight], [-1000 + Math.log(2)], { atol: 1e-9 });
  // Objects and numbers are the same input; −∞ is weight zero and never chosen.
  const objects = resampleGeometric(
    rngFromSeed(7),
    [{ sumLogZ: -0.5 }, { sumLogZ: -Infinity }, { sumLogZ: -0.1 }],
    50,
    "multinomial",
  );
  assert.deepEqual(objects, resampleGeometric(rngFromSeed(7), [-0.5, -Infinity, -0.1], 50, "multinomial"));
  assert.ok(!objects.indices.includes(1));
});

test("systematic resampling: every count is ⌊k·w_i⌋ or ⌈k·w_i⌉ (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.double({ min: -8, max: 0, noNaN: true }), fc.constant(-Infinity)), {
        minLength: 1,
        maxLength: 20,
      }),
      fc.integer({ min: 1, max: 200 }),
      fc.nat(),
      (logW, k, seed) => {
        if (logW.every((x) => x === -Infinity)) logW[0] = 0;
        const { indices, weights } = resampleGeometric(rngFromSeed(seed), logW, k, "systematic");
        assert.equal(indices.length, k);
        const counts = countValues(indices, logW.length);
        counts.forEach((c, i) => {
          const kw = k * weights[i];
          assert.ok(
            c >= Math.floor(kw - 1e-9) && c <= Math.ceil(kw + 1e-9),
            `index ${i}: count ${c}, k·w = ${kw}`,
          );
          if (logW[i] === -Infinity) assert.equal(c, 0);
        });
        for (let j = 1; j < k; j++) assert.ok(indices[j] >= indices[j - 1], "systematic indices ascend");
      },
    ),
    { numRuns: 200, seed: 64 },
  );
});

test("multinomial resampling: frequencies match the normalized weights (χ²)", () => {
  const logW = [-0.2, -1.5, -0.7, -3];
  const w = logW.map(Math.exp);
  const total = w.reduce((a, b) => a + b, 0);
  const { indices, rng } = resampleGeometric(rngFromSeed(65), logW, 6000, "multinomial");
  const stat = chiSquare(countValues(indices, 4), w.map((x) => x / total));
  assert.ok(stat < CHI2_CRITICAL_001[3], `χ² = ${stat}`);
  assert.notDeepEqual(rng, rngFromSeed(65));
});

test("resampling rejects bad input with clear errors", () => {
  const r = rngFromSeed(1);
  assert.throws(() => resampleGeometric(r, [], 1), /at least one candidate/);
  assert.throws(() => resampleGeometric(r, [0, Number.NaN], 1), /log-weight 1 is NaN/);
  assert.throws(() => resampleGeometric(r, [0, Infinity], 1), /log-weight 1 is Infinity/);
  assert.throws(() => resampleGeometric(r, [-Infinity], 1), /no mass/);
  assert.throws(() => resampleGeometric(r, [0], 0), /k must be an integer >= 1/);
  assert.throws(() => resampleGeometric(r, [0], 1, "stratified" as "systematic"), /method must be/);
  assert.throws(
    () => resampleGeometric(r, [{} as { sumLogZ: number }], 1),
    /candidate 0 has no numeric sumLogZ/,
  );
});
