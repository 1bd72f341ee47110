/**
 * Golden inputs and expected losses, computed in plain JS from the papers' formulas (independently
 * of losses/), or, for SimPO and the listwise Plackett–Luce loss, by PyTorch in float64
 * (scripts/make_loss_goldens.py). Shared by tests/losses.golden.test.ts (referenceOps, 1e-9) and
 * tests/losses.tfjs.test.ts (tfjs backends, float32 tolerance).
 */

// A fixed batch of 5 examples: [policyChosen, policyRejected, refChosen, refRejected].
export const PC = [-12.5, -30.0, -8.0, -20.0, -5.0];
export const PR = [-14.0, -28.0, -9.5, -20.0, -45.0];
export const RC = [-13.0, -29.0, -7.0, -20.0, -15.0];
export const RR = [-13.5, -31.0, -9.0, -20.0, -25.0];
export const NW = [4, 10, 3, 7, 1];
export const NL = [6, 12, 3, 2, 9];
export const NLL = [2.5, 0.1, 7.0, 0.0, 3.3];
export const PW = [0.9, 0.5, 0.2, 0.7, 1.0];
export const PL = [0.1, 0.6, 0.4, 0.3, 0.0];
export const RW_GIVEN = [1.5, -0.3, 2.0, 0.0, 4.0];
export const RL_GIVEN = [0.5, 0.2, -1.0, 0.0, -3.0];
export const GEN_P = [-16.0, -27.0, -10.0, -21.0, -30.0];
export const GEN_R = [-15.0, -29.5, -10.0, -19.0, -28.0];

// ---- SimPO and Plackett–Luce: float64 values from PyTorch -------------------------------------
// Printed by `/usr/bin/python3 scripts/make_loss_goldens.py` (torch's logsigmoid, cross_entropy and
// log_softmax on the inputs below; not the formulas of losses/), pasted here unchanged.
export const SIMPO_GOLDEN = [2.2006846948933014, 1.981649665905116, 0.4740769841801067, 1.0302440924512525e-06, 0.9740769841801067];
export const SIMPO_GOLDEN_B25_G14 = [3.4126747857487945, 3.112190693499798, 0.770957047789532, 7.124487909258984e-08, 1.620417409918451];
export const PL_TOP1_GOLDEN = [1.4938117090722385, 2.1429316284998996, 0.8337902010205155];
export const PL_TOP1_GRAD_GOLDEN = [
  [-0.38774238215034695, 0.04129726972176768, 0.04129726972176768, 0.3051478427068116],
  [-0.4413447860869008, 0.43340666609866735, 0.00793811998823338, 0.0],
  [-0.28280015001088843, 0.04846383731228541, 0.13173836830338087, 0.10259794439522217],
];
export const PL_ORDERED_GOLDEN = [5.860284486337095, 2.1610815564177095, 3.173652187968646];

/** The list batch of the Plackett–Luce goldens ([3, 4]; prompt 1 has its last column padded), β = 0.5. */
export const LIST_POLICY = [[-10.0, -12.0, -15.0, -9.0], [-30.0, -28.0, -35.0, 0.0], [-5.0, -5.0, -5.0, -5.0]];
export const LIST_REF = [[-11.0, -11.0, -14.0, -12.0], [-29.0, -31.0, -30.0, 0.0], [-7.0, -4.0, -6.0, -5.5]];
export const LIST_MASK = [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]];
export const LIST_BETA = 0.5;

export const aw = PC.map((x, i) => x - RC[i]);
export const al = PR.map((x, i) => x - RR[i]);
export const h = aw.map((x, i) => x - al[i]);

// Plain formulas (inputs are moderate, so the naive forms are accurate).
const sig = (x: number) => 1 / (1 + Math.exp(-x));
const logSig = (x: number) => Math.log(sig(x));
const sq = (x: number) => x * x;
const map = (f: (i: number) => number) => PC.map((_, i) => f(i));

/** One golden case: parameters, extra inputs and the expected per-example loss. */
export interface GoldenCase {
  readonly params: Record<string, number | string>;
  readonly extra?: Record<string, number[]>;
  readonly value: number[];
}

