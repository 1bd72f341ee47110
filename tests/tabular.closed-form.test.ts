/**
 * The tabular testbed against the closed forms, each computed here with plain arithmetic
 * independently of eval/:
 * (a) the population minimizer of the logistic loss is π ∝ m·(p/q)^(1/β') (Newton, to 1e-6);
 * (b) for h = 1 the fixed point is ∝ p^w·π_base^(1−w), w = 1/(1 + β'(1 − α));
 * (c) the h = 1 iteration multiplies the (centred) log-deviation from the fixed point by
 *     a = α − 1/β': it converges iff |a| < 1 and diverges otherwise;
 * (d) p_data is a fixed point of SPIN (α = 1, h = 1).
 * Also the objective against the library's `sigmoid` loss and a brute-force sum, and its
 * gradient and Hessian against finite differences.
 */
import * as fc from "fast-check";
import { referenceOps, refToArraySync } from "../backends/reference.ts";
import { sigmoidLoss } from "../losses/sigmoid.ts";
import { contractionFactor, runTabularSpin, spinConverges, tabularSpinStep } from "../eval/tabular.ts";
import { logisticObjectiveRow, minimizeLogisticRow } from "../eval/tabular-solver.ts";
import { makeTabularProblem, type TabularProblem } from "../eval/tabular-tables.ts";
import { assert, assertClose, test } from "./harness.ts";

// ---- independent helpers (plain arithmetic, nothing from eval/)
const lse = (x: ArrayLike<number>): number => {
  const m = Math.max(...Array.from(x));
  return m + Math.log(Array.from(x).reduce((s, v) => s + Math.exp(v - m), 0));
};
const normalize = (x: ArrayLike<number>): number[] => {
  const z = lse(x);
  return Array.from(x, (v) => v - z);
};
const centre = (x: ArrayLike<number>): number[] => {
  const mean = Array.from(x).reduce((s, v) => s + v, 0) / x.length;
  return Array.from(x, (v) => v - mean);
};
/** Σ_{a,b} p(a) q(b) −log σ(β'[(θ_a − ref_a) − (θ_b − ref_b)]), written out directly. */
const bruteObjective = (lp: number[], lq: number[], lref: number[], bp: number, theta: number[]): number => {
  let s = 0;
  for (let a = 0; a < lp.length; a++) {
    for (let b = 0; b < lp.length; b++) {
      const z = bp * ((theta[a] - lref[a]) - (theta[b] - lref[b]));
      s += Math.exp(lp[a]) * Math.exp(lq[b]) * Math.log(1 + Math.exp(-z));
    }
  }
  return s;
};
const closedForm = (lp: number[], lq: number[], lref: number[], bp: number): number[] =>
  normalize(lp.map((v, i) => lref[i] + (v - lq[i]) / bp));
const rows = (t: readonly Float64Array[]): number[][] => t.map((r) => Array.from(r));
const maxCentredDiff = (a: number[][], b: number[][]): number =>
  Math.max(...a.flatMap((row, x) => centre(row.map((v, y) => v - b[x][y])).map(Math.abs)));

const logRow = fc.integer({ min: 2, max: 6 }).chain((n) =>
  fc.tuple(
    ...[0, 1, 2].map(() =>
      fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n })
    ),
  )
);

test("objective: equals a brute-force sum and the library's sigmoid loss weighted by p(a)q(b)", () => {
  const lp = normalize([0.3, -1, 0.8, 0]),
    lq = normalize([1, 0, -0.5, 0.2]),
    lref = normalize([0, 0.4, -0.2, 0.1]);
  const theta = [0.5, -0.3, 1.2, 0.1], bp = 0.7;
  const value = logisticObjectiveRow(lp, lq, lref, bp, theta).value;
  assertClose([value], [bruteObjective(lp, lq, lref, bp, theta)], { atol: 1e-13 });
  // Every ordered pair (a, b) as a batch for losses/sigmoid.ts: policy = θ normalized, reference = lref.
  const lpi = normalize(theta), n = lp.length, v = (xs: number[]) => referenceOps.fromArray(xs, [xs.length]);
  const pairs = Array.from({ length: n * n }, (_, k) => [Math.floor(k / n), k % n]);
  const out = sigmoidLoss.compute(referenceOps)({
    policyChosen: v(pairs.map(([a]) => lpi[a])),
    policyRejected: v(pairs.map(([, b]) => lpi[b])),
    refChosen: v(pairs.map(([a]) => lref[a])),
    refRejected: v(pairs.map(([, b]) => lref[b])),
  }, { beta: bp });
  const perPair = refToArraySync(out.loss);
  const weighted = pairs.reduce((s, [a, b], k) => s + Math.exp(lp[a] + lq[b]) * perPair[k], 0);
  assertClose([value], [weighted], { atol: 1e-13 });
});

