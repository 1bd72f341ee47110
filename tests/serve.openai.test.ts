// `alpha-spin serve` on loopback, driven by the official `openai` client: completions, chat,
// echo + logprobs against `alpha-spin score`, streaming, stop strings, concurrency (errors and vLLM's
// extensions: serve.openai-errors.test.ts). The
// expected texts come from the models/ generate function run in-process on the same folders with
// the same seed (an independent path: no HTTP, no serve/ code).
import OpenAI from "openai";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { scoreCommand } from "../cli/score.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import type { SamplingOptions } from "../samplers/filters.ts";
import { assert, assertClose, test } from "./harness.ts";
import { chatTemplate, makeServeFixture, type ServeFixture, serveFixture } from "./serve.support.ts";

interface Ctx {
  fixture: ServeFixture;
  server: { url: string; close: () => Promise<void> };
  client: OpenAI;
  base: TransformerPolicy;
  adapted: TransformerPolicy;
}

let ctx: Promise<Ctx> | null = null;
const setup = (): Promise<Ctx> =>
  ctx ??= (async () => {
    const fixture = await makeServeFixture();
    const server = await serveFixture(fixture);
    const model = await loadHfModel(fixture.modelDir);
    const adapter = loraAdapterFromRecord(model, await readPeftAdapter(fixture.adapterDir));
    return {
      fixture,
      server,
      client: new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0 }),
      base: new TransformerPolicy(model, null),
      adapted: new TransformerPolicy(model, adapter),
    };
  })();

const tok = new ByteTokenizer({ chatTemplate });
const eos = tok.eosId!;
const encode = (text: string): number[] => tok.encode(text, { addSpecialTokens: true });
const textOf = (ids: readonly number[]): string =>
  tok.decode(ids.filter((i) => i !== eos), { skipSpecialTokens: true });

/** The local answer: models/ generate on the same policy with the server's sampling mapping. */
const local = async (
  policy: TransformerPolicy,
  prompts: number[][],
  maxTokens: number,
  seed: number,
  sampling: SamplingOptions,
): Promise<string[]> => {
  const out = await policy.generate(prompts, {
    ...sampling,
    maxNewTokens: maxTokens,
    eosTokenIds: [eos],
    seed,
  });
  return out.completions.map(textOf);
};

const post = async (url: string, body: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: r.status, text: await r.text() };
};

test("serve: /v1/models lists the base model and the adapter by name", async () => {
  const { client } = await setup();
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), ["tiny", "iter-1"]);
  const card = await client.models.retrieve("iter-1") as unknown as { id: string; parent: string };
  assert.deepEqual([card.id, card.parent], ["iter-1", "tiny"]);
  await assert.rejects(client.models.retrieve("nope"), OpenAI.NotFoundError);
});

test("serve: completions with a text prompt and a seed equal local generation", async () => {
  const { client, base } = await setup();
  const r = await client.completions.create({
    model: "tiny",
    prompt: "Hi",
    max_tokens: 12,
    temperature: 0.8,
    top_p: 0.9,
    seed: 5,
  });
  const [want] = await local(base, [encode("Hi")], 12, 5, { temperature: 0.8, topP: 0.9 });
  assert.equal(r.choices[0].text, want);
  assert.equal(r.model, "tiny");
  assert.equal(r.usage?.prompt_tokens, 3);
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  const again = await client.completions.create({
    model: "tiny",
    prompt: "Hi",
    max_tokens: 12,
    temperature: 0.8,
    top_p: 0.9,
    seed: 5,
  });
  assert.equal(again.choices[0].text, r.choices[0].text);
});

test("serve: a batch of token-id prompts with n = 2 gives rows prompt·n + j, as local generation", async () => {
  const { client, adapted } = await setup();
  const prompts = [[258, 65, 66], [258, 120]];
  const r = await client.completions.create({
    model: "iter-1",
    prompt: prompts,
    max_tokens: 8,
    n: 2,
    seed: 9,
  });
  const want = await local(adapted, [prompts[0], prompts[0], prompts[1], prompts[1]], 8, 9, {
    temperature: 1,
  });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.deepEqual(r.choices.map((c) => c.text), want);
  assert.notEqual(want[0], want[1], "two choices of one prompt differ");
});

