/**
 * The typed state one iteration t of the loop hands from phase to phase (loop.ts runs them):
 *
 *   opponents → losers → references → train → commit
 *
 * Each phase reads what the phases before it produced and adds its own result; {@link RunContext}
 * is what every iteration of a run shares.
 *
 * @module
 */
import type { Rng } from "../../core/rng.ts";
import type { OpponentPair, OpponentWindow } from "../../samplers/history.ts";
import type { MetricsRow } from "../../train/checkpoint.ts";
import type { TrainIterationResult } from "../../train/train.ts";
import type { IterationSettings } from "../config.ts";
import type { SelfPlayEventHandler, WindowMember } from "../events.ts";
import type { PreparedExample } from "../examples.ts";
import type { GenerationRow } from "../generation.ts";
import type { RunIterates } from "../iterates.ts";
import type { PairReference } from "../reference.ts";
import type { IterateStore } from "../store.ts";

/** What every iteration of a run shares. */
export interface RunContext {
  readonly store: IterateStore;
  readonly iterates: RunIterates;
  /** rngFromSeed(config.seed): every stream is forked from it by (t, phase). */
  readonly root: Rng;
  readonly emit: SelfPlayEventHandler;
  readonly onMetrics?: (row: MetricsRow) => void | Promise<void>;
  readonly signal?: AbortSignal;
  /** Module URLs the pool's workers import first (custom losses). */
  readonly workerImports?: readonly string[];
  /** Metrics of the complete iterations before this one (the run-level log is rewritten with them). */
  readonly previousMetrics: MetricsRow[];
}

/** Iteration t before its first phase: its settings and folders. */
export interface IterationStart {
  readonly t: number;
  /** α, β, learning rate and epochs of iteration t. */
  readonly settings: IterationSettings;
  /** runs/<name>/iter-<t>: what the iteration keeps. */
  readonly dir: string;
  /** runs/<name>/iter-<t>/work: progress inside phases, removed when the iteration completes. */
  readonly work: string;
}

/** The opponents phase: the window W_t, its members' weights, and each example's opponent. */
export interface Opponents {
  readonly window: OpponentWindow;
  readonly members: readonly WindowMember[];
  readonly assigned: readonly OpponentPair[];
}

/** One training pair: the example (prompt and winner) and its loser. */
export interface LoserPair {
  readonly example: PreparedExample;
  /** The loser as generated (text, ids, who generated it). */
  readonly row: GenerationRow;
  /** The loser's token ids, cut to the length limits. */
  readonly rejectedIds: number[];
}

/** The losers phase: one pair per assigned (example, opponent). */
export interface Losers {
  readonly pairs: readonly LoserPair[];
}

/** The references phase: lp_ref of each pair (training and the exports read these numbers). */
export interface References {
  readonly lpRef: readonly PairReference[];
  /** The reference cache file under iter-<t>/reference/ (lp_prev and lp_base of every pair). */
  readonly cacheFile: string;
}

/** The train phase: π_t's parameters, its EMA (or null) and every step's metrics. */
export type Trained = TrainIterationResult;
