/**
 * The exact sequence-level correction of token-level geometric-mixture sampling, end to end on a
 * tiny language: vocabulary {a, b, EOS}, at most 3 tokens, two fixed "models" given as explicit
 * next-token tables conditioned on the prefix. Every one of the 15 sequences is enumerated, and
 * the exact sequence-level mixture m(y) ∝ π_prev(y)^α π_base(y)^(1−α) is computed in plain JS.
 * Candidates are drawn batch-wise from the token-level mixture (geometricMixtureLogits +
 * sampleNextToken, as the generation loop does), weighted by Π_t Z_t and resampled
 * (resampleGeometric): the total-variation distance to m shrinks as K grows and ends below 0.02,
 * while the uncorrected token-level sampler stays biased (TV > 0.05) on the same case.
 */
import { referenceOps as ops } from "../backends/reference.ts";
import { type Rng, rngFromSeed } from "../core/rng.ts";
import { geometricMixtureLogits, resampleGeometric } from "../samplers/geometric.ts";
import { sampleNextToken } from "../samplers/token.ts";
import { assert, assertClose, test } from "./harness.ts";

const EOS = 2, V = 3, HORIZON = 3, ALPHA = 0.5;
const letters = "ab";
type Table = Record<string, [number, number, number]>;
// Next-token probabilities (a, b, EOS) by prefix. The models disagree sharply after "a" (Z_t ≈ 0.47)
// and nearly agree after "b" (Z_t ≈ 1), so Π_t Z_t varies strongly between sequences.
const prevTable: Table = {
  "": [0.5, 0.4, 0.1],
  a: [0.9, 0.05, 0.05],
  b: [0.3, 0.3, 0.4],
  aa: [0.2, 0.2, 0.6],
  ab: [0.1, 0.8, 0.1],
  ba: [0.4, 0.4, 0.2],
  bb: [0.3, 0.3, 0.4],
};
const baseTable: Table = {
  "": [0.4, 0.4, 0.2],
  a: [0.05, 0.9, 0.05],
  b: [0.3, 0.35, 0.35],
  aa: [0.6, 0.2, 0.2],
  ab: [0.5, 0.1, 0.4],
  ba: [0.4, 0.4, 0.2],
  bb: [0.2, 0.5, 0.3],
};
/** Logits = log-probs plus a prefix-dependent constant (which must not matter). */
const logitsOf = (table: Table, prefix: string, shift: number): number[] =>
  table[prefix].map((p) => Math.log(p) + shift * (prefix.length + 1));

/** A sequence as text: letters for a/b, "$" for EOS. */
const sequences = (): string[] => {
  const out: string[] = [];
  const grow = (prefix: string) => {
    out.push(prefix + "$");
    if (prefix.length + 1 === HORIZON) { for (const c of letters) out.push(prefix + c); }
    else for (const c of letters) grow(prefix + c);
  };
  grow("");
  return out;
};
const ALL = sequences();

const seqProb = (table: Table, seq: string): number => {
  let p = 1;
  for (let t = 0; t < seq.length; t++) {
    const token = seq[t] === "$" ? EOS : letters.indexOf(seq[t]);
    p *= table[seq.slice(0, t)][token];
  }
  return p;
};

/** The exact sequence-level geometric mixture, by enumeration (plain JS). */
const exactMixture = (): Map<string, number> => {
  const un = ALL.map((s) => seqProb(prevTable, s) ** ALPHA * seqProb(baseTable, s) ** (1 - ALPHA));
  const total = un.reduce((a, b) => a + b, 0);
  return new Map(ALL.map((s, i) => [s, un[i] / total]));
};

const tv = (counts: Map<string, number>, n: number, target: Map<string, number>): number =>
  0.5 * ALL.reduce((s, y) => s + Math.abs((counts.get(y) ?? 0) / n - target.get(y)!), 0);

