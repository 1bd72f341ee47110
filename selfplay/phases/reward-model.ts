/**
 * The oracle of an SPPO iteration: the run's `"exact"` or user-module oracle as loaded by setup.ts,
 * or, for `oracle: "bt"`, a Bradley–Terry reward model the run trains once, at iteration 1:
 *
 * - pairs: every SFT answer y_w against each of the K samples of its prompt from π_base (iteration
 *   1's samples), y_w ≻ y_k: the assumption SPIN makes, that the data beats the base model;
 * - model: a LoRA adapter (or full copy, as `finetune` says) on the policy's architecture with the
 *   implicit reward r(y|x) = β_RM·(lp_RM(y|x) − lp_base(y|x)), trained with `bt_reward`
 *   (−log σ(r_w − r_l)) for `sppo.bt.epochs` at `sppo.bt.lr`, the run's other training settings;
 * - preference: P(a ≻ b | x) = σ(r(a|x) − r(b|x)), the rewards of an iteration's samples computed
 *   once, at the first question.
 *
 * It is kept in `iter-1/reward-model/` (parameters, reference cache, `reward-model.json` last), so a
 * resumed run reuses it; an interrupted training resumes from its epoch checkpoints.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * import type { Samples } from "./samples.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const samples: Samples;
 * const { oracle, name } = await sppoOracle(context, start, samples);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { forkRng, nextUint32 } from "../../core/rng.ts";
import { btRewardLoss } from "../../losses/bt-reward.ts";
import type { MetricsRow } from "../../train/checkpoint.ts";
import { freshLoraSnapshot, modelSnapshot, saveIterate } from "../../train/params.ts";
import type { TrainingPair } from "../../train/step.ts";
import { trainIteration } from "../../train/train.ts";
import type { OracleAnswer, PreferenceOracle } from "../oracle.ts";
import { computeReferences } from "../reference.ts";
import { jsonFile, resumable } from "./resumable.ts";
import type { Samples } from "./samples.ts";
import type { IterationStart, RunContext } from "./state.ts";

/** The oracle of an iteration, its name in messages, and the files it adds to the iteration folder. */
export interface SppoOracle {
  readonly oracle: PreferenceOracle;
  readonly name: string;
  readonly files: readonly string[];
}

/** What `reward-model.json` records (written last: its presence means the model is complete). */
interface RewardModelRecord {
  readonly pairs: number;
  readonly beta: number;
  readonly last: MetricsRow | null;
}

const rewardModelDir = (ctx: RunContext): string => join(ctx.store.iterDir(1), "reward-model");
const paramsDir = (ctx: RunContext): string =>
  join(rewardModelDir(ctx), ctx.iterates.ready.spec.finetune === "lora" ? "adapter" : "model");

/** Train the reward model on (SFT answer ≻ π_base sample) pairs; see the module doc. */
const trainRewardModel = async (ctx: RunContext, it: IterationStart, samples: Samples): Promise<RewardModelRecord> => {
  const ready = ctx.iterates.ready, { config, examples, base, spec, fingerprints } = ready;
  const toScore = examples.flatMap((e, i) =>
    samples.byExample[i].map((s) => ({ exampleIndex: e.index, promptIds: e.promptIds, chosenIds: e.chosenIds, rejectedIds: s.ids }))
  );
  const baseModel = { id: fingerprints.model, load: () => ctx.iterates.load({ index: 0, id: "base" }) };
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "reward-model", total: toScore.length, note: "the Bradley–Terry reward model" });
  const reference = await computeReferences({
    pairs: toScore,
    prev: [baseModel],
    base: baseModel,
    batchSize: config.generation.batchSize,
    cacheDir: join(rewardModelDir(ctx), "reference"),
    workDir: join(it.work, "reward-model", "reference"),
    readJson: (path) => ctx.store.readJson(path),
    writeJson: (path, value) => ctx.store.writeCompactJson(path, value),
    signal: ctx.signal,
  });
  const pairs: TrainingPair[] = toScore.map((p, i) => ({
    promptIds: p.promptIds,
    chosenIds: p.chosenIds,
    rejectedIds: p.rejectedIds,
    lpRefChosen: reference.rows[i].lpBaseChosen,
    lpRefRejected: reference.rows[i].lpBaseRejected,
  }));
  const seed = nextUint32(forkRng(ctx.root, "reward-model-lora"))[0] >>> 1;
  const init = spec.finetune === "lora" ? await freshLoraSnapshot(base, spec.lora, seed) : await modelSnapshot(base);
  const { bt } = config.sppo;
  const trained = await trainIteration({
    iteration: it.t,
    pairs,
    base,
    spec,
    init,
    beta: bt.beta,
    lr: bt.lr,
    epochs: bt.epochs,
    loss: btRewardLoss,
    lossParams: {},
    training: config.training,
    ema: null,
    rng: forkRng(ctx.root, "reward-model-train"),
    checkpointDir: join(it.work, "reward-model", "train"),
    onStep: (row, total) => ctx.emit({ type: "progress", iteration: it.t, phase: "reward-model", done: row.step, total, payload: { loss: row.loss } }),
    signal: ctx.signal,
    workers: config.workers,
    workerImports: ctx.workerImports ?? [],
  });
  await saveIterate(paramsDir(ctx), base, spec, trained.weights, { baseModel: ready.modelDir ?? config.model, tokenizerDir: ready.tokenizerDir });
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "reward-model" });
  return { pairs: pairs.length, beta: bt.beta, last: trained.metrics[trained.metrics.length - 1] ?? null };
};

