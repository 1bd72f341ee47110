// scripts/trl_dpo_alpha_spin.py without TRL: it parses, and its PyTorch-only parts (the reference
// check through TRL's batch layout, the DPOTrainer override on a stand-in class, the argument checks)
// pass tests/fixtures/check_trl_script.py, which computes the expected log-probs with the math module.
// Needs /usr/bin/python3 with PyTorch (Debian's python3-torch); skipped without it.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { assert, test } from "./harness.ts";

const here = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const python = "/usr/bin/python3";
const hasTorch = spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const skip = hasTorch ? false : `${python} with PyTorch is not installed`;

test("the TRL script compiles", () => {
  const source = join(here, "..", "scripts", "trl_dpo_alpha_spin.py");
  execFileSync(python, [
    "-B",
    "-c",
    `import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])`,
    source,
  ]);
}, { skip: spawnSync(python, ["-c", ""]).status === 0 ? false : `${python} is not installed` });

test("the TRL script's reference check, override and argument checks (PyTorch, no TRL)", () => {
  const out = execFileSync(python, ["-B", join(here, "fixtures", "check_trl_script.py")], {
    encoding: "utf8",
  });
  const oks = out.split("\n").filter((l) => l.startsWith("ok "));
  assert.deepEqual(oks, [
    "ok completion_logps",
    "ok verify_reference accepts",
    "ok verify_reference refuses",
    "ok override",
    "ok arguments",
  ]);
}, { skip, timeout: 120_000 });
