// The blas backend's library side: BLAS threads set and described, a missing library's clear error
// and the fallback of "auto", the discovery order and install hints, the `threads` run-config key and
// flag.
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { assert, test } from "./harness.ts";
import { blasSkip } from "./backends.support.ts";
import { loadBackend } from "../backends/load.ts";
import { BackendUnavailableError } from "../backends/types.ts";
import { blasCandidates, blasInstallHint, classifyBlas, openBlas } from "../backends/blas-library.ts";
import { blasKernelsLibrary } from "../backends/blas-kernels.ts";
import { decodeRunConfig, resolveRunConfig } from "../selfplay/config.ts";
import { parseArgs } from "../cli/args.ts";
import { spinCommandSpec } from "../cli/spin.ts";
import { trainCommandSpec } from "../cli/train.ts";
import { generateCommandSpec } from "../cli/generate.ts";
import { scoreSpec } from "../cli/score.ts";
import { evalCommandSpec } from "../cli/eval.ts";

const skip = await blasSkip();

test("blas: threads are set on the library, described, and a bad count is refused", async () => {
  const info = await loadBackend("blas", { threads: 2 });
  const blas = await openBlas();
  assert.equal(info.name, "blas");
  assert.equal(info.tfBackend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(blasKernelsLibrary(), blas);
  if (blas.kind === "openblas" || blas.kind === "mkl") {
    assert.equal(blas.threads(), 2);
    assert.match(info.details, /, 2 threads/);
  }
  assert.ok(info.details.includes(blas.name), info.details);
  await loadBackend("blas", { threads: 1 });
  if (blas.kind === "openblas" || blas.kind === "mkl") assert.equal(blas.threads(), 1);
  await assert.rejects(
    () => loadBackend("blas", { threads: 0 }),
    /threads must be a positive integer, got 0/,
  );
  // wasm after blas is the plain wasm backend again
  await loadBackend("wasm");
  assert.equal(blasKernelsLibrary(), null);
}, { skip });

test("blas: ALPHA_SPIN_BLAS naming a missing file gives a clear error, and auto falls back to wasm", async () => {
  const saved = process.env.ALPHA_SPIN_BLAS;
  process.env.ALPHA_SPIN_BLAS = "/nonexistent/libopenblas.so.0";
  try {
    const error = await loadBackend("blas").then(() => undefined, (e) => e);
    assert.ok(error instanceof BackendUnavailableError, String(error));
    assert.equal(error.backend, "blas");
    assert.match(error.message, /ALPHA_SPIN_BLAS=\/nonexistent\/libopenblas\.so\.0 could not be opened/);
    assert.match(error.message, /install OpenBLAS|Accelerate|libopenblas\.dll/);
    const auto = await loadBackend("auto");
    assert.ok(auto.name !== "blas", auto.name);
  } finally {
    if (saved === undefined) delete process.env.ALPHA_SPIN_BLAS;
    else process.env.ALPHA_SPIN_BLAS = saved;
  }
});

test("blas: discovery order, install hints, and what a library is from its symbols and path", () => {
  assert.deepEqual(blasCandidates("linux"), [
    "libopenblas.so.0",
    "libmkl_rt.so",
    "libcblas.so.3",
    "libblas.so.3",
  ]);
  assert.equal(blasCandidates("darwin")[0], "/System/Library/Frameworks/Accelerate.framework/Accelerate");
  assert.deepEqual(blasCandidates("windows"), ["libopenblas.dll"]);
  assert.match(blasInstallHint("linux"), /apt-get install libopenblas0-pthread/);
  assert.match(blasInstallHint("darwin"), /Accelerate/);
  assert.match(blasInstallHint("darwin"), /brew install openblas/);
  const none = { openblas: false, mkl: false };
  assert.equal(
    classifyBlas("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", { openblas: true, mkl: false }),
    "openblas",
  );
  assert.equal(classifyBlas("/opt/intel/lib/libmkl_rt.so.2", { openblas: false, mkl: true }), "mkl");
  assert.equal(classifyBlas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", none), "reference");
  assert.equal(classifyBlas("/usr/lib64/libcblas.so.3", none), "generic");
  assert.equal(
    classifyBlas("/System/Library/Frameworks/Accelerate.framework/Accelerate", none),
    "accelerate",
  );
});

test('blas: loadBackend("auto") picks blas where a system BLAS opens', async () => {
  const loaded = await loadBackend("auto");
  // node-gpu, webgpu on hardware and node come first; none of them is here in CI
  if (!["node-gpu", "webgpu", "node"].includes(loaded.name)) assert.equal(loaded.name, "blas");
}, { skip });

test("threads: a run config key (null by default, a positive integer) and a flag of every command that trains or generates", () => {
  const minimal = { name: "demo", data: { train: "data/train.jsonl" } };
  assert.equal(resolveRunConfig(minimal).threads, null);
  assert.equal(resolveRunConfig({ ...minimal, backend: "blas", threads: 2 }).threads, 2);
  const refused = decodeRunConfig({ ...minimal, threads: 0 });
  assert.ok(refused._tag === "Left");
  assert.match(refused.left.message, /threads/);
  for (const spec of [spinCommandSpec, trainCommandSpec, generateCommandSpec, scoreSpec, evalCommandSpec]) {
    const required = spec === trainCommandSpec
      ? ["--config", "run.json"]
      : spec === scoreSpec
      ? ["--model", "m", "--data", "d"]
      : spec === generateCommandSpec
      ? ["--model", "m", "--data", "d", "--out", "o"]
      : [];
    const parsed = parseArgs(spec, [...required, "--threads", "2"]);
    assert.ok(!parsed.help);
    assert.equal((parsed.flags as { threads?: number }).threads, 2, spec.name);
  }
});
