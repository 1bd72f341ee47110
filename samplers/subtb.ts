/**
 * The modified sub-trajectory balance (SubTB) objective that fits a sampler q_θ(y|x) ∝ R(y|x),
 * as used by the α-SPIN paper's appendix to sample its geometric-mixture reference
 * R = π_prev^α · π_base^(1−α) (the objective is from Hu et al., "Amortizing intractable inference
 * in large language models", ICLR 2024).
 *
 * Every prefix s_i = y_{1:i} of a sampled sequence can end there (the stop action ⊤), and the reward
 * of a terminated prefix, R(s_i⊤), is known from the two autoregressive models. Writing the flow of
 * a state as F(s_i) = R(s_i⊤) / q(⊤|s_i), detailed balance between s_i and s_j (i < j) along one
 * trajectory reads F(s_i)·Π_{k=i+1..j} q(y_k|s_{k−1}) = F(s_j), so with
 *
 *   u_i = log R(s_i⊤) − log q(⊤|s_i) − log q(s_i)        (log q(s_i) = Σ_{k≤i} log q(y_k|s_{k−1}))
 *
 * every sub-trajectory's residual is u_i − u_j, and the loss of one trajectory of length n is
 *
 *   L = Σ_{0≤i<j≤n} λ^{j−i} (u_i − u_j)² / Σ_{0≤i<j≤n} λ^{j−i}.
 *
 * L = 0 on every trajectory exactly when u is one constant (log Z) over all prefixes, i.e. when
 * q(s_i⊤) = q(s_i)·q(⊤|s_i) = R(s_i⊤)/Z for every terminated sequence: q is R normalized. λ weights
 * short sub-trajectories more (λ < 1); Hu et al. use λ close to 1 (their code's default is 1.0 in
 * some tasks and 0.9–0.99 in others), so the default here is λ = 1 (every pair weighted alike).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const loss = subTrajectoryBalance(ops)({
 *   logReward: ops.fromArray([-1, -2], [1, 2]),   // log R(⊤), log R(y_1⊤)
 *   logStop: ops.fromArray([-0.5, 0], [1, 2]),     // log q(⊤|∅), log q(⊤|y_1) (must stop at the end)
 *   logPrefix: ops.fromArray([0, -0.9], [1, 2]),   // log q(∅) = 0, log q(y_1)
 *   mask: ops.fromArray([1, 1], [1, 2]),
 * });
 * ```
 *
 * @module
 */
import type { TensorOps } from "../core/tensor.ts";

/** Per-prefix quantities of B trajectories padded to N = n_max + 1 prefixes (s_0 … s_n). */
export interface SubTbInputs<T> {
  /** log R(s_i⊤), [B, N]. */
  readonly logReward: T;
  /** log q(⊤|s_i), the sampler's stop (end-of-sequence) log-prob after prefix i, [B, N]. */
  readonly logStop: T;
  /** log q(s_i) = Σ_{k≤i} log q(y_k|s_{k−1}), 0 at i = 0, [B, N]. */
  readonly logPrefix: T;
  /** 1 for a real prefix, 0 for padding, [B, N]; each row's ones come first. */
  readonly mask: T;
}

/** Options of {@link subTrajectoryBalance}. */
export interface SubTbOptions {
  /** Weight λ^{j−i} of a sub-trajectory of j − i steps; λ > 0 (default 1). */
  readonly lambda?: number;
}

/** λ^{j−i} above the diagonal, 0 elsewhere, [1, N, N]. */
const pairWeights = <T>(ops: TensorOps<T>, n: number, lambda: number): T => {
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) w[i * n + j] = lambda ** (j - i);
  return ops.fromArray(w, [1, n, n]);
};

/**
 * The mean over the batch of each trajectory's λ-weighted SubTB loss (see the module comment).
 * Differentiable in the sampler's terms (logStop, logPrefix) on a differentiable TensorOps; the
 * reward is a target. A trajectory with one prefix (nothing sampled) has no pair and adds 0.
 * Throws a RangeError for mismatched shapes or λ ≤ 0.
 *
 * @example
 * ```ts
 * const loss = subTrajectoryBalance(ops)({ logReward, logStop, logPrefix, mask }, { lambda: 0.9 }); // scalar
 * ```
 */
export const subTrajectoryBalance = <T>(ops: TensorOps<T>) => (inputs: SubTbInputs<T>, options: SubTbOptions = {}): T => {
  const lambda = options.lambda ?? 1;
  if (!(lambda > 0 && Number.isFinite(lambda))) throw new RangeError(`subTrajectoryBalance: lambda must be > 0, got ${lambda}`);
  const shape = ops.shape(inputs.logReward);
  for (const [name, t] of Object.entries(inputs)) {
    if (ops.shape(t as T).join() !== shape.join() || shape.length !== 2) {
      throw new RangeError(`subTrajectoryBalance: ${name} must be [B, N] like logReward [${shape.join(", ")}], got [${ops.shape(t as T).join(", ")}]`);
    }
  }
  const [batch, n] = shape;
  return ops.tidy(() => {
    // Padding is zeroed before the differences so that −Infinity there cannot make NaN.
    const valid = ops.greater(inputs.mask, ops.scalar(0));
    const u = ops.where(valid, ops.sub(ops.sub(inputs.logReward, inputs.logStop), inputs.logPrefix), ops.fill(shape, 0));
    const diff = ops.sub(ops.reshape(u, [batch, n, 1]), ops.reshape(u, [batch, 1, n]));
    const both = ops.mul(ops.reshape(inputs.mask, [batch, n, 1]), ops.reshape(inputs.mask, [batch, 1, n]));
    const weights = ops.mul(both, pairWeights(ops, n, lambda));
    const perRow = ops.sum(ops.sum(ops.mul(weights, ops.square(diff)), 2), 1);
    const norm = ops.sum(ops.sum(weights, 2), 1);
    // Rows without a pair: 0 / 1 instead of 0 / 0.
    const safeNorm = ops.where(ops.greater(norm, ops.scalar(0)), norm, ops.fill([batch], 1));
    return ops.mean(ops.div(perRow, safeNorm));
  });
};

/**
 * log R(s_i⊤) of the α-SPIN reference R = π_prev^α · π_base^(1−α) for every prefix, from each
 * model's prefix log-prob and stop log-prob: α·(lpPrefixPrev + lpStopPrev) + (1−α)·(lpPrefixBase +
 * lpStopBase). All [B, N]; exact copies at α ∈ {0, 1}.
 *
 * @example
 * ```ts
 * const logReward = geometricTerminalReward(ops)(0.5, prefixPrev, stopPrev, prefixBase, stopBase);
 * ```
 */
export const geometricTerminalReward = <T>(ops: TensorOps<T>) =>
(alpha: number, lpPrefixPrev: T, lpStopPrev: T, lpPrefixBase: T, lpStopBase: T): T => {
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`geometricTerminalReward: alpha must be in [0, 1], got ${alpha}`);
  return ops.tidy(() => {
    const prev = ops.add(lpPrefixPrev, lpStopPrev), base = ops.add(lpPrefixBase, lpStopBase);
    if (alpha === 1) return ops.mul(prev, ops.scalar(1));
    if (alpha === 0) return ops.mul(base, ops.scalar(1));
    return ops.add(ops.mul(prev, ops.scalar(alpha)), ops.mul(base, ops.scalar(1 - alpha)));
  });
};
