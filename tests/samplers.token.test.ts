/**
 * samplers/filters.ts and samplers/token.ts on referenceOps: hand-derived filtered rows, top-k and
 * top-p never emitting a token outside their set (property, with the sets built independently in
 * this file), temperature → 0 and greedy giving the argmax, log-probs under the sampling
 * distribution and under the model against plain-JS log-softmax, frequencies against the tempered
 * and truncated distribution (χ²), determinism and batch = chained single rows, and clear errors.
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import { nextFloat, rngFromSeed } from "../core/rng.ts";
import { filterLogits, resolveSamplingOptions, samplingLogProbs } from "../samplers/filters.ts";
import { sampleLogitRows, sampleNextToken } from "../samplers/token.ts";
import { assert, assertClose, test } from "./harness.ts";
import { CHI2_CRITICAL_001, chiSquare, countValues, logSoftmaxRow } from "./samplers.support.ts";

const NI = -Infinity;
const sample = sampleNextToken(ops);
const rowsOf = (rows: number[][]) => ops.fromArray(rows.flat(), [rows.length, rows[0].length]);
/** Token ids by descending logit, lower id first among ties. */
const ranking = (x: readonly number[]): number[] => x.map((_, i) => i).sort((a, b) => x[b] - x[a] || a - b);

test("filterLogits: hand-derived rows for each filter", () => {
  assert.deepEqual(Array.from(filterLogits([2, 1, 0, -1], { topK: 2 })), [0, -1, NI, NI]);
  // probs ∝ 1, 3, 6 → 0.1, 0.3, 0.6: the nucleus of mass 0.6 is {2}; of 0.7 it is {2, 1}.
  const x = [0, Math.log(3), Math.log(6)];
  assert.deepEqual(Array.from(filterLogits(x, { topP: 0.55 })).map((z) => z === NI), [true, true, false]);
  assert.deepEqual(Array.from(filterLogits(x, { topP: 0.7 })).map((z) => z === NI), [true, false, false]);
  assert.deepEqual(Array.from(filterLogits(x, { topP: 1 })).map((z) => z === NI), [false, false, false]);
  // min-p 0.4: keep p >= 0.4 · 0.6 = 0.24 → {1, 2}; min-p 0.1 keeps all three.
  assert.deepEqual(Array.from(filterLogits(x, { minP: 0.4 })).map((z) => z === NI), [true, false, false]);
  assert.deepEqual(Array.from(filterLogits(x, { minP: 0.1 })).map((z) => z === NI), [false, false, false]);
  // Temperature 2 halves the max-shifted logits.
  assertClose(filterLogits([4, 2, 0], { temperature: 2 }), [0, -1, -2], { atol: 1e-15 });
  // Ties at the top-k boundary go to the lower id, so exactly k tokens survive.
  assert.deepEqual(Array.from(filterLogits([1, 3, 3, 3, 0], { topK: 2 })).map((z) => z === NI), [
    true,
    false,
    false,
    true,
    true,
  ]);
  // Greedy: 0 at the first argmax, −∞ elsewhere; temperature 0 is greedy.
  assert.deepEqual(Array.from(filterLogits([1, 3, 3], { greedy: true })), [NI, 0, NI]);
  assert.deepEqual(Array.from(filterLogits([1, 3, 3], { temperature: 0 })), [NI, 0, NI]);
  // samplingLogProbs normalizes the kept tokens: top-2 of four equal logits is ½, ½.
  assertClose(samplingLogProbs([0, 0, 0, 0], { topK: 2 }), [Math.log(0.5), Math.log(0.5), NI, NI], {
    atol: 1e-15,
  });
  // Masked (−∞) logits stay out and do not count towards k.
  assert.deepEqual(Array.from(filterLogits([NI, 1, NI, 0], { topK: 3 })).map((z) => z === NI), [
    true,
    false,
    true,
    false,
  ]);
});

const rowArb = fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 2, maxLength: 12 });

test("top-k never emits a token outside the k highest logits (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      rowArb,
      fc.integer({ min: 1, max: 12 }),
      fc.double({ min: 0.2, max: 3, noNaN: true }),
      fc.nat(),
      async (row, k, temperature, seed) => {
        const allowed = new Set(ranking(row).slice(0, k));
        const kept = Array.from(filterLogits(row, { topK: k, temperature })).flatMap((
          z,
          i,
        ) => (z > NI ? [i] : []));
        assert.deepEqual(new Set(kept), allowed);
        const batch = Array.from({ length: 40 }, () => row);
        const { ids } = await sample(rowsOf(batch), rngFromSeed(seed), { topK: k, temperature });
        for (const id of ids) assert.ok(allowed.has(id), `token ${id} is outside the top-${k} set`);
      },
    ),
    { numRuns: 60, seed: 51 },
  );
});

