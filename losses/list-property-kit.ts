/**
 * The property kit for listwise losses ({@link ListLoss}): `checkListLossProperties(ops, loss)`
 * runs, with fast-check, every invariant the loss's flags claim, on lists of a data answer and
 * K = 1…4 generated answers (half of them with some padded columns), and throws with a
 * counterexample when one fails.
 *
 * Checks:
 * - `shapes`: the loss and every metric are [B].
 * - `finite`: finite for log-ratios of the data answer and of a generated answer in {0, ±500, ±1000}.
 * - `batch-independent`: a prompt's loss does not depend on the other prompts of the batch.
 * - `padding`: appending a padded column (mask 0, arbitrary log-probs) changes nothing.
 * - `log-ratio` (when `logRatioOnly`): adding one constant to lp_θ(y) and lp_ref(y) of one response
 *   changes nothing.
 * - `margin-only` (when `marginOnly`): adding one per-prompt constant to every reference log-prob
 *   of the prompt changes nothing.
 * - `loser-order` (when `ordersLosers(params)` is false): permuting the generated answers changes
 *   nothing.
 * - `direction` (when `directional`): at policy = reference, raising lp_θ of the data answer lowers
 *   the loss and raising lp_θ of a generated answer does not lower it (when the losers are ordered,
 *   only the last one: raising a middle one may rightly lower the loss, it outranks those after it).
 * - `pairwise` (when `options.pairwise` is given): with K = 1 and no padding the loss equals that
 *   pairwise loss on (y_0, y_1) as (chosen, rejected).
 *
 * @example
 * ```ts
 * import { referenceOps } from "../backends/reference.ts";
 * import { plackettLuceListLoss, sigmoidLoss } from "./mod.ts";
 * import { checkListLossProperties } from "./list-property-kit.ts";
 * await checkListLossProperties(referenceOps, plackettLuceListLoss, { pairwise: sigmoidLoss });
 * // → { loss: "plackett_luce", checks: ["shapes", "finite", ..., "pairwise"] }
 * ```
 *
 * @module
 */
import * as fc from "fast-check";
import { propertyRunner } from "./property-run.ts";
import type { TensorOps } from "../core/tensor.ts";
import type { LossPropertyReport } from "./property-kit.ts";
import type { AnyLoss, ListLoss } from "./types.ts";

/** Options of {@link checkListLossProperties}. */
export interface ListLossPropertyOptions {
  /** Parameters to check the loss with (default: its defaults). */
  readonly params?: Record<string, unknown>;
  /** A pairwise loss the K = 1 case must equal (e.g. `sigmoidLoss` for Plackett–Luce). */
  readonly pairwise?: AnyLoss;
  /** Parameters of `pairwise` (default: its defaults). */
  readonly pairwiseParams?: Record<string, unknown>;
  /** fast-check runs per property (default 40). */
  readonly numRuns?: number;
  /** fast-check seed (default 20240607). */
  readonly seed?: number;
  /** Absolute tolerance of equality checks (default 1e-9 on "reference", 1e-3 elsewhere). */
  readonly atol?: number;
  /** Relative tolerance of equality checks (default 1e-9 on "reference", 1e-4 elsewhere). */
  readonly rtol?: number;
}

/** One prompt's list: log-probs of y_0…y_K under policy and reference, and which columns are present. */
interface Row {
  readonly policy: number[];
  readonly ref: number[];
  readonly mask: number[];
}

const logProb = fc.double({ min: -100, max: 0, noNaN: true, noDefaultInfinity: true });
const shift = fc.double({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true });

/** Rows of 1 + k columns; with `padded`, each generated answer is absent with probability ~1/3. */
const rowOf = (k: number, padded: boolean): fc.Arbitrary<Row> =>
  fc.record({
    policy: fc.array(logProb, { minLength: k + 1, maxLength: k + 1 }),
    ref: fc.array(logProb, { minLength: k + 1, maxLength: k + 1 }),
    mask: padded
      ? fc.array(fc.integer({ min: 0, max: 2 }).map((m) => (m === 0 ? 0 : 1)), { minLength: k, maxLength: k }).map((m) => [1, ...m])
      : fc.constant(Array.from({ length: k + 1 }, () => 1)),
  });

const batchOf = (size: number): fc.Arbitrary<Row[]> =>
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.boolean()).chain(([k, padded]) =>
    fc.array(rowOf(k, padded), { minLength: size, maxLength: size })
  );

