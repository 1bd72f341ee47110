/**
 * The GFlowNet loser sampler of the loop (`generation.sampler: "gflownet"`): for each window member
 * π_j that generates losers at iteration t, a LoRA sampler q_θ on π_base is fitted by sub-trajectory
 * balance (train/gflownet.ts) so that q_θ(y|x) ∝ R(y|x) = π_j(y|x)^α·π_base(y|x)^(1−α), on the prompts
 * of the examples π_j plays, and the losers are drawn from q_θ.
 *
 * q_θ starts at π_base (a fresh adapter has B = 0), as Hu et al. start their sampler at the model
 * that defines the prior. When the mixture is one of the two models exactly — π_j is π_base (t = 1,
 * or "ema-0"), α = 0 (R = π_base) or α = 1 (R = π_j) — nothing is fitted and the losers come from
 * that model itself: exactly the target, at no cost.
 *
 * Storage and resume: the adapter goes to `iter-<t>/sampler/<member>/` (a PEFT folder) and then, last,
 * the fit's record to `iter-<t>/sampler/<member>.fit.json` (steps, losses, forward tokens, seconds, the
 * adapter's fingerprint). A run killed after the record is written loads the adapter and does not
 * fit again; killed before it (during the fit, or while the adapter was written), it refits from
 * scratch: the fit keeps no checkpoint of its own, and since every draw of the fit comes from
 * streams forked from (seed, t, member), the refit is the same fit, so the resumed run ends with
 * the same sampler, losers and iterates as an uninterrupted one.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./phases/state.ts";
 * import type { Iterate } from "../samplers/history.ts";
 * declare const ctx: RunContext;
 * declare const it: IterationStart;
 * declare const groups: { iterate: Iterate; exampleIds: string[] }[];
 * const sampler = await prepareGFlowNetSampler(ctx, it, groups);
 * sampler.key; // "gflownet(alpha=0.5,steps=200,…)": generations are reused only under the same key
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { forkRng, nextUint32 } from "../core/rng.ts";
import type { Iterate } from "../samplers/history.ts";
import { fitGFlowNetSampler } from "../train/gflownet.ts";
import { buildTrainable, type FinetuneSpec, freshLoraSnapshot, loadIterateSnapshot, policyFromSnapshot, saveIterate } from "../train/params.ts";
import type { RunConfig } from "./config.ts";
import { folderFingerprint } from "./fingerprint.ts";
import type { LoadedPolicy } from "./generation.ts";
import type { IterationStart, RunContext } from "./phases/state.ts";
import type { GFlowNetConfig } from "./sampler-config.ts";

/** What `iter-<t>/sampler/<member>.fit.json` holds. */
export interface GFlowNetFitRecord {
  readonly iteration: number;
  readonly member: string;
  readonly alpha: number;
  readonly settings: GFlowNetConfig;
  /** Longest answer L the sampler was fitted for (and generates). */
  readonly maxNewTokens: number;
  readonly prompts: number;
  readonly losses: readonly number[];
  readonly forwardTokens: number;
  readonly seconds: number;
  /** folderFingerprint of the adapter folder; the losers it drew carry it too. */
  readonly fingerprint: string;
}

/**
 * The key of the GFlowNet sampler in the generation rows: its target (α) and every fit setting, so
 * that losers are reused across iterations only from a sampler fitted the same way.
 *
 * @example
 * ```ts
 * import { gflownetDefaults } from "./sampler-config.ts";
 * gflownetSamplerKey(gflownetDefaults, 0.5);
 * // "gflownet(alpha=0.5,steps=200,batch=16,lr=0.001,lambda=1,temperature=1.5,replay=0.5x32,lora=8/16)"
 * ```
 */
export const gflownetSamplerKey = (g: GFlowNetConfig, alpha: number): string =>
  `gflownet(alpha=${alpha},steps=${g.steps},batch=${g.batchSize},lr=${g.lr},lambda=${g.lambda},` +
  `temperature=${g.explorationTemperature},replay=${g.replayFraction}x${g.replayPerPrompt},lora=${g.lora.r}/${g.lora.alpha})`;

