// The command line and the run config decode a setting with the same codec: every spelling a flag
// takes means what the same value means in a config (`--history ∞` and `"h": "∞"` are both "all"),
// a value one refuses the other refuses with the same rule, and the CLI's error names the flag.
// The expected values are written out here, not taken from either side.
import { either } from "fp-ts";
import { assert, test } from "./harness.ts";
import { ArgsError, type CommandSpec, parseArgs } from "../cli/args.ts";
import { parseVariants, spinCommandSpec } from "../cli/spin.ts";
import { trainCommandSpec } from "../cli/train.ts";
import { generateCommandSpec } from "../cli/generate.ts";
import { dataCommandSpec } from "../cli/data.ts";
import { decodeRunConfig } from "../selfplay/config.ts";

const minimal = { name: "demo", data: { train: "data/train.jsonl" } };

/** The flag's decoded value, or the rule of its error (the text after the flag as written). */
const fromCli = (spec: CommandSpec, flag: string, text: string, key: string, required: string[] = []): unknown => {
  try {
    return parseArgs(spec, [...required, `${flag}=${text}`]).flags[key];
  } catch (e) {
    assert.ok(e instanceof ArgsError, String(e));
    const first = (e as Error).message.split("\n")[0];
    assert.ok(first.startsWith(`${flag} `), `the error names ${flag}: ${first}`);
    return { refused: first.slice(flag.length + 1) };
  }
};

/** The config's decoded value at `path`, or the rule of its error at that path. */
const fromConfig = (patch: Record<string, unknown>, path: string, pick: (c: Record<string, unknown>) => unknown): unknown => {
  const result = decodeRunConfig({ ...minimal, ...patch });
  if (either.isRight(result)) return pick(result.right as unknown as Record<string, unknown>);
  const issues = result.left.issues.filter((i) => i.path === path);
  assert.equal(issues.length, 1, `one problem at ${path}: ${result.left.message}`);
  return { refused: issues[0].message };
};

// [what a user types after --history, what a config holds for it, what both mean]
const historySpellings: [string, unknown, unknown][] = [
  ["1", 1, 1],
  ["3", 3, 3],
  ["all", "all", "all"],
  ["inf", "inf", "all"],
  ["∞", "∞", "all"],
  ["Infinity", Infinity, "all"],
  ["0", 0, { refused: 'must be an integer >= 1 or "all" (got 0)' }],
  ["-2", -2, { refused: 'must be an integer >= 1 or "all" (got -2)' }],
  ["1.5", 1.5, { refused: 'must be an integer >= 1 or "all" (got 1.5)' }],
  ["many", "many", { refused: 'must be an integer >= 1 or "all" (got "many")' }],
];

test("h: --history, --variants h=… and the config's h take the same spellings and mean the same", () => {
  for (const [text, json, meaning] of historySpellings) {
    assert.deepEqual(fromCli(spinCommandSpec, "--history", text, "history"), meaning, `--history ${text}`);
    assert.deepEqual(fromConfig({ h: json }, "h", (c) => c.h), meaning, `"h": ${JSON.stringify(json)}`);
    const common = { iterations: 1, alpha: 1, beta: 1, h: 1 as number | "all", seed: 1, epochs: 1, lr: 1e-3 };
    if (typeof meaning === "object") {
      assert.throws(() => parseVariants(`h=${text}`, common), (e: unknown) => (e as Error).message.startsWith(`--variants: h=${text}: ${(meaning as { refused: string }).refused}`));
    } else {
      assert.equal(parseVariants(`h=${text}`, common)[0].settings.h, meaning, `--variants h=${text}`);
    }
  }
});