test("top-p never emits a token outside the nucleus; the kept set is the smallest prefix with mass >= p (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      rowArb,
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      fc.nat(),
      async (row, p, seed) => {
        // The nucleus built here from plain-JS softmax probabilities.
        const probs = logSoftmaxRow(row).map(Math.exp);
        const order = ranking(row);
        const nucleus = new Set<number>();
        let mass = 0;
        for (const i of order) {
          nucleus.add(i);
          mass += probs[i];
          if (mass >= p * (1 - 1e-12)) break;
        }
        const kept = Array.from(filterLogits(row, { topP: p })).flatMap((z, i) => (z > NI ? [i] : []));
        const keptMass = kept.reduce((s, i) => s + probs[i], 0);
        assert.ok(keptMass >= p - 1e-9, `kept mass ${keptMass} < p = ${p}`);
        const smallest = Math.min(...kept.map((i) => probs[i]));
        assert.ok(keptMass - smallest < p + 1e-9, "the nucleus is not minimal");
        for (const i of kept) {
          for (let j = 0; j < row.length; j++) {
            if (!kept.includes(j)) assert.ok(row[i] >= row[j]);
          }
        }
        const { ids } = await sample(rowsOf(Array.from({ length: 40 }, () => row)), rngFromSeed(seed), {
          topP: p,
        });
        for (const id of ids) {
          assert.ok(kept.includes(id), `token ${id} is outside the kept set`);
          assert.ok(nucleus.has(id) || Math.abs(mass - p) < 1e-9, `token ${id} is outside the nucleus`);
        }
      },
    ),
    { numRuns: 60, seed: 52 },
  );
});

test("large vocabulary: top-k and top-p sets equal the sets built from a full sort here", () => {
  // Logits spread over [−20, 6] so that only part of the vocabulary is near the top.
  const v = 3000;
  const row = Array.from({ length: v }, (_, i) => 26 * (((i * 7919) % 3001) / 3001) ** 3 - 20);
  const probs = logSoftmaxRow(row).map(Math.exp);
  const order = ranking(row);
  const keptOf = (z: Float64Array) => Array.from(z).flatMap((x, i) => (x > NI ? [i] : [])).sort((a, b) => a - b);
  for (const k of [1, 40, 700]) {
    assert.deepEqual(keptOf(filterLogits(row, { topK: k })), order.slice(0, k).sort((a, b) => a - b), `topK ${k}`);
  }
  for (const p of [0.3, 0.9, 0.999]) {
    let mass = 0, n = 0;
    while (mass < p) mass += probs[order[n++]];
    assert.deepEqual(keptOf(filterLogits(row, { topP: p })), order.slice(0, n).sort((a, b) => a - b), `topP ${p}`);
  }
});

test("temperature → 0 and greedy give the argmax (lowest id among ties under greedy)", async () => {
  await fc.assert(
    fc.asyncProperty(rowArb, fc.nat(), async (row, seed) => {
      const argmax = ranking(row)[0];
      const rows = rowsOf([row, row, row]);
      for (const options of [{ greedy: true }, { temperature: 0 }, { greedy: true, topK: 3, topP: 0.5 }]) {
        const out = await sample(rows, rngFromSeed(seed), options);
        assert.deepEqual(Array.from(out.ids), [argmax, argmax, argmax]);
        assert.deepEqual(Array.from(out.logProbs), [0, 0, 0]);
        assertClose(out.modelLogProbs, new Array(3).fill(logSoftmaxRow(row)[argmax]), { atol: 1e-12 });
        assert.deepEqual(out.rng, rngFromSeed(seed), "greedy consumes no randomness");
      }
      // A tiny temperature concentrates all mass on the argmax when it is unique by a margin.
      const second = ranking(row)[1];
      if (row[argmax] - row[second] > 1e-3) {
        const out = await sample(rows, rngFromSeed(seed), { temperature: 1e-6 });
        assert.deepEqual(Array.from(out.ids), [argmax, argmax, argmax]);
      }
    }),
    { numRuns: 60, seed: 53 },
  );
});

test("log-probs: sampling distribution and unmodified model against plain-JS log-softmax", async () => {
  const row = [1.5, -0.5, 0.25, 2, -3];
  const T = 0.7;
  const logits = rowsOf(Array.from({ length: 64 }, () => row));
  const model = logSoftmaxRow(row);
  const tempered = logSoftmaxRow(row.map((x) => x / T));
  const plain = await sample(logits, rngFromSeed(3), { temperature: T });
  plain.ids.forEach((id, b) => {
    assertClose([plain.logProbs[b]], [tempered[id]], { atol: 1e-12 });
    assertClose([plain.modelLogProbs[b]], [model[id]], { atol: 1e-12 });
  });
  // Top-2 at T: renormalize the two best tempered probabilities (ids 3 and 0).
  const top2 = await sample(logits, rngFromSeed(4), { temperature: T, topK: 2 });
  const z = logSoftmaxRow([row[3] / T, row[0] / T]);
  top2.ids.forEach((id, b) => {
    assert.ok(id === 3 || id === 0);
    assertClose([top2.logProbs[b]], [id === 3 ? z[0] : z[1]], { atol: 1e-12 });
    assertClose([top2.modelLogProbs[b]], [model[id]], { atol: 1e-12 });
  });
  // Logits of ±1e3 give finite log-probs.
  const far = await sample(rowsOf([[1000, -1000, 999]]), rngFromSeed(5), {});
  assert.ok(Number.isFinite(far.logProbs[0]) && Number.isFinite(far.modelLogProbs[0]));
  assert.ok(far.ids[0] === 0 || far.ids[0] === 2);
});

