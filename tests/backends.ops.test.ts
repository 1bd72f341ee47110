// Every TensorOps op of the tfjs adapter agrees with the Float64 reference backend, on cpu and wasm
// (and webgpu under Deno when an adapter exists), on fast-check inputs that include ±1e3 values,
// length-1 axes, broadcasting and negative axes. Tolerances are float32-sized.
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import type { TensorOps } from "../core/tensor.ts";
import { referenceOps as ref, type RefTensor } from "../backends/reference.ts";
import { tfjsOps as ops } from "../backends/tfjs.ts";
import { loadBackend } from "../backends/load.ts";
import {
  axisArb,
  backendsUnderTest,
  broadcastingArb,
  type Data,
  extremeValue,
  f32,
  maxAbs,
  readRef,
  refOf,
  runTf,
  shapeArb,
  tensorArb,
  valuesFor,
} from "./backends.support.ts";

type Op<T> = (ops: TensorOps<T>, xs: T[]) => T;

/**
 * Tolerance for ops that only move data: exact, except that GPUs may flush float32 subnormals
 * (|x| < 2^−126 ≈ 1.18e−38) to zero.
 */
const SUBNORMAL = 2 ** -126;

/** Compare `op` on both backends for inputs `data`; tolerance atol·(1 + max|input|)·scale + rtol·|expected|. */
const agree = async (
  name: string,
  op: <T>(ops: TensorOps<T>, xs: T[]) => T,
  data: Data[],
  { rtol = 2e-5, atol = 2e-6, scale = 1 }: { rtol?: number; atol?: number; scale?: number } = {},
): Promise<void> => {
  const expected = readRef((op as Op<RefTensor>)(ref, data.map(refOf)));
  const actual = await runTf(() =>
    (op as Op<tf.Tensor>)(ops, data.map((d) => ops.fromArray(d.values, d.shape)))
  );
  const where = `${name} on ${JSON.stringify(data.map((d) => d.shape))} (${ops.name})`;
  assert.deepEqual(actual.shape, expected.shape, `${where}: shape`);
  assertClose(actual.values, expected.values, {
    rtol,
    atol: atol * (1 + maxAbs(...data)) * scale,
    message: where,
  });
};

const backends = await backendsUnderTest();

