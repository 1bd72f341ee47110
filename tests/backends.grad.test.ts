// Gradients of the tfjs adapter's ops under tfjs autograd match central finite differences of the
// same function computed in float64 with the reference backend: for each op, L(x) = Σ op(x) ⊙ w with
// fixed weights w, and dL/dx from tf.grads vs (L(x + h e_j) − L(x − h e_j)) / 2h.
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import type { TensorOps } from "../core/tensor.ts";
import { referenceOps as ref, type RefTensor, refToArraySync } from "../backends/reference.ts";
import { tfjsOps as ops } from "../backends/tfjs.ts";
import { loadBackend } from "../backends/load.ts";
import {
  axisArb,
  backendsUnderTest,
  broadcastingArb,
  type Data,
  extremeValue,
  f32,
  shapeArb,
  tensorArb,
  valuesFor,
} from "./backends.support.ts";

/** An op under test: inputs `xs` (all float); only those listed in `diff` are differentiated. */
interface GradCase {
  readonly name: string;
  readonly arb: fc.Arbitrary<{ inputs: Data[]; extra?: number[] }>;
  readonly diff: readonly number[];
  readonly op: <T>(ops: TensorOps<T>, xs: T[], extra: number[] | undefined) => T;
}

/** Fixed, varied weights for the output (so every output element matters differently). */
const weights = (n: number): number[] =>
  Array.from({ length: n }, (_, i) => Math.fround(Math.sin(1.7 * i + 0.3)));

const H = 1e-4;

/** dL/dx_k by central differences in float64 on the reference backend. */
const finiteDifferences = (c: GradCase, inputs: Data[], extra: number[] | undefined, k: number): number[] => {
  const loss = (xs: Data[]): number => {
    const out = c.op(ref, xs.map((d) => ref.fromArray(d.values, d.shape)), extra) as RefTensor;
    const w = weights(out.data.length);
    return refToArraySync(out).reduce((acc, v, i) => acc + v * w[i], 0);
  };
  return inputs[k].values.map((_, j) => {
    const shifted = (delta: number) =>
      inputs.map((
        d,
        i,
      ) => (i !== k ? d : { shape: d.shape, values: d.values.map((v, jj) => (jj === j ? v + delta : v)) }));
    return (loss(shifted(H)) - loss(shifted(-H))) / (2 * H);
  });
};

/** dL/dx_k for every differentiated input, from tfjs autograd. */
const autograd = async (
  c: GradCase,
  inputs: Data[],
  extra: number[] | undefined,
): Promise<Float64Array[]> => {
  const outSize =
    (c.op(ref, inputs.map((d) => ref.fromArray(d.values, d.shape)), extra) as RefTensor).data.length;
  const grads = tf.tidy(() => {
    const w = ops.fromArray(weights(outSize), [outSize]);
    const constants = inputs.map((d) => ops.fromArray(d.values, d.shape));
    const f = (...vars: tf.Tensor[]): tf.Tensor => {
      const xs = constants.map((x, i) => (c.diff.includes(i) ? vars[c.diff.indexOf(i)] : x));
      return ops.sum(ops.mul(ops.reshape(c.op(ops, xs, extra), [-1]), w));
    };
    return tf.grads(f)(c.diff.map((i) => constants[i]));
  });
  const out = await Promise.all(grads.map(async (g) => Float64Array.from(await g.data())));
  tf.dispose(grads);
  return out;
};

const single = (value: fc.Arbitrary<number>) => tensorArb(value).map((d) => ({ inputs: [d] }));
const awayFromZero = fc.oneof(f32(0.01, 10), f32(-10, -0.01), fc.constantFrom(1000, -1000));
const moderate = f32(-10, 10);

/** No two values (across all inputs) within 1e-3: keeps min/max/comparisons away from their kinks. */
const separated = (inputs: Data[]): boolean => {
  const all = inputs.flatMap((d) => d.values).sort((a, b) => a - b);
  return all.every((v, i) => i === 0 || v - all[i - 1] >= 1e-3);
};

