// training.engine "command" (selfplay/phases/train-command.ts) end to end on the tiny model: a
// 2-iteration run whose training is scripts/dpo-on-pairs.ts, a separate process that trains on the
// TRL DPO JSONL the iteration wrote, gives the same iterates as the local engine (adapter weights
// equal to float32 tolerance, iteration 2 included, so iteration 2 was generated and scored with the
// imported iterate 1); the command received exactly the stored lp_ref; a failing command names
// the command and the log and loses nothing; a run stopped while the command runs resumes in a
// fresh output folder and keeps the old one (also when the run's process is killed with SIGKILL); an adapter of the wrong rank or targets is refused;
// and the config keys are checked before anything is written.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { assert, assertClose, isDeno, test } from "./harness.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { decodeRunConfig } from "../selfplay/config.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { shellQuote } from "../train/external-command.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

const here = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const repoRoot = resolve(here, "..");
const runtime = (script: string): string =>
  isDeno
    ? `${shellQuote(process.execPath)} run -A --no-check --quiet ${shellQuote(join(repoRoot, script))}`
    : `${shellQuote(process.execPath)} --import tsx ${shellQuote(join(repoRoot, script))}`;
const trainer = `${runtime("scripts/dpo-on-pairs.ts")} --pairs {pairs_jsonl} --run-config {run_config} ` +
  "--base-model {base_model} --init-adapter {init_adapter} --output-dir {output_dir}";
const training = { epochs: 2, batchSize: 2, lr: 1e-2, warmupRatio: 0 };

