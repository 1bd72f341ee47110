/**
 * The tabular testbed's pieces: mixtures and distances against hand values, the opponent window
 * of each h, input checks, Newton's stopping rules, and the comparison report.
 */
import { formatNumber, formatTabularComparison, runTabularComparison } from "../eval/tabular-report.ts";
import { fixedPointWeight, runTabularSpin, tabularSpinStep } from "../eval/tabular.ts";
import { closedFormLogisticRow, minimizeLogisticRow } from "../eval/tabular-solver.ts";
import {
  arithmeticMixtureTable,
  geometricMixtureTable,
  logSumExpArray,
  makeTabularProblem,
  normalizeLogRow,
  tableKl,
  tableTv,
  type TabularProblem,
} from "../eval/tabular-tables.ts";
import { assert, assertClose, test } from "./harness.ts";

const L = Math.log;
const row = (...ps: number[]): Float64Array => Float64Array.from(ps.map(L));

test("mixtures and distances on hand values", () => {
  assertClose([logSumExpArray([1000, 1000])], [1000 + L(2)], { atol: 1e-12 });
  assertClose(normalizeLogRow([0, L(3)]), [L(0.25), L(0.75)], { atol: 1e-15 });
  // Geometric: (0.5, 0.5)^½ · (0.9, 0.1)^½ ∝ (√0.45, √0.05) = (3, 1)/4 after normalizing.
  assertClose(geometricMixtureTable([row(0.5, 0.5)], [row(0.9, 0.1)], 0.5)[0], [L(0.75), L(0.25)], {
    atol: 1e-14,
  });
  assertClose(geometricMixtureTable([row(0.5, 0.5)], [row(0.9, 0.1)], 1)[0], [L(0.5), L(0.5)], {
    atol: 1e-15,
  });
  assertClose(geometricMixtureTable([row(0.5, 0.5)], [row(0.9, 0.1)], 0)[0], [L(0.9), L(0.1)], {
    atol: 1e-15,
  });
  assert.throws(() => geometricMixtureTable([row(0.5, 0.5)], [row(0.9, 0.1)], 1.5), RangeError);
  // Arithmetic: ½(0.5, 0.5) + ½(0.9, 0.1) = (0.7, 0.3); weighted ¼, ¾: (0.8, 0.2).
  assertClose(arithmeticMixtureTable([[row(0.5, 0.5)], [row(0.9, 0.1)]])[0], [L(0.7), L(0.3)], {
    atol: 1e-15,
  });
  assertClose(arithmeticMixtureTable([[row(0.5, 0.5)], [row(0.9, 0.1)]], [0.25, 0.75])[0], [L(0.8), L(0.2)], {
    atol: 1e-15,
  });
  const problem: TabularProblem = {
    promptWeights: Float64Array.of(0.25, 0.75),
    logData: [row(0.5, 0.5), row(0.2, 0.8)],
    logBase: [row(0.5, 0.5), row(0.5, 0.5)],
  };
  const pi = [row(0.25, 0.75), row(0.2, 0.8)];
  assertClose([tableKl(problem, pi)], [0.25 * (0.5 * L(2) + 0.5 * L(2 / 3))], { atol: 1e-15 });
  assertClose([tableTv(problem, pi)], [0.25 * 0.25], { atol: 1e-15 });
  assertClose([tableTv(problem, problem.logBase)], [0.75 * 0.3], { atol: 1e-15 });
});

test("makeTabularProblem: seeded, full support, normalized rows and weights", () => {
  const a = makeTabularProblem({ seed: 1, prompts: 4, answers: 5 });
  assert.deepEqual(a, makeTabularProblem({ seed: 1, prompts: 4, answers: 5 }));
  assert.notDeepEqual(a.logData, makeTabularProblem({ seed: 2, prompts: 4, answers: 5 }).logData);
  assertClose([a.promptWeights.reduce((s, v) => s + v, 0)], [1], { atol: 1e-15 });
  for (const t of [a.logData, a.logBase]) {
    for (const r of t) {
      assert.ok(r.every(Number.isFinite));
      assertClose([r.reduce((s, v) => s + Math.exp(v), 0)], [1], { atol: 1e-14 });
    }
  }
  assert.ok(tableKl(a, a.logBase) > 0.01, "the base is under-trained");
  assert.throws(() => makeTabularProblem({ seed: 1, prompts: 0, answers: 5 }), RangeError);
});

