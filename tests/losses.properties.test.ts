/**
 * Property tests of the loss family on referenceOps: the property kit on every registered loss,
 * the kit's ability to catch a wrong flag, margin-only invariance (and SPPO's lack of it), DPO's
 * swap identity, log 2 at h = 0, the minimizers (IPO, hinge, sppo_hard), derivative values by
 * central differences, the registry and parameter errors; the listwise kit on Plackett–Luce (its
 * K = 1 case is DPO) and its ability to catch wrong flags; SimPO's reference-freeness, length
 * normalization and derivative.
 */
import * as fc from "fast-check";
import { referenceOps as ops } from "../backends/reference.ts";
import { checkListLossProperties, checkLossProperties } from "../testing.ts";
import {
  createLossRegistry,
  defineLoss,
  discopopLoss,
  logRatios,
  lossRegistry,
  paramsCodec,
  plackettLuceList,
  plackettLuceListLoss,
  preferenceMetrics,
  mulScalar,
  sigmoidLoss,
  sppoLoss,
} from "../losses/mod.ts";
import type { AnyLoss, ListLoss, PlackettLuceParams, SigmoidParams } from "../losses/mod.ts";
import { positive } from "../core/config.ts";
import { assert, assertClose, test } from "./harness.ts";

const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
const first = async (t: ReturnType<typeof v>) => (await ops.toArray(t))[0];
const lp = fc.double({ min: -200, max: 0, noNaN: true });
const at = (name: string, params: Record<string, unknown> = {}) => async (pc: number, pr: number, rc: number, rr: number, extra = {}) =>
  await first(lossRegistry.get(name).compute(ops)({ policyChosen: v([pc]), policyRejected: v([pr]), refChosen: v([rc]), refRejected: v([rr]), ...extra }, params).loss);

for (const loss of lossRegistry.all()) {
  test(`property kit passes for ${loss.name} on referenceOps`, async () => {
    const report = await checkLossProperties(ops, loss, { numRuns: 25 });
    assert.ok(report.checks.includes("finite") && report.checks.includes("batch-independent"));
    assert.equal(report.checks.includes("margin-only"), loss.marginOnly);
    assert.equal(report.checks.includes("direction"), loss.directional);
  });
}

test("property kit also passes with non-default parameters", async () => {
  await checkLossProperties(ops, lossRegistry.get("sigmoid"), { params: { beta: 2, labelSmoothing: 0.3 }, numRuns: 20 });
  await checkLossProperties(ops, lossRegistry.get("discopop"), { params: { beta: 1, tau: 1 }, numRuns: 20 });
  await checkLossProperties(ops, lossRegistry.get("exo_pair"), { params: { beta: 1, epsilon: 0.4 }, numRuns: 20 });
});

/** A copy of `loss` with some flags changed (to check that the kit notices a wrong flag). */
const withFlags = (loss: AnyLoss, flags: Partial<Pick<AnyLoss, "marginOnly" | "directional" | "logRatioOnly">>): AnyLoss =>
  defineLoss({ ...loss, ...flags, name: `${loss.name}_mislabelled` });

test("property kit catches wrong flags and batch leakage, with a counterexample", async () => {
  await assert.rejects(checkLossProperties(ops, withFlags(sppoLoss, { marginOnly: true }), { numRuns: 20 }), /fails "margin-only".*counterexample/);
  await assert.rejects(checkLossProperties(ops, withFlags(sigmoidLoss, { marginOnly: false }), { numRuns: 20 }), /declared not margin-only/);
  await assert.rejects(checkLossProperties(ops, withFlags(discopopLoss, { directional: true }), { numRuns: 20 }), /fails "direction"/);
  // SimPO-like: reference-free and length-free margin → not built on log-ratios.
  const policyOnly = defineLoss<{ beta: number }>({
    name: "policy_only",
    description: "−log σ(β·(lp_θ(y_w) − lp_θ(y_l)))",
    params: paramsCodec<{ beta: number }>("policy_only", { beta: positive }),
    defaults: { beta: 0.1 },
    marginOnly: true,
    marginOnlyReason: "ignores the reference",
    logRatioOnly: true,
    directional: true,
    source: "test",
    kernel: (o) => (pair, { beta }) => ({
      loss: o.softplus(o.neg(mulScalar(o)(beta, o.sub(pair.policyChosen, pair.policyRejected)))),
      metrics: {},
    }),
  });
  await assert.rejects(checkLossProperties(ops, policyOnly, { numRuns: 20 }), /fails "log-ratio"/);
  // A loss that centres by the batch mean leaks across examples.
  const leaky = defineLoss<SigmoidParams>({
    ...sigmoidLoss,
    name: "leaky",
    kernel: (o) => (pair, { beta }) => {
      const lr = logRatios(o)(pair);
      const centred = o.sub(lr.margin, o.mean(lr.margin));
      return { loss: o.softplus(o.neg(mulScalar(o)(beta, centred))), metrics: preferenceMetrics(o)(pair, lr, beta) };
    },
  });
  await assert.rejects(checkLossProperties(ops, leaky, { numRuns: 20 }), /fails "batch-independent"/);
});

