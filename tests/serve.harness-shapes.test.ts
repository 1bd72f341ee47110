// `alpha-spin serve` answering the raw HTTP requests that existing evaluators send, byte for byte
// as they build them: lm-evaluation-harness `local-completions` (loglikelihood and generate_until,
// tokenized requests) and FastChat's MT-Bench answer generation through the OpenAI chat API; the
// bearer key; vLLM's runtime adapter loading routes.
import OpenAI from "openai";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { scoreCommand } from "../cli/score.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { assert, assertClose, test } from "./harness.ts";
import { chatTemplate, makeServeFixture, type ServeFixture, serveFixture } from "./serve.support.ts";

const key = "sk-test-key";
interface Ctx {
  fixture: ServeFixture;
  server: { url: string; close: () => Promise<void> };
  base: TransformerPolicy;
}
let ctx: Promise<Ctx> | null = null;
// A model with room for FastChat's max_tokens 1024 and a second turn that repeats the first answer (a byte
// model's invalid UTF-8 comes back as U+FFFD, 3 bytes each); the key is required; runtime adapters allowed.
const setup = (): Promise<Ctx> =>
  ctx ??= (async () => {
    const fixture = await makeServeFixture(4200);
    const server = await serveFixture(fixture, ["--api-key", key, "--allow-adapter-loading"]);
    return { fixture, server, base: new TransformerPolicy(await loadHfModel(fixture.modelDir), null) };
  })();

const tok = new ByteTokenizer({ chatTemplate });
const auth = { authorization: `Bearer ${key}` };

const post = async (url: string, body: unknown, headers: Record<string, string> = auth) => {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
};

test("serve: lm-evaluation-harness local-completions loglikelihood request (echo, max_tokens 1, logprobs 1)", async () => {
  const { server, base, fixture } = await setup();
  const context = [258, ...tok.encode("Q: 2+2?\nA:")];
  const greedy =
    (await base.generate([context], { greedy: true, maxNewTokens: 3, eosTokenIds: [256] })).completions[0];
  const other = [32, 53];
  const requests = [[...context, ...greedy], [...context, ...other]];
  // LocalCompletionsAPI._create_payload(generate=False), tokenized_requests=True: a batch of id lists.
  const payload = {
    model: "tiny",
    prompt: requests,
    temperature: 0,
    max_tokens: 1,
    logprobs: 1,
    seed: 1234,
    echo: true,
  };
  const r = await post(`${server.url}/completions`, payload);
  assert.equal(r.status, 200);
  // LocalCompletionsAPI.parse_logprobs: sum(token_logprobs[ctxlen:-1]), greedy = each equals its top's max.
  const parsed = [...r.json.choices].sort((a, b) => a.index - b.index).map((choice) => {
    const lp: number[] = choice.logprobs.token_logprobs.slice(context.length, -1);
    const top: Record<string, number>[] = choice.logprobs.top_logprobs.slice(context.length, -1);
    return {
      sum: lp.reduce((a, b) => a + b, 0),
      greedy: lp.every((x, i) => x === Math.max(...Object.values(top[i]))),
    };
  });
  assert.deepEqual(parsed.map((p) => p.greedy), [true, false]);
  const data = join(fixture.dir, "lm-eval.jsonl");
  await writeFile(
    data,
    [greedy, other].map((c) => JSON.stringify({ prompt_ids: context, completion_ids: c })).join("\n"),
  );
  const lines: string[] = [];
  await scoreCommand(["--model", fixture.modelDir, "--data", data, "--backend", "cpu"], {
    write: (l) => void lines.push(l),
    warn: () => {},
  });
  assertClose(parsed.map((p) => p.sum), lines.map((l) => JSON.parse(l).logprob), { rtol: 1e-5, atol: 1e-5 });
});

