/**
 * How close each sampler of the α-SPIN reference m(y|x) ∝ π_prev^α π_base^(1−α) gets at equal
 * compute, on an enumerable model (docs/samplers.md, issue #16): a tiny random transformer over
 * five tokens (three letters, EOS, BOS), π_base its weights and π_prev the same with a random LoRA
 * adapter, answers of at most three tokens (85 of them, all enumerated), three prompts.
 *
 * - token-level mixing: exact distribution; costs 2 forwards per answer token (both models);
 * - importance resampling with K candidates: distribution estimated from `--draws` kept answers;
 *   costs K token-level candidates per kept answer;
 * - the GFlowNet sampler (a LoRA adapter fitted by sub-trajectory balance, started at π_prev's
 *   adapter, or at π_base with `--init base`): exact distribution after each checkpoint's steps; costs its training (train/gflownet.ts counts the forward tokens)
 *   plus one forward per answer token.
 *
 * Compute is counted in model-token forward passes for `--answers` kept answers (one iteration's
 * losers); resampling gets the K that spends the same as the GFlowNet at each checkpoint. The
 * table gives mean ± 95 % interval (Student t) over seeds of TV(sampler, m) averaged over prompts.
 *
 * ```sh
 * npx tsx scripts/gflownet-tv.ts                      # the table of docs/samplers.md
 * npx tsx scripts/gflownet-tv.ts --seeds 1 --steps 50 # a smoke run
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { parseOrExit } from "../cli/args.ts";
import { forkRng, rngFromSeed } from "../core/rng.ts";
import { meanInterval95 } from "../eval/metrics.ts";
import {
  allAnswers,
  mixtureDistribution,
  policyDistribution,
  resampledDistribution,
  tokenMixturePolicy,
} from "../eval/sampler-tv.ts";
import { totalVariation } from "../eval/metrics.ts";
import { makeConfig } from "../models/config.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { fitGFlowNetSampler } from "../train/gflownet.ts";

const spec = {
  name: "npx tsx scripts/gflownet-tv.ts",
  summary: "TV to the geometric mixture of token-level mixing, resampling and a GFlowNet sampler at equal compute",
  flags: {
    seeds: { type: "number", default: 3, description: "seeds (1, 2, …): models, adapters, sampling" },
    alpha: { type: "number", default: 0.5, description: "weight α of π_prev" },
    steps: { type: "number", default: 400, description: "GFlowNet optimizer steps (checkpoints at 1/8, 1/4, 1/2 and all)" },
    answers: { type: "number", default: 1000, description: "kept answers the compute is counted for" },
    draws: { type: "number", default: 20000, description: "draws estimating the resampled distribution" },
    init: { type: "string", default: "prev", valueName: "prev|base", description: "the sampler's adapter starts as π_prev's (prev) or fresh, i.e. π_base (base)" },
    backend: { type: "string", default: "cpu", description: "tfjs backend" },
  },
  positionals: [],
} as const;

const L = 3, EOS = 3, BOS = 4;
const answers = allAnswers([0, 1, 2, BOS], L); // every token but EOS may appear in an answer
const prompts = [[BOS], [BOS, 0], [BOS, 1]];

interface Row {
  steps: number;
  cost: number;
  k: number;
  gflownet: number;
  resampled: number;
}

/** One seed: the token-level TV and, per checkpoint, the GFlowNet's and equal-cost resampling's. */
const runSeed = async (seed: number, alpha: number, steps: number, kept: number, draws: number, init: string): Promise<{ token: number; rows: Row[] }> => {
  const config = makeConfig({ family: "gpt2", vocabSize: 5, hiddenSize: 16, numLayers: 1, numHeads: 2, maxPositions: 16, eosTokenIds: [EOS], bosTokenId: BOS, padTokenId: EOS });
  const model = createTransformer(config, { seed, initStd: 0.5 });
  const prevAdapter = createLoraAdapter(model, { r: 4, targetModules: "all-linear", seed: seed + 100 });
  prevAdapter.variables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.8, "float32", seed * 1000 + i)));
  const prev = new TransformerPolicy(model, prevAdapter), base = new TransformerPolicy(model, null);
  const samplerAdapter = createLoraAdapter(model, { r: 4, targetModules: "all-linear", seed: seed + 200 });
  if (init === "prev") samplerAdapter.variables().forEach((v, i) => v.assign(prevAdapter.variables()[i]));
  const sampler = new TransformerPolicy(model, samplerAdapter);
  const targets = prompts.map((p) => mixtureDistribution(prev, base, alpha, p, answers, EOS, L));
  const tokenLevel = prompts.map((p) => policyDistribution(tokenMixturePolicy(prev, base, alpha), p, answers, EOS, L));
  const token = targets.reduce((s, m, i) => s + totalVariation(m, tokenLevel[i]), 0) / prompts.length;
  const perAnswer = prompts.reduce((s, p) => s + p.length + L, 0) / prompts.length; // one forward of one answer
  const checkpoints = new Set([steps / 8, steps / 4, steps / 2, steps].map(Math.round));
  const rows: Row[] = [];
  let rng = forkRng(rngFromSeed(seed), "resample");
  await fitGFlowNetSampler({
    sampler, prev, base, alpha, prompts, maxNewTokens: L, steps, batchSize: 16, lr: 1e-2, seed,
    onStep: (step, _loss, forwardTokens) => {
      if (!checkpoints.has(step)) return;
      const fitted = prompts.map((p) => policyDistribution(sampler, p, answers, EOS, L));
      const cost = forwardTokens + kept * perAnswer;
      const k = Math.max(1, Math.floor(cost / (kept * 2 * perAnswer)));
      let resampled = 0;
      targets.forEach((m, i) => {
        const r = resampledDistribution(rng, m, tokenLevel[i], k, draws);
        rng = r.rng;
        resampled += totalVariation(m, r.estimate) / prompts.length;
      });
      const gflownet = targets.reduce((s, m, i) => s + totalVariation(m, fitted[i]), 0) / prompts.length;
      rows.push({ steps: step, cost, k, gflownet, resampled });
    },
  });
  model.dispose();
  return { token, rows };
};

