// The SPPO loop (`method: "sppo"`): win rates against a Float64 computation from the full
// preference matrix, the exact oracle against its closed form σ(log p_data(a) − log p_data(b)),
// the pairing of ranked samples, the config's decode errors (each naming its key), an SPPO run of
// 2 iterations on the embedded model and the synthetic task whose stored preferences and win rates
// are recomputed here, kills (a throwing handler, SIGKILL of a child process) and --resume equal to
// the uninterrupted run, a user-module oracle that
// is called, and the Bradley–Terry reward-model oracle (resumable too).
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { runChildUntilKilled } from "./selfplay.child-kill.ts";
import { answerDistribution, makeSyntheticTask } from "../data/synthetic.ts";
import { decodeRunConfig } from "../selfplay/config.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import type { GenerationRow } from "../selfplay/generation.ts";
import { exactPreference, oracleModuleFrom } from "../selfplay/oracle.ts";
import { pathToFileURL } from "node:url";
import type { PreferenceRow } from "../selfplay/phases/preferences.ts";
import { samplePairs, sppoPairs, upperIndex, winRates } from "../selfplay/win-rates.ts";
import { rngFromSeed, nextUint32 } from "../core/rng.ts";
import { tempDir, writeJsonlFile } from "./selfplay.support.ts";

const { dir, cleanup } = await tempDir("alpha-spin-sppo-");
const dataPath = join(dir, "train.jsonl");
const task = makeSyntheticTask({ seed: 5, nTrain: 4, nHeldOut: 0, nTest: 0 });
await writeJsonlFile(dataPath, task.train.map((e) => ({ id: e.id, prompt: e.prompt, completion: e.completion })));

const K = 3;
const sppoConfig = (name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  outputDir: join(dir, "runs", name),
  model: "embedded",
  data: { train: dataPath, schema: "prompt-completion" },
  backend: "cpu",
  seed: 11,
  iterations: 2,
  method: "sppo",
  sppo: { samples: K, pairs: "all" },
  training: { epochs: 2, batchSize: 1, lr: 1e-2, warmupRatio: 0 },
  lora: { r: 2, alpha: 4, dropout: 0.1 },
  maxLength: 40,
  maxPromptLength: 24,
  generation: { maxNewTokens: 8, batchSize: 4 },
  ...overrides,
});

const readJsonl = async <A>(path: string): Promise<A[]> =>
  (await readFile(path, "utf8")).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as A);

test("win rates: the mean preference against the other K − 1 samples, from the full matrix in Float64", () => {
  // Hand-worked K = 3: P(y0≻y1) = 0.9, P(y0≻y2) = 0.5, P(y1≻y2) = 0.2.
  assert.deepEqual(winRates(3, [0.9, 0.5, 0.2]).map((x) => Math.round(x * 1e12) / 1e12), [0.7, 0.15, 0.65]);
  const rng = rngFromSeed(3);
  for (const k of [2, 4, 7]) {
    const full = Array.from({ length: k }, () => new Float64Array(k));
    const upper: number[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const p = nextUint32(rng)[0] / 2 ** 32;
        full[i][j] = p;
        full[j][i] = 1 - p;
        upper.push(p);
      }
    }
    const expected = full.map((row, i) => row.reduce((s, p, j) => (j === i ? s : s + p), 0) / (k - 1));
    const got = winRates(k, upper);
    got.forEach((w, i) => assert.ok(Math.abs(w - expected[i]) < 1e-12, `K=${k}, sample ${i}: ${w} vs ${expected[i]}`));
    assert.ok(Math.abs(got.reduce((s, w) => s + w, 0) - k / 2) < 1e-12, "win rates sum to K/2");
    for (const [i, j] of samplePairs(k)) assert.equal(upper[upperIndex(k, i, j)], full[i][j]);
  }
  assert.throws(() => winRates(1, []), /K >= 2/);
  assert.throws(() => winRates(3, [0.5]), /needs 3 preferences/);
});

test("pairs: best-worst takes the top and bottom win rate; all pairs rank r with rank K − 1 − r (ties: lower index first)", () => {
  assert.deepEqual(sppoPairs([0.2, 0.9, 0.5, 0.4], "best-worst"), [{ chosen: 1, rejected: 0 }]);
  assert.deepEqual(sppoPairs([0.2, 0.9, 0.5, 0.4], "all"), [{ chosen: 1, rejected: 0 }, { chosen: 2, rejected: 3 }]);
  assert.deepEqual(sppoPairs([0.5, 0.5, 0.5], "all"), [{ chosen: 0, rejected: 2 }]);
});

