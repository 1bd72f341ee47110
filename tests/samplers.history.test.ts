/**
 * samplers/history.ts: the opponent window (h = 1 last iterate only, h = ∞ includes π_base,
 * weights 1/min(h, t)), the assignment of opponents (equal-share gives every member exactly N
 * pairs; per-example frequencies match the weights by a χ² bound with fixed seeds), and the
 * generation planner that reuses stored generations.
 */
import * as fc from "fast-check";
import { rngFromSeed } from "../core/rng.ts";
import {
  assignOpponents,
  type Iterate,
  type OpponentPair,
  opponentWindow,
  planGenerations,
} from "../samplers/history.ts";
import { assert, test } from "./harness.ts";
import { CHI2_CRITICAL_001, chiSquare } from "./samplers.support.ts";

/** π_0 (base) … π_{t−1}: the past iterates when training iteration t. */
const pastIterates = (t: number): Iterate[] =>
  Array.from({ length: t }, (_, i) => ({ index: i, id: i === 0 ? "base" : `iter-${i}` }));
const hArb = fc.oneof(fc.integer({ min: 1, max: 15 }), fc.constant<"all">("all"), fc.constant(Infinity));

test("opponentWindow: h = 1 is the last iterate, h = 2 the last two, all/∞ every iterate with π_base", () => {
  const past = pastIterates(4);
  const ids = (h: number | "all") => opponentWindow(past, h).members.map((m) => m.id);
  assert.deepEqual(ids(1), ["iter-3"]);
  assert.deepEqual(ids(2), ["iter-2", "iter-3"]);
  assert.deepEqual(ids("all"), ["base", "iter-1", "iter-2", "iter-3"]);
  assert.deepEqual(ids(Infinity), ["base", "iter-1", "iter-2", "iter-3"]);
  assert.deepEqual(ids(10), ["base", "iter-1", "iter-2", "iter-3"]);
  assert.deepEqual(opponentWindow(past, 2).weights, [0.5, 0.5]);
  assert.equal(opponentWindow(past, Infinity).windowSize, "all");
  // Iterates may come in any order; at t = 1 every h gives π_base alone.
  assert.deepEqual(opponentWindow([...past].reverse(), 1).members, [past[3]]);
  assert.deepEqual(opponentWindow(pastIterates(1), 2).members, [{ index: 0, id: "base" }]);
});

test("opponentWindow: min(h, t) most recent members, each weighted 1/min(h, t) (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), hArb, (t, h) => {
      const w = opponentWindow(pastIterates(t), h);
      const size = Math.min(h === "all" ? Infinity : h, t);
      assert.equal(w.members.length, size);
      assert.deepEqual(w.members.map((m) => m.index), Array.from({ length: size }, (_, i) => t - size + i));
      for (const x of w.weights) assert.ok(Math.abs(x - 1 / size) < 1e-15, `weight ${x} != 1/${size}`);
      assert.equal(w.members.some((m) => m.index === 0), size === t, "π_base is in the window iff h >= t");
      assert.equal(
        w.members[w.members.length - 1].index,
        t - 1,
        "the previous iterate is always in the window",
      );
    }),
    { numRuns: 150, seed: 41 },
  );
});

test("opponentWindow: custom weights and clear errors", () => {
  const past = pastIterates(3);
  assert.deepEqual(opponentWindow(past, 2, [0.25, 0.75]).weights, [0.25, 0.75]);
  for (const bad of [0, -1, 1.5, Number.NaN, -Infinity]) {
    assert.throws(() => opponentWindow(past, bad), /history length h must be an integer >= 1/);
  }
  assert.throws(() => opponentWindow(past, "last" as unknown as "all"), /history length/);
  assert.throws(() => opponentWindow([], 1), /at least one past iterate/);
  assert.throws(
    () => opponentWindow([{ index: 0, id: "a" }, { index: 0, id: "b" }], 1),
    /two iterates have index 0/,
  );
  assert.throws(
    () => opponentWindow([{ index: 0, id: "a" }, { index: 1, id: "a" }], 1),
    /two iterates have id "a"/,
  );
  assert.throws(() => opponentWindow([{ index: -1, id: "a" }], 1), /integer index >= 0/);
  assert.throws(() => opponentWindow(past, 2, [1]), /2 members but 1 weights/);
  assert.throws(() => opponentWindow(past, 2, [0.5, 0.6]), /sum to 1/);
  assert.throws(() => opponentWindow(past, 2, [1.5, -0.5]), /weight 1 must be a finite number >= 0/);
});