for (const backend of backends) {
  const { name, skip, numRuns } = backend;
  const params = (seed: number) => ({ numRuns, seed, includeErrorInReport: true });
  const on = (title: string, fn: () => Promise<void>) =>
    test(`tfjs ${name} = reference: ${title}`, async () => {
      await loadBackend(name);
      await fn();
    }, { skip });

  on("construction, read-back, tidy and dispose", async () => {
    await fc.assert(
      fc.asyncProperty(tensorArb(extremeValue), async (d) => {
        const t = ops.fromArray(d.values, d.shape);
        assert.deepEqual(ops.shape(t), d.shape);
        assertClose(await ops.toArray(t), d.values.map(Math.fround), { atol: SUBNORMAL });
        ops.dispose(t);
      }),
      params(1),
    );
    const ids = ops.fromInts([3, 0, 7], [3]);
    assert.equal(ids.dtype, "int32");
    assert.deepEqual([...(await ops.toArray(ids))], [3, 0, 7]);
    assert.throws(() => ops.fromInts([1.5], [1]), /fromInts: value 1.5/);
    assert.deepEqual([...(await ops.toArray(ops.scalar(2.5)))], [2.5]);
    assert.deepEqual(ops.shape(ops.scalar(2.5)), []);
    const filled = ops.fill([2, 3], -4);
    assert.deepEqual(ops.shape(filled), [2, 3]);
    assert.deepEqual([...(await ops.toArray(filled))], [-4, -4, -4, -4, -4, -4]);
    const before = tf.memory().numTensors;
    const kept = ops.tidy(() => ops.add(ops.exp(filled), ops.scalar(1)));
    assert.equal(tf.memory().numTensors, before + 1, "tidy keeps only the returned tensor");
    ops.dispose(kept);
    assert.equal(tf.memory().numTensors, before, "dispose frees the tensor");
    assert.equal(ops.name, `tfjs-${name}`);
  });

  const binaries: Array<[string, <T>(ops: TensorOps<T>, xs: T[]) => T, fc.Arbitrary<number>]> = [
    ["add", (ops, [a, b]) => ops.add(a, b), extremeValue],
    ["sub", (ops, [a, b]) => ops.sub(a, b), extremeValue],
    ["mul", (ops, [a, b]) => ops.mul(a, b), extremeValue],
    ["minimum", (ops, [a, b]) => ops.minimum(a, b), extremeValue],
    ["maximum", (ops, [a, b]) => ops.maximum(a, b), extremeValue],
  ];
  on("binary ops with broadcasting (add, sub, mul, div, minimum, maximum)", async () => {
    for (const [opName, op, value] of binaries) {
      await fc.assert(
        fc.asyncProperty(
          broadcastingArb([value, value]),
          (data) => agree(opName, op, data, { scale: maxAbs(...data) / 1e3 + 1 }),
        ),
        params(2),
      );
    }
    const denominator = fc.oneof(f32(0.1, 1000), f32(-1000, -0.1));
    await fc.assert(
      fc.asyncProperty(
        broadcastingArb([extremeValue, denominator]),
        (data) => agree("div", (ops, [a, b]) => ops.div(a, b), data),
      ),
      params(3),
    );
  });

  on("comparisons and where (ties included)", async () => {
    const small = fc.integer({ min: -2, max: 2 });
    const cmp: Array<[string, <T>(ops: TensorOps<T>, xs: T[]) => T]> = [
      ["greater", (ops, [a, b]) => ops.greater(a, b)],
      ["less", (ops, [a, b]) => ops.less(a, b)],
      ["equal", (ops, [a, b]) => ops.equal(a, b)],
    ];
    for (const [opName, op] of cmp) {
      await fc.assert(
        fc.asyncProperty(broadcastingArb([small, small]), (data) => agree(opName, op, data)),
        params(4),
      );
    }
    await fc.assert(
      fc.asyncProperty(
        broadcastingArb([fc.constantFrom(0, 1, 2, -1), extremeValue, extremeValue]),
        (data) => agree("where", (ops, [c, a, b]) => ops.where(c, a, b), data),
      ),
      params(5),
    );
  });

  const unaries: Array<[string, <T>(ops: TensorOps<T>, x: T) => T, fc.Arbitrary<number>]> = [
    ["neg", (ops, x) => ops.neg(x), extremeValue],
    ["exp", (ops, x) => ops.exp(x), f32(-80, 80)],
    ["log", (ops, x) => ops.log(x), f32(1e-6, 1000)],
    ["log1p", (ops, x) => ops.log1p(x), fc.oneof(f32(-0.99, 1000), f32(-1e-4, 1e-4))],
    ["softplus", (ops, x) => ops.softplus(x), extremeValue],
    ["sigmoid", (ops, x) => ops.sigmoid(x), extremeValue],
    ["logSigmoid", (ops, x) => ops.logSigmoid(x), extremeValue],
    ["square", (ops, x) => ops.square(x), extremeValue],
    ["sqrt", (ops, x) => ops.sqrt(x), f32(0, 1000)],
    ["abs", (ops, x) => ops.abs(x), extremeValue],
    ["relu", (ops, x) => ops.relu(x), extremeValue],
    ["tanh", (ops, x) => ops.tanh(x), extremeValue],
    ["stopGradient", (ops, x) => ops.stopGradient(x), extremeValue],
  ];
  on("unary ops, including softplus / logSigmoid / sigmoid at ±1e3", async () => {
    for (const [opName, op, value] of unaries) {
      await fc.assert(
        fc.asyncProperty(
          tensorArb(value),
          (d) => agree(opName, (ops, [x]) => op(ops, x), [d], { atol: 1e-6, rtol: 1e-5 }),
        ),
        params(6),
      );
    }
    // The stable ones stay finite at the extremes.
    const x = ops.fromArray([1000, -1000], [2]);
    for (const f of [ops.softplus, ops.logSigmoid, ops.sigmoid]) {
      for (const v of await ops.toArray(f(x))) assert.ok(Number.isFinite(v), `${ops.name}: ${v} not finite`);
    }
  });

  const reductions: Array<[string, <T>(ops: TensorOps<T>, x: T, axis?: number, keep?: boolean) => T]> = [
    ["sum", (ops, x, a, k) => ops.sum(x, a, k)],
    ["mean", (ops, x, a, k) => ops.mean(x, a, k)],
    ["max", (ops, x, a, k) => ops.max(x, a, k)],
    ["logSumExp", (ops, x, a, k) => ops.logSumExp(x, a, k)],
  ];
  on("reductions with negative axes and keepDims (sum, mean, max, logSumExp)", async () => {
    const withMinusInf = fc.oneof({ arbitrary: extremeValue, weight: 5 }, {
      arbitrary: fc.constant(-Infinity),
      weight: 1,
    });
    for (const [opName, op] of reductions) {
      const value = opName === "max" || opName === "logSumExp" ? withMinusInf : extremeValue;
      const arb = tensorArb(value).chain((d) =>
        fc.tuple(fc.constant(d), axisArb(d.shape.length), fc.boolean())
      );
      await fc.assert(
        fc.asyncProperty(
          arb,
          ([d, axis, keep]) =>
            agree(`${opName}(axis ${axis}, keepDims ${keep})`, (ops, [x]) => op(ops, x, axis, keep), [d], {
              scale: Math.max(1, d.values.length / 4),
            }),
        ),
        params(7),
      );
    }
    // Rows of all −∞ give −∞ (not NaN); rows at ±1e3 stay finite.
    const rows = ops.fromArray([-Infinity, -Infinity, 1000, 1000, -1000, -1000], [3, 2]);
    assertClose(await ops.toArray(ops.logSumExp(rows, -1)), [-Infinity, 1000 + Math.LN2, -1000 + Math.LN2], {
      rtol: 1e-6,
    });
  });

  on("gatherLast, with bounds checks", async () => {
    const arb = fc.tuple(shapeArb(0, 2), fc.integer({ min: 1, max: 5 })).chain(([lead, vocab]) =>
      fc.tuple(
        valuesFor([...lead, vocab], extremeValue).map((values) => ({ shape: [...lead, vocab], values })),
        valuesFor(lead, fc.integer({ min: 0, max: vocab - 1 })),
      )
    );
    await fc.assert(
      fc.asyncProperty(arb, async ([x, ids]) => {
        const lead = x.shape.slice(0, -1);
        const expected = readRef(ref.gatherLast(ref.fromArray(x.values, x.shape), ref.fromInts(ids, lead)));
        const actual = await runTf(() =>
          ops.gatherLast(ops.fromArray(x.values, x.shape), ops.fromInts(ids, lead))
        );
        assert.deepEqual(actual.shape, expected.shape);
        assertClose(actual.values, expected.values, {
          atol: SUBNORMAL,
          message: `gatherLast ${JSON.stringify(x.shape)}`,
        });
      }),
      params(8),
    );
    const x = ops.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.throws(() => ops.gatherLast(x, ops.fromInts([0, 3], [2])), /id 3 at position 1 .*vocab size 3/);
    assert.throws(
      () => ops.gatherLast(x, ops.fromInts([0], [1])),
      /gatherLast: x of shape \[2,3\] needs ids of shape \[2\]/,
    );
    // −∞ elsewhere in a row does not leak NaN into the gathered value.
    const masked = ops.fromArray([-Infinity, 2, -Infinity], [3]);
    assert.deepEqual([...(await ops.toArray(ops.gatherLast(masked, ops.fromInts([1], []))))], [2]);
  });

  on("slice (size −1), reshape, concat (negative axes)", async () => {
    const sliceArb = tensorArb(extremeValue, 1, 3).chain((d) =>
      fc.tuple(
        fc.constant(d),
        fc.tuple(...d.shape.map((n) =>
          fc.integer({ min: 0, max: n - 1 }).chain((b) =>
            fc.tuple(fc.constant(b), fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: n - b })))
          )
        )),
      )
    );
    await fc.assert(
      fc.asyncProperty(sliceArb, ([d, ranges]) => {
        const begin = ranges.map((r) => r[0]), size = ranges.map((r) => r[1]);
        return agree(`slice(${begin}; ${size})`, (ops, [x]) => ops.slice(x, begin, size), [d], {
          atol: SUBNORMAL,
        });
      }),
      params(9),
    );
    const reshapeArb = tensorArb(extremeValue).chain((d) =>
      fc.tuple(
        fc.constant(d),
        fc.shuffledSubarray(d.shape, { minLength: d.shape.length, maxLength: d.shape.length }),
        fc.boolean(),
      )
    );
    await fc.assert(
      fc.asyncProperty(reshapeArb, ([d, permuted, infer]) => {
        const target = infer && permuted.length > 0 ? [-1, ...permuted.slice(1)] : [...permuted, 1];
        return agree(`reshape to ${target}`, (ops, [x]) => ops.reshape(x, target), [d], { atol: SUBNORMAL });
      }),
      params(10),
    );
    const concatArb = shapeArb(1, 3).chain((shape) =>
      fc.tuple(fc.integer({ min: -shape.length, max: shape.length - 1 }), fc.integer({ min: 1, max: 3 }))
        .chain(([axis, n]) =>
          fc.tuple(
            fc.constant(axis),
            fc.array(
              fc.integer({ min: 1, max: 3 }).chain((len) => {
                const s = shape.map((dim, i) => (i === (axis + shape.length) % shape.length ? len : dim));
                return valuesFor(s, extremeValue).map((values) => ({ shape: s, values }));
              }),
              { minLength: n, maxLength: n },
            ),
          )
        )
    );
    await fc.assert(
      fc.asyncProperty(
        concatArb,
        ([axis, parts]) =>
          agree(`concat(axis ${axis})`, (ops, xs) => ops.concat(xs, axis), parts, { atol: SUBNORMAL }),
      ),
      params(11),
    );
    assert.throws(() => ops.reshape(ops.fill([2, 3], 0), [4, 2]), /reshape/);
  });
}
