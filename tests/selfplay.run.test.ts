// selfplay/loop.ts end to end on a tiny model: a 2-iteration run writes complete iterates; the
// recorded window/assignment matches h; α = 1 equals the plain SPIN configuration (KL weights with
// λ = 0) step for step, with π_{t−1} as the reference; the reference log-probs stay fixed while the
// policy moves; the exports round-trip through the loaders.
import * as tf from "@tensorflow/tfjs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, assertClose, test } from "./harness.ts";
import { readSpinJsonl, readTrlDpoJsonl } from "../data/export.ts";
import { loadSftExamples } from "../data/sft.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import type { MetricsRow } from "../train/checkpoint.ts";
import type { GenerationRow } from "../selfplay/generation.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

// deno-lint-ignore no-explicit-any
const readJson = async (path: string): Promise<any> => JSON.parse(await readFile(path, "utf8"));
// deno-lint-ignore no-explicit-any
const readLines = async (path: string): Promise<any[]> =>
  (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

test("a 2-iteration run finishes and writes complete iterates, metrics and exports", async () => {
  const f = await setupFixture();
  try {
    const events: string[] = [];
    const result = await runSelfPlay({ config: smallConfig(f), onEvent: (e) => void events.push(e.type) });
    assert.equal(result.startedAt, 1);
    assert.deepEqual((await readdir(result.runDir)).sort(), ["config.json", "iter-1", "iter-2", "metrics.jsonl", "run.json"]);
    for (const t of [1, 2]) {
      const dir = join(result.runDir, `iter-${t}`);
      const marker = await readJson(join(dir, "COMPLETE.json"));
      assert.equal(marker.iteration, t);
      for (const file of marker.files) assert.ok((await readdir(dir)).includes(file.split("/")[0]), `${file} listed but missing`);
      assert.deepEqual((await readdir(join(dir, "adapter"))).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
      assert.ok(!(await readdir(dir)).includes("work"), "the work folder is removed");
      const metrics = await readLines(join(dir, "metrics.jsonl"));
      assert.equal(metrics.length, 4); // 4 pairs / batch 2 = 2 steps per epoch, 2 epochs
      for (const key of ["loss", "grad_norm", "learning_rate", "epoch", "step", "rewards/chosen", "rewards/rejected",
        "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"]) {
        assert.ok(Number.isFinite(metrics[0][key]), `${key} logged`);
      }
      assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4]);
      assert.equal((await readJson(join(dir, "config.json"))).alpha, 1);
    }
    assert.equal(result.metrics.length, 8);
    assert.equal((await readLines(join(result.runDir, "metrics.jsonl"))).length, 8);
    const stored = await readJson(join(result.runDir, "config.json"));
    assert.equal(stored.iterations, 2);
    // The result carries the config as the run decoded it (what config.json holds).
    assert.deepEqual(JSON.parse(JSON.stringify(result.config)), stored);
    assert.equal(stored.outputDir, result.runDir);
    assert.equal(stored.training.gradientAccumulation, 1, "the resolved config, defaults filled in");
    assert.match((await readJson(join(result.runDir, "run.json"))).fingerprints.config, /^[0-9a-f]{64}$/);
    for (const type of ["run-start", "iteration-start", "window", "phase-start", "progress", "metrics", "iteration-complete", "run-complete"]) {
      assert.ok(events.includes(type), `event ${type}`);
    }
    // Starting again without --resume is refused; resuming a finished run does nothing.
    await assert.rejects(runSelfPlay({ config: smallConfig(f) }), /already holds a run: pass --resume/);
    const again = await runSelfPlay({ config: smallConfig(f), resume: true });
    assert.equal(again.startedAt, 3);
    assert.equal(again.metrics.length, 8);
  } finally {
    await f.cleanup();
  }
});

