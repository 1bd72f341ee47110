// `alpha-spin backends`: the table layout (on fixed statuses) and the command's exit codes.
import { assert, test } from "./harness.ts";
import { backendsCommand, formatBackendTable } from "../cli/backends.ts";

/** Run `fn` with console.log/error captured; returns what was printed. */
const capture = async (fn: () => Promise<number>): Promise<{ code: number; out: string }> => {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  console.error = console.log;
  try {
    return { code: await fn(), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
};

test("formatBackendTable aligns columns and shows GFLOP/s, or the reason a backend is absent", () => {
  const table = formatBackendTable([
    { name: "cpu", ok: true, details: "JavaScript kernels", selfTest: { gflops: 0.4812, ms: 69.73 } },
    { name: "node-gpu", ok: false, error: "install @tensorflow/tfjs-node-gpu" },
  ]);
  assert.deepEqual(table.split("\n"), [
    "backend   status  GFLOP/s  ms/matmul  details / what to do",
    "--------  ------  -------  ---------  --------------------",
    "cpu       ok         0.48       69.7  JavaScript kernels",
    "node-gpu  absent        -          -  install @tensorflow/tfjs-node-gpu",
  ]);
});

test("alpha-spin backends prints a row per backend and exits 0", async () => {
  const { code, out } = await capture(() => backendsCommand(["--size", "16", "--reps", "1"]));
  assert.equal(code, 0);
  for (const name of ["cpu", "wasm", "blas", "webgpu", "node", "node-gpu"]) {
    assert.match(out, new RegExp(`^${name} +(ok|absent) `, "m"), `no row for ${name} in:\n${out}`);
  }
  assert.match(out, /^cpu +ok +\d+\.\d\d/m);
});

test("alpha-spin backends --json gives the statuses; bad options exit 2 or throw naming the option", async () => {
  const { code, out } = await capture(() => backendsCommand(["--json", "--size", "8", "--reps", "1"]));
  assert.equal(code, 0);
  const statuses = JSON.parse(out);
  assert.equal(statuses.length, 6);
  assert.equal(statuses[0].name, "cpu");
  assert.equal(statuses[0].ok, true);
  assert.equal((await capture(() => backendsCommand(["--frobnicate"]))).code, 2);
  const zero = await capture(() => backendsCommand(["--size", "0"]));
  assert.equal(zero.code, 2);
  assert.match(zero.out, /--size must be an integer >= 1 \(got 0\)/);
  const help = await capture(() => backendsCommand(["--help"]));
  assert.equal(help.code, 0);
  assert.match(help.out, /usage: alpha-spin backends/);
});
