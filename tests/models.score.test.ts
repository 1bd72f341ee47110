// `alpha-spin score` on the committed fixtures (scripts/make_hf_fixtures.py): the summed log-probs
// of an independent float64 torch forward are reproduced to 1e-4 for GPT-2 (F32, BPE tokenizer),
// Llama (F16 shards; with and without the PEFT adapter), Qwen2 (BF16, byte tokenizer), Gemma, Gemma 2
// and Mistral (sliding windows shorter than the scored sequences), from ids,
// text and chat lines; malformed input is reported by file, line and field.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { parseScoreArgs, scoreCommand } from "../cli/score.ts";
import { parseScoreLines } from "../cli/score-input.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";

const fixture = (name: string): string =>
  decodeURIComponent(new URL(`./fixtures/${name}`, import.meta.url).pathname);
const expectedOf = (name: string) => JSON.parse(readFileSync(fixture(`${name}/expected.json`), "utf8"));

interface ScoreLine {
  index: number;
  line: number;
  id?: unknown;
  logprob: number;
  tokens: number;
  prompt_tokens: number;
  prefix_ok?: boolean;
}

/** Run the command on `lines` (written to a temp JSONL file); returns exit code, parsed output, warnings. */
const runScore = async (
  lines: unknown[],
  extra: string[],
): Promise<{ code: number; out: ScoreLine[]; warnings: string[] }> => {
  const dir = mkdtempSync(join(tmpdir(), "score-"));
  try {
    const data = join(dir, "data.jsonl");
    writeFileSync(data, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
    const out: string[] = [], warnings: string[] = [];
    const backend = extra.includes("--backend") ? [] : ["--backend", "cpu"];
    const code = await scoreCommand(["--data", data, ...backend, ...extra], {
      write: (l) => void out.push(l),
      warn: (l) => void warnings.push(l),
    });
    return {
      code,
      out: code === 0 && !extra.includes("--help") ? out.map((l) => JSON.parse(l)) : [],
      warnings,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const close = (got: number, want: number, what: string): void =>
  assert.ok(Math.abs(got - want) <= 1e-4, `${what}: got ${got}, torch says ${want}`);

type Expected = { prompt_ids: number[]; completion_ids: number[]; logprob: number; tokens: number };

test("GPT-2 fixture: id lines reproduce the torch log-probs (batch sizes 1 and 8, order kept)", async () => {
  const score: Expected[] = expectedOf("hf-tiny-gpt2").score;
  for (const batch of ["1", "8"]) {
    const { code, out } = await runScore(
      score.map((s, i) => ({ id: `q${i}`, prompt_ids: s.prompt_ids, completion_ids: s.completion_ids })),
      ["--model", fixture("hf-tiny-gpt2"), "--batch-size", batch],
    );
    assert.equal(code, 0);
    assert.equal(out.length, score.length);
    out.forEach((o, i) => {
      assert.deepEqual([o.index, o.line, o.id, o.tokens, o.prompt_tokens], [
        i,
        i + 1,
        `q${i}`,
        score[i].tokens,
        score[i].prompt_ids.length,
      ]);
      close(o.logprob, score[i].logprob, `gpt2 line ${i + 1}, batch ${batch}`);
      assert.equal(o.prefix_ok, undefined);
    });
  }
});

test("GPT-2 fixture: tokenizer.json gives the ids of the script's own BPE; text lines score as torch", async () => {
  const text: (Expected & { prompt: string; completion: string; joint_ids: number[] })[] =
    expectedOf("hf-tiny-gpt2").text_score;
  const tok = await loadTokenizer(fixture("hf-tiny-gpt2"));
  for (const t of text) {
    assert.deepEqual(tok.encode(t.prompt), t.prompt_ids, t.prompt);
    assert.deepEqual(tok.encode(t.completion), t.completion_ids, t.completion);
    assert.deepEqual(tok.encode(t.prompt + t.completion), t.joint_ids, t.prompt + t.completion);
  }
  const { code, out, warnings } = await runScore(
    text.map((t) => ({ prompt: t.prompt, completion: t.completion })),
    ["--model", fixture("hf-tiny-gpt2")],
  );
  assert.equal(code, 0);
  out.forEach((o, i) => {
    close(o.logprob, text[i].logprob, `text line ${i + 1}`);
    assert.equal(o.tokens, text[i].tokens);
    assert.equal(
      o.prefix_ok,
      JSON.stringify(text[i].joint_ids.slice(0, text[i].prompt_ids.length)) ===
        JSON.stringify(text[i].prompt_ids),
    );
  });
  assert.deepEqual(out.map((o) => o.prefix_ok), [true, false, true]); // "a dog " + "ran…": the space merges
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /data\.jsonl:2: tokenizing prompt \+ completion does not keep the prompt's tokens as a prefix/,
  );
});

test("Llama fixture (F16 shards): id lines match torch; with --adapter, the PEFT fixture's scores", async () => {
  const base: Expected[] = expectedOf("hf-tiny-llama").score;
  const adapted: Expected[] = expectedOf("peft-tiny-llama").score;
  const lines = base.map((s) => ({ prompt_ids: s.prompt_ids, completion_ids: s.completion_ids }));
  const plain = await runScore(lines, ["--model", fixture("hf-tiny-llama"), "--batch-size", "2"]);
  plain.out.forEach((o, i) => close(o.logprob, base[i].logprob, `llama line ${i + 1}`));
  const withAdapter = await runScore(lines, [
    "--model",
    fixture("hf-tiny-llama"),
    "--adapter",
    fixture("peft-tiny-llama"),
  ]);
  assert.equal(withAdapter.code, 0);
  withAdapter.out.forEach((o, i) => {
    close(o.logprob, adapted[i].logprob, `llama+adapter line ${i + 1}`);
    assert.ok(Math.abs(o.logprob - base[i].logprob) > 1e-2, "the adapter changes the scores");
  });
});

test("Qwen2 fixture (BF16, byte tokenizer): text and id lines match torch", async () => {
  const expected = expectedOf("hf-tiny-qwen2");
  const text: (Expected & { prompt: string; completion: string })[] = expected.text_score;
  const { out } = await runScore(
    [
      ...text.map((t) => ({ prompt: t.prompt, completion: t.completion })),
      ...(expected.score as Expected[]).map((s) => ({
        prompt_ids: s.prompt_ids,
        completion_ids: s.completion_ids,
      })),
    ],
    ["--model", fixture("hf-tiny-qwen2"), "--batch-size", "3"],
  );
  const want = [...text, ...expected.score as Expected[]];
  assert.equal(out.length, want.length);
  out.forEach((o, i) => {
    close(o.logprob, want[i].logprob, `qwen2 line ${i + 1}`);
    assert.equal(o.tokens, want[i].tokens);
    assert.equal(o.prompt_tokens, want[i].prompt_ids.length);
  });
});

test("Gemma (F32), Gemma 2 (BF16) and Mistral (F16) fixtures: id lines match torch", async () => {
  for (const name of ["hf-tiny-gemma", "hf-tiny-gemma2", "hf-tiny-mistral"]) {
    const score: Expected[] = expectedOf(name).score;
    const { code, out } = await runScore(
      score.map((s) => ({ prompt_ids: s.prompt_ids, completion_ids: s.completion_ids })),
      ["--model", fixture(name), "--batch-size", "2"],
    );
    assert.equal(code, 0);
    assert.equal(out.length, score.length);
    out.forEach((o, i) => {
      close(o.logprob, score[i].logprob, `${name} line ${i + 1}`);
      assert.equal(o.tokens, score[i].tokens);
    });
  }
});

test("chat lines are rendered with the chat template; --add-bos/--add-eos add the special ids", async () => {
  const dir = mkdtempSync(join(tmpdir(), "score-tok-"));
  try {
    const template =
      "{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";
    writeFileSync(
      join(dir, "tokenizer_config.json"),
      JSON.stringify(new ByteTokenizer({ chatTemplate: template }).toConfig()),
    );
    const model = ["--model", fixture("hf-tiny-qwen2"), "--tokenizer", dir];
    const chat = await runScore([{
      prompt: [{ role: "user", content: "2+2?" }],
      completion: [{ role: "assistant", content: "4" }],
    }], model);
    // By hand: prompt "<user>2+2?<|eos|><assistant>", completion "4<|eos|>" (the rest of the whole rendering).
    const text = await runScore([{ prompt: "<user>2+2?<|eos|><assistant>", completion: "4<|eos|>" }], model);
    assert.deepEqual([chat.out[0].tokens, chat.out[0].prompt_tokens], [2, 22]);
    close(chat.out[0].logprob, text.out[0].logprob, "chat = hand-rendered text");
    const special = await runScore([{ prompt: "hi", completion: " x" }], [
      ...model,
      "--add-bos",
      "--add-eos",
    ]);
    assert.deepEqual([special.out[0].prompt_tokens, special.out[0].tokens], [3, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("malformed input names file:line and the field; usage errors exit 2", async () => {
  const parse = (text: string) => () => parseScoreLines(text, "in.jsonl");
  assert.throws(parse('{"prompt": "a", "completion": "b"}\n\n{oops'), /in\.jsonl:3: not valid JSON/);
  assert.throws(parse("[1]"), /in\.jsonl:1: expected a JSON object/);
  assert.throws(
    parse('{"prompt": "a", "completion": 5}'),
    /in\.jsonl:1: completion: must be a string \(got 5\)/,
  );
  assert.throws(parse('{"prompt": 5, "completion": "x"}'), /in\.jsonl:1: prompt: must be a string \(got 5\)/);
  assert.throws(
    parse('{"prompt_ids": [1, -2], "completion_ids": [3]}'),
    /in\.jsonl:1: prompt_ids\[1\]: must be an integer >= 0 \(got -2\)/,
  );
  assert.throws(
    parse('{"prompt_ids": [1], "completion_ids": "3"}'),
    /in\.jsonl:1: completion_ids: must be a list \(got "3"\)/,
  );
  assert.throws(parse('{"text": "x"}'), /in\.jsonl:1: expected "prompt" and "completion"/);
  assert.throws(
    parse('{"prompt": [{"role": "user"}], "completion": []}'),
    /in\.jsonl:1: prompt\[0\]\.content: must be a string \(got nothing\)/,
  );
  assert.equal(parse('\n{"prompt_ids": [1], "completion_ids": [2]}\n\n')().length, 1);

  const gpt2 = ["--model", fixture("hf-tiny-gpt2")];
  await assert.rejects(
    runScore([{ prompt_ids: [1], completion_ids: [64] }], gpt2),
    /data\.jsonl:1: "completion_ids"\[0\] = 64 is not in the model's vocabulary \[0, 64\)/,
  );
  await assert.rejects(
    runScore([{ prompt_ids: [], completion_ids: [3] }], gpt2),
    /data\.jsonl:1: the prompt has no tokens/,
  );
  await assert.rejects(
    runScore([{ prompt_ids: [1], completion_ids: [2] }, { prompt: "x" }], gpt2),
    /data\.jsonl:2: completion: must be a string \(got nothing\)/,
  );
  await assert.rejects(
    runScore([{ prompt: "a", completion: "b" }], ["--model", fixture("hf-tiny-llama")]),
    /hf-tiny-llama has no tokenizer/,
  );
  await assert.rejects(
    runScore([{ prompt: "a", completion: "b" }], [
      "--model",
      fixture("hf-tiny-gpt2"),
      "--tokenizer",
      fixture("hf-tiny-qwen2"),
    ]),
    /tokenizer has 259 ids but the model's vocabulary has only 64/,
  );

  const usage = await runScore([], ["--batch-size", "0", ...gpt2]);
  assert.equal(usage.code, 2);
  assert.match(usage.warnings[0], /--batch-size must be an integer >= 1 \(got 0\)/);
  assert.equal((await runScore([], ["--model"])).code, 2);
  assert.throws(() => parseScoreArgs(["--data", "x"]), /--model/);
  assert.equal(parseScoreArgs(["--help"]), "help");
  const help = await runScore([], ["--help"]);
  assert.equal(help.code, 0);
});

test("the wasm backend gives the same scores (GPT-2 and Llama + adapter)", async () => {
  for (
    const [model, adapter, expected] of [["hf-tiny-gpt2", null, "hf-tiny-gpt2"], [
      "hf-tiny-llama",
      "peft-tiny-llama",
      "peft-tiny-llama",
    ]] as const
  ) {
    const score: Expected[] = expectedOf(expected).score;
    const { out } = await runScore(
      score.map((s) => ({ prompt_ids: s.prompt_ids, completion_ids: s.completion_ids })),
      ["--model", fixture(model), ...(adapter ? ["--adapter", fixture(adapter)] : []), "--backend", "wasm"],
    );
    out.forEach((o, i) => close(o.logprob, score[i].logprob, `${model} on wasm, line ${i + 1}`));
  }
});
