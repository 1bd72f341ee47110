// data/sft.ts: UltraChat `messages` and `{prompt, completion}` rows normalized into SFT examples,
// every bad row named by file:line, and TRL/SPIN token truncation (keep the end of the prompt).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { assert, test } from "./harness.ts";
import { DataError } from "../data/jsonl.ts";
import {
  type ChatTurn,
  detectDataFormat,
  loadSftExamples,
  normalizeSftRow,
  normalizeSftRows,
  truncateTokenIds,
} from "../data/sft.ts";

/** A toy chat template, written here so the test does not depend on models/. */
const template = (messages: readonly ChatTurn[], addGenerationPrompt: boolean): string =>
  messages.map((m) => `<|${m.role}|>${m.content}\n`).join("") + (addGenerationPrompt ? "<|assistant|>" : "");

const u = (content: string): ChatTurn => ({ role: "user", content });
const a = (content: string): ChatTurn => ({ role: "assistant", content });
const conversation = { prompt_id: "abc", messages: [u("Q1"), a("A1"), u("Q2"), a("A2")] };

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DataError, `expected a DataError, got ${error}`);
    return error.message;
  }
  throw new Error("expected a DataError");
};

test("messages, first turn (default): the first user turn and the first answer", () => {
  const ex = normalizeSftRow(conversation, "u.jsonl:1", { schema: "messages" });
  assert.deepEqual(ex, {
    id: "abc",
    where: "u.jsonl:1",
    prompt: "Q1",
    completion: "A1",
    promptMessages: [u("Q1")],
  });
  const templated = normalizeSftRow(conversation, "u.jsonl:1", {
    schema: "messages",
    chatTemplate: template,
  });
  assert.equal(templated.prompt, "<|user|>Q1\n<|assistant|>");
});

test("messages, multi-turn: every turn before the last answer is the prompt, rendered by the template", () => {
  const ex = normalizeSftRow(conversation, "u.jsonl:1", {
    schema: "messages",
    turns: "multi",
    chatTemplate: template,
  });
  assert.equal(ex.prompt, "<|user|>Q1\n<|assistant|>A1\n<|user|>Q2\n<|assistant|>");
  assert.equal(ex.completion, "A2");
  assert.deepEqual(ex.promptMessages, [u("Q1"), a("A1"), u("Q2")]);
  // a trailing user turn after the last answer is dropped
  const trailing = normalizeSftRow({ messages: [u("Q1"), a("A1"), u("Q2")] }, "u.jsonl:2", {
    schema: "messages",
    turns: "multi",
  });
  assert.equal(trailing.completion, "A1");
  assert.equal(trailing.id, "u.jsonl:2");
});

test("a leading system turn is kept in the prompt and needs a template", () => {
  const row = { messages: [{ role: "system", content: "Be brief." }, u("Q"), a("A")] };
  assert.equal(
    normalizeSftRow(row, "s.jsonl:1", { schema: "messages", chatTemplate: template }).prompt,
    "<|system|>Be brief.\n<|user|>Q\n<|assistant|>",
  );
  assert.match(
    errorOf(() => normalizeSftRow(row, "s.jsonl:1", { schema: "messages" })),
    /^s\.jsonl:1: a prompt of 2 turns \(system, user\) needs a chat template/,
  );
});

