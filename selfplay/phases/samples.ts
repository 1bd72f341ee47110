/**
 * SPPO's sampling phase: K answers y_1..y_K ∼ π_{t−1}(·|x) for every prompt (plain sampling with
 * the run's `generation` settings, through generation.ts's batched, resumable decoder). The rows
 * are kept in `iter-<t>/generations.jsonl`, example-major (row i·K + k is sample k of example i),
 * which a resumed iteration reads back; finished batches survive a kill in `iter-<t>/work/generate/`.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * const samples = await samplesPhase(context, start);
 * samples.byExample[0].length; // K
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { forkRng } from "../../core/rng.ts";
import { truncateLoser, type PreparedExample } from "../examples.ts";
import { generateLosers, type GenerationRow } from "../generation.ts";
import { iterateId } from "../iterates.ts";
import { jsonLines, resumable } from "./resumable.ts";
import type { IterationStart, RunContext } from "./state.ts";

/** One sampled answer: the stored row and its ids cut to the length limits. */
export interface Sample {
  readonly row: GenerationRow;
  readonly ids: number[];
}

/** The sampling phase: the K samples of each example, in example order. */
export interface Samples {
  readonly byExample: readonly (readonly Sample[])[];
}

/** Decode K samples of every example from π_{t−1}. */
const generate = async (ctx: RunContext, it: IterationStart): Promise<GenerationRow[]> => {
  const { config, examples, tokenizer } = ctx.iterates.ready;
  const k = config.sppo.samples;
  // Example i's k-th copy sits at i·K + k, so the decoder's rows come back example-major.
  const copies: PreparedExample[] = examples.flatMap((e) => Array.from({ length: k }, () => e));
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "generate", total: copies.length });
  return await generateLosers({
    iteration: it.t,
    groups: [{ iterate: { index: it.t - 1, id: iterateId(it.t - 1) }, exampleIds: copies.map((_, i) => String(i)) }],
    examples: copies,
    loadPolicy: (iterate) => ctx.iterates.load(iterate),
    basePolicy: ctx.iterates.basePolicy,
    tokenizer,
    generation: config.generation,
    maxLength: config.maxLength,
    geometric: null,
    alpha: 1,
    rng: forkRng(ctx.root, `sppo-samples-${it.t}`),
    workDir: join(it.work, "generate"),
    readBatch: async (path) => (await ctx.store.readJson(path)) as GenerationRow[] | null,
    writeBatch: (path, rows) => ctx.store.writeCompactJson(path, rows),
    onProgress: (done, total) => ctx.emit({ type: "progress", iteration: it.t, phase: "generate", done, total }),
    signal: ctx.signal,
  });
};

/**
 * The samples of iteration t (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * const { byExample } = await samplesPhase(context, start);
 * ```
 */
export const samplesPhase = async (ctx: RunContext, it: IterationStart): Promise<Samples> => {
  const { config, examples, base } = ctx.iterates.ready;
  const k = config.sppo.samples;
  const path = join(it.dir, "generations.jsonl");
  const { value: rows, resumed } = await resumable(ctx.store, path, jsonLines<GenerationRow>(), () => generate(ctx, it));
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "generate", ...(resumed ? { note: "generations already on disk" } : {}) });
  if (rows.length !== examples.length * k) {
    throw new Error(`${path} holds ${rows.length} samples; ${examples.length} examples × K = ${k} need ${examples.length * k}`);
  }
  const limits = { maxLength: config.maxLength, maxPromptLength: config.maxPromptLength, vocabSize: base.config.vocabSize };
  const byExample = examples.map((example, i) =>
    rows.slice(i * k, (i + 1) * k).map((row, j): Sample => {
      if (row.exampleIndex !== example.index) throw new Error(`${path}: row ${i * k + j + 1} is not a sample of example ${example.index}`);
      return { row, ids: truncateLoser(example, row.ids, limits) };
    })
  );
  return { byExample };
};
