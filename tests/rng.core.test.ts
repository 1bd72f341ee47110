/**
 * core/rng.ts: the golden stream of a fixed seed (the same numbers under Node and Deno), purity
 * (same input, same output), uniformity of floats, integers, permutations and categorical draws
 * (χ² at the 0.001 level with fixed seeds), decorrelated split/fork streams, and input checks.
 */
import { readFileSync } from "node:fs";
import * as fc from "fast-check";
import {
  expShifted,
  forkRng,
  inverseCdfIndex,
  nextFloat,
  nextFloats,
  nextIndex,
  nextInt,
  nextUint32,
  type Rng,
  rngFromJson,
  rngFromSeed,
  sampleCategorical,
  sampleCategoricalLog,
  shuffleArray,
  splitRng,
} from "../core/rng.ts";
import { assert, assertClose, test } from "./harness.ts";
import { CHI2_CRITICAL_001, chiSquare, countValues } from "./samplers.support.ts";

const golden = JSON.parse(readFileSync(new URL("./fixtures/sampler_golden.json", import.meta.url), "utf8"));

const floatsOf = (rng: Rng, n: number): number[] => Array.from(nextFloats(rng, n)[0]);

test("golden stream: seed, floats, ints, split, fork and shuffle are bit-identical to the fixture", () => {
  const g = golden.rng;
  const root = rngFromSeed(g.seed);
  assert.deepEqual([...root.state], g.state);
  assert.deepEqual(floatsOf(root, g.floats.length), g.floats); // exact equality, not a tolerance
  let r = root;
  const ints = g.ints.map(() => {
    const [x, next] = nextInt(r, 1, 6);
    r = next;
    return x;
  });
  assert.deepEqual(ints, g.ints);
  assert.deepEqual(splitRng(root).map((x) => [...x.state]), g.split);
  assert.deepEqual([...forkRng(root, 7).state], g.fork7);
  assert.deepEqual([...forkRng(root, "example-7").state], g.forkText);
  assert.deepEqual(shuffleArray(root, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])[0], g.shuffle10);
});

test("pure: the same rng gives the same draw, and the input is never changed", () => {
  const rng = rngFromSeed(5);
  const copy = JSON.stringify(rng);
  assert.equal(nextFloat(rng)[0], nextFloat(rng)[0]);
  assert.deepEqual(nextUint32(rng), nextUint32(rng));
  assert.equal(JSON.stringify(rng), copy);
  // nextFloats(n) is n chained nextFloat calls.
  let r = rng;
  const chained = [0, 1, 2, 3].map(() => {
    const [u, next] = nextFloat(r);
    r = next;
    return u;
  });
  const [batch, after] = nextFloats(rng, 4);
  assert.deepEqual(Array.from(batch), chained);
  assert.deepEqual(after, r);
  assert.notEqual(nextFloat(rngFromSeed(5))[0], nextFloat(rngFromSeed(6))[0]);
  assert.deepEqual(rngFromJson(JSON.parse(JSON.stringify(r))), r);
});

test("nextFloat: in [0, 1), on the 2^-53 grid, mean ½ and uniform deciles", () => {
  const [us] = nextFloats(rngFromSeed(11), 20000);
  let sum = 0;
  for (const u of us) {
    assert.ok(u >= 0 && u < 1, `${u} outside [0, 1)`);
    assert.ok(Number.isInteger(u * 2 ** 53), `${u} is not a multiple of 2^-53`);
    sum += u;
  }
  // The mean of 20000 uniforms has standard deviation 0.002.
  assert.ok(Math.abs(sum / us.length - 0.5) < 0.01, `mean ${sum / us.length}`);
  const deciles = countValues(Array.from(us, (u) => Math.floor(u * 10)), 10);
  const stat = chiSquare(deciles, new Array(10).fill(0.1));
  assert.ok(stat < CHI2_CRITICAL_001[9], `χ² = ${stat}`);
});

test("nextInt / nextIndex: inclusive bounds, uniform faces (χ²)", () => {
  let r = rngFromSeed(12);
  const faces: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const [x, next] = nextInt(r, 1, 6);
    assert.ok(Number.isInteger(x) && x >= 1 && x <= 6);
    faces.push(x - 1);
    r = next;
  }
  const stat = chiSquare(countValues(faces, 6), new Array(6).fill(1 / 6));
  assert.ok(stat < CHI2_CRITICAL_001[5], `χ² = ${stat}`);
  assert.equal(nextInt(rngFromSeed(1), 4, 4)[0], 4);
  const [big] = nextInt(rngFromSeed(1), -(2 ** 40), 2 ** 40);
  assert.ok(Number.isInteger(big) && Math.abs(big) <= 2 ** 40);
  assert.ok(nextIndex(rngFromSeed(2), 3)[0] < 3);
  assert.throws(() => nextInt(rngFromSeed(1), 3, 2), /lo <= hi/);
  assert.throws(() => nextInt(rngFromSeed(1), 0.5, 2), /safe integers/);
  assert.throws(() => nextIndex(rngFromSeed(1), 0), /positive integer/);
});

