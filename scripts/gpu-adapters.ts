/**
 * The WebGPU adapters this runtime sees, as one JSON object: for each power preference (default,
 * high-performance, low-power, and a forced fallback) the adapter's vendor, architecture,
 * description and whether it is a software adapter — or why there is none. Under Node the
 * `navigator.gpu` comes from the webgpu package (backends/webgpu.ts installs it).
 *
 *   deno run -A scripts/gpu-adapters.ts
 *   npx tsx scripts/gpu-adapters.ts
 */
import process from "node:process";
import { probeWebgpuAdapter } from "../backends/webgpu.ts";

interface AdapterLike {
  readonly info?: Record<string, unknown>;
  readonly isFallbackAdapter?: boolean;
  readonly features?: Iterable<string>;
  readonly limits?: Record<string, unknown>;
}
type Gpu = { requestAdapter(options?: unknown): Promise<AdapterLike | null> };

const runtime = "Deno" in globalThis
  ? `deno ${(globalThis as { Deno?: { version: { deno: string } } }).Deno!.version.deno}`
  : `node ${process.version}`;
const result: Record<string, unknown> = { runtime };
try {
  result.probe = await probeWebgpuAdapter(); // installs navigator.gpu under Node
} catch (e) {
  result.probe = { error: (e as Error).message };
}
const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
if (gpu !== undefined) {
  const requests: Record<string, unknown> = {
    default: undefined,
    "high-performance": { powerPreference: "high-performance" },
    "low-power": { powerPreference: "low-power" },
    fallback: { forceFallbackAdapter: true },
  };
  for (const [name, options] of Object.entries(requests)) {
    try {
      const adapter = await gpu.requestAdapter(options);
      result[name] = adapter === null ? null : {
        // GPUAdapterInfo's fields are getters on its prototype: copy them by name
        info: Object.fromEntries(
          ["vendor", "architecture", "device", "description"].map((k) => [k, adapter.info?.[k] ?? ""]),
        ),
        isFallbackAdapter: Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter),
        maxBufferSize: adapter.limits?.maxBufferSize,
        features: adapter.features === undefined ? [] : [...adapter.features].sort(),
      };
    } catch (e) {
      result[name] = { error: String(e) };
    }
  }
}
console.log(JSON.stringify(result, null, 2));
