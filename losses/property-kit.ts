/**
 * A property kit for losses: `checkLossProperties(ops, loss)` runs, with fast-check, every
 * invariant that the loss's flags say applies to it, and throws with a counterexample when one
 * fails. A user who writes a new loss gets it checked in one line.
 *
 * Checks (inputs: random log-probs in [−100, 0], required extra inputs in their natural ranges,
 * batches of 3):
 * - `shapes`: the loss and every metric are [B].
 * - `finite`: loss and metrics are finite for log-ratios a(y_w), a(y_l) ∈ {0, ±500, ±1000}
 *   (margins up to ±2000) on top of random log-probs.
 * - `batch-independent`: an example's loss does not depend on the other examples of the batch.
 * - `log-ratio` (when `logRatioOnly`): adding one constant to lp_θ(y) and lp_ref(y) of the same
 *   response changes nothing.
 * - `margin-only` (when `marginOnly`): adding one per-example constant to every reference log-prob
 *   changes nothing. When the loss is NOT margin-only, the kit checks that some shift does change
 *   it (so the flag is not merely conservative); `strictFlags: false` skips that.
 * - `direction` (when `directional`): at policy = reference, raising lp_θ(y_w) does not raise the
 *   loss and raising lp_θ(y_l) does not lower it, with at least one strict.
 *
 * @example
 * ```ts
 * import { referenceOps } from "../backends/reference.ts";
 * import { lossRegistry } from "alpha-spin";
 * import { checkLossProperties } from "alpha-spin/testing";
 * await checkLossProperties(referenceOps, lossRegistry.get("sigmoid"));
 * // → { loss: "sigmoid", checks: ["shapes", "finite", "batch-independent", "log-ratio", "margin-only", "direction"] }
 * ```
 *
 * @module
 */
import * as fc from "fast-check";
import { propertyRunner } from "./property-run.ts";
import type { TensorOps } from "../core/tensor.ts";
import type { AnyLoss, PreferencePair } from "./types.ts";

/** Options of {@link checkLossProperties}. */
export interface LossPropertyOptions {
  /** Parameters to check the loss with (default: its defaults). */
  readonly params?: Record<string, unknown>;
  /** fast-check runs per property (default 40). */
  readonly numRuns?: number;
  /** fast-check seed, so a run is reproducible (default 20240607). */
  readonly seed?: number;
  /** Absolute tolerance of equality checks (default 1e-9 on "reference", 1e-3 elsewhere). */
  readonly atol?: number;
  /** Relative tolerance of equality checks (default 1e-9 on "reference", 1e-4 elsewhere). */
  readonly rtol?: number;
  /** Also check that a non-margin-only loss really depends on a per-prompt shift (default true). */
  readonly strictFlags?: boolean;
  /** Value generators for extra inputs, by name (overrides the built-in ranges). */
  readonly extraArbitraries?: Readonly<Record<string, fc.Arbitrary<number>>>;
}

/** What {@link checkLossProperties} verified. */
export interface LossPropertyReport {
  /** The loss checked. */
  readonly loss: string;
  /** The checks that ran and passed, in order. */
  readonly checks: readonly string[];
}

/** One example: the four log-probs and any extra inputs, as plain numbers. */
type Example = Record<string, number>;

const PAIR_KEYS = ["policyChosen", "policyRejected", "refChosen", "refRejected"] as const;
const KNOWN_EXTRAS = new Set([
  "chosenTokens",
  "rejectedTokens",
  "sftNll",
  "winRateChosen",
  "winRateRejected",
  "rewardChosen",
  "rewardRejected",
  "policyGenerated",
  "refGenerated",
]);
/** Responses whose policy and reference log-probs come as a pair of inputs. */
const RESPONSES = [
  ["policyChosen", "refChosen"],
  ["policyRejected", "refRejected"],
  ["policyGenerated", "refGenerated"],
] as const;

const logProb = fc.double({ min: -100, max: 0, noNaN: true, noDefaultInfinity: true });
const shift = fc.double({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true });

const defaultExtra = (name: string): fc.Arbitrary<number> => {
  switch (name) {
    case "chosenTokens":
    case "rejectedTokens":
      return fc.integer({ min: 1, max: 64 });
    case "sftNll":
      return fc.double({ min: 0, max: 50, noNaN: true, noDefaultInfinity: true });
    case "winRateChosen":
    case "winRateRejected":
      return fc.double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true });
    case "policyGenerated":
    case "refGenerated":
      return logProb;
    default:
      return fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true });
  }
};

