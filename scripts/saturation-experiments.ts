/**
 * The saturation experiment of docs/results.md: what self-play adds once SFT has saturated. Every
 * run starts from the SFT-converged base (`model: "embedded-sft"`, assets/embedded-sft/) and
 * compares, at equal optimizer steps and equal sampled losers per iteration (scripts/
 * saturation-variants.ts says how), continued SFT, SPIN (h = 1), h = 2, h = all, and α-SPIN
 * α ∈ {0.9, 0.5} with each sampler and as its klWeights pair, over seeds 1 … `--seeds`. It reports
 * KL(p_data ‖ π_t), exact match and held-out NLL per iteration as means with 95 % t-intervals,
 * next to the tabular testbed's prediction for the same (α, β', h).
 *
 * Every run goes through `runSelfPlay` into `<out>/<variant>-seed<k>/` and resumes there; a run's
 * evaluations are cached in its folder, the SFT baseline's in `<out>/sft-seed<k>.json`, so a killed
 * sweep continues where it stopped. It writes `<out>/results.json`, `<out>/results.md` and
 * `<out>/report.html`.
 *
 * ```sh
 * npx tsx scripts/saturation-experiments.ts                                  # the sweep of docs/results.md
 * npx tsx scripts/saturation-experiments.ts --seeds 1 --iterations 1 --pairs 48 --eval-size 16 --out /tmp/sat
 * ```
 *
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { type CommandSpec, parseOrExit } from "../cli/args.ts";
import { defaultSpinRun, embeddedTaskOptions } from "../cli/default-run.ts";
import { evaluationPrompts } from "../cli/spin.ts";
import { writeFileAtomic, writeJsonlAtomic } from "../data/jsonl.ts";
import { makeSyntheticTask } from "../data/synthetic.ts";
import { evaluateSynthetic, type SyntheticEvaluation } from "../eval/evaluate-synthetic.ts";
import { evaluateRun } from "../eval/report-run.ts";
import { writeReport } from "../eval/report.ts";
import type { IterationMetrics, ReportVariant } from "../eval/report-types.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { isPackagedModel, packagedModelDir } from "../models/embedded.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { aggregateRuns, markdownTables, type RunRecord, tabularPrediction } from "./saturation-tables.ts";
import { continuedSft, runBookkeeping, saturationVariants, splitPairs, stepsPerIteration } from "./saturation-variants.ts";

const spec = {
  name: "npx tsx scripts/saturation-experiments.ts",
  summary: "self-play against continued SFT from the SFT-converged base, at equal steps, with 95 % intervals",
  flags: {
    out: { type: "string", default: "runs/saturation-experiments", valueName: "dir", description: "sweep folder" },
    model: { type: "string", default: "embedded-sft", valueName: "dir", description: 'base model: a folder or a packaged name ("embedded-sft")' },
    variants: { type: "string", default: "", valueName: "list", description: "only these variants (names, comma-separated; default all)" },
    seeds: { type: "number", default: 5, description: "seeds per variant (1, 2, …)" },
    klSeeds: { type: "number", default: 1, description: "seeds of the klWeights variants (they repeat the α variants' computation)" },
    iterations: { type: "number", default: 3, description: "self-play iterations T" },
    pairs: { type: "number", default: 192, description: "winners (and pairs) per iteration; divisible by 6 keeps h = 2 and h = all equal" },
    epochs: { type: "number", default: 2, description: "training epochs per iteration" },
    beta: { type: "number", default: 1, description: "loss temperature β'" },
    lr: { type: "number", default: 2e-3, description: "peak learning rate" },
    evalSize: { type: "number", default: 0, description: "evaluation prompts (and held-out examples); 0: all" },
    gflownet: { type: "boolean", description: 'also run generation.sampler: "gflownet" (needs it in the run config)' },
    backend: { type: "string", default: "wasm", description: "tfjs backend" },
  },
  positionals: [],
} as const satisfies CommandSpec;

/** The JSON in `path`, or `fallback` when it is missing or unreadable (a cache miss). */
const readJsonOr = async <T>(path: string, fallback: T): Promise<T> => {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return fallback;
  }
};

