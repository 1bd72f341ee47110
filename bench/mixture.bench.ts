/**
 * `Deno.bench` of core/mixture.ts on the reference backend and on tfjs-wasm: the geometric
 * reference α·lp_prev + (1 − α)·lp_base over a batch, the arithmetic mixture of 4 iterates by
 * logsumexp, and the Monte Carlo log-partition. Run: `deno bench -A bench/mixture.bench.ts`.
 *
 * @module
 */
import { arithmeticReference, geometricLogPartition, geometricReference } from "../core/mixture.ts";
import { benchOps, floats, settle } from "./ops.ts";

const batch = 1024, iterates = 4, samples = 16;

for (const { name, ops } of benchOps) {
  const prev = ops.fromArray(floats(batch, 1, -200, -50), [batch]);
  const base = ops.fromArray(floats(batch, 2, -200, -50), [batch]);
  const window = ops.fromArray(floats(iterates * batch, 3, -200, -50), [iterates, batch]);
  const prevSamples = ops.fromArray(floats(samples * batch, 4, -200, -50), [samples, batch]);
  const baseSamples = ops.fromArray(floats(samples * batch, 5, -200, -50), [samples, batch]);
  Deno.bench({
    name: `geometricReference α=0.5 [${batch}] ${name}`,
    group: "geometric",
    baseline: name === "reference",
    fn: () => settle(ops, () => geometricReference(ops)(0.5, prev, base)),
  });
  Deno.bench({
    name: `arithmeticReference ${iterates} iterates [${batch}] ${name}`,
    group: "arithmetic",
    baseline: name === "reference",
    fn: () => settle(ops, () => arithmeticReference(ops)(window)),
  });
  Deno.bench({
    name: `geometricLogPartition K=${samples} [${batch}] ${name}`,
    group: "log-partition",
    baseline: name === "reference",
    fn: () => settle(ops, () => geometricLogPartition(ops)(0.5, prevSamples, baseSamples)),
  });
}
