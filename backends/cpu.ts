/**
 * The tfjs `cpu` backend: plain JavaScript kernels, always available, the slowest. Useful as the
 * portable fallback and for debugging.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { activateTfBackend, type BackendInfo } from "./types.ts";

/**
 * Make tfjs run on its JavaScript `cpu` backend.
 *
 * @example
 * ```ts
 * const info = await initCpu(); // { name: "cpu", tfBackend: "cpu", details: "JavaScript kernels ..." }
 * ```
 */
export const initCpu = async (): Promise<BackendInfo> => {
  await activateTfBackend("cpu", "cpu");
  return { name: "cpu", tfBackend: "cpu", details: `JavaScript kernels, tfjs ${tf.version.tfjs}` };
};