// deno-lint-ignore no-explicit-any
const readJson = async (path: string): Promise<any> => JSON.parse(await readFile(path, "utf8"));
// deno-lint-ignore no-explicit-any
const readLines = async (path: string): Promise<any[]> =>
  (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

type Fixture = Awaited<ReturnType<typeof setupFixture>>;
const commandConfig = (f: Fixture, name: string, template: string, command: Record<string, unknown> = {}) =>
  smallConfig(f, { name, training: { ...training, engine: "command", command: { template, ...command } } });

const assertSameAdapter = async (actualDir: string, expectedDir: string, what: string): Promise<void> => {
  const actual = await readPeftAdapter(actualDir), expected = await readPeftAdapter(expectedDir);
  assert.deepEqual(Object.keys(actual.modules).sort(), Object.keys(expected.modules).sort());
  for (const [name, { A, B }] of Object.entries(expected.modules)) {
    assertClose(actual.modules[name].A.data, A.data, { atol: 1e-6, message: `${what} ${name}.A` });
    assertClose(actual.modules[name].B.data, B.data, { atol: 1e-6, message: `${what} ${name}.B` });
  }
};

test("the command engine with scripts/dpo-on-pairs.ts gives the local engine's iterates", async () => {
  const f = await setupFixture();
  try {
    const local = await runSelfPlay({ config: smallConfig(f, { name: "local", training }) });
    const events: { type: string; note?: string }[] = [];
    const run = await runSelfPlay({ config: commandConfig(f, "command", trainer), onEvent: (e) => void events.push(e) });
    for (const t of [1, 2]) {
      const dir = join(run.runDir, `iter-${t}`);
      // the trainer saw exactly the stored lp_ref, pair by pair
      const lpRef = (await readJson(join(dir, "reference", "lp_ref.json"))).lpRef;
      const rows = await readLines(join(dir, "trainer", "pairs.dpo.jsonl"));
      assert.deepEqual(rows.map((r) => [r.ref_chosen_logps, r.ref_rejected_logps]), lpRef.map((r: { lpRefChosen: number; lpRefRejected: number }) => [r.lpRefChosen, r.lpRefRejected]));
      // the iterate is the trainer's adapter, and equals the locally trained one
      await assertSameAdapter(join(dir, "adapter"), join(dir, "trainer", "output-1"), `iteration ${t}: imported vs trainer's`);
      await assertSameAdapter(join(dir, "adapter"), join(local.runDir, `iter-${t}`, "adapter"), `iteration ${t}: command vs local`);
      const record = await readJson(join(dir, "trainer", "command.json"));
      assert.equal(record.attempt, 1);
      assert.equal(record.exitCode, 0);
      assert.ok(record.seconds > 0 && record.command.includes("dpo-on-pairs.ts"));
      assert.ok((await readFile(record.logPath, "utf8")).includes("adapter saved"));
      assert.ok((await readJson(join(dir, "COMPLETE.json"))).files.includes("trainer"));
    }
    // iteration 2 started from iterate 1 and was scored against it: its losers equal the local run's
    assert.deepEqual(
      (await readLines(join(run.runDir, "iter-2", "generations.jsonl"))).map((r) => r.ids),
      (await readLines(join(local.runDir, "iter-2", "generations.jsonl"))).map((r) => r.ids),
    );
    assert.equal(run.metrics.length, 0); // the command's steps are in its log, not in metrics.jsonl
    assert.equal(events.filter((e) => e.type === "phase-end" && e.note?.includes("training command attempt 1, exit 0")).length, 2);
  } finally {
    await f.cleanup();
  }
});

test("a failing or timed-out command names the command and its log, loses nothing, and --resume (template fixed) reruns it in a fresh folder", async () => {
  const f = await setupFixture();
  try {
    const failing = "echo 'pretend: CUDA out of memory' {pairs_jsonl} {output_dir} >&2; exit 3";
    const config: Record<string, unknown> = { ...commandConfig(f, "failing", failing), iterations: 1 };
    const error = await runSelfPlay({ config }).then(() => null, (e: Error) => e);
    const dir = join(String(config.outputDir), "iter-1");
    assert.ok(error !== null, "the run must fail");
    assert.match(error.message, /iteration 1: the training command exited with code 3/);
    assert.ok(error.message.includes("echo 'pretend: CUDA out of memory' '") && error.message.includes(join(dir, "trainer", "command.log")));
    assert.match(error.message, /pretend: CUDA out of memory/);
    assert.ok(!existsSync(join(dir, "COMPLETE.json")) && !existsSync(join(dir, "adapter")));
    const generated = (await stat(join(dir, "generations.jsonl"))).mtimeMs;
    const lpRef = await readFile(join(dir, "reference", "lp_ref.json"), "utf8");
    assert.ok(existsSync(join(dir, "trainer", "output-1")));

    await writeFile(join(dir, "trainer", "output-1", "note.txt"), "the user's file"); // never deleted
    // a second attempt runs past training.command.timeoutSeconds and is stopped
    const hanging = { ...commandConfig(f, "failing", ": {pairs_jsonl} {output_dir}; exec sleep 60", { timeoutSeconds: 0.5 }), iterations: 1 };
    const started = performance.now();
    await assert.rejects(runSelfPlay({ config: hanging, resume: true }), /ran past training\.command\.timeoutSeconds \(0\.5 s\) and was stopped; .*killed by SIGTERM/);
    assert.ok(performance.now() - started < 30_000, "the timeout stopped the command");
    // the template is fixed (it is not part of the config fingerprint) and the run resumed
    const resumed = await runSelfPlay({ config: { ...commandConfig(f, "failing", trainer), iterations: 1 }, resume: true });
    assert.equal(resumed.startedAt, 1);
    assert.equal((await stat(join(dir, "generations.jsonl"))).mtimeMs, generated, "the generations are not redone");
    assert.equal(await readFile(join(dir, "reference", "lp_ref.json"), "utf8"), lpRef);
    assert.equal((await readJson(join(dir, "trainer", "command.json"))).attempt, 3);
    assert.equal(await readFile(join(dir, "trainer", "output-1", "note.txt"), "utf8"), "the user's file");
    await assertSameAdapter(join(dir, "adapter"), join(dir, "trainer", "output-3"), "imported vs attempt 3");
    const log = await readFile(join(dir, "trainer", "command.log"), "utf8");
    assert.equal(log.split("\n").filter((l) => l.startsWith("# ")).length, 3, "one header per attempt");
  } finally {
    await f.cleanup();
  }
});

test("a run stopped while the command runs resumes in a fresh output folder and never imports twice", async () => {
  const f = await setupFixture();
  try {
    const flag = join(f.dir, "hang");
    await writeFile(flag, "");
    // with the flag: leave a partial file and hang (exec: the stop signal reaches the sleeping process)
    const template = `if [ -e ${shellQuote(flag)} ]; then mkdir -p {output_dir}; echo partial > {output_dir}/partial.bin; exec sleep 60; fi; ${trainer}`;
    const config: Record<string, unknown> = { ...commandConfig(f, "stopped", template), iterations: 1 };
    const dir = join(String(config.outputDir), "iter-1");
    const partial = join(dir, "trainer", "output-1", "partial.bin");
    const controller = new AbortController();
    const poll = setInterval(() => existsSync(partial) && controller.abort(), 50);
    const started = performance.now();
    const error = await runSelfPlay({ config, signal: controller.signal }).then(() => null, (e: Error) => e);
    clearInterval(poll);
    assert.ok(error !== null && /killed by SIGTERM \(aborted\)/.test(error.message), String(error));
    assert.ok(performance.now() - started < 30_000, "the stop reached the command");

    await rm(flag);
    await runSelfPlay({ config, resume: true });
    assert.equal(await readFile(partial, "utf8"), "partial\n", "the stopped attempt's files are kept");
    assert.equal((await readJson(join(dir, "trainer", "command.json"))).attempt, 2);
    await assertSameAdapter(join(dir, "adapter"), join(dir, "trainer", "output-2"), "imported vs attempt 2");

    // a resume after the import (COMPLETE.json removed by hand) loads the iterate, it runs nothing
    await rm(join(dir, "COMPLETE.json"));
    await writeFile(flag, "");
    const events: { type: string; note?: string }[] = [];
    await runSelfPlay({ config, resume: true, onEvent: (e) => void events.push(e) });
    assert.ok(events.some((e) => e.type === "phase-end" && e.note?.includes("imported before this resume")));
    assert.ok(!existsSync(join(dir, "trainer", "output-3")), "no third attempt");
  } finally {
    await f.cleanup();
  }
});

test("a run process killed with SIGKILL while the command runs resumes and finishes", async () => {
  const f = await setupFixture();
  let sleeper: number | null = null;
  try {
    const flag = join(f.dir, "hang");
    await writeFile(flag, "");
    // with the flag: leave a partial file and the sleeping process's id, and hang
    const template = `if [ -e ${shellQuote(flag)} ]; then mkdir -p {output_dir}; echo $$ > {output_dir}/pid; exec sleep 60; fi; ${trainer}`;
    const config: Record<string, unknown> = { ...commandConfig(f, "killed", template), iterations: 1 };
    const configPath = join(f.dir, "killed.json");
    await writeFile(configPath, JSON.stringify(config));
    const dir = join(String(config.outputDir), "iter-1");
    const pidFile = join(dir, "trainer", "output-1", "pid");
    const script = join(here, "selfplay.child-run.ts");
    const argv = isDeno ? ["run", "-A", script, configPath, "none"] : ["--import", "tsx", script, configPath, "none"];
    await new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.on("data", (chunk) => (err += String(chunk)));
      const poll = setInterval(() => existsSync(pidFile) && child.kill("SIGKILL"), 50);
      child.on("close", (code, signal) => {
        clearInterval(poll);
        if (signal === "SIGKILL") done();
        else fail(new Error(`the run ended with code ${code} before it was killed:\n${err}`));
      });
    });
    sleeper = Number((await readFile(pidFile, "utf8")).trim());
    assert.ok(!existsSync(join(dir, "COMPLETE.json")) && !existsSync(join(dir, "trainer", "command.json")));
    await rm(flag);
    const resumed = await runSelfPlay({ config, resume: true });
    assert.equal(resumed.startedAt, 1);
    assert.ok(existsSync(pidFile), "the killed attempt's files are kept");
    assert.equal((await readJson(join(dir, "trainer", "command.json"))).attempt, 2);
    await assertSameAdapter(join(dir, "adapter"), join(dir, "trainer", "output-2"), "imported vs attempt 2");
  } finally {
    if (sleeper !== null) {
      try {
        process.kill(sleeper, "SIGTERM"); // the orphaned `sleep` this test started
      } catch { /* already gone */ }
    }
    await f.cleanup();
  }
}, { timeout: 120_000 });