test("splitRng and forkRng: deterministic, distinct, uncorrelated streams", () => {
  const root = rngFromSeed(13);
  const [a, b] = splitRng(root);
  assert.deepEqual(splitRng(root), [a, b]);
  const n = 10000;
  const xs = floatsOf(a, n), ys = floatsOf(b, n), zs = floatsOf(root, n);
  const corr = (p: number[], q: number[]) => {
    const mp = p.reduce((s, x) => s + x, 0) / n, mq = q.reduce((s, x) => s + x, 0) / n;
    let c = 0, vp = 0, vq = 0;
    for (let i = 0; i < n; i++) {
      c += (p[i] - mp) * (q[i] - mq);
      vp += (p[i] - mp) ** 2;
      vq += (q[i] - mq) ** 2;
    }
    return c / Math.sqrt(vp * vq);
  };
  // Independent streams: |r| has standard deviation 0.01 here.
  assert.ok(Math.abs(corr(xs, ys)) < 0.05, `split children correlate: ${corr(xs, ys)}`);
  assert.ok(Math.abs(corr(zs, ys)) < 0.05, `parent and child correlate: ${corr(zs, ys)}`);
  assert.deepEqual(forkRng(root, 3), forkRng(root, 3));
  const keys: (number | string)[] = [0, 1, 2, -1, 2 ** 40, "0", "1", "", "example-7"];
  const firsts = keys.map((k) => nextFloat(forkRng(root, k))[0]);
  assert.equal(new Set(firsts).size, keys.length, "different keys must give different streams");
  assert.notDeepEqual(forkRng(root, 3), forkRng(rngFromSeed(14), 3));
  assert.throws(() => forkRng(root, 1.5), /safe integer/);
});

test("shuffleArray: always a permutation; all 6 orders of 3 items equally likely (χ²)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e9 }),
      fc.array(fc.integer(), { maxLength: 30 }),
      (seed, items) => {
        const [out] = shuffleArray(rngFromSeed(seed), items);
        assert.deepEqual([...out].sort((x, y) => x - y), [...items].sort((x, y) => x - y));
      },
    ),
    { numRuns: 100, seed: 31 },
  );
  const orders = ["012", "021", "102", "120", "201", "210"];
  let r = rngFromSeed(15);
  const seen: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const [out, next] = shuffleArray(r, [0, 1, 2]);
    seen.push(orders.indexOf(out.join("")));
    r = next;
  }
  const stat = chiSquare(countValues(seen, 6), new Array(6).fill(1 / 6));
  assert.ok(stat < CHI2_CRITICAL_001[5], `χ² = ${stat}`);
});

test("categorical draws: inverse CDF by hand, frequencies match the weights (χ²), zero weight never drawn", () => {
  assert.equal(inverseCdfIndex([1, 0, 3], 0), 0);
  assert.equal(inverseCdfIndex([1, 0, 3], 0.2499), 0);
  assert.equal(inverseCdfIndex([1, 0, 3], 0.25), 2); // cumulative 1 is not > 1, so the next positive one
  assert.equal(inverseCdfIndex([0, 0, 5], 0), 2);
  assert.equal(inverseCdfIndex([2, 2], 0.999999), 1);
  const weights = [0.1, 0, 0.2, 0.3, 0.4];
  let r = rngFromSeed(16);
  const draws: number[] = [];
  for (let i = 0; i < 8000; i++) {
    const [k, next] = sampleCategorical(r, weights.map((w) => w * 7)); // unnormalized is fine
    draws.push(k);
    r = next;
  }
  const counts = countValues(draws, 5);
  assert.equal(counts[1], 0);
  const stat = chiSquare([counts[0], counts[2], counts[3], counts[4]], [0.1, 0.2, 0.3, 0.4]);
  assert.ok(stat < CHI2_CRITICAL_001[3], `χ² = ${stat}`);
  // Log-weights far from 0 are shifted by their max: exp(±1000) would over/underflow.
  r = rngFromSeed(17);
  let ones = 0;
  for (let i = 0; i < 4000; i++) {
    const [k, next] = sampleCategoricalLog(r, [1000, 1000 + Math.log(3), -Infinity]);
    assert.notEqual(k, 2);
    ones += k;
    r = next;
  }
  const stat2 = chiSquare([4000 - ones, ones], [0.25, 0.75]);
  assert.ok(stat2 < CHI2_CRITICAL_001[1], `χ² = ${stat2}`);
  assertClose(expShifted([-1000, -1000 - Math.log(4)], "t"), [1, 0.25], { atol: 1e-12 });
});

test("input checks: seeds, stored states and categorical weights", () => {
  assert.throws(() => rngFromSeed(1.5), /seed must be a safe integer/);
  assert.throws(() => rngFromSeed(Number.NaN), /seed/);
  assert.throws(() => rngFromSeed(2 ** 60), /seed/);
  assert.ok(rngFromSeed(-5).state.some((w) => w !== 0));
  assert.throws(() => rngFromJson({ algorithm: "mt", state: [1, 2, 3, 4] }), /xoroshiro128plus/);
  assert.throws(() => rngFromJson({ algorithm: "xoroshiro128plus", state: [1, 2, 3] }), /4 integers/);
  assert.throws(() => rngFromJson({ algorithm: "xoroshiro128plus", state: [0, 0, 0, 0] }), /all-zero/);
  assert.throws(() => inverseCdfIndex([], 0.5), /at least one positive weight/);
  assert.throws(() => inverseCdfIndex([0, 0], 0.5), /at least one positive weight/);
  assert.throws(() => inverseCdfIndex([1, -1], 0.5), /weight 1 must be finite and >= 0/);
  assert.throws(() => inverseCdfIndex([1, Number.NaN], 0.5), /weight 1/);
  assert.throws(() => sampleCategoricalLog(rngFromSeed(1), [-Infinity, -Infinity]), /no mass/);
  assert.throws(() => sampleCategoricalLog(rngFromSeed(1), [0, Infinity]), /log-weight 1 is Infinity/);
  assert.throws(() => nextFloats(rngFromSeed(1), -1), /n must be an integer >= 0/);
});