/** Golden cases by key; the loss name is the key without a `_smoothed`/`_generated`/`_given` suffix. */
export const goldenCases: Record<string, GoldenCase> = {
  sigmoid: { params: { beta: 0.1, labelSmoothing: 0 }, value: map((i) => -logSig(0.1 * h[i])) },
  sigmoid_smoothed: {
    params: { beta: 0.3, labelSmoothing: 0.2 },
    value: map((i) => -0.8 * logSig(0.3 * h[i]) - 0.2 * logSig(-0.3 * h[i])),
  },
  robust: {
    params: { beta: 0.25, labelSmoothing: 0.1 },
    value: map((i) => (-0.9 * logSig(0.25 * h[i]) + 0.1 * logSig(-0.25 * h[i])) / 0.8),
  },
  hinge: { params: { beta: 0.4 }, value: map((i) => Math.max(0, 1 - 0.4 * h[i])) },
  slic: {
    params: { beta: 0.5, delta: 2, lambda: 0.3 },
    extra: { sftNll: NLL },
    value: map((i) => Math.max(0, 2 - 0.5 * h[i]) + 0.3 * NLL[i]),
  },
  ipo_unnormalized: { params: { beta: 0.2 }, value: map((i) => sq(h[i] - 2.5)) },
  ipo: {
    params: { beta: 0.2 },
    extra: { chosenTokens: NW, rejectedTokens: NL },
    value: map((i) => sq(aw[i] / NW[i] - al[i] / NL[i] - 2.5)),
  },
  exo_pair: {
    params: { beta: 0.1, epsilon: 0.01 },
    value: map((i) => {
      const z = 0.1 * h[i];
      return sig(z) * (logSig(z) - Math.log(0.99)) + sig(-z) * (logSig(-z) - Math.log(0.01));
    }),
  },
  nca_pair: {
    params: { beta: 0.3 },
    value: map((i) => -logSig(0.3 * aw[i]) - 0.5 * logSig(-0.3 * aw[i]) - 0.5 * logSig(-0.3 * al[i])),
  },
  bco_pair: {
    params: { beta: 0.2, delta: 0.15 },
    value: map((i) => -logSig(0.2 * aw[i] - 0.15) - logSig(-(0.2 * al[i] - 0.15))),
  },
  sppo_hard: { params: { beta: 0.5 }, value: map((i) => sq(aw[i] - 1) + sq(al[i] + 1)) },
  sppo: {
    params: { beta: 0.5 },
    extra: { winRateChosen: PW, winRateRejected: PL },
    value: map((i) => sq(aw[i] - 2 * (PW[i] - 0.5)) + sq(al[i] - 2 * (PL[i] - 0.5))),
  },
  apo_zero: { params: { beta: 0.2 }, value: map((i) => 1 - sig(0.2 * aw[i]) + sig(0.2 * al[i])) },
  apo_down: { params: { beta: 0.2 }, value: map((i) => sig(0.2 * aw[i]) + 1 - sig(0.2 * (aw[i] - al[i]))) },
  discopop: {
    params: { beta: 0.1, tau: 0.05 },
    value: map((i) => {
      const z = 0.1 * h[i];
      const m = sig(z / 0.05);
      return -logSig(z) * (1 - m) + Math.exp(-z) * m;
    }),
  },
  // softplus(x) = −log σ(−x).
  spac: {
    params: { beta: 0.2, lambda: 0.5 },
    value: map((i) => -logSig(0.2 * h[i]) - 0.5 * logSig(-0.2 * (al[i] - aw[i]))),
  },
  spac_linear: {
    params: { beta: 0.2, lambda: 0.5, link: "linear" },
    value: map((i) => -logSig(0.2 * h[i]) + 0.5 * 0.2 * (al[i] - aw[i])),
  },
  spac_generated: {
    params: { beta: 0.2, lambda: 0.5 },
    extra: { policyGenerated: GEN_P, refGenerated: GEN_R },
    value: map((i) => -logSig(0.2 * h[i]) - 0.5 * logSig(-0.2 * (GEN_P[i] - GEN_R[i] - aw[i]))),
  },
  bt_reward: { params: { beta: 1 }, value: map((i) => -logSig(h[i])) },
  bt_reward_given: {
    params: { beta: 1 },
    extra: { rewardChosen: RW_GIVEN, rewardRejected: RL_GIVEN },
    value: map((i) => -logSig(RW_GIVEN[i] - RL_GIVEN[i])),
  },
  simpo: {
    params: { beta: 2.0, gamma: 0.5 },
    extra: { chosenTokens: NW, rejectedTokens: NL },
    value: SIMPO_GOLDEN,
  },
  simpo_tuned: {
    params: { beta: 2.5, gamma: 1.4 },
    extra: { chosenTokens: NW, rejectedTokens: NL },
    value: SIMPO_GOLDEN_B25_G14,
  },
  // On a pair (K = 1) Plackett–Luce is DPO: −log σ(βh), from the plain formula.
  plackett_luce: { params: { beta: 0.3, ranking: "top1" }, value: map((i) => -logSig(0.3 * h[i])) },
};

/** The loss a golden case key refers to. */
export const goldenLossName = (key: string): string => key.replace(/_(smoothed|generated|given|linear|tuned)$/, "");