const evaluate = async <T, P>(
  ops: TensorOps<T>,
  loss: ListLoss<P>,
  params: Partial<P> | undefined,
  rows: readonly Row[],
): Promise<{ loss: Float64Array; metrics: Record<string, Float64Array>; shapes: Record<string, number[]> }> => {
  const n = rows[0].policy.length;
  const matrix = (k: keyof Row): T => ops.fromArray(rows.flatMap((r) => r[k]), [rows.length, n]);
  const names: string[] = [];
  const tensors = ops.tidy(() => {
    const out = loss.compute(ops)({ policy: matrix("policy"), ref: matrix("ref"), mask: matrix("mask") }, params);
    names.push("loss", ...Object.keys(out.metrics));
    return [out.loss, ...Object.values(out.metrics)];
  });
  const shapes: Record<string, number[]> = {}, values: Record<string, Float64Array> = {};
  for (let i = 0; i < tensors.length; i++) {
    shapes[names[i]] = ops.shape(tensors[i]);
    values[names[i]] = await ops.toArray(tensors[i]);
    ops.dispose(tensors[i]);
  }
  const { loss: lossValues, ...metrics } = values;
  return { loss: lossValues, metrics, shapes };
};

/**
 * Run every invariant that applies to the listwise `loss` on `ops`; resolves to the checks run,
 * rejects with an Error naming the loss, the property and a counterexample.
 *
 * @example
 * ```ts
 * import { referenceOps } from "../backends/reference.ts";
 * import { plackettLuceListLoss } from "./plackett-luce.ts";
 * await checkListLossProperties(referenceOps, plackettLuceListLoss, { params: { ranking: "ordered" } });
 * ```
 */
