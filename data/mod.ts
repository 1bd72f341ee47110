/** SFT data loaders (JSONL, Parquet; UltraChat `messages`), truncation, and pair exporters. @module */
export * from "./jsonl.ts";
export * from "./parquet.ts";
export * from "./sft.ts";
export * from "./export.ts";
export * from "./synthetic.ts";
