/**
 * The opponent of self-play: which past iterates generate the losers, and how the SFT examples
 * are shared among them.
 *
 * Iterates are `{ index, id }` with index 0 = π_base (the SFT model) and index t = the model
 * trained at iteration t. When training π_t the past iterates are π_0 … π_{t−1}; the opponent is
 * the arithmetic mixture of the last h of them ({@link opponentWindow}):
 * - h = 1: vanilla SPIN (the previous iterate only);
 * - h = 2: the official SPIN code (the last two iterates' generations are concatenated);
 * - h = "all" (or Infinity): fictitious play, every past iterate including π_base.
 * The window has min(h, t) members, weighted 1/min(h, t) each unless custom weights are given.
 *
 * {@link assignOpponents} gives every SFT example its opponent(s): `per-example` draws one member
 * per example from the weights; `equal-share` has every member contribute the same number N of
 * pairs (see {@link EqualShareOptions}). {@link planGenerations} then says which (iterate,
 * example) generations must be produced and which can be reused from the store.
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../core/rng.ts";
 * const past = [0, 1, 2, 3].map((index) => ({ index, id: `iter-${index}` }));
 * const window = opponentWindow(past, 2);                 // iter-2, iter-3 with weights ½, ½
 * const { pairs } = assignOpponents(rngFromSeed(1), 100, window, "equal-share"); // 200 pairs
 * ```
 *
 * @module
 */
import { type Rng, sampleCategorical, shuffleArray } from "../core/rng.ts";

/** A trained model in the iterate store: index 0 is π_base, index t the model of iteration t. */
export interface Iterate {
  /** Iteration number, an integer >= 0 (0 = π_base). */
  readonly index: number;
  /** Its identifier in the iterate store. */
  readonly id: string;
}

/** History length: a positive integer, or "all" / Infinity for fictitious play. */
export type HistoryLength = number | "all";

/** The opponent: window members (oldest first) and their mixture weights (sum 1). */
export interface OpponentWindow {
  /** The last min(h, t) past iterates, in increasing index order. */
  readonly members: readonly Iterate[];
  /** Mixture weight of each member, aligned with `members`; non-negative, sum 1. */
  readonly weights: readonly number[];
  /** The history length the window was built with ("all" for fictitious play). */
  readonly windowSize: HistoryLength;
}

const checkIterates = (iterates: readonly Iterate[]): Iterate[] => {
  if (iterates.length === 0) {
    throw new RangeError("opponentWindow: need at least one past iterate (π_base has index 0)");
  }
  const seenIndex = new Set<number>(), seenId = new Set<string>();
  iterates.forEach((it, i) => {
    if (!Number.isInteger(it?.index) || it.index < 0) {
      throw new RangeError(`opponentWindow: iterate ${i} must have an integer index >= 0, got ${it?.index}`);
    }
    if (typeof it.id !== "string" || it.id === "") {
      throw new RangeError(`opponentWindow: iterate ${i} needs a non-empty id`);
    }
    if (seenIndex.has(it.index)) throw new RangeError(`opponentWindow: two iterates have index ${it.index}`);
    if (seenId.has(it.id)) throw new RangeError(`opponentWindow: two iterates have id "${it.id}"`);
    seenIndex.add(it.index);
    seenId.add(it.id);
  });
  return [...iterates].sort((a, b) => a.index - b.index);
};

/**
 * The opponent window over the past iterates (any order; indices distinct integers >= 0): the
 * last h by index, weighted uniformly (1/min(h, t)) or by `weights` (aligned with the members,
 * oldest first; finite, >= 0, summing to 1 within 1e-9). h must be an integer >= 1, "all" or
 * Infinity; anything else throws a RangeError saying so.
 *
 * @example
 * ```ts
 * const past = [{ index: 0, id: "base" }, { index: 1, id: "it1" }, { index: 2, id: "it2" }];
 * opponentWindow(past, 1).members;         // [it2]                  (vanilla SPIN)
 * opponentWindow(past, 2).weights;         // [0.5, 0.5]             (official SPIN code)
 * opponentWindow(past, "all").members;     // [base, it1, it2]       (fictitious play)
 * opponentWindow(past, 2, [0.25, 0.75]);   // it1 a quarter, it2 three quarters
 * ```
 */
