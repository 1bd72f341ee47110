// selfplay/config.ts: the α-SPIN run config — defaults, bad values reported by path and rule,
// per-iteration lists, KL weights, fingerprints, and docs/config.md covering every key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { either } from "fp-ts";
import { assert, test } from "./harness.ts";
import {
  configFingerprint,
  decodeRunConfig,
  iterationSettings,
  resolveRunConfig,
  type RunConfig,
} from "../selfplay/config.ts";
import { ConfigError } from "../core/config.ts";
import { gflownetDefaults } from "../selfplay/sampler-config.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const minimal = { name: "demo", data: { train: "data/train.jsonl" } };

/** The problem lines of a config that must fail. */
const problems = (raw: unknown, knownLosses?: readonly string[]): string[] => {
  const r = decodeRunConfig(raw, { knownLosses });
  if (either.isRight(r)) throw new Error("expected the config to be refused");
  assert.ok(r.left instanceof ConfigError);
  return r.left.issues.map((i) => `${i.path}: ${i.message}`);
};

test("a minimal config resolves with the documented defaults", () => {
  const c = resolveRunConfig(minimal);
  assert.equal(c.outputDir, "runs/demo");
  assert.equal(c.model, "embedded");
  assert.equal(c.tokenizer, null);
  assert.equal(c.backend, "auto");
  assert.equal(c.seed, 42);
  assert.deepEqual(c.data, {
    train: "data/train.jsonl",
    format: "auto",
    schema: "messages",
    turns: "first",
    eval: null,
    maxExamples: null,
  });
  assert.equal(c.iterations, 3);
  assert.equal(c.alpha, 1);
  assert.equal(c.beta, 0.1);
  assert.equal(c.klWeights, null);
  assert.equal(c.h, 1);
  assert.equal(c.assignment, "equal-share");
  assert.deepEqual(c.reference, { mixture: "geometric", engine: "local", openai: null, logprobs: "echo" });
  assert.deepEqual(c.loss, { name: "sigmoid", params: {} });
  assert.equal(c.finetune, "lora");
  assert.deepEqual(c.lora, { r: 16, alpha: 16, dropout: 0.05, targetModules: "auto" });
  assert.equal(c.training.lr, 5e-5);
  assert.equal(c.training.epochs, 3);
  assert.equal(c.maxLength, 1024);
  assert.equal(c.maxPromptLength, 512);
  assert.deepEqual(c.generation, {
    maxNewTokens: 256,
    temperature: 1,
    topK: 0,
    topP: 1,
    minP: 0,
    batchSize: 8,
    engine: "local",
    seeding: "batch",
    openai: null,
    sampler: "plain",
    gflownet: gflownetDefaults,
  });
});

test("the learning-rate default follows finetune: 5e-5 for LoRA, 5e-7 (SPIN's) for full", () => {
  assert.equal(resolveRunConfig({ ...minimal, finetune: "full" }).training.lr, 5e-7);
  assert.equal(resolveRunConfig({ ...minimal, finetune: "full", training: { lr: 1e-6 } }).training.lr, 1e-6);
});

test("a typo'd key is refused with a suggestion, at any depth", () => {
  assert.deepEqual(problems({ ...minimal, traning: { lr: 1 } }), [
    'traning: unknown key (did you mean "training"?)',
  ]);
  assert.deepEqual(problems({ ...minimal, max_length: 512 }), [
    'max_length: unknown key (did you mean "maxLength"?)',
  ]);
  assert.deepEqual(problems({ ...minimal, generation: { top_p: 0.9 } }), [
    'generation.top_p: unknown key (did you mean "topP"?)',
  ]);
});

test("α outside [0, 1], h < 1, β <= 0 are refused by path and rule", () => {
  assert.deepEqual(problems({ ...minimal, alpha: 1.5 }), ["alpha: must be in [0, 1] (got 1.5)"]);
  assert.deepEqual(problems({ ...minimal, alpha: [1, -0.1] }), ["alpha[1]: must be in [0, 1] (got -0.1)"]);
  assert.deepEqual(problems({ ...minimal, h: 0 }), ['h: must be an integer >= 1 or "all" (got 0)']);
  assert.deepEqual(problems({ ...minimal, h: 1.5 }), ['h: must be an integer >= 1 or "all" (got 1.5)']);
  assert.deepEqual(problems({ ...minimal, beta: 0 }), ["beta: must be > 0 (got 0)"]);
  assert.deepEqual(problems({ ...minimal, beta: -1 }), ["beta: must be > 0 (got -1)"]);
  assert.equal(resolveRunConfig({ ...minimal, h: "all" }).h, "all");
  // Every spelling of fictitious play decodes to "all", as `alpha-spin spin --h` reads it.
  for (const h of ["inf", "∞", Infinity]) assert.equal(resolveRunConfig({ ...minimal, h }).h, "all", String(h));
  assert.deepEqual(problems({ ...minimal, h: -Infinity }), ['h: must be an integer >= 1 or "all" (got -Infinity)']);
});

