/**
 * Phase 5 of an iteration, the commit: π_t (a PEFT adapter or a Hugging Face model folder), its
 * EMA, the metrics, the preference exports (TRL DPO and SPIN JSON lines, with the lp_ref training
 * used), the run-level metrics log, and last the completion marker `COMPLETE.json`, which lists
 * what the iteration wrote. A run resumes after the last iteration with a marker.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Losers, References, Trained } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const losers: Losers;
 * declare const references: References;
 * declare const trained: Trained;
 * await commitPhase(context, start, { records: spinRecords(losers, references), references, trained });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { type PreferenceRecord, writeSpinJsonl, writeTrlDpoJsonl } from "../../data/export.ts";
import { saveIterate } from "../../train/params.ts";
import { iterateParamsDir } from "../iterates.ts";
import { lpRefFileName } from "./references.ts";
import type { IterationStart, Losers, References, RunContext, Trained } from "./state.ts";

/**
 * The SPIN loop's export records: prompt, winner, loser and the reference log-probs the loss used.
 *
 * @example
 * ```ts
 * import type { Losers, References } from "./state.ts";
 * declare const losers: Losers;
 * declare const references: References;
 * spinRecords(losers, references)[0].rejected; // the first pair's loser
 * ```
 */
export const spinRecords = (losers: Losers, references: References): PreferenceRecord[] =>
  losers.pairs.map((p, i) => ({
    id: p.example.id,
    prompt: p.example.prompt,
    promptMessages: p.example.promptMessages,
    chosen: p.example.completion,
    rejected: p.row.text,
    refChosenLogp: references.lpRef[i].lpRefChosen,
    refRejectedLogp: references.lpRef[i].lpRefRejected,
  }));

/** The exports of the pairs (TRL DPO and SPIN JSON lines), as configured. */
const writeExports = async (ctx: RunContext, it: IterationStart, records: readonly PreferenceRecord[]): Promise<string[]> => {
  const { exports } = ctx.iterates.ready.config;
  const files: string[] = [];
  if (exports.trlDpo) {
    await writeTrlDpoJsonl(join(it.dir, "pairs.dpo.jsonl"), records);
    files.push("pairs.dpo.jsonl");
  }
  if (exports.spin) {
    await writeSpinJsonl(join(it.dir, "pairs.spin.jsonl"), records);
    files.push("pairs.spin.jsonl");
  }
  return files;
};

/**
 * Write iteration t's results and mark it complete (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Losers, References, Trained } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const losers: Losers;
 * declare const references: References;
 * declare const trained: Trained;
 * await commitPhase(context, start, { records: spinRecords(losers, references), references, trained });
 * ```
 */
export const commitPhase = async (
  ctx: RunContext,
  it: IterationStart,
  { records, references, trained, files: extra = [] }: {
    readonly records: readonly PreferenceRecord[];
    readonly references: References;
    readonly trained: Trained;
    /** Files of the iteration folder the SPIN loop does not write (the SPPO loop's preferences). */
    readonly files?: readonly string[];
  },
): Promise<void> => {
  const { store } = ctx;
  const ready = ctx.iterates.ready;
  const { spec, base, config } = ready;
  const files: string[] = ["config.json", "window.json", "generations.jsonl", "metrics.jsonl", ...extra];
  const saveOptions = { baseModel: ready.modelDir ?? config.model, tokenizerDir: ready.tokenizerDir };
  await saveIterate(iterateParamsDir(store, it.t, spec.finetune), base, spec, trained.weights, saveOptions);
  files.push(spec.finetune === "lora" ? "adapter" : "model");
  if (config.training.engine === "command") files.push("trainer"); // the pairs, log and outputs of the command (train-command.ts)
  if (await store.exists(join(it.dir, "sampler"))) files.push("sampler"); // the GFlowNet sampler(s) it fitted
  if (trained.ema !== null) {
    await saveIterate(join(it.dir, "ema"), base, spec, trained.ema, saveOptions);
    files.push("ema");
  }
  await store.writeJsonl(join(it.dir, "metrics.jsonl"), trained.metrics);
  files.push(...await writeExports(ctx, it, records));
  ctx.previousMetrics.push(...trained.metrics);
  await store.writeJsonl(join(store.root, "metrics.jsonl"), ctx.previousMetrics);
  files.push(`reference/${references.cacheFile}`, `reference/${lpRefFileName}`);
  await store.markComplete(it.t, ready.fingerprints.config, files);
  const last = trained.metrics[trained.metrics.length - 1] ?? {};
  await ctx.emit({ type: "iteration-complete", iteration: it.t, dir: it.dir, summary: { ...last } });
};