const main = async (): Promise<number> => {
  const parsed = parseOrExit(spec, process.argv.slice(2));
  if (typeof parsed === "number") return parsed;
  const f = parsed.flags;
  if (f.init !== "prev" && f.init !== "base") {
    console.error(`--init must be prev or base (got ${f.init})`);
    return 2;
  }
  await loadBackend(f.backend as BackendRequest);
  const results: { token: number; rows: Row[] }[] = [];
  for (let seed = 1; seed <= f.seeds; seed++) {
    results.push(await runSeed(seed, f.alpha, f.steps, f.answers, f.draws, f.init));
    process.stderr.write(`seed ${seed} done\n`);
  }
  const fmt = (xs: number[]) => {
    const s = meanInterval95(xs);
    return Number.isNaN(s.halfWidth) ? s.mean.toFixed(3) : `${s.mean.toFixed(3)} ± ${s.halfWidth.toFixed(3)}`;
  };
  const perAnswer = prompts.reduce((s, p) => s + p.length + L, 0) / prompts.length;
  console.log(`α = ${f.alpha}, sampler initialized at π_${f.init}, ${f.seeds} seed(s), ${answers.length} answers per prompt, compute for ${f.answers} kept answers`);
  console.log(`token-level mixing: cost ${(f.answers * 2 * perAnswer).toExponential(2)} forward tokens, TV ${fmt(results.map((r) => r.token))}\n`);
  console.log("| GFlowNet steps | compute (forward tokens) | TV GFlowNet | resampling K at equal compute | TV resampling |");
  console.log("|---|---|---|---|---|");
  results[0].rows.forEach((row, j) => {
    const col = (key: "gflownet" | "resampled") => fmt(results.map((r) => r.rows[j][key]));
    console.log(`| ${row.steps} | ${row.cost.toExponential(2)} | ${col("gflownet")} | ${row.k} | ${col("resampled")} |`);
  });
  return 0;
};

process.exitCode = await main();
