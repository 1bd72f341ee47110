/**
 * The run config's `imports`: modules a run imports before it resolves its loss, so a loss
 * registered in code (`lossRegistry.register(myLoss)` at a module's top level) can be named in
 * `loss.name`. The same modules are passed to the gradient workers (`workerImports`), whose loss
 * registries are their own. Paths are taken from the current folder (`alpha-spin train` first
 * makes the config's paths absolute from the config file's folder).
 *
 * @example
 * ```ts
 * const urls = await importRunModules({ name: "x", imports: ["./my-loss.ts"], data: { train: "t.jsonl" } });
 * urls; // ["file:///home/me/project/my-loss.ts"]
 * ```
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../core/config.ts";

/**
 * The module URL of an `imports` entry: a URL (`file:`, `npm:`, `jsr:`, `https:`) as it is, a path
 * resolved from `base` (default: the current folder).
 *
 * @example
 * ```ts
 * importUrl("./my-loss.ts", "/home/me/run"); // "file:///home/me/run/my-loss.ts"
 * ```
 */
export const importUrl = (entry: string, base?: string): string =>
  /^[a-z][a-z0-9+.-]*:/i.test(entry) && !/^[a-z]:[\\/]/i.test(entry) // a URL, not a Windows drive path
    ? entry
    : pathToFileURL(isAbsolute(entry) ? entry : resolve(base ?? ".", entry)).href;

/**
 * Import the modules a raw run config lists in `imports` (a missing or malformed `imports` is left
 * to the config codec, which reports it with the other problems); resolves to their URLs. A
 * module that cannot be imported is refused naming its entry and the reason.
 *
 * @example
 * ```ts
 * const workerImports = await importRunModules({ name: "x", data: { train: "t.jsonl" }, imports: ["./my-loss.ts"] });
 * ```
 */
export const importRunModules = async (raw: unknown): Promise<string[]> => {
  const list = typeof raw === "object" && raw !== null ? (raw as { imports?: unknown }).imports : undefined;
  if (!Array.isArray(list) || !list.every((e) => typeof e === "string" && e !== "")) return [];
  const urls: string[] = [];
  for (const [i, entry] of (list as string[]).entries()) {
    const url = importUrl(entry);
    try {
      await import(url);
    } catch (e) {
      throw new ConfigError("run config", [{
        path: `imports[${i}]`,
        message: `cannot import ${JSON.stringify(entry)} (${url}): ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
      }]);
    }
    if (!urls.includes(url)) urls.push(url);
  }
  return urls;
};