test("an adapter of the wrong rank or target modules is refused and no iterate is written", async () => {
  const f = await setupFixture();
  try {
    const fake = (rest: string) =>
      `${runtime("tests/fixtures/fake-trl-trainer.ts")} --pairs-jsonl {pairs_jsonl} --pairs-parquet {pairs_parquet} ` +
      `--base-model {base_model} --init-adapter {init_adapter} --output-dir {output_dir} --beta {beta} --rank {lora_r} ${rest}`;
    // the run adapts gpt2's default target (c_attn); the fake trainer's adapters: rank 3, or c_attn and c_fc
    const cases = [
      ["wrong-rank", fake("--targets {lora_targets} --mode wrong-rank"), /r is 3, the run is configured with r = 2/],
      ["wrong-targets", fake("--targets c_attn,c_fc --mode ok"), /differ from the run's \["c_attn"\]; adapted but not a target: transformer\.h\.0\.mlp\.c_fc/],
    ] as const;
    for (const [name, template, message] of cases) {
      const config: Record<string, unknown> = { ...commandConfig(f, name, template), iterations: 1 };
      const dir = join(String(config.outputDir), "iter-1");
      const error = await runSelfPlay({ config }).then(() => null, (e: Error) => e);
      assert.ok(error !== null, name);
      assert.match(error.message, /the training command succeeded \(log: .*command\.log\) but the trained adapter in .*output-1 does not fit this run/);
      assert.match(error.message, message);
      assert.ok(!existsSync(join(dir, "adapter")) && !existsSync(join(dir, "trainer", "command.json")), name);
    }
  } finally {
    await f.cleanup();
  }
});

test("training.engine and training.command are checked, naming the key, before anything is written", async () => {
  const base = { name: "x", data: { train: "t.jsonl" } };
  const problems = (raw: unknown): string => {
    const r = decodeRunConfig(raw);
    return r._tag === "Left" ? r.left.message : "";
  };
  assert.match(problems({ ...base, training: { engine: "command" } }), /training\.command: is needed with training\.engine "command"/);
  assert.match(problems({ ...base, training: { engine: "tfjs" } }), /training\.engine/);
  assert.match(problems({ ...base, training: { command: { template: "t {pairs_jsonl} {output_dir}" } } }), /training\.command: is only read with training\.engine "command"/);
  const command = { template: "t {pairs_jsonl} {output_dir}" };
  assert.match(problems({ ...base, finetune: "full", training: { engine: "command", command } }), /training\.engine: "command" imports a LoRA adapter/);
  assert.match(problems({ ...base, opponent: "ema", training: { engine: "command", command } }), /opponent: cannot be "ema"/);
  assert.match(problems({ ...base, reference: "ema", training: { engine: "command", command } }), /reference\.mixture: cannot be "ema"/);
  assert.match(problems({ ...base, method: "sppo", training: { engine: "command", command } }), /method: must be "spin" with training\.engine "command"/);
  assert.match(problems({ ...base, listwise: true, loss: { name: "plackett_luce" }, training: { engine: "command", command } }), /listwise: cannot be true with training\.engine "command"/);
  assert.match(problems({ ...base, training: { engine: "command", command: { ...command, env: ["1BAD"] } } }), /training\.command\.env\[0\]/);
  assert.match(problems({ ...base, training: { engine: "command", command: { ...command, tmplate: "x" } } }), /training\.command\.tmplate: unknown key/);
  assert.match(problems({ ...base, training: { engine: "command", command: { ...command, timeoutSeconds: 0 } } }), /training\.command\.timeoutSeconds/);
  const ok = decodeRunConfig({ ...base, training: { engine: "command", command } });
  assert.ok(ok._tag === "Right");
  assert.deepEqual(ok.right.training.command, { template: command.template, cwd: null, env: [], timeoutSeconds: null });
  assert.equal((decodeRunConfig(base) as { right: { training: { engine: string } } }).right.training.engine, "local");

  const f = await setupFixture();
  try {
    const unset = "ALPHA_SPIN_TEST_UNSET_" + Math.random().toString(36).slice(2);
    for (const [config, message] of [
      [commandConfig(f, "env", trainer, { env: [unset] }), new RegExp(`training\\.command\\.env: ${unset} not set`)],
      [commandConfig(f, "typo", `${trainer} {pairs_jsn}`), /training\.command\.template: .*unknown placeholder \{pairs_jsn\}/],
    ] as const) {
      await assert.rejects(runSelfPlay({ config }), message);
      assert.ok(!existsSync(String(config.outputDir)), "nothing written");
    }
  } finally {
    await f.cleanup();
  }
});
