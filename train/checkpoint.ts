/**
 * Training checkpoints inside an unfinished iteration: after every epoch, the parameters, AdamW's
 * moments, the EMA (when kept) and the metrics so far. Tensors go to
 * `work/train/state-<epoch>.safetensors`, then `work/train/state.json` names it (written last, so
 * it never points to a half-written file), then older state files are removed.
 *
 * @example
 * ```ts
 * import type { AdamWState } from "./optim.ts";
 * import type { ParamSnapshot } from "./params.ts";
 * declare const weights: ParamSnapshot;
 * declare const optimizer: AdamWState;
 * declare const metrics: MetricsRow[];
 * const dir = "runs/demo/iter-1/work/train";
 * await writeTrainCheckpoint(dir, { epochsDone: 1, weights, optimizer, ema: null, metrics });
 * const back = await readTrainCheckpoint(dir); // null when there is none
 * ```
 *
 * @module
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../data/jsonl.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../models/safetensors-file.ts";
import type { TensorToWrite } from "../models/safetensors.ts";
import type { AdamWState } from "./optim.ts";
import type { ParamSnapshot } from "./params.ts";

/** One training step's logged values (TRL names plus `iteration`, `step`, `epoch`). */
export type MetricsRow = Readonly<Record<string, number>>;

/** What a checkpoint holds. */
export interface TrainCheckpoint {
  /** Completed epochs. */
  readonly epochsDone: number;
  readonly weights: ParamSnapshot;
  readonly optimizer: AdamWState;
  /** The EMA of the parameters, or null when not kept. */
  readonly ema: ParamSnapshot | null;
  /** Metrics of every step so far. */
  readonly metrics: readonly MetricsRow[];
}

interface CheckpointIndex {
  readonly epochsDone: number;
  readonly file: string;
  readonly names: readonly string[];
  readonly step: number;
  readonly hasEma: boolean;
  readonly metrics: readonly MetricsRow[];
}

/**
 * Write a checkpoint into `dir` (created as needed); see the module doc for the order of writes.
 *
 * @example
 * ```ts
 * import type { IterateStore } from "../selfplay/store.ts";
 * declare const store: IterateStore;
 * declare const t: number;
 * declare const checkpoint: TrainCheckpoint;
 * await writeTrainCheckpoint(store.workDir(t) + "/train", checkpoint);
 * ```
 */
export const writeTrainCheckpoint = async (dir: string, c: TrainCheckpoint): Promise<void> => {
  await mkdir(dir, { recursive: true });
  const file = `state-${c.epochsDone}.safetensors`;
  const tensors = new Map<string, TensorToWrite>();
  c.weights.names.forEach((name, i) => {
    const shape = [...c.weights.shapes[i]];
    tensors.set(`param/${name}`, { shape, data: c.weights.values[i] });
    tensors.set(`adam_m/${name}`, { shape, data: c.optimizer.m[i] });
    tensors.set(`adam_v/${name}`, { shape, data: c.optimizer.v[i] });
    if (c.ema !== null) tensors.set(`ema/${name}`, { shape, data: c.ema.values[i] });
  });
  await writeSafetensorsFile(join(dir, file), tensors);
  const index: CheckpointIndex = {
    epochsDone: c.epochsDone,
    file,
    names: c.weights.names,
    step: c.optimizer.step,
    hasEma: c.ema !== null,
    metrics: c.metrics,
  };
  await writeFileAtomic(join(dir, "state.json"), JSON.stringify(index));
  for (const entry of await readdir(dir)) {
    if (entry.startsWith("state-") && entry !== file) await rm(join(dir, entry), { force: true });
  }
};

/**
 * The checkpoint in `dir`, or null when there is none (or it cannot be read).
 *
 * @example
 * ```ts
 * import { join } from "node:path";
 * import type { IterateStore } from "../selfplay/store.ts";
 * declare const store: IterateStore;
 * declare const t: number;
 * const c = await readTrainCheckpoint(join(store.workDir(t), "train"));
 * if (c !== null) console.log(`resuming after epoch ${c.epochsDone}`);
 * ```
 */
export const readTrainCheckpoint = async (dir: string): Promise<TrainCheckpoint | null> => {
  let index: CheckpointIndex;
  try {
    index = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as CheckpointIndex;
  } catch {
    return null;
  }
  const file = await readSafetensorsFile(join(dir, index.file));
  const get = (key: string): { shape: number[]; data: Float32Array } => {
    const entry = file.get(key);
    if (entry === undefined) throw new Error(`${join(dir, index.file)} has no tensor ${key}`);
    return { shape: [...entry.shape], data: new Float32Array(entry.data) };
  };
  const snapshot = (prefix: string): ParamSnapshot => {
    const parts = index.names.map((n) => get(`${prefix}/${n}`));
    return { names: index.names, shapes: parts.map((p) => p.shape), values: parts.map((p) => p.data) };
  };
  return {
    epochsDone: index.epochsDone,
    weights: snapshot("param"),
    optimizer: { step: index.step, m: snapshot("adam_m").values, v: snapshot("adam_v").values },
    ema: index.hasEma ? snapshot("ema") : null,
    metrics: index.metrics,
  };
};
