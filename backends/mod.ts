/**
 * Tensor backends: the exact Float64 reference implementation of `TensorOps`, the differentiable
 * tfjs adapter, and the loader that starts a tfjs backend (cpu, wasm, blas, webgpu, node, node-gpu)
 * at run time.
 *
 * @example
 * ```ts
 * import { loadBackend, referenceOps, refToArraySync } from "./backends/mod.ts";
 * refToArraySync(referenceOps.softplus(referenceOps.fromArray([0], [1]))); // [0.6931...]
 * const { ops } = await loadBackend("wasm");
 * ```
 *
 * @module
 */
export { referenceOps, type RefTensor, refToArraySync } from "./reference.ts";
export { tfjsOps } from "./tfjs.ts";
export { quietTfjs } from "./quiet.ts";
export {
  type BackendInfo,
  backendNames,
  type BackendRequest,
  BackendUnavailableError,
  type LoadedBackend,
  type TfjsBackendName,
} from "./types.ts";
export { initBackend, loadBackend, type LoadBackendOptions } from "./load.ts";
export { type BackendStatus, listBackends, matmulSelfTest, type SelfTestResult } from "./list.ts";
export { initCpu } from "./cpu.ts";
export { initWasm, locateWasmFiles, type WasmOptions } from "./wasm.ts";
export { fastWasmKernelsInstalled, installFastWasmKernels, uninstallFastWasmKernels } from "./wasm-kernels.ts";
export { type BlasOptions, DEFAULT_BLAS_THREADS, describeBlas, initBlas } from "./blas.ts";
export { type BlasKind, type BlasLibrary, BlasUnavailableError, openBlas } from "./blas-library.ts";
export { blasKernelsLibrary, installBlasKernels, uninstallBlasKernels } from "./blas-kernels.ts";
export { initWebgpu, probeWebgpuAdapter, type WebgpuAdapterInfo } from "./webgpu.ts";
export { initNode, nodeBackendSpec } from "./node.ts";
export { initNodeGpu, nodeGpuBackendSpec } from "./node-gpu.ts";
export { type NativeBackendSpec, nativeInstallGuidance } from "./native.ts";
