/**
 * The start of iteration t, shared by the SPIN and the SPPO loop: its settings (α, β, learning
 * rate, epochs), announced and recorded in `iter-<t>/config.json`.
 *
 * @example
 * ```ts
 * import type { RunContext } from "./state.ts";
 * declare const context: RunContext;
 * const it = await startIteration(context, 1);
 * it.dir; // "runs/<name>/iter-1"
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { iterationSettings } from "../config.ts";
import type { IterationStart, RunContext } from "./state.ts";

/**
 * Iteration t's settings, announced and recorded in `iter-<t>/config.json`.
 *
 * @example
 * ```ts
 * import type { RunContext } from "./state.ts";
 * declare const context: RunContext;
 * const { settings } = await startIteration(context, 2);
 * ```
 */
export const startIteration = async (ctx: RunContext, t: number): Promise<IterationStart> => {
  const ready = ctx.iterates.ready, { config } = ready;
  const settings = iterationSettings(config, t);
  const it = { t, settings, dir: ctx.store.iterDir(t), work: ctx.store.workDir(t) };
  await ctx.emit({ type: "iteration-start", iteration: t, params: settings });
  await ctx.store.writeJson(join(it.dir, "config.json"), {
    iteration: t,
    ...settings,
    backend: ready.backend,
    loss: config.loss,
    reference: config.reference.mixture,
    opponent: config.opponent,
    h: config.h,
    assignment: config.assignment,
    finetune: config.finetune,
    ...(config.method === "sppo" ? { method: "sppo", sppo: config.sppo } : {}),
    run: config,
  });
  return it;
};

