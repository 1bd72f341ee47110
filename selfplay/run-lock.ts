/**
 * One process per run folder. A run holds `<outputDir>/.lock` (its process id, host and start time)
 * from setup to the end, created with an exclusive open so two processes cannot both take it. A
 * second run or resume of the same folder is refused with an error naming the holder, so two
 * processes never write the same iterates. A lock left by a process that died (killed, crashed)
 * on this host is taken over — atomically, under an exclusive guard file and by renaming the new
 * record over the old one, so that of any number of contenders exactly one gets it; a lock from
 * another host is only reported, since its process cannot be checked from here.
 *
 * @example
 * ```ts
 * const release = await acquireRunLock("runs/demo");
 * try {
 *   // … the run writes runs/demo …
 * } finally {
 *   await release();
 * }
 * ```
 *
 * @module
 */
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ensureDir, fsError } from "../data/fs-errors.ts";
import process from "node:process";

/** The run folder is held by another live process. */
export class RunLockedError extends Error {
  override readonly name = "RunLockedError";
}

/** The name of the lock file inside a run folder. */
export const lockFileName = ".lock";

interface LockRecord {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** Whether process `pid` exists on this host (signal 0 checks without signalling). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"; // exists, owned by someone else
  }
};

const readRecord = async (path: string): Promise<LockRecord | null> => {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Partial<LockRecord>;
    return typeof value.pid === "number" && typeof value.host === "string"
      ? { pid: value.pid, host: value.host, startedAt: String(value.startedAt ?? "?") }
      : null;
  } catch {
    return null; // being written, or not ours: treated as held below
  }
};

const sameRecord = (a: LockRecord | null, b: LockRecord): boolean =>
  a !== null && a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;

/** Whether `record` names a process of this host that is gone (so its lock may be taken over). */
const isStale = (record: LockRecord | null, mine: LockRecord): boolean =>
  record !== null && record.host === mine.host && record.pid !== mine.pid && !alive(record.pid);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replace the stale lock `stale` at `path` by `mine`, atomically with respect to every other
 * contender: the takeover happens under a guard file created exclusively (`.lock.takeover`), the
 * lock is re-read under the guard, and the new record is renamed over the old one — the lock file
 * never disappears, so no contender can create it in between. Resolves to whether this process
 * now holds the lock; false when another contender got the guard or the lock changed meanwhile.
 */
const takeOver = async (path: string, stale: LockRecord, mine: LockRecord): Promise<boolean> => {
  const guard = `${path}.takeover`;
  try {
    await writeFile(guard, JSON.stringify(mine) + "\n", { flag: "wx" });
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
    // A guard left by a contender that died inside the takeover (a window of microseconds).
    if (isStale(await readRecord(guard), mine)) await rm(guard, { force: true });
    return false;
  }
  try {
    if (!sameRecord(await readRecord(path), stale)) return false;
    const temporary = `${path}.${mine.pid}.${Math.random().toString(36).slice(2, 10)}`;
    await writeFile(temporary, JSON.stringify(mine) + "\n", { flag: "wx" });
    await rename(temporary, path);
    return true;
  } finally {
    await rm(guard, { force: true });
  }
};

/**
 * The live process holding run folder `dir`'s lock, in words ("process 12 on host (since …)"), or
 * null when the folder is not locked or its lock is stale.
 *
 * @example
 * ```ts
 * await lockHolder("/tmp/no-such-run"); // null
 * ```
 */
export const lockHolder = async (dir: string): Promise<string | null> => {
  const path = join(dir, lockFileName);
  const exists = await stat(path).then(() => true, () => false);
  if (!exists) return null;
  const held = await readRecord(path);
  const me: LockRecord = { pid: -1, host: hostname(), startedAt: "" };
  if (isStale(held, me)) return null;
  return held === null ? "another process" : `process ${held.pid} on ${held.host} (since ${held.startedAt})`;
};

/**
 * Take the lock of run folder `dir` (created if missing) for this process; resolves to the
 * function that releases it. Throws a RunLockedError when a live process holds it. Any number of
 * processes may contend at once, for a free lock or for a stale one: exactly one gets it.
 *
 * @example
 * ```ts
 * const release = await acquireRunLock("runs/demo"); // throws RunLockedError if another process holds it
 * await release();
 * ```
 */
export const acquireRunLock = async (dir: string): Promise<() => Promise<void>> => {
  await ensureDir(dir); // names the real cause (EROFS, EACCES) where mkdir would say ENOENT
  const path = join(dir, lockFileName);
  const mine: LockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const release = async () => {
    // Only our own record is removed: never a lock another process holds.
    if (sameRecord(await readRecord(path), mine)) await rm(path, { force: true });
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await writeFile(path, JSON.stringify(mine) + "\n", { flag: "wx" });
      return once(release);
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw fsError(e, `write ${path}`);
    }
    const held = await readRecord(path);
    if (!isStale(held, mine)) {
      const who = held === null ? "another process" : `process ${held.pid} on ${held.host} (since ${held.startedAt})`;
      throw new RunLockedError(
        `${dir} is in use by ${who}: two runs must not write one folder. Wait for it to finish, ` +
          `or delete ${path} if that process is gone`,
      );
    }
    if (held !== null && await takeOver(path, held, mine)) return once(release);
    await sleep(5 + Math.random() * 20); // another contender is taking over: look again
  }
  throw new RunLockedError(`${dir}: could not take ${path}`);
};

const once = (f: () => Promise<void>): () => Promise<void> => {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await f();
  };
};
