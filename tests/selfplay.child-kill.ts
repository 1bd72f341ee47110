// Kill a run for real: tests/selfplay.child-run.ts runs a config in a child process of this runtime,
// which prints a marker at the point the test names; the child is killed with SIGKILL there.
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { isDeno } from "./harness.ts";

/**
 * Run the config at `configPath` in a child process that reports `stopAt` (e.g. "2:6", "fit:2:2"), and
 * kill it with SIGKILL as soon as its output shows `marker` (e.g. "STEP 2 6"). Resolves to what it
 * printed; rejects when the child ends by itself.
 */
export const runChildUntilKilled = (configPath: string, stopAt: string, marker: string): Promise<string> => {
  const script = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "selfplay.child-run.ts");
  const argv = isDeno ? ["run", "-A", script, configPath, stopAt] : ["--import", "tsx", script, configPath, stopAt];
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
      if (out.includes(marker)) child.kill("SIGKILL");
    });
    child.stderr.on("data", (chunk) => (err += String(chunk)));
    child.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve(out);
      else reject(new Error(`the child ended with code ${code} before it was killed:\n${out}\n${err}`));
    });
  });
};