test("serve: the adapter answers differently from the base model (greedy)", async () => {
  const { client, base, adapted } = await setup();
  const prompt = [258, 104, 105];
  const [a, b] = await Promise.all(
    ["tiny", "iter-1"].map((model) =>
      client.completions.create({ model, prompt, max_tokens: 10, temperature: 0 })
    ),
  );
  assert.equal(a.choices[0].text, (await local(base, [prompt], 10, 0, { greedy: true }))[0]);
  assert.equal(b.choices[0].text, (await local(adapted, [prompt], 10, 0, { greedy: true }))[0]);
  assert.notEqual(a.choices[0].text, b.choices[0].text);
});

test("serve: echo + logprobs + max_tokens 0 sums to `alpha-spin score` (base and adapter) to float32 tolerance", async () => {
  const { client, fixture } = await setup();
  const pairs = [{ prompt: [258, 81, 58], completion: [32, 49, 43, 49, 256] }, {
    prompt: [258],
    completion: [104, 105, 33],
  }];
  const data = join(fixture.dir, "pairs.jsonl");
  await writeFile(
    data,
    pairs.map((p) => JSON.stringify({ prompt_ids: p.prompt, completion_ids: p.completion })).join("\n") +
      "\n",
  );
  for (const [model, extra] of [["tiny", []], ["iter-1", ["--adapter", fixture.adapterDir]]] as const) {
    const lines: string[] = [];
    const code = await scoreCommand([
      "--model",
      fixture.modelDir,
      "--data",
      data,
      "--backend",
      "cpu",
      ...extra,
    ], {
      write: (l) => void lines.push(l),
      warn: () => {},
    });
    assert.equal(code, 0);
    const scored = lines.map((l) => JSON.parse(l).logprob as number);
    const r = await client.completions.create({
      model,
      prompt: pairs.map((p) => [...p.prompt, ...p.completion]),
      echo: true,
      max_tokens: 0,
      logprobs: 1,
    });
    const sums = r.choices.map((c, i) => {
      const lp = c.logprobs!.token_logprobs!;
      assert.equal(lp[0], null, "the first token has no log-prob");
      assert.equal(lp.length, pairs[i].prompt.length + pairs[i].completion.length);
      return lp.slice(pairs[i].prompt.length).reduce((a, b) => a + b!, 0);
    });
    assertClose(sums, scored, { rtol: 1e-5, atol: 1e-5, message: model });
    // Each top-1 entry is the most likely token: never below the observed token's log-prob.
    for (const c of r.choices) {
      c.logprobs!.top_logprobs!.slice(1).forEach((top, j) => {
        const best = Math.max(...Object.values(top as Record<string, number>));
        assert.ok(best >= c.logprobs!.token_logprobs![j + 1]! - 1e-6);
      });
      assert.deepEqual(
        c.logprobs!.text_offset,
        c.logprobs!.tokens!.map((_, j) => c.logprobs!.tokens!.slice(0, j).join("").length),
      );
    }
  }
});

test("serve: logprobs of generated tokens (no echo) sum to the score of the returned ids", async () => {
  const { client, base } = await setup();
  const prompt = [258, 103, 111];
  const body = {
    model: "tiny",
    prompt,
    max_tokens: 8,
    temperature: 0,
    logprobs: 2,
    return_tokens_as_token_ids: true,
  };
  const r = await client.completions.create(body as OpenAI.CompletionCreateParamsNonStreaming);
  const lp = r.choices[0].logprobs!;
  const ids = lp.tokens!.map((t) => Number(t.replace("token_id:", "")));
  assert.ok(ids.length >= 1 && ids.length <= 8);
  assert.equal(lp.token_logprobs!.length, ids.length);
  lp.top_logprobs!.forEach((top, i) => {
    assert.equal(Object.keys(top!).length, 2);
    assert.equal(
      Math.max(...Object.values(top as Record<string, number>)),
      lp.token_logprobs![i],
      "greedy: the top-1 token",
    );
  });
  const local = await base.sequenceLogProbs([prompt], [ids]);
  assertClose([lp.token_logprobs!.reduce((a, b) => a! + b!, 0)!], local.logProbs, { rtol: 1e-5, atol: 1e-5 });
});

