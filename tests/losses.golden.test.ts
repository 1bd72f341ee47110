/**
 * Golden values: every built-in loss on referenceOps against numbers computed here in plain JS
 * (written from the papers' formulas, independently of losses/), to 1e-9. Also hand-derived
 * constants (log 2 at h = 0, …) and the metric values.
 */
import { referenceOps as ops } from "../backends/reference.ts";
import { lossRegistry, plackettLuceList } from "../losses/mod.ts";
import { assert, assertClose, test } from "./harness.ts";
import {
  al,
  aw,
  goldenCases,
  goldenLossName,
  h,
  LIST_BETA,
  LIST_MASK,
  LIST_POLICY,
  LIST_REF,
  NL,
  NW,
  PC,
  PL_ORDERED_GOLDEN,
  PL_TOP1_GOLDEN,
  PR,
  RC,
  RL_GIVEN,
  RR,
  RW_GIVEN,
} from "./losses.golden-cases.ts";

const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
const pair = { policyChosen: v(PC), policyRejected: v(PR), refChosen: v(RC), refRejected: v(RR) };
const values = async (t: ReturnType<typeof v>) => Array.from(await ops.toArray(t));
const expected = goldenCases;

for (const [key, { params, extra, value }] of Object.entries(expected)) {
  const name = goldenLossName(key);
  test(`golden: ${key} matches the plain-JS formula to 1e-9`, async () => {
    const extras = Object.fromEntries(Object.entries(extra ?? {}).map(([k, xs]) => [k, v(xs)]));
    const { loss } = lossRegistry.get(name).compute(ops)({ ...pair, ...extras }, params);
    assertClose(await values(loss), value, { atol: 1e-9, rtol: 1e-12, message: key });
  });
}

test("golden: every registered loss has a golden case", () => {
  const covered = new Set(Object.keys(expected).map(goldenLossName));
  assert.deepEqual(lossRegistry.names().filter((n) => !covered.has(n)), []);
});

test("golden: hand-derived constants", async () => {
  const zero = { policyChosen: v([-3]), policyRejected: v([-7]), refChosen: v([-3]), refRejected: v([-7]) };
  const at0 = async (name: string, params: Record<string, number | string> = {}, extra = {}) =>
    (await values(lossRegistry.get(name).compute(ops)({ ...zero, ...extra }, params).loss))[0];
  assertClose([await at0("sigmoid")], [Math.LN2]); // −log σ(0)
  assertClose([await at0("robust", { labelSmoothing: 0.3 })], [Math.LN2]); // (0.7 − 0.3)·log 2 / 0.4
  assertClose([await at0("sigmoid", { labelSmoothing: 0.3 })], [Math.LN2]);
  assertClose([await at0("bt_reward")], [Math.LN2]);
  assertClose([await at0("hinge")], [1]);
  assertClose([await at0("ipo_unnormalized", { beta: 0.25 })], [4]); // (0 − 2)²
  assertClose([await at0("sppo_hard", { beta: 0.25 })], [8]); // 2² + 2²
  assertClose([await at0("apo_zero")], [1]);
  assertClose([await at0("apo_down")], [1]);
  assertClose([await at0("nca_pair")], [2 * Math.LN2]); // log 2 + ½ log 2 + ½ log 2
  assertClose([await at0("bco_pair")], [2 * Math.LN2]);
  assertClose([await at0("discopop")], [0.5 * Math.LN2 + 0.5]);
  assertClose([await at0("exo_pair", { epsilon: 0.25 })], [Math.log(0.5 / 0.75) / 2 + Math.log(0.5 / 0.25) / 2]);
  assertClose([await at0("spac", { lambda: 2 })], [3 * Math.LN2]); // log 2 + 2·softplus(0)
  assertClose([await at0("spac", { lambda: 2, link: "linear" })], [Math.LN2]);
});

