/**
 * Phase 2 of an iteration, the losers: for each (example, opponent) pair a loser y_l ∼ π_i(·|x)
 * from its assigned window member (generation.ts), or from the geometric mixture of that member
 * and π_base (`generation.sampler` "resample", or "gflownet": gflownet-sampler.ts fits its sampler
 * first), or one reused from an earlier iteration that generated it with the same sampler. Kept in
 * `iter-<t>/generations.jsonl`, which a resumed iteration reads back; with `workers` > 1 the
 * pool's workers decode whole batches next to this thread. With `generation.engine: "openai"` the
 * losers come from an OpenAI-compatible server instead, one request per (iterate, example)
 * (generation-openai.ts).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Opponents } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const opponents: Opponents;
 * const { pairs } = await losersPhase(context, start, opponents);
 * pairs[0].rejectedIds; // the loser's token ids, cut to the length limits
 * ```
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { forkRng } from "../../core/rng.ts";
import { type Iterate, planGenerations } from "../../samplers/history.ts";
import type { GeometricSamplingConfig, RunConfig } from "../config.ts";
import { truncateLoser } from "../examples.ts";
import { generateLosers, type GenerateLosersOptions, type GenerationRow, samplerKey } from "../generation.ts";
import { type GFlowNetLoserSampler, gflownetSamplerKey, prepareGFlowNetSampler } from "../gflownet-sampler.ts";
import { generateLosersOpenAi } from "../generation-openai.ts";
import { jsonLines, resumable } from "./resumable.ts";
import type { IterationStart, Losers, Opponents, RunContext } from "./state.ts";

/** Generations of the complete iterations before t, for reuse: "iterateId|sampler" → example index → row. */
const storedGenerations = async (ctx: RunContext, t: number): Promise<Map<string, Map<number, GenerationRow>>> => {
  const index = new Map<string, Map<number, GenerationRow>>();
  for (let i = 1; i < t; i++) {
    const path = join(ctx.store.iterDir(i), "generations.jsonl");
    if (!(await ctx.store.exists(path))) continue;
    for (const value of await ctx.store.readJsonl(path)) {
      const row = value as GenerationRow;
      const key = `${row.iterateId}|${row.sampler}`;
      const byExample = index.get(key) ?? new Map<number, GenerationRow>();
      if (!byExample.has(row.exampleIndex)) byExample.set(row.exampleIndex, row);
      index.set(key, byExample);
    }
  }
  return index;
};

/** What both engines are given: the plan and the iteration's settings. */
type Common = Pick<GenerateLosersOptions, "iteration" | "groups" | "examples" | "tokenizer" | "generation" | "maxLength" | "rng" | "onProgress" | "signal">;

const common = (ctx: RunContext, it: IterationStart, groups: Common["groups"]): Common => {
  const { config, examples, tokenizer } = ctx.iterates.ready;
  return {
    iteration: it.t,
    groups,
    examples,
    tokenizer,
    generation: config.generation,
    maxLength: config.maxLength,
    rng: forkRng(ctx.root, `generate-${it.t}`),
    onProgress: (done, total) => ctx.emit({ type: "progress", iteration: it.t, phase: "generate", done, total }),
    signal: ctx.signal,
  };
};

/** The resampling sampler's settings when `generation.sampler` is "resample", else null. */
const resampling = (config: RunConfig): GeometricSamplingConfig | null =>
  config.generation.sampler === "resample" ? { ...config.geometricSampling, enabled: true } : null;

/**
 * The local engine: this thread, and with `workers` > 1 the pool's workers decoding whole batches
 * next to it (not with the GFlowNet sampler, whose adapter they do not load).
 */
const locally = async (ctx: RunContext, it: IterationStart, groups: Common["groups"], gflownet: GFlowNetLoserSampler | null): Promise<GenerationRow[]> => {
  const { config, base, spec } = ctx.iterates.ready;
  const count = groups.reduce((s, g) => s + g.exampleIds.length, 0);
  // Worth it only with more than one batch to decode.
  const pool = config.workers > 1 && count > config.generation.batchSize && gflownet === null
    ? await (await import("../../train/pool.ts")).createWorkerPool({ threads: config.workers, base, spec })
    : null;
  return await generateLosers({
    ...common(ctx, it, groups),
    ...(pool === null ? {} : { pool: { workers: pool, dirOf: (iterate: Iterate) => ctx.iterates.dirOf(iterate) } }),
    ...(gflownet === null ? {} : { sampler: gflownet, generation: { ...config.generation, maxNewTokens: gflownet.maxNewTokens } }),
    loadPolicy: (iterate) => gflownet?.loadPolicy(iterate) ?? ctx.iterates.load(iterate),
    basePolicy: ctx.iterates.basePolicy,
    geometric: resampling(config),
    alpha: it.settings.alpha,
    workDir: join(it.work, "generate"),
    readBatch: async (path) => (await ctx.store.readJson(path)) as GenerationRow[] | null,
    writeBatch: (path, rows) => ctx.store.writeCompactJson(path, rows),
  }).finally(() => pool?.close());
};

