/**
 * Fixtures of the serve tests: a tiny byte-level GPT-2 with a chat template and a LoRA adapter with
 * non-zero B (so the adapter changes the model), saved as a model folder and a PEFT folder; and a
 * running `alpha-spin serve` on a free loopback port.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startServe } from "../cli/serve.ts";
import { makeConfig } from "../models/config.ts";
import { saveHfModel } from "../models/hf-load.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { writePeftAdapter } from "../models/peft.ts";
import { ByteTokenizer } from "../models/tokenizer.ts";
import { createTransformer } from "../models/transformer.ts";
import { tempDir } from "./selfplay.support.ts";

/** The chat template of the fixture: plain "role: content" lines. */
export const chatTemplate =
  "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/** A model folder and an adapter folder in a temp dir. */
export interface ServeFixture {
  readonly dir: string;
  readonly modelDir: string;
  readonly adapterDir: string;
  readonly cleanup: () => Promise<void>;
}

/** Save the tiny model (vocab 259: bytes + eos/pad/bos; `maxPositions` positions) and an adapter. */
export const makeServeFixture = async (maxPositions = 64): Promise<ServeFixture> => {
  await tf.setBackend("cpu");
  const { dir, cleanup } = await tempDir("alpha-spin-serve-");
  const tok = new ByteTokenizer({ chatTemplate });
  const config = makeConfig({
    family: "gpt2",
    vocabSize: tok.vocabSize,
    hiddenSize: 16,
    numLayers: 1,
    numHeads: 2,
    maxPositions,
    eosTokenIds: [tok.eosId!],
    bosTokenId: tok.bosId!,
    padTokenId: tok.padId!,
  });
  const model = createTransformer(config, { seed: 5, initStd: 0.2 });
  const modelDir = join(dir, "model"), adapterDir = join(dir, "iter-1", "adapter");
  await saveHfModel(model, modelDir);
  await writeFile(join(modelDir, "tokenizer_config.json"), JSON.stringify(tok.toConfig(), null, 2));
  const adapter = createLoraAdapter(model, { r: 2, alpha: 4, seed: 1 });
  const record = await adapter.toRecord();
  let s = 11;
  const modules = Object.fromEntries(
    Object.entries(record.modules).map(([name, { A, B }]) => [name, {
      A,
      B: { shape: B.shape, data: B.data.map(() => ((s = (s * 48271) % 2147483647) / 2147483647 - 0.5)) },
    }]),
  );
  await writePeftAdapter(adapterDir, { settings: record.settings, modules });
  adapter.dispose(), model.dispose();
  return { dir, modelDir, adapterDir, cleanup };
};

/** `alpha-spin serve` on `port` (default 0: a free one) with the fixture's model ("tiny") and adapter ("iter-1"). */
export const serveFixture = async (
  fixture: ServeFixture,
  extra: readonly string[] = [],
  port = 0,
): Promise<{ url: string; port: number; close: () => Promise<void> }> => {
  const server = await startServe([
    "--model",
    fixture.modelDir,
    "--name",
    "tiny",
    "--adapter",
    `iter-1=${fixture.adapterDir}`,
    "--port",
    String(port),
    "--backend",
    "cpu",
    "--quiet",
    ...extra,
  ]);
  if (typeof server === "number") throw new Error(`serve exited with ${server}`);
  return server;
};
