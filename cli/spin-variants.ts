/**
 * The main job's variants: `alpha-spin spin --history` and `--variants h=1,h=2:alpha=0.5,…`, parsed
 * into the settings of the default run each variant changes (cli/spin.ts runs them).
 *
 * @example
 * ```ts
 * const common: SpinSettings = { iterations: 3, alpha: 0.9, beta: 1, h: 1, seed: 42, epochs: 2, lr: 2e-3 };
 * parseVariants("h=1,all", common).map((v) => v.name); // ["h=1", "h=all"]
 * ```
 *
 * @module
 */
import { nonNegativeInt, positive, unitInterval } from "../core/config.ts";
import { historyLength } from "../selfplay/config.ts";
import { ArgsError, decodeFlagText } from "./args.ts";
import type { DefaultRunOverrides } from "./default-run.ts";

/** The command whose flags these are (named in argument errors). */
const command = "alpha-spin spin";

/** The settings of the default run that a variant may change. */
export type SpinSettings = Required<Pick<DefaultRunOverrides, "iterations" | "alpha" | "beta" | "h" | "seed" | "epochs" | "lr">>;

/** One variant of the main job: a name, the folder it runs in (null: the run folder itself), its settings. */
export interface SpinVariant {
  readonly name: string;
  readonly dirName: string | null;
  readonly settings: SpinSettings;
}

/**
 * Parse `--variants`: comma-separated variants, each `h=N`, `h=all` / `all`, `alpha=A`, `beta=B`,
 * `seed=S`, or several joined by `:`; unset settings come from `common`.
 *
 * @example
 * ```ts
 * const common: SpinSettings = { iterations: 3, alpha: 0.9, beta: 1, h: 1, seed: 42, epochs: 2, lr: 2e-3 };
 * parseVariants("h=1,h=2,all", common).map((v) => v.settings.h); // [1, 2, "all"]
 * parseVariants("h=2:alpha=0.5", common)[0].dirName;              // "h-2_alpha-0.5"
 * ```
 */
export const parseVariants = (list: string, common: SpinSettings): SpinVariant[] => {
  const items = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new ArgsError(command, "--variants is empty");
  const seen = new Set<string>();
  return items.map((item) => {
    const settings: { -readonly [K in keyof SpinSettings]: SpinSettings[K] } = { ...common };
    for (const part of item.split(":")) {
      const [key, value] = part === "all" ? ["h", "all"] : part.split("=");
      // each by the codec of its --flag and of its run config key, so `h=inf` means what --history inf means
      const where = `--variants: ${part}:`;
      if (key === "h" || key === "history") settings.h = decodeFlagText(historyLength, value ?? "", where, command);
      else if (key === "alpha") settings.alpha = decodeFlagText(unitInterval, value ?? "", where, command);
      else if (key === "beta") settings.beta = decodeFlagText(positive, value ?? "", where, command);
      else if (key === "seed") settings.seed = decodeFlagText(nonNegativeInt, value ?? "", where, command);
      else {
        throw new ArgsError(command, `--variants: unknown setting "${part}" (use h=N, h=all, alpha=A, beta=B, seed=S; join with ":")`);
      }
    }
    const name = item === "all" ? "h=all" : item;
    const dirName = name.replace(/=/g, "-").replace(/:/g, "_").replace(/[^A-Za-z0-9._-]/g, "_");
    if (seen.has(dirName)) throw new ArgsError(command, `--variants: "${item}" is given twice`);
    seen.add(dirName);
    return { name, dirName, settings };
  });
};
