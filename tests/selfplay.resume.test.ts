// Resume (iteration 2 has 8 pairs: 4 steps per epoch, 2 epochs): a run killed during generation, during the reference pre-compute or during training
// (an event handler that throws, an AbortSignal, and a real SIGKILL of a child process) and then
// resumed ends with exactly the metrics and adapters of the uninterrupted run (cpu backend, LoRA
// dropout on, so the per-epoch dropout streams are checked too).
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { runChildUntilKilled } from "./selfplay.child-kill.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import type { SelfPlayEvent } from "../selfplay/events.ts";
import { jsonFile, jsonLines, resumable } from "../selfplay/phases/resumable.ts";
import { IterateStore } from "../selfplay/store.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

const fixture = await setupFixture();
const configFor = (name: string): Record<string, unknown> =>
  smallConfig(fixture, { name, h: 2, generation: { maxNewTokens: 6, batchSize: 2 } });

const outcome = async (runDir: string): Promise<{ metrics: string; adapters: string[] }> => ({
  metrics: await readFile(join(runDir, "metrics.jsonl"), "utf8"),
  adapters: await Promise.all([1, 2].map(async (t) =>
    Buffer.from(await readFile(join(runDir, `iter-${t}`, "adapter", "adapter_model.safetensors"))).toString("base64")
  )),
});

const baseline = await runSelfPlay({ config: configFor("baseline") });
const expected = await outcome(baseline.runDir);

class Killed extends Error {}

/** Run until `when` says stop (by throwing from the event handler), then resume; compare. */
const killAndResume = async (
  name: string,
  when: (e: SelfPlayEvent) => boolean,
  resumeAt = 2,
): Promise<{ left: string[]; events: SelfPlayEvent[] }> => {
  const config = configFor(name);
  let killed = false;
  await assert.rejects(
    runSelfPlay({
      config,
      onEvent: (e) => {
        if (!killed && when(e)) {
          killed = true;
          throw new Killed(`killed at ${JSON.stringify(e)}`);
        }
      },
    }),
    Killed,
  );
  const runDir = String(config.outputDir);
  const left = await readdir(join(runDir, `iter-${resumeAt}`, "work")).catch(() => [] as string[]);
  const events: SelfPlayEvent[] = [];
  const resumed = await runSelfPlay({ config, resume: true, onEvent: (e) => void events.push(e) });
  assert.equal(resumed.startedAt, resumeAt, "complete iterations are not redone");
  assert.deepEqual(await outcome(runDir), expected);
  return { left, events };
};

test("killed during generation, resumed: the finished batch is reused and the results equal the uninterrupted run's", async () => {
  const { left } = await killAndResume("kill-generate", (e) => e.type === "progress" && e.phase === "generate" && e.iteration === 2);
  assert.deepEqual(left, ["generate"]);
});

test("killed during the reference pre-compute, resumed: same results", async () => {
  const { left } = await killAndResume("kill-reference", (e) => e.type === "progress" && e.phase === "reference" && e.iteration === 2);
  assert.ok(left.includes("reference"));
});

test("killed during training (mid-epoch, after an epoch checkpoint and before any), resumed: same results", async () => {
  const { left, events } = await killAndResume("kill-train", (e) => e.type === "metrics" && e.iteration === 2 && e.row.step === 6);
  assert.ok(left.includes("train"), "the epoch checkpoint is on disk");
  // The resumed iteration skips generation and the pre-compute (cached under its fingerprint) and
  // continues training after epoch 1 (step 4): its first reported step is 5.
  const notes = events.flatMap((e) => (e.type === "phase-end" && e.note !== undefined ? [`${e.phase}: ${e.note}`] : []));
  assert.ok(notes.some((n) => n.startsWith("generate: generations already on disk")));
  assert.ok(notes.some((n) => n.startsWith("reference: cached in")));
  const steps = events.flatMap((e) => (e.type === "metrics" ? [e.row.step] : []));
  assert.deepEqual(steps, [5, 6, 7, 8]);
  await killAndResume("kill-train-early", (e) => e.type === "metrics" && e.iteration === 1 && e.row.step === 1, 1);
});

test("an AbortSignal stops the run; resuming gives the same results", async () => {
  const config = configFor("abort");
  const controller = new AbortController();
  await assert.rejects(
    runSelfPlay({
      config,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "metrics" && e.iteration === 2 && e.row.step === 1) controller.abort(new Error("stop requested"));
      },
    }),
    /stop requested/,
  );
  await runSelfPlay({ config, resume: true });
  assert.deepEqual(await outcome(String(config.outputDir)), expected);
});

test("a child process killed with SIGKILL mid-training resumes to the same results", async () => {
  const config = configFor("sigkill");
  const configPath = join(fixture.dir, "sigkill.json");
  await writeFile(configPath, JSON.stringify(config));
  const output = await runChildUntilKilled(configPath, "2:6", "STEP 2 6");
  assert.ok(!output.includes("DONE"));
  assert.ok(!(await readdir(join(String(config.outputDir), "iter-2"))).includes("COMPLETE.json"));
  const resumed = await runSelfPlay({ config, resume: true });
  assert.equal(resumed.startedAt, 2);
  assert.deepEqual(await outcome(String(config.outputDir)), expected);
}, { timeout: 120_000 });

test("a phase result is stored when the phase completes and read back instead of computed again", async () => {
  const store = new IterateStore(join(fixture.dir, "resumable-store"));
  let runs = 0;
  const compute = () => Promise.resolve({ runs: ++runs, lpRef: [-1.5, -2.25] });
  const path = join(store.root, "iter-1", "phase.json");
  const first = await resumable(store, path, jsonFile<{ runs: number; lpRef: number[] }>(), compute);
  const second = await resumable(store, path, jsonFile<{ runs: number; lpRef: number[] }>(), compute);
  assert.deepEqual([first.resumed, second.resumed, runs], [false, true, 1]);
  assert.deepEqual(second.value, first.value);
  // JSON lines likewise; a missing file computes.
  const rows = join(store.root, "iter-1", "rows.jsonl");
  const a = await resumable(store, rows, jsonLines<{ id: number }>(), () => Promise.resolve([{ id: 1 }, { id: 2 }]));
  const b = await resumable(store, rows, jsonLines<{ id: number }>(), () => Promise.reject(new Error("not called")));
  assert.deepEqual([a.resumed, b.resumed], [false, true]);
  assert.deepEqual(b.value, [{ id: 1 }, { id: 2 }]);
});

test("cleanup", async () => {
  await fixture.cleanup();
});
