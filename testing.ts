/**
 * alpha-spin/testing: the tools for testing your own losses, kept out of the runtime entry point so
 * that training needs no property-testing library. `checkLossProperties(ops, loss)` checks, with
 * fast-check, every invariance a loss declares (margin-only, swap, finiteness, …) and that its flags
 * are not wrong in the other direction; `checkListLossProperties` does the same for listwise losses.
 *
 * @example
 * ```ts
 * import { checkLossProperties } from "alpha-spin/testing";
 * import { lossRegistry, referenceOps } from "alpha-spin";
 * const report = await checkLossProperties(referenceOps, lossRegistry.get("ipo"), { numRuns: 25 });
 * ```
 *
 * @module
 */
export { checkLossProperties, type LossPropertyOptions, type LossPropertyReport } from "./losses/property-kit.ts";
export { checkListLossProperties, type ListLossPropertyOptions } from "./losses/list-property-kit.ts";
