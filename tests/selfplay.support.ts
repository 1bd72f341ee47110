/**
 * Fixtures of the self-play tests: a tiny GPT-2-family model with random seeded weights and a
 * byte-level tokenizer, saved as a Hugging Face folder in a temporary directory; a tiny
 * UltraChat-format JSONL file; and a small run config that finishes in seconds on the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeConfig } from "../models/config.ts";
import { saveHfModel } from "../models/hf-load.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { createTransformer } from "../models/transformer.ts";

/** A fresh temporary folder; `cleanup` removes it. */
export const tempDir = async (prefix = "alpha-spin-selfplay-"): Promise<{ dir: string; cleanup: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
};

/** UltraChat-style rows: one user turn and one assistant turn each. */
export const ultrachatRows = [
  { prompt_id: "p1", messages: [{ role: "user", content: "1+1=" }, { role: "assistant", content: "2" }] },
  { prompt_id: "p2", messages: [{ role: "user", content: "abc?" }, { role: "assistant", content: "cba" }] },
  { prompt_id: "p3", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] },
  { prompt_id: "p4", messages: [{ role: "user", content: "2*3=" }, { role: "assistant", content: "6" }] },
];

/** Write rows as JSONL. */
export const writeJsonlFile = async (path: string, rows: readonly unknown[]): Promise<void> => {
  await writeFile(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
};

/** Save a tiny gpt2 (vocab 259 = bytes + eos/pad/bos) with a byte tokenizer to `dir`. */
export const saveTinyModel = async (dir: string, seed = 3): Promise<void> => {
  const tok = new ByteTokenizer();
  const config = makeConfig({
    family: "gpt2",
    vocabSize: tok.vocabSize,
    hiddenSize: 16,
    numLayers: 1,
    numHeads: 2,
    maxPositions: 64,
    eosTokenIds: [tok.eosId!],
    bosTokenId: tok.bosId!,
    padTokenId: tok.padId!,
  });
  const model = createTransformer(config, { seed, initStd: 0.2 });
  await saveHfModel(model, dir);
  model.dispose();
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(tok.toConfig(), null, 2));
};

/** A temp folder with a tiny model (`model/`) and data (`train.jsonl`). */
export const setupFixture = async (): Promise<{ dir: string; modelDir: string; dataPath: string; cleanup: () => Promise<void> }> => {
  await tf.setBackend("cpu");
  const { dir, cleanup } = await tempDir();
  const modelDir = join(dir, "model");
  await saveTinyModel(modelDir);
  const dataPath = join(dir, "train.jsonl");
  await writeJsonlFile(dataPath, ultrachatRows);
  return { dir, modelDir, dataPath, cleanup };
};

/** A small run config over the fixture (2 iterations, a few steps each); an override of `undefined` drops the key. */
export const smallConfig = (
  fixture: { dir: string; modelDir: string; dataPath: string },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> => Object.fromEntries(Object.entries({
  name: "tiny",
  outputDir: join(fixture.dir, "runs", String(overrides.name ?? "tiny")),
  model: fixture.modelDir,
  data: { train: fixture.dataPath },
  backend: "cpu",
  seed: 7,
  iterations: 2,
  beta: 0.1,
  training: { epochs: 2, batchSize: 2, lr: 1e-2, warmupRatio: 0 },
  lora: { r: 2, alpha: 4, dropout: 0.1 },
  maxLength: 40,
  maxPromptLength: 16,
  generation: { maxNewTokens: 6, batchSize: 4 },
  ...overrides,
}).filter(([, v]) => v !== undefined));
