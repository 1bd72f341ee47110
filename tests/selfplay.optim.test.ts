// train/optim.ts and train/schedule.ts: AdamW with decoupled weight decay, global-norm
// clipping and gradient accumulation against a plain-JS AdamW written here; warm-up schedules against
// hand-computed values; no tensor leaks across steps.
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { AdamW, GradientAccumulator, globalNorm } from "../train/optim.ts";
import { learningRateAt, makeSchedule } from "../train/schedule.ts";

await tf.setBackend("cpu");

/** PyTorch-style AdamW on plain arrays: clip by global norm, decay θ by lr·wd, Adam with bias correction. */
const plainAdamW = (
  theta: number[][],
  gradsPerStep: number[][][],
  lrs: number[],
  { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0, maxNorm = 0 } = {},
): { theta: number[][]; norms: number[] } => {
  const p = theta.map((x) => [...x]);
  const m = p.map((x) => x.map(() => 0)), v = p.map((x) => x.map(() => 0));
  const norms: number[] = [];
  gradsPerStep.forEach((grads, s) => {
    const k = s + 1;
    const norm = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    norms.push(norm);
    const c = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
    p.forEach((row, i) =>
      row.forEach((_, j) => {
        const g = grads[i][j] * c;
        m[i][j] = beta1 * m[i][j] + (1 - beta1) * g;
        v[i][j] = beta2 * v[i][j] + (1 - beta2) * g * g;
        const mHat = m[i][j] / (1 - beta1 ** k), vHat = v[i][j] / (1 - beta2 ** k);
        p[i][j] = p[i][j] - lrs[s] * wd * p[i][j] - lrs[s] * mHat / (Math.sqrt(vHat) + eps);
      })
    );
  });
  return { theta: p, norms };
};

test("AdamW matches a plain-JS AdamW (decoupled decay, clipping, bias correction) over 5 steps", async () => {
  const init = [[0.5, -1.5, 2], [3, -0.25]];
  const grads = [
    [[1, -2, 0.5], [4, 0]],
    [[-0.3, 0.2, 0.1], [0.05, -0.6]],
    [[2, 2, -2], [1, 1]],
    [[0, 0, 0], [0, 0]],
    [[-1, 0.5, 0.25], [3, -3]],
  ];
  const lrs = [0.1, 0.05, 0.02, 0.03, 0.01];
  const settings = { beta1: 0.8, beta2: 0.95, eps: 1e-6, wd: 0.1, maxNorm: 1.5 };
  const expected = plainAdamW(init, grads, lrs, settings);
  const vars = init.map((row) => tf.variable(tf.tensor1d(row)));
  const opt = new AdamW(vars, { beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, maxGradNorm: 1.5 });
  const norms: number[] = [];
  for (let s = 0; s < grads.length; s++) {
    const g = grads[s].map((row) => tf.tensor1d(row));
    const norm = opt.step(g, lrs[s]);
    norms.push((await norm.data())[0]);
    tf.dispose([...g, norm]);
  }
  assertClose(norms, expected.norms, { rtol: 1e-6, message: "pre-clip norms" });
  for (let i = 0; i < vars.length; i++) {
    assertClose(await vars[i].data(), expected.theta[i], { atol: 2e-6, message: `variable ${i}` });
  }
  assert.equal(opt.stepCount, 5);
  opt.dispose();
  tf.dispose(vars);
});

test("decoupled weight decay: a zero gradient shrinks θ by exactly (1 − lr·wd); undecayed variables stay", async () => {
  const a = tf.variable(tf.tensor1d([2, -4])), b = tf.variable(tf.tensor1d([1]));
  const opt = new AdamW([a, b], { weightDecay: 0.5, maxGradNorm: 0, decay: [true, false] });
  const zeros = [tf.zeros([2]), tf.zeros([1])];
  tf.dispose(opt.step(zeros, 0.1));
  assertClose(await a.data(), [2 * 0.95, -4 * 0.95], { atol: 1e-6 });
  assertClose(await b.data(), [1], { atol: 0 });
  tf.dispose([...zeros, a, b]);
  opt.dispose();
});

