/**
 * The pieces of the saturation experiment that are not the sweep driver: Student's t quantile and
 * the 95 % interval (against closed forms and a numerical integral of the density), early stopping
 * with patience (against a by-hand trace), the "split" equal share (every iteration the same number
 * of pairs, disjoint, whatever the window) and the packaged-model lookup.
 */
import { assert, test } from "./harness.ts";
import { incompleteBeta, meanInterval, studentTCdf, studentTQuantile } from "../core/student-t.ts";
import { observeEarlyStopping, startEarlyStopping } from "../train/early-stopping.ts";
import { assignOpponents, type Iterate, opponentWindow } from "../samplers/history.ts";
import { rngFromSeed } from "../core/rng.ts";
import { readFile } from "node:fs/promises";
import { isPackagedModel, packagedModelDir } from "../models/embedded.ts";
import { modelFolder } from "../cli/model-input.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { resolveRunConfig } from "../selfplay/config.ts";
import { prepareRun } from "../selfplay/setup.ts";

const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("student t: quantiles equal the closed forms for 1, 2 and 4 degrees of freedom", () => {
  for (const p of [0.6, 0.9, 0.975, 0.995]) {
    close(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-9, `df 1, p ${p}`);
    close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-9, `df 2, p ${p}`);
    // ν = 4: t = 2·√(q − 1) with q = cos(arccos(√a)/3)/√a, a = 4p(1 − p) (p > 1/2).
    const a = 4 * p * (1 - p);
    const q = Math.cos(Math.acos(Math.sqrt(a)) / 3) / Math.sqrt(a);
    close(studentTQuantile(p, 4), 2 * Math.sqrt(q - 1), 1e-9, `df 4, p ${p}`);
    close(studentTQuantile(1 - p, 4), -2 * Math.sqrt(q - 1), 1e-9, `df 4, p ${1 - p}`);
  }
});

test("student t: the CDF equals Simpson's integral of the density (ν = 3, 5, 9)", () => {
  const lgamma = (x: number): number => { // Stirling series, x ≥ 10 after shifting
    let shift = 0;
    while (x < 10) shift -= Math.log(x++);
    return shift + (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
  };
  for (const df of [3, 5, 9]) {
    const c = Math.exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / Math.sqrt(df * Math.PI);
    const density = (t: number): number => c * (1 + (t * t) / df) ** (-(df + 1) / 2);
    for (const t of [0.3, 1.1, 2.5]) {
      const n = 2000, h = t / n;
      let s = density(0) + density(t);
      for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * density(i * h);
      close(studentTCdf(t, df), 0.5 + (s * h) / 3, 1e-9, `df ${df}, t ${t}`);
    }
  }
  close(incompleteBeta(0.3, 2, 3), 1 - 0.7 ** 4 - 4 * 0.3 * 0.7 ** 3, 1e-12, "I_0.3(2, 3) = P(Bin(4, 0.3) ≥ 2)");
});

test("student t: the 95 % interval of a mean is t_{0.975, n−1}·s/√n", () => {
  const xs = [0.61, 0.64, 0.6, 0.66, 0.62];
  const mean = 0.626;
  const s = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 4);
  const a = 4 * 0.975 * 0.025, q = Math.cos(Math.acos(Math.sqrt(a)) / 3) / Math.sqrt(a);
  const r = meanInterval(xs);
  close(r.mean, mean, 1e-12, "mean");
  close(r.halfWidth, 2 * Math.sqrt(q - 1) * s / Math.sqrt(5), 1e-9, "half-width");
  assert.ok(Number.isNaN(meanInterval([1]).halfWidth));
  assert.throws(() => studentTQuantile(1, 3), /p must be in/);
});

