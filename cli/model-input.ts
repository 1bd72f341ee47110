/**
 * What `score` and `generate` share about their model: `--model embedded` (the model shipped with
 * the package, as in `eval` and `spin`), and naming the first weight that holds NaN or ±Infinity
 * when a result comes out non-finite (the usual cause: a diverged adapter or a broken checkpoint).
 *
 * @example
 * ```ts
 * import { loadHfModel } from "../models/hf-load.ts";
 * const dir = await modelFolder("embedded");                        // ".../assets/embedded"
 * const bad = await firstNonFiniteWeight(await loadHfModel(dir), null); // e.g. "transformer.wte.weight", or null
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { pathExists } from "../models/fs.ts";
import type { LoraAdapter } from "../models/lora.ts";
import type { Transformer } from "../models/transformer.ts";
import { isPackagedModel, packagedModelDir } from "../models/embedded.ts";

/**
 * The folder of a `--model` value: "embedded" and "embedded-sft" are the packaged models (unless a
 * folder of that name exists here), anything else a Hugging Face model folder.
 *
 * @example
 * ```ts
 * await modelFolder("./gpt2"); // "./gpt2"
 * ```
 */
export const modelFolder = async (model: string): Promise<string> =>
  isPackagedModel(model) && !(await pathExists(model)) ? packagedModelDir(model) : model;

const allFinite = async (v: tf.Tensor): Promise<boolean> => {
  const flag = tf.tidy(() => tf.all(tf.isFinite(v)));
  const [ok] = await flag.data();
  flag.dispose();
  return ok === 1;
};

/**
 * The name of the first parameter (base model, then adapter) holding NaN or ±Infinity, or null.
 *
 * @example
 * ```ts
 * import { loadHfModel } from "../models/hf-load.ts";
 * const model = await loadHfModel("./gpt2");
 * if ((await firstNonFiniteWeight(model, null)) !== null) throw new Error("broken checkpoint");
 * ```
 */
export const firstNonFiniteWeight = async (model: Transformer, adapter: LoraAdapter | null): Promise<string | null> => {
  for (const [name, v] of Object.entries(model.weights)) if (!(await allFinite(v))) return name;
  for (const [module, pair] of adapter?.modules ?? []) {
    if (!(await allFinite(pair.A))) return `adapter ${module}.lora_A`;
    if (!(await allFinite(pair.B))) return `adapter ${module}.lora_B`;
  }
  return null;
};

/**
 * The error for a non-finite result at `where`, naming the weight that causes it when one does.
 *
 * @example
 * ```ts
 * import { loadHfModel } from "../models/hf-load.ts";
 * const model = await loadHfModel("./gpt2");
 * throw await nonFiniteResultError("q.jsonl:3", "log-probability", NaN, model, null);
 * ```
 */
export const nonFiniteResultError = async (
  where: string,
  what: string,
  value: number,
  model: Transformer,
  adapter: LoraAdapter | null,
): Promise<Error> => {
  const weight = await firstNonFiniteWeight(model, adapter);
  return new Error(
    `${where}: the ${what} is ${value}` +
      (weight === null
        ? " (the model's weights are finite: the computation overflowed)"
        : `: the weights hold NaN or infinite values (first: ${weight})`),
  );
};