const toPair = <T>(ops: TensorOps<T>, examples: readonly Example[]): PreferencePair<T> => {
  const column = (k: string): T => ops.fromArray(examples.map((e) => e[k]), [examples.length]);
  const pair: Record<string, unknown> = {};
  const extra: Record<string, T> = {};
  for (const k of Object.keys(examples[0])) {
    if ((PAIR_KEYS as readonly string[]).includes(k) || KNOWN_EXTRAS.has(k)) pair[k] = column(k);
    else extra[k] = column(k);
  }
  if (Object.keys(extra).length > 0) pair.extra = extra;
  return pair as unknown as PreferencePair<T>;
};

/** Evaluate a loss on plain examples; returns the loss values and every metric's values. */
const evaluate = async <T>(
  ops: TensorOps<T>,
  loss: AnyLoss,
  params: Record<string, unknown> | undefined,
  examples: readonly Example[],
): Promise<{ loss: Float64Array; metrics: Record<string, Float64Array>; shapes: Record<string, number[]> }> => {
  const names: string[] = [];
  const tensors = ops.tidy(() => {
    const out = loss.compute(ops)(toPair(ops, examples), params);
    names.push("loss", ...Object.keys(out.metrics));
    return [out.loss, ...Object.values(out.metrics)];
  });
  const shapes: Record<string, number[]> = {};
  const values: Record<string, Float64Array> = {};
  for (let i = 0; i < tensors.length; i++) {
    shapes[names[i]] = ops.shape(tensors[i]);
    values[names[i]] = await ops.toArray(tensors[i]);
    ops.dispose(tensors[i]);
  }
  const { loss: lossValues, ...metrics } = values;
  return { loss: lossValues, metrics, shapes };
};

/**
 * Run every invariant that applies to `loss` (by its flags) on `ops` with fast-check. Resolves to
 * the list of checks run; rejects with an Error naming the loss, the property and a counterexample.
 *
 * @example
 * ```ts
 * import { referenceOps } from "../backends/reference.ts";
 * import type { AnyLoss } from "./types.ts";
 * declare const myLoss: AnyLoss; // made with defineLoss, with a `beta` parameter
 * await checkLossProperties(referenceOps, myLoss, { params: { beta: 0.5 } });
 * ```
 */
