// data/parquet.ts through hyparquet, on the tiny fixtures written by tests/fixtures/make_parquet.py:
// nested UltraChat `messages`, INT64 ids, row numbers in errors, and a file that is not Parquet.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { DataError } from "../data/jsonl.ts";
import { readParquetRows } from "../data/parquet.ts";
import { type ChatTurn, loadSftExamples } from "../data/sft.ts";

const fixtures = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "fixtures");
const ultrachat = join(fixtures, "ultrachat-tiny.parquet");
const promptCompletion = join(fixtures, "prompt-completion-tiny.parquet");

test("UltraChat rows read with their nested messages lists", async () => {
  const rows = await readParquetRows(ultrachat);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0], {
    row: 1,
    where: `${ultrachat} row 1`,
    value: {
      prompt: "What is 2 + 2?",
      prompt_id: "p1",
      messages: [{ content: "What is 2 + 2?", role: "user" }, { content: "2 + 2 = 4.", role: "assistant" }],
    },
  });
  assert.equal((rows[1].value.messages as unknown[]).length, 4);
  assert.equal((rows[2].value.messages as { content: string }[])[1].content, "你好 — nǐ hǎo.");
});

test("maxRows and columns limit what is read; INT64 comes back as numbers", async () => {
  const some = await readParquetRows(ultrachat, { maxRows: 2, columns: ["prompt_id"] });
  assert.deepEqual(some.map((r) => r.value), [{ prompt_id: "p1" }, { prompt_id: "p2" }]);
  const pc = await readParquetRows(promptCompletion);
  assert.deepEqual(pc.map((r) => r.value), [
    { id: 7, prompt: "Capital of France?", completion: "Paris." },
    { id: 2 ** 40, prompt: "1 + 1 =", completion: "2" },
  ]);
});

test("loadSftExamples on Parquet: first turn, multi-turn, and the bad row named by its number", async () => {
  const first = await loadSftExamples(ultrachat, { schema: "messages", maxExamples: 3 });
  assert.deepEqual(first.map((e) => [e.id, e.prompt, e.completion]), [
    ["p1", "What is 2 + 2?", "2 + 2 = 4."],
    ["p2", "Name a colour.", "Blue."],
    ["p3", "Dis bonjour en chinois.", "你好 — nǐ hǎo."],
  ]);
  const template = (messages: readonly ChatTurn[]): string =>
    messages.map((m) => `${m.role}: ${m.content}`).join(" | ");
  const multi = await loadSftExamples(ultrachat, {
    schema: "messages",
    turns: "multi",
    chatTemplate: template,
    maxExamples: 2,
  });
  assert.equal(multi[1].prompt, "user: Name a colour. | assistant: Blue. | user: Another one?");
  assert.equal(multi[1].completion, "Green.");
  await assert.rejects(
    loadSftExamples(ultrachat, { schema: "messages" }),
    (e: unknown) =>
      e instanceof DataError && e.message === `${ultrachat} row 4: no assistant turn in messages`,
  );
  const pc = await loadSftExamples(promptCompletion, { schema: "prompt-completion" });
  assert.deepEqual(pc.map((e) => [e.id, e.prompt, e.completion]), [["7", "Capital of France?", "Paris."], [
    "1099511627776",
    "1 + 1 =",
    "2",
  ]]);
});

test("a file that is not Parquet is a DataError naming it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-spin-pq-"));
  try {
    const file = join(dir, "fake.parquet");
    writeFileSync(file, '{"not": "parquet"}\n');
    await assert.rejects(
      readParquetRows(file),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${file}: cannot read Parquet (`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
