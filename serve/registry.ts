/**
 * The models a server answers for: one base model folder (Hugging Face layout) and any number of
 * PEFT LoRA adapters on it, each under its own name — the names clients put in `"model"`. All share
 * the base weights and the tokenizer; an adapter adds only its A and B matrices.
 *
 * @example
 * ```ts
 * import { ModelRegistry } from "./registry.ts";
 * const models = await ModelRegistry.load({ modelDir: "./gpt2", name: "gpt2", adapters: [{ name: "iter-1", path: "runs/x/iter-1/adapter" }] });
 * models.get("iter-1").policy; // TransformerPolicy with the adapter
 * models.dispose();
 * ```
 *
 * @module
 */
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import type { Transformer } from "../models/transformer.ts";
import { ApiError } from "./errors.ts";

/** One served name: the base model or an adapter on it. */
export interface ServedModel {
  /** The name clients ask for. */
  readonly name: string;
  /** The base policy, or the base with this adapter. */
  readonly policy: TransformerPolicy;
  /** The base model's name for an adapter; null for the base. */
  readonly parent: string | null;
  /** The folder it was loaded from. */
  readonly path: string;
  /** Unix seconds when it was loaded. */
  readonly created: number;
}

/** An adapter to serve: its name and PEFT folder. */
export interface AdapterSpec {
  readonly name: string;
  readonly path: string;
}

/** Options of {@link ModelRegistry.load}. */
export interface RegistryOptions {
  /** The Hugging Face model folder. */
  readonly modelDir: string;
  /** The base model's served name. Default: `modelDir` as given (as vLLM does). */
  readonly name?: string;
  /** The tokenizer folder. Default: `modelDir`. */
  readonly tokenizerDir?: string;
  readonly adapters?: readonly AdapterSpec[];
}

const now = (): number => Math.floor(Date.now() / 1000);

/** The served models; see the module doc. */
export class ModelRegistry {
  readonly #models = new Map<string, ServedModel>();
  /** Stop tokens: the model config's EOS ids and the tokenizer's EOS. */
  readonly eosIds: readonly number[];

  /**
   * A registry over an already loaded base model (taken over: {@link dispose} frees it).
   *
   * @example
   * ```ts
   * import type { Transformer } from "../models/transformer.ts";
   * import type { Tokenizer } from "../models/tokenizer.ts";
   * declare const model: Transformer;
   * declare const tokenizer: Tokenizer;
   * const models = new ModelRegistry(model, tokenizer, "base", "./base");
   * ```
   */
  constructor(
    readonly base: Transformer,
    readonly tokenizer: Tokenizer,
    readonly baseName: string,
    basePath: string,
  ) {
    if (tokenizer.vocabSize > base.config.vocabSize) {
      throw new Error(
        `the tokenizer has ${tokenizer.vocabSize} ids but the model's vocabulary has only ${base.config.vocabSize}`,
      );
    }
    this.#models.set(baseName, {
      name: baseName,
      policy: new TransformerPolicy(base, null),
      parent: null,
      path: basePath,
      created: now(),
    });
    this.eosIds = [
      ...new Set([...base.config.eosTokenIds, ...(tokenizer.eosId === undefined ? [] : [tokenizer.eosId])]),
    ];
  }

  /**
   * Load a model folder, its tokenizer and the adapters. An adapter that does not fit the model is an
   * error naming its folder.
   *
   * @example
   * ```ts
   * const models = await ModelRegistry.load({ modelDir: "./tiny", adapters: [{ name: "a", path: "./a" }] });
   * ```
   */
  static async load(options: RegistryOptions): Promise<ModelRegistry> {
    const tokenizer = await loadTokenizer(options.tokenizerDir ?? options.modelDir);
    const model = await loadHfModel(options.modelDir);
    let registry: ModelRegistry;
    try {
      registry = new ModelRegistry(model, tokenizer, options.name ?? options.modelDir, options.modelDir);
    } catch (e) {
      model.dispose();
      throw e;
    }
    try {
      for (const a of options.adapters ?? []) await registry.addAdapter(a.name, a.path);
    } catch (e) {
      registry.dispose();
      throw e;
    }
    return registry;
  }

  /** Context length: the model's positions. */
  get maxPositions(): number {
    return this.base.config.maxPositions;
  }

  /**
   * The model of a request's `"model"`; a 404 naming the served ones otherwise.
   *
   * @example
   * ```ts
   * declare const models: ModelRegistry;
   * models.get("iter-2").policy; // throws a 404 ApiError when no such model is served
   * ```
   */
  get(name: string): ServedModel {
    const m = this.#models.get(name);
    if (m === undefined) {
      throw new ApiError(
        404,
        `The model \`${name}\` does not exist. Served: ${
          [...this.#models.keys()].map((n) => `\`${n}\``).join(", ")
        }`,
        "invalid_request_error",
        "model",
        "model_not_found",
      );
    }
    return m;
  }

  /**
   * Every served model, the base first.
   *
   * @example
   * ```ts
   * declare const models: ModelRegistry;
   * models.list().map((m) => m.name); // ["base", "iter-1"]
   * ```
   */
  list(): ServedModel[] {
    return [...this.#models.values()];
  }

  /**
   * Load a PEFT adapter folder under `name` (a name already served is an error).
   *
   * @example
   * ```ts
   * declare const models: ModelRegistry;
   * await models.addAdapter("iter-3", "runs/x/iter-3/adapter");
   * ```
   */
  async addAdapter(name: string, path: string): Promise<ServedModel> {
    if (name === "" || this.#models.has(name)) {
      throw new ApiError(
        400,
        `the adapter name \`${name}\` is empty or already served`,
        "invalid_request_error",
        "lora_name",
      );
    }
    const record = await readPeftAdapter(path);
    let adapter;
    try {
      adapter = loraAdapterFromRecord(this.base, record);
    } catch (e) {
      throw new Error(
        `${path}: the adapter does not fit the model ${this.baseName}: ${(e as Error).message}`,
      );
    }
    const served: ServedModel = {
      name,
      policy: new TransformerPolicy(this.base, adapter),
      parent: this.baseName,
      path,
      created: now(),
    };
    this.#models.set(name, served);
    return served;
  }

  /**
   * Stop serving an adapter and free it (the base cannot be removed).
   *
   * @example
   * ```ts
   * declare const models: ModelRegistry;
   * models.removeAdapter("iter-1");
   * ```
   */
  removeAdapter(name: string): void {
    const m = this.get(name);
    if (m.parent === null) {
      throw ApiError.badParam("lora_name", `\`${name}\` is the base model, not an adapter`);
    }
    m.policy.adapter?.dispose();
    this.#models.delete(name);
  }

  /** Free the adapters and the base model. */
  dispose(): void {
    for (const m of this.#models.values()) m.policy.adapter?.dispose();
    this.#models.clear();
    this.base.dispose();
  }
}
