/**
 * The tfjs `webgpu` backend, on the runtime's `navigator.gpu`. Deno has one built in; Node gets one
 * from the optional npm package `webgpu` (Dawn's Node bindings, prebuilt for linux-x64, macOS and
 * Windows), installed on first use. On a machine without a GPU, Mesa's lavapipe gives Deno a real
 * (software) adapter: correct, but slower than `wasm`, so `"auto"` passes over such a fallback
 * adapter. Dawn refuses lavapipe, so Node finds no adapter there.
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

/** True under Node (not Deno, not a browser). */
const isNode = (): boolean =>
  !("Deno" in globalThis) &&
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

const nodeInstallHint = "install it with: npm install webgpu (Dawn's Node bindings, prebuilt for linux-x64, " +
  "macOS and Windows), or run under Deno (deno run -A ...), which has WebGPU built in";

let nodeGpu: Promise<GpuLike> | undefined;

/**
 * Give Node a `navigator.gpu` from the `webgpu` package: its WebGPU globals (GPUBufferUsage, …)
 * where missing, and `navigator.gpu = create([])`. Throws BackendUnavailableError saying how to
 * install the package when it does not load.
 */
const installNodeGpu = (): Promise<GpuLike> => {
  nodeGpu ??= (async () => {
    const specifier: string = "webgpu"; // a variable: an optional package, not resolved at build time
    let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    try {
      dawn = await import(specifier);
    } catch (e) {
      nodeGpu = undefined;
      throw new BackendUnavailableError(
        "webgpu",
        `webgpu: Node has no built-in WebGPU and the optional package webgpu did not load ` +
          `(${e instanceof Error ? e.message.split("\n")[0] : String(e)}); ${nodeInstallHint}`,
        { cause: e },
      );
    }
    const g = globalThis as Record<string, unknown> & { navigator?: { gpu?: GpuLike } };
    for (const [name, value] of Object.entries(dawn.globals)) if (!(name in g)) g[name] = value;
    const gpu = dawn.create([]);
    if (g.navigator === undefined) g.navigator = { gpu };
    else g.navigator.gpu = gpu;
    return gpu;
  })();
  return nodeGpu;
};

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
  const node = isNode();
  const gpu = gpuOf() ?? (node ? await installNodeGpu() : undefined);
  if (gpu === undefined) {
    throw new BackendUnavailableError(
      "webgpu",
      "webgpu: this runtime has no WebGPU (navigator.gpu is missing): run under Deno " +
        "(deno run -A ...), under Node with the webgpu package, or in a browser with WebGPU",
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
  if (adapter === null && node) {
    throw new BackendUnavailableError(
      "webgpu",
      "webgpu: Dawn (the webgpu package, Node's WebGPU) found no GPU adapter: it needs a GPU with a Vulkan, " +
        "Metal or D3D12 driver, and refuses Mesa's lavapipe software Vulkan (no shaderUniform*ArrayDynamicIndexing); " +
        "without a GPU use the blas or wasm backend (or Deno, whose WebGPU accepts lavapipe)",
    );
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
