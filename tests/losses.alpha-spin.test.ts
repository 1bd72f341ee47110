/**
 * The α-SPIN objective on referenceOps: α = 1 is SPIN, α = 0 is DPO against the base, equal
 * references make α irrelevant, the reference margin is affine in α, and non-margin-only losses
 * are refused for 0 < α < 1 unless the normalizer is supplied or explicitly ignored.
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import { geometricLogPartition } from "../core/mixture.ts";
import { alphaSpin, alphaSpinRefusal, lossRegistry } from "../losses/mod.ts";
import { assert, assertClose, test } from "./harness.ts";

const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
const values = async (t: ReturnType<typeof v>) => Array.from(await ops.toArray(t));
const lp = fc.double({ min: -200, max: 0, noNaN: true });
const row = fc.record({ pc: lp, pr: lp, prevC: lp, prevR: lp, baseC: lp, baseR: lp });
const rows = fc.array(row, { minLength: 1, maxLength: 3 });
type Row = { pc: number; pr: number; prevC: number; prevR: number; baseC: number; baseR: number };

const inputs = (rs: Row[], alpha: number) => ({
  alpha,
  policyChosen: v(rs.map((r) => r.pc)),
  policyRejected: v(rs.map((r) => r.pr)),
  lpPrevChosen: v(rs.map((r) => r.prevC)),
  lpPrevRejected: v(rs.map((r) => r.prevR)),
  lpBaseChosen: v(rs.map((r) => r.baseC)),
  lpBaseRejected: v(rs.map((r) => r.baseR)),
});
const direct = (name: string, rs: Row[], refC: number[], refR: number[], params = {}) =>
  lossRegistry.get(name).compute(ops)({
    policyChosen: v(rs.map((r) => r.pc)),
    policyRejected: v(rs.map((r) => r.pr)),
    refChosen: v(refC),
    refRejected: v(refR),
  }, params).loss;

const pairOnly = lossRegistry.all().filter((l) => !(l.requires ?? []).length).map((l) => l.name);

test("α = 1 equals SPIN (reference = π_prev) and α = 0 equals DPO against π_base, for every loss", async () => {
  await fc.assert(
    fc.asyncProperty(rows, async (rs) => {
      for (const name of pairOnly) {
        const spin = await values(direct(name, rs, rs.map((r) => r.prevC), rs.map((r) => r.prevR)));
        assert.deepEqual(await values(alphaSpin(ops)(name, inputs(rs, 1)).loss), spin, name);
        const dpo = await values(direct(name, rs, rs.map((r) => r.baseC), rs.map((r) => r.baseR)));
        assert.deepEqual(await values(alphaSpin(ops)(name, inputs(rs, 0)).loss), dpo, name);
      }
    }),
    { numRuns: 25, seed: 41 },
  );
});

test("π_prev = π_base makes the loss independent of α", async () => {
  await fc.assert(
    fc.asyncProperty(rows, fc.double({ min: 0, max: 1, noNaN: true }), async (rs, alpha) => {
      const same = rs.map((r) => ({ ...r, baseC: r.prevC, baseR: r.prevR }));
      for (const name of pairOnly) {
        const options = { allowNonInvariant: "per-prompt-normalizer-ignored" } as const;
        const a = await values(alphaSpin(ops)(name, inputs(same, alpha), {}, options).loss);
        const b = await values(alphaSpin(ops)(name, inputs(same, 1), {}, options).loss);
        assertClose(a, b, { atol: 1e-9, rtol: 1e-9, message: name });
      }
    }),
    { numRuns: 25, seed: 42 },
  );
});

test("the reference margin is affine in α", async () => {
  await fc.assert(
    fc.asyncProperty(rows, fc.double({ min: 0, max: 1, noNaN: true }), async (rs, alpha) => {
      const out = alphaSpin(ops)("sigmoid", inputs(rs, alpha));
      const refC = await values(out.refChosen), refR = await values(out.refRejected);
      const got = refC.map((c, i) => c - refR[i]);
      const expected = rs.map((r) => alpha * (r.prevC - r.prevR) + (1 - alpha) * (r.baseC - r.baseR));
      assertClose(got, expected, { atol: 1e-9, rtol: 1e-12 });
    }),
    { numRuns: 50, seed: 43 },
  );
});

test("margin-only losses with 0 < α < 1 equal the loss against the normalized mixture", async () => {
  // With a known log Z(x), the unnormalized and normalized references give the same margin-only loss.
  await fc.assert(
    fc.asyncProperty(rows, fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.double({ min: -5, max: 0, noNaN: true }), async (rs, alpha, logZ) => {
      const z = v(rs.map(() => logZ));
      for (const name of pairOnly.filter((n) => lossRegistry.get(n).marginOnly)) {
        const plain = await values(alphaSpin(ops)(name, inputs(rs, alpha)).loss);
        const normalized = await values(alphaSpin(ops)(name, { ...inputs(rs, alpha), logPartition: z }).loss);
        assertClose(normalized, plain, { atol: 1e-9, rtol: 1e-9, message: name });
      }
    }),
    { numRuns: 20, seed: 44 },
  );
});

test("non-margin-only losses are refused for 0 < α < 1, with the reason", () => {
  const rs = [{ pc: -10, pr: -12, prevC: -11, prevR: -11, baseC: -12, baseR: -10 }];
  for (const name of ["sppo_hard", "nca_pair", "bco_pair", "apo_zero", "apo_down"]) {
    assert.throws(
      () => alphaSpin(ops)(name, inputs(rs, 0.5)),
      (e: Error) => /is not margin-only/.test(e.message) && /log Z\(x\)/.test(e.message) && e.message.includes(name),
    );
    // Allowed at the endpoints.
    alphaSpin(ops)(name, inputs(rs, 0));
    alphaSpin(ops)(name, inputs(rs, 1));
  }
  const ipo = { ...inputs(rs, 0.3), chosenTokens: v([5]), rejectedTokens: v([9]) };
  assert.throws(() => alphaSpin(ops)("ipo", ipo), /per-prompt-normalizer-ignored/);
  assert.equal(alphaSpinRefusal(lossRegistry.get("sigmoid"), 0.5), undefined);
  assert.match(alphaSpinRefusal(lossRegistry.get("ipo"), 0.5) ?? "", /divided by its own length/);
});

test("the documented alternatives: opt-in uses the unnormalized reference; logPartition normalizes it", async () => {
  const rs = [{ pc: -10, pr: -12, prevC: -11, prevR: -13, baseC: -12, baseR: -10 }];
  const alpha = 0.25;
  const refC = 0.25 * -11 + 0.75 * -12, refR = 0.25 * -13 + 0.75 * -10;
  const optIn = alphaSpin(ops)("sppo_hard", inputs(rs, alpha), {}, { allowNonInvariant: "per-prompt-normalizer-ignored" });
  assert.deepEqual(await values(optIn.loss), await values(direct("sppo_hard", rs, [refC], [refR])));
  // With log Z = −0.7 the reference rises by 0.7 on both responses.
  const normalized = alphaSpin(ops)("sppo_hard", { ...inputs(rs, alpha), logPartition: v([-0.7]) });
  assertClose(await values(normalized.loss), await values(direct("sppo_hard", rs, [refC + 0.7], [refR + 0.7])), { atol: 1e-12 });
  // An estimate from geometricLogPartition plugs in directly.
  const logZ = geometricLogPartition(ops)(alpha, ops.fromArray([-3, -4], [2, 1]), ops.fromArray([-3.5, -3.8], [2, 1]));
  const expectedLogZ = Math.log((Math.exp(0.25 * 0.5) + Math.exp(0.25 * -0.2)) / 2);
  const withEstimate = alphaSpin(ops)("sppo_hard", { ...inputs(rs, alpha), logPartition: logZ });
  assertClose(await values(withEstimate.refChosen), [refC - expectedLogZ], { atol: 1e-12 });
});

test("alphaSpin argument errors", () => {
  const rs = [{ pc: -10, pr: -12, prevC: -11, prevR: -13, baseC: -12, baseR: -10 }];
  assert.throws(() => alphaSpin(ops)("sigmoid", inputs(rs, 1.2)), /alpha must be a number in \[0, 1\]/);
  assert.throws(() => alphaSpin(ops)("nope", inputs(rs, 0.5)), /unknown loss "nope"/);
  assert.throws(() => alphaSpin(ops)("sigmoid", inputs(rs, 0.5), { bta: 1 }), /params\.bta: unknown key \(did you mean "beta"\?\)/);
  // Extra inputs pass through to the loss.
  assert.throws(() => alphaSpin(ops)("slic", inputs(rs, 0.5)), /sftNll/);
  alphaSpin(ops)("slic", { ...inputs(rs, 0.5), sftNll: v([1]) });
});
