/**
 * Batched next-token sampling from logits: read the [B, V] logits back once (`ops.toArray`), then
 * filter and sample every row on the host in float64 with the pure seeded {@link Rng}. The same
 * logits values and the same rng give the same tokens on every backend and runtime.
 *
 * Each row consumes exactly one uniform from the rng, in row order (greedy rows consume none), so
 * a batch of B rows gives the same tokens as B single-row calls chained on the rng.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { rngFromSeed } from "../core/rng.ts";
 * import { sampleNextToken } from "./token.ts";
 * const logits = ops.fromArray([2, 1, 0, -1, 0, 0, 0, 0], [2, 4]);
 * const { ids, logProbs, modelLogProbs, rng } = await sampleNextToken(ops)(logits, rngFromSeed(1), { topK: 2 });
 * ```
 *
 * @module
 */
import type { TensorOps } from "../core/tensor.ts";
import { inverseCdfIndex, nextFloats, type Rng } from "../core/rng.ts";
import {
  argmaxLowest,
  filterLogits,
  logSumExpRow,
  type ResolvedSamplingOptions,
  resolveSamplingOptions,
  type SamplingOptions,
} from "./filters.ts";

/** The result of sampling one token per row. */
export interface SampledTokens {
  /** The sampled token id of each row, [B]. */
  readonly ids: Int32Array;
  /** log-prob of each sampled id under the sampling distribution (after temperature and filters), [B]. */
  readonly logProbs: Float64Array;
  /** log-prob of each sampled id under the unmodified model: log_softmax(raw logits)[id], [B]. */
  readonly modelLogProbs: Float64Array;
  /** The advanced rng. */
  readonly rng: Rng;
}

/**
 * Sample one token per row from host-side logits: `values` is row-major [batch, vocab] (float64 or
 * float32 values). The pure core of {@link sampleNextToken}, for a generation loop that already
 * holds the logits on the host.
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../core/rng.ts";
 * const out = sampleLogitRows(new Float64Array([0, 1, 2, 3]), 1, 4, rngFromSeed(3), { temperature: 0.7 });
 * out.ids; // Int32Array [k], k ∈ 0..3
 * ```
 */
export const sampleLogitRows = (
  values: ArrayLike<number>,
  batch: number,
  vocab: number,
  rng: Rng,
  options: SamplingOptions = {},
): SampledTokens => {
  if (!Number.isInteger(batch) || batch < 0 || !Number.isInteger(vocab) || vocab < 1) {
    throw new RangeError(
      `sampleLogitRows: need an integer batch >= 0 and vocab >= 1, got [${batch}, ${vocab}]`,
    );
  }
  if (values.length !== batch * vocab) {
    throw new RangeError(`sampleLogitRows: ${values.length} values do not fill [${batch}, ${vocab}]`);
  }
  const resolved: ResolvedSamplingOptions = resolveSamplingOptions(options);
  const ids = new Int32Array(batch);
  const logProbs = new Float64Array(batch);
  const modelLogProbs = new Float64Array(batch);
  const [uniforms, next] = resolved.greedy ? [new Float64Array(batch), rng] : nextFloats(rng, batch);
  const row = new Float64Array(vocab);
  for (let b = 0; b < batch; b++) {
    for (let v = 0; v < vocab; v++) row[v] = values[b * vocab + v];
    let id: number;
    try {
      if (resolved.greedy) {
        id = argmaxLowest(row);
        logProbs[b] = 0;
      } else {
        const z = filterLogits(row, resolved);
        const weights = z.map(Math.exp);
        id = inverseCdfIndex(weights, uniforms[b]);
        logProbs[b] = z[id] - logSumExpRow(z);
      }
    } catch (e) {
      throw new RangeError(`sampleNextToken: row ${b}: ${(e as Error).message}`);
    }
    ids[b] = id;
    modelLogProbs[b] = row[id] - logSumExpRow(row);
  }
  return { ids, logProbs, modelLogProbs, rng: next };
};

/**
 * Sample the next token of every row of `logits` [B, V]: reads the logits back with `ops.toArray`,
 * applies temperature / top-k / top-p / min-p (or greedy) on the host in float64 and draws with
 * the pure rng. Resolves to the ids, their log-probs under the sampling distribution and under the
 * unmodified model, and the advanced rng. Options are validated first (RangeError naming the
 * option); a row containing NaN or +Infinity is rejected. `logits` is not disposed.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { rngFromSeed } from "../core/rng.ts";
 * const logits = ops.fromArray([0, 1, 2, 3], [1, 4]);
 * const { ids, logProbs, modelLogProbs, rng } = await sampleNextToken(ops)(logits, rngFromSeed(3), { topP: 0.9 });
 * ```
 */
export const sampleNextToken = <T>(
  ops: TensorOps<T>,
): (logits: T, rng: Rng, options?: SamplingOptions) => Promise<SampledTokens> =>
async (logits, rng, options = {}) => {
  resolveSamplingOptions(options); // fail before the (possibly slow) read-back
  const shape = ops.shape(logits);
  if (shape.length !== 2) {
    throw new RangeError(`sampleNextToken: logits must be [B, V], got shape [${shape.join(", ")}]`);
  }
  const values = await ops.toArray(logits);
  return sampleLogitRows(values, shape[0], shape[1], rng, options);
};
