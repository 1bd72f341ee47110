// loadBackend / listBackends: cpu and wasm start and compute; node and node-gpu (not installed
// here) fail with guidance naming the package; "auto" picks a working backend; unknown names are
// refused; the wasm binaries are found, and an explicit wasmPaths is honoured (checked in a child
// process, since the wasm backend starts once per process).
import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { assert, assertClose, isDeno, test } from "./harness.ts";
import { backendNames, BackendUnavailableError } from "../backends/types.ts";
import { loadBackend } from "../backends/load.ts";
import { listBackends, matmulSelfTest } from "../backends/list.ts";
import { locateWasmFiles } from "../backends/wasm.ts";
import { tfjsOps } from "../backends/tfjs.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** Is a package resolvable from the repository (so the "absent" tests only run where it is absent)? */
const installed = (name: string): boolean =>
  existsSync(join(root, "node_modules", ...name.split("/"), "package.json"));

for (const name of ["cpu", "wasm"] as const) {
  test(`loadBackend("${name}") starts tfjs on ${name} and computes`, async () => {
    const loaded = await loadBackend(name);
    assert.equal(loaded.name, name);
    assert.equal(loaded.tfBackend, name);
    assert.equal(tf.getBackend(), name);
    assert.equal(loaded.ops, tfjsOps);
    assert.equal(loaded.ops.name, `tfjs-${name}`);
    const { ops } = loaded;
    // log(e^1 + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2) = 3.40760596...
    const lse = await ops.toArray(ops.logSumExp(ops.fromArray([1, 2, 3], [3])));
    assertClose(lse, [3 + Math.log(1 + Math.exp(-1) + Math.exp(-2))], { rtol: 1e-6 });
    if (name === "wasm") assert.match(loaded.details, /SIMD/);
  });
}

test("the wasm binaries are located in node_modules", async () => {
  const dir = await locateWasmFiles();
  assert.ok(dir !== undefined, "locateWasmFiles found nothing");
  assert.ok(dir.endsWith(sep));
  assert.ok(
    existsSync(join(dir, "tfjs-backend-wasm-simd.wasm")),
    `${dir} has no tfjs-backend-wasm-simd.wasm`,
  );
});

/** Run a script that starts wasm with `wasmPaths: <folder>/` in a fresh process of this runtime. */
const startWasmInChild = (folder: string): { name?: string; error?: string } => {
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const scriptDir = mkdtempSync(join(root, ".tmp", "wasm-paths-"));
  const script = join(scriptDir, "start.ts");
  const wasmModule = pathToFileURL(join(root, "backends", "wasm.ts")).href;
  writeFileSync(
    script,
    [
      `import { initWasm } from ${JSON.stringify(wasmModule)};`,
      `try { const info = await initWasm({ wasmPaths: ${JSON.stringify(folder + "/")} });`,
      `  console.log("RESULT " + JSON.stringify({ name: info.name })); }`,
      `catch (e) { console.log("RESULT " + JSON.stringify({ error: String(e) })); }`,
    ].join("\n"),
  );
  try {
    // deno-lint-ignore no-explicit-any
    const deno = (globalThis as any).Deno;
    const [cmd, args] = isDeno
      ? [deno.execPath(), ["run", "-A", "--no-check", script]]
      : [process.execPath, ["--import", "tsx", script]];
    const out = execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line, `no result from the child process: ${out}`);
    return JSON.parse(line.slice("RESULT ".length));
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
  }
};