test("objective: gradient and Hessian match central finite differences", () => {
  fc.assert(
    fc.property(logRow, fc.double({ min: 0.2, max: 4, noNaN: true }), ([a, b, c], bp) => {
      const lp = normalize(a),
        lq = normalize(b),
        lref = normalize(c),
        theta = a.map((v, i) => 0.5 * v - 0.3 * c[i]);
      const { gradient, hessian } = logisticObjectiveRow(lp, lq, lref, bp, theta);
      const n = lp.length, h = 1e-5;
      const f = (t: number[]) => bruteObjective(lp, lq, lref, bp, t);
      const bump = (t: number[], i: number, d: number) => t.map((v, k) => (k === i ? v + d : v));
      const fd = theta.map((_, i) => (f(bump(theta, i, h)) - f(bump(theta, i, -h))) / (2 * h));
      assertClose(gradient, fd, { atol: 1e-8 });
      for (let i = 0; i < n; i++) {
        const gi = (t: number[]) => logisticObjectiveRow(lp, lq, lref, bp, t).gradient;
        const up = gi(bump(theta, i, h)), down = gi(bump(theta, i, -h));
        assertClose(
          Array.from({ length: n }, (_, j) => hessian[j * n + i]),
          Array.from({ length: n }, (_, j) => (up[j] - down[j]) / (2 * h)),
          { atol: 1e-7 },
        );
      }
    }),
    { seed: 17, numRuns: 40 },
  );
});

test("(a) the closed form is stationary, and Newton's minimizer equals π ∝ m·(p/q)^(1/β') to 1e-6", () => {
  fc.assert(
    fc.property(logRow, fc.double({ min: 0.1, max: 5, noNaN: true }), ([a, b, c], bp) => {
      const lp = normalize(a), lq = normalize(b), lref = normalize(c);
      const star = closedForm(lp, lq, lref, bp);
      // Stationarity of the brute-force objective at the closed form (finite differences).
      const h = 1e-6, f = (t: number[]) => bruteObjective(lp, lq, lref, bp, t);
      star.forEach((_, i) => {
        const up = star.map((v, k) => (k === i ? v + h : v)),
          down = star.map((v, k) => (k === i ? v - h : v));
        assert.ok(Math.abs(f(up) - f(down)) / (2 * h) < 1e-7, `∂L/∂θ_${i} at the closed form`);
      });
      const sol = minimizeLogisticRow(lp, lq, lref, bp);
      assert.ok(sol.converged, `Newton stopped: ${sol.stop}`);
      assert.ok(sol.gradNorm < 1e-10);
      assertClose(sol.logPolicy, star, { atol: 1e-6 });
      assert.ok(sol.value <= f(lref) + 1e-15, "the minimum is not above the starting point");
    }),
    { seed: 23, numRuns: 150 },
  );
});

test("(a) along whole runs: every Newton iterate equals the closed form of its own m_t and q_t (h = 1, 2, all)", () => {
  const problem = makeTabularProblem({ seed: 4, prompts: 3, answers: 4 });
  const base = rows(problem.logBase), data = rows(problem.logData);
  for (const h of [1, 2, "all"] as const) {
    for (const alpha of [1, 0.9, 0.5]) {
      for (const bp of [0.5, 1, 2]) {
        const run = runTabularSpin(problem, { alpha, betaPrime: bp, windowSize: h }, { iterations: 6 });
        const it = run.iterates.map(rows);
        for (let t = 1; t <= 6; t++) {
          assert.ok(run.records[t - 1].converged);
          const window = h === "all" ? it.slice(0, t) : it.slice(Math.max(0, t - h), t);
          const expected = data.map((lp, x) => {
            const lref = normalize(it[t - 1][x].map((v, y) => alpha * v + (1 - alpha) * base[x][y]));
            const lq = lp.map((_, y) =>
              Math.log(window.reduce((s, pi) => s + Math.exp(pi[x][y]), 0) / window.length)
            );
            return closedForm(lp, lq, lref, bp);
          });
          const gap = maxCentredDiff(it[t], expected);
          assert.ok(gap < 1e-6, `h=${h} α=${alpha} β'=${bp} t=${t}: gap ${gap}`);
        }
      }
    }
  }
});

const fixedPointOf = (problem: TabularProblem, alpha: number, bp: number): number[][] => {
  const w = 1 / (1 + bp * (1 - alpha));
  return problem.logData.map((lp, x) =>
    normalize(Array.from(lp, (v, y) => w * v + (1 - w) * problem.logBase[x][y]))
  );
};

test("(b) h = 1: the iteration reaches p^w·π_base^(1−w), and that table is a fixed point of one Newton step", () => {
  const problem = makeTabularProblem({ seed: 8, prompts: 3, answers: 5 });
  for (const [alpha, bp] of [[0.9, 2], [0.5, 1], [0.5, 2], [0.9, 1], [0.7, 0.8]]) {
    const star = fixedPointOf(problem, alpha, bp);
    const run = runTabularSpin(problem, { alpha, betaPrime: bp, windowSize: 1 }, { iterations: 60 });
    assert.ok(run.records.every((r) => r.converged));
    const gap = maxCentredDiff(rows(run.iterates[60]), star);
    assert.ok(gap < 1e-6, `α=${alpha} β'=${bp}: gap ${gap}`);
    const starTable = star.map((r) => Float64Array.from(r));
    const { next } = tabularSpinStep(problem, { alpha, betaPrime: bp, windowSize: 1 }, [problem.logBase, starTable]);
    assert.ok(maxCentredDiff(rows(next), star) < 1e-6, `one step from π* stays at π* (α=${alpha}, β'=${bp})`);
  }
});

