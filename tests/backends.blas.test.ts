// The blas backend: its matrix products (every transpose combination, batched, broadcast batches,
// a shared right operand, empty axes, fused bias + activation; batches of tiny products go to wasm) equal a Float64 triple loop to
// float32 rounding and the wasm kernels' results; a netlib reference BLAS, when one is given, computes
// the same; the library side is in backends.blas-library.test.ts.
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { assert, assertClose, test } from "./harness.ts";
import { blasSkip } from "./backends.support.ts";
import { openBlas } from "../backends/blas-library.ts";
import { loadBackend } from "../backends/load.ts";

const skip = await blasSkip();
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A matrix-product case: operand shapes as stored, and the transpose flags. */
interface Case {
  readonly aShape: number[];
  readonly bShape: number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly a: number[];
  readonly b: number[];
}

/** op(a)·op(b) in Float64 by the definition, outer axes broadcast as NumPy does. */
const product64 = (c: Case): { values: Float64Array; shape: number[] } => {
  const ra = c.aShape.length, rb = c.bShape.length;
  const m = c.transposeA ? c.aShape[ra - 1] : c.aShape[ra - 2];
  const k = c.transposeA ? c.aShape[ra - 2] : c.aShape[ra - 1];
  const n = c.transposeB ? c.bShape[rb - 2] : c.bShape[rb - 1];
  const aOuter = c.aShape.slice(0, -2), bOuter = c.bShape.slice(0, -2);
  const rank = Math.max(aOuter.length, bOuter.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = pad(aOuter), pb = pad(bOuter);
  const outer = pa.map((d, i) => Math.max(d, pb[i]));
  const values = new Float64Array(size(outer) * m * n);
  const flat = (s: number[], index: number[]) =>
    s.reduce((acc, d, i) => acc * d + (d === 1 ? 0 : index[i]), 0);
  for (let o = 0; o < size(outer); o++) {
    const index: number[] = [];
    let rest = o;
    for (let i = rank - 1; i >= 0; i--) {
      index[i] = rest % outer[i];
      rest = Math.floor(rest / outer[i]);
    }
    const ao = flat(pa, index) * m * k, bo = flat(pb, index) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = c.a[ao + (c.transposeA ? p * m + i : i * k + p)];
          const bv = c.b[bo + (c.transposeB ? j * k + p : p * n + j)];
          s += av * bv;
        }
        values[(o * m + i) * n + j] = s;
      }
    }
  }
  return { values, shape: [...outer, m, n] };
};

/** Run a product case on the active backend; values and shape back. */
const productTf = async (c: Case): Promise<{ values: Float32Array; shape: number[] }> => {
  const out = tf.tidy(() =>
    tf.matMul(tf.tensor(c.a, c.aShape), tf.tensor(c.b, c.bShape), c.transposeA, c.transposeB)
  );
  const values = (await out.data()) as Float32Array;
  const shape = [...out.shape];
  out.dispose();
  return { values, shape };
};

/** Σ|a_p·b_p| bounds the float32 error of a dot product: tolerance per output from the inputs' size. */
const tolerance = (c: Case): number => {
  const k = c.transposeA ? c.aShape[c.aShape.length - 2] : c.aShape[c.aShape.length - 1];
  const maxA = Math.max(0, ...c.a.map(Math.abs)), maxB = Math.max(0, ...c.b.map(Math.abs));
  return 4 * 2 ** -23 * Math.max(1, k) * maxA * maxB + 1e-30;
};

const values = (shape: number[]) =>
  fc.array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), {
    minLength: size(shape),
    maxLength: size(shape),
  });

/** Cases with outer axes that broadcast (some dropped or 1 on either side) and any transposes. */
const caseArb: fc.Arbitrary<Case> = fc.record({
  m: fc.integer({ min: 1, max: 7 }),
  k: fc.integer({ min: 1, max: 9 }),
  n: fc.integer({ min: 1, max: 7 }),
  outer: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
  aMask: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  bMask: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  dropA: fc.integer({ min: 0, max: 2 }),
  dropB: fc.integer({ min: 0, max: 2 }),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
}).chain(({ m, k, n, outer, aMask, bMask, dropA, dropB, transposeA, transposeB }) => {
  const aOuter = outer.map((d, i) => (aMask[i] ? 1 : d)).slice(Math.min(dropA, outer.length));
  const bOuter = outer.map((d, i) => (bMask[i] ? 1 : d)).slice(Math.min(dropB, outer.length));
  const aShape = [...aOuter, ...(transposeA ? [k, m] : [m, k])];
  const bShape = [...bOuter, ...(transposeB ? [n, k] : [k, n])];
  return fc.tuple(values(aShape), values(bShape)).map(([a, b]) => ({
    aShape,
    bShape,
    transposeA,
    transposeB,
    a,
    b,
  }));
});

