// The openai engines (engines/): the exact JSON bodies they send to a vLLM server (recorded through a
// fake fetch and checked against vLLM's documented OpenAI-compatible API), retries with backoff,
// answer checks, bounded concurrency. Against a real server on loopback: engines.serve.test.ts.
import { checkOpenAiEngineConfig, type OpenAiEngineConfig } from "../engines/openai-config.ts";
import { OpenAiGenerationEngine } from "../engines/openai-generation.ts";
import { OpenAiReferenceEngine } from "../engines/openai-reference.ts";
import { EngineRequestError } from "../engines/retry.ts";
import { assert, test } from "./harness.ts";

interface Recorded {
  url: string;
  method: string;
  authorization: string | null;
  body: unknown;
}

/** A fetch that records each request and answers from `script` (status, body, headers) in turn. */
const fakeFetch = (
  script: { status?: number; body: unknown; headers?: Record<string, string>; delayMs?: number }[],
) => {
  const recorded: Recorded[] = [];
  let inFlight = 0, maxInFlight = 0, next = 0;
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    recorded.push({
      url: String(input instanceof Request ? input.url : input),
      method: init?.method ?? "GET",
      authorization: headers.get("authorization"),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : null,
    });
    const step = script[Math.min(next++, script.length - 1)];
    inFlight++, (maxInFlight = Math.max(maxInFlight, inFlight));
    try {
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      const text = typeof step.body === "string" ? step.body : JSON.stringify(step.body);
      return new Response(text, {
        status: step.status ?? 200,
        headers: { "content-type": "application/json", ...step.headers },
      });
    } finally {
      inFlight--;
    }
  };
  return { fetch: fetch as typeof globalThis.fetch, recorded, maxInFlight: () => maxInFlight };
};

const config = (extra: Record<string, unknown> = {}): OpenAiEngineConfig =>
  checkOpenAiEngineConfig({
    baseUrl: "http://vllm:8000/v1",
    model: "google/gemma-2b",
    apiKeyEnv: "VLLM_KEY",
    backoffMs: 100,
    ...extra,
  }, "test");
const env = { VLLM_KEY: "sk-secret" };

const vllmCompletion = (model: string, ids: number[], finish: "stop" | "length") => ({
  id: "cmpl-1",
  object: "text_completion",
  created: 1,
  model,
  choices: [{
    index: 0,
    text: "…",
    logprobs: {
      text_offset: ids.map((_, i) => i),
      token_logprobs: ids.map((_, i) => -0.5 - i),
      tokens: ids.map((id) => `token_id:${id}`),
      top_logprobs: ids.map(() => ({})),
    },
    finish_reason: finish,
    stop_reason: null,
  }],
  usage: { prompt_tokens: 3, completion_tokens: ids.length, total_tokens: 3 + ids.length },
});

const request = {
  id: "p1#0",
  promptIds: [2, 651, 6037],
  maxTokens: 4,
  temperature: 0.7,
  topP: 0.9,
  seed: 11,
};

test("engines: the generation request body is vLLM's /v1/completions with token-id prompt and token-id answers", async () => {
  const fake = fakeFetch([{ body: vllmCompletion("google/gemma-2b", [10, 11, 1], "stop") }, {
    body: vllmCompletion("iter-1", [5, 6, 7, 8], "length"),
  }]);
  const engine = new OpenAiGenerationEngine(config({ concurrency: 1 }), env, { fetch: fake.fetch });
  const out = await engine.generate([request, { ...request, id: "p1#1", model: "iter-1", topK: 50, minP: 0.05 }]);
  assert.deepEqual(fake.recorded.map((r) => [r.method, r.url, r.authorization]), [
    ["POST", "http://vllm:8000/v1/completions", "Bearer sk-secret"],
    ["POST", "http://vllm:8000/v1/completions", "Bearer sk-secret"],
  ]);
  assert.deepEqual(fake.recorded[0].body, {
    model: "google/gemma-2b",
    prompt: [2, 651, 6037],
    max_tokens: 4,
    temperature: 0.7,
    top_p: 0.9,
    seed: 11,
    n: 1,
    logprobs: 0,
    return_tokens_as_token_ids: true,
  });
  assert.deepEqual(fake.recorded[1].body, {
    ...(fake.recorded[0].body as object),
    model: "iter-1",
    top_k: 50,
    min_p: 0.05, // vLLM's SamplingParams.min_p, an extra body field of its completions API
  });
  assert.deepEqual(out.map((r) => [r.id, r.tokenIds, r.finishReason]), [["p1#0", [10, 11, 1], "stop"], [
    "p1#1",
    [5, 6, 7, 8],
    "length",
  ]]);
  assert.deepEqual(out[0].logprobs, [-0.5, -1.5, -2.5]);
});