test("bad messages rows: each error names file:line and the problem", () => {
  const opts = { schema: "messages" } as const;
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: [u("Q"), a("  ")] }, "d.jsonl:3", opts)),
    "d.jsonl:3: empty completion (messages[1].content is empty)",
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: [u("Q")] }, "d.jsonl:4", opts)),
    "d.jsonl:4: no assistant turn in messages",
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: [a("A"), u("Q")] }, "d.jsonl:5", opts)),
    'd.jsonl:5: wrong role order: messages[0] is "assistant", expected "user" (an optional system turn, then user and assistant alternating)',
  );
  assert.match(
    errorOf(() => normalizeSftRow({ messages: [u("Q"), u("Q again"), a("A")] }, "d.jsonl:6", opts)),
    /^d\.jsonl:6: wrong role order: messages\[1\] is "user"/,
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ prompt: "Q", completion: "A" }, "d.jsonl:7", opts)),
    'd.jsonl:7: missing field "messages" (this row looks like the "prompt-completion" schema: set data.schema to "prompt-completion")',
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: "hi" }, "d.jsonl:8", opts)),
    'd.jsonl:8: field "messages" must be a list of {role, content} (got "hi")',
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: [{ role: "user", content: 3 }] }, "d.jsonl:9", opts)),
    "d.jsonl:9: messages[0].content must be a string (got 3)",
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: [{ role: "bot", content: "x" }] }, "d.jsonl:10", opts)),
    'd.jsonl:10: messages[0].role must be "system", "user" or "assistant" (got "bot")',
  );
  assert.equal(
    errorOf(() => normalizeSftRow([1, 2], "d.jsonl:11", opts)),
    "d.jsonl:11: a row must be a JSON object (got [1,2])",
  );
});

test("prompt-completion rows: text as it is, or TRL's conversational form through the template", () => {
  const opts = { schema: "prompt-completion" } as const;
  assert.deepEqual(normalizeSftRow({ id: 7, prompt: "2+2=", completion: "4" }, "p.jsonl:1", opts), {
    id: "7",
    where: "p.jsonl:1",
    prompt: "2+2=",
    completion: "4",
    promptMessages: null,
  });
  const conv = normalizeSftRow({ prompt: [u("Hi")], completion: [a("Hello")] }, "p.jsonl:2", {
    ...opts,
    chatTemplate: template,
  });
  assert.equal(conv.prompt, "<|user|>Hi\n<|assistant|>");
  assert.equal(conv.completion, "Hello");
  assert.equal(
    errorOf(() => normalizeSftRow({ prompt: "Q", completion: "" }, "p.jsonl:3", opts)),
    "p.jsonl:3: empty completion (completion is empty)",
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ prompt: "Q" }, "p.jsonl:4", opts)),
    'p.jsonl:4: missing field "completion"',
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ prompt: 5, completion: "A" }, "p.jsonl:5", opts)),
    'p.jsonl:5: field "prompt" must be a string or a list of messages (got 5)',
  );
  assert.equal(
    errorOf(() => normalizeSftRow({ messages: [] }, "p.jsonl:6", opts)),
    'p.jsonl:6: missing field "prompt" (this row looks like the "messages" schema: set data.schema to "messages")',
  );
});

test("normalizeSftRows collects the first problems and counts the rest", () => {
  const rows = Array.from(
    { length: 14 },
    (_, i) => ({ where: `f.jsonl:${i + 1}`, value: i % 2 === 0 ? { messages: [u("Q")] } : conversation }),
  );
  try {
    normalizeSftRows(rows, { schema: "messages" }, 3);
    assert.fail("expected a DataError");
  } catch (error) {
    assert.ok(error instanceof DataError);
    assert.deepEqual(error.problems.map((p) => p.where), ["f.jsonl:1", "f.jsonl:3", "f.jsonl:5"]);
    assert.match(error.message, /^7 problems in the data:\n {2}f\.jsonl:1: no assistant turn in messages\n/);
    assert.match(error.message, /\.\.\. and 4 more problems$/);
  }
});

