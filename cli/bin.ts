#!/usr/bin/env node
/**
 * Executable entry of the `alpha-spin` command (the package's `bin`); all logic is in main.ts.
 * @module
 */
import process from "node:process";
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
