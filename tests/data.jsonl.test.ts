// data/jsonl.ts: streaming reads with file:line errors, blank lines, CRLF/BOM, chunk boundaries
// inside multi-byte characters, and atomic writes that leave no temporary file behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import {
  DataError,
  parseJsonlText,
  readJsonl,
  readJsonlRows,
  toJsonlText,
  writeFileAtomic,
  writeJsonlAtomic,
} from "../data/jsonl.ts";

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-spin-jsonl-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test("rows keep their 1-based line numbers; blank lines are skipped", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "a.jsonl");
    writeFileSync(file, '{"a":1}\n\n   \n{"a":2}\r\n[3]');
    const rows = await readJsonl(file);
    assert.deepEqual(rows.map((r) => [r.line, r.where, r.value]), [
      [1, `${file}:1`, { a: 1 }],
      [4, `${file}:4`, { a: 2 }],
      [5, `${file}:5`, [3]],
    ]);
    assert.deepEqual(parseJsonlText('{"a":1}\n\n[3]\n', "x.jsonl").map((r) => r.where), [
      "x.jsonl:1",
      "x.jsonl:3",
    ]);
  });
});

test("invalid JSON names file:line", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, '{"a":1}\n\n{"a": 2,}\n{"a":3}\n');
    await assert.rejects(
      readJsonl(file),
      (e: unknown) =>
        e instanceof DataError && e.message.startsWith(`${file}:3: invalid JSON (`) &&
        e.problems[0].where === `${file}:3`,
    );
    assert.throws(() => parseJsonlText("{}\nnot json", "t.jsonl"), /^DataError: t\.jsonl:2: invalid JSON/);
  });
});

test("small read chunks: lines and UTF-8 characters split across chunks are rebuilt", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "utf8.jsonl");
    const values = [{ t: "你好, héllo — ✓" }, { t: "😀".repeat(5) }, { t: "" }, { n: 12345.5 }];
    writeFileSync(file, "\uFEFF" + values.map((v) => JSON.stringify(v)).join("\n") + "\n");
    for (const chunkBytes of [1, 2, 3, 5, 7, 64]) {
      const got: unknown[] = [];
      for await (const row of readJsonlRows(file, { chunkBytes })) got.push(row.value);
      assert.deepEqual(got, values, `chunkBytes ${chunkBytes}`);
    }
  });
});

test("maxRows stops early, before a later bad line is read", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "m.jsonl");
    writeFileSync(file, '{"a":1}\n{"a":2}\n{oops\n');
    assert.deepEqual((await readJsonl(file, { maxRows: 2 })).map((r) => r.value), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(await readJsonl(file, { maxRows: 0 }), []);
    await assert.rejects(readJsonl(file), /m\.jsonl:3: invalid JSON/);
  });
});

test("toJsonlText: one compact document per line", () => {
  assert.equal(toJsonlText([{ a: 1 }, [2], "x"]), '{"a":1}\n[2]\n"x"\n');
  assert.equal(toJsonlText([]), "");
  assert.throws(() => toJsonlText([undefined]), TypeError);
});

test("atomic writes: parents made, content replaced, no temporary file left", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "deep", "er", "out.jsonl");
    await writeJsonlAtomic(file, [{ a: 1 }]);
    assert.equal(readFileSync(file, "utf8"), '{"a":1}\n');
    await writeJsonlAtomic(file, [{ b: 2 }, { c: 3 }]);
    assert.deepEqual((await readJsonl(file)).map((r) => r.value), [{ b: 2 }, { c: 3 }]);
    await writeFileAtomic(join(dir, "bytes.bin"), new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(join(dir, "bytes.bin"))], [1, 2, 3]);
    assert.deepEqual(readdirSync(join(dir, "deep", "er")), ["out.jsonl"]);
  });
});

test("a failed atomic write leaves the old file as it was", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "keep.jsonl");
    await writeJsonlAtomic(file, [{ old: true }]);
    // serialization fails before anything is written
    await assert.rejects(writeJsonlAtomic(file, [{ ok: 1 }, undefined]), TypeError);
    // the rename fails (the target is a non-empty directory): the temp file is removed
    const blocked = join(dir, "blocked");
    writeFileSync(join(dir, "x"), "");
    await writeJsonlAtomic(join(blocked, "inner.jsonl"), [1]);
    await assert.rejects(writeFileAtomic(blocked, "data"));
    assert.equal(readFileSync(file, "utf8"), '{"old":true}\n');
    assert.deepEqual(readdirSync(dir).sort(), ["blocked", "keep.jsonl", "x"]);
  });
});
