// train/external-command.ts and train/import-adapter.ts: the command template through a real
// /bin/sh, then whole iterations run by a fake trainer (tests/fixtures/fake-trl-trainer.ts) that
// reads the exported pairs and saves a PEFT adapter with the tiny Llama's shapes; the imported
// iterate is checked against values the test computes from the pairs, and every failure (exit
// code, no adapter, wrong rank, targets, base model or sizes, a used output folder, pairs without
// reference log-probs) is refused with a message naming it, with no iterate written.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assert, isDeno, test } from "./harness.ts";
import { type PreferenceRecord, withAlphaMixedReference } from "../data/export.ts";
import { configFromHf } from "../models/hf-config.ts";
import { readPeftAdapter } from "../models/peft.ts";
import {
  renderTrainCommand,
  runTrainCommand,
  shellQuote,
  type TrainCommandValues,
  trainOnCommand,
} from "../train/external-command.ts";

const here = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const modelDir = join(here, "fixtures", "hf-tiny-llama");
const fakeTrainer = join(here, "fixtures", "fake-trl-trainer.ts");
const modelConfig = configFromHf(JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")));
const repoRoot = resolve(here, "..");

// The fake trainer runs on this test's own runtime: tsx under Node, `deno run` under Deno.
const runtime = isDeno
  ? `${shellQuote(process.execPath)} run -A --no-check --quiet ${shellQuote(fakeTrainer)}`
  : `${shellQuote(process.execPath)} --import tsx ${shellQuote(fakeTrainer)}`;
const template = (mode = "ok"): string =>
  `${runtime} --pairs-jsonl {pairs_jsonl} --pairs-parquet {pairs_parquet} --base-model {base_model} ` +
  `--init-adapter {init_adapter} --output-dir {output_dir} --beta {beta} --rank {lora_r} ` +
  `--targets {lora_targets} --mode ${mode}`;

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-spin-external-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const alpha = 0.7;
const pairs = (t: number): PreferenceRecord[] =>
  [0, 1, 2].map((i) =>
    withAlphaMixedReference(
      {
        id: `p${i}`,
        prompt: `Q${i} it's "quoted"?`,
        promptMessages: null,
        chosen: `A${i}`,
        rejected: `B${i}`,
        refChosenLogp: null,
        refRejectedLogp: null,
      },
      alpha,
      {
        lpPrevChosen: -2 - i - t,
        lpBaseChosen: -3 - i,
        lpPrevRejected: -9 - 2 * i,
        lpBaseRejected: -7 - t,
      },
    )
  );
// Independent: the mean of α·(lpPrev_w − lpPrev_l) + (1 − α)·(lpBase_w − lpBase_l) over the pairs.
const meanMargin = (t: number): number =>
  [0, 1, 2].reduce(
    (s, i) => s + alpha * ((-2 - i - t) - (-9 - 2 * i)) + (1 - alpha) * ((-3 - i) - (-7 - t)),
    0,
  ) / 3;

const expect = {
  modelConfig,
  r: 4,
  alpha: 8,
  targetModules: ["q_proj", "v_proj"],
  baseModelNames: [modelDir],
};
const values = (t: number, initAdapter: string | null) => ({
  baseModel: modelDir,
  initAdapter,
  beta: 0.1 * t,
  iteration: t,
  seed: 7,
  loraR: 4,
  loraTargets: ["q_proj", "v_proj"],
});

test("renderTrainCommand: every value is one shell word through /bin/sh; ${VAR} is left to the shell", () => {
  const v: TrainCommandValues = {
    pairsJsonl: "/runs/my run/pairs.dpo.jsonl",
    pairsParquet: "it's; rm -rf $HOME `x`",
    baseModel: "google/gemma-2b",
    initAdapter: null,
    outputDir: 'out "dir"',
    beta: 0.1,
    iteration: 2,
    seed: 42,
  };
  const command = renderTrainCommand(
    `printf '%s\\n' {pairs_jsonl} {pairs_parquet} {base_model} {init_adapter} {output_dir} {beta} {iteration} {seed} "\${NOT_A_PLACEHOLDER-kept}"`,
    v,
  );
  const words = execFileSync("/bin/sh", ["-c", command], { encoding: "utf8" }).split("\n").slice(0, -1);
  assert.deepEqual(words, [
    v.pairsJsonl,
    v.pairsParquet,
    v.baseModel,
    "",
    v.outputDir,
    "0.1",
    "2",
    "42",
    "kept",
  ]);
  assert.throws(
    () => renderTrainCommand("train {pairs} {outdir}", v),
    /unknown placeholder \{pairs\}.*unknown placeholder \{outdir\}/,
  );
  assert.throws(
    () => renderTrainCommand("train --lr {learning_rate}", v),
    /placeholder \{learning_rate\} has no value/,
  );
  assert.throws(() => renderTrainCommand("train {pairs_jsonl}", v), /it must use \{output_dir\}/);
  assert.throws(
    () => renderTrainCommand("train {output_dir}", v),
    /it must use \{pairs_jsonl\} or \{pairs_parquet\}/,
  );
  assert.equal(
    renderTrainCommand("x {lora_targets} {pairs_parquet} {output_dir}", {
      ...v,
      loraTargets: ["q_proj", "v_proj"],
    }),
    `x 'q_proj,v_proj' 'it'\\''s; rm -rf $HOME \`x\`' 'out "dir"'`,
  );
});

test("two iterations on the fake trainer: pairs exported, adapters imported as iterates, t = 2 starts at t = 1's", async () => {
  await withDir(async (dir) => {
    const it1 = join(dir, "iter-1");
    const r1 = await trainOnCommand({
      template: template(),
      iterationDir: it1,
      records: pairs(1),
      values: values(1, null),
      expect,
      cwd: repoRoot,
    });
    assert.equal(r1.adapterDir, join(it1, "adapter"));
    const a1 = await readPeftAdapter(r1.adapterDir);
    assert.equal(a1.baseModelNameOrPath, modelDir);
    assert.deepEqual(Object.keys(a1.modules).sort(), [
      "model.layers.0.self_attn.q_proj",
      "model.layers.0.self_attn.v_proj",
      "model.layers.1.self_attn.q_proj",
      "model.layers.1.self_attn.v_proj",
    ]);
    const b1 = 0.1 * meanMargin(1);
    const q1 = a1.modules["model.layers.1.self_attn.q_proj"];
    assert.deepEqual([...q1.A.shape, ...q1.B.shape], [4, 32, 32, 4]);
    assert.ok(
      q1.B.data.every((x) => Math.abs(x - b1) < 1e-6),
      `B = β·mean margin = ${b1}, got ${q1.B.data[0]}`,
    );
    const log = readFileSync(r1.logPath, "utf8");
    assert.match(log, /alpha-spin runs: .*fake-trl-trainer\.ts' --pairs-jsonl '.*iter-1\/pairs\.dpo\.jsonl'/);
    assert.match(log, /fake trainer: 3 pairs, mean reference margin/);
    assert.ok(existsSync(join(it1, "pairs.dpo.parquet")));

    const it2 = join(dir, "iter-2");
    const r2 = await trainOnCommand({
      template: template(),
      iterationDir: it2,
      records: pairs(2),
      values: values(2, r1.adapterDir),
      expect,
      cwd: repoRoot,
    });
    const q2 = (await readPeftAdapter(r2.adapterDir)).modules["model.layers.1.self_attn.q_proj"];
    const b2 = b1 + 0.2 * meanMargin(2);
    assert.ok(q2.B.data.every((x) => Math.abs(x - b2) < 1e-5), `B = ${b2}, got ${q2.B.data[0]}`);
  });
});

test("an aborted command is killed and reported; a command that is not found is an exit code 127", async () => {
  await withDir(async (dir) => {
    const logPath = join(dir, "run.log");
    const controller = new AbortController();
    const running = runTrainCommand({
      command: "echo started; exec sleep 30",
      logPath,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 300);
    const t0 = Date.now();
    await assert.rejects(
      running,
      /the training command was killed by SIGTERM \(aborted\):\n {2}echo started; exec sleep 30/,
    );
    assert.ok(Date.now() - t0 < 10_000);
    const seen: string[] = [];
    await runTrainCommand({
      command: "echo to-the-log; echo to-stderr >&2",
      logPath,
      onOutput: (t) => seen.push(t),
    });
    assert.deepEqual(seen.join("").split("\n").filter((l) => l !== "").sort(), ["to-stderr", "to-the-log"]);
    await assert.rejects(
      () => runTrainCommand({ command: "no-such-trainer-xyz --go", logPath }),
      /exited with code 127:[\s\S]*no-such-trainer-xyz: (\d+: )?(no-such-trainer-xyz: )?not found/,
    );
    assert.match(
      readFileSync(logPath, "utf8"),
      /alpha-spin runs: echo started[\s\S]*started\n[\s\S]*to-the-log\n[\s\S]*alpha-spin runs: no-such/,
    );
  });
});

test("a failing command is an error naming the command, its exit code, the log and the log's last lines", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      () =>
        trainOnCommand({
          template: template("exit"),
          iterationDir: dir,
          records: pairs(1),
          values: values(1, null),
          expect,
          cwd: repoRoot,
        }),
      (e: unknown) => {
        const m = (e as Error).message;
        assert.match(m, /the training command exited with code 3:\n {2}.*fake-trl-trainer\.ts.*--mode exit/);
        assert.ok(m.includes(`log: ${join(dir, "train-command.log")}`), m);
        assert.match(m, /CUDA out of memory \(pretend\)/);
        return true;
      },
    );
    assert.equal(existsSync(join(dir, "adapter")), false);
  });
});