test("golden: TRL-named metrics, per example", async () => {
  const { metrics } = lossRegistry.get("sigmoid").compute(ops)(pair, { beta: 0.1 });
  assertClose(await values(metrics["rewards/chosen"]), aw.map((x) => 0.1 * x), { atol: 1e-12 });
  assertClose(await values(metrics["rewards/rejected"]), al.map((x) => 0.1 * x), { atol: 1e-12 });
  assertClose(await values(metrics["rewards/margins"]), h.map((x) => 0.1 * x), { atol: 1e-12 });
  assertClose(await values(metrics["rewards/accuracies"]), h.map((x) => (x > 0 ? 1 : 0)));
  assertClose(await values(metrics["logps/chosen"]), PC);
  assertClose(await values(metrics["logps/rejected"]), PR);
  // ipo reports length-normalized log-probs and rewards, as TRL does.
  const ipo = lossRegistry.get("ipo").compute(ops)({ ...pair, chosenTokens: v(NW), rejectedTokens: v(NL) }, { beta: 0.2 });
  assertClose(await values(ipo.metrics["logps/chosen"]), PC.map((x, i) => x / NW[i]), { atol: 1e-12 });
  assertClose(await values(ipo.metrics["rewards/rejected"]), al.map((x, i) => (0.2 * x) / NL[i]), { atol: 1e-12 });
  // bt_reward with given rewards reports them.
  const bt = lossRegistry.get("bt_reward").compute(ops)({ ...pair, rewardChosen: v(RW_GIVEN), rewardRejected: v(RL_GIVEN) });
  assertClose(await values(bt.metrics["rewards/margins"]), RW_GIVEN.map((x, i) => x - RL_GIVEN[i]), { atol: 1e-12 });
});

const matrix = (rows: number[][]) => ops.fromArray(rows.flat(), [rows.length, rows[0].length]);
const list = { policy: matrix(LIST_POLICY), ref: matrix(LIST_REF), mask: matrix(LIST_MASK) };

test("golden: Plackett–Luce on a [3, 1 + 3] list (one padded column) matches PyTorch to 1e-9", async () => {
  const top1 = plackettLuceList(ops)(list, { beta: LIST_BETA, ranking: "top1" });
  assertClose(await values(top1.loss), PL_TOP1_GOLDEN, { atol: 1e-9, rtol: 1e-12, message: "top1" });
  const ordered = plackettLuceList(ops)(list, { beta: LIST_BETA, ranking: "ordered" });
  assertClose(await values(ordered.loss), PL_ORDERED_GOLDEN, { atol: 1e-9, rtol: 1e-12, message: "ordered" });
  // Metrics: r_0, the mean reward of the present generated answers, and whether r_0 beats them all.
  const r = LIST_POLICY.map((row, i) => row.map((x, j) => LIST_BETA * (x - LIST_REF[i][j])));
  const presentLosers = r.map((row, i) => row.slice(1).filter((_, j) => LIST_MASK[i][j + 1] === 1));
  const meanLosers = presentLosers.map((xs) => xs.reduce((a, b) => a + b, 0) / xs.length);
  assertClose(await values(top1.metrics["rewards/chosen"]), r.map((row) => row[0]), { atol: 1e-12 });
  assertClose(await values(top1.metrics["rewards/rejected"]), meanLosers, { atol: 1e-12 });
  const wins = r.map((row, i) => (presentLosers[i].every((x) => row[0] > x) ? 1 : 0));
  assert.deepEqual(wins, [0, 0, 1]);
  assertClose(await values(top1.metrics["rewards/accuracies"]), wins);
});

test("golden: a padded column may hold −∞ (as a masked log-prob often does) without changing anything", async () => {
  const padded = LIST_POLICY.map((row, i) => row.map((x, j) => (LIST_MASK[i][j] === 0 ? -Infinity : x)));
  const out = plackettLuceList(ops)({ ...list, policy: matrix(padded) }, { beta: LIST_BETA, ranking: "ordered" });
  assertClose(await values(out.loss), PL_ORDERED_GOLDEN, { atol: 1e-9, rtol: 1e-12 });
  for (const [name, m] of Object.entries(out.metrics)) assert.ok((await values(m)).every(Number.isFinite), name);
});

test("golden: hand-derived constants of the new losses", async () => {
  // Equal rewards: top-1 is log(1 + K); the full ranking is log((1 + K)!).
  const flat = { policy: matrix([[-3, -4, -5, -6]]), ref: matrix([[-3, -4, -5, -6]]) };
  assertClose(await values(plackettLuceList(ops)(flat).loss), [Math.log(4)], { atol: 1e-15 });
  assertClose(await values(plackettLuceList(ops)(flat, { ranking: "ordered" }).loss), [Math.log(24)], { atol: 1e-14 });
  // SimPO at equal average log-probs: −log σ(−γ) = softplus(γ); with γ = 0 it is log 2.
  const simpo = lossRegistry.get("simpo");
  const even = { policyChosen: v([-6]), policyRejected: v([-12]), refChosen: v([0]), refRejected: v([-50]), chosenTokens: v([3]), rejectedTokens: v([6]) };
  assertClose(await values(simpo.compute(ops)(even).loss), [Math.log1p(Math.exp(0.5))], { atol: 1e-15 });
  assertClose(await values(simpo.compute(ops)(even, { gamma: 0 }).loss), [Math.LN2], { atol: 1e-15 });
});
