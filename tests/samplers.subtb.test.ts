/**
 * samplers/subtb.ts on referenceOps, on a tiny enumerable model (two tokens and stop, sequences
 * up to length 3, 15 terminated sequences): the SubTB loss over every trajectory is zero when q is
 * built as R normalized (flows F(s) = R(s⊤) + Σ_v F(sv)), positive for any other q, invariant to
 * scaling R, and equal to a plain-JS double loop over sub-trajectories written from the definition.
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import { geometricTerminalReward, subTrajectoryBalance } from "../samplers/subtb.ts";
import { assert, assertClose, test } from "./harness.ts";

const L = 3, V = 2;
/** Every sequence over {0, 1} of length 0..L, shortest first. */
const sequences: number[][] = [[]];
for (let i = 0; sequences[i].length < L; i++) for (let v = 0; v < V; v++) sequences.push([...sequences[i], v]);
const key = (s: readonly number[]) => s.join(",");

/** An autoregressive sampler on the tree: log q(v|s) and log q(⊤|s) per prefix (⊤ forced at length L). */
interface Sampler {
  readonly logNext: Map<string, number[]>;
  readonly logStop: Map<string, number>;
}

/** The sampler with q(s⊤) = R(s⊤)/Z, from the flows F(s) = R(s⊤) + Σ_v F(sv). */
const exactSampler = (logR: Map<string, number>): Sampler => {
  const logF = new Map<string, number>();
  for (const s of [...sequences].reverse()) {
    const terms = [logR.get(key(s))!, ...(s.length < L ? [0, 1].map((v) => logF.get(key([...s, v]))!) : [])];
    const m = Math.max(...terms);
    logF.set(key(s), m + Math.log(terms.reduce((a, t) => a + Math.exp(t - m), 0)));
  }
  const logNext = new Map<string, number[]>(), logStop = new Map<string, number>();
  for (const s of sequences) {
    logStop.set(key(s), logR.get(key(s))! - logF.get(key(s))!);
    if (s.length < L) logNext.set(key(s), [0, 1].map((v) => logF.get(key([...s, v]))! - logF.get(key(s))!));
  }
  return { logNext, logStop };
};

/** A sampler from free logits: softmax over {0, 1, ⊤} per prefix, ⊤ forced at length L. */
const freeSampler = (logits: number[]): Sampler => {
  const logNext = new Map<string, number[]>(), logStop = new Map<string, number>();
  sequences.forEach((s, k) => {
    if (s.length === L) return void logStop.set(key(s), 0);
    const z = logits.slice(3 * k, 3 * k + 3), m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, t) => a + Math.exp(t - m), 0));
    logNext.set(key(s), [z[0] - lse, z[1] - lse]);
    logStop.set(key(s), z[2] - lse);
  });
  return { logNext, logStop };
};

/** One trajectory per terminated sequence, padded to L + 1 prefixes. */
const batch = (logR: Map<string, number>, q: Sampler) => {
  const n = L + 1, reward: number[] = [], stop: number[] = [], prefix: number[] = [], mask: number[] = [];
  for (const y of sequences) {
    let lp = 0;
    for (let i = 0; i < n; i++) {
      const real = i <= y.length, s = y.slice(0, i);
      if (real && i > 0) lp += q.logNext.get(key(y.slice(0, i - 1)))![y[i - 1]];
      reward.push(real ? logR.get(key(s))! : 0);
      stop.push(real ? q.logStop.get(key(s))! : 0);
      prefix.push(real ? lp : 0);
      mask.push(real ? 1 : 0);
    }
  }
  const t = (a: number[]) => ops.fromArray(a, [sequences.length, n]);
  return { logReward: t(reward), logStop: t(stop), logPrefix: t(prefix), mask: t(mask) };
};