test("early stopping: stops after `patience` evaluations without an improvement > minDelta, best kept", () => {
  let s = startEarlyStopping({ patience: 2, minDelta: 0.01 });
  const trace: [number, number, boolean, boolean][] = [ // step, value, improved, stop
    [100, 1.0, true, false],
    [200, 0.8, true, false],
    [300, 0.795, false, false], // better, but by less than minDelta
    [400, 0.7, true, false],
    [500, 0.75, false, false],
    [600, NaN, false, true],
  ];
  for (const [step, value, improved, stop] of trace) {
    s = observeEarlyStopping(s, step, value);
    assert.equal(s.improved, improved, `step ${step} improved`);
    assert.equal(s.stop, stop, `step ${step} stop`);
  }
  assert.equal(s.bestStep, 400);
  assert.equal(s.best, 0.7);
  assert.deepEqual(s.curve.map((p) => p.step), [100, 200, 300, 400, 500, 600]);
  assert.throws(() => startEarlyStopping({ patience: 0, minDelta: 0 }), /patience/);
});

test("equal share \"split\": every iteration the same number of pairs, disjoint, equal per member", () => {
  const iterates: Iterate[] = [0, 1, 2, 3].map((i) => ({ index: i, id: i === 0 ? "base" : `iter-${i}` }));
  for (const h of [1, 2, "all"] as const) {
    for (let t = 1; t <= 4; t++) {
      const window = opponentWindow(iterates.slice(0, t), h);
      const { pairs } = assignOpponents(rngFromSeed(t), 192, window, "equal-share", { pairsPerMember: "split" });
      const size = window.members.length;
      assert.equal(pairs.length, size * Math.floor(192 / size), `h ${h}, t ${t}`);
      assert.equal(new Set(pairs.map((p) => p.exampleIndex)).size, pairs.length, "disjoint");
      for (const m of window.members) {
        assert.equal(pairs.filter((p) => p.iterate.id === m.id).length, Math.floor(192 / size));
      }
    }
  }
  const config = resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, equalShare: { pairsPerMember: "split" } });
  assert.equal(config.equalShare.pairsPerMember, "split");
  assert.throws(() => resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, equalShare: { pairsPerMember: "half" } }), /pairsPerMember/);
});

test("packaged models: \"embedded-sft\" is a folder under assets/ that loads, and it was trained until converged", async () => {
  assert.ok(isPackagedModel("embedded") && isPackagedModel("embedded-sft") && !isPackagedModel("runs/x"));
  assert.match(packagedModelDir("embedded"), /assets[\\/]embedded$/);
  const dir = await modelFolder("embedded-sft");
  assert.match(dir, /assets[\\/]embedded-sft$/);
  const model = await loadHfModel(dir, { trainable: false });
  try {
    assert.equal(model.config.hiddenSize, 64);
    assert.equal(model.config.numLayers, 2);
  } finally {
    model.dispose();
  }
  const info = JSON.parse(await readFile(`${dir}/eval.json`, "utf8"));
  assert.equal(info.earlyStopping.converged, true);
  const curve: { step: number; value: number }[] = info.earlyStopping.curve;
  let best = Infinity, bestStep = -1; // the rule by hand: a new best beats the old by more than minDelta
  for (const p of curve) if (p.value < best - info.earlyStopping.minDelta) [best, bestStep] = [p.value, p.step];
  assert.equal(bestStep, info.earlyStopping.bestStep);
  // converged: the last `patience` evaluations did not beat the best by more than minDelta
  const tail = curve.slice(-info.earlyStopping.patience);
  assert.ok(tail.every((p) => p.value > best - info.earlyStopping.minDelta));
});

test("a run config with model \"embedded-sft\" prepares a run on the converged model", async () => {
  const data = [{ id: "0", where: "test 0", prompt: "add 1 2\n", completion: "3", promptMessages: null }];
  const ready = await prepareRun({
    config: { name: "sft-base", model: "embedded-sft", backend: "cpu", data: { train: "unused.jsonl" }, maxLength: 64, maxPromptLength: 32 },
    data,
  });
  try {
    assert.match(ready.modelDir ?? "", /assets[\\/]embedded-sft$/);
    assert.match(ready.tokenizerDir ?? "", /assets[\\/]embedded-sft$/);
    assert.equal(ready.base.config.hiddenSize, 64);
  } finally {
    if (ready.ownsBase) ready.base.dispose();
  }
});
