/**
 * The sequence-task experiments of docs/results.md: α-SPIN on the embedded model and the synthetic
 * task, comparing the opponent window (vanilla SPIN h = 1, the official code's h = 2, fictitious
 * play h = all) at α = 1, and the base-model pull α ∈ {1, 0.9, 0.5} at h = 1, each over several
 * seeds (the seed drives loser sampling, opponent assignment, LoRA initialization and batch order;
 * the winners are the same first `--pairs` train examples for every run).
 *
 * Every run goes through the same code as `alpha-spin spin` (runSpinVariant), into
 * `<out>/<variant>-seed<k>/`; runs already complete are only re-evaluated (from the cache), so a
 * killed sweep continues where it stopped. At the end it writes `<out>/results.json`, the markdown
 * table `<out>/results.md` (mean ± sample standard deviation over seeds) and `<out>/report.html`
 * (one line per variant: the mean over seeds).
 *
 * ```sh
 * npx tsx scripts/sequence-experiments.ts                         # the sweep of docs/results.md
 * npx tsx scripts/sequence-experiments.ts --seeds 1 --iterations 1 --pairs 32 --out /tmp/sweep   # a smoke run
 * ```
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { type CommandSpec, parseOrExit } from "../cli/args.ts";
import { evaluationPrompts, parseVariants, runSpinVariant, type SpinSettings } from "../cli/spin.ts";
import { makeSyntheticTask } from "../data/synthetic.ts";
import { evaluateSynthetic } from "../eval/evaluate-synthetic.ts";
import { meanSpread } from "../eval/metrics.ts";
import { formatMetric } from "../eval/report-table.ts";
import { continuedSft } from "./saturation-variants.ts";
import { writeReport } from "../eval/report.ts";
import type { IterationMetrics, ReportVariant } from "../eval/report-types.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { embeddedModelDir, embeddedTaskOptions } from "../cli/default-run.ts";

const spec = {
  name: "npx tsx scripts/sequence-experiments.ts",
  summary: "SPIN (h = 1), h = 2, fictitious play, and α ∈ {1, 0.9, 0.5} on the synthetic task, over seeds",
  flags: {
    out: { type: "string", default: "runs/sequence-experiments", valueName: "dir", description: "sweep folder" },
    variants: {
      type: "string",
      default: "h=1:alpha=1,h=2:alpha=1,h=all:alpha=1,h=1:alpha=0.9,h=1:alpha=0.5,h=1:alpha=1:beta=0.1",
      valueName: "list",
      description: "variants (as alpha-spin spin --variants)",
    },
    seeds: { type: "number", default: 3, description: "seeds per variant (1, 2, …)" },
    iterations: { type: "number", default: 3, description: "self-play iterations T" },
    pairs: { type: "number", default: 384, description: "winners per iteration" },
    epochs: { type: "number", default: 2, description: "training epochs per iteration" },
    beta: { type: "number", default: 1, description: "loss temperature β" },
    lr: { type: "number", default: 2e-3, description: "peak learning rate" },
    evalSize: { type: "number", default: 0, description: "evaluation prompts (and held-out examples); 0: all" },
    backend: { type: "string", default: "wasm", description: "tfjs backend" },
    sft: { type: "boolean", default: true, description: "also run the baseline: continued SFT on the same winners, same LoRA and steps" },
  },
  positionals: [],
} as const satisfies CommandSpec;

type Key = "exactMatch" | "kl" | "heldOutNll" | "rewardMargin" | "rewardAccuracy";
const keys: readonly Key[] = ["exactMatch", "kl", "heldOutNll", "rewardMargin", "rewardAccuracy"];

/** Mean and sample standard deviation over seeds of each metric, per iteration. */
const aggregate = (runs: readonly (readonly IterationMetrics[])[]): IterationMetrics[] =>
  runs[0].map((_, t) => {
    const stat = (k: Key): { mean: number; std: number } => {
      const xs = runs.map((r) => r[t]?.[k]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
      const s = meanSpread(xs);
      return { mean: xs.length === 0 ? NaN : s.mean, std: s.std };
    };
    const s = Object.fromEntries(keys.map((k) => [k, stat(k)])) as Record<Key, { mean: number; std: number }>;
    return {
      iteration: t,
      exactMatch: s.exactMatch.mean,
      kl: s.kl.mean,
      heldOutNll: s.heldOutNll.mean,
      rewardMargin: t === 0 ? null : s.rewardMargin.mean,
      rewardAccuracy: t === 0 ? null : s.rewardAccuracy.mean,
      spread: Object.fromEntries(keys.map((k) => [k, s[k].std])),
    };
  });

const pm = (r: IterationMetrics, k: Key): string => {
  const spread = r.spread?.[k];
  return `${formatMetric(r[k])}${spread !== undefined && Number.isFinite(spread) && spread > 0 ? ` ± ${formatMetric(spread)}` : ""}`;
};

const markdown = (variants: readonly ReportVariant[], command: string, seeds: number): string => {
  const T = variants[0].iterations.length - 1;
  const head = ["variant", ...Array.from({ length: T + 1 }, (_, t) => `KL t=${t}`), `exact match t=${T}`, `held-out NLL t=${T}`, `reward acc t=${T}`];
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...variants.map((v) => {
      const last = v.iterations[T];
      return `| ${[v.name, ...v.iterations.map((r) => pm(r, "kl")), pm(last, "exactMatch"), pm(last, "heldOutNll"), pm(last, "rewardAccuracy")].join(" | ")} |`;
    }),
  ];
  return `${lines.join("\n")}\n\nMean ± sample standard deviation over ${seeds} seeds. Regenerate with:\n\n\`\`\`sh\n${command}\n\`\`\`\n`;
};

