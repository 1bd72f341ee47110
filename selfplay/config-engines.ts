/**
 * The run-config keys that pick where the loop's heavy phases run (docs/config.md, docs/scale-out.md):
 *
 * - `generation.engine`: "local" (tfjs, this process) or "openai" (an OpenAI-compatible server such as
 *   vLLM or `alpha-spin serve`, settings in `generation.openai`), and `generation.seeding`: how each
 *   loser's random stream is chosen ("batch": one stream per batch of `generation.batchSize`, as
 *   always; "example": one integer seed per (iterate, example), the only kind a server can take,
 *   and the default with the openai engine).
 * - `reference`: the mixture name ("geometric" | "arithmetic" | "ema"), or an object
 *   `{ "mixture", "engine": "local" | "openai", "openai": {...}, "logprobs": "echo" | "prompt_logprobs" }`
 *   when the reference log-probs come from a server. Either spelling resolves to the object.
 *
 * The `openai` blocks are checked by engines/' `checkOpenAiEngineConfig` (the API key only by the
 * name of its environment variable). Combinations a server cannot do are refused at decode time,
 * naming the key: the geometric-mixture sampler (two models' logits per step), full fine-tuning
 * (an iterate is then a whole model, which a server loads only when it starts).
 *
 * @example
 * ```ts
 * import { referenceCodec } from "./config-engines.ts";
 * referenceCodec.decode("arithmetic"); // Right({ mixture: "arithmetic", engine: "local", openai: null, logprobs: "echo" })
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { either } from "fp-ts";
import { type CheckIssue, isPlainObject, oneOf, optionalNull, showValue, strictObject, withDefault } from "../core/config.ts";
import { checkOpenAiEngineConfig, type OpenAiEngineConfig } from "../engines/openai-config.ts";
import type { RunConfig } from "./config-types.ts";
import { trainingFingerprintView } from "./config-training-engine.ts";

/** Where a phase runs. */
export type EngineName = "local" | "openai";
/** The three reference mixtures (docs/selfplay.md). */
export type ReferenceMixture = "geometric" | "arithmetic" | "ema";
/** How losers' random streams are chosen (see the module doc). */
export type GenerationSeeding = "batch" | "example";

/** The resolved `reference` key. */
export interface ReferenceConfig {
  readonly mixture: ReferenceMixture;
  readonly engine: EngineName;
  /** The server of the openai engine (null with the local engine). */
  readonly openai: OpenAiEngineConfig | null;
  /** How the server is asked for prompt log-probs (engines/openai-reference.ts). */
  readonly logprobs: "echo" | "prompt_logprobs";
}

/**
 * An `openai` block, checked (and its defaults filled) by `checkOpenAiEngineConfig`; its message
 * names the field inside the block.
 *
 * @example
 * ```ts
 * openAiBlock.decode({ baseUrl: "http://127.0.0.1:8000/v1", model: "m" }); // Right({ ..., concurrency: 8, ... })
 * ```
 */
export const openAiBlock: t.Type<OpenAiEngineConfig, unknown, unknown> = new t.Type<OpenAiEngineConfig, unknown, unknown>(
  "openAiEngine",
  (u): u is OpenAiEngineConfig => {
    try {
      checkOpenAiEngineConfig(u, "");
      return true;
    } catch {
      return false;
    }
  },
  (u, c) => {
    try {
      return t.success(checkOpenAiEngineConfig(u, "openai"));
    } catch (e) {
      return t.failure(u, c, (e as Error).message.replace(/^openai: /, ""));
    }
  },
  t.identity,
);

const engineName = oneOf(["local", "openai"] as const);
const mixtureName = oneOf(["geometric", "arithmetic", "ema"] as const);
const nullableOpenAi = optionalNull(openAiBlock);
const seedingName = oneOf(["batch", "example"] as const);

/**
 * The `generation` keys added here (joined into the generation block of config.ts).
 *
 * @example
 * ```ts
 * import { strictObject } from "../core/config.ts";
 * strictObject({ ...generationEngineProps }).decode({ engine: "openai", openai: { baseUrl: "http://h:8000/v1", model: "m" } });
 * ```
 */
export const generationEngineProps = {
  engine: withDefault(engineName, "local"),
  /** Resolved: always written (a run config may leave it out: {@link rawSeeding}). */
  seeding: withDefault(seedingName, "batch"),
  openai: nullableOpenAi,
};

/**
 * `generation.seeding` as written: absent means "batch" with the local engine and "example" with
 * openai, filled in by {@link resolveSeeding}.
 *
 * @example
 * ```ts
 * rawSeeding.decode(undefined); // Right(null)
 * ```
 */
export const rawSeeding: t.Type<GenerationSeeding | null, GenerationSeeding | null, unknown> = optionalNull(seedingName);

const referenceObject = strictObject({
  mixture: withDefault(mixtureName, "geometric"),
  engine: withDefault(engineName, "local"),
  openai: nullableOpenAi,
  logprobs: withDefault(oneOf(["echo", "prompt_logprobs"] as const), "echo"),
}, "reference");

/**
 * The `reference` key: a mixture name (kept as it always was), or the object form with an engine.
 * Both decode to a {@link ReferenceConfig}.
 *
 * @example
 * ```ts
 * referenceCodec.decode({ mixture: "geometric", engine: "openai", openai: { baseUrl: "http://h:8000/v1", model: "m" } });
 * ```
 */