test("loadSftExamples reads a JSONL file with file:line in errors; format from the extension", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-spin-sft-"));
  try {
    const good = join(dir, "ultrachat.jsonl");
    writeFileSync(
      good,
      [JSON.stringify(conversation), "", JSON.stringify({ messages: [u("Hi"), a("Hello")] })].join("\n"),
    );
    const examples = await loadSftExamples(good, { schema: "messages" });
    assert.deepEqual(examples.map((e) => [e.where, e.prompt, e.completion]), [[`${good}:1`, "Q1", "A1"], [
      `${good}:3`,
      "Hi",
      "Hello",
    ]]);
    assert.equal((await loadSftExamples(good, { schema: "messages", maxExamples: 1 })).length, 1);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(
      bad,
      [JSON.stringify(conversation), JSON.stringify({ messages: [u("Q"), a("")] })].join("\n"),
    );
    await assert.rejects(
      loadSftExamples(bad, { schema: "messages" }),
      (e: unknown) =>
        e instanceof DataError && e.message === `${bad}:2: empty completion (messages[1].content is empty)`,
    );
    await assert.rejects(
      loadSftExamples(good, { schema: "messages", turns: "multi" }),
      /needs a chat template/,
    );
    await assert.rejects(loadSftExamples(join(dir, "data.txt"), { schema: "messages" }), /set data\.format/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(detectDataFormat("a/B.JSONL"), "jsonl");
  assert.equal(detectDataFormat("train_sft-00000-of-00003.parquet"), "parquet");
});

test("truncation: keep the end of the prompt, then the start of each completion", () => {
  // hand-worked: prompt 1..6 cut to its last 4 (3..6); room = 7 - 4 = 3
  const r = truncateTokenIds([1, 2, 3, 4, 5, 6], [[10, 11, 12, 13, 14], [20, 21], []], {
    maxLength: 7,
    maxPromptLength: 4,
  }, "x:1");
  assert.deepEqual(r, {
    prompt: [3, 4, 5, 6],
    completions: [[10, 11, 12], [20, 21], []],
    promptCut: 2,
    completionCuts: [2, 0, 0],
  });
  // nothing to cut
  assert.deepEqual(truncateTokenIds([1, 2], [[3]], { maxLength: 10, maxPromptLength: 5 }, "x:2").prompt, [
    1,
    2,
  ]);
  // no prompt limit: a prompt as long as maxLength leaves no room → error naming the example
  assert.throws(
    () => truncateTokenIds([1, 2, 3, 4], [[5]], { maxLength: 4, maxPromptLength: null }, "train.jsonl:12"),
    (e: unknown) =>
      e instanceof DataError &&
      e.message === "train.jsonl:12: prompt of 4 tokens leaves no room for a completion within maxLength 4",
  );
  assert.throws(
    () => truncateTokenIds([1, 2, 3, 4, 5], [[5]], { maxLength: 3, maxPromptLength: 3 }, "t:1"),
    /^DataError: t:1: prompt of 5 tokens \(3 after keeping its end to maxPromptLength\) leaves no room for a completion within maxLength 3$/,
  );
});

test("truncation properties against the rules written out independently", () => {
  const ids = fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 12 });
  fc.assert(
    fc.property(
      ids,
      fc.array(ids, { maxLength: 3 }),
      fc.integer({ min: 2, max: 16 }),
      fc.option(fc.integer({ min: 1, max: 15 }), { nil: null }),
      (prompt, comps, maxLength, mpl) => {
        const maxPromptLength = mpl === null ? null : Math.min(mpl, maxLength - 1);
        // the rules, written as loops: drop prompt tokens from the front while too long; then
        // append completion tokens while prompt + completion < maxLength
        const p = [...prompt];
        while (maxPromptLength !== null && p.length > maxPromptLength) p.shift();
        if (p.length >= maxLength) {
          assert.throws(
            () => truncateTokenIds(prompt, comps, { maxLength, maxPromptLength }, "w"),
            DataError,
          );
          return;
        }
        const expected = comps.map((c) => {
          const out: number[] = [];
          for (const id of c) if (p.length + out.length < maxLength) out.push(id);
          return out;
        });
        const r = truncateTokenIds(prompt, comps, { maxLength, maxPromptLength }, "w");
        assert.deepEqual(r.prompt, p);
        assert.deepEqual(r.completions, expected);
        assert.equal(r.promptCut + r.prompt.length, prompt.length);
        r.completions.forEach((c, i) => assert.equal(c.length + r.completionCuts[i], comps[i].length));
      },
    ),
    { seed: 7, numRuns: 300 },
  );
});
