/**
 * One test API for both runtimes: `deno test` registers through `Deno.test`, Node through
 * `node:test`. Test files import `test` (and the assertion helpers) from here and nothing else
 * runtime-specific.
 *
 * @module
 */
import { test as nodeTest } from "node:test";
import { quietTfjs } from "../backends/quiet.ts";
export { strict as assert } from "node:assert";

// No "running TensorFlow.js in Node.js" banner in test output (once per test file and runtime
// otherwise). Costs a tfjs load in the few test files that would not load it anyway.
quietTfjs();

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

/** Options for one test. */
export interface TestOptions {
  /** Skip with this reason when set (the reason is printed). */
  skip?: string | false;
  /** Time limit in milliseconds (Node only; Deno has none). */
  timeout?: number;
}

/** Register a test under both `deno test` and `node --test`. */
export const test = (name: string, fn: () => void | Promise<void>, options: TestOptions = {}): void => {
  if (deno) {
    deno.test({
      name,
      ignore: Boolean(options.skip),
      sanitizeOps: false,
      sanitizeResources: false,
      fn,
    });
  } else {
    nodeTest(name, { skip: options.skip || false, timeout: options.timeout }, fn);
  }
};

/** True when running under Deno. */
export const isDeno: boolean = Boolean(deno);

/** `|actual - expected| <= atol + rtol * |expected|` elementwise, with a message naming the index. */
export const assertClose = (
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-9, rtol = 0, message = "" }: { atol?: number; rtol?: number; message?: string } = {},
): void => {
  if (actual.length !== expected.length) {
    throw new Error(`${message} length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // covers equal infinities
    const tol = atol + rtol * Math.abs(e);
    if (!(Math.abs(a - e) <= tol)) {
      throw new Error(`${message} index ${i}: got ${a}, expected ${e} (tolerance ${tol})`);
    }
  }
};
