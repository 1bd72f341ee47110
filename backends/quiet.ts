/**
 * Silence tfjs's console chatter, chiefly the banner "Hi, looks like you are running TensorFlow.js
 * in Node.js …" that the cpu backend prints on its first tensor under Node and Deno (this library
 * says what to install itself: `alpha-spin backends`).
 *
 * tfjs routes its warnings through one function that stays quiet when the `PROD` or the `IS_TEST`
 * environment flag is set. `IS_TEST` also turns on a memory-leak check around every kernel (slow),
 * so this sets `PROD` (what `tf.enableProdMode()` does); in tfjs 4 `PROD` changes nothing else on
 * the cpu, wasm and WebGPU backends. The flag lives in tfjs's one global engine, so setting it once
 * per process (or worker) is enough, before or after a backend starts.
 *
 * @example
 * ```ts
 * import { quietTfjs } from "./backends/quiet.ts";
 * quietTfjs(); // no banner from the first cpu tensor
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Turn tfjs's console warnings off for this process (see the module comment). */
export const quietTfjs = (): void => {
  tf.env().set("PROD", true);
};
