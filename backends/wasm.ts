/**
 * The tfjs `wasm` backend (XNNPACK kernels compiled to WebAssembly). In Node and Deno it runs one
 * thread with SIMD; it is several times faster than `cpu` on matrix products.
 *
 * The backend package is imported only when asked for. Before its first start we point it at its
 * `.wasm` binaries: an explicit `wasmPaths` option wins; otherwise, in Node and Deno, the package's
 * `dist/` folder is found through Node module resolution (Deno's `nodeModulesDir: "manual"` keeps a
 * node_modules folder, so the same resolution works there).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { activateTfBackend, type BackendInfo, BackendUnavailableError } from "./types.ts";
import { installFastWasmKernels, uninstallFastWasmKernels } from "./wasm-kernels.ts";
import { uninstallBlasKernels } from "./blas-kernels.ts";

/** Options of `initWasm`. */
export interface WasmOptions {
  /**
   * Where the `.wasm` files are: a folder path or URL prefix ending in `/` (passed to tfjs's
   * `setWasmPaths`). Default: the installed package's `dist/` folder.
   */
  readonly wasmPaths?: string;
  /**
   * Install the fast matrix-product kernels of ./wasm-kernels.ts (XNNPACK's fast path for
   * transposed and batched products, 15–25× faster than the stock fallback loop that training
   * hits). Default true; false keeps the stock kernels (and removes the fast ones if installed).
   */
  readonly fastKernels?: boolean;
}

const wasmPackage = "@tensorflow/tfjs-backend-wasm";
const wasmBinary = "tfjs-backend-wasm-simd.wasm";

/** The wasm package's module, loaded once. */
type WasmModule = typeof import("@tensorflow/tfjs-backend-wasm");
let loaded: Promise<WasmModule> | undefined;
/** The prefix given to setWasmPaths ("" for the package default); fixed at the first start. */
let wasmPrefix: string | undefined;

/**
 * The folder holding the wasm backend's `.wasm` files, resolved from node_modules in Node and Deno,
 * as a path ending in the platform separator; `undefined` where it cannot be found (for example in
 * a browser, where the package's own default applies).
 *
 * @example
 * ```ts
 * await locateWasmFiles(); // "/app/node_modules/@tensorflow/tfjs-backend-wasm/dist/"
 * ```
 */
export const locateWasmFiles = async (): Promise<string | undefined> => {
  try {
    const { createRequire } = await import("node:module");
    const { dirname, join, sep } = await import("node:path");
    const { existsSync } = await import("node:fs");
    const candidates: string[] = [];
    try {
      candidates.push(dirname(createRequire(import.meta.url).resolve(wasmPackage)));
    } catch {
      // not resolvable from this file (e.g. a Deno JSR install): try the working directory below
    }
    const { cwd } = await import("node:process");
    candidates.push(join(cwd(), "node_modules", ...wasmPackage.split("/"), "dist"));
    const found = candidates.find((dir) => existsSync(join(dir, wasmBinary)));
    return found === undefined ? undefined : found + sep;
  } catch {
    return undefined; // no node:* modules here (a browser)
  }
};

const loadWasmModule = (): Promise<WasmModule> => {
  loaded ??= import("@tensorflow/tfjs-backend-wasm");
  return loaded;
};

/**
 * Make tfjs run on the `wasm` backend, loading the backend package and locating its binaries.
 *
 * @example
 * ```ts
 * const info = await initWasm(); // { name: "wasm", tfBackend: "wasm", details: "1 thread, SIMD ..." }
 * ```
 */
export const initWasm = async (options: WasmOptions = {}): Promise<BackendInfo> => {
  let wasm: WasmModule;
  try {
    wasm = await loadWasmModule();
  } catch (e) {
    throw new BackendUnavailableError("wasm", `wasm: cannot load ${wasmPackage}: ${String(e)}`, { cause: e });
  }
  if (wasmPrefix === undefined) {
    wasmPrefix = options.wasmPaths ?? (await locateWasmFiles()) ?? "";
    if (wasmPrefix !== "") wasm.setWasmPaths(wasmPrefix);
  }
  try {
    await activateTfBackend("wasm", "wasm");
  } catch (e) {
    const where = wasmPrefix === "" ? "the package's default location" : wasmPrefix;
    throw new BackendUnavailableError(
      "wasm",
      `${
        (e as Error).message
      }: could not load ${wasmBinary} from ${where} (set the wasmPaths option to the ` +
        `folder or URL prefix holding the .wasm files of ${wasmPackage}; it is fixed at the first start)`,
      { cause: e },
    );
  }
  uninstallBlasKernels(); // "wasm" means XNNPACK's products, also after the blas backend ran
  const fast = (options.fastKernels ?? true) ? installFastWasmKernels() : (uninstallFastWasmKernels(), false);
  const simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  const threads = wasm.getThreadsCount();
  return {
    name: "wasm",
    tfBackend: "wasm",
    details: `${threads} thread${threads === 1 ? "" : "s"}, SIMD ${
      simd ? "on" : "off"
    }, ${fast ? "fast" : "stock"} matMul kernels, tfjs ${tf.version.tfjs}`,
  };
};