test("serve: lm-evaluation-harness local-completions generate_until request (stop list, seed, temperature 0)", async () => {
  const { server, base } = await setup();
  const prompts = [[258, ...tok.encode("Question: hi\nAnswer:")], [258, ...tok.encode("x")]];
  const payload = {
    prompt: prompts,
    model: "tiny",
    max_tokens: 20,
    temperature: 0,
    stop: ["\n\n", "Question:"],
    seed: 1234,
  };
  const r = await post(`${server.url}/completions`, payload);
  assert.equal(r.status, 200);
  const texts = [...r.json.choices].sort((a, b) => a.index - b.index).map((c) => c.text as string);
  const local = await base.generate(prompts, { greedy: true, maxNewTokens: 20, eosTokenIds: [256] });
  local.completions.forEach((ids, i) => {
    const full = tok.decode(ids, { skipSpecialTokens: true });
    const cuts = ["\n\n", "Question:"].map((s) => full.indexOf(s)).filter((k) => k >= 0);
    assert.equal(texts[i], cuts.length === 0 ? full : full.slice(0, Math.min(...cuts)));
  });
});

test("serve: FastChat MT-Bench answer generation (two turns, system prompt, n 1, max_tokens 1024)", async () => {
  const { server, base } = await setup();
  const system = { role: "system", content: "You are a helpful assistant." };
  const turn1 = [system, { role: "user", content: "Compose a haiku." }];
  // gen_api_answer.py → chat_completion_openai: model, messages, n=1, temperature, max_tokens.
  const first = await post(`${server.url}/chat/completions`, {
    model: "tiny",
    messages: turn1,
    n: 1,
    temperature: 0.7,
    max_tokens: 1024,
  });
  assert.equal(first.status, 200);
  const answer: string = first.json.choices[0].message.content;
  assert.equal(typeof answer, "string");
  assert.ok(first.json.usage.completion_tokens <= 1024);
  const turn2 = [...turn1, { role: "assistant", content: answer }, { role: "user", content: "Shorter." }];
  const second = await post(`${server.url}/chat/completions`, {
    model: "tiny",
    messages: turn2,
    n: 1,
    temperature: 0.0,
    max_tokens: 64,
  });
  assert.equal(second.status, 200);
  const prompt = tok.encode(
    `<|bos|>system: ${system.content}\nuser: Compose a haiku.\nassistant: ${answer}\nuser: Shorter.\nassistant:`,
  );
  const local = await base.generate([prompt], { greedy: true, maxNewTokens: 64, eosTokenIds: [256] });
  assert.equal(
    second.json.choices[0].message.content,
    tok.decode(local.completions[0], { skipSpecialTokens: true }),
  );
});

test("serve: --api-key requires the bearer token on /v1/ (401 otherwise); /health stays open", async () => {
  const { server } = await setup();
  const none = await post(`${server.url}/completions`, { model: "tiny", prompt: "x", max_tokens: 1 }, {});
  assert.equal(none.status, 401);
  assert.equal(none.json.error.code, "invalid_api_key");
  const wrong = new OpenAI({ baseURL: server.url, apiKey: "sk-wrong", maxRetries: 0 });
  await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
  const right = new OpenAI({ baseURL: server.url, apiKey: key, maxRetries: 0 });
  assert.equal((await right.models.list()).data.length, 2);
  assert.equal((await fetch(server.url.replace(/\/v1$/, "/health"))).status, 200);
});

test("serve: vLLM's load_lora_adapter / unload_lora_adapter add and remove a served name", async () => {
  const { server, fixture } = await setup();
  const client = new OpenAI({ baseURL: server.url, apiKey: key, maxRetries: 0 });
  const loaded = await post(`${server.url}/load_lora_adapter`, {
    lora_name: "again",
    lora_path: fixture.adapterDir,
  });
  assert.equal(loaded.status, 200);
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ["tiny", "iter-1", "again"]);
  const ask = (model: string) =>
    client.completions.create({ model, prompt: [[258, 70]], max_tokens: 6, temperature: 0 });
  assert.equal((await ask("again")).choices[0].text, (await ask("iter-1")).choices[0].text);
  const missing = await post(`${server.url}/load_lora_adapter`, {
    lora_name: "x",
    lora_path: join(fixture.dir, "none"),
  });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.message, /does not exist/);
  assert.equal((await post(`${server.url}/unload_lora_adapter`, { lora_name: "again" })).status, 200);
  await assert.rejects(ask("again"), OpenAI.NotFoundError);
});

test("serve: close the key-protected server", async () => {
  const c = await setup();
  c.base.model.dispose();
  await c.server.close();
  await c.fixture.cleanup();
});
