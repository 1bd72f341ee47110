// Everything knowable from the config, the model's config.json and the tokenized data is refused
// before the run folder is created: sequences longer than the model's positions (file:line of the
// first offender), seeds and counts beyond 2^53 − 1, a LoRA rank above the adapted projections'
// smaller side, targets that match nothing, more workers than cores. spin checks its flags before
// --fresh removes anything.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { spinCommand } from "../cli/spin.ts";
import { readHfConfig } from "../models/hf-load.ts";
import { resolveRunConfig } from "../selfplay/config.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { checkLoraFits, machineCores } from "../selfplay/preflight.ts";
import { setupFixture, smallConfig, ultrachatRows } from "./selfplay.support.ts";

const fixture = await setupFixture();

const exists = (path: string): Promise<boolean> => readdir(path).then(() => true, () => false);

/** The run must fail with `pattern` and leave no output folder. */
const refused = async (name: string, overrides: Record<string, unknown>, pattern: RegExp): Promise<void> => {
  const config = smallConfig(fixture, { name, ...overrides });
  await assert.rejects(runSelfPlay({ config }), (e: Error) => {
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(!(await exists(String(config.outputDir))), `${name}: the run folder must not exist`);
};

const dataFile = async (name: string, rows: readonly unknown[]): Promise<string> => {
  const path = join(fixture.dir, name);
  await writeFile(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return path;
};
const row = (user: string, answer: string) => ({ messages: [{ role: "user", content: user }, { role: "assistant", content: answer }] });

// The fixture model: gpt2, 64 positions; the byte tokenizer adds BOS to the prompt and EOS to the
// answer, so a prompt of n bytes is n + 1 tokens and an answer of m bytes m + 1 tokens.
const positions = 64;

test("a prompt as long as the model's positions is refused naming file:line, before anything is written", async () => {
  const data = await dataFile("long-prompt.jsonl", [ultrachatRows[0], ultrachatRows[1], row("x".repeat(70), "y")]);
  await refused(
    "long-prompt",
    { data: { train: data }, maxLength: 200, maxPromptLength: null },
    new RegExp(`long-prompt\\.jsonl:3: the prompt is 71 tokens, leaving no room for an answer within the model's ${positions} positions \\(.*config\\.json\\)`),
  );
});

test("prompt + answer longer than the positions is refused naming file:line and the fix (maxLength)", async () => {
  const data = await dataFile("long-pair.jsonl", [ultrachatRows[0], row("q".repeat(39), "a".repeat(39))]);
  await refused(
    "long-pair",
    { data: { train: data }, maxLength: 200, maxPromptLength: 100 },
    new RegExp(`long-pair\\.jsonl:2: prompt \\+ answer is 40 \\+ 40 = 80 tokens, more than the model's ${positions} positions .*set maxLength to at most ${positions}`),
  );
});

test("prompt + the longest loser generation can make, beyond the positions, names generation.maxNewTokens", async () => {
  // Line 1's prompt "1+1=" is 5 tokens; losers may reach min(100, 200 - 5) = 100 tokens.
  await refused(
    "long-loser",
    { maxLength: 200, generation: { maxNewTokens: 100, batchSize: 4 } },
    new RegExp(`train\\.jsonl:1: prompt \\+ a generated answer can reach 5 \\+ 100 = 105 tokens \\(generation\\.maxNewTokens 100\\).*generation\\.maxNewTokens to at most ${positions - 5}`),
  );
});

test("seed and counts must be integers a double holds exactly (<= 2^53 - 1)", async () => {
  await refused("seed", { seed: 2 ** 53 }, /seed: must be an integer >= 0 and <= 2\^53 - 1 = 9007199254740991 \(got 9007199254740992\)/);
  await refused("seed-huge", { seed: 1e300 }, /seed: must be an integer >= 0 and <= 2\^53 - 1/);
  await refused("iterations", { iterations: 1e20 }, /iterations: must be an integer >= 1 and <= 2\^53 - 1/);
  await refused("seed-fraction", { seed: 1.5 }, /seed: must be an integer >= 0 \(got 1\.5\)/);
});

test("lora.r is bounded by the smaller side of the adapted projections, computed from config.json", async () => {
  const model = await readHfConfig(fixture.modelDir);
  // gpt2's default target c_attn maps hidden -> 3 * hidden: its rank is at most hidden.
  const bound = Math.min(model.hiddenSize, 3 * model.hiddenSize);
  await refused("lora-r", { lora: { r: 1e9 } }, new RegExp(`lora\\.r: must be at most ${bound}, the smaller side of the adapted projection transformer\\.h\\.0\\.attn\\.c_attn \\(${model.hiddenSize} -> ${3 * model.hiddenSize}\\).*\\(got 1000000000\\)`));
  const config = (r: number) => resolveRunConfig(smallConfig(fixture, { lora: { r } }));
  checkLoraFits(config(bound), model); // the bound itself is accepted
  assert.throws(() => checkLoraFits(config(bound + 1), model), /lora\.r: must be at most/);
  // Full fine-tuning has no rank to check.
  checkLoraFits(resolveRunConfig(smallConfig(fixture, { finetune: "full", lora: { r: 1000 } })), model);
});

test("LoRA target modules that match no projection are refused before the run starts", async () => {
  await refused("lora-targets", { lora: { r: 2, targetModules: ["q_proj"] } }, /lora\.targetModules: matches no projection of the model \(it has c_attn, .*\) \(got \["q_proj"\]\)/);
});

test("equal-share counts that do not fit the examples are refused before the run starts", async () => {
  // The fixture has 4 examples.
  await refused("share-n", { equalShare: { pairsPerMember: 5 } }, /equalShare\.pairsPerMember: must be at most 4, the number of training examples \(got 5\)/);
  // h = 2: iteration 2's window holds π_0 and π_1, so 2 × 3 > 4 (iteration 1, one opponent, would fit).
  await refused(
    "share-disjoint",
    { h: 2, equalShare: { pairsPerMember: 3, disjoint: true } },
    /equalShare\.pairsPerMember: with disjoint shares, .*iteration 2 has 2 opponents \(2 × 3 = 6\): at most 2/,
  );
});

test("workers above the machine's cores are refused, naming the count", async () => {
  const cores = machineCores();
  assert.ok(Number.isInteger(cores) && cores >= 1);
  await refused("workers", { workers: cores + 1 }, new RegExp(`workers: must be at most ${cores}, the cores of this machine .*\\(got ${cores + 1}\\)`));
  await refused("workers-hundreds", { workers: 500 }, /workers: must be at most/);
});

test("spin refuses bad --workers and --seed before --fresh removes anything", async () => {
  const out = join(fixture.dir, "spin-out");
  await mkdir(out, { recursive: true });
  const manifest = JSON.stringify({ format: "alpha-spin-run", version: 1, fingerprints: { config: "a", data: "b", model: "c" }, createdAt: "x" });
  await writeFile(join(out, "run.json"), manifest);
  await writeFile(join(out, "config.json"), "{}");
  for (const flags of [["--workers", String(machineCores() + 1)], ["--seed", "1e300"], ["--epochs", "1e300"]]) {
    const code = await spinCommand(["--out", out, "--fresh", "--quiet", ...flags]);
    assert.equal(code, 2, flags.join(" "));
    assert.deepEqual((await readdir(out)).sort(), ["config.json", "run.json"], `${flags.join(" ")}: nothing removed`);
    assert.equal(await readFile(join(out, "run.json"), "utf8"), manifest);
  }
});
