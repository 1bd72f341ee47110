// Every `alpha-spin` command and every script under scripts/ prints help on --help and -h and
// refuses an unknown flag with exit code 2, naming it (with a "did you mean" where one is close);
// the α-SPIN window is --history everywhere, and the old --h is refused with a pointer to it.
import { spawnSync } from "node:child_process";
import process from "node:process";
import { join } from "node:path";
import { assert, isDeno, test } from "./harness.ts";
import { type CommandSpec, kebabCase, parseArgs } from "../cli/args.ts";
import { main } from "../cli/main.ts";
import { backendsCommandSpec } from "../cli/backends.ts";
import { evalCommandSpec } from "../cli/eval.ts";
import { generateCommandSpec } from "../cli/generate.ts";
import { scoreSpec } from "../cli/score.ts";
import { parseVariants, spinCommandSpec } from "../cli/spin.ts";
import { trainCommandSpec } from "../cli/train.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** Run the CLI in this process with console and stdout/stderr output captured. */
const cli = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  const { stdout, stderr } = process;
  const [writeOut, writeErr] = [stdout.write, stderr.write];
  console.log = (...a: unknown[]) => void out.push(a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void err.push(a.join(" ") + "\n");
  // Text only: node:test's own protocol goes through stdout as bytes and must pass.
  const grab = (into: string[], write: typeof stdout.write, stream: NodeJS.WriteStream) =>
    ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === "string" ? into.push(chunk) > 0 : write.call(stream, chunk, ...rest)) as typeof stdout.write;
  stdout.write = grab(out, writeOut, stdout);
  stderr.write = grab(err, writeErr as typeof stdout.write, stderr);
  try {
    return { code: await main(argv), out: out.join("").trimEnd(), err: err.join("").trimEnd() };
  } finally {
    console.log = log;
    console.error = error;
    stdout.write = writeOut;
    stderr.write = writeErr;
  }
};

const commands: [string, CommandSpec][] = [
  ["backends", backendsCommandSpec],
  ["score", scoreSpec],
  ["train", trainCommandSpec],
  ["generate", generateCommandSpec],
  ["spin", spinCommandSpec],
  ["eval", evalCommandSpec],
];

test("every alpha-spin command prints the same help layout on --help and -h", async () => {
  for (const [name, spec] of commands) {
    for (const flag of ["--help", "-h"]) {
      const r = await cli([name, flag]);
      assert.equal(r.code, 0, `${name} ${flag}: ${r.err}`);
      const lines = r.out.split("\n");
      assert.equal(lines[0], `alpha-spin ${name}: ${spec.summary}`, `${name} ${flag}`);
      assert.match(r.out, new RegExp(`\nusage: alpha-spin ${name} \\[options\\]`), `${name} ${flag}`);
      assert.match(r.out, /\noptions:\n/, `${name} ${flag}`);
      assert.match(r.out, /\n {2}-h, --help +show this help(\n|$)/, `${name} ${flag}`);
      for (const key of Object.keys(spec.flags)) {
        assert.ok(r.out.includes(`--${kebabCase(key)}`), `${name} --help lists --${kebabCase(key)}`);
      }
    }
  }
});

test("every alpha-spin command refuses an unknown flag with exit 2, naming it, and suggests a near miss", async () => {
  for (const [name, spec] of commands) {
    const bogus = await cli([name, "--frobnicate-widely"]);
    assert.equal(bogus.code, 2, name);
    assert.match(bogus.err, /unknown option --frobnicate-widely\n\(run "alpha-spin \S+ --help" for the options\)/, name);
    const long = Object.keys(spec.flags).map(kebabCase).find((k) => k.length >= 4)!;
    const typo = await cli([name, `--${long.slice(0, -1)}`, "1"]);
    assert.equal(typo.code, 2, name);
    assert.match(typo.err, new RegExp(`unknown option --${long.slice(0, -1)} \\(did you mean --${long}\\?\\)`), name);
  }
  const command = await cli(["spinn"]);
  assert.equal(command.code, 2);
  assert.match(command.err, /unknown command "spinn" \(did you mean spin\?\)/);
});

