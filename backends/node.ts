/**
 * The tfjs `node` backend: the TensorFlow C library on the CPU, through the optional package
 * @tensorflow/tfjs-node (not installed by alpha-spin; see docs/backends.md).
 *
 * @module
 */
import { initNative, type NativeBackendSpec } from "./native.ts";
import type { BackendInfo } from "./types.ts";

/** The package and requirements of the `node` backend. */
export const nodeBackendSpec: NativeBackendSpec = {
  name: "node",
  packageName: "@tensorflow/tfjs-node",
  requirements: "Its install script downloads a prebuilt TensorFlow C library (network access at install " +
    "time; Linux, macOS or Windows on x86_64, other platforms build from source).",
};

/**
 * Make tfjs run on @tensorflow/tfjs-node; throws BackendUnavailableError naming the package to
 * install when it is absent.
 *
 * @example
 * ```ts
 * const info = await initNode(); // { name: "node", tfBackend: "tensorflow", ... }
 * ```
 */
export const initNode = (): Promise<BackendInfo> => initNative(nodeBackendSpec);