export const opponentWindow = (
  iterates: readonly Iterate[],
  h: HistoryLength,
  weights?: readonly number[],
): OpponentWindow => {
  const all = h === "all" || h === Infinity;
  if (!all && (typeof h !== "number" || !Number.isInteger(h) || h < 1)) {
    throw new RangeError(
      `opponentWindow: history length h must be an integer >= 1 (1 = SPIN, 2 = SPIN code) or "all"/Infinity (fictitious play), got ${
        String(h)
      }`,
    );
  }
  const sorted = checkIterates(iterates);
  const members = all ? sorted : sorted.slice(Math.max(0, sorted.length - (h as number)));
  const size = members.length;
  let w: number[];
  if (weights === undefined) {
    w = new Array<number>(size).fill(1 / size);
  } else {
    if (weights.length !== size) {
      throw new RangeError(
        `opponentWindow: the window has ${size} members but ${weights.length} weights were given`,
      );
    }
    weights.forEach((x, i) => {
      if (typeof x !== "number" || !Number.isFinite(x) || x < 0) {
        throw new RangeError(`opponentWindow: weight ${i} must be a finite number >= 0, got ${x}`);
      }
    });
    const total = weights.reduce((a, b) => a + b, 0);
    if (Math.abs(total - 1) > 1e-9) {
      throw new RangeError(`opponentWindow: weights must sum to 1 (within 1e-9), they sum to ${total}`);
    }
    w = [...weights];
  }
  return { members, weights: w, windowSize: all ? "all" : h };
};

/** One training pair's opponent: which SFT example, and which iterate generates its loser. */
export interface OpponentPair {
  /** Position of the example in the SFT set. */
  readonly exampleIndex: number;
  /** The example's id (its position as a string when only a count was given). */
  readonly exampleId: string;
  /** The iterate that generates (or generated) the loser. */
  readonly iterate: Iterate;
}

/** How examples are shared among window members. */
export type AssignmentMode = "per-example" | "equal-share";

/**
 * Options of `equal-share`. With n examples and |W| members:
 * - `pairsPerMember: "all"` (default): every member gets every example once, |W|·n pairs. This is
 *   the SPIN code's concatenation of the last iterates' generation sets, and the reading of the
 *   α-SPIN experiments where every iterate of the window contributes N = n pairs.
 * - `pairsPerMember: N` (1 ≤ N ≤ n): every member gets N distinct examples drawn at random,
 *   |W|·N pairs; with `disjoint: true` no example is given to two members (needs |W|·N ≤ n), so
 *   N = ⌊n/|W|⌋ splits the set equally (the ≤ |W| − 1 left-over examples get no pair).
 * - `pairsPerMember: "split"`: that equal disjoint split whatever the window's size, N = ⌊n/|W|⌋
 *   per member and no example given twice, so every iteration trains on about n pairs (exactly n
 *   when |W| divides n) however many iterates its window holds: h = 2 and h = all then train on as
 *   many pairs, and generate as many losers, as h = 1.
 */
export interface EqualShareOptions {
  /** Pairs each member contributes: "all" (default, N = n), "split" (N = ⌊n/|W|⌋, disjoint) or an integer N in [0, n]. */
  readonly pairsPerMember?: number | "all" | "split";
  /** With a number N: never give one example to two members (needs |W|·N <= n). Default false. */
  readonly disjoint?: boolean;
}

/** The pairs of an assignment, and the advanced rng. */
export interface OpponentAssignment {
  /** Pairs; per-example: in example order; equal-share: grouped by member (oldest first), examples ascending. */
  readonly pairs: readonly OpponentPair[];
  /** The advanced rng. */
  readonly rng: Rng;
}

