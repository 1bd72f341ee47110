/**
 * Phase 1 of an iteration, the opponents: the window W_t of the last h iterates (or the EMA
 * policy, or all of them with h = "all") with their mixture weights, and which member plays
 * against each example. Recorded in `iter-<t>/window.json`, which a resumed iteration reads back.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * const opponents = await opponentsPhase(context, start);
 * opponents.window.members; // [{ index: 1, id: "iter-1" }, { index: 2, id: "iter-2" }]
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { forkRng } from "../../core/rng.ts";
import { assignOpponents, type HistoryLength, type Iterate, opponentWindow } from "../../samplers/history.ts";
import type { WindowMember } from "../events.ts";
import { emaId, iterateId } from "../iterates.ts";
import { jsonFile, resumable } from "./resumable.ts";
import type { IterationStart, Opponents, RunContext } from "./state.ts";

/** What `window.json` holds. */
interface WindowRecord {
  readonly iteration: number;
  readonly opponent: string;
  readonly h: HistoryLength;
  readonly assignment: string;
  readonly members: readonly WindowMember[];
  readonly pairs: readonly { readonly example: number; readonly iterate: string }[];
}

/** Pick the window and assign the examples (the record of a fresh iteration). */
const pickOpponents = (ctx: RunContext, t: number): WindowRecord => {
  const { config, examples } = ctx.iterates.ready;
  const window = config.opponent === "ema"
    ? opponentWindow([{ index: t - 1, id: emaId(t - 1) }], 1)
    : opponentWindow(Array.from({ length: t }, (_, i): Iterate => ({ index: i, id: iterateId(i) })), config.h);
  const { pairs } = assignOpponents(forkRng(ctx.root, `assign-${t}`), examples.length, window, config.assignment, config.equalShare);
  const members: WindowMember[] = window.members.map((m, i) => ({
    index: m.index,
    id: m.id,
    weight: window.weights[i],
    pairs: pairs.filter((p) => p.iterate.id === m.id).length,
  }));
  return {
    iteration: t,
    opponent: config.opponent,
    h: window.windowSize,
    assignment: config.assignment,
    members,
    pairs: pairs.map((p) => ({ example: p.exampleIndex, iterate: p.iterate.id })),
  };
};

/** The typed opponents of a record (fresh or read back: the same either way). */
const opponentsOf = (record: WindowRecord): Opponents => {
  const byId = new Map(record.members.map((m) => [m.id, { index: m.index, id: m.id }]));
  return {
    window: { members: [...byId.values()], weights: record.members.map((m) => m.weight), windowSize: record.h },
    members: record.members,
    assigned: record.pairs.map((p) => ({ exampleIndex: p.example, exampleId: String(p.example), iterate: byId.get(p.iterate)! })),
  };
};

/**
 * The opponents of iteration t (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * const { window, assigned } = await opponentsPhase(context, start);
 * ```
 */
export const opponentsPhase = async (ctx: RunContext, it: IterationStart): Promise<Opponents> => {
  const { value } = await resumable(ctx.store, join(it.dir, "window.json"), jsonFile<WindowRecord>(), () => Promise.resolve(pickOpponents(ctx, it.t)));
  const opponents = opponentsOf(value);
  const { config } = ctx.iterates.ready;
  await ctx.emit({
    type: "window",
    iteration: it.t,
    h: opponents.window.windowSize,
    opponent: config.opponent,
    assignment: config.assignment,
    members: [...opponents.members],
    pairs: opponents.assigned.length,
  });
  return opponents;
};
