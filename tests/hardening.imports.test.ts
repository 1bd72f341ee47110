// A loss registered in code is usable from `alpha-spin train`: the config's `imports` (paths from
// the config file's folder) and `--import` (from the current folder) are imported before the loss
// is resolved, and reach the gradient workers; the run folder's config.json keeps them absolute.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { assert, test } from "./harness.ts";
import { trainCommand } from "../cli/train.ts";
import { machineCores } from "../selfplay/preflight.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

const fixture = await setupFixture();
const fixtureFile = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const exists = (path: string): Promise<boolean> => readdir(path).then(() => true, () => false);

const writeConfig = async (name: string, config: Record<string, unknown>): Promise<string> => {
  const path = join(fixture.dir, `${name}.json`);
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
};
const quick = { iterations: 1, training: { epochs: 1, batchSize: 4, lr: 1e-2, warmupRatio: 0 } };

test("a config's imports (relative to the config file) register a loss that the gradient workers use too", async () => {
  const workers = Math.min(2, machineCores()); // 2 threads where the machine has them
  const config = smallConfig(fixture, {
    name: "imported-a",
    ...quick,
    workers,
    imports: [relative(fixture.dir, fixtureFile("import-loss-a.ts"))],
    loss: { name: "fixture_imported_a" },
  });
  const path = await writeConfig("imported-a", config);
  assert.equal(await trainCommand(["--config", path, "--quiet"]), 0);
  const runDir = String(config.outputDir);
  assert.ok((await readdir(join(runDir, "iter-1"))).includes("COMPLETE.json"));
  const stored = JSON.parse(await readFile(join(runDir, "config.json"), "utf8"));
  assert.deepEqual(stored.imports.map((u: string) => fileURLToPath(u)), [fixtureFile("import-loss-a.ts")]);
});

test("--import registers a loss the config names; without it the loss is unknown and nothing is written", async () => {
  const config = smallConfig(fixture, { name: "imported-b", ...quick, loss: { name: "fixture_imported_b" } });
  const path = await writeConfig("imported-b", config);
  await assert.rejects(trainCommand(["--config", path, "--quiet"]), /loss\.name: unknown loss "fixture_imported_b"/);
  assert.ok(!(await exists(String(config.outputDir))));
  assert.equal(await trainCommand(["--config", path, "--quiet", "--import", relative(process.cwd(), fixtureFile("import-loss-b.ts"))]), 0);
  assert.ok((await readdir(join(String(config.outputDir), "iter-1"))).includes("COMPLETE.json"));
});

test("an import that cannot be loaded is refused naming its entry, before anything is written", async () => {
  const config = smallConfig(fixture, { name: "bad-import", ...quick, imports: ["./no-such-loss.ts"] });
  const path = await writeConfig("bad-import", config);
  await assert.rejects(trainCommand(["--config", path, "--quiet"]), /imports\[0\]: cannot import .*no-such-loss\.ts/);
  assert.ok(!(await exists(String(config.outputDir))));
  const typo = smallConfig(fixture, { name: "bad-imports-type", ...quick, imports: "./x.ts" });
  await assert.rejects(trainCommand(["--config", await writeConfig("bad-imports-type", typo), "--quiet"]), /imports: must be a list/);
});
