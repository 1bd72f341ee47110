#!/usr/bin/env node
// Emits dist/ (ESM JavaScript + .d.ts) from the TypeScript sources with tsc, then marks the CLI
// entry executable. `npm run build`.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(`node scripts/build.mjs: compile the TypeScript sources to dist/ (ESM + .d.ts) with tsc

usage: node scripts/build.mjs

options:
  -h, --help  show this help

examples:
  npm run build`);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`${args[0].startsWith("-") ? "unknown option" : "unexpected argument"} ${args[0]} (this script takes none)
(run "node scripts/build.mjs --help" for the options)`);
  process.exit(2);
}
rmSync(join(root, "dist"), { recursive: true, force: true });
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
const bin = join(root, "dist", "cli", "bin.js");
if (existsSync(bin)) chmodSync(bin, 0o755);
console.log("built dist/");