test("blas: tf.matMul = Float64 product for every transpose combination and broadcast batch", async () => {
  await loadBackend("blas");
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const expected = product64(c);
      const got = await productTf(c);
      const where = `${JSON.stringify([c.aShape, c.bShape, c.transposeA, c.transposeB])}`;
      assert.deepEqual(got.shape, expected.shape, where);
      assertClose(got.values, expected.values, { atol: tolerance(c), message: where });
    }),
    { numRuns: 150, seed: 12 },
  );
}, { skip });

test(
  "blas: larger products (all transposes, a batch, a shared right operand) = Float64 and = wasm",
  async () => {
    const random = (n: number, seed: number) =>
      Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 0.37) * 2);
    const cases: Case[] = [];
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const [m, k, n] = [33, 70, 41];
        const aShape = [3, ...(transposeA ? [k, m] : [m, k])],
          bShape = [3, ...(transposeB ? [n, k] : [k, n])];
        cases.push({
          aShape,
          bShape,
          transposeA,
          transposeB,
          a: random(size(aShape), 1),
          b: random(size(bShape), 2),
        });
        // one right matrix for a batch of left ones (the tall-product path), and the converse
        const shared = transposeB ? [n, k] : [k, n];
        cases.push({
          aShape,
          bShape: shared,
          transposeA,
          transposeB,
          a: random(size(aShape), 3),
          b: random(size(shared), 4),
        });
        const single = transposeA ? [k, m] : [m, k];
        cases.push({
          aShape: single,
          bShape,
          transposeA,
          transposeB,
          a: random(size(single), 5),
          b: random(size(bShape), 6),
        });
      }
    }
    // outer axes that broadcast both ways: [2, 1] against [1, 3]
    // (compared with Float64 only: the wasm kernels give a result of the wrong size there)
    const twoWay = cases.length;
    for (const [transposeA, transposeB] of [[false, false], [true, true]]) {
      const [m, k, n] = [20, 30, 20];
      const aShape = [2, 1, ...(transposeA ? [k, m] : [m, k])],
        bShape = [1, 3, ...(transposeB ? [n, k] : [k, n])];
      cases.push({
        aShape,
        bShape,
        transposeA,
        transposeB,
        a: random(size(aShape), 7),
        b: random(size(bShape), 8),
      });
    }
    const wasm: Float32Array[] = [];
    await loadBackend("wasm");
    for (const c of cases) wasm.push((await productTf(c)).values);
    await loadBackend("blas");
    for (const [i, c] of cases.entries()) {
      const got = await productTf(c), expected = product64(c);
      const where = JSON.stringify([c.aShape, c.bShape, c.transposeA, c.transposeB]);
      assert.deepEqual(got.shape, expected.shape, where);
      assertClose(got.values, expected.values, { atol: tolerance(c), message: `${where} vs Float64` });
      if (i < twoWay) {
        assertClose(got.values, wasm[i], { atol: 2 * tolerance(c), message: `${where} vs wasm` });
      }
    }
  },
  { skip },
);

test("blas: empty axes give empty or zero products, as tfjs defines them", async () => {
  await loadBackend("blas");
  const zeroK = await productTf({
    aShape: [2, 0],
    bShape: [0, 3],
    transposeA: false,
    transposeB: false,
    a: [],
    b: [],
  });
  assert.deepEqual(zeroK.shape, [2, 3]);
  assert.deepEqual([...zeroK.values], [0, 0, 0, 0, 0, 0]);
  const zeroM = await productTf({
    aShape: [0, 2],
    bShape: [2, 3],
    transposeA: false,
    transposeB: false,
    a: [],
    b: [1, 2, 3, 4, 5, 6],
  });
  assert.deepEqual(zeroM.shape, [0, 3]);
  assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 3])), /inner shapes \(3\) and \(2\)/);
}, { skip });

/** bias + activation in Float64, by the definitions tfjs gives them. */
const activate = (x: number, name: string, alpha: number): number => {
  switch (name) {
    case "relu":
      return Math.max(x, 0);
    case "relu6":
      return Math.min(Math.max(x, 0), 6);
    case "leakyrelu":
    case "prelu":
      return x < 0 ? alpha * x : x;
    case "sigmoid":
      return 1 / (1 + Math.exp(-x));
    case "elu":
      return x < 0 ? Math.expm1(x) : x;
    default:
      return x;
  }
};

