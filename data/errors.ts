/**
 * {@link DataError}, the error every data loader throws: each problem names where (`file:line`,
 * `file row N`) and what.
 *
 * @example
 * ```ts
 * throw new DataError([{ where: "train.jsonl:3", message: "invalid JSON (Unexpected token)" }]);
 * ```
 *
 * @module
 */

/** One problem in a data file: where (`data.jsonl:12`, `data.parquet row 3`) and what. */
export interface DataProblem {
  readonly where: string;
  readonly message: string;
}

/**
 * Bad input data. `message` lists up to the first problems found, one per line.
 *
 * @example
 * ```ts
 * throw new DataError([{ where: "train.jsonl:3", message: "invalid JSON (Unexpected token)" }]);
 * ```
 */
export class DataError extends Error {
  readonly problems: readonly DataProblem[];
  constructor(problems: readonly DataProblem[], more = 0) {
    const lines = problems.map((p) => `${p.where}: ${p.message}`);
    if (more > 0) lines.push(`... and ${more} more problem${more === 1 ? "" : "s"}`);
    super(
      lines.length === 1
        ? lines[0]
        : `${problems.length + more} problems in the data:\n  ${lines.join("\n  ")}`,
    );
    this.name = "DataError";
    this.problems = problems;
  }
}
