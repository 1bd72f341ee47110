// `alpha-spin serve` on loopback, driven by the official `openai` client: bad requests get OpenAI
// error bodies with 4xx codes, and vLLM's extensions (prompt_logprobs, return_tokens_as_token_ids)
// agree with the echoed log-probs.
import OpenAI from "openai";
import { assert, assertClose, test } from "./harness.ts";
import { makeServeFixture, serveFixture } from "./serve.support.ts";

const fixture = await makeServeFixture();
const server = await serveFixture(fixture);
const client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
const setup = () => Promise.resolve({ client, server });

const post = async (url: string, body: string) => {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: r.status, text: await r.text() };
};

test("serve: bad requests get OpenAI error bodies with 4xx codes", async () => {
  const { client, server } = await setup();
  await assert.rejects(client.completions.create({ model: "nope", prompt: "x" }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal((e as InstanceType<typeof OpenAI.NotFoundError>).code, "model_not_found");
    return true;
  });
  await assert.rejects(
    client.completions.create({ model: "tiny", prompt: "x", temperature: 3 }),
    (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal((e as InstanceType<typeof OpenAI.BadRequestError>).param, "temperature");
      return true;
    },
  );
  await assert.rejects(
    client.completions.create({ model: "tiny", prompt: "x", max_tokens: 100 }),
    (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal((e as InstanceType<typeof OpenAI.BadRequestError>).code, "context_length_exceeded");
      return true;
    },
  );
  await assert.rejects(
    client.completions.create({ model: "tiny", prompt: "x", max_tokens: 0 }),
    OpenAI.BadRequestError,
  );
  await assert.rejects(client.completions.create({ model: "tiny", prompt: [[1, 999]] }), /not a token id/);
  const badJson = await post(`${server.url}/completions`, "{not json");
  assert.equal(badJson.status, 400);
  const body = JSON.parse(badJson.text);
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal((await post(`${server.url}/nothing`, "{}")).status, 404);
  assert.equal((await fetch(`${server.url}/completions`)).status, 405);
});

test("serve: vLLM's prompt_logprobs and return_tokens_as_token_ids", async () => {
  const { client } = await setup();
  const prompt = [258, 72, 105, 33];
  const body = {
    model: "tiny",
    prompt,
    max_tokens: 1,
    temperature: 0,
    logprobs: 0,
    echo: true,
    prompt_logprobs: 1,
    return_tokens_as_token_ids: true,
  };
  // deno-lint-ignore no-explicit-any
  const r = await client.completions.create(body as any) as any;
  const choice = r.choices[0];
  assert.deepEqual(choice.logprobs.tokens.slice(0, 4), prompt.map((id) => `token_id:${id}`));
  assert.equal(choice.prompt_logprobs[0], null);
  prompt.slice(1).forEach((id, j) => {
    const entry = choice.prompt_logprobs[j + 1][String(id)];
    assertClose([entry.logprob], [choice.logprobs.token_logprobs[j + 1]], { atol: 0 });
    assert.ok(entry.rank >= 1);
  });
});

test("serve errors: close the server", async () => {
  await server.close();
  await fixture.cleanup();
});