const cases: GradCase[] = [
  ...([
    ["neg", (ops, x) => ops.neg(x), extremeValue],
    ["exp", (ops, x) => ops.exp(x), f32(-20, 20)],
    ["log", (ops, x) => ops.log(x), f32(0.1, 100)],
    ["log1p", (ops, x) => ops.log1p(x), f32(-0.9, 100)],
    ["softplus", (ops, x) => ops.softplus(x), extremeValue],
    ["sigmoid", (ops, x) => ops.sigmoid(x), extremeValue],
    ["logSigmoid", (ops, x) => ops.logSigmoid(x), extremeValue],
    ["square", (ops, x) => ops.square(x), moderate],
    ["sqrt", (ops, x) => ops.sqrt(x), f32(0.1, 100)],
    ["abs", (ops, x) => ops.abs(x), awayFromZero],
    ["relu", (ops, x) => ops.relu(x), awayFromZero],
    ["tanh", (ops, x) => ops.tanh(x), fc.oneof(f32(-5, 5), fc.constantFrom(1000, -1000))],
  ] as Array<[string, <T>(ops: TensorOps<T>, x: T) => T, fc.Arbitrary<number>]>).map((
    [name, f, value],
  ): GradCase => ({
    name,
    arb: single(value),
    diff: [0],
    op: (ops, [x]) => f(ops, x),
  })),
  ...([
    ["add", (ops, a, b) => ops.add(a, b), extremeValue],
    ["sub", (ops, a, b) => ops.sub(a, b), extremeValue],
    ["mul", (ops, a, b) => ops.mul(a, b), moderate],
    ["minimum", (ops, a, b) => ops.minimum(a, b), moderate],
    ["maximum", (ops, a, b) => ops.maximum(a, b), moderate],
    ["greater (zero gradient)", (ops, a, b) => ops.greater(a, b), moderate],
    ["less (zero gradient)", (ops, a, b) => ops.less(a, b), moderate],
    ["equal (zero gradient)", (ops, a, b) => ops.equal(a, b), moderate],
  ] as Array<[string, <T>(ops: TensorOps<T>, a: T, b: T) => T, fc.Arbitrary<number>]>).map((
    [name, f, value],
  ): GradCase => ({
    name,
    arb: broadcastingArb([value, value]).filter(separated).map((inputs) => ({ inputs })),
    diff: [0, 1],
    op: (ops, [a, b]) => f(ops, a, b),
  })),
  {
    name: "div",
    arb: broadcastingArb([moderate, fc.oneof(f32(0.5, 10), f32(-10, -0.5))]).map((inputs) => ({ inputs })),
    diff: [0, 1],
    op: (ops, [a, b]) => ops.div(a, b),
  },
  {
    name: "where (condition computed from x)",
    arb: broadcastingArb([awayFromZero, extremeValue, extremeValue]).map((inputs) => ({ inputs })),
    diff: [0, 1, 2],
    // The condition depends on the differentiated x: its comparison must not break tf.grad.
    op: (ops, [x, a, b]) => ops.where(ops.greater(x, ops.scalar(0)), ops.mul(a, x), b),
  },
  ...([
    ["sum", (ops, x, a, k) => ops.sum(x, a, k), extremeValue],
    ["mean", (ops, x, a, k) => ops.mean(x, a, k), extremeValue],
    ["max", (ops, x, a, k) => ops.max(x, a, k), moderate],
    ["logSumExp", (ops, x, a, k) => ops.logSumExp(x, a, k), extremeValue],
  ] as Array<[string, <T>(ops: TensorOps<T>, x: T, axis?: number, keep?: boolean) => T, fc.Arbitrary<number>]>)
    .map(
      ([name, f, value]): GradCase => ({
        name,
        arb: tensorArb(value).filter((d) => name !== "max" || separated([d])).chain((d) =>
          fc.tuple(axisArb(d.shape.length), fc.boolean()).map(([axis, keep]) => ({
            inputs: [d],
            extra: [axis ?? NaN, keep ? 1 : 0],
          }))
        ),
        diff: [0],
        op: (ops, [x], extra) => f(ops, x, Number.isNaN(extra![0]) ? undefined : extra![0], extra![1] === 1),
      }),
    ),
  {
    name: "gatherLast",
    arb: fc.tuple(shapeArb(0, 2), fc.integer({ min: 1, max: 5 })).chain(([lead, vocab]) =>
      fc.tuple(
        valuesFor([...lead, vocab], extremeValue),
        valuesFor(lead, fc.integer({ min: 0, max: vocab - 1 })),
      )
        .map(([values, ids]) => ({ inputs: [{ shape: [...lead, vocab], values }], extra: ids }))
    ),
    diff: [0],
    op: (ops, [x], ids) => ops.gatherLast(x, ops.fromInts(ids!, ops.shape(x).slice(0, -1))),
  },
  {
    name: "slice",
    arb: tensorArb(extremeValue, 1, 3).chain((d) =>
      fc.tuple(...d.shape.map((n) => fc.integer({ min: 0, max: n - 1 }))).map((begin) => ({
        inputs: [d],
        extra: begin,
      }))
    ),
    diff: [0],
    op: (ops, [x], begin) => ops.slice(x, begin!, begin!.map(() => -1)),
  },
  {
    name: "reshape",
    arb: tensorArb(extremeValue).map((d) => ({ inputs: [d] })),
    diff: [0],
    op: (ops, [x]) => ops.reshape(x, [-1, 1]),
  },
  {
    name: "concat",
    arb: shapeArb(1, 3).chain((shape) =>
      fc.tuple(valuesFor(shape, extremeValue), valuesFor(shape, extremeValue)).map(([a, b]) => ({
        inputs: [{ shape, values: a }, { shape, values: b }],
      }))
    ),
    diff: [0, 1],
    op: (ops, [a, b]) => ops.concat([a, b], -1),
  },
];

