/**
 * A child process for the resume tests (selfplay.resume, selfplay.sppo): runs (or resumes) the run
 * config given as the first argument on the cpu backend, prints `STEP <iteration> <step>` after each
 * training step, and after the step named by the second argument (`<iteration>:<step>`) stops in
 * place (as a long computation would) so the parent can kill it with SIGKILL mid-training.
 */
import * as tf from "@tensorflow/tfjs";
import { readFile } from "node:fs/promises";
import process from "node:process";
import { quietTfjs } from "../backends/quiet.ts";
import { runSelfPlay } from "../selfplay/loop.ts";

const [configPath, stopAt] = process.argv.slice(2);
quietTfjs();
await tf.setBackend("cpu");
const config = JSON.parse(await readFile(configPath, "utf8"));
await runSelfPlay({
  config,
  resume: true,
  backend: "current",
  onEvent: async (event) => {
    if (event.type !== "metrics") return;
    process.stdout.write(`STEP ${event.iteration} ${event.row.step}\n`);
    if (`${event.iteration}:${event.row.step}` === stopAt) await new Promise((resolve) => setTimeout(resolve, 120_000));
  },
});
process.stdout.write("DONE\n");
