/**
 * Fingerprints of run configs and models, for the run manifest (a resume must use the same config
 * and base model) and for the reference log-prob cache (keyed by data + models).
 *
 * A model folder's fingerprint hashes every small file whole (config.json, adapter files, the
 * safetensors index, tokenizer files up to 4 MiB) and, for each large file, its size, its first
 * and last 64 KiB: a safetensors file begins with its header (names, dtypes, shapes, offsets), so a
 * different checkpoint changes the hash while a multi-gigabyte model is never read whole.
 *
 * @example
 * ```ts
 * const fp = await folderFingerprint("./SmolLM-135M"); // 64 hex digits
 * ```
 *
 * @module
 */
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex, stableStringify } from "../core/hash.ts";
import { configToHf } from "../models/hf-config.ts";
import type { Transformer } from "../models/transformer.ts";
import type { RunConfig } from "./config-types.ts";
import { fingerprintView } from "./config-engines.ts";
import { samplerFingerprintView } from "./sampler-config.ts";

const WHOLE_LIMIT = 4 << 20;
const EDGE = 64 << 10;

const readRange = async (path: string, position: number, length: number): Promise<Uint8Array> => {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
};

/**
 * The fingerprint of a folder's files (not recursive; hidden and temporary files skipped).
 *
 * @example
 * ```ts
 * await folderFingerprint("runs/demo/iter-1/adapter");
 * ```
 */
export const folderFingerprint = async (dir: string): Promise<string> => {
  const names = (await readdir(dir)).filter((n) => !n.startsWith(".")).sort();
  const parts: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path);
    if (!info.isFile()) continue;
    if (info.size <= WHOLE_LIMIT) {
      parts.push(`${name}:${info.size}:${sha256Hex(await readRange(path, 0, info.size))}`);
    } else {
      const head = sha256Hex(await readRange(path, 0, EDGE));
      const tail = sha256Hex(await readRange(path, info.size - EDGE, EDGE));
      parts.push(`${name}:${info.size}:${head}:${tail}`);
    }
  }
  return sha256Hex(parts.join("\n"));
};

/**
 * The fingerprint of a model held in memory: its config and, per weight, the name, the shape and
 * up to 4096 values spread over the tensor (read back once).
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
import type { RunConfig } from "./config-types.ts";
 * declare const model: Transformer;
 * await modelFingerprint(model); // 64 hex digits
 * ```
 */
export const modelFingerprint = async (model: Transformer): Promise<string> => {
  const parts = [JSON.stringify(configToHf(model.config))];
  for (const [name, v] of Object.entries(model.weights)) {
    const values = await v.data();
    const stride = Math.max(1, Math.floor(values.length / 4096));
    const sample: number[] = [];
    for (let i = 0; i < values.length; i += stride) sample.push(values[i]);
    parts.push(`${name}:${v.shape.join("x")}:${sha256Hex(new Uint8Array(new Float32Array(sample).buffer))}`);
  }
  return sha256Hex(parts.join("\n"));
};

/** Top-level keys the fingerprint leaves out by default: they name the run, not what it computes. */
export const fingerprintIgnoredKeys: readonly string[] = ["name", "outputDir"];

/**
 * SHA-256 (hex) of the config's stable JSON (keys sorted), without the top-level keys in `ignore`
 * and without where the phases run (config-engines.ts's `fingerprintView`), the loser sampler's
 * keys as sampler-config.ts's `samplerFingerprintView` shows them: the same for any key order,
 * different when any setting that changes the results changes.
 *
 * @example
 * ```ts
 * import type { RunConfig } from "./config-types.ts";
 * declare const config: RunConfig;
 * declare const storedFingerprint: string; // from the run's manifest
 * configFingerprint(config) === storedFingerprint; // else refuse to resume
 * ```
 */
export const configFingerprint = (
  config: RunConfig,
  ignore: readonly string[] = fingerprintIgnoredKeys,
): string => {
  // A SPIN run leaves the SPPO keys (and listwise when off) out, so run folders made before they existed still resume.
  const spinOnly = config.method === "spin" ? ["method", "sppo", ...(config.listwise ? [] : ["listwise"])] : [];
  const kept = Object.fromEntries(Object.entries(samplerFingerprintView(fingerprintView(config))).filter(([k]) => !ignore.includes(k) && !spinOnly.includes(k)));
  return sha256Hex(stableStringify(kept));
};
