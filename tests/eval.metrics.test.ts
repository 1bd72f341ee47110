/**
 * eval/metrics.ts against hand-computed values: answer extraction and exact match, KL over a
 * known support (and its parts), total variation, token-weighted NLL / perplexity, mean spread.
 */
import {
  meanInterval95,
  aggregateNll,
  exactMatch,
  exactMatchRate,
  extractLastNumber,
  extractWithRegex,
  gsm8kAnswer,
  klDataToModel,
  klDataToModelAsync,
  klDataToModelDetails,
  klFromArrays,
  meanSpread,
  totalVariation,
} from "../eval/metrics.ts";
import { assert, assertClose, test } from "./harness.ts";

test("extractLastNumber: the last number, commas dropped, decimals and signs kept", () => {
  assert.equal(extractLastNumber("Natalia sold 48 clips in April and 24 in May, 72 in all."), "72");
  assert.equal(extractLastNumber("It costs $1,250.50."), "1250.50");
  assert.equal(extractLastNumber("the change is -3 degrees"), "-3");
  assert.equal(extractLastNumber("values 1, 2, 3"), "3");
  assert.equal(extractLastNumber("x = 0.25, so 10."), "10"); // a trailing full stop is not a decimal point
  assert.equal(extractLastNumber("no digits here"), null);
});

