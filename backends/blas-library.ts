/**
 * The system BLAS, opened through the runtime's FFI: `Deno.dlopen` under Deno, the npm package
 * `koffi` under Node. Only what the `blas` backend needs is bound: `cblas_sgemm`, and the
 * library's thread and version functions where it has them.
 *
 * Discovery: the `ALPHA_SPIN_BLAS` environment variable (a path) wins; otherwise the usual names
 * per platform, first that opens — Linux `libopenblas.so.0` (Debian/Ubuntu's libopenblas0-pthread
 * or -openmp), MKL's `libmkl_rt.so`, then the generic `libcblas.so.3` and `libblas.so.3`; macOS the
 * Accelerate framework; Windows `libopenblas.dll`.
 *
 * Matrices cross the FFI boundary as Float32Array views: both FFIs pass the view's own memory
 * (its buffer plus byte offset) to C, so BLAS reads and writes a wasm heap in place.
 *
 * @module
 */

/** Row-major, no-transpose and transpose, as cblas.h numbers them. */
export const CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112;

/** Which implementation a library is, as far as its symbols and path tell. */
export type BlasKind = "openblas" | "mkl" | "accelerate" | "reference" | "generic";

/** An opened BLAS. */
export interface BlasLibrary {
  /** The name or path it was opened by, e.g. `"libopenblas.so.0"`. */
  readonly name: string;
  /** The file it resolved to, where the system says (Linux: /proc/self/maps); else `name`. */
  readonly path: string;
  /** OpenBLAS, MKL, Accelerate, the netlib reference (slow), or another CBLAS. */
  readonly kind: BlasKind;
  /** The library's own version/config string (`openblas_get_config`, MKL's version), or "". */
  readonly version: string;
  /**
   * C = α·op(A)·op(B) + β·C on float32 views, as cblas_sgemm (`order` CBLAS_ROW_MAJOR; op =
   * transpose when `transA`/`transB` is CBLAS_TRANS). The views are read and written in place.
   */
  sgemm(
    order: number,
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** Set the library's (process-wide) thread count; false where the library has no such call. */
  setThreads(n: number): boolean;
  /** The library's thread count, or undefined where it does not say (Accelerate, generic). */
  threads(): number | undefined;
}

/** A BLAS that cannot be opened: `message` says what was tried and what to install. */
export class BlasUnavailableError extends Error {
  /** Create the error with a message that says why and what to do. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BlasUnavailableError";
  }
}

type Platform = "linux" | "darwin" | "windows" | "other";

/**
 * The library names tried when `ALPHA_SPIN_BLAS` is not set, in order.
 *
 * @example
 * ```ts
 * blasCandidates("linux"); // ["libopenblas.so.0", "libmkl_rt.so", "libcblas.so.3", "libblas.so.3"]
 * ```
 */
export const blasCandidates = (platform: Platform): readonly string[] => {
  switch (platform) {
    case "linux":
      return ["libopenblas.so.0", "libmkl_rt.so", "libcblas.so.3", "libblas.so.3"];
    case "darwin":
      return ["/System/Library/Frameworks/Accelerate.framework/Accelerate", "libopenblas.dylib"];
    case "windows":
      return ["libopenblas.dll"];
    case "other":
      return ["libopenblas.so.0", "libblas.so.3"];
  }
};

/**
 * What to install where no BLAS opens, per platform.
 *
 * @example
 * ```ts
 * blasInstallHint("linux"); // "install OpenBLAS: apt-get install libopenblas0-pthread (Debian/Ubuntu), ..."
 * ```
 */
export const blasInstallHint = (platform: Platform): string => {
  switch (platform) {
    case "linux":
      return "install OpenBLAS: apt-get install libopenblas0-pthread (Debian/Ubuntu), " +
        "dnf install openblas (Fedora), or point ALPHA_SPIN_BLAS at a CBLAS library";
    case "darwin":
      return "macOS ships Accelerate (/System/Library/Frameworks/Accelerate.framework); " +
        "or brew install openblas and set ALPHA_SPIN_BLAS=$(brew --prefix openblas)/lib/libopenblas.dylib";
    case "windows":
      return "put libopenblas.dll (from the OpenBLAS releases on GitHub) on PATH, or set ALPHA_SPIN_BLAS to its path";
    case "other":
      return "install OpenBLAS, or set ALPHA_SPIN_BLAS to the path of a CBLAS library";
  }
};

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

/**
 * This platform, from Deno.build.os or process.platform.
 *
 * @example
 * ```ts
 * await currentPlatform(); // "linux"
 * ```
 */
export const currentPlatform = async (): Promise<Platform> => {
  const os: string = deno?.build?.os ?? (await import("node:process")).default.platform;
  if (os === "linux") return "linux";
  if (os === "darwin") return "darwin";
  if (os === "windows" || os === "win32") return "windows";
  return "other";
};

/** The raw symbols both FFIs give: functions, or undefined where the library lacks one. */
interface RawSymbols {
  sgemm: BlasLibrary["sgemm"];
  setOpenblasThreads?: (n: number) => void;
  getOpenblasThreads?: () => number;
  openblasConfig?: () => string;
  setMklThreads?: (n: number) => void;
  getMklThreads?: () => number;
  mklVersion?: () => string;
}

const SGEMM_C =
  "void cblas_sgemm(int, int, int, int, int, int, float, float *, int, float *, int, float, float *, int)";

/** A NUL-terminated C string in a byte buffer (the whole buffer when it has no NUL). */
const cBytes = (bytes: Uint8Array): string => {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end)).trim();
};