test("engines: the reference request bodies (echo and vLLM prompt_logprobs) and their sums", async () => {
  const pair = { id: "p1/rejected", promptIds: [2, 651], completionIds: [6037, 1] };
  const echo = fakeFetch([{ body: vllmCompletion("google/gemma-2b", [2, 651, 6037, 1, 99], "length") }]);
  const byEcho = await new OpenAiReferenceEngine(config(), env, { fetch: echo.fetch }).score([pair]);
  assert.deepEqual(echo.recorded[0].body, {
    model: "google/gemma-2b",
    prompt: [2, 651, 6037, 1],
    max_tokens: 1,
    temperature: 0,
    echo: true,
    logprobs: 0,
    return_tokens_as_token_ids: true,
  });
  assert.deepEqual(byEcho, [{ id: "p1/rejected", logprob: -2.5 + -3.5, tokens: 2 }]);
  const promptLogprobs = [null, { "651": { logprob: -7, rank: 40, decoded_token: "The" } }, {
    "6037": { logprob: -1.25, rank: 2, decoded_token: " cat" },
  }, { "1": { logprob: -0.5, rank: 1, decoded_token: "<eos>" } }];
  const plp = fakeFetch([{
    body: {
      ...vllmCompletion("iter-2", [7], "length"),
      choices: [{ ...vllmCompletion("iter-2", [7], "length").choices[0], prompt_logprobs: promptLogprobs }],
    },
  }]);
  const byPlp = await new OpenAiReferenceEngine(config(), env, { fetch: plp.fetch, mode: "prompt_logprobs" })
    .score([pair], "iter-2");
  assert.deepEqual(plp.recorded[0].body, {
    model: "iter-2",
    prompt: [2, 651, 6037, 1],
    max_tokens: 1,
    temperature: 0,
    prompt_logprobs: 0,
  });
  assert.deepEqual(byPlp, [{ id: "p1/rejected", logprob: -1.75, tokens: 2 }]);
});

test("engines: loading an iterate's adapter is vLLM's POST /v1/load_lora_adapter {lora_name, lora_path}", async () => {
  const fake = fakeFetch([{
    body: "Success: LoRA adapter 'iter-1' added successfully.",
    headers: { "content-type": "text/plain" },
  }]);
  await new OpenAiGenerationEngine(config(), env, { fetch: fake.fetch }).loadAdapter(
    "iter-1",
    "/runs/x/iter-1/adapter",
  );
  assert.deepEqual(fake.recorded, [{
    url: "http://vllm:8000/v1/load_lora_adapter",
    method: "POST",
    authorization: "Bearer sk-secret",
    body: { lora_name: "iter-1", lora_path: "/runs/x/iter-1/adapter" },
  }]);
});

test("engines: 429 and 5xx are retried with exponential backoff (Retry-After honoured); 4xx is final", async () => {
  const sleeps: number[] = [];
  const sleep = (ms: number) => (sleeps.push(ms), Promise.resolve());
  const err = (status: number) => ({
    status,
    body: { error: { message: `status ${status}`, type: "x", param: null, code: null } },
  });
  const ok = { body: vllmCompletion("google/gemma-2b", [1], "stop") };
  const fake = fakeFetch([err(429), err(503), err(500), ok]);
  const out = await new OpenAiGenerationEngine(config(), env, { fetch: fake.fetch, sleep }).generate([
    request,
  ]);
  assert.deepEqual(out[0].tokenIds, [1]);
  assert.deepEqual(sleeps, [100, 200, 400]);
  sleeps.length = 0;
  const later = fakeFetch([{ ...err(429), headers: { "retry-after": "2" } }, ok]);
  await new OpenAiGenerationEngine(config(), env, { fetch: later.fetch, sleep }).generate([request]);
  assert.deepEqual(sleeps, [2000]);
  const bad = fakeFetch([err(400), ok]);
  await assert.rejects(
    new OpenAiGenerationEngine(config(), env, { fetch: bad.fetch, sleep }).generate([request]),
    (e: unknown) => {
      assert.ok(e instanceof EngineRequestError);
      assert.match((e as Error).message, /^p1#0: HTTP 400/);
      return true;
    },
  );
  assert.equal(bad.recorded.length, 1, "a 400 is not retried");
  const down = fakeFetch([err(502)]);
  await assert.rejects(
    new OpenAiGenerationEngine(config({ maxRetries: 2 }), env, { fetch: down.fetch, sleep }).generate([
      request,
    ]),
    /p1#0: HTTP 502.*after 2 retries/,
  );
  assert.equal(down.recorded.length, 3);
});

test("engines: a timeout is retried", async () => {
  let calls = 0;
  const fetch = ((_input: unknown, init?: RequestInit) => {
    if (calls++ === 0) {
      return new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))
      );
    }
    return Promise.resolve(
      new Response(JSON.stringify(vllmCompletion("google/gemma-2b", [3], "stop")), {
        headers: { "content-type": "application/json" },
      }),
    );
  }) as typeof globalThis.fetch;
  const out = await new OpenAiGenerationEngine(config({ timeoutMs: 50 }), env, {
    fetch,
    sleep: () => Promise.resolve(),
  }).generate([request]);
  assert.deepEqual(out[0].tokenIds, [3]);
  assert.equal(calls, 2);
});

