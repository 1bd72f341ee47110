// Bad input to a self-play run: each is refused with a clear message (file:line and field, the
// config path and rule, the known names) and leaves no run folder behind; a NaN loss stops the
// iteration naming the step and keeps the earlier iterates; a resume under another config is refused.
import { spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import process from "node:process";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { defineLoss, logRatios, mulScalar, negLogSigmoid, preferenceMetrics } from "../losses/define.ts";
import { paramsCodec } from "../losses/params.ts";
import { positive } from "../core/config.ts";
import { createLossRegistry, lossRegistry } from "../losses/registry.ts";
import { makeConfig } from "../models/config.ts";
import { saveHfModel } from "../models/hf-load.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { createTransformer } from "../models/transformer.ts";
import { resolveRunConfig } from "../selfplay/config.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { NonFiniteLossError } from "../train/train.ts";
import { setupFixture, smallConfig, ultrachatRows, writeJsonlFile } from "./selfplay.support.ts";

const fixture = await setupFixture();

const exists = async (path: string): Promise<boolean> => {
  try {
    await readdir(path);
    return true;
  } catch {
    return false;
  }
};

/** The run must fail with `pattern`, and leave no output folder. */
const refused = async (name: string, overrides: Record<string, unknown>, pattern: RegExp, extra: Record<string, unknown> = {}): Promise<void> => {
  const config = smallConfig(fixture, { name, ...overrides });
  await assert.rejects(runSelfPlay({ config, ...extra }), (e: Error) => {
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(!(await exists(String(config.outputDir))), `${name}: nothing is written`);
};

const dataFile = async (name: string, lines: readonly string[]): Promise<string> => {
  const path = join(fixture.dir, name);
  await writeFile(path, lines.join("\n") + "\n");
  return path;
};

test("a malformed JSONL line and a missing field are reported with file:line and the field", async () => {
  const good = JSON.stringify(ultrachatRows[0]);
  const broken = await dataFile("broken.jsonl", [good, good, '{"messages": [{"role": "user", "content": "x"}', good]);
  await refused("broken", { data: { train: broken } }, /broken\.jsonl:3: invalid JSON/);
  const missing = await dataFile("missing.jsonl", [good, JSON.stringify({ prompt_id: "q", msgs: [] })]);
  await refused("missing", { data: { train: missing } }, /missing\.jsonl:2: missing field "messages"/);
});

test("a bad Parquet row is reported as file row N", async () => {
  const parquet = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "fixtures", "ultrachat-tiny.parquet");
  await refused("parquet", { data: { train: parquet } }, /ultrachat-tiny\.parquet row 4: no assistant turn in messages/);
});

test("an empty completion is refused with its file:line", async () => {
  const empty = await dataFile("empty.jsonl", [
    JSON.stringify(ultrachatRows[0]),
    JSON.stringify({ messages: [{ role: "user", content: "q" }, { role: "assistant", content: "  " }] }),
  ]);
  await refused("empty", { data: { train: empty } }, /empty\.jsonl:2: empty completion/);
});

test("a prompt longer than maxLength (with no maxPromptLength to cut it) is refused with its file:line", async () => {
  const long = await dataFile("long.jsonl", [
    JSON.stringify(ultrachatRows[0]),
    JSON.stringify({ messages: [{ role: "user", content: "x".repeat(60) }, { role: "assistant", content: "y" }] }),
  ]);
  await refused("long", { data: { train: long }, maxPromptLength: null }, /long\.jsonl:2: prompt of 61 tokens leaves no room for a completion within maxLength 40/);
});

test("a tokenizer whose vocabulary does not fit the model is refused", async () => {
  const small = join(fixture.dir, "small-vocab");
  const model = createTransformer(makeConfig({ family: "gpt2", vocabSize: 100, hiddenSize: 8, numLayers: 1, numHeads: 2, maxPositions: 32 }), { seed: 1 });
  await saveHfModel(model, small);
  model.dispose();
  await writeFile(join(small, "tokenizer_config.json"), JSON.stringify(new ByteTokenizer().toConfig()));
  await refused("vocab", { model: small }, /tokenizer's vocabulary \(259 ids\) does not fit the model's \(100 embedding rows\)/);
});

test("config errors by path and rule: α ∉ [0, 1], h < 1, β <= 0, unknown loss (with the known ones), unknown key", async () => {
  await refused("alpha", { alpha: 1.5 }, /alpha: must be in \[0, 1\] \(got 1\.5\)/);
  await refused("alpha-list", { alpha: [1, -0.5] }, /alpha\[1\]: must be in \[0, 1\]/);
  await refused("h", { h: 0 }, /h: must be an integer >= 1 or "all" \(got 0\)/);
  await refused("beta", { beta: 0 }, /beta: must be > 0 \(got 0\)/);
  await refused("loss", { loss: { name: "sigmiod" } }, /loss\.name: unknown loss "sigmiod" \(did you mean "sigmoid"\?.*known: .*hinge.*sigmoid/);
  await refused("key", { traning: { lr: 1 } }, /traning: unknown key \(did you mean "training"\?\)/);
  await refused("loss-param", { loss: { name: "sigmoid", params: { labelSmothing: 0.1 } } }, /loss\.params: .*labelSmothing/);
});

test("losses self-play cannot run as configured are refused before anything starts", async () => {
  // Refused when the config is decoded, at the first iteration that needs the normalizer: at t = 1
  // π_prev is π_base, so the reference is π_base whatever α.
  await refused("not-margin-only", { alpha: 0.5, loss: { name: "sppo_hard" } }, /loss\.name: iteration 2: loss "sppo_hard" is not margin-only.*"allowNonInvariant": "per-prompt-normalizer-ignored"/);
  await refused("needs-inputs", { alpha: 1, loss: { name: "sppo" } }, /loss "sppo" needs inputs self-play does not provide \(winRateChosen, winRateRejected\)/);
});

test("a loss that is not margin-only with 0 < α < 1: refused at decode from iteration 2 on, unless the config opts in", () => {
  const raw = (overrides: Record<string, unknown>) => smallConfig(fixture, { name: "decode-only", alpha: 0.5, loss: { name: "sppo_hard" }, ...overrides });
  const options = { lossRegistry: lossRegistry };
  assert.throws(() => resolveRunConfig(raw({}), options), /loss\.name: iteration 2: loss "sppo_hard" is not margin-only/);
  // The same alpha only at iteration 1, or alpha 1 from iteration 2: nothing to refuse.
  assert.equal(resolveRunConfig(raw({ iterations: 1 }), options).loss.name, "sppo_hard");
  assert.equal(resolveRunConfig(raw({ alpha: [0.5, 1] }), options).loss.name, "sppo_hard");
  // The documented opt-in, kept in the decoded config.
  const opted = resolveRunConfig(raw({ loss: { name: "sppo_hard", allowNonInvariant: "per-prompt-normalizer-ignored" } }), options);
  assert.equal(opted.loss.allowNonInvariant, "per-prompt-normalizer-ignored");
  assert.throws(() => resolveRunConfig(raw({ loss: { name: "sppo_hard", allowNonInvariant: "yes" } }), options), /loss\.allowNonInvariant/);
  // A config without the key keeps none (its fingerprint is the one earlier versions computed).
  assert.ok(!("allowNonInvariant" in resolveRunConfig(raw({ alpha: 1 }), options).loss));
});

test("a missing model folder is refused", async () => {
  await refused("no-model", { model: join(fixture.dir, "nowhere") }, /model folder .*nowhere does not exist/);
});

test("a NaN loss stops the iteration naming the step; earlier iterates stay complete", async () => {
  // A loss that is NaN once β exceeds 0.15 (β is 0.1 at iteration 1, 0.2 at iteration 2).
  const nanLoss = defineLoss<{ beta: number }>({
    name: "nan_late",
    description: "test loss: the sigmoid loss, NaN for beta > 0.15",
    params: paramsCodec<{ beta: number }>("nan_late", { beta: positive }),
    defaults: { beta: 0.1 },
    marginOnly: true,
    marginOnlyReason: "a function of h",
    logRatioOnly: true,
    directional: true,
    source: "test",
    kernel: (ops) => (pair, { beta }) => {
      const lr = logRatios(ops)(pair);
      const base = negLogSigmoid(ops)(mulScalar(ops)(beta, lr.margin));
      return { loss: beta > 0.15 ? ops.mul(base, ops.log(ops.scalar(-1))) : base, metrics: preferenceMetrics(ops)(pair, lr, beta) };
    },
  });
  const registry = createLossRegistry().register(nanLoss);
  const config = smallConfig(fixture, { name: "nan", beta: [0.1, 0.2], loss: { name: "nan_late" } });
  await assert.rejects(runSelfPlay({ config, lossRegistry: registry }), (e: Error) => {
    assert.ok(e instanceof NonFiniteLossError);
    assert.match(e.message, /iteration 2, step 1: the loss is NaN; training stopped \(earlier iterates are kept\)/);
    return true;
  });
  const runDir = String(config.outputDir);
  assert.ok((await readdir(join(runDir, "iter-1"))).includes("COMPLETE.json"));
  assert.ok(!(await readdir(join(runDir, "iter-2"))).includes("COMPLETE.json"));
  assert.ok(!(await readdir(join(runDir, "iter-2"))).includes("adapter"));
});

test("resuming under another config or other data is refused, naming what differs; a foreign folder is never used", async () => {
  const data = join(fixture.dir, "resume-data.jsonl");
  await writeJsonlFile(data, ultrachatRows);
  const config = smallConfig(fixture, { name: "resume-other", iterations: 1, data: { train: data }, training: { epochs: 1, batchSize: 4 } });
  await runSelfPlay({ config });
  await assert.rejects(
    runSelfPlay({ config: { ...config, beta: 0.3 }, resume: true }),
    /cannot resume .*resume-other: it was started with another config \(different: beta\)/,
  );
  await assert.rejects(
    runSelfPlay({ config: { ...config, training: { epochs: 2, batchSize: 4 } }, resume: true }),
    /different: training\.epochs/,
  );
  await writeJsonlFile(data, ultrachatRows.slice(0, 3));
  await assert.rejects(runSelfPlay({ config, resume: true }), /cannot resume .*the training data changed/);
  // The fixture folder (a model, data files) is not empty and holds no run.
  await assert.rejects(runSelfPlay({ config: { ...config, outputDir: fixture.dir }, resume: true }), /is not empty and holds no alpha-spin run/);
});

test("an iteration whose every update is warm-up is warned about (one update at learning rate 0 learns nothing)", async () => {
  const warnings: string[] = [];
  await runSelfPlay({
    config: smallConfig(fixture, { name: "all-warmup", iterations: 1, training: { epochs: 1, batchSize: 8, lr: 1e-2, warmupRatio: 0.1 } }),
    onEvent: (e) => void (e.type === "warning" && warnings.push(e.message)),
  });
  assert.ok(
    warnings.some((w) => /iteration 1: all 1 optimizer update\(s\) fall in the warm-up .* the only update uses 0/.test(w)),
    warnings.join("\n"),
  );
});

test("a run folder held by a live process is refused naming it; a lock left by a dead process is taken over", async () => {
  const config = smallConfig(fixture, { name: "locked", iterations: 1 });
  const dir = String(config.outputDir), lock = join(dir, ".lock");
  await mkdir(dir, { recursive: true });
  // pid 1 (init) is alive on every host; another host's lock cannot be checked, so it holds too.
  for (const holder of [{ pid: 1, host: hostname() }, { pid: 12345, host: "elsewhere.example" }]) {
    await writeFile(lock, JSON.stringify({ ...holder, startedAt: "2026-01-01T00:00:00.000Z" }));
    await assert.rejects(runSelfPlay({ config }), new RegExp(`in use by process ${holder.pid} on ${holder.host.replace(".", "\\.")}`));
    assert.deepEqual(await readdir(dir), [".lock"], "nothing written");
  }
  // A process that has exited: its lock is stale.
  const child = spawn(process.execPath, ["-e", "0"]);
  const pid = child.pid!;
  await new Promise((done) => child.on("exit", done));
  await writeFile(lock, JSON.stringify({ pid, host: hostname(), startedAt: "2026-01-01T00:00:00.000Z" }));
  const result = await runSelfPlay({ config });
  assert.equal(result.startedAt, 1);
  assert.ok(!(await readdir(dir)).includes(".lock"), "released at the end");
});

test("cleanup", async () => {
  await fixture.cleanup();
});