test("frequencies follow softmax(x / T), truncated by top-k and min-p (χ², fixed seeds)", async () => {
  const row = [0.5, 1.5, -1, 0, 1];
  const n = 4000;
  const logits = rowsOf(Array.from({ length: n }, () => row));
  const cases: { options: { temperature?: number; topK?: number; minP?: number }; seed: number }[] = [
    { options: { temperature: 1.6 }, seed: 6 },
    { options: { temperature: 0.8, topK: 3 }, seed: 7 },
    { options: { minP: 0.3 }, seed: 8 },
  ];
  for (const { options, seed } of cases) {
    const { ids } = await sample(logits, rngFromSeed(seed), options);
    // The expected distribution, built here: tempered softmax, then zero outside the kept set.
    const T = options.temperature ?? 1;
    const p = logSoftmaxRow(row.map((x) => x / T)).map(Math.exp);
    const keep = row.map((_, i) => {
      if (options.topK !== undefined && !ranking(row).slice(0, options.topK).includes(i)) return false;
      if (options.minP !== undefined && p[i] < options.minP * Math.max(...p)) return false;
      return true;
    });
    const kept = p.map((x, i) => (keep[i] ? x : 0));
    const total = kept.reduce((a, b) => a + b, 0);
    const counts = countValues(ids, row.length);
    keep.forEach((k, i) => k || assert.equal(counts[i], 0, `dropped token ${i} was drawn`));
    const idx = keep.flatMap((k, i) => (k ? [i] : []));
    const stat = chiSquare(idx.map((i) => counts[i]), idx.map((i) => kept[i] / total));
    assert.ok(stat < CHI2_CRITICAL_001[idx.length - 1], `${JSON.stringify(options)}: χ² = ${stat}`);
  }
});

test("deterministic: same rng, same tokens; a batch equals chained single-row calls; rng advances once per row", async () => {
  const rows = [[0, 1, 2, 3], [3, 2, 1, 0], [0, 0, 0, 0], [5, -5, 0, 1]];
  const options = { temperature: 1.2, topP: 0.95 };
  const a = await sample(rowsOf(rows), rngFromSeed(21), options);
  const b = await sample(rowsOf(rows), rngFromSeed(21), options);
  assert.deepEqual(a, b);
  let rng = rngFromSeed(21);
  for (let i = 0; i < rows.length; i++) {
    const one = await sample(rowsOf([rows[i]]), rng, options);
    assert.equal(one.ids[0], a.ids[i]);
    assert.equal(one.logProbs[0], a.logProbs[i]);
    rng = one.rng;
  }
  assert.deepEqual(a.rng, rng);
  let r = rngFromSeed(21);
  for (let i = 0; i < rows.length; i++) r = nextFloat(r)[1];
  assert.deepEqual(a.rng, r, "one uniform per row");
  // The host entry point gives the same result.
  const host = sampleLogitRows(new Float64Array(rows.flat()), 4, 4, rngFromSeed(21), options);
  assert.deepEqual(host, a);
});

test("options and logits are checked with clear errors", async () => {
  const bad: [object, RegExp][] = [
    [{ temperature: -1 }, /temperature must be a finite number > 0/],
    [{ temperature: Number.NaN }, /temperature/],
    [{ temperature: Infinity }, /temperature/],
    [{ topK: 0 }, /topK must be an integer >= 1/],
    [{ topK: 2.5 }, /topK must be an integer >= 1/],
    [{ topP: 0 }, /topP must be a number with 0 < topP <= 1/],
    [{ topP: 1.01 }, /topP/],
    [{ minP: -0.1 }, /minP must be a number with 0 <= minP < 1/],
    [{ minP: 1 }, /minP/],
    [{ greedy: "yes" }, /greedy must be a boolean/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => resolveSamplingOptions(options), message);
    await assert.rejects(sample(rowsOf([[0, 1]]), rngFromSeed(1), options), message);
  }
  assert.deepEqual(resolveSamplingOptions({}), {
    temperature: 1,
    topK: Infinity,
    topP: 1,
    minP: 0,
    greedy: false,
  });
  await assert.rejects(sample(ops.fromArray([0, 1, 2], [3]), rngFromSeed(1)), /logits must be \[B, V\]/);
  await assert.rejects(sample(rowsOf([[0, 1], [Number.NaN, 0]]), rngFromSeed(1)), /row 1: .*token 0 is NaN/);
  await assert.rejects(sample(rowsOf([[NI, NI]]), rngFromSeed(1)), /every logit of the row is -Infinity/);
  assert.throws(() => sampleLogitRows([0, 1, 2], 2, 2, rngFromSeed(1)), /3 values do not fill \[2, 2\]/);
});
