/**
 * The one helper that makes a phase of the loop resumable: a phase's result is written to the
 * run's store (atomically) when the phase completes, and a resumed run reads it back instead of
 * running the phase again. Phases whose work is long keep finer progress of their own inside
 * (generation batches, reference chunks, training epochs), so a kill mid-phase loses little.
 *
 * @example
 * ```ts
 * import { join } from "node:path";
 * import { jsonLines, resumable } from "./resumable.ts";
 * import type { IterateStore } from "../store.ts";
 * import type { GenerationRow } from "../generation.ts";
 * declare const store: IterateStore;
 * declare const dir: string; // the iteration's folder
 * declare const generate: () => Promise<GenerationRow[]>;
 * const { value, resumed } = await resumable(store, join(dir, "generations.jsonl"), jsonLines<GenerationRow>(), () => generate());
 * ```
 *
 * @module
 */
import type { IterateStore } from "../store.ts";

/** How a phase result is kept in a file. */
export interface StoredFormat<A> {
  /** The stored value, or null when the file is missing. */
  read(store: IterateStore, path: string): Promise<A | null>;
  write(store: IterateStore, path: string, value: A): Promise<void>;
}

/**
 * A JSON file (pretty-printed, or compact for large machine-read values).
 *
 * @example
 * ```ts
 * const format = jsonFile<{ h: number }>();
 * ```
 */
export const jsonFile = <A>(options: { readonly compact?: boolean } = {}): StoredFormat<A> => ({
  read: async (store, path) => (await store.readJson(path)) as A | null,
  write: (store, path, value) => options.compact ? store.writeCompactJson(path, value) : store.writeJson(path, value),
});

/**
 * A JSON-lines file of rows.
 *
 * @example
 * ```ts
 * import type { GenerationRow } from "../generation.ts";
 * const format = jsonLines<GenerationRow>();
 * ```
 */
export const jsonLines = <Row>(): StoredFormat<Row[]> => ({
  read: async (store, path) => (await store.exists(path)) ? (await store.readJsonl(path)) as Row[] : null,
  write: (store, path, rows) => store.writeJsonl(path, rows),
});

/**
 * The phase result stored at `path`, or, when there is none, `compute()`'s, stored there first.
 * `resumed` says which.
 *
 * @example
 * ```ts
 * import type { IterateStore } from "../store.ts";
 * import type { OpponentWindow } from "../../samplers/history.ts";
 * declare const store: IterateStore;
 * declare const path: string;
 * declare const pickWindow: () => OpponentWindow;
 * const { value } = await resumable(store, path, jsonFile<OpponentWindow>(), async () => pickWindow());
 * ```
 */
export const resumable = async <A>(
  store: IterateStore,
  path: string,
  format: StoredFormat<A>,
  compute: () => Promise<A>,
): Promise<{ readonly value: A; readonly resumed: boolean }> => {
  const stored = await format.read(store, path);
  if (stored !== null) return { value: stored, resumed: true };
  const value = await compute();
  await format.write(store, path, value);
  return { value, resumed: false };
};
