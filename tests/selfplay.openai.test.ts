// Whole α-SPIN runs with `generation.engine: "openai"` and `reference.engine: "openai"` against an
// in-process `alpha-spin serve` of the embedded model on a loopback port (cli/serve.ts's startServe),
// compared with the local engines on the same settings (`generation.seeding: "example"`): the same
// losers (token ids), lp_ref equal to float32 tolerance, the same trained adapters to float32
// tolerance. Then a server stopped during generation: the run fails naming the request, keeps what it
// stored, and after a restart `alpha-spin train --resume` ends where an uninterrupted run ends, with
// no (iterate, example) answered twice (every request counted through the client's fetch).
// Also the server as a child process killed with SIGKILL while a generation request is under way,
// restarted on the same port, and the run resumed: the same result, nothing answered twice.
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startServe } from "../cli/serve.ts";
import { trainCommand } from "../cli/train.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { assert, assertClose, isDeno, test } from "./harness.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

const fixture = await setupFixture();

/** `alpha-spin serve --model embedded` with runtime adapter loading, on `port` (0: a free one). */
const serve = async (port = 0, loading = true) => {
  const args = ["--model", "embedded", "--port", String(port), "--backend", "cpu", "--quiet"];
  const server = await startServe(loading ? [...args, "--allow-adapter-loading"] : args);
  if (typeof server === "number") throw new Error(`serve exited with ${server}`);
  return server;
};

/** The run config: both engines local (seeding "example"), or both on the server at `url`. */
const configFor = (
  name: string,
  url: string | null,
  { limits = {}, mixture = "geometric", logprobs = "echo", h = 1 }: { limits?: object; mixture?: string; logprobs?: string; h?: number } = {},
): Record<string, unknown> => {
  const openai = { baseUrl: url, model: "embedded", backoffMs: 10, ...limits };
  return smallConfig(fixture, {
    name,
    model: "embedded",
    alpha: 0.5,
    h,
    generation: url === null
      ? { maxNewTokens: 6, batchSize: 4, seeding: "example" }
      : { maxNewTokens: 6, batchSize: 4, engine: "openai", openai },
    reference: url === null ? mixture : { mixture, engine: "openai", openai, logprobs },
  });
};