test("the recorded window and assignment match h (1, 2, all, EMA opponent) and stored losers are reused", async () => {
  const f = await setupFixture();
  try {
    const expectMembers: Record<string, string[][]> = {
      h1: [["base"], ["iter-1"], ["iter-2"]],
      h2: [["base"], ["base", "iter-1"], ["iter-1", "iter-2"]],
      all: [["base"], ["base", "iter-1"], ["base", "iter-1", "iter-2"]],
      ema: [["ema-0"], ["ema-1"], ["ema-2"]],
    };
    const overrides: Record<string, Record<string, unknown>> = {
      h1: { h: 1 },
      h2: { h: 2 },
      all: { h: "all", assignment: "per-example" },
      ema: { opponent: "ema", reference: "ema" },
    };
    for (const [name, members] of Object.entries(expectMembers)) {
      const config = smallConfig(f, { name, iterations: 3, training: { epochs: 1, batchSize: 4, lr: 1e-2 }, ...overrides[name] });
      const result = await runSelfPlay({ config });
      for (let t = 1; t <= 3; t++) {
        const window = await readJson(join(result.runDir, `iter-${t}`, "window.json"));
        assert.deepEqual(window.members.map((m: { id: string }) => m.id), members[t - 1], `${name}, iteration ${t}`);
        const used = new Set(window.pairs.map((p: { iterate: string }) => p.iterate));
        const expectedPairs = name === "all" ? 4 : 4 * members[t - 1].length; // per-example: one pair per example
        assert.equal(window.pairs.length, expectedPairs, `${name}, iteration ${t}: pairs`);
        for (const id of used) assert.ok(members[t - 1].includes(id as string));
        const generations = (await readLines(join(result.runDir, `iter-${t}`, "generations.jsonl"))) as GenerationRow[];
        for (const p of window.pairs) {
          assert.ok(generations.some((g) => g.iterateId === p.iterate && g.exampleIndex === p.example), "every pair has its loser");
        }
        if (name === "h2" && t >= 2) {
          // The older member's losers were generated in the previous iteration and reused.
          const older = generations.filter((g) => g.iterateId === members[t - 1][0]);
          assert.ok(older.length === 4 && older.every((g) => g.generatedAt === t - 1), "reused from the store");
          assert.ok(generations.filter((g) => g.iterateId === members[t - 1][1]).every((g) => g.generatedAt === t));
        }
      }
      if (name === "ema") {
        assert.ok((await readdir(join(result.runDir, "iter-1"))).includes("ema"), "the EMA is stored with the iterate");
      }
    }
  } finally {
    await f.cleanup();
  }
});

