/**
 * Run-folder safety: `spin --fresh` never deletes what alpha-spin did not write (issue: a folder
 * merely holding a file named run.json was deleted whole), and the stale-lock takeover lets
 * exactly one of many concurrent processes hold a run folder.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { planFreshRemoval } from "../cli/fresh.ts";
import { spinCommand } from "../cli/spin.ts";
import { assert, isDeno, test } from "./harness.ts";
import { tempDir } from "./selfplay.support.ts";

const manifest = JSON.stringify({ format: "alpha-spin-run", version: 1, fingerprints: {}, createdAt: "2026-01-01" });

/** A folder laid out as a finished one-iteration run. */
const writeRun = async (dir: string): Promise<void> => {
  await mkdir(join(dir, "iter-1", "adapter"), { recursive: true });
  await mkdir(join(dir, "eval"), { recursive: true });
  await writeFile(join(dir, "run.json"), manifest);
  await writeFile(join(dir, "config.json"), "{}");
  await writeFile(join(dir, "metrics.jsonl"), "");
  await writeFile(join(dir, "iter-1", "COMPLETE.json"), "{}");
  await writeFile(join(dir, "iter-1", "adapter", "adapter_config.json"), "{}");
  await writeFile(join(dir, "eval", "iter-1.json"), "{}");
};

test("spin --fresh refuses a folder that merely holds a run.json, and deletes nothing", async () => {
  const { dir, cleanup } = await tempDir("alpha-spin-fresh-");
  try {
    const proj = join(dir, "proj");
    await mkdir(join(proj, "src"), { recursive: true });
    await writeFile(join(proj, "run.json"), "{}\n");
    await writeFile(join(proj, "notes.txt"), "x\n");
    const args = ["--out", proj, "--fresh", "--iterations", "1", "--pairs", "8", "--epochs", "1", "--eval-size", "4", "--quiet"];
    const code = await spinCommand(args);
    assert.equal(code, 2);
    assert.deepEqual((await readdir(proj)).sort(), ["notes.txt", "run.json", "src"]);
    assert.equal(await readFile(join(proj, "notes.txt"), "utf8"), "x\n");
  } finally {
    await cleanup();
  }
});

test("--fresh plans to remove a run's own files only; one stray file anywhere refuses it all", async () => {
  const { dir, cleanup } = await tempDir("alpha-spin-fresh-");
  try {
    const run = join(dir, "run");
    await writeRun(run);
    await writeFile(join(run, "report.html"), "<html>");
    const plan = await planFreshRemoval(run);
    assert.equal(plan.refusal, null);
    assert.equal(plan.remove.length, (await readdir(run)).length);

    for (const stray of [join(run, "notes.txt"), join(run, "iter-1", "mine.txt"), join(run, "eval", "keep.csv")]) {
      await writeFile(stray, "mine");
      const refused = await planFreshRemoval(run);
      assert.match(refused.refusal ?? "", /not deleting anything/);
      assert.ok(refused.refusal?.includes(stray), `names ${stray}: ${refused.refusal}`);
      assert.equal(refused.remove.length, 0);
      await (await import("node:fs/promises")).rm(stray);
    }

    // The spin output of several variants: report.html and one run folder per variant.
    const multi = join(dir, "multi");
    await writeRun(join(multi, "alpha-1"));
    await writeRun(join(multi, "h-2"));
    await writeFile(join(multi, "report.html"), "<html>");
    assert.equal((await planFreshRemoval(multi)).refusal, null);
    await mkdir(join(multi, "data"));
    assert.match((await planFreshRemoval(multi)).refusal ?? "", /data was not written by alpha-spin/);

    // A run folder held by a live process (pid 1 is alive everywhere) is not removed.
    await writeFile(join(run, ".lock"), JSON.stringify({ pid: 1, host: hostname(), startedAt: "x" }));
    assert.match((await planFreshRemoval(run)).refusal ?? "", /in use by process 1/);
  } finally {
    await cleanup();
  }
});

/**
 * Start `n` processes that all try to take `dir`'s lock at the same moment; their answers once all
 * have answered. A winner holds the lock until its standard input is closed, which happens only
 * after every answer is in: two GOT answers would be two processes holding the lock at once.
 */
const contend = async (dir: string, n: number): Promise<string[]> => {
  const script = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "run-lock.child.ts");
  const startAt = Date.now() + (isDeno ? 1500 : 4000); // after most children have started
  const children = Array.from({ length: n }, () => {
    const argv = isDeno ? ["run", "-A", script, dir, String(startAt)] : ["--import", "tsx", script, dir, String(startAt)];
    return spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "pipe"] });
  });
  const closed = children.map((child) => new Promise((resolve) => child.on("close", resolve)));
  const answered = children.map((child) =>
    new Promise<string>((resolve, reject) => {
      let out = "", err = "";
      child.stdout.on("data", (c) => {
        out += String(c);
        if (out.includes("\n")) resolve(out.trim());
      });
      child.stderr.on("data", (c) => (err += String(c)));
      child.on("close", (code) => reject(new Error(`contender exited ${code} before answering: ${err}`)));
    })
  );
  const answers = await Promise.all(answered);
  for (const child of children) child.stdin.end(); // winners release, then everyone exits
  await Promise.all(closed);
  return answers;
};

test("of many processes contending for a stale lock, exactly one takes it", async () => {
  const { dir, cleanup } = await tempDir("alpha-spin-lock-");
  try {
    for (let trial = 0; trial < 3; trial++) {
      const run = join(dir, `run-${trial}`);
      await mkdir(run);
      // A lock left by a process that has exited.
      const dead = spawn(process.execPath, ["-e", "0"]);
      const pid = await new Promise<number>((resolve) => dead.on("close", () => resolve(dead.pid!)));
      await writeFile(join(run, ".lock"), JSON.stringify({ pid, host: hostname(), startedAt: "2026-01-01T00:00:00.000Z" }));
      const answers = await contend(run, 8);
      assert.equal(answers.filter((a) => a === "GOT").length, 1, `trial ${trial}: ${answers.join(" ")}`);
      assert.equal(answers.filter((a) => a === "REFUSED").length, 7);
      assert.deepEqual(await readdir(run), [], "released, and no guard or temporary file left");
    }
  } finally {
    await cleanup();
  }
}, { timeout: 120_000 });