test("margin-only losses are invariant to a per-prompt shift of the reference; SPPO is not", async () => {
  const marginOnly = lossRegistry.all().filter((l) => l.marginOnly && !(l.requires ?? []).length).map((l) => l.name);
  assert.ok(marginOnly.includes("sigmoid") && marginOnly.includes("ipo_unnormalized") && !marginOnly.includes("sppo_hard"));
  await fc.assert(
    fc.asyncProperty(lp, lp, lp, lp, fc.double({ min: -30, max: 30, noNaN: true }), async (pc, pr, rc, rr, c) => {
      for (const name of marginOnly) {
        const f = at(name);
        assertClose([await f(pc, pr, rc + c, rr + c)], [await f(pc, pr, rc, rr)], { atol: 1e-9, rtol: 1e-9, message: name });
      }
    }),
    { numRuns: 30, seed: 31 },
  );
  // SPPO (given win rates) and sppo_hard change under the same shift.
  const wins = { winRateChosen: v([0.8]), winRateRejected: v([0.3]) };
  const sppo = at("sppo");
  assert.ok(Math.abs((await sppo(-10, -12, -11, -11, wins)) - (await sppo(-10, -12, -9, -9, wins))) > 1);
  const hard = at("sppo_hard");
  assert.ok(Math.abs((await hard(-10, -12, -11, -11)) - (await hard(-10, -12, -9, -9))) > 1);
  assert.equal(lossRegistry.get("sppo").marginOnly, false);
  assert.equal(lossRegistry.get("ipo").marginOnly, false);
});

test("DPO swap identity L(−h) = L(h) + βh, and L(0) = log 2", async () => {
  await fc.assert(
    fc.asyncProperty(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: 0.01, max: 2, noNaN: true }), async (hh, beta) => {
      const f = at("sigmoid", { beta });
      // h is realised as a(y_w) = h, a(y_l) = 0; swapping the responses gives −h.
      const lh = await f(hh - 5, -5, -5, -5), lminus = await f(-5, hh - 5, -5, -5);
      assertClose([lminus], [lh + beta * hh], { atol: 1e-9, rtol: 1e-12 });
    }),
    { numRuns: 100, seed: 32 },
  );
  assertClose([await at("sigmoid", { beta: 0.7 })(-3, -9, -3, -9)], [Math.LN2], { atol: 1e-15 });
});

test("minimizers: IPO at h = 1/(2τ), hinge flat once βh ≥ 1, sppo_hard at ±1/(2β)", async () => {
  for (const tau of [0.05, 0.1, 0.5, 2]) {
    const f = (hh: number) => at("ipo_unnormalized", { beta: tau })(hh, 0, 0, 0);
    const star = 1 / (2 * tau);
    assertClose([await f(star)], [0], { atol: 1e-12 });
    assert.ok((await f(star - 0.01)) > 0 && (await f(star + 0.01)) > 0);
  }
  for (const beta of [0.1, 0.5, 3]) {
    const f = (hh: number) => at("hinge", { beta })(hh, 0, 0, 0);
    for (const hh of [1 / beta, 1 / beta + 0.5, 1 / beta + 100]) {
      assert.equal(await f(hh), 0);
      // Zero gradient: flat on both sides of hh (one-sided difference above the kink).
      assert.equal(await f(hh + 1e-3), 0);
    }
    assertClose([await f(0.5 / beta)], [0.5], { atol: 1e-12 });
  }
  for (const beta of [0.1, 0.5]) {
    const f = (aw: number, al: number) => at("sppo_hard", { beta })(aw - 4, al - 4, -4, -4);
    const s = 1 / (2 * beta);
    assertClose([await f(s, -s)], [0], { atol: 1e-12 });
    for (const [dw, dl] of [[0.01, 0], [-0.01, 0], [0, 0.01], [0, -0.01]]) assert.ok((await f(s + dw, -s + dl)) > 0);
  }
});

