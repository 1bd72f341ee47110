/**
 * The tfjs `webgpu` backend, on the runtime's `navigator.gpu` (Deno has it; Node does not). On a
 * machine without a GPU, Mesa's lavapipe gives Deno a real (software) adapter: correct, but slower
 * than `wasm`, so `"auto"` passes over such a fallback adapter.
 *
 * The backend package is imported only here, and only once an adapter has been found.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { activateTfBackend, type BackendInfo, BackendUnavailableError } from "./types.ts";

/** What the runtime says about its WebGPU adapter. */
export interface WebgpuAdapterInfo {
  /** Vendor, architecture and description, as far as the runtime reports them. */
  readonly description: string;
  /** True for a software adapter (e.g. lavapipe, SwiftShader). */
  readonly isFallbackAdapter: boolean;
}

// Minimal structural types for the parts of the WebGPU API used here (no DOM typings needed).
interface GpuAdapterLike {
  readonly info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<GpuAdapterLike | null>;
}

const gpuOf = (): GpuLike | undefined => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;

/**
 * Ask the runtime for a WebGPU adapter; throws BackendUnavailableError saying why when there is
 * none (no `navigator.gpu`, or no adapter).
 *
 * @example
 * ```ts
 * const adapter = await probeWebgpuAdapter(); // { description: "llvmpipe ...", isFallbackAdapter: true }
 * ```
 */
export const probeWebgpuAdapter = async (): Promise<WebgpuAdapterInfo> => {
  const gpu = gpuOf();
  if (gpu === undefined) {
    throw new BackendUnavailableError(
      "webgpu",
      "webgpu: this runtime has no WebGPU (navigator.gpu is missing); Node has none: run under Deno " +
        "(deno run -A ...) or in a browser with WebGPU",
    );
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw new BackendUnavailableError("webgpu", `webgpu: requesting an adapter failed: ${String(e)}`, {
      cause: e,
    });
  }
  if (adapter === null) {
    throw new BackendUnavailableError(
      "webgpu",
      "webgpu: navigator.gpu returned no adapter (no usable GPU driver; on Linux without a GPU, Mesa's " +
        "lavapipe Vulkan driver provides a software adapter)",
    );
  }
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.description].filter((s) => s).join(" ") ||
    "unknown adapter";
  return { description, isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) };
};

let loaded: Promise<unknown> | undefined;

/**
 * Make tfjs run on the `webgpu` backend. Set `allowFallbackAdapter: false` to refuse a software
 * adapter (what `"auto"` does).
 *
 * @example
 * ```ts
 * const info = await initWebgpu(); // { name: "webgpu", tfBackend: "webgpu", details: "llvmpipe ... (software)" }
 * ```
 */
export const initWebgpu = async (
  options: { readonly allowFallbackAdapter?: boolean } = {},
): Promise<BackendInfo> => {
  const adapter = await probeWebgpuAdapter();
  if (adapter.isFallbackAdapter && options.allowFallbackAdapter === false) {
    throw new BackendUnavailableError(
      "webgpu",
      `webgpu: only a software adapter (${adapter.description}) is available; ask for "webgpu" explicitly to use it`,
    );
  }
  try {
    loaded ??= import("@tensorflow/tfjs-backend-webgpu");
    await loaded;
  } catch (e) {
    loaded = undefined;
    throw new BackendUnavailableError(
      "webgpu",
      `webgpu: cannot load @tensorflow/tfjs-backend-webgpu: ${String(e)}`,
      {
        cause: e,
      },
    );
  }
  await activateTfBackend("webgpu", "webgpu");
  const kind = adapter.isFallbackAdapter ? " (software adapter)" : "";
  return {
    name: "webgpu",
    tfBackend: "webgpu",
    details: `${adapter.description}${kind}, tfjs ${tf.version.tfjs}`,
  };
};
