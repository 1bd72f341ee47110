// cli/args.ts: flag forms, booleans, numbers, positionals, `--`, errors with suggestions, help text.
import { assert, test } from "./harness.ts";
import { ArgsError, type CommandSpec, formatHelp, kebabCase, parseArgs } from "../cli/args.ts";

const spec = {
  name: "alpha-spin train",
  summary: "run α-SPIN iterations from a config",
  flags: {
    config: {
      type: "string",
      short: "c",
      valueName: "file",
      description: "the run config (JSON)",
      required: true,
    },
    resume: { type: "boolean", description: "continue a killed run from its last complete state" },
    maxNewTokens: { type: "number", description: "override generation.maxNewTokens", default: 256 },
    beta: { type: "number", description: "override beta" },
    backend: { type: "string", description: "tfjs backend", default: "auto" },
  },
  positionals: [{ name: "extra", description: "extra files", variadic: true }],
  examples: ["alpha-spin train --config run.json", "alpha-spin train -c run.json --resume"],
} as const satisfies CommandSpec;

const errorOf = (argv: string[], s: CommandSpec = spec): string => {
  try {
    parseArgs(s, argv);
  } catch (error) {
    assert.ok(error instanceof ArgsError, `expected an ArgsError, got ${error}`);
    return error.message.split("\n")[0];
  }
  throw new Error(`expected ${argv.join(" ")} to be refused`);
};

test("--flag value, --flag=value, -f value; defaults for the rest", () => {
  const a = parseArgs(spec, ["--config", "run.json"]);
  assert.deepEqual(a.flags, {
    config: "run.json",
    resume: false,
    maxNewTokens: 256,
    beta: undefined,
    backend: "auto",
  });
  assert.deepEqual(a.positional, []);
  assert.equal(a.help, false);
  assert.equal(parseArgs(spec, ["--config=a=b.json"]).flags.config, "a=b.json");
  assert.equal(parseArgs(spec, ["-c", "x.json"]).flags.config, "x.json");
  assert.equal(parseArgs(spec, ["-c=x.json"]).flags.config, "x.json");
  // the last occurrence wins
  assert.equal(parseArgs(spec, ["-c", "x.json", "--config", "y.json"]).flags.config, "y.json");
});

test("booleans: bare, =true/false, --no-", () => {
  assert.equal(parseArgs(spec, ["-c", "r", "--resume"]).flags.resume, true);
  assert.equal(parseArgs(spec, ["-c", "r", "--resume=false"]).flags.resume, false);
  assert.equal(parseArgs(spec, ["-c", "r", "--resume=yes"]).flags.resume, true);
  assert.equal(parseArgs(spec, ["-c", "r", "--resume", "--no-resume"]).flags.resume, false);
  assert.equal(errorOf(["-c", "r", "--resume=maybe"]), '--resume is true or false (got "maybe")');
  assert.equal(errorOf(["-c", "r", "--no-resume=1"]), "--no-resume takes no value");
});

test("numbers, negative numbers included; kebab-case names", () => {
  const a = parseArgs(spec, ["-c", "r", "--max-new-tokens", "64", "--beta", "-0.5"]);
  assert.equal(a.flags.maxNewTokens, 64);
  assert.equal(a.flags.beta, -0.5);
  assert.equal(parseArgs(spec, ["-c", "r", "--beta=1e-3"]).flags.beta, 1e-3);
  assert.equal(errorOf(["-c", "r", "--beta", "abc"]), '--beta must be a number (got "abc")');
  assert.equal(errorOf(["-c", "r", "--beta="]), '--beta must be a number (got "")');
  assert.equal(kebabCase("maxNewTokens"), "max-new-tokens");
});

test("positionals, `--`, and a lone `-`", () => {
  const a = parseArgs(spec, ["one", "-c", "r", "two", "--", "--resume", "-x"]);
  assert.deepEqual(a.positional, ["one", "two", "--resume", "-x"]);
  assert.equal(a.flags.resume, false);
  assert.deepEqual(parseArgs(spec, ["-c", "r", "-"]).positional, ["-"]);
  const fixed: CommandSpec = {
    name: "alpha-spin score",
    summary: "s",
    flags: {},
    positionals: [{ name: "file", description: "f", required: true }],
  };
  assert.deepEqual(parseArgs(fixed, ["a.jsonl"]).positional, ["a.jsonl"]);
  assert.equal(errorOf([], fixed), "missing <file>");
  assert.equal(errorOf(["a", "b"], fixed), 'unexpected argument "b"');
  const none: CommandSpec = { name: "alpha-spin backends", summary: "s", flags: {}, positionals: [] };
  assert.equal(errorOf(["x"], none), 'unexpected argument "x" (this command takes no positional arguments)');
});

test("unknown flags, missing values and missing required flags are clear errors", () => {
  assert.equal(errorOf(["--confg", "r"]), "unknown option --confg (did you mean --config?)");
  assert.equal(
    errorOf(["-c", "r", "--max_new_tokens=3"]),
    "unknown option --max_new_tokens (did you mean --max-new-tokens?)",
  );
  assert.equal(errorOf(["-c", "r", "--zzz"]), "unknown option --zzz");
  assert.equal(errorOf(["-c", "r", "-z"]), "unknown option -z");
  assert.equal(errorOf(["--config"]), "--config needs a value <file>");
  assert.equal(errorOf(["--config", "--resume"]), "--config needs a value <file>");
  assert.equal(errorOf(["--resume"]), "missing --config");
  try {
    parseArgs(spec, ["--confg"]);
  } catch (error) {
    assert.match((error as Error).message, /\n\(run "alpha-spin train --help" for the options\)$/);
  }
});

test("--help skips the other checks; the help text lists every flag with defaults", () => {
  const a = parseArgs(spec, ["--help"]);
  assert.equal(a.help, true);
  assert.equal(parseArgs(spec, ["-h", "--resume"]).help, true);
  const help = formatHelp(spec);
  const lines = help.split("\n");
  assert.equal(lines[0], "alpha-spin train: run α-SPIN iterations from a config");
  assert.equal(lines[2], "usage: alpha-spin train [options] [<extra>...]");
  assert.match(help, /\n {2}-c, --config <file> +the run config \(JSON\) \(required\)\n/);
  assert.match(help, /\n {6}--resume +continue a killed run from its last complete state\n/);
  assert.match(help, /\n {6}--max-new-tokens <number> +override generation\.maxNewTokens \(default: 256\)\n/);
  assert.match(help, /\n {2}-h, --help +show this help\n/);
  assert.match(help, /\nexamples:\n {2}alpha-spin train --config run\.json\n/);
});