// [spec, flag, flag key, config patch for a value, config path, the value typed, the value in JSON, meaning]
type IntegerCase = [CommandSpec, string, string, (v: unknown) => Record<string, unknown>, string, string, number, unknown];
const integerCases: IntegerCase[] = [
  [spinCommandSpec, "--workers", "workers", (v) => ({ workers: v }), "workers", "2", 2, 2],
  [spinCommandSpec, "--workers", "workers", (v) => ({ workers: v }), "workers", "0", 0, { refused: "must be an integer >= 1 (got 0)" }],
  [trainCommandSpec, "--workers", "workers", (v) => ({ workers: v }), "workers", "1.5", 1.5, { refused: "must be an integer >= 1 (got 1.5)" }],
  [trainCommandSpec, "--threads", "threads", (v) => ({ threads: v }), "threads", "-1", -1, { refused: "must be an integer >= 1 (got -1)" }],
  [spinCommandSpec, "--seed", "seed", (v) => ({ seed: v }), "seed", "0", 0, 0],
  [spinCommandSpec, "--seed", "seed", (v) => ({ seed: v }), "seed", "1e300", 1e300, {
    refused: "must be an integer >= 0 and <= 2^53 - 1 = 9007199254740991 (got 1e+300)",
  }],
  [spinCommandSpec, "--iterations", "iterations", (v) => ({ iterations: v }), "iterations", "0", 0, { refused: "must be an integer >= 1 (got 0)" }],
  [spinCommandSpec, "--alpha", "alpha", (v) => ({ alpha: v }), "alpha", "2", 2, { refused: "must be in [0, 1] (got 2)" }],
  [spinCommandSpec, "--epochs", "epochs", (v) => ({ training: { epochs: v } }), "training.epochs", "2.5", 2.5, { refused: "must be an integer >= 1 (got 2.5)" }],
  [generateCommandSpec, "--top-k", "topK", (v) => ({ generation: { topK: v } }), "generation.topK", "-3", -3, { refused: "must be an integer >= 0 (got -3)" }],
  [generateCommandSpec, "--max-new-tokens", "maxNewTokens", (v) => ({ generation: { maxNewTokens: v } }), "generation.maxNewTokens", "0", 0, { refused: "must be an integer >= 1 (got 0)" }],
];

test("integer and range flags: the command line refuses what the run config refuses, with the same rule", () => {
  for (const [spec, flag, key, patch, path, text, json, meaning] of integerCases) {
    assert.deepEqual(fromCli(spec, flag, text, key), meaning, `${spec.name} ${flag} ${text}`);
    const pick = (c: Record<string, unknown>): unknown => path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
    assert.deepEqual(fromConfig(patch(json), path, pick), meaning, `${path}: ${json}`);
  }
});

test("a codec flag's error is an ArgsError naming the flag as written, and the default is left as declared", () => {
  assert.throws(() => parseArgs(spinCommandSpec, ["--workers", "0"]), (e: unknown) =>
    e instanceof ArgsError && e.message.startsWith("--workers must be an integer >= 1 (got 0)\n(run \"alpha-spin spin --help\""));
  assert.throws(() => parseArgs(spinCommandSpec, ["--workers", "two"]), /--workers must be a number \(got "two"\)/);
  const f = parseArgs(spinCommandSpec, []).flags;
  assert.equal(f.history, 1);
  assert.equal(f.workers, 1);
  assert.equal(f.threads, undefined);
});

test("flags without a config key use the same toolkit: generate --seed any safe integer, data --count >= 1", () => {
  const generateNeeds = ["--model", "m", "--data", "d", "--out", "o"];
  assert.equal(fromCli(generateCommandSpec, "--seed", "-3", "seed", generateNeeds), -3);
  assert.deepEqual(fromCli(generateCommandSpec, "--seed", "1.5", "seed", generateNeeds), { refused: "must be an integer in [-(2^53 - 1), 2^53 - 1] (got 1.5)" });
  assert.equal(fromCli(dataCommandSpec, "--count", "64", "count", ["synthetic", "--out", "o"]), 64);
  assert.deepEqual(fromCli(dataCommandSpec, "--count", "0", "count", ["synthetic", "--out", "o"]), { refused: "must be an integer >= 1 (got 0)" });
});