test("derivatives of the DPO loss: ∂L/∂lp_θ(y_w) = −βσ(−βh), the loser's is its negative", async () => {
  await fc.assert(
    fc.asyncProperty(fc.double({ min: -40, max: 40, noNaN: true }), fc.double({ min: 0.05, max: 1, noNaN: true }), async (hh, beta) => {
      const f = at("sigmoid", { beta });
      const e = 1e-5;
      const dW = ((await f(-20 + hh + e, -20, -20, -20)) - (await f(-20 + hh - e, -20, -20, -20))) / (2 * e);
      const dL = ((await f(-20 + hh, -20 + e, -20, -20)) - (await f(-20 + hh, -20 - e, -20, -20))) / (2 * e);
      const expected = -beta / (1 + Math.exp(beta * hh));
      assertClose([dW, dL], [expected, -expected], { atol: 1e-7 });
      assert.ok(dW < 0 && dL > 0);
    }),
    { numRuns: 50, seed: 33 },
  );
});

test("registry: get, names, register, duplicates and replace", () => {
  assert.throws(() => lossRegistry.get("dpo"), /unknown loss "dpo"; known losses: apo_down, apo_zero, .*sigmoid/);
  const expectedNames = [
    "apo_down", "apo_zero", "bco_pair", "bt_reward", "discopop", "exo_pair", "hinge", "ipo", "ipo_unnormalized",
    "nca_pair", "plackett_luce", "robust", "sigmoid", "simpo", "slic", "spac", "sppo", "sppo_hard",
  ];
  assert.deepEqual(lossRegistry.names(), expectedNames);
  const registry = createLossRegistry();
  const mine = defineLoss({ ...sigmoidLoss, name: "my_sigmoid" });
  registry.register(mine);
  assert.equal(registry.get("my_sigmoid"), mine);
  assert.ok(!lossRegistry.has("my_sigmoid"));
  assert.throws(() => registry.register(mine), /already registered; pass \{ replace: true \}/);
  const replacement = defineLoss({ ...sigmoidLoss, name: "my_sigmoid", description: "v2" });
  registry.register(replacement, { replace: true });
  assert.equal(registry.get("my_sigmoid").description, "v2");
  assert.throws(() => registry.register({ name: "x" } as unknown as AnyLoss), /defineLoss/);
  assert.throws(() => defineLoss({ ...sigmoidLoss, name: "Bad Name" }), /lower snake_case/);
});

test("parameters: TRL defaults, typos and out-of-range values are errors that name the key", () => {
  assert.deepEqual(lossRegistry.get("sigmoid").defaults, { beta: 0.1, labelSmoothing: 0 });
  assert.deepEqual(lossRegistry.get("discopop").defaults, { beta: 0.1, tau: 0.05 });
  assert.deepEqual(lossRegistry.get("exo_pair").defaults, { beta: 0.1, epsilon: 1e-3 });
  for (const l of lossRegistry.all()) assert.ok(l.resolveParams().beta > 0, l.name);
  const sig = lossRegistry.get("sigmoid");
  assert.throws(() => sig.resolveParams({ bta: 0.2 }), /loss "sigmoid": params\.bta: unknown key \(did you mean "beta"\?\)/);
  assert.throws(() => sig.resolveParams({ beta: -1 }), /params\.beta: must be > 0 \(got -1\)/);
  assert.throws(() => sig.resolveParams({ labelSmoothing: 0.5 }), /params\.labelSmoothing: must be in \[0, 0\.5\) \(got 0\.5\)/);
  assert.throws(() => lossRegistry.get("discopop").resolveParams({ tau: 2 }), /params\.tau/);
  assert.throws(() => sig.resolveParams({ beta: "0.1" } as never), /params\.beta/);
  assert.deepEqual(sig.resolveParams({ beta: 0.5 }), { beta: 0.5, labelSmoothing: 0 });
});