export const checkListLossProperties = async <T, P>(
  ops: TensorOps<T>,
  loss: ListLoss<P>,
  options: ListLossPropertyOptions = {},
): Promise<LossPropertyReport> => {
  const exact = ops.name === "reference";
  const atol = options.atol ?? (exact ? 1e-9 : 1e-3);
  const rtol = options.rtol ?? (exact ? 1e-9 : 1e-4);
  const params = options.params as Partial<P> | undefined;
  const resolved = loss.resolveParams(params);
  const runs = { numRuns: options.numRuns ?? 40, seed: options.seed ?? 20240607 };
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));
  const same = (a: Float64Array, b: Float64Array, what: string): string | undefined => {
    for (let i = 0; i < a.length; i++) if (!close(a[i], b[i])) return `${what}: prompt ${i} loss ${a[i]} became ${b[i]}`;
    return undefined;
  };
  const { run, checks } = propertyRunner("checkListLossProperties", loss.name, ops.name, runs);
  const batch = batchOf(3);
  const compare = async (a: readonly Row[], b: readonly Row[], what: string) =>
    same((await evaluate(ops, loss, params, a)).loss, (await evaluate(ops, loss, params, b)).loss, what);

  await run("shapes", batch, async (rows) => {
    const bad = Object.entries((await evaluate(ops, loss, params, rows)).shapes).find(([, s]) => s.length !== 1 || s[0] !== rows.length);
    return bad ? `${bad[0]} has shape [${bad[1]}], expected [${rows.length}]` : undefined;
  });

  const extremes = [-1000, -500, 0, 500, 1000];
  await run("finite", batchOf(1), async ([row]) => {
    const rows = extremes.flatMap((a0) =>
      extremes.map((a1) => {
        const policy = [...row.policy];
        policy[0] = row.ref[0] + a0;
        policy[1] = row.ref[1] + a1;
        return { ...row, policy, mask: row.mask.map((m, j) => (j === 1 ? 1 : m)) };
      })
    );
    const { loss: values, metrics } = await evaluate(ops, loss, params, rows);
    for (const [name, v] of [["loss", values], ...Object.entries(metrics)] as [string, Float64Array][]) {
      const i = v.findIndex((x) => !Number.isFinite(x));
      if (i >= 0) return `${name} is ${v[i]} at a(y_0) = ${extremes[Math.floor(i / 5)]}, a(y_1) = ${extremes[i % 5]}`;
    }
    return undefined;
  });

  await run("batch-independent", batch, async ([r0, r1, r2]) => {
    const a = await evaluate(ops, loss, params, [r0, r1]), b = await evaluate(ops, loss, params, [r0, r2]);
    return close(a.loss[0], b.loss[0]) ? undefined : `prompt 0 has loss ${a.loss[0]} next to one prompt, ${b.loss[0]} next to another`;
  });

  await run("padding", fc.tuple(batch, logProb, logProb), async ([rows, p, r]) => {
    const padded = rows.map((row) => ({ policy: [...row.policy, p], ref: [...row.ref, r], mask: [...row.mask, 0] }));
    return await compare(rows, padded, `appending a padded column (${p}, ${r})`);
  });

  if (loss.logRatioOnly) {
    await run("log-ratio", fc.tuple(batch, fc.array(shift, { minLength: 5, maxLength: 5 })), async ([rows, cs]) => {
      const shifted = rows.map((row) => ({
        ...row,
        policy: row.policy.map((x, j) => x + cs[j]),
        ref: row.ref.map((x, j) => x + cs[j]),
      }));
      return await compare(rows, shifted, `adding (${cs.join(", ")}) to policy and reference of each response`);
    });
  }

  if (loss.marginOnly) {
    await run("margin-only", fc.tuple(batch, fc.array(shift, { minLength: 3, maxLength: 3 })), async ([rows, cs]) => {
      const shifted = rows.map((row, i) => ({ ...row, ref: row.ref.map((x) => x + cs[i]) }));
      return await compare(rows, shifted, `adding per-prompt constants (${cs.join(", ")}) to the reference`);
    });
  }

  if (!loss.ordersLosers(resolved)) {
    await run("loser-order", fc.tuple(batch, fc.integer({ min: 0, max: 1 << 30 })), async ([rows, seed]) => {
      const k = rows[0].policy.length - 1;
      // A permutation of 1…K from the seed (Fisher–Yates with a small LCG).
      const order = Array.from({ length: k }, (_, j) => j + 1);
      let s = seed;
      for (let j = k - 1; j > 0; j--) {
        s = (s * 1103515245 + 12345) % 2147483648;
        const i = s % (j + 1);
        [order[j], order[i]] = [order[i], order[j]];
      }
      const permute = (xs: number[]) => [xs[0], ...order.map((j) => xs[j])];
      const permuted = rows.map((row) => ({ policy: permute(row.policy), ref: permute(row.ref), mask: permute(row.mask) }));
      return await compare(rows, permuted, `permuting the generated answers to [${order}]`);
    });
  }

  if (loss.directional) {
    const step = exact ? 1e-4 : 1e-2;
    await run("direction", batchOf(1), async ([row]) => {
      // At least one generated answer present, or there is nothing to prefer y_0 to.
      const at = { ...row, policy: [...row.ref], mask: row.mask.map((m, j) => (j === 1 ? 1 : m)) };
      const raised = (j: number): Row => ({ ...at, policy: at.policy.map((x, i) => (i === j ? x + step : x)) });
      const base = (await evaluate(ops, loss, params, [at])).loss[0];
      const tol = exact ? 1e-12 * (1 + Math.abs(base)) : 1e-5 * (1 + Math.abs(base));
      const d0 = (await evaluate(ops, loss, params, [raised(0)])).loss[0] - base;
      if (!(d0 < -tol)) return `raising lp_θ(y_0) by ${step} did not lower the loss (Δ = ${d0})`;
      const present = at.mask.flatMap((m, j) => (j > 0 && m === 1 ? [j] : []));
      for (const j of loss.ordersLosers(resolved) ? present.slice(-1) : present) {
        const dj = (await evaluate(ops, loss, params, [raised(j)])).loss[0] - base;
        if (dj < -tol) return `raising lp_θ(y_${j}) by ${step} lowered the loss by ${-dj}`;
      }
      return undefined;
    });
  }

  const pairwise = options.pairwise;
  if (pairwise !== undefined) {
    await run("pairwise", fc.array(rowOf(1, false), { minLength: 3, maxLength: 3 }), async (rows) => {
      const list = await evaluate(ops, loss, params, rows);
      const col = (k: "policy" | "ref", j: number) => ops.fromArray(rows.map((r) => r[k][j]), [rows.length]);
      const out = ops.tidy(() =>
        pairwise.compute(ops)(
          { policyChosen: col("policy", 0), policyRejected: col("policy", 1), refChosen: col("ref", 0), refRejected: col("ref", 1) },
          options.pairwiseParams,
        ).loss
      );
      const pair = await ops.toArray(out);
      ops.dispose(out);
      return same(pair, list.loss, `K = 1 against "${pairwise.name}"`);
    });
  }
  return { loss: loss.name, checks };
};
