/**
 * eval/multiple-choice.ts: acc, acc_norm (log-likelihood / characters) and acc_bytes
 * (/ UTF-8 bytes) on hand-made items, first-index ties, the delimiter given to the scorer,
 * standard errors, and the JSONL row checks.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  evaluateMultipleChoice,
  loadMultipleChoiceJsonl,
  parseMultipleChoiceRow,
  scoreChoiceLogLikelihoods,
} from "../eval/multiple-choice.ts";
import { assert, assertClose, test } from "./harness.ts";

test("acc vs acc_norm vs acc_bytes on hand numbers", () => {
  // "a" (1 char) at −2 vs "bbbb" (4 chars) at −4: acc → 0; per char −2 vs −1 → acc_norm picks 1.
  assert.deepEqual(scoreChoiceLogLikelihoods([-2, -4], ["a", "bbbb"], 1), {
    pred: 0,
    predNorm: 1,
    predBytes: 1,
    acc: 0,
    accNorm: 1,
    accBytes: 1,
  });
  // "é" is 1 character but 2 bytes: at −3 vs "ab" at −4 → per char −3 vs −2 (pick 1); per byte −1.5 vs −2 (pick 0).
  assert.deepEqual(scoreChoiceLogLikelihoods([-3, -4], ["é", "ab"], 0), {
    pred: 0,
    predNorm: 1,
    predBytes: 0,
    acc: 1,
    accNorm: 0,
    accBytes: 1,
  });
  // Characters are code points: "😀" is one character (two UTF-16 units, four bytes).
  assert.equal(scoreChoiceLogLikelihoods([-2, -3.5], ["😀", "ab"], 1).predNorm, 1); // −2 vs −1.75
  // Ties go to the first index.
  assert.equal(scoreChoiceLogLikelihoods([-1, -1, -1], ["x", "y", "z"], 2).pred, 0);
  assert.throws(() => scoreChoiceLogLikelihoods([-1], ["x", "y"], 0), RangeError);
  assert.throws(() => scoreChoiceLogLikelihoods([-1, NaN], ["x", "y"], 0), RangeError);
  assert.throws(() => scoreChoiceLogLikelihoods([-1, -2], ["x", "y"], 2), RangeError);
});

test("evaluateMultipleChoice: continuations carry the delimiter, accuracies and standard errors", async () => {
  const rows = [
    { context: "Q1", choices: ["a", "bbbb"], label: 1 },
    { context: "Q2", choices: ["yes", "no"], label: 0 },
    { context: "Q3", choices: ["x", "y", "z"], label: 2 },
    { context: "Q4", choices: ["cc", "d"], label: 0 },
  ];
  const table: Record<string, number[]> = { Q1: [-2, -4], Q2: [-1, -3], Q3: [-1, -2, -3], Q4: [-3, -1] };
  const calls: [string, readonly string[]][] = [];
  const summary = await evaluateMultipleChoice(rows, (context, continuations) => {
    calls.push([context, continuations]);
    return Promise.resolve(table[context]);
  });
  assert.deepEqual(calls[0], ["Q1", [" a", " bbbb"]]);
  assert.deepEqual(calls[2], ["Q3", [" x", " y", " z"]]);
  // acc: Q1 no, Q2 yes, Q3 no, Q4 no → 0.25. acc_norm: Q1 yes (−2 vs −1), Q2 −1/3 vs −1.5 yes, Q3 no, Q4 −1.5 vs −1 no → 0.5.
  assert.equal(summary.n, 4);
  assert.equal(summary.acc, 0.25);
  assert.equal(summary.accNorm, 0.5);
  assertClose([summary.accStderr], [Math.sqrt(0.75 / 3) / 2], { atol: 1e-15 }); // std of [0,1,0,0] = √(0.75/3)
  assertClose([summary.accNormStderr], [Math.sqrt(1 / 3) / 2], { atol: 1e-15 });
  const noDelimiter = await evaluateMultipleChoice(rows.slice(0, 1), (_c, conts) => {
    assert.deepEqual(conts, ["a", "bbbb"]);
    return Promise.resolve([-1, -2]);
  }, { targetDelimiter: "" });
  assert.equal(noDelimiter.acc, 0);
});

test("rows: labels as index or choice text; bad rows are reported with file:line", async () => {
  assert.equal(parseMultipleChoiceRow({ context: "2+2 =", choices: ["4", "5"], label: "5" }, "x:1").label, 1);
  assert.equal(parseMultipleChoiceRow({ context: "", choices: ["4", "5"], label: 0 }, "x:1").label, 0);
  assert.throws(
    () => parseMultipleChoiceRow({ context: "c", choices: ["4"], label: 1 }, "x:1"),
    /x:1: label/,
  );
  assert.throws(() => parseMultipleChoiceRow({ context: "c", choices: [], label: 0 }, "x:2"), /x:2: choices/);
  assert.throws(() => parseMultipleChoiceRow({ choices: ["a"], label: 0 }, "x:3"), /x:3: context/);
  assert.throws(
    () => parseMultipleChoiceRow({ context: "c", choices: ["a", ""], label: 0 }, "x:4"),
    /choices\[1\]/,
  );
  assert.throws(() => parseMultipleChoiceRow([1, 2], "x:5"), /x:5/);

  const dir = await mkdtemp(join(tmpdir(), "mc-"));
  try {
    const good = join(dir, "good.jsonl");
    await writeFile(
      good,
      '{"context":"a","choices":["b","c"],"label":1}\n\n{"context":"d","choices":["e","f"],"label":"e"}\n',
    );
    const rows = await loadMultipleChoiceJsonl(good);
    assert.deepEqual(rows, [{ context: "a", choices: ["b", "c"], label: 1 }, {
      context: "d",
      choices: ["e", "f"],
      label: 0,
    }]);
    const bad = join(dir, "bad.jsonl");
    await writeFile(
      bad,
      '{"context":"a","choices":["b"],"label":3}\n{"context":"a","choices":["b"],"label":0}\n{"choices":[]}\n',
    );
    await assert.rejects(() => loadMultipleChoiceJsonl(bad), (e: Error) => {
      assert.match(e.message, /bad\.jsonl:1: label/);
      assert.match(e.message, /bad\.jsonl:3: context/);
      assert.doesNotMatch(e.message, /bad\.jsonl:2/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