const refused: [string, RegExp][] = [
  [
    "no-adapter",
    /the training command succeeded \(log: .*train-command\.log\) but the trained adapter cannot be imported: .*trainer-output does not exist/,
  ],
  ["wrong-rank", /does not fit this run:\n {2}- r is 5, the run is configured with r = 4/],
  [
    "wrong-targets",
    /target modules \["k_proj"\] differ from the run's \["q_proj","v_proj"\]; not adapted: model\.layers\.0\.self_attn\.q_proj/,
  ],
  [
    "wrong-base",
    /base_model_name_or_path is "someone\/other-model", the run's base model is ".*hf-tiny-llama"/,
  ],
  [
    "wrong-size",
    /model\.layers\.0\.self_attn\.q_proj has lora_A \[4,33\] and lora_B \[32,4\], the model needs \[4,32\] and \[32,4\]/,
  ],
];
for (const [mode, message] of refused) {
  test(`an adapter that does not fit is refused (${mode}), and no iterate is written`, async () => {
    await withDir(async (dir) => {
      await assert.rejects(
        () =>
          trainOnCommand({
            template: template(mode),
            iterationDir: dir,
            records: pairs(1),
            values: values(1, null),
            expect,
            cwd: repoRoot,
          }),
        message,
      );
      assert.equal(existsSync(join(dir, "adapter")), false);
    });
  });
}

test("a used output folder and pairs without reference log-probs are refused before anything runs", async () => {
  await withDir(async (dir) => {
    mkdirSync(join(dir, "trainer-output"));
    writeFileSync(join(dir, "trainer-output", "adapter_config.json"), "{}");
    const run = (records: PreferenceRecord[]) =>
      trainOnCommand({
        template: template(),
        iterationDir: dir,
        records,
        values: values(1, null),
        expect,
        cwd: repoRoot,
      });
    await assert.rejects(() => run(pairs(1)), /trainer-output is not empty \(adapter_config\.json\)/);
    rmSync(join(dir, "trainer-output"), { recursive: true });
    const bad = pairs(1).map((r, i) => (i === 1 ? { ...r, refRejectedLogp: null } : r));
    await assert.rejects(() => run(bad), /pair 2 \(p1\): no finite ref_rejected_logps/);
    assert.equal(existsSync(join(dir, "train-command.log")), false);
    assert.equal(existsSync(join(dir, "pairs.dpo.jsonl")), false);
  });
});