test("engines: another model, fewer tokens without a stop reason, malformed JSON or text tokens are errors naming the request", async () => {
  const run = (body: unknown) =>
    new OpenAiGenerationEngine(config({ maxRetries: 0 }), env, { fetch: fakeFetch([{ body }]).fetch })
      .generate([request]);
  await assert.rejects(
    run(vllmCompletion("other", [1], "stop")),
    /p1#0: the server answered with model "other"/,
  );
  await assert.rejects(
    run(vllmCompletion("google/gemma-2b", [1, 2], "length")),
    /p1#0: 2 tokens returned, fewer than max_tokens 4, without a stop reason/,
  );
  await assert.rejects(
    run(vllmCompletion("google/gemma-2b", [1, 2, 3, 4, 5], "length")),
    /p1#0: 5 tokens returned, more than max_tokens 4/,
  );
  await assert.rejects(run("{not json"), (e: unknown) => {
    assert.ok(e instanceof EngineRequestError && e.request === "p1#0", String(e));
    assert.match((e as Error).message, /JSON/);
    return true;
  });
  const texty = vllmCompletion("google/gemma-2b", [1], "stop");
  texty.choices[0].logprobs.tokens = ["Hello"];
  await assert.rejects(run(texty), /p1#0: the tokens are not "token_id:<n>" strings/);
});

test("engines: at most `concurrency` requests in flight; results in request order; onResult per answer", async () => {
  const fake = fakeFetch([{ body: vllmCompletion("google/gemma-2b", [9], "stop"), delayMs: 15 }]);
  const engine = new OpenAiGenerationEngine(config({ concurrency: 3 }), env, { fetch: fake.fetch });
  const seen: string[] = [];
  const requests = Array.from({ length: 10 }, (_, i) => ({ ...request, id: `p${i}` }));
  const out = await engine.generate(requests, (r) => void seen.push(r.id));
  assert.equal(fake.maxInFlight(), 3);
  assert.deepEqual(out.map((r) => r.id), requests.map((r) => r.id));
  assert.deepEqual([...seen].sort(), requests.map((r) => r.id).sort());
});

test("engines: after a failure no further request starts; answers in flight are still reported", async () => {
  const err = { status: 400, body: { error: { message: "bad", type: "x", param: null, code: null } } };
  const fake = fakeFetch([{ body: vllmCompletion("google/gemma-2b", [4], "stop"), delayMs: 40 }, err]);
  const engine = new OpenAiGenerationEngine(config({ concurrency: 2 }), env, { fetch: fake.fetch });
  const reported: string[] = [];
  const requests = Array.from({ length: 6 }, (_, i) => ({ ...request, id: `p${i}` }));
  await assert.rejects(engine.generate(requests, (r) => void reported.push(r.id)), /p1: HTTP 400/);
  assert.equal(fake.recorded.length, 2, "only the two requests already in flight were sent");
  assert.deepEqual(reported, ["p0"]);
});

test("engines: the config never holds the key: apiKey refused, a missing variable named", () => {
  assert.throws(
    () =>
      checkOpenAiEngineConfig(
        { baseUrl: "http://h/v1", model: "m", apiKey: "sk" },
        "run.json: generation.openai",
      ),
    /run.json: generation.openai: "apiKey" may not be written/,
  );
  assert.throws(
    () => checkOpenAiEngineConfig({ baseUrl: "http://h/v1", model: "m", concurency: 2 }, "cfg"),
    /cfg: unknown field "concurency"/,
  );
  assert.throws(
    () => checkOpenAiEngineConfig({ baseUrl: "ftp://h", model: "m" }, "cfg"),
    /cfg: baseUrl must be an http\(s\) URL/,
  );
  assert.throws(
    () => new OpenAiGenerationEngine(config(), {}),
    /the API key variable VLLM_KEY \(apiKeyEnv\) is not set/,
  );
});
