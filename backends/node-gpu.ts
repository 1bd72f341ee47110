/**
 * The tfjs `node-gpu` backend: the TensorFlow C library on an NVIDIA GPU (CUDA), through the
 * optional package @tensorflow/tfjs-node-gpu (not installed by alpha-spin; see docs/backends.md).
 *
 * @module
 */
import { initNative, type NativeBackendSpec } from "./native.ts";
import type { BackendInfo } from "./types.ts";

/** The package and requirements of the `node-gpu` backend. */
export const nodeGpuBackendSpec: NativeBackendSpec = {
  name: "node-gpu",
  packageName: "@tensorflow/tfjs-node-gpu",
  requirements: "It needs Linux x86_64 (or Windows) with an NVIDIA GPU, driver >= 450, CUDA Toolkit 11.2 " +
    "and cuDNN 8.1 (the versions tfjs-node-gpu 4.x is built against); its install script downloads the " +
    "GPU build of the TensorFlow C library.",
};

/**
 * Make tfjs run on @tensorflow/tfjs-node-gpu; throws BackendUnavailableError naming the package and
 * its CUDA requirements when it is absent.
 *
 * @example
 * ```ts
 * const info = await initNodeGpu(); // { name: "node-gpu", tfBackend: "tensorflow", ... }
 * ```
 */
export const initNodeGpu = (): Promise<BackendInfo> => initNative(nodeGpuBackendSpec);