test("the exact oracle is Bradley–Terry on log p_data: σ(log p(a) − log p(b)); 0 off the support or without EOS", () => {
  const prompt = task.train[0].prompt;
  const support = answerDistribution(prompt);
  assert.ok(support.length >= 2);
  const q = (a: string, b: string, fa = true, fb = true) =>
    exactPreference({ prompt, exampleId: "x", a: { text: a, finished: fa }, b: { text: b, finished: fb } }) as number;
  const [s0, s1] = support;
  const sigma = (z: number) => 1 / (1 + Math.exp(-z));
  assert.ok(Math.abs(q(s0.completion, s1.completion) - sigma(Math.log(s0.prob) - Math.log(s1.prob))) < 1e-12);
  assert.ok(Math.abs(q(s1.completion, s0.completion) + q(s0.completion, s1.completion) - 1) < 1e-12);
  assert.equal(q(s0.completion, "not an answer"), 1);
  assert.equal(q("not an answer", s0.completion), 0);
  assert.equal(q("nope", "also nope"), 0.5);
  assert.equal(q(s0.completion, s0.completion, false, true), 0, "an answer that did not end loses to the same one that did");
  assert.equal(q(s0.completion, s0.completion), 0.5);
});

test("decode errors name the key", () => {
  const base = { name: "x", data: { train: "t.jsonl" }, method: "sppo" };
  const message = (raw: Record<string, unknown>): string => {
    const r = decodeRunConfig(raw);
    assert.equal(r._tag, "Left", JSON.stringify(raw));
    return r._tag === "Left" ? r.left.message : "";
  };
  assert.match(message({ ...base, method: "ppo" }), /method/);
  assert.match(message({ ...base, sppo: { samples: 1 } }), /sppo\.samples.*>= 2/);
  assert.match(message({ ...base, sppo: { oracle: "magic" } }), /sppo\.oracle/);
  assert.match(message({ ...base, sppo: { oracle: { module: "" } } }), /sppo\.oracle\.module/);
  assert.match(message({ ...base, sppo: { eta: -1 } }), /sppo\.eta/);
  assert.match(message({ ...base, sppo: { eta: 2 }, beta: 0.5 }), /sppo\.eta: give the step size once/);
  assert.match(message({ ...base, sppo: { pairs: "some" } }), /sppo\.pairs/);
  assert.match(message({ ...base, sppo: { samplez: 3 } }), /sppo.*samplez/);
  assert.match(message({ ...base, h: 2 }), /^[\s\S]*\bh: must be 1 with method "sppo"/);
  assert.match(message({ ...base, opponent: "ema" }), /opponent: must be "window"/);
  assert.match(message({ ...base, reference: "arithmetic" }), /reference: must be "geometric"/);
  assert.match(message({ ...base, generation: { seeding: "example" } }), /generation\.seeding: must be "batch" with method "sppo"/);
  assert.match(message({ ...base, generation: { engine: "openai", openai: { baseUrl: "http://h:8000/v1", model: "m" } } }), /generation\.engine: must be "local"/);
  const ok = decodeRunConfig({ ...base, sppo: { eta: 4 } });
  assert.equal(ok._tag, "Right");
  if (ok._tag === "Right") {
    assert.equal(ok.right.loss.name, "sppo", "method sppo defaults the loss to sppo");
    assert.deepEqual(ok.right.sppo, { samples: 4, oracle: "exact", eta: 4, pairs: "best-worst", bt: { epochs: 2, lr: 1e-3, beta: 1 } });
  }
  const spin = decodeRunConfig({ name: "x", data: { train: "t.jsonl" } });
  assert.ok(spin._tag === "Right" && spin.right.method === "spin" && spin.right.loss.name === "sigmoid");
});