/** The openai engine: one request per (iterate, example) to the server of `generation.openai`. */
const onServer = async (ctx: RunContext, it: IterationStart, groups: Common["groups"]): Promise<GenerationRow[]> => {
  const { config, base } = ctx.iterates.ready;
  const server = config.generation.openai!;
  // Loaded here, so that a local run never loads the `openai` package.
  const { OpenAiGenerationEngine } = await import("../../engines/openai-generation.ts");
  const served = new (await import("../served-iterates.ts")).ServedIterates(server, process.env, ctx.iterates);
  return await generateLosersOpenAi({
    ...common(ctx, it, groups),
    engine: new OpenAiGenerationEngine(server, process.env),
    servedName: (iterate) => served.name(iterate),
    maxPositions: base.config.family === "gpt2" ? base.config.maxPositions : null,
    workDir: join(it.work, "generate"),
    readRow: async (path) => (await ctx.store.readJson(path)) as GenerationRow | null,
    writeRow: (path, row) => ctx.store.writeCompactJson(path, row),
  });
};

/** Decode the losers not stored yet, and return every assigned pair's loser (each once). */
const generate = async (ctx: RunContext, it: IterationStart, opponents: Opponents): Promise<GenerationRow[]> => {
  const { config } = ctx.iterates.ready;
  const sampler = config.generation.sampler === "gflownet"
    ? gflownetSamplerKey(config.generation.gflownet, it.settings.alpha)
    : samplerKey(resampling(config), it.settings.alpha);
  const stored = config.reuseGenerations ? await storedGenerations(ctx, it.t) : new Map<string, Map<number, GenerationRow>>();
  const storedIds = new Map<string, string[]>();
  for (const m of opponents.window.members) {
    const rows = stored.get(`${m.id}|${sampler}`);
    if (rows !== undefined) storedIds.set(m.id, [...rows.keys()].map(String));
  }
  const plan = planGenerations(opponents.assigned, storedIds, { reuse: config.reuseGenerations });
  const note = plan.reuse.length > 0 ? `${plan.reuse.length} loser(s) reused from earlier iterations` : undefined;
  // The GFlowNet sampler is fitted (or read back) first, for the members that generate.
  const gflownet = config.generation.sampler === "gflownet" ? await prepareGFlowNetSampler(ctx, it, plan.generate) : null;
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "generate", total: plan.generateCount, note });
  const fresh = config.generation.engine === "openai" ? await onServer(ctx, it, plan.generate) : await locally(ctx, it, plan.generate, gflownet);
  const freshBy = new Map(fresh.map((r) => [`${r.iterateId}|${r.exampleIndex}`, r]));
  const used = new Map<string, GenerationRow>();
  for (const p of opponents.assigned) {
    const key = `${p.iterate.id}|${p.exampleIndex}`;
    if (used.has(key)) continue;
    const row = freshBy.get(key) ?? stored.get(`${p.iterate.id}|${sampler}`)?.get(p.exampleIndex);
    if (row === undefined) throw new Error(`internal: no loser for example ${p.exampleIndex} from ${p.iterate.id}`);
    used.set(key, row);
  }
  return [...used.values()];
};

/**
 * The losers of iteration t (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Opponents } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const opponents: Opponents;
 * const losers = await losersPhase(context, start, opponents);
 * ```
 */
export const losersPhase = async (ctx: RunContext, it: IterationStart, opponents: Opponents): Promise<Losers> => {
  const { config, examples, base } = ctx.iterates.ready;
  const path = join(it.dir, "generations.jsonl");
  const { value: rows, resumed } = await resumable(ctx.store, path, jsonLines<GenerationRow>(), () => generate(ctx, it, opponents));
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "generate", ...(resumed ? { note: "generations already on disk" } : {}) });
  const loserOf = new Map(rows.map((r) => [`${r.iterateId}|${r.exampleIndex}`, r]));
  const limits = { maxLength: config.maxLength, maxPromptLength: config.maxPromptLength, vocabSize: base.config.vocabSize };
  const pairs = opponents.assigned.map((p) => {
    const example = examples[p.exampleIndex];
    const row = loserOf.get(`${p.iterate.id}|${p.exampleIndex}`);
    if (row === undefined) throw new Error(`${path} has no loser for example ${p.exampleIndex} from ${p.iterate.id}`);
    return { example, row, rejectedIds: truncateLoser(example, row.ids, limits) };
  });
  return { pairs };
};