test("klWeights and alpha/beta are mutually exclusive", () => {
  const lines = problems({ ...minimal, alpha: 0.5, klWeights: { beta: 0.1, lambda: 0.1 } });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^klWeights: cannot be combined with alpha\/beta/);
  assert.match(
    problems({ ...minimal, beta: 0.2, klWeights: { beta: 0.1, lambda: 0.1 } })[0],
    /^klWeights: cannot be combined/,
  );
  assert.match(
    problems({ ...minimal, klWeights: { beta: 0, lambda: [1, 0] }, iterations: 2 })[0],
    /beta \+ lambda must be > 0.*iteration 2/,
  );
});

test("klWeights map to β' = β + λ and α = β / (β + λ) per iteration", () => {
  const c = resolveRunConfig({ ...minimal, klWeights: { beta: [0.3, 0.2], lambda: 0.1 } });
  assert.equal(c.alpha, null);
  assert.equal(c.beta, null);
  const p1 = iterationSettings(c, 1);
  assert.ok(Math.abs(p1.beta - 0.4) < 1e-15 && Math.abs(p1.alpha - 0.75) < 1e-15, JSON.stringify(p1));
  const p3 = iterationSettings(c, 3);
  assert.ok(Math.abs(p3.beta - 0.3) < 1e-15 && Math.abs(p3.alpha - 2 / 3) < 1e-15, JSON.stringify(p3));
});

test("per-iteration lists: SPIN's recipe (β, lr, epochs change at later iterations)", () => {
  const c = resolveRunConfig({
    ...minimal,
    iterations: 4,
    finetune: "full",
    beta: [0.1, 0.1, 0.1, 5],
    training: { lr: [5e-7, 5e-7, 1e-7], epochs: [3, 6] },
  });
  const params = [1, 2, 3, 4].map((it) => iterationSettings(c, it));
  assert.deepEqual(params, [
    { alpha: 1, beta: 0.1, lr: 5e-7, epochs: 3 },
    { alpha: 1, beta: 0.1, lr: 5e-7, epochs: 6 },
    { alpha: 1, beta: 0.1, lr: 1e-7, epochs: 6 },
    { alpha: 1, beta: 5, lr: 1e-7, epochs: 6 },
  ]);
  assert.throws(() => iterationSettings(c, 5), RangeError);
  assert.throws(() => iterationSettings(c, 0), RangeError);
});

test("a per-iteration list longer than iterations is refused", () => {
  assert.deepEqual(problems({ ...minimal, iterations: 2, training: { lr: [1e-4, 1e-5, 1e-6] } }), [
    "training.lr: has 3 values but iterations is 2 (one value per iteration; a shorter list repeats its last value)",
  ]);
  assert.match(
    problems({ ...minimal, iterations: 1, alpha: [1, 0.5] })[0],
    /^alpha: has 2 values but iterations is 1/,
  );
});

test("cross-field rules: maxPromptLength < maxLength, β not in loss.params, known loss names", () => {
  assert.deepEqual(problems({ ...minimal, maxLength: 256, maxPromptLength: 256 }), [
    "maxPromptLength: must be < maxLength (256), to leave room for the completion (got 256)",
  ]);
  assert.equal(resolveRunConfig({ ...minimal, maxPromptLength: null }).maxPromptLength, null);
  assert.match(
    problems({ ...minimal, loss: { name: "ipo", params: { beta: 0.5 } } })[0],
    /^loss\.params\.beta: set beta at the top level/,
  );
  assert.deepEqual(problems({ ...minimal, loss: { name: "sigmiod" } }, ["sigmoid", "ipo", "hinge"]), [
    'loss.name: unknown loss "sigmiod" (did you mean "sigmoid"? known: sigmoid, ipo, hinge)',
  ]);
  assert.equal(
    resolveRunConfig({ ...minimal, loss: { name: "ipo" } }, { knownLosses: ["sigmoid", "ipo"] }).loss.name,
    "ipo",
  );
  assert.match(
    problems({ ...minimal, geometricSampling: { enabled: true }, reference: "ema" })[0],
    /^geometricSampling\.enabled: needs reference "geometric"/,
  );
});

