// Gradients of every differentiable unary op of the tfjs adapter, taken inside tf.tidy and through
// tf.variableGrads — the way the trainer takes them. (tf.logSigmoid's own gradient fails there:
// this test caught it.) Each gradient is compared with a closed form in plain JS.
import * as tf from "@tensorflow/tfjs";
import { tfjsOps as ops } from "../backends/tfjs.ts";
import { loadBackend } from "../backends/load.ts";
import { assertClose, test } from "./harness.ts";
import { backendsUnderTest } from "./backends.support.ts";

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
/** op name → derivative of the op at x, written independently of the adapter. */
const derivatives: Record<string, (x: number) => number> = {
  exp: (x) => Math.exp(x),
  log1p: (x) => 1 / (1 + x),
  softplus: (x) => sig(x),
  sigmoid: (x) => sig(x) * (1 - sig(x)),
  logSigmoid: (x) => sig(-x),
  square: (x) => 2 * x,
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  neg: () => -1,
  abs: (x) => Math.sign(x),
  relu: (x) => (x > 0 ? 1 : 0),
};
const xs = [-3, -0.5, 0.25, 2];

for (const backend of await backendsUnderTest()) {
  test(`${backend.name}: unary op gradients work inside tf.tidy and tf.variableGrads`, async () => {
    await loadBackend(backend.name);
    const v = tf.variable(tf.tensor1d(xs), true);
    try {
      for (const [name, d] of Object.entries(derivatives)) {
        const op = (ops as unknown as Record<string, (t: tf.Tensor) => tf.Tensor>)[name];
        const grad = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => ops.sum(op(v)) as tf.Scalar, [v]);
          value.dispose();
          return grads[v.name];
        });
        assertClose(await grad.data(), xs.map(d), { atol: 1e-5, rtol: 1e-4, message: `d${name}/dx` });
        grad.dispose();
      }
    } finally {
      v.dispose();
    }
  }, { skip: backend.skip });
}