/** What a finished run computed: each iteration's losers, lp_ref and adapter matrices. */
const outcome = async (runDir: string) =>
  await Promise.all([1, 2].map(async (t) => {
    const dir = join(runDir, `iter-${t}`);
    const losers = (await readFile(join(dir, "generations.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l))
      .map((r: { iterateId: string; exampleIndex: number; ids: number[] }) => `${r.iterateId}|${r.exampleIndex}|${r.ids.join(",")}`);
    const lpRef = JSON.parse(await readFile(join(dir, "reference", "lp_ref.json"), "utf8")).lpRef as { lpRefChosen: number; lpRefRejected: number }[];
    const adapter = await readPeftAdapter(join(dir, "adapter"));
    const weights = Object.entries(adapter.modules).sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([, { A, B }]) => [...A.data, ...B.data]);
    return { losers, lpRef: lpRef.flatMap((r) => [r.lpRefChosen, r.lpRefRejected]), weights };
  }));

type Outcome = Awaited<ReturnType<typeof outcome>>;
const expected = await outcome((await runSelfPlay({ config: configFor("local", null) })).runDir);

/** Check a run's outcome against the local engines' (ids exactly, numbers to float32 tolerance). */
const assertSameAsLocal = (got: Outcome, want: Outcome = expected): void => {
  assert.ok(want[0].losers.length > 0 && want[0].weights.some((w) => w !== 0));
  for (const [i, w] of want.entries()) {
    assert.deepEqual(got[i].losers, w.losers, `iteration ${i + 1}: losers`);
    assertClose(got[i].lpRef, w.lpRef, { atol: 2e-5, rtol: 1e-6, message: `iteration ${i + 1}: lp_ref` });
    assertClose(got[i].weights, w.weights, { atol: 1e-6, rtol: 1e-5, message: `iteration ${i + 1}: adapter` });
  }
};

/**
 * Count the generation requests the client sends, by (model, seed, prompt), and which were answered;
 * `before(key, n)` runs before the n-th generation request is sent (it may stop the server).
 */
const countRequests = (before: (n: number) => Promise<void> = () => Promise.resolve()) => {
  const original = globalThis.fetch;
  const answered = new Map<string, number>(), asked: string[] = [];
  let adapterLoads = 0;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : null;
    if (url.endsWith("/load_lora_adapter")) adapterLoads++;
    const generation = url.endsWith("/completions") && body?.echo === undefined && body?.max_tokens > 1;
    const key = generation ? `${body.model}|${body.seed}|${body.prompt.join(",")}` : null;
    if (key !== null) {
      asked.push(key);
      await before(asked.length);
    }
    const response = await original(input, init);
    if (key !== null && response.ok) answered.set(key, (answered.get(key) ?? 0) + 1);
    return response;
  };
  return { answered, asked, loads: () => adapterLoads, restore: () => void (globalThis.fetch = original) };
};

test("selfplay openai: a whole run with both engines on `alpha-spin serve` equals the local engines' run", async () => {
  const server = await serve();
  const counter = countRequests();
  try {
    const remote = await runSelfPlay({ config: configFor("remote", server.url) });
    assertSameAsLocal(await outcome(remote.runDir));
    // Iteration 1: 4 losers of π_base; iteration 2: 4 of π_1 (h = 1), each asked once.
    assert.equal(counter.asked.length, 8);
    assert.equal(counter.answered.size, 8);
    assert.ok([...counter.answered.keys()].filter((k) => k.startsWith("iter-1-")).length === 4, "π_1 asked for by its adapter name");
    assert.ok(counter.loads() >= 1, "π_1's adapter loaded on the server");
  } finally {
    counter.restore();
    await server.close();
  }
});

test("selfplay openai: the server stopped during generation; the run fails naming the request, keeps its answers, and --resume ends as an uninterrupted run", async () => {
  let server = await serve();
  const port = server.port;
  const configPath = join(fixture.dir, "killed.json");
  // The config has the limits; the command-line flags pick the engines and the server.
  const config = configFor("killed", null);
  const limits = { concurrency: 1, maxRetries: 0, backoffMs: 10 };
  await writeFile(configPath, JSON.stringify({ ...config, generation: { maxNewTokens: 6, batchSize: 4, openai: limits } }));
  const flags = ["--generation-engine", "openai", "--reference-engine", "openai", "--openai-base-url", server.url, "--openai-model", "embedded"];
  // Stop the server before the 3rd generation request of iteration 1 is sent.
  const counter = countRequests(async (n) => {
    if (n === 3) await server.close();
  });
  try {
    await assert.rejects(trainCommand(["--config", configPath, "--quiet", ...flags]), (e: Error) => {
      assert.match(e.message, /^generation\.openai \(http:\/\/127\.0\.0\.1:\d+\/v1\): base\/example 2 \(p3\): .*2 of 4 answers are stored in .*--resume/, e.message);
      return true;
    });
    const stored = await readdir(join(fixture.dir, "runs", "killed", "iter-1", "work", "generate", "base"));
    assert.deepEqual(stored.sort(), ["0.json", "1.json"]);
    server = await serve(port);
    assert.equal(await trainCommand(["--config", configPath, "--resume", "--quiet", ...flags]), 0);
    assertSameAsLocal(await outcome(join(fixture.dir, "runs", "killed")));
    // 8 (iterate, example) losers, each answered once; the one cut off was asked again.
    assert.equal(counter.answered.size, 8);
    assert.ok([...counter.answered.values()].every((n) => n === 1), "an answered example was asked again");
    assert.equal(counter.asked.length, 9);
  } finally {
    counter.restore();
    await server.close();
  }
});

test("selfplay openai: the arithmetic reference over a window of two, scored on the server with prompt_logprobs, equals the local run", async () => {
  const settings = { mixture: "arithmetic", logprobs: "prompt_logprobs", h: 2 };
  const want = await outcome((await runSelfPlay({ config: configFor("local-arithmetic", null, settings) })).runDir);
  const server = await serve();
  const counter = countRequests();
  try {
    const remote = await runSelfPlay({ config: configFor("remote-arithmetic", server.url, settings) });
    assertSameAsLocal(await outcome(remote.runDir), want);
    // Iteration 2's window {π_base, π_1} each answer every prompt; π_base's answers of iteration 1 are reused.
    assert.equal(counter.asked.length, 8);
  } finally {
    counter.restore();
    await server.close();
  }
});

test("selfplay openai: a server that cannot load adapters fails the run at π_1 with what the server needs", async () => {
  const server = await serve(0, false);
  try {
    await assert.rejects(runSelfPlay({ config: configFor("no-loading", server.url) }), (e: Error) => {
      assert.match(e.message, /^generation\.openai \(.*\): load adapter iter-1-[0-9a-f]{16}: .*404.*--allow-adapter-loading/s, e.message);
      return true;
    });
    // Iteration 1 (π_base only) completed; iteration 2 stopped before any generation request.
    assert.ok((await readdir(join(fixture.dir, "runs", "no-loading", "iter-1"))).includes("COMPLETE.json"));
  } finally {
    await server.close();
  }
});

/** `alpha-spin serve` as a child process of this runtime; resolves once it listens, with its port. */
const serveProcess = (port: number): Promise<{ child: ChildProcess; port: number; url: string }> => {
  const repo = dirname(dirname(fileURLToPath(import.meta.url)));
  const bin = join(repo, "cli", "bin.ts");
  const args = ["serve", "--model", "embedded", "--port", String(port), "--backend", "cpu", "--allow-adapter-loading"];
  const argv = isDeno
    ? ["run", "-A", "--config", join(repo, "deno.json"), bin, ...args]
    : ["--import", pathToFileURL(join(repo, "node_modules", "tsx", "dist", "loader.mjs")).href, bin, ...args];
  const child = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr!.on("data", (d) => {
      stderr += String(d);
      const m = / at (http:\/\/127\.0\.0\.1:(\d+)\/v1)/.exec(stderr);
      if (m !== null) resolve({ child, port: Number(m[2]), url: m[1] });
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
};

test("selfplay openai: the server process killed with SIGKILL during a generation request; restarted, the run resumes to the uninterrupted result", async () => {
  let server = await serveProcess(0);
  const configPath = join(fixture.dir, "sigkill.json");
  const config = configFor("sigkill", null);
  await writeFile(configPath, JSON.stringify({ ...config, generation: { maxNewTokens: 6, batchSize: 4, openai: { concurrency: 1, maxRetries: 0, backoffMs: 10 } } }));
  const flags = () => ["--generation-engine", "openai", "--reference-engine", "openai", "--openai-base-url", server.url, "--openai-model", "embedded"];
  // The 3rd generation request is sent, then the server process dies while it is being answered.
  const counter = countRequests((n) => {
    if (n === 3) setTimeout(() => server.child.kill("SIGKILL"), 0);
    return Promise.resolve();
  });
  try {
    await assert.rejects(trainCommand(["--config", configPath, "--quiet", ...flags()]), (e: Error) => {
      assert.match(e.message, /^generation\.openai \(http:\/\/127\.0\.0\.1:\d+\/v1\): base\/example 2 \(p3\): .*2 of 4 answers are stored/s, e.message);
      return true;
    });
    assert.deepEqual((await readdir(join(fixture.dir, "runs", "sigkill", "iter-1", "work", "generate", "base"))).sort(), ["0.json", "1.json"]);
    server = await serveProcess(server.port);
    assert.equal(await trainCommand(["--config", configPath, "--resume", "--quiet", ...flags()]), 0);
    assertSameAsLocal(await outcome(join(fixture.dir, "runs", "sigkill")));
    assert.equal(counter.answered.size, 8);
    assert.ok([...counter.answered.values()].every((n) => n === 1), "an answered example was asked again");
  } finally {
    counter.restore();
    server.child.kill("SIGKILL");
  }
});

test("cleanup", async () => {
  await fixture.cleanup();
});