test("setup refuses: the sppo loss under method spin, an oracle module that cannot load, the exact oracle on other data", async () => {
  await assert.rejects(runSelfPlay({ config: sppoConfig("spin-sppo", { method: "spin", loss: { name: "sppo" } }) }), /win rates come with "method": "sppo"/);
  await assert.rejects(runSelfPlay({ config: sppoConfig("no-module", { sppo: { oracle: { module: join(dir, "missing.mjs") } } }) }), /sppo\.oracle\.module: cannot import/);
  const other = join(dir, "other.jsonl");
  await writeJsonlFile(other, [{ prompt: "hello\n", completion: "world" }]);
  await assert.rejects(
    runSelfPlay({ config: sppoConfig("not-synthetic", { data: { train: other, schema: "prompt-completion" } }) }),
    /sppo\.oracle: "exact" needs the synthetic task's prompts.*other\.jsonl:1/,
  );
});

/** The run's stored preferences recomputed with `oracle` from its stored samples, and the win rates from them. */
const checkStoredPreferences = async (runDir: string, t: number, oracle: (p: string, a: GenerationRow, b: GenerationRow) => number) => {
  const samples = await readJsonl<GenerationRow>(join(runDir, `iter-${t}`, "generations.jsonl"));
  const rows = await readJsonl<PreferenceRow>(join(runDir, `iter-${t}`, "preferences.jsonl"));
  assert.equal(samples.length, task.train.length * K);
  assert.equal(rows.length, task.train.length);
  rows.forEach((row, i) => {
    const mine = samples.slice(i * K, (i + 1) * K);
    assert.ok(mine.every((s) => s.exampleIndex === i && s.iterateId === (t === 1 ? "base" : `iter-${t - 1}`)));
    const expected = samplePairs(K).map(([a, b]) => oracle(task.train[i].prompt, mine[a], mine[b]));
    row.preferences.forEach((p, j) => assert.ok(Math.abs(p - expected[j]) < 1e-9, `example ${i}, pair ${j}: ${p} vs ${expected[j]}`));
    winRates(K, expected).forEach((w, j) => assert.ok(Math.abs(row.winRates[j] - w) < 1e-9));
  });
};

const exact = (prompt: string, a: GenerationRow, b: GenerationRow): number =>
  exactPreference({ prompt, exampleId: "x", a, b }) as number;

const outcome = async (runDir: string) => ({
  metrics: await readFile(join(runDir, "metrics.jsonl"), "utf8"),
  adapters: await Promise.all([1, 2].map(async (t) =>
    Buffer.from(await readFile(join(runDir, `iter-${t}`, "adapter", "adapter_model.safetensors"))).toString("base64")
  )),
});

const baseline = await runSelfPlay({ config: sppoConfig("baseline") });

test("an SPPO run from a config: K samples per prompt from π_{t−1}, exact preferences and win rates, the sppo loss", async () => {
  assert.equal(baseline.config.loss.name, "sppo");
  for (const t of [1, 2]) await checkStoredPreferences(baseline.runDir, t, exact);
  // "all" with K = 3: one pair per prompt (rank 1 with rank 3) per step of batch 1, 2 epochs.
  assert.equal(baseline.metrics.length, 2 * 4 * 2);
  assert.ok(baseline.metrics.every((m) => Number.isFinite(m.loss) && m.loss >= 0));
  const pairs = await readJsonl<{ chosen: string; rejected: string }>(join(baseline.runDir, "iter-2", "pairs.dpo.jsonl"));
  assert.equal(pairs.length, 4);
  const complete = JSON.parse(await readFile(join(baseline.runDir, "iter-2", "COMPLETE.json"), "utf8"));
  assert.ok(JSON.stringify(complete).includes("preferences.jsonl"));
}, { timeout: 120_000 });

test("killed during iteration 2's sampling, preferences or training, --resume ends equal to the uninterrupted run", async () => {
  // Sampling reports every batch of 4 (of 12 samples); preferences every prompt; training every step.
  for (const [name, phase, at] of [["kill-generate", "generate", 4], ["kill-preferences", "preferences", 2], ["kill-train", "train", 2]] as const) {
    const config = sppoConfig(name);
    let killed = false;
    await assert.rejects(runSelfPlay({
      config,
      onEvent: (e) => {
        if (!killed && e.type === "progress" && e.iteration === 2 && e.phase === phase && e.done === at) {
          killed = true;
          throw new Error("killed");
        }
      },
    }), /killed/);
    const resumed = await runSelfPlay({ config, resume: true });
    assert.equal(resumed.startedAt, 2);
    assert.deepEqual(await outcome(resumed.runDir), await outcome(baseline.runDir), name);
  }
}, { timeout: 240_000 });

