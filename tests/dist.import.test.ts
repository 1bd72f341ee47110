/**
 * The published shape of the package: build dist/ with tsc, `npm pack` it, unpack the tarball as
 * node_modules/alpha-spin of a consumer folder, and import it from a plain `.mjs` file under Node.
 * The consumer folder sits inside the repository (.tmp/) so the package's own dependencies resolve
 * from the repository's node_modules, as they would from the consumer's after `npm install`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { assert, isDeno, test } from "./harness.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

test("dist/ builds, packs, and imports from a plain Node ESM program", () => {
  try {
    execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    const { stdout = "", stderr = "" } = e as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed:\n${stdout}${stderr}`);
  }
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const consumer = mkdtempSync(join(root, ".tmp", "consumer-"));
  try {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const packed = execFileSync(npm, ["pack", "--silent", "--pack-destination", consumer], {
      cwd: root,
      encoding: "utf8",
    }).trim().split("\n").pop()!;
    const pkgDir = join(consumer, "node_modules");
    mkdirSync(pkgDir, { recursive: true });
    execFileSync("tar", ["-xzf", join(consumer, packed), "-C", pkgDir]);
    execFileSync("mv", [join(pkgDir, "package"), join(pkgDir, "alpha-spin")]);
    const files = readdirSync(join(pkgDir, "alpha-spin", "dist"));
    assert.ok(files.includes("mod.js") && files.includes("mod.d.ts"), `dist has ${files.join(", ")}`);
    writeFileSync(
      join(consumer, "main.mjs"),
      [
        'import { referenceOps, lossRegistry } from "alpha-spin";',
        'import { checkLossProperties } from "alpha-spin/testing";',
        'if (typeof checkLossProperties !== "function") throw new Error("alpha-spin/testing has no checkLossProperties");',
        "const x = referenceOps.fromArray([0, 0], [2]);",
        "const lse = await referenceOps.toArray(referenceOps.logSumExp(x, -1));",
        'console.log(JSON.stringify({ lse: lse[0], losses: lossRegistry.names().length }));',
      ].join("\n"),
    );
    const out = JSON.parse(execFileSync(process.execPath, ["main.mjs"], { cwd: consumer, encoding: "utf8" }));
    assert.ok(Math.abs(out.lse - Math.log(2)) < 1e-12, `logSumExp([0,0]) = ${out.lse}`);
    assert.ok(out.losses >= 10, `lossRegistry has ${out.losses} losses`);
  } finally {
    rmSync(consumer, { recursive: true, force: true });
  }
}, { skip: isDeno ? "packaging is checked under Node (npm pack + plain .mjs import)" : false, timeout: 300_000 });