test("other bad values: run name, enums, lists, types", () => {
  assert.match(problems({ ...minimal, name: "../evil" })[0], /^name: must be letters, digits/);
  assert.deepEqual(problems({ name: "x" }), ["data: is required"]);
  assert.deepEqual(problems({ name: "x", data: {} }), ["data.train: is required"]);
  assert.match(
    problems({ ...minimal, reference: "geometrik" })[0],
    /^reference: must be one of .*did you mean "geometric"/,
  );
  assert.match(
    problems({ ...minimal, lora: { targetModules: [] } })[0],
    /^lora\.targetModules: must have at least 1 value/,
  );
  assert.deepEqual(
    resolveRunConfig({ ...minimal, lora: { targetModules: ["q_proj", "v_proj"] } }).lora.targetModules,
    ["q_proj", "v_proj"],
  );
  assert.deepEqual(problems({ ...minimal, reuseGenerations: "yes" }), [
    'reuseGenerations: must be true or false (got "yes")',
  ]);
  assert.deepEqual(problems({ ...minimal, generation: { topP: 0 } }), [
    "generation.topP: must be in (0, 1] (got 0)",
  ]);
  assert.deepEqual(problems([1, 2]), ["(root): must be an object (got [1,2])"]);
});

test("resolving is idempotent: a written resolved config reads back to itself", () => {
  const raw = { ...minimal, klWeights: { beta: 0.2, lambda: [0.1, 0.3] }, finetune: "full", h: "all" };
  const once = resolveRunConfig(raw);
  const twice = resolveRunConfig(JSON.parse(JSON.stringify(once)));
  assert.deepEqual(twice, once);
});

test("configFingerprint: independent of key order, sensitive to settings, blind to name/outputDir", () => {
  const a = resolveRunConfig({
    name: "a",
    data: { train: "t.jsonl", schema: "messages" },
    beta: 0.1,
    training: { lr: 1e-4, epochs: 2 },
  });
  const reordered = resolveRunConfig({
    training: { epochs: 2, lr: 1e-4 },
    beta: 0.1,
    data: { schema: "messages", train: "t.jsonl" },
    name: "a",
  });
  const fp = configFingerprint(a);
  assert.match(fp, /^[0-9a-f]{64}$/);
  assert.equal(configFingerprint(reordered), fp);
  // shuffle every level of the resolved object by hand
  const reverseKeys = (v: unknown): unknown =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]))
      : v;
  assert.equal(configFingerprint(reverseKeys(a) as RunConfig), fp);
  assert.equal(configFingerprint({ ...a, name: "b", outputDir: "elsewhere" }), fp);
  assert.notEqual(
    configFingerprint(
      resolveRunConfig({
        ...minimal,
        name: "a",
        data: { train: "t.jsonl" },
        beta: 0.1,
        training: { lr: 1e-4, epochs: 3 },
      }),
    ),
    fp,
  );
  assert.notEqual(configFingerprint({ ...a, seed: 43 }), fp);
});

test("docs/config.md documents every key of the resolved config", () => {
  const doc = readFileSync(join(root, "docs", "config.md"), "utf8");
  const c = resolveRunConfig({ ...minimal, klWeights: { beta: 0.1, lambda: 0.1 } });
  const paths: string[] = [];
  const walk = (v: unknown, prefix: string): void => {
    paths.push(prefix);
    if (typeof v === "object" && v !== null && !Array.isArray(v) && prefix !== "loss.params") {
      for (const [k, x] of Object.entries(v)) walk(x, prefix === "" ? k : `${prefix}.${k}`);
    }
  };
  walk(c, "");
  const missing = paths.filter((p) => p !== "" && !doc.includes(`\`${p}\``));
  assert.deepEqual(missing, [], `keys missing from docs/config.md: ${missing.join(", ")}`);
});

test("the example run.json in docs/config.md is a valid config", () => {
  const doc = readFileSync(join(root, "docs", "config.md"), "utf8");
  const block = /## Example\n\n```json\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(block !== null, "docs/config.md has an ## Example json block");
  const c = resolveRunConfig(JSON.parse(block[1]));
  assert.equal(c.iterations, 4);
  assert.deepEqual(iterationSettings(c, 4), { alpha: 0.8, beta: 5, lr: 2e-6, epochs: 6 });
});