test(
  "blas: fused matMul with bias and each activation = Float64, for every transpose combination",
  async () => {
    await loadBackend("blas");
    const [m, k, n] = [5, 6, 4];
    const activations = ["linear", "relu", "relu6", "leakyrelu", "prelu", "sigmoid", "elu"] as const;
    for (const activation of activations) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          for (const biasLength of [n, 1, 0]) {
            const c: Case = {
              aShape: [2, ...(transposeA ? [k, m] : [m, k])],
              bShape: transposeB ? [n, k] : [k, n],
              transposeA,
              transposeB,
              a: Array.from({ length: 2 * m * k }, (_, i) => Math.cos(i * 0.7) * 3),
              b: Array.from({ length: k * n }, (_, i) => Math.sin(i * 1.3) * 2),
            };
            const bias = Array.from({ length: biasLength }, (_, i) => 1.5 - i);
            const alpha = 0.3;
            const out = tf.tidy(() =>
              tf.fused.matMul({
                a: tf.tensor(c.a, c.aShape as [number, number, number]) as tf.Tensor3D,
                b: tf.tensor(c.b, c.bShape as [number, number]) as tf.Tensor2D,
                transposeA,
                transposeB,
                bias: biasLength === 0 ? undefined : tf.tensor1d(bias),
                activation,
                leakyreluAlpha: alpha,
                preluActivationWeights: activation === "prelu" ? tf.scalar(alpha) : undefined,
              })
            );
            const got = (await out.data()) as Float32Array;
            out.dispose();
            const plain = product64(c).values;
            const expected = plain.map((v, i) =>
              activate(v + (biasLength === 0 ? 0 : bias[biasLength === 1 ? 0 : i % n]), activation, alpha)
            );
            assertClose(got, expected, {
              atol: 4 * tolerance(c),
              rtol: 1e-6,
              message: `${activation} tA=${transposeA} tB=${transposeB} bias ${biasLength}`,
            });
          }
        }
      }
    }
  },
  { skip },
);

test("blas: gradients of a transposed, batched product = the Float64 closed form", async () => {
  await loadBackend("blas");
  // L = Σ w ⊙ (A·Bᵀ): dL/dA = w·B, dL/dB = wᵀ·A (per batch matrix).
  const a = { aShape: [2, 3, 4], a: Array.from({ length: 24 }, (_, i) => Math.sin(i) * 2) };
  const b = { bShape: [2, 5, 4], b: Array.from({ length: 40 }, (_, i) => Math.cos(i * 0.5)) };
  const w = Array.from({ length: 30 }, (_, i) => (i % 7) - 3);
  const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(tf.tensor(w, [2, 3, 5]), tf.matMul(x, y, false, true)))
  );
  const [ga, gb] = grads([tf.tensor(a.a, a.aShape), tf.tensor(b.b, b.bShape)]);
  const da = product64({
    aShape: [2, 3, 5],
    bShape: b.bShape,
    transposeA: false,
    transposeB: false,
    a: w,
    b: b.b,
  });
  const db = product64({
    aShape: [2, 3, 5],
    bShape: a.aShape,
    transposeA: true,
    transposeB: false,
    a: w,
    b: a.a,
  });
  assertClose(await ga.data(), da.values, { atol: 1e-4 });
  assertClose(await gb.data(), db.values, { atol: 1e-4 });
  tf.dispose([ga, gb]);
}, { skip });

// Needs a netlib reference BLAS, which CI does not install: on Debian, `apt-get download libblas3`,
// `dpkg -x` it somewhere and set ALPHA_SPIN_TEST_REFERENCE_BLAS to its blas/libblas.so.3.
const referencePath = process.env.ALPHA_SPIN_TEST_REFERENCE_BLAS;
test(
  "blas: the netlib reference BLAS is recognised, warned about once, refused by auto, and still correct",
  async () => {
    const saved = process.env.ALPHA_SPIN_BLAS;
    const warnings: string[] = [];
    const { warn } = console;
    console.warn = (...a: unknown[]) => void warnings.push(a.join(" "));
    process.env.ALPHA_SPIN_BLAS = referencePath;
    try {
      const auto = await loadBackend("auto");
      assert.ok(auto.name !== "blas", auto.name);
      const info = await loadBackend("blas");
      await loadBackend("blas");
      assert.equal((await openBlas()).kind, "reference");
      assert.match(info.details, /netlib reference BLAS \(slow\)/);
      assert.equal(
        warnings.filter((w) => /about 35× slower than OpenBLAS/.test(w)).length,
        1,
        warnings.join("\n"),
      );
      const c: Case = {
        aShape: [2, 3, 4],
        bShape: [5, 4],
        transposeA: false,
        transposeB: true,
        a: Array.from({ length: 24 }, (_, i) => i - 7),
        b: Array.from({ length: 20 }, (_, i) => 3 - i),
      };
      assertClose((await productTf(c)).values, product64(c).values, { atol: tolerance(c) });
    } finally {
      console.warn = warn;
      if (saved === undefined) delete process.env.ALPHA_SPIN_BLAS;
      else process.env.ALPHA_SPIN_BLAS = saved;
      await loadBackend("wasm");
    }
  },
  { skip: referencePath === undefined ? "ALPHA_SPIN_TEST_REFERENCE_BLAS is not set" : skip },
);