const rowsOf = (evals: readonly SyntheticEvaluation[]): IterationMetrics[] =>
  evals.map((e, t) => ({ iteration: t, exactMatch: e.exactMatch, kl: e.kl, heldOutNll: e.heldOutNll, massOnSupport: e.massOnSupport, rewardMargin: null, rewardAccuracy: null }));

const main = async (): Promise<number> => {
  const args = parseOrExit(spec, process.argv.slice(2));
  if (typeof args === "number") return args;
  const f = args.flags;
  const started = Date.now();
  const backend = await loadBackend(f.backend as BackendRequest);
  const modelDir = isPackagedModel(f.model) ? packagedModelDir(f.model) : f.model;
  const base = await loadHfModel(modelDir, { trainable: false });
  const tokenizer = await loadTokenizer(modelDir);
  const task = makeSyntheticTask(embeddedTaskOptions);
  const train = task.train.slice(0, f.pairs);
  const heldOut = task.heldOut.slice(0, f.evalSize > 0 ? f.evalSize : 400);
  const prompts = evaluationPrompts(f.evalSize);
  const evalOpts = { heldOut, ...(prompts === undefined ? {} : { prompts }) };
  const baseEvaluation = await evaluateSynthetic({ policy: new TransformerPolicy(base), tokenizer }, evalOpts);
  console.error(`base ${modelDir}: KL ${baseEvaluation.kl.toFixed(4)}, exact match ${baseEvaluation.exactMatch.toFixed(4)}, NLL ${baseEvaluation.heldOutNll.toFixed(4)}`);
  const wanted = f.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const catalogue = saturationVariants(f.beta, f.gflownet);
  const unknown = wanted.filter((w) => w !== "sft" && !catalogue.some((v) => v.name === w));
  if (unknown.length > 0) throw new Error(`--variants: unknown ${unknown.join(", ")} (known: sft, ${catalogue.map((v) => v.name).join(", ")})`);
  const variants = catalogue.filter((v) => wanted.length === 0 || wanted.includes(v.name));
  await mkdir(f.out, { recursive: true });
  const records: RunRecord[] = [];
  const steps = stepsPerIteration(f.pairs, 32, f.epochs);
  if (wanted.length === 0 || wanted.includes("sft")) {
    for (let seed = 1; seed <= f.seeds; seed++) {
      const t0 = Date.now(), cache = join(f.out, `sft-seed${seed}.json`);
      const key = { model: modelDir, pairs: f.pairs, epochs: f.epochs, lr: f.lr, iterations: f.iterations, evalSize: f.evalSize };
      const cached = await readJsonOr<{ key: unknown; evaluations: SyntheticEvaluation[]; steps: number[] } | null>(cache, null);
      const hit = cached !== null && JSON.stringify(cached.key) === JSON.stringify(key);
      const r = hit ? cached : await continuedSft({ base, tokenizer, train, heldOut, prompts, iterations: f.iterations, epochs: f.epochs, lr: f.lr, seed });
      if (!hit) await writeFileAtomic(cache, JSON.stringify({ key, ...r }) + "\n");
      records.push({ variant: "continued SFT", seed, iterations: rowsOf([baseEvaluation, ...r.evaluations]), books: r.steps.map((s, i) => ({ iteration: i + 1, pairs: f.pairs, steps: s, generated: 0 })) });
      console.error(`continued SFT seed ${seed}: KL ${r.evaluations.at(-1)?.kl.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s${hit ? ", cached" : ""})`);
    }
  }
  for (const variant of variants) {
    const seeds = variant.name.includes("klWeights") ? Math.min(f.klSeeds, f.seeds) : f.seeds;
    for (let seed = 1; seed <= seeds; seed++) {
      const t0 = Date.now();
      const outputDir = join(f.out, `${variant.name.replace(/[^A-Za-z0-9.]+/g, "-")}-seed${seed}`);
      const trainPath = join(outputDir, "train.jsonl");
      const defaults = defaultSpinRun({ name: "saturation", outputDir, train: trainPath, iterations: f.iterations, seed, epochs: f.epochs, lr: f.lr });
      const { alpha: _a, beta: _b, ...rest } = defaults;
      const raw = {
        ...rest,
        model: isPackagedModel(f.model) ? f.model : modelDir,
        equalShare: { pairsPerMember: "split" },
        reuseGenerations: false,
        ...variant.overrides,
        generation: { ...(defaults.generation as object), ...((variant.overrides.generation as object | undefined) ?? {}) },
      };
      const data = train.map((ex) => ({ id: ex.id, where: `synthetic ${ex.id}`, prompt: ex.prompt, completion: ex.completion, promptMessages: null }));
      const resume = await readJsonOr<unknown>(join(outputDir, "run.json"), null) !== null;
      const result = await runSelfPlay({
        config: raw,
        model: base,
        modelDir,
        tokenizer,
        data,
        backend: "current",
        resume,
        onEvent: async (event) => { // the winners next to the run, so its config.json reruns it
          if (event.type === "run-start" && !event.resumed) await writeJsonlAtomic(trainPath, train.map((ex) => ({ id: ex.id, prompt: ex.prompt, completion: ex.completion })));
        },
      });
      const { evaluations } = await evaluateRun({ runDir: result.runDir, base, tokenizer, config: result.config, ...evalOpts });
      const books = await runBookkeeping(result.runDir, f.iterations, result.metrics);
      records.push({ variant: variant.name, seed, iterations: rowsOf([baseEvaluation, ...evaluations]), books });
      const planned = books.every((b) => b.steps === steps && b.pairs === splitPairs(f.pairs, variant.h, b.iteration) && b.generated === b.pairs);
      if (!planned) console.error(`warning: ${variant.name} seed ${seed} did not keep the planned ${steps} steps and pairs per iteration`);
      console.error(`${variant.name} seed ${seed}: KL ${evaluations.at(-1)?.kl.toFixed(4)}, steps ${books.map((b) => b.steps).join("/")}, ` +
        `pairs ${books.map((b) => b.pairs).join("/")}, losers ${books.map((b) => b.generated).join("/")} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  const command = ["npx tsx scripts/saturation-experiments.ts", ...process.argv.slice(2)].join(" ");
  const summary = aggregateRuns(records);
  const prediction = tabularPrediction(variants, f.iterations);
  const wall = (Date.now() - started) / 1000;
  await writeFile(join(f.out, "results.json"), JSON.stringify({ command, backend: backend.name, model: modelDir, stepsPerIteration: steps, base: baseEvaluation, wallSeconds: wall, summary, prediction, records }, null, 2) + "\n");
  const tables = markdownTables(summary, prediction, { command, seeds: f.seeds, klSeeds: f.klSeeds, steps, pairs: f.pairs, wall });
  await writeFile(join(f.out, "results.md"), tables);
  const means: ReportVariant[] = summary.map((s) => ({ name: s.variant, settings: { seeds: s.seeds }, iterations: s.report, steps: [] }));
  await writeReport(join(f.out, "report.html"), {
    title: "Self-play after SFT has saturated: the embedded-sft base on the synthetic task",
    subtitle: `Mean over seeds per variant (the tables show ± the 95 % t-interval half-width). ${steps} optimizer steps per iteration for every variant.`,
    createdAt: new Date().toISOString(),
    variants: means,
    notes: [command, `wall time ${wall.toFixed(0)} s`],
  });
  console.log(tables);
  base.dispose();
  return 0;
};

process.exitCode = await main();
