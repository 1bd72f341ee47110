// safetensors: bit-exact round trips, the byte layout checked by hand, integer tensors, and refusal
// of corrupt files (float formats: models.float-formats.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { assert, test } from "./harness.ts";
import { bitsOf, handmade } from "./safetensors.support.ts";
import { readSafetensors, safetensorsIntegers, writeSafetensors } from "../models/safetensors.ts";
import {
  readSafetensorsFile,
  readSafetensorsFolder,
  writeSafetensorsFile,
} from "../models/safetensors-file.ts";


test("F32 round trip is bit-exact (random bit patterns incl. NaN payloads, ±0, ±inf, subnormals)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 0, maxLength: 40 }),
      (patterns) => {
        const data = new Float32Array(new Uint32Array(patterns).buffer);
        const extra = new Float32Array([0, -0, Infinity, -Infinity, 1.4e-45, -3.4028234663852886e38]);
        const bytes = writeSafetensors(
          new Map([
            ["a", { shape: [patterns.length], data }],
            ["b.weight", { shape: [2, 3], data: extra }],
            ["scalar", { shape: [], data: new Float32Array([7.5]) }],
            ["empty", { shape: [0, 4], data: new Float32Array(0) }],
          ]),
          { format: "pt", note: "ünïcode" },
        );
        const file = readSafetensors(bytes);
        assert.deepEqual([...file.keys()].sort(), ["a", "b.weight", "empty", "scalar"]);
        assert.deepEqual(bitsOf(file.get("a")!.data), patterns);
        assert.deepEqual(bitsOf(file.get("b.weight")!.data), bitsOf(extra));
        assert.deepEqual(file.get("b.weight")!.shape, [2, 3]);
        assert.deepEqual(file.get("scalar")!.shape, []);
        assert.equal(file.get("scalar")!.data[0], 7.5);
        assert.equal(file.get("empty")!.data.length, 0);
        assert.deepEqual(file.metadata, { format: "pt", note: "ünïcode" });
      },
    ),
    { seed: 5, numRuns: 40 },
  );
});

test("writer layout: u64 LE header length, space-padded to 8, offsets tile the buffer, aligned by dtype size", () => {
  const bytes = writeSafetensors(
    {
      h: { shape: [3], data: [1, 2, 3], dtype: "F16" },
      f: { shape: [1], data: [0.5] },
      i: { shape: [1], data: [-2], dtype: "I64" },
    },
    { k: "v" },
  );
  const n = bytes[0] + 256 * bytes[1] + 65536 * bytes[2];
  assert.deepEqual([...bytes.slice(3, 8)], [0, 0, 0, 0, 0]);
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(bytes.slice(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  const header = JSON.parse(text);
  assert.deepEqual(header.__metadata__, { k: "v" });
  // Largest elements first: I64 at 0, F32 at 8, F16 at 12.
  assert.deepEqual(header.i, { dtype: "I64", shape: [1], data_offsets: [0, 8] });
  assert.deepEqual(header.f, { dtype: "F32", shape: [1], data_offsets: [8, 12] });
  assert.deepEqual(header.h, { dtype: "F16", shape: [3], data_offsets: [12, 18] });
  assert.equal(bytes.length, 8 + n + 18);
  const data = bytes.slice(8 + n);
  assert.deepEqual([...data.slice(0, 8)], [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // -2 as i64 LE
  assert.deepEqual([...data.slice(8, 12)], [0, 0, 0, 0x3f]); // 0.5 = 0x3f000000
  assert.deepEqual([...data.slice(12)], [0x00, 0x3c, 0x00, 0x40, 0x00, 0x42]); // 1, 2, 3 in F16
});

test("reads a file assembled by hand (F32, F16, BF16, I32, BOOL)", () => {
  const header = JSON.stringify({
    w: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    h: { dtype: "F16", shape: [2], data_offsets: [8, 12] },
    b: { dtype: "BF16", shape: [2], data_offsets: [12, 16] },
    n: { dtype: "I32", shape: [1], data_offsets: [16, 20] },
    m: { dtype: "BOOL", shape: [2], data_offsets: [20, 22] },
  });
  const data = [
    0,
    0,
    0x80,
    0x3f,
    0,
    0,
    0,
    0xc0,
    0x00,
    0x3c,
    0x55,
    0x35,
    0x80,
    0x3f,
    0x49,
    0x40,
    0xff,
    0xff,
    0xff,
    0xff,
    1,
    0,
  ];
  const file = readSafetensors(handmade(header, data));
  assert.deepEqual([...file.get("w")!.data], [1, -2]);
  assert.deepEqual([...file.get("h")!.data], [1, 0.333251953125]);
  assert.deepEqual([...file.get("b")!.data], [1, 3.140625]);
  assert.deepEqual([...file.get("n")!.data], [-1]);
  assert.deepEqual([...file.get("m")!.data], [1, 0]);
  assert.equal(file.get("h")!.dtype, "F16");
  assert.deepEqual(file.metadata, {});
});

test("integer tensors: I32 and I64 written and read exactly", () => {
  const big = 2n ** 62n + 1n;
  const file = readSafetensors(writeSafetensors({
    ids: { shape: [3], data: [0, -5, 2147483647], dtype: "I32" },
    pos: { shape: [2], data: new BigInt64Array([big, -3n]), dtype: "I64" },
  }));
  assert.deepEqual([...safetensorsIntegers(file.get("ids")!)], [0, -5, 2147483647]);
  assert.deepEqual([...safetensorsIntegers(file.get("pos")!)], [big, -3n]);
  assert.deepEqual([...file.get("ids")!.data], [0, -5, 2147483648]); // float32 rounding of 2^31 − 1
  assert.throws(() => writeSafetensors({ x: { shape: [1], data: [1.5], dtype: "I32" } }), /x.*1\.5.*32-bit/);
  assert.throws(() =>
    safetensorsIntegers(readSafetensors(writeSafetensors({ f: { shape: [1], data: [1] } })).get("f")!)
  );
});

test("writer refuses inconsistent input", () => {
  assert.throws(
    () => writeSafetensors({ x: { shape: [2, 2], data: [1, 2, 3] } }),
    /"x".*\[2,2\] holds 4 values, data has 3/,
  );
  assert.throws(() => writeSafetensors({ __metadata__: { shape: [1], data: [1] } }), /invalid tensor name/);
  assert.throws(() => writeSafetensors({ x: { shape: [-1], data: [] } }), /"x".*non-negative/);
});

const valid = (): [string, number[]] => [
  JSON.stringify({
    a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
  }),
  [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40],
];

test("corrupt files are refused with a message that says what is wrong", () => {
  const [header, data] = valid();
  assert.deepEqual([...readSafetensors(handmade(header, data)).get("b")!.data], [2]);
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2, 3]), /3 bytes, too short for the 8-byte header length/],
    [handmade(header, data, 10_000), /header length 10000 runs past the end of the file/],
    [handmade(header, data).slice(0, 40), /header length \d+ runs past the end/], // truncated inside the header
    [
      handmade(header, data).slice(0, -1),
      /tensor "b".*\[4, 8\] run past the end of the data buffer \(7 bytes; truncated/,
    ],
    [handmade("{not json", []), /header is not valid JSON/],
    [handmade("[1, 2]", []), /header is not a JSON object/],
    [
      handmade(JSON.stringify({ q: { dtype: "Q4_K", shape: [1], data_offsets: [0, 1] } }), [0]),
      /tensor "q": unknown dtype "Q4_K"/,
    ],
    [
      handmade(JSON.stringify({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }), data),
      /tensor "w": shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 8\] span 8/,
    ],
    [
      handmade(JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }), data),
      /tensor "w": data_offsets must be \[begin, end\]/,
    ],
    [
      handmade(JSON.stringify({ w: { dtype: "F32", shape: "2", data_offsets: [0, 8] } }), data),
      /tensor "w": shape must be/,
    ],
    [
      handmade(
        JSON.stringify({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
        }),
        data,
      ),
      /tensors "a" \[0,8\] and "b" \[4,8\] overlap/,
    ],
    [
      handmade(
        JSON.stringify({
          a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
          b: { dtype: "F32", shape: [0], data_offsets: [8, 8] },
        }),
        data,
      ),
      /bytes 4\.\.8 of the data buffer belong to no tensor/,
    ],
    [handmade(header, [...data, 0, 0]), /data buffer has 10 bytes but the tensors cover only the first 8/],
    [handmade(JSON.stringify({ __metadata__: { n: 1 } }), []), /"__metadata__" entry "n" must be a string/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => readSafetensors(bytes), message);
  const badUtf8 = handmade("{}", []);
  badUtf8[9] = 0xff;
  assert.throws(() => readSafetensors(badUtf8), /not valid UTF-8/);
  assert.throws(
    () => readSafetensors(handmade(header, data, 2 ** 20), { source: "x.safetensors" }),
    /^SafetensorsError: x\.safetensors: header length/,
  );
});

