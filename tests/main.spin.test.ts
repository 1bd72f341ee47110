/**
 * The main job with a very small budget (1 iteration, 8 pairs, 1 epoch, a 12-prompt evaluation):
 * `alpha-spin spin` writes the run folder with a complete iterate (PEFT adapter, marker, metrics),
 * the winners' JSONL, the evaluation cache and report.html; a second call continues the finished
 * run instead of refusing it, and so does `train --resume` on its config.json; bad options exit with code 2. Variant parsing is checked on its own.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { evaluationPrompts, parseVariants, spinCommand } from "../cli/spin.ts";
import { runSelfPlay } from "../selfplay/loop.ts";

const common = { iterations: 3, alpha: 0.9, beta: 1, h: 1 as number | "all", seed: 42, epochs: 2, lr: 2e-3 };

test("parseVariants: h, all, alpha, beta, seed and combinations; unknown settings are refused", () => {
  const v = parseVariants("h=1,h=2,all,alpha=0.5,h=2:alpha=1", common);
  assert.deepEqual(v.map((x) => x.name), ["h=1", "h=2", "h=all", "alpha=0.5", "h=2:alpha=1"]);
  assert.deepEqual(v.map((x) => x.settings.h), [1, 2, "all", 1, 2]);
  assert.deepEqual(v.map((x) => x.settings.alpha), [0.9, 0.9, 0.9, 0.5, 1]);
  assert.deepEqual(v.map((x) => x.dirName), ["h-1", "h-2", "h-all", "alpha-0.5", "h-2_alpha-1"]);
  assert.throws(() => parseVariants("gamma=1", common), /unknown setting "gamma=1"/);
  assert.throws(() => parseVariants("h=0", common), /integer >= 1/);
  assert.throws(() => parseVariants("alpha=x", common), /--variants: alpha=x: must be in \[0, 1\] \(got "x"\)/);
  assert.throws(() => parseVariants("h=1,h=1", common), /twice/);
});

test("evaluationPrompts spreads a subset over the families", () => {
  assert.equal(evaluationPrompts(0), undefined);
  const subset = evaluationPrompts(12)!;
  assert.equal(subset.length, 12);
  assert.deepEqual([...new Set(subset.map((p) => p.family))].sort(), ["add", "cap", "rev", "up"]);
});

test("bad options exit with code 2 before any work", async () => {
  assert.equal(await spinCommand(["--history", "0", "--quiet"]), 2);
  assert.equal(await spinCommand(["--variants", "beta", "--quiet"]), 2);
  assert.equal(await spinCommand(["--pairs", "0", "--quiet"]), 2);
  assert.equal(await spinCommand(["--no-such-flag"]), 2);
});

test("spin with a tiny budget writes the iterate, the evaluation and report.html; a second call continues it", async () => {
  const out = await mkdtemp(join(tmpdir(), "alpha-spin-main-"));
  const args = ["--iterations", "1", "--pairs", "8", "--epochs", "1", "--eval-size", "12", "--out", out, "--quiet"];
  try {
    assert.equal(await spinCommand(args), 0);
    const top = (await readdir(out)).sort();
    for (const name of ["config.json", "eval", "iter-1", "metrics.jsonl", "report.html", "run.json", "train.jsonl"]) {
      assert.ok(top.includes(name), `${name} in ${top.join(", ")}`);
    }
    const iter = await readdir(join(out, "iter-1"));
    assert.ok(iter.includes("COMPLETE.json"), iter.join(", "));
    assert.deepEqual((await readdir(join(out, "iter-1", "adapter"))).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
    const train = (await readFile(join(out, "train.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(train.length, 8);
    assert.ok(typeof train[0].prompt === "string" && typeof train[0].completion === "string");
    assert.equal(train[0].id, "train-0");
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
    assert.equal(config.iterations, 1);
    assert.equal(config.alpha, 0.9);
    assert.equal(config.data.train, join(out, "train.jsonl"));
    const cached = JSON.parse(await readFile(join(out, "eval", "iter-1.json"), "utf8"));
    assert.ok(cached.evaluation.kl > 0 && Number.isFinite(cached.evaluation.kl));
    const html = await readFile(join(out, "report.html"), "utf8");
    assert.ok(html.includes('data-plot="iter-kl"') && html.includes('data-plot="step-loss"'));
    assert.ok(html.includes("0 (base)"), "the table starts at the base model");
    // The sample table of iteration 1: six of the 8 winners evenly spaced (index ⌊(i + ½)·8/6⌋), the opponent's answer
    // being the base model's generation stored in iter-1/generations.jsonl.
    const generations = (await readFile(join(out, "iter-1", "generations.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(cached.samples.iteration, 1);
    assert.deepEqual(cached.samples.rows.map((r: { exampleId: string }) => r.exampleId), [0, 2, 3, 4, 6, 7].map((i) => `train-${i}`));
    for (const r of cached.samples.rows as { exampleId: string; data: string; opponent: string }[]) {
      const g = generations.find((x: { exampleId: string; iterate: number }) => x.exampleId === r.exampleId && x.iterate === 0);
      assert.equal(r.opponent, g.text, r.exampleId);
      assert.equal(r.data, train.find((t: { id: string }) => t.id === r.exampleId).completion, r.exampleId);
    }
    assert.ok(html.includes('<table class="samples" data-iteration="1">'), "the report shows the sample table");
    assert.ok(html.includes("SPIN α = 1 (stored, docs/results.md)") && html.includes("continued SFT (stored"), "stored baselines");

    // Again: the finished run is continued (nothing left to train), re-evaluated from the cache.
    const before = (await readFile(join(out, "iter-1", "COMPLETE.json"), "utf8"));
    assert.equal(await spinCommand(args), 0);
    assert.equal(await readFile(join(out, "iter-1", "COMPLETE.json"), "utf8"), before);
    // `alpha-spin train --config <out>/config.json --resume` continues the same run: the folder is
    // fingerprinted the same way whether spin or train loaded the embedded model.
    const resumed = await runSelfPlay({ config: JSON.parse(await readFile(join(out, "config.json"), "utf8")), resume: true });
    assert.equal(resumed.startedAt, 2, "nothing left to train");
    // Another config in the same folder is refused (exit 1 through main; here the error propagates).
    await assert.rejects(spinCommand([...args, "--alpha", "0.5"]), /another config/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, { timeout: 300_000 });
