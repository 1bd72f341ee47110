// score and generate refuse what they cannot do before writing anything: a row longer than the
// model's positions (file:line), an empty completion, an empty file, bytes that are not UTF-8; a
// non-finite log-prob is an error with a non-zero exit (never `"logprob": null`), naming the weight;
// generate caps --max-new-tokens to the positions left after the prompt and says so once; both take
// `--model embedded`.
import * as tf from "@tensorflow/tfjs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { generateCommand } from "../cli/generate.ts";
import { main } from "../cli/main.ts";
import { scoreCommand } from "../cli/score.ts";
import { loadHfModel, saveHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { embeddedModelDir } from "../models/embedded.ts";
import { saveTinyModel, setupFixture } from "./selfplay.support.ts";

const fixture = await setupFixture();
const positions = 64; // the fixture model's (and the embedded model's) positions

const file = async (name: string, lines: readonly (string | Uint8Array)[]): Promise<string> => {
  const path = join(fixture.dir, name);
  const parts = lines.map((l) => (typeof l === "string" ? new TextEncoder().encode(l + "\n") : l));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) bytes.set(p, at), at += p.length;
  await writeFile(path, bytes);
  return path;
};

/** Run score, collecting its output lines and warnings. */
const score = async (args: string[]) => {
  const out: string[] = [], warnings: string[] = [];
  const code = await scoreCommand([...args, "--backend", "cpu"], { write: (l) => out.push(l), warn: (l) => warnings.push(l) });
  return { code, out, warnings };
};

/** score must throw `pattern` and write nothing. */
const scoreRefuses = async (args: string[], pattern: RegExp): Promise<void> => {
  const out: string[] = [];
  await assert.rejects(
    scoreCommand([...args, "--backend", "cpu"], { write: (l) => out.push(l), warn: () => {} }),
    (e: Error) => (assert.match(e.message, pattern), true),
  );
  assert.deepEqual(out, [], "no output before the refusal");
};

test("score: a row longer than the context is refused with file:line before any output", async () => {
  const data = await file("long.jsonl", [
    JSON.stringify({ prompt: "short", completion: " one" }),
    JSON.stringify({ prompt: "p".repeat(40), completion: "c".repeat(30) }),
  ]);
  await scoreRefuses(["--model", fixture.modelDir, "--data", data], new RegExp(`long\\.jsonl:2: prompt \\+ completion is 40 \\+ 30 = 70 tokens, more than the model's ${positions} positions`));
  const ids = await file("long-ids.jsonl", [JSON.stringify({ prompt_ids: Array(60).fill(1), completion_ids: Array(5).fill(2) })]);
  await scoreRefuses(["--model", fixture.modelDir, "--data", ids], /long-ids\.jsonl:1: prompt \+ completion is 60 \+ 5 = 65 tokens/);
});

