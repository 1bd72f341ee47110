/**
 * Evaluation: exact match with answer extraction, KL(p_data ‖ π) over a known support, NLL and
 * perplexity, multiple-choice scoring (acc, acc_norm, acc_bytes), and the exact tabular testbed
 * of SPIN / α-SPIN with its closed forms.
 *
 * @module
 */
export * from "./metrics.ts";
export * from "./multiple-choice.ts";
export * from "./tabular-tables.ts";
export * from "./tabular-solver.ts";
export * from "./tabular.ts";
export * from "./tabular-report.ts";
export * from "./evaluate.ts";
export * from "./evaluate-synthetic.ts";
export * from "./report.ts";
export * from "./report-table.ts";
export * from "./report-run.ts";