/** The loss from its definition: for every trajectory and pair i < j, the sub-trajectory residual. */
const definitionLoss = (logR: Map<string, number>, q: Sampler, lambda: number): number => {
  let total = 0;
  for (const y of sequences) {
    let num = 0, den = 0;
    for (let i = 0; i <= y.length; i++) {
      for (let j = i + 1; j <= y.length; j++) {
        let forward = 0;
        for (let k = i + 1; k <= j; k++) forward += q.logNext.get(key(y.slice(0, k - 1)))![y[k - 1]];
        const r = logR.get(key(y.slice(0, i)))! + forward + q.logStop.get(key(y.slice(0, j)))! -
          logR.get(key(y.slice(0, j)))! - q.logStop.get(key(y.slice(0, i)))!;
        num += lambda ** (j - i) * r * r;
        den += lambda ** (j - i);
      }
    }
    total += den > 0 ? num / den : 0;
  }
  return total / sequences.length;
};

const rewardsArb = fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: sequences.length, maxLength: sequences.length });
const lambdaArb = fc.double({ min: 0.05, max: 1, noNaN: true });
const toMap = (values: number[]) => new Map(sequences.map((s, k) => [key(s), values[k]]));
const lossOf = async (logR: Map<string, number>, q: Sampler, lambda: number) =>
  (await ops.toArray(subTrajectoryBalance(ops)(batch(logR, q), { lambda })))[0];

test("SubTB is zero when q(y⊤) ∝ R(y⊤) on every terminated sequence, whatever R's scale", async () => {
  await fc.assert(
    fc.asyncProperty(rewardsArb, lambdaArb, fc.double({ min: -20, max: 20, noNaN: true }), async (r, lambda, shift) => {
      const logR = toMap(r);
      const q = exactSampler(logR);
      assert.ok((await lossOf(logR, q, lambda)) < 1e-20);
      // R scaled by e^shift: the same q still balances (Z absorbs the constant).
      assert.ok((await lossOf(toMap(r.map((x) => x + shift)), q, lambda)) < 1e-18);
    }),
    { numRuns: 60 },
  );
});

test("SubTB equals its definition and is positive for a q that does not match R", async () => {
  const logitsArb = fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 3 * sequences.length, maxLength: 3 * sequences.length });
  await fc.assert(
    fc.asyncProperty(rewardsArb, logitsArb, lambdaArb, async (r, logits, lambda) => {
      const logR = toMap(r), q = freeSampler(logits);
      const loss = await lossOf(logR, q, lambda);
      assertClose([loss], [definitionLoss(logR, q, lambda)], { atol: 1e-9, rtol: 1e-9 });
      // q's distribution over terminated sequences against R normalized.
      const exact = exactSampler(logR);
      const logQ = (q2: Sampler, y: number[]) =>
        y.reduce((a, v, k) => a + q2.logNext.get(key(y.slice(0, k)))![v], 0) + q2.logStop.get(key(y))!;
      const tv = 0.5 * sequences.reduce((a, y) => a + Math.abs(Math.exp(logQ(q, y)) - Math.exp(logQ(exact, y))), 0);
      if (tv > 1e-6) assert.ok(loss > 0, `tv ${tv} but loss ${loss}`);
    }),
    { numRuns: 60 },
  );
});

test("geometricTerminalReward mixes prefix + stop log-probs; endpoints exact; bad input refused", async () => {
  const t = (a: number[]) => ops.fromArray(a, [1, 2]);
  const out = geometricTerminalReward(ops)(0.25, t([-1, -2]), t([-0.5, -0.1]), t([-3, -4]), t([-0.2, -0.3]));
  assertClose(await ops.toArray(out), [0.25 * -1.5 + 0.75 * -3.2, 0.25 * -2.1 + 0.75 * -4.3], { atol: 1e-12 });
  assert.deepEqual(Array.from(await ops.toArray(geometricTerminalReward(ops)(1, t([-1, -2]), t([-0.5, -0.1]), t([9, 9]), t([9, 9])))), [-1.5, -2.1]);
  assert.throws(() => geometricTerminalReward(ops)(1.5, t([0, 0]), t([0, 0]), t([0, 0]), t([0, 0])), /alpha/);
  assert.throws(() => subTrajectoryBalance(ops)({ logReward: t([0, 0]), logStop: t([0, 0]), logPrefix: ops.fromArray([0], [1, 1]), mask: t([1, 1]) }), /logPrefix/);
  assert.throws(() => subTrajectoryBalance(ops)({ logReward: t([0, 0]), logStop: t([0, 0]), logPrefix: t([0, 0]), mask: t([1, 1]) }, { lambda: 0 }), /lambda/);
});
