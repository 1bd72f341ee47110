// The layers' arrows, checked on every import of the library's folders:
// - the pure folders (core/, losses/, samplers/) import nothing from tfjs and nothing from Node's
//   runtime: every `.ts` file under them is scanned for import / export-from / dynamic import /
//   require of `@tensorflow/*`, `npm:@tensorflow/*`, `node:*` or a bare Node built-in module;
// - imports only go down: core → losses, samplers, backends, data → models → train, engines → selfplay →
//   eval, bench, serve → cli. A relative import from one folder into another of the same or a higher layer
//   (or into the root mod.ts) fails, naming file, line and the arrow it breaks; so does a folder
//   with no place in the table.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { assert, test } from "./harness.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const pureFolders = ["core", "losses", "samplers"];

/** Node's built-in module names without the `node:` prefix (fs, path, child_process, ...). */
const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

/** Is this module specifier forbidden in a pure folder? */
const isForbiddenSpecifier = (specifier: string): boolean => {
  if (/^(npm:)?@tensorflow\//.test(specifier)) return true;
  if (specifier.startsWith("node:")) return true;
  const head = specifier.split("/")[0];
  return builtins.has(head) || builtins.has(specifier);
};

// `import x from "m"`, `import "m"`, `export * from "m"`, `export { a } from "m"`, `import type ... from "m"`,
// `import("m")`, `require("m")`; specifiers in single or double quotes or backticks. Statements may span
// lines, so the scan runs over the whole text and maps each match back to its line.
const specifierPatterns: RegExp[] = [
  /\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"`])([^'"`]+)\1/g,
  /\bimport\s*(['"`])([^'"`]+)\1/g,
  /\b(?:import|require)\s*\(\s*(['"`])([^'"`]+)\1\s*\)/g,
];

/** Strip comments (keeping line breaks) so commented-out imports do not count. */
const stripComments = (source: string): string =>
  source
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`\\])\/\/[^\n]*/g, (_m, p1: string) => p1);

/** Every forbidden import in `source`, as `file:line: specifier`. */
const scanSource = (file: string, source: string): string[] => {
  const text = stripComments(source);
  const found = new Map<number, string>();
  for (const pattern of specifierPatterns) {
    for (const m of text.matchAll(pattern)) {
      const specifier = m[2];
      if (!isForbiddenSpecifier(specifier)) continue;
      const offset = (m.index ?? 0) + m[0].lastIndexOf(specifier);
      const line = text.slice(0, offset).split("\n").length;
      found.set(offset, `${file}:${line}: ${specifier}`);
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
};

const tsFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return entry.endsWith(".ts") ? [path] : [];
  });

test("the scanner flags tfjs, node:* and Node built-in imports, and leaves allowed ones alone", () => {
  const synthetic = [
    'import * as tf from "@tensorflow/tfjs";',
    "import { readFileSync } from 'node:fs';",
    'export { join } from "path";',
    'import type { Tensor } from "npm:@tensorflow/tfjs-core@4";',
    "const m = await import(`fs/promises`);",
    "import {",
    "  spawn,",
    '} from "child_process";',
    'import "node:process";',
    'import { pipe } from "fp-ts";',
    'import * as t from "io-ts";',
    'import type { TensorOps } from "../core/tensor.ts";',
    '// import * as tf from "@tensorflow/tfjs";',
    'const s = "from \\"fs\\" is a string, not an import";',
    "import fc from 'fast-check';",
  ].join("\n");
  assert.deepEqual(scanSource("x.ts", synthetic), [
    "x.ts:1: @tensorflow/tfjs",
    "x.ts:2: node:fs",
    "x.ts:3: path",
    "x.ts:4: npm:@tensorflow/tfjs-core@4",
    "x.ts:5: fs/promises",
    "x.ts:8: child_process",
    "x.ts:9: node:process",
  ]);
});

test("core/, losses/ and samplers/ import no @tensorflow/*, no node:* and no Node built-ins", () => {
  const files = pureFolders.map((f) => join(root, f)).filter(existsSync).flatMap(tsFiles);
  assert.ok(files.some((f) => f.endsWith(join("core", "tensor.ts"))), "core/tensor.ts was not scanned");
  const offences = files.flatMap((f) => scanSource(relative(root, f), readFileSync(f, "utf8")));
  assert.deepEqual(offences, [], `forbidden imports in pure folders:\n  ${offences.join("\n  ")}`);
});

/**
 * The layer of each library folder: a folder may import only from folders of a lower layer (and
 * from itself). Siblings of one layer do not import each other.
 */
const layers: Readonly<Record<string, number>> = {
  core: 0,
  losses: 1,
  samplers: 1,
  backends: 1,
  data: 1,
  models: 2,
  train: 3,
  engines: 3,
  selfplay: 4,
  eval: 5,
  bench: 5,
  cli: 6,
  serve: 5,
};

/** Folders outside the layering: the entry points that may use anything, and what is not library code. */
const unlayered = new Set(["tests", "scripts", "docs", "assets", "node_modules", "dist", "runs", ".tmp"]);

/** Every relative import of `file` (a path from the root) that breaks the arrows, as `file:line: from → to (specifier)`. */
const layeringOffences = (file: string, source: string): string[] => {
  const from = file.split("/")[0];
  const text = stripComments(source);
  const found = new Map<number, string>();
  for (const pattern of specifierPatterns) {
    for (const m of text.matchAll(pattern)) {
      const specifier = m[2];
      if (!specifier.startsWith(".")) continue;
      const target = join(file, "..", specifier).split(/[\\/]/);
      const to = target.length === 1 ? "mod.ts (the root)" : target[0];
      if (to === from) continue;
      const ok = layers[to] !== undefined && layers[to] < layers[from];
      if (ok) continue;
      const offset = (m.index ?? 0) + m[0].lastIndexOf(specifier);
      const line = text.slice(0, offset).split("\n").length;
      found.set(offset, `${file}:${line}: ${from} (layer ${layers[from]}) → ${to} (layer ${layers[to] ?? "top"}) (${specifier})`);
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
};

test("the layering check flags imports up or across a layer and into the root, and leaves downward ones alone", () => {
  const synthetic = [
    'import { AdamW } from "../train/optim.ts";',
    'import { runSelfPlay } from "../selfplay/loop.ts";',
    'import type { Policy } from "../models/policy.ts";',
    'export * from "../losses/mod.ts";',
    'const m = await import("../cli/main.ts");',
    'import { x } from "./own.ts";',
    'import { y } from "../mod.ts";',
    '// import { z } from "../cli/spin.ts";',
    'import * as tf from "@tensorflow/tfjs";',
  ].join("\n");
  assert.deepEqual(layeringOffences("train/x.ts", synthetic), [
    "train/x.ts:2: train (layer 3) → selfplay (layer 4) (../selfplay/loop.ts)",
    "train/x.ts:5: train (layer 3) → cli (layer 6) (../cli/main.ts)",
    "train/x.ts:7: train (layer 3) → mod.ts (the root) (layer top) (../mod.ts)",
  ]);
  assert.deepEqual(layeringOffences("losses/x.ts", 'import { loadBackend } from "../backends/load.ts";'), [
    "losses/x.ts:1: losses (layer 1) → backends (layer 1) (../backends/load.ts)",
  ]);
  assert.deepEqual(layeringOffences("selfplay/x.ts", synthetic.split("\n").slice(0, 1).join("\n")), []);
});

test("every library folder has a layer, and no import goes against the arrows", () => {
  const folders = readdirSync(root).filter((entry) =>
    !entry.startsWith(".") && !unlayered.has(entry) && statSync(join(root, entry)).isDirectory() &&
    tsFiles(join(root, entry)).length > 0
  );
  const unplaced = folders.filter((f) => layers[f] === undefined);
  assert.deepEqual(unplaced, [], `folders with no layer (add them to the table in tests/imports.boundary.test.ts): ${unplaced.join(", ")}`);
  assert.ok(folders.includes("train") && folders.includes("selfplay"), "train/ and selfplay/ were not scanned");
  const offences = folders.flatMap((f) =>
    tsFiles(join(root, f)).flatMap((file) => {
      const path = relative(root, file).split(/[\\/]/).join("/");
      return layeringOffences(path, readFileSync(file, "utf8"));
    })
  );
  assert.deepEqual(offences, [], `imports against the arrows:\n  ${offences.join("\n  ")}`);
});
