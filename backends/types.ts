/**
 * Shared types of the tfjs backend loaders: backend names, what an initializer reports, and the
 * error raised when a backend cannot run here (with guidance on what to install).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorOps } from "../core/tensor.ts";

/** The tfjs backends alpha-spin can run on. */
export type TfjsBackendName = "cpu" | "wasm" | "blas" | "webgpu" | "node" | "node-gpu";

/** What `loadBackend` accepts: a backend name, or `"auto"` for the fastest that starts here. */
export type BackendRequest = TfjsBackendName | "auto";

/** Every backend name, in `"auto"` preference order (fastest first). */
export const backendNames: readonly TfjsBackendName[] = ["node-gpu", "webgpu", "node", "blas", "wasm", "cpu"];

/** What a backend initializer reports once tfjs runs on that backend. */
export interface BackendInfo {
  /** The alpha-spin name, e.g. `"node-gpu"`. */
  readonly name: TfjsBackendName;
  /**
   * The name tfjs knows it by (`tf.getBackend()`), e.g. `"tensorflow"` for node and node-gpu,
   * `"wasm"` for blas (the wasm backend with BLAS matrix products).
   */
  readonly tfBackend: string;
  /** One line about the backend here: threads and SIMD, the GPU adapter, the library version. */
  readonly details: string;
}

/** A started backend together with the tensor ops to use on it. */
export interface LoadedBackend extends BackendInfo {
  /** The differentiable tfjs `TensorOps` (the same object for every backend). */
  readonly ops: TensorOps<tf.Tensor>;
}

/**
 * A backend that cannot start here. `message` says why and what to do about it (for node and
 * node-gpu: the npm package to install and its requirements).
 *
 * @example
 * ```ts
 * try { await loadBackend("node"); } catch (e) {
 *   if (e instanceof BackendUnavailableError) console.log(e.backend, e.message);
 * }
 * ```
 */
export class BackendUnavailableError extends Error {
  /** The backend that failed to start. */
  readonly backend: TfjsBackendName;
  /** Create the error for `backend` with a message that says why and what to do. */
  constructor(backend: TfjsBackendName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BackendUnavailableError";
    this.backend = backend;
  }
}

/**
 * Make `tfName` tfjs's active backend and wait until it is ready; throws BackendUnavailableError
 * naming `name` when tfjs cannot initialize it.
 *
 * @example
 * ```ts
 * await activateTfBackend("cpu", "cpu");
 * ```
 */
export const activateTfBackend = async (name: TfjsBackendName, tfName: string): Promise<void> => {
  if (tf.findBackendFactory(tfName) == null) {
    throw new BackendUnavailableError(name, `${name}: tfjs has no backend "${tfName}" registered`);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    throw new BackendUnavailableError(name, `${name}: tfjs failed to initialize "${tfName}": ${String(e)}`, {
      cause: e,
    });
  }
  if (!ok) throw new BackendUnavailableError(name, `${name}: tfjs failed to initialize backend "${tfName}"`);
  await tf.ready();
};