/** Open `name` with Deno.dlopen; optional symbols come back undefined when absent. */
const openDeno = (name: string): RawSymbols => {
  const i32 = "i32", f32 = "f32", buf = "buffer";
  const lib = deno.dlopen(name, {
    cblas_sgemm: {
      parameters: [i32, i32, i32, i32, i32, i32, f32, buf, i32, buf, i32, f32, buf, i32],
      result: "void",
    },
    openblas_set_num_threads: { parameters: [i32], result: "void", optional: true },
    openblas_get_num_threads: { parameters: [], result: i32, optional: true },
    openblas_get_config: { parameters: [], result: "pointer", optional: true },
    MKL_Set_Num_Threads: { parameters: [i32], result: "void", optional: true },
    MKL_Get_Max_Threads: { parameters: [], result: i32, optional: true },
    MKL_Get_Version_String: { parameters: [buf, i32], result: "void", optional: true },
  });
  const s = lib.symbols;
  const cString = (p: unknown): string => (p === null ? "" : new deno.UnsafePointerView(p).getCString());
  return {
    sgemm: s.cblas_sgemm,
    setOpenblasThreads: s.openblas_set_num_threads ?? undefined,
    getOpenblasThreads: s.openblas_get_num_threads ?? undefined,
    openblasConfig: s.openblas_get_config ? () => cString(s.openblas_get_config()) : undefined,
    setMklThreads: s.MKL_Set_Num_Threads ?? undefined,
    getMklThreads: s.MKL_Get_Max_Threads ?? undefined,
    mklVersion: s.MKL_Get_Version_String
      ? () => {
        const bytes = new Uint8Array(256);
        s.MKL_Get_Version_String(bytes, bytes.length);
        return cBytes(bytes);
      }
      : undefined,
  };
};

/** The part of koffi used here (it is an optional dependency, loaded by a variable specifier). */
interface KoffiLike {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
}
let koffiModule: Promise<KoffiLike> | undefined;

/** Open `name` with koffi; optional symbols come back undefined when absent. */
const openKoffi = async (name: string): Promise<RawSymbols> => {
  const specifier: string = "koffi"; // a variable: an optional package, not resolved at build time
  let koffi: KoffiLike;
  try {
    koffiModule ??= import(specifier).then((m) => (m.default ?? m) as KoffiLike);
    koffi = await koffiModule;
  } catch (e) {
    koffiModule = undefined;
    throw new BlasUnavailableError(
      `blas: under Node the system BLAS is called through the npm package koffi, which did not load ` +
        `(${e instanceof Error ? e.message : String(e)}); install it with: npm install koffi`,
      { cause: e },
    );
  }
  const lib = koffi.load(name);
  const optional = <T>(signature: string): T | undefined => {
    try {
      return lib.func(signature) as T;
    } catch {
      return undefined; // the library has no such symbol
    }
  };
  const config = optional<() => string>("const char *openblas_get_config()");
  const mklVersion = optional<(buf: Uint8Array, len: number) => void>(
    "void MKL_Get_Version_String(_Out_ uint8_t *buf, int len)",
  );
  return {
    sgemm: lib.func(SGEMM_C) as BlasLibrary["sgemm"],
    setOpenblasThreads: optional("void openblas_set_num_threads(int)"),
    getOpenblasThreads: optional("int openblas_get_num_threads()"),
    openblasConfig: config,
    setMklThreads: optional("void MKL_Set_Num_Threads(int)"),
    getMklThreads: optional("int MKL_Get_Max_Threads()"),
    mklVersion: mklVersion
      ? () => {
        const bytes = new Uint8Array(256);
        mklVersion(bytes, bytes.length);
        return cBytes(bytes);
      }
      : undefined,
  };
};

