// quietTfjs(): tfjs's "Hi, looks like you are running TensorFlow.js in Node.js" banner, which the
// cpu backend prints on its first tensor, is gone after it, and present without it (so the check
// can fail). A fresh process each, as the banner comes once per process.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { assert, isDeno, test } from "./harness.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const banner = /Hi, looks like you are running TensorFlow\.js in Node\.js/g;

const stderrOf = (mode: "quiet" | "loud"): string => {
  const argv = isDeno
    ? ["run", "-A", "--no-check", "tests/backends.quiet.child.ts", mode]
    : ["--import", "tsx", "tests/backends.quiet.child.ts", mode];
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
};

test("quietTfjs silences tfjs's Node.js banner; without it the banner is printed once", () => {
  assert.equal((stderrOf("loud").match(banner) ?? []).length, 1);
  assert.equal((stderrOf("quiet").match(banner) ?? []).length, 0);
}, { timeout: 240_000 });
