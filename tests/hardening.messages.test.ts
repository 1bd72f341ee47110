// Messages that say what happened: a read-only file system is reported as such (Node's recursive
// mkdir says ENOENT), a full disk names the file, spin's advice names spin's fixes (--out, --fresh)
// and a run config's names its keys (name, outputDir), a finished run says "already finished", and
// a normal resume prints no "warning:".
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, test } from "./harness.ts";
import { generateCommand } from "../cli/generate.ts";
import { spinCommand } from "../cli/spin.ts";
import { trainCommand } from "../cli/train.ts";
import { describeFsError } from "../data/fs-errors.ts";
import { writeFileAtomic } from "../data/jsonl.ts";
import { writeFileAtomic as writeModelFile } from "../models/fs.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

const fixture = await setupFixture();

/** Run `fn` with everything written to stderr captured (as one string). */
const captureStderr = async (fn: () => Promise<unknown>): Promise<string> => {
  const chunks: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return chunks.join("");
};

/** A tmpfs mounted with `options` (root only); null where mounting is not possible here. */
const mountTmpfs = async (options: string): Promise<{ dir: string; unmount: () => Promise<void> } | null> => {
  if (process.platform !== "linux" || typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const dir = await mkdtemp(join(tmpdir(), "alpha-spin-mount-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  if (mounted.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount: async () => {
      spawnSync("umount", [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
};

test("file-system errors name the action, the path and the cause", () => {
  const error = (code: string) => Object.assign(new Error(`${code}: raw`), { code });
  assert.equal(describeFsError(error("EROFS"), "write a/b.json"), "cannot write a/b.json: the file system is read-only (EROFS)");
  assert.equal(describeFsError(error("ENOSPC"), "write a/b.json"), "cannot write a/b.json: no space left on the device (ENOSPC)");
  assert.equal(describeFsError(error("EACCES"), "create folder a"), "cannot create folder a: permission denied (EACCES)");
  assert.equal(describeFsError(new Error("other"), "write x"), "cannot write x: other");
});

test("a folder that cannot be made because a file is in the way names that path", async () => {
  const file = join(fixture.dir, "a-file");
  await writeFile(file, "x");
  await assert.rejects(
    writeFileAtomic(join(file, "sub", "x.json"), "{}"),
    /cannot create folder .*a-file\/sub: a part of the path is a file, not a folder \(ENOTDIR\)/,
  );
});

test("a data file that is a folder, missing or empty is refused naming it, before the run folder exists", async () => {
  const cases: [string, RegExp][] = [
    [fixture.dir, /cannot read .*: it is a folder, not a file \(EISDIR\)/],
    [join(fixture.dir, "nowhere.jsonl"), /cannot read .*nowhere\.jsonl: it \(or a folder above it\) does not exist \(ENOENT\)/],
    [join(fixture.dir, "blank.jsonl"), /blank\.jsonl: no examples \(the file has no rows\)/],
  ];
  await writeFile(join(fixture.dir, "blank.jsonl"), "\n\n");
  for (const [k, [train, pattern]] of cases.entries()) {
    const config = smallConfig(fixture, { name: `data-${k}`, data: { train, format: "jsonl" } });
    await assert.rejects(runSelfPlay({ config }), pattern);
    assert.ok(!(await readdir(join(fixture.dir, "runs")).catch((): string[] => [])).includes(`data-${k}`));
  }
});

test("a read-only file system is reported as read-only (EROFS), not ENOENT, by a write and by a run", async () => {
  const mount = await mountTmpfs("ro,size=1m");
  if (mount === null) return; // needs root and mount(8): the other tests cover the messages
  try {
    await assert.rejects(writeFileAtomic(join(mount.dir, "runs", "x.json"), "{}"), (e: Error) => {
      assert.match(e.message, /cannot create folder .*runs: the file system is read-only \(EROFS\)/);
      assert.doesNotMatch(e.message, /ENOENT/);
      return true;
    });
    const config = smallConfig(fixture, { name: "ro", outputDir: join(mount.dir, "runs", "ro") });
    await assert.rejects(runSelfPlay({ config }), /read-only \(EROFS\)/);
    // train checks --log before the run folder is made.
    const logged = smallConfig(fixture, { name: "ro-log" });
    const configPath = join(fixture.dir, "ro-log.json");
    await writeFile(configPath, JSON.stringify(logged));
    await assert.rejects(trainCommand(["--config", configPath, "--quiet", "--log", join(mount.dir, "events.jsonl")]), /cannot write --log .*read-only \(EROFS\)/);
    assert.ok(!(await readdir(join(fixture.dir, "runs")).catch((): string[] => [])).includes("ro-log"));
    // generate checks its --out before the model runs.
    const prompts = join(fixture.dir, "ro-prompts.jsonl");
    await writeFile(prompts, JSON.stringify({ prompt: "hi" }) + "\n");
    await assert.rejects(
      generateCommand(["--model", fixture.modelDir, "--data", prompts, "--out", join(mount.dir, "out", "s.jsonl"), "--backend", "cpu", "--quiet"]),
      /cannot write --out .*s\.jsonl \(in .*\): the file system is read-only \(EROFS\)/,
    );
  } finally {
    await mount.unmount();
  }
});

test("a full disk names the file that could not be written, and leaves no temporary file", async () => {
  const mount = await mountTmpfs("size=64k");
  if (mount === null) return;
  try {
    const target = join(mount.dir, "big.json");
    await assert.rejects(writeFileAtomic(target, new Uint8Array(1 << 20)), (e: Error) => {
      assert.equal(e.message, `cannot write ${target}: no space left on the device (ENOSPC)`);
      return true;
    });
    assert.deepEqual(await readdir(mount.dir), []);
    // The writer of model and adapter files (a large safetensors file is where a disk fills up).
    const weights = join(mount.dir, "adapter_model.safetensors");
    await assert.rejects(writeModelFile(weights, new Uint8Array(1 << 20)), (e: Error) => {
      assert.equal(e.message, `cannot write ${weights}: no space left on the device (ENOSPC)`);
      return true;
    });
    assert.deepEqual(await readdir(mount.dir), []);
  } finally {
    await mount.unmount();
  }
});

test("a run config's refusal names its keys (name, outputDir); spin's names --out", async () => {
  const foreign = join(fixture.dir, "foreign");
  await mkdir(foreign, { recursive: true });
  await writeFile(join(foreign, "notes.txt"), "mine");
  await assert.rejects(
    runSelfPlay({ config: smallConfig(fixture, { name: "foreign", outputDir: foreign }) }),
    /holds no alpha-spin run \(no valid run\.json\): set another "name" or "outputDir" in the run config/,
  );
  await assert.rejects(
    spinCommand(["--out", foreign, "--iterations", "1", "--pairs", "4", "--epochs", "1", "--eval-size", "2", "--backend", "cpu", "--quiet"]),
    (e: Error) => {
      assert.match(e.message, /holds no alpha-spin run \(no valid run\.json\): choose another folder with --out DIR/);
      assert.doesNotMatch(e.message, /outputDir|another name/);
      return true;
    },
  );
  assert.deepEqual(await readdir(foreign), ["notes.txt"]);
});

test("resuming a finished run says 'already finished'; resuming mid-training prints no warning", async () => {
  const config = smallConfig(fixture, { name: "resume-msgs", iterations: 1, training: { epochs: 2, batchSize: 2, lr: 1e-2, warmupRatio: 0 } });
  // Stop the run in its second epoch: a checkpoint after epoch 1 exists, the iteration is not complete.
  const stop = new AbortController();
  await assert.rejects(runSelfPlay({
    config,
    signal: stop.signal,
    onEvent: (e) => {
      if (e.type === "metrics" && e.row.step === 3) stop.abort(new Error("stopped by the test"));
    },
  }), /stopped by the test/);
  const path = join(fixture.dir, "resume-msgs.json");
  await writeFile(path, JSON.stringify(config));
  const resumed = await captureStderr(() => trainCommand(["--config", path, "--resume"]));
  assert.match(resumed, /resuming .*resume-msgs: 4 examples, iterations 1\.\.1/);
  assert.match(resumed, /iteration 1: training resumes after epoch 1 \(step 2\)/);
  assert.doesNotMatch(resumed, /warning/i);
  const finished = await captureStderr(() => trainCommand(["--config", path, "--resume"]));
  assert.match(finished, /resume-msgs already finished \(1 iteration\): nothing to do/);
  assert.doesNotMatch(finished, /iterations 2\.\.1|warning/);
});