test("inputs: missing required inputs and mismatched shapes are errors", () => {
  const pair = { policyChosen: v([-1, -2]), policyRejected: v([-3, -4]), refChosen: v([-2, -2]), refRejected: v([-2, -2]) };
  assert.throws(() => lossRegistry.get("ipo").compute(ops)(pair), /loss "ipo" needs the input "chosenTokens"/);
  assert.throws(() => lossRegistry.get("sppo").compute(ops)(pair), /winRateChosen/);
  assert.throws(() => lossRegistry.get("slic").compute(ops)(pair), /sftNll/);
  assert.throws(() => lossRegistry.get("sigmoid").compute(ops)({ ...pair, refRejected: v([1]) }), /refRejected has shape \[1\], expected \[2\]/);
  assert.throws(() => lossRegistry.get("spac").compute(ops)({ ...pair, policyGenerated: v([-1, -1]) }), /both policyGenerated and refGenerated/);
  assert.throws(() => lossRegistry.get("bt_reward").compute(ops)({ ...pair, rewardChosen: v([0, 0]) }), /both rewardChosen and rewardRejected/);
});

test("list kit: Plackett–Luce (top-1 and ordered) passes, and with one loser it is DPO's sigmoid loss", async () => {
  const top1 = await checkListLossProperties(ops, plackettLuceListLoss, { pairwise: sigmoidLoss, numRuns: 25 });
  assert.deepEqual(top1.checks, [
    "shapes", "finite", "batch-independent", "padding", "log-ratio", "margin-only", "loser-order", "direction", "pairwise",
  ]);
  const ordered = await checkListLossProperties(ops, plackettLuceListLoss, {
    params: { beta: 0.7, ranking: "ordered" },
    pairwise: sigmoidLoss,
    pairwiseParams: { beta: 0.7 },
    numRuns: 25,
  });
  assert.ok(!ordered.checks.includes("loser-order") && ordered.checks.includes("pairwise"));
  // The registered pairwise view is the same loss as sigmoid, under either ranking.
  await fc.assert(
    fc.asyncProperty(lp, lp, lp, lp, fc.double({ min: 0.01, max: 3, noNaN: true }), async (pc, pr, rc, rr, beta) => {
      const dpo = await at("sigmoid", { beta })(pc, pr, rc, rr);
      assertClose([await at("plackett_luce", { beta })(pc, pr, rc, rr)], [dpo], { atol: 1e-12, rtol: 1e-12 });
      assertClose([await at("plackett_luce", { beta, ranking: "ordered" })(pc, pr, rc, rr)], [dpo], { atol: 1e-12, rtol: 1e-12 });
    }),
    { numRuns: 50, seed: 34 },
  );
});

test("list kit catches a mislabelled loser order, an ignored mask and a wrong direction", async () => {
  const mislabelled: ListLoss<PlackettLuceParams> = { ...plackettLuceListLoss, name: "pl_order_mislabelled", ordersLosers: () => false };
  await assert.rejects(
    checkListLossProperties(ops, mislabelled, { params: { ranking: "ordered" }, numRuns: 20 }),
    /fails "loser-order".*counterexample/,
  );
  const maskless: ListLoss<PlackettLuceParams> = {
    ...plackettLuceListLoss,
    name: "pl_maskless",
    compute: (o) => (list, p) => plackettLuceList(o)({ policy: list.policy, ref: list.ref }, p),
  };
  await assert.rejects(checkListLossProperties(ops, maskless, { numRuns: 20 }), /fails "padding"/);
  const reversed: ListLoss<PlackettLuceParams> = {
    ...plackettLuceListLoss,
    name: "pl_reversed",
    compute: (o) => (list, p) => plackettLuceList(o)({ ...list, policy: o.neg(list.policy), ref: o.neg(list.ref) }, p),
  };
  await assert.rejects(checkListLossProperties(ops, reversed, { numRuns: 20 }), /fails "direction"/);
});

