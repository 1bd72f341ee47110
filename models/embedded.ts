/**
 * Where the embedded base model lives in the package: a small GPT-2-style byte-level model trained
 * on the synthetic task (scripts/train-embedded.ts), loaded for a run config's `model: "embedded"`
 * and by the `alpha-spin spin` demo.
 *
 * @example
 * ```ts
 * import { embeddedModelDir } from "./embedded.ts";
 * const dir = embeddedModelDir(); // ".../assets/embedded"
 * ```
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const candidates = (): string[] => [
  fileURLToPath(new URL("../assets/embedded", import.meta.url)), // source tree (tsx, deno)
  fileURLToPath(new URL("../../assets/embedded", import.meta.url)), // dist/models/ of the npm package
];

/**
 * The folder of the embedded base model (Hugging Face layout: config.json, model.safetensors,
 * tokenizer_config.json). Throws when the package has none.
 *
 * @example
 * ```ts
 * const dir = embeddedModelDir();
 * ```
 */
export const embeddedModelDir = (): string => {
  const found = candidates().find((dir) => existsSync(`${dir}/config.json`));
  if (found === undefined) {
    throw new Error(`the embedded model is missing (looked in ${candidates().join(", ")}); remake it with "npx tsx scripts/train-embedded.ts"`);
  }
  return found;
};