const exampleIdsOf = (examples: number | readonly string[]): string[] => {
  if (typeof examples === "number") {
    if (!Number.isInteger(examples) || examples < 0) {
      throw new RangeError(`assignOpponents: the example count must be an integer >= 0, got ${examples}`);
    }
    return Array.from({ length: examples }, (_, i) => String(i));
  }
  const seen = new Set<string>();
  examples.forEach((id, i) => {
    if (typeof id !== "string") throw new RangeError(`assignOpponents: example ${i} id must be a string`);
    if (seen.has(id)) throw new RangeError(`assignOpponents: example id "${id}" appears twice`);
    seen.add(id);
  });
  return [...examples];
};

/**
 * Give every SFT example its opponent(s), deterministically for a given rng. `examples` is a count
 * n (ids "0" … "n−1") or a list of distinct ids.
 * - `per-example`: each example draws one member with probability equal to its weight (one
 *   uniform per example, in example order); n pairs.
 * - `equal-share`: every member contributes the same number of pairs (see
 *   {@link EqualShareOptions}); needs uniform window weights (throws otherwise).
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../core/rng.ts";
 * const w = opponentWindow([{ index: 0, id: "base" }, { index: 1, id: "it1" }], "all");
 * assignOpponents(rngFromSeed(3), ["a", "b", "c"], w, "per-example").pairs.length;  // 3
 * assignOpponents(rngFromSeed(3), ["a", "b", "c"], w, "equal-share").pairs.length;  // 6
 * assignOpponents(rngFromSeed(3), 10, w, "equal-share", { pairsPerMember: 5, disjoint: true }); // 5 + 5, no overlap
 * ```
 */
export const assignOpponents = (
  rng: Rng,
  examples: number | readonly string[],
  window: OpponentWindow,
  mode: AssignmentMode,
  options: EqualShareOptions = {},
): OpponentAssignment => {
  const ids = exampleIdsOf(examples);
  const { members, weights } = window;
  if (members.length === 0 || members.length !== weights.length) {
    throw new RangeError(
      "assignOpponents: the window must have members with one weight each (use opponentWindow)",
    );
  }
  if (mode === "per-example") {
    const pairs: OpponentPair[] = [];
    let r = rng;
    for (let i = 0; i < ids.length; i++) {
      const [m, next] = sampleCategorical(r, weights);
      pairs.push({ exampleIndex: i, exampleId: ids[i], iterate: members[m] });
      r = next;
    }
    return { pairs, rng: r };
  }
  if (mode !== "equal-share") {
    throw new RangeError(`assignOpponents: mode must be "per-example" or "equal-share", got ${String(mode)}`);
  }
  const uniform = 1 / members.length;
  if (weights.some((w) => Math.abs(w - uniform) > 1e-9)) {
    throw new RangeError(
      `assignOpponents: equal-share gives every member the same number of pairs, so it needs uniform weights; got [${
        weights.join(", ")
      }] (use per-example for weighted draws)`,
    );
  }
  return equalShare(rng, ids, members, options);
};

const equalShare = (
  rng: Rng,
  ids: string[],
  members: readonly Iterate[],
  options: EqualShareOptions,
): OpponentAssignment => {
  const n = ids.length;
  const { pairsPerMember = "all" } = options;
  const disjoint = pairsPerMember === "split" || (options.disjoint ?? false);
  const pairOf = (m: number) => (i: number): OpponentPair => ({
    exampleIndex: i,
    exampleId: ids[i],
    iterate: members[m],
  });
  if (pairsPerMember === "all") {
    if (disjoint && members.length > 1 && n > 0) {
      throw new RangeError(
        `assignOpponents: disjoint needs a number pairsPerMember (e.g. ⌊n/|W|⌋ = ${
          Math.floor(n / members.length)
        })`,
      );
    }
    const all = Array.from({ length: n }, (_, i) => i);
    return { pairs: members.flatMap((_, m) => all.map(pairOf(m))), rng };
  }
  const N = pairsPerMember === "split" ? Math.floor(n / members.length) : pairsPerMember;
  if (!Number.isInteger(N) || N < 0 || N > n) {
    throw new RangeError(
      `assignOpponents: pairsPerMember must be "all" or an integer in [0, ${n}] (the example count), got ${N}`,
    );
  }
  if (disjoint && N * members.length > n) {
    throw new RangeError(
      `assignOpponents: disjoint shares need |W|·N <= n, but ${members.length}·${N} > ${n} (at most N = ${
        Math.floor(n / members.length)
      })`,
    );
  }
  const indices = Array.from({ length: n }, (_, i) => i);
  const pairs: OpponentPair[] = [];
  let r = rng;
  if (disjoint) {
    const [order, next] = shuffleArray(r, indices);
    r = next;
    members.forEach((_, m) =>
      pairs.push(...order.slice(m * N, (m + 1) * N).sort((a, b) => a - b).map(pairOf(m)))
    );
  } else {
    members.forEach((_, m) => {
      const [order, next] = shuffleArray(r, indices);
      r = next;
      pairs.push(...order.slice(0, N).sort((a, b) => a - b).map(pairOf(m)));
    });
  }
  return { pairs, rng: r };
};