export const checkLossProperties = async <T>(
  ops: TensorOps<T>,
  loss: AnyLoss,
  options: LossPropertyOptions = {},
): Promise<LossPropertyReport> => {
  const exact = ops.name === "reference";
  const atol = options.atol ?? (exact ? 1e-9 : 1e-3);
  const rtol = options.rtol ?? (exact ? 1e-9 : 1e-4);
  const params = options.params;
  loss.resolveParams(params); // fail fast on bad parameters
  const runs = { numRuns: options.numRuns ?? 40, seed: options.seed ?? 20240607 };
  const required = [...(loss.requires ?? [])];
  const optional = (loss.accepts ?? []).filter((n) => !required.includes(n));
  const extraArb = (name: string): fc.Arbitrary<number> => options.extraArbitraries?.[name] ?? defaultExtra(name);
  const recordOf = (names: readonly string[]): fc.Arbitrary<Example> =>
    fc.record(Object.fromEntries(names.map((n) => [n, extraArb(n)]))) as fc.Arbitrary<Example>;
  const exampleWith = (names: readonly string[]): fc.Arbitrary<Example> =>
    fc.tuple(fc.record({ policyChosen: logProb, policyRejected: logProb, refChosen: logProb, refRejected: logProb }), recordOf(names))
      .map(([core, extras]) => ({ ...core, ...extras }));
  // Half the batches also give the optional inputs (all of them, since some come in pairs); every
  // example of one batch has the same inputs.
  const keySets = optional.length === 0 ? [required] : [required, [...required, ...optional]];
  const examples = (n: number): fc.Arbitrary<Example[]> =>
    fc.oneof(...keySets.map((keys) => fc.array(exampleWith(keys), { minLength: n, maxLength: n })));
  const example = examples(1).map(([e]) => e);
  const batch = examples(3);
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));
  const { run, checks } = propertyRunner("checkLossProperties", loss.name, ops.name, runs);
  const sameLoss = (a: Float64Array, b: Float64Array, what: string): string | undefined => {
    for (let i = 0; i < a.length; i++) {
      if (!close(a[i], b[i])) return `${what}: example ${i} loss ${a[i]} became ${b[i]}`;
    }
    return undefined;
  };

  await run("shapes", batch, async (examples) => {
    const { shapes } = await evaluate(ops, loss, params, examples);
    const bad = Object.entries(shapes).find(([, s]) => s.length !== 1 || s[0] !== examples.length);
    return bad ? `${bad[0]} has shape [${bad[1]}], expected [${examples.length}]` : undefined;
  });

  const extremes = [-1000, -500, 0, 500, 1000];
  await run("finite", example, async (base) => {
    const examples = extremes.flatMap((aw) =>
      extremes.map((al) => ({ ...base, policyChosen: base.refChosen + aw, policyRejected: base.refRejected + al }))
    );
    const { loss: values, metrics } = await evaluate(ops, loss, params, examples);
    for (const [name, v] of [["loss", values], ...Object.entries(metrics)] as [string, Float64Array][]) {
      const i = v.findIndex((x) => !Number.isFinite(x));
      if (i >= 0) return `${name} is ${v[i]} at a(y_w) = ${extremes[Math.floor(i / 5)]}, a(y_l) = ${extremes[i % 5]}`;
    }
    return undefined;
  });

  await run("batch-independent", batch, async ([e0, e1, e2]) => {
    const a = await evaluate(ops, loss, params, [e0, e1]);
    const b = await evaluate(ops, loss, params, [e0, e2]);
    return close(a.loss[0], b.loss[0]) ? undefined : `example 0 has loss ${a.loss[0]} next to one example, ${b.loss[0]} next to another`;
  });

  if (loss.logRatioOnly) {
    await run("log-ratio", fc.tuple(batch, fc.tuple(shift, shift, shift)), async ([examples, cs]) => {
      const shifted = examples.map((e) => {
        const out = { ...e };
        RESPONSES.forEach(([p, r], j) => {
          if (p in out && r in out) {
            out[p] += cs[j];
            out[r] += cs[j];
          }
        });
        return out;
      });
      const a = await evaluate(ops, loss, params, examples);
      const b = await evaluate(ops, loss, params, shifted);
      return sameLoss(a.loss, b.loss, `adding (${cs.join(", ")}) to policy and reference of each response`);
    });
  }

  const shiftReferences = (examples: readonly Example[], c: readonly number[]): Example[] =>
    examples.map((e, i) => {
      const out = { ...e };
      for (const [, r] of RESPONSES) if (r in out) out[r] += c[i];
      return out;
    });
  const shifts = fc.tuple(shift, shift, shift);
  if (loss.marginOnly) {
    await run("margin-only", fc.tuple(batch, shifts), async ([examples, c]) => {
      const a = await evaluate(ops, loss, params, examples);
      const b = await evaluate(ops, loss, params, shiftReferences(examples, c));
      return sameLoss(a.loss, b.loss, `adding per-prompt constants (${c.join(", ")}) to the reference`);
    });
  } else if (options.strictFlags ?? true) {
    const details = await fc.check(
      fc.asyncProperty(fc.tuple(batch, shifts), async ([examples, c]) => {
        const a = await evaluate(ops, loss, params, examples);
        const b = await evaluate(ops, loss, params, shiftReferences(examples, c));
        return sameLoss(a.loss, b.loss, "") === undefined;
      }),
      runs,
    );
    if (!details.failed) {
      throw new Error(
        `checkLossProperties: loss "${loss.name}" is declared not margin-only, yet no per-prompt shift of the ` +
          `reference changed it in ${runs.numRuns} runs on ${ops.name}; set marginOnly: true if it is invariant ` +
          "(or pass strictFlags: false)",
      );
    }
    checks.push("not-margin-only");
  }

  if (loss.directional) {
    const step = exact ? 1e-4 : 1e-2;
    await run("direction", exampleWith(required), async (e) => {
      const at = { ...e, policyChosen: e.refChosen, policyRejected: e.refRejected };
      const [base, upW, upL] = await Promise.all([
        evaluate(ops, loss, params, [at]),
        evaluate(ops, loss, params, [{ ...at, policyChosen: at.policyChosen + step }]),
        evaluate(ops, loss, params, [{ ...at, policyRejected: at.policyRejected + step }]),
      ]);
      const dW = upW.loss[0] - base.loss[0], dL = upL.loss[0] - base.loss[0];
      // Rounding noise of a difference of two nearby losses, not the equality tolerance.
      const tol = exact ? 1e-12 * (1 + Math.abs(base.loss[0])) : 1e-5 * (1 + Math.abs(base.loss[0]));
      if (dW > tol) return `raising lp_θ(y_w) by ${step} raised the loss by ${dW}`;
      if (dL < -tol) return `raising lp_θ(y_l) by ${step} lowered the loss by ${-dL}`;
      if (!(dW < -tol || dL > tol)) return `the loss did not move (Δ = ${dW}, ${dL}) when lp_θ(y_w) or lp_θ(y_l) rose`;
      return undefined;
    });
  }
  return { loss: loss.name, checks };
};
