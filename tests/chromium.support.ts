// Headless Chromium for the report tests: /usr/bin/chromium with the networking features off, one
// profile folder per call (the caller's temp folder), stdout returned (--dump-dom prints the DOM).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

export const chromium = "/usr/bin/chromium";

/** The skip reason of a test that needs Chromium, or false when it is installed. */
export const chromiumMissing: string | false = existsSync(chromium) ? false : `${chromium} is not installed (apt-get install chromium)`;

/** Run Chromium headless with `args` and a fresh profile in `userDataDir`; resolves to its stdout. */
export const runChromium = (args: readonly string[], userDataDir: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(chromium, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${userDataDir}`,
      ...args,
    ], { timeout: 90_000, maxBuffer: 32 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
