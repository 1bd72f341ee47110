/**
 * Iterates by name inside a run: π_base ("base", index 0), π_i ("iter-<i>") and the EMA of the
 * policy's parameters after iteration i ("ema-<i>"; "ema-0" is π_base, since the EMA starts at
 * π_1's initial parameters, which equal π_base's). Loads any of them as a policy, and gives the
 * fingerprint the reference cache is keyed by.
 *
 * @example
 * ```ts
 * import { RunIterates } from "./iterates.ts";
 * import type { IterateStore } from "./store.ts";
 * import type { PreparedRun } from "./setup.ts";
 * declare const store: IterateStore;
 * declare const ready: PreparedRun;
 * const iterates = new RunIterates(store, ready);
 * const { policy, dispose } = await iterates.load({ index: 2, id: "iter-2" });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { loadHfModel } from "../models/hf-load.ts";
import { TransformerPolicy } from "../models/policy.ts";
import type { Iterate } from "../samplers/history.ts";
import { folderFingerprint } from "./fingerprint.ts";
import type { LoadedPolicy } from "./generation.ts";
import { loadIterateSnapshot, policyFromSnapshot } from "../train/params.ts";
import type { PreparedRun } from "./setup.ts";
import type { IterateStore } from "./store.ts";

/**
 * The store id of π_i: "base" for 0, "iter-<i>" otherwise.
 *
 * @example
 * ```ts
 * iterateId(0); // "base"
 * ```
 */
export const iterateId = (index: number): string => (index === 0 ? "base" : `iter-${index}`);

/**
 * The store id of the EMA after iteration i.
 *
 * @example
 * ```ts
 * emaId(2); // "ema-2"
 * ```
 */
export const emaId = (index: number): string => `ema-${index}`;

/** The folder a trained iterate's parameters are in (adapter/ for LoRA, model/ for full). */
export const iterateParamsDir = (store: IterateStore, index: number, finetune: "lora" | "full"): string =>
  join(store.iterDir(index), finetune === "lora" ? "adapter" : "model");

/** Loads iterates of one run. */
export class RunIterates {
  readonly store: IterateStore;
  readonly ready: PreparedRun;
  readonly basePolicy: TransformerPolicy;

  /**
   * @example
   * ```ts
   * import type { IterateStore } from "./store.ts";
 * import type { PreparedRun } from "./setup.ts";
 * declare const store: IterateStore;
 * declare const ready: PreparedRun;
 * new RunIterates(store, ready);
   * ```
   */
  constructor(store: IterateStore, ready: PreparedRun) {
    this.store = store;
    this.ready = ready;
    this.basePolicy = new TransformerPolicy(ready.base);
  }

  /** The folder of an iterate's parameters, or null for π_base. */
  dirOf(iterate: Iterate): string | null {
    if (iterate.id === "base" || iterate.id === "ema-0") return null;
    if (iterate.id.startsWith("ema-")) return join(this.store.iterDir(iterate.index), "ema");
    return iterateParamsDir(this.store, iterate.index, this.ready.spec.finetune);
  }

  /**
   * The iterate as a policy (π_base is shared and never disposed).
   *
   * @example
   * ```ts
   * declare const iterates: RunIterates;
 * const loaded = await iterates.load({ index: 2, id: "iter-2" });
 * try {
 *   loaded.policy; // iterate 2 as a policy
 * } finally {
 *   loaded.dispose();
 * }
   * ```
   */
  async load(iterate: Iterate): Promise<LoadedPolicy> {
    const dir = this.dirOf(iterate);
    return dir === null ? { policy: this.basePolicy, dispose: () => {} } : await this.loadDir(dir);
  }

  /**
   * Parameters saved by the run in `dir` (an adapter/ or model/ folder) as a policy, e.g. the SPPO
   * loop's reward model.
   *
   * @example
   * ```ts
   * declare const iterates: RunIterates;
   * const loaded = await iterates.loadDir("runs/x/iter-1/reward-model/adapter");
   * loaded.dispose();
   * ```
   */
  async loadDir(dir: string): Promise<LoadedPolicy> {
    if (this.ready.spec.finetune === "full") {
      const model = await loadHfModel(dir, { trainable: false });
      return { policy: new TransformerPolicy(model), dispose: () => model.dispose() };
    }
    const snapshot = await loadIterateSnapshot(dir, this.ready.base, this.ready.spec);
    return policyFromSnapshot(this.ready.base, this.ready.spec, snapshot);
  }

  /** The fingerprint of an iterate's parameters (π_base: the run's model fingerprint). */
  async fingerprint(iterate: Iterate): Promise<string> {
    const dir = this.dirOf(iterate);
    return dir === null ? this.ready.fingerprints.model : await folderFingerprint(dir);
  }
}
