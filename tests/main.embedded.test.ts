/**
 * The embedded base model (assets/embedded): it is where the package says, in Hugging Face layout
 * with the byte-level tokenizer marker, a few hundred KB, documented by its README (size, command);
 * it loads; and its KL(p_data ‖ π) and exact-match accuracy on two families (cap: 16 prompts,
 * add: 100 prompts) are what its eval.json / README say, within tolerance.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { initWasm } from "../backends/wasm.ts";
import { enumerateSyntheticPrompts, makeSyntheticTask } from "../data/synthetic.ts";
import { evaluateSynthetic } from "../eval/evaluate-synthetic.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { embeddedModelDir, embeddedTaskOptions } from "../cli/default-run.ts";

const dir = embeddedModelDir();
const recorded = JSON.parse(await readFile(join(dir, "eval.json"), "utf8"));

test("the embedded model folder: Hugging Face layout, byte-level tokenizer marker, a few hundred KB, README", async () => {
  const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  assert.equal(config.model_type, "gpt2");
  assert.equal(config.vocab_size, 259);
  assert.ok(config.n_positions >= 64 && config.n_positions <= 96, `context ${config.n_positions}`);
  const tokenizerConfig = JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8"));
  assert.equal(tokenizerConfig.tokenizer_class, "AlphaSpinByteTokenizer");
  const bytes = (await stat(join(dir, "model.safetensors"))).size;
  assert.ok(bytes < 4 * 1024 * 1024, `${bytes} bytes`);
  assert.equal(recorded.safetensorsBytes, bytes);
  const readme = await readFile(join(dir, "README.md"), "utf8");
  assert.ok(readme.includes(`${bytes} bytes`), "the README gives the file size");
  assert.ok(readme.includes(recorded.command), "the README gives the command that remakes it");
  assert.ok(recorded.kl > 0.1, "under-trained: clearly away from p_data");
  assert.ok(recorded.exactMatch > 0.5 && recorded.exactMatch < 0.98, "mostly right, not all");
});

test("the embedded model loads and its KL and exact match on two families are what eval.json says", async () => {
  await initWasm();
  const model = await loadHfModel(dir);
  try {
    const tokenizer = await loadTokenizer(dir);
    assert.equal(tokenizer.vocabSize, 259);
    assert.equal(model.config.vocabSize, 259);
    const heldOut = makeSyntheticTask(embeddedTaskOptions).heldOut.slice(0, 50);
    for (const family of ["cap", "add"] as const) {
      const prompts = enumerateSyntheticPrompts().filter((p) => p.family === family);
      const r = await evaluateSynthetic({ policy: new TransformerPolicy(model), tokenizer }, { prompts, heldOut });
      const kl = recorded.klByFamily[family], em = recorded.exactMatchByFamily[family];
      assert.ok(Math.abs(r.kl - kl) <= 2e-3 + 1e-3 * kl, `${family}: KL ${r.kl} vs recorded ${kl}`);
      assert.ok(Math.abs(r.exactMatch - em) <= 0.021, `${family}: exact match ${r.exactMatch} vs recorded ${em}`);
    }
  } finally {
    model.dispose();
  }
}, { timeout: 120_000 });
