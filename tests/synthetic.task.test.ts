/**
 * data/synthetic.ts: the golden splits of a fixed seed (the same hash under Node and Deno), exact
 * answer distributions, answer extraction on every answer of every support, byte budgets, the
 * prompt split, and the sampling frequencies of p_data.
 */
import { sha256Hex, stableStringify } from "../core/hash.ts";
import {
  answerDistribution,
  capitalOf,
  distinctPrompts,
  enumerateSyntheticPrompts,
  extractAnswer,
  isSyntheticCorrect,
  makeSyntheticTask,
  syntheticContent,
  syntheticEosToken,
  syntheticFamilies,
  syntheticModelText,
  syntheticSeparator,
} from "../data/synthetic.ts";
import { assert, assertClose, test } from "./harness.ts";

const bytes = (s: string): number => new TextEncoder().encode(s).length;

test("golden: seed 2024 gives the same splits (hash and first examples) on every runtime", () => {
  const task = makeSyntheticTask({ seed: 2024, nTrain: 40, nHeldOut: 10, nTest: 10 });
  assert.deepEqual(task.train.slice(0, 4), [
    { id: "train-0", prompt: "rev eeb\n", completion: "ans: bee", family: "rev", answer: "bee" },
    { id: "train-1", prompt: "add 4 8\n", completion: "= 12", family: "add", answer: "12" },
    { id: "train-2", prompt: "add 0 1\n", completion: "= 1", family: "add", answer: "1" },
    { id: "train-3", prompt: "add 2 4\n", completion: "6", family: "add", answer: "6" },
  ]);
  const hash = sha256Hex(stableStringify({ train: task.train, heldOut: task.heldOut, test: task.test }));
  assert.equal(hash, "55dddc7a6daed085aaaf83b268d2667b1e59f566958c7ccc34e5d89ba4c03def");
  const disjoint = makeSyntheticTask({
    seed: 2024,
    nTrain: 40,
    nHeldOut: 10,
    nTest: 10,
    promptSplit: "disjoint",
  });
  const hashDisjoint = sha256Hex(
    stableStringify({
      train: disjoint.train,
      heldOut: disjoint.heldOut,
      test: disjoint.test,
      pools: disjoint.pools,
    }),
  );
  assert.equal(hashDisjoint, "e6bc330dc1ecaf7a3e50c6a8e89d26039a7b4ff3574beb138ae499654533e43e");
});

test("determinism: the same seed gives equal splits, another seed different ones, a longer split extends a shorter one", () => {
  const a = makeSyntheticTask({ seed: 5, nTrain: 50, nHeldOut: 5, nTest: 5 });
  const b = makeSyntheticTask({ seed: 5, nTrain: 50, nHeldOut: 5, nTest: 5 });
  assert.deepEqual(a, b);
  const c = makeSyntheticTask({ seed: 6, nTrain: 50, nHeldOut: 5, nTest: 5 });
  assert.notDeepEqual(a.train, c.train);
  const longer = makeSyntheticTask({ seed: 5, nTrain: 80, nHeldOut: 9, nTest: 7 });
  assert.deepEqual(longer.train.slice(0, 50), a.train);
  assert.deepEqual(longer.heldOut.slice(0, 5), a.heldOut);
  assert.deepEqual(longer.test.slice(0, 5), a.test);
  assert.notDeepEqual(a.train.slice(0, 5), a.heldOut, "splits come from different streams");
});

test("every prompt: 366 prompts, weights sum to 1, p_data sums to 1, every answer extracts to the content", () => {
  const prompts = enumerateSyntheticPrompts();
  assert.equal(prompts.length, 100 + 125 + 125 + 16);
  assertClose([prompts.reduce((s, p) => s + p.weight, 0)], [1], { atol: 1e-12 });
  assert.equal(new Set(prompts.map((p) => p.prompt)).size, prompts.length);
  for (const { prompt } of prompts) {
    assert.ok(prompt.endsWith(syntheticSeparator));
    const support = answerDistribution(prompt);
    assert.ok(support.length >= 2 && support.length <= 4, prompt);
    assertClose([support.reduce((s, a) => s + a.prob, 0)], [1], { atol: 1e-12, message: prompt });
    assert.equal(
      new Set(support.map((a) => a.completion)).size,
      support.length,
      `distinct answers for ${prompt}`,
    );
    const content = syntheticContent(prompt);
    for (const { completion, prob } of support) {
      assert.ok(prob > 0);
      assert.equal(extractAnswer(completion), content, `${prompt} → ${completion}`);
      assert.equal(extractAnswer(completion + syntheticEosToken + "garbage 99"), content);
      assert.ok(isSyntheticCorrect(prompt, completion));
      assert.ok(bytes(prompt + completion) <= 40, `${prompt}${completion} is too long for the tiny model`);
    }
  }
  assert.equal(
    Math.max(
      ...prompts.flatMap((p) => answerDistribution(p.prompt).map((a) => bytes(p.prompt + a.completion))),
    ),
    24,
  );
});

