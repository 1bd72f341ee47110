/**
 * Pure, splittable, seeded randomness on pure-rand's xoroshiro128+.
 *
 * An {@link Rng} is plain immutable data (the generator's four 32-bit state words), so it can be
 * stored in a run's checkpoint as JSON and resumed bit-for-bit. Every function takes an `Rng` and
 * returns its draws together with the advanced `Rng`; nothing is mutated and nothing reads a global
 * source (no `Math.random`, no clock). All arithmetic on the stream is 32-bit integer arithmetic, so
 * Node and Deno (and any other runtime) produce the same numbers for the same seed.
 *
 * - {@link rngFromSeed} hashes the seed into a full 128-bit state (pure-rand's own seeding puts
 *   the seed almost verbatim into the first output).
 * - {@link nextFloat} is uniform on [0, 1) with 53 random bits (two 32-bit outputs).
 * - {@link splitRng} gives two generators whose streams are decorrelated by hashing;
 *   {@link forkRng} derives a child from a key without advancing the parent, so per-example or
 *   per-iterate streams do not depend on the order in which they are requested.
 *
 * @example
 * ```ts
 * import { nextFloat, rngFromSeed, sampleCategorical } from "./rng.ts";
 * const rng0 = rngFromSeed(42);
 * const [u, rng1] = nextFloat(rng0);                        // u in [0, 1)
 * const [i, rng2] = sampleCategorical(rng1, [0.2, 0.3, 0.5]); // index 0, 1 or 2
 * ```
 *
 * @module
 */
import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";

/** The generator state: four signed 32-bit words of xoroshiro128+ (pure-rand's `getState()` order). */
export type RngState = readonly [number, number, number, number];

/** An immutable random generator state. Plain data: `JSON.stringify` it to checkpoint a run. */
export interface Rng {
  /** The generator algorithm (only xoroshiro128+ for now). */
  readonly algorithm: "xoroshiro128plus";
  /** The 128-bit state as four signed 32-bit integers; never all zero. */
  readonly state: RngState;
}

type Generator = ReturnType<typeof xoroshiro128plus>;

const GOLDEN = 0x9e3779b9 | 0;

/** A 32-bit avalanche mix (MurmurHash3's finalizer), integer-only. */
const mix32 = (x: number): number => {
  let z = x | 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x85ebca6b);
  z ^= z >>> 13;
  z = Math.imul(z, 0xc2b2ae35);
  z ^= z >>> 16;
  return z | 0;
};

/** Hash a list of 32-bit words (and a domain tag) into a valid, non-zero xoroshiro128+ state. */
const stateFromWords = (domain: number, words: readonly number[]): RngState => {
  let a = mix32(domain ^ 0x243f6a88);
  let b = mix32(Math.imul(domain, GOLDEN) ^ 0x13198a2e);
  for (const w of words) {
    a = mix32(a ^ w);
    b = mix32((b + Math.imul(w | 0, GOLDEN)) ^ a);
    a = (a + b) | 0;
  }
  const out: number[] = [];
  for (let i = 1; i <= 4; i++) {
    out.push(mix32(a + Math.imul(i, GOLDEN)) ^ mix32(b - Math.imul(i, 0x7f4a7c15)));
  }
  if (out.every((w) => (w | 0) === 0)) out[0] = 1;
  return [out[0] | 0, out[1] | 0, out[2] | 0, out[3] | 0];
};

const makeRng = (state: readonly number[]): Rng => ({
  algorithm: "xoroshiro128plus",
  state: [state[0] | 0, state[1] | 0, state[2] | 0, state[3] | 0],
});

const generatorOf = (rng: Rng): Generator => xoroshiro128plus.fromState(rng.state);

/** Split a safe integer into [hi, lo] signed 32-bit words (two's complement for negatives). */
const wordsOfInteger = (n: number): [number, number] => {
  const lo = n % 0x100000000;
  const hi = Math.floor(n / 0x100000000);
  return [hi | 0, lo | 0];
};

/** Words of a fork key: an integer, or a string hashed code unit by code unit. */
const wordsOfKey = (key: number | string): number[] => {
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key)) {
      throw new RangeError(`forkRng: a numeric key must be a safe integer, got ${key}`);
    }
    return [0, ...wordsOfInteger(key)];
  }
  if (typeof key !== "string") {
    throw new TypeError(`forkRng: key must be a safe integer or a string, got ${typeof key}`);
  }
  const words = [1, key.length];
  for (let i = 0; i < key.length; i++) words.push(key.charCodeAt(i));
  return words;
};

/**
 * A generator from an integer seed (any safe integer, negative allowed). Different seeds give
 * unrelated streams; the same seed gives the same stream on every runtime.
 *
 * @example
 * ```ts
 * const rng = rngFromSeed(2024);
 * ```
 */
