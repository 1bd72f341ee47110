/**
 * The text of one generated choice, grown token by token: decodes the ids so far, cuts at the first
 * stop string (which is not part of the answer), and says how much text is safe to stream — text
 * that could still become the start of a stop string, or an incomplete UTF-8 character (decoded as
 * U+FFFD), is held back until the next token settles it.
 *
 * @example
 * ```ts
 * import { StopText } from "./stop-text.ts";
 * const text = new StopText((ids) => String.fromCharCode(...ids), ["\n\n"]);
 * text.push(72); text.push(10);        // "H\n": "\n" may start "\n\n", so only "H" is ready
 * text.take();                          // "H"
 * text.push(10);                        // reached "\n\n": stopped, the text is "H\n" minus the stop string
 * text.stopped;                         // true
 * text.take();                          // ""  (the final text is "H")
 * ```
 *
 * @module
 */

/** Grows the text of one choice and detects stop strings; see the module doc. */
export class StopText {
  /** Token ids pushed so far (those after a stop are not taken). */
  readonly ids: number[] = [];
  /** Whether a stop string was reached. */
  stopped = false;
  #text = "";
  #sent = 0;

  /**
   * @example
   * ```ts
   * import type { Tokenizer } from "../models/tokenizer.ts";
   * declare const tokenizer: Tokenizer;
   * new StopText((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }), ["</s>", "\nUser:"]);
   * ```
   */
  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stops: readonly string[],
  ) {}

  /** The answer so far (final once stopped or generation ended). */
  get text(): string {
    return this.#text;
  }

  /**
   * Add one token; true when it completed a stop string (the choice is done).
   *
   * @example
   * ```ts
   * declare const text: StopText;
   * declare const id: number; // the token just sampled
   * let finishReason: "stop" | "length" = "length";
   * if (text.push(id)) finishReason = "stop";
   * ```
   */
  push(id: number): boolean {
    if (this.stopped) return true;
    this.ids.push(id);
    const text = this.decode(this.ids);
    // A stop string can only newly appear in the part not yet searched plus its longest overlap.
    const longest = Math.max(0, ...this.stops.map((s) => s.length));
    const from = Math.max(0, this.#text.length - longest);
    let cut = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop, from);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.#text = text.slice(0, cut);
      this.stopped = true;
      return true;
    }
    this.#text = text;
    return false;
  }

  /**
   * The text that is safe to send since the last call (all the rest once `final`).
   *
   * @example
   * ```ts
   * declare const text: StopText;
   * declare const stream: { write(chunk: string): void };
   * stream.write(text.take());          // during generation
   * stream.write(text.take(true));      // at the end
   * ```
   */
  take(final = false): string {
    let end = this.#text.length;
    if (!final && !this.stopped) {
      while (end > this.#sent && this.#text[end - 1] === "\uFFFD") end--;
      for (const stop of this.stops) {
        for (let n = Math.min(stop.length - 1, end - this.#sent); n > 0; n--) {
          if (this.#text.slice(end - n, end) === stop.slice(0, n)) {
            end -= n;
            break;
          }
        }
      }
    }
    end = Math.max(end, this.#sent);
    const out = this.#text.slice(this.#sent, end);
    this.#sent = end;
    return out;
  }
}