test("files: subset reads, atomic writes, sharded folders through the index", async () => {
  const dir = mkdtempSync(join(tmpdir(), "st-"));
  try {
    const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6]);
    await writeSafetensorsFile(
      join(dir, "one.safetensors"),
      new Map([["a", { shape: [2, 2], data: a }], ["b", { shape: [2], data: b }]]),
      { format: "pt" },
    );
    const subset = await readSafetensorsFile(join(dir, "one.safetensors"), { names: ["b", "zzz"] });
    assert.deepEqual([...subset.keys()], ["b"]);
    assert.deepEqual([...subset.get("b")!.data], [5, 6]);
    assert.deepEqual(subset.metadata, { format: "pt" });
    await assert.rejects(
      readSafetensorsFile(join(dir, "missing.safetensors")),
      /missing\.safetensors does not exist/,
    );
    writeFileSync(
      join(dir, "cut.safetensors"),
      writeSafetensors({ a: { shape: [4], data: a } }).slice(0, -3),
    );
    await assert.rejects(
      readSafetensorsFile(join(dir, "cut.safetensors")),
      /cut\.safetensors: tensor "a".*run past the end/,
    );

    const shards = join(dir, "sharded");
    await import("node:fs/promises").then((fs) => fs.mkdir(shards));
    writeFileSync(
      join(shards, "model-00001-of-00002.safetensors"),
      writeSafetensors({ a: { shape: [4], data: a } }),
    );
    writeFileSync(
      join(shards, "model-00002-of-00002.safetensors"),
      writeSafetensors({ b: { shape: [2], data: b } }),
    );
    const index = {
      metadata: { total_size: 24 },
      weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
    };
    writeFileSync(join(shards, "model.safetensors.index.json"), JSON.stringify(index));
    const all = await readSafetensorsFolder(shards);
    assert.deepEqual([...all.get("a")!.data], [1, 2, 3, 4]);
    assert.deepEqual([...all.get("b")!.data], [5, 6]);
    const onlyB = await readSafetensorsFolder(shards, { names: ["b"] });
    assert.deepEqual([...onlyB.keys()], ["b"]);
    writeFileSync(
      join(shards, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { ...index.weight_map, c: "model-00002-of-00002.safetensors" } }),
    );
    await assert.rejects(
      readSafetensorsFolder(shards),
      /puts c in model-00002-of-00002\.safetensors, which lacks it/,
    );
    await assert.rejects(readSafetensorsFolder(join(dir, "nowhere")), /nowhere does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