/**
 * Which model the mixture π_j^α·π_base^(1−α) is exactly, when it is one of them; null when a sampler
 * must be fitted.
 *
 * @example
 * ```ts
 * exactTarget({ index: 0, id: "base" }, 0.5); // { index: 0, id: "base" }
 * exactTarget({ index: 2, id: "iter-2" }, 1); // { index: 2, id: "iter-2" }
 * exactTarget({ index: 2, id: "iter-2" }, 0.5); // null
 * ```
 */
export const exactTarget = (member: Iterate, alpha: number): Iterate | null => {
  if (member.id === "base" || member.id === "ema-0" || alpha === 0) return { index: 0, id: "base" };
  return alpha === 1 ? member : null;
};

/**
 * The longest loser L of a run (as generation.ts caps it, over all prompts at once), so that the
 * sampler is fitted for exactly the answers it will be asked to generate.
 *
 * @example
 * ```ts
 * import type { RunConfig } from "./config.ts";
 * declare const config: RunConfig;
 * const L = samplerAnswerLength(config, [[1, 2, 3], [4]], { family: "llama", maxPositions: 2048 });
 * ```
 */
export const samplerAnswerLength = (
  config: Pick<RunConfig, "generation" | "maxLength">,
  prompts: readonly (readonly number[])[],
  model: { readonly family: string; readonly maxPositions: number },
): number => {
  const shortest = Math.min(...prompts.map((p) => p.length)), longest = Math.max(...prompts.map((p) => p.length));
  let L = Math.max(1, Math.min(config.generation.maxNewTokens, config.maxLength - shortest));
  if (model.family === "gpt2") L = Math.min(L, model.maxPositions - longest);
  if (L < 1) throw new RangeError(`a prompt of ${longest} tokens leaves no room for a loser within the model's ${model.maxPositions} positions`);
  return L;
};

/** The finetune spec of the sampler's adapter (no dropout: the fit is a plain gradient descent). */
const samplerSpec = (config: RunConfig): FinetuneSpec => ({
  finetune: "lora",
  lora: {
    r: config.generation.gflownet.lora.r,
    alpha: config.generation.gflownet.lora.alpha,
    dropout: 0,
    ...(config.lora.targetModules === "auto" ? {} : { targetModules: config.lora.targetModules }),
  },
});

