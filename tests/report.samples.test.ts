// The report's sample tables (eval/report-samples.ts): the opponent's answer is iteration t's
// generation by iterate t − 1 (not an older iterate's, not another example's), the data's answer and
// the prompt come from the examples, the new model's answer is its greedy decoding; a missing file
// or row shows "(not stored)"; a broken line is an error naming file and line.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { collectIterationSamples, pickSampleExamples } from "../eval/report-samples.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import type { Policy } from "../models/policy.ts";

const tokenizer = new ByteTokenizer();
/** A stand-in policy whose "greedy" answer is the prompt upper-cased (then EOS): known in advance. */
const shouting = {
  generate: (prompts: readonly (readonly number[])[]) =>
    Promise.resolve({
      completions: prompts.map((ids) => [
        ...new TextEncoder().encode(tokenizer.decode([...ids], { skipSpecialTokens: true }).toUpperCase()),
        tokenizer.eosId!,
      ]),
    }),
} as unknown as Policy;

const examples = [
  { id: "train-0", prompt: "up abc\n", completion: "ABC" },
  { id: "train-1", prompt: "rev xy\n", completion: "yx" },
  { id: "train-2", prompt: "add 1 2\n", completion: "= 3" },
];

const row = (exampleId: string, iterate: number, text: string) =>
  JSON.stringify({ exampleIndex: 0, exampleId, iterate, iterateId: iterate === 0 ? "base" : `iter-${iterate}`, text });

test("sample rows join the data, the opponent π_{t−1}'s generation and π_t's greedy answer", async () => {
  const runDir = await mkdtemp(join(tmpdir(), "alpha-spin-samples-"));
  try {
    await mkdir(join(runDir, "iter-2"), { recursive: true });
    await writeFile(
      join(runDir, "iter-2", "generations.jsonl"),
      [row("train-0", 0, "old base answer"), row("train-0", 1, "abd"), row("train-2", 1, "= 4"), ""].join("\n"),
    );
    const s = await collectIterationSamples({
      runDir,
      iteration: 2,
      model: { policy: shouting, tokenizer },
      examples,
      isCorrect: (_prompt, answer) => answer.startsWith("UP"),
    });
    assert.equal(s.iteration, 2);
    assert.deepEqual(s.rows, [
      { exampleId: "train-0", prompt: "up abc", data: "ABC", opponent: "abd", model: "UP ABC\n", correct: true },
      { exampleId: "train-1", prompt: "rev xy", data: "yx", opponent: "(not stored)", model: "REV XY\n", correct: false },
      { exampleId: "train-2", prompt: "add 1 2", data: "= 3", opponent: "= 4", model: "ADD 1 2\n", correct: false },
    ]);
    const none = await collectIterationSamples({ runDir, iteration: 3, model: { policy: shouting, tokenizer }, examples: examples.slice(0, 1) });
    assert.equal(none.rows[0].opponent, "(not stored)", "no iter-3 folder");
    assert.equal(none.rows[0].correct, undefined);
    await writeFile(join(runDir, "iter-2", "generations.jsonl"), `${row("train-0", 1, "a")}\n{broken\n`);
    await assert.rejects(
      collectIterationSamples({ runDir, iteration: 2, model: { policy: shouting, tokenizer }, examples }),
      /iter-2[/\\]generations\.jsonl:2: not a JSON line/,
    );
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});

test("pickSampleExamples spreads its picks evenly and never repeats", () => {
  const xs = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(pickSampleExamples(xs, 4), [1, 3, 6, 8]);
  assert.deepEqual(pickSampleExamples(xs, 20), xs);
  assert.deepEqual(pickSampleExamples(xs, 0), []);
});