const answerKey = (exampleId: string, a: OracleAnswer): string => `${exampleId}\u0000${a.finished}\u0000${a.text}`;

/** r(y|x) = β·(lp_RM(y|x) − lp_base(y|x)) of every sample of the iteration, by example id and answer. */
const sampleRewards = async (ctx: RunContext, samples: Samples, beta: number): Promise<Map<string, number>> => {
  const { examples, config } = ctx.iterates.ready;
  const prompts: (readonly number[])[] = [], completions: (readonly number[])[] = [], keys: string[] = [];
  examples.forEach((e, i) => {
    for (const s of samples.byExample[i]) {
      prompts.push(e.promptIds);
      completions.push(s.ids);
      keys.push(answerKey(e.id, { text: s.row.text, finished: s.row.finished }));
    }
  });
  const options = { batchSize: config.generation.batchSize };
  const loaded = await ctx.iterates.loadDir(paramsDir(ctx));
  let lpRm: number[];
  try {
    lpRm = (await loaded.policy.sequenceLogProbs(prompts, completions, options)).logProbs;
  } finally {
    loaded.dispose();
  }
  const lpBase = (await ctx.iterates.basePolicy.sequenceLogProbs(prompts, completions, options)).logProbs;
  return new Map(keys.map((k, i) => [k, beta * (lpRm[i] - lpBase[i])]));
};

/** P(a ≻ b | x) = σ(r(a) − r(b)) with the reward model's rewards of this iteration's samples. */
const rewardOracle = (ctx: RunContext, samples: Samples, beta: number): PreferenceOracle => {
  let rewards: Promise<Map<string, number>> | null = null;
  return async ({ exampleId, a, b }) => {
    rewards ??= sampleRewards(ctx, samples, beta);
    const map = await rewards;
    const ra = map.get(answerKey(exampleId, a)), rb = map.get(answerKey(exampleId, b));
    if (ra === undefined || rb === undefined) throw new Error(`internal: no reward for an answer of example ${exampleId}`);
    return 1 / (1 + Math.exp(rb - ra));
  };
};

/**
 * The oracle of iteration t (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * import type { Samples } from "./samples.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const samples: Samples;
 * const { files } = await sppoOracle(context, start, samples); // ["reward-model"] at iteration 1 with "bt"
 * ```
 */
export const sppoOracle = async (ctx: RunContext, it: IterationStart, samples: Samples): Promise<SppoOracle> => {
  const { oracle, config } = ctx.iterates.ready;
  const setting = config.sppo.oracle;
  if (setting !== "bt") {
    if (oracle === null) throw new Error("internal: the run has no preference oracle");
    return { oracle, name: setting === "exact" ? '"exact"' : JSON.stringify(setting.module), files: [] };
  }
  const path = join(rewardModelDir(ctx), "reward-model.json");
  if (it.t === 1) await resumable(ctx.store, path, jsonFile<RewardModelRecord>(), () => trainRewardModel(ctx, it, samples));
  const record = (await ctx.store.readJson(path)) as RewardModelRecord | null;
  if (record === null) throw new Error(`${path} is missing: the reward model of iteration 1 is not complete`);
  return { oracle: rewardOracle(ctx, samples, record.beta), name: '"bt"', files: it.t === 1 ? ["reward-model"] : [] };
};
