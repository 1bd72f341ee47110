/**
 * Pick and start a tfjs backend at run time: `loadBackend("wasm")`, or `loadBackend("auto")` for
 * the fastest that starts here (node-gpu, then webgpu on a hardware adapter, then node, blas, wasm,
 * cpu).
 * tfjs has one active backend per process: loading one switches every later tfjs op to it.
 * Loading also silences tfjs's console warnings (see quiet.ts).
 *
 * @module
 */
import { tfjsOps } from "./tfjs.ts";
import { quietTfjs } from "./quiet.ts";
import { initCpu } from "./cpu.ts";
import { initWasm, type WasmOptions } from "./wasm.ts";
import { initBlas } from "./blas.ts";
import { initWebgpu } from "./webgpu.ts";
import { initNode } from "./node.ts";
import { initNodeGpu } from "./node-gpu.ts";
import {
  type BackendInfo,
  backendNames,
  type BackendRequest,
  BackendUnavailableError,
  type LoadedBackend,
  type TfjsBackendName,
} from "./types.ts";

/** Options of `loadBackend`. */
export interface LoadBackendOptions {
  /** Where the wasm backend's `.wasm` files are (see `initWasm`). */
  readonly wasmPaths?: string;
  /** Install the fast wasm matrix-product kernels (see `initWasm`); default true. */
  readonly fastKernels?: boolean;
  /** BLAS threads of the `blas` backend (see `initBlas`); other backends ignore it. */
  readonly threads?: number;
}

/**
 * Start one named backend (no fallback); for `"webgpu"`, `allowFallbackAdapter` says whether a
 * software adapter is acceptable (default yes); for `"blas"`, `allowReferenceBlas` whether the slow
 * netlib reference BLAS is (default yes, with a warning).
 *
 * @example
 * ```ts
 * const info = await initBackend("cpu"); // { name: "cpu", tfBackend: "cpu", details: "..." }
 * ```
 */
export const initBackend = (
  name: TfjsBackendName,
  options: LoadBackendOptions & { readonly allowFallbackAdapter?: boolean; readonly allowReferenceBlas?: boolean } = {},
): Promise<BackendInfo> => {
  switch (name) {
    case "cpu":
      return initCpu();
    case "wasm":
      return initWasm(options as WasmOptions);
    case "blas":
      return initBlas({
        wasmPaths: options.wasmPaths,
        threads: options.threads,
        allowReference: options.allowReferenceBlas,
      });
    case "webgpu":
      return initWebgpu({ allowFallbackAdapter: options.allowFallbackAdapter });
    case "node":
      return initNode();
    case "node-gpu":
      return initNodeGpu();
  }
};

const isBackendRequest = (name: string): name is BackendRequest =>
  name === "auto" || (backendNames as readonly string[]).includes(name);

/**
 * Start the tfjs backend `name` and return it with the tensor ops. `"auto"` tries node-gpu, webgpu
 * (hardware adapters only), node, blas (a system BLAS found), wasm, cpu and takes the first that
 * starts. Throws a
 * BackendUnavailableError saying why (and what to install) when the named backend cannot start,
 * and a RangeError listing the valid names for an unknown one.
 *
 * @example
 * ```ts
 * const { ops, name } = await loadBackend("auto");
 * const y = ops.logSumExp(ops.fromArray([1, 2, 3], [3]));
 * console.log(name, await ops.toArray(y));
 * ```
 */
export const loadBackend = async (
  name: BackendRequest,
  options: LoadBackendOptions = {},
): Promise<LoadedBackend> => {
  if (!isBackendRequest(name)) {
    throw new RangeError(
      `unknown backend "${name}": expected one of auto, cpu, wasm, blas, webgpu, node, node-gpu`,
    );
  }
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(`threads must be a positive integer, got ${threads}`);
  }
  // The one thing tfjs would print here is its "install tfjs-node" banner (cpu backend, first
  // tensor); `alpha-spin backends` says that better. Workers start their backend here too.
  quietTfjs();
  if (name !== "auto") return { ...(await initBackend(name, options)), ops: tfjsOps };
  const failures: string[] = [];
  for (const candidate of backendNames) {
    try {
      const info = await initBackend(candidate, { ...options, allowFallbackAdapter: false, allowReferenceBlas: false });
      return { ...info, ops: tfjsOps };
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  throw new BackendUnavailableError("cpu", `no tfjs backend could start:\n  ${failures.join("\n  ")}`);
};