test("serve: streaming completions concatenate to the unstreamed text and end with [DONE]", async () => {
  const { client, server } = await setup();
  const request = { model: "tiny", prompt: "Hello", max_tokens: 16, seed: 3, temperature: 0.9 } as const;
  const whole = await client.completions.create(request);
  const stream = await client.completions.create({ ...request, stream: true });
  let text = "", finish: string | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
  const raw = await post(`${server.url}/completions`, JSON.stringify({ ...request, stream: true }));
  assert.ok(raw.text.endsWith("data: [DONE]\n\n"), raw.text.slice(-40));
});

test("serve: a stop string cuts the text before it and finishes with stop", async () => {
  const { client, base } = await setup();
  const [full] = await local(base, [encode("ab")], 30, 4, { temperature: 1 });
  const stop = full.slice(5, 7); // a piece of the answer the model will write
  assert.equal(stop.length, 2);
  const r = await client.completions.create({
    model: "tiny",
    prompt: "ab",
    max_tokens: 30,
    seed: 4,
    stop: [stop],
  });
  assert.equal(r.choices[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, "stop");
  const stream = await client.completions.create({
    model: "tiny",
    prompt: "ab",
    max_tokens: 30,
    seed: 4,
    stop: [stop],
    stream: true,
  });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
  assert.equal(text, r.choices[0].text, "streaming holds back text that may start the stop string");
});

test("serve: chat completions render the chat template and equal local generation; streaming too", async () => {
  const { client, adapted } = await setup();
  const messages = [{ role: "system" as const, content: "Be brief." }, {
    role: "user" as const,
    content: "Hi",
  }];
  const r = await client.chat.completions.create({
    model: "iter-1",
    messages,
    max_tokens: 10,
    seed: 2,
    temperature: 0.7,
  });
  const prompt = tok.encode("<|bos|>system: Be brief.\nuser: Hi\nassistant:");
  const [want] = await local(adapted, [prompt], 10, 2, { temperature: 0.7 });
  assert.equal(r.choices[0].message.content, want);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(r.usage?.prompt_tokens, prompt.length);
  const stream = await client.chat.completions.create({
    model: "iter-1",
    messages,
    max_tokens: 10,
    seed: 2,
    temperature: 0.7,
    stream: true,
  });
  let text = "", role = "";
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? "";
    role ||= chunk.choices[0]?.delta.role ?? "";
  }
  assert.equal(text, want);
  assert.equal(role, "assistant");
});

test("serve: chat logprobs give each generated token's log-prob", async () => {
  const { client } = await setup();
  const r = await client.chat.completions.create({
    model: "tiny",
    messages: [{ role: "user", content: "x" }],
    max_tokens: 4,
    temperature: 0,
    logprobs: true,
    top_logprobs: 3,
  });
  const content = r.choices[0].logprobs!.content!;
  assert.ok(content.length >= 1 && content.length <= 4);
  for (const t of content) {
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.logprob, t.top_logprobs[0].logprob, "greedy picks the most likely token");
  }
});

test("serve: concurrent requests queue and each equals its sequential answer", async () => {
  const { client } = await setup();
  const ask = (seed: number) =>
    client.completions.create({
      model: seed % 2 ? "tiny" : "iter-1",
      prompt: [[258, 40 + seed]],
      max_tokens: 8,
      seed,
    });
  const together = await Promise.all([1, 2, 3, 4, 5, 6].map(ask));
  for (const [i, seed] of [1, 2, 3, 4, 5, 6].entries()) {
    assert.equal(together[i].choices[0].text, (await ask(seed)).choices[0].text);
  }
});

test("serve: close the server", async () => {
  const c = await setup();
  c.adapted.adapter?.dispose();
  c.base.model.dispose();
  await c.server.close();
  await c.fixture.cleanup();
});
