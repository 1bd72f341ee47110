/**
 * Where the embedded base models live in the package: small GPT-2-style byte-level models trained
 * on the synthetic task (scripts/train-embedded.ts). `"embedded"` (assets/embedded/) is stopped
 * early on purpose, and is loaded for a run config's `model: "embedded"` and by the `alpha-spin
 * spin` demo; `"embedded-sft"` (assets/embedded-sft/) is the same recipe trained until its held-out
 * NLL stopped improving (`--until-converged`), for a run config's `model: "embedded-sft"`.
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

/** The names of the packaged models, each the name of its folder under assets/. */
export const packagedModels = ["embedded", "embedded-sft"] as const;
/** A packaged model's name. */
export type PackagedModel = typeof packagedModels[number];

/**
 * Whether a run config's or command's `model` value names a packaged model.
 *
 * @example
 * ```ts
 * isPackagedModel("embedded-sft"); // true
 * isPackagedModel("runs/my-model"); // false
 * ```
 */
export const isPackagedModel = (name: string): name is PackagedModel => (packagedModels as readonly string[]).includes(name);

const candidates = (name: PackagedModel = "embedded"): string[] => [
  fileURLToPath(new URL(`../assets/${name}`, import.meta.url)), // source tree (tsx, deno)
  fileURLToPath(new URL(`../../assets/${name}`, import.meta.url)), // dist/models/ of the npm package
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
export const embeddedModelDir = (): string => packagedModelDir("embedded");

/**
 * The folder of a packaged model (Hugging Face layout). Throws when the package has none.
 *
 * @example
 * ```ts
 * const dir = packagedModelDir("embedded-sft"); // ".../assets/embedded-sft"
 * ```
 */
export const packagedModelDir = (name: PackagedModel): string => {
  const found = candidates(name).find((dir) => existsSync(`${dir}/config.json`));
  if (found === undefined) {
    const remake = name === "embedded" ? "npx tsx scripts/train-embedded.ts" : "npx tsx scripts/train-embedded.ts --until-converged";
    throw new Error(`the packaged model "${name}" is missing (looked in ${candidates(name).join(", ")}); remake it with "${remake}"`);
  }
  return found;
};
