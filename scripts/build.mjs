#!/usr/bin/env node
// Emits dist/ (ESM JavaScript + .d.ts) from the TypeScript sources with tsc, then marks the CLI
// entry executable. `npm run build`.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
const bin = join(root, "dist", "cli", "bin.js");
if (existsSync(bin)) chmodSync(bin, 0o755);
console.log("built dist/");
