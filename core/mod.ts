/** The pure functional core (no tfjs, no node:*). @module */
export * from "./tensor.ts";
export * from "./logprob.ts";
export * from "./mixture.ts";
export * from "./rng.ts";
export * from "./config.ts";
export * from "./hash.ts";
