/**
 * A contender for a run folder's lock (tests/run-folder.safety.test.ts): waits until `startAt`
 * (ms since the epoch) so all contenders start together, tries to take the lock of `dir`, prints
 * GOT or REFUSED, and holds a won lock for `holdMs` before releasing it.
 */
import process from "node:process";
import { acquireRunLock, RunLockedError } from "../selfplay/run-lock.ts";

const [dir, startAt, holdMs] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
try {
  const release = await acquireRunLock(dir);
  process.stdout.write("GOT\n");
  await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
  await release();
} catch (e) {
  if (!(e instanceof RunLockedError)) throw e;
  process.stdout.write("REFUSED\n");
}
