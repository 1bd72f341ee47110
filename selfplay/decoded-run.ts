/**
 * A run config decoded once. {@link DecodedRun.decode} imports the modules the config names (one
 * may register its loss), then decodes and checks the config against the loss registry; `prepareRun`
 * (so `runSelfPlay`) takes the result as its `config` and uses it as it is, instead of decoding the
 * config a second time. A caller that checks a run before starting it (`alpha-spin spin` refuses bad
 * settings before `--fresh` deletes anything) decodes it this way, once.
 *
 * @example
 * ```ts
 * import { runSelfPlay } from "./loop.ts";
 * declare const raw: unknown; // the run config as read from JSON
 * const run = await DecodedRun.decode(raw);
 * run.config.iterations; // checked, defaults applied
 * await runSelfPlay({ config: run });
 * ```
 *
 * @module
 */
import { lossRegistry as defaultRegistry, type LossRegistry } from "../losses/registry.ts";
import { type RunConfig, resolveRunConfig } from "./config.ts";
import { importRunModules } from "./imports.ts";

/** A decoded, checked run config, with the imports done and the registry it was checked against. */
export class DecodedRun {
  private constructor(
    /** The resolved config: every key present, defaults applied, cross-field rules checked. */
    readonly config: RunConfig,
    /** The URLs of the config's `imports`, imported (the gradient workers import them too). */
    readonly imports: readonly string[],
    /** The loss registry `loss.name` was looked up in. */
    readonly registry: LossRegistry,
  ) {}

  /**
   * Import the config's modules, then decode and check it (every problem by path and rule, in one
   * ConfigError).
   *
   * @example
   * ```ts
   * const run = await DecodedRun.decode({ name: "x", data: { train: "t.jsonl" } });
   * run.config.outputDir; // "runs/x"
   * ```
   */
  static async decode(raw: unknown, registry: LossRegistry = defaultRegistry): Promise<DecodedRun> {
    const imports = await importRunModules(raw); // may register the config's loss
    const config = resolveRunConfig(raw, { knownLosses: registry.names(), lossRegistry: registry });
    return new DecodedRun(config, imports, registry);
  }
}
