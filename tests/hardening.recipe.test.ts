// The first recipe of docs/selfplay.md runs as written, in an empty folder: its shell block is read
// from the doc (so the doc cannot drift from what works) and each line is run, `npx tsx cli/bin.ts`
// as this runtime running cli/bin.ts, a `cat > FILE <<'EOF'` heredoc as writing the file. Also:
// `alpha-spin data synthetic` writes the embedded task's examples (checked against the task itself),
// and its output without `data.schema` is refused naming that key.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { assert, isDeno, test } from "./harness.ts";
import { dataCommand } from "../cli/data.ts";
import { makeSyntheticTask } from "../data/synthetic.ts";
import { embeddedTaskOptions } from "../cli/default-run.ts";
import { runSelfPlay } from "../selfplay/loop.ts";

const repo = dirname(dirname(fileURLToPath(import.meta.url)));

/** The first ```sh block after "## Recipes" in docs/selfplay.md. */
const recipeBlock = async (): Promise<string[]> => {
  const doc = await readFile(join(repo, "docs", "selfplay.md"), "utf8");
  const after = doc.slice(doc.indexOf("\n## Recipes"));
  const match = /```sh\n([\s\S]*?)```/.exec(after);
  assert.ok(match !== null, "docs/selfplay.md: no sh block under ## Recipes");
  return match[1].split("\n");
};

const runCli = (args: readonly string[], cwd: string): Promise<{ code: number | null; stderr: string }> => {
  const bin = join(repo, "cli", "bin.ts");
  const argv = isDeno
    ? ["run", "-A", "--config", join(repo, "deno.json"), bin, ...args]
    : ["--import", pathToFileURL(join(repo, "node_modules", "tsx", "dist", "loader.mjs")).href, bin, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
};

test("docs/selfplay.md's first recipe runs as written in an empty folder", async () => {
  const lines = await recipeBlock();
  const cwd = await mkdtemp(join(tmpdir(), "alpha-spin-recipe-"));
  try {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "") continue;
      const heredoc = /^cat > (\S+) <<'EOF'$/.exec(line);
      if (heredoc !== null) {
        const end = lines.indexOf("EOF", i);
        assert.ok(end > i, "heredoc without EOF");
        await writeFile(join(cwd, heredoc[1]), lines.slice(i + 1, end).join("\n") + "\n");
        i = end;
        continue;
      }
      const command = /^npx tsx cli\/bin\.ts (.+)$/.exec(line);
      assert.ok(command !== null && !/["'$`|&;<>\\]/.test(command[1]), `a line this test cannot run: ${line}`);
      const result = await runCli(command[1].split(/\s+/), cwd);
      assert.equal(result.code, 0, `${line}\n${result.stderr}`);
    }
    const run = join(cwd, "runs", "spin-synthetic");
    for (const t of [1, 2]) assert.ok((await readdir(join(run, `iter-${t}`))).includes("COMPLETE.json"), `iter-${t} complete`);
    assert.ok((await readdir(join(run, "iter-2", "adapter"))).includes("adapter_config.json"));
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}, { timeout: 600_000 });

test("data synthetic writes the embedded task's split; without data.schema a run names the key", async () => {
  const dir = await mkdtemp(join(tmpdir(), "alpha-spin-data-"));
  try {
    const out = join(dir, "test.jsonl");
    const original = console.error;
    console.error = () => {};
    try {
      assert.equal(await dataCommand(["synthetic", "--out", out, "--split", "test", "--count", "5"]), 0);
      assert.equal(await dataCommand(["synthetic", "--out", out, "--split", "dev"]), 2);
      assert.equal(await dataCommand(["synthetic", "--out", out, "--count", "0"]), 2);
    } finally {
      console.error = original;
    }
    const rows = (await readFile(out, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    const expected = makeSyntheticTask(embeddedTaskOptions).test.slice(0, 5).map((e) => ({ id: e.id, prompt: e.prompt, completion: e.completion }));
    assert.deepEqual(rows, expected);
    const config = { name: "no-schema", outputDir: join(dir, "run"), model: "embedded", backend: "cpu", data: { train: out }, maxLength: 64, maxPromptLength: 32 };
    await assert.rejects(runSelfPlay({ config }), /test\.jsonl:1: missing field "messages" \(this row looks like the "prompt-completion" schema: set data\.schema to "prompt-completion"\)/);
    assert.ok(!(await readdir(dir)).includes("run"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
