/**
 * Progress for long jobs (generation, reference pre-compute, training): a cli-progress bar with
 * rate and ETA when the output stream is a terminal; a few plain lines (every 10 % by default,
 * and one at the end) when it is not, so logs of a redirected run stay readable; nothing at all
 * with `quiet`. Bars go to stderr by default, so stdout stays free for JSON output.
 *
 * @example
 * ```ts
 * declare const prompts: string[];
 * declare const batches: string[][];
 * declare const generate: (batch: string[]) => Promise<void>;
 * const progress = startProgress("generate", prompts.length);
 * for (const batch of batches) { await generate(batch); progress.tick(batch.length, { tokens: 512 }); }
 * progress.stop();
 * ```
 *
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";

/** Extra values shown after the rate, e.g. `{ loss: 0.693 }`. */
export type ProgressPayload = Readonly<Record<string, string | number>>;

/** A running progress display. */
export interface Progress {
  /** `n` more items done (default 1); `payload` replaces the extra values shown. */
  tick(n?: number, payload?: ProgressPayload): void;
  /** Finish the display (idempotent). */
  stop(): void;
}

/** Where progress is written: a terminal stream has `isTTY`. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(chunk: string): unknown;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** Show nothing. */
  readonly quiet?: boolean;
  /** Default process.stderr. */
  readonly stream?: ProgressStream;
  /** Without a terminal: a line each time this fraction of the total is passed (default 0.1). */
  readonly logEvery?: number;
  /** Milliseconds clock (default Date.now), for tests. */
  readonly now?: () => number;
}

/**
 * Seconds as `12s`, `3m05s` or `1h02m`.
 *
 * @example
 * ```ts
 * formatDuration(185); // "3m05s"
 * ```
 */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
};

/**
 * A rate as a short number: `12.5`, `0.031`, `1520`.
 *
 * @example
 * ```ts
 * formatRate(12.345); // "12.3"
 * ```
 */
export const formatRate = (perSecond: number): string =>
  !Number.isFinite(perSecond)
    ? "?"
    : perSecond >= 100
    ? perSecond.toFixed(0)
    : perSecond >= 1
    ? perSecond.toFixed(1)
    : perSecond.toPrecision(2);

const formatPayload = (payload: ProgressPayload): string =>
  Object.entries(payload)
    .map(([k, v]) =>
      `${k}=${typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v}`
    )
    .join(" ");

const NO_PROGRESS: Progress = { tick: () => {}, stop: () => {} };

/**
 * Start a progress display for `total` items named `label`.
 *
 * @example
 * ```ts
 * declare const steps: number;
 * declare const args: { quiet: boolean };
 * const p = startProgress("train iter 1", steps, { quiet: args.quiet });
 * p.tick(1, { loss: 0.69 });
 * p.stop();
 * ```
 */
export const startProgress = (label: string, total: number, options: ProgressOptions = {}): Progress => {
  if (options.quiet) return NO_PROGRESS;
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const started = now();
  let value = 0;
  let payload: ProgressPayload = {};
  let stopped = false;
  const rate = (): number => value / Math.max((now() - started) / 1000, 1e-9);
  const extra = (): string => {
    const p = formatPayload(payload);
    return p === "" ? "" : ` | ${p}`;
  };

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: "{label} [{bar}] {value}/{total} {percentage}% | {rate}/s | ETA {eta_formatted}{extra}",
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      etaBuffer: 50,
      fps: 10,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { label, rate: "?", extra: "" });
    return {
      tick(n = 1, p) {
        if (stopped) return;
        value += n;
        if (p !== undefined) payload = p;
        bar.update(value, { label, rate: formatRate(rate()), extra: extra() });
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }

  const step = Math.max(1, Math.ceil(total * (options.logEvery ?? 0.1)));
  let nextLog = step;
  return {
    tick(n = 1, p) {
      if (stopped) return;
      value += n;
      if (p !== undefined) payload = p;
      if (value >= nextLog && value < total) {
        while (nextLog <= value) nextLog += step;
        const r = rate();
        const pct = total > 0 ? Math.floor((100 * value) / total) : 100;
        stream.write(
          `${label}: ${value}/${total} (${pct}%) ${formatRate(r)}/s, ETA ${
            formatDuration((total - value) / r)
          }${extra()}\n`,
        );
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const seconds = (now() - started) / 1000;
      stream.write(
        `${label}: ${value}/${total} done in ${formatDuration(seconds)} (${
          formatRate(rate())
        }/s)${extra()}\n`,
      );
    },
  };
};
