/**
 * Makes the embedded base model in assets/embedded/: a small GPT-2-style decoder with a byte-level
 * vocabulary, trained by supervised fine-tuning (cross-entropy on the completion tokens, EOS
 * included) on the synthetic task's train split, seeded, on the wasm backend — and stopped early on
 * purpose, so that self-play has room to improve it.
 *
 * Run from the repository root:
 *
 * ```sh
 * npx tsx scripts/train-embedded.ts                      # remakes assets/embedded/ (a few minutes)
 * npx tsx scripts/train-embedded.ts --out /tmp/emb --steps 50
 * npx tsx scripts/train-embedded.ts --until-converged   # remakes assets/embedded-sft/ (SFT to convergence)
 * ```
 *
 * With `--until-converged` the same run (same seed, warm-up and learning rate) goes on until the
 * NLL on the task's test split (the early-stopping split; the reported held-out NLL uses the
 * separate held-out split) has not improved by more than `--min-delta` for `--patience`
 * evaluations made every `--val-every` steps; `--steps` is then a cap. The weights of the best
 * evaluation are the ones written, and eval.json and the README carry the whole curve.
 *
 * What it writes: config.json and model.safetensors (F32, the names and shapes of transformers'
 * GPT2LMHeadModel), tokenizer_config.json (the byte-level tokenizer marker),
 * eval.json (the evaluation below) and README.md (size, recipe, numbers, the command).
 *
 * The same seed on the same backend gives the same weights: the initialization (tfjs's seeded
 * normal), the data (core/rng) and the batch order (core/rng) are all seeded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { forkRng, rngFromSeed, shuffleArray } from "../core/rng.ts";
import { type CommandSpec, parseOrExit } from "../cli/args.ts";
import { startProgress } from "../cli/progress.ts";
import { makeSyntheticTask } from "../data/synthetic.ts";
import { evaluateSynthetic } from "../eval/evaluate-synthetic.ts";
import { encodePair, heldOutNll } from "../eval/evaluate.ts";
import { makeConfig } from "../models/config.ts";
import { saveHfModel } from "../models/hf-load.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { createTransformer } from "../models/transformer.ts";
import { parameterCount } from "../models/weights.ts";
import { AdamW } from "../train/optim.ts";
import { observeEarlyStopping, startEarlyStopping } from "../train/early-stopping.ts";
import { learningRateAt, makeSchedule } from "../train/schedule.ts";
import { embeddedTaskOptions } from "../cli/default-run.ts";
import { convergedReadme, fmt, readme } from "./embedded-readme.ts";

const spec = {
  name: "npx tsx scripts/train-embedded.ts",
  summary: "train the embedded base model (SFT on the synthetic task, deliberately short)",
  flags: {
    out: { type: "string", default: "", valueName: "dir", description: "output folder (default assets/embedded, or assets/embedded-sft with --until-converged)" },
    steps: { type: "number", default: 300, description: "optimizer steps (the under-training knob; with --until-converged a cap)" },
    batchSize: { type: "number", default: 32, description: "examples per step" },
    lr: { type: "number", default: 3e-3, description: "peak learning rate (after a linear warm-up over 10 % of the steps)" },
    schedule: { type: "string", default: "constant", valueName: "kind", description: "after the warm-up: constant, linear or cosine decay" },
    seed: { type: "number", default: 7, description: "seed of the initialization and the batch order" },
    backend: { type: "string", default: "wasm", description: "tfjs backend" },
    hidden: { type: "number", default: 64, description: "width d" },
    layers: { type: "number", default: 2, description: "transformer blocks" },
    heads: { type: "number", default: 4, description: "attention heads" },
    context: { type: "number", default: 64, description: "positions (context length)" },
    evalEvery: { type: "number", default: 0, description: "also evaluate every this many steps (0: only at the end)" },
    untilConverged: { type: "boolean", description: "train until the early-stopping NLL stops improving (--steps is then a cap); default --out assets/embedded-sft" },
    valEvery: { type: "number", default: 100, description: "with --until-converged: steps between early-stopping evaluations" },
    patience: { type: "number", default: 5, description: "with --until-converged: evaluations without improvement that end training" },
    minDelta: { type: "number", default: 1e-3, description: "with --until-converged: smallest NLL decrease (nats per token) that counts as an improvement" },
    lrDrops: { type: "number", default: 0, description: "with --until-converged: when the patience runs out, go back to the best weights, divide the learning rate by 10 and go on, this many times (reduce-on-plateau)" },
    maxMinutes: { type: "number", default: 0, description: "with --until-converged: also stop at the first evaluation after this many minutes (0: no limit); the README then says it is not converged" },
    warmupSteps: { type: "number", default: 0, description: "linear warm-up steps (0: 10 % of --steps, or 30 with --until-converged)" },
  },
  positionals: [],
} as const satisfies CommandSpec;

type Encoded = ReturnType<typeof encodePair>;

/** One AdamW step of cross-entropy on the batch's completion tokens; returns the loss (nats per token). */
const sftStep = async (policy: TransformerPolicy, optimizer: AdamW, batch: readonly Encoded[], lr: number): Promise<number> => {
  const variables = policy.trainableVariables();
  const { value, grads } = tf.variableGrads(() => {
    const s = policy.sequenceLogProbsTensor(batch.map((b) => b.promptIds), batch.map((b) => b.completionIds), {
      training: true,
    });
    return tf.div(tf.neg(tf.sum(s.logProbs)), tf.sum(s.tokenCounts)) as tf.Scalar;
  }, variables);
  const norm = optimizer.step(variables.map((v) => grads[v.name]), lr);
  const [loss] = await value.data();
  tf.dispose([value, norm, ...Object.values(grads)]);
  return loss;
};

