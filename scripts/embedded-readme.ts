/**
 * The README.md text that scripts/train-embedded.ts writes next to the weights: one for the
 * deliberately short run (assets/embedded/), one for the run trained until the early-stopping NLL
 * stopped improving (assets/embedded-sft/).
 *
 * @module
 */
import { embeddedTaskOptions } from "../cli/default-run.ts";
import type { SyntheticEvaluation } from "../eval/evaluate-synthetic.ts";
import type { EarlyStoppingState } from "../train/early-stopping.ts";

/** What both READMEs are made from. */
export interface ReadmeInput {
  args: Record<string, string | number | boolean | undefined>;
  command: string;
  parameters: number;
  bytes: number;
  evaluation: SyntheticEvaluation;
  finalLoss: number;
  seconds: number;
  stopping: EarlyStoppingState;
  stepsRun: number;
  /** Steps at which the learning rate was divided by 10 (reduce-on-plateau). */
  drops?: readonly number[];
}

export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** The "How good it is" section: the model's evaluation on the whole task, overall and per family. */
const qualitySection = (e: ReadmeInput["evaluation"]): string => {
  const fam = (r: Partial<Record<string, number>>): string =>
    ["add", "rev", "up", "cap"].map((f) => `${f} ${fmt(r[f] ?? NaN)}`).join(", ");
  return `## How good it is

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

/** The README of assets/embedded/ (the deliberately short run). */
export const readme = (options: ReadmeInput): string => {
  const e = options.evaluation;
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

${qualitySection(e)}`;
};


/** The README of assets/embedded-sft/ (SFT until the early-stopping NLL stopped improving). */
export const convergedReadme = (options: ReadmeInput): string => {
  const e = options.evaluation;
  const s = options.stopping;
  const curve = s.curve.map((p) => `| ${p.step} | ${fmt(p.value, 4)} |${p.step === s.bestStep ? " best |" : " |"}`).join("\n");
  return `# The embedded SFT-converged base model

The same small decoder as \`assets/embedded/\` (GPT-2 family, ${options.args.layers} blocks, width ${options.args.hidden},
${options.args.heads} heads, ${options.args.context} positions, byte-level vocabulary of 259 ids, ${options.parameters} parameters,
\`model.safetensors\` ${options.bytes} bytes, float32), but trained by supervised fine-tuning until its
held-out NLL no longer improved. It is the starting point for experiments about what self-play adds
once SFT on the data has saturated (docs/results.md). A run config loads it with
\`model: "embedded-sft"\`.

## How it was made

The same recipe and seed as \`assets/embedded/\` — cross-entropy on the completion tokens (EOS
included) of the synthetic task's train split (${embeddedTaskOptions.nTrain} examples, task seed
${embeddedTaskOptions.seed}), AdamW (β1 0.9, β2 0.999, no weight decay, global-norm clipping at 1), batches
of ${options.args.batchSize}, learning rate ${options.args.lr} after a linear warm-up (${options.args.schedule === "constant" ? "then constant" : `then ${options.args.schedule} decay`}), seed
${options.args.seed}, backend \`${options.args.backend}\` — continued past the 300 steps of the short model. Every
${options.args.valEvery} steps the NLL per completion token on the task's test split (400 samples of p_data; the
early-stopping split, separate from the held-out split reported below) was measured; training
stopped when it had not fallen by more than ${options.args.minDelta} nats below its best for ${options.args.patience}
evaluations in a row${(options.drops ?? []).length > 0 ? `; the first ${options.drops?.length} time${options.drops?.length === 1 ? "" : "s"} this happened (at step${options.drops?.length === 1 ? "" : "s"} ${options.drops?.join(", ")}) training went back to the best weights with the learning rate divided by 10 (reduce-on-plateau) instead of stopping` : ""}, and the weights of the best evaluation were kept.
${s.stop ? `It stopped after ${options.stepsRun} steps; the best evaluation was at step ${s.bestStep}` : `Training ended after ${options.stepsRun} steps (the cap of ${options.args.steps} steps or of ${options.args.maxMinutes} minutes) before the patience ran out (best at step ${s.bestStep}): it is not converged by this rule`}.
Final training loss ${fmt(options.finalLoss)} nats per token; training took ${Math.round(options.seconds)} s on a shared 2-core machine.

\`\`\`sh
${options.command}
\`\`\`

## The early-stopping curve

| step | NLL per token (test split) | |
| --- | --- | --- |
${curve}

${qualitySection(e)}`;
};