export const rngFromSeed = (seed: number): Rng => {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new RangeError(`rngFromSeed: seed must be a safe integer, got ${seed}`);
  }
  return makeRng(stateFromWords(0x5eed, wordsOfInteger(seed)));
};

/**
 * Check and rebuild an `Rng` from stored data (e.g. parsed JSON of a checkpoint). Throws a
 * TypeError saying what is wrong.
 *
 * @example
 * ```ts
 * const back = rngFromJson(JSON.parse(JSON.stringify(rngFromSeed(1))));
 * ```
 */
export const rngFromJson = (value: unknown): Rng => {
  const v = value as { algorithm?: unknown; state?: unknown } | null;
  if (typeof v !== "object" || v === null || v.algorithm !== "xoroshiro128plus") {
    throw new TypeError(`rngFromJson: expected { algorithm: "xoroshiro128plus", state: [4 integers] }`);
  }
  const s = v.state;
  if (
    !Array.isArray(s) || s.length !== 4 ||
    !s.every((w) => typeof w === "number" && Number.isInteger(w) && w >= -0x80000000 && w <= 0xffffffff)
  ) {
    throw new TypeError(
      `rngFromJson: state must be 4 integers in the 32-bit range, got ${JSON.stringify(s)}`,
    );
  }
  if (s.every((w) => (w | 0) === 0)) {
    throw new TypeError("rngFromJson: an all-zero state is not a valid xoroshiro128+ state");
  }
  return makeRng(s);
};

/**
 * One uniformly distributed unsigned 32-bit integer in [0, 2^32).
 *
 * @example
 * ```ts
 * const [word, next] = nextUint32(rngFromSeed(7));
 * ```
 */
export const nextUint32 = (rng: Rng): [number, Rng] => {
  const g = generatorOf(rng);
  const word = g.unsafeNext() >>> 0;
  return [word, makeRng(g.getState())];
};

/** A float in [0, 1) with 53 random bits from two outputs of a mutable generator. */
const unsafeFloat = (g: Generator): number => {
  const hi = g.unsafeNext() >>> 5; // 27 bits
  const lo = g.unsafeNext() >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992; // (hi·2^26 + lo) / 2^53
};

/**
 * A float uniformly distributed on [0, 1), on the grid of multiples of 2^−53.
 *
 * @example
 * ```ts
 * const [u, next] = nextFloat(rngFromSeed(7)); // 0 <= u < 1
 * ```
 */
export const nextFloat = (rng: Rng): [number, Rng] => {
  const g = generatorOf(rng);
  const u = unsafeFloat(g);
  return [u, makeRng(g.getState())];
};

/**
 * `n` floats on [0, 1) at once: the same numbers as `n` successive {@link nextFloat} calls.
 *
 * @example
 * ```ts
 * const [us, next] = nextFloats(rngFromSeed(7), 4); // Float64Array(4)
 * ```
 */
export const nextFloats = (rng: Rng, n: number): [Float64Array, Rng] => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`nextFloats: n must be an integer >= 0, got ${n}`);
  const g = generatorOf(rng);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = unsafeFloat(g);
  return [out, makeRng(g.getState())];
};

/**
 * An integer uniformly distributed on [lo, hi], both ends included (unbiased: rejection sampling).
 * Throws a RangeError unless lo and hi are safe integers with lo <= hi.
 *
 * @example
 * ```ts
 * const [die, next] = nextInt(rngFromSeed(7), 1, 6);
 * ```
 */
export const nextInt = (rng: Rng, lo: number, hi: number): [number, Rng] => {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
    throw new RangeError(`nextInt: need safe integers lo <= hi, got lo = ${lo}, hi = ${hi}`);
  }
  const g = generatorOf(rng);
  const value = unsafeUniformIntDistribution(lo, hi, g);
  return [value, makeRng(g.getState())];
};

/**
 * An index uniformly distributed on [0, n) (n a positive integer).
 *
 * @example
 * ```ts
 * const [i, next] = nextIndex(rngFromSeed(7), 10); // 0..9
 * ```
 */
export const nextIndex = (rng: Rng, n: number): [number, Rng] => {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`nextIndex: n must be a positive integer, got ${n}`);
  }
  return nextInt(rng, 0, n - 1);
};

/**
 * Two generators from one: the first continues the parent's stream (advanced by four outputs), the
 * second starts from a hash of those four outputs, so the two streams are decorrelated.
 *
 * @example
 * ```ts
 * const [rngForData, rngForSampling] = splitRng(rngFromSeed(7));
 * ```
 */
