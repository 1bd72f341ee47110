/** The pure functional core (no tfjs, no node:*). @module */
export * from "./tensor.ts";