const countBy = (pairs: readonly OpponentPair[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const p of pairs) m.set(p.iterate.id, (m.get(p.iterate.id) ?? 0) + 1);
  return m;
};

test("equal-share: every window member contributes exactly N pairs (property over n, |W|, N)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 1e6 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      (t, n, seed, frac, disjoint) => {
        const window = opponentWindow(pastIterates(t), "all");
        // Default: every member gets every example once (the SPIN code's concatenation), |W|·n pairs.
        const full = assignOpponents(rngFromSeed(seed), n, window, "equal-share").pairs;
        assert.equal(full.length, t * n);
        for (const m of window.members) {
          const mine = full.filter((p) => p.iterate.id === m.id).map((p) => p.exampleIndex);
          assert.deepEqual(mine, Array.from({ length: n }, (_, i) => i));
        }
        // A number N: exactly N distinct examples per member; disjoint: no example shared.
        const maxN = disjoint ? Math.floor(n / t) : n;
        const N = Math.floor(frac * maxN);
        const { pairs } = assignOpponents(rngFromSeed(seed), n, window, "equal-share", {
          pairsPerMember: N,
          disjoint,
        });
        const counts = countBy(pairs);
        for (const m of window.members) assert.equal(counts.get(m.id) ?? 0, N, `member ${m.id}`);
        for (const m of window.members) {
          const mine = pairs.filter((p) => p.iterate.id === m.id).map((p) => p.exampleIndex);
          assert.equal(new Set(mine).size, N, "a member got the same example twice");
          assert.ok(mine.every((i) => i >= 0 && i < n));
        }
        if (disjoint) {
          assert.equal(new Set(pairs.map((p) => p.exampleIndex)).size, t * N, "disjoint shares overlap");
        }
      },
    ),
    { numRuns: 120, seed: 42 },
  );
});

test("equal-share: ids are carried, errors for non-uniform weights and impossible N", () => {
  const window = opponentWindow(pastIterates(3), 2);
  const { pairs } = assignOpponents(rngFromSeed(1), ["a", "b", "c"], window, "equal-share");
  assert.deepEqual(pairs.map((p) => `${p.iterate.id}:${p.exampleId}:${p.exampleIndex}`), [
    "iter-1:a:0",
    "iter-1:b:1",
    "iter-1:c:2",
    "iter-2:a:0",
    "iter-2:b:1",
    "iter-2:c:2",
  ]);
  const skewed = opponentWindow(pastIterates(3), 2, [0.3, 0.7]);
  assert.throws(() => assignOpponents(rngFromSeed(1), 4, skewed, "equal-share"), /needs uniform weights/);
  assert.throws(
    () => assignOpponents(rngFromSeed(1), 4, window, "equal-share", { pairsPerMember: 5 }),
    /integer in \[0, 4\]/,
  );
  assert.throws(
    () => assignOpponents(rngFromSeed(1), 5, window, "equal-share", { pairsPerMember: 3, disjoint: true }),
    /\|W\|·N <= n.*at most N = 2/,
  );
  assert.throws(() => assignOpponents(rngFromSeed(1), ["a", "a"], window, "per-example"), /appears twice/);
  assert.throws(
    () => assignOpponents(rngFromSeed(1), 2, window, "round-robin" as "per-example"),
    /mode must be/,
  );
  assert.throws(() => assignOpponents(rngFromSeed(1), -1, window, "per-example"), /integer >= 0/);
});

