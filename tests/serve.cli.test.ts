// The `alpha-spin serve` command line: --adapter NAME=DIR (repeatable), argument errors (exit 2),
// --help, and `--model embedded`.
import { startServe } from "../cli/serve.ts";
import { assert, test } from "./harness.ts";

const quietly = async <T>(fn: () => Promise<T>): Promise<{ value: T; err: string; out: string }> => {
  const [error, log] = [console.error, console.log];
  let err = "", out = "";
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  try {
    return { value: await fn(), err, out };
  } finally {
    [console.error, console.log] = [error, log];
  }
};

test("serve cli: bad arguments exit 2 with a message naming the flag; --help exits 0", async () => {
  for (
    const [args, message] of [
      [["--model", "m", "--adapter", "noequals"], /--adapter needs NAME=DIR, got "noequals"/],
      [["--model", "m", "--adapter", "a=x", "--adapter=a=y"], /--adapter a is given twice/],
      [["--model", "m", "--adapter"], /--adapter needs a value/],
      [["--model", "m", "--port", "70000"], /--port must be an integer in \[0, 65535\] \(got 70000\)/],
      [["--modle", "m"], /modle/],
    ] as const
  ) {
    const { value, err } = await quietly(() => startServe([...args]));
    assert.equal(value, 2, args.join(" "));
    assert.match(err, message);
  }
  const help = await quietly(() => startServe(["--help"]));
  assert.equal(help.value, 0);
  assert.match(help.out, /--adapter <name=dir>/);
});

test("serve cli: --model embedded serves the embedded model under the name embedded", async () => {
  const server = await startServe(["--model", "embedded", "--port", "0", "--backend", "cpu", "--quiet"]);
  if (typeof server === "number") throw new Error(`exit ${server}`);
  try {
    const models = await (await fetch(`${server.url}/models`)).json();
    assert.deepEqual(models.data.map((m: { id: string }) => m.id), ["embedded"]);
    const r = await fetch(`${server.url}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "embedded", prompt: "a", max_tokens: 3, temperature: 0 }),
    });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).choices.length, 1);
  } finally {
    await server.close();
  }
});
