// Float formats of safetensors: F16/BF16/F8 decoding against hand-computed values, and
// round-to-nearest-even encoding (checked against the neighbouring representable values).
import fc from "fast-check";
import { assert, assertClose, test } from "./harness.ts";
import { handmade } from "./safetensors.support.ts";
import {
  bf16BitsToFloat,
  f16BitsToFloat,
  f8e4m3BitsToFloat,
  f8e5m2BitsToFloat,
  floatToBf16Bits,
  floatToF16Bits,
} from "../models/float-formats.ts";
import { readSafetensors, writeSafetensors } from "../models/safetensors.ts";

test("F16 decoding against hand-computed values", () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x3bff, 1 - 2 ** -11],
    [0x4248, 3.140625],
  ];
  for (const [bits, value] of cases) assert.equal(f16BitsToFloat(bits), value, `0x${bits.toString(16)}`);
  assert.ok(Object.is(f16BitsToFloat(0x8000), -0));
  assert.ok(Number.isNaN(f16BitsToFloat(0x7e00)) && Number.isNaN(f16BitsToFloat(0xfc01)));
  // The same through a file.
  const file = readSafetensors(handmade(
    JSON.stringify({ x: { dtype: "F16", shape: [cases.length], data_offsets: [0, 2 * cases.length] } }),
    cases.flatMap(([b]) => [b & 0xff, b >> 8]),
  ));
  assertClose(file.get("x")!.data, cases.map(([, v]) => v));
});

test("BF16 and F8 decoding against hand-computed values", () => {
  const bf: [number, number][] = [
    [0x3f80, 1],
    [0xc000, -2],
    [0x4049, 3.140625],
    [0x7f7f, 3.3895313892515355e38],
    [0x0080, 2 ** -126],
    [0x0001, 2 ** -133],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x3e80, 0.25],
  ];
  for (const [bits, value] of bf) assert.equal(bf16BitsToFloat(bits), value, `0x${bits.toString(16)}`);
  assert.ok(Number.isNaN(bf16BitsToFloat(0x7fc0)));
  const e4m3: [number, number][] = [[0x38, 1], [0x7e, 448], [0x01, 2 ** -9], [0x08, 2 ** -6], [0xb8, -1], [
    0x3c,
    1.5,
  ]];
  for (const [bits, value] of e4m3) assert.equal(f8e4m3BitsToFloat(bits), value);
  assert.ok(Number.isNaN(f8e4m3BitsToFloat(0x7f)));
  const e5m2: [number, number][] = [[0x3c, 1], [0x7b, 57344], [0x01, 2 ** -16], [0x7c, Infinity], [0xc0, -2]];
  for (const [bits, value] of e5m2) assert.equal(f8e5m2BitsToFloat(bits), value);
});

test("F16 encoding rounds to nearest, ties to even, overflows to inf", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01 → even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02 → even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002],
    [2 ** -26, 0],
    [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal + half an ulp rounds (ties to even) up to the first normal
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0],
    [-0, 0x8000],
  ];
  for (const [x, bits] of cases) assert.equal(floatToF16Bits(x), bits, `${x}`);
  const nan = floatToF16Bits(NaN);
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0);
});

test("F16 encoding gives the nearest half (property, against the neighbours)", () => {
  fc.assert(
    fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (x) => {
      const h = floatToF16Bits(x);
      const err = Math.abs(f16BitsToFloat(h) - x);
      for (const other of [h - 1, h + 1, h ^ 0x8000]) {
        if (other < 0 || other > 0xffff || ((other >> 10) & 0x1f) === 0x1f) continue;
        assert.ok(
          err <= Math.abs(f16BitsToFloat(other) - x),
          `x=${x}: 0x${h.toString(16)} vs 0x${other.toString(16)}`,
        );
      }
    }),
    { seed: 11, numRuns: 2000 },
  );
});

test("BF16 encoding rounds to nearest even; writing BF16 and F16 files reads back the rounded values", () => {
  assert.equal(floatToBf16Bits(1), 0x3f80);
  assert.equal(floatToBf16Bits(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(floatToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie → even (up)
  assert.equal(floatToBf16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.equal(floatToBf16Bits(Math.PI), 0x4049);
  assert.equal(floatToBf16Bits(3.4e38), 0x7f80); // rounds past the largest bf16 to inf
  assert.ok(Number.isNaN(bf16BitsToFloat(floatToBf16Bits(NaN))));
  const values = [1, Math.PI, -0.1, 1e-3, 70000];
  const file = readSafetensors(
    writeSafetensors({ b: { shape: [5], data: values } }, undefined, { dtype: "BF16" }),
  );
  assert.equal(file.get("b")!.dtype, "BF16");
  assertClose(file.get("b")!.data, [1, 3.140625, -0.10009765625, 0.00099945068359375, 70144]);
  const half = readSafetensors(writeSafetensors({ h: { shape: [5], data: values, dtype: "F16" } }));
  assertClose(half.get("h")!.data, [1, 3.140625, -0.0999755859375, 0.0010004043579101562, Infinity]);
});
