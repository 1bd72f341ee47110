/**
 * `alpha-spin data synthetic --out FILE [--split train|heldOut|test] [--count N]`: write the embedded
 * default task's examples (the synthetic task the embedded model was trained on, with the splits
 * `alpha-spin spin` uses) as JSONL rows `{"id", "prompt", "completion"}`: the `prompt-completion`
 * schema of a run config's `data`, so `alpha-spin train` can run on them with `"model": "embedded"`.
 * The first N examples of a split are the same for every N (example i has its own random stream).
 *
 * @example
 * ```sh
 * alpha-spin data synthetic --out data/synthetic-train.jsonl --count 256
 * alpha-spin data synthetic --out data/synthetic-test.jsonl --split test
 * ```
 *
 * @module
 */
import { writeJsonlAtomic } from "../data/jsonl.ts";
import { makeSyntheticTask, type SyntheticSplitName } from "../data/synthetic.ts";
import { embeddedTaskOptions } from "./default-run.ts";
import { positiveInt } from "../core/config.ts";
import { type CommandSpec, parseOrExit } from "./args.ts";

const splits: readonly SyntheticSplitName[] = ["train", "heldOut", "test"];
const splitSize: Readonly<Record<SyntheticSplitName, number>> = {
  train: embeddedTaskOptions.nTrain,
  heldOut: embeddedTaskOptions.nHeldOut,
  test: embeddedTaskOptions.nTest,
};

/** The flags of `alpha-spin data`. */
export const dataCommandSpec = {
  name: "alpha-spin data",
  summary: "write the embedded task's data as JSONL a run config can train on (schema prompt-completion)",
  flags: {
    out: { type: "string", short: "o", valueName: "file", description: "the JSONL file to write", required: true },
    split: { type: "string", default: "train", valueName: "name", description: "train, heldOut or test" },
    count: { type: "number", codec: positiveInt, valueName: "n", description: "the first n examples of the split (default: all of it)" },
  },
  positionals: [{ name: "source", description: "what to write: synthetic (the embedded default task)", required: true }],
  examples: [
    "alpha-spin data synthetic --out data/synthetic-train.jsonl --count 256",
    "alpha-spin data synthetic --out data/synthetic-test.jsonl --split test",
  ],
} as const satisfies CommandSpec;

/**
 * Run `alpha-spin data` on its arguments; resolves to the exit code (0 written, 2 bad arguments).
 *
 * @example
 * ```ts
 * process.exitCode = await dataCommand(["synthetic", "--out", "train.jsonl", "--count", "64"]);
 * ```
 */
export const dataCommand = async (args: string[]): Promise<number> => {
  const parsed = parseOrExit(dataCommandSpec, args);
  if (typeof parsed === "number") return parsed;
  const { out, split, count } = parsed.flags;
  const [source] = parsed.positional;
  const usage = (message: string): number => {
    console.error(`alpha-spin data: ${message} (see alpha-spin data --help)`);
    return 2;
  };
  if (source !== "synthetic") return usage(`unknown source "${source}": the one source is "synthetic"`);
  if (!splits.includes(split as SyntheticSplitName)) return usage(`--split must be one of ${splits.join(", ")} (got "${split}")`);
  const name = split as SyntheticSplitName;
  const n = count ?? splitSize[name];
  const task = makeSyntheticTask({ ...embeddedTaskOptions, nTrain: 0, nHeldOut: 0, nTest: 0, [`n${name[0].toUpperCase()}${name.slice(1)}`]: n });
  const rows = task[name].map((ex) => ({ id: ex.id, prompt: ex.prompt, completion: ex.completion }));
  await writeJsonlAtomic(out, rows);
  console.error(`wrote ${rows.length} ${name} examples of the embedded task to ${out} (data.schema "prompt-completion")`);
  return 0;
};
