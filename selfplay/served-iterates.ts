/**
 * The run's iterates on an OpenAI-compatible server: π_base is the served base model (the openai
 * block's `model`); every other iterate (π_i, an EMA) is its LoRA adapter folder, loaded on the
 * server at first use with vLLM's `POST /v1/load_lora_adapter` (vLLM: `--enable-lora` and
 * `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`; `alpha-spin serve`: `--allow-adapter-loading`) and
 * asked for by name in `model`.
 *
 * The name is `<iterate id>-<first 16 hex digits of the adapter folder's fingerprint>`, so a server
 * that outlives a run (or serves several) never answers with another run's adapter of the same id;
 * an adapter already loaded under that name is used as it is. The path sent is absolute: the server
 * reads it, so it must see the run folder at the same path (a shared disk).
 *
 * @example
 * ```ts
 * import { ServedIterates } from "./served-iterates.ts";
 * import type { OpenAiEngineConfig } from "../engines/openai-config.ts";
 * import type { RunIterates } from "./iterates.ts";
 * declare const config: OpenAiEngineConfig;
 * declare const iterates: RunIterates;
 * const served = new ServedIterates(config, process.env, iterates);
 * await served.name({ index: 1, id: "iter-1" }); // "iter-1-3fa2b9c01d2e4f56", loaded on the server
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import type { OpenAiEngineConfig } from "../engines/openai-config.ts";
import { OpenAiGenerationEngine } from "../engines/openai-generation.ts";
import type { Iterate } from "../samplers/history.ts";

/** What {@link ServedIterates} needs of the run's iterates (RunIterates has it). */
export interface IterateFolders {
  /** The folder of an iterate's parameters, or null for π_base. */
  dirOf(iterate: Iterate): string | null;
  /** The fingerprint of an iterate's parameters. */
  fingerprint(iterate: Iterate): Promise<string>;
}

/** Served names of a run's iterates; see the module doc. */
export class ServedIterates {
  readonly #engine: OpenAiGenerationEngine;
  readonly #loaded = new Map<string, Promise<string>>();

  /**
   * @example
   * ```ts
   * import type { OpenAiEngineConfig } from "../engines/openai-config.ts";
   * import type { RunIterates } from "./iterates.ts";
   * declare const config: OpenAiEngineConfig;
   * declare const iterates: RunIterates;
   * new ServedIterates(config, process.env, iterates);
   * ```
   */
  constructor(
    readonly config: OpenAiEngineConfig,
    env: Readonly<Record<string, string | undefined>>,
    readonly iterates: IterateFolders,
  ) {
    this.#engine = new OpenAiGenerationEngine(config, env);
  }

  /**
   * The served name of an iterate, its adapter loaded on the server first (once per name).
   *
   * @example
   * ```ts
   * declare const served: ServedIterates;
   * await served.name({ index: 0, id: "base" }); // the openai block's model
   * ```
   */
  name(iterate: Iterate): Promise<string> {
    const dir = this.iterates.dirOf(iterate);
    if (dir === null) return Promise.resolve(this.config.model);
    let pending = this.#loaded.get(iterate.id);
    if (pending === undefined) {
      pending = (async () => {
        const name = `${iterate.id}-${(await this.iterates.fingerprint(iterate)).slice(0, 16)}`;
        try {
          await this.#engine.loadAdapter(name, resolve(dir));
        } catch (e) {
          throw new Error(
            `${(e as Error).message} (the server must load LoRA adapters at run time: vLLM with --enable-lora and ` +
              "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, alpha-spin serve with --allow-adapter-loading; and it must read the run folder at this path)",
            { cause: e },
          );
        }
        return name;
      })();
      pending.catch(() => this.#loaded.delete(iterate.id));
      this.#loaded.set(iterate.id, pending);
    }
    return pending;
  }
}