test("α = 1, h = 1 equals plain SPIN (KL weights β, λ = 0) step for step, and uses π_{t−1} as the reference", async () => {
  const f = await setupFixture();
  try {
    const base = { iterations: 2, training: { epochs: 3, batchSize: 1, lr: 2e-2, warmupRatio: 0 }, lora: { r: 2, alpha: 4, dropout: 0 } };
    const alpha = await runSelfPlay({ config: smallConfig(f, { ...base, name: "alpha1", alpha: 1, beta: 0.2, data: { train: f.dataPath, maxExamples: 1 } }) });
    const spin = await runSelfPlay({
      config: smallConfig(f, { ...base, name: "spin", beta: undefined, klWeights: { beta: 0.2, lambda: 0 }, data: { train: f.dataPath, maxExamples: 1 } }),
    });
    const strip = (rows: readonly MetricsRow[]) => rows.map((r) => JSON.stringify(r));
    assert.deepEqual(strip(alpha.metrics), strip(spin.metrics));
    // One example, h = 1: every step of iteration t trains on the same pair, against lp_{t−1}.
    for (const t of [1, 2]) {
      const dir = join(alpha.runDir, `iter-${t}`);
      const cacheFile = (await readdir(join(dir, "reference")))[0];
      const ref = (await readJson(join(dir, "reference", cacheFile))).rows[0];
      if (t === 2) assert.ok(Math.abs(ref.lpPrevChosen - ref.lpBaseChosen) > 1e-4, "π_1 differs from π_base");
      const steps = alpha.metrics.filter((m) => m.iteration === t);
      assert.equal(steps.length, 3);
      // The first step starts at π_{t−1} = the reference: margin 0, loss log 2.
      assertClose([steps[0].loss, steps[0]["rewards/margins"]], [Math.log(2), 0], { atol: 2e-5 });
      for (const m of steps) {
        // rewards = β·(lp_θ − lp_{t−1}); loss = −log σ(margin) (independent arithmetic).
        assertClose([m["rewards/chosen"]], [0.2 * (m["logps/chosen"] - ref.lpPrevChosen)], { atol: 2e-4 });
        assertClose([m["rewards/rejected"]], [0.2 * (m["logps/rejected"] - ref.lpPrevRejected)], { atol: 2e-4 });
        assertClose([m.loss], [softplus(-(m["rewards/chosen"] - m["rewards/rejected"]))], { atol: 2e-5 });
      }
      // The reference never moves while the policy does: lp_ref = lp_θ − reward/β is the same every step.
      const refChosen = steps.map((m) => m["logps/chosen"] - m["rewards/chosen"] / 0.2);
      assertClose(refChosen, refChosen.map(() => ref.lpPrevChosen), { atol: 2e-3 });
      assert.ok(Math.abs(steps[2]["logps/chosen"] - steps[0]["logps/chosen"]) > 1e-3, "the policy moved");
    }
    // With α < 1 the same run is a different one (the base enters the reference at t = 2).
    const mixed = await runSelfPlay({ config: smallConfig(f, { ...base, name: "mixed", alpha: 0.5, beta: 0.2, data: { train: f.dataPath, maxExamples: 1 } }) });
    assert.deepEqual(strip(mixed.metrics.slice(0, 3)), strip(alpha.metrics.slice(0, 3)), "t = 1: π_prev = π_base, α does not matter");
    assert.ok(Math.abs(mixed.metrics[3].loss - Math.log(2)) > 1e-4, "t = 2: the reference is not π_1");
  } finally {
    await f.cleanup();
  }
});

test("full fine-tuning, the geometric-mixture sampler, the arithmetic reference and gradient accumulation; no tensor leaks", async () => {
  const f = await setupFixture();
  try {
    const tensorsBefore = tf.memory().numTensors;
    // Full fine-tuning writes Hugging Face model folders (with the tokenizer files) that load again.
    const full = await runSelfPlay({ config: smallConfig(f, { name: "full", finetune: "full", training: { epochs: 1, batchSize: 2, lr: 1e-3 } }) });
    for (const t of [1, 2]) {
      const files = await readdir(join(full.runDir, `iter-${t}`, "model"));
      for (const file of ["config.json", "model.safetensors", "tokenizer_config.json"]) assert.ok(files.includes(file), `iter-${t}/model/${file}`);
    }
    const reloaded = await loadHfModel(join(full.runDir, "iter-2", "model"));
    reloaded.dispose();
    assert.equal(full.metrics.length, 4);

    // Geometric sampling: K candidates per prompt from the token-level mixture, one kept by resampling.
    const geo = await runSelfPlay({
      config: smallConfig(f, {
        name: "geometric",
        alpha: 0.5,
        geometricSampling: { enabled: true, candidates: 3, resample: "systematic" },
        training: { epochs: 1, batchSize: 1, gradientAccumulation: 2, lr: 1e-2 },
      }),
    });
    for (const t of [1, 2]) {
      const rows = (await readLines(join(geo.runDir, `iter-${t}`, "generations.jsonl"))) as GenerationRow[];
      assert.ok(rows.every((r) => r.sampler === "geometric(alpha=0.5,K=3,systematic)"));
      assert.ok(rows.every((r) => r.ess! >= 1 - 1e-9 && r.ess! <= 3 + 1e-9 && r.logMeanWeight! <= 1e-9), "ESS in [1, K], log Z ≤ 0");
    }
    // 4 pairs, micro-batches of 1, 2 per update: 2 updates per epoch.
    assert.deepEqual(geo.metrics.map((m) => m.step), [1, 2, 1, 2]);

    // Arithmetic reference over the window (h = 2): lp_prev = log(½·π_base + ½·π_1) at iteration 2, then the
    // α-geometric combination with π_base as usual: the export's reference is α·lp_prev + (1 − α)·lp_base.
    const arith = await runSelfPlay({
      config: smallConfig(f, { name: "arith", h: 2, alpha: 0.25, reference: "arithmetic", training: { epochs: 1, batchSize: 4 } }),
    });
    const dir = join(arith.runDir, "iter-2");
    const cache = await readJson(join(dir, "reference", (await readdir(join(dir, "reference")))[0]));
    assert.deepEqual(cache.prevModels.map((m: { weight: number }) => m.weight), [0.5, 0.5]);
    const dpo = await readTrlDpoJsonl(join(dir, "pairs.dpo.jsonl"));
    assert.equal(dpo.length, 8);
    dpo.forEach((r, i) => {
      const row = cache.rows[i];
      const [baseC, prevC] = row.prevParts.chosen, [baseR, prevR] = row.prevParts.rejected;
      assertClose([baseC, baseR], [row.lpBaseChosen, row.lpBaseRejected], { atol: 0 });
      const mix = (a: number, b: number) => Math.log(0.5 * Math.exp(a) + 0.5 * Math.exp(b));
      assertClose([row.lpPrevChosen, row.lpPrevRejected], [mix(baseC, prevC), mix(baseR, prevR)], { rtol: 1e-12 });
      assertClose([r.refChosenLogp!, r.refRejectedLogp!], [
        0.25 * row.lpPrevChosen + 0.75 * row.lpBaseChosen,
        0.25 * row.lpPrevRejected + 0.75 * row.lpBaseRejected,
      ], { rtol: 1e-12 });
    });
    assert.equal(tf.memory().numTensors, tensorsBefore, "every run frees what it made");
  } finally {
    await f.cleanup();
  }
});

