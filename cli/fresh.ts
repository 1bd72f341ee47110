/**
 * What `alpha-spin spin --fresh` may remove, decided before anything is removed.
 *
 * `--fresh` starts a run folder over. It must only ever delete what a run of this tool wrote, so
 * the folder is walked first and every entry is matched against the layout the run writes (see
 * selfplay/store.ts): a run folder holds a valid `run.json` manifest plus its known files and
 * `iter-<t>/` folders, and the spin output folder holds `report.html` plus either one run or one
 * run folder per variant. A single entry that does not belong — a `notes.txt`, a `src/`, a
 * `run.json` that is not an alpha-spin manifest, a lock held by a live process — refuses the whole
 * removal, so nothing is lost to a mistyped `--out`.
 *
 * @example
 * ```ts
 * const plan = await planFreshRemoval("runs/default");
 * if (plan.refusal === null) await removePlanned(plan);
 * ```
 *
 * @module
 */
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { lockFileName, lockHolder } from "../selfplay/run-lock.ts";

/** The entries to remove, or why none may be removed. */
export interface FreshPlan {
  readonly dir: string;
  /** Paths to remove (whole entries), empty when the folder is missing or empty. */
  readonly remove: readonly string[];
  /** Why the folder may not be cleared, naming the first entry that does not belong; null when it may. */
  readonly refusal: string | null;
}

/** Files a run folder's root holds (besides `iter-<t>/` folders). */
const runRootFiles = new Set(["run.json", "config.json", "metrics.jsonl", "train.jsonl", lockFileName]);
/** Entries an `iter-<t>/` folder holds. */
const iterationEntries = new Set([
  "config.json", "window.json", "generations.jsonl", "reference", "adapter", "model", "ema",
  "metrics.jsonl", "pairs.dpo.jsonl", "pairs.spin.jsonl", "work", "COMPLETE.json",
]);
const iterationDir = /^iter-\d+$/;
const evalFile = /^(iter-\d+|base)\.json$/;
/** A temporary file of an atomic write (data/jsonl.ts) left by a kill. */
const atomicTemp = /^\..+\.tmp-[0-9a-z]+-[0-9a-z]+$/;

const listOrNull = async (path: string): Promise<string[] | null> => {
  try {
    return (await stat(path)).isDirectory() ? await readdir(path) : null;
  } catch {
    return null;
  }
};

const isRunManifest = async (path: string): Promise<boolean> => {
  try {
    const manifest = JSON.parse(await readFile(path, "utf8")) as { format?: unknown };
    return manifest.format === "alpha-spin-run";
  } catch {
    return false;
  }
};

/** The first entry of `dir` (a folder) whose names are not all accepted by `ok`, or null. */
const strayIn = async (dir: string, ok: (name: string) => boolean): Promise<string | null> => {
  const entries = await listOrNull(dir);
  if (entries === null) return dir;
  const stray = entries.find((e) => !ok(e) && !atomicTemp.test(e));
  return stray === undefined ? null : join(dir, stray);
};

/** Why run folder `dir` may not be removed whole, or null when every entry is the tool's. */
const runFolderRefusal = async (dir: string, allowReport: boolean): Promise<string | null> => {
  if (!(await isRunManifest(join(dir, "run.json")))) return `${join(dir, "run.json")} is not an alpha-spin run manifest`;
  const holder = await lockHolder(dir);
  if (holder !== null) return `${dir} is in use by ${holder}`;
  for (const entry of (await listOrNull(dir)) ?? []) {
    const path = join(dir, entry);
    if (runRootFiles.has(entry) || atomicTemp.test(entry) || (allowReport && entry === "report.html")) continue;
    const stray = iterationDir.test(entry)
      ? await strayIn(path, (e) => iterationEntries.has(e))
      : entry === "eval"
      ? await strayIn(path, (e) => evalFile.test(e))
      : path;
    if (stray !== null) return `${stray} was not written by alpha-spin`;
  }
  return null;
};

/**
 * Decide what `--fresh` removes from spin output folder `dir`: everything in it when every entry
 * is the tool's (one run, or `report.html` and variant run folders), else nothing, with the reason.
 *
 * @example
 * ```ts
 * const plan = await planFreshRemoval("/tmp/no-such-folder");
 * plan.remove.length; // 0
 * ```
 */
export const planFreshRemoval = async (dir: string): Promise<FreshPlan> => {
  const entries = await listOrNull(dir);
  if (entries === null || entries.length === 0) {
    const exists = await stat(dir).then(() => true, () => false);
    if (exists && entries === null) return { dir, remove: [], refusal: `${dir} is a file, not a run folder` };
    return { dir, remove: [], refusal: null };
  }
  const refuse = (why: string): FreshPlan => ({ dir, remove: [], refusal: `--fresh: not deleting anything in ${dir}: ${why}` });
  if (entries.includes("run.json")) {
    const why = await runFolderRefusal(dir, true);
    return why === null ? { dir, remove: entries.map((e) => join(dir, e)), refusal: null } : refuse(why);
  }
  for (const entry of entries) {
    if (entry === "report.html" || atomicTemp.test(entry)) continue;
    const path = join(dir, entry);
    const inner = await listOrNull(path);
    if (inner === null || !inner.includes("run.json")) return refuse(`${path} was not written by alpha-spin`);
    const why = await runFolderRefusal(path, false);
    if (why !== null) return refuse(why);
  }
  return { dir, remove: entries.map((e) => join(dir, e)), refusal: null };
};

/**
 * Remove what a plan without a refusal names (the folder itself is kept).
 *
 * @example
 * ```ts
 * await removePlanned(await planFreshRemoval("/tmp/no-such-folder"));
 * ```
 */
export const removePlanned = async (plan: FreshPlan): Promise<void> => {
  if (plan.refusal !== null) throw new Error(plan.refusal);
  for (const path of plan.remove) await rm(path, { recursive: true, force: true });
};
