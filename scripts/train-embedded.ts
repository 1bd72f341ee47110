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
 * ```
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
import { evaluateSynthetic, type SyntheticEvaluation } from "../eval/evaluate-synthetic.ts";
import { encodePair } from "../eval/evaluate.ts";
import { makeConfig } from "../models/config.ts";
import { saveHfModel } from "../models/hf-load.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { createTransformer } from "../models/transformer.ts";
import { parameterCount } from "../models/weights.ts";
import { AdamW } from "../train/optim.ts";
import { learningRateAt, makeSchedule } from "../train/schedule.ts";
import { embeddedTaskOptions } from "../cli/default-run.ts";

const spec = {
  name: "npx tsx scripts/train-embedded.ts",
  summary: "train the embedded base model (SFT on the synthetic task, deliberately short)",
  flags: {
    out: { type: "string", default: "assets/embedded", valueName: "dir", description: "output folder" },
    steps: { type: "number", default: 300, description: "optimizer steps (the under-training knob)" },
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
  },
  positionals: [],
} as const satisfies CommandSpec;

const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

const readme = (options: {
  args: Record<string, string | number | boolean | undefined>;
  command: string;
  parameters: number;
  bytes: number;
  evaluation: SyntheticEvaluation;
  finalLoss: number;
  seconds: number;
}): string => {
  const e = options.evaluation;
  const fam = (r: Partial<Record<string, number>>): string =>
    ["add", "rev", "up", "cap"].map((f) => `${f} ${fmt(r[f] ?? NaN)}`).join(", ");
  return `# The embedded base model

A small decoder language model shipped with alpha-spin so that \`npm run spin\` runs self-play
without downloading anything. It is deliberately under-trained on the synthetic task
(data/synthetic.ts), whose answer distribution p_data(y | x) is known exactly, so that what
self-play does to it can be measured exactly.

## What it is

- Architecture: GPT-2 family (\`model_type: "gpt2"\`), ${options.args.layers} blocks, width ${options.args.hidden},
  ${options.args.heads} heads, ${options.args.context} positions, tied input/output embeddings.
- Vocabulary: byte-level, 259 ids — the 256 UTF-8 bytes, then \`<|eos|>\` (256), \`<|pad|>\` (257) and
  \`<|bos|>\` (258). \`tokenizer_config.json\` marks it (\`"tokenizer_class": "AlphaSpinByteTokenizer"\`);
  \`loadTokenizer\` (models/hf-tokenizer.ts) reads it back as a \`ByteTokenizer\`.
- Size: ${options.parameters} parameters; \`model.safetensors\` is ${options.bytes} bytes (float32).
- Files: \`config.json\` and \`model.safetensors\` in Hugging Face layout (the parameter names and
  shapes of \`transformers\`' \`GPT2LMHeadModel\`), \`tokenizer_config.json\`, \`eval.json\` (the numbers
  below, as JSON), this README.

## How it was made

Supervised fine-tuning from a seeded random initialization (normal, std 0.02): cross-entropy on the
completion tokens (EOS included) of the synthetic task's train split (${embeddedTaskOptions.nTrain} examples,
task seed ${embeddedTaskOptions.seed}); a sequence is \`<|bos|>\` + prompt, then completion + \`<|eos|>\`, the
convention self-play and evaluation use. AdamW (β1 0.9, β2 0.999, no weight decay, global-norm
clipping at 1), ${options.args.steps} steps of ${options.args.batchSize} examples, learning rate ${options.args.lr} after a
10 % linear warm-up (${options.args.schedule === "constant" ? "then constant" : `then ${options.args.schedule} decay`}), seed ${options.args.seed},
backend \`${options.args.backend}\`. The run was stopped there on purpose, while the loss was still falling
(final training loss ${fmt(options.finalLoss)} nats per token): the model knows the format and most
contents, but the sums of \`add\` only partly, and it puts a good part of its probability on garbled
or mis-phrased answers.
Training took ${Math.round(options.seconds)} s on a 2-core machine.

The command that remakes it (from the repository root; the same seed on the same backend gives the
same weights):

\`\`\`sh
${options.command}
\`\`\`

## How good it is

Evaluated over all ${e.prompts} prompts of the task, weighted by the prompt distribution (see
eval/evaluate-synthetic.ts):

| metric | value |
| --- | --- |
| exact-match accuracy (greedy) | ${fmt(e.exactMatch)} |
| KL(p_data ‖ π) (nats, exact over the support) | ${fmt(e.kl)} |
| model mass on the support of p_data | ${fmt(e.massOnSupport)} |
| held-out NLL per token (nats) | ${fmt(e.heldOutNll)} |
| held-out perplexity | ${fmt(e.perplexity)} |

Per family — exact match: ${fam(e.exactMatchByFamily)}; KL: ${fam(e.klByFamily)}.
`;
};

const main = async (): Promise<number> => {
  const args = parseOrExit(spec, process.argv.slice(2));
  if (typeof args === "number") return args;
  const f = args.flags;
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
  const schedule = makeSchedule({ kind: f.schedule as "constant" | "linear" | "cosine", peakLr: f.lr, totalSteps: f.steps, warmupRatio: 0.1 });
  const root = rngFromSeed(f.seed);
  let order: number[] = [];
  let epoch = 0;
  let finalLoss = NaN;
  const progress = startProgress("sft", f.steps);
  for (let step = 0; step < f.steps; step++) {
    if (order.length < f.batchSize) {
      const [shuffled] = shuffleArray(forkRng(root, `epoch-${epoch++}`), encoded.map((_, i) => i));
      order = order.concat(shuffled);
    }
    const batch = order.splice(0, f.batchSize).map((i) => encoded[i]);
    const { value, grads } = tf.variableGrads(() => {
      const s = policy.sequenceLogProbsTensor(batch.map((b) => b.promptIds), batch.map((b) => b.completionIds), {
        training: true,
      });
      return tf.div(tf.neg(tf.sum(s.logProbs)), tf.sum(s.tokenCounts)) as tf.Scalar;
    }, variables);
    const norm = optimizer.step(variables.map((v) => grads[v.name]), learningRateAt(schedule, step));
    const [loss] = await value.data();
    tf.dispose([value, norm, ...Object.values(grads)]);
    finalLoss = loss;
    progress.tick(1, { loss });
    if (f.evalEvery > 0 && (step + 1) % f.evalEvery === 0 && step + 1 < f.steps) {
      const e = await evaluateSynthetic({ policy, tokenizer }, { heldOut: task.heldOut });
      console.error(`step ${step + 1}: exact match ${fmt(e.exactMatch)}, KL ${fmt(e.kl)}, mass ${fmt(e.massOnSupport)}, ` +
        `NLL ${fmt(e.heldOutNll)}; EM by family ${JSON.stringify(e.exactMatchByFamily)}; KL by family ${JSON.stringify(e.klByFamily)}`);
    }
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
  const defaults = Object.entries(f).filter(([k, v]) => v !== (spec.flags as Record<string, { default?: unknown }>)[k]?.default);
  const command = ["npx tsx scripts/train-embedded.ts", ...defaults.map(([k, v]) => `--${k.replace(/([A-Z])/g, "-$1").toLowerCase()} ${v}`)].join(" ");
  await writeFile(join(f.out, "eval.json"), JSON.stringify({
    command,
    parameters: parameterCount(config),
    safetensorsBytes: bytes,
    finalTrainingLoss: finalLoss,
    seconds,
    backend: backend.name,
    ...evaluation,
  }, null, 2) + "\n");
  await writeFile(join(f.out, "README.md"), readme({
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