/** Stored generations: for each iterate id, the ids of the examples it already has a loser for. */
export type StoredGenerations =
  | ReadonlyMap<string, ReadonlySet<string> | readonly string[]>
  | Readonly<Record<string, readonly string[]>>;

/** What to generate, per iterate, and what to take from the store. */
export interface GenerationPlan {
  /** Iterates that must generate, each with the example ids it must generate for (in pair order). */
  readonly generate: readonly { readonly iterate: Iterate; readonly exampleIds: readonly string[] }[];
  /** Pairs whose loser is read from the stored generations of their iterate. */
  readonly reuse: readonly OpponentPair[];
  /** Number of distinct (iterate, example) generations to produce. */
  readonly generateCount: number;
}

/**
 * Plan loser generation for an assignment: with `reuse: true`, a pair whose iterate already
 * stored a generation for its example is read from the store; every other distinct (iterate,
 * example) is generated once, grouped by iterate (oldest first) so each model is loaded once. With
 * `reuse: false` everything is regenerated.
 *
 * @example
 * ```ts
 * const it1 = { index: 1, id: "it1" }, it2 = { index: 2, id: "it2" };
 * const pairs = [
 *   { exampleIndex: 0, exampleId: "0", iterate: it1 },
 *   { exampleIndex: 1, exampleId: "1", iterate: it2 },
 * ];
 * const plan = planGenerations(pairs, new Map([["it1", new Set(["0", "1"])]]), { reuse: true });
 * plan.reuse;    // [the pair (it1, "0")]: it1 stored a generation for example "0"
 * plan.generate; // [{ iterate: it2, exampleIds: ["1"] }]
 * ```
 */
export const planGenerations = (
  pairs: readonly OpponentPair[],
  stored: StoredGenerations,
  options: { readonly reuse: boolean },
): GenerationPlan => {
  const storedFor = (iterateId: string): ReadonlySet<string> | undefined => {
    const entry = stored instanceof Map
      ? stored.get(iterateId)
      : (stored as Readonly<Record<string, readonly string[]>>)[iterateId];
    if (entry === undefined) return undefined;
    return entry instanceof Set ? entry : new Set(entry as readonly string[]);
  };
  const cache = new Map<string, ReadonlySet<string> | undefined>();
  const groups = new Map<string, { iterate: Iterate; exampleIds: string[]; seen: Set<string> }>();
  const reuse: OpponentPair[] = [];
  let generateCount = 0;
  for (const pair of pairs) {
    const key = pair.iterate.id;
    if (!cache.has(key)) cache.set(key, options.reuse ? storedFor(key) : undefined);
    if (cache.get(key)?.has(pair.exampleId)) {
      reuse.push(pair);
      continue;
    }
    let group = groups.get(key);
    if (group === undefined) {
      group = { iterate: pair.iterate, exampleIds: [], seen: new Set() };
      groups.set(key, group);
    }
    if (!group.seen.has(pair.exampleId)) {
      group.seen.add(pair.exampleId);
      group.exampleIds.push(pair.exampleId);
      generateCount++;
    }
  }
  const generate = [...groups.values()]
    .sort((a, b) => a.iterate.index - b.iterate.index)
    .map(({ iterate, exampleIds }) => ({ iterate, exampleIds }));
  return { generate, reuse, generateCount };
};