test("per-example: draw frequencies match the window weights (χ², fixed seeds)", () => {
  const cases: { h: number | "all"; t: number; weights?: number[]; seed: number }[] = [
    { h: 3, t: 5, weights: [0.2, 0.3, 0.5], seed: 1 },
    { h: "all", t: 4, seed: 2 },
    { h: 2, t: 6, weights: [0.9, 0.1], seed: 3 },
  ];
  for (const { h, t, weights, seed } of cases) {
    const window = opponentWindow(pastIterates(t), h, weights);
    const n = 6000;
    const { pairs, rng } = assignOpponents(rngFromSeed(seed), n, window, "per-example");
    assert.equal(pairs.length, n);
    assert.deepEqual(pairs.map((p) => p.exampleIndex), Array.from({ length: n }, (_, i) => i));
    const counts = countBy(pairs);
    const observed = window.members.map((m) => counts.get(m.id) ?? 0);
    const stat = chiSquare(observed, window.weights);
    const df = window.members.length - 1;
    assert.ok(stat < CHI2_CRITICAL_001[df], `h = ${h}: χ² = ${stat} (df ${df}), counts ${observed}`);
    assert.notDeepEqual(rng, rngFromSeed(seed), "the rng must advance");
  }
  // A zero-weight member is never drawn.
  const window = opponentWindow(pastIterates(3), "all", [0.5, 0, 0.5]);
  const { pairs } = assignOpponents(rngFromSeed(4), 500, window, "per-example");
  assert.ok(!pairs.some((p) => p.iterate.id === "iter-1"));
});

test("assignments are deterministic given the rng and change with the seed", () => {
  const window = opponentWindow(pastIterates(5), "all");
  for (const mode of ["per-example", "equal-share"] as const) {
    const opts = { pairsPerMember: 10 };
    const a = assignOpponents(rngFromSeed(9), 50, window, mode, opts);
    const b = assignOpponents(rngFromSeed(9), 50, window, mode, opts);
    const c = assignOpponents(rngFromSeed(10), 50, window, mode, opts);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.pairs, c.pairs);
  }
});

test("planGenerations: reuses stored generations, generates the rest once, grouped by iterate", () => {
  const [base, it1, it2] = pastIterates(3);
  const pairs: OpponentPair[] = [
    { exampleIndex: 0, exampleId: "x", iterate: it2 },
    { exampleIndex: 1, exampleId: "y", iterate: it1 },
    { exampleIndex: 2, exampleId: "z", iterate: it1 },
    { exampleIndex: 0, exampleId: "x", iterate: base },
    { exampleIndex: 0, exampleId: "x", iterate: it2 }, // the same generation twice: produced once
  ];
  const stored = new Map([["iter-1", new Set(["y"])], ["base", new Set(["x", "z"])]]);
  const plan = planGenerations(pairs, stored, { reuse: true });
  assert.deepEqual(plan.reuse.map((p) => `${p.iterate.id}:${p.exampleId}`), ["iter-1:y", "base:x"]);
  assert.deepEqual(plan.generate.map((g) => [g.iterate.id, g.exampleIds]), [["iter-1", ["z"]], ["iter-2", [
    "x",
  ]]]);
  assert.equal(plan.generateCount, 2);
  // The record form of the store gives the same plan; reuse: false regenerates everything.
  assert.deepEqual(planGenerations(pairs, { "iter-1": ["y"], base: ["x", "z"] }, { reuse: true }), plan);
  const fresh = planGenerations(pairs, stored, { reuse: false });
  assert.equal(fresh.reuse.length, 0);
  assert.deepEqual(fresh.generate.map((g) => [g.iterate.id, g.exampleIds]), [["base", ["x"]], ["iter-1", [
    "y",
    "z",
  ]], ["iter-2", ["x"]]]);
  assert.equal(fresh.generateCount, 4);
});

test("planGenerations over fictitious play: only the newest iterate generates once older ones are stored", () => {
  // Iteration t = 4 with h = all and equal share: iterates 0..2 generated for every example in
  // earlier iterations; only π_3 is new.
  const window = opponentWindow(pastIterates(4), "all");
  const { pairs } = assignOpponents(rngFromSeed(2), 20, window, "equal-share");
  const everyExample = Array.from({ length: 20 }, (_, i) => String(i));
  const stored = new Map(["base", "iter-1", "iter-2"].map((id) => [id, everyExample] as const));
  const plan = planGenerations(pairs, stored, { reuse: true });
  assert.equal(plan.reuse.length, 60);
  assert.deepEqual(plan.generate.map((g) => [g.iterate.id, g.exampleIds.length]), [["iter-3", 20]]);
});
