/**
 * One benchmark case in its own process: run a command, stop it at its time limit, and take its
 * result from the line that starts with a marker (`@@bench {json}`, `@@torch {json}`). A case that
 * exits without the line, or runs past its limit, rejects with a {@link CaseFailure} saying which.
 *
 * @example
 * ```ts
 * import { runMarkedProcess } from "./subprocess.ts";
 * const r = await runMarkedProcess("/usr/bin/python3", ["scripts/torch-generate.py", "--json"], {
 *   marker: "@@torch ", timeoutS: 60, cwd: ".",
 * });
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";

/** How a case ended without a result. */
export type CaseStatus = "failed" | "timed_out";

/** A case that threw, exited without its result line, or was stopped at its time limit. */
export class CaseFailure extends Error {
  /** `timed_out` when the case was stopped at its limit, else `failed`. */
  readonly status: CaseStatus;
  constructor(status: CaseStatus, message: string) {
    super(message);
    this.name = "CaseFailure";
    this.status = status;
  }
}

/**
 * The status and one-line message of any error a case raised (a plain Error counts as failed).
 *
 * @example
 * ```ts
 * failureOf(new Error("boom")); // { status: "failed", message: "boom" }
 * ```
 */
export const failureOf = (e: unknown): { status: CaseStatus; message: string } => ({
  status: e instanceof CaseFailure ? e.status : "failed",
  message: e instanceof Error ? e.message : String(e),
});

/** Options of {@link runMarkedProcess}. */
export interface MarkedProcessOptions {
  /** The result line's prefix, e.g. `"@@bench "`. */
  readonly marker: string;
  /** Seconds after which the process is killed and the case recorded as timed out. */
  readonly timeoutS: number;
  readonly cwd: string;
  readonly env?: Record<string, string | undefined>;
}

/**
 * Run `cmd args`, resolve with the JSON after `marker` on its output, reject with a CaseFailure.
 *
 * @example
 * ```ts
 * await runMarkedProcess(process.execPath, ["-e", "console.log('@@x {}')"], { marker: "@@x ", timeoutS: 5, cwd: "." });
 * ```
 */
export const runMarkedProcess = (
  cmd: string,
  args: readonly string[],
  options: MarkedProcessOptions,
): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let timedOut = false;
    // A case that hangs (a stuck GPU driver, a model too slow for the machine) must not stop the run.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutS * 1000);
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new CaseFailure("failed", `${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith(options.marker));
      if (line !== undefined && !timedOut) {
        try {
          resolve(JSON.parse(line.slice(options.marker.length)));
        } catch (e) {
          reject(new CaseFailure("failed", `unreadable result line: ${String(e)}`));
        }
        return;
      }
      // deno colours its stack traces: drop the escape codes, they only garble the table and the JSON.
      // deno-lint-ignore no-control-regex
      const plain = (err.trim() || out.trim()).replace(/\x1b\[[0-9;]*m/g, "");
      const lines = plain.split("\n").filter((l) => !/^npm warn/.test(l));
      // The error's own line first (a stack trace's tail says little), then the last lines.
      const first = lines.find((l) => /error|abort|out of memory/i.test(l) && !/^\s+at /.test(l));
      const tail = [...(first === undefined ? [] : [first]), ...lines.slice(-6).filter((l) => l !== first)]
        .join("\n");
      if (timedOut) {
        reject(new CaseFailure("timed_out", `stopped after ${options.timeoutS} s${tail ? `: ${tail}` : ""}`));
      } else reject(new CaseFailure("failed", `exited with code ${code}${tail ? `: ${tail}` : ""}`));
    });
  });