test("an explicit wasmPaths is honoured: a copy of the binaries works, an empty folder fails naming it", async () => {
  const source = await locateWasmFiles();
  assert.ok(source !== undefined);
  mkdirSync(join(root, ".tmp"), { recursive: true }); // absent in a fresh clone
  const copy = mkdtempSync(join(root, ".tmp", "wasm-copy-"));
  const empty = mkdtempSync(join(root, ".tmp", "wasm-empty-"));
  try {
    for (const f of readdirSync(source).filter((f) => f.endsWith(".wasm"))) {
      copyFileSync(join(source, f), join(copy, f));
    }
    assert.deepEqual(startWasmInChild(copy), { name: "wasm" });
    const failed = startWasmInChild(empty);
    assert.ok(failed.error, "starting wasm from an empty folder should fail");
    assert.match(failed.error, /BackendUnavailableError/);
    assert.ok(failed.error.includes(empty), `the error should name ${empty}: ${failed.error}`);
  } finally {
    rmSync(copy, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
});

test('loadBackend("node") without @tensorflow/tfjs-node names the package to install', async () => {
  const error = await loadBackend("node").then(() => undefined, (e) => e);
  assert.ok(error instanceof BackendUnavailableError, String(error));
  assert.equal(error.backend, "node");
  assert.match(error.message, /@tensorflow\/tfjs-node is not installed/);
  assert.match(error.message, /npm install @tensorflow\/tfjs-node@4\.\d+\.\d+/);
}, { skip: installed("@tensorflow/tfjs-node") ? "@tensorflow/tfjs-node is installed here" : false });

test(
  'loadBackend("node-gpu") without @tensorflow/tfjs-node-gpu names the package and CUDA needs',
  async () => {
    const error = await loadBackend("node-gpu").then(() => undefined, (e) => e);
    assert.ok(error instanceof BackendUnavailableError, String(error));
    assert.equal(error.backend, "node-gpu");
    assert.match(error.message, /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(error.message, /npm install @tensorflow\/tfjs-node-gpu@4\.\d+\.\d+/);
    assert.match(error.message, /CUDA Toolkit 11\.2/);
    assert.match(error.message, /cuDNN 8\.1/);
  },
  { skip: installed("@tensorflow/tfjs-node-gpu") ? "@tensorflow/tfjs-node-gpu is installed here" : false },
);

test('loadBackend("webgpu") under Node runs on the webgpu package, or says clearly why not', async () => {
  const result = await loadBackend("webgpu").then((b) => b, (e) => e);
  if (!(result instanceof Error)) {
    assert.equal(tf.getBackend(), "webgpu"); // a machine with a GPU
    return;
  }
  assert.ok(result instanceof BackendUnavailableError, String(result));
  if (installed("webgpu")) {
    // Dawn loads; here (no GPU, lavapipe refused) it finds no adapter and says what it needs
    assert.match(result.message, /Dawn \(the webgpu package, Node's WebGPU\) found no GPU adapter/);
    assert.match(result.message, /Vulkan, Metal or D3D12/);
    assert.match(result.message, /blas or wasm backend/);
  } else {
    assert.match(result.message, /npm install webgpu/);
  }
}, { skip: isDeno ? "Deno has navigator.gpu built in" : false });

test('loadBackend("auto") picks a backend that works, and it is the active one', async () => {
  const loaded = await loadBackend("auto");
  assert.ok(backendNames.includes(loaded.name), loaded.name);
  assert.equal(tf.getBackend(), loaded.tfBackend);
  const y = await loaded.ops.toArray(loaded.ops.softplus(loaded.ops.fromArray([0], [1])));
  assertClose(y, [Math.LN2], { rtol: 1e-6 });
});

test("loadBackend refuses an unknown name, listing the valid ones", async () => {
  // deno-lint-ignore no-explicit-any
  const error = await loadBackend("tpu" as any).then(() => undefined, (e) => e);
  assert.ok(error instanceof RangeError, String(error));
  assert.match(
    error.message,
    /unknown backend "tpu": expected one of auto, cpu, wasm, blas, webgpu, node, node-gpu/,
  );
});

test("listBackends reports each backend, self-tests the ones that start, and restores the active one", async () => {
  await loadBackend("cpu");
  const statuses = await listBackends({ size: 32, reps: 1 });
  assert.deepEqual(statuses.map((s) => s.name), ["cpu", "wasm", "blas", "webgpu", "node", "node-gpu"]);
  for (const s of statuses.filter((s) => s.name === "cpu" || s.name === "wasm")) {
    assert.ok(s.ok, `${s.name}: ${s.error}`);
    assert.ok(s.selfTest !== undefined && s.selfTest.gflops > 0 && s.selfTest.ms >= 0);
  }
  const node = statuses.find((s) => s.name === "node")!;
  if (!installed("@tensorflow/tfjs-node")) {
    assert.match(node.error ?? "", /npm install @tensorflow\/tfjs-node@/);
  }
  assert.equal(tf.getBackend(), "cpu");
});

test("matmulSelfTest checks its product and times it", async () => {
  await loadBackend("cpu");
  const r = await matmulSelfTest(16, 2);
  assert.ok(r.ms >= 0);
  // gflops = 2n³ / (ms·1e6)
  if (r.ms > 0) assertClose([r.gflops], [(2 * 16 ** 3) / (r.ms * 1e6)], { rtol: 1e-12 });
});
