/**
 * Start a `node:worker_threads` worker from a module URL under Deno and Node alike.
 *
 * Deno runs TypeScript workers directly. Node runs a `.js` module directly; for a `.ts` module (the
 * source tree run through tsx) the worker first registers tsx's loader in its own thread, since
 * Node 20 does not pass the parent's `--import tsx` hooks on to worker threads. A Node that strips
 * types itself (23+) starts the `.ts` module directly when tsx is not installed.
 *
 * @example
 * ```ts
 * import { startWorker } from "./spawn.ts";
 * const worker = startWorker(new URL("./worker.ts", import.meta.url));
 * worker.postMessage({ type: "close", id: 0 });
 * ```
 *
 * @module
 */
import { Worker } from "node:worker_threads";

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** tsx's programmatic loader, when it can be resolved from here (Node running TypeScript). */
const tsxLoader = (): string | undefined => {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    return undefined;
  }
};

/**
 * A new worker thread running the module at `url`.
 *
 * @example
 * ```ts
 * const worker = startWorker(new URL("./worker.ts", import.meta.url));
 * ```
 */
export const startWorker = (url: URL): Worker => {
  if (isDeno || !url.pathname.endsWith(".ts")) return new Worker(url);
  const loader = tsxLoader();
  if (loader === undefined) return new Worker(url);
  const bootstrap = `import(${JSON.stringify(loader)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true });
};

/**
 * The URL of a sibling module of the calling module, with the caller's extension (`.ts` in the
 * source tree, `.js` once compiled), e.g. `siblingModule(import.meta.url, "worker")`.
 *
 * @example
 * ```ts
 * siblingModule("file:///lib/train/pool.js", "worker"); // URL file:///lib/train/worker.js
 * ```
 */
export const siblingModule = (from: string, name: string): URL => {
  const extension = from.match(/\.[cm]?[jt]s$/)?.[0] ?? ".js";
  return new URL(`./${name}${extension}`, from);
};
