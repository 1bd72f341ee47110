/**
 * What both property kits (property-kit.ts for pairwise losses, list-property-kit.ts for listwise
 * ones) share: running one named property with fast-check and turning a failure into an Error that
 * names the kit, the loss, the property, the backend and the counterexample with its seed.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check";
 * const properties = propertyRunner("checkLossProperties", "sigmoid", "reference", { numRuns: 10, seed: 1 });
 * await properties.run("finite", fc.double(), async (x) => (Number.isNaN(x) ? "NaN" : undefined));
 * properties.checks; // ["finite"]
 * ```
 *
 * @module
 */
import * as fc from "fast-check";

/** A runner of named properties; `checks` lists those that passed, in order. */
export interface PropertyRunner {
  run<A>(name: string, arb: fc.Arbitrary<A>, predicate: (a: A) => Promise<string | undefined>): Promise<void>;
  readonly checks: string[];
}

/**
 * A runner for kit `kit` checking loss `lossName` on backend `opsName`: a predicate returns a problem
 * description (the property fails) or undefined.
 *
 * @example
 * ```ts
 * const { run, checks } = propertyRunner("checkListLossProperties", "plackett_luce", "cpu", { numRuns: 40, seed: 20240607 });
 * ```
 */
export const propertyRunner = (
  kit: string,
  lossName: string,
  opsName: string,
  runs: { readonly numRuns: number; readonly seed: number },
): PropertyRunner => {
  const checks: string[] = [];
  const run = async <A>(name: string, arb: fc.Arbitrary<A>, predicate: (a: A) => Promise<string | undefined>) => {
    const details = await fc.check(
      fc.asyncProperty(arb, async (a) => {
        const problem = await predicate(a);
        if (problem) throw new Error(problem);
      }),
      runs,
    );
    if (details.failed) {
      const why = details.errorInstance instanceof Error ? details.errorInstance.message : "no counterexample found";
      throw new Error(
        `${kit}: loss "${lossName}" fails "${name}" on ${opsName}: ${why}; ` +
          `counterexample ${JSON.stringify(details.counterexample)} (seed ${runs.seed})`,
      );
    }
    checks.push(name);
  };
  return { run, checks };
};