export const splitRng = (rng: Rng): [Rng, Rng] => {
  const g = generatorOf(rng);
  const words = [g.unsafeNext(), g.unsafeNext(), g.unsafeNext(), g.unsafeNext()];
  return [makeRng(g.getState()), makeRng(stateFromWords(0x5b1, words))];
};

/**
 * A child generator derived from the parent's state and a key (a safe integer or a string),
 * without advancing the parent: the same (rng, key) always gives the same child, different keys
 * give unrelated children. Use it for per-example or per-iterate streams that must not depend on
 * the order in which they are requested.
 *
 * @example
 * ```ts
 * const root = rngFromSeed(7);
 * const forExample12 = forkRng(root, 12);
 * const forIterate = forkRng(root, "iter-3");
 * ```
 */
export const forkRng = (rng: Rng, key: number | string): Rng =>
  makeRng(stateFromWords(0xf02c, [...rng.state, ...wordsOfKey(key)]));

/**
 * A uniformly random permutation of `items` (Fisher–Yates), as a new array; `items` is untouched.
 *
 * @example
 * ```ts
 * const [order, next] = shuffleArray(rngFromSeed(7), [0, 1, 2, 3]);
 * ```
 */
export const shuffleArray = <A>(rng: Rng, items: readonly A[]): [A[], Rng] => {
  const out = [...items];
  const g = generatorOf(rng);
  for (let i = out.length - 1; i > 0; i--) {
    const j = unsafeUniformIntDistribution(0, i, g);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return [out, makeRng(g.getState())];
};

/**
 * The inverse-CDF index of `u` ∈ [0, 1) under non-negative, not necessarily normalized `weights`:
 * the first i with w_0 + … + w_i > u·Σw. A zero weight is never chosen. Deterministic (no rng);
 * {@link sampleCategorical} feeds it a uniform. Throws a RangeError for an empty list, a negative
 * or non-finite weight, or an all-zero list.
 *
 * @example
 * ```ts
 * inverseCdfIndex([1, 0, 3], 0.5); // 2  (cumulative 1, 1, 4; 0.5·4 = 2)
 * ```
 */
export const inverseCdfIndex = (weights: ArrayLike<number>, u: number): number => {
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (!(w >= 0) || w === Infinity) {
      throw new RangeError(`categorical: weight ${i} must be finite and >= 0, got ${w}`);
    }
    total += w;
  }
  if (!(total > 0)) {
    throw new RangeError(`categorical: need at least one positive weight (got ${weights.length} weights)`);
  }
  const target = u * total;
  let cumulative = 0;
  let lastPositive = -1;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] > 0) {
      cumulative += weights[i];
      lastPositive = i;
      if (cumulative > target) return i;
    }
  }
  return lastPositive; // rounding left the target at the very top of the CDF
};

/**
 * Draw an index with probability proportional to `weights` (non-negative, any positive total).
 *
 * @example
 * ```ts
 * const [i, next] = sampleCategorical(rngFromSeed(7), [0.2, 0.3, 0.5]);
 * ```
 */
export const sampleCategorical = (rng: Rng, weights: ArrayLike<number>): [number, Rng] => {
  const [u, next] = nextFloat(rng);
  return [inverseCdfIndex(weights, u), next];
};

/**
 * Draw an index with probability proportional to exp(logWeights[i]) (unnormalized log-weights;
 * −Infinity means weight zero). Computed max-shifted, so log-weights of ±1e3 are fine.
 *
 * @example
 * ```ts
 * const [i, next] = sampleCategoricalLog(rngFromSeed(7), [Math.log(0.2), Math.log(0.8)]);
 * ```
 */
export const sampleCategoricalLog = (rng: Rng, logWeights: ArrayLike<number>): [number, Rng] =>
  sampleCategorical(rng, expShifted(logWeights, "sampleCategoricalLog"));

/**
 * exp(x − max x) elementwise (unnormalized weights from log-weights), rejecting NaN, +Infinity and
 * an all −Infinity list with a RangeError that names `where`.
 *
 * @example
 * ```ts
 * expShifted([1000, 1000 + Math.log(3)], "demo"); // Float64Array [1/3, 1]
 * ```
 */
export const expShifted = (logWeights: ArrayLike<number>, where: string): Float64Array => {
  let max = -Infinity;
  for (let i = 0; i < logWeights.length; i++) {
    const x = logWeights[i];
    if (Number.isNaN(x) || x === Infinity) throw new RangeError(`${where}: log-weight ${i} is ${x}`);
    if (x > max) max = x;
  }
  if (max === -Infinity) throw new RangeError(`${where}: every log-weight is -Infinity (no mass)`);
  const out = new Float64Array(logWeights.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(logWeights[i] - max);
  return out;
};
