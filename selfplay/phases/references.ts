/**
 * Phase 3 of an iteration, the references: lp_prev (π_{t−1}'s; the EMA's; or, with the arithmetic
 * reference, the window mixture's log Σ_i w_i·π_i) and lp_base of every winner and loser, computed
 * once (reference.ts, cached per model pair; on a server with `reference.engine: "openai"`), then
 * lp_ref = α·lp_prev + (1 − α)·lp_base by core/mixture's `geometricReference`. lp_ref is kept in `iter-<t>/reference/lp_ref.json`: training and
 * the exports read those numbers, and a resumed iteration reads them back.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Opponents, Losers } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const opponents: Opponents;
 * declare const losers: Losers;
 * const { lpRef } = await referencesPhase(context, start, opponents, losers);
 * ```
 *
 * @module
 */
import { basename, join } from "node:path";
import process from "node:process";
import type { Iterate } from "../../samplers/history.ts";
import { emaId, iterateId } from "../iterates.ts";
import { computeReferences, geometricReferences, type PairToScore, type ScoringModel } from "../reference.ts";
import { jsonFile, resumable } from "./resumable.ts";
import type { IterationStart, Losers, Opponents, References, RunContext } from "./state.ts";

/** The file lp_ref is kept in, under iter-<t>/reference/. */
export const lpRefFileName = "lp_ref.json";

/**
 * With `reference.engine: "openai"`: how an iterate's log-probs are asked of the server (its
 * adapter loaded by name first); null with the local engine.
 */
const serverScoring = async (ctx: RunContext): Promise<((m: Iterate) => NonNullable<ScoringModel["score"]>) | null> => {
  const { reference } = ctx.iterates.ready.config;
  if (reference.engine !== "openai" || reference.openai === null) return null;
  // Loaded here, so that a local run never loads the `openai` package.
  const { OpenAiReferenceEngine } = await import("../../engines/openai-reference.ts");
  const { ServedIterates } = await import("../served-iterates.ts");
  const engine = new OpenAiReferenceEngine(reference.openai, process.env, { mode: reference.logprobs });
  const served = new ServedIterates(reference.openai, process.env, ctx.iterates);
  return (m) => async (prompts, completions) => {
    try {
      const model = await served.name(m);
      const scores = await engine.score(prompts.map((promptIds, i) => ({ id: `${m.id}/sequence ${i}`, promptIds, completionIds: completions[i] })), model);
      return scores.map((s) => s.logprob);
    } catch (e) {
      throw new Error(`reference.openai (${engine.config.baseUrl}): ${(e as Error).message}`, { cause: e });
    }
  };
};

/** lp_prev and lp_base of every pair to score (from the cache when there), then lp_ref. */
const compute = async (
  ctx: RunContext,
  it: IterationStart,
  opponents: Opponents,
  pairs: readonly PairToScore[],
): Promise<References & { readonly cached: boolean }> => {
  const { config, fingerprints } = ctx.iterates.ready;
  const prevIterates: readonly Iterate[] = config.reference.mixture === "ema"
    ? [{ index: it.t - 1, id: emaId(it.t - 1) }]
    : config.reference.mixture === "arithmetic"
    ? opponents.window.members
    : [{ index: it.t - 1, id: iterateId(it.t - 1) }];
  const onServer = await serverScoring(ctx);
  const scoring = async (m: Iterate): Promise<ScoringModel> => ({
    id: await ctx.iterates.fingerprint(m), // π_base: the run's model fingerprint
    load: () => ctx.iterates.load(m),
    ...(onServer === null ? {} : { score: onServer(m) }),
  });
  const prev = await Promise.all(prevIterates.map(scoring));
  const distinct = new Set([fingerprints.model, ...prev.map((m) => m.id)]).size;
  const winners = new Set(pairs.map((p) => p.exampleIndex)).size;
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "reference", total: (pairs.length + winners) * distinct });
  const computed = await computeReferences({
    pairs,
    prev,
    prevWeights: config.reference.mixture === "arithmetic" ? opponents.window.weights : [1],
    base: await scoring({ index: 0, id: "base" }),
    batchSize: config.generation.batchSize,
    cacheDir: join(it.dir, "reference"),
    workDir: join(it.work, "reference"),
    readJson: (path) => ctx.store.readJson(path),
    writeJson: (path, value) => ctx.store.writeCompactJson(path, value),
    onProgress: (done, total) => ctx.emit({ type: "progress", iteration: it.t, phase: "reference", done, total }),
    signal: ctx.signal,
  });
  return { lpRef: geometricReferences(it.settings.alpha, computed.rows), cacheFile: basename(computed.path), cached: computed.cached };
};

/**
 * The references of any list of pairs to score (the SPPO loop's pairs of samples): pairs with the
 * same `exampleIndex` share their chosen response, which is scored once.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Opponents } from "./state.ts";
 * import type { PairToScore } from "../reference.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const opponents: Opponents;
 * declare const pairs: PairToScore[];
 * const { lpRef } = await scoredReferences(context, start, opponents, pairs);
 * ```
 */
export const scoredReferences = async (
  ctx: RunContext,
  it: IterationStart,
  opponents: Opponents,
  pairs: readonly PairToScore[],
): Promise<References> => {
  const path = join(it.dir, "reference", lpRefFileName);
  const format = jsonFile<References>({ compact: true });
  let computed = false;
  const { value } = await resumable(ctx.store, path, format, async () => {
    const { cached, ...references } = await compute(ctx, it, opponents, pairs);
    computed = !cached;
    return references;
  });
  const note = computed ? undefined : `cached in ${join(it.dir, "reference", value.cacheFile)}`;
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "reference", note });
  return value;
};

/**
 * The references of iteration t (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Opponents, Losers } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const opponents: Opponents;
 * declare const losers: Losers;
 * const references = await referencesPhase(context, start, opponents, losers);
 * ```
 */
export const referencesPhase = (ctx: RunContext, it: IterationStart, opponents: Opponents, losers: Losers): Promise<References> =>
  scoredReferences(ctx, it, opponents, losers.pairs.map((p) => ({
    exampleIndex: p.example.index,
    promptIds: p.example.promptIds,
    chosenIds: p.example.chosenIds,
    rejectedIds: p.rejectedIds,
  })));
