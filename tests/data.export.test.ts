// data/export.ts: TRL DPO and SPIN real/generated exports, their exact row shapes, and round trips
// through the loaders; bad rows in exported files are named by file:line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { DataError } from "../data/jsonl.ts";
import type { ChatTurn } from "../data/sft.ts";
import {
  fromSpinRow,
  type PreferenceRecord,
  readSpinJsonl,
  readTrlDpoJsonl,
  toSpinRow,
  toTrlDpoRow,
  writeSpinJsonl,
  writeTrlDpoJsonl,
} from "../data/export.ts";

const template = (messages: readonly ChatTurn[], addGenerationPrompt: boolean): string =>
  messages.map((m) => `<|${m.role}|>${m.content}\n`).join("") + (addGenerationPrompt ? "<|assistant|>" : "");

const single: PreferenceRecord = {
  id: "p1",
  prompt: "What is 2 + 2?",
  promptMessages: [{ role: "user", content: "What is 2 + 2?" }],
  chosen: "4.",
  rejected: '5, "probably" — 你好\nsecond line',
  refChosenLogp: -3.25,
  refRejectedLogp: -17.5,
};
const multiTurns: ChatTurn[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Name a colour." },
  { role: "assistant", content: "Blue." },
  { role: "user", content: "Another?" },
];
const multi: PreferenceRecord = {
  id: null,
  prompt: template(multiTurns, true),
  promptMessages: multiTurns,
  chosen: "Green.",
  rejected: "Blue again.",
  refChosenLogp: null,
  refRejectedLogp: null,
};

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-spin-export-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test("TRL DPO rows have TRL's column names; absent log-probs and ids are left out", () => {
  assert.deepEqual(toTrlDpoRow(single), {
    prompt_id: "p1",
    prompt: "What is 2 + 2?",
    chosen: "4.",
    rejected: single.rejected,
    ref_chosen_logps: -3.25,
    ref_rejected_logps: -17.5,
  });
  assert.deepEqual(Object.keys(toTrlDpoRow(multi)), ["prompt", "chosen", "rejected"]);
});

test("SPIN rows are the official real/generated conversations", () => {
  assert.deepEqual(toSpinRow(single), {
    real: [{ role: "user", content: "What is 2 + 2?" }, { role: "assistant", content: "4." }],
    generated: [{ role: "user", content: "What is 2 + 2?" }, { role: "assistant", content: single.rejected }],
  });
  // a record without prompt messages becomes one user turn with the prompt text
  assert.deepEqual(toSpinRow({ ...single, promptMessages: null }).real[0], {
    role: "user",
    content: "What is 2 + 2?",
  });
});

test("TRL DPO export round-trips through the loader", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "iter-1", "pairs.dpo.jsonl");
    await writeTrlDpoJsonl(file, [single, multi]);
    assert.equal(readFileSync(file, "utf8").split("\n").length, 3);
    const back = await readTrlDpoJsonl(file);
    assert.deepEqual(back, [{ ...single, promptMessages: null }, { ...multi, promptMessages: null }]);
  });
});

test("SPIN export round-trips through the loader (multi-turn prompts through the template)", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "pairs.spin.jsonl");
    await writeSpinJsonl(file, [single, multi]);
    const back = await readSpinJsonl(file, { chatTemplate: template });
    const strip = (r: PreferenceRecord): PreferenceRecord => ({
      ...r,
      id: null,
      refChosenLogp: null,
      refRejectedLogp: null,
    });
    assert.deepEqual(back, [
      { ...strip(single), prompt: template(single.promptMessages!, true) },
      strip(multi),
    ]);
    // without a template, a single user turn is the prompt text itself; a multi-turn prompt is an error
    await writeSpinJsonl(file, [single]);
    assert.deepEqual(await readSpinJsonl(file), [strip(single)]);
    await writeSpinJsonl(file, [single, multi]);
    await assert.rejects(
      readSpinJsonl(file),
      (e: unknown) =>
        e instanceof DataError &&
        e.message === `${file}:2: a prompt of 4 turns needs a chat template to render it`,
    );
  });
});

test("SPIN loader reads the chosen/rejected naming of later SPIN files too", () => {
  const row = {
    chosen: [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }],
    rejected: [{ role: "user", content: "Q" }, { role: "assistant", content: "B" }],
  };
  const r = fromSpinRow(row, "s.jsonl:1");
  assert.deepEqual([r.prompt, r.chosen, r.rejected], ["Q", "A", "B"]);
});

test("bad rows in exported files are named by file:line", async () => {
  await withDir(async (dir) => {
    const dpo = join(dir, "bad.dpo.jsonl");
    writeFileSync(
      dpo,
      [
        JSON.stringify(toTrlDpoRow(single)),
        JSON.stringify({ prompt: "Q", chosen: "A" }),
        JSON.stringify({ prompt: "Q", chosen: "A", rejected: "B", ref_chosen_logps: "x" }),
      ].join("\n"),
    );
    await assert.rejects(readTrlDpoJsonl(dpo), (e: unknown) =>
      e instanceof DataError &&
      e.message ===
        `2 problems in the data:\n  ${dpo}:2: missing field "rejected"\n  ${dpo}:3: field "ref_chosen_logps" must be a finite number (got "x")`);
    const spin = join(dir, "bad.spin.jsonl");
    writeFileSync(
      spin,
      [
        JSON.stringify({
          real: [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }],
          generated: [{ role: "user", content: "Other" }, { role: "assistant", content: "B" }],
        }),
        JSON.stringify({
          real: [{ role: "user", content: "Q" }],
          generated: [{ role: "user", content: "Q" }, { role: "assistant", content: "B" }],
        }),
        JSON.stringify({ real: [] }),
      ].join("\n"),
    );
    await assert.rejects(readSpinJsonl(spin), (e: unknown) =>
      e instanceof DataError &&
      e.message === [
          "3 problems in the data:",
          `  ${spin}:1: "real" and "generated" must share the same prompt turns`,
          `  ${spin}:2: field "real" must end with an assistant turn after the prompt turns`,
          `  ${spin}:3: missing field "generated"`,
        ].join("\n"));
  });
});
