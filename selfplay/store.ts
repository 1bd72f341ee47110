/**
 * The iterate store of a self-play run on disk:
 *
 * ```
 * runs/<name>/
 *   config.json            the resolved run config (usable again as a run.json)
 *   run.json               fingerprints of config, data and base model (resume refuses a mismatch)
 *   .lock                  while a process runs it: its pid and host (run-lock.ts)
 *   metrics.jsonl          every training step of every iteration so far (rewritten atomically)
 *   iter-<t>/
 *     config.json          the iteration's resolved settings (α, β, lr, epochs, backend, ...)
 *     window.json          the opponent window and assignment actually used
 *     generations.jsonl    the losers generated in this iteration, with the iterate that made each
 *     reference/<fp>.json  pre-computed reference log-probs, under a fingerprint of data + models
 *     adapter/             π_t's LoRA adapter in PEFT's layout (finetune "lora")
 *     model/               π_t's full weights, config.json + model.safetensors (finetune "full")
 *     ema/                 the EMA of the policy's parameters after iteration t (when used)
 *     metrics.jsonl        TRL-named metrics of every training step
 *     pairs.dpo.jsonl      the iteration's pairs in TRL's DPO format
 *     pairs.spin.jsonl     the same pairs in SPIN's real/generated format
 *     work/                partial work of an unfinished iteration (removed when it completes)
 *     COMPLETE.json        written last: the iteration is complete only when this exists
 * ```
 *
 * Every file is written atomically (temporary file + rename). Since every random stream of a run
 * is derived from (seed, iteration, phase) and the run refuses to resume under another config,
 * data or base model, a file found in an unfinished iteration holds exactly what recomputing it
 * would give, and is reused.
 *
 * @example
 * ```ts
 * import { IterateStore, type RunFingerprints } from "./store.ts";
 * import type { RunConfig } from "./config.ts";
 * declare const config: RunConfig;
 * declare const fingerprints: RunFingerprints;
 * const store = new IterateStore("runs/demo");
 * await store.openRun({ config, fingerprints }, { resume: true });
 * const done = await store.completedIterations(config.iterations, fingerprints.config); // e.g. 2: resume at t = 3
 * ```
 *
 * @module
 */
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { stableStringify } from "../core/hash.ts";
import { readJsonl, writeFileAtomic, writeJsonlAtomic } from "../data/jsonl.ts";
import { lockFileName } from "./run-lock.ts";

/** The file whose presence marks an iteration complete. */
export const iterationMarkerName = "COMPLETE.json";

/** What a run was started with: a resume must match all three. */
export interface RunFingerprints {
  /** configFingerprint of the resolved config (name, outputDir and backend left out). */
  readonly config: string;
  /** SHA-256 of the tokenized training examples. */
  readonly data: string;
  /** Fingerprint of the base model (folder contents, or in-memory weights). */
  readonly model: string;
}

/** The run manifest `run.json`. */
export interface RunManifest {
  readonly format: "alpha-spin-run";
  readonly version: 1;
  readonly fingerprints: RunFingerprints;
  readonly createdAt: string;
}

/** The marker of a complete iteration. */
export interface IterationMarker {
  readonly iteration: number;
  /** The run's config fingerprint, so a marker from another run is never trusted. */
  readonly fingerprint: string;
  readonly completedAt: string;
  /** Files of the iterate, relative to its folder. */
  readonly files: readonly string[];
}

/**
 * How a refusal to start or resume in a run folder ends: the run config's fixes. A command with
 * other fixes (spin's --out and --fresh) replaces this text.
 */
export const newRunAdvice = 'set another "name" or "outputDir" in the run config';

/** A resume refused, or a run folder that cannot be used. */
export class RunStoreError extends Error {
  override readonly name = "RunStoreError";
}

const exists = async (path: string): Promise<boolean> => {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
};

const readJsonOrNull = async (path: string): Promise<unknown> => {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return null;
  }
};

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * The dotted paths at which two JSON values differ (at most `limit`), for error messages.
 *
 * @example
 * ```ts
 * differingPaths({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 } }); // ["b.c"]
 * ```
 */
export const differingPaths = (a: unknown, b: unknown, limit = 8, prefix = ""): string[] => {
  if (isRecord(a) && isRecord(b)) {
    const out: string[] = [];
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (out.length >= limit) break;
      out.push(...differingPaths(a[key], b[key], limit - out.length, prefix === "" ? key : `${prefix}.${key}`));
    }
    return out;
  }
  const same = a === undefined || b === undefined ? a === b : stableStringify(a) === stableStringify(b);
  return same ? [] : [prefix === "" ? "(root)" : prefix];
};

/** The folder of one run and its iterates; see the module doc for the layout. */
export class IterateStore {
  /** The run folder, `runs/<name>` by default. */
  readonly root: string;

  /**
   * @example
   * ```ts
   * import type { RunConfig } from "./config.ts";
 * declare const config: RunConfig;
 * const store = new IterateStore(config.outputDir);
   * ```
   */
  constructor(root: string) {
    this.root = root;
  }

  /** The folder of iteration t (`iter-<t>`). */
  iterDir(t: number): string {
    return join(this.root, `iter-${t}`);
  }

  /** The work folder of an unfinished iteration. */
  workDir(t: number): string {
    return join(this.iterDir(t), "work");
  }