test("(c) the log-deviation from π* is multiplied by a = α − 1/β' each iteration: converges iff |a| < 1", () => {
  const problem = makeTabularProblem({ seed: 3, prompts: 3, answers: 4 });
  const cases: { alpha: number; bp: number; a: number; steps: number }[] = [
    { alpha: 0.9, bp: 2, a: 0.4, steps: 8 },
    { alpha: 0.5, bp: 1, a: -0.5, steps: 8 },
    { alpha: 1, bp: 0.5, a: -1, steps: 8 },
    { alpha: 0.9, bp: 0.5, a: -1.1, steps: 8 },
    { alpha: 0.5, bp: 0.5, a: -1.5, steps: 6 },
  ];
  for (const { alpha, bp, a, steps } of cases) {
    assertClose([contractionFactor(alpha, bp)], [a], { atol: 1e-12 });
    assert.equal(spinConverges(alpha, bp), Math.abs(a) < 1);
    const star = fixedPointOf(problem, alpha, bp);
    const run = runTabularSpin(problem, { alpha, betaPrime: bp, windowSize: 1 }, { iterations: steps });
    assert.ok(run.records.every((r) => r.converged), `Newton converged (α=${alpha}, β'=${bp})`);
    const dev = run.iterates.map((t) =>
      rows(t).flatMap((row, x) => centre(row.map((v, y) => v - star[x][y])))
    );
    for (let t = 1; t <= steps; t++) {
      assertClose(dev[t], dev[t - 1].map((v) => a * v), {
        atol: 1e-6,
        message: `α=${alpha} β'=${bp} t=${t}`,
      });
    }
    const size = (v: number[]) => Math.max(...v.map(Math.abs));
    const ratio = size(dev[steps]) / size(dev[0]);
    assertClose([ratio], [Math.abs(a) ** steps], { rtol: 1e-5, message: `α=${alpha} β'=${bp}` });
    if (Math.abs(a) < 1) assert.ok(ratio < 0.01, "converging");
    if (Math.abs(a) > 1) assert.ok(ratio > 1.7, "diverging");
  }
  // Divergence continues: with the closed-form solver the deviation keeps growing as 1.5^t.
  const far = runTabularSpin(problem, { alpha: 0.5, betaPrime: 0.5, windowSize: 1 }, {
    iterations: 40,
    solver: "closed-form",
  });
  const star = fixedPointOf(problem, 0.5, 0.5);
  assert.ok(maxCentredDiff(rows(far.iterates[40]), star) > 1e6);
  assert.ok(far.records[39].klToData > 1e5);
});

test("(d) p_data is a fixed point of SPIN (α = 1, h = 1) for every β' — attracting iff β' > 1/2", () => {
  const source = makeTabularProblem({ seed: 12, prompts: 3, answers: 4 });
  const problem: TabularProblem = { ...source, logBase: source.logData }; // start at p_data
  for (const bp of [0.1, 0.5, 1, 3]) {
    for (const h of [1, 2, "all"] as const) {
      const run = runTabularSpin(problem, { alpha: 1, betaPrime: bp, windowSize: h }, { iterations: 3 });
      for (const t of [1, 2, 3]) {
        assert.ok(
          maxCentredDiff(rows(run.iterates[t]), rows(problem.logData)) < 1e-6,
          `β'=${bp} h=${h} t=${t}`,
        );
        assert.ok(run.records[t - 1].klToData < 1e-12);
      }
    }
    // A small perturbation of the start is multiplied by a = 1 − 1/β' per iteration.
    const eps = 1e-3;
    const perturbed: TabularProblem = {
      ...source,
      logBase: source.logData.map((r) =>
        Float64Array.from(normalize(Array.from(r, (v, y) => v + (y === 0 ? eps : 0))))
      ),
    };
    const run = runTabularSpin(perturbed, { alpha: 1, betaPrime: bp, windowSize: 1 }, { iterations: 1 });
    const before = maxCentredDiff(rows(perturbed.logBase), rows(source.logData));
    const after = maxCentredDiff(rows(run.iterates[1]), rows(source.logData));
    assertClose([after], [Math.abs(1 - 1 / bp) * before], { atol: 1e-7, message: `β'=${bp}` });
  }
  // With α < 1 and π_base ≠ p_data, p_data is not a fixed point: one step from p_data moves away.
  const { next } = tabularSpinStep(source, { alpha: 0.5, betaPrime: 1, windowSize: 1 }, [
    source.logBase,
    source.logData,
  ]);
  assert.ok(maxCentredDiff(rows(next), rows(source.logData)) > 1e-2);
});
