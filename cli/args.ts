/**
 * A small argument parser shared by the sub-commands: `--flag value`, `--flag=value`, `-f value`,
 * boolean flags (`--resume`, `--resume=false`, `--no-resume`), positional arguments, `--` to end
 * the options, a clear error for an unknown flag (with a "did you mean"), a pointer to the new name
 * of a renamed flag, and `--help` text made from the same spec. Flags are declared in camelCase and
 * written in kebab-case: `maxNewTokens` is `--max-new-tokens`. `-h` and `--help` mean help on every
 * command: no flag may take `h` as its short name or `help` as its name.
 *
 * @example
 * ```ts
 * const spec = {
 *   name: "alpha-spin train",
 *   summary: "run α-SPIN iterations from a config",
 *   flags: {
 *     config: { type: "string", short: "c", valueName: "file", description: "run config (JSON)", required: true },
 *     resume: { type: "boolean", description: "continue a killed run" },
 *   },
 * } as const satisfies CommandSpec;
 * const args = parseArgs(spec, ["--config", "run.json", "--resume"]);
 * args.flags.config; // "run.json"
 * args.flags.resume; // true
 * ```
 *
 * @module
 */
import type * as t from "io-ts";
import { either } from "fp-ts";
import { decodeText, didYouMean } from "../core/config.ts";

/** The value type of a flag. */
export type FlagType = "string" | "number" | "boolean";

/** One flag of a command. */
export interface FlagSpec {
  readonly type: FlagType;
  readonly description: string;
  /** One letter: `-c`. */
  readonly short?: string;
  /** Used when the flag is absent (booleans default to false). */
  readonly default?: string | number | boolean;
  /** Shown in help: `--config <file>`. */
  readonly valueName?: string;
  /** Absent → error (unless `--help`). */
  readonly required?: boolean;
  /**
   * The codec the value must pass: the one the run config uses for the same setting
   * (core/config.ts `positiveInt`, selfplay/config's `historyLength`, …), so that the command line
   * and a config accept the same values and mean the same. The codec gets a number flag's number;
   * a string flag's text when it does not read as a number, else that number (`--history 2` is 2,
   * `--history all` is "all"). A failure reads `--flag <rule> (got <value>)`.
   */
  readonly codec?: t.Decoder<unknown, unknown>;
}

/** One positional argument, for help and count checks. */
export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** Takes every remaining argument (last positional only). */
  readonly variadic?: boolean;
}

/** A command: its name as typed, a one-line summary, its flags and positionals. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** When absent, any positional arguments are accepted. */
  readonly positionals?: readonly PositionalSpec[];
  readonly examples?: readonly string[];
  /**
   * Spellings that no longer exist, refused with a pointer to the flag that replaced them: old
   * name as typed without the dashes → the new flag's key, e.g. `{ h: "history" }` refuses `--h 2`
   * with "--h was renamed: use --history".
   */
  readonly renamed?: Readonly<Record<string, string>>;
}

/** The value of a flag that takes one: what its codec decodes to, else a number or the text. */
type FlagBase<F extends FlagSpec> = F extends { readonly codec: t.Decoder<unknown, infer A> } ? A
  : F["type"] extends "number" ? number
  : string;

/** The parsed type of one flag. */
export type FlagValue<F extends FlagSpec> = F["type"] extends "boolean" ? boolean
  : F extends { readonly default: string | number } ? FlagBase<F>
  : F extends { readonly required: true } ? FlagBase<F>
  : FlagBase<F> | undefined;

/** The result of {@link parseArgs}. */
export interface ParsedArgs<S extends CommandSpec> {
  readonly flags: { -readonly [K in keyof S["flags"]]: FlagValue<S["flags"][K]> };
  readonly positional: string[];
  /** `--help` or `-h` was given: print {@link formatHelp} and exit 0. */
  readonly help: boolean;
}

/**
 * A command-line mistake; the message says what and points to `--help`.
 *
 * @example
 * ```ts
 * import { type CommandSpec, parseArgs } from "./args.ts";
 * const main = (spec: CommandSpec, argv: readonly string[]): number => {
 *   try {
 *     parseArgs(spec, argv);
 *   } catch (e) {
 *     if (e instanceof ArgsError) {
 *       console.error(e.message);
 *       return 2;
 *     }
 *     throw e;
 *   }
 *   return 0;
 * };
 * ```
 */
export class ArgsError extends Error {
  constructor(command: string, message: string) {
    super(`${message}\n(run "${command} --help" for the options)`);
    this.name = "ArgsError";
  }
}

/**
 * `maxNewTokens` → `max-new-tokens`.
 *
 * @example
 * ```ts
 * kebabCase("maxNewTokens"); // "max-new-tokens"
 * ```
 */
