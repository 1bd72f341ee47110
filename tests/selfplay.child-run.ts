/**
 * A child process for the resume tests (selfplay.resume, selfplay.sppo, selfplay.gflownet): runs (or
 * resumes) the run config given as the first argument on the cpu backend, prints
 * `STEP <iteration> <step>` after each training step (and `FIT <iteration> <step>` after each step of
 * a GFlowNet sampler's fit), and after the step named by the second argument (`<iteration>:<step>`,
 * or `fit:<iteration>:<step>`) stops in place (as a long computation would) so the parent can kill
 * it with SIGKILL mid-training or mid-fit.
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
    let at: string;
    if (event.type === "metrics") {
      process.stdout.write(`STEP ${event.iteration} ${event.row.step}\n`);
      at = `${event.iteration}:${event.row.step}`;
    } else if (event.type === "progress" && event.phase === "sampler") {
      process.stdout.write(`FIT ${event.iteration} ${event.done}\n`);
      at = `fit:${event.iteration}:${event.done}`;
    } else return;
    if (at === stopAt) await new Promise((resolve) => setTimeout(resolve, 120_000));
  },
});
process.stdout.write("DONE\n");
