/**
 * What a self-play run reports while it works: one event type per moment (run start, iteration
 * start, the opponent window, phase start / progress / end, a training step's metrics, iteration
 * complete, warnings). The CLI turns them into progress bars and log lines; a program can watch
 * them through `onEvent`. A handler that throws stops the run at that point (earlier iterates stay
 * complete, and the run can be resumed).
 *
 * @example
 * ```ts
 * import { runSelfPlay } from "./loop.ts";
 * declare const config: unknown; // the run config
 * await runSelfPlay({ config, onEvent: (e: SelfPlayEvent) => { if (e.type === "metrics") console.log(e.row.loss); } });
 * ```
 *
 * @module
 */
import type { MetricsRow } from "../train/checkpoint.ts";
import type { IterationSettings } from "./config.ts";

/**
 * The phases of an iteration that report progress ("sampler": the GFlowNet sampler's fit, before
 * "generate"; "preferences": the SPPO loop's oracle queries; "reward-model": training its
 * Bradley–Terry reward model, at iteration 1).
 */
export type Phase = "sampler" | "generate" | "preferences" | "reward-model" | "reference" | "train";

/** One member of the opponent window as recorded. */
export interface WindowMember {
  readonly index: number;
  readonly id: string;
  readonly weight: number;
  /** Pairs whose loser this member generates. */
  readonly pairs: number;
}

/** Everything a run reports; see the module doc. */
export type SelfPlayEvent =
  | {
    readonly type: "run-start";
    readonly runDir: string;
    readonly iterations: number;
    /** The first iteration this call runs (> 1 when resuming). */
    readonly startAt: number;
    readonly resumed: boolean;
    readonly examples: number;
    readonly backend: string;
  }
  | { readonly type: "warning"; readonly message: string }
  /** Something worth a line that is not a problem (e.g. where a resumed iteration continues). */
  | { readonly type: "info"; readonly message: string }
  | { readonly type: "iteration-start"; readonly iteration: number; readonly params: IterationSettings }
  | {
    readonly type: "window";
    readonly iteration: number;
    readonly h: number | "all";
    readonly opponent: "window" | "ema";
    readonly assignment: "equal-share" | "per-example";
    readonly members: readonly WindowMember[];
    readonly pairs: number;
  }
  | { readonly type: "phase-start"; readonly iteration: number; readonly phase: Phase; readonly total: number; readonly note?: string }
  | {
    readonly type: "progress";
    readonly iteration: number;
    readonly phase: Phase;
    readonly done: number;
    readonly total: number;
    readonly payload?: Readonly<Record<string, number>>;
  }
  | { readonly type: "phase-end"; readonly iteration: number; readonly phase: Phase; readonly note?: string }
  | { readonly type: "metrics"; readonly iteration: number; readonly row: MetricsRow }
  | { readonly type: "iteration-complete"; readonly iteration: number; readonly dir: string; readonly summary: Readonly<Record<string, number>> }
  | { readonly type: "run-complete"; readonly runDir: string; readonly iterations: number };

/** A handler of events (may be async; a throw stops the run). */
export type SelfPlayEventHandler = (event: SelfPlayEvent) => void | Promise<void>;
