/**
 * What the GFlowNet sampler costs inside the loop (docs/samplers.md): the default run of
 * `alpha-spin spin` (embedded model, 384 winners, losers of at most 16 tokens, wasm) with
 * `generation.sampler` set to each of the given samplers, timing every phase of every iteration
 * (wall and CPU) from the run's events. With "gflownet", iteration 1 fits nothing (π_0 = π_base) and every later
 * iteration fits one sampler (h = 1); the fit's record gives its forward tokens and final loss.
 *
 * ```sh
 * npx tsx scripts/gflownet-loop-cost.ts                                 # plain and gflownet, 2 iterations
 * npx tsx scripts/gflownet-loop-cost.ts --samplers gflownet --steps 50  # a shorter fit
 * ```
 *
 * @module
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseOrExit } from "../cli/args.ts";
import { defaultRunPairs, defaultSpinRun, embeddedTaskOptions } from "../cli/default-run.ts";
import { writeJsonlAtomic } from "../data/jsonl.ts";
import { makeSyntheticTask } from "../data/synthetic.ts";
import type { SelfPlayEvent } from "../selfplay/events.ts";
import type { GFlowNetFitRecord } from "../selfplay/gflownet-sampler.ts";
import { runSelfPlay } from "../selfplay/loop.ts";

const spec = {
  name: "npx tsx scripts/gflownet-loop-cost.ts",
  summary: "seconds per phase and iteration of the default run with each loser sampler",
  flags: {
    samplers: { type: "string", default: "plain,gflownet", description: "comma-separated: plain, resample, gflownet" },
    iterations: { type: "number", default: 2, description: "iterations of the default run" },
    steps: { type: "number", default: 200, description: "generation.gflownet.steps" },
    alpha: { type: "number", default: 0.9, description: "α (the default run's)" },
    backend: { type: "string", default: "wasm", description: "tfjs backend" },
  },
  positionals: [],
} as const;

/** The process's CPU seconds so far (all threads; on a busy machine steadier than wall time). */
const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Wall and CPU seconds of each (iteration, phase) and of each iteration, from the events. */
const timer = () => {
  const started = new Map<string, [number, number]>(), seconds = new Map<string, string>();
  const mark = (key: string, end: boolean) => {
    if (!end) started.set(key, [performance.now(), cpuSeconds()]);
    else {
      const [wall, cpu] = started.get(key)!;
      seconds.set(key, `${((performance.now() - wall) / 1000).toFixed(1)} (${(cpuSeconds() - cpu).toFixed(1)})`);
    }
  };
  const onEvent = (e: SelfPlayEvent): void => {
    if (e.type === "phase-start" || e.type === "phase-end") mark(`${e.iteration}/${e.phase}`, e.type === "phase-end");
    if (e.type === "iteration-start" || e.type === "iteration-complete") mark(`${e.iteration}`, e.type === "iteration-complete");
  };
  return { onEvent, seconds };
};

const main = async (): Promise<number> => {
  const parsed = parseOrExit(spec, process.argv.slice(2));
  if (typeof parsed === "number") return parsed;
  const f = parsed.flags;
  const dir = await mkdtemp(join(tmpdir(), "alpha-spin-gflownet-cost-"));
  try {
    const train = join(dir, "train.jsonl");
    const winners = makeSyntheticTask(embeddedTaskOptions).train.slice(0, defaultRunPairs);
    await writeJsonlAtomic(train, winners.map((ex) => ({ id: ex.id, prompt: ex.prompt, completion: ex.completion })));
    console.log(`default run (${defaultRunPairs} winners, α = ${f.alpha}, ${f.backend}), gflownet steps ${f.steps}`);
    console.log("seconds: wall (CPU)");
    console.log("| sampler | iteration | sampler fit s | generate s | reference s | train s | iteration s | fit forward tokens | SubTB loss, first → last 10 steps |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const sampler of f.samplers.split(",")) {
      const outputDir = join(dir, sampler);
      const { onEvent, seconds } = timer();
      const config = defaultSpinRun({ outputDir, train, iterations: f.iterations, alpha: f.alpha, backend: f.backend });
      const generation = { ...(config.generation as object), sampler, gflownet: { steps: f.steps } };
      await runSelfPlay({ config: { ...config, generation }, onEvent });
      for (let t = 1; t <= f.iterations; t++) {
        const s = (phase: string) => seconds.get(`${t}/${phase}`) ?? "–";
        const record = sampler === "gflownet" && t > 1
          ? JSON.parse(await readFile(join(outputDir, `iter-${t}`, "sampler", `iter-${t - 1}.fit.json`), "utf8")) as GFlowNetFitRecord
          : null;
        const mean = (xs: readonly number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
        const fit = record === null
          ? "– | –"
          : `${record.forwardTokens.toExponential(2)} | ${mean(record.losses.slice(0, 10))} → ${mean(record.losses.slice(-10))}`;
        console.log(`| ${sampler} | ${t} | ${s("sampler")} | ${s("generate")} | ${s("reference")} | ${s("train")} | ${seconds.get(`${t}`)!} | ${fit} |`);
      }
    }
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

process.exitCode = await main();
