// bench/: the runner's flags, --help and unknown-flag refusal (a real process), failed and timed-out
// cases recorded while the others run, the JSON written (also when the run stops), the software
// WebGPU adapter left out of the default list, the torch peer's ratios and the iteration estimate.
// Every case runner here is a fake: no benchmark is measured.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { assert, test } from "./harness.ts";
import { writeFileAtomic } from "../data/jsonl.ts";
import { iterationEstimate } from "../bench/estimate.ts";
import { BenchFlagError, type BenchFlags, defaultBackends, parseBenchFlags } from "../bench/flags.ts";
import { type BenchDeps, runBench } from "../bench/orchestrate.ts";
import { type BenchReport, formatTable } from "../bench/report.ts";
import { CaseFailure, runMarkedProcess } from "../bench/subprocess.ts";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;

const flagError = (argv: string[]): string => {
  try {
    parseBenchFlags(argv, { deno: true });
  } catch (e) {
    assert.ok(e instanceof BenchFlagError, `expected a BenchFlagError, got ${e}`);
    return e.message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
};

test("bench flags: defaults, both value forms, every flag", () => {
  const d = parseBenchFlags([], { deno: true, knownBackends: ["node-gpu", "webgpu", "node", "wasm", "cpu"] });
  assert.deepEqual(d.backends, ["cpu", "wasm", "webgpu"]);
  assert.equal(d.backendsExplicit, false);
  assert.deepEqual(d.configs, ["tiny", "small", "medium"]);
  assert.equal(d.threads, 1);
  assert.equal(d.peer, null);
  assert.equal(d.json, null);
  assert.equal(d.caseTimeoutS, null);
  assert.equal(d.workers, true);
  const f = parseBenchFlags(
    [
      "--backends",
      "wasm,cpu",
      "--threads=2",
      "--configs",
      "s135m",
      "--peer",
      "torch",
      "--json=o.json",
      "--quick",
      "--no-workers",
      "--stock-kernels",
      "--case-timeout",
      "30",
    ],
    { deno: false, knownBackends: ["wasm", "cpu"] },
  );
  assert.deepEqual(f.backends, ["wasm", "cpu"]);
  assert.equal(f.backendsExplicit, true);
  assert.equal(f.threads, 2);
  assert.deepEqual(f.configs, ["s135m"]);
  assert.equal(f.peer, "torch");
  assert.equal(f.json, "o.json");
  assert.equal(f.quick && !f.workers && f.stockKernels, true);
  assert.equal(f.caseTimeoutS, 30);
  assert.equal(parseBenchFlags(["--help"], { deno: true }).help, true);
});

test("bench flags: the default backend list takes any further backend of backends/ (blas), webgpu only under Deno", () => {
  const known = ["node-gpu", "webgpu", "node", "blas", "wasm", "cpu"];
  assert.deepEqual(defaultBackends(true, known), ["cpu", "wasm", "blas", "webgpu"]);
  assert.deepEqual(defaultBackends(false, known), ["cpu", "wasm", "blas"]);
  assert.deepEqual(parseBenchFlags(["--backends", "blas"], { deno: true, knownBackends: known }).backends, [
    "blas",
  ]);
});

test("bench flags: unknown flags and bad values are refused, naming the flag", () => {
  assert.match(flagError(["--bogus"]), /unknown flag "--bogus"/);
  assert.match(flagError(["-h"]), /did you mean --help/);
  assert.match(flagError(["--threads", "0"]), /--threads: must be an integer >= 1 \(got 0\)/);
  assert.match(flagError(["--threads=two"]), /--threads/);
  assert.match(flagError(["--threads"]), /--threads needs a value/);
  assert.match(flagError(["--backends", "tpu"]), /--backends: unknown backend "tpu"/);
  assert.match(flagError(["--configs", "tiny,huge"]), /--configs: unknown config "huge"/);
  assert.match(flagError(["--peer", "jax"]), /--peer: unknown peer "jax"/);
  assert.match(flagError(["--quick=yes"]), /--quick takes no value/);
  assert.match(flagError(["--json", "--quick"]), /--json needs a value/);
});

const runner = (args: string[]) => {
  const [cmd, cmdArgs] = deno
    ? [deno.execPath(), ["run", "-A", "bench/run.ts", ...args]]
    : [process.execPath, ["--import", "tsx", "bench/run.ts", ...args]];
  return spawnSync(cmd, cmdArgs, { cwd: root, encoding: "utf8", timeout: 120_000 });
};

test("bench run.ts: --help prints the flags and exits 0; an unknown flag exits 2 before measuring", () => {
  const help = runner(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  for (const flag of ["--backends", "--threads", "--configs", "--peer torch", "--json", "s135m"]) {
    assert.ok(help.stdout.includes(flag), `help lacks ${flag}`);
  }
  assert.ok(!/matmul/.test(help.stderr), "help started measuring");
  const bad = runner(["--backends", "wasm", "--frobnicate"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown flag "--frobnicate"/);
  assert.ok(!/matmul/.test(bad.stderr), "an unknown flag started measuring");
});

// ---- the run with fake cases ---------------------------------------------------------------------
const figures = (tokens: number) => ({
  dpo_step: { tokens_per_s: tokens, gflops: 10, seconds_per_step: 1, steps: 3 },
  dpo_step_lora: { tokens_per_s: 2 * tokens, gflops: 8, seconds_per_step: 0.5, steps: 3 },
  logprob: { tokens_per_s: 4 * tokens, reps: 3 },
  generate: { tokens_per_s: tokens / 2, time_ratio_2x: 2.1, new_tokens: 64, seconds_l: 1, seconds_2l: 2.1 },
  tensors_growth: 0,
  tensors_growth_steps: 3,
  peak_rss_mb: 600,
});

const flagsOf = (argv: string[], json: string): BenchFlags => ({
  ...parseBenchFlags(argv, { deno: true, knownBackends: ["webgpu", "wasm", "cpu"] }),
  json,
});

const fakeDeps = (overrides: Partial<BenchDeps> & { calls?: string[][] } = {}): BenchDeps => ({
  runCase: (args) => {
    overrides.calls?.push([...args]);
    if (args[0] === "matmul") {
      const software = args[1] === "webgpu";
      return Promise.resolve({
        details: software ? "adapter llvmpipe (software)" : "1 thread",
        tfjs: "4.22.0",
        matmul1024_gflops: 40,
        matmul1024_cpu_gflops: 60,
      });
    }
    if (args[0] === "growth") {
      if (args[2] === "medium") return Promise.reject(new Error("growth case crashed"));
      return Promise.resolve({ steps: 100, dpo_step: 0, dpo_step_lora: 0 });
    }
    if (args[0] === "config" && args[2] === "small") {
      return Promise.reject(new Error("out of memory in the wasm heap"));
    }
    if (args[0] === "config" && args[2] === "medium") {
      return Promise.reject(new CaseFailure("timed_out", "stopped after 480 s"));
    }
    return Promise.resolve(figures(1000));
  },
  findTorch: () => ({ reason: "no Python here imports torch" }),
  runTorch: () => Promise.reject(new Error("not called")),
  log: () => {},
  writeJson: writeFileAtomic,
  command: "test",
  ...overrides,
});

const readReport = (path: string): BenchReport => JSON.parse(readFileSync(path, "utf8"));

test("bench run: a case that throws or times out is recorded as such; the others run; the JSON is written", async () => {
  const dir = mkdtempSync(join(os.tmpdir(), "alpha-spin-bench-test-"));
  try {
    const json = join(dir, "out.json");
    const calls: string[][] = [];
    const report = await runBench(
      flagsOf(
        ["--backends", "wasm", "--configs", "tiny,small,medium", "--no-workers", "--peer", "torch"],
        json,
      ),
      fakeDeps({ calls }),
    );
    const written = readReport(json);
    assert.deepEqual(written.backends, JSON.parse(JSON.stringify(report.backends)));
    const wasm = written.backends.wasm;
    assert.equal(wasm.configs.small.status, "failed");
    assert.match(wasm.configs.small.error!, /out of memory/);
    assert.equal(wasm.configs.medium.status, "timed_out");
    assert.equal(wasm.configs.tiny.error, undefined);
    assert.equal(wasm.configs.tiny.dpo_step?.tokens_per_s, 1000);
    assert.equal(wasm.configs.tiny.dpo_step?.roofline, 10 / 40);
    assert.deepEqual(calls.map((c) => c.filter((a) => !a.startsWith("--")).slice(0, 3).join(" ")), [
      "matmul wasm",
      "config wasm tiny",
      "growth wasm tiny",
      "config wasm small",
      "growth wasm small",
      "config wasm medium",
      "growth wasm medium",
    ]);
    // The 100-step tensor-growth check runs for every config, also where the measuring case failed.
    assert.deepEqual(wasm.configs.tiny.tensors_growth_check, { steps: 100, dpo_step: 0, dpo_step_lora: 0 });
    assert.deepEqual(wasm.configs.small.tensors_growth_check, { steps: 100, dpo_step: 0, dpo_step_lora: 0 });
    assert.deepEqual(wasm.configs.medium.tensors_growth_check, {
      error: "growth case crashed",
      status: "failed",
    });
    assert.ok(calls.every((c) => c.includes("--threads=1")));
    assert.deepEqual(written.peers?.torch, { available: false, reason: "no Python here imports torch" });
    const table = formatTable(report);
    assert.match(table, /wasm +small +FAILED: out of memory/);
    assert.match(table, /wasm +medium +TIMED OUT: stopped after 480 s/);
    assert.match(table, /peer torch: not run \(no Python here imports torch\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench run: the JSON is still written when the run stops on an unexpected error", async () => {
  const dir = mkdtempSync(join(os.tmpdir(), "alpha-spin-bench-test-"));
  try {
    const json = join(dir, "out.json");
    const deps = fakeDeps({
      findTorch: () => {
        throw new Error("python exploded");
      },
    });
    await assert.rejects(
      runBench(
        flagsOf(["--backends", "wasm", "--configs", "tiny", "--no-workers", "--peer", "torch"], json),
        deps,
      ),
      /python exploded/,
    );
    assert.equal(readReport(json).backends.wasm.configs.tiny.dpo_step?.tokens_per_s, 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench run: a software WebGPU adapter is left out of the default list, measured when named", async () => {
  const dir = mkdtempSync(join(os.tmpdir(), "alpha-spin-bench-test-"));
  try {
    const json = join(dir, "out.json");
    const implicit = await runBench(flagsOf(["--configs", "tiny", "--no-workers"], json), fakeDeps());
    assert.deepEqual(Object.keys(implicit.backends), ["cpu", "wasm"]);
    assert.match(implicit.left_out?.webgpu ?? "", /software rasterizer.*--backends webgpu/);
    const explicit = await runBench(
      flagsOf(["--backends", "webgpu", "--configs", "tiny", "--no-workers"], json),
      fakeDeps(),
    );
    assert.deepEqual(Object.keys(explicit.backends), ["webgpu"]);
    assert.equal(explicit.backends.webgpu.configs.tiny.dpo_step?.tokens_per_s, 1000);
    assert.equal(explicit.left_out, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench run: the torch peer's figures, ours/torch ratios, its failures, and the s135m iteration estimate", async () => {
  const dir = mkdtempSync(join(os.tmpdir(), "alpha-spin-bench-test-"));
  try {
    const json = join(dir, "out.json");
    const torchRuns: string[] = [];
    const deps = fakeDeps({
      findTorch: () => ({ python: "/usr/bin/python3", version: "1.13.0" }),
      runTorch: (python, c) => {
        torchRuns.push(`${python} ${c.script} ${c.args.join(" ")}`);
        if (c.mode === "matmul") {
          return Promise.resolve({ matmul1024_gflops: 100, matmul1024_cpu_gflops: 120 });
        }
        if (c.mode === "logprob" && c.args.includes("tiny")) {
          return Promise.reject(new CaseFailure("timed_out", "stopped"));
        }
        if (c.mode === "generate") {
          return Promise.resolve({ tokens_per_s: 250, time_ratio_2x: 2, new_tokens: 64, peak_rss_mb: 300 });
        }
        return Promise.resolve({ tokens_per_s: 4000, seconds_per_step: 0.5, steps: 3, peak_rss_mb: 400 });
      },
    });
    await runBench(
      flagsOf([
        "--backends",
        "wasm",
        "--configs",
        "tiny,s135m",
        "--no-workers",
        "--peer",
        "torch",
        "--threads",
        "2",
      ], json),
      deps,
    );
    const report = readReport(json);
    const torch = report.peers?.torch;
    assert.ok(torch?.available === true);
    assert.equal(torch.threads, 2);
    assert.equal(torch.matmul1024_gflops, 100);
    assert.ok(
      torchRuns.every((r) => r.startsWith("/usr/bin/python3 scripts/torch-") && r.includes("--threads 2")),
    );
    // s135m: no full step on either side (LoRA, log-probs and generation only).
    assert.ok(!torchRuns.some((r) => r.includes("s135m") && r.includes("--mode full")));
    assert.ok(
      torchRuns.some((r) =>
        r.includes("s135m") && r.includes("--mode lora") && r.includes("--micro-batch 1")
      ),
    );
    assert.equal(torch.configs.tiny.errors?.logprob.status, "timed_out");
    assert.equal(torch.configs.tiny.dpo_step?.tokens_per_s, 4000);
    assert.equal(torch.configs.tiny.peak_rss_mb, 400);
    const r = torch.ratios.wasm;
    assert.equal(r.matmul1024, 40 / 100);
    assert.equal(torch.cpu_ratios.wasm.matmul1024, 60 / 120);
    assert.deepEqual(r.configs.tiny, {
      dpo_step: 1000 / 4000,
      dpo_step_lora: 2000 / 4000,
      generate: 500 / 250,
      peak_rss_mb: 1.5,
    });
    const it = report.alpha_spin_iteration!;
    assert.equal(it.config, "s135m");
    // T = P·G/r_gen + R·2·P·ctx/r_logprob + E·2·P·ctx/r_lora, P = 1000, ctx = 512, G = 384, R = 2, E = 3.
    assert.equal(it.ours.wasm.generation_s, (1000 * 384) / 500);
    assert.equal(it.ours.wasm.reference_s, (2 * 2 * 1000 * 512) / 4000);
    assert.equal(it.ours.wasm.training_s, (3 * 2 * 1000 * 512) / 2000);
    assert.equal(it.torch?.generation_s, (1000 * 384) / 250);
    assert.equal(it.torch?.training_s, (3 * 2 * 1000 * 512) / 4000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench estimate: the iteration formula on hand-computed figures", () => {
  const e = iterationEstimate(64, { generate: 48, logprob: 256, lora: 128 }, {
    prompts: 10,
    epochs: 2,
    referenceModels: 1,
  });
  assert.equal(e.generation_s, (10 * 48) / 48); // G = 48 new tokens per loser
  assert.equal(e.reference_s, (1 * 2 * 10 * 64) / 256);
  assert.equal(e.training_s, (2 * 2 * 10 * 64) / 128);
  assert.equal(e.total_s, 10 + 5 + 20);
});

// ---- one case in its own process (bench/subprocess.ts), with tiny real processes -----------------
const evalArgs = (code: string): [string, string[]] =>
  deno ? [deno.execPath(), ["eval", code]] : [process.execPath, ["-e", code]];

test("bench subprocess: the marked result line; a crash is failed with its error line; a hang is timed out", async () => {
  const [cmd, ok] = evalArgs(`console.log("noise"); console.log('@@bench {"x": 2}')`);
  assert.deepEqual(await runMarkedProcess(cmd, ok, { marker: "@@bench ", timeoutS: 60, cwd: root }), {
    x: 2,
  });
  const [, crash] = evalArgs(
    `console.error("RangeError: out of memory in the heap"); for (let i = 0; i < 9; i++) console.error("    at frame" + i); process.exit(3)`,
  );
  await assert.rejects(
    runMarkedProcess(cmd, crash, { marker: "@@bench ", timeoutS: 60, cwd: root }),
    (e: unknown) => {
      assert.ok(e instanceof CaseFailure);
      assert.equal(e.status, "failed");
      assert.match(e.message, /^exited with code 3: RangeError: out of memory in the heap/);
      return true;
    },
  );
  const [, hang] = evalArgs(`setTimeout(() => console.log('@@bench {}'), 60000)`);
  await assert.rejects(
    runMarkedProcess(cmd, hang, { marker: "@@bench ", timeoutS: 1, cwd: root }),
    (e: unknown) => {
      assert.ok(e instanceof CaseFailure);
      assert.equal(e.status, "timed_out");
      assert.match(e.message, /stopped after 1 s/);
      return true;
    },
  );
});