test("opponent windows: h = 1 uses π_{t−1}, h = 2 the mean of π_{t−2}, π_{t−1}, h = all the mean of all", () => {
  const base = [row(0.25, 0.25, 0.5)], p1 = [row(0.5, 0.25, 0.25)], p2 = [row(0.1, 0.6, 0.3)];
  const problem: TabularProblem = {
    promptWeights: Float64Array.of(1),
    logData: [row(0.2, 0.3, 0.5)],
    logBase: base,
  };
  const past = [base, p1, p2];
  const expectOpponent = (h: 1 | 2 | "all", q: number[]) => {
    const { next } = tabularSpinStep(problem, { alpha: 1, betaPrime: 2, windowSize: h }, past, { solver: "closed-form" });
    // α = 1: m = π_2, so π_3 ∝ π_2·(p/q)^(1/2).
    const want = normalizeLogRow([0, 1, 2].map((y) => p2[0][y] + 0.5 * (problem.logData[0][y] - L(q[y]))));
    assertClose(next[0], want, { atol: 1e-14, message: `h=${h}` });
  };
  expectOpponent(1, [0.1, 0.6, 0.3]);
  expectOpponent(2, [0.3, 0.425, 0.275]);
  expectOpponent("all", [0.85 / 3, 1.1 / 3, 1.05 / 3]);
  assert.throws(() => tabularSpinStep(problem, { alpha: 1, betaPrime: 2, windowSize: 0 }, past), RangeError);
  assert.throws(() => tabularSpinStep(problem, { alpha: 1, betaPrime: 2, windowSize: 1 }, []), RangeError);
  assert.throws(
    () => runTabularSpin(problem, { alpha: 1, betaPrime: 2, windowSize: 1 }, { iterations: -1 }),
    RangeError,
  );
});

test("the minimizer needs full support and a positive β'; Newton reports why it stopped", () => {
  const lp = row(0.5, 0.5, 0), lq = row(0.2, 0.3, 0.5), lref = row(1 / 3, 1 / 3, 1 / 3);
  assert.throws(() => minimizeLogisticRow(lp, lq, lref, 1), /positive probability/);
  assert.throws(() => closedFormLogisticRow(lq, lp, lref, 1), /positive probability/);
  assert.throws(() => minimizeLogisticRow(lq, lq, lref, 0), /beta'/);
  assert.throws(() => minimizeLogisticRow(lq, lq.subarray(1), lref, 1), /different lengths/);
  // p = q: nothing to learn, the minimizer is the reference itself (zero Newton steps needed).
  const same = minimizeLogisticRow(lq, lq, lref, 0.3);
  assert.ok(same.converged);
  assert.equal(same.iterations, 0);
  assertClose(same.logPolicy, lref, { atol: 1e-15 });
  // An opponent with mass ~1e-200 on one answer: the optimum is ~460/β' away, Newton's 5 steps cannot get there.
  const tiny = minimizeLogisticRow(row(0.3, 0.7), Float64Array.of(L(1 - 1e-200), -460.5), row(0.5, 0.5), 1, {
    maxIterations: 5,
  });
  assert.ok(!tiny.converged);
  assert.equal(tiny.stop, "max-iterations");
});

test("fixedPointWeight: w = 1/(1 + β'(1 − α))", () => {
  assert.equal(fixedPointWeight(1, 0.1), 1);
  assert.equal(fixedPointWeight(0.5, 2), 0.5);
  assertClose([fixedPointWeight(0.9, 2)], [1 / 1.2], { atol: 1e-15 });
});

test("comparison report: rows per variant, Newton fallback flagged, numbers match direct runs", () => {
  const comparison = runTabularComparison({
    seeds: [1, 2],
    iterations: 6,
    checkpoints: [1, 6],
    betaPrimes: [0.1, 1],
    hs: [1, "all"],
    alphas: [1, 0.5],
  });
  assert.equal(comparison.rows.length, 8);
  const spinSmallBeta = comparison.rows.find((r) =>
    r.variant.betaPrime === 0.1 && r.variant.windowSize === 1 && r.variant.alpha === 1
  )!;
  assert.equal(spinSmallBeta.solver, "closed-form");
  assert.equal(spinSmallBeta.contraction, -9);
  assert.ok(spinSmallBeta.newtonFailedAt !== null && spinSmallBeta.newtonFailedAt >= 2);
  const fp = comparison.rows.find((r) =>
    r.variant.betaPrime === 1 && r.variant.windowSize === "all" && r.variant.alpha === 0.5
  )!;
  assert.equal(fp.solver, "newton");
  const direct = runTabularSpin(makeTabularProblem({ seed: 1, prompts: 4, answers: 5 }), fp.variant, {
    iterations: 6,
  });
  assertClose(fp.klAt, [direct.records[0].klToData, direct.records[5].klToData], { atol: 1e-15 });
  assert.equal(fp.finalKlBySeed.length, 2);
  const text = formatTabularComparison(comparison);
  const tableLines = text.split("\n").filter((l) => l.startsWith("| 0.1 ") || l.startsWith("| 1 "));
  assert.equal(tableLines.length, 16); // 8 rows in each of the two tables
  assert.match(text, /closed form \(Newton fails at t=\d\)/);
  assert.match(text, /\| β' \| h \| α \| a = α − 1\/β' \| KL t=1 \| KL t=6 \|/);
  assert.equal(formatNumber(0.012345), "0.0123");
  assert.equal(formatNumber(3.1e-9), "3.1e-9");
  assert.equal(formatNumber(1.5e12), "1.5e12");
  assert.throws(() => runTabularComparison({ iterations: 5, checkpoints: [6] }), RangeError);
});
