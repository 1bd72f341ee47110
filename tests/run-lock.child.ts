/**
 * A contender for a run folder's lock (tests/run-folder.safety.test.ts): waits until `startAt`
 * (ms since the epoch) so all contenders start together, tries to take the lock of `dir`, prints
 * GOT or REFUSED, and holds a won lock until its standard input ends (the test closes it once every
 * contender has answered), so a late starter can never see a lock released meanwhile.
 */
import process from "node:process";
import { acquireRunLock, RunLockedError } from "../selfplay/run-lock.ts";

const [dir, startAt] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
try {
  const release = await acquireRunLock(dir);
  process.stdout.write("GOT\n");
  await new Promise((resolve) => {
    process.stdin.on("data", () => {});
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
  });
  await release();
} catch (e) {
  if (!(e instanceof RunLockedError)) throw e;
  process.stdout.write("REFUSED\n");
}
