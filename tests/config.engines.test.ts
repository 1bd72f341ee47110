// selfplay/config-engines.ts and cli/engine-flags.ts: the engine keys of the run config — the string
// and object forms of `reference`, every refusal naming its key, the fingerprint leaving the engines
// out (and unchanged for configs without them), and the command-line flags.
import { either } from "fp-ts";
import { withEngineFlags } from "../cli/engine-flags.ts";
import { ConfigError } from "../core/config.ts";
import { configFingerprint, decodeRunConfig, resolveRunConfig } from "../selfplay/config.ts";
import { assert, test } from "./harness.ts";

const minimal = { name: "demo", data: { train: "data/train.jsonl" } };
const server = { baseUrl: "http://127.0.0.1:8000/v1", model: "google/gemma-2b" };

/** The problem lines of a config that must fail. */
const problems = (raw: unknown): string[] => {
  const r = decodeRunConfig(raw);
  if (either.isRight(r)) throw new Error("expected the config to be refused");
  assert.ok(r.left instanceof ConfigError);
  return r.left.issues.map((i) => `${i.path}: ${i.message}`);
};

test("config engines: the string form of reference resolves to the object with the local engine; both forms decode alike", () => {
  for (const mixture of ["geometric", "arithmetic", "ema"] as const) {
    const c = resolveRunConfig({ ...minimal, reference: mixture });
    assert.deepEqual(c.reference, { mixture, engine: "local", openai: null, logprobs: "echo" });
    assert.deepEqual(resolveRunConfig({ ...minimal, reference: { mixture } }).reference, c.reference);
  }
  const c = resolveRunConfig({
    ...minimal,
    generation: { engine: "openai", openai: { ...server, apiKeyEnv: "VLLM_API_KEY" } },
    reference: { mixture: "arithmetic", engine: "openai", openai: server, logprobs: "prompt_logprobs" },
    h: 2,
  });
  assert.equal(c.generation.engine, "openai");
  assert.equal(c.generation.seeding, "example"); // the openai engine's default
  assert.deepEqual(c.generation.openai, {
    ...server,
    apiKeyEnv: "VLLM_API_KEY",
    concurrency: 8,
    timeoutMs: 600000,
    maxRetries: 5,
    backoffMs: 500,
    maxBackoffMs: 30000,
  });
  assert.equal(c.reference.openai?.model, "google/gemma-2b");
  // One server for both: reference.openai defaults to generation.openai.
  const shared = resolveRunConfig({ ...minimal, generation: { engine: "openai", openai: server }, reference: { engine: "openai" } });
  assert.deepEqual(shared.reference.openai, shared.generation.openai);
  assert.equal(resolveRunConfig({ ...minimal, generation: { engine: "openai", openai: server } }).reference.openai, null);
  // The resolved config (as the run folder's config.json writes it) decodes to itself.
  assert.deepEqual(resolveRunConfig(JSON.parse(JSON.stringify(c))), c);
});

test("config engines: every refusal names its key", () => {
  const cases: [unknown, RegExp][] = [
    [{ generation: { engine: "vllm" } }, /^generation\.engine: must be one of "local", "openai"/],
    [{ generation: { engine: "openai" } }, /^generation\.openai: is required with generation\.engine "openai"/],
    [{ reference: { engine: "openai" } }, /^reference\.openai: is required with reference\.engine "openai" .*unless generation\.openai/],
    [{ generation: { engine: "openai", openai: { ...server, apiKey: "sk-1" } } }, /^generation\.openai: "apiKey" may not be written in a config/],
    [{ generation: { engine: "openai", openai: { ...server, baseUrl: "localhost:8000" } } }, /^generation\.openai: baseUrl must be an http\(s\) URL/],
    [{ reference: { engine: "openai", openai: { ...server, concurrency: 0 } } }, /^reference\.openai: concurrency must be an integer >= 1/],
    [{ reference: { engine: "openai", openai: { ...server, modle: "x" } } }, /^reference\.openai: unknown field "modle"/],
    [
      { generation: { engine: "openai", openai: server }, geometricSampling: { enabled: true } },
      /^generation\.engine: "openai" cannot run geometricSampling: the token-level geometric mixture needs two models' logits/,
    ],
    [{ generation: { engine: "openai", openai: server, seeding: "batch" } }, /^generation\.seeding: must be "example" with generation\.engine "openai"/],
    [{ generation: { seeding: "example" }, geometricSampling: { enabled: true } }, /^generation\.seeding: "example" cannot be combined with geometricSampling/],
    [{ generation: { seeding: "row" } }, /^generation\.seeding: must be one of "batch", "example"/],
    [{ finetune: "full", reference: { engine: "openai", openai: server } }, /^reference\.engine: "openai" needs finetune "lora"/],
    [{ finetune: "full", generation: { engine: "openai", openai: server } }, /^generation\.engine: "openai" needs finetune "lora"/],
    [{ reference: { mixture: "geometrik" } }, /^reference\.mixture: must be one of .*did you mean "geometric"/],
    [{ reference: { engin: "openai" } }, /^reference\.engin: unknown key/],
    [{ reference: { engine: "openai", openai: server, logprobs: "top" } }, /^reference\.logprobs: must be one of "echo", "prompt_logprobs"/],
    [{ reference: 3 }, /^reference: must be "geometric", "arithmetic", "ema" or an object/],
    [{ reference: "geometrik" }, /^reference: must be one of .*did you mean "geometric"/],
  ];
  for (const [extra, expected] of cases) {
    const lines = problems({ ...minimal, ...(extra as object) });
    assert.ok(lines.some((l) => expected.test(l)), `${JSON.stringify(extra)}: got ${JSON.stringify(lines)}`);
  }
});

