// Text encodings: bytes that are not UTF-8 are refused with file:line (never replaced by U+FFFD),
// in streamed JSONL (also when a character or a bad byte straddles a read chunk), in run configs
// and in a run's training data; a byte-order mark is accepted at the start of a JSONL file and of a
// config file alike.
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { trainCommand } from "../cli/train.ts";
import { readJsonl } from "../data/jsonl.ts";
import { decodeUtf8Text } from "../data/text.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { setupFixture, smallConfig, ultrachatRows } from "./selfplay.support.ts";

const fixture = await setupFixture();
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
};
const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
const exists = (path: string): Promise<boolean> => readdir(path).then(() => true, () => false);

test("invalid UTF-8 in a JSONL line is refused with file:line, at every chunk size", async () => {
  const path = join(fixture.dir, "latin1.jsonl");
  // Line 3 holds "café" in Latin-1 (0xe9 alone is not UTF-8); lines 1-2 hold valid multi-byte text.
  await writeFile(path, concat(utf8('{"a":"naïve €"}\n{"a":"日本"}\n{"a":"caf'), new Uint8Array([0xe9]), utf8('"}\n{"a":1}\n')));
  for (const chunkBytes of [1, 2, 3, 5, 7, 1 << 20]) {
    const rows: unknown[] = [];
    const { readJsonlRows } = await import("../data/jsonl.ts");
    await assert.rejects(
      (async () => {
        for await (const row of readJsonlRows(path, { chunkBytes })) rows.push(row.value);
      })(),
      /latin1\.jsonl:3: invalid UTF-8 \(byte 10 of the line, 0xe9\)/,
      `chunk ${chunkBytes}`,
    );
    // The lines before it decode exactly (multi-byte characters split across chunks are joined).
    assert.deepEqual(rows, [{ a: "naïve €" }, { a: "日本" }], `chunk ${chunkBytes}`);
  }
});

test("a truncated multi-byte character at the end of the file is refused with its line", async () => {
  const path = join(fixture.dir, "truncated.jsonl");
  await writeFile(path, concat(utf8('{"a":1}\n"'), new Uint8Array([0xe6, 0x97])));
  await assert.rejects(readJsonl(path), /truncated\.jsonl:2: invalid UTF-8/);
});

test("a BOM starts a JSONL file or a config file without harm; one inside a line is kept, not dropped", async () => {
  const path = join(fixture.dir, "bom.jsonl");
  await writeFile(path, concat(bom, utf8('{"a":1}\n{"b":2}\n')));
  assert.deepEqual((await readJsonl(path)).map((r) => r.value), [{ a: 1 }, { b: 2 }]);
  assert.equal(decodeUtf8Text(concat(bom, utf8('{"x":1}')), "c.json"), '{"x":1}');
  assert.equal(decodeUtf8Text(concat(utf8('"a'), bom, utf8('"')), "c.json"), '"a\uFEFF"');
});

test("train reads a config with a BOM like one without (the config's own problems are reported, not the BOM)", async () => {
  const config = smallConfig(fixture, { name: "bom-config", alpha: 2 });
  const path = join(fixture.dir, "bom-config.json");
  await writeFile(path, concat(bom, utf8(JSON.stringify(config, null, 2))));
  await assert.rejects(trainCommand(["--config", path, "--quiet"]), (e: Error) => {
    assert.doesNotMatch(e.message, /not valid JSON/);
    assert.match(e.message, /alpha: must be in \[0, 1\] \(got 2\)/);
    return true;
  });
  assert.ok(!(await exists(String(config.outputDir))));
});

test("a config file that is not UTF-8 is refused with file:line", async () => {
  const path = join(fixture.dir, "latin1-config.json");
  await writeFile(path, concat(utf8('{\n  "name": "caf'), new Uint8Array([0xe9]), utf8('",\n  "data": {"train": "x.jsonl"}\n}\n')));
  await assert.rejects(trainCommand(["--config", path, "--quiet"]), /latin1-config\.json:2: invalid UTF-8/);
});

test("training data that is not UTF-8 stops the run before its folder is made", async () => {
  const path = join(fixture.dir, "latin1-train.jsonl");
  const good = utf8(JSON.stringify(ultrachatRows[0]) + "\n");
  const bad = concat(utf8('{"messages": [{"role": "user", "content": "caf'), new Uint8Array([0xe9]), utf8('"}, {"role": "assistant", "content": "x"}]}\n'));
  await writeFile(path, concat(good, good, bad));
  const config = smallConfig(fixture, { name: "latin1-run", data: { train: path } });
  await assert.rejects(runSelfPlay({ config }), /latin1-train\.jsonl:3: invalid UTF-8/);
  assert.ok(!(await exists(String(config.outputDir))));
});
