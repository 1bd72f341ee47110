// Shared pieces of the backend tests (not a test file itself): which tfjs backends to run on,
// fast-check arbitraries for tensors and shapes, and helpers to run an op on both backends.
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import type { Shape } from "../core/tensor.ts";
import { referenceOps as ref, type RefTensor, refToArraySync } from "../backends/reference.ts";
import { probeWebgpuAdapter } from "../backends/webgpu.ts";
import { openBlas } from "../backends/blas-library.ts";

/** A tfjs backend under test, with a reason to skip it and a number of property runs. */
export interface BackendUnderTest {
  readonly name: "cpu" | "wasm" | "blas" | "webgpu";
  readonly skip: string | false;
  readonly numRuns: number;
}

const webgpuSkip = async (): Promise<string | false> => {
  if (process.env.ALPHA_SPIN_SKIP_WEBGPU) return "ALPHA_SPIN_SKIP_WEBGPU is set";
  try {
    await probeWebgpuAdapter();
    return false;
  } catch (e) {
    return `no WebGPU adapter here: ${(e as Error).message}`;
  }
};

/** Why the blas backend cannot run here, or false when a system BLAS opens. */
export const blasSkip = async (): Promise<string | false> => {
  try {
    await openBlas();
    return false;
  } catch (e) {
    return `no system BLAS here: ${(e as Error).message}`;
  }
};

/**
 * cpu and wasm always; blas where a system BLAS opens; webgpu when an adapter exists (Deno's built-in
 * WebGPU, or Node's through the webgpu package; fewer runs: lavapipe is slow).
 */
export const backendsUnderTest = async (): Promise<BackendUnderTest[]> => [
  { name: "cpu", skip: false, numRuns: 25 },
  { name: "wasm", skip: false, numRuns: 25 },
  { name: "blas", skip: await blasSkip(), numRuns: 25 },
  { name: "webgpu", skip: await webgpuSkip(), numRuns: 12 },
];

/** A float32-representable number in [lo, hi] (so both backends see the same input). */
export const f32 = (lo: number, hi: number): fc.Arbitrary<number> =>
  fc.float({ min: Math.fround(lo), max: Math.fround(hi), noNaN: true, noDefaultInfinity: true });

/** Ordinary values mixed with the extremes the library must survive (±1e3 logits, float32 exp limits). */
export const extremeValue: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: f32(-10, 10), weight: 3 },
  { arbitrary: fc.constantFrom(1000, -1000, 0, 88, -88, 30, -30, Math.fround(1e-3)), weight: 1 },
);

/** A shape of rank 0..maxRank with sizes 1..4 (length-1 axes included). */
export const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: minRank, maxLength: maxRank });

const size = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** Values to fill a shape. */
export const valuesFor = (shape: Shape, value: fc.Arbitrary<number>): fc.Arbitrary<number[]> =>
  fc.array(value, { minLength: size(shape), maxLength: size(shape) });

/** A tensor as plain data. */
export interface Data {
  readonly shape: number[];
  readonly values: number[];
}

/** A tensor with values from `value`. */
export const tensorArb = (value: fc.Arbitrary<number>, minRank = 0, maxRank = 3): fc.Arbitrary<Data> =>
  shapeArb(minRank, maxRank).chain((shape) => valuesFor(shape, value).map((values) => ({ shape, values })));

/** A shape that broadcasts to `out`: some leading axes dropped, some axes set to 1. */
const operandShape = (out: number[]): fc.Arbitrary<number[]> =>
  fc.tuple(
    fc.integer({ min: 0, max: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
  )
    .map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop));

/** `n` tensors whose shapes broadcast together (NumPy rules), with values from `values[i]`. */
export const broadcastingArb = (values: readonly fc.Arbitrary<number>[]): fc.Arbitrary<Data[]> =>
  shapeArb(0, 3).chain((out) =>
    fc.tuple(
      ...values.map((v) =>
        operandShape(out).chain((s) => valuesFor(s, v).map((vals) => ({ shape: s, values: vals })))
      ),
    )
  );

/** A valid axis for `rank` (negative or not), or undefined (all axes) — `undefined` only when allowed. */
export const axisArb = (rank: number, allowAll = true): fc.Arbitrary<number | undefined> =>
  rank === 0
    ? fc.constant(undefined)
    : allowAll
    ? fc.option(fc.integer({ min: -rank, max: rank - 1 }), { nil: undefined })
    : fc.integer({ min: -rank, max: rank - 1 });

/** Reference tensor from data. */
export const refOf = (d: Data): RefTensor => ref.fromArray(d.values, d.shape);

/** tfjs tensor from data. */
export const tfOf = (d: Data): tf.Tensor => tf.tensor(d.values, d.shape, "float32");

/** Run `build` (which may create tfjs tensors) and read back its result's values and shape, freeing all. */
export const runTf = async (build: () => tf.Tensor): Promise<{ values: Float64Array; shape: number[] }> => {
  const out = tf.tidy(build);
  try {
    return { values: Float64Array.from(await out.data()), shape: [...out.shape] };
  } finally {
    out.dispose();
  }
};

/** Values and shape of a reference tensor. */
export const readRef = (t: RefTensor): { values: Float64Array; shape: number[] } => ({
  values: refToArraySync(t),
  shape: [...t.shape],
});

/** Largest |value| in some data (for scaling float32 tolerances). */
export const maxAbs = (...ds: readonly Data[]): number =>
  ds.reduce((m, d) => d.values.reduce((a, v) => (Number.isFinite(v) ? Math.max(a, Math.abs(v)) : a), m), 0);