test("extractWithRegex and gsm8kAnswer", () => {
  assert.equal(extractWithRegex("#### 72", /####\s*(-?\d+)/), "72");
  assert.equal(extractWithRegex("a1 b2 c3", /[a-z](\d)/), "1");
  assert.equal(extractWithRegex("a1 b2 c3", /[a-z](\d)/, "last"), "3");
  assert.equal(extractWithRegex("a1 b2", "[a-z]\\d"), "a1");
  assert.equal(extractWithRegex("nothing", /(\d)/), null);
  assert.equal(gsm8kAnswer("She has 6 + 66 = <<6+66=72>>72 apples.\n#### 1,072"), "1072");
  assert.equal(gsm8kAnswer(" 5 "), "5");
});

test("exactMatch: numbers compared as numbers, regex and function extractors, case option", () => {
  assert.ok(exactMatch("so the total is 1,234.", "1234"));
  assert.ok(exactMatch("The answer is 18.0", "18"));
  assert.ok(!exactMatch("The answer is 17", "18"));
  assert.ok(!exactMatch("no number", "18"));
  assert.ok(!exactMatch("0", ""));
  assert.ok(exactMatch("Answer: Paris", "paris", { extract: /Answer: (\w+)/, ignoreCase: true }));
  assert.ok(!exactMatch("Answer: Paris", "paris", { extract: /Answer: (\w+)/ }));
  assert.ok(
    exactMatch("it is lima<|eos|>", "lima", {
      extract: (t) => t.split("<|eos|>")[0].split(" ").pop() ?? null,
    }),
  );
  assert.equal(exactMatchRate(["= 7", "8", "it is 9"], ["7", "9", "9"]), 2 / 3);
  assert.ok(Number.isNaN(exactMatchRate([], [])));
  assert.throws(() => exactMatchRate(["1"], []), RangeError);
});

test("KL(p ‖ π) over the support: hand values, parts, zero-probability answers, async scorer", async () => {
  // p = (0.5, 0.3, 0.2), π = (0.25, 0.25, 0.25) on the support (0.25 elsewhere).
  const p = [0.5, 0.3, 0.2], lq = [Math.log(0.25), Math.log(0.25), Math.log(0.25)];
  const expected = 0.5 * Math.log(2) + 0.3 * Math.log(1.2) + 0.2 * Math.log(0.8);
  const r = klFromArrays(p, lq);
  assertClose([r.kl], [expected], { atol: 1e-15 });
  assertClose([r.crossEntropy], [Math.log(4)], { atol: 1e-15 });
  assertClose([r.entropy], [-(0.5 * Math.log(0.5) + 0.3 * Math.log(0.3) + 0.2 * Math.log(0.2))], {
    atol: 1e-15,
  });
  assertClose([r.modelMassOnSupport], [0.75], { atol: 1e-15 });
  assertClose([klFromArrays([1, 0], [Math.log(0.5), -Infinity]).kl], [Math.log(2)], { atol: 1e-15 });
  assert.equal(klFromArrays([0.5, 0.5], [Math.log(0.5), -Infinity]).kl, Infinity);
  assertClose([klFromArrays(p, p.map(Math.log)).kl], [0], { atol: 1e-15 });

  const pData = [{ completion: "7", prob: 0.5 }, { completion: "= 7", prob: 0.5 }];
  const model = (y: string): number => Math.log(y === "7" ? 0.5 : 0.25);
  assertClose([klDataToModel(pData, model)], [0.5 * Math.log(2)], { atol: 1e-15 });
  assertClose([klDataToModelDetails(pData, model).modelMassOnSupport], [0.75], { atol: 1e-15 });
  const seen: string[][] = [];
  const asyncResult = await klDataToModelAsync(pData, (ys) => {
    seen.push([...ys]);
    return Promise.resolve(ys.map(model));
  });
  assert.deepEqual(seen, [["7", "= 7"]]);
  assertClose([asyncResult.kl], [0.5 * Math.log(2)], { atol: 1e-15 });

  assert.throws(() => klFromArrays([0.5, 0.4], [0, 0]), RangeError); // sums to 0.9
  assert.throws(() => klFromArrays([1.5, -0.5], [0, 0]), RangeError);
  assert.throws(() => klFromArrays([1], [NaN]), RangeError);
  assert.throws(() => klFromArrays([1], [0, 0]), RangeError);
});

test("total variation", () => {
  assertClose([totalVariation([0.5, 0.5], [0.9, 0.1])], [0.4], { atol: 1e-15 });
  assert.equal(totalVariation([1, 0], [0, 1]), 1);
  assert.throws(() => totalVariation([1], [0.5, 0.5]), RangeError);
});

test("aggregateNll: token-weighted, not a mean of per-sequence perplexities", () => {
  const s = aggregateNll([{ nll: 6, tokens: 4, bytes: 4 }, { nll: 2, tokens: 4, bytes: 4 }]);
  assert.equal(s.sequences, 2);
  assert.equal(s.tokens, 8);
  assert.equal(s.totalNll, 8);
  assert.equal(s.nllPerToken, 1);
  assertClose([s.perplexity], [Math.E], { atol: 1e-15 });
  assert.equal(s.nllPerSequence, 4);
  assertClose([s.bitsPerByte!], [1 / Math.LN2], { atol: 1e-15 });
  // Unequal lengths: (3 + 9) / (1 + 9) = 1.2, not the mean of 3 and 1.
  const u = aggregateNll([{ nll: 3, tokens: 1 }, { nll: 9, tokens: 9 }]);
  assertClose([u.nllPerToken], [1.2], { atol: 1e-15 });
  assertClose([u.perplexity], [Math.exp(1.2)], { atol: 1e-13 });
  assert.equal(u.bitsPerByte, null);
  assert.ok(Number.isNaN(aggregateNll([]).nllPerToken));
  assert.throws(() => aggregateNll([{ nll: 1, tokens: 1.5 }]), RangeError);
  assert.throws(() => aggregateNll([{ nll: NaN, tokens: 1 }]), RangeError);
});

test("meanSpread: sample standard deviation and standard error", () => {
  const s = meanSpread([1, 0, 1, 1]);
  assert.equal(s.mean, 0.75);
  assertClose([s.std], [0.5], { atol: 1e-15 }); // Σ(x − 0.75)² = 0.75, / 3 = 0.25
  assertClose([s.stderr], [0.25], { atol: 1e-15 });
  assert.ok(Number.isNaN(meanSpread([3]).std));
  assert.equal(meanSpread([3]).mean, 3);
});

test("meanInterval95: Student t half-widths against closed forms (df = 1: tan(0.475π), df = 2: 0.95·√(2/(4·0.975·0.025)))", () => {
  const one = meanInterval95([0, 2]); // s = √2, s/√n = 1
  assertClose([one.mean, one.halfWidth], [1, Math.tan(0.475 * Math.PI)], { atol: 1e-3 });
  const two = meanInterval95([1, 2, 3]); // s = 1
  assertClose([two.halfWidth], [(0.95 * Math.sqrt(2 / (4 * 0.975 * 0.025))) / Math.sqrt(3)], { atol: 1e-3 });
  assert.ok(Number.isNaN(meanInterval95([5]).halfWidth));
});
