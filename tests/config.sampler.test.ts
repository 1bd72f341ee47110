// selfplay/sampler-config.ts: `generation.sampler` and `generation.gflownet` in the run config —
// defaults, the mapping from the older `geometricSampling.enabled`, and bad values refused by path
// and rule before anything runs.
import { either } from "fp-ts";
import { assert, test } from "./harness.ts";
import { ConfigError } from "../core/config.ts";
import { sha256Hex, stableStringify } from "../core/hash.ts";
import { configFingerprint, decodeRunConfig, resolveRunConfig } from "../selfplay/config.ts";
import { fingerprintView } from "../selfplay/config-engines.ts";
import { gflownetDefaults } from "../selfplay/sampler-config.ts";

const minimal = { name: "demo", data: { train: "data/train.jsonl" } };

const problems = (raw: unknown): string[] => {
  const r = decodeRunConfig(raw);
  if (either.isRight(r)) throw new Error("expected the config to be refused");
  assert.ok(r.left instanceof ConfigError);
  return r.left.issues.map((i) => `${i.path}: ${i.message}`);
};

test("the sampler defaults to plain; geometricSampling.enabled still selects resample", () => {
  assert.equal(resolveRunConfig(minimal).generation.sampler, "plain");
  const old = resolveRunConfig({ ...minimal, geometricSampling: { enabled: true, candidates: 8 } });
  assert.equal(old.generation.sampler, "resample");
  assert.deepEqual(old.geometricSampling, { enabled: true, candidates: 8, resample: "systematic" });
  assert.equal(resolveRunConfig({ ...minimal, generation: { sampler: "resample" } }).generation.sampler, "resample");
  // Resolving is idempotent: a resolved config decodes to itself.
  for (const c of [old, resolveRunConfig({ ...minimal, generation: { sampler: "gflownet" } })]) {
    assert.deepEqual(resolveRunConfig(JSON.parse(JSON.stringify(c))), c);
  }
});

test("generation.gflownet fills its defaults around the keys given", () => {
  const c = resolveRunConfig({ ...minimal, generation: { sampler: "gflownet", gflownet: { steps: 50, lora: { r: 4 } } } });
  assert.equal(c.generation.sampler, "gflownet");
  assert.deepEqual(c.generation.gflownet, { ...gflownetDefaults, steps: 50, lora: { r: 4, alpha: 16 } });
  assert.deepEqual(gflownetDefaults, {
    steps: 200,
    batchSize: 16,
    lr: 1e-3,
    lambda: 1,
    explorationTemperature: 1.5,
    replayFraction: 0.5,
    replayPerPrompt: 32,
    lora: { r: 8, alpha: 16 },
  });
});

test("bad sampler settings are refused by path and rule", () => {
  assert.deepEqual(problems({ ...minimal, generation: { sampler: "gflownets" } }), [
    'generation.sampler: must be one of "plain", "resample", "gflownet" (did you mean "gflownet"?) (got "gflownets")',
  ]);
  assert.deepEqual(problems({ ...minimal, generation: { sampler: "gflownet", gflownet: { lambda: 0 } } }), [
    "generation.gflownet.lambda: must be > 0 (got 0)",
  ]);
  assert.deepEqual(problems({ ...minimal, generation: { gflownet: { replayFraction: 1.5, steps: 0 } } }), [
    "generation.gflownet.steps: must be an integer >= 1 (got 0)",
    "generation.gflownet.replayFraction: must be in [0, 1] (got 1.5)",
  ]);
  assert.deepEqual(problems({ ...minimal, generation: { gflownet: { lamda: 2 } } }), [
    'generation.gflownet.lamda: unknown key (did you mean "lambda"?)',
  ]);
  assert.deepEqual(problems({ ...minimal, generation: { gflownet: { lora: { rank: 4 } } } }), [
    'generation.gflownet.lora.rank: unknown key (known: r, alpha)',
  ]);
});

test("geometricSampling.enabled next to another sampler, and a GFlowNet without the geometric reference, are refused", () => {
  assert.deepEqual(problems({ ...minimal, geometricSampling: { enabled: true }, generation: { sampler: "gflownet" } }), [
    'geometricSampling.enabled: is true, which selects the "resample" sampler, but generation.sampler is "gflownet"',
  ]);
  assert.deepEqual(problems({ ...minimal, reference: "arithmetic", generation: { sampler: "gflownet" } }), [
    'generation.sampler: "gflownet" samples the geometric mixture and needs reference "geometric" (got reference "arithmetic")',
  ]);
  assert.equal(resolveRunConfig({ ...minimal, reference: "arithmetic", generation: { sampler: "plain" } }).generation.sampler, "plain");
  const openai = { engine: "openai", openai: { baseUrl: "http://localhost:8000/v1", model: "m" } };
  assert.deepEqual(problems({ ...minimal, generation: { ...openai, sampler: "gflownet" } }), [
    'generation.sampler: "gflownet" needs generation.engine "local": the fitted sampler is an adapter of this run, not an iterate the server serves',
  ]);
  assert.equal(resolveRunConfig({ ...minimal, generation: { ...openai, sampler: "plain" } }).generation.sampler, "plain");
  assert.deepEqual(problems({ ...minimal, generation: { seeding: "example", sampler: "resample" } }), [
    'generation.seeding: "example" cannot be combined with the "resample" sampler (it draws K candidates per prompt)',
  ]);
  assert.deepEqual(problems({ ...minimal, method: "sppo", generation: { sampler: "gflownet" } }), [
    'generation.sampler: must be "plain" with method "sppo" (it samples from π_{t−1} alone)',
  ]);
  // One seed per example works for the GFlowNet sampler as for plain sampling.
  assert.equal(resolveRunConfig({ ...minimal, generation: { seeding: "example", sampler: "gflownet" } }).generation.seeding, "example");
});

test("the fingerprint leaves out sampler keys that change nothing: older run folders still resume", () => {
  // Computed by hand: the engines' view of the config (config-engines.ts) without name/outputDir,
  // without generation.sampler/gflownet (and without the SPPO keys a SPIN run leaves out), as a
  // config resolved before the sampler keys existed hashed.
  const before = (c: ReturnType<typeof resolveRunConfig>): string => {
    assert.equal(c.method, "spin");
    assert.ok(!c.listwise);
    const { name: _n, outputDir: _o, method: _m, sppo: _p, listwise: _l, ...rest } = fingerprintView(c);
    const { sampler: _s, gflownet: _g, ...generation } = rest.generation as Record<string, unknown>;
    return sha256Hex(stableStringify({ ...rest, generation }));
  };
  const plain = resolveRunConfig(minimal);
  assert.equal(configFingerprint(plain), before(plain));
  const resample = resolveRunConfig({ ...minimal, geometricSampling: { enabled: true } });
  assert.equal(configFingerprint(resample), before(resample));
  // GFlowNet settings count only for the GFlowNet sampler; the sampler counts when it is not implied.
  assert.equal(configFingerprint(resolveRunConfig({ ...minimal, generation: { gflownet: { steps: 5 } } })), configFingerprint(plain));
  const gfn = (steps: number) => configFingerprint(resolveRunConfig({ ...minimal, generation: { sampler: "gflownet", gflownet: { steps } } }));
  assert.notEqual(gfn(5), configFingerprint(plain));
  assert.notEqual(gfn(5), gfn(6));
  const explicitResample = resolveRunConfig({ ...minimal, generation: { sampler: "resample" } });
  assert.notEqual(configFingerprint(explicitResample), configFingerprint(plain));
});