test("contents by hand: arithmetic, reversal, upper case, capitals; exact probabilities", () => {
  assert.deepEqual(answerDistribution("add 9 8\n"), [
    { completion: "17", prob: 0.5 },
    { completion: "= 17", prob: 0.3 },
    { completion: "it is 17", prob: 0.2 },
  ]);
  assert.deepEqual(answerDistribution("rev abd"), [{ completion: "dba", prob: 0.6 }, {
    completion: "ans: dba",
    prob: 0.4,
  }]);
  assert.deepEqual(answerDistribution("up cab\n").map((a) => a.completion), ["CAB", "-> CAB", "ans: CAB"]);
  assert.deepEqual(answerDistribution("up cab\n").map((a) => a.prob), [0.4, 0.35, 0.25]);
  assert.equal(syntheticContent("cap japan\n"), "tokyo");
  assert.equal(capitalOf["peru"], "lima");
  assert.deepEqual(syntheticFamilies.map((f) => f.name), ["add", "rev", "up", "cap"]);
});

test("unknown prompts are refused; extractAnswer on model-like text", () => {
  for (const bad of ["add 3 44\n", "mul 2 3\n", "rev abf\n", "cap atlantis\n", "", "add 3\n"]) {
    assert.throws(() => answerDistribution(bad), RangeError, bad);
  }
  assert.equal(extractAnswer(""), "");
  assert.equal(extractAnswer("   "), "");
  assert.equal(extractAnswer("  it is  paris  <|eos|>"), "paris");
  assert.equal(extractAnswer("= 12\nadd 1 1"), "12");
  assert.ok(!isSyntheticCorrect("add 3 4\n", "it is 8"));
  assert.ok(!isSyntheticCorrect("up abc\n", "abc"));
  assert.equal(syntheticModelText({ prompt: "add 3 4\n", completion: "= 7" }), "add 3 4\n= 7<|eos|>");
});

test("prompt split: disjoint pools for add/rev/up, shared capitals; examples come from their split's pool", () => {
  const task = makeSyntheticTask({ seed: 9, nTrain: 300, nHeldOut: 60, nTest: 60, promptSplit: "disjoint" });
  for (const family of ["add", "rev", "up"] as const) {
    const train = new Set(task.pools.train[family]);
    const held = new Set(task.pools.heldOut[family]);
    const testPool = task.pools.test[family];
    assert.ok(testPool.every((p) => !train.has(p) && !held.has(p)), family);
    assert.ok([...held].every((p) => !train.has(p)), family);
    const total = train.size + held.size + testPool.length;
    assert.equal(total, family === "add" ? 100 : 125);
    assert.equal(testPool.length, Math.round(0.1 * total));
  }
  assert.deepEqual(task.pools.test.cap, task.pools.train.cap);
  for (
    const [name, examples] of [["train", task.train], ["heldOut", task.heldOut], ["test", task.test]] as const
  ) {
    for (const e of examples) assert.ok(task.pools[name][e.family].includes(e.prompt), `${e.id} ${e.prompt}`);
  }
  const shared = makeSyntheticTask({ seed: 9, nTrain: 1, nHeldOut: 1, nTest: 1 });
  assert.equal(shared.pools.test.add.length, 100);
  assert.deepEqual(distinctPrompts([{ prompt: "a" }, { prompt: "b" }, { prompt: "a" }]), ["a", "b"]);
  assert.throws(() => makeSyntheticTask({ seed: 1, nTrain: -1, nHeldOut: 0, nTest: 0 }), RangeError);
  assert.throws(() => makeSyntheticTask({ seed: 1.5, nTrain: 1, nHeldOut: 0, nTest: 0 }), RangeError);
});

test("sampling: family and phrasing frequencies match p_data (6000 draws, 5-sigma bands)", () => {
  const { train } = makeSyntheticTask({ seed: 11, nTrain: 6000, nHeldOut: 0, nTest: 0 });
  const within = (count: number, n: number, p: number, what: string): void => {
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(count - n * p) <= 5 * sd, `${what}: ${count} of ${n}, expected ${n * p} ± ${5 * sd}`);
  };
  for (const family of syntheticFamilies) {
    const mine = train.filter((e) => e.family === family.name);
    within(mine.length, train.length, 0.25, family.name);
    for (const phrasing of family.phrasings) {
      const hits = mine.filter((e) => e.completion === phrasing.prefix + e.answer).length;
      within(hits, mine.length, phrasing.prob, `${family.name} "${phrasing.prefix}"`);
    }
    assert.ok(mine.every((e) => answerDistribution(e.prompt).some((a) => a.completion === e.completion)));
  }
});
