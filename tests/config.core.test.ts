// core/config.ts and core/hash.ts: error paths and rules, strict objects, defaults, per-iteration
// values, cross-field checks, stable JSON and SHA-256 (against published/independent digests).
import type * as t from "io-ts";
import { either } from "fp-ts";
import fc from "fast-check";
import { assert, test } from "./harness.ts";
import {
  applyDefaults,
  ConfigError,
  decodeOrThrow,
  decodeWith,
  didYouMean,
  listOf,
  nonEmptyString,
  nullable,
  numberIn,
  oneOf,
  optionalNull,
  perIteration,
  perIterationAt,
  perIterationLengthIssue,
  positive,
  positiveInt,
  probability,
  strictObject,
  unitInterval,
  withChecks,
  withDefault,
} from "../core/config.ts";
import { sha256Hex, stableStringify } from "../core/hash.ts";

const problems = <A, O>(codec: t.Type<A, O, unknown>, value: unknown): string[] => {
  const r = decodeWith(codec, value, "thing");
  if (either.isRight(r)) throw new Error(`expected a failure, decoded ${JSON.stringify(r.right)}`);
  return r.left.issues.map((i) => `${i.path}: ${i.message}`);
};

const sample = strictObject({
  name: nonEmptyString,
  training: withDefault(
    strictObject({ lr: withDefault(perIteration(positive), 1e-4), epochs: withDefault(positiveInt, 2) }),
    {},
  ),
  loss: withDefault(
    strictObject({ params: withDefault(strictObject({ beta: withDefault(positive, 0.1) }), {}) }),
    {},
  ),
  schedule: withDefault(oneOf(["linear", "cosine", "constant"] as const), "linear"),
  modules: withDefault(listOf(nonEmptyString, 1), ["q"]),
  eval: optionalNull(nonEmptyString),
});

test("nested failures read <path>: <rule> (got <value>)", () => {
  assert.deepEqual(problems(sample, { name: "x", loss: { params: { beta: -1 } } }), [
    "loss.params.beta: must be > 0 (got -1)",
  ]);
  assert.deepEqual(problems(sample, { name: "x", training: { lr: [0.1, 0, 0.2] } }), [
    "training.lr[1]: must be > 0 (got 0)",
  ]);
  assert.deepEqual(problems(sample, { name: "x", modules: ["a", ""] }), [
    'modules[1]: must be a non-empty string (got "")',
  ]);
  assert.deepEqual(problems(sample, { name: "x", modules: [] }), [
    "modules: must have at least 1 value (got [])",
  ]);
});

test("unknown keys are errors with a 'did you mean', not silently dropped", () => {
  assert.deepEqual(problems(sample, { name: "x", traning: {} }), [
    'traning: unknown key (did you mean "training"?)',
  ]);
  assert.deepEqual(problems(sample, { name: "x", training: { learning_rate: 1 } }), [
    "training.learning_rate: unknown key (known: lr, epochs)",
  ]);
  // snake_case and case differences find the camelCase key
  const camel = strictObject({ maxLength: withDefault(positiveInt, 8) });
  assert.deepEqual(problems(camel, { max_length: 3 }), [
    'max_length: unknown key (did you mean "maxLength"?)',
  ]);
  assert.equal(didYouMean("zzzzzz", ["training", "data"]), undefined);
});

test("every failure is reported at once, and a missing key reads 'is required'", () => {
  const lines = problems(sample, { traning: 1, schedule: "cosin", loss: { params: { beta: 0 } } });
  assert.deepEqual(lines, [
    'traning: unknown key (did you mean "training"?)',
    "name: is required",
    "loss.params.beta: must be > 0 (got 0)",
    'schedule: must be one of "linear", "cosine", "constant" (did you mean "cosine"?) (got "cosin")',
  ]);
});

test("ConfigError message lists each problem on its own line", () => {
  try {
    decodeOrThrow(sample, { name: "", training: { epochs: 1.5 } }, "run config");
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      'invalid run config (2 problems):\n  name: must be a non-empty string (got "")\n  training.epochs: must be an integer >= 1 (got 1.5)',
    );
  }
});

test("defaults apply through nested codecs; output keys follow the declared order", () => {
  const value = decodeOrThrow(sample, { eval: "e.jsonl", name: "x" }, "thing");
  assert.deepEqual(value, {
    name: "x",
    training: { lr: 1e-4, epochs: 2 },
    loss: { params: { beta: 0.1 } },
    schedule: "linear",
    modules: ["q"],
    eval: "e.jsonl",
  });
  assert.deepEqual(Object.keys(value), ["name", "training", "loss", "schedule", "modules", "eval"]);
  assert.equal(decodeOrThrow(sample, { name: "x" }, "thing").eval, null);
  assert.equal(decodeOrThrow(nullable(positive), null, "x"), null);
  assert.deepEqual(problems(nullable(positive), 0), ["(root): must be > 0 (got 0)"]);
});