const main = async (): Promise<number> => {
  const args = parseOrExit(spec, process.argv.slice(2));
  if (typeof args === "number") return args;
  const f = args.flags;
  const started = Date.now();
  const common: SpinSettings = { iterations: f.iterations, alpha: 1, beta: f.beta, h: 1, seed: 1, epochs: f.epochs, lr: f.lr };
  const variants = parseVariants(f.variants, common);
  const backend = await loadBackend(f.backend as BackendRequest);
  const dir = embeddedModelDir();
  const base = await loadHfModel(dir, { trainable: false });
  const tokenizer = await loadTokenizer(dir);
  const task = makeSyntheticTask(embeddedTaskOptions);
  const train = task.train.slice(0, f.pairs);
  const heldOut = task.heldOut.slice(0, f.evalSize > 0 ? f.evalSize : 400);
  const prompts = evaluationPrompts(f.evalSize);
  const baseEvaluation = await evaluateSynthetic({ policy: new TransformerPolicy(base), tokenizer }, {
    heldOut,
    ...(prompts === undefined ? {} : { prompts }),
  });
  console.error(`base: KL ${formatMetric(baseEvaluation.kl)}, exact match ${formatMetric(baseEvaluation.exactMatch)} (backend ${backend.name})`);
  const results: { variant: string; seed: number; iterations: IterationMetrics[] }[] = [];
  const means: ReportVariant[] = [];
  for (const variant of variants) {
    const runs: IterationMetrics[][] = [];
    for (let seed = 1; seed <= f.seeds; seed++) {
      const t0 = Date.now();
      const v = await runSpinVariant({
        variant: { ...variant, settings: { ...variant.settings, seed } },
        outputDir: join(f.out, `${variant.dirName}-seed${seed}`),
        base,
        tokenizer,
        train,
        heldOut,
        baseEvaluation,
        quiet: true,
        ...(prompts === undefined ? {} : { prompts }),
      });
      runs.push([...v.iterations]);
      results.push({ variant: variant.name, seed, iterations: [...v.iterations] });
      const last = v.iterations[v.iterations.length - 1];
      console.error(`${variant.name} seed ${seed}: KL ${formatMetric(last.kl)}, exact match ${formatMetric(last.exactMatch)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
    means.push({ name: variant.name, settings: { ...variant.settings, seeds: f.seeds }, iterations: aggregate(runs), steps: [] });
  }
  if (f.sft) {
    const runs: IterationMetrics[][] = [];
    for (let seed = 1; seed <= f.seeds; seed++) {
      const t0 = Date.now();
      // The baseline: continued SFT on the winners, same LoRA, batch, optimizer and steps as an h = 1 run.
      const { evaluations: evals } = await continuedSft({ base, tokenizer, train, heldOut, prompts, iterations: f.iterations, epochs: f.epochs, lr: f.lr, seed });
      const rows = [baseEvaluation, ...evals].map((e, t): IterationMetrics => ({
        iteration: t,
        exactMatch: e.exactMatch,
        kl: e.kl,
        heldOutNll: e.heldOutNll,
        rewardMargin: null,
        rewardAccuracy: null,
      }));
      runs.push(rows);
      results.push({ variant: "sft", seed, iterations: rows });
      console.error(`sft seed ${seed}: KL ${formatMetric(rows[rows.length - 1].kl)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
    means.push({ name: "SFT baseline", settings: { seeds: f.seeds }, iterations: aggregate(runs), steps: [] });
  }
  const command = ["npx tsx scripts/sequence-experiments.ts", ...process.argv.slice(2)].join(" ");
  await writeFile(join(f.out, "results.json"), JSON.stringify({ command, backend: backend.name, base: baseEvaluation, results }, null, 2) + "\n");
  const table = markdown(means, command, f.seeds);
  await writeFile(join(f.out, "results.md"), table);
  await writeReport(join(f.out, "report.html"), {
    title: "α-SPIN on the synthetic task: opponent window and base pull",
    subtitle: `Mean over ${f.seeds} seeds per variant (the tables show ± the sample standard deviation).`,
    createdAt: new Date().toISOString(),
    variants: means,
    notes: [command, `wall time ${((Date.now() - started) / 1000).toFixed(0)} s`],
  });
  console.log(table);
  base.dispose();
  return 0;
};

process.exitCode = await main();