const main = async (): Promise<number> => {
  const args = parseOrExit(spec, process.argv.slice(2));
  if (typeof args === "number") return args;
  const f = { ...args.flags, out: args.flags.out !== "" ? args.flags.out : args.flags.untilConverged ? "assets/embedded-sft" : "assets/embedded" };
  const started = Date.now();
  const backend = await loadBackend(f.backend as BackendRequest);
  console.error(`backend: ${backend.name}`);
  const tokenizer = new ByteTokenizer();
  const config = makeConfig({
    family: "gpt2",
    vocabSize: tokenizer.vocabSize,
    hiddenSize: f.hidden,
    numLayers: f.layers,
    numHeads: f.heads,
    maxPositions: f.context,
    bosTokenId: tokenizer.bosId ?? null,
    eosTokenIds: tokenizer.eosId === undefined ? [] : [tokenizer.eosId],
    padTokenId: tokenizer.padId ?? null,
  });
  const model = createTransformer(config, { seed: f.seed });
  const policy = new TransformerPolicy(model);
  const task = makeSyntheticTask(embeddedTaskOptions);
  const encoded = task.train.map((ex) => encodePair(tokenizer, ex));
  const variables = policy.trainableVariables();
  const optimizer = new AdamW(variables, { weightDecay: 0, maxGradNorm: 1 });
  const warmup = f.warmupSteps > 0 ? f.warmupSteps : f.untilConverged ? 30 : Math.ceil(0.1 * f.steps);
  // ⌈ratio·total⌉ must give back `warmup` exactly, whatever the rounding of ratio·total.
  const schedule = makeSchedule({ kind: f.schedule as "constant" | "linear" | "cosine", peakLr: f.lr, totalSteps: f.steps, warmupRatio: (warmup - 0.5) / f.steps });
  const root = rngFromSeed(f.seed);
  const validation = task.test; // early stopping only; the reported held-out NLL uses task.heldOut
  let stopping = startEarlyStopping({ patience: f.patience, minDelta: f.minDelta });
  let best: tf.Tensor[] = [];
  let order: number[] = [];
  let epoch = 0;
  let finalLoss = NaN;
  let stepsRun = 0;
  let lrScale = 1;
  const drops: number[] = []; // steps at which the learning rate was divided by 10
  const progress = startProgress("sft", f.steps);
  for (let step = 0; step < f.steps; step++) {
    if (order.length < f.batchSize) {
      const [shuffled] = shuffleArray(forkRng(root, `epoch-${epoch++}`), encoded.map((_, i) => i));
      order = order.concat(shuffled);
    }
    const batch = order.splice(0, f.batchSize).map((i) => encoded[i]);
    finalLoss = await sftStep(policy, optimizer, batch, lrScale * learningRateAt(schedule, step));
    stepsRun = step + 1;
    progress.tick(1, { loss: finalLoss });
    if (f.untilConverged && stepsRun % f.valEvery === 0) {
      const nll = (await heldOutNll({ policy, tokenizer }, validation)).nllPerToken;
      stopping = observeEarlyStopping(stopping, stepsRun, nll);
      console.error(`step ${stepsRun}: train loss ${fmt(finalLoss, 4)}, early-stopping NLL ${fmt(nll, 4)}` +
        `${stopping.improved ? " (best)" : ` (best ${fmt(stopping.best, 4)} at ${stopping.bestStep}, ${stopping.sinceBest}/${f.patience})`}`);
      if (stopping.improved) {
        tf.dispose(best);
        best = variables.map((v) => tf.clone(v));
      }
      if (stopping.stop && drops.length < f.lrDrops) {
        variables.forEach((v, i) => v.assign(best[i]));
        lrScale /= 10;
        drops.push(stepsRun);
        stopping = { ...stopping, sinceBest: 0, stop: false };
        console.error(`step ${stepsRun}: plateau; back to the weights of step ${stopping.bestStep}, learning rate × ${lrScale}`);
      }
      if (stopping.stop) break;
      if (f.maxMinutes > 0 && Date.now() - started > f.maxMinutes * 60_000) {
        console.error(`the time limit of ${f.maxMinutes} minutes ended training before the patience ran out`);
        break;
      }
    }
    if (f.evalEvery > 0 && (step + 1) % f.evalEvery === 0 && step + 1 < f.steps) {
      const e = await evaluateSynthetic({ policy, tokenizer }, { heldOut: task.heldOut });
      console.error(`step ${step + 1}: exact match ${fmt(e.exactMatch)}, KL ${fmt(e.kl)}, mass ${fmt(e.massOnSupport)}, ` +
        `NLL ${fmt(e.heldOutNll)}; EM by family ${JSON.stringify(e.exactMatchByFamily)}; KL by family ${JSON.stringify(e.klByFamily)}`);
    }
  }
  if (f.untilConverged) {
    if (best.length === 0) throw new Error("--until-converged: no early-stopping evaluation ran (--val-every larger than --steps?)");
    variables.forEach((v, i) => v.assign(best[i]));
    tf.dispose(best);
    if (!stopping.stop) console.error(`warning: ${stepsRun} steps ran and the patience did not run out: not converged by the rule`);
  }
  progress.stop();
  optimizer.dispose();
  model.setTrainable(false);
  const evaluation = await evaluateSynthetic({ policy, tokenizer }, { heldOut: task.heldOut });
  await mkdir(f.out, { recursive: true });
  await saveHfModel(model, f.out);
  await writeFile(join(f.out, "tokenizer_config.json"), JSON.stringify(tokenizer.toConfig(), null, 2) + "\n");
  const bytes = (await stat(join(f.out, "model.safetensors"))).size;
  const seconds = (Date.now() - started) / 1000;
  const defaults = Object.entries(args.flags).filter(([k, v]) => v !== (spec.flags as Record<string, { default?: unknown }>)[k]?.default);
  const command = ["npx tsx scripts/train-embedded.ts", ...defaults.map(([k, v]) => `--${k.replace(/([A-Z])/g, "-$1").toLowerCase()}${v === true ? "" : ` ${v}`}`)].join(" ");
  await writeFile(join(f.out, "eval.json"), JSON.stringify({
    command,
    parameters: parameterCount(config),
    safetensorsBytes: bytes,
    finalTrainingLoss: finalLoss,
    ...(f.untilConverged
      ? {
        earlyStopping: {
          split: "test",
          valEvery: f.valEvery,
          patience: f.patience,
          minDelta: f.minDelta,
          stepsRun,
          lrDrops: drops,
          bestStep: stopping.bestStep,
          bestNll: stopping.best,
          converged: stopping.stop,
          curve: stopping.curve,
        },
      }
      : {}),
    seconds,
    backend: backend.name,
    ...evaluation,
  }, null, 2) + "\n");
  await writeFile(join(f.out, "README.md"), (f.untilConverged ? convergedReadme : readme)({
    stopping,
    stepsRun,
    drops,
    args: f,
    command,
    parameters: parameterCount(config),
    bytes,
    evaluation,
    finalLoss,
    seconds,
  }));
  console.log(
    `wrote ${f.out}: ${parameterCount(config)} parameters, ${bytes} bytes; exact match ${fmt(evaluation.exactMatch)}, ` +
      `KL ${fmt(evaluation.kl)}, held-out NLL ${fmt(evaluation.heldOutNll)} (${Math.round(seconds)} s)`,
  );
  for (const s of evaluation.samples) console.log(`  ${JSON.stringify(s.prompt)} -> ${JSON.stringify(s.generated)} ${s.correct ? "ok" : "wrong"}`);
  model.dispose();
  return 0;
};

process.exitCode = await main();
