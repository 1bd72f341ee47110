/**
 * `Deno.bench` of every registered loss (losses/registry.ts) on the reference backend and on
 * tfjs-wasm: the loss and its TRL metrics for a batch of 256 pairs, with every optional input a
 * built-in loss may need filled in. Run: `deno bench -A bench/losses.bench.ts`.
 *
 * @module
 */
import type { TensorOps } from "../core/tensor.ts";
import { lossRegistry } from "../losses/registry.ts";
import type { PreferencePair } from "../losses/types.ts";
import { benchOps, floats, settle } from "./ops.ts";

const pairs = 256;

const pairOf = <T>(ops: TensorOps<T>): PreferencePair<T> => {
  const v = (seed: number, lo: number, hi: number): T => ops.fromArray(floats(pairs, seed, lo, hi), [pairs]);
  return {
    policyChosen: v(1, -120, -60),
    policyRejected: v(2, -120, -60),
    refChosen: v(3, -120, -60),
    refRejected: v(4, -120, -60),
    chosenTokens: v(5, 20, 100),
    rejectedTokens: v(6, 20, 100),
    sftNll: v(7, 60, 120),
    winRateChosen: v(8, 0.05, 0.95),
    winRateRejected: v(9, 0.05, 0.95),
    rewardChosen: v(10, -2, 2),
    rewardRejected: v(11, -2, 2),
    policyGenerated: v(12, -120, -60),
    refGenerated: v(13, -120, -60),
  };
};

for (const { name, ops } of benchOps) {
  const pair = pairOf(ops);
  for (const loss of lossRegistry.all()) {
    const compute = loss.compute(ops);
    Deno.bench({
      name: `${loss.name} [${pairs} pairs] ${name}`,
      group: loss.name,
      baseline: name === "reference",
      fn: () => settle(ops, () => ops.mean(compute(pair).loss)),
    });
  }
}
