// The openai engines against `alpha-spin serve` on loopback: the sampled ids equal local generation,
// the reference scores equal the models/ score function, and a server killed mid-run and restarted on
// its port loses nothing (retries carry on, each answer arrives once).
import { checkOpenAiEngineConfig } from "../engines/openai-config.ts";
import { OpenAiGenerationEngine } from "../engines/openai-generation.ts";
import { OpenAiReferenceEngine } from "../engines/openai-reference.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { assert, assertClose, test } from "./harness.ts";
import { makeServeFixture, serveFixture } from "./serve.support.ts";

test("engines against alpha-spin serve: sampled ids equal local generation; reference sums equal the models/ score function", async () => {
  const fixture = await makeServeFixture();
  const server = await serveFixture(fixture, ["--api-key", "k-loop", "--allow-adapter-loading"]);
  const model = await loadHfModel(fixture.modelDir);
  const adapter = loraAdapterFromRecord(model, await readPeftAdapter(fixture.adapterDir));
  try {
    const cfg = checkOpenAiEngineConfig({
      baseUrl: server.url,
      model: "tiny",
      apiKeyEnv: "SERVE_KEY",
      concurrency: 2,
    }, "test");
    const keyEnv = { SERVE_KEY: "k-loop" };
    const gen = new OpenAiGenerationEngine(cfg, keyEnv);
    await gen.loadAdapter("iter-1", fixture.adapterDir); // already served: fine
    await gen.loadAdapter("iter-1b", fixture.adapterDir);
    const prompts = [[258, 81, 58, 32], [258, 104, 105], [258, 50, 43, 50, 61]];
    for (
      const [name, policy] of [["tiny", new TransformerPolicy(model, null)], [
        "iter-1b",
        new TransformerPolicy(model, adapter),
      ]] as const
    ) {
      const requests = prompts.map((p, i) => ({
        id: `p${i}`,
        promptIds: p,
        maxTokens: 12,
        temperature: 1,
        topP: 1,
        seed: 100 + i,
        model: name,
      }));
      const got = await gen.generate(requests);
      for (const [i, p] of prompts.entries()) {
        const want = await policy.generate([p], {
          temperature: 1,
          topP: 1,
          maxNewTokens: 12,
          eosTokenIds: [256],
          seed: 100 + i,
        });
        assert.deepEqual(got[i].tokenIds, want.completions[0], `${name} p${i}`);
      }
      const pairs = prompts.map((p, i) => ({ id: `p${i}`, promptIds: p, completionIds: got[i].tokenIds }));
      const local = await policy.sequenceLogProbs(
        pairs.map((x) => x.promptIds),
        pairs.map((x) => x.completionIds),
      );
      for (
        const options of [{ mode: "echo" as const }, { mode: "echo" as const, echoMaxTokens: 0 as const }, {
          mode: "prompt_logprobs" as const,
        }]
      ) {
        const scores = await new OpenAiReferenceEngine(cfg, keyEnv, options).score(pairs, name);
        assertClose(scores.map((s) => s.logprob), local.logProbs, {
          rtol: 1e-5,
          atol: 1e-5,
          message: `${name} ${JSON.stringify(options)}`,
        });
      }
    }
  } finally {
    adapter.dispose(), model.dispose();
    await server.close();
    await fixture.cleanup();
  }
});

test("engines: a server killed mid-run and restarted on its port: retries carry on, each answer arrives once, as in an uninterrupted run", async () => {
  const fixture = await makeServeFixture();
  let server = await serveFixture(fixture);
  try {
    const cfg = checkOpenAiEngineConfig(
      {
        baseUrl: server.url,
        model: "tiny",
        concurrency: 2,
        maxRetries: 30,
        backoffMs: 50,
        maxBackoffMs: 200,
      },
      "test",
    );
    const requests = Array.from({ length: 8 }, (_, i) => ({
      id: `p${i}`,
      promptIds: [258, 97 + i],
      maxTokens: 12,
      temperature: 1,
      topP: 1,
      seed: i,
    }));
    const uninterrupted = await new OpenAiGenerationEngine(cfg, {}).generate(requests);
    const reported: string[] = [];
    let restart: Promise<void> | null = null;
    const port = server.port;
    const out = await new OpenAiGenerationEngine(cfg, {}).generate(requests, (r) => {
      reported.push(r.id);
      restart ??= (async () => {
        await server.close(); // drops the request in flight
        await new Promise((resolve) => setTimeout(resolve, 150));
        server = await serveFixture(fixture, [], port);
      })();
    });
    await restart;
    assert.deepEqual(out.map((r) => r.tokenIds), uninterrupted.map((r) => r.tokenIds));
    assert.deepEqual(
      [...reported].sort(),
      requests.map((r) => r.id).sort(),
      "every answer reported exactly once",
    );
  } finally {
    await server.close();
    await fixture.cleanup();
  }
});
