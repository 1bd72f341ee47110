/**
 * Bit-level conversions between float32 and the narrow float formats checkpoints use.
 *
 * - IEEE half (F16): 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. Normal values are
 *   (−1)^s · (1 + m/1024) · 2^(e−15); e = 0 gives subnormals (−1)^s · m · 2^−24; e = 31 gives ±∞
 *   (m = 0) or NaN. Largest finite value 65504.
 * - bfloat16 (BF16): the upper 16 bits of a float32 (8 exponent bits, 7 mantissa bits), so decoding
 *   is a shift and every BF16 value is exactly a float32.
 * - F8_E5M2: the upper 8 bits of an F16. F8_E4M3 (the "fn" variant): bias 7, no infinities, NaN
 *   when all exponent and mantissa bits are set, largest finite value 448.
 *
 * Encoding rounds to nearest, ties to even (as torch's `.half()` and `.bfloat16()` do); values
 * beyond the largest finite F16 round to ±∞, NaN stays NaN. Inputs are float32 values (a float64
 * is first rounded to float32, which is what a Float32Array holds anyway).
 *
 * @example
 * ```ts
 * import { f16BitsToFloat, floatToF16Bits, floatToBf16Bits } from "./float-formats.ts";
 * f16BitsToFloat(0x3c00);   // 1
 * floatToF16Bits(65504);    // 0x7bff
 * floatToBf16Bits(1);       // 0x3f80
 * ```
 *
 * @module
 */

const scratch = new DataView(new ArrayBuffer(4));

/** The float32 bit pattern of `x` (after rounding `x` to float32). */
const f32Bits = (x: number): number => {
  scratch.setFloat32(0, x);
  return scratch.getUint32(0);
};

/**
 * The value of an IEEE half-precision bit pattern (0 … 0xffff).
 *
 * @example
 * ```ts
 * f16BitsToFloat(0x0001); // 2^-24, the smallest subnormal
 * f16BitsToFloat(0x7c00); // Infinity
 * ```
 */
export const f16BitsToFloat = (bits: number): number => {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
};

let f16Table: Float32Array | null = null;

/**
 * All 65536 half-precision values as float32, indexed by bit pattern (built once, 256 KiB).
 *
 * @example
 * ```ts
 * f16DecodeTable()[0x3c00]; // 1
 * ```
 */
export const f16DecodeTable = (): Float32Array => {
  if (f16Table === null) {
    const table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) table[bits] = f16BitsToFloat(bits);
    f16Table = table;
  }
  return f16Table;
};

/**
 * The half-precision bit pattern nearest to `x` (ties to even; overflow to ±∞; NaN kept).
 *
 * @example
 * ```ts
 * floatToF16Bits(1 + 2 ** -11); // 0x3c00 (a tie, rounded to the even mantissa)
 * floatToF16Bits(65520);        // 0x7c00 (rounds past 65504 to Infinity)
 * ```
 */
export const floatToF16Bits = (x: number): number => {
  const bits = f32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  const exponent32 = (bits >>> 23) & 0xff;
  const mantissa32 = bits & 0x7fffff;
  if (exponent32 === 0xff) return mantissa32 === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa32 >>> 13);
  const exponent = exponent32 - 127 + 15;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    // Subnormal half (or zero): in units of 2^-24 the value is full · 2^(exponent − 14), full = 1.m · 2^23.
    if (exponent < -10) return sign;
    const full = mantissa32 | 0x800000;
    const shift = 14 - exponent;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (exponent << 10) | (mantissa32 >>> 13);
  const rest = mantissa32 & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry may reach 0x7c00 = ∞
  return sign | half;
};

/**
 * The value of a bfloat16 bit pattern (0 … 0xffff): the float32 with these upper 16 bits.
 *
 * @example
 * ```ts
 * bf16BitsToFloat(0x4049); // 3.140625
 * ```
 */
export const bf16BitsToFloat = (bits: number): number => {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
};

/**
 * The bfloat16 bit pattern nearest to `x` (ties to even; NaN stays a quiet NaN).
 *
 * @example
 * ```ts
 * floatToBf16Bits(Math.PI); // 0x4049
 * ```
 */
export const floatToBf16Bits = (x: number): number => {
  const bits = f32Bits(x);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
};

/**
 * The value of an F8_E4M3 ("fn": finite, NaN = all ones) bit pattern (0 … 0xff).
 *
 * @example
 * ```ts
 * f8e4m3BitsToFloat(0x38); // 1
 * f8e4m3BitsToFloat(0x7e); // 448
 * ```
 */
export const f8e4m3BitsToFloat = (bits: number): number => {
  const sign = bits & 0x80 ? -1 : 1;
  const exponent = (bits >>> 3) & 0xf;
  const mantissa = bits & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
};

/**
 * The value of an F8_E5M2 bit pattern (0 … 0xff): the half with these upper 8 bits.
 *
 * @example
 * ```ts
 * f8e5m2BitsToFloat(0x3c); // 1
 * ```
 */
export const f8e5m2BitsToFloat = (bits: number): number => f16BitsToFloat((bits & 0xff) << 8);