export const kebabCase = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

/**
 * Decode a flag's text with `codec`: as a number when it reads as one (`"2"` is 2, `"1e-3"` is
 * 0.001), else as the text (`"all"`, `"∞"`). Throws an {@link ArgsError} of `command` that starts
 * with `where` (the flag as written) and gives the codec's rule.
 *
 * @example
 * ```ts
 * import { positiveInt } from "../core/config.ts";
 * decodeFlagText(positiveInt, "2", "--workers", "alpha-spin spin"); // 2
 * decodeFlagText(positiveInt, "0", "--workers", "alpha-spin spin"); // throws: --workers must be an integer >= 1 (got 0)
 * ```
 */
export const decodeFlagText = <A>(codec: t.Decoder<unknown, A>, text: string, where: string, command: string): A => {
  const result = decodeText(codec, text);
  if (either.isRight(result)) return result.right;
  throw new ArgsError(command, `${where} ${result.left}`);
};

const TRUE = ["true", "1", "yes", "on"];
const FALSE = ["false", "0", "no", "off"];

/**
 * Parse `argv` (without the command name) against `spec`. Throws an {@link ArgsError} for an
 * unknown flag, a missing or malformed value, a missing required flag, or too many / too few
 * positionals. With `--help`, no other check is made.
 *
 * @example
 * ```ts
 * const spec = {
 *   name: "alpha-spin train",
 *   summary: "run α-SPIN iterations from a config",
 *   flags: {
 *     config: { type: "string", short: "c", valueName: "file", description: "run config (JSON)", required: true },
 *     resume: { type: "boolean", description: "continue a killed run" },
 *   },
 * } as const satisfies CommandSpec;
 * parseArgs(spec, ["--config=run.json", "--no-resume"]).flags; // { config: "run.json", resume: false }
 * ```
 */