test("config engines: the fingerprint leaves out where the phases run, and is unchanged for configs without the new keys", () => {
  const fingerprint = (raw: Record<string, unknown>): string => configFingerprint(resolveRunConfig(raw));
  const plain = { name: "x", data: { train: "a.jsonl" }, reference: "arithmetic", h: 2 };
  // The value configFingerprint gave this config before the engine keys existed (commit 3d8461d).
  assert.equal(fingerprint(plain), "13c442d9332e700d11690f9bf8d29bf09b0336abc274276332b64ccdbcc197ca");
  const onServer = (baseUrl: string) => ({
    ...plain,
    generation: { engine: "openai", openai: { ...server, baseUrl } },
    reference: { mixture: "arithmetic", engine: "openai", openai: { ...server, baseUrl, concurrency: 2 } },
  });
  const withExampleSeeds = { ...plain, generation: { seeding: "example" } };
  assert.equal(fingerprint(onServer("http://a:8000/v1")), fingerprint(onServer("http://b:9000/v1")));
  assert.equal(fingerprint(onServer("http://a:8000/v1")), fingerprint(withExampleSeeds));
  assert.notEqual(fingerprint(withExampleSeeds), fingerprint(plain), "the seeding changes the losers");
  assert.notEqual(fingerprint({ ...plain, reference: "geometric" }), fingerprint(plain));
});

test("config engines: the command-line flags set the engines and write the server into each openai block", () => {
  const flags = { generationEngine: "openai", referenceEngine: "openai", openaiBaseUrl: "http://h:8000/v1", openaiModel: "m" };
  const raw = withEngineFlags({ ...minimal, reference: "ema", generation: { batchSize: 4, openai: { concurrency: 2, model: "old" } } }, flags);
  const c = resolveRunConfig(raw);
  assert.equal(c.generation.batchSize, 4);
  assert.equal(c.generation.engine, "openai");
  assert.deepEqual([c.generation.openai?.baseUrl, c.generation.openai?.model, c.generation.openai?.concurrency], ["http://h:8000/v1", "m", 2]);
  assert.deepEqual([c.reference.mixture, c.reference.engine, c.reference.openai?.baseUrl], ["ema", "openai", "http://h:8000/v1"]);
  // Server flags alone touch only the phases whose engine is openai; no flags leave the config as it is.
  const onlyGeneration = withEngineFlags({ ...minimal, generation: { engine: "openai" } }, { openaiBaseUrl: "http://h:8000/v1", openaiModel: "m" });
  assert.deepEqual(resolveRunConfig(onlyGeneration).reference.engine, "local");
  assert.equal(resolveRunConfig(onlyGeneration).generation.openai?.model, "m");
  assert.deepEqual(withEngineFlags({ ...minimal, reference: "arithmetic" }, {}), { ...minimal, reference: "arithmetic" });
  assert.match(problems(withEngineFlags(minimal, { generationEngine: "openai" }))[0], /^generation\.openai: is required/);
});
