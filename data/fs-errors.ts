/**
 * File-system errors said plainly, naming the path: "cannot write runs/a/run.json: no space left
 * on the device (ENOSPC)" instead of a bare "ENOSPC: no space left on device, write". And
 * {@link ensureDir}, which makes a folder and reports why it cannot: Node's recursive mkdir says
 * ENOENT when the real cause is a read-only file system or a missing permission.
 *
 * @example
 * ```ts
 * import { writeFile } from "node:fs/promises";
 * const path = "runs/demo/notes.txt";
 * await ensureDir("runs/demo");
 * try { await writeFile(path, "x"); } catch (e) { throw new Error(describeFsError(e, `write ${path}`)); }
 * ```
 *
 * @module
 */
import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import process from "node:process";

const reasons: Readonly<Record<string, string>> = {
  ENOENT: "it (or a folder above it) does not exist",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder, not a file",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the name is too long",
  EEXIST: "something of that name is in the way",
};

/** The `code` of a Node-style file-system error ("ENOENT"), or undefined. */
export const fsErrorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/**
 * `cannot <action>: <reason> (<CODE>)` for a file-system error; other errors keep their message.
 *
 * @example
 * ```ts
 * describeFsError(Object.assign(new Error("x"), { code: "EROFS" }), "write a/b.json");
 * // "cannot write a/b.json: the file system is read-only (EROFS)"
 * ```
 */
export const describeFsError = (error: unknown, action: string): string => {
  const code = fsErrorCode(error);
  const reason = code === undefined ? undefined : reasons[code];
  const original = error instanceof Error ? error.message : String(error);
  return `cannot ${action}: ${reason === undefined ? original : `${reason} (${code})`}`;
};

/**
 * An Error with {@link describeFsError}'s message that keeps the `code` (callers test it).
 *
 * @example
 * ```ts
 * const error = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
 * throw fsError(error, "write runs/demo/run.json"); // message: cannot write runs/demo/run.json: no space left on the device (ENOSPC)
 * ```
 */
export const fsError = (error: unknown, action: string): Error => {
  const code = fsErrorCode(error);
  return Object.assign(new Error(describeFsError(error, action), { cause: error }), code === undefined ? {} : { code });
};

/**
 * Refuse early a file that could not be written later: `path` must not be a folder, and the nearest
 * existing folder above it must be writable (the folders in between are made when it is written).
 * Only a probe file is made (and removed at once). `what` names the file in the message (`--out samples.jsonl`).
 *
 * @example
 * ```ts
 * await checkWritable("samples.jsonl", "--out"); // or: cannot write --out …: the file system is read-only (EROFS)
 * ```
 */
export const checkWritable = async (path: string, what: string): Promise<void> => {
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) throw new Error(`cannot write ${what} ${path}: it is a folder, not a file`);
  let dir = dirname(resolve(path));
  while (dir !== dirname(dir) && (await stat(dir).catch(() => null)) === null) dir = dirname(dir);
  const folder = await stat(dir).catch(() => null);
  if (folder !== null && !folder.isDirectory()) throw new Error(`cannot write ${what} ${path}: ${dir} is a file, not a folder`);
  // A probe file, made and removed at once: access(W_OK) is not reliable (root on a read-only mount,
  // runtimes that emulate it from the mode bits).
  const probe = join(dir, `.alpha-spin-probe-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    await (await open(probe, "wx")).close();
  } catch (e) {
    throw fsError(e, `write ${what} ${path} (in ${dir})`);
  }
  await rm(probe, { force: true });
};

/**
 * Make folder `dir` and its parents (nothing to do when it exists). A failure names the folder that
 * could not be made and the real reason: Node's recursive mkdir reports ENOENT for a read-only file
 * system, so on ENOENT the folders are made one level at a time to find the true cause.
 *
 * @example
 * ```ts
 * await ensureDir("runs/demo"); // or: cannot create folder runs: the file system is read-only (EROFS)
 * ```
 */
export const ensureDir = async (dir: string): Promise<void> => {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (error) {
    if (fsErrorCode(error) !== "ENOENT") throw fsError(error, `create folder ${dir}`);
  }
  const chain: string[] = [];
  for (let p = resolve(dir); p !== dirname(p); p = dirname(p)) chain.unshift(p);
  for (const p of chain) {
    try {
      await mkdir(p);
    } catch (error) {
      if (fsErrorCode(error) !== "EEXIST") throw fsError(error, `create folder ${p}`);
    }
  }
};