test("the exports round-trip through the loaders: TRL DPO and SPIN formats match the data and the generations", async () => {
  const f = await setupFixture();
  try {
    const result = await runSelfPlay({ config: smallConfig(f, { iterations: 1, training: { epochs: 1, batchSize: 4 } }) });
    const dir = join(result.runDir, "iter-1");
    const sft = await loadSftExamples(f.dataPath, { schema: "messages" });
    const generations = (await readLines(join(dir, "generations.jsonl"))) as GenerationRow[];
    const dpo = await readTrlDpoJsonl(join(dir, "pairs.dpo.jsonl"));
    const spin = await readSpinJsonl(join(dir, "pairs.spin.jsonl"));
    const refCache = (await readJson(join(dir, "reference", (await readdir(join(dir, "reference")))[0]))).rows;
    assert.equal(dpo.length, 4);
    dpo.forEach((record, i) => {
      assert.equal(record.id, sft[i].id);
      assert.equal(record.prompt, sft[i].prompt);
      assert.equal(record.chosen, sft[i].completion);
      assert.equal(record.rejected, generations[i].text);
      // α = 1: the reference of the export is lp_prev (= lp_base at t = 1).
      assertClose([record.refChosenLogp!, record.refRejectedLogp!], [refCache[i].lpPrevChosen, refCache[i].lpPrevRejected], { atol: 1e-9 });
      assert.equal(spin[i].prompt, sft[i].prompt);
      assert.equal(spin[i].chosen, sft[i].completion);
      assert.equal(spin[i].rejected, generations[i].text);
      assert.deepEqual(spin[i].promptMessages, sft[i].promptMessages);
    });
  } finally {
    await f.cleanup();
  }
});

test("UltraChat Parquet input: a run reads the messages column like the JSONL form", async () => {
  const f = await setupFixture();
  try {
    const parquet = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "fixtures", "ultrachat-tiny.parquet");
    const result = await runSelfPlay({
      config: smallConfig(f, { name: "parquet", iterations: 1, data: { train: parquet, maxExamples: 3 }, training: { epochs: 1, batchSize: 3 } }),
    });
    const dpo = await readTrlDpoJsonl(join(result.runDir, "iter-1", "pairs.dpo.jsonl"));
    assert.deepEqual(dpo.map((r) => r.id), ["p1", "p2", "p3"]);
  } finally {
    await f.cleanup();
  }
});