/** Folders the dynamic loader searches on Linux (LD_LIBRARY_PATH first), for naming the file it opened. */
const loaderFolders = (ldLibraryPath: string | undefined): string[] => [
  ...(ldLibraryPath ?? "").split(":").filter((d) => d !== ""),
  "/usr/local/lib",
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/lib",
];

/**
 * The file `name` resolves to, links followed: a path as given, a bare name through the folders
 * the Linux loader searches (an approximation of ld.so); `name` itself where none holds it.
 */
const resolvedPath = async (name: string): Promise<string> => {
  try {
    const { existsSync, realpathSync } = await import("node:fs");
    const { env } = (await import("node:process")).default;
    if (name.includes("/") || name.includes("\\")) return existsSync(name) ? realpathSync(name) : name;
    const folder = loaderFolders(env.LD_LIBRARY_PATH).find((d) => existsSync(`${d}/${name}`));
    return folder === undefined ? name : realpathSync(`${folder}/${name}`);
  } catch {
    return name;
  }
};

/**
 * What a library is: OpenBLAS or MKL by their own symbols; Accelerate by its path; the netlib
 * reference by a path in Debian's `blas/` alternative folder or naming netlib/reference; else generic.
 *
 * @example
 * ```ts
 * classifyBlas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", { openblas: false, mkl: false }); // "reference"
 * ```
 */
export const classifyBlas = (path: string, symbols: { openblas: boolean; mkl: boolean }): BlasKind => {
  if (symbols.openblas) return "openblas";
  if (symbols.mkl) return "mkl";
  if (/Accelerate\.framework|vecLib/.test(path)) return "accelerate";
  if (/\/blas\/lib(c)?blas|netlib|refblas|reference/i.test(path)) return "reference";
  return "generic";
};

const wrap = (name: string, path: string, raw: RawSymbols): BlasLibrary => {
  const kind = classifyBlas(path, {
    openblas: raw.openblasConfig !== undefined || raw.setOpenblasThreads !== undefined,
    mkl: raw.mklVersion !== undefined || raw.setMklThreads !== undefined,
  });
  const version = raw.openblasConfig?.() ?? raw.mklVersion?.() ?? "";
  return {
    name,
    path,
    kind,
    version,
    sgemm: raw.sgemm,
    setThreads(n) {
      if (raw.setOpenblasThreads) raw.setOpenblasThreads(n);
      else if (raw.setMklThreads) raw.setMklThreads(n);
      else return false;
      return true;
    },
    threads: () => raw.getOpenblasThreads?.() ?? raw.getMklThreads?.(),
  };
};

/** Open one library by name or path (throws the FFI's error when it cannot). */
const openOne = async (name: string): Promise<BlasLibrary> => {
  const raw = deno?.dlopen ? openDeno(name) : await openKoffi(name);
  return wrap(name, await resolvedPath(name), raw);
};

let opened: Promise<BlasLibrary> | undefined;
let openedFor: string | undefined;

/**
 * Open the system BLAS (once per thread and `ALPHA_SPIN_BLAS` value): `ALPHA_SPIN_BLAS` if set (a
 * failure to open it is an error, not a fallback), else the platform's usual names in order.
 * Throws BlasUnavailableError listing what was tried and what to install.
 *
 * @example
 * ```ts
 * const blas = await openBlas();
 * console.log(blas.kind, blas.version); // "openblas" "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell"
 * ```
 */
export const openBlas = (): Promise<BlasLibrary> => {
  const env = (deno?.env?.get?.("ALPHA_SPIN_BLAS") as string | undefined) ??
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ALPHA_SPIN_BLAS;
  const key = env ?? "";
  if (opened !== undefined && openedFor === key) return opened;
  openedFor = key;
  opened = findBlas(env);
  opened.catch(() => {
    opened = undefined; // let a later call (e.g. after installing) try again
  });
  return opened;
};

const findBlas = async (env: string | undefined): Promise<BlasLibrary> => {
  const platform = await currentPlatform();
  const candidates = env ? [env] : blasCandidates(platform);
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      return await openOne(name);
    } catch (e) {
      if (e instanceof BlasUnavailableError) throw e; // koffi missing: trying other names is pointless
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      failures.push(`${name}: ${why}`);
    }
  }
  const what = env ? `ALPHA_SPIN_BLAS=${env} could not be opened` : "no BLAS library found";
  throw new BlasUnavailableError(
    `blas: ${what} (tried ${failures.join("; ")}); ${blasInstallHint(platform)}`,
  );
};