/** Fit q_θ for one member and store it (adapter first, record last). */
const fitMember = async (
  ctx: RunContext,
  it: IterationStart,
  member: Iterate,
  prompts: number[][],
  progress: { readonly L: number; readonly done: number; readonly total: number },
): Promise<GFlowNetFitRecord> => {
  const L = progress.L;
  const { config, base, modelDir } = ctx.iterates.ready;
  const g = config.generation.gflownet, spec = samplerSpec(config);
  const streams = forkRng(ctx.root, `gflownet-${it.t}/${member.id}`);
  const [loraSeed] = nextUint32(forkRng(streams, "lora")), [fitSeed] = nextUint32(forkRng(streams, "fit"));
  const started = performance.now();
  const prev = await ctx.iterates.load(member);
  const sampler = buildTrainable(base, spec, await freshLoraSnapshot(base, spec.lora, loraSeed), 0);
  try {
    const report = await fitGFlowNetSampler({
      sampler: sampler.policy,
      prev: prev.policy,
      base: ctx.iterates.basePolicy,
      alpha: it.settings.alpha,
      prompts,
      maxNewTokens: L,
      steps: g.steps,
      batchSize: g.batchSize,
      lr: g.lr,
      lambda: g.lambda,
      explorationTemperature: g.explorationTemperature,
      replayFraction: g.replayFraction,
      replayPerPrompt: g.replayPerPrompt,
      seed: fitSeed,
      onStep: async (step, loss) => {
        if (ctx.signal?.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("aborted");
        await ctx.emit({ type: "progress", iteration: it.t, phase: "sampler", done: progress.done + step, total: progress.total, payload: { loss } });
      },
    });
    const dir = join(it.dir, "sampler", member.id);
    await saveIterate(dir, base, spec, await sampler.snapshot(), { baseModel: modelDir ?? config.model, tokenizerDir: null });
    const record: GFlowNetFitRecord = {
      iteration: it.t,
      member: member.id,
      alpha: it.settings.alpha,
      settings: g,
      maxNewTokens: L,
      prompts: prompts.length,
      losses: report.losses,
      forwardTokens: report.forwardTokens,
      seconds: (performance.now() - started) / 1000,
      fingerprint: await folderFingerprint(dir),
    };
    await ctx.store.writeJson(join(it.dir, "sampler", `${member.id}.fit.json`), record);
    return record;
  } finally {
    sampler.dispose();
    prev.dispose();
  }
};

/** The loser sampler of one iteration, as generateLosers takes it. */
export interface GFlowNetLoserSampler {
  /** The generation rows' `sampler`. */
  readonly key: string;
  /** Longest loser L (the sampler was fitted for it). */
  readonly maxNewTokens: number;
  /** The policy that draws member π_j's losers: its fitted q_θ, or the exact target. */
  loadPolicy(member: Iterate): Promise<LoadedPolicy>;
  /** The fields the rows drawn for π_j carry: the fitted adapter's fingerprint. */
  rowFields(member: Iterate): { readonly samplerFingerprint?: string };
}

/**
 * Fit (or read back) the sampler of every member in `groups` that needs one (see the module doc),
 * reporting the fit as phase "sampler".
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./phases/state.ts";
 * declare const ctx: RunContext;
 * declare const it: IterationStart;
 * const sampler = await prepareGFlowNetSampler(ctx, it, [{ iterate: { index: 1, id: "iter-1" }, exampleIds: ["0", "1"] }]);
 * const { policy, dispose } = await sampler.loadPolicy({ index: 1, id: "iter-1" });
 * ```
 */
export const prepareGFlowNetSampler = async (
  ctx: RunContext,
  it: IterationStart,
  groups: readonly { readonly iterate: Iterate; readonly exampleIds: readonly string[] }[],
): Promise<GFlowNetLoserSampler> => {
  const { config, examples, base } = ctx.iterates.ready;
  const L = samplerAnswerLength(config, examples.map((e) => e.promptIds), base.config);
  const fitted = new Map<string, GFlowNetFitRecord>();
  const toFit = groups.filter((g) => exactTarget(g.iterate, it.settings.alpha) === null && g.exampleIds.length > 0);
  if (toFit.length > 0) {
    const total = toFit.length * config.generation.gflownet.steps;
    await ctx.emit({ type: "phase-start", iteration: it.t, phase: "sampler", total, note: `${toFit.length} sampler(s), L = ${L}` });
    const notes: string[] = [];
    for (const [k, g] of toFit.entries()) {
      const path = join(it.dir, "sampler", `${g.iterate.id}.fit.json`);
      let record = (await ctx.store.readJson(path)) as GFlowNetFitRecord | null;
      if (record !== null) notes.push(`${g.iterate.id}: fitted sampler on disk`);
      else {
        const prompts = g.exampleIds.map((id) => [...examples[Number(id)].promptIds]);
        record = await fitMember(ctx, it, g.iterate, prompts, { L, done: k * config.generation.gflownet.steps, total });
      }
      const found = await folderFingerprint(join(it.dir, "sampler", g.iterate.id));
      if (found !== record.fingerprint) throw new Error(`${join(it.dir, "sampler", g.iterate.id)} changed after its fit (fingerprint ${found}, ${path} says ${record.fingerprint})`);
      fitted.set(g.iterate.id, record);
    }
    await ctx.emit({ type: "phase-end", iteration: it.t, phase: "sampler", ...(notes.length > 0 ? { note: notes.join("; ") } : {}) });
  }
  const spec = samplerSpec(config);
  return {
    key: gflownetSamplerKey(config.generation.gflownet, it.settings.alpha),
    maxNewTokens: L,
    loadPolicy: async (member) => {
      const exact = exactTarget(member, it.settings.alpha);
      if (exact !== null) return await ctx.iterates.load(exact);
      if (!fitted.has(member.id)) throw new Error(`internal: no GFlowNet sampler was prepared for ${member.id}`);
      const snapshot = await loadIterateSnapshot(join(it.dir, "sampler", member.id), base, spec);
      return policyFromSnapshot(base, spec, snapshot);
    },
    rowFields: (member) => {
      const record = fitted.get(member.id);
      return record === undefined ? {} : { samplerFingerprint: record.fingerprint };
    },
  };
};