test("number codecs: bounds, open ends, non-numbers", () => {
  assert.deepEqual(problems(unitInterval, 1.01), ["(root): must be in [0, 1] (got 1.01)"]);
  assert.deepEqual(problems(unitInterval, -0.5), ["(root): must be in [0, 1] (got -0.5)"]);
  assert.equal(decodeOrThrow(unitInterval, 0, "a"), 0);
  assert.equal(decodeOrThrow(unitInterval, 1, "a"), 1);
  assert.deepEqual(problems(probability, 0), ["(root): must be in (0, 1] (got 0)"]);
  assert.deepEqual(problems(numberIn(0, 1, { hiOpen: true }), 1), ["(root): must be in [0, 1) (got 1)"]);
  assert.deepEqual(problems(positive, "0.1"), ['(root): must be > 0 (got "0.1")']);
  assert.deepEqual(problems(positiveInt, 0), ["(root): must be an integer >= 1 (got 0)"]);
});

test("perIterationAt: entry t-1, then the last value repeats (checked against a plain model)", () => {
  assert.equal(perIterationAt(0.1, 7), 0.1);
  assert.equal(perIterationAt([5e-7, 5e-7, 1e-7], 2), 5e-7);
  assert.equal(perIterationAt([5e-7, 5e-7, 1e-7], 3), 1e-7);
  assert.equal(perIterationAt([5e-7, 5e-7, 1e-7], 9), 1e-7);
  assert.throws(() => perIterationAt([1], 0), RangeError);
  fc.assert(
    fc.property(
      fc.array(fc.integer(), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 10 }),
      (list, it) => {
        const expected = it <= list.length ? list[it - 1] : list[list.length - 1];
        return perIterationAt(list, it) === expected;
      },
    ),
    { seed: 6, numRuns: 200 },
  );
});

test("perIteration decodes a value or a non-empty list; length issue past T", () => {
  const codec = perIteration(unitInterval);
  assert.equal(decodeOrThrow(codec, 0.5, "alpha"), 0.5);
  assert.deepEqual(decodeOrThrow(codec, [1, 0.5], "alpha"), [1, 0.5]);
  assert.deepEqual(problems(codec, []), ["(root): must have at least 1 value (got [])"]);
  assert.deepEqual(problems(codec, [1, 2]), ["[1]: must be in [0, 1] (got 2)"]);
  assert.equal(perIterationLengthIssue(["alpha"], [1, 1], 2), undefined);
  assert.equal(perIterationLengthIssue(["alpha"], 1, 1), undefined);
  assert.match(perIterationLengthIssue(["alpha"], [1, 1, 1], 2)!.message, /has 3 values but iterations is 2/);
});

test("withChecks reports cross-field rules at their paths, after the fields are valid", () => {
  const range = withChecks(
    strictObject({ lo: positive, hi: positive }),
    (v) => (v.lo < v.hi ? [] : [{ path: ["lo"], message: `must be < hi (${v.hi})`, value: v.lo }]),
  );
  assert.deepEqual(problems(range, { lo: 3, hi: 2 }), ["lo: must be < hi (2) (got 3)"]);
  assert.deepEqual(problems(range, { lo: -3, hi: 2 }), ["lo: must be > 0 (got -3)"]);
  assert.deepEqual(decodeOrThrow(range, { lo: 1, hi: 2 }, "range"), { lo: 1, hi: 2 });
});

test("applyDefaults fills absent keys recursively and keeps given ones", () => {
  const d = { training: { lr: 5e-5, epochs: 2 }, name: "x", list: [1, 2] };
  assert.deepEqual(applyDefaults({ training: { lr: 1e-4 }, list: [3] }, d), {
    training: { lr: 1e-4, epochs: 2 },
    name: "x",
    list: [3],
  });
  assert.deepEqual(applyDefaults(undefined, d), d);
});

test("sha256Hex matches published digests (FIPS 180-4 examples, padding edges, UTF-8)", () => {
  const cases: [string, string][] = [
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    ["a".repeat(55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"],
    ["a".repeat(56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"],
    ["a".repeat(64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"],
    ["a".repeat(1000), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"],
    ["héllo 你好", "7b76b0849c2e9a6a397ec9fe88fcd5489626b2b3a1dc47c47958bbe59da04390"],
  ];
  for (const [input, digest] of cases) {
    assert.equal(sha256Hex(input), digest, `sha256 of ${input.slice(0, 10)} (${input.length} chars)`);
  }
  assert.equal(sha256Hex(new TextEncoder().encode("abc")), cases[0][1]);
});

test("stableStringify: key order does not matter, the value round-trips through JSON", () => {
  assert.equal(
    stableStringify({ b: 1, a: [2, { d: 3, c: 4 }], u: undefined }),
    '{"a":[2,{"c":4,"d":3}],"b":1}',
  );
  assert.throws(() => stableStringify({ x: NaN }), RangeError);
  const shuffle = (v: unknown, seed: number): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => shuffle(x, seed + i));
    if (typeof v === "object" && v !== null) {
      const entries = Object.entries(v);
      entries.sort((a, b) =>
        ((a[0].charCodeAt(0) * 31 + seed) % 7) - ((b[0].charCodeAt(0) * 31 + seed) % 7) ||
        (a[0] < b[0] ? 1 : -1)
      );
      return Object.fromEntries(entries.map(([k, x]) => [k, shuffle(x, seed + 1)]));
    }
    return v;
  };
  const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
  fc.assert(
    fc.property(json, fc.integer({ min: 0, max: 100 }), (value, seed) => {
      const s = stableStringify(value);
      assert.equal(stableStringify(shuffle(value, seed)), s);
      assert.deepEqual(JSON.parse(s), value);
    }),
    { seed: 11, numRuns: 150 },
  );
});