const backends = await backendsUnderTest();

for (const { name, skip, numRuns } of backends) {
  test(`tfjs ${name}: gradients of every op match float64 finite differences`, async () => {
    await loadBackend(name);
    for (const c of cases) {
      await fc.assert(
        fc.asyncProperty(c.arb, async ({ inputs, extra }) => {
          const grads = await autograd(c, inputs, extra);
          c.diff.forEach((k, i) => {
            const expected = finiteDifferences(c, inputs, extra, k);
            assertClose(grads[i], expected, {
              rtol: 2e-3,
              atol: 2e-3,
              message: `${c.name} d/dx${k} on ${JSON.stringify(inputs.map((d) => d.shape))} (${ops.name})`,
            });
          });
        }),
        { numRuns, seed: 21, includeErrorInReport: true },
      );
    }
  }, { skip });

  test(
    `tfjs ${name}: stopGradient blocks the gradient; a token log-prob loss trains through variableGrads`,
    async () => {
      await loadBackend(name);
      const x = ops.fromArray([1, -2, 3], [3]);
      // d/dv Σ [sg(v)·v + sg(v)] = sg(v): the stopped factors contribute nothing.
      const g = tf.grad((v: tf.Tensor) =>
        ops.sum(ops.add(ops.mul(ops.stopGradient(v), v), ops.stopGradient(v)))
      )(x);
      assertClose(await ops.toArray(g), [1, -2, 3], { atol: 0 });
      // −Σ log softmax(logits)[id] over 2 positions, V = 4: gradient is softmax − onehot (plain JS below).
      const logits = [[0.5, -1, 2, 0], [1000, -1000, 999, 0]];
      const ids = [2, 1];
      const variable = tf.variable(tf.tensor(logits.flat(), [2, 4]));
      const { value, grads } = tf.variableGrads(() => {
        const lp = ops.sub(ops.gatherLast(variable, ops.fromInts(ids, [2])), ops.logSumExp(variable, -1));
        return ops.neg(ops.sum(lp)) as tf.Scalar;
      }, [variable]);
      const expectedGrad = logits.flatMap((row, r) => {
        const m = Math.max(...row);
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
        return row.map((v, j) => Math.exp(v - m) / z - (j === ids[r] ? 1 : 0));
      });
      const expectedLoss = logits.reduce((acc, row, r) => {
        const m = Math.max(...row);
        return acc - (row[ids[r]] - m - Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)));
      }, 0);
      assertClose(await ops.toArray(grads[variable.name]), expectedGrad, { atol: 1e-6 });
      assertClose(await ops.toArray(value), [expectedLoss], { rtol: 1e-6 });
      assert.ok(Number.isFinite(expectedLoss));
      tf.dispose([variable, value, grads[variable.name], x, g]);
    },
    { skip },
  );
}