test("a child process running SPPO killed with SIGKILL mid-training resumes to the same results", async () => {
  const config = sppoConfig("sigkill");
  const configPath = join(dir, "sigkill.json");
  await writeFile(configPath, JSON.stringify(config));
  await runChildUntilKilled(configPath, "2:3", "STEP 2 3");
  assert.ok(!(await readdir(join(String(config.outputDir), "iter-2"))).includes("COMPLETE.json"));
  const resumed = await runSelfPlay({ config, resume: true });
  assert.equal(resumed.startedAt, 2);
  assert.deepEqual(await outcome(resumed.runDir), await outcome(baseline.runDir));
}, { timeout: 180_000 });

test("a user-module oracle is imported and called for every pair of samples", async () => {
  const path = join(dir, "shorter-wins.mjs");
  await writeFile(path, [
    "export const preference = ({ a, b }) => {",
    "  globalThis.__sppoOracleCalls = (globalThis.__sppoOracleCalls ?? 0) + 1;",
    "  return a.text.length < b.text.length ? 1 : a.text.length > b.text.length ? 0 : 0.5;",
    "};",
  ].join("\n"));
  const g = globalThis as { __sppoOracleCalls?: number };
  g.__sppoOracleCalls = 0;
  const run = await runSelfPlay({ config: sppoConfig("module", { iterations: 1, sppo: { samples: K, oracle: { module: path } } }) });
  assert.equal(g.__sppoOracleCalls, task.train.length * (K * (K - 1)) / 2);
  const shorter = (_: string, a: GenerationRow, b: GenerationRow) => a.text.length < b.text.length ? 1 : a.text.length > b.text.length ? 0 : 0.5;
  await checkStoredPreferences(run.runDir, 1, shorter);
}, { timeout: 120_000 });

test("alpha-spin train takes an oracle module's path from the config file's folder, as it takes imports", () => {
  const raw = { name: "x", sppo: { samples: 3, oracle: { module: "./o.mjs" } } };
  assert.deepEqual(oracleModuleFrom(raw, join(dir, "cfg")), {
    name: "x",
    sppo: { samples: 3, oracle: { module: pathToFileURL(join(dir, "cfg", "o.mjs")).href } },
  });
  assert.deepEqual(oracleModuleFrom({ sppo: { oracle: "exact" } }, dir), { sppo: { oracle: "exact" } });
  const url = "file:///abs/o.mjs";
  assert.deepEqual(oracleModuleFrom({ sppo: { oracle: { module: url } } }, dir), { sppo: { oracle: { module: url } } });
});

test("the bt oracle: a reward model trained with bt_reward at iteration 1 and reused; preferences are σ(r(a) − r(b)); resumable", async () => {
  const btConfig = (name: string) => sppoConfig(name, { sppo: { samples: K, oracle: "bt", bt: { epochs: 2, lr: 1e-2 } } });
  const run = await runSelfPlay({ config: btConfig("bt") });
  const record = JSON.parse(await readFile(join(run.runDir, "iter-1", "reward-model", "reward-model.json"), "utf8"));
  assert.equal(record.pairs, task.train.length * K, "each SFT answer against each of its K samples from π_base");
  for (const t of [1, 2]) {
    const rows = await readJsonl<PreferenceRow>(join(run.runDir, `iter-${t}`, "preferences.jsonl"));
    for (const row of rows) {
      assert.ok(row.preferences.every((p) => p > 0 && p < 1), "a sigmoid of finite rewards");
      assert.ok(Math.abs(row.winRates.reduce((s, w) => s + w, 0) - K / 2) < 1e-9);
    }
  }
  // Killed in the reward model's second epoch (12 pairs, batch 1: step 14), resumed from its epoch checkpoint.
  const killed = btConfig("bt-killed");
  let steps = 0;
  await assert.rejects(runSelfPlay({
    config: killed,
    onEvent: (e) => {
      if (e.type === "progress" && e.phase === "reward-model" && ++steps === 14) throw new Error("killed");
    },
  }), /killed/);
  const resumed = await runSelfPlay({ config: killed, resume: true });
  assert.equal(resumed.startedAt, 1);
  assert.deepEqual(await outcome(resumed.runDir), await outcome(run.runDir));
}, { timeout: 240_000 });

test("cleanup", async () => {
  await cleanup();
});