test("spin: the window is --history (n, all, inf, ∞); --h is refused pointing to it; -h is help", async () => {
  assert.equal(parseArgs(spinCommandSpec, ["--history", "3"]).flags.history, 3);
  const renamed = await cli(["spin", "--h", "2"]);
  assert.equal(renamed.code, 2);
  assert.match(renamed.err, /--h was renamed: use --history/);
  const renamedInline = await cli(["spin", "--h=all"]);
  assert.equal(renamedInline.code, 2);
  assert.match(renamedInline.err, /--h was renamed: use --history/);
  const help = await cli(["spin", "-h", "2"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--history <n\|all>/);
  const bad = await cli(["spin", "--history", "0", "--quiet"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--history must be an integer >= 1 or "all" \(got 0\)/);
  const oneDash = await cli(["spin", "-history", "2"]);
  assert.equal(oneDash.code, 2);
  assert.match(oneDash.err, /unknown option -history \(did you mean --history\?\)/);
  const common = { iterations: 1, alpha: 1, beta: 1, h: 1 as number | "all", seed: 1, epochs: 1, lr: 1e-3 };
  assert.deepEqual(parseVariants("history=2,history=inf,h=∞,all", { ...common }).map((v) => v.settings.h), [2, "all", "all", "all"]);
});

test("short flags mean the same long flag on every command (-m model, -d data, -o out, -q quiet, -c config)", () => {
  const longOf = new Map<string, string>(), shortOf = new Map<string, string>();
  for (const [name, spec] of commands) {
    for (const [key, flag] of Object.entries(spec.flags)) {
      if (flag.short === undefined) continue;
      assert.equal(longOf.get(flag.short) ?? key, key, `${name}: -${flag.short} is --${key} here but --${longOf.get(flag.short)} elsewhere`);
      longOf.set(flag.short, key);
    }
  }
  for (const [name, spec] of commands) {
    for (const [key, flag] of Object.entries(spec.flags)) {
      const short = [...longOf].find(([, k]) => k === key)?.[0];
      if (short !== undefined) assert.equal(flag.short, short, `${name}: --${key} lacks -${short}`);
      shortOf.set(key, short ?? "");
    }
  }
  assert.deepEqual(["model", "data", "out", "quiet", "config"].map((k) => shortOf.get(k)), ["m", "d", "o", "q", "c"]);
});

test("a command spec may not take -h or --help for a flag", () => {
  const spec = { name: "x", summary: "y", flags: { height: { type: "number", short: "h", description: "z" } } } as const;
  assert.throws(() => parseArgs(spec, []), /-h and --help are reserved for help/);
});

/** The scripts, how to start each, and a near-miss flag with the suggestion expected (if any). */
const python = "/usr/bin/python3";
/** The Python scripts import torch before they parse their flags: they are checked where Debian's torch is. */
const hasTorch = spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const scripts: { file: string; argv: string[]; typo?: [string, string] }[] = [
  { file: "scripts/tabular-experiments.ts", argv: [process.execPath, "--import", "tsx"], typo: ["--iteration", "--iterations"] },
  { file: "scripts/sequence-experiments.ts", argv: [process.execPath, "--import", "tsx"], typo: ["--seed", "--seeds"] },
  { file: "scripts/train-embedded.ts", argv: [process.execPath, "--import", "tsx"], typo: ["--step", "--steps"] },
  { file: "scripts/gflownet-tv.ts", argv: [process.execPath, "--import", "tsx"], typo: ["--seed", "--seeds"] },
  { file: "scripts/test.mjs", argv: [process.execPath], typo: ["--nod", "--node"] },
  { file: "scripts/build.mjs", argv: [process.execPath] },
  { file: "scripts/make_hf_fixtures.py", argv: [python] },
  { file: "scripts/torch-dpo-step.py", argv: [python] },
];

test("every script under scripts/ prints help on --help and -h and refuses an unknown flag (exit 2)", () => {
  for (const s of scripts) {
    if (s.file.endsWith(".py") && !hasTorch) continue;
    const run = (args: string[]) =>
      spawnSync(s.argv[0], [...s.argv.slice(1), s.file, ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
    for (const flag of ["--help", "-h"]) {
      const r = run([flag]);
      assert.equal(r.status, 0, `${s.file} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, /usage: /, `${s.file} ${flag}`);
    }
    const bogus = run(["--frobnicate-widely"]);
    assert.equal(bogus.status, 2, `${s.file}: ${bogus.stderr}`);
    assert.match(bogus.stderr, /--frobnicate-widely/, s.file);
    if (s.typo !== undefined) {
      const typo = run([s.typo[0], "1"]);
      assert.equal(typo.status, 2, s.file);
      assert.ok(typo.stderr.includes(`did you mean ${s.typo[1]}?`), `${s.file}: ${typo.stderr}`);
    }
  }
}, { skip: isDeno ? "spawns Node (tsx) and Python; the Node run covers it" : false, timeout: 600_000 });
