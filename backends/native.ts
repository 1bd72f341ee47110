/**
 * Shared loader of the native TensorFlow backends (@tensorflow/tfjs-node and -gpu). Neither is a
 * dependency of alpha-spin: their install script downloads a TensorFlow C library, so a user opts
 * in by installing one. The package is loaded with a dynamic import whose specifier is a variable,
 * so neither TypeScript nor a bundler tries to resolve it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  activateTfBackend,
  type BackendInfo,
  BackendUnavailableError,
  type TfjsBackendName,
} from "./types.ts";

/** What a native backend needs: its npm package and the requirements to state when it is absent. */
export interface NativeBackendSpec {
  /** `"node"` or `"node-gpu"`. */
  readonly name: Extract<TfjsBackendName, "node" | "node-gpu">;
  /** The npm package, e.g. `"@tensorflow/tfjs-node"`. */
  readonly packageName: string;
  /** Platform requirements, one sentence. */
  readonly requirements: string;
}

/** True when an import error means "package not installed" rather than "failed while loading". */
const isNotFound = (e: unknown, packageName: string): boolean => {
  const message = e instanceof Error ? e.message : String(e);
  // Node: "Cannot find package '<name>' imported from ..."; Deno: "Import "<name>" not a dependency ...".
  // A missing dependency *of* the package names that dependency instead, and counts as a load failure.
  return message.includes(packageName) &&
    /cannot find|could not find|not found|not a dependency|unable to resolve/i.test(message);
};

/**
 * The install guidance for a native backend: the npm command and the requirements.
 *
 * @example
 * ```ts
 * import { nodeBackendSpec } from "./node.ts";
 * nativeInstallGuidance(nodeBackendSpec); // "install it with: npm install @tensorflow/tfjs-node@4.22.0 ..."
 * ```
 */
export const nativeInstallGuidance = (spec: NativeBackendSpec): string =>
  `install it with: npm install ${spec.packageName}@${tf.version.tfjs} (the same version as @tensorflow/tfjs; ` +
  `a Node.js native addon, untested under Deno). ${spec.requirements}`;

/**
 * Import a native backend's package and make tfjs run on it (tfjs calls it `"tensorflow"`).
 *
 * @example
 * ```ts
 * import { nodeBackendSpec } from "./node.ts";
 * await initNative(nodeBackendSpec); // throws BackendUnavailableError naming the package when absent
 * ```
 */
export const initNative = async (spec: NativeBackendSpec): Promise<BackendInfo> => {
  const specifier: string = spec.packageName; // a variable: not resolved at build time
  let module: { version?: Record<string, string> };
  try {
    module = await import(specifier);
  } catch (e) {
    const why = isNotFound(e, spec.packageName)
      ? `the optional package ${spec.packageName} is not installed`
      : `${spec.packageName} failed to load (${e instanceof Error ? e.message : String(e)})`;
    throw new BackendUnavailableError(spec.name, `${spec.name}: ${why}; ${nativeInstallGuidance(spec)}`, {
      cause: e,
    });
  }
  if (tf.findBackendFactory("tensorflow") == null) {
    throw new BackendUnavailableError(
      spec.name,
      `${spec.name}: ${spec.packageName} loaded but registered no "tensorflow" backend with this copy of ` +
        `@tensorflow/tfjs ${tf.version.tfjs}; ${nativeInstallGuidance(spec)}`,
    );
  }
  await activateTfBackend(spec.name, "tensorflow");
  const versions = module.version ?? {};
  const lib = versions["tfjs-node"] ?? versions["tfjs-node-gpu"] ?? tf.version.tfjs;
  return {
    name: spec.name,
    tfBackend: "tensorflow",
    details: `${spec.packageName} ${lib} (TensorFlow C library)`,
  };
};