/** Draw K sequences from the token-level mixture, batch-wise, with each one's Σ_t log Z_t. */
const drawTokenLevel = async (
  k: number,
  rng0: Rng,
): Promise<{ seqs: string[]; sumLogZ: Float64Array; rng: Rng }> => {
  const seqs = new Array<string>(k).fill("");
  const done = new Array<boolean>(k).fill(false);
  const sumLogZ = new Float64Array(k);
  let rng = rng0;
  for (let t = 0; t < HORIZON; t++) {
    const prefixOf = (i: number) => (done[i] ? "" : seqs[i]); // finished rows: any row, ignored below
    const prev = ops.fromArray(seqs.flatMap((_, i) => logitsOf(prevTable, prefixOf(i), 3)), [k, V]);
    const base = ops.fromArray(seqs.flatMap((_, i) => logitsOf(baseTable, prefixOf(i), -7)), [k, V]);
    const { logProbs, logZ } = geometricMixtureLogits(ops)(ALPHA, prev, base);
    const z = await ops.toArray(logZ);
    const out = await sampleNextToken(ops)(logProbs, rng, {});
    rng = out.rng;
    for (let i = 0; i < k; i++) {
      if (done[i]) continue;
      sumLogZ[i] += z[i];
      seqs[i] += out.ids[i] === EOS ? "$" : letters[out.ids[i]];
      if (out.ids[i] === EOS) done[i] = true;
    }
  }
  return { seqs, sumLogZ, rng };
};

const histogram = (seqs: Iterable<string>): Map<string, number> => {
  const m = new Map<string, number>();
  for (const s of seqs) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
};

test("the weights are exact: q_tok(y)·Π_t Z_t, normalized, is the sequence-level mixture for every y", async () => {
  const m = exactMixture();
  assert.equal(ALL.length, 15);
  // q_tok(y) and Π_t Z_t from geometricMixtureLogits, position by position along y.
  const corrected = await Promise.all(ALL.map(async (seq) => {
    let logQ = 0, sumLogZ = 0;
    for (let t = 0; t < seq.length; t++) {
      const prefix = seq.slice(0, t);
      const { logProbs, logZ } = geometricMixtureLogits(ops)(
        ALPHA,
        ops.fromArray(logitsOf(prevTable, prefix, 3), [1, V]),
        ops.fromArray(logitsOf(baseTable, prefix, -7), [1, V]),
      );
      const token = seq[t] === "$" ? EOS : letters.indexOf(seq[t]);
      logQ += (await ops.toArray(logProbs))[token];
      sumLogZ += (await ops.toArray(logZ))[0];
    }
    return { q: Math.exp(logQ), w: Math.exp(logQ + sumLogZ) };
  }));
  assertClose([corrected.reduce((s, c) => s + c.q, 0)], [1], { atol: 1e-12 }); // q_tok is a distribution over the 15
  const total = corrected.reduce((s, c) => s + c.w, 0);
  assertClose(corrected.map((c) => c.w / total), ALL.map((y) => m.get(y)!), { atol: 1e-12 });
  // And the uncorrected token-level distribution is measurably different.
  const exactTv = 0.5 * ALL.reduce((s, y, i) => s + Math.abs(corrected[i].q - m.get(y)!), 0);
  assert.ok(exactTv > 0.05, `TV(q_tok, m) = ${exactTv} is too small for this case to show the bias`);
});

test("resampled candidates converge to the sequence-level mixture (TV < 0.02 at the largest K); token-level sampling stays biased", async () => {
  const m = exactMixture();
  const ks = [100, 1000, 10000, 40000];
  const corrected: number[] = [];
  let uncorrected = 0;
  let rng = rngFromSeed(2024);
  for (const k of ks) {
    const draw = await drawTokenLevel(k, rng);
    const { indices, ess, rng: after } = resampleGeometric(draw.rng, draw.sumLogZ, k, "systematic");
    rng = after;
    assert.ok(ess > 1 && ess <= k + 1e-9);
    corrected.push(tv(histogram(Array.from(indices, (i) => draw.seqs[i])), k, m));
    uncorrected = tv(histogram(draw.seqs), k, m);
  }
  for (let i = 1; i < ks.length; i++) {
    assert.ok(
      corrected[i] < corrected[i - 1],
      `TV did not shrink from K = ${ks[i - 1]} to ${ks[i]}: ${corrected}`,
    );
  }
  assert.ok(corrected[ks.length - 1] < 0.02, `TV at K = ${ks[ks.length - 1]} is ${corrected[ks.length - 1]}`);
  assert.ok(uncorrected > 0.05, `the token-level sampler's TV is only ${uncorrected}`);
});
