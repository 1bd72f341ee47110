/**
 * `listwise: true` in the run config: train one list per prompt, the data answer and every loser
 * the window assigned to it (K > 1 with h ≥ 2 and `equalShare.pairsPerMember: "all"`), with the list
 * form of the loss (Plackett–Luce, losses/plackett-luce.ts), instead of one pair per loser. The pairs
 * of a prompt are folded into one training item (train/list-step.ts scores it as a list), so an
 * epoch has one item per prompt.
 *
 * @example
 * ```ts
 * import type { TrainingPair } from "../train/step.ts";
 * declare const pairs: TrainingPair[]; // one per (example, loser)
 * declare const exampleOf: number[]; // each pair's example index
 * const lists = listsByPrompt(pairs, exampleOf); // one per example, the other losers in moreRejected
 * ```
 *
 * @module
 */
import { bool, type CheckIssue, withDefault } from "../core/config.ts";
import type { TrainingPair } from "../train/step.ts";

/** The codec of `listwise`, spread into the run config's keys. */
export const listwiseConfigFields = { listwise: withDefault(bool, false) };

/**
 * The cross-field rules of `listwise`: the SPIN method and a loss with a list form.
 *
 * @example
 * ```ts
 * listwiseIssues({ listwise: true, method: "spin", loss: { name: "sigmoid" } }); // [{ path: ["listwise"], … }]
 * ```
 */
export const listwiseIssues = (c: { readonly listwise: boolean; readonly method: string; readonly loss: { readonly name: string } }): CheckIssue[] => {
  if (!c.listwise) return [];
  const issues: CheckIssue[] = [];
  if (c.method !== "spin") issues.push({ path: ["listwise"], message: 'needs method "spin" (SPPO pairs its samples by win rate)' });
  if (c.loss.name !== "plackett_luce") {
    issues.push({ path: ["listwise"], message: `needs a loss with a list form ("plackett_luce"), got loss.name "${c.loss.name}"` });
  }
  return issues;
};

/**
 * Fold the pairs of each prompt into one item: the first pair's winner and loser, the other pairs'
 * losers (with their lp_ref) in `moreRejected` (empty for a prompt with one loser), in the order
 * the prompts first appear.
 *
 * @example
 * ```ts
 * const pair = (rejected: number) => ({ promptIds: [1], chosenIds: [2], rejectedIds: [rejected], lpRefChosen: -1, lpRefRejected: -rejected });
 * listsByPrompt([pair(3), pair(4), pair(5)], [0, 1, 0]).map((p) => p.moreRejected); // [[{ ids: [5], lpRef: -5 }], []]
 * ```
 */
export const listsByPrompt = (pairs: readonly TrainingPair[], exampleOf: readonly number[]): TrainingPair[] => {
  const lists = new Map<number, { first: TrainingPair; more: { ids: readonly number[]; lpRef: number }[] }>();
  pairs.forEach((p, i) => {
    const list = lists.get(exampleOf[i]);
    if (list === undefined) lists.set(exampleOf[i], { first: p, more: [] });
    else list.more.push({ ids: p.rejectedIds, lpRef: p.lpRefRejected });
  });
  return [...lists.values()].map(({ first, more }) => ({ ...first, moreRejected: more }));
};
