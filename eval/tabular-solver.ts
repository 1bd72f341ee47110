/**
 * The population objective of one SPIN / α-SPIN iteration with the logistic (DPO, `sigmoid`) loss,
 * for one prompt of a tabular problem, and its exact minimizer.
 *
 * With winners y_w ∼ p (the data), losers y_l ∼ q (the opponent) and reference m (the geometric
 * mixture), the objective over a softmax row π = softmax(θ) is
 *
 *   L(θ) = Σ_{a,b} p(a)·q(b)·softplus(−β'·[(log π(a) − log m(a)) − (log π(b) − log m(b))]),
 *
 * which depends on θ only through s = θ − log m (the normalizer of π and of m cancel in the margin).
 * Writing u_ab = β'(s_a − s_b) and ℓ(u) = softplus(−u) (ℓ' = −σ(−u), ℓ'' = σ(u)σ(−u)), each ordered
 * pair contributes w_ab·ℓ(u_ab) with w_ab = p(a)q(b), gradient w_ab·β'·ℓ'(u_ab)·(e_a − e_b) and
 * Hessian w_ab·β'²·ℓ''(u_ab)·(e_a − e_b)(e_a − e_b)ᵀ. L is convex; it is invariant under
 * θ → θ + c·1, so {@link minimizeLogisticRow} fixes θ_0 and runs Newton's method with a
 * backtracking (Armijo) line search on the other coordinates.
 *
 * Closed form ({@link closedFormLogisticRow}). The stationarity condition for coordinate k is
 *   p(k)·Σ_b q(b)·σ(r_b − r_k) = q(k)·Σ_a p(a)·σ(r_k − r_a),   r = β's.
 * With r = log(p/q) + c, σ(r_a − r_b) = p(a)q(b) / (p(a)q(b) + p(b)q(a)), and both sides equal
 * p(k)q(k)·Σ_a p(a)q(a) / (p(a)q(k) + p(k)q(a)). So r = log(p/q) is stationary, hence (convexity)
 * the minimizer, unique up to the constant when p and q cover every answer. Back in π:
 *   π ∝ m · (p / q)^(1/β').
 * If p or q gives some answer zero probability the infimum is not attained (that answer's
 * log-ratio runs off to ±∞), so both must have full support.
 *
 * @example
 * ```ts
 * import { closedFormLogisticRow, minimizeLogisticRow } from "./tabular-solver.ts";
 * const lp = Float64Array.of(Math.log(0.6), Math.log(0.4)), lq = Float64Array.of(Math.log(0.3), Math.log(0.7));
 * const numeric = minimizeLogisticRow(lp, lq, lq, 1).logPolicy;   // Newton to |grad| < 1e-12
 * const exact = closedFormLogisticRow(lp, lq, lq, 1);             // ∝ q·(p/q) = p
 * ```
 *
 * @module
 */
import { normalizeLogRow } from "./tabular-tables.ts";

const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