test("score: an empty completion is refused with file:line; with --add-eos the EOS is scored", async () => {
  const data = await file("empty-completion.jsonl", [JSON.stringify({ prompt: "a", completion: "x" }), JSON.stringify({ prompt: "a", completion: "" })]);
  await scoreRefuses(["--model", fixture.modelDir, "--data", data], /empty-completion\.jsonl:2: the completion is empty \(no tokens to score.*--add-eos/);
  const ids = await file("empty-ids.jsonl", [JSON.stringify({ prompt_ids: [1, 2], completion_ids: [] })]);
  await scoreRefuses(["--model", fixture.modelDir, "--data", ids], /empty-ids\.jsonl:1: the completion is empty/);
  const { code, out } = await score(["--model", fixture.modelDir, "--data", data, "--add-eos"]);
  assert.equal(code, 0);
  const second = JSON.parse(out[1]);
  assert.equal(second.tokens, 1); // just EOS
  assert.ok(Number.isFinite(second.logprob) && second.logprob < 0);
});

test("score: an empty file and a file that is not UTF-8 are errors, not empty output", async () => {
  const empty = await file("empty.jsonl", ["", "  "]);
  await scoreRefuses(["--model", fixture.modelDir, "--data", empty], /empty\.jsonl: no lines to score/);
  const latin1 = await file("latin1.jsonl", [JSON.stringify({ prompt: "a", completion: "b" }), new Uint8Array([0x7b, 0xe9, 0x7d, 0x0a])]);
  await scoreRefuses(["--model", fixture.modelDir, "--data", latin1], /latin1\.jsonl:2: invalid UTF-8/);
});

test("score: NaN weights are an error naming the line and the weight, with a non-zero exit (never logprob null)", async () => {
  const broken = join(fixture.dir, "nan-model");
  await saveTinyModel(broken);
  const model = await loadHfModel(broken);
  const name = "transformer.h.0.mlp.c_fc.weight";
  const w = model.weights[name];
  const values = await w.data();
  values[0] = NaN;
  w.assign(tf.tensor(values, w.shape));
  await saveHfModel(model, broken);
  model.dispose();
  const data = await file("nan.jsonl", [JSON.stringify({ prompt: "ab", completion: "cd" })]);
  await scoreRefuses(["--model", broken, "--data", data], new RegExp(`nan\\.jsonl:1: the log-probability is NaN: the weights hold NaN or infinite values \\(first: ${name.replace(/\./g, "\\.")}\\)`));
  const samples = join(fixture.dir, "nan-samples.jsonl");
  await assert.rejects(
    generateCommand(["--model", broken, "--data", data, "--out", samples, "--backend", "cpu", "--quiet"]),
    new RegExp(`the weights hold NaN or infinite values \\(first: ${name.replace(/\./g, "\\.")}\\)`),
  );
  assert.ok(!(await readdir(fixture.dir)).includes("nan-samples.jsonl"));
  const original = console.error;
  console.error = () => {};
  try {
    assert.notEqual(await main(["score", "--model", broken, "--data", data, "--backend", "cpu"]), 0);
  } finally {
    console.error = original;
  }
});

test("score and generate take --model embedded like eval and train", async () => {
  const data = await file("embedded.jsonl", [JSON.stringify({ prompt: "add 3 4\n", completion: "7" })]);
  const named = await score(["--model", "embedded", "--data", data]);
  const byPath = await score(["--model", embeddedModelDir(), "--data", data]);
  assert.equal(named.code, 0);
  assert.deepEqual(named.out, byPath.out);
  assert.ok(Number.isFinite(JSON.parse(named.out[0]).logprob));
});

test("generate: the default --max-new-tokens is capped to the positions after the prompt, said once", async () => {
  const prompts = await file("prompts.jsonl", [JSON.stringify({ prompt: "add 3 4\n" }), JSON.stringify({ prompt: "capital of France\n" }), JSON.stringify({ prompt: "hi\n" })]);
  const out = join(fixture.dir, "samples.jsonl");
  const messages: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void messages.push(args.join(" "));
  let code;
  try {
    code = await generateCommand(["--model", "embedded", "--data", prompts, "--out", out, "--backend", "cpu", "--batch-size", "2", "--seed", "1", "--quiet"]);
  } finally {
    console.error = original;
  }
  assert.equal(code, 0);
  const capped = messages.filter((m) => /--max-new-tokens 256 does not fit the model's 64 positions/.test(m));
  assert.equal(capped.length, 1, messages.join("\n"));
  const tokenizer = await loadTokenizer(embeddedModelDir());
  const rows = (await readFile(out, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  // Batches: prompts 0-1 (longest "capital of France\n" = 18 bytes + BOS) and prompt 2.
  const promptLength = (p: string) => tokenizer.encode(p).length + 1;
  const room = [positions - promptLength("capital of France\n"), positions - promptLength("capital of France\n"), positions - promptLength("hi\n")];
  rows.forEach((r, i) => assert.ok(r.tokens <= room[i], `row ${i}: ${r.tokens} tokens > ${room[i]}`));
  assert.match(capped[0], new RegExp(`capped to ${Math.min(...room)}\\.\\.${Math.max(...room)} new tokens`));
});

test("generate: an empty prompts file and a prompt beyond the positions are refused, and no output is written", async () => {
  const out = join(fixture.dir, "never.jsonl");
  const empty = await file("no-prompts.jsonl", [""]);
  await assert.rejects(
    generateCommand(["--model", fixture.modelDir, "--data", empty, "--out", out, "--backend", "cpu", "--quiet"]),
    /no-prompts\.jsonl: no prompts \(the file is empty\)/,
  );
  const long = await file("long-prompts.jsonl", [JSON.stringify({ prompt: "ok" }), JSON.stringify({ prompt: "z".repeat(70) })]);
  await assert.rejects(
    generateCommand(["--model", fixture.modelDir, "--data", long, "--out", out, "--backend", "cpu", "--quiet"]),
    /long-prompts\.jsonl:2: the prompt is 71 tokens, leaving no room to generate within the model's 64 positions/,
  );
  assert.ok(!(await readdir(fixture.dir)).includes("never.jsonl"));
  const ok = await file("ok-prompts.jsonl", [JSON.stringify({ prompt: "ok" })]);
  await assert.rejects(
    generateCommand(["--model", fixture.modelDir, "--data", ok, "--out", fixture.dir, "--backend", "cpu", "--quiet"]),
    /cannot write --out .*: it is a folder, not a file/,
  );
  assert.equal(new ByteTokenizer().encode("z".repeat(70)).length, 70); // + BOS = 71
});