test("gradient accumulation: the mean of two half-batch gradients is the full-batch gradient", async () => {
  const w = tf.variable(tf.tensor1d([0.3, -0.7]));
  const xs = [[1, 2], [3, -1], [0.5, 0.5], [-2, 1]];
  const lossOf = (rows: number[][]) => () =>
    tf.mean(tf.square(tf.sum(tf.mul(tf.tensor2d(rows), w), 1))) as tf.Scalar;
  const full = tf.variableGrads(lossOf(xs), [w]);
  const acc = new GradientAccumulator([w]);
  for (const half of [xs.slice(0, 2), xs.slice(2)]) {
    const g = tf.variableGrads(lossOf(half), [w]);
    acc.add([g.grads[w.name]]);
    tf.dispose([g.value, ...Object.values(g.grads)]);
  }
  assert.equal(acc.count, 2);
  const mean = acc.take();
  assert.equal(acc.count, 0);
  assertClose(await mean[0].data(), await full.grads[w.name].data(), { atol: 1e-6 });
  tf.dispose([...mean, full.value, ...Object.values(full.grads), w]);
  assert.throws(() => acc.take(), /no gradients/);
});

test("no tensor leaks: numTensors is stable across steps and back to its start after dispose", () => {
  const start = tf.memory().numTensors;
  const w = tf.tidy(() => tf.variable(tf.randomNormal([4, 3], 0, 1, "float32", 1)));
  const opt = new AdamW([w], { weightDecay: 0.01 });
  const acc = new GradientAccumulator([w]);
  const oneStep = (): void => {
    for (let k = 0; k < 2; k++) {
      const g = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
      acc.add([g.grads[w.name]]);
      tf.dispose([g.value, ...Object.values(g.grads)]);
    }
    const grads = acc.take();
    tf.dispose([opt.step(grads, 1e-3), ...grads]);
  };
  oneStep();
  const before = tf.memory().numTensors;
  for (let s = 0; s < 5; s++) oneStep();
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  acc.dispose();
  w.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("exportState / loadState: a restored optimizer continues exactly like the original", async () => {
  const run = async (restoreAfter: number | null): Promise<Float32Array> => {
    let w = tf.variable(tf.tensor1d([1, -1, 0.5]));
    let opt = new AdamW([w], { weightDecay: 0.01 });
    for (let s = 0; s < 4; s++) {
      if (s === restoreAfter) {
        const state = await opt.exportState();
        const values = await w.data();
        opt.dispose();
        w.dispose();
        w = tf.variable(tf.tensor1d(values));
        opt = new AdamW([w], { weightDecay: 0.01 });
        opt.loadState(state);
      }
      const g = tf.tidy(() => tf.mul(w, tf.scalar(s + 1)));
      tf.dispose([opt.step([g], 0.05), g]);
    }
    const out = new Float32Array(await w.data());
    opt.dispose();
    w.dispose();
    return out;
  };
  assert.deepEqual(await run(2), await run(null));
});

test("globalNorm is √(Σ‖g‖²) over every tensor", async () => {
  const norm = globalNorm([tf.tensor1d([3]), tf.tensor2d([[0, 4]])]);
  assertClose(await norm.data(), [5], { atol: 1e-6 });
  norm.dispose();
});

test("schedules: warm-up ⌈ratio·N⌉ steps from 0, then linear / cosine decay to 0 or constant (Hugging Face's formulas)", () => {
  const linear = makeSchedule({ kind: "linear", peakLr: 1, totalSteps: 10, warmupRatio: 0.25 });
  assert.equal(linear.warmupSteps, 3);
  assertClose([0, 1, 2, 3, 4, 9, 10].map((k) => learningRateAt(linear, k)), [0, 1 / 3, 2 / 3, 1, 6 / 7, 1 / 7, 0], { atol: 1e-12 });
  const cosine = makeSchedule({ kind: "cosine", peakLr: 2, totalSteps: 5, warmupRatio: 0 });
  assertClose([0, 1, 2, 5].map((k) => learningRateAt(cosine, k)), [2, 1 + Math.cos(Math.PI / 5), 1 + Math.cos((2 * Math.PI) / 5), 0], {
    atol: 1e-12,
  });
  const constant = makeSchedule({ kind: "constant", peakLr: 0.5, totalSteps: 8, warmupRatio: 0.5 });
  assertClose([0, 2, 4, 7].map((k) => learningRateAt(constant, k)), [0, 0.25, 0.5, 0.5], { atol: 1e-12 });
  assert.throws(() => makeSchedule({ kind: "linear", peakLr: 0, totalSteps: 1, warmupRatio: 0 }), /learning rate must be > 0/);
  assert.throws(() => makeSchedule({ kind: "linear", peakLr: 1, totalSteps: 1, warmupRatio: 1.5 }), /warmupRatio/);
});