const checkRows = (
  logP: ArrayLike<number>,
  logQ: ArrayLike<number>,
  logRef: ArrayLike<number>,
  betaPrime: number,
): void => {
  const n = logP.length;
  if (logQ.length !== n || logRef.length !== n) {
    throw new RangeError("logistic population: rows of different lengths");
  }
  if (n < 2) throw new RangeError("logistic population: need at least two answers");
  if (!(betaPrime > 0 && Number.isFinite(betaPrime))) {
    throw new RangeError(`logistic population: beta' must be a finite number > 0, got ${betaPrime}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(logP[i]) || !Number.isFinite(logQ[i])) {
      throw new RangeError(
        `logistic population: answer ${i} has p = ${Math.exp(logP[i])}, q = ${
          Math.exp(logQ[i])
        }; the minimizer exists ` +
          "only when the data p and the opponent q give every answer a positive probability",
      );
    }
    if (!Number.isFinite(logRef[i])) {
      throw new RangeError(`logistic population: the reference log-prob of answer ${i} is ${logRef[i]}`);
    }
  }
};

/** The objective's value, gradient and Hessian (with respect to the logits θ) at one point. */
export interface LogisticObjective {
  readonly value: number;
  readonly gradient: Float64Array;
  /** Row-major n × n. */
  readonly hessian: Float64Array;
}

/**
 * Value, gradient and Hessian of the per-prompt population objective L(θ) at logits θ (any shift;
 * π = softmax(θ)). Includes the pairs with a = b, which add the constant log 2·Σ p(a)q(a).
 *
 * @example
 * ```ts
 * const lp = Float64Array.of(Math.log(0.6), Math.log(0.4)), lq = Float64Array.of(Math.log(0.3), Math.log(0.7));
 * const lref = Float64Array.of(Math.log(0.5), Math.log(0.5));
 * logisticObjectiveRow(lp, lq, lref, 0.5, lref).value; // log 2: at π = m every margin is 0
 * ```
 */
export const logisticObjectiveRow = (
  logP: ArrayLike<number>,
  logQ: ArrayLike<number>,
  logRef: ArrayLike<number>,
  betaPrime: number,
  theta: ArrayLike<number>,
): LogisticObjective => {
  checkRows(logP, logQ, logRef, betaPrime);
  const n = logP.length;
  const s = Float64Array.from({ length: n }, (_, i) => theta[i] - logRef[i]);
  const gradient = new Float64Array(n), hessian = new Float64Array(n * n);
  let value = 0;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const w = Math.exp(logP[a] + logQ[b]);
      if (a === b) {
        value += w * Math.LN2;
        continue;
      }
      const u = betaPrime * (s[a] - s[b]);
      value += w * softplus(-u);
      const g = w * betaPrime * sigmoid(-u); // −∂/∂s_a, +∂/∂s_b
      gradient[a] -= g;
      gradient[b] += g;
      const curvature = w * betaPrime * betaPrime * sigmoid(u) * sigmoid(-u);
      hessian[a * n + a] += curvature;
      hessian[b * n + b] += curvature;
      hessian[a * n + b] -= curvature;
      hessian[b * n + a] -= curvature;
    }
  }
  return { value, gradient, hessian };
};

/**
 * The exact minimizer π ∝ m·(p/q)^(1/β') as a normalized log-prob row.
 *
 * @example
 * ```ts
 * const lp = Float64Array.of(Math.log(0.6), Math.log(0.4)), lq = Float64Array.of(Math.log(0.3), Math.log(0.7));
 * const lref = Float64Array.of(Math.log(0.5), Math.log(0.5));
 * closedFormLogisticRow(lp, lq, lref, 0.5); // lref + 2·(lp − lq), normalized
 * ```
 */
export const closedFormLogisticRow = (
  logP: ArrayLike<number>,
  logQ: ArrayLike<number>,
  logRef: ArrayLike<number>,
  betaPrime: number,
): Float64Array => {
  checkRows(logP, logQ, logRef, betaPrime);
  return normalizeLogRow(
    Float64Array.from({ length: logP.length }, (_, i) => logRef[i] + (logP[i] - logQ[i]) / betaPrime),
  );
};

/** Solve A·x = b for a symmetric positive definite A (row-major k × k) by Cholesky; null when A is not (numerically) positive definite. */
const solveSpd = (A: Float64Array, b: Float64Array, k: number): Float64Array | null => {
  const L = new Float64Array(k * k);
  let scale = 0;
  for (let i = 0; i < k; i++) scale = Math.max(scale, Math.abs(A[i * k + i]));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * k + j];
      for (let m = 0; m < j; m++) sum -= L[i * k + m] * L[j * k + m];
      if (i === j) {
        if (!(sum > 1e-300 && sum > scale * 1e-15)) return null;
        L[i * k + i] = Math.sqrt(sum);
      } else {
        L[i * k + j] = sum / L[j * k + j];
      }
    }
  }
  const y = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let sum = b[i];
    for (let m = 0; m < i; m++) sum -= L[i * k + m] * y[m];
    y[i] = sum / L[i * k + i];
  }
  const x = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let sum = y[i];
    for (let m = i + 1; m < k; m++) sum -= L[m * k + i] * x[m];
    x[i] = sum / L[i * k + i];
  }
  return x;
};

/** Tolerances of {@link minimizeLogisticRow}. */
export interface NewtonOptions {
  /** Stop when max |∂L/∂θ| ≤ gradTol and the Newton step's max |Δθ| ≤ stepTol. Default 1e-12. */
  readonly gradTol?: number;
  /** Default 1e-9. The step criterion guards against stopping early where L is flat (tiny p·q weights). */
  readonly stepTol?: number;
  /** Default 500. */
  readonly maxIterations?: number;
  /** Starting logits (default: the reference, i.e. π = m, every margin 0). */
  readonly init?: ArrayLike<number>;
}

/** The result of {@link minimizeLogisticRow}. */
export interface RowSolution {
  /** The minimizing policy row, normalized log-probs. */
  readonly logPolicy: Float64Array;
  readonly value: number;
  /** Newton iterations taken. */
  readonly iterations: number;
  /** max |∂L/∂θ| at the solution. */
  readonly gradNorm: number;
  /** max |Δθ| of the last Newton step. */
  readonly stepNorm: number;
  /** Both tolerances met. */
  readonly converged: boolean;
  /** Why it stopped: "converged", "max-iterations", "line-search" or "singular-hessian". */
  readonly stop: "converged" | "max-iterations" | "line-search" | "singular-hessian";
}

const maxAbs = (v: ArrayLike<number>, from = 0): number => {
  let m = 0;
  for (let i = from; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
};

/**
 * Minimize the per-prompt population objective by Newton's method on the logits (θ_0 held fixed,
 * which removes the shift invariance), with a backtracking line search. Plain Float64 arithmetic
 * and the analytic gradient and Hessian of {@link logisticObjectiveRow}.
 *
 * @example
 * ```ts
 * const logP = Float64Array.of(Math.log(0.6), Math.log(0.4));
 * const logQ = Float64Array.of(Math.log(0.3), Math.log(0.7));
 * const logRef = Float64Array.of(Math.log(0.5), Math.log(0.5));
 * const sol = minimizeLogisticRow(logP, logQ, logRef, 0.5);
 * sol.converged; // true; sol.logPolicy ≈ closedFormLogisticRow(logP, logQ, logRef, 0.5)
 * ```
 */
export const minimizeLogisticRow = (
  logP: ArrayLike<number>,
  logQ: ArrayLike<number>,
  logRef: ArrayLike<number>,
  betaPrime: number,
  options: NewtonOptions = {},
): RowSolution => {
  const gradTol = options.gradTol ?? 1e-12,
    stepTol = options.stepTol ?? 1e-9,
    maxIterations = options.maxIterations ?? 500;
  const n = logP.length, k = n - 1;
  const theta = Float64Array.from(options.init ?? logRef);
  const at = (t: Float64Array): LogisticObjective => logisticObjectiveRow(logP, logQ, logRef, betaPrime, t);
  let obj = at(theta);
  let iterations = 0, stepNorm = Infinity;
  let stop: RowSolution["stop"] = "max-iterations";
  for (; iterations < maxIterations; iterations++) {
    const gFree = obj.gradient.subarray(1);
    const hFree = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) hFree[i * k + j] = obj.hessian[(i + 1) * n + (j + 1)];
    }
    const step = solveSpd(hFree, gFree.map((g) => -g), k);
    if (step === null) {
      stop = "singular-hessian";
      break;
    }
    stepNorm = maxAbs(step);
    if (maxAbs(obj.gradient) <= gradTol && stepNorm <= stepTol) {
      stop = "converged";
      break;
    }
    let slope = 0;
    for (let i = 0; i < k; i++) slope += gFree[i] * step[i];
    let t = 1, accepted: LogisticObjective | null = null;
    const trial = new Float64Array(n);
    for (let tries = 0; tries < 60; tries++, t /= 2) {
      trial[0] = theta[0];
      for (let i = 0; i < k; i++) trial[i + 1] = theta[i + 1] + t * step[i];
      const next = at(trial);
      // Armijo, with room for rounding once the decrease is below what Float64 can resolve.
      if (next.value <= obj.value + 1e-4 * t * slope + 4e-16 * Math.abs(obj.value)) {
        accepted = next;
        break;
      }
    }
    if (accepted === null) {
      stop = "line-search";
      break;
    }
    theta.set(trial);
    obj = accepted;
  }
  return {
    logPolicy: normalizeLogRow(theta),
    value: obj.value,
    iterations,
    gradNorm: maxAbs(obj.gradient),
    stepNorm,
    converged: stop === "converged",
    stop,
  };
};
