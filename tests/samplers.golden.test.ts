/**
 * The same seed gives the same samples under Deno and Node and on every backend: the committed
 * fixture tests/fixtures/sampler_golden.json (written once by sampler_golden.make.ts) holds ids and
 * log-probs for eight option sets and resampling indices; they are checked here on referenceOps
 * and on tfjs cpu and wasm, and webgpu under Deno where an adapter exists (the fixture's logits
 * are exact in float32). The tfjs token-level
 * geometric mixture is also checked against the reference to float32 tolerance, without leaks.
 */
import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { referenceOps } from "../backends/reference.ts";
import { loadBackend } from "../backends/load.ts";
import { tfjsOps } from "../backends/tfjs.ts";
import type { TensorOps } from "../core/tensor.ts";
import { rngFromSeed } from "../core/rng.ts";
import { geometricMixtureLogits, resampleGeometric } from "../samplers/geometric.ts";
import { sampleNextToken } from "../samplers/token.ts";
import type { SamplingOptions } from "../samplers/filters.ts";
import { assert, assertClose, test } from "./harness.ts";
import { backendsUnderTest } from "./backends.support.ts";

interface GoldenStep {
  ids: number[];
  logProbs: number[];
  modelLogProbs: number[];
}
const golden = JSON.parse(readFileSync(new URL("./fixtures/sampler_golden.json", import.meta.url), "utf8"));
const sampling = golden.sampling as {
  seed: number;
  batch: number;
  vocab: number;
  logits: number[];
  cases: { options: SamplingOptions; steps: GoldenStep[] }[];
};

const checkSamplingGolden = async <T>(ops: TensorOps<T>): Promise<void> => {
  const logits = ops.fromArray(sampling.logits, [sampling.batch, sampling.vocab]);
  // The read-back is exactly the fixture's values (multiples of 1/8 and ±1000 are float32-exact).
  assert.deepEqual(Array.from(await ops.toArray(logits)), sampling.logits);
  for (const [c, { options, steps }] of sampling.cases.entries()) {
    let rng = rngFromSeed(sampling.seed + c);
    for (const [s, step] of steps.entries()) {
      const out = await sampleNextToken(ops)(logits, rng, options);
      const where = `${ops.name}, options ${JSON.stringify(options)}, step ${s}`;
      assert.deepEqual(Array.from(out.ids), step.ids, where);
      assertClose(out.logProbs, step.logProbs, { atol: 1e-12, message: where });
      assertClose(out.modelLogProbs, step.modelLogProbs, { atol: 1e-12, message: where });
      rng = out.rng;
    }
  }
  ops.dispose(logits);
};

test("golden samples on referenceOps (the same ids under Node and Deno)", async () => {
  await checkSamplingGolden(referenceOps);
  for (const { method, seed, k, indices } of golden.resample.cases) {
    assert.deepEqual(
      Array.from(resampleGeometric(rngFromSeed(seed), golden.resample.sumLogZ, k, method).indices),
      indices,
    );
  }
});

for (const { name: backend, skip } of await backendsUnderTest()) {
  test(`golden samples on tfjs ${backend}: the same ids as the reference backend`, async () => {
    await loadBackend(backend);
    assert.equal(tfjsOps.name, `tfjs-${backend}`);
    await checkSamplingGolden(tfjsOps);
  }, { skip });

  test(
    `tfjs ${backend}: geometricMixtureLogits agrees with the reference to float32 tolerance, no leaks`,
    async () => {
      await loadBackend(backend);
      const shape = [2, 3, 7];
      const n = 42;
      const prev = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 6);
      const base = Array.from({ length: n }, (_, i) => Math.cos(i * 0.9) * 4 + (i % 7 === 3 ? 900 : 0));
      const before = tf.memory().numTensors;
      for (const alpha of [0, 0.3, 1]) {
        const p = tfjsOps.fromArray(prev, shape), b = tfjsOps.fromArray(base, shape);
        const got = geometricMixtureLogits(tfjsOps)(alpha, p, b);
        const want = geometricMixtureLogits(referenceOps)(
          alpha,
          referenceOps.fromArray(prev, shape),
          referenceOps.fromArray(base, shape),
        );
        assert.deepEqual(tfjsOps.shape(got.logZ), [2, 3]);
        assertClose(await tfjsOps.toArray(got.logProbs), await referenceOps.toArray(want.logProbs), {
          atol: 2e-4,
          rtol: 1e-5,
        });
        assertClose(await tfjsOps.toArray(got.logZ), await referenceOps.toArray(want.logZ), { atol: 2e-4 });
        for (const z of await tfjsOps.toArray(got.logZ)) assert.ok(z <= 0);
        [p, b, got.logProbs, got.logZ].forEach((t) => tfjsOps.dispose(t));
      }
      assert.equal(tf.memory().numTensors, before, "geometricMixtureLogits leaked tensors");
    },
    { skip },
  );
}