export const referenceCodec: t.Type<ReferenceConfig, unknown, unknown> = new t.Type<ReferenceConfig, unknown, unknown>(
  "reference",
  (u): u is ReferenceConfig => referenceObject.is(u),
  (u, c) => {
    if (typeof u === "string" || u === undefined) {
      return either.map((mixture: ReferenceMixture): ReferenceConfig => ({ mixture, engine: "local", openai: null, logprobs: "echo" }))(
        mixtureName.validate(u ?? "geometric", c),
      );
    }
    if (!isPlainObject(u)) {
      return t.failure(u, c, `must be "geometric", "arithmetic", "ema" or an object { mixture, engine, openai } (got ${showValue(u)})`);
    }
    return referenceObject.validate(u, c) as t.Validation<ReferenceConfig>;
  },
  t.identity,
);

/** What {@link engineIssues} reads of a decoded config. */
interface EngineKeys {
  readonly finetune: "lora" | "full";
  readonly geometricSampling: { readonly enabled: boolean };
  readonly generation: { readonly engine: EngineName; readonly seeding: GenerationSeeding | null; readonly openai: OpenAiEngineConfig | null };
  readonly reference: ReferenceConfig;
}

/**
 * The combinations of engine keys that cannot run, each naming its key.
 *
 * @example
 * ```ts
 * engineIssues({ finetune: "lora", geometricSampling: { enabled: true }, generation: { engine: "openai", seeding: null, openai: null }, reference: { mixture: "geometric", engine: "local", openai: null, logprobs: "echo" } });
 * // [{ path: ["generation", "openai"], ... }, { path: ["generation", "engine"], message: "\"openai\" cannot run geometricSampling ..." }]
 * ```
 */
export const engineIssues = (c: EngineKeys): CheckIssue[] => {
  const issues: CheckIssue[] = [];
  const g = c.generation, r = c.reference;
  if (g.engine === "openai" && g.openai === null) {
    issues.push({ path: ["generation", "openai"], message: 'is required with generation.engine "openai" (at least { "baseUrl", "model" })' });
  }
  if (r.engine === "openai" && r.openai === null && g.openai === null) {
    issues.push({
      path: ["reference", "openai"],
      message: 'is required with reference.engine "openai" (at least { "baseUrl", "model" }), unless generation.openai names the server',
    });
  }
  if (g.engine === "openai" && c.geometricSampling.enabled) {
    issues.push({
      path: ["generation", "engine"],
      message: '"openai" cannot run geometricSampling: the token-level geometric mixture needs two models\' logits at every step, ' +
        "which an OpenAI-compatible server does not give; use the local engine, or disable geometricSampling",
    });
  }
  if (g.engine === "openai" && g.seeding === "batch") {
    issues.push({
      path: ["generation", "seeding"],
      message: 'must be "example" with generation.engine "openai": a server takes one integer seed per request, not a batch\'s stream',
    });
  }
  if (g.seeding === "example" && c.geometricSampling.enabled) {
    issues.push({ path: ["generation", "seeding"], message: '"example" cannot be combined with geometricSampling (it draws K candidates per prompt)' });
  }
  for (const [path, engine] of [[["generation", "engine"], g.engine], [["reference", "engine"], r.engine]] as const) {
    if (engine === "openai" && c.finetune === "full") {
      issues.push({
        path,
        message: '"openai" needs finetune "lora": each iterate is then a LoRA adapter the server loads by name ' +
          "(POST /v1/load_lora_adapter); a fully fine-tuned iterate is a whole model, which a server loads only when it starts",
      });
    }
  }
  return issues;
};

/**
 * `reference.openai` filled in: absent with the openai engine, the server of `generation.openai`
 * (one server usually does both).
 *
 * @example
 * ```ts
 * const server = { baseUrl: "http://h:8000/v1", model: "m", concurrency: 8, timeoutMs: 600000, maxRetries: 5, backoffMs: 500, maxBackoffMs: 30000 };
 * resolveReferenceServer({ mixture: "geometric", engine: "openai", openai: null, logprobs: "echo" }, server).openai; // server
 * ```
 */
export const resolveReferenceServer = (r: ReferenceConfig, generationServer: OpenAiEngineConfig | null): ReferenceConfig =>
  r.engine === "openai" && r.openai === null ? { ...r, openai: generationServer } : r;

/**
 * `generation.seeding` filled in: "example" with the openai engine, else "batch".
 *
 * @example
 * ```ts
 * resolveSeeding({ engine: "openai", seeding: null }); // "example"
 * ```
 */
export const resolveSeeding = (g: { readonly engine: EngineName; readonly seeding: GenerationSeeding | null }): GenerationSeeding =>
  g.seeding ?? (g.engine === "openai" ? "example" : "batch");

/**
 * The config as its fingerprint sees it: where the phases run (the engines, their servers and
 * limits) is left out, as the backend and the worker count are, so a run may be resumed on
 * another server or engine; the reference is its mixture name and `generation.seeding` appears
 * only when it is "example" (what changes the losers), so the fingerprints of configs without
 * these keys are those they had before the keys existed.
 *
 * @example
 * ```ts
 * import type { RunConfig } from "./config-types.ts";
 * declare const config: RunConfig;
 * fingerprintView(config).reference; // "geometric"
 * ```
 */
export const fingerprintView = (config: RunConfig): Record<string, unknown> => {
  const { engine: _engine, openai: _openai, seeding, ...generation } = config.generation;
  return trainingFingerprintView({ // and without training.engine / training.command (config-training-engine.ts)
    ...config,
    generation: seeding === "example" ? { ...generation, seeding } : generation,
    reference: config.reference.mixture,
  });
};