test("Plackett–Luce: the full ranking costs at least the top-1 loss; both equal log(1 + K) at policy = reference", async () => {
  const row = fc.array(lp, { minLength: 2, maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(row, row, fc.double({ min: 0.05, max: 2, noNaN: true }), async (p, r, beta) => {
      const n = Math.min(p.length, r.length);
      const list = { policy: ops.fromArray(p.slice(0, n), [1, n]), ref: ops.fromArray(r.slice(0, n), [1, n]) };
      const top1 = await first(plackettLuceList(ops)(list, { beta }).loss);
      const ordered = await first(plackettLuceList(ops)(list, { beta, ranking: "ordered" }).loss);
      assert.ok(ordered >= top1 - 1e-12, `ordered ${ordered} < top1 ${top1}`);
      const same = { policy: list.ref, ref: list.ref };
      assertClose([await first(plackettLuceList(ops)(same, { beta }).loss)], [Math.log(n)], { atol: 1e-12 });
    }),
    { numRuns: 50, seed: 35 },
  );
  assert.throws(() => plackettLuceList(ops)({ policy: v([-1, -2]), ref: v([-1, -2]) }), /policy must be \[B, 1 \+ K\] with K ≥ 1/);
  assert.throws(
    () => plackettLuceList(ops)({ policy: ops.fromArray([-1, -2], [1, 2]), ref: ops.fromArray([-1, -2, -3], [1, 3]) }),
    /ref has shape \[1,3\], expected \[1,2\]/,
  );
  assert.throws(() => plackettLuceList(ops)({ policy: ops.fromArray([-1, -2], [1, 2]), ref: ops.fromArray([-1, -2], [1, 2]) }, { ranking: "full" } as never), /params\.ranking: must be one of "top1", "ordered" \(got "full"\)/);
});

test("SimPO: reference-free, invariant to scaling a response's log-prob and length together, ∂L/∂lp_w = −(β/n_w)·σ(−z)", async () => {
  const n = fc.integer({ min: 1, max: 50 });
  const simpo = (params: Record<string, number> = {}) =>
  async (pc: number, pr: number, nw: number, nl: number, rc = 0, rr = 0) =>
    await at("simpo", params)(pc, pr, rc, rr, { chosenTokens: v([nw]), rejectedTokens: v([nl]) });
  await fc.assert(
    fc.asyncProperty(lp, lp, n, n, lp, lp, fc.integer({ min: 2, max: 5 }), async (pc, pr, nw, nl, rc, rr, c) => {
      const f = simpo();
      const base = await f(pc, pr, nw, nl);
      assertClose([await f(pc, pr, nw, nl, rc, rr)], [base], { atol: 1e-12, message: "any reference" });
      assertClose([await f(c * pc, pr, c * nw, nl)], [base], { atol: 1e-12, rtol: 1e-12, message: "chosen scaled" });
      assertClose([await f(pc, c * pr, nw, c * nl)], [base], { atol: 1e-12, rtol: 1e-12, message: "rejected scaled" });
      assert.ok((await simpo({ gamma: 1.5 })(pc, pr, nw, nl)) > base, "a larger target margin γ costs more");
      // The derivative in lp_θ(y_w), by central differences.
      const beta = 2, e = 1e-5;
      const z = (beta * pc) / nw - (beta * pr) / nl - 0.5;
      const d = ((await f(pc + e, pr, nw, nl)) - (await f(pc - e, pr, nw, nl))) / (2 * e);
      assertClose([d], [-(beta / nw) / (1 + Math.exp(z))], { atol: 1e-7 });
    }),
    { numRuns: 50, seed: 36 },
  );
  assert.throws(() => lossRegistry.get("simpo").resolveParams({ gamma: -1 }), /params\.gamma: must be >= 0 \(got -1\)/);
  assert.deepEqual(lossRegistry.get("simpo").defaults, { beta: 2, gamma: 0.5 });
});