  /** Whether a path exists. */
  exists(path: string): Promise<boolean> {
    return exists(path);
  }

  /**
   * Start a run in the folder, or check a resume against it. A fresh run needs a missing or empty
   * folder (an existing run needs `resume`); a resume needs the same config, data and base model
   * fingerprints, and says which keys differ when the config does not match. Returns whether
   * an existing run was resumed.
   *
   * @example
   * ```ts
   * import type { RunConfig } from "./config.ts";
 * declare const store: IterateStore;
 * declare const config: RunConfig;
 * declare const fingerprints: RunFingerprints;
 * declare const args: { resume: boolean };
 * const resumed = await store.openRun({ config, fingerprints }, { resume: args.resume });
   * ```
   */
  async openRun(run: { readonly config: unknown; readonly fingerprints: RunFingerprints }, options: { readonly resume: boolean }): Promise<boolean> {
    const manifestPath = join(this.root, "run.json"), configPath = join(this.root, "config.json");
    const entries = ((await exists(this.root)) ? await readdir(this.root) : []).filter((e) => e !== lockFileName);
    if (entries.length > 0) {
      const manifest = await readJsonOrNull(manifestPath) as RunManifest | null;
      if (manifest === null || manifest.format !== "alpha-spin-run" || !isRecord(manifest.fingerprints)) {
        throw new RunStoreError(
          `${this.root} is not empty and holds no alpha-spin run (no valid run.json): ${newRunAdvice}`,
        );
      }
      if (!options.resume) {
        throw new RunStoreError(
          `${this.root} already holds a run: pass --resume to continue it, or ${newRunAdvice}`,
        );
      }
      const stored = manifest.fingerprints;
      if (stored.config !== run.fingerprints.config) {
        const storedConfig = await readJsonOrNull(configPath);
        const keys = differingPaths(storedConfig, run.config).filter((k) => k !== "name" && k !== "outputDir" && k !== "backend");
        throw new RunStoreError(
          `cannot resume ${this.root}: it was started with another config` +
            (keys.length > 0 ? ` (different: ${keys.join(", ")})` : "") +
            `. Resume with the same config (see ${configPath}), or ${newRunAdvice}`,
        );
      }
      if (stored.data !== run.fingerprints.data) {
        throw new RunStoreError(`cannot resume ${this.root}: the training data changed since the run started (its tokenized contents differ)`);
      }
      if (stored.model !== run.fingerprints.model) {
        throw new RunStoreError(`cannot resume ${this.root}: the base model changed since the run started`);
      }
      return true;
    }
    await writeFileAtomic(configPath, JSON.stringify(run.config, null, 2) + "\n");
    const manifest: RunManifest = {
      format: "alpha-spin-run",
      version: 1,
      fingerprints: run.fingerprints,
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + "\n"); // last: the run exists
    return false;
  }

  /** The marker of iteration t when it is complete and belongs to this run's config, else null. */
  async readMarker(t: number, fingerprint: string): Promise<IterationMarker | null> {
    const marker = await readJsonOrNull(join(this.iterDir(t), iterationMarkerName)) as IterationMarker | null;
    if (marker === null || marker.iteration !== t || marker.fingerprint !== fingerprint) return null;
    return marker;
  }

  /**
   * How many iterations 1, 2, … are complete in a row (the resume point is that number + 1).
   *
   * @example
   * ```ts
   * import type { RunConfig } from "./config.ts";
 * declare const store: IterateStore;
 * declare const config: RunConfig;
 * declare const fp: string; // configFingerprint(config)
 * const start = (await store.completedIterations(config.iterations, fp)) + 1;
   * ```
   */
  async completedIterations(iterations: number, fingerprint: string): Promise<number> {
    let t = 0;
    while (t < iterations && (await this.readMarker(t + 1, fingerprint)) !== null) t++;
    return t;
  }

  /** Mark iteration t complete (written last), then remove its work folder. */
  async markComplete(t: number, fingerprint: string, files: readonly string[]): Promise<void> {
    const marker: IterationMarker = { iteration: t, fingerprint, completedAt: new Date().toISOString(), files: [...files] };
    await writeFileAtomic(join(this.iterDir(t), iterationMarkerName), JSON.stringify(marker, null, 2) + "\n");
    await this.removeWork(t);
  }

  /** Remove the work folder of iteration t (if any). */
  async removeWork(t: number): Promise<void> {
    await rm(this.workDir(t), { recursive: true, force: true });
  }

  /** Write JSON atomically (folders made as needed). */
  async writeJson(path: string, value: unknown): Promise<void> {
    await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
  }

  /** Write compact JSON atomically (for large machine-read files). */
  async writeCompactJson(path: string, value: unknown): Promise<void> {
    await writeFileAtomic(path, JSON.stringify(value));
  }

  /** Parsed JSON of a file, or null when it is missing or unreadable. */
  readJson(path: string): Promise<unknown> {
    return readJsonOrNull(path);
  }

  /** Write JSON lines atomically. */
  async writeJsonl(path: string, rows: readonly unknown[]): Promise<void> {
    await writeJsonlAtomic(path, rows);
  }

  /** The values of a JSON-lines file (throws naming file:line for a bad line). */
  async readJsonl(path: string): Promise<unknown[]> {
    return (await readJsonl(path)).map((r) => r.value);
  }
}