export const parseArgs = <S extends CommandSpec>(spec: S, argv: readonly string[]): ParsedArgs<S> => {
  const byLong = new Map<string, string>();
  const byShort = new Map<string, string>();
  for (const [key, flag] of Object.entries(spec.flags)) {
    // A mistake in the spec, not on the command line: -h/--help must mean help everywhere.
    if (flag.short === "h" || key === "help") throw new Error(`${spec.name}: -h and --help are reserved for help (flag "${key}")`);
    byLong.set(kebabCase(key), key);
    if (flag.short !== undefined) byShort.set(flag.short, key);
  }
  const error = (message: string): never => {
    throw new ArgsError(spec.name, message);
  };
  const values: Record<string, unknown> = {};
  const positional: string[] = [];
  let help = false;

  const convert = (key: string, shown: string, raw: string): unknown => {
    const flag = spec.flags[key];
    if (flag.type === "string") return flag.codec === undefined ? raw : decodeFlagText(flag.codec, raw, shown, spec.name);
    if (flag.type === "number") {
      const x = raw.trim() === "" ? NaN : Number(raw);
      if (!Number.isFinite(x)) error(`${shown} must be a number (got "${raw}")`);
      return flag.codec === undefined ? x : decodeFlagText(flag.codec, raw, shown, spec.name);
    }
    const lower = raw.toLowerCase();
    if (TRUE.includes(lower)) return true;
    if (FALSE.includes(lower)) return false;
    return error(`${shown} is true or false (got "${raw}")`);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const eq = arg.indexOf("=");
    const name = long ? arg.slice(2, eq < 0 ? undefined : eq) : arg.slice(1, eq < 0 ? undefined : eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    let key = long ? byLong.get(name) : byShort.get(name);
    if (
      key === undefined && long && name.startsWith("no-") &&
      spec.flags[byLong.get(name.slice(3)) ?? ""]?.type === "boolean"
    ) {
      if (inline !== undefined) error(`--${name} takes no value`);
      key = byLong.get(name.slice(3))!;
      inline = "false";
    }
    if (key === undefined) {
      const renamedTo = long ? spec.renamed?.[name] : undefined;
      if (renamedTo !== undefined) error(`--${name} was renamed: use --${kebabCase(renamedTo)}`);
      const known = [...byLong.keys()];
      // `-history` (one dash) is most likely `--history`.
      const guess = long ? didYouMean(name, known) : name.length > 1 && byLong.has(name) ? name : undefined;
      error(
        `unknown option ${arg.slice(0, eq < 0 ? undefined : eq)}${
          guess === undefined ? "" : ` (did you mean --${guess}?)`
        }`,
      );
    }
    const flagKey = key as string;
    const flag = spec.flags[flagKey];
    const shown = long ? `--${name}` : `-${name}`;
    if (flag.type === "boolean") {
      values[flagKey] = inline === undefined ? true : convert(flagKey, shown, inline);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      const isValue = next !== undefined &&
        (!next.startsWith("-") || next === "-" || (flag.type === "number" && /^-\.?\d/.test(next)));
      if (!isValue) {
        error(`${shown} needs a value${flag.valueName === undefined ? "" : ` <${flag.valueName}>`}`);
      }
      inline = next;
      i++;
    }
    values[flagKey] = convert(flagKey, shown, inline as string);
  }

  if (!help) {
    for (const [key, flag] of Object.entries(spec.flags)) {
      if (values[key] === undefined && flag.required) error(`missing --${kebabCase(key)}`);
    }
    const slots = spec.positionals;
    if (slots !== undefined) {
      const variadic = slots.length > 0 && slots[slots.length - 1].variadic === true;
      if (!variadic && positional.length > slots.length) {
        error(
          `unexpected argument "${positional[slots.length]}"${
            slots.length === 0 ? " (this command takes no positional arguments)" : ""
          }`,
        );
      }
      slots.forEach((slot, i) => {
        if (slot.required && positional[i] === undefined) error(`missing <${slot.name}>`);
      });
    }
  }
  for (const [key, flag] of Object.entries(spec.flags)) {
    if (values[key] === undefined) {
      values[key] = flag.default ?? (flag.type === "boolean" ? false : undefined);
    }
  }
  return { flags: values as ParsedArgs<S>["flags"], positional, help };
};

/**
 * The `--help` text of a command: usage line, positionals, options with their defaults, examples.
 *
 * @example
 * ```ts
 * const spec = {
 *   name: "alpha-spin train",
 *   summary: "run α-SPIN iterations from a config",
 *   flags: {
 *     config: { type: "string", short: "c", valueName: "file", description: "run config (JSON)", required: true },
 *     resume: { type: "boolean", description: "continue a killed run" },
 *   },
 * } as const satisfies CommandSpec;
 * console.log(formatHelp(spec));
 * // alpha-spin train: run α-SPIN iterations from a config
 * //
 * // usage: alpha-spin train [options]
 * // ...
 * ```
 */
export const formatHelp = (spec: CommandSpec): string => {
  const slots = spec.positionals ?? [];
  const usageArgs = slots.map((p) => {
    const inner = `<${p.name}>${p.variadic ? "..." : ""}`;
    return p.required ? inner : `[${inner}]`;
  });
  const lines = [
    `${spec.name}: ${spec.summary}`,
    "",
    `usage: ${[spec.name, "[options]", ...usageArgs].join(" ")}`,
  ];
  if (slots.length > 0) {
    lines.push("", "arguments:");
    const width = Math.max(...slots.map((p) => p.name.length + 2));
    for (const p of slots) lines.push(`  ${`<${p.name}>`.padEnd(width)}  ${p.description}`);
  }
  const rows: [string, string][] = Object.entries(spec.flags).map(([key, flag]) => {
    const value = flag.type === "boolean" ? "" : ` <${flag.valueName ?? flag.type}>`;
    const head = `${flag.short === undefined ? "    " : `-${flag.short}, `}--${kebabCase(key)}${value}`;
    const notes = [
      flag.required ? "required" : undefined,
      flag.default !== undefined && flag.type !== "boolean" ? `default: ${flag.default}` : undefined,
    ].filter((n) => n !== undefined);
    return [head, `${flag.description}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`];
  });
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([head]) => head.length));
  lines.push("", "options:", ...rows.map(([head, d]) => `  ${head.padEnd(width)}  ${d}`));
  if (spec.examples !== undefined && spec.examples.length > 0) {
    lines.push("", "examples:", ...spec.examples.map((e) => `  ${e}`));
  }
  return lines.join("\n");
};

/**
 * The common start of a sub-command: parse `argv`, print a usage error (exit code 2) or the help
 * text (exit code 0). Returns the parsed arguments, or the exit code when the command is done.
 *
 * @example
 * ```ts
 * const spec = {
 *   name: "alpha-spin train",
 *   summary: "run α-SPIN iterations from a config",
 *   flags: {
 *     config: { type: "string", short: "c", valueName: "file", description: "run config (JSON)", required: true },
 *     resume: { type: "boolean", description: "continue a killed run" },
 *   },
 * } as const satisfies CommandSpec;
 * const parsed = parseOrExit(spec, ["--help"]);
 * if (typeof parsed === "number") process.exitCode = parsed; // 0 after printing the help
 * ```
 */
export const parseOrExit = <S extends CommandSpec>(spec: S, argv: readonly string[]): ParsedArgs<S> | number => {
  let parsed: ParsedArgs<S>;
  try {
    parsed = parseArgs(spec, argv);
  } catch (e) {
    if (e instanceof ArgsError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  return parsed;
};
